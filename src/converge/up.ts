/**
 * `up`: check and create what the services need, plan (plan.ts), then carry the plan out —
 * every service the moment its own dependencies meet their conditions, observed from the
 * engine's event stream; new containers created ahead, off the critical path.
 */
import { DockyardError } from '../errors.js';
import { serviceGraph } from '../load/index.js';
import { containerName, imageName } from '../model/names.js';
import type { Service } from '../model/project.js';
import type { TimelineEntry, Timeline } from './events.js';
import { planFailure, planUp, settleImages } from './plan.js';
import type { ImageStep, Plan, ResourceStep, ServicePlan } from './plan.js';
import { observe } from './observe.js';
import type { Converger, UpOptions, UpResult } from './runner.js';
import type { ProjectContainer } from './state.js';
import { EventHub, isReady } from './waits.js';

/** What `up` would do, touching nothing (`up --dry-run`): the plan that `up` carries out. */
export async function planUpOnly(cv: Converger, o: UpOptions = {}): Promise<Plan> {
  const services = cv.targets(o.services, o.noDeps);
  await cv.ensureEngine();
  return planUp(cv.project, await observe(cv.engine, cv.project, services, o.stale), o);
}

/**
 * The resources' steps of a plan: volumes created now; images built and pulled (the builds all
 * at once, the dependency order is the builder's); networks returned as a creation to start,
 * which `up` overlaps with creating the containers (only starting them needs the network).
 * Resolves with the image id each service runs.
 */
async function carryOutResources(cv: Converger, plan: Plan, o: UpOptions): Promise<{ ids: Map<string, string>; createNetworks: () => Promise<void> }> {
  const creates = (r: ResourceStep) => r.action === 'create';
  const volumes = plan.volumes.filter(creates).map((r) => cv.createResource(r));
  const ids = new Map<string, string>();
  const pulls = plan.images.filter((i) => i.action === 'pull').map(async (i) => ids.set(i.service, await pullImage(cv, i, o)));
  for (const i of plan.images.filter((x) => x.action === 'use')) {
    ids.set(i.service, i.imageId!);
    // a built image the plan found current: said as the builder says it
    if (cv.project.services[i.service]?.build && o.build !== 'never') cv.emit({ type: 'resource', kind: 'image', name: i.ref, action: 'exists', detail: 'up to date' });
  }
  const builds = plan.images.filter((i) => i.action === 'build');
  const built = (async () => {
    if (!builds.length) return;
    if (!o.builder) throw new DockyardError('SERVICE_FAILED', `image for service "${builds[0]!.service}" must be built`, { hint: 'run dockyard build first' });
    await o.builder(builds.map((i) => cv.project.services[i.service]!), true);
    for (const i of builds) {
      const img = await cv.engine.inspectImage(i.ref);
      if (!img) throw new DockyardError('SERVICE_FAILED', `image for service "${i.service}" is missing after build`);
      ids.set(i.service, img.Id);
    }
  })();
  await Promise.all([...volumes, ...pulls, built]);
  return { ids, createNetworks: async () => void (await Promise.all(plan.networks.filter(creates).map((r) => cv.createResource(r)))) };
}

/** Pulls one image of the plan; a refresh that fails keeps the image there is. */
async function pullImage(cv: Converger, i: ImageStep, o: UpOptions): Promise<string> {
  const s = cv.project.services[i.service]!;
  if (!o.quietPull) cv.emit({ type: 'resource', kind: 'image', name: i.ref, action: 'pulling' });
  try {
    await cv.engine.pullImage(i.ref);
  } catch (e) {
    const why = (e as Error).message.replace(/^pull [^:]+: /, '');
    if (i.refresh && i.imageId) {
      cv.emit({ type: 'warning', message: `could not refresh ${i.ref} (${why}); using the image there is` });
      return i.imageId;
    }
    throw new DockyardError('SERVICE_FAILED', `image ${i.ref} for service "${i.service}" ${i.imageId ? 'could not be pulled (pull policy always)' : 'is not present and cannot be pulled'}: ${why}`, {
      hint: s.build ? 'build it with dockyard build' : 'build or load it locally (docker build / docker load), or give the service a build: section',
    });
  }
  const pulled = await cv.engine.inspectImage(i.ref);
  if (!pulled) throw new DockyardError('SERVICE_FAILED', `image ${i.ref} for service "${i.service}" is missing after pull`);
  if (!o.quietPull) cv.emit({ type: 'resource', kind: 'image', name: i.ref, action: 'pulled' });
  return pulled.Id;
}

export async function up(cv: Converger, o: UpOptions = {}): Promise<UpResult> {
  const run = new UpRun(cv, o);
  try {
    return await run.run();
  } finally {
    run.hub.close();
  }
}

