/** The rest of docker compose's commands and flags, on the real engine, observed from outside. */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import './setup.js';
import { BASE, docker, useProjects } from '../helpers/engine.js';
import { CLI } from '../helpers/fs.js';

const project = useProjects(afterEach);
const IMG = '${DOCKYARD_BASE_IMAGE}';
const sleeper = (extra = '') => `    image: ${IMG}\n    init: true\n    command: ["sleep", "600"]\n${extra}`;
const state = (c: string) => docker('inspect', '--format', '{{.State.Status}}', c);
// a macrotask turn between long synchronous steps (see test/engine/setup.ts)
const turn = () => new Promise<void>((r) => setTimeout(r, 0));

describe('pause, unpause, scale, wait, create', () => {
  it('pauses and unpauses; scales services up and down; create makes containers without starting them', async () => {
    const p = project({ 'compose.yaml': `services:\n  web:\n${sleeper()}  worker:\n${sleeper()}` });
    p.ok(['up', '-d']);
    p.ok(['pause', 'web']);
    expect(state(`${p.name}-web-1`)).toBe('paused');
    expect(state(`${p.name}-worker-1`)).toBe('running');
    expect(p.ok(['ps', '--filter', 'status=paused', '--format', '{{.Service}}']).stdout).toBe('web\n');
    p.ok(['unpause']);
    expect(state(`${p.name}-web-1`)).toBe('running');
    await turn();
    p.ok(['scale', 'web=3', 'worker=0']);
    expect(p.containers().map((c) => c.name)).toEqual([`${p.name}-web-1`, `${p.name}-web-2`, `${p.name}-web-3`]);
    expect(p.run(['scale', 'web']).code).toBe(2);
    await turn();
    p.ok(['stop']);
    p.ok(['start', '--wait', '--wait-timeout', '30s', 'web']);
    expect(state(`${p.name}-web-3`)).toBe('running');
    // an orphan goes with kill --remove-orphans
    p.writeFile('compose.yaml', `services:\n  web:\n${sleeper()}  worker:\n${sleeper()}  extra:\n${sleeper()}`);
    await turn();
    p.ok(['up', '-d', 'extra']);
    p.writeFile('compose.yaml', `services:\n  web:\n${sleeper()}  worker:\n${sleeper()}`);
    p.ok(['kill', '--remove-orphans', 'worker']);
    expect(p.containers().some((c) => c.service === 'extra')).toBe(false);
    await turn();
    p.ok(['down']);
    p.ok(['create', 'worker']);
    expect(p.containers().map((c) => `${c.name}:${c.state}`)).toEqual([`${p.name}-worker-1:created`]);
  }, 60_000);

  it('wait: exits with the code of the last container to stop; --down-project removes the project', () => {
    const p = project({ 'compose.yaml': `services:\n  a:\n    image: ${IMG}\n    command: ["sh", "-c", "sleep 1; exit 3"]\n  b:\n    image: ${IMG}\n    command: ["sh", "-c", "sleep 2; exit 5"]\n` });
    p.ok(['up', '-d']);
    const r = p.run(['wait', 'a', 'b']);
    expect(r.code).toBe(5);
    expect(r.stdout).toMatch(/container ".*-a-1" exited with status code 3\n/);
    p.ok(['up', '-d']);
    expect(p.run(['wait', 'a', '--down-project']).code).toBe(3);
    expect(p.containers()).toEqual([]);
  }, 60_000);
});

