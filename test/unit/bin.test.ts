import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

// the installed command: npm links bin/dockyard (a sh script) into a bin directory
const BIN = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'dockyard');
const dir = mkdtempSync(join(tmpdir(), 'dockyard-bin-'));
const link = join(dir, 'dockyard');
symlinkSync(BIN, link);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const run = (env: Record<string, string>) => spawnSync(link, ['--version'], { encoding: 'utf8', env: { PATH: process.env.PATH ?? '', ...env } });

describe('the dockyard command (bin/dockyard)', () => {
  it('runs the CLI through the symlink npm installs', () => {
    const r = run({});
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it('spares Node the certificate bundle of NODE_EXTRA_CA_CERTS, except for a tcp:// engine', () => {
    // Node warns at start when it cannot load the file: the warning shows whether it tried
    const dropped = run({ NODE_EXTRA_CA_CERTS: '/nonexistent/ca.pem' });
    expect(dropped.status).toBe(0);
    expect(dropped.stderr).not.toMatch(/extra certs/);
    const kept = run({ NODE_EXTRA_CA_CERTS: '/nonexistent/ca.pem', DOCKER_HOST: 'tcp://127.0.0.1:2376' });
    expect(kept.status).toBe(0);
    expect(kept.stderr).toMatch(/Ignoring extra certs from `\/nonexistent\/ca.pem`/);
  });
});
