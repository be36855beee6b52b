/**
 * The plan of `up`, computed without an engine from the Project and what was observed (observe.ts):
 * networks, volumes, images, and for every service (in dependency order) and container number,
 * what to do and why. The executor (up.ts) carries it out; `up --dry-run` prints it.
 */
import { DockyardError } from '../errors.js';
import { serviceGraph } from '../load/index.js';
import { formatDuration } from '../load/units.js';
import { containerName, imageName, LABEL } from '../model/names.js';
import type { Project, Service } from '../model/project.js';
import { changedKeys, serviceConfigHash } from '../model/serialize.js';
import { networkBody, replicas, volumeBody } from './spec.js';
import type { ProjectContainer } from './state.js';

export type Step =
  /** a container that does not exist yet */
  | { action: 'create'; number: number; name: string }
  /** an existing container replaced by a new one (its anonymous volumes carried over) */
  | { action: 'recreate'; number: number; name: string; container: ProjectContainer; reasons: string[] }
  /** an existing, current container that is not running */
  | { action: 'start'; number: number; name: string; container: ProjectContainer }
  /** an existing, current, running container (or any existing one with --no-recreate) */
  | { action: 'keep'; number: number; name: string; container: ProjectContainer }
  /** a container beyond the wanted scale, or a duplicate number */
  | { action: 'remove'; number: number; name: string; container: ProjectContainer; reason: string };

export interface ServicePlan {
  service: string;
  steps: Step[];
  /** the services it waits for (enabled ones only) */
  dependsOn: string[];
}

export interface Plan {
  project: string;
  networks: ResourceStep[];
  volumes: ResourceStep[];
  /** one per service converged */
  images: ImageStep[];
  /** in dependency order (dependencies first) */
  services: ServicePlan[];
  /** containers of services the project no longer defines */
  orphans: { container: ProjectContainer; action: 'remove' | 'keep' }[];
  /** what the plan noticed but does not change (a network of another project, an outdated one) */
  warnings: string[];
}

/** A network or volume the services use: created, used as it is, or (external and missing) a failure. */
export interface ResourceStep {
  kind: 'network' | 'volume';
  /** the key in the project (networks.NAME, volumes.NAME) and the engine's name */
  key: string;
  name: string;
  action: 'create' | 'keep' | 'fail';
  /** why it fails (an external one that does not exist) */
  reason?: string;
  /** what the engine is asked to create */
  body?: Record<string, unknown>;
}

/** What a service's image needs: built, pulled, used as it is, or a failure before anything starts. */
export interface ImageStep {
  service: string;
  ref: string;
  action: 'build' | 'pull' | 'use' | 'fail';
  reason: string;
  /** the image there is now (kept when a refresh pull fails) */
  imageId?: string;
  /** a pull that may fail and keep the image there is (pull_policy daily, weekly, every_N) */
  refresh?: boolean;
}

/** What the engine holds that the plan depends on: observed once, before planning. */
export interface Observed {
  /** the project's containers (not one-off ones) */
  containers: ProjectContainer[];
  /** by engine name: the networks that exist, with their labels */
  networks: Record<string, { labels: Record<string, string> } | undefined>;
  /** by engine name: whether the volume exists */
  volumes: Record<string, boolean>;
  /** by image reference: the image there is, with when it was last pulled or tagged */
  images: Record<string, { id: string; pulledAt: number } | undefined>;
  /** the services with a build whose image is out of date with its sources */
  staleBuilds: ReadonlySet<string>;
  /** the clock, for pull policies with a refresh period */
  now: number;
}

export interface PlanOptions {
  /** the services named (with their dependencies unless noDeps); default all */
  services?: string[];
  noDeps?: boolean;
  scale?: Record<string, number>;
  forceRecreate?: boolean;
  /** recreate the dependencies of the services named, even if unchanged (up --always-recreate-deps) */
  recreateDeps?: boolean;
  noRecreate?: boolean;
  removeOrphans?: boolean;
  /** build images that are missing or stale ('missing'), always, or never */
  build?: 'missing' | 'always' | 'never';
  /** up --pull, over each service's pull_policy */
  pull?: 'always' | 'missing' | 'never' | 'build';
}

export interface PlanInput {
  /** the services to converge (targets, with their dependencies unless --no-deps) */
  services: Service[];
  /** the project's containers (not one-off ones) as listed by the engine */
  existing: ProjectContainer[];
  /** the image id each service will run (after builds and pulls) */
  imageIds: ReadonlyMap<string, string>;
  scale?: Record<string, number>;
  forceRecreate?: boolean;
  /** recreate these services' containers even if unchanged (up --always-recreate-deps) */
  forceRecreateServices?: string[];
  noRecreate?: boolean;
  removeOrphans?: boolean;
}

