/** `start`, `stop`, `restart`, `kill`, `rm` on existing containers. */
import { DockyardError } from '../errors.js';
import type { Converger } from './runner.js';
import { projectContainers } from './state.js';
import { EventHub, isReady } from './waits.js';
import type { ProjectContainer } from './state.js';

export async function stop(cv: Converger, services?: string[], timeout?: number): Promise<void> {
  await cv.ensureEngine();
  const cs = await cv.containersOf(services);
  await cv.reverseOrder(cs, (c) => cv.stopOne(c, timeout));
}


/** Starts existing containers: the services named and their dependencies, in dependency order. */
export async function start(cv: Converger, services?: string[], waitTimeoutMs?: number, wait = false): Promise<void> {
  await cv.ensureEngine();
  const targets = cv.targets(services?.length ? services : undefined);
  const names = new Set(targets.map((s) => s.name));
  const cs = (await projectContainers(cv.engine, cv.project.name, { oneoff: false })).filter((c) => names.has(c.service));
  if (!cs.length) throw new DockyardError('USAGE', 'no containers to start', { hint: 'create them with dockyard up' });
  await cv.inDependencyOrder(targets, cs, waitTimeoutMs, async (s, mine) => {
    await Promise.all(
      mine
        .filter((c) => c.state !== 'running')
        .map(async (c) => {
          cv.emit({ type: 'container', service: c.service, name: c.name, action: 'starting' });
          await cv.limit.run(() => cv.startWithDiagnosis(s, c.id, c.name));
          cv.emit({ type: 'container', service: c.service, name: c.name, action: 'started' });
        }),
    );
  });
  // --wait: every container running (healthy where it has a check) or exited 0
  if (wait) {
    const hub = new EventHub(cv.engine);
    await hub.open(cv.project.name);
    try {
      await Promise.all(
        cs.map(async (c) => {
          try {
            await hub.wait(c.id, isReady, waitTimeoutMs, `${c.service} to be ready`);
          } catch (e) {
            throw await cv.failure(c.service, c.id, e instanceof DockyardError ? e.message : String(e), await cv.engine.inspectContainer(c.id));
          }
        }),
      );
    } finally {
      hub.close();
    }
  }
}

/** Restarts the services named (all by default), dependencies first, each once its dependencies' conditions hold. */
export async function restart(cv: Converger, services?: string[], timeout?: number, waitTimeoutMs?: number): Promise<void> {
  await cv.ensureEngine();
  const targets = cv.targets(services?.length ? services : undefined, true);
  const names = new Set(targets.map((s) => s.name));
  const all = await projectContainers(cv.engine, cv.project.name, { oneoff: false });
  await cv.inDependencyOrder(targets, all, waitTimeoutMs, async (s, mine) => {
    if (!names.has(s.name)) return;
    await Promise.all(
      mine.map(async (c) => {
        cv.emit({ type: 'container', service: c.service, name: c.name, action: 'restarting' });
        await cv.limit.run(() => cv.engine.restartContainer(c.id, cv.stopTimeout(s, timeout)));
        cv.emit({ type: 'container', service: c.service, name: c.name, action: 'restarted' });
      }),
    );
  });
}


export async function kill(cv: Converger, services?: string[], signal = 'SIGKILL'): Promise<void> {
  await cv.ensureEngine();
  const cs = (await cv.containersOf(services)).filter((c) => c.state === 'running');
  await Promise.all(
    cs.map(async (c) => {
      await cv.engine.killContainer(c.id, signal);
      cv.emit({ type: 'container', service: c.service, name: c.name, action: 'killed', detail: signal });
    }),
  );
}

export async function rm(cv: Converger, services?: string[], o: { stop?: boolean; volumes?: boolean } = {}): Promise<ProjectContainer[]> {
  await cv.ensureEngine();
  let cs = await cv.containersOf(services);
  if (o.stop) await stop(cv, services);
  else cs = cs.filter((c) => c.state !== 'running' && c.state !== 'restarting' && c.state !== 'paused');
  if (o.stop) cs = await cv.containersOf(services);
  await Promise.all(
    cs.map(async (c) => {
      await cv.engine.removeContainer(c.id, { force: true, volumes: o.volumes });
      cv.emit({ type: 'container', service: c.service, name: c.name, action: 'removed' });
    }),
  );
  return cs;
}

/**
 * Waits until the containers have all stopped; resolves with the exit code of the last one. With
 * `downProject`, the project is brought down once the first one stops.
 */
export async function waitFor(cv: Converger, cs: ProjectContainer[], o: { services: string[]; downProject?: boolean; onExit?: (container: string, code: number) => void }): Promise<number> {
  if (!cs.length) throw new DockyardError('USAGE', `no containers for project "${cv.project.name}"${o.services.length ? ` (services ${o.services.join(', ')})` : ''}`, { hint: 'create them with dockyard up' });
  const { down } = await import('./down.js');
  let code = 0;
  let first: Promise<void> | undefined;
  await Promise.all(
    cs.map(async (c) => {
      code = await cv.engine.waitContainer(c.id);
      o.onExit?.(c.name, code);
      if (o.downProject) first ??= down(cv, { removeOrphans: true });
    }),
  );
  await first;
  return code;
}
