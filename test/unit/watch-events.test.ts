/**
 * watch and the engine's event stream, against a recording fake engine (no engine needed): the
 * start events are what give a restarted container its initial sync again, so a stream that ends
 * must be followed again, and one that cannot be must end the watch with a clear error.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { loadProject } from '../../src/load/index.js';
import { watchProject } from '../../src/watch/watch.js';
import type { WatchAction, WatchedProject } from '../../src/watch/watch.js';
import { DockyardError } from '../../src/errors.js';
import { cleanupTrees, tree } from '../helpers/fs.js';
import { FakeEngine } from '../helpers/fake-engine.js';

afterEach(cleanupTrees);

const COMPOSE = `services:
  web:
    image: busybox
    develop:
      watch:
        - {path: ./src, action: sync, target: /app/src, initial_sync: true}
`;

function setUp() {
  const dir = tree({ 'compose.yaml': COMPOSE, 'src/a.txt': 'a\n' });
  const model = loadProject({ workingDir: dir, projectName: 'p', environment: {} });
  const fake = new FakeEngine();
  fake.addContainer('p-web-1', { 'com.docker.compose.project': 'p', 'com.docker.compose.service': 'web', 'com.docker.compose.oneoff': 'False', 'com.docker.compose.container-number': '1' });
  const handle: WatchedProject = {
    engine: fake.engine,
    model,
    exec: async () => ({ exitCode: 0, stdout: '', stderr: '' }),
    build: async () => undefined,
    up: async () => undefined,
    restart: async () => undefined,
  };
  const actions: WatchAction[] = [];
  const ac = new AbortController();
  return { fake, handle, actions, ac };
}

const puts = (fake: FakeEngine) => fake.calls.filter((c) => c === 'put archive p-web-1:/').length;

async function until(cond: () => boolean, ms = 5_000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('watch follows the engine event stream', () => {
  it('a stream that ends without an error is followed again (from before its end): a container started later gets its initial sync', async () => {
    const { fake, handle, actions, ac } = setUp();
    let ready = false;
    const run = watchProject(handle, { signal: ac.signal, onAction: (a) => actions.push(a), onReady: () => (ready = true) });
    await until(() => ready);
    expect(puts(fake)).toBe(1); // the first initial sync
    expect(fake.subscriptions).toHaveLength(1);

    fake.refuseSubscriptions = 2; // the engine restarting: two refusals, then it answers
    fake.endEvents();
    await until(() => fake.subscriptions.length === 3);
    // followed again from a second before the last event it had seen (or the watch's start)
    expect(fake.subscriptions[2]!.since).toBeGreaterThan(Date.now() / 1000 - 30);
    // every running container is synced again: one may have restarted while no one listened
    await until(() => puts(fake) === 2);

    fake.restart('p-web-1');
    await until(() => puts(fake) === 3);
    expect(actions.filter((a) => a.action === 'initial sync' && !a.error)).toHaveLength(3);
    ac.abort();
    await run;
  });

  it('a stream that cannot be followed again ends the watch with the engine named, not silence', async () => {
    const { fake, handle, ac } = setUp();
    let ready = false;
    const run = watchProject(handle, { signal: ac.signal, onReady: () => (ready = true), resubscribeMs: 300 });
    await until(() => ready);
    fake.refuseSubscriptions = 1_000;
    fake.endEvents();
    const err = await run.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DockyardError);
    expect((err as DockyardError).message).toMatch(/event stream ended and could not be followed again: connect ECONNREFUSED/);
    expect(fake.subscriptions.length).toBeGreaterThan(2);
  });

  it('a stream that ends with an error ends the watch with it', async () => {
    const { fake, handle, ac } = setUp();
    let ready = false;
    const run = watchProject(handle, { signal: ac.signal, onReady: () => (ready = true) });
    await until(() => ready);
    fake.endEvents(new Error('listener failed'));
    await expect(run).rejects.toThrow('listener failed');
    expect(fake.subscriptions).toHaveLength(1);
  });
});
