/** Engine tests need a real engine: in CI (and by default) its absence is a failure, never a skip. */
import { afterEach, beforeAll } from 'vitest';
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
