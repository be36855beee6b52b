import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

// the installed command: npm links bin/dockyard (a sh script) into a bin directory
const BIN = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'dockyard');
const dir = mkdtempSync(join(tmpdir(), 'dockyard-bin-'));
const link = join(dir, 'dockyard');
symlinkSync(BIN, link);
writeFileSync(join(dir, 'compose.yaml'), 'services:\n  a:\n    image: busybox\n');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const run = (env: Record<string, string>) => spawnSync(link, ['--version'], { encoding: 'utf8', env: { PATH: process.env.PATH ?? '', ...env } });

describe('the dockyard command (bin/dockyard)', () => {
  it('keeps a code cache per kind of command, so that --version does not shape what up loads', () => {
    const cache = join(dirname(BIN), '..', 'dist', '.cache');
    rmSync(cache, { recursive: true, force: true });
    expect(run({}).status).toBe(0);
    // an engine command (the engine need not answer: the cache is written at exit)
    for (const cmd of [['ps'], ['up', '-d']]) spawnSync(link, ['-p', 'dyt-cache-check', ...cmd], { cwd: dir, encoding: 'utf8', env: { PATH: process.env.PATH ?? '', DOCKER_HOST: 'unix:///nonexistent.sock' } });
    const kinds = readdirSync(cache).map((f) => /^[0-9a-f]{8}-(\w+)\.bin$/.exec(f)?.[1]).sort();
    expect(kinds).toEqual(['engine', 'light', 'up']);
  });

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
