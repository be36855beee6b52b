/**
 * dockyard/vitest: a vitest global setup that acquires an environment before the test run,
 * gives the tests its ports and URLs (`inject('dockyard')`), and releases it after the run.
 *
 *   // dockyard.setup.ts (vitest.config.ts: test.globalSetup: ['./dockyard.setup.ts'])
 *   import { dockyardEnvironment } from 'dockyard/vitest';
 *   export default dockyardEnvironment({ files: ['compose.yaml', 'compose.test.yaml'], services: ['api'] });
 *
 *   // in a test
 *   const env = inject('dockyard');   // { name, services: { api: { ports: { '8000/tcp': 49153 }, url: 'http://127.0.0.1:49153' } }, variables }
 */
import { leaseVariables } from './variables.js';
import { acquireEnvironment } from './lease.js';
import type { AcquireOptions } from './lease.js';

export interface ProvidedEnvironment {
  name: string;
  services: Record<string, { state: string; health?: string; ports: Record<string, number>; url?: string }>;
  /** what `dockyard test` gives a command: API_PORT_8000, API_URL, DOCKYARD_ENV... */
  variables: Record<string, string>;
}

export function dockyardEnvironment(o: AcquireOptions & { key?: string } = {}) {
  return async function setup(ctx: { provide(key: string, value: unknown): void }): Promise<() => Promise<void>> {
    const lease = await acquireEnvironment(o);
    const host = o.bindHost && o.bindHost !== '0.0.0.0' ? o.bindHost : '127.0.0.1';
    const provided: ProvidedEnvironment = {
      name: lease.name,
      services: Object.fromEntries(
        Object.entries(lease.services).map(([k, s]) => [k, { state: s.state, health: s.health, ports: s.ports, url: Object.keys(s.ports).length ? s.url() : undefined }]),
      ),
      variables: leaseVariables(lease.name, lease.services, host),
    };
    ctx.provide(o.key ?? 'dockyard', provided);
    return () => lease.release();
  };
}
