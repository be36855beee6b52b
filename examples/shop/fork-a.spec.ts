// Tests against this worker's fork of the seeded shop (see snapshots.setup.ts): the seed data is
// there from the start, what a test writes is its own (no other worker sees it), and a reset brings
// the seeded state back (a suite that writes everywhere would reset in beforeEach).
import { expect, inject, it } from 'vitest';
import { resetEnvironment, workerEnvironment } from 'dockyard/vitest';
import type { ProvidedEnvironment } from 'dockyard/vitest';

declare module 'vitest' {
  export interface ProvidedContext {
    dockyard: ProvidedEnvironment;
  }
}

const env = workerEnvironment(inject('dockyard'));
const api = env.services.api!.url!;
// the database is on the back network: read it through the API container
const db = async (path: string) => {
  const { execFileSync } = await import('node:child_process');
  return execFileSync('docker', ['exec', `${env.name}-api-1`, 'wget', '-qO-', `http://db:5432/${path}`], { encoding: 'utf8' });
};

it('starts from the seeded data: the migration\'s schema and products, the fixture', async () => {
  expect(await db('schema')).toBe('schema v1\n');
  expect((await db('products')).split('\n').filter(Boolean)).toHaveLength(500);
  expect(await db('orders')).toBe('order 1: 2 x product 7\n');
  expect(await (await fetch(`${api}/health`)).json()).toEqual({ status: 'ok' });
});

it('writes of a test are gone after the reset, on the same URL', async () => {
  const { execFileSync } = await import('node:child_process');
  execFileSync('docker', ['exec', `${env.name}-db-1`, 'sh', '-c', 'echo "order 2" >> /data/www/orders']);
  expect(await db('orders')).toBe('order 1: 2 x product 7\norder 2\n');
  await resetEnvironment(env);
  expect(await db('orders')).toBe('order 1: 2 x product 7\n');
  expect(await (await fetch(`${api}/health`)).json()).toEqual({ status: 'ok' });
});
