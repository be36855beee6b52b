/**
 * Snapshots of leased environments (issue 29): seed a lease, snapshot it (one service's container
 * filesystem too), fork it four times at once, reset a fork, gc of unused snapshots when told, a
 * consistent capture while a service writes, a changed configuration (warning, or refused with
 * strict), push to a registry that asks for credentials, remove, pull and fork (on this same
 * engine), the CLI, and the shop example seeded once by its migration job with one fork per
 * vitest worker.
 *
 * Observed with the docker CLI (the snapshot image's content, the volumes); the library functions
 * that are not exported from 'dockyard' yet are taken from dist/envs/snapshot.js.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import './setup.js';
import { acquireEnvironment, releaseEnvironment, DockyardError } from 'dockyard';
import type { Lease } from 'dockyard';
import { gcSnapshots, listSnapshots, removeSnapshot } from '../../dist/envs/snapshot.js';
import { BASE, docker } from '../helpers/engine.js';
import { CLI, cleanupTrees, cli, dockerEnv, tree } from '../helpers/fs.js';
import { startRegistry } from '../helpers/registry.js';
import type { Registry } from '../helpers/registry.js';

const STACK = `services:
  db:
    image: \${DOCKYARD_BASE_IMAGE}
    init: true
    command: ["sh", "-c", "mkdir -p /data/www && exec httpd -f -p 80 -h /data/www"]
    volumes: [data:/data]
    ports: ["80"]
    environment: {FLAVOUR: "\${FLAVOUR:-plain}"}
    healthcheck: {test: ["CMD", "test", "-d", "/data/www"], interval: 1s, start_interval: 100ms, start_period: 30s}
  app:
    image: \${DOCKYARD_BASE_IMAGE}
    init: true
    command: ["sleep", "600"]
    depends_on: {db: {condition: service_healthy}}
volumes:
  data: {}
`;

/** A service that writes without pause: file f<i>, then last = i (replaced whole: written aside, renamed). */
const WRITER = `services:
  writer:
    image: \${DOCKYARD_BASE_IMAGE}
    init: true
    command: ["sh", "-c", "i=0; while :; do i=$$((i + 1)); echo $$i > /data/f$$i; echo $$i > /data/last.new; mv /data/last.new /data/last; done"]
    volumes: [data:/data]
volumes:
  data: {}
`;

const dir = tree({ 'compose.yaml': STACK });
const writerDir = tree({ 'compose.yaml': WRITER });
const environment = { ...process.env, DOCKYARD_BASE_IMAGE: BASE };
const leases: string[] = [];
const tags: string[] = [];
const keep = (l: Lease) => (leases.push(l.name), l);
let registry: Registry | undefined;
let dockerConfigDir: string | undefined;
afterAll(async () => {
  await Promise.all(leases.map((n) => releaseEnvironment(n).catch(() => undefined)));
  for (const t of tags) await removeSnapshot(t, { force: true }).catch(() => undefined);
  registry?.stop();
  if (dockerConfigDir) rmSync(dockerConfigDir, { recursive: true, force: true });
  cleanupTrees();
});
/** the CLI, awaited (this worker keeps answering vitest meanwhile) */
const cliAsync = (args: string[], env: Record<string, string> = {}, cwd?: string) =>
  new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/root', ...dockerEnv(), DOCKYARD_BASE_IMAGE: BASE, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
const tag = (what: string) => {
  const t = `t-${what}-${Math.random().toString(36).slice(2, 8)}`;
  tags.push(t);
  return t;
};
/** what a path holds in a lease's service ('' when absent) */
const read = async (l: Lease, path: string, service = 'db') => (await l.exec(service, ['sh', '-c', `cat ${path} 2>/dev/null || true`])).stdout;
/** runs a shell script in a snapshot image (its content under /snapshot/<volume>) */
const inImage = (ref: string, script: string) => docker('run', '--rm', '--network', 'none', '--entrypoint', 'sh', ref, '-c', script);

