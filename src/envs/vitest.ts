/**
 * dockyard/vitest: a vitest global setup that acquires an environment before the test run,
 * gives the tests its ports and URLs (`inject('dockyard')`), and releases it after the run.
 *
 *   // dockyard.setup.ts (vitest.config.ts: test.globalSetup: ['./dockyard.setup.ts'])
 *   import { dockyardEnvironment } from 'dockyard/vitest';
 *   export default dockyardEnvironment({ files: ['compose.yaml', 'compose.test.yaml'], services: ['api'] });
 *
 *   // in a test
 *   const env = inject('dockyard');   // { name, services: { api: { ports: { '8000/tcp': 49153 }, url: 'http://127.0.0.1:49153' } }, variables }
 *
 * Seed once, fork per worker: with `seed`, one lease is brought up and seeded (the services' own
 * jobs, such as a migration, and then the function given), captured as a snapshot and released;
 * every vitest worker then gets its own fork of it (`workerEnvironment(inject('dockyard'))`), and
 * `resetEnvironment(env)` puts a fork back to the seeded state between tests.
 */
import { randomBytes } from 'node:crypto';
import { leaseVariables } from './variables.js';
import { acquireEnvironment, resetEnvironment as resetLease } from './lease.js';
import type { AcquireOptions, Lease } from './lease.js';
import { findSnapshot, removeSnapshot } from './snapshot.js';

export interface ProvidedEnvironment {
  name: string;
  services: Record<string, { state: string; health?: string; ports: Record<string, number>; url?: string }>;
  /** what `dockyard test` gives a command: API_PORT_8000, API_URL, DOCKYARD_ENV... */
  variables: Record<string, string>;
  /** with `seed`: one fork of the seeded snapshot per worker (workerEnvironment picks this worker's) */
  forks?: ProvidedEnvironment[];
  /** with `seed`: the snapshot the forks come from (project:tag) */
  snapshot?: string;
}

export interface VitestEnvironmentOptions extends AcquireOptions {
  /** the key tests inject (default 'dockyard') */
  key?: string;
  /**
   * seed once and fork per worker: `true` (the services' own jobs seed, e.g. a migration) or a
   * function that seeds a lease that is up (fixtures, API calls...)
   */
  seed?: true | ((lease: Lease) => unknown | Promise<unknown>);
  /** with seed: the number of forks (default: vitest's maxWorkers) */
  forks?: number;
  /**
   * with seed: the snapshot's tag. Given, the snapshot is kept after the run and a later run
   * forks it without seeding again, as long as it matches the project (its configuration hashes
   * and images); by default a new tag per run, removed at the end.
   */
  snapshotTag?: string;
}

type SetupContext = { provide(key: string, value: unknown): void; config?: { maxWorkers?: number } };

function provided(lease: Lease, bindHost?: string): ProvidedEnvironment {
  const host = bindHost && bindHost !== '0.0.0.0' ? bindHost : '127.0.0.1';
  return {
    name: lease.name,
    services: Object.fromEntries(Object.entries(lease.services).map(([k, s]) => [k, { state: s.state, health: s.health, ports: s.ports, url: Object.keys(s.ports).length ? s.url() : undefined }])),
    variables: leaseVariables(lease.name, lease.services, host),
  };
}

export function dockyardEnvironment(o: VitestEnvironmentOptions = {}) {
  return async function setup(ctx: SetupContext): Promise<() => Promise<void>> {
    const { seed, forks, snapshotTag, key, ...acquire } = o;
    if (!seed) {
      const lease = await acquireEnvironment(acquire);
      ctx.provide(key ?? 'dockyard', provided(lease, o.bindHost));
      return () => lease.release();
    }
    const tag = snapshotTag ?? `vitest-${randomBytes(4).toString('hex')}`;
    // a kept snapshot is forked as it is when it still matches the project; otherwise seeded again
    let snap = snapshotTag ? await findSnapshot(tag, { engine: acquire.engine }).catch(() => undefined) : undefined;
    const n = Math.max(1, forks ?? ctx.config?.maxWorkers ?? 1);
    const fork = () => acquireEnvironment({ ...acquire, from: tag, strict: true });
    let leases: Lease[] | undefined;
    if (snap) {
      // a kept snapshot of another configuration is refused (strict) before anything starts: seeded again
      const tries = await Promise.allSettled(Array.from({ length: n }, fork));
      const made = tries.flatMap((t) => (t.status === 'fulfilled' ? [t.value] : []));
      if (made.length === n) leases = made;
      else await Promise.all(made.map((l) => l.release()));
    }
    if (!leases) {
      const seeding = await acquireEnvironment({ ...acquire, ttl: acquire.ttl ?? '30m' });
      try {
        if (typeof seed === 'function') await seed(seeding);
        snap = await seeding.snapshot(tag, { replace: true });
      } finally {
        await seeding.release();
      }
      leases = await Promise.all(Array.from({ length: n }, fork));
    }
    const all = leases.map((l) => provided(l, o.bindHost));
    ctx.provide(key ?? 'dockyard', { ...all[0]!, forks: all, snapshot: `${snap!.project}:${snap!.tag}` });
    return async () => {
      await Promise.all(leases!.map((l) => l.release()));
      if (!snapshotTag) await removeSnapshot(`${snap!.project}:${snap!.tag}`, { engine: acquire.engine }).catch(() => undefined);
    };
  };
}

/** This worker's fork (by VITEST_POOL_ID), of what a seeded setup provides; the environment itself otherwise. */
export function workerEnvironment(env: ProvidedEnvironment): ProvidedEnvironment {
  if (!env.forks?.length) return env;
  const id = Number(process.env.VITEST_POOL_ID ?? '1');
  return env.forks[((Number.isInteger(id) && id > 0 ? id : 1) - 1) % env.forks.length]!;
}

/** A fork back to its seeded snapshot (same ports and URLs), services ready: for beforeEach. */
export async function resetEnvironment(env: ProvidedEnvironment | string, o: { waitTimeoutMs?: number } = {}): Promise<void> {
  await resetLease(typeof env === 'string' ? env : env.name, o);
}
