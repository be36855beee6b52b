/** Build events as progress events: per image, the step under way, then time and cache hits. */
import type { Emit } from '../converge/events.js';
import type { BuildEvent } from './builder.js';

export function buildProgress(emit: Emit): (e: BuildEvent) => void {
  const images = new Map<string, string>();
  return (e) => {
    if (e.type === 'step') {
      const image = images.get(e.service) ?? e.service;
      emit({ type: 'resource', kind: 'image', name: image, action: 'building', detail: `step ${e.step}/${e.of}: ${e.instruction.slice(0, 50)}` });
      return;
    }
    images.set(e.service, e.image);
    if (e.action === 'building') emit({ type: 'resource', kind: 'image', name: e.image, action: 'building' });
    else if (e.action === 'skipped') emit({ type: 'resource', kind: 'image', name: e.image, action: 'exists', detail: 'up to date' });
    else if (e.action === 'built') emit({ type: 'resource', kind: 'image', name: e.image, action: 'built', detail: `${e.cacheHits ?? 0}/${e.steps ?? 0} steps cached` });
  };
}
