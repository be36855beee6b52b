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
import { conditionFor, EventHub, isReady } from './waits.js';

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
  const t0 = Date.now();
  const project = cv.project;
  const services = cv.targets(o.services, o.noDeps);
  const enabled = new Set(services.map((s) => s.name));
  const hub = new EventHub(cv.engine);
  const entries = new Map<string, TimelineEntry>();
  const now = () => Date.now() - t0;
  const result: Record<string, string[]> = {};
  try {
    // observe (the event stream opens meanwhile; an unreachable engine fails the first call),
    // plan, stop on what cannot be done before changing anything, then carry the plan out
    const [, , seen] = await Promise.all([cv.ensureEngine(), hub.open(project.name), observe(cv.engine, project, services, o.stale)]);
    const planned = planUp(project, seen, o);
    const failure = planFailure(planned);
    if (failure) throw failure;
    for (const w of planned.warnings) cv.emit({ type: 'warning', message: w });
    const { ids: images, createNetworks } = await carryOutResources(cv, planned, o);
    const existing = seen.containers;
    // networks are created while the first containers are created; nothing starts before
    let networksDone = false;
    const networks = createNetworks().finally(() => (networksDone = true));
    networks.catch(() => undefined); // observed below
    // with --no-start, creating is the whole job: nothing is created unless the networks are
    if (o.noStart) await networks;
    // the images' real ids: a pull or build that changed nothing recreates nothing
    const plan = settleImages(project, planned, seen, o, images);
    const stepsOf = new Map(plan.services.map((sp) => [sp.service, sp]));
    const orphans = plan.orphans.map((x) => x.container);
    if (orphans.length) {
      if (o.removeOrphans) await cv.removeContainers(orphans, o.timeout);
      else cv.emit({ type: 'warning', message: `found orphan containers (${orphans.map((c) => c.name).join(', ')}) for this project; remove them with --remove-orphans` });
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
            const name = containerName(project.name, s, n, project.separator);
            cv.emit({ type: 'container', service: s.name, name, action: 'creating' });
            const create = () => cv.limit.run(() => cv.create(s, n, name, imageName(project.name, s), lookup));
            // an engine that checks networks at creation refuses until the network exists
            const id = await create().catch(async (e) => {
              if (networksDone) throw e;
              await networks;
              return create();
            });
            unstarted.add(id);
            made.set(n, { id, at: now() });
            cv.emit({ type: 'container', service: s.name, name, action: 'created' });
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
            if (!finished) cv.emit({ type: 'container', service: name, name: info?.Name.replace(/^\//, '') ?? name, action: info?.State.Status === 'exited' ? 'exited' : info?.State.Health ? 'healthy' : 'running' });
          } catch (e) {
            const info = await cv.engine.inspectContainer(id);
            throw await cv.failure(name, id, e instanceof DockyardError ? e.message : String(e), info);
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
              const info = await cv.engine.inspectContainer(id);
              const reason = e instanceof DockyardError ? e.message : String(e);
              const err = await cv.failure(dep, id, reason, info);
              if (!cfg.required) {
                cv.emit({ type: 'warning', message: `optional dependency ${dep} of ${s.name} failed: ${reason}` });
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
      const r = await convergeService(cv, s, stepsOf.get(s.name)!, o, lookup, entry, now, made);
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
      if (!o.noStart) await Promise.all([...unstarted].map((id) => cv.engine.removeContainer(id, { force: true })));
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