describe('ls, images, version, stats, events, ps', () => {
  it('ls lists projects from their containers (-a for stopped ones, --filter, json); images and stats show the containers\' images and use', () => {
    const p = project({ 'compose.yaml': `services:\n  web:\n${sleeper()}` });
    p.ok(['up', '-d']);
    const all = JSON.parse(p.ok(['ls', '--format', 'json', '--filter', `name=${p.name}`]).stdout) as Array<{ Name: string; Status: string; ConfigFiles: string }>;
    expect(all).toEqual([{ Name: p.name, Status: 'running(1)', ConfigFiles: join(p.dir, 'compose.yaml') }]);
    expect(p.ok(['ls', '-q']).stdout.split('\n')).toContain(p.name);
    p.ok(['stop']);
    expect(p.ok(['ls', '-q']).stdout.split('\n')).not.toContain(p.name);
    expect(p.ok(['ls', '-a', '-q']).stdout.split('\n')).toContain(p.name);
    p.ok(['start']);
    const imgs = JSON.parse(p.ok(['images', '--format', 'json']).stdout) as Array<{ ContainerName: string; Repository: string; Tag: string; ID: string }>;
    expect(imgs).toEqual([expect.objectContaining({ ContainerName: `${p.name}-web-1`, Repository: 'dockyard-test/busybox', Tag: 'latest', ID: docker('image', 'inspect', '--format', '{{.Id}}', BASE) })]);
    expect(p.ok(['images', '-q']).stdout.trim()).toBe(docker('image', 'inspect', '--format', '{{.Id}}', BASE));
    const stats = p.ok(['stats', '--no-stream', '--format', 'json']).stdout.trim().split('\n').map((l) => JSON.parse(l) as { Name: string; MemUsage: string; PIDs: string });
    expect(stats).toEqual([expect.objectContaining({ Name: `${p.name}-web-1`, MemUsage: expect.stringMatching(/iB \/ /) })]);
    expect(Number(stats[0]!.PIDs)).toBeGreaterThanOrEqual(1);
    expect(p.ok(['stats', '--no-stream']).stdout).toMatch(/^CONTAINER ID +NAME +CPU %/);
    expect(p.ok(['version', '--short']).stdout).toMatch(/^\d+\.\d+\.\d+\n$/);
    expect(JSON.parse(p.ok(['version', '--format', 'json']).stdout)).toHaveProperty('version');
  }, 60_000);

  it('events --json --since: the lifecycle of the project\'s containers, one JSON object per line', () => {
    const p = project({ 'compose.yaml': `services:\n  job:\n    image: ${IMG}\n    command: ["sh", "-c", "exit 2"]\n` });
    p.ok(['up', '-d']);
    p.ok(['wait', 'job'], { code: 2 });
    const r = p.run(['events', '--json', '--since', '1m', '--until', '0s'], { timeoutMs: 20_000 });
    const events = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { action: string; service: string; attributes: Record<string, string> });
    expect(events.map((e) => e.action)).toEqual(expect.arrayContaining(['created', 'started', 'exited']));
    expect(events.find((e) => e.action === 'exited')).toMatchObject({ service: 'job', attributes: { name: `${p.name}-job-1`, exitCode: '2' } });
  }, 60_000);

  it('ps: --filter status=, --format templates, --no-orphans, the command column; a source filter is refused clearly', () => {
    const p = project({ 'compose.yaml': `services:\n  a:\n${sleeper()}  gone:\n${sleeper()}` });
    p.ok(['up', '-d']);
    p.ok(['stop', 'a']);
    p.writeFile('compose.yaml', `services:\n  a:\n${sleeper()}`);
    expect(p.ok(['ps', '-a', '--filter', 'status=exited', '--format', '{{.Name}} {{.State}}']).stdout).toBe(`${p.name}-a-1 exited\n`);
    expect(p.ok(['ps', '--format', '{{.Service}}']).stdout).toBe('gone\n');
    expect(p.ok(['ps', '--no-orphans', '--format', '{{.Service}}']).stdout).toBe('');
    // table: columns aligned as docker's tabwriter does (cells at least 20 wide, 3 spaces of padding)
    const col = (t: string) => t.padEnd(Math.max(20, `${p.name}-gone-1`.length + 3));
    expect(p.ok(['ps', '--format', 'table {{.Name}}\\t{{.Service}}']).stdout).toBe(`${col('NAME')}SERVICE\n${col(`${p.name}-gone-1`)}gone\n`);
    expect(p.ok(['ps']).stdout).toMatch(/COMMAND[\s\S]*"sleep 600"/);
    const src = p.run(['ps', '--filter', 'source=image']);
    expect(src.code).toBe(2);
    expect(src.stderr).toMatch(/not implemented/);
    expect(p.run(['ps', '--filter', 'color=red']).code).toBe(2);
  }, 60_000);
});

