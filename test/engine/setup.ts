/** Engine tests need a real engine: in CI (and by default) its absence is a failure, never a skip. */
import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import { engineAvailable } from '../helpers/engine.js';

beforeAll(() => {
  if (!engineAvailable()) throw new Error('no Docker engine answers: run `bash scripts/engine.sh` (npm test does)');
});

// Many engine tests run the CLI synchronously (spawnSync). Between tests vitest only awaits
// promises (microtasks), so a file of synchronous tests never gives the worker's event loop a turn:
// after about 60 s its own messages to vitest time out ("Timeout calling onTaskUpdate"), an
// unhandled error that fails the run though every test passed (commands.test.ts alone did it).
// One macrotask turn after each test lets those messages through.
afterEach(() => new Promise<void>((r) => setTimeout(r, 0)));

// A single stretch of synchronous work inside one test (or hook) longer than that does the same,
// whatever the turns around it: name the test that blocked the worker's event loop for more than
// BLOCK_WARN_S, so that it gets `await` turns between its steps before it fails a loaded run.
const BLOCK_WARN_S = Number(process.env.DOCKYARD_TEST_BLOCK_WARN_S ?? 30);
const BEAT_MS = 100;
let lastBeat = performance.now();
let longest = 0;
const beat = setInterval(() => {
  const now = performance.now();
  longest = Math.max(longest, now - lastBeat);
  lastBeat = now;
}, BEAT_MS);
beat.unref();
const checkLoop = (where: string) => {
  // a stretch that ended just now has not been seen by the heartbeat yet
  const s = Math.max(longest, performance.now() - lastBeat) / 1000;
  if (s > BLOCK_WARN_S) console.warn(`[engine tests] ${where} blocked the event loop for ${s.toFixed(0)} s in one stretch (vitest's messages time out after 60 s): give it await turns`);
  longest = 0;
  lastBeat = performance.now();
};
afterEach(() => checkLoop(expect.getState().currentTestName ?? 'a test'));
afterAll(() => {
  checkLoop(`${expect.getState().testPath ?? 'a file'} (its hooks)`);
  clearInterval(beat);
});
