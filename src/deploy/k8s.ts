/**
 * `convert k8s`: the Project as Kubernetes manifests, built with kubernetes-models and validated
 * against the Kubernetes schema. What has a mapping is mapped (more than kompose: extra_hosts,
 * sysctls, dns, security options, ulimits are not dropped silently); every key that has none is
 * named in a warning.
 *
 * A service is a Job only when it is meant to run once: it serves no ports (ports, expose), no
 * service waits for it as service_started / service_healthy, and either its restart policy is
 * "no" (restart: "no", deploy.restart_policy.condition: none) or another service waits for it as
 * service_completed_successfully (a migration). Every other service is long-running: a Deployment
 * (a StatefulSet with named volumes), and a restart policy of "no" or on-failure on it is named in
 * a warning, since Kubernetes restarts a Deployment's pods always. A Job's restart policy and
 * retries (backoffLimit) come from restart / deploy.restart_policy.
 */
import { DockyardError } from '../errors.js';
import { definedContent } from './content.js';
import { imageName } from '../model/names.js';
import type { Project, Service } from '../model/project.js';

type Rec = Record<string, unknown>;

export interface K8sResult {
  /** the manifests, in apply order (config first, then workloads, services) */
  manifests: Rec[];
  warnings: string[];
}

/** Kubernetes names: lower case alphanumerics and dashes. */
const k8sName = (s: string) => s.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 63) || 'x';
const seconds = (ns: number | undefined) => (ns === undefined ? undefined : Math.max(1, Math.round(ns / 1e9)));

/** Keys of a service that the conversion maps (the others are named in a warning). */
const MAPPED = new Set([
  'name', 'image', 'build', 'command', 'entrypoint', 'environment', 'env_file', 'label_file', 'labels', 'annotations', 'ports', 'expose', 'volumes', 'tmpfs', 'networks',
  'depends_on', 'healthcheck', 'deploy', 'scale', 'secrets', 'configs', 'user', 'working_dir', 'tty', 'stdin_open', 'privileged', 'read_only', 'cap_add', 'cap_drop',
  'security_opt', 'sysctls', 'extra_hosts', 'dns', 'dns_search', 'dns_opt', 'hostname', 'restart', 'stop_grace_period', 'pull_policy', 'profiles', 'mem_limit', 'mem_reservation', 'cpus', 'init', 'ulimits',
]);

/**
 * The restart policy a service asks for: the key it comes from (deploy.restart_policy wins, as in
 * Compose), the value as written there, and the retries of on-failure (on-failure:N, max_attempts).
 */
function restartOf(s: Service): { key: string; written?: string; mode?: 'no' | 'on-failure' | 'always' | 'unless-stopped'; retries?: number } {
  const cond = s.deploy?.restart_policy?.condition;
  if (cond !== undefined) {
    const key = `services.${s.name}.deploy.restart_policy.condition`;
    if (cond === 'none') return { key, written: cond, mode: 'no' };
    if (cond === 'on-failure') return { key, written: cond, mode: 'on-failure', retries: s.deploy?.restart_policy?.max_attempts };
    return { key, written: cond, mode: 'always' };
  }
  const key = `services.${s.name}.restart`;
  const m = /^on-failure(?::(\d+))?$/.exec(s.restart ?? '');
  if (m) return { key, written: s.restart, mode: 'on-failure', retries: m[1] ? Number(m[1]) : undefined };
  return { key, written: s.restart, mode: s.restart === 'no' || s.restart === 'always' || s.restart === 'unless-stopped' ? s.restart : undefined };
}

/** The named volumes (top-level volumes) a service mounts. */
const namedVolumes = (project: Project, s: Service) => (s.volumes ?? []).filter((v) => v.type === 'volume' && v.source && project.volumes[v.source]);

type WorkloadKind = 'Job' | 'Deployment' | 'StatefulSet';

/** What a service becomes in Kubernetes, and why (see the module's comment). */
interface Workload {
  kind: WorkloadKind;
  /** Jobs only: the pod's restart policy and the Job's backoffLimit */
  job?: { policy: 'Never' | 'OnFailure'; retries: number };
  /** what the conversion says about the service's restart policy, if anything */
  warning?: string;
}

/** Kubernetes' default backoffLimit; also where Compose retries without limit (on-failure, on-failure:0, max_attempts 0). */
const DEFAULT_RETRIES = 6;

