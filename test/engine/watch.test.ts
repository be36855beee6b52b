/** watch: every action, ignore / include, deletions, nested folders, renames, initial_sync, a recreated container. */
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import './setup.js';
import { openProject } from 'dockyard';
import type { WatchAction } from 'dockyard';
import { cat, dockerAsync, until } from '../helpers/async.js';
import { BASE, docker, useProjects } from '../helpers/engine.js';

const project = useProjects(afterEach);
const IMG = '${DOCKYARD_BASE_IMAGE}';


describe('watch', () => {
  it('syncs creations, edits, nested folders, renames and deletions; ignores and includes; sync+exec, restart, rebuild; survives recreation and scaling; initial_sync', async () => {
    const p = project({
      'src/a.txt': 'one\n',
      'conf/app.conf': 'v=1\n',
      'restart.txt': '0\n',
      'img/Dockerfile': `FROM ${BASE}\nCOPY msg /msg\n`,
      'img/msg': 'first\n',
      'compose.yaml': `services:
  app:
    image: ${IMG}
    init: true
    command: ["sleep", "600"]
    develop:
      watch:
        - {path: ./src, action: sync, target: /app/src, ignore: ["*.tmp", "cache/"], initial_sync: true}
        - {path: ./inc, action: sync, target: /app/inc, include: ["*.js"]}
        - {path: ./conf, action: sync+exec, target: /app/conf, exec: {command: ["sh", "-c", "cat /app/conf/app.conf >> /app/reloads"]}}
        - {path: ./restart.txt, action: restart}
  built:
    build: ./img
    init: true
    command: ["sleep", "600"]
    develop:
      watch:
        - {path: ./img/msg, action: rebuild}
`,
    });
    mkdirSync(join(p.dir, 'inc'));
    const h = await openProject({ workingDir: p.dir, projectName: p.name, environment: { DOCKYARD_BASE_IMAGE: BASE } });
    await h.up();
    const app = `${p.name}-app-1`;
    const actions: WatchAction[] = [];
    const ac = new AbortController();
    let ready!: () => void;
    const isReady = new Promise<void>((r) => (ready = r));
    const watching = h.watch({ signal: ac.signal, onAction: (a) => actions.push(a), onReady: () => ready() });
    try {
      await isReady;
      // initial_sync: what was there before watch started
      await until(async () => await cat(app, '/app/src/a.txt') === 'one\n', 'the initial sync');
      const w = (f: string, text: string) => writeFileSync(join(p.dir, f), text);
      w('src/new.txt', 'new\n');
      await until(async () => await cat(app, '/app/src/new.txt') === 'new\n', 'a new file');
      w('src/a.txt', 'two\n');
      await until(async () => await cat(app, '/app/src/a.txt') === 'two\n', 'an edit');
      mkdirSync(join(p.dir, 'src/deep/er'), { recursive: true });
      w('src/deep/er/x.txt', 'deep\n');
      await until(async () => await cat(app, '/app/src/deep/er/x.txt') === 'deep\n', 'a nested folder');
      renameSync(join(p.dir, 'src/new.txt'), join(p.dir, 'src/renamed.txt'));
      await until(async () => await cat(app, '/app/src/renamed.txt') === 'new\n' && await cat(app, '/app/src/new.txt') === undefined, 'a rename');
      rmSync(join(p.dir, 'src/deep'), { recursive: true });
      await until(async () => await cat(app, '/app/src/deep/er/x.txt') === undefined, 'a deletion');
      w('src/skip.tmp', 'no\n');
      mkdirSync(join(p.dir, 'src/cache'));
      w('src/cache/c.txt', 'no\n');
      w('inc/a.js', 'js\n');
      w('inc/a.css', 'css\n');
      await until(async () => await cat(app, '/app/inc/a.js') === 'js\n', 'an included file');
      w('src/after.txt', 'after\n');
      await until(async () => await cat(app, '/app/src/after.txt') === 'after\n', 'a later file');
      expect(await cat(app, '/app/src/skip.tmp')).toBeUndefined();
      expect(await cat(app, '/app/src/cache/c.txt')).toBeUndefined();
      expect(await cat(app, '/app/inc/a.css')).toBeUndefined();
      // sync+exec: synced, then the command ran
      w('conf/app.conf', 'v=2\n');
      await until(async () => (await cat(app, '/app/reloads') ?? '').includes('v=2'), 'sync+exec');
      // restart
      const started = () => dockerAsync('inspect', '--format', '{{.State.StartedAt}}', app);
      const before = await started();
      w('restart.txt', '1\n');
      await until(async () => (await started()) !== before, 'a restart');
      // rebuild: the image is built again and only that service recreated
      // (while it is being recreated, the name is briefly free: safe recreate renames the replacement)
      const builtId = async () => (await dockerAsync('inspect', '--format', '{{.Id}}', `${p.name}-built-1`))?.trim();
      const appId = await dockerAsync('inspect', '--format', '{{.Id}}', app);
      const oldBuilt = await builtId();
      w('img/msg', 'second\n');
      await until(async () => (await builtId()) !== undefined && (await builtId()) !== oldBuilt && await cat(`${p.name}-built-1`, '/msg') === 'second\n', 'a rebuild', 60_000);
      expect(await dockerAsync('inspect', '--format', '{{.Id}}', app)).toBe(appId);
      // a recreated container is followed, and initial_sync sends what changed while it was away
      await h.stop(['app']);
      w('src/while-down.txt', 'meanwhile\n');
      await h.up({ services: ['app'], forceRecreate: true });
      await until(async () => await cat(app, '/app/src/while-down.txt') === 'meanwhile\n', 'a sync into the recreated container');
      w('src/last.txt', 'last\n');
      await until(async () => await cat(app, '/app/src/last.txt') === 'last\n', 'a sync after the recreation');
      // scaled: the new replica gets the initial sync when it starts, and every later sync
      await h.scale({ app: 2 });
      const app2 = `${p.name}-app-2`;
      await until(async () => await cat(app2, '/app/src/last.txt') === 'last\n', 'the initial sync of a new replica');
      w('src/both.txt', 'both\n');
      await until(async () => await cat(app, '/app/src/both.txt') === 'both\n' && await cat(app2, '/app/src/both.txt') === 'both\n', 'a sync to both replicas');
      // one action per batch, with its timing
      const sync = actions.find((a) => a.service === 'app' && a.action === 'sync' && !a.error)!;
      expect(sync.files).toBeGreaterThanOrEqual(1);
      expect(sync.ms).toBeGreaterThanOrEqual(0);
      expect(actions.filter((a) => a.error)).toEqual([]);
      expect(actions.map((a) => a.action)).toEqual(expect.arrayContaining(['initial sync', 'sync', 'sync+exec', 'restart', 'rebuild']));
    } finally {
      ac.abort();
      await watching;
    }
  }, 180_000);

  it('files written into new folders while the watcher sets itself up on them all arrive (new folders are walked again)', async () => {
    const p = project({
      'src/.keep': '',
      'compose.yaml': `services:\n  app:\n    image: ${IMG}\n    init: true\n    command: ["sleep", "600"]\n    develop:\n      watch:\n        - {path: ./src, action: sync, target: /app/src}\n`,
    });
    const h = await openProject({ workingDir: p.dir, projectName: p.name, environment: { DOCKYARD_BASE_IMAGE: BASE } });
    await h.up();
    const app = `${p.name}-app-1`;
    const ac = new AbortController();
    let ready!: () => void;
    const isReady = new Promise<void>((r) => (ready = r));
    const watching = h.watch({ signal: ac.signal, onReady: () => ready() });
    try {
      await isReady;
      // another process writes a steady stream: 12 new folders (nested), 40 files each
      const writer = spawn('sh', ['-c', 'for d in 1 2 3 4 5 6 7 8 9 10 11 12; do mkdir -p src/d$d/in; for f in $(seq 1 20); do echo $d-$f > src/d$d/f$f; echo $d-$f > src/d$d/in/f$f; done; done'], { cwd: p.dir });
      await new Promise((r) => writer.on('exit', r));
      const count = async () => (await dockerAsync('exec', app, 'sh', '-c', 'find /app/src -type f -name "f*" | wc -l'))?.trim();
      await until(async () => (await count()) === '480', 'all 480 files', 20_000).catch(async (e: Error) => {
        throw new Error(`${e.message}: ${await count()} arrived`);
      });
    } finally {
      ac.abort();
      await watching;
    }
  }, 60_000);

  it('a transfer whose archive fails midway ends with the error and leaves the container usable (dockerode ends the request; this guards that watch relies on it)', async () => {
    const p = project({ 'compose.yaml': `services:\n  app:\n    image: ${IMG}\n    init: true\n    command: ["sleep", "600"]\n` });
    const h = await openProject({ workingDir: p.dir, projectName: p.name, environment: { DOCKYARD_BASE_IMAGE: BASE } });
    await h.up();
    const [c] = await h.ps();
    const id = (await dockerAsync('inspect', '--format', '{{.Id}}', c!.name))!.trim();
    // half a tar header, then the source fails
    const body = new Readable({ read() {} });
    body.push(Buffer.alloc(256, 0x61));
    setTimeout(() => body.destroy(new Error('the file went away')), 200);
    const t0 = Date.now();
    await expect(h.engine.putArchive(id, '/', body)).rejects.toThrow(/copy into container: the file went away/);
    expect(Date.now() - t0).toBeLessThan(10_000);
    // the container answers again
    expect((await dockerAsync('exec', c!.name, 'echo', 'free'))?.trim()).toBe('free');
  }, 60_000);

  it('sync+restart, the container user owns what is synced; the CLI prints one line per action', async () => {
    const p = project({
      'cfg/a.conf': 'x=1\n',
      'own/f.txt': 'mine\n',
      'compose.yaml': `services:
  svc:
    image: ${IMG}
    init: true
    user: "65534:65534"
    command: ["sleep", "600"]
    develop:
      watch:
        - {path: ./cfg, action: sync+restart, target: /tmp/cfg}
        - {path: ./own, action: sync, target: /tmp/own, initial_sync: true}
`,
    });
    const w = p.start(['watch']);
    try {
      await w.until(/following 2 rules/, 60_000);
      const c = `${p.name}-svc-1`;
      await until(async () => await cat(c, '/tmp/own/f.txt') === 'mine\n', 'the initial sync');
      expect(docker('exec', c, 'stat', '-c', '%u:%g', '/tmp/own/f.txt')).toBe('65534:65534');
      const before = docker('inspect', '--format', '{{.State.StartedAt}}', c);
      writeFileSync(join(p.dir, 'cfg/a.conf'), 'x=2\n');
      await until(async () => await cat(c, '/tmp/cfg/a.conf') === 'x=2\n' && (await dockerAsync('inspect', '--format', '{{.State.StartedAt}}', c)) !== before, 'sync+restart');
      await w.until(/watch: svc  sync\+restart 1 file  \d+ ms/);
      expect(w.err).toMatch(/watch: svc  initial sync 1 file  \d+ ms/);
    } finally {
      w.signal('SIGINT');
      await w.exited;
    }
  }, 120_000);

  it('refuses a path outside the project and a target with ..', async () => {
    const p = project({ 'compose.yaml': `services:\n  a:\n    image: ${IMG}\n    develop:\n      watch:\n        - {path: ../elsewhere, action: sync, target: /x}\n` });
    const h = await openProject({ workingDir: p.dir, projectName: p.name, environment: { DOCKYARD_BASE_IMAGE: BASE } });
    await expect(h.watch()).rejects.toThrow(/watch path .*elsewhere is outside the project/);
    p.writeFile('compose.yaml', `services:\n  a:\n    image: ${IMG}\n    develop:\n      watch:\n        - {path: ./src, action: sync, target: /app/../etc}\n`);
    const h2 = await openProject({ workingDir: p.dir, projectName: p.name, environment: { DOCKYARD_BASE_IMAGE: BASE } });
    await expect(h2.watch()).rejects.toThrow(/must be an absolute path in the container, without \.\./);
    const r = p.run(['watch', '--no-up']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/services\.a\.develop\.watch\[0\]\.target/);
  }, 60_000);
});