describe('cp, export, commit, attach', () => {
  it('cp copies files and folders both ways (into folders, under new names, as tar streams, into every replica)', () => {
    const p = project({ 'compose.yaml': `services:\n  app:\n${sleeper('    deploy: {replicas: 2}\n')}`, 'local/a.txt': 'A\n', 'local/sub/b.txt': 'B\n' });
    p.ok(['up', '-d']);
    const c = `${p.name}-app-1`;
    p.ok(['cp', 'local/a.txt', 'app:/tmp/']);
    expect(docker('exec', c, 'cat', '/tmp/a.txt')).toBe('A');
    p.ok(['cp', 'local', 'app:/tmp/copied']);
    expect(docker('exec', c, 'cat', '/tmp/copied/sub/b.txt')).toBe('B');
    p.ok(['cp', '--all', 'local/a.txt', 'app:/tmp/everywhere.txt']);
    expect(docker('exec', `${p.name}-app-2`, 'cat', '/tmp/everywhere.txt')).toBe('A');
    docker('exec', c, 'sh', '-c', 'mkdir -p /out/deep && echo out > /out/deep/f && echo one > /out/one');
    p.ok(['cp', 'app:/out', 'fromc']);
    expect(readFileSync(join(p.dir, 'fromc/deep/f'), 'utf8')).toBe('out\n');
    mkdirSync(join(p.dir, 'into'));
    p.ok(['cp', 'app:/out/one', 'into']);
    expect(readFileSync(join(p.dir, 'into/one'), 'utf8')).toBe('one\n');
    // - : a tar stream on stdout
    const tar = spawnSync(process.execPath, [CLI, '-p', p.name, 'cp', 'app:/out/one', '-'], { cwd: p.dir, env: { ...process.env, DOCKYARD_BASE_IMAGE: BASE } });
    expect(tar.status).toBe(0);
    expect(tar.stdout.subarray(0, 3).toString()).toBe('one');
    expect(tar.stdout.includes(Buffer.from('one\n'))).toBe(true);
    const bad = p.run(['cp', 'app:/nope', 'x']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/no such file or directory in .*: \/nope/);
    expect(existsSync(join(p.dir, 'x'))).toBe(false);
  }, 60_000);

  it('export writes the filesystem as tar; commit makes an image of a container\'s changes', () => {
    const p = project({ 'compose.yaml': `services:\n  app:\n${sleeper()}` });
    p.ok(['up', '-d']);
    docker('exec', `${p.name}-app-1`, 'sh', '-c', 'echo changed > /marker');
    p.ok(['export', 'app', '-o', 'fs.tar']);
    const list = spawnSync('tar', ['-tf', join(p.dir, 'fs.tar')], { encoding: 'utf8' }).stdout;
    expect(list).toMatch(/^marker$/m);
    const tag = `${p.name}-committed:1`;
    try {
      expect(p.ok(['commit', 'app', tag, '-m', 'a change']).stdout).toMatch(/^sha256:[0-9a-f]{64}\n$/);
      expect(docker('run', '--rm', tag, 'cat', '/marker')).toBe('changed');
    } finally {
      spawnSync('docker', ['rmi', '-f', tag]);
    }
  }, 60_000);

  it('attach shows a running container\'s output and exits with its code', () => {
    // attach shows what comes after it attached (as docker attach does): the line is written five
    // times over 5 s, so that a loaded machine's slow start of the CLI still sees some of them
    const p = project({ 'compose.yaml': `services:\n  app:\n    image: ${IMG}\n    command: ["sh", "-c", "for i in 1 2 3 4 5; do sleep 1; echo attached-output; done; exit 4"]\n` });
    p.ok(['up', '-d']);
    const r = p.run(['attach', '--no-stdin', 'app']);
    expect(r.stdout).toMatch(/^(attached-output\n)+$/);
    expect(r.code).toBe(4);
  }, 60_000);
});

