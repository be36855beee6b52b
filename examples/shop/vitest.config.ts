// npx vitest run --config examples/shop/vitest.config.ts
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    root: import.meta.dirname,
    include: ['lease.spec.ts'],
    globalSetup: ['./dockyard.setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 180_000,
  },
});
