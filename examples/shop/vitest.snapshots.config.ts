// npx vitest run --config examples/shop/vitest.snapshots.config.ts
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    root: import.meta.dirname,
    include: ['fork-*.spec.ts'],
    globalSetup: ['./snapshots.setup.ts'],
    // two workers, one fork each (the setup makes as many forks)
    pool: 'forks',
    poolOptions: { forks: { minForks: 2, maxForks: 2 } },
    // a reset recreates the containers and waits for them again
    testTimeout: 120_000,
    hookTimeout: 180_000,
  },
});