describe('flags of up, run, rm and down', () => {
  it('up: --attach / --no-attach choose whose output is shown; --timestamps, --no-log-prefix, --no-color; -y accepted; --menu refused', () => {
    const p = project({ 'compose.yaml': `services:\n  a:\n    image: ${IMG}\n    command: ["echo", "from-a"]\n  b:\n    image: ${IMG}\n    command: ["echo", "from-b"]\n` });
    const only = p.ok(['up', '--attach', 'a', '-y']);
    expect(only.stdout).toMatch(/a-1 +\| from-a/);
    expect(only.stdout).not.toMatch(/from-b/);
    p.ok(['wait', 'b']); // (b may still be finishing: the next up would keep it as it is)
    const not = p.ok(['up', '--no-attach', 'a', '--timestamps', '--no-color']);
    expect(not.stdout).toMatch(/^\S+-b-1 +\| \d{4}-\d\d-\d\dT[\d:.]+Z from-b$/m);
    expect(not.stdout).not.toMatch(/from-a|\x1b\[/);
    expect(p.ok(['up', '--no-log-prefix', '--attach', 'b']).stdout).toBe('from-b\n');
    expect(p.run(['up', '--menu']).code).toBe(2);
    p.ok(['up', '--menu=false', '-d']);
  }, 60_000);

  it('up -V gives recreated containers new anonymous volumes; --always-recreate-deps recreates the dependencies', () => {
    const compose = (v: string) => `services:\n  db:\n${sleeper('    volumes: [/data]\n')}  app:\n${sleeper(`    environment: {V: "${v}"}\n    depends_on: [db]\n`)}`;
    const p = project({ 'compose.yaml': compose('1') });
    p.ok(['up', '-d']);
    docker('exec', `${p.name}-db-1`, 'sh', '-c', 'echo kept > /data/f');
    const dbId = p.inspect(`${p.name}-db-1`).Id as string;
    p.writeFile('compose.yaml', compose('2'));
    p.ok(['up', '-d', '--always-recreate-deps', 'app']);
    expect(p.inspect(`${p.name}-db-1`).Id).not.toBe(dbId);
    expect(docker('exec', `${p.name}-db-1`, 'cat', '/data/f')).toBe('kept');
    p.ok(['up', '-d', '-V', '--force-recreate', 'db']);
    expect(docker('exec', `${p.name}-db-1`, 'sh', '-c', 'cat /data/f 2>/dev/null || echo fresh')).toBe('fresh');
  }, 60_000);

  it('up --pull never and pull_policy: never refuse a missing image; pull policy missing tries the registry', () => {
    const p = project({ 'compose.yaml': `services:\n  a:\n    image: dockyard-test/not-here:1\n    pull_policy: never\n` });
    const r = p.run(['up', '-d']);
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(/image dockyard-test\/not-here:1 for service "a" is not present, and its pull policy is never/);
    const q = p.run(['up', '-d', '--pull', 'missing', '--quiet-pull']);
    expect(q.code).toBe(4);
    expect(q.stderr).toMatch(/cannot be pulled/);
    expect(p.run(['up', '--pull', 'sometimes']).code).toBe(2);
  }, 60_000);

  it('run: --publish, --volume, --label, --cap-add, --env-from-file, --use-aliases', () => {
    const p = project({ 'compose.yaml': `services:\n  app:\n${sleeper()}  other:\n${sleeper()}`, 'data/in.txt': 'host file\n', 'run.env': 'FROM_FILE=yes\n' });
    p.ok(['up', '-d', 'other']);
    const id = p.ok(['run', '-d', '-p', '127.0.0.1::80', '-v', './data:/mnt:ro', '-l', 'team=core', '--cap-add', 'NET_ADMIN', '--env-from-file', 'run.env', '--use-aliases', 'app']).stdout.trim();
    expect(docker('port', id, '80')).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(docker('exec', id, 'cat', '/mnt/in.txt')).toBe('host file');
    expect(docker('exec', id, 'sh', '-c', 'touch /mnt/x 2>/dev/null && echo rw || echo ro')).toBe('ro');
    expect(docker('inspect', '--format', '{{index .Config.Labels "team"}} {{json .HostConfig.CapAdd}}', id)).toBe('core ["NET_ADMIN"]');
    expect(docker('exec', id, 'sh', '-c', 'echo $FROM_FILE')).toBe('yes');
    // --use-aliases: the one-off answers to the service's name on the project network
    expect(docker('exec', `${p.name}-other-1`, 'sh', '-c', 'ping -c1 -W2 app >/dev/null && echo reached')).toBe('reached');
  }, 60_000);

  it('rm -f -s -v stops and removes; down removes one-off containers, and their anonymous volumes with -v; down --rmi all', () => {
    const p = project({ 'compose.yaml': `services:\n  app:\n${sleeper('    volumes: [/data]\n')}` });
    p.ok(['up', '-d']);
    const vol = docker('inspect', '--format', '{{range .Mounts}}{{.Name}}{{end}}', `${p.name}-app-1`);
    p.ok(['rm', '-f', '-s', '-v', 'app']);
    expect(p.containers()).toEqual([]);
    expect(spawnSync('docker', ['volume', 'inspect', vol]).status).not.toBe(0);
    p.ok(['up', '-d']);
    const oneoff = p.ok(['run', '-d', 'app']).stdout.trim();
    const oneoffVol = docker('inspect', '--format', '{{range .Mounts}}{{.Name}}{{end}}', oneoff);
    p.ok(['down', '-v']);
    expect(p.containers()).toEqual([]);
    expect(spawnSync('docker', ['volume', 'inspect', oneoffVol]).status).not.toBe(0);
  }, 60_000);
});

describe('global flags', () => {
  it('--dry-run describes and changes nothing; --compatibility names as v1; --progress json; --ansi; --parallel; --env-file after the command', () => {
    const p = project({ 'compose.yaml': `services:\n  web:\n${sleeper('    environment: {FROM: "${FROM:-unset}"}\n')}`, 'alt.env': 'FROM=alt\n' });
    p.ok(['up', '-d']);
    const dry = p.ok(['--dry-run', 'down']);
    expect(dry.stdout).toMatch(new RegExp(`DRY-RUN: would stop container ${p.name}-web-1\\nDRY-RUN: would remove container ${p.name}-web-1\\nDRY-RUN: would remove network ${p.name}_default`));
    expect(p.containers().map((c) => c.state)).toEqual(['running']);
    p.ok(['stop', '--dry-run']);
    expect(p.containers().map((c) => c.state)).toEqual(['running']);
    p.ok(['down']);
    const json = p.ok(['up', '-d', '--progress', 'json', '--env-file', 'alt.env']);
    const events = json.stderr.trim().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { type: string; action: string });
    expect(events).toContainEqual(expect.objectContaining({ type: 'container', action: 'started' }));
    expect(docker('exec', `${p.name}-web-1`, 'sh', '-c', 'echo $FROM')).toBe('alt');
    expect(p.ok(['--ansi', 'always', 'ps']).stdout).toBeTruthy();
    expect(p.run(['--ansi', 'sometimes', 'ps']).code).toBe(2);
    p.ok(['down']);
    p.ok(['--compatibility', '--parallel', '1', 'up', '-d']);
    expect(p.containers().map((c) => c.name)).toEqual([`${p.name}_web_1`]);
    expect(p.run(['--parallel', '0', 'ps']).code).toBe(2);
  }, 60_000);

  it('usage errors exit 2 before contacting the engine; a failed service exits 4', () => {
    const p = project({ 'compose.yaml': `services:\n  a:\n    image: ${IMG}\n    command: ["sh", "-c", "exit 1"]\n  b:\n${sleeper('    depends_on: {a: {condition: service_completed_successfully}}\n')}` });
    const off = { DOCKER_HOST: 'unix:///nonexistent.sock' };
    expect(p.run(['up', '--bogus'], { env: off }).code).toBe(2);
    expect(p.run(['scale', 'a=x'], { env: off }).code).toBe(2);
    expect(p.run(['up', '-d'], { env: off }).code).toBe(3);
    expect(p.run(['up', '-d']).code).toBe(4);
  }, 60_000);
});

