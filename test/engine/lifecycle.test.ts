import { afterEach, describe, expect, it } from 'vitest';
import './setup.js';
import { execFileSync } from 'node:child_process';
import { docker, TestProject, useProjects } from '../helpers/engine.js';

// a macrotask turn between long synchronous steps (see test/engine/setup.ts)
const turn = () => new Promise<void>((r) => setTimeout(r, 0));

const project = useProjects(afterEach);

const IMG = '${DOCKYARD_BASE_IMAGE}';
const sleeper = (extra = '') => `    image: ${IMG}\n    command: ["sleep", "600"]\n    init: true\n${extra}`;

describe('simple lifecycle (compose-spec conformance)', () => {
  it('up -d, ps, stop, start, restart, down, with Compose labels and names', () => {
    const p = project({ 'compose.yaml': `services:\n  web:\n${sleeper()}  db:\n${sleeper()}` });
    p.ok(['up', '-d']);
    const cs = p.containers();
    expect(cs.map((c) => c.name)).toEqual([`${p.name}-db-1`, `${p.name}-web-1`]);
    expect(cs.every((c) => c.state === 'running')).toBe(true);
    const labels = p.inspect(`${p.name}-web-1`).Config.Labels as Record<string, string>;
    expect(labels).toMatchObject({
      'com.docker.compose.project': p.name,
      'com.docker.compose.service': 'web',
      'com.docker.compose.container-number': '1',
      'com.docker.compose.oneoff': 'False',
      'com.docker.compose.project.working_dir': p.dir,
    });
    expect(labels['com.docker.compose.config-hash']).toMatch(/^[0-9a-f]{64}$/);
    // the hash `config --hash` prints is the one `up` stored
    expect(p.ok(['config', '--hash', 'web']).stdout).toBe(`web ${labels['com.docker.compose.config-hash']}\n`);
    expect(labels['com.docker.compose.project.config_files']).toBe(`${p.dir}/compose.yaml`);
    expect(docker('network', 'inspect', `${p.name}_default`, '--format', '{{index .Labels "com.docker.compose.network"}}')).toBe('default');

    const ps = p.ok(['ps']).stdout;
    expect(ps).toMatch(new RegExp(`${p.name}-web-1 .* web .* Up`));
    const json = JSON.parse(p.ok(['ps', '--format', 'json']).stdout) as Array<{ Service: string; State: string }>;
    expect(json.map((c) => `${c.Service}:${c.State}`).sort()).toEqual(['db:running', 'web:running']);

    p.ok(['stop', 'web']);
    expect(p.containers().find((c) => c.service === 'web')!.state).toBe('exited');
    expect(p.ok(['ps', '--services']).stdout).toBe('db\n');
    expect(p.ok(['ps', '-a', '--status', 'exited', '--services']).stdout).toBe('web\n');
    p.ok(['start', 'web']);
    expect(p.containers().find((c) => c.service === 'web')!.state).toBe('running');
    const before = p.inspect(`${p.name}-db-1`).State.StartedAt;
    p.ok(['restart', 'db']);
    expect(p.inspect(`${p.name}-db-1`).State.StartedAt).not.toBe(before);
    p.ok(['kill', 'db']);
    expect(p.containers().find((c) => c.service === 'db')!.state).toBe('exited');
    p.ok(['rm', 'db']);
    expect(p.containers().map((c) => c.service)).toEqual(['web']);
    p.ok(['down']);
    expect(p.containers()).toEqual([]);
    expect(docker('network', 'ls', '-q', '--filter', `name=${p.name}_default`)).toBe('');
  }, 120_000);

  it('docker-compose sees and manages the containers dockyard creates (labels and names)', () => {
    const p = project({ 'docker-compose.yml': `services:\n  web:\n${sleeper()}  db:\n${sleeper()}` });
    p.ok(['up', '-d']);
    const env = { ...process.env, DOCKYARD_BASE_IMAGE: 'dockyard-test/busybox:latest' };
    const compose = (...args: string[]) => execFileSync('docker-compose', ['-p', p.name, ...args], { cwd: p.dir, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    expect(compose('ps')).toMatch(new RegExp(`${p.name}-db-1 .* Up[\\s\\S]*${p.name}-web-1 .* Up`));
    compose('stop', 'web');
    expect(JSON.parse(p.ok(['ps', '-a', '--format', 'json']).stdout).map((c: { Service: string; State: string }) => `${c.Service}:${c.State}`)).toEqual(['db:running', 'web:exited']);
    compose('down');
    expect(p.containers()).toEqual([]);
  }, 120_000);

  it('recreates only changed services, keeps unchanged ones, and honours restart: true', async () => {
    const files = (tag: string) => ({
      'compose.yaml': `services:\n  db:\n${sleeper(`    environment: {TAG: "${tag}"}\n`)}  api:\n${sleeper('    depends_on:\n      db: {condition: service_started, restart: true}\n')}  other:\n${sleeper()}`,
    });
    const p = project(files('1'));
    p.ok(['up', '-d']);
    const ids1 = Object.fromEntries(p.containers().map((c) => [c.service, c.id]));
    await turn();
    p.ok(['up', '-d']);
    const ids2 = Object.fromEntries(p.containers().map((c) => [c.service, c.id]));
    expect(ids2).toEqual(ids1);
    // change db: db is recreated, api (restart: true) too, other is left alone
    const q = new TestProject(files('2'));
    await turn();
    const changed = p.run(['-f', `${q.dir}/compose.yaml`, '--project-directory', p.dir, 'up', '-d']);
    expect(changed.code).toBe(0);
    const ids3 = Object.fromEntries(p.containers().map((c) => [c.service, c.id]));
    expect(ids3.db).not.toBe(ids1.db);
    expect(ids3.api).not.toBe(ids1.api);
    expect(ids3.other).toBe(ids1.other);
    expect(changed.stderr).toMatch(/Recreat/);
    // --no-recreate keeps containers whose configuration changed (back to TAG=1 here)
    await turn();
    p.ok(['up', '-d', '--no-recreate']);
    expect(Object.fromEntries(p.containers().map((c) => [c.service, c.id]))).toEqual(ids3);
    // --force-recreate replaces an unchanged one
    await turn();
    p.ok(['up', '-d', '--force-recreate', 'other']);
    expect(p.containers().find((c) => c.service === 'other')!.id).not.toBe(ids1.other);
  }, 120_000);

  it('keeps named volume data across recreation and down, removes it with down -v', () => {
    const p = project({ 'compose.yaml': `services:\n  app:\n${sleeper('    volumes: [data:/data]\n')}volumes:\n  data: {}\n` });
    p.ok(['up', '-d']);
    docker('exec', `${p.name}-app-1`, 'sh', '-c', 'echo kept > /data/file');
    p.ok(['up', '-d', '--force-recreate']);
    expect(docker('exec', `${p.name}-app-1`, 'cat', '/data/file')).toBe('kept');
    p.ok(['down']);
    expect(docker('volume', 'ls', '-q', '--filter', `name=${p.name}_data`)).toBe(`${p.name}_data`);
    p.ok(['up', '-d']);
    expect(docker('exec', `${p.name}-app-1`, 'cat', '/data/file')).toBe('kept');
    p.ok(['down', '-v']);
    expect(docker('volume', 'ls', '-q', '--filter', `name=${p.name}_data`)).toBe('');
  }, 120_000);

  it('scales with --scale, scale: and deploy.replicas, up and down (conformance: scaling)', () => {
    const p = project({ 'compose.yaml': `services:\n  w:\n${sleeper('    deploy: {replicas: 2}\n')}  s:\n${sleeper('    scale: 3\n')}` });
    p.ok(['up', '-d']);
    expect(p.containers().map((c) => c.name)).toEqual([1, 2, 3].map((n) => `${p.name}-s-${n}`).concat([1, 2].map((n) => `${p.name}-w-${n}`)));
    p.ok(['up', '-d', '--scale', 'w=4', '--scale', 's=1']);
    expect(p.containers().map((c) => c.name)).toEqual([`${p.name}-s-1`, ...[1, 2, 3, 4].map((n) => `${p.name}-w-${n}`)]);
  }, 120_000);

  it('--no-start creates without starting; --remove-orphans removes services no longer defined', () => {
    const p = project({ 'compose.yaml': `services:\n  a:\n${sleeper()}  b:\n${sleeper()}` });
    p.ok(['up', '-d', '--no-start']);
    expect(p.containers().map((c) => c.state)).toEqual(['created', 'created']);
    p.ok(['up', '-d']);
    const only = new TestProject({ 'compose.yaml': `services:\n  a:\n${sleeper()}` });
    const warn = p.run(['-f', `${only.dir}/compose.yaml`, 'up', '-d']);
    expect(warn.stderr).toMatch(/orphan containers .*-b-1/);
    p.ok(['-f', `${only.dir}/compose.yaml`, 'up', '-d', '--remove-orphans']);
    expect(p.containers().map((c) => c.service)).toEqual(['a']);
  }, 120_000);

  it('--no-deps starts only the named service; named services bring their dependencies', () => {
    const p = project({ 'compose.yaml': `services:\n  a:\n${sleeper('    depends_on: [b]\n')}  b:\n${sleeper()}  c:\n${sleeper()}` });
    p.ok(['up', '-d', 'a']);
    expect(p.containers().map((c) => c.service)).toEqual(['a', 'b']);
    p.ok(['down']);
    p.ok(['up', '-d', '--no-deps', 'a']);
    expect(p.containers().map((c) => c.service)).toEqual(['a']);
    // a dependency that exists but is not running is reported, not waited for forever
    p.ok(['down']);
    p.ok(['up', '-d', '--no-start', 'b']);
    const r = p.run(['up', '-d', '--no-deps', 'a'], { timeoutMs: 30_000 });
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(/service "a" depends on "b", which is not running and is not started by this run/);
    expect(p.containers().map((c) => c.service)).toEqual(['b']);
  }, 120_000);

  it('adopts containers left by a killed run (created but never started, or stopped)', () => {
    const p = project({ 'compose.yaml': `services:\n  a:\n${sleeper()}  b:\n${sleeper()}` });
    p.ok(['up', '-d', '--no-start']);
    const ids = p.containers().map((c) => c.id);
    p.ok(['up', '-d']);
    expect(p.containers().map((c) => c.id)).toEqual(ids);
    expect(p.containers().every((c) => c.state === 'running')).toBe(true);
    // a stray container with our name but from an older configuration is replaced
    docker('rm', '-f', `${p.name}-b-1`);
    docker('create', '--name', `${p.name}-b-1`, '--label', `com.docker.compose.project=${p.name}`, '--label', 'com.docker.compose.service=b', '--label', 'com.docker.compose.container-number=1', '--label', 'com.docker.compose.oneoff=False', '--label', 'com.docker.compose.config-hash=stale', 'dockyard-test/busybox:latest', 'sleep', '1');
    p.ok(['up', '-d']);
    const b = p.inspect(`${p.name}-b-1`);
    expect(b.Config.Labels['com.docker.compose.config-hash']).not.toBe('stale');
    expect(b.State.Running).toBe(true);
  }, 120_000);
});