/** Whether each service runs once (a Job) or is kept running (Deployment, StatefulSet). */
function workloadKinds(project: Project): Map<string, Workload> {
  const waiters = new Map<string, Array<{ by: string; condition: string }>>();
  for (const s of Object.values(project.services)) {
    for (const [d, c] of Object.entries(s.depends_on ?? {})) (waiters.get(d) ?? waiters.set(d, []).get(d)!).push({ by: s.name, condition: c.condition });
  }
  const out = new Map<string, Workload>();
  for (const s of Object.values(project.services)) {
    const r = restartOf(s);
    const w = waiters.get(s.name) ?? [];
    const served = [...new Set([...(s.ports ?? []).map((p) => `${p.target}/${p.protocol}`), ...(s.expose ?? []).map((e) => (e.includes('/') ? e : `${e}/tcp`))])];
    const running = w.filter((x) => x.condition !== 'service_completed_successfully');
    const completed = w.filter((x) => x.condition === 'service_completed_successfully');
    const claims = namedVolumes(project, s).length > 0;
    const what = JSON.stringify(r.written);
    if (!served.length && !running.length && (r.mode === 'no' || completed.length)) {
      const job =
        r.mode === 'on-failure' ? { policy: 'OnFailure' as const, retries: r.retries || DEFAULT_RETRIES }
        : r.mode === 'always' || r.mode === 'unless-stopped' ? { policy: 'OnFailure' as const, retries: DEFAULT_RETRIES }
        : { policy: 'Never' as const, retries: 0 };
      if (claims) out.set(s.name, { kind: 'StatefulSet', warning: `${r.key}: a service that runs once with a named volume has no mapping here (a StatefulSet restarts its pods); made a StatefulSet` });
      else if (r.mode === 'always' || r.mode === 'unless-stopped') out.set(s.name, { kind: 'Job', job, warning: `${r.key}: ${what}: ${completed.map((x) => x.by).join(', ')} ${completed.length > 1 ? 'wait' : 'waits'} for it to complete, so it is a Job; Kubernetes does not run it again once it has succeeded` });
      else out.set(s.name, { kind: 'Job', job });
      continue;
    }
    const kind = claims ? 'StatefulSet' : 'Deployment';
    let warning: string | undefined;
    if (r.mode === 'no' || r.mode === 'on-failure') {
      const why = served.length ? `it listens on ${served.join(', ')}` : running.length ? running.map((x) => `${x.by} waits for it as ${x.condition}`).join(', ') : 'no service waits for it to complete';
      warning = `${r.key}: ${what}: a long-running service (${why}), so a ${kind}; Kubernetes restarts its pods always (restartPolicy: Always)`;
    }
    out.set(s.name, { kind, ...(warning ? { warning } : {}) });
  }
  return out;
}

