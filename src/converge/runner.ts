/**
 * Converge a Project onto the engine: up, down, start, stop, restart, kill, rm.
 * Independent services run in parallel (bounded); each waits for exactly its own dependencies'
 * conditions, observed through the engine's event stream.
 */
import { DockyardError, isConflict, isEngineError } from '../errors.js';
import type { ContainerInspect, Engine } from '../engine/engine.js';
import { serviceGraph } from '../load/index.js';
import { containerName, imageName, LABEL } from '../model/names.js';
import type { Project, Service } from '../model/project.js';
import type { Emit, Timeline, TimelineEntry } from './events.js';
import { containerSpec, networkBody, replicas, volumeBody } from './spec.js';
import type { ContainerOptions } from './spec.js';
import { planUp, WILL_BUILD, WILL_PULL } from './plan.js';
import type { Plan, ServicePlan } from './plan.js';
import { Limit, parallelLimit, projectContainers } from './state.js';
import type { ProjectContainer } from './state.js';
import { conditionFor, EventHub, isReady } from './waits.js';
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
  /** builds images (skipping up-to-date ones unless force); called with every service that has a build */
  builder?: (services: Service[], force: boolean) => Promise<void>;
  signal?: AbortSignal;
}

export interface UpResult {
  timeline: Timeline;
  containers: Record<string, string[]>;
}

const LOG_TAIL = 10;

export class Converger {
  private readonly limit = new Limit(parallelLimit());

  constructor(
    readonly engine: Engine,
    readonly project: Project,
    private readonly emit: Emit = () => undefined,
  ) {}

