/**
 * The executor: what every verb shares (resources, images, creating, recreating and starting
 * containers with diagnosis, stopping, orders, waits, failures), and the verbs as methods that
 * call their own modules: up.ts, down.ts, lifecycle.ts (and run.ts, attach.ts, logs.ts).
 */
import { DockyardError, isConflict } from '../errors.js';
import type { ContainerInspect, Engine, ImageInspect } from '../engine/engine.js';
import { serviceGraph } from '../load/index.js';
import { imageName, LABEL } from '../model/names.js';
import type { Project, Service } from '../model/project.js';
import type { Emit, Timeline } from './events.js';
import { containerSpec, networkBody, volumeBody } from './spec.js';
import type { ContainerOptions } from './spec.js';
import type { Plan } from './plan.js';
import { planUpOnly, up } from './up.js';
import { down } from './down.js';
import { kill, restart, rm, start, stop } from './lifecycle.js';
import { Limit, parallelLimit, projectContainers } from './state.js';
import type { ProjectContainer } from './state.js';
import { conditionFor, EventHub } from './waits.js';
import { tarFiles } from './tar.js';

export interface UpOptions {
  /** services to bring up (with their dependencies unless noDeps); default all */
  services?: string[];
  scale?: Record<string, number>;
  forceRecreate?: boolean;
  noRecreate?: boolean;
  noStart?: boolean;
  noDeps?: boolean;
  removeOrphans?: boolean;
  /** wait for running/healthy/completed after starting */
  wait?: boolean;
  waitTimeoutMs?: number;
  /** seconds to wait when stopping containers being replaced */
  timeout?: number;
  /** build images that are missing ('missing'), always ('always') or never ('never') */
  build?: 'missing' | 'always' | 'never';
  /** pull images: always, missing (when not present), never, build (build what has a build section); default: each service's pull_policy */
  pull?: 'always' | 'missing' | 'never' | 'build';
  /** no pull progress */
  quietPull?: boolean;
  /** recreated containers get new anonymous volumes instead of their predecessors' */
  renewAnonVolumes?: boolean;
  /** recreate the dependencies of the services named, even if unchanged */
  recreateDeps?: boolean;
  /** builds images (skipping up-to-date ones unless force); called with every service that has a build */
  builder?: (services: Service[], force: boolean) => Promise<void>;
  signal?: AbortSignal;
}

export interface UpResult {
  timeline: Timeline;
  containers: Record<string, string[]>;
}

const LOG_TAIL = 10;

/** A pull policy (up --pull, or the service's pull_policy): always, never, missing, build, or a refresh period. */
export function pullPolicy(p: string | undefined): { kind: 'always' | 'never' | 'missing' | 'build' } | { kind: 'every'; ms: number } {
  switch (p) {
    case undefined:
    case 'missing':
    case 'if_not_present':
      return { kind: 'missing' };
    case 'always':
    case 'never':
    case 'build':
      return { kind: p };
    case 'refresh':
      return { kind: 'always' };
    case 'daily':
      return { kind: 'every', ms: 86_400_000 };
    case 'weekly':
      return { kind: 'every', ms: 7 * 86_400_000 };
  }
  const m = /^every_(\d+)([smhdw])$/.exec(p);
  if (m) return { kind: 'every', ms: Number(m[1]) * { s: 1e3, m: 6e4, h: 3.6e6, d: 8.64e7, w: 6.048e8 }[m[2] as 's']! };
  return { kind: 'missing' };
}

/** When an image was last pulled or tagged here (else built). */
function imageTime(img: ImageInspect): number {
  const t = Date.parse(img.Metadata?.LastTagTime ?? '');
  return Number.isNaN(t) || t <= 0 ? Date.parse(img.Created ?? '') || 0 : t;
}

export class Converger {
  readonly limit = new Limit(parallelLimit());

  constructor(
    readonly engine: Engine,
    readonly project: Project,
    readonly emit: Emit = () => undefined,
  ) {}

  stopTimeout(s: Service | undefined, override?: number): number | undefined {
    if (override !== undefined) return override;
    if (s?.stop_grace_period !== undefined) return Math.ceil(s.stop_grace_period / 1e9);
    return undefined;
  }

