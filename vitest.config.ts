import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'examples/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Engine tests mostly wait on the engine (containers starting, health checks, builds), so on
    // these 2 cores 4 files at once finish sooner than one per core (the default): vitest took
    // 1,006 s with 2 workers on a quiet machine, 849 s with 4 on one loaded by other work.
    // DOCKYARD_TEST_WORKERS overrides it.
    maxWorkers: Number(process.env.DOCKYARD_TEST_WORKERS) || 4,
    minWorkers: 1,
  },
});
