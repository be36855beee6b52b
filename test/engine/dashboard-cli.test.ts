/** `dockyard dashboard` from the CLI: prints its URL with the run's token; the page needs it. */
import { afterEach, describe, expect, it } from 'vitest';
import './setup.js';
import { BASE, useProjects } from '../helpers/engine.js';

const project = useProjects(afterEach);

describe('dashboard command', () => {
  it('serves the page on 127.0.0.1 at the printed URL; without the token: 403', async () => {
    const p = project({ 'compose.yaml': `services:\n  a:\n    image: ${BASE}\n    init: true\n    command: ["sleep", "600"]\n` });
    const d = p.start(['dashboard']);
    try {
      await d.until(/http:\/\/127\.0\.0\.1:\d+\/\?token=\S+/, 30_000);
      const url = /http:\/\/127\.0\.0\.1:\d+\/\?token=\S+/.exec(d.out + d.err)![0];
      expect((await fetch(url)).status).toBe(200);
      expect((await fetch(url.replace(/\?token=.*/, ''))).status).toBe(403);
    } finally {
      d.signal('SIGINT');
      await d.exited;
    }
  }, 60_000);
});
