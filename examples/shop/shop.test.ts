/**
 * The example stack as a test environment, through the library (no CLI, no shelling out):
 * bring examples/shop up, call its API over the published port, and let `await using` take it
 * all down again, however the test ends.
 *
 *   npx vitest run examples/shop/shop.test.ts
 */
import { randomBytes } from 'node:crypto';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { openProject } from 'dockyard';

it('serves the API once its database is healthy and the migration has run', async () => {
  await using shop = await openProject({
    workingDir: dirname(fileURLToPath(import.meta.url)),
    // its own name and ports: it can run beside `npm run demo`, and beside itself
    projectName: `shop-test-${randomBytes(3).toString('hex')}`,
    environment: { ...process.env, API_PORT: '0', WEB_PORT: '0' },
  });
  await shop.up({ wait: true, waitTimeoutMs: 60_000 });

  const api = await shop.port('api', 8000);
  const health = await fetch(`http://${api.host}:${api.port}/health`);
  expect(await health.json()).toEqual({ status: 'ok' });

  // the migration wrote the schema into the database's volume
  const schema = await shop.exec('api', ['wget', '-qO-', 'http://db:5432/schema']);
  expect(schema.stdout).toBe('schema v1\n');

  const web = await shop.port('web', 80);
  expect((await fetch(`http://${web.host}:${web.port}/`)).status).toBe(200);
  expect((await shop.ps()).filter((c) => c.service === 'worker')).toHaveLength(2);
}, 120_000);
