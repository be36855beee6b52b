import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
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

  it('falls back to the user\'s cache folder, never the shared temp folder, and reads no cache another user owns or can write', () => {
    // a copy of the launcher whose dist/.cache cannot be made (a file stands there): the fallback is used
    const t = mkdtempSync(join(tmpdir(), 'dockyard-cachetest-'));
    try {
      mkdirSync(join(t, 'bin'));
      mkdirSync(join(t, 'dist'));
      copyFileSync(join(dirname(BIN), 'dockyard.cjs'), join(t, 'bin', 'dockyard.cjs'));
      copyFileSync(join(dirname(BIN), '..', 'dist', 'dockyard.cjs'), join(t, 'dist', 'dockyard.cjs'));
      writeFileSync(join(t, 'dist', '.cache'), '');
      const xdg = join(t, 'xdg');
      const start = () => spawnSync(process.execPath, [join(t, 'bin', 'dockyard.cjs'), '--version'], { encoding: 'utf8', env: { PATH: process.env.PATH ?? '', HOME: t, XDG_CACHE_HOME: xdg, TMPDIR: t } });
      expect(start().status).toBe(0);
      const folder = join(xdg, 'dockyard');
      const [file] = readdirSync(folder);
      expect(file).toMatch(/^[0-9a-f]{8}-light\.bin$/);
      expect(statSync(folder).mode & 0o777).toBe(0o700);
      expect(readdirSync(t).filter((f) => f.startsWith('dockyard-cache'))).toEqual([]);
      const cache = join(folder, file!);
      // read: its access time moves (relatime moves it when it is older than the last change)
      // (a cache not trusted is written anew, under the same name: another file, not a read)
      const readNow = () => {
        utimesSync(cache, new Date('2001-01-01'), statSync(cache).mtime);
        const before = statSync(cache).ino;
        expect(start().status).toBe(0);
        const after = statSync(cache);
        return after.ino === before && after.atime.getFullYear() !== 2001;
      };
      expect(readNow()).toBe(true); // the user's own: used
      if (process.getuid?.() === 0) {
        chownSync(cache, 65534, 65534); // another user's file
        expect(readNow()).toBe(false);
        chownSync(cache, 0, 0);
        chownSync(folder, 65534, 65534); // another user's folder (as one made first in /tmp would be)
        expect(readNow()).toBe(false);
        chownSync(folder, 0, 0);
      }
      // a file anyone can write is not read either
      chmodSync(cache, 0o666);
      expect(readNow()).toBe(false);
    } finally {
      rmSync(t, { recursive: true, force: true });
    }
  });
});
