/**
 * watch, issue 24: nothing sent that was not asked for, nothing not sent silently. Symlinks arrive
 * as symlinks (their own target text, never what they point to); a file that cannot be read, an
 * exec that exits non-zero and an initial sync that fails into a (re)started container are named on
 * the action's line and go again with the next change.
 */
import { chmodSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import './setup.js';
import { openProject } from 'dockyard';
import type { WatchAction } from 'dockyard';
import { cat, dockerAsync, until } from '../helpers/async.js';
import { BASE, useProjects } from '../helpers/engine.js';
import type { TestProject } from '../helpers/engine.js';
import { CLI } from '../helpers/fs.js';

const project = useProjects(afterEach);
const IMG = '${DOCKYARD_BASE_IMAGE}';

const readlink = async (c: string, f: string) => (await dockerAsync('exec', c, 'readlink', f))?.trim();

/** An in-process watch of the whole project, its actions recorded; resolves once it is ready. */
async function watching(p: TestProject) {
  const h = await openProject({ workingDir: p.dir, projectName: p.name, environment: { DOCKYARD_BASE_IMAGE: BASE } });
  await h.up();
  const actions: WatchAction[] = [];
  const ac = new AbortController();
  let ready!: () => void;
  const isReady = new Promise<void>((r) => (ready = r));
  const done = h.watch({ signal: ac.signal, onAction: (a) => actions.push(a), onReady: () => ready() });
  await Promise.race([isReady, done]);
  return {
    h,
    actions,
    stop: async () => {
      ac.abort();
      await done;
    },
  };
}

/**
 * Root reads a chmod 000 file anyway: as root, the CLI runs without CAP_DAC_OVERRIDE and
 * CAP_DAC_READ_SEARCH (setpriv drops them from the bounding set, so the exec'd node has neither),
 * which makes the read really fail. Undefined when that cannot be arranged here.
 */
function unprivileged(dir: string): string[] | undefined {
  const wrap = process.getuid?.() === 0 ? ['setpriv', '--bounding-set', '-dac_override,-dac_read_search', '--'] : [];
  const probe = join(dir, '.probe');
  writeFileSync(probe, 'x', { mode: 0 });
  const cmd = [...wrap, 'cat', probe];
  const r = spawnSync(cmd[0]!, cmd.slice(1), { stdio: 'ignore' });
  chmodSync(probe, 0o644);
  return r.status !== 0 && !r.error ? wrap : undefined;
}

/** `dockyard -p <name> ...args` in the background, behind `wrap`; its stderr so far, and a way to wait for a line. */
function startCli(p: TestProject, wrap: string[], args: string[]) {
  const cmd = [...wrap, process.execPath, CLI, '-p', p.name, ...args];
  const child = spawn(cmd[0]!, cmd.slice(1), { cwd: p.dir, env: { ...process.env, DOCKYARD_BASE_IMAGE: BASE } });
  const bg = {
    out: '',
    exited: new Promise<number | null>((r) => child.on('exit', r)),
    stop: async () => {
      child.kill('SIGINT');
      await bg.exited;
    },
    /** waits until the output matches `re` at least `times` times */
    async until(re: RegExp, times = 1, ms = 30_000) {
      const count = () => (bg.out.match(new RegExp(re.source, `${re.flags.replace('g', '')}g`)) ?? []).length;
      const end = Date.now() + ms;
      while (count() < times && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
      if (count() < times) throw new Error(`dockyard ${args.join(' ')} did not print ${re} ${times} time(s) in ${ms / 1000}s:\n${bg.out}`);
    },
  };
  child.stdout.on('data', (d: Buffer) => (bg.out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (bg.out += d.toString()));
  return bg;
}

const appWith = (rules: string, extra = '') => `services:
  app:
    image: ${IMG}
    init: true
    command: ["sleep", "600"]
${extra}    develop:
      watch:
${rules}`;

describe('watch: safety (issue 24)', () => {
  it('a symlink arrives as a symlink with its own target text (initial sync and later events); a folder link is not followed, so nothing outside the watched path is sent', async () => {
    const p = project({
      'src/target.txt': 'target\n',
      'secret/key.txt': 'SECRET-OUTSIDE\n',
      'compose.yaml': appWith('        - {path: ./src, action: sync, target: /app/src, initial_sync: true}\n'),
    });
    symlinkSync('target.txt', join(p.dir, 'src/before'));
    const w = await watching(p);
    const app = `${p.name}-app-1`;
    try {
      await until(async () => (await readlink(app, '/app/src/before')) === 'target.txt', 'the initial sync of a symlink');
      // where the folder link leads in the container too: what was sent through it would land there
      await dockerAsync('exec', app, 'mkdir', '-p', '/app/secret');
      symlinkSync('target.txt', join(p.dir, 'src/link'));
      symlinkSync('../secret', join(p.dir, 'src/out'));
      symlinkSync('/etc/hostname', join(p.dir, 'src/abs'));
      await until(
        async () => (await readlink(app, '/app/src/link')) === 'target.txt' && (await readlink(app, '/app/src/out')) === '../secret' && (await readlink(app, '/app/src/abs')) === '/etc/hostname',
        'three symlinks with their targets',
      );
      // a file written behind the folder link is not the watch's business
      writeFileSync(join(p.dir, 'secret/new.txt'), 'SECRET-NEW\n');
      await new Promise((r) => setTimeout(r, 500));
      writeFileSync(join(p.dir, 'src/fence.txt'), 'fence\n');
      await until(async () => (await cat(app, '/app/src/fence.txt')) === 'fence\n', 'a later file');
      await new Promise((r) => setTimeout(r, 500));
      expect((await dockerAsync('exec', app, 'sh', '-c', 'find /app -type f -exec grep -l SECRET {} + ; true'))?.trim()).toBe('');
      expect(await cat(app, '/app/src/link')).toBe('target\n');
      expect(w.actions.filter((a) => a.error)).toEqual([]);
    } finally {
      await w.stop();
    }
  }, 120_000);

  it('an unreadable file is named on the action line, is not recorded as sent, and goes again with the next change', async (ctx) => {
    const p = project({
      'src/ok.txt': 'ok\n',
      'compose.yaml': appWith('        - {path: ./src, action: sync, target: /app/src}\n'),
    });
    const wrap = unprivileged(p.dir);
    if (!wrap) {
      // root, and no setpriv (or no way to drop the capabilities) here: nothing this test can do makes a read fail
      console.warn('skipped: a chmod 000 file stays readable to this user here');
      ctx.skip();
      return;
    }
    const w = startCli(p, wrap, ['watch']);
    const app = `${p.name}-app-1`;
    try {
      await w.until(/following 1 rule/, 1, 60_000);
      writeFileSync(join(p.dir, 'src/locked.txt'), 'locked\n', { mode: 0 });
      const failed = /watch: app {2}sync \d+ files? {2}\d+ ms {2}failed: .*src\/locked\.txt \(EACCES: permission denied\)/;
      await w.until(failed);
      expect(await cat(app, '/app/src/locked.txt')).toBeUndefined();
      // the next change takes it again (still unreadable: named again), and sends the rest
      writeFileSync(join(p.dir, 'src/next.txt'), 'next\n');
      await until(async () => (await cat(app, '/app/src/next.txt')) === 'next\n', 'the next change');
      await w.until(failed, 2);
      expect(w.out).toMatch(/watch: app {2}sync 1 file {2}\d+ ms {2}failed: .*src\/locked\.txt/);
      // readable again: it arrives
      chmodSync(join(p.dir, 'src/locked.txt'), 0o644);
      writeFileSync(join(p.dir, 'src/last.txt'), 'last\n');
      await until(async () => (await cat(app, '/app/src/locked.txt')) === 'locked\n', 'the file once readable');
    } finally {
      await w.stop();
    }
  }, 120_000);

  it('sync+exec whose command exits non-zero is reported as failed on the action line, with the exit code and its last error line; the next change runs it again', async () => {
    const p = project({
      'conf/c.conf': 'v=0\n',
      'compose.yaml': appWith('        - {path: ./conf, action: sync+exec, target: /app/conf, exec: {command: ["sh", "-c", "cat /app/conf/c.conf >> /app/ran; echo bad config >&2; exit 3"]}}\n'),
    });
    const w = startCli(p, [], ['watch']);
    const app = `${p.name}-app-1`;
    try {
      await w.until(/following 1 rule/, 1, 60_000);
      const failed = /watch: app {2}sync\+exec 1 file {2}\d+ ms {2}failed: exec in \S+-app-1 exited with code 3: bad config/;
      writeFileSync(join(p.dir, 'conf/c.conf'), 'v=1\n');
      await w.until(failed);
      expect(await cat(app, '/app/ran')).toBe('v=1\n');
      writeFileSync(join(p.dir, 'conf/c.conf'), 'v=2\n');
      await w.until(failed, 2);
      expect(await cat(app, '/app/ran')).toBe('v=1\nv=2\n');
    } finally {
      await w.stop();
    }
  }, 120_000);

  it('a failed initial_sync into a restarted container is reported, and tried again with the next change', async () => {
    const p = project({
      'src/a.txt': 'a\n',
      // a 64 KiB tmpfs volume: filled from inside, it refuses the initial sync (the keeper holds it
      // mounted while app is stopped: the engine unmounts, and empties, a tmpfs volume no container uses)
      'compose.yaml': `${appWith('        - {path: ./src, action: sync, target: /app/src, initial_sync: true}\n', '    volumes: ["tiny:/app/src"]\n')}  keeper:
    image: ${IMG}
    init: true
    command: ["sleep", "600"]
    volumes: ["tiny:/data"]
volumes:
  tiny:
    driver_opts: {type: tmpfs, device: tmpfs, o: "size=64k"}
`,
    });
    const w = await watching(p);
    const app = `${p.name}-app-1`;
    try {
      await until(async () => (await cat(app, '/app/src/a.txt')) === 'a\n', 'the first initial sync');
      await dockerAsync('exec', app, 'sh', '-c', 'dd if=/dev/zero of=/app/src/.fill bs=1024 count=128 2>/dev/null; true');
      await w.h.stop(['app']);
      writeFileSync(join(p.dir, 'src/b.txt'), 'b'.repeat(16_384));
      await new Promise((r) => setTimeout(r, 300));
      const before = w.actions.length;
      await w.h.start(['app']);
      await until(() => w.actions.slice(before).some((a) => a.action === 'initial sync' && !!a.error), 'the failed initial sync to be reported');
      const failed = w.actions.slice(before).find((a) => a.action === 'initial sync' && a.error)!;
      expect(failed.error).toMatch(/no space left on device/);
      expect(failed.containers).toEqual([app]);
      // (the extraction stopped where the room ran out: b.txt is missing or short)
      expect((await cat(app, '/app/src/b.txt'))?.length ?? 0).toBeLessThan(16_384);
      // room again; the next change (another file) takes the whole initial sync again
      await dockerAsync('exec', app, 'rm', '/app/src/.fill');
      const after = w.actions.length;
      writeFileSync(join(p.dir, 'src/c.txt'), 'c\n');
      await until(async () => (await cat(app, '/app/src/b.txt'))?.length === 16_384 && (await cat(app, '/app/src/c.txt')) === 'c\n', 'the retried initial sync');
      expect(w.actions.slice(after).filter((a) => a.action === 'initial sync' && !a.error).map((a) => a.containers)).toEqual([[app]]);
    } finally {
      await w.stop();
    }
  }, 120_000);
});
