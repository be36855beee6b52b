/** `dockyard dashboard` from the CLI: prints its URL with the run's token; the page needs it. */
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
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

  it('a port in use, or an address not of this machine: a clear error, exit 1, nothing left running', async () => {
    const p = project({ 'compose.yaml': `services:\n  a:\n    image: ${BASE}\n    init: true\n    command: ["sleep", "600"]\n` });
    const taken = createServer().listen(0, '127.0.0.1');
    await new Promise((r) => taken.once('listening', r));
    try {
      const port = (taken.address() as AddressInfo).port;
      for (const [args, message] of [
        [['dashboard', '--port', String(port)], `error: the dashboard cannot listen on 127.0.0.1:${port}: port ${port} is in use\n  hint: choose another port, or none for a free one\n`],
        [['watch', '--no-up', '--dashboard', '--dashboard-bind', 'nosuch.invalid'], 'error: the dashboard cannot listen on nosuch.invalid: nosuch.invalid is not a known host name\n'],
      ] as const) {
        const d = p.start([...args]);
        // it ends by itself: no engine subscription keeps it alive
        expect(await d.exited).toBe(1);
        expect(d.err).toContain(message);
        expect(d.err).not.toMatch(/\n\s+at /);
      }
    } finally {
      taken.close();
    }
  }, 60_000);
});