/** Why an existing container no longer matches its service, or [] when it does. */
export function staleness(c: ProjectContainer, s: Service, imageId: string | undefined, o: { forceRecreate?: boolean; recreatedDeps?: string[] }): string[] {
  const reasons: string[] = [];
  if (o.forceRecreate) reasons.push('--force-recreate');
  if (c.configHash !== serviceConfigHash(s)) {
    const keys = changedKeys(c.configDigest, s);
    reasons.push(keys?.length ? `configuration changed: ${keys.join(', ')}` : 'configuration changed');
  }
  if (imageId === WILL_BUILD) reasons.push('image will be rebuilt');
  else if (imageId === WILL_PULL) reasons.push('image will be pulled');
  else if (imageId !== undefined && c.imageId !== imageId) reasons.push(`image changed (${short(c.imageId)} -> ${short(imageId)})`);
  for (const d of o.recreatedDeps ?? []) reasons.push(`dependency ${d} is recreated (depends_on restart: true)`);
  return reasons;
}

const short = (id: string) => id.replace(/^sha256:/, '').slice(0, 12);

/** Image ids not known yet (dry run): the image will be built, or pulled. */
export const WILL_BUILD = '(will be built)';
export const WILL_PULL = '(will be pulled)';

/** The containers' part of the plan, for image ids known (or marked WILL_BUILD / WILL_PULL). */
export function planContainers(project: Project, input: PlanInput): Pick<Plan, 'services' | 'orphans'> {
  const enabled = new Map(input.services.map((s) => [s.name, s]));
  const byService = new Map<string, ProjectContainer[]>();
  for (const c of input.existing) (byService.get(c.service) ?? byService.set(c.service, []).get(c.service)!).push(c);
  const recreating = new Set<string>();
  const services: ServicePlan[] = [];
  for (const name of serviceGraph(project).order()) {
    const s = enabled.get(name);
    if (!s) continue;
    const want = replicas(s, input.scale?.[name]);
    const byNumber = new Map<number, ProjectContainer>();
    const steps: Step[] = [];
    for (const c of byService.get(name) ?? []) {
      if (c.number >= 1 && c.number <= want && !byNumber.has(c.number)) byNumber.set(c.number, c);
      else steps.push({ action: 'remove', number: c.number, name: c.name, container: c, reason: c.number > want ? `scale ${want}` : 'duplicate container number' });
    }
    const deps = Object.entries(s.depends_on ?? {}).filter(([d]) => enabled.has(d) || project.services[d]);
    const recreatedDeps = deps.filter(([d, cfg]) => cfg.restart && recreating.has(d)).map(([d]) => d);
    for (let n = 1; n <= want; n++) {
      const c = byNumber.get(n);
      const cname = containerName(project.name, s, n, project.separator);
      if (!c) {
        steps.push({ action: 'create', number: n, name: cname });
        continue;
      }
      const forced = input.forceRecreate || !!input.forceRecreateServices?.includes(name);
      const reasons = input.noRecreate ? [] : staleness(c, s, input.imageIds.get(name), { forceRecreate: forced, recreatedDeps });
      if (reasons.length) steps.push({ action: 'recreate', number: n, name: cname, container: c, reasons });
      else if (c.state === 'running' || c.state === 'restarting') steps.push({ action: 'keep', number: n, name: c.name, container: c });
      else steps.push({ action: 'start', number: n, name: c.name, container: c });
    }
    if (steps.some((x) => x.action === 'recreate')) recreating.add(name);
    services.push({ service: name, steps, dependsOn: deps.map(([d]) => d).filter((d) => enabled.has(d)) });
  }
  const known = new Set([...Object.keys(project.services), ...Object.keys(project.disabledServices)]);
  const orphans = input.existing.filter((c) => !known.has(c.service)).map((container) => ({ container, action: input.removeOrphans ? ('remove' as const) : ('keep' as const) }));
  return { services, orphans };
}

/** The services to converge: those named, with their dependencies unless noDeps; all by default. */
export function targetServices(project: Project, names?: string[], noDeps?: boolean): Service[] {
  const all = project.services;
  for (const n of names ?? []) {
    if (!all[n]) {
      const disabled = project.disabledServices[n];
      throw new DockyardError('USAGE', `no such service: ${n}`, {
        hint: disabled ? `it is disabled by profiles: add --profile ${disabled.profiles?.[0]}` : `services: ${Object.keys(all).join(', ')}`,
      });
    }
  }
  if (!names?.length) return Object.values(all);
  const set = noDeps ? new Set(names) : serviceGraph(project).closure(names);
  return Object.values(all).filter((s) => set.has(s.name));
}

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

