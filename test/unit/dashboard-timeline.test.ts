/** The dashboard's startup timeline put together from the engine's record of each container. */
import { describe, expect, it } from 'vitest';
import { healthyAt, reconstructTimeline, timingOf } from '../../src/dashboard/timeline.js';
import type { ContainerTiming } from '../../src/dashboard/timeline.js';
import type { ContainerInspect } from '../../src/engine/engine.js';

const T = Date.parse('2026-12-05T10:00:00Z');
const at = (ms: number) => T + ms;
const check = (start: number, exitCode: number) => ({ start: at(start), end: at(start + 50), exitCode });

/** db (health-checked) ← migrate (one-shot) ← api (health-checked); cache; worker ← cache */
const stack = (): ContainerTiming[] => [
  { service: 'db', name: 'p-db-1', created: at(0), startedAt: at(300), state: 'running', health: { status: 'healthy', intervalMs: 1000, log: [check(1300, 1), check(2300, 0), check(3300, 0)] } },
  { service: 'cache', name: 'p-cache-1', created: at(20), startedAt: at(320), state: 'running' },
  { service: 'migrate', name: 'p-migrate-1', created: at(40), startedAt: at(2400), finishedAt: at(2900), state: 'exited' },
  { service: 'api', name: 'p-api-1', created: at(60), startedAt: at(3000), state: 'running', health: { status: 'healthy', intervalMs: 500, log: [check(3500, 0)] } },
  { service: 'worker', name: 'p-worker-1', created: at(80), startedAt: at(400), state: 'running' },
  { service: 'worker', name: 'p-worker-2', created: at(90), startedAt: at(450), state: 'running' },
];
const deps = { migrate: ['db'], api: ['migrate', 'cache'], worker: ['cache'], web: ['api'] };