describe('snapshots of leased environments', () => {
  it('seed, snapshot, 4 forks at once (each its own copy), reset a fork, gc of unused snapshots when told', async () => {
    const seedTag = tag('seed');
    const seeded = keep(await acquireEnvironment({ workingDir: dir, environment, ttl: '10m' }));
    await seeded.exec('db', ['sh', '-c', 'echo seeded > /data/www/seed && mkdir -p /data/deep/er && echo 42 > /data/deep/er/answer && chmod 600 /data/deep/er/answer && chown 1234:5678 /data/deep && chown 4321:8765 /data && chmod 751 /data']);
    // files outside the volumes (the containers' writable layers): db's is captured, app's is not
    await Promise.all(['db', 'app'].map((svc) => seeded.exec(svc, ['sh', '-c', 'echo layer > /seed-layer && rm /bin/vi'])));
    const snap = await seeded.snapshot(seedTag, { containers: ['db'] });
    expect(snap).toMatchObject({ tag: seedTag, volumes: ['data'], source: seeded.name, current: true, ref: `dockyard-snapshot/${snap.project}:${seedTag}` });
    expect(Object.keys(snap.containers)).toEqual(['db']);
    expect(docker('image', 'inspect', `dockyard-snapshot/${snap.project}/db:${seedTag}`, '--format', '{{.Id}}')).toBe(snap.containers.db);
    expect(snap.services.db!.configHash).toMatch(/^[0-9a-f]{64}$/);
    expect(snap.services.db!.imageId).toBe(docker('image', 'inspect', BASE, '--format', '{{.Id}}'));
    // a second snapshot of that tag is refused unless replaced
    await expect(seeded.snapshot(seedTag)).rejects.toThrow(/exists/);
    await seeded.release();

    const forks = await Promise.all(Array.from({ length: 4 }, () => acquireEnvironment({ workingDir: dir, environment, ttl: '10m', from: seedTag })));
    forks.forEach(keep);
    expect(new Set(forks.map((f) => f.name)).size).toBe(4);
    for (const f of forks) {
      expect(f.warnings).toEqual([]);
      expect(f.from?.id).toBe(snap.id);
      expect(f.services.db!.health).toBe('healthy');
      expect(await (await fetch(`${f.services.db!.url()}/seed`)).text()).toBe('seeded\n');
      // ownership and modes come along
      expect((await f.exec('db', ['sh', '-c', 'stat -c "%u:%g %a" /data; stat -c "%u:%g" /data/deep; stat -c %a /data/deep/er/answer; cat /data/deep/er/answer'])).stdout).toBe('4321:8765 751\n1234:5678\n600\n42\n');
      // db's container filesystem as it was (a file written, one deleted); app's from its image
      expect((await f.exec('db', ['sh', '-c', 'cat /seed-layer; test -e /bin/vi || echo no-vi'])).stdout).toBe('layer\nno-vi\n');
      expect((await f.exec('app', ['sh', '-c', 'cat /seed-layer 2>/dev/null; test -e /bin/vi && echo vi'])).stdout).toBe('vi\n');
    }
    await forks[0]!.exec('db', ['sh', '-c', 'echo after > /fork-layer']);
    // a write in one fork is its own: not in the other forks, not in the snapshot
    await forks[0]!.exec('db', ['sh', '-c', 'echo mine > /data/www/mine && echo changed > /data/www/seed']);
    expect(await read(forks[0]!, '/data/www/mine')).toBe('mine\n');
    for (const f of forks.slice(1)) {
      expect(await read(f, '/data/www/mine')).toBe('');
      expect(await read(f, '/data/www/seed')).toBe('seeded\n');
    }
    expect(inImage(snap.id, 'cat /snapshot/data/www/seed; ls /snapshot/data/www')).toBe('seeded\nseed');
    // the forks' volumes are overlays of the image: the engine refuses to remove it while they live
    expect(() => docker('rmi', snap.id)).toThrow(/being used by/);

    // reset: the write is gone, the seed is back, on the same host port, services ready
    const url = forks[0]!.services.db!.url();
    await forks[0]!.reset();
    expect(forks[0]!.services.db!.url()).toBe(url);
    expect(forks[0]!.services.db!.health).toBe('healthy');
    expect(forks[0]!.services.app!.state).toBe('running');
    expect(await (await fetch(`${url}/seed`)).text()).toBe('seeded\n');
    expect(await read(forks[0]!, '/data/www/mine')).toBe('');
    // the container's own files back to the snapshot's too
    expect(await read(forks[0]!, '/fork-layer')).toBe('');
    expect(await read(forks[0]!, '/seed-layer')).toBe('layer\n');

    // the same from the command line, by name (the project opened again from the lease's labels)
    await forks[1]!.exec('db', ['sh', '-c', 'echo cli > /data/www/seed']);
    // (restored by copying, as on an engine whose storage is not overlay2; the library's forks and resets here are overlays)
    expect(docker('volume', 'inspect', `${forks[2]!.name}_data`, '--format', '{{.Options.type}}')).toBe('overlay');
    const r = cli(['env', 'reset', forks[1]!.name], { env: { DOCKYARD_BASE_IMAGE: BASE, DOCKYARD_SNAPSHOT_RESTORE: 'copy' }, timeoutMs: 120_000 });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(await read(forks[1]!, '/data/www/seed')).toBe('seeded\n');
    expect(await read(forks[1]!, '/seed-layer')).toBe('layer\n');
    expect((await forks[1]!.exec('db', ['stat', '-c', '%u:%g %a', '/data'])).stdout).toBe('4321:8765 751\n');
    // restored under a new name, the old volume gone (the command waits for its removal)
    expect(docker('volume', 'ls', '-q', '--filter', `label=com.docker.compose.project=${forks[1]!.name}`, '--filter', 'label=com.docker.compose.volume=data')).toMatch(new RegExp(`^${forks[1]!.name}_data-[0-9a-f]{6}$`));
    expect(await (await fetch(`${forks[1]!.services.db!.url()}/seed`)).text()).toBe('seeded\n');

    // gc: never by an acquire, only when told, and only snapshots no live lease was forked from
    const unused = tag('unused');
    await forks[2]!.snapshot(unused);
    const ls = JSON.parse(cli(['env', 'snapshots', 'ls', '--format', 'json']).stdout) as Array<{ tag: string; usedBy: string[]; containers: Record<string, string> }>;
    expect(ls.find((s) => s.tag === seedTag)!.usedBy.sort()).toEqual(forks.map((f) => f.name).sort());
    expect(ls.find((s) => s.tag === seedTag)!.containers).toEqual(snap.containers);
    expect(ls.find((s) => s.tag === unused)!.usedBy).toEqual([]);
    expect(cli(['env', 'snapshots', 'rm', seedTag]).stderr).toMatch(/in use by/);
    const gc = cli(['env', 'gc', '--snapshots']);
    expect(gc.code).toBe(0);
    expect(gc.stderr).toMatch(new RegExp(`snapshot [^ ]+:${unused}`));
    const left = (await listSnapshots()).map((s) => s.tag);
    expect(left).toContain(seedTag);
    expect(left).not.toContain(unused);
    await Promise.all(forks.map((f) => f.release()));
    expect(docker('ps', '-aq', '--filter', `label=dev.dockyard.snapshot.keeper=${forks[0]!.name}`)).toBe('');
    expect((await gcSnapshots()).map((s) => s.tag)).toContain(seedTag);
    expect((await listSnapshots()).map((s) => s.tag)).not.toContain(seedTag);
    expect(docker('images', '-q', `dockyard-snapshot/${snap.project}`)).toBe('');
    // the committed container's image went with it
    expect(docker('images', '-q', `dockyard-snapshot/${snap.project}/db`)).toBe('');
    expect(docker('images', '-q', '--filter', `label=dev.dockyard.snapshot.container-of=${snap.project}:${seedTag}`)).toBe('');
  }, 300_000);

  it('a snapshot taken while a service writes is one point in time (the service paused meanwhile)', async () => {
    const t = tag('writing');
    const l = keep(await acquireEnvironment({ workingDir: writerDir, environment, ttl: '10m' }));
    await new Promise((r) => setTimeout(r, 1500));
    const snap = await l.snapshot(t);
    // every file up to last exists, and at most one more (written before last was updated)
    const [last, count, hasLast] = inImage(snap.id, 'cd /snapshot/data; cat last; ls | grep -c "^f"; if test -f "f$(cat last)"; then echo yes; else echo no; fi').split('\n');
    expect(Number(last)).toBeGreaterThan(10);
    expect([Number(last), Number(last) + 1]).toContain(Number(count));
    expect(hasLast).toBe('yes');
    // and the writer runs on (resumed)
    const before = Number(await read(l, '/data/last', 'writer'));
    await new Promise((r) => setTimeout(r, 300));
    expect(Number(await read(l, '/data/last', 'writer'))).toBeGreaterThan(before);
    expect(docker('inspect', `${l.name}-writer-1`, '--format', '{{.State.Status}}')).toBe('running');
    await l.release();
  }, 120_000);

  it('a fork of a changed configuration warns, and strict refuses it before anything starts', async () => {
    const t = tag('changed');
    const l = keep(await acquireEnvironment({ workingDir: dir, environment, ttl: '10m', services: ['db'] }));
    await l.exec('db', ['sh', '-c', 'echo layer > /seed-layer']);
    const snap = await l.snapshot(t);
    expect(snap.containers).toEqual({});
    await l.release();
    const changed = { ...environment, FLAVOUR: 'spicy' };
    const e = await acquireEnvironment({ workingDir: dir, environment: changed, from: t, strict: true, services: ['db'] }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(DockyardError);
    expect((e as DockyardError).message).toMatch(/does not match the project: service db: its configuration changed since snapshot/);
    expect(docker('volume', 'ls', '-q', '--filter', `label=dev.dockyard.lease.from-id=${snap.id}`)).toBe('');
    const warned: string[] = [];
    const f = keep(await acquireEnvironment({ workingDir: dir, environment: changed, from: t, services: ['db'], onWarning: (m) => warned.push(m) }));
    expect(warned).toEqual([expect.stringMatching(/^service db: its configuration changed since snapshot/)]);
    expect(f.warnings).toEqual(warned);
    // without containers, a container's own files are not captured: the fork's db starts from its image
    expect(await read(f, '/seed-layer')).toBe('');
    // a lease that is no fork has nothing to reset to; an unknown snapshot is named
    await expect(acquireEnvironment({ workingDir: dir, environment, from: 'no-such-snapshot' })).rejects.toThrow(/no snapshot "no-such-snapshot"/);
    await f.release();
  }, 120_000);

  it('push to a registry (docker\'s credentials), remove here, pull and fork: the labels and the container image come along', async () => {
    const t = tag('pushed');
    const PW = 'snapshots-S3cret-9a7b';
    registry = await startRegistry({ users: { dy: PW } });
    dockerConfigDir = mkdtempSync(join(tmpdir(), 'dockyard-snapshots-'));
    const auth = Buffer.from(`dy:${PW}`).toString('base64');
    writeFileSync(join(dockerConfigDir, 'config.json'), JSON.stringify({ auths: { [registry.host]: { auth } } }));
    const withCreds = { DOCKER_CONFIG: dockerConfigDir };
    const outputs: string[] = [];
    const run = async (args: string[], env: Record<string, string> = withCreds) => {
      const r = await cliAsync(args, env, dir);
      outputs.push(r.stdout, r.stderr);
      return r;
    };

    const l = keep(await acquireEnvironment({ workingDir: dir, environment, ttl: '10m', services: ['db'] }));
    await l.exec('db', ['sh', '-c', 'echo pushed > /data/www/seed && echo layer > /pushed-layer']);
    const taken = await run(['env', 'snapshot', l.name, '--as', t, '--containers', '--format', 'json']);
    expect(taken.stderr).toBe('');
    const snap = JSON.parse(taken.stdout) as { id: string; project: string; containers: Record<string, string> };
    expect(Object.keys(snap.containers)).toEqual(['db']);
    await l.release();

    // bad input and missing credentials: one clear line, no stack
    const bad = await run(['env', 'snapshots', 'push', t, '--registry', 'not a registry']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/invalid registry "not a registry"/);
    const refused = await run(['env', 'snapshots', 'push', t, '--registry', `${registry.host}/team`], { DOCKER_CONFIG: join(dockerConfigDir, 'none') });
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(new RegExp(`docker login ${registry.host.replace(/\./g, '\\.')}`));
    expect(refused.stderr).not.toMatch(/\n\s+at /);

    const pushed = await run(['env', 'snapshots', 'push', t, '--registry', `${registry.host}/team`], withCreds);
    expect(pushed.stderr).toBe(`pushed ${snap.project}:${t} (and 1 container image)\n`);
    const ref = `${registry.host}/team/dockyard-snapshot/${snap.project}:${t}`;
    expect(pushed.stdout).toBe(`${ref}\n`);

    // gone from here (every name it had, the container's image too)
    expect((await run(['env', 'snapshots', 'rm', t])).code).toBe(0);
    expect(docker('images', '-q', '--filter', `label=dev.dockyard.snapshot.tag=${t}`)).toBe('');
    expect(docker('images', '-q', `${registry.host}/team/dockyard-snapshot/${snap.project}/db`)).toBe('');

    // a fork from the registry's reference: pulled (found by its labels), its data and container files there
    const acquired = await run(['env', 'acquire', '--from', ref, '--format', 'json', '--ttl', '10m'], { ...withCreds, DOCKYARD_BASE_IMAGE: BASE });
    expect(acquired.stderr).toBe('');
    const fork = JSON.parse(acquired.stdout) as { name: string; from: string };
    leases.push(fork.name);
    expect(fork.from).toBe(`${snap.project}:${t}`);
    expect(docker('exec', `${fork.name}-db-1`, 'sh', '-c', 'cat /data/www/seed /pushed-layer')).toBe('pushed\nlayer');
    const ls = JSON.parse((await run(['env', 'snapshots', 'ls', '--format', 'json'])).stdout) as Array<{ tag: string; id: string; current: boolean; tags: string[]; containers: Record<string, string>; usedBy: string[] }>;
    expect(ls.find((x) => x.tag === t)).toMatchObject({ id: snap.id, current: true, containers: snap.containers, usedBy: [fork.name] });
    expect(ls.find((x) => x.tag === t)!.tags.sort()).toEqual([`dockyard-snapshot/${snap.project}:${t}`, ref].sort());
    await releaseEnvironment(fork.name);

    // pulled on its own, by the command
    expect((await run(['env', 'snapshots', 'rm', t])).code).toBe(0);
    const pulled = await run(['env', 'snapshots', 'pull', ref]);
    expect(pulled.stderr).toBe('');
    expect(pulled.stdout).toMatch(new RegExp(`^${snap.project}:${t}  dockyard-snapshot/${snap.project}:${t}  ${snap.id.slice(7, 19)}\n$`));
    expect(docker('image', 'inspect', `dockyard-snapshot/${snap.project}/db:${t}`, '--format', '{{.Id}}')).toBe(snap.containers.db);
    // no secret in any output
    for (const o of outputs) for (const secret of [PW, auth]) expect(o).not.toContain(secret);
  }, 240_000);

  it('the shop example: seeded once by its migration job, one fork per vitest worker, reset between tests', async () => {
    const before = new Set(docker('ps', '-aq', '--filter', 'label=dev.dockyard.lease').split('\n').filter(Boolean));
    // not spawnSync: this worker must keep answering vitest meanwhile
    const child = spawn(process.execPath, [join('node_modules', 'vitest', 'vitest.mjs'), 'run', '--config', 'examples/shop/vitest.snapshots.config.ts'], { env: environment, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (out += b.toString()));
    const r = { status: await new Promise<number | null>((res) => child.on('exit', res)) };
    expect(out).toMatch(/4 passed/);
    expect(r.status).toBe(0);
    // what that run's leases left: their owner is the child's process (its global setup acquires
    // them); other test files lease the same example at the same time, under their own owners
    const left = docker('ps', '-a', '--filter', 'label=dev.dockyard.lease', '--format', '{{.ID}} {{.Label "dev.dockyard.lease.owner"}}')
      .split('\n')
      .filter((l) => l.endsWith(`:${child.pid}`) && !before.has(l.split(' ')[0]!));
    expect(left).toEqual([]);
    expect(docker('images', '-q', '--filter', 'label=dev.dockyard.snapshot.project=shop', '--filter', 'label=dev.dockyard.snapshot.tag')).toBe('');
  }, 300_000);
});