/** What one service's image needs, by --build, --pull / pull_policy, and what the engine has. */
export function planImage(project: Project, s: Service, seen: Observed, o: Pick<PlanOptions, 'build' | 'pull'>): ImageStep {
  const ref = imageName(project.name, s);
  const policy = pullPolicy(o.pull ?? s.pull_policy);
  const img = seen.images[ref];
  const step = (action: ImageStep['action'], reason: string, extra: Partial<ImageStep> = {}): ImageStep => ({ service: s.name, ref, action, reason, ...(img ? { imageId: img.id } : {}), ...extra });
  // a service with a build is built when its image is missing or stale (its sources changed);
  // pull_policy: build and --build build it every time; pull_policy: always pulls it instead
  if (s.build && o.build !== 'never' && policy.kind !== 'always') {
    if (o.build === 'always') return step('build', '--build');
    if (policy.kind === 'build') return step('build', 'pull_policy: build');
    if (!img) return step('build', 'not built yet');
    if (seen.staleBuilds.has(s.name)) return step('build', 'its sources changed');
    return step('use', 'up to date with its sources');
  }
  const stale = img && policy.kind === 'every' && seen.now - img.pulledAt > policy.ms;
  if (img && policy.kind !== 'always' && !stale) return step('use', 'present');
  if (!img && s.build && o.build === 'never') return step('fail', `image ${ref} for service "${s.name}" is not built`);
  if (!img && policy.kind === 'never') return step('fail', `image ${ref} for service "${s.name}" is not present, and its pull policy is never`);
  if (stale) return step('pull', `last pulled more than ${formatDuration((policy.kind === "every" ? policy.ms : 0) * 1e6)} ago`, { refresh: true });
  return step('pull', img ? (o.pull === 'always' ? '--pull always' : 'pull_policy: always') : 'not present');
}

/** The networks and volumes the services use: create the missing ones; an external one must exist. */
export function planResources(project: Project, services: Service[], seen: Pick<Observed, 'networks' | 'volumes'>): Pick<Plan, 'networks' | 'volumes' | 'warnings'> {
  const warnings: string[] = [];
  const netKeys = [...new Set(services.flatMap((s) => Object.keys(s.networks ?? {})))].filter((k) => project.networks[k]).sort();
  const networks = netKeys.map((key): ResourceStep => {
    const net = project.networks[key]!;
    const existing = seen.networks[net.name];
    if (net.external) return existing ? { kind: 'network', key, name: net.name, action: 'keep' } : { kind: 'network', key, name: net.name, action: 'fail', reason: `external network "${net.name}" does not exist` };
    const body = networkBody(project, key);
    if (!existing) return { kind: 'network', key, name: net.name, action: 'create', body };
    const owner = existing.labels[LABEL.project];
    if (owner && owner !== project.name) warnings.push(`network ${net.name} belongs to project ${owner}; using it anyway`);
    else if (existing.labels[LABEL.networkHash] && existing.labels[LABEL.networkHash] !== (body.Labels as Record<string, string>)[LABEL.networkHash]) {
      warnings.push(`network ${net.name} was created from an earlier definition of "${key}" (driver, options, IPAM, internal or labels changed) and is used as it is: \`dockyard down\` then \`up\` recreates it`);
    }
    return { kind: 'network', key, name: net.name, action: 'keep' };
  });
  const volKeys = [...new Set(services.flatMap((s) => (s.volumes ?? []).filter((v) => v.type === 'volume' && v.source && project.volumes[v.source]).map((v) => v.source!)))].sort();
  const volumes = volKeys.map((key): ResourceStep => {
    const vol = project.volumes[key]!;
    if (seen.volumes[vol.name]) return { kind: 'volume', key, name: vol.name, action: 'keep' };
    if (vol.external) return { kind: 'volume', key, name: vol.name, action: 'fail', reason: `external volume "${vol.name}" does not exist` };
    return { kind: 'volume', key, name: vol.name, action: 'create', body: volumeBody(project, key) };
  });
  return { networks, volumes, warnings };
}

/** up --always-recreate-deps: the dependencies of the services named (not those services). */
function recreatedDeps(project: Project, o: PlanOptions): string[] | undefined {
  if (!o.recreateDeps || !o.services?.length) return undefined;
  const named = new Set(o.services);
  return targetServices(project, o.services).map((s) => s.name).filter((n) => !named.has(n));
}