  /** Last log lines of a container, for error messages. */
  async lastLogs(id: string, n = LOG_TAIL): Promise<string> {
    try {
      const info = await this.engine.inspectContainer(id);
      const logs = await this.engine.containerLogs(id, { tail: n }, info?.Config.Tty ?? false);
      const chunks: Buffer[] = [];
      logs.stdout.on('data', (c: Buffer) => chunks.push(c));
      logs.stderr.on('data', (c: Buffer) => chunks.push(c));
      await logs.done;
      await new Promise((r) => setImmediate(r));
      return Buffer.concat(chunks).toString('utf8').trimEnd();
    } catch {
      return '';
    }
  }

  async failure(service: string, id: string, reason: string, info?: ContainerInspect): Promise<DockyardError> {
    const health = info?.State.Health?.Log?.at(-1);
    const healthOut = health ? `\n  last health check (exit ${health.ExitCode}): ${health.Output.trim().split('\n').slice(-3).join(' | ')}` : '';
    const logs = await this.lastLogs(id);
    const tail = logs ? `\n  last log lines:\n${logs.split('\n').map((l) => `    ${l}`).join('\n')}` : '';
    return new DockyardError('SERVICE_FAILED', `service "${service}" ${reason}${healthOut}${tail}`, {
      hint: `inspect it with: dockyard logs ${service}`,
    });
  }

  async ensureEngine(): Promise<void> {
    await this.engine.ping();
  }

  /**
   * Checks the networks the services use (external ones must exist) and returns the creation of
   * the missing ones, to be started by the caller: creating a network takes the engine ~100 ms,
   * which `up` overlaps with creating the containers (only starting them needs the network).
   */
  async planNetworks(services: Service[]): Promise<() => Promise<void>> {
    const used = new Set<string>();
    for (const s of services) for (const n of Object.keys(s.networks ?? {})) used.add(n);
    const missing: Array<{ name: string; body: Record<string, unknown> }> = [];
    await Promise.all(
      [...used].map(async (key) => {
        const net = this.project.networks[key];
        if (!net) return;
        const existing = await this.engine.inspectNetwork(net.name);
        if (net.external) {
          if (!existing) throw new DockyardError('MISSING_REFERENCE', `external network "${net.name}" does not exist`, { hint: `create it first: docker network create ${net.name}` });
          return;
        }
        const body = networkBody(this.project, key);
        if (existing) {
          if (existing.Labels[LABEL.project] && existing.Labels[LABEL.project] !== this.project.name) {
            this.emit({ type: 'warning', message: `network ${net.name} belongs to project ${existing.Labels[LABEL.project]}; using it anyway` });
          } else if (existing.Labels[LABEL.networkHash] && existing.Labels[LABEL.networkHash] !== (body.Labels as Record<string, string>)[LABEL.networkHash]) {
            this.emit({ type: 'warning', message: `network ${net.name} was created from an earlier definition of "${key}" (driver, options, IPAM, internal or labels changed) and is used as it is: \`dockyard down\` then \`up\` recreates it` });
          }
          return;
        }
        missing.push({ name: net.name, body });
      }),
    );
    return async () => {
      await Promise.all(
        missing.map(async ({ name, body }) => {
          this.emit({ type: 'resource', kind: 'network', name, action: 'creating' });
          try {
            await this.engine.createNetwork(body);
          } catch (e) {
            // created concurrently by another run: fine
            if (!(await this.engine.inspectNetwork(name))) throw e;
          }
          this.emit({ type: 'resource', kind: 'network', name, action: 'created' });
        }),
      );
    };
  }

  /** The networks and volumes these services need, created where missing (for `run`). */
  async ensureResources(services: Service[]): Promise<void> {
    const createNetworks = await this.planNetworks(services);
    await Promise.all([createNetworks(), this.ensureVolumes(services)]);
  }

  async ensureVolumes(services: Service[]): Promise<void> {
    const used = new Set<string>();
    for (const s of services) for (const v of s.volumes ?? []) if (v.type === 'volume' && v.source && this.project.volumes[v.source]) used.add(v.source);
    await Promise.all(
      [...used].map(async (key) => {
        const vol = this.project.volumes[key]!;
        const existing = await this.engine.inspectVolume(vol.name);
        if (vol.external) {
          if (!existing) throw new DockyardError('MISSING_REFERENCE', `external volume "${vol.name}" does not exist`, { hint: `create it first: docker volume create ${vol.name}` });
          return;
        }
        if (existing) return;
        this.emit({ type: 'resource', kind: 'volume', name: vol.name, action: 'creating' });
        await this.engine.createVolume(volumeBody(this.project, key));
        this.emit({ type: 'resource', kind: 'volume', name: vol.name, action: 'created' });
      }),
    );
  }