type Made = Map<number, { id: string; at: number }>;
type Done = { recreated: boolean; ids: string[]; names: string[] };

/**
 * One `up`, in named phases: prepare (observe, plan, resources), orphans, create ahead, then
 * every service the moment its own dependencies meet their conditions, then readiness and the
 * timeline. What the phases share lives here, not in closures.
 */
class UpRun {
  readonly hub: EventHub;
  private readonly t0 = Date.now();
  private readonly services: Service[];
  private readonly enabled: Set<string>;
  private readonly entries = new Map<string, TimelineEntry>();
  private readonly result: Record<string, string[]> = {};
  /** the project's containers before this run, by service */
  private byService = new Map<string, ProjectContainer[]>();
  /** each service's first container's name once it runs (for links and service: references) */
  private readonly nameOf = new Map<string, string>();
  private plan!: Plan;
  private networks: Promise<void> = Promise.resolve();
  private networksDone = false;
  /** resolved when each service has started (what is created ahead waits for one dependency) */
  private readonly started = new Map<string, { promise: Promise<void>; resolve: () => void }>();
  private readonly precreated = new Map<string, Promise<Made>>();
  /** created ahead, not started yet: removed again if the run fails */
  private readonly unstarted = new Set<string>();
  private failing = false;
  private finished = false;
  private readonly readiness: Promise<void>[] = [];
  private readonly done = new Map<string, Promise<Done>>();

  constructor(
    private readonly cv: Converger,
    private readonly o: UpOptions,
  ) {
    this.hub = new EventHub(cv.engine);
    this.services = cv.targets(o.services, o.noDeps);
    this.enabled = new Set(this.services.map((s) => s.name));
  }

  private now = () => Date.now() - this.t0;
  private lookup = (svc: string) => this.nameOf.get(svc) ?? this.byService.get(svc)?.[0]?.name;

  async run(): Promise<UpResult> {
    await this.prepare();
    await this.orphans();
    this.createAhead();
    await this.networks.catch((e) => this.abandon(e));
    for (const name of serviceGraph(this.cv.project).order()) {
      const s = this.cv.project.services[name];
      if (s && this.enabled.has(name)) this.done.set(name, this.converge(s));
    }
    // surface the first failure, but let the rest settle
    const failed = (await Promise.allSettled(this.done.values())).find((x) => x.status === 'rejected') as PromiseRejectedResult | undefined;
    if (failed) await this.abandon(failed.reason);
    if (this.o.wait) {
      const f = (await Promise.allSettled(this.readiness)).find((x) => x.status === 'rejected') as PromiseRejectedResult | undefined;
      if (f) throw f.reason;
    }
    this.finished = true;
    return { timeline: buildTimeline(this.t0, [...this.entries.values()]), containers: this.result };
  }

  /**
   * Observe (the event stream opens meanwhile; an unreachable engine fails the first call), plan,
   * stop on what cannot be done before changing anything, carry out the resources' steps, and
   * settle the containers' steps on the images' real ids. Networks are created while the first
   * containers are created; nothing starts before.
   */
  private async prepare(): Promise<void> {
    const { cv, o } = this;
    const [, , seen] = await Promise.all([cv.ensureEngine(), this.hub.open(cv.project.name), observe(cv.engine, cv.project, this.services, o.stale)]);
    const planned = planUp(cv.project, seen, o);
    const failure = planFailure(planned);
    if (failure) throw failure;
    for (const w of planned.warnings) cv.emit({ type: 'warning', message: w });
    const { ids, createNetworks } = await carryOutResources(cv, planned, o);
    for (const c of seen.containers) (this.byService.get(c.service) ?? this.byService.set(c.service, []).get(c.service)!).push(c);
    this.networks = createNetworks().finally(() => (this.networksDone = true));
    this.networks.catch(() => undefined); // observed by run()
    // with --no-start, creating is the whole job: nothing is created unless the networks are
    if (o.noStart) await this.networks;
    // a pull or build that changed nothing recreates nothing
    this.plan = settleImages(cv.project, planned, seen, o, ids);
  }

  private async orphans(): Promise<void> {
    const orphans = this.plan.orphans.map((x) => x.container);
    if (!orphans.length) return;
    if (this.o.removeOrphans) await this.cv.removeContainers(orphans, this.o.timeout);
    else this.cv.emit({ type: 'warning', message: `found orphan containers (${orphans.map((c) => c.name).join(', ')}) for this project; remove them with --remove-orphans` });
  }