describe('startup timeline from the engine', () => {
  it('created, last start, first healthy check, exit; the critical path along depends_on', () => {
    const r = reconstructTimeline(stack(), deps)!;
    expect(r.notes).toEqual([]);
    expect(r.timeline.startedAt).toBe(T);
    expect(r.timeline.entries).toEqual([
      { service: 'db', queued: 0, created: 0, started: 300, ready: 2350, deps: [] },
      { service: 'cache', queued: 20, created: 20, started: 320, ready: 320, deps: [] },
      // a service's containers: all started (the last start), all ready
      { service: 'worker', queued: 80, created: 80, started: 450, ready: 450, deps: ['cache'] },
      { service: 'migrate', queued: 40, created: 40, started: 2400, exited: 2900, deps: ['db'] },
      { service: 'api', queued: 60, created: 60, started: 3000, ready: 3550, deps: ['migrate', 'cache'] },
    ]);
    expect(r.timeline.totalMs).toBe(3550);
    expect(r.timeline.criticalPath).toEqual({ services: ['db', 'migrate', 'api'], ms: 3550 });
  });

  it('a healthy transition rolled out of the 5 kept checks: the bar ends at the start, and a note says so', () => {
    const cs = stack();
    // checks every second for a minute: the log holds the last five, all successes
    cs[0]!.health!.log = [55, 56, 57, 58, 59].map((s) => check(300 + s * 1000, 0));
    const r = reconstructTimeline(cs, deps)!;
    const db = r.timeline.entries.find((e) => e.service === 'db')!;
    expect(db.ready).toBeUndefined();
    expect(db.started).toBe(300);
    expect(r.notes).toEqual([
      "p-db-1: healthy by 55.4 s; when it turned healthy has rolled out of the engine's health log (it keeps the last 5 checks): its bar ends at its start",
    ]);
  });

  it('five checks, the oldest one interval after the start: nothing rolled out, the first success is the transition', () => {
    const c: ContainerTiming = { service: 'db', name: 'p-db-1', created: at(0), startedAt: at(0), state: 'running', health: { status: 'healthy', intervalMs: 1000, log: [check(1000, 1), check(2000, 1), check(3000, 0), check(4000, 0), check(5000, 0)] } };
    expect(healthyAt(c)).toEqual({ at: at(3050) });
    // the same log an hour after the start: the moment is gone
    expect(healthyAt({ ...c, startedAt: at(-3_600_000), created: at(-3_600_000) })).toEqual({ rolledOut: { by: at(3050) } });
    // still starting, or unhealthy: not ready, nothing invented
    expect(healthyAt({ ...c, health: { ...c.health!, status: 'starting', log: [check(1000, 1)] } })).toEqual({});
  });

  it('a service stopped after the startup is drawn to its start; not yet healthy and never started are noted', () => {
    const cs = stack();
    cs[1] = { ...cs[1]!, finishedAt: at(90_000), state: 'exited' };
    cs[3] = { ...cs[3]!, health: { status: 'starting', intervalMs: 500, log: [check(3500, 1)] } };
    cs.push({ service: 'web', name: 'p-web-1', created: at(100), state: 'created' });
    const r = reconstructTimeline(cs, deps)!;
    const e = Object.fromEntries(r.timeline.entries.map((x) => [x.service, x]));
    expect(e.cache).toEqual({ service: 'cache', queued: 20, created: 20, started: 320, deps: [] });
    expect(e.api!.ready).toBeUndefined();
    expect(e.web).toEqual({ service: 'web', queued: 100, created: 100, deps: ['api'] });
    expect(r.notes).toEqual(['p-api-1: not healthy yet', 'web: p-web-1 never started', 'cache: exited at 90.0 s, after the others were up (not part of the startup)']);
    // api, not healthy yet, ends at its start (3 s), still after migrate's exit
    expect(r.timeline.criticalPath).toEqual({ services: ['db', 'migrate', 'api'], ms: 3000 });
  });

  it('no containers: no timeline', () => {
    expect(reconstructTimeline([], deps)).toBeUndefined();
  });

  it("reads the engine's inspection: zero times, health log times with nanoseconds, one-offs left out", () => {
    const inspect = (o: Partial<ContainerInspect['State']>, labels: Record<string, string> = {}): ContainerInspect => ({
      Id: 'x',
      Name: '/p-db-1',
      Image: 'sha256:1',
      Created: '2026-12-05T10:00:00.000123456Z',
      State: { Status: 'running', Running: true, ExitCode: 0, StartedAt: '2026-12-05T10:00:00.300999999Z', FinishedAt: '0001-01-01T00:00:00Z', ...o },
      Config: { Labels: { 'com.docker.compose.service': 'db', ...labels }, Image: 'img', Healthcheck: { Test: ['CMD-SHELL', 'true'], Interval: 1_000_000_000 } },
      HostConfig: {},
      NetworkSettings: {},
    });
    const t = timingOf(inspect({ Health: { Status: 'healthy', FailingStreak: 0, Log: [{ Start: '2026-12-05T10:00:01.300000001Z', End: '2026-12-05T10:00:01.350999Z', ExitCode: 0, Output: '' }] } }))!;
    expect(t).toEqual({ service: 'db', name: 'p-db-1', created: at(0), startedAt: at(300), finishedAt: undefined, state: 'running', health: { status: 'healthy', intervalMs: 1000, log: [{ start: at(1300), end: at(1350), exitCode: 0 }] } });
    expect(timingOf(inspect({ Status: 'created', Running: false, StartedAt: '0001-01-01T00:00:00Z' }))).toMatchObject({ startedAt: undefined, finishedAt: undefined, health: undefined });
    expect(timingOf(inspect({ Status: 'exited', Running: false, FinishedAt: '2026-12-05T10:00:02Z' }))!.finishedAt).toBe(at(2000));
    expect(timingOf(inspect({}, { 'com.docker.compose.oneoff': 'True' }))).toBeUndefined();
  });
});
