/**
 * What the engine holds that `up`'s plan depends on, observed once and all at once (the only I/O
 * before planning): the project's containers, the networks and volumes the services use, their
 * images, and which built images are out of date with their sources.
 */
import type { Engine, ImageInspect } from '../engine/engine.js';
import { imageName } from '../model/names.js';
import type { Project, Service } from '../model/project.js';
import type { Observed } from './plan.js';
import { projectContainers } from './state.js';

/** When an image was last pulled or tagged here (else built). */
function pulledAt(img: ImageInspect): number {
  const t = Date.parse(img.Metadata?.LastTagTime ?? '');
  return Number.isNaN(t) || t <= 0 ? Date.parse(img.Created ?? '') || 0 : t;
}

/** The networks and volumes the services use, as the engine has them. */
export async function observeResources(engine: Engine, project: Project, services: Service[]): Promise<Pick<Observed, 'networks' | 'volumes'>> {
  const netNames = [...new Set(services.flatMap((s) => Object.keys(s.networks ?? {})))].flatMap((k) => (project.networks[k] ? [project.networks[k]!.name] : []));
  const volNames = [...new Set(services.flatMap((s) => (s.volumes ?? []).filter((v) => v.type === 'volume' && v.source && project.volumes[v.source]).map((v) => project.volumes[v.source!]!.name)))];
  const [networks, volumes] = await Promise.all([
    Promise.all(netNames.map(async (n) => [n, await engine.inspectNetwork(n)] as const)),
    Promise.all(volNames.map(async (n) => [n, !!(await engine.inspectVolume(n))] as const)),
  ]);
  return {
    networks: Object.fromEntries(networks.map(([n, net]) => [n, net ? { labels: net.Labels ?? {} } : undefined])),
    volumes: Object.fromEntries(volumes),
  };
}

export async function observe(engine: Engine, project: Project, services: Service[], stale?: (services: Service[]) => Promise<Set<string>>): Promise<Observed> {
  const refs = [...new Set(services.map((s) => imageName(project.name, s)))];
  const [containers, resources, images, staleBuilds] = await Promise.all([
    projectContainers(engine, project.name, { oneoff: false }),
    observeResources(engine, project, services),
    Promise.all(refs.map(async (r) => [r, await engine.inspectImage(r)] as const)),
    stale ? stale(services.filter((s) => s.build)) : Promise.resolve(new Set<string>()),
  ]);
  return {
    containers,
    ...resources,
    images: Object.fromEntries(images.map(([r, img]) => [r, img ? { id: img.Id, pulledAt: pulledAt(img) } : undefined])),
    staleBuilds,
    now: Date.now(),
  };
}

