/**
 * convert k8s: which workload a service becomes, by what it does (issue 28). A service is a Job
 * only when it is meant to run once: no ports, nobody waits for it as started / healthy, and
 * restart: "no" or another service waits for it as service_completed_successfully. Every other
 * service is a Deployment (a StatefulSet with named volumes), with a warning when its restart
 * policy ("no", on-failure) is one Kubernetes cannot keep.
 *
 * Every expected manifest and warning below is written by hand: the whole object is compared
 * (toEqual), never only checked by the validator the converter itself calls, and never a snapshot
 * printed by the converter.
 */
import { afterAll, describe, expect, it } from 'vitest';
// as a user's code would: by the package's name
import { convertToKubernetes } from 'dockyard';
import { loadProject } from '../../src/load/index.js';
import { cleanupTrees, tree } from '../helpers/fs.js';

afterAll(cleanupTrees);

type Obj = Record<string, any>;

async function convert(compose: string) {
  const dir = tree({ 'compose.yaml': compose });
  const { manifests, warnings } = await convertToKubernetes(loadProject({ workingDir: dir, environment: {} }));
  const get = (kind: string, name: string) => {
    const found = manifests.filter((m) => m.kind === kind && (m.metadata as { name: string }).name === name);
    expect(found, `${kind} ${name}`).toHaveLength(1);
    return found[0] as Obj;
  };
  /** kind/name of every manifest, in order */
  const index = manifests.map((m) => `${String(m.kind)}/${(m.metadata as { name: string }).name}`);
  return { manifests, warnings, get, index };
}

/** the labels every object of service `name` of project `shop` carries (and selects its pods by) */
const labels = (name: string) => ({ 'app.kubernetes.io/name': name, 'app.kubernetes.io/part-of': 'shop' });