  /**
   * The image id each service runs; builds or pulls what is missing, but only once `checked`
   * (the cheap checks) holds.
   */
  async ensureImages(services: Service[], o: UpOptions, checked: Promise<unknown> = Promise.resolve()): Promise<Map<string, string>> {
    const ids = new Map<string, string>();
    const toBuild: Service[] = [];
    const forced = new Set<string>();
    await Promise.all(
      services.map(async (s) => {
        const ref = imageName(this.project.name, s);
        const policy = pullPolicy(o.pull ?? s.pull_policy);
        // a service with a build is built when its image is missing or stale (the builder
        // compares the context's source hash with the image's label and skips current ones);
        // pull_policy: build builds it every time
        if (s.build && o.build !== 'never' && policy.kind !== 'always') {
          toBuild.push(s);
          if (policy.kind === 'build') forced.add(s.name);
          return;
        }
        const img = await this.engine.inspectImage(ref);
        const stale = img && policy.kind === 'every' && Date.now() - imageTime(img) > policy.ms;
        if (img && policy.kind !== 'always' && !stale) {
          ids.set(s.name, img.Id);
          return;
        }
        if (!img && s.build && o.build === 'never') {
          throw new DockyardError('SERVICE_FAILED', `image ${ref} for service "${s.name}" is not built`, { hint: 'build it (dockyard build) or drop --no-build' });
        }
        if (!img && policy.kind === 'never') {
          throw new DockyardError('SERVICE_FAILED', `image ${ref} for service "${s.name}" is not present, and its pull policy is never`, { hint: 'build or load it locally, or pull it (dockyard pull)' });
        }
        await checked;
        if (!o.quietPull) this.emit({ type: 'resource', kind: 'image', name: ref, action: 'pulling' });
        try {
          await this.engine.pullImage(ref);
        } catch (e) {
          const why = (e as Error).message.replace(/^pull [^:]+: /, '');
          if (img && policy.kind === 'every') {
            // a refresh that fails keeps the image there is
            this.emit({ type: 'warning', message: `could not refresh ${ref} (${why}); using the image there is` });
            ids.set(s.name, img.Id);
            return;
          }
          throw new DockyardError('SERVICE_FAILED', `image ${ref} for service "${s.name}" ${img ? 'could not be pulled (pull policy always)' : 'is not present and cannot be pulled'}: ${why}`, {
            hint: s.build ? 'build it with dockyard build' : 'build or load it locally (docker build / docker load), or give the service a build: section',
          });
        }
        const pulled = await this.engine.inspectImage(ref);
        if (!pulled) throw new DockyardError('SERVICE_FAILED', `image ${ref} for service "${s.name}" is missing after pull`);
        if (!o.quietPull) this.emit({ type: 'resource', kind: 'image', name: ref, action: 'pulled' });
        ids.set(s.name, pulled.Id);
      }),
    );
    if (toBuild.length) {
      if (!o.builder) throw new DockyardError('SERVICE_FAILED', `image for service "${toBuild[0]!.name}" must be built`, { hint: 'run dockyard build first' });
      await checked;
      const always = o.build === 'always' ? toBuild : toBuild.filter((s) => forced.has(s.name));
      const rest = toBuild.filter((s) => !always.includes(s));
      if (always.length) await o.builder(always, true);
      if (rest.length) await o.builder(rest, false);
      for (const s of toBuild) {
        const img = await this.engine.inspectImage(imageName(this.project.name, s));
        if (!img) throw new DockyardError('SERVICE_FAILED', `image for service "${s.name}" is missing after build`);
        ids.set(s.name, img.Id);
      }
    }
    return ids;
  }

