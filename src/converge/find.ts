/** A service's containers, found by the verbs that act on existing ones (exec, cp, logs...). */
import type { Engine } from '../engine/engine.js';
import { DockyardError } from '../errors.js';
import type { Project } from '../model/project.js';
import { targetServices } from './plan.js';
import { projectContainers } from './state.js';
import type { ProjectContainer } from './state.js';

/** A service's container number `index` (the first when 1 and numbers are missing); a usage error when there is none. */
export async function serviceContainer(engine: Engine, project: Project, service: string, index = 1): Promise<ProjectContainer> {
  targetServices(project, [service], true);
  const cs = await projectContainers(engine, project.name, { oneoff: false, services: [service] });
  const c = cs.find((x) => x.number === index) ?? (index === 1 ? cs[0] : undefined);
  if (!c) throw new DockyardError('USAGE', `service "${service}" has no container${index > 1 ? ` number ${index}` : ''}`, { hint: `start it with: dockyard up -d ${service}` });
  return c;
}

/** The project's containers of some services (all by default; one-off ones too with withOneoff). */
export async function serviceContainers(engine: Engine, project: Project, services: string[] | undefined, o: { withOneoff?: boolean; mustExist?: boolean } = {}): Promise<ProjectContainer[]> {
  if (services?.length) targetServices(project, services, true);
  await engine.ping();
  const cs = await projectContainers(engine, project.name, { oneoff: o.withOneoff ? undefined : false, services: services?.length ? services : undefined });
  if (o.mustExist && !cs.length) throw new DockyardError('USAGE', `service "${services?.join(', ')}" has no container`, { hint: 'start it with: dockyard up -d' });
  return cs;
}