/**
 * The whole plan of `up`, computed without an engine from the project and what was observed:
 * networks and volumes, images (built, pulled or used, by --build, --pull and pull_policy), and
 * the containers to create, recreate, start, keep or remove, each with its reason. `up` carries
 * out exactly this; `up --dry-run` prints it.
 */
export function planUp(project: Project, seen: Observed, o: PlanOptions = {}): Plan {
  const services = targetServices(project, o.services, o.noDeps);
  const images = services.map((s) => planImage(project, s, seen, o));
  const imageIds = new Map(images.map((i) => [i.service, imageIdAfter(i)] as const).filter((e): e is [string, string] => e[1] !== undefined));
  const containers = planContainers(project, { services, existing: seen.containers, imageIds, scale: o.scale, forceRecreate: o.forceRecreate, forceRecreateServices: recreatedDeps(project, o), noRecreate: o.noRecreate, removeOrphans: o.removeOrphans });
  return { project: project.name, ...planResources(project, services, seen), images, ...containers };
}

/** The image id a service runs once its image step is done: known, or to be known (WILL_BUILD, WILL_PULL). */
function imageIdAfter(i: ImageStep): string | undefined {
  if (i.action === 'build') return WILL_BUILD;
  if (i.action === 'pull') return WILL_PULL;
  return i.imageId;
}

/**
 * The containers' part again once the images are built and pulled, with their real ids: a pull
 * that brought the image there was already, or a build that made the same image, recreates
 * nothing. Every other step stays as planned.
 */
export function settleImages(project: Project, plan: Plan, seen: Observed, o: PlanOptions, ids: ReadonlyMap<string, string>): Plan {
  const services = targetServices(project, o.services, o.noDeps);
  const containers = planContainers(project, { services, existing: seen.containers, imageIds: ids, scale: o.scale, forceRecreate: o.forceRecreate, forceRecreateServices: recreatedDeps(project, o), noRecreate: o.noRecreate, removeOrphans: o.removeOrphans });
  return { ...plan, ...containers };
}

/** Plan steps that cannot be carried out, as the error `up` stops with before changing anything. */
export function planFailure(plan: Pick<Plan, 'networks' | 'volumes' | 'images'>): DockyardError | undefined {
  for (const r of [...plan.networks, ...plan.volumes]) {
    if (r.action === 'fail') return new DockyardError('MISSING_REFERENCE', r.reason!, { hint: `create it first: docker ${r.kind} create ${r.name}` });
  }
  const img = plan.images.find((i) => i.action === 'fail');
  if (img) return new DockyardError('SERVICE_FAILED', img.reason, { hint: img.reason.endsWith('not built') ? 'build it (dockyard build) or drop --no-build' : 'build or load it locally, or pull it (dockyard pull)' });
  return undefined;
}

/** The resources' part of the plan as lines for people: what is created, built, pulled or missing. */
export function formatResources(plan: Plan): string[] {
  const lines: string[] = [];
  for (const r of [...plan.networks, ...plan.volumes]) {
    if (r.action === 'create') lines.push(`${r.kind} ${r.name}: create`);
    else if (r.action === 'fail') lines.push(`${r.kind} ${r.name}: missing (external: up would fail)`);
  }
  for (const i of plan.images) {
    if (i.action === 'build') lines.push(`image ${i.ref}: build (${i.reason})`);
    else if (i.action === 'pull') lines.push(`image ${i.ref}: pull (${i.reason})`);
    else if (i.action === 'fail') lines.push(`image ${i.ref}: ${i.reason} (up would fail)`);
  }
  return lines.sort();
}

/** The plan as lines for people (`up --dry-run`): service, container, what and why. */
export function formatPlan(plan: Pick<Plan, 'services' | 'orphans'>): string[] {
  const rows: Array<[string, string, string]> = [];
  for (const sp of plan.services) {
    for (const st of sp.steps) {
      const what =
        st.action === 'recreate' ? `recreate: ${st.reasons.join('; ')}` : st.action === 'remove' ? `remove: ${st.reason}` : st.action === 'keep' ? 'keep: running, up to date' : st.action === 'start' ? 'start: up to date, not running' : 'create';
      rows.push([sp.service, st.name, what]);
    }
  }
  for (const o of plan.orphans) rows.push(['(orphan)', o.container.name, o.action === 'remove' ? 'remove' : 'keep: --remove-orphans would remove it']);
  const w0 = Math.max(0, ...rows.map((r) => r[0].length));
  const w1 = Math.max(0, ...rows.map((r) => r[1].length));
  return rows.map(([a, b, c]) => `${a.padEnd(w0)}  ${b.padEnd(w1)}  ${c}`);
}
