/** The project's container lifecycle as it happens on the engine, as typed events (`events`). */
import type { Engine, EngineEvent } from '../engine/engine.js';
import { LABEL } from '../model/names.js';
import { AsyncQueue } from './queue.js';

export type LifecycleAction = 'created' | 'started' | 'healthy' | 'unhealthy' | 'exited' | 'stopped' | 'killed' | 'restarted' | 'paused' | 'unpaused' | 'removed';

export interface LifecycleEvent {
  action: LifecycleAction;
  service: string;
  /** the container's name */
  container: string;
  id: string;
  number: number;
  oneoff: boolean;
  /** for exited */
  exitCode?: number;
  /** for killed */
  signal?: string;
  time: Date;
}

/** An iterable of events that is subscribed once `ready` resolves. */
export interface EventStream<T> extends AsyncIterable<T> {
  ready: Promise<void>;
  close(): void;
}

const ACTIONS: Record<string, LifecycleAction> = {
  create: 'created',
  start: 'started',
  'health_status: healthy': 'healthy',
  'health_status: unhealthy': 'unhealthy',
  die: 'exited',
  stop: 'stopped',
  kill: 'killed',
  restart: 'restarted',
  pause: 'paused',
  unpause: 'unpaused',
  destroy: 'removed',
};

export function lifecycleEvents(engine: Engine, project: string, o: { signal?: AbortSignal; since?: number; until?: number } = {}): EventStream<LifecycleEvent> {
  const q = new AsyncQueue<LifecycleEvent>();
  const subscribed = engine.events(
    { type: ['container'], label: [`${LABEL.project}=${project}`] },
    (e: EngineEvent) => {
      const action = ACTIONS[e.Action] ?? (e.Action.startsWith('health_status: ') ? ACTIONS[e.Action.trim()] : undefined);
      if (!action) return;
      const a = e.Actor.Attributes;
      q.push({
        action,
        service: a[LABEL.service] ?? '',
        container: a.name ?? e.Actor.ID.slice(0, 12),
        id: e.Actor.ID,
        number: Number(a[LABEL.number] ?? 0),
        oneoff: a[LABEL.oneoff] === 'True',
        exitCode: action === 'exited' && a.exitCode !== undefined ? Number(a.exitCode) : undefined,
        signal: action === 'killed' ? a.signal : undefined,
        time: new Date(e.timeNano ? e.timeNano / 1e6 : e.time * 1000),
      });
    },
    (err) => q.close(err),
    { since: o.since, until: o.until },
  );
  q.onStop = () => void subscribed.then((s) => s.close(), () => undefined);
  subscribed.catch((e) => q.close(e));
  o.signal?.addEventListener('abort', () => q.close(), { once: true });
  return { ready: subscribed.then(() => undefined), close: () => q.close(), [Symbol.asyncIterator]: () => q[Symbol.asyncIterator]() };
}
