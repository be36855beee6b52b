/** Engine tests need a real engine: in CI (and by default) its absence is a failure, never a skip. */
import { beforeAll } from 'vitest';
import { engineAvailable } from '../helpers/engine.js';

beforeAll(() => {
  if (!engineAvailable()) throw new Error('no Docker engine answers: run `bash scripts/engine.sh` (npm test does)');
});
