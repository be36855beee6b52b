import { describe, expect, it } from 'vitest';
import { Limit, parallelLimit } from '../../src/converge/state.js';

describe('parallel engine operations', () => {
  it('reads COMPOSE_PARALLEL_LIMIT as docker compose does, DOCKYARD_PARALLEL first, else 16', () => {
    expect(parallelLimit({})).toBe(16);
    expect(parallelLimit({ COMPOSE_PARALLEL_LIMIT: '1' })).toBe(1);
    expect(parallelLimit({ DOCKYARD_PARALLEL: '4', COMPOSE_PARALLEL_LIMIT: '1' })).toBe(4);
    expect(parallelLimit({ COMPOSE_PARALLEL_LIMIT: '' })).toBe(16);
    expect(() => parallelLimit({ COMPOSE_PARALLEL_LIMIT: 'many' })).toThrow('COMPOSE_PARALLEL_LIMIT must be a whole number of at least 1, not "many"');
    expect(() => parallelLimit({ DOCKYARD_PARALLEL: '0' })).toThrow('DOCKYARD_PARALLEL must be');
  });

  it('never runs more than the limit at once, and runs them all', async () => {
    const limit = new Limit(3);
    let active = 0;
    let peak = 0;
    const done = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        limit.run(async () => {
          active++;
          peak = Math.max(peak, active);
          await new Promise((r) => setTimeout(r, 5));
          active--;
          return i;
        }),
      ),
    );
    expect(peak).toBe(3);
    expect(done).toEqual([...Array(10).keys()]);
  });
});

describe('Limit hand-off', () => {
  it('admits no extra task when a caller arrives while a waiter is being woken', async () => {
    const limit = new Limit(1);
    let active = 0;
    let peak = 0;
    const task = (hold: Promise<void>) =>
      limit.run(async () => {
        active++;
        peak = Math.max(peak, active);
        await hold;
        active--;
      });
    let releaseA!: () => void;
    const a = task(new Promise<void>((r) => (releaseA = r)));
    const b = task(new Promise<void>((r) => setTimeout(r, 20)));
    await new Promise((r) => setTimeout(r, 5));
    releaseA();
    // A's slot is being handed to B: a newcomer arriving in that very moment must wait
    await Promise.resolve();
    await Promise.resolve();
    const c = task(new Promise<void>((r) => setTimeout(r, 20)));
    await Promise.all([a, b, c]);
    expect(peak).toBe(1);
  });
});