export async function convertToKubernetes(project: Project, o: { namespace?: string } = {}): Promise<K8sResult> {
  const [apps, core, batch] = await Promise.all([import('kubernetes-models/apps/v1'), import('kubernetes-models/v1'), import('kubernetes-models/batch/v1')]);
  const warnings: string[] = [];
  const configs: Rec[] = [];
  const workloads: Rec[] = [];
  const services: Rec[] = [];
  const ns = o.namespace ? { namespace: k8sName(o.namespace) } : {};
  const partOf = { 'app.kubernetes.io/part-of': k8sName(project.name) };
  const validate = <T extends { validate(): void; toJSON(): unknown }>(obj: T, what: string): Rec => {
    try {
      obj.validate();
    } catch (e) {
      throw new DockyardError('INVALID_VALUE', `the ${what} does not validate against the Kubernetes schema: ${(e as Error).message}`, { hint: 'report it: the conversion should only build valid objects' });
    }
    return JSON.parse(JSON.stringify(obj.toJSON())) as Rec;
  };

  const kinds = workloadKinds(project);

  // configs and secrets: a ConfigMap / Secret each, mounted at their targets
  for (const [key, def] of Object.entries(project.configs)) {
    if (def.external) {
      warnings.push(`configs.${key}: external: expected to exist in the cluster as ConfigMap ${k8sName(def.name)}`);
      continue;
    }
    configs.push(validate(new core.ConfigMap({ metadata: { name: k8sName(key), labels: partOf, ...ns }, data: { [key]: definedContent(project, def) } }), `ConfigMap ${key}`));
  }
  for (const [key, def] of Object.entries(project.secrets)) {
    if (def.external) {
      warnings.push(`secrets.${key}: external: expected to exist in the cluster as Secret ${k8sName(def.name)}`);
      continue;
    }
    configs.push(validate(new core.Secret({ metadata: { name: k8sName(key), labels: partOf, ...ns }, type: 'Opaque', stringData: { [key]: definedContent(project, def) } }), `Secret ${key}`));
  }

  const container = (s: Service, name = k8sName(s.name)): Rec => {
    const c: Rec = { name, image: imageName(project.name, s) };
    if (s.entrypoint) c.command = s.entrypoint;
    if (s.command) c.args = s.command;
    const env = Object.entries(s.environment ?? {}).filter(([, v]) => v !== null).map(([k, v]) => ({ name: k, value: String(v) }));
    if (env.length) c.env = env;
    const ports = new Map<string, Rec>();
    for (const p of s.ports ?? []) ports.set(`${p.target}/${p.protocol}`, { containerPort: p.target, protocol: p.protocol.toUpperCase() });
    for (const e of s.expose ?? []) {
      const [port, proto] = e.split('/');
      if (/^\d+$/.test(port!)) ports.set(`${port}/${proto ?? 'tcp'}`, { containerPort: Number(port), protocol: (proto ?? 'tcp').toUpperCase() });
    }
    if (ports.size) c.ports = [...ports.values()];
    if (s.working_dir) c.workingDir = s.working_dir;
    if (s.tty) c.tty = true;
    if (s.stdin_open) c.stdin = true;
    const limits: Rec = {};
    const requests: Rec = {};
    const lim = s.deploy?.resources?.limits;
    const res = s.deploy?.resources?.reservations;
    if (lim?.cpus ?? s.cpus) limits.cpu = String(lim?.cpus ?? s.cpus);
    if (lim?.memory ?? s.mem_limit) limits.memory = String(lim?.memory ?? s.mem_limit);
    if (res?.cpus) requests.cpu = String(res.cpus);
    if (res?.memory ?? s.mem_reservation) requests.memory = String(res?.memory ?? s.mem_reservation);
    if (Object.keys(limits).length || Object.keys(requests).length) c.resources = { ...(Object.keys(limits).length ? { limits } : {}), ...(Object.keys(requests).length ? { requests } : {}) };
    const h = s.healthcheck;
    if (h && !h.disable && h.test?.length) {
      const command = h.test[0] === 'CMD-SHELL' ? ['sh', '-c', h.test.slice(1).join(' ')] : h.test[0] === 'CMD' ? h.test.slice(1) : h.test;
      const probe = { exec: { command }, periodSeconds: seconds(h.interval), timeoutSeconds: seconds(h.timeout), failureThreshold: h.retries, initialDelaySeconds: seconds(h.start_period) };
      c.readinessProbe = probe;
      c.livenessProbe = probe;
    }
    const sc: Rec = {};
    if (s.user) {
      const [u, g] = s.user.split(':');
      if (/^\d+$/.test(u!)) sc.runAsUser = Number(u);
      else warnings.push(`services.${s.name}.user: "${s.user}" is a name; Kubernetes needs numeric ids (runAsUser)`);
      if (g && /^\d+$/.test(g)) sc.runAsGroup = Number(g);
    }
    if (s.privileged) sc.privileged = true;
    if (s.read_only) sc.readOnlyRootFilesystem = true;
    if (s.cap_add?.length || s.cap_drop?.length) sc.capabilities = { ...(s.cap_add?.length ? { add: s.cap_add } : {}), ...(s.cap_drop?.length ? { drop: s.cap_drop } : {}) };
    for (const opt of s.security_opt ?? []) {
      if (/^no-new-privileges(:true)?$/.test(opt)) sc.allowPrivilegeEscalation = false;
      else warnings.push(`services.${s.name}.security_opt: "${opt}" has no mapping`);
    }
    if (Object.keys(sc).length) c.securityContext = sc;
    return c;
  };

  for (const s of Object.values(project.services)) {
    const workload = kinds.get(s.name)!;
    const name = k8sName(s.name);
    const labels = { 'app.kubernetes.io/name': name, ...partOf };
    for (const k of Object.keys(s)) {
      if (!MAPPED.has(k) && !k.startsWith('x-')) warnings.push(`services.${s.name}.${k}: no Kubernetes mapping`);
    }
    if (s.network_mode) warnings.push(`services.${s.name}.network_mode: no Kubernetes mapping (pods have their own network)`);
    if (s.logging) warnings.push(`services.${s.name}.logging: no Kubernetes mapping (the cluster's log collection applies)`);
    if (s.ulimits) warnings.push(`services.${s.name}.ulimits: no Kubernetes mapping (set by the container runtime)`);
    if (s.build?.args) warnings.push(`services.${s.name}.build: build arguments are for building; build and push ${imageName(project.name, s)} first`);
    if (s.build && !s.image) warnings.push(`services.${s.name}.build: the image ${imageName(project.name, s)} must be pushed to a registry the cluster can pull from`);
    if (workload.warning) warnings.push(workload.warning);
    for (const [dep, cfg] of Object.entries(s.depends_on ?? {})) {
      const depKind = kinds.get(dep)?.kind;
      if (!depKind) warnings.push(`services.${s.name}.depends_on.${dep}: not a service of the project; not converted`);
      else if (cfg.condition === 'service_completed_successfully' && depKind === 'Job') warnings.push(`services.${s.name}.depends_on.${dep}: Kubernetes does not wait for the Job ${k8sName(dep)} to complete before it starts ${name}'s pods; ${s.name} must wait for its work, or retry, on its own`);
      else if (cfg.condition === 'service_completed_successfully') warnings.push(`services.${s.name}.depends_on.${dep}: ${dep} is long-running here (a ${depKind}), so it never completes; Kubernetes starts pods independently`);
      else warnings.push(`services.${s.name}.depends_on.${dep}: Kubernetes starts pods independently; ${dep}'s readiness probe is what others can rely on`);
    }
    const c = container(s);
    const volumes: Rec[] = [];
    const mounts: Rec[] = [];
    const claims: Rec[] = [];
    (s.volumes ?? []).forEach((v, i) => {
      const vname = `${name}-v${i}`;
      if (v.type === 'volume' && v.source && project.volumes[v.source]) {
        claims.push({ metadata: { name: k8sName(v.source) }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } });
        mounts.push({ name: k8sName(v.source), mountPath: v.target, ...(v.read_only ? { readOnly: true } : {}) });
      } else if (v.type === 'tmpfs' || (v.type === 'volume' && !v.source)) {
        volumes.push({ name: vname, emptyDir: v.type === 'tmpfs' ? { medium: 'Memory' } : {} });
        mounts.push({ name: vname, mountPath: v.target });
      } else if (v.type === 'bind') {
        warnings.push(`services.${s.name}.volumes[${i}]: bind mount of ${v.source} has no portable mapping; bake the files into the image or use a ConfigMap (a hostPath would tie the pod to one node)`);
      } else warnings.push(`services.${s.name}.volumes[${i}]: ${v.type} volume has no mapping`);
    });
    for (const t of s.tmpfs ?? []) {
      const vname = `${name}-tmp${volumes.length}`;
      volumes.push({ name: vname, emptyDir: { medium: 'Memory' } });
      mounts.push({ name: vname, mountPath: t.split(':')[0] });
    }
    for (const [kind, list] of [['configs', s.configs], ['secrets', s.secrets]] as const) {
      for (const ref of list ?? []) {
        const def = project[kind][ref.source];
        if (!def) continue;
        const vname = `${kind === 'configs' ? 'cfg' : 'sec'}-${k8sName(ref.source)}`;
        const target = ref.target ? (ref.target.startsWith('/') ? ref.target : `${kind === 'secrets' ? '/run/secrets/' : '/'}${ref.target}`) : `${kind === 'secrets' ? '/run/secrets/' : '/'}${ref.source}`;
        if (!volumes.some((v) => v.name === vname)) volumes.push({ name: vname, ...(kind === 'configs' ? { configMap: { name: k8sName(def.external ? def.name : ref.source) } } : { secret: { secretName: k8sName(def.external ? def.name : ref.source) } }) });
        mounts.push({ name: vname, mountPath: target, subPath: ref.source, readOnly: true });
      }
    }
    if (mounts.length) c.volumeMounts = mounts;
    const pod: Rec = { containers: [c] };
    if (volumes.length) pod.volumes = volumes;
    if (s.hostname) pod.hostname = s.hostname;
    if (s.extra_hosts?.length) {
      const byIp = new Map<string, string[]>();
      for (const e of s.extra_hosts) {
        const [host, ip] = e.split('=');
        (byIp.get(ip!) ?? byIp.set(ip!, []).get(ip!)!).push(host!);
      }
      pod.hostAliases = [...byIp].map(([ip, hostnames]) => ({ ip, hostnames }));
    }
    if (s.dns?.length || s.dns_search?.length || s.dns_opt?.length) {
      pod.dnsPolicy = s.dns?.length ? 'None' : 'ClusterFirst';
      pod.dnsConfig = { ...(s.dns?.length ? { nameservers: s.dns } : {}), ...(s.dns_search?.length ? { searches: s.dns_search } : {}), ...(s.dns_opt?.length ? { options: s.dns_opt.map((x) => ({ name: x.split(':')[0] })) } : {}) };
    }
    if (s.sysctls && Object.keys(s.sysctls).length) pod.securityContext = { sysctls: Object.entries(s.sysctls).map(([k, v]) => ({ name: k, value: String(v ?? '') })) };
    if (s.stop_grace_period !== undefined) pod.terminationGracePeriodSeconds = seconds(s.stop_grace_period);
    const replicas = s.deploy?.replicas ?? s.scale ?? 1;
    const meta = { name, labels, ...ns, ...(s.annotations ? { annotations: Object.fromEntries(Object.entries(s.annotations).map(([k, v]) => [k, String(v ?? '')])) } : {}) };
    const template = { metadata: { labels: { ...labels, ...Object.fromEntries(Object.entries(s.labels ?? {}).filter(([k]) => /^[a-zA-Z0-9./-]+$/.test(k) && k.length <= 63)) } }, spec: pod };
    const selector = { matchLabels: { 'app.kubernetes.io/name': name, ...partOf } };
    if (workload.kind === 'Job') {
      // a service that runs once: a Job, its pods run to completion
      const job = workload.job!;
      template.spec = { ...pod, restartPolicy: job.policy };
      workloads.push(validate(new batch.Job({ metadata: meta, spec: { backoffLimit: job.retries, completions: replicas, parallelism: replicas, template } } as never), `Job ${name}`));
    } else if (workload.kind === 'StatefulSet') {
      // named volumes: a StatefulSet, each replica with its own claim
      workloads.push(validate(new apps.StatefulSet({ metadata: meta, spec: { replicas, serviceName: name, selector, template, volumeClaimTemplates: claims } } as never), `StatefulSet ${name}`));
    } else {
      workloads.push(validate(new apps.Deployment({ metadata: meta, spec: { replicas, selector, template } } as never), `Deployment ${name}`));
    }
    // a Service for the ports it publishes or exposes
    const ports = [...new Map((s.ports ?? []).map((p) => [`${p.published ?? p.target}/${p.protocol}`, { name: `p${p.published ?? p.target}-${p.protocol}`, port: Number(p.published?.split('-')[0] ?? p.target), targetPort: p.target, protocol: p.protocol.toUpperCase() }])).values()];
    for (const e of s.expose ?? []) {
      const [port, proto] = e.split('/');
      if (/^\d+$/.test(port!) && !ports.some((p) => p.targetPort === Number(port))) ports.push({ name: `p${port}-${proto ?? 'tcp'}`, port: Number(port), targetPort: Number(port), protocol: (proto ?? 'tcp').toUpperCase() });
    }
    if (ports.length) services.push(validate(new core.Service({ metadata: { name, labels, ...ns }, spec: { selector: selector.matchLabels, ports } } as never), `Service ${name}`));
  }
  for (const v of Object.keys(project.volumes)) if (!Object.values(project.services).some((s) => (s.volumes ?? []).some((m) => m.source === v))) warnings.push(`volumes.${v}: used by no service; not converted`);
  for (const [v, def] of Object.entries(project.volumes)) {
    const users = Object.values(project.services).filter((s) => (s.volumes ?? []).some((m) => m.type === 'volume' && m.source === v));
    if (users.length > 1) warnings.push(`volumes.${v}: shared by ${users.map((u) => u.name).join(', ')}; each gets its own claim (a shared one needs a ReadWriteMany storage class)`);
    if (def.external) warnings.push(`volumes.${v}: external: expected to exist in the cluster as a PersistentVolumeClaim`);
  }
  return { manifests: [...configs, ...workloads, ...services], warnings };
}