describe('convert k8s: one-shot and long-running services', () => {
  it('a web server with replicas, ports, a health check and restart_policy on-failure is a Deployment (probes from the health check), with a warning about its restart policy', async () => {
    const { get, index, warnings } = await convert(`
name: shop
services:
  web:
    image: nginx:1.27
    ports: ["8080:80"]
    healthcheck:
      test: ["CMD", "curl", "-f", "http://localhost/"]
      interval: 10s
      timeout: 3s
      retries: 5
      start_period: 15s
    deploy:
      replicas: 2
      restart_policy: { condition: on-failure }
`);
    expect(index).toEqual(['Deployment/web', 'Service/web']);
    const probe = { exec: { command: ['curl', '-f', 'http://localhost/'] }, periodSeconds: 10, timeoutSeconds: 3, failureThreshold: 5, initialDelaySeconds: 15 };
    expect(get('Deployment', 'web')).toEqual({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', labels: labels('web') },
      spec: {
        replicas: 2,
        selector: { matchLabels: labels('web') },
        template: {
          metadata: { labels: labels('web') },
          spec: {
            containers: [{ name: 'web', image: 'nginx:1.27', ports: [{ containerPort: 80, protocol: 'TCP' }], readinessProbe: probe, livenessProbe: probe }],
          },
        },
      },
    });
    expect(get('Service', 'web')).toEqual({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'web', labels: labels('web') },
      spec: { selector: labels('web'), ports: [{ name: 'p8080-tcp', port: 8080, targetPort: 80, protocol: 'TCP' }] },
    });
    expect(warnings).toEqual([
      'services.web.deploy.restart_policy.condition: "on-failure": a long-running service (it listens on 80/tcp), so a Deployment; Kubernetes restarts its pods always (restartPolicy: Always)',
    ]);
  });

  it('a migration others wait for (service_completed_successfully) is a Job: backoffLimit from on-failure:N or max_attempts, restartPolicy OnFailure', async () => {
    const { get, index, warnings } = await convert(`
name: shop
services:
  migrate:
    image: shop/api:1
    command: ["migrate", "--to", "latest"]
    restart: "on-failure:3"
  seed:
    image: shop/api:1
    command: ["seed"]
    deploy: { restart_policy: { condition: on-failure, max_attempts: 2 } }
  api:
    image: shop/api:1
    ports: ["8080:8080"]
    depends_on:
      migrate: { condition: service_completed_successfully }
      seed: { condition: service_completed_successfully }
`);
    // workloads in the order of the services' names, then Services
    expect(index).toEqual(['Deployment/api', 'Job/migrate', 'Job/seed', 'Service/api']);
    expect(get('Job', 'migrate')).toEqual({
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: 'migrate', labels: labels('migrate') },
      spec: {
        backoffLimit: 3,
        completions: 1,
        parallelism: 1,
        template: {
          metadata: { labels: labels('migrate') },
          spec: { containers: [{ name: 'migrate', image: 'shop/api:1', args: ['migrate', '--to', 'latest'] }], restartPolicy: 'OnFailure' },
        },
      },
    });
    expect(get('Job', 'seed')).toEqual({
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: 'seed', labels: labels('seed') },
      spec: {
        backoffLimit: 2,
        completions: 1,
        parallelism: 1,
        template: {
          metadata: { labels: labels('seed') },
          spec: { containers: [{ name: 'seed', image: 'shop/api:1', args: ['seed'] }], restartPolicy: 'OnFailure' },
        },
      },
    });
    // the migration runs once, as its own Job: not again as an init container of every api pod
    expect(get('Deployment', 'api')).toEqual({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'api', labels: labels('api') },
      spec: {
        replicas: 1,
        selector: { matchLabels: labels('api') },
        template: { metadata: { labels: labels('api') }, spec: { containers: [{ name: 'api', image: 'shop/api:1', ports: [{ containerPort: 8080, protocol: 'TCP' }] }] } },
      },
    });
    expect(warnings).toEqual([
      "services.api.depends_on.migrate: Kubernetes does not wait for the Job migrate to complete before it starts api's pods; api must wait for its work, or retry, on its own",
      "services.api.depends_on.seed: Kubernetes does not wait for the Job seed to complete before it starts api's pods; api must wait for its work, or retry, on its own",
    ]);
  });

  it('a one-shot dependency\'s retries: restart "no" or none is Never with no retry; on-failure without a limit (or :0, max_attempts 0) is Kubernetes\' default 6', async () => {
    const { get, warnings } = await convert(`
name: shop
services:
  plain: { image: x }
  never: { image: x, restart: "no" }
  none: { image: x, deploy: { restart_policy: { condition: none } } }
  unlimited: { image: x, restart: on-failure }
  zero: { image: x, restart: "on-failure:0" }
  zero-attempts: { image: x, deploy: { restart_policy: { condition: on-failure, max_attempts: 0 } } }
  app:
    image: x
    depends_on:
      plain: { condition: service_completed_successfully }
      never: { condition: service_completed_successfully }
      none: { condition: service_completed_successfully }
      unlimited: { condition: service_completed_successfully }
      zero: { condition: service_completed_successfully }
      zero-attempts: { condition: service_completed_successfully }
`);
    const spec = (name: string, backoffLimit: number, restartPolicy: string) => ({
      backoffLimit,
      completions: 1,
      parallelism: 1,
      template: { metadata: { labels: labels(name) }, spec: { containers: [{ name, image: 'x' }], restartPolicy } },
    });
    expect(get('Job', 'plain').spec).toEqual(spec('plain', 0, 'Never'));
    expect(get('Job', 'never').spec).toEqual(spec('never', 0, 'Never'));
    expect(get('Job', 'none').spec).toEqual(spec('none', 0, 'Never'));
    expect(get('Job', 'unlimited').spec).toEqual(spec('unlimited', 6, 'OnFailure'));
    expect(get('Job', 'zero').spec).toEqual(spec('zero', 6, 'OnFailure'));
    expect(get('Job', 'zero-attempts').spec).toEqual(spec('zero-attempts', 6, 'OnFailure'));
    expect(warnings.filter((w) => !w.startsWith('services.app.depends_on.'))).toEqual([]);
  });

  it('a restart: "no" service with no ports that nobody depends on is a Job (restartPolicy Never, no retry)', async () => {
    const { get, index, warnings } = await convert(`
name: shop
services:
  report:
    image: shop/report:2
    command: ["generate", "--month", "last"]
    environment: { OUT: /tmp/report }
    restart: "no"
`);
    expect(index).toEqual(['Job/report']);
    expect(get('Job', 'report')).toEqual({
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: 'report', labels: labels('report') },
      spec: {
        backoffLimit: 0,
        completions: 1,
        parallelism: 1,
        template: {
          metadata: { labels: labels('report') },
          spec: {
            containers: [{ name: 'report', image: 'shop/report:2', args: ['generate', '--month', 'last'], env: [{ name: 'OUT', value: '/tmp/report' }] }],
            restartPolicy: 'Never',
          },
        },
      },
    });
    expect(warnings).toEqual([]);
  });

  it('a restart: "no" service that publishes ports is a Deployment, with a warning', async () => {
    const { get, index, warnings } = await convert(`
name: shop
services:
  admin:
    image: shop/admin:1
    restart: "no"
    ports: ["9000:9000"]
`);
    expect(index).toEqual(['Deployment/admin', 'Service/admin']);
    expect(get('Deployment', 'admin')).toEqual({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'admin', labels: labels('admin') },
      spec: {
        replicas: 1,
        selector: { matchLabels: labels('admin') },
        template: { metadata: { labels: labels('admin') }, spec: { containers: [{ name: 'admin', image: 'shop/admin:1', ports: [{ containerPort: 9000, protocol: 'TCP' }] }] } },
      },
    });
    expect(warnings).toEqual([
      'services.admin.restart: "no": a long-running service (it listens on 9000/tcp), so a Deployment; Kubernetes restarts its pods always (restartPolicy: Always)',
    ]);
  });

  it('a restart: "no" service another depends on as service_healthy or service_started (the short form too) is a Deployment, with a warning', async () => {
    const { get, index, warnings } = await convert(`
name: shop
services:
  cache:
    image: redis:7
    restart: "no"
    healthcheck: { test: ["CMD", "redis-cli", "ping"], interval: 2s }
  queue:
    image: rabbitmq:3
    restart: "no"
  app:
    image: shop/app:1
    depends_on:
      cache: { condition: service_healthy }
  worker:
    image: shop/app:1
    depends_on: [queue]
`);
    expect(index).toEqual(['Deployment/app', 'Deployment/cache', 'Deployment/queue', 'Deployment/worker']);
    const probe = { exec: { command: ['redis-cli', 'ping'] }, periodSeconds: 2 };
    expect(get('Deployment', 'cache')).toEqual({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'cache', labels: labels('cache') },
      spec: {
        replicas: 1,
        selector: { matchLabels: labels('cache') },
        template: { metadata: { labels: labels('cache') }, spec: { containers: [{ name: 'cache', image: 'redis:7', readinessProbe: probe, livenessProbe: probe }] } },
      },
    });
    expect(get('Deployment', 'queue')).toEqual({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'queue', labels: labels('queue') },
      spec: {
        replicas: 1,
        selector: { matchLabels: labels('queue') },
        template: { metadata: { labels: labels('queue') }, spec: { containers: [{ name: 'queue', image: 'rabbitmq:3' }] } },
      },
    });
    expect(warnings).toEqual([
      "services.app.depends_on.cache: Kubernetes starts pods independently; cache's readiness probe is what others can rely on",
      'services.cache.restart: "no": a long-running service (app waits for it as service_healthy), so a Deployment; Kubernetes restarts its pods always (restartPolicy: Always)',
      'services.queue.restart: "no": a long-running service (worker waits for it as service_started), so a Deployment; Kubernetes restarts its pods always (restartPolicy: Always)',
      "services.worker.depends_on.queue: Kubernetes starts pods independently; queue's readiness probe is what others can rely on",
    ]);
  });

  it('on-failure on a service nobody waits to complete is a Deployment (a worker), with a warning; always and unless-stopped need none', async () => {
    const { index, warnings } = await convert(`
name: shop
services:
  worker: { image: shop/app:1, restart: "on-failure:5" }
  steady: { image: shop/app:1, restart: always }
  stays: { image: shop/app:1, restart: unless-stopped }
  plain: { image: shop/app:1 }
`);
    expect(index).toEqual(['Deployment/plain', 'Deployment/stays', 'Deployment/steady', 'Deployment/worker']);
    expect(warnings).toEqual([
      'services.worker.restart: "on-failure:5": a long-running service (no service waits for it to complete), so a Deployment; Kubernetes restarts its pods always (restartPolicy: Always)',
    ]);
  });

  it('a one-shot dependency that listens on a port is long-running: a Deployment, and the service waiting for it is told it never completes', async () => {
    const { index, warnings } = await convert(`
name: shop
services:
  setup: { image: x, expose: ["8000"] }
  app:
    image: x
    depends_on: { setup: { condition: service_completed_successfully } }
`);
    expect(index).toEqual(['Deployment/app', 'Deployment/setup', 'Service/setup']);
    expect(warnings).toEqual(['services.app.depends_on.setup: setup is long-running here (a Deployment), so it never completes; Kubernetes starts pods independently']);
  });

  it('a one-shot dependency with restart: always is still a Job (it is waited for to complete), with a warning', async () => {
    const { get, warnings } = await convert(`
name: shop
services:
  init: { image: x, restart: always }
  app:
    image: x
    depends_on: { init: { condition: service_completed_successfully } }
`);
    expect(get('Job', 'init').spec).toEqual({
      backoffLimit: 6,
      completions: 1,
      parallelism: 1,
      template: { metadata: { labels: labels('init') }, spec: { containers: [{ name: 'init', image: 'x' }], restartPolicy: 'OnFailure' } },
    });
    expect(warnings).toEqual([
      "services.app.depends_on.init: Kubernetes does not wait for the Job init to complete before it starts app's pods; app must wait for its work, or retry, on its own",
      'services.init.restart: "always": app waits for it to complete, so it is a Job; Kubernetes does not run it again once it has succeeded',
    ]);
  });

  it('a service with a named volume is a StatefulSet with a claim per replica', async () => {
    const { get, index, warnings } = await convert(`
name: shop
services:
  db:
    image: postgres:16
    expose: ["5432"]
    volumes: ["pgdata:/var/lib/postgresql/data"]
    deploy: { replicas: 1 }
volumes:
  pgdata: {}
`);
    expect(index).toEqual(['StatefulSet/db', 'Service/db']);
    expect(get('StatefulSet', 'db')).toEqual({
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: { name: 'db', labels: labels('db') },
      spec: {
        replicas: 1,
        serviceName: 'db',
        selector: { matchLabels: labels('db') },
        template: {
          metadata: { labels: labels('db') },
          spec: {
            containers: [{ name: 'db', image: 'postgres:16', ports: [{ containerPort: 5432, protocol: 'TCP' }], volumeMounts: [{ name: 'pgdata', mountPath: '/var/lib/postgresql/data' }] }],
          },
        },
        volumeClaimTemplates: [{ metadata: { name: 'pgdata' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } }],
      },
    });
    expect(get('Service', 'db')).toEqual({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'db', labels: labels('db') },
      spec: { selector: labels('db'), ports: [{ name: 'p5432-tcp', port: 5432, targetPort: 5432, protocol: 'TCP' }] },
    });
    expect(warnings).toEqual([]);
  });
});
