import { describe, expect, it } from 'vitest';
import type { ContainerInspect, Engine, EngineEvent } from '../../src/engine/engine.js';
import { EventHub, hasCompleted, isHealthy, isRunning } from '../../src/converge/waits.js';

/** A fake engine: container state set by the test, events pushed by the test. */
function fakeEngine() {
  const state: { Status: string; Running: boolean; ExitCode: number; Health?: { Status: string; FailingStreak: number } } = { Status: 'created', Running: false, ExitCode: 0 };
  let push: ((e: EngineEvent) => void) | undefined;
  let end: (() => void) | undefined;
  let inspections = 0;
  const engine = {
    events: async (_f: unknown, onEvent: (e: EngineEvent) => void, onEnd?: () => void) => {
      push = onEvent;
      end = onEnd;
      return { close: () => undefined };
    },
    inspectContainer: async () => {
      inspections++;
      return { State: { ...state, StartedAt: '', FinishedAt: '' } } as unknown as ContainerInspect;
    },
  } as unknown as Engine;
  const event = (action: string) => push!({ Type: 'container', Action: action, Actor: { ID: 'c1', Attributes: {} }, time: 0, timeNano: 0 });
  return { engine, state, event, endStream: () => end!(), inspections: () => inspections };
}

describe('waits driven by engine events', () => {
  it('inspects once now and once per event, and settles when the condition holds', async () => {
    const f = fakeEngine();
    const hub = new EventHub(f.engine);
    await hub.open('p');
    const w = hub.wait('c1', isRunning, 5000, 'c1 to run');
    await new Promise((r) => setTimeout(r, 50));
    expect(f.inspections()).toBe(1);
    Object.assign(f.state, { Status: 'running', Running: true });
    f.event('start');
    await expect(w).resolves.toMatchObject({ State: { Status: 'running' } });
    expect(f.inspections()).toBe(2);
    hub.close();
  });

  it('fails with the reason: unhealthy, exit code, timeout', async () => {
    const f = fakeEngine();
    const hub = new EventHub(f.engine);
    await hub.open('p');
    Object.assign(f.state, { Status: 'running', Running: true, Health: { Status: 'starting', FailingStreak: 0 } });
    const healthy = hub.wait('c1', isHealthy, 5000, 'c1 healthy');
    f.state.Health!.Status = 'unhealthy';
    f.event('health_status: unhealthy');
    await expect(healthy).rejects.toThrow('is unhealthy');
    Object.assign(f.state, { Status: 'exited', Running: false, ExitCode: 2 });
    await expect(hub.wait('c1', hasCompleted, 5000, 'job')).rejects.toThrow('exited with code 2');
    Object.assign(f.state, { Status: 'running', Running: true, Health: { Status: 'starting', FailingStreak: 0 } });
    await expect(hub.wait('c1', isHealthy, 100, 'db (service_healthy)')).rejects.toThrow('timed out after 0.1s waiting for db (service_healthy)');
    hub.close();
  });

  it('falls back to looking every half second when the event stream ends', async () => {
    const f = fakeEngine();
    const hub = new EventHub(f.engine);
    await hub.open('p');
    const w = hub.wait('c1', isRunning, 5000, 'c1 to run');
    f.endStream();
    Object.assign(f.state, { Status: 'running', Running: true }); // no event will say so
    await expect(w).resolves.toBeDefined();
    hub.close();
  });
  it('a hub closed while it subscribes closes the subscription when it arrives', async () => {
    let closed = 0;
    let arrive!: () => void;
    const engine = {
      events: () => new Promise((r) => (arrive = () => r({ close: () => closed++ }))),
    } as unknown as Engine;
    const hub = new EventHub(engine);
    const opening = hub.open('p');
    hub.close();
    arrive();
    await opening;
    expect(closed).toBe(1);
  });
});
