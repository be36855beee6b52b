/**
 * The context every verb runs in (engine, project, emit, a bound on concurrent engine calls) and
 * what the verbs share: creating, starting with diagnosis, stopping and removing containers,
 * resources, orders, waits, failures. The verbs are plain functions over it, one module each:
 * up.ts, down.ts, lifecycle.ts, run.ts, attach.ts, logs.ts; nothing here calls them.
 */
import { DockyardError, isConflict } from '../errors.js';
import type { ContainerInspect, Engine } from '../engine/engine.js';
import { serviceGraph } from '../load/index.js';
import { LABEL } from '../model/names.js';
import type { Project, Service } from '../model/project.js';

type DependsOn = NonNullable<Service['depends_on']>[string];
import type { Emit, Timeline } from './events.js';
import { containerSpec } from './spec.js';
import type { ContainerOptions } from './spec.js';
import { planFailure, planResources, targetServices } from './plan.js';
import type { PlanOptions, ResourceStep } from './plan.js';
import { observeResources } from './observe.js';
import { Limit, parallelLimit, projectContainers } from './state.js';
import type { ProjectContainer } from './state.js';
import { conditionFor, EventHub } from './waits.js';
import { tarFiles } from './tar.js';

/** `up`'s options: what to plan (plan.ts), and how to carry it out. */
export interface UpOptions extends PlanOptions {
  noStart?: boolean;
  /** wait for running/healthy/completed after starting */
  wait?: boolean;
  waitTimeoutMs?: number;
  /** seconds to wait when stopping containers being replaced */
  timeout?: number;
  /** no pull progress */
  quietPull?: boolean;
  /** recreated containers get new anonymous volumes instead of their predecessors' */
  renewAnonVolumes?: boolean;
  /** builds images (forced: the plan decided they need building) */
  builder?: (services: Service[], force: boolean) => Promise<void>;
  /** which of these services' images are out of date with their sources (the builder's check) */
  stale?: (services: Service[]) => Promise<Set<string>>;
  signal?: AbortSignal;
}

export interface UpResult {
  timeline: Timeline;
  containers: Record<string, string[]>;
}

const LOG_TAIL = 10;

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

  /** The networks and volumes these services need, created where missing (for `run`); planned as `up` plans them. */
  async ensureResources(services: Service[]): Promise<void> {
    const plan = planResources(this.project, services, await observeResources(this.engine, this.project, services));
    const failed = planFailure({ ...plan, images: [] });
    if (failed) throw failed;
    await Promise.all([...plan.networks, ...plan.volumes].filter((r) => r.action === 'create').map((r) => this.createResource(r)));
  }

  /** Creates a network or volume of the plan (one created meanwhile by another run is fine). */
  async createResource(r: ResourceStep): Promise<void> {
    this.emit({ type: 'resource', kind: r.kind, name: r.name, action: 'creating' });
    try {
      await (r.kind === 'network' ? this.engine.createNetwork(r.body!) : this.engine.createVolume(r.body!));
    } catch (e) {
      if (!(await (r.kind === 'network' ? this.engine.inspectNetwork(r.name) : this.engine.inspectVolume(r.name)))) throw e;
    }
    this.emit({ type: 'resource', kind: r.kind, name: r.name, action: 'created' });
  }

  /** Target services: those asked for, with their dependencies unless noDeps. */
  targets(names?: string[], noDeps?: boolean): Service[] {
    return targetServices(this.project, names, noDeps);
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
   * Waits until a dependency's containers meet the condition `name` depends on it with (started,
   * healthy, completed successfully); on failure, up's diagnosis (last health check and log
   * lines), or a warning for an optional dependency (required: false). One rule for `up`,
   * `start` and `restart`.
   */
  async awaitDependency(hub: EventHub, name: string, dep: string, cfg: DependsOn, ids: string[], waitTimeoutMs: number | undefined): Promise<void> {
    await Promise.all(
      ids.map(async (id) => {
        try {
          await hub.wait(id, conditionFor(cfg.condition), waitTimeoutMs, `${dep} (${cfg.condition})`);
        } catch (e) {
          const reason = e instanceof DockyardError ? e.message : String(e);
          if (!cfg.required) {
            this.emit({ type: 'warning', message: `optional dependency ${dep} of ${name} failed: ${reason}` });
            return;
          }
          const err = await this.failure(dep, id, reason, await this.engine.inspectContainer(id));
          err.message = `${err.message}\n  so "${name}", which depends on it (${cfg.condition}), was not started`;
          throw err;
        }
      }),
    );
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
              await this.awaitDependency(hub, name, dep, cfg, cs.filter((x) => x.service === dep).map((x) => x.id), waitTimeoutMs);
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
}
