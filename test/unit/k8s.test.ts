/**
 * convert k8s: what the manifests say about a project, what becomes a warning, and the CLI's files.
 * The expected manifests are written by hand and compared whole (toEqual). The schema check
 * (kubernetes-models' validate()) is the very validator the converter calls on every object, so
 * it is only a guard and is named as such; it proves nothing about what the objects say.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import jsyaml from 'js-yaml';
import { Deployment, StatefulSet } from 'kubernetes-models/apps/v1';
import { Job } from 'kubernetes-models/batch/v1';
import { ConfigMap, Secret, Service } from 'kubernetes-models/v1';
// as a user's code would: by the package's name
import { convertToKubernetes } from 'dockyard';
import { loadProject } from '../../src/load/index.js';
import { cleanupTrees, cli, tree } from '../helpers/fs.js';

afterAll(cleanupTrees);

const COMPOSE = `
name: shop
services:
  migrate:
    image: shop/api:1
    command: ["migrate"]
  api:
    image: shop/api:1
    environment: { MODE: prod, EMPTY: "" }
    ports: ["8080:80"]
    expose: ["9090"]
    user: "1000:1000"
    read_only: true
    cap_drop: [ALL]
    security_opt: ["no-new-privileges:true", "seccomp:unconfined"]
    extra_hosts: ["ext.example=10.0.0.1", "alias.example=10.0.0.1"]
    dns: [1.1.1.1]
    sysctls: { net.core.somaxconn: 1024 }
    healthcheck: { test: ["CMD-SHELL", "wget -q -O- localhost/health"], interval: 5s, timeout: 2s, retries: 3 }
    deploy: { replicas: 3, resources: { limits: { cpus: "0.5", memory: 256M } } }
    configs: [{ source: app, target: /etc/app.conf }]
    secrets: [token]
    depends_on:
      migrate: { condition: service_completed_successfully }
      db: { condition: service_healthy }
    volumes: ["./src:/src", "/cache"]
    logging: { driver: syslog }
    stop_grace_period: 20s
  db:
    image: postgres:16
    volumes: ["data:/var/lib/postgresql/data"]
    tmpfs: [/run]
volumes:
  data: {}
  unused: {}
configs:
  app: { content: "port=80" }
secrets:
  token: { file: ./token.txt }
`;

/** services that run once (and one that does not) */
const ONCE = `name: once
services:
  seed: { image: x, restart: "no" }
  retry: { image: x, restart: "on-failure:3", scale: 2 }
  swarmish: { image: x, deploy: { restart_policy: { condition: on-failure, max_attempts: 2 } } }
  keep:
    image: x
    restart: unless-stopped
    depends_on: { retry: { condition: service_completed_successfully }, swarmish: { condition: service_completed_successfully } }
  once-with-data: { image: x, restart: "no", volumes: ["data:/d"] }
volumes: { data: {} }
`;

/** the labels every object of service `name` carries (and selects its pods by) */
const L = (name: string) => ({ 'app.kubernetes.io/name': name, 'app.kubernetes.io/part-of': 'shop' });

/** COMPOSE's migrate, written by hand: others wait for it to complete, so a Job of its own, run once */
const migrateJob = (ns: { namespace?: string } = {}) => ({
  apiVersion: 'batch/v1',
  kind: 'Job',
  metadata: { name: 'migrate', labels: L('migrate'), ...ns },
  spec: {
    backoffLimit: 0,
    completions: 1,
    parallelism: 1,
    template: { metadata: { labels: L('migrate') }, spec: { containers: [{ name: 'migrate', image: 'shop/api:1', args: ['migrate'] }], restartPolicy: 'Never' } },
  },
});

