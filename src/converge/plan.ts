/**
 * The plan of `up`, computed without an engine: for every service (in dependency order) and
 * every container number, what to do and why, from the Project and the containers observed.
 * The executor (runner.ts) carries it out; `up --dry-run` prints it.
 */
import { serviceGraph } from '../load/index.js';
import { containerName } from '../model/names.js';
import type { Project, Service } from '../model/project.js';
import { changedKeys, serviceConfigHash } from '../model/serialize.js';
import { replicas } from './spec.js';
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
  /** in dependency order (dependencies first) */
  services: ServicePlan[];
  /** containers of services the project no longer defines */
  orphans: { container: ProjectContainer; action: 'remove' | 'keep' }[];
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

export function planUp(project: Project, input: PlanInput): Plan {
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
  return { project: project.name, services, orphans };
}

/** The plan as lines for people (`up --dry-run`): service, container, what and why. */
export function formatPlan(plan: Plan): string[] {
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
