import { afterAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { cleanupTrees, cli, tree } from '../helpers/fs.js';
import { parseSignal } from '../../src/cli/lifecycle.js';

afterAll(cleanupTrees);

// Every bad input: one clear error naming file:line:col and key path, a hint, exit 1, no stack trace.
const cases: Array<{ name: string; files: Record<string, string>; args?: string[]; where: string; keyPath?: string; message: RegExp }> = [
  { name: 'YAML syntax', files: { 'compose.yaml': 'services:\n  web:\n    image: "nginx\n  db: [\n' }, where: 'compose.yaml:5:1', message: /invalid YAML/ },
  { name: 'duplicate key', files: { 'compose.yaml': 'services:\n  web:\n    image: a\n    image: b\n' }, where: 'compose.yaml:4:5', keyPath: 'services.web.image', message: /key "image" is defined twice/ },
  { name: 'unknown key', files: { 'compose.yaml': 'services:\n  web:\n    image: a\n    enviroment: {A: 1}\n' }, where: 'compose.yaml:4:5', keyPath: 'services.web.enviroment', message: /unknown key "enviroment"/ },
  { name: 'wrong type', files: { 'compose.yaml': 'services:\n  web:\n    image: a\n    ports: "80:80"\n' }, where: 'compose.yaml:4:5', keyPath: 'services.web.ports', message: /must be a list, not the string "80:80"/ },
  { name: 'bad duration', files: { 'compose.yaml': 'services:\n  web:\n    image: a\n    healthcheck:\n      interval: 10 seconds\n' }, where: 'compose.yaml:5:7', keyPath: 'services.web.healthcheck.interval', message: /"10 seconds" is not valid: expected a duration/ },
  { name: 'missing file', files: { 'compose.yaml': 'services: {}\n' }, args: ['-f', 'nope.yaml'], where: '', message: /file not found: .*nope\.yaml/ },
  { name: 'missing env_file', files: { 'compose.yaml': 'services:\n  web:\n    image: a\n    env_file: missing.env\n' }, where: 'compose.yaml:4:15', keyPath: 'services.web.env_file[0]', message: /env file not found: .*missing\.env/ },
  { name: 'invalid template', files: { 'compose.yaml': 'services:\n  web:\n    image: "a:${TAG"\n' }, where: 'compose.yaml:3:12', keyPath: 'services.web.image', message: /invalid interpolation format "\$\{TAG" in "a:\$\{TAG": missing closing brace/ },
  { name: 'missing required variable', files: { 'compose.yaml': 'services:\n  web:\n    image: a\n    environment:\n      DB_URL: ${DB_URL:?set DB_URL}\n' }, where: 'compose.yaml:5:15', keyPath: 'services.web.environment.DB_URL', message: /required variable DB_URL is missing a value: set DB_URL/ },
  { name: 'include cycle', files: { 'compose.yaml': 'include: [other.yaml]\n', 'other.yaml': 'include: [compose.yaml]\n' }, where: 'other.yaml:1:11', keyPath: 'include[0]', message: /include cycle/ },
  { name: 'extends cycle', files: { 'compose.yaml': 'services:\n  a:\n    image: x\n    extends: b\n  b:\n    extends: a\n' }, where: 'compose.yaml:4:5', keyPath: 'services.a.extends', message: /extends cycle: a -> b -> a/ },
  { name: 'depends_on cycle', files: { 'compose.yaml': 'services:\n  a:\n    image: x\n    depends_on: [b]\n  b:\n    image: x\n    depends_on: [a]\n' }, where: 'compose.yaml:4:18', keyPath: 'services.a.depends_on.b', message: /dependency cycle: a -> b -> a/ },
  { name: 'bad port', files: { 'compose.yaml': 'services:\n  a:\n    image: x\n    ports: ["80:http"]\n' }, where: 'compose.yaml:4:13', keyPath: 'services.a.ports[0]', message: /invalid container port/ },
  { name: 'bad enum value', files: { 'compose.yaml': 'services:\n  a:\n    image: x\n    depends_on:\n      b: {condition: service_healty}\n  b:\n    image: y\n' }, where: 'compose.yaml:5:11', keyPath: 'services.a.depends_on.b.condition', message: /"service_healty" is not allowed/ },
];

describe('bad input gives one clear error', () => {
  it.each(cases)('$name', ({ files, args, where, keyPath, message }) => {
    const dir = tree(files);
    const r = cli([...(args ?? []), 'config'], { cwd: dir });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(message);
    expect(r.stderr).toMatch(/^error: /);
    expect(r.stderr).toMatch(/\n {2}hint: \S/);
    expect(r.stderr.trim().split('\n')).toHaveLength(2);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    if (where) expect(r.stderr.startsWith(`error: ${join(dir, where)}${keyPath ? `: ${keyPath}` : ''}: `)).toBe(true);
  });

  it('exits 2 on a usage error', () => {
    const dir = tree({ 'compose.yaml': 'services: {}\n' });
    expect(cli(['config', '--format', 'xml'], { cwd: dir }).code).toBe(2);
    expect(cli(['config', '--bogus'], { cwd: dir }).code).toBe(2);
    // checked before the engine is contacted (none is needed to refuse it)
    const sig = cli(['kill', '-s', 'SIGNOPE'], { cwd: dir, env: { DOCKER_HOST: 'unix:///nonexistent.sock' } });
    expect(sig.code).toBe(2);
    expect(sig.stderr).toMatch(/^error: unknown signal "SIGNOPE"\n {2}hint: a number \(1-64\) or a name: HUP, INT/);
    // build --parallel takes a whole number (it was taken as NaN: no limit at all)
    const par = cli(['build', '--parallel', 'x'], { cwd: dir, env: { DOCKER_HOST: 'unix:///nonexistent.sock' } });
    expect(par.code).toBe(2);
    expect(par.stderr).toMatch(/^error: --parallel must be a whole number, not "x"/);
  });

  it('takes signals as the engine does: names with or without SIG, numbers, real-time ones', () => {
    expect(parseSignal('term')).toBe('SIGTERM');
    expect(parseSignal('SIGUSR1')).toBe('SIGUSR1');
    expect(parseSignal('9')).toBe('9');
    expect(parseSignal('SIGRTMIN+3')).toBe('SIGRTMIN+3');
    expect(() => parseSignal('65')).toThrow('unknown signal "65"');
  });
});

describe('dockyard config', () => {
  const files = {
    'compose.yaml': 'services:\n  web:\n    image: nginx:${TAG:-1}\n    volumes: [data:/d]\n    profiles: [front]\n  db:\n    build: ./db\n    networks: [back]\nnetworks: {back: {}}\nvolumes: {data: {}}\n',
  };
  it('prints YAML, JSON and the listings', () => {
    const dir = tree(files);
    const yaml = cli(['-p', 'demo', '--profile', 'front', 'config'], { cwd: dir });
    expect(yaml.code).toBe(0);
    expect(yaml.stdout).toMatch(/^name: demo\nservices:\n {2}db:\n/);
    const json = JSON.parse(cli(['-p', 'demo', '--profile', 'front', 'config', '--format', 'json'], { cwd: dir }).stdout);
    expect(json.services.web.image).toBe('nginx:1');
    expect(cli(['--profile', 'front', 'config', '--services'], { cwd: dir }).stdout).toBe('db\nweb\n');
    expect(cli(['config', '--services'], { cwd: dir }).stdout).toBe('db\n');
    // only what enabled services use (web, which mounts data, is in a profile not enabled)
    expect(cli(['config', '--volumes'], { cwd: dir }).stdout).toBe('');
    expect(cli(['--profile', 'front', 'config', '--volumes'], { cwd: dir }).stdout).toBe('data\n');
    expect(cli(['config', '--volumes', '--all-resources'], { cwd: dir }).stdout).toBe('data\n');
    expect(cli(['config', '--networks'], { cwd: dir }).stdout).toBe('back\n');
    expect(cli(['config', '--profiles'], { cwd: dir }).stdout).toBe('front\n');
    expect(cli(['-p', 'demo', '--profile', 'front', 'config', '--images'], { cwd: dir }).stdout).toBe('demo-db\nnginx:1\n');
    const hash = cli(['config', '--hash', '*'], { cwd: dir }).stdout;
    expect(hash).toMatch(/^db [0-9a-f]{64}\n$/);
    expect(cli(['config', '--hash', 'nope'], { cwd: dir }).code).toBe(2);
    const q = cli(['config', '-q'], { cwd: dir });
    expect(q).toMatchObject({ code: 0, stdout: '' });
    expect(cli(['config', '-o', 'out.yaml'], { cwd: dir }).stdout).toBe('');
    expect(cli(['-f', 'out.yaml', 'config', '--services'], { cwd: dir }).stdout).toBe('db\n');
    // global flags are accepted after the command too, as docker compose accepts them
    expect(cli(['config', '--services', '-f', 'out.yaml', '--profile', 'front'], { cwd: dir }).stdout).toBe('db\n');
    expect(cli(['config', '--services', '--profile', 'front'], { cwd: dir }).stdout).toBe('db\nweb\n');
  });

  it('reads stdin with -f - and round-trips its own output', () => {
    const dir = tree(files);
    const first = cli(['-p', 'x', 'config'], { cwd: dir }).stdout;
    const again = cli(['-p', 'x', '-f', '-', 'config'], { cwd: dir, input: first });
    expect(again.code).toBe(0);
    expect(again.stdout).toBe(first);
  });
});
