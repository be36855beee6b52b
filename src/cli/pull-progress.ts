/**
 * Pull progress as the engine reports it (one JSON message per layer step: "Pulling fs layer",
 * "Downloading" with bytes, "Download complete", "Extracting", "Pull complete", "Already exists"),
 * summed per image into the detail of its progress row: `2/5 layers  12.3MB / 40.1MB`.
 */
import type { Emit } from '../converge/events.js';

interface Layer {
  current: number;
  total: number;
  done: boolean;
  /** the engine had it already: nothing to download */
  existed: boolean;
}

interface ImagePull {
  layers: Map<string, Layer>;
  lastEmit: number;
}

/** A size as Docker prints one (units.HumanSize: decimal units, four significant digits). */
export function humanSize(n: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB', 'PB'];
  let i = 0;
  while (n >= 1000 && i < units.length - 1) {
    n /= 1000;
    i++;
  }
  return `${Number(n.toPrecision(4))}${units[i]}`;
}

/** The state of one image's pull after these messages (pure: tests feed it the engine's messages). */
export function pullSummary(layers: Iterable<Layer>, final = false): string {
  const all = [...layers];
  if (!all.length) return '';
  const done = all.filter((l) => l.done).length;
  const fetched = all.filter((l) => !l.existed);
  const current = fetched.reduce((n, l) => n + l.current, 0);
  const total = fetched.reduce((n, l) => n + Math.max(l.total, l.current), 0);
  const existed = all.length - fetched.length;
  if (final) return `${all.length} layer${all.length === 1 ? '' : 's'}${fetched.length ? `, ${humanSize(total)} downloaded` : ''}${existed ? `, ${existed} already here` : ''}`;
  return `${done}/${all.length} layers${total ? `  ${humanSize(current)} / ${humanSize(total)}` : ''}`;
}

/** Folds one engine message into the layers; true when a layer changed state (not only its bytes). */
export function applyPullMessage(layers: Map<string, Layer>, msg: Record<string, unknown>): boolean {
  const id = typeof msg.id === 'string' ? msg.id : undefined;
  const status = typeof msg.status === 'string' ? msg.status : '';
  // messages about the image as a whole ("Pulling from library/alpine", "Digest: ...") have the tag or no id
  if (!id || !/^[0-9a-f]{12,}$/.test(id)) return false;
  const detail = (msg.progressDetail ?? {}) as { current?: number; total?: number };
  const layer = layers.get(id) ?? { current: 0, total: 0, done: false, existed: false };
  const known = layers.has(id);
  layers.set(id, layer);
  switch (status) {
    case 'Downloading':
      if (typeof detail.current === 'number') layer.current = detail.current;
      if (typeof detail.total === 'number' && detail.total > 0) layer.total = detail.total;
      return !known;
    case 'Verifying Checksum':
    case 'Download complete':
      layer.current = Math.max(layer.current, layer.total);
      return true;
    case 'Pull complete':
      layer.current = Math.max(layer.current, layer.total);
      layer.done = true;
      return true;
    case 'Already exists':
      layer.existed = true;
      layer.done = true;
      return true;
    default:
      // Pulling fs layer, Waiting, Extracting, Retrying...: known, not done yet
      return !known;
  }
}

/**
 * Listens to the engine's pull messages and emits `pulling` rows with their detail (at most every
 * `everyMs` per image, and at each layer's change of state); `emit` (to be used
 * in place of the printer's) marks which pulls have rows and gives their final `pulled` row the
 * image's summary.
 */
export function pullProgress(emit: Emit, everyMs = 100, now = () => Date.now()): { onMessage: (ref: string, msg: Record<string, unknown>) => void; emit: Emit } {
  const pulls = new Map<string, ImagePull>();
  // only pulls shown as rows get details (up --quiet-pull announces none)
  const shown = new Set<string>();
  return {
    onMessage(ref, msg) {
      if (!shown.has(ref)) return;
      const p = pulls.get(ref) ?? { layers: new Map<string, Layer>(), lastEmit: 0 };
      pulls.set(ref, p);
      const changed = applyPullMessage(p.layers, msg);
      if (!changed && now() - p.lastEmit < everyMs) return;
      p.lastEmit = now();
      const detail = pullSummary(p.layers.values());
      if (detail) emit({ type: 'resource', kind: 'image', name: ref, action: 'pulling', detail });
    },
    emit(e) {
      if (e.type === 'resource' && e.kind === 'image' && e.action === 'pulling') shown.add(e.name);
      if (e.type === 'resource' && e.kind === 'image' && e.action === 'pulled' && e.detail === undefined) {
        shown.delete(e.name);
        const p = pulls.get(e.name);
        if (p?.layers.size) {
          pulls.delete(e.name);
          return emit({ ...e, detail: pullSummary(p.layers.values(), true) });
        }
      }
      emit(e);
    },
  };
}
