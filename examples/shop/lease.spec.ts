// Tests against a leased environment (see dockyard.setup.ts): its own ports, nothing shared with
// other runs, gone when the run ends.
import { expect, inject, it } from 'vitest';
import type { ProvidedEnvironment } from 'dockyard/vitest';

declare module 'vitest' {
  export interface ProvidedContext {
    dockyard: ProvidedEnvironment;
  }
}

const env = inject('dockyard');

it('the API answers on its leased port', async () => {
  const res = await fetch(`${env.services.api!.url}/health`);
  expect(await res.json()).toEqual({ status: 'ok' });
  expect(env.variables.API_PORT_8000).toBe(String(env.services.api!.ports['8000/tcp']));
});

it('only the API and what it needs were started (the slim variant)', () => {
  expect(Object.keys(env.services).sort()).toEqual(['api', 'db', 'migrate']);
  expect(env.services.migrate!.state).toBe('exited');
});
