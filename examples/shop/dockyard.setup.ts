// A vitest global setup: one leased copy of the shop (the slim test variant: the API and what it
// needs, the database on tmpfs) for the whole test run, released at the end.
import { dockyardEnvironment } from 'dockyard/vitest';

export default dockyardEnvironment({
  workingDir: import.meta.dirname,
  files: ['compose.yaml', 'compose.test.yaml'],
  services: ['api'],
  ttl: '30m',
});