  private stopTimeout(s: Service | undefined, override?: number): number | undefined {
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

  private async failure(service: string, id: string, reason: string, info?: ContainerInspect): Promise<DockyardError> {
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
  private async planNetworks(services: Service[]): Promise<() => Promise<void>> {
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

  private async ensureVolumes(services: Service[]): Promise<void> {
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
  private async ensureImages(services: Service[], o: UpOptions, checked: Promise<unknown> = Promise.resolve()): Promise<Map<string, string>> {
    const ids = new Map<string, string>();
    const toBuild: Service[] = [];
    await Promise.all(
      services.map(async (s) => {
        const ref = imageName(this.project.name, s);
        // a service with a build is built when its image is missing or stale (the builder
        // compares the context's source hash with the image's label and skips current ones)
        if (s.build && o.build !== 'never') {
          toBuild.push(s);
          return;
        }
        const img = await this.engine.inspectImage(ref);
        if (img) {
          ids.set(s.name, img.Id);
          return;
        }
        if (s.build && o.build === 'never') {
          throw new DockyardError('SERVICE_FAILED', `image ${ref} for service "${s.name}" is not built`, { hint: 'build it (dockyard build) or drop --no-build' });
        }
        await checked;
        this.emit({ type: 'resource', kind: 'image', name: ref, action: 'pulling' });
        try {
          await this.engine.pullImage(ref);
        } catch (e) {
          throw new DockyardError('SERVICE_FAILED', `image ${ref} for service "${s.name}" is not present and cannot be pulled: ${(e as Error).message.replace(/^pull [^:]+: /, '')}`, {
            hint: s.build ? 'build it with dockyard build' : 'build or load it locally (docker build / docker load), or give the service a build: section',
          });
        }
        const pulled = await this.engine.inspectImage(ref);
        if (!pulled) throw new DockyardError('SERVICE_FAILED', `image ${ref} for service "${s.name}" is missing after pull`);
        this.emit({ type: 'resource', kind: 'image', name: ref, action: 'pulled' });
        ids.set(s.name, pulled.Id);
      }),
    );
    if (toBuild.length) {
      if (!o.builder) throw new DockyardError('SERVICE_FAILED', `image for service "${toBuild[0]!.name}" must be built`, { hint: 'run dockyard build first' });
      await checked;
      await o.builder(toBuild, o.build === 'always');
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

  /**
   * What `up` would do, touching nothing (`up --dry-run`): the plan, and the networks, volumes
   * and images it would create, build or pull. `wouldBuild` tells which images are stale.
   */
  async planUp(o: UpOptions = {}, wouldBuild?: (services: Service[]) => Promise<Set<string>>): Promise<{ plan: Plan; resources: string[] }> {
    const services = this.targets(o.services, o.noDeps);
    await this.ensureEngine();
    const resources: string[] = [];
    const nets = new Set(services.flatMap((s) => Object.keys(s.networks ?? {})));
    const vols = new Set(services.flatMap((s) => (s.volumes ?? []).filter((v) => v.type === 'volume' && v.source && this.project.volumes[v.source]).map((v) => v.source!)));
    const stale = o.build === 'never' ? new Set<string>() : await (wouldBuild?.(services.filter((s) => s.build)) ?? Promise.resolve(new Set<string>()));
    const imageIds = new Map<string, string>();
    const [existing] = await Promise.all([
      projectContainers(this.engine, this.project.name, { oneoff: false }),
      ...[...nets].map(async (k) => {
        const n = this.project.networks[k];
        if (n && !(await this.engine.inspectNetwork(n.name))) resources.push(n.external ? `network ${n.name}: missing (external: up would fail)` : `network ${n.name}: create`);
      }),
      ...[...vols].map(async (k) => {
        const v = this.project.volumes[k]!;
        if (!(await this.engine.inspectVolume(v.name))) resources.push(v.external ? `volume ${v.name}: missing (external: up would fail)` : `volume ${v.name}: create`);
      }),
      ...services.map(async (s) => {
        const ref = imageName(this.project.name, s);
        const img = await this.engine.inspectImage(ref);
        if (s.build && o.build !== 'never' && (stale.has(s.name) || !img || o.build === 'always')) {
          imageIds.set(s.name, WILL_BUILD);
          resources.push(`image ${ref}: build`);
        } else if (img) imageIds.set(s.name, img.Id);
        else {
          imageIds.set(s.name, WILL_PULL);
          resources.push(`image ${ref}: pull`);
        }
      }),
    ]);
    const plan = planUp(this.project, { services, existing, imageIds, scale: o.scale, forceRecreate: o.forceRecreate, noRecreate: o.noRecreate, removeOrphans: o.removeOrphans });
    return { plan, resources: resources.sort() };
  }

  async up(o: UpOptions = {}): Promise<UpResult> {
    const t0 = Date.now();
    const project = this.project;
    const services = this.targets(o.services, o.noDeps);
    const enabled = new Set(services.map((s) => s.name));
    const hub = new EventHub(this.engine);
    const entries = new Map<string, TimelineEntry>();
    const now = () => Date.now() - t0;
    const result: Record<string, string[]> = {};
    try {
      // independent preparations run together (an unreachable engine fails the first of them):
      // events, network checks, volumes, images (pulled or built only once the network checks
      // passed: a missing external network fails the run first), the listing
      const networkCheck = this.planNetworks(services);
      const [, , createNetworks, , images, existing] = await Promise.all([
        this.ensureEngine(),
        hub.open(project.name),
        networkCheck,
        this.ensureVolumes(services),
        this.ensureImages(services, o, networkCheck),
        projectContainers(this.engine, project.name, { oneoff: false }),
      ]);
      // networks are created while the first containers are created; nothing starts before
      let networksDone = false;
      const networks = createNetworks().finally(() => (networksDone = true));
      networks.catch(() => undefined); // observed below
      // with --no-start, creating is the whole job: nothing is created unless the networks are
      if (o.noStart) await networks;
      const plan = planUp(project, { services, existing, imageIds: images, scale: o.scale, forceRecreate: o.forceRecreate, noRecreate: o.noRecreate, removeOrphans: o.removeOrphans });
      const stepsOf = new Map(plan.services.map((sp) => [sp.service, sp]));
      const orphans = plan.orphans.map((x) => x.container);
      if (orphans.length) {
        if (o.removeOrphans) await this.removeContainers(orphans, o.timeout);
        else this.emit({ type: 'warning', message: `found orphan containers (${orphans.map((c) => c.name).join(', ')}) for this project; remove them with --remove-orphans` });
      }

      const graph = serviceGraph(project);
      const done = new Map<string, Promise<{ recreated: boolean; ids: string[] }>>();
      const byService = new Map<string, ProjectContainer[]>();
      for (const c of existing) (byService.get(c.service) ?? byService.set(c.service, []).get(c.service)!).push(c);
      const nameOf = new Map<string, string>();
      const lookup = (svc: string) => nameOf.get(svc) ?? byService.get(svc)?.[0]?.name;

      // Containers that do not exist yet are created ahead, so that creating them is off the
      // critical path: services without dependencies at once; the others as soon as one of their
      // dependencies has started (the engine is then mostly idle, waiting on health checks), so
      // that creating them does not slow the starts that matter first.
      const refersToService = (s: Service) => [s.network_mode, s.ipc, s.pid].some((v) => String(v ?? '').startsWith('service:')) || !!s.volumes_from || !!s.links;
      const started = new Map<string, { promise: Promise<void>; resolve: () => void }>();
      for (const s of services) {
        let resolve!: () => void;
        const promise = new Promise<void>((r) => (resolve = r));
        started.set(s.name, { promise, resolve });
      }
      const precreated = new Map<string, Promise<Map<number, { id: string; at: number }>>>();
      const unstarted = new Set<string>();
      let failing = false;
      for (const s of services) {
        if (refersToService(s)) continue;
        const missing = (stepsOf.get(s.name)?.steps ?? []).filter((st) => st.action === 'create').map((st) => st.number);
        if (!missing.length) continue;
        const deps = Object.keys(s.depends_on ?? {}).filter((d) => started.has(d));
        const p = (async () => {
          if (deps.length && !o.noStart) await Promise.race(deps.map((d) => started.get(d)!.promise));
          const made = new Map<number, { id: string; at: number }>();
          if (failing) return made; // the run failed while this service waited: create nothing
          await Promise.all(
            missing.map(async (n) => {
              const name = containerName(project.name, s, n);
              this.emit({ type: 'container', service: s.name, name, action: 'creating' });
              const create = () => this.limit.run(() => this.create(s, n, name, imageName(project.name, s), lookup));
              // an engine that checks networks at creation refuses until the network exists
              const id = await create().catch(async (e) => {
                if (networksDone) throw e;
                await networks;
                return create();
              });
              unstarted.add(id);
              made.set(n, { id, at: now() });
              this.emit({ type: 'container', service: s.name, name, action: 'created' });
            }),
          );
          return made;
        })();
        p.catch(() => undefined);
        precreated.set(s.name, p);
      }

      // readiness of each service, observed from the moment it starts (for the timeline and --wait)
      const readiness: Promise<void>[] = [];
      let finished = false;
      const trackReady = (name: string, ids: string[], entry: TimelineEntry) =>
        Promise.all(
          ids.map(async (id) => {
            try {
              const info = await hub.wait(id, isReady, o.wait ? o.waitTimeoutMs : undefined, `${name} to be ready`);
              if (info?.State.Status === 'exited') entry.exited = Math.max(entry.exited ?? 0, now());
              else entry.ready = Math.max(entry.ready ?? 0, now());
              if (!finished) this.emit({ type: 'container', service: name, name: info?.Name.replace(/^\//, '') ?? name, action: info?.State.Status === 'exited' ? 'exited' : info?.State.Health ? 'healthy' : 'running' });
            } catch (e) {
              const info = await this.engine.inspectContainer(id);
              throw await this.failure(name, id, e instanceof DockyardError ? e.message : String(e), info);
            }
          }),
        ).then(() => undefined);

      const run = async (s: Service): Promise<{ recreated: boolean; ids: string[] }> => {
        if (o.signal?.aborted) throw interrupted();
        const entry: TimelineEntry = { service: s.name, queued: now(), deps: [] };
        entries.set(s.name, entry);
        // wait for exactly our own dependencies
        for (const [dep, cfg] of Object.entries(s.depends_on ?? {})) {
          if (!enabled.has(dep)) {
            if (!project.services[dep]) continue;
            // a dependency not started by this run (--no-deps): wait only if it has containers,
            // and only if one is running (nothing would ever start the others)
            const cs = byService.get(dep) ?? [];
            if (!cs.length) continue;
            if (!o.noStart && cfg.required && cfg.condition !== 'service_completed_successfully' && !cs.some((c) => c.state === 'running')) {
              throw new DockyardError('SERVICE_FAILED', `service "${s.name}" depends on "${dep}", which is not running and is not started by this run`, {
                hint: `start it (dockyard up -d ${dep}) or drop --no-deps`,
              });
            }
          }
          entry.deps.push(dep);
          const depResult = done.get(dep) ? await done.get(dep)! : undefined;
          const ids = depResult?.ids ?? (byService.get(dep) ?? []).map((c) => c.id);
          if (o.noStart) continue;
          const cond = conditionFor(cfg.condition);
          await Promise.all(
            ids.map(async (id) => {
              try {
                await hub.wait(id, cond, o.waitTimeoutMs, `${dep} (${cfg.condition})`);
              } catch (e) {
                const info = await this.engine.inspectContainer(id);
                const reason = e instanceof DockyardError ? e.message : String(e);
                const err = await this.failure(dep, id, reason, info);
                if (!cfg.required) {
                  this.emit({ type: 'warning', message: `optional dependency ${dep} of ${s.name} failed: ${reason}` });
                  return;
                }
                err.message = `${err.message}\n  so "${s.name}", which depends on it (${cfg.condition}), was not started`;
                throw err;
              }
            }),
          );
        }
        if (o.signal?.aborted) throw interrupted();
        const made = await precreated.get(s.name);
        const r = await this.convergeService(s, stepsOf.get(s.name)!, o, lookup, entry, now, made);
        for (const id of r.ids) unstarted.delete(id);
        started.get(s.name)?.resolve();
        if (r.ids.length) nameOf.set(s.name, r.names[0]!);
        result[s.name] = r.names;
        if (!o.noStart && o.wait) {
          const p = trackReady(s.name, r.ids, entry);
          p.catch(() => undefined); // observed below
          readiness.push(p);
        } else if (!o.noStart) {
          // without --wait, readiness is only recorded for the timeline, from the events alone
          // (no inspections competing with the engine's work)
          if (!s.healthcheck || s.healthcheck.disable) entry.ready = entry.started;
          else {
            const mine = new Set(r.ids);
            const off = hub.onEvent((id, action) => {
              if (mine.has(id) && action === 'health_status: healthy') {
                entry.ready = Math.max(entry.ready ?? 0, now());
                mine.delete(id);
                if (!mine.size) off();
              }
            });
          }
        }
        return r;
      };
      // what was created ahead for services that never got to start is removed again; those
      // still waiting for a dependency that will never start are released first
      const abandon = async (reason: unknown): Promise<never> => {
        failing = true;
        for (const st of started.values()) st.resolve();
        await Promise.allSettled([...precreated.values()]);
        if (!o.noStart) await Promise.all([...unstarted].map((id) => this.engine.removeContainer(id, { force: true })));
        throw reason;
      };
      await networks.catch(abandon);
      for (const name of graph.order()) {
        const s = project.services[name];
        if (!s || !enabled.has(name)) continue;
        done.set(name, run(s));
      }
      // surface the first failure, but let the rest settle
      const settled = await Promise.allSettled(done.values());
      const failed = settled.find((x) => x.status === 'rejected') as PromiseRejectedResult | undefined;
      if (failed) await abandon(failed.reason);
      if (o.wait) {
        const r = await Promise.allSettled(readiness);
        const f = r.find((x) => x.status === 'rejected') as PromiseRejectedResult | undefined;
        if (f) throw f.reason;
      }
      finished = true;
      return { timeline: buildTimeline(t0, [...entries.values()]), containers: result };
    } finally {
      hub.close();
    }
  }

  /** Carries out one service's steps of the plan: scale down, then per container number. */
  private async convergeService(
    s: Service,
    sp: ServicePlan,
    o: UpOptions,
    lookup: (svc: string) => string | undefined,
    entry: TimelineEntry,
    now: () => number,
    precreated?: Map<number, { id: string; at: number }>,
  ): Promise<{ recreated: boolean; ids: string[]; names: string[] }> {
    const ids: string[] = [];
    const names: string[] = [];
    // scale down first (highest numbers), in parallel
    const extra = sp.steps.flatMap((st) => (st.action === 'remove' ? [st.container] : []));
    if (extra.length) await this.removeContainers(extra, o.timeout);
    const image = imageName(this.project.name, s);
    // starts one container and records it on the timeline
    const start = async (id: string, name: string) => {
      entry.starting ??= now();
      await this.limit.run(() => this.startWithDiagnosis(s, id, name));
      entry.started = Math.max(entry.started ?? 0, now());
      this.emit({ type: 'container', service: s.name, name, action: 'started' });
    };
    const steps = sp.steps.filter((st) => st.action !== 'remove');
    await Promise.all(
      steps.map(async (st) => {
        const n = st.number;
        let id: string;
        if (st.action === 'create') {
          const pre = precreated?.get(n);
          if (pre) {
            entry.created = Math.max(entry.created ?? 0, pre.at);
            id = pre.id;
          } else {
            this.emit({ type: 'container', service: s.name, name: st.name, action: 'creating' });
            id = await this.limit.run(() => this.create(s, n, st.name, image, lookup));
            entry.created = Math.max(entry.created ?? 0, now());
            this.emit({ type: 'container', service: s.name, name: st.name, action: 'created' });
          }
          if (!o.noStart) await start(id, st.name);
        } else if (st.action === 'recreate') {
          this.emit({ type: 'container', service: s.name, name: st.container.name, action: 'recreating', detail: st.reasons.join('; ') });
          id = await this.recreate(s, st.container, st.name, image, lookup, o.timeout);
          entry.created = Math.max(entry.created ?? 0, now());
          this.emit({ type: 'container', service: s.name, name: st.name, action: 'recreated' });
          if (!o.noStart) await start(id, st.name);
        } else {
          id = st.container.id;
          if (st.action === 'start' && !o.noStart) {
            this.emit({ type: 'container', service: s.name, name: st.name, action: 'starting' });
            await start(id, st.name);
          } else {
            this.emit({ type: 'container', service: s.name, name: st.name, action: 'running' });
          }
        }
        ids[n - 1] = id;
        names[n - 1] = st.name;
      }),
    );
    return { recreated: steps.some((st) => st.action === 'recreate'), ids: ids.filter(Boolean), names: names.filter(Boolean) };
  }

  /**
   * Replaces a container safely: the new one is created first under a temporary name, with the
   * old one's anonymous volumes (so their data survives); only then is the old one stopped and
   * removed, and the new one renamed. A failed create leaves the old container as it was.
   */
  private async recreate(s: Service, old: ProjectContainer, name: string, image: string, lookup: (svc: string) => string | undefined, timeout?: number): Promise<string> {
    const info = await this.engine.inspectContainer(old.id);
    const named = new Set(Object.values(this.project.volumes).map((v) => v.name));
    const inheritVolumes = (info?.Mounts ?? []).filter((m) => m.Type === 'volume' && m.Name && !named.has(m.Name)).map((m) => ({ name: m.Name!, target: m.Destination }));
    const tmp = `${old.id.slice(0, 12)}_${name}`;
    let id: string;
    try {
      id = await this.limit.run(() => this.create(s, old.number, tmp, image, lookup, { inheritVolumes }));
    } catch (e) {
      const reason = e instanceof Error ? e.message : String(e);
      throw new DockyardError('SERVICE_FAILED', `cannot recreate ${old.name}: the new container could not be created (${reason}); ${old.name} was left as it was`, {
        hint: 'fix the cause, then run dockyard up again',
        cause: e,
      });
    }
    await this.limit.run(() => this.engine.stopContainer(old.id, this.stopTimeout(s, timeout)));
    await this.limit.run(() => this.engine.removeContainer(old.id, { force: true }));
    await this.engine.renameContainer(id, name);
    return id;
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
  private async startWithDiagnosis(s: Service, id: string, name: string): Promise<void> {
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

  private async portHolder(port: number, self: string): Promise<string> {
    const all = await this.engine.listContainers([], false);
    const c = all.find((x) => x.id !== self && x.ports.some((p) => p.publicPort === port));
    if (c) {
      const proj = c.labels[LABEL.project];
      return `by container ${c.name}${proj ? ` (project ${proj}, service ${c.labels[LABEL.service]})` : ''}`;
    }
    return 'by a process on this host';
  }

  /** Stops one container gracefully (its service's stop_grace_period unless overridden). */
  private async stopOne(c: ProjectContainer, timeout?: number): Promise<void> {
    this.emit({ type: 'container', service: c.service, name: c.name, action: 'stopping' });
    await this.limit.run(() => this.engine.stopContainer(c.id, this.stopTimeout(this.project.services[c.service], timeout)));
    this.emit({ type: 'container', service: c.service, name: c.name, action: 'stopped' });
  }

  /** Stops, then removes, one container. */
  private async stopAndRemove(c: ProjectContainer, timeout?: number, volumes = false): Promise<void> {
    await this.stopOne(c, timeout);
    await this.limit.run(() => this.engine.removeContainer(c.id, { force: true, volumes }));
    this.emit({ type: 'container', service: c.service, name: c.name, action: 'removed' });
  }

  /** Stops and removes containers, all at once (orphans, surplus replicas). */
  async removeContainers(cs: ProjectContainer[], timeout?: number): Promise<void> {
    await Promise.all(cs.map((c) => this.stopAndRemove(c, timeout)));
  }

  /** Runs `f` on containers in reverse dependency order (dependents first), layer by layer. */
  private async reverseOrder(cs: ProjectContainer[], f: (c: ProjectContainer) => Promise<void>): Promise<void> {
    const layers = serviceGraph(this.project).layers().reverse();
    const placed = new Set<string>();
    for (const layer of layers) {
      const batch = cs.filter((c) => layer.includes(c.service));
      batch.forEach((c) => placed.add(c.id));
      await Promise.all(batch.map(f));
    }
    await Promise.all(cs.filter((c) => !placed.has(c.id)).map(f));
  }

  async down(o: { removeOrphans?: boolean; volumes?: boolean; rmi?: 'local' | 'all'; timeout?: number } = {}): Promise<void> {
    await this.ensureEngine();
    const all = await projectContainers(this.engine, this.project.name);
    const known = new Set([...Object.keys(this.project.services), ...Object.keys(this.project.disabledServices)]);
    const mine = all.filter((c) => known.has(c.service) || c.oneoff || o.removeOrphans);
    const orphans = all.filter((c) => !mine.includes(c));
    if (orphans.length) this.emit({ type: 'warning', message: `found orphan containers (${orphans.map((c) => c.name).join(', ')}); remove them with --remove-orphans` });
    // dependents stop first; each container is removed as soon as it has stopped
    await this.reverseOrder(mine, (c) => this.stopAndRemove(c, o.timeout, o.volumes));
    // networks of the project (by label), not external ones
    const nets = await this.engine.listNetworks([`${LABEL.project}=${this.project.name}`]);
    await Promise.all(
      nets.map(async (n) => {
        // the engine can report endpoints of just-removed containers for a moment: retry briefly;
        // if it still does with no container attached, that is an engine fault: say so, go on
        for (let attempt = 0; ; attempt++) {
          try {
            await this.engine.removeNetwork(n.Name);
            this.emit({ type: 'resource', kind: 'network', name: n.Name, action: 'removed' });
            return;
          } catch (e) {
            // 403: the network still has endpoints
            if (!isEngineError(e, 'forbidden')) throw e;
            if (attempt >= 20) break;
            await new Promise((r) => setTimeout(r, 100));
          }
        }
        const info = await this.engine.inspectNetwork(n.Name);
        const attached = Object.keys(info?.Containers ?? {}).length;
        if (attached) throw new DockyardError('ENGINE', `network ${n.Name} still has ${attached} container(s) attached`, { hint: `see them with: docker network inspect ${n.Name}` });
        this.emit({ type: 'warning', message: `network ${n.Name} was left: the engine reports active endpoints but none is attached (an engine fault; restarting the engine clears it)` });
      }),
    );
    if (o.volumes) {
      const vols = await this.engine.listVolumes([`${LABEL.project}=${this.project.name}`]);
      await Promise.all(
        vols.map(async (v) => {
          await this.engine.removeVolume(v.Name);
          this.emit({ type: 'resource', kind: 'volume', name: v.Name, action: 'removed' });
        }),
      );
    }
    if (o.rmi) {
      const refs = new Set<string>();
      for (const s of Object.values(this.project.services)) {
        if (o.rmi === 'all' || (!s.image && s.build)) refs.add(imageName(this.project.name, s));
      }
      for (const r of refs) {
        await this.engine.removeImage(r);
        this.emit({ type: 'resource', kind: 'image', name: r, action: 'removed' });
      }
    }
  }

  private async containersOf(services?: string[]): Promise<ProjectContainer[]> {
    if (services?.length) this.targets(services, true);
    return projectContainers(this.engine, this.project.name, { oneoff: false, services: services?.length ? services : undefined });
  }

  async stop(services?: string[], timeout?: number): Promise<void> {
    await this.ensureEngine();
    const cs = await this.containersOf(services);
    await this.reverseOrder(cs, (c) => this.stopOne(c, timeout));
  }

  /**
   * Acts on services in dependency order: each service's containers once its dependencies were
   * acted on and their conditions hold (service_healthy, service_completed_successfully), with
   * up's diagnosis when one fails; an optional dependency (required: false) that fails is a warning.
   */
  private async inDependencyOrder(targets: Service[], cs: ProjectContainer[], waitTimeoutMs: number | undefined, act: (s: Service, mine: ProjectContainer[]) => Promise<void>): Promise<void> {
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

  /** Starts existing containers: the services named and their dependencies, in dependency order. */
  async start(services?: string[], waitTimeoutMs?: number): Promise<void> {
    await this.ensureEngine();
    const targets = this.targets(services?.length ? services : undefined);
    const names = new Set(targets.map((s) => s.name));
    const cs = (await projectContainers(this.engine, this.project.name, { oneoff: false })).filter((c) => names.has(c.service));
    if (!cs.length) throw new DockyardError('USAGE', 'no containers to start', { hint: 'create them with dockyard up' });
    await this.inDependencyOrder(targets, cs, waitTimeoutMs, async (s, mine) => {
      await Promise.all(
        mine
          .filter((c) => c.state !== 'running')
          .map(async (c) => {
            this.emit({ type: 'container', service: c.service, name: c.name, action: 'starting' });
            await this.limit.run(() => this.startWithDiagnosis(s, c.id, c.name));
            this.emit({ type: 'container', service: c.service, name: c.name, action: 'started' });
          }),
      );
    });
  }

  /** Restarts the services named (all by default), dependencies first, each once its dependencies' conditions hold. */
  async restart(services?: string[], timeout?: number, waitTimeoutMs?: number): Promise<void> {
    await this.ensureEngine();
    const targets = this.targets(services?.length ? services : undefined, true);
    const names = new Set(targets.map((s) => s.name));
    const all = await projectContainers(this.engine, this.project.name, { oneoff: false });
    await this.inDependencyOrder(targets, all, waitTimeoutMs, async (s, mine) => {
      if (!names.has(s.name)) return;
      await Promise.all(
        mine.map(async (c) => {
          this.emit({ type: 'container', service: c.service, name: c.name, action: 'restarting' });
          await this.limit.run(() => this.engine.restartContainer(c.id, this.stopTimeout(s, timeout)));
          this.emit({ type: 'container', service: c.service, name: c.name, action: 'restarted' });
        }),
      );
    });
  }

  async kill(services?: string[], signal = 'SIGKILL'): Promise<void> {
    await this.ensureEngine();
    const cs = (await this.containersOf(services)).filter((c) => c.state === 'running');
    await Promise.all(
      cs.map(async (c) => {
        await this.engine.killContainer(c.id, signal);
        this.emit({ type: 'container', service: c.service, name: c.name, action: 'killed', detail: signal });
      }),
    );
  }

  async rm(services?: string[], o: { stop?: boolean; volumes?: boolean } = {}): Promise<ProjectContainer[]> {
    await this.ensureEngine();
    let cs = await this.containersOf(services);
    if (o.stop) await this.stop(services);
    else cs = cs.filter((c) => c.state !== 'running' && c.state !== 'restarting' && c.state !== 'paused');
    if (o.stop) cs = await this.containersOf(services);
    await Promise.all(
      cs.map(async (c) => {
        await this.engine.removeContainer(c.id, { force: true, volumes: o.volumes });
        this.emit({ type: 'container', service: c.service, name: c.name, action: 'removed' });
      }),
    );
    return cs;
  }
}

function interrupted(): DockyardError {
  return new DockyardError('SERVICE_FAILED', 'interrupted', { hint: 'run dockyard up again to finish, or dockyard down to remove what was created' });
}

/** The timeline of a run, with its critical path: the chain of waits that decided the total. */
export function buildTimeline(startedAt: number, entries: TimelineEntry[]): Timeline {
  const byName = new Map(entries.map((e) => [e.service, e]));
  const end = (e: TimelineEntry) => e.ready ?? e.exited ?? e.started ?? e.created ?? e.queued;
  let last: TimelineEntry | undefined;
  for (const e of entries) if (!last || end(e) > end(last)) last = e;
  const chain: string[] = [];
  let cur = last;
  while (cur) {
    chain.unshift(cur.service);
    let next: TimelineEntry | undefined;
    for (const d of cur.deps) {
      const de = byName.get(d);
      if (de && (!next || end(de) > end(next))) next = de;
    }
    cur = next;
  }
  const totalMs = entries.length ? Math.max(...entries.map(end)) : 0;
  return { startedAt, totalMs, entries, criticalPath: { services: chain, ms: last ? end(last) : 0 } };
}
