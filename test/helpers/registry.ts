/** A real registry for pull/push tests: Debian's docker-registry on 127.0.0.1, in a temporary folder. */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

export interface Registry {
  /** 127.0.0.1:PORT */
  host: string;
  stop(): void;
}

export async function startRegistry(): Promise<Registry> {
  const dir = mkdtempSync(join(tmpdir(), 'dockyard-registry-'));
  const port = await freePort();
  writeFileSync(
    join(dir, 'config.yml'),
    `version: 0.1\nlog: {level: error}\nstorage:\n  filesystem: {rootdirectory: ${dir}/data}\n  delete: {enabled: true}\nhttp: {addr: 127.0.0.1:${port}}\n`,
  );
  const child = spawn('docker-registry', ['serve', join(dir, 'config.yml')], { stdio: 'ignore' });
  const host = `127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    try {
      if ((await fetch(`http://${host}/v2/`)).ok) break;
    } catch {
      /* not yet */
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    host,
    stop() {
      child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