describe('convert k8s', () => {
  const dir = tree({ 'compose.yaml': COMPOSE, 'token.txt': 's3cret' });
  const load = () => loadProject({ workingDir: dir, environment: {} });

  it('validator guard: every object passes kubernetes-models validate(), the validator the converter itself calls (not an independent check)', async () => {
    const d = tree({ 'compose.yaml': ONCE });
    const models: Record<string, new (x: never) => { validate(): void }> = { Deployment, StatefulSet, Job, Service, ConfigMap, Secret };
    for (const { manifests } of [await convertToKubernetes(load(), { namespace: 'Team-A' }), await convertToKubernetes(loadProject({ workingDir: d, environment: {} }))]) {
      for (const m of manifests) {
        expect(models[m.kind as string], `kind ${String(m.kind)}`).toBeDefined();
        expect(() => new models[m.kind as string]!(m as never).validate()).not.toThrow();
      }
    }
  });

  it('maps services to workloads, services, config maps and secrets', async () => {
    const { manifests } = await convertToKubernetes(load(), { namespace: 'Team-A' });
    const byKind = (k: string) => manifests.filter((m) => m.kind === k) as Array<Record<string, any>>;
    for (const m of manifests) expect((m.metadata as { namespace?: string }).namespace).toBe('team-a');
    // config first: a ConfigMap for the content, a Secret for the file's text
    expect(manifests.slice(0, 2).map((m) => m.kind).sort()).toEqual(['ConfigMap', 'Secret']);
    expect(byKind('ConfigMap')[0]!.data).toEqual({ app: 'port=80' });
    expect(byKind('Secret')[0]!.stringData).toEqual({ token: 's3cret' });

    // the job others wait for (service_completed_successfully) is a Job of its own, run once:
    // not an init container of every api pod (issue 28)
    const [api] = byKind('Deployment');
    expect(byKind('Deployment').map((d) => d.metadata.name)).toEqual(['api']);
    expect(byKind('Job').map((d) => d.metadata.name)).toEqual(['migrate']);
    const pod = api!.spec.template.spec;
    expect(pod.initContainers).toBeUndefined();
    expect(api!.spec.replicas).toBe(3);
    expect(api!.spec.selector.matchLabels).toEqual({ 'app.kubernetes.io/name': 'api', 'app.kubernetes.io/part-of': 'shop' });
    const c = pod.containers[0];
    expect(c.env).toEqual([{ name: 'MODE', value: 'prod' }, { name: 'EMPTY', value: '' }]);
    expect(c.ports).toEqual([{ containerPort: 80, protocol: 'TCP' }, { containerPort: 9090, protocol: 'TCP' }]);
    expect(c.resources.limits).toEqual({ cpu: '0.5', memory: String(256 * 1024 * 1024) });
    expect(c.readinessProbe).toEqual({ exec: { command: ['sh', '-c', 'wget -q -O- localhost/health'] }, periodSeconds: 5, timeoutSeconds: 2, failureThreshold: 3 });
    expect(c.securityContext).toEqual({ runAsUser: 1000, runAsGroup: 1000, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] }, allowPrivilegeEscalation: false });
    // what kompose drops: extra_hosts, dns, sysctls
    expect(pod.hostAliases).toEqual([{ ip: '10.0.0.1', hostnames: ['ext.example', 'alias.example'] }]);
    expect(pod.dnsPolicy).toBe('None');
    expect(pod.dnsConfig).toEqual({ nameservers: ['1.1.1.1'] });
    expect(pod.securityContext.sysctls).toEqual([{ name: 'net.core.somaxconn', value: '1024' }]);
    expect(pod.terminationGracePeriodSeconds).toBe(20);
    // config and secret at their targets; the anonymous volume as an emptyDir
    expect(c.volumeMounts).toEqual([
      { name: 'api-v1', mountPath: '/cache' },
      { name: 'cfg-app', mountPath: '/etc/app.conf', subPath: 'app', readOnly: true },
      { name: 'sec-token', mountPath: '/run/secrets/token', subPath: 'token', readOnly: true },
    ]);

    // a named volume makes a StatefulSet with a claim per replica
    const [db] = byKind('StatefulSet');
    expect(db!.metadata.name).toBe('db');
    expect(db!.spec.volumeClaimTemplates).toEqual([expect.objectContaining({ metadata: { name: 'data' } })]);
    expect(db!.spec.template.spec.containers[0].volumeMounts).toEqual([{ name: 'data', mountPath: '/var/lib/postgresql/data' }, { name: 'db-tmp0', mountPath: '/run' }]);

    // the Service publishes on the published port and targets the container's
    const svc = byKind('Service');
    expect(svc.map((s) => s.metadata.name)).toEqual(['api']);
    expect(svc[0]!.spec.ports).toEqual([
      { name: 'p8080-tcp', port: 8080, targetPort: 80, protocol: 'TCP' },
      { name: 'p9090-tcp', port: 9090, targetPort: 9090, protocol: 'TCP' },
    ]);

    // the whole conversion, written by hand: config, then workloads (by service name), then Services
    const ns = { namespace: 'team-a' };
    const probe = { exec: { command: ['sh', '-c', 'wget -q -O- localhost/health'] }, periodSeconds: 5, timeoutSeconds: 2, failureThreshold: 3 };
    expect(manifests).toEqual([
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'app', labels: { 'app.kubernetes.io/part-of': 'shop' }, ...ns }, data: { app: 'port=80' } },
      { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'token', labels: { 'app.kubernetes.io/part-of': 'shop' }, ...ns }, type: 'Opaque', stringData: { token: 's3cret' } },
      {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'api', labels: L('api'), ...ns },
        spec: {
          replicas: 3,
          selector: { matchLabels: L('api') },
          template: {
            metadata: { labels: L('api') },
            spec: {
              containers: [
                {
                  name: 'api',
                  image: 'shop/api:1',
                  env: [{ name: 'MODE', value: 'prod' }, { name: 'EMPTY', value: '' }],
                  ports: [{ containerPort: 80, protocol: 'TCP' }, { containerPort: 9090, protocol: 'TCP' }],
                  resources: { limits: { cpu: '0.5', memory: '268435456' } },
                  readinessProbe: probe,
                  livenessProbe: probe,
                  securityContext: { runAsUser: 1000, runAsGroup: 1000, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] }, allowPrivilegeEscalation: false },
                  volumeMounts: [
                    { name: 'api-v1', mountPath: '/cache' },
                    { name: 'cfg-app', mountPath: '/etc/app.conf', subPath: 'app', readOnly: true },
                    { name: 'sec-token', mountPath: '/run/secrets/token', subPath: 'token', readOnly: true },
                  ],
                },
              ],
              volumes: [{ name: 'api-v1', emptyDir: {} }, { name: 'cfg-app', configMap: { name: 'app' } }, { name: 'sec-token', secret: { secretName: 'token' } }],
              hostAliases: [{ ip: '10.0.0.1', hostnames: ['ext.example', 'alias.example'] }],
              dnsPolicy: 'None',
              dnsConfig: { nameservers: ['1.1.1.1'] },
              securityContext: { sysctls: [{ name: 'net.core.somaxconn', value: '1024' }] },
              terminationGracePeriodSeconds: 20,
            },
          },
        },
      },
      {
        apiVersion: 'apps/v1',
        kind: 'StatefulSet',
        metadata: { name: 'db', labels: L('db'), ...ns },
        spec: {
          replicas: 1,
          serviceName: 'db',
          selector: { matchLabels: L('db') },
          template: {
            metadata: { labels: L('db') },
            spec: {
              containers: [{ name: 'db', image: 'postgres:16', volumeMounts: [{ name: 'data', mountPath: '/var/lib/postgresql/data' }, { name: 'db-tmp0', mountPath: '/run' }] }],
              volumes: [{ name: 'db-tmp0', emptyDir: { medium: 'Memory' } }],
            },
          },
          volumeClaimTemplates: [{ metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } }],
        },
      },
      migrateJob(ns),
      {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'api', labels: L('api'), ...ns },
        spec: {
          selector: L('api'),
          ports: [
            { name: 'p8080-tcp', port: 8080, targetPort: 80, protocol: 'TCP' },
            { name: 'p9090-tcp', port: 9090, targetPort: 9090, protocol: 'TCP' },
          ],
        },
      },
    ]);
  });

  it('names every key it cannot map instead of dropping it silently', async () => {
    const { warnings } = await convertToKubernetes(load());
    const w = warnings.join('\n');
    expect(w).toMatch(/services\.api\.security_opt: "seccomp:unconfined" has no mapping/);
    expect(w).toMatch(/services\.api\.volumes\[0\]: bind mount of .*src/);
    expect(w).toMatch(/services\.api\.logging/);
    expect(w).toMatch(/services\.api\.depends_on\.db: Kubernetes starts pods independently/);
    expect(w).toMatch(/volumes\.unused: used by no service/);
    expect(w).toMatch(/services\.api\.depends_on\.migrate: Kubernetes does not wait for the Job migrate to complete/);
  });

  it('a service that runs once is a Job (its restart policy as the pod\'s, its retries as the backoff limit)', async () => {
    // on-failure alone no longer makes a Job (a long-running service may say it, issue 28): retry and
    // swarmish are one-shot because keep waits for them to complete
    const d = tree({ 'compose.yaml': ONCE });
    const { manifests, warnings } = await convertToKubernetes(loadProject({ workingDir: d, environment: {} }));
    const kinds = Object.fromEntries(manifests.map((m) => [(m.metadata as { name: string }).name, m.kind]));
    expect(kinds).toEqual({ seed: 'Job', retry: 'Job', swarmish: 'Job', keep: 'Deployment', 'once-with-data': 'StatefulSet' });
    const job = (n: string) => manifests.find((m) => (m.metadata as { name: string }).name === n) as Record<string, any>;
    // (the schema check of these Jobs is in the validator guard above); their specs, written by hand:
    const spec = (n: string, backoffLimit: number, replicas: number, restartPolicy: string) => ({
      backoffLimit,
      completions: replicas,
      parallelism: replicas,
      template: { metadata: { labels: { 'app.kubernetes.io/name': n, 'app.kubernetes.io/part-of': 'once' } }, spec: { containers: [{ name: n, image: 'x' }], restartPolicy } },
    });
    expect(job('seed').spec).toEqual(spec('seed', 0, 1, 'Never'));
    expect(job('retry').spec).toEqual(spec('retry', 3, 2, 'OnFailure'));
    expect(job('swarmish').spec).toEqual(spec('swarmish', 2, 1, 'OnFailure'));
    expect(warnings.join('\n')).toMatch(/services\.once-with-data\.restart: a service that runs once with a named volume/);
  });

  it('a user name (not an id) is a warning, not a wrong runAsUser', async () => {
    const d = tree({ 'compose.yaml': 'services:\n  a:\n    image: x\n    user: app\n' });
    const { manifests, warnings } = await convertToKubernetes(loadProject({ workingDir: d, environment: {} }));
    expect((manifests[0] as any).spec.template.spec.containers[0].securityContext).toBeUndefined();
    expect(warnings.join('\n')).toMatch(/services\.a\.user: "app" is a name/);
  });

  it('the CLI writes one file per object, and warns on stderr', () => {
    const out = join(dir, 'k8s');
    const r = cli(['convert', 'k8s', '-o', out], { cwd: dir });
    expect(r.stderr).toMatch(/wrote 6 manifests/);
    expect(r.code).toBe(0);
    expect(readdirSync(out).sort()).toEqual(['configmap-app.yaml', 'deployment-api.yaml', 'job-migrate.yaml', 'secret-token.yaml', 'service-api.yaml', 'statefulset-db.yaml']);
    expect((jsyaml.load(readFileSync(join(out, 'deployment-api.yaml'), 'utf8')) as any).spec.replicas).toBe(3);
    expect(jsyaml.load(readFileSync(join(out, 'job-migrate.yaml'), 'utf8'))).toEqual(migrateJob());
    const bad = cli(['convert', 'swarm'], { cwd: dir });
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/unknown target "swarm"/);
    expect(bad.stderr).not.toMatch(/\n\s+at /);
  });
});