  /**
   * Containers that do not exist yet are created ahead, so that creating them is off the
   * critical path: services without dependencies at once; the others as soon as one of their
   * dependencies has started (the engine is then mostly idle, waiting on health checks), so
   * that creating them does not slow the starts that matter first.
   */
  private createAhead(): void {
    const refersToService = (s: Service) => [s.network_mode, s.ipc, s.pid].some((v) => String(v ?? '').startsWith('service:')) || !!s.volumes_from || !!s.links;
    for (const s of this.services) {
      let resolve!: () => void;
      const promise = new Promise<void>((r) => (resolve = r));
      this.started.set(s.name, { promise, resolve });
    }
    for (const s of this.services) {
      if (refersToService(s)) continue;
      const missing = (this.stepsOf(s.name)?.steps ?? []).filter((st) => st.action === 'create').map((st) => st.number);
      if (!missing.length) continue;
      const p = this.createMissing(s, missing);
      p.catch(() => undefined);
      this.precreated.set(s.name, p);
    }
  }

  private stepsOf(name: string): ServicePlan | undefined {
    return this.plan.services.find((sp) => sp.service === name);
  }

  private async createMissing(s: Service, missing: number[]): Promise<Made> {
    const { cv, o } = this;
    const deps = Object.keys(s.depends_on ?? {}).filter((d) => this.started.has(d));
    if (deps.length && !o.noStart) await Promise.race(deps.map((d) => this.started.get(d)!.promise));
    const made: Made = new Map();
    if (this.failing) return made; // the run failed while this service waited: create nothing
    await Promise.all(
      missing.map(async (n) => {
        const name = containerName(cv.project.name, s, n, cv.project.separator);
        cv.emit({ type: 'container', service: s.name, name, action: 'creating' });
        const create = () => cv.limit.run(() => cv.create(s, n, name, imageName(cv.project.name, s), this.lookup));
        // an engine that checks networks at creation refuses until the network exists
        const id = await create().catch(async (e) => {
          if (this.networksDone) throw e;
          await this.networks;
          return create();
        });
        this.unstarted.add(id);
        made.set(n, { id, at: this.now() });
        cv.emit({ type: 'container', service: s.name, name, action: 'created' });
      }),
    );
    return made;
  }

  /** One service: wait for exactly its own dependencies, carry out its steps, then watch its readiness. */
  private async converge(s: Service): Promise<Done> {
    const { cv, o } = this;
    if (o.signal?.aborted) throw interrupted();
    const entry: TimelineEntry = { service: s.name, queued: this.now(), deps: [] };
    this.entries.set(s.name, entry);
    for (const [dep, cfg] of Object.entries(s.depends_on ?? {})) {
      const ids = await this.dependencyIds(s, dep, cfg);
      if (ids === undefined) continue;
      entry.deps.push(dep);
      if (!o.noStart) await cv.awaitDependency(this.hub, s.name, dep, cfg, ids, o.waitTimeoutMs);
    }
    if (o.signal?.aborted) throw interrupted();
    const made = await this.precreated.get(s.name);
    const r = await convergeService(cv, s, this.stepsOf(s.name)!, o, this.lookup, entry, this.now, made);
    for (const id of r.ids) this.unstarted.delete(id);
    this.started.get(s.name)?.resolve();
    if (r.ids.length) this.nameOf.set(s.name, r.names[0]!);
    this.result[s.name] = r.names;
    if (!o.noStart) this.watchReadiness(s, r.ids, entry);
    return r;
  }

  /**
   * The containers of a dependency to wait for: this run's, or (not started by this run, with
   * --no-deps) those it has, if one is running; undefined when there is nothing to wait for.
   */
  private async dependencyIds(s: Service, dep: string, cfg: NonNullable<Service['depends_on']>[string]): Promise<string[] | undefined> {
    if (!this.enabled.has(dep)) {
      if (!this.cv.project.services[dep]) return undefined;
      const cs = this.byService.get(dep) ?? [];
      if (!cs.length) return undefined;
      // nothing would ever start the others
      if (!this.o.noStart && cfg.required && cfg.condition !== 'service_completed_successfully' && !cs.some((c) => c.state === 'running')) {
        throw new DockyardError('SERVICE_FAILED', `service "${s.name}" depends on "${dep}", which is not running and is not started by this run`, {
          hint: `start it (dockyard up -d ${dep}) or drop --no-deps`,
        });
      }
    }
    const depResult = this.done.get(dep) ? await this.done.get(dep)! : undefined;
    return depResult?.ids ?? (this.byService.get(dep) ?? []).map((c) => c.id);
  }

