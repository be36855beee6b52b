// Seed once, fork per worker: a vitest global setup that brings the slim test variant up once, lets
// the migration job seed the database (and adds a fixture), captures it as a snapshot, and hands
// every vitest worker its own fork of it (workerEnvironment in the tests). Between tests,
// resetEnvironment puts a fork back to the seeded state. All released (the snapshot removed) at the end.
//   npx vitest run --config examples/shop/vitest.snapshots.config.ts
import { dockyardEnvironment } from 'dockyard/vitest';

export default dockyardEnvironment({
  workingDir: import.meta.dirname,
  files: ['compose.yaml', 'compose.test.yaml'],
  services: ['api'],
  ttl: '30m',
  // after the services' own jobs (migrate) ran: fixtures, written once
  seed: async (lease) => {
    await lease.exec('db', ['sh', '-c', 'echo "order 1: 2 x product 7" > /data/www/orders']);
  },
  forks: 2,
});
