/** Issue 24: hostile or unusual input never writes outside where asked, never hangs, never hides an error. */
import { afterEach, describe, expect, it } from 'vitest';
import './setup.js';
import { DockerEngine } from '../../src/engine/docker.js';
import { EventHub } from '../../src/converge/waits.js';
import { BASE, docker, useProjects } from '../helpers/engine.js';

const project = useProjects(afterEach);

describe('security and data safety', () => {
  it('an error thrown by a consumer of the event stream reaches the waiting caller (was swallowed: the wait hung)', async () => {
    const p = project({ 'compose.yaml': 'services: {}\n' });
    const hub = new EventHub(new DockerEngine());
    await hub.open(p.name);
    hub.onEvent((_id, action) => {
      if (action === 'start') throw new Error('listener broke on start');
    });
    const id = docker('create', '--label', `com.docker.compose.project=${p.name}`, BASE, 'sleep', '30');
    try {
      const t0 = Date.now();
      const waiting = hub.wait(id, () => ({ done: false }), 20_000, 'something that never happens');
      docker('start', id);
      await expect(waiting).rejects.toThrow('listener broke on start');
      expect(Date.now() - t0).toBeLessThan(10_000);
      // a later wait on the broken hub fails at once with the same error, not by timing out
      await expect(hub.wait(id, () => ({ done: false }), 20_000, 'x')).rejects.toThrow('listener broke on start');
    } finally {
      hub.close();
      docker('rm', '-f', id);
    }
  });
});