  /**
   * Readiness of a service's containers, observed from the moment they start: for --wait (each
   * inspected on its events), or without it only recorded for the timeline from the events alone
   * (no inspections competing with the engine's work).
   */
  private watchReadiness(s: Service, ids: string[], entry: TimelineEntry): void {
    const { cv, o } = this;
    if (o.wait) {
      const p = Promise.all(
        ids.map(async (id) => {
          try {
            const info = await this.hub.wait(id, isReady, o.waitTimeoutMs, `${s.name} to be ready`);
            if (info?.State.Status === 'exited') entry.exited = Math.max(entry.exited ?? 0, this.now());
            else entry.ready = Math.max(entry.ready ?? 0, this.now());
            if (!this.finished) cv.emit({ type: 'container', service: s.name, name: info?.Name.replace(/^\//, '') ?? s.name, action: info?.State.Status === 'exited' ? 'exited' : info?.State.Health ? 'healthy' : 'running' });
          } catch (e) {
            throw await cv.failure(s.name, id, e instanceof DockyardError ? e.message : String(e), await cv.engine.inspectContainer(id));
          }
        }),
      ).then(() => undefined);
      p.catch(() => undefined); // observed by run()
      this.readiness.push(p);
      return;
    }
    if (!s.healthcheck || s.healthcheck.disable) {
      entry.ready = entry.started;
      return;
    }
    const mine = new Set(ids);
    const off = this.hub.onEvent((id, action) => {
      if (mine.has(id) && action === 'health_status: healthy') {
        entry.ready = Math.max(entry.ready ?? 0, this.now());
        mine.delete(id);
        if (!mine.size) off();
      }
    });
  }

  /**
   * What was created ahead for services that never got to start is removed again; those still
   * waiting for a dependency that will never start are released first.
   */
  private async abandon(reason: unknown): Promise<never> {
    this.failing = true;
    for (const st of this.started.values()) st.resolve();
    await Promise.allSettled([...this.precreated.values()]);
    if (!this.o.noStart) await Promise.all([...this.unstarted].map((id) => this.cv.engine.removeContainer(id, { force: true })));
    throw reason;
  }
}

/** Carries out one service's steps of the plan: scale down, then per container number. */
async function convergeService(
  cv: Converger,
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
  if (extra.length) await cv.removeContainers(extra, o.timeout);
  const image = imageName(cv.project.name, s);
  // starts one container and records it on the timeline
  const start = async (id: string, name: string) => {
    entry.starting ??= now();
    await cv.limit.run(() => cv.startWithDiagnosis(s, id, name));
    entry.started = Math.max(entry.started ?? 0, now());
    cv.emit({ type: 'container', service: s.name, name, action: 'started' });
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
          cv.emit({ type: 'container', service: s.name, name: st.name, action: 'creating' });
          id = await cv.limit.run(() => cv.create(s, n, st.name, image, lookup));
          entry.created = Math.max(entry.created ?? 0, now());
          cv.emit({ type: 'container', service: s.name, name: st.name, action: 'created' });
        }
        if (!o.noStart) await start(id, st.name);
      } else if (st.action === 'recreate') {
        cv.emit({ type: 'container', service: s.name, name: st.container.name, action: 'recreating', detail: st.reasons.join('; ') });
        id = await recreate(cv, s, st.container, st.name, image, lookup, o.timeout, o.renewAnonVolumes);
        entry.created = Math.max(entry.created ?? 0, now());
        cv.emit({ type: 'container', service: s.name, name: st.name, action: 'recreated' });
        if (!o.noStart) await start(id, st.name);
      } else {
        id = st.container.id;
        if (st.action === 'start' && !o.noStart) {
          cv.emit({ type: 'container', service: s.name, name: st.name, action: 'starting' });
          await start(id, st.name);
        } else {
          cv.emit({ type: 'container', service: s.name, name: st.name, action: 'running' });
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
async function recreate(cv: Converger, s: Service, old: ProjectContainer, name: string, image: string, lookup: (svc: string) => string | undefined, timeout?: number, renewAnonVolumes = false): Promise<string> {
  const info = await cv.engine.inspectContainer(old.id);
  const named = new Set(Object.values(cv.project.volumes).map((v) => v.name));
  const inheritVolumes = renewAnonVolumes ? [] : (info?.Mounts ?? []).filter((m) => m.Type === 'volume' && m.Name && !named.has(m.Name)).map((m) => ({ name: m.Name!, target: m.Destination }));
  const tmp = `${old.id.slice(0, 12)}_${name}`;
  let id: string;
  try {
    id = await cv.limit.run(() => cv.create(s, old.number, tmp, image, lookup, { inheritVolumes }));
  } catch (e) {
    const reason = e instanceof Error ? e.message : String(e);
    throw new DockyardError('SERVICE_FAILED', `cannot recreate ${old.name}: the new container could not be created (${reason}); ${old.name} was left as it was`, {
      hint: 'fix the cause, then run dockyard up again',
      cause: e,
    });
  }
  await cv.limit.run(() => cv.engine.stopContainer(old.id, cv.stopTimeout(s, timeout)));
  await cv.limit.run(() => cv.engine.removeContainer(old.id, { force: true, volumes: renewAnonVolumes }));
  await cv.engine.renameContainer(id, name);
  return id;
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
