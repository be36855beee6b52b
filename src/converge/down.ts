/** `down`: stop (dependents first) and remove the containers, then networks, volumes, images. */
import { DockyardError, isEngineError } from '../errors.js';
import { imageName, LABEL } from '../model/names.js';
import type { Converger } from './runner.js';
import { projectContainers } from './state.js';

export async function down(cv: Converger, o: { removeOrphans?: boolean; volumes?: boolean; rmi?: 'local' | 'all'; timeout?: number } = {}): Promise<void> {
  await cv.ensureEngine();
  const all = await projectContainers(cv.engine, cv.project.name);
  const known = new Set([...Object.keys(cv.project.services), ...Object.keys(cv.project.disabledServices)]);
  const mine = all.filter((c) => known.has(c.service) || c.oneoff || o.removeOrphans);
  const orphans = all.filter((c) => !mine.includes(c));
  if (orphans.length) cv.emit({ type: 'warning', message: `found orphan containers (${orphans.map((c) => c.name).join(', ')}); remove them with --remove-orphans` });
  // dependents stop first; each container is removed as soon as it has stopped
  await cv.reverseOrder(mine, (c) => cv.stopAndRemove(c, o.timeout, o.volumes));
  // networks of the project (by label), not external ones
  const nets = await cv.engine.listNetworks([`${LABEL.project}=${cv.project.name}`]);
  await Promise.all(
    nets.map(async (n) => {
      // the engine can report endpoints of just-removed containers for a moment: retry briefly;
      // if it still does with no container attached, that is an engine fault: say so, go on
      for (let attempt = 0; ; attempt++) {
        try {
          await cv.engine.removeNetwork(n.Name);
          cv.emit({ type: 'resource', kind: 'network', name: n.Name, action: 'removed' });
          return;
        } catch (e) {
          // 403: the network still has endpoints
          if (!isEngineError(e, 'forbidden')) throw e;
          if (attempt >= 20) break;
          await new Promise((r) => setTimeout(r, 100));
        }
      }
      const info = await cv.engine.inspectNetwork(n.Name);
      const attached = Object.keys(info?.Containers ?? {}).length;
      if (attached) throw new DockyardError('ENGINE', `network ${n.Name} still has ${attached} container(s) attached`, { hint: `see them with: docker network inspect ${n.Name}` });
      cv.emit({ type: 'warning', message: `network ${n.Name} was left: the engine reports active endpoints but none is attached (an engine fault; restarting the engine clears it)` });
    }),
  );
  if (o.volumes) {
    const vols = await cv.engine.listVolumes([`${LABEL.project}=${cv.project.name}`]);
    await Promise.all(
      vols.map(async (v) => {
        await cv.engine.removeVolume(v.Name);
        cv.emit({ type: 'resource', kind: 'volume', name: v.Name, action: 'removed' });
      }),
    );
  }
  if (o.rmi) {
    const refs = new Set<string>();
    for (const s of Object.values(cv.project.services)) {
      if (o.rmi === 'all' || (!s.image && s.build)) refs.add(imageName(cv.project.name, s));
    }
    for (const r of refs) {
      await cv.engine.removeImage(r);
      cv.emit({ type: 'resource', kind: 'image', name: r, action: 'removed' });
    }
  }
}