  /** Target services: those asked for, with their dependencies unless noDeps. */
  targets(names?: string[], noDeps?: boolean): Service[] {
    const all = this.project.services;
    for (const n of names ?? []) {
      if (!all[n]) {
        const disabled = this.project.disabledServices[n];
        throw new DockyardError('USAGE', `no such service: ${n}`, {
          hint: disabled ? `it is disabled by profiles: add --profile ${disabled.profiles?.[0]}` : `services: ${Object.keys(all).join(', ')}`,
        });
      }
    }
    if (!names?.length) return Object.values(all);
    const set = noDeps ? new Set(names) : serviceGraph(this.project).closure(names);
    return Object.values(all).filter((s) => set.has(s.name));
  }

  /** Creates one container: remove a leftover with our name, create, connect networks, copy files. */
  async create(s: Service, n: number, name: string, image: string, lookup: (svc: string) => string | undefined, opts: ContainerOptions = {}): Promise<string> {
    const spec = containerSpec(this.project, s, n, name, image, lookup, opts);
    let id: string;
    try {
      id = await this.engine.createContainer(name, spec.body);
    } catch (e) {
      if (!isConflict(e)) throw e;
      // a container left by a killed run, with our name: adopt it by replacing it if it is ours
      const other = await this.engine.inspectContainer(name);
      if (other?.Config.Labels?.[LABEL.project] !== this.project.name) {
        throw new DockyardError('ENGINE', `the name ${name} is taken by a container that is not part of project ${this.project.name}`, { hint: `remove or rename it: docker rm -f ${name}` });
      }
      await this.engine.removeContainer(other.Id, { force: true });
      id = await this.engine.createContainer(name, spec.body);
    }
    for (const net of spec.extraNetworks) await this.engine.connectNetwork(net.name, id, net.endpoint);
    if (spec.files.length) {
      const entries = spec.files.map((f) => ({ name: f.path.replace(/^\//, ''), content: f.content, mode: f.mode, uid: f.uid, gid: f.gid }));
      await this.engine.putArchive(id, '/', await tarFiles(entries));
    }
    return id;
  }

  /** Starts a container; explains a port conflict by naming the port and who holds it. */
  async startWithDiagnosis(s: Service, id: string, name: string): Promise<void> {
    try {
      await this.engine.startContainer(id);
    } catch (e) {
      const msg = (e as Error).message;
      // "Bind for 0.0.0.0:8080 failed: port is already allocated" / "listen tcp4 127.0.0.1:8080: bind: address already in use"
      const m = /:(\d+)(?: failed)?: (?:bind: )?(?:port is already allocated|address already in use)/i.exec(msg);
      if (m) {
        const port = Number(m[1]);
        const holder = await this.portHolder(port, id);
        throw new DockyardError('SERVICE_FAILED', `service "${s.name}" (${name}) cannot publish port ${port}: it is already in use ${holder}`, {
          hint: `stop what holds it, or publish another host port for ${s.name} (e.g. "${port + 1}:${s.ports?.find((p) => p.published === String(port))?.target ?? port}")`,
        });
      }
      throw e;
    }
  }

  async portHolder(port: number, self: string): Promise<string> {
    const all = await this.engine.listContainers([], false);
    const c = all.find((x) => x.id !== self && x.ports.some((p) => p.publicPort === port));
    if (c) {
      const proj = c.labels[LABEL.project];
      return `by container ${c.name}${proj ? ` (project ${proj}, service ${c.labels[LABEL.service]})` : ''}`;
    }
    return 'by a process on this host';
  }

  /** Stops one container gracefully (its service's stop_grace_period unless overridden). */
  async stopOne(c: ProjectContainer, timeout?: number): Promise<void> {
    this.emit({ type: 'container', service: c.service, name: c.name, action: 'stopping' });
    await this.limit.run(() => this.engine.stopContainer(c.id, this.stopTimeout(this.project.services[c.service], timeout)));
    this.emit({ type: 'container', service: c.service, name: c.name, action: 'stopped' });
  }

  /** Stops, then removes, one container. */
  async stopAndRemove(c: ProjectContainer, timeout?: number, volumes = false): Promise<void> {
    await this.stopOne(c, timeout);
    await this.limit.run(() => this.engine.removeContainer(c.id, { force: true, volumes }));
    this.emit({ type: 'container', service: c.service, name: c.name, action: 'removed' });
  }

  /** Stops and removes containers, all at once (orphans, surplus replicas). */
  async removeContainers(cs: ProjectContainer[], timeout?: number): Promise<void> {
    await Promise.all(cs.map((c) => this.stopAndRemove(c, timeout)));
  }

  /** Runs `f` on containers in reverse dependency order (dependents first), layer by layer. */
  async reverseOrder(cs: ProjectContainer[], f: (c: ProjectContainer) => Promise<void>): Promise<void> {
    const layers = serviceGraph(this.project).layers().reverse();
    const placed = new Set<string>();
    for (const layer of layers) {
      const batch = cs.filter((c) => layer.includes(c.service));
      batch.forEach((c) => placed.add(c.id));
      await Promise.all(batch.map(f));
    }
    await Promise.all(cs.filter((c) => !placed.has(c.id)).map(f));
  }

  async containersOf(services?: string[]): Promise<ProjectContainer[]> {
    if (services?.length) this.targets(services, true);
    return projectContainers(this.engine, this.project.name, { oneoff: false, services: services?.length ? services : undefined });
  }

  /**
   * Acts on services in dependency order: each service's containers once its dependencies were
   * acted on and their conditions hold (service_healthy, service_completed_successfully), with
   * up's diagnosis when one fails; an optional dependency (required: false) that fails is a warning.
   */
  async inDependencyOrder(targets: Service[], cs: ProjectContainer[], waitTimeoutMs: number | undefined, act: (s: Service, mine: ProjectContainer[]) => Promise<void>): Promise<void> {
    const names = new Set(targets.map((s) => s.name));
    const hub = new EventHub(this.engine);
    await hub.open(this.project.name);
    const done = new Map<string, Promise<void>>();
    try {
      for (const name of serviceGraph(this.project).order()) {
        const s = this.project.services[name];
        if (!s || !names.has(name)) continue;
        done.set(
          name,
          (async () => {
            for (const [dep, cfg] of Object.entries(s.depends_on ?? {})) {
              await done.get(dep);
              for (const d of cs.filter((x) => x.service === dep)) {
                try {
                  await hub.wait(d.id, conditionFor(cfg.condition), waitTimeoutMs, `${dep} (${cfg.condition})`);
                } catch (e) {
                  const reason = e instanceof DockyardError ? e.message : String(e);
                  if (!cfg.required) {
                    this.emit({ type: 'warning', message: `optional dependency ${dep} of ${name} failed: ${reason}` });
                    continue;
                  }
                  const err = await this.failure(dep, d.id, reason, await this.engine.inspectContainer(d.id));
                  err.message = `${err.message}\n  so "${name}", which depends on it (${cfg.condition}), was not started`;
                  throw err;
                }
              }
            }
            await act(s, cs.filter((c) => c.service === name));
          })(),
        );
      }
      const settled = await Promise.allSettled(done.values());
      const failed = settled.find((x) => x.status === 'rejected') as PromiseRejectedResult | undefined;
      if (failed) throw failed.reason;
    } finally {
      hub.close();
    }
  }

  // --- the verbs, one module each (up.ts, down.ts, lifecycle.ts) over this executor ----------

  /** What `up` would do, touching nothing (`up --dry-run`). */
  planUp(o: UpOptions = {}, wouldBuild?: (services: Service[]) => Promise<Set<string>>): Promise<{ plan: Plan; resources: string[] }> {
    return planUpOnly(this, o, wouldBuild);
  }

  up(o: UpOptions = {}): Promise<UpResult> {
    return up(this, o);
  }

  down(o: { removeOrphans?: boolean; volumes?: boolean; rmi?: 'local' | 'all'; timeout?: number } = {}): Promise<void> {
    return down(this, o);
  }

  start(services?: string[], waitTimeoutMs?: number, wait = false): Promise<void> {
    return start(this, services, waitTimeoutMs, wait);
  }

  stop(services?: string[], timeout?: number): Promise<void> {
    return stop(this, services, timeout);
  }

  restart(services?: string[], timeout?: number, waitTimeoutMs?: number): Promise<void> {
    return restart(this, services, timeout, waitTimeoutMs);
  }

  kill(services?: string[], signal = 'SIGKILL'): Promise<void> {
    return kill(this, services, signal);
  }

  rm(services?: string[], o: { stop?: boolean; volumes?: boolean } = {}): Promise<ProjectContainer[]> {
    return rm(this, services, o);
  }
}
