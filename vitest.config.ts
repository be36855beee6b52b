import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'examples/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Engine tests mostly wait on the engine (containers starting, health checks, builds), so on
    // these 2 cores 3 files at once finish sooner than one per core (the default): vitest took
    // 1,006 s with 2 workers on a quiet machine, 610 s with 4 (a clean clone, CI's way). With 4,
    // the load (about 12) stretched synchronous CLI tests enough for vitest to report one
    // "Timeout calling onTaskUpdate" in that run; 3 is the compromise. DOCKYARD_TEST_WORKERS overrides it.
    maxWorkers: Number(process.env.DOCKYARD_TEST_WORKERS) || 3,
    minWorkers: 1,
  },
});
