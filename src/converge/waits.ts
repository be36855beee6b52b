/**
 * Waits driven by the engine's event stream: subscribe once per run, inspect a container once
 * on each event that concerns it, settle the waiters whose condition is now met or failed.
 */
import { DockyardError } from '../errors.js';
import type { ContainerInspect, Engine, EventSubscription } from '../engine/engine.js';

export type Verdict = { done: true; ok: true } | { done: true; ok: false; reason: string } | { done: false };
export type Condition = (c: ContainerInspect | undefined) => Verdict;

interface Waiter {
  id: string;
  cond: Condition;
  resolve: (c: ContainerInspect | undefined) => void;
  reject: (e: Error) => void;
  timer?: NodeJS.Timeout;
}

export class EventHub {
  private sub?: EventSubscription;
  private readonly waiters = new Map<string, Set<Waiter>>();
  private readonly listeners = new Set<(id: string, action: string, attrs: Record<string, string>, time: number) => void>();

  constructor(private readonly engine: Engine) {}

  private poll?: NodeJS.Timeout;
  private closed = false;
  /** a listener's error that ended the subscription: later waits fail with it too */
  private failed?: Error;

  async open(project: string): Promise<void> {
    const sub = await this.engine.events(
      { type: ['container'], label: [`com.docker.compose.project=${project}`] },
      (e) => {
        const id = e.Actor.ID;
        for (const l of this.listeners) l(id, e.Action, e.Actor.Attributes, e.timeNano / 1e6);
        if (this.waiters.has(id)) void this.check(id);
      },
      // a listener failed: every wait ends with its error (never a wait that hangs for ever)
      // the event stream broke (engine restarting, connection lost): fall back to looking every
      // half second, so that no wait hangs for want of an event
      (err) => {
        if (this.closed) return;
        if (err) {
          for (const set of this.waiters.values()) for (const w of [...set]) this.settle(w, () => w.reject(err));
          this.failed = err;
          return;
        }
        this.poll ??= setInterval(() => {
          for (const id of this.waiters.keys()) void this.check(id);
        }, 500);
      },
    );
    // closed while subscribing (the run failed meanwhile): an open stream would keep the process alive
    if (this.closed) sub.close();
    else this.sub = sub;
  }

  close(): void {
    this.closed = true;
    if (this.poll) clearInterval(this.poll);
    this.sub?.close();
    for (const set of this.waiters.values()) for (const w of set) clearTimeout(w.timer);
    this.waiters.clear();
  }

  onEvent(l: (id: string, action: string, attrs: Record<string, string>, timeMs: number) => void): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  private async check(id: string): Promise<void> {
    const set = this.waiters.get(id);
    if (!set?.size) return;
    let info: ContainerInspect | undefined;
    try {
      info = await this.engine.inspectContainer(id);
    } catch (e) {
      for (const w of set) this.settle(w, () => w.reject(e as Error));
      return;
    }
    for (const w of [...set]) {
      const v = w.cond(info);
      if (!v.done) continue;
      if (v.ok) this.settle(w, () => w.resolve(info));
      else this.settle(w, () => w.reject(new DockyardError('SERVICE_FAILED', v.reason)));
    }
  }

  private settle(w: Waiter, f: () => void): void {
    clearTimeout(w.timer);
    this.waiters.get(w.id)?.delete(w);
    f();
  }

  /** Resolves when `cond` holds for the container; checks once now, then on each of its events. */
  wait(id: string, cond: Condition, timeoutMs: number | undefined, what: string): Promise<ContainerInspect | undefined> {
    // a dry run's containers exist only in it: whatever they are waited for is met
    if (this.engine.dryRun && id.startsWith('dryrun')) return this.engine.inspectContainer(id);
    return new Promise((resolve, reject) => {
      if (this.failed) return reject(this.failed);
      const w: Waiter = { id, cond, resolve, reject };
      if (timeoutMs !== undefined) {
        w.timer = setTimeout(() => this.settle(w, () => reject(new DockyardError('SERVICE_FAILED', `timed out after ${(timeoutMs / 1000).toFixed(1)}s waiting for ${what}`))), timeoutMs);
      }
      let set = this.waiters.get(id);
      if (!set) this.waiters.set(id, (set = new Set()));
      set.add(w);
      void this.check(id);
    });
  }
}

export const isRunning: Condition = (c) => {
  if (!c) return { done: true, ok: false, reason: 'the container was removed' };
  if (c.State.Running) return { done: true, ok: true };
  if (c.State.Status === 'exited' || c.State.Status === 'dead') return { done: true, ok: true };
  return { done: false };
};

export const isHealthy: Condition = (c) => {
  if (!c) return { done: true, ok: false, reason: 'the container was removed' };
  const h = c.State.Health;
  if (!h) {
    if (c.State.Running) return { done: true, ok: true };
  } else if (h.Status === 'healthy') return { done: true, ok: true };
  else if (h.Status === 'unhealthy') return { done: true, ok: false, reason: 'is unhealthy' };
  if (!c.State.Running && c.State.Status !== 'created' && c.State.Status !== 'restarting') {
    return { done: true, ok: false, reason: `exited with code ${c.State.ExitCode}` };
  }
  return { done: false };
};

export const hasCompleted: Condition = (c) => {
  if (!c) return { done: true, ok: false, reason: 'the container was removed' };
  if (c.State.Status === 'exited' || c.State.Status === 'dead') {
    return c.State.ExitCode === 0 ? { done: true, ok: true } : { done: true, ok: false, reason: `exited with code ${c.State.ExitCode}` };
  }
  return { done: false };
};

/** --wait: running (healthy when it has a check), or exited 0. */
export const isReady: Condition = (c) => {
  if (!c) return { done: true, ok: false, reason: 'the container was removed' };
  if (c.State.Status === 'exited' || c.State.Status === 'dead') {
    return c.State.ExitCode === 0 ? { done: true, ok: true } : { done: true, ok: false, reason: `exited with code ${c.State.ExitCode}` };
  }
  return isHealthy(c);
};

/** The wait for a depends_on condition. */
export function conditionFor(condition: 'service_started' | 'service_healthy' | 'service_completed_successfully'): Condition {
  return condition === 'service_healthy' ? isHealthy : condition === 'service_completed_successfully' ? hasCompleted : isRunning;
}
