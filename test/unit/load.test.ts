import { afterEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { mkdirSync } from 'node:fs';
import { loadProject } from '../../src/load/index.js';
import type { LoadOptions } from '../../src/load/index.js';
import { projectModel, serviceConfigHash } from '../../src/model/serialize.js';
import { DockyardError } from '../../src/errors.js';
import { cleanupTrees, tree } from '../helpers/fs.js';

afterEach(cleanupTrees);

const load = (dir: string, o: Partial<LoadOptions> = {}) => loadProject({ workingDir: dir, environment: {}, ...o });

function error(fn: () => unknown): DockyardError {
  try {
    fn();
  } catch (e) {
    if (e instanceof DockyardError) return e;
    throw e;
  }
  throw new Error('expected an error');
}

describe('files and project', () => {
  it('finds compose.yaml and its override upward from the working directory', () => {
    const dir = tree({
      'compose.yaml': 'services:\n  web:\n    image: nginx\n',
      'compose.override.yaml': 'services:\n  web:\n    environment: [A=1]\n',
      'sub/deeper/.keep': '',
    });
    const p = load(join(dir, 'sub', 'deeper'));
    expect(p.configFiles).toEqual([join(dir, 'compose.yaml'), join(dir, 'compose.override.yaml')]);
    expect(p.workingDir).toBe(dir);
    expect(p.services.web!.environment).toEqual({ A: '1' });
  });

  it('prefers compose.yaml over docker-compose.yml, and docker-compose.yml pairs with its override', () => {
    const dir = tree({ 'docker-compose.yml': 'services:\n  a:\n    image: x\n', 'docker-compose.override.yml': 'services:\n  a:\n    image: y\n' });
    expect(load(dir).services.a!.image).toBe('y');
  });

  it('reports when no file is found', () => {
    const e = error(() => load(tree({ 'x.txt': '' })));
    expect(e.code).toBe('NO_CONFIG_FILE');
    expect(e.hint).toMatch(/-f/);
  });

  it('merges repeated -f in order and reads - from stdin', () => {
    const dir = tree({ 'a.yaml': 'services:\n  s:\n    image: a\n    labels: [x=1]\n' });
    const p = load(dir, { files: ['a.yaml', '-'], stdin: () => 'services:\n  s:\n    image: b\n    labels: {y: "2"}\n' });
    expect(p.services.s!.image).toBe('b');
    expect(p.services.s!.labels).toEqual({ x: '1', y: '2' });
  });

  it('takes COMPOSE_FILE with the path separator, also from .env', () => {
    const dir = tree({
      'one.yaml': 'services:\n  s:\n    image: one\n',
      'two.yaml': 'services:\n  s:\n    image: two\n',
      '.env': 'COMPOSE_FILE=one.yaml:two.yaml\n',
    });
    expect(load(dir).services.s!.image).toBe('two');
    expect(load(dir, { environment: { COMPOSE_FILE: 'two.yaml:one.yaml' } }).services.s!.image).toBe('one');
    expect(load(dir, { environment: { COMPOSE_FILE: 'two.yaml,one.yaml', COMPOSE_PATH_SEPARATOR: ',' } }).services.s!.image).toBe('one');
  });

  it('names the project from -p, COMPOSE_PROJECT_NAME, name:, then the directory (normalized)', () => {
    const dir = tree({ 'My.Project_Dir/compose.yaml': 'services:\n  s:\n    image: x\n' });
    const sub = join(dir, 'My.Project_Dir');
    expect(load(sub).name).toBe('myproject_dir');
    expect(load(sub, { environment: { COMPOSE_PROJECT_NAME: 'fromenv' } }).name).toBe('fromenv');
    expect(load(sub, { projectName: 'flag', environment: { COMPOSE_PROJECT_NAME: 'fromenv' } }).name).toBe('flag');
    const named = tree({ 'compose.yaml': 'name: ${N:-named}\nservices:\n  s:\n    image: x\n' });
    expect(load(named).name).toBe('named');
    expect(error(() => load(sub, { projectName: 'Bad Name' })).code).toBe('USAGE');
  });

  it('resolves relative paths against --project-directory', () => {
    const dir = tree({ 'files/compose.yaml': 'services:\n  s:\n    build: ./app\n    volumes: [./data:/data]\n', 'proj/.keep': '' });
    const p = load(dir, { files: ['files/compose.yaml'], projectDirectory: 'proj' });
    expect(p.services.s!.build!.context).toBe(join(dir, 'proj', 'app'));
    expect(p.services.s!.volumes![0]!.source).toBe(join(dir, 'proj', 'data'));
    const q = load(dir, { files: ['files/compose.yaml'], projectDirectory: 'proj', resolvePaths: false });
    expect(q.services.s!.build!.context).toBe('./app');
  });
});

describe('environment and interpolation', () => {
  it('reads .env, lets the shell win, and supports --env-file (repeatable, later wins)', () => {
    const dir = tree({
      'compose.yaml': 'services:\n  s:\n    image: "img:${TAG}"\n    environment:\n      A: $A\n      B: ${B:-dflt}\n',
      '.env': 'TAG=fromdotenv\nA=dotenv\n',
      'a.env': 'TAG=a\n',
      'b.env': 'TAG=b\nB=fromb\n',
    });
    expect(load(dir).services.s!.image).toBe('img:fromdotenv');
    expect(load(dir, { environment: { TAG: 'shell' } }).services.s!.image).toBe('img:shell');
    const p = load(dir, { envFiles: ['a.env', 'b.env'] });
    expect(p.services.s!.image).toBe('img:b');
    expect(p.services.s!.environment).toEqual({ A: '', B: 'fromb' });
  });

  it('keeps values as written with --no-interpolate', () => {
    const dir = tree({ 'compose.yaml': 'services:\n  s:\n    image: "img:${TAG}"\n' });
    expect(load(dir, { interpolate: false }).services.s!.image).toBe('img:${TAG}');
  });

  it('resolves environment entries without a value from the environment', () => {
    const dir = tree({ 'compose.yaml': 'services:\n  s:\n    image: x\n    environment: [FROM_SHELL, UNSET]\n' });
    expect(load(dir, { environment: { FROM_SHELL: 'v' } }).services.s!.environment).toEqual({ FROM_SHELL: 'v', UNSET: null });
  });

  it('merges env_file contents under the service environment', () => {
    const dir = tree({
      'compose.yaml': 'services:\n  s:\n    image: x\n    env_file: [svc.env, {path: optional.env, required: false}]\n    environment: {B: own}\n',
      'svc.env': 'A=1\nB=file\n',
    });
    const s = load(dir).services.s!;
    expect(s.environment).toEqual({ A: '1', B: 'own' });
    expect(s.env_file).toEqual([
      { path: join(dir, 'svc.env'), required: true },
      { path: join(dir, 'optional.env'), required: false },
    ]);
  });
});

describe('merging', () => {
  it('applies !reset and !override', () => {
    const dir = tree({
      'compose.yaml': 'services:\n  s:\n    image: x\n    ports: ["80:80", "443:443"]\n    environment: {A: "1", B: "2"}\n    command: echo hi\n',
      'override.yaml': 'services:\n  s:\n    ports: !reset []\n    environment: !override {C: "3"}\n    command: !reset null\n',
    });
    const s = load(dir, { files: ['compose.yaml', 'override.yaml'] }).services.s!;
    expect(s.ports).toBeUndefined();
    expect(s.environment).toEqual({ C: '3' });
    expect(s.command).toBeUndefined();
  });

  it('merges mappings, appends sequences, replaces keyed entries and overrides command', () => {
    const dir = tree({
      'a.yaml': 'services:\n  s:\n    image: x\n    command: [a, b]\n    ports: ["8080:80"]\n    volumes: ["./a:/data"]\n    dns: 1.1.1.1\n',
      'b.yaml': 'services:\n  s:\n    command: c\n    ports: ["8080:80", "9090:90"]\n    volumes: ["./b:/data"]\n    dns: [8.8.8.8]\n',
    });
    const s = load(dir, { files: ['a.yaml', 'b.yaml'] }).services.s!;
    expect(s.command).toEqual(['c']);
    expect(s.ports!.map((p) => `${p.published}:${p.target}`)).toEqual(['8080:80', '9090:90']);
    expect(s.volumes).toEqual([{ type: 'bind', source: join(dir, 'b'), target: '/data', bind: { create_host_path: true } }]);
    expect(s.dns).toEqual(['1.1.1.1', '8.8.8.8']);
  });

  it('reports merging a list onto a mapping', () => {
    const dir = tree({ 'a.yaml': 'services:\n  s:\n    image: x\n    healthcheck: {test: [CMD, "true"]}\n', 'b.yaml': 'services:\n  s:\n    healthcheck: [oops]\n' });
    const e = error(() => load(dir, { files: ['a.yaml', 'b.yaml'] }));
    expect(e.code).toBe('WRONG_TYPE');
    expect(e.where).toBe(`${join(dir, 'b.yaml')}:3:5`);
    expect(e.keyPath).toBe('services.s.healthcheck');
  });

  it('supports YAML anchors, merge keys and keeps x- extensions', () => {
    const dir = tree({
      'compose.yaml': 'x-base: &base\n  image: base\n  restart: always\nservices:\n  a:\n    <<: *base\n  b:\n    <<: *base\n    image: other\n',
    });
    const p = load(dir);
    expect(p.services.a!.image).toBe('base');
    expect(p.services.b!.image).toBe('other');
    expect(p.services.b!.restart).toBe('always');
    expect(p.extensions['x-base']).toEqual({ image: 'base', restart: 'always' });
  });
});

describe('include', () => {
  it('includes another project with its own directory and env file', () => {
    const dir = tree({
      'compose.yaml': 'include:\n  - path: lib/compose.yaml\n    env_file: lib/lib.env\nservices:\n  app:\n    image: app\n    depends_on: [cache]\n',
      'lib/compose.yaml': 'services:\n  cache:\n    image: "redis:${REDIS_TAG}"\n    volumes: [./conf:/conf]\n',
      'lib/lib.env': 'REDIS_TAG=7\n',
    });
    const p = load(dir);
    expect(p.services.cache!.image).toBe('redis:7');
    expect(p.services.cache!.volumes![0]!.source).toBe(join(dir, 'lib', 'conf'));
  });

  it('honours project_directory', () => {
    const dir = tree({
      'compose.yaml': 'include:\n  - path: lib/compose.yaml\n    project_directory: other\n',
      'lib/compose.yaml': 'services:\n  c:\n    build: .\n',
      'other/.keep': '',
    });
    expect(load(dir).services.c!.build!.context).toBe(join(dir, 'other'));
  });

  it('detects include cycles', () => {
    const dir = tree({ 'compose.yaml': 'include: [b.yaml]\nservices: {}\n', 'b.yaml': 'include: [compose.yaml]\n' });
    const e = error(() => load(dir));
    expect(e.code).toBe('CYCLE');
    expect(e.message).toMatch(/include cycle: .*b\.yaml -> .*compose\.yaml/);
    expect(e.where).toBe(`${join(dir, 'b.yaml')}:1:11`);
  });

  it('rejects a service defined both here and in an included file', () => {
    const dir = tree({ 'compose.yaml': 'include: [b.yaml]\nservices:\n  s:\n    image: a\n', 'b.yaml': 'services:\n  s:\n    image: b\n' });
    expect(error(() => load(dir)).code).toBe('MERGE_CONFLICT');
  });
});

describe('extends', () => {
  it('extends services in the same file and in other files, through chains', () => {
    const dir = tree({
      'compose.yaml': 'services:\n  web:\n    extends: {file: common/base.yaml, service: app}\n    environment: {ROLE: web}\n  worker:\n    extends: web\n    command: work\n',
      'common/base.yaml': 'services:\n  app:\n    extends: core\n    build: ./src\n    environment: {ROLE: base, APP: "1"}\n  core:\n    image: core\n    restart: always\n',
    });
    const p = load(dir);
    expect(p.services.web!.build!.context).toBe(join(dir, 'common', 'src'));
    expect(p.services.web!.environment).toEqual({ ROLE: 'web', APP: '1' });
    expect(p.services.web!.restart).toBe('always');
    expect(p.services.worker!.command).toEqual(['work']);
    expect(p.services.worker!.environment).toEqual({ ROLE: 'web', APP: '1' });
    expect(p.services.worker).not.toHaveProperty('extends');
  });

  it('detects extends cycles with their path', () => {
    const dir = tree({ 'compose.yaml': 'services:\n  a:\n    image: x\n    extends: b\n  b:\n    extends: c\n  c:\n    extends: a\n' });
    const e = error(() => load(dir));
    expect(e.code).toBe('CYCLE');
    expect(e.message).toBe('extends cycle: a -> b -> c -> a');
  });

  it('reports a missing base service', () => {
    const dir = tree({ 'compose.yaml': 'services:\n  a:\n    extends: nope\n' });
    const e = error(() => load(dir));
    expect(e.code).toBe('MISSING_REFERENCE');
    expect(e.where).toBe(`${join(dir, 'compose.yaml')}:3:5`);
  });
});

describe('profiles', () => {
  const files = {
    'compose.yaml': 'services:\n  app:\n    image: a\n  debug:\n    image: d\n    profiles: [debug]\n  tools:\n    image: t\n    profiles: [tools, debug]\n    depends_on: [app]\n',
  };
  it('enables services with profiles only when asked (or *)', () => {
    const dir = tree(files);
    expect(Object.keys(load(dir).services)).toEqual(['app']);
    expect(Object.keys(load(dir, { profiles: ['debug'] }).services)).toEqual(['app', 'debug', 'tools']);
    expect(Object.keys(load(dir, { environment: { COMPOSE_PROFILES: 'tools' } }).services)).toEqual(['app', 'tools']);
    expect(Object.keys(load(dir, { profiles: ['*'] }).services)).toHaveLength(3);
  });

  it('activates the profiles of services named on the command line', () => {
    const dir = tree(files);
    expect(Object.keys(load(dir, { services: ['debug'] }).services)).toEqual(['app', 'debug', 'tools']);
  });

  it('reports a dependency disabled by profiles', () => {
    const dir = tree({ 'compose.yaml': 'services:\n  app:\n    image: a\n    depends_on: [db]\n  db:\n    image: d\n    profiles: [data]\n' });
    const e = error(() => load(dir));
    expect(e.message).toMatch(/depends on "db", which is not enabled by the active profiles/);
    expect(e.hint).toMatch(/--profile data/);
  });
});

describe('normalization', () => {
  it('gives every field one shape', () => {
    const dir = tree({
      'compose.yaml': [
        'services:',
        '  s:',
        '    image: x',
        '    ports: [80, "127.0.0.1:8000-8001:8000-8001/udp", "[::1]:53:53/udp", {target: 90, published: 9090}]',
        '    expose: [3000]',
        '    volumes: ["data:/data:ro", "/host:/c:rw,z", "anon"]',
        '    depends_on: [db]',
        '    networks: [front]',
        '    healthcheck: {test: "curl -f http://x", interval: 1m30s, timeout: 500ms, retries: "3"}',
        '    stop_grace_period: 1m',
        '    shm_size: 1g',
        '    mem_limit: 512m',
        '    entrypoint: ["/bin/sh", "-c"]',
        '    labels: ["a=b", "c"]',
        '    extra_hosts: ["host:1.2.3.4", "v6=::1"]',
        '    secrets: [token]',
        '    configs: [{source: conf, target: /etc/conf}]',
        '    ulimits: {nofile: {soft: 10, hard: 20}, nproc: 5}',
        '    read_only: "true"',
        '    deploy: {replicas: "2", resources: {limits: {cpus: "0.5", memory: 1G}}, restart_policy: {delay: 5s}}',
        '  db:',
        '    image: db',
        'networks: {front: {}}',
        'volumes: {data: {}, ext: {external: true}}',
        'secrets: {token: {file: ./token.txt}}',
        'configs: {conf: {content: "hello"}}',
      ].join('\n'),
    });
    const p = load(dir, { projectName: 'proj' });
    const s = p.services.s!;
    expect(s.ports).toEqual([
      { mode: 'ingress', protocol: 'tcp', target: 80 },
      { mode: 'ingress', protocol: 'udp', target: 8000, published: '8000', host_ip: '127.0.0.1' },
      { mode: 'ingress', protocol: 'udp', target: 8001, published: '8001', host_ip: '127.0.0.1' },
      { mode: 'ingress', protocol: 'udp', target: 53, published: '53', host_ip: '::1' },
      { mode: 'ingress', protocol: 'tcp', target: 90, published: '9090' },
    ]);
    expect(s.expose).toEqual(['3000']);
    expect(s.volumes).toEqual([
      { type: 'volume', source: 'data', target: '/data', read_only: true, volume: {} },
      { type: 'bind', source: '/host', target: '/c', bind: { selinux: 'z', create_host_path: true } },
      { type: 'volume', target: 'anon', volume: {} },
    ]);
    expect(s.depends_on).toEqual({ db: { condition: 'service_started', required: true } });
    expect(s.networks).toEqual({ front: null });
    expect(s.healthcheck).toEqual({ test: ['CMD-SHELL', 'curl -f http://x'], interval: 90e9, timeout: 500e6, retries: 3 });
    expect(s.stop_grace_period).toBe(60e9);
    expect(s.shm_size).toBe(1024 ** 3);
    expect(s.mem_limit).toBe(512 * 1024 ** 2);
    expect(s.entrypoint).toEqual(['/bin/sh', '-c']);
    expect(s.labels).toEqual({ a: 'b', c: '' });
    expect(s.extra_hosts).toEqual(['host=1.2.3.4', 'v6=::1']);
    expect(s.secrets).toEqual([{ source: 'token', target: '/run/secrets/token' }]);
    expect(s.configs).toEqual([{ source: 'conf', target: '/etc/conf' }]);
    expect(s.read_only).toBe(true);
    expect(s.deploy).toEqual({ replicas: 2, resources: { limits: { cpus: 0.5, memory: 1024 ** 3 } }, restart_policy: { delay: 5e9 } });
    expect(p.services.db!.networks).toEqual({ default: null });
    expect(p.networks).toEqual({ front: { name: 'proj_front' }, default: { name: 'proj_default' } });
    expect(p.volumes).toEqual({ data: { name: 'proj_data' }, ext: { name: 'ext', external: true } });
    expect(p.secrets.token!.file).toBe(join(dir, 'token.txt'));
    const model = projectModel(p);
    const printed = (model.services as Record<string, Record<string, unknown>>).s!;
    expect(printed.healthcheck).toMatchObject({ interval: '1m30s', timeout: '500ms' });
    expect(printed.stop_grace_period).toBe('1m0s');
    expect(printed.ulimits).toEqual({ nofile: { soft: 10, hard: 20 }, nproc: 5 });
  });

  it('doubles $ in printed values so the output loads back the same', () => {
    const dir = tree({ 'compose.yaml': 'services:\n  s:\n    image: x\n    command: echo $$HOME\n' });
    const p = load(dir);
    expect(p.services.s!.command).toEqual(['echo', '$HOME']);
    expect((projectModel(p).services as Record<string, Record<string, unknown>>).s!.command).toEqual(['echo', '$$HOME']);
  });

  it('hashes a service configuration: stable, changes with config, not with scale', () => {
    const a = tree({ 'compose.yaml': 'services:\n  s:\n    image: x\n    environment: {A: "1"}\n' });
    const b = tree({ 'compose.yaml': 'services:\n  s:\n    environment: {A: "1"}\n    image: x\n    scale: 3\n' });
    const c = tree({ 'compose.yaml': 'services:\n  s:\n    image: x\n    environment: {A: "2"}\n' });
    const h = (d: string) => serviceConfigHash(load(d, { projectName: 'p' }).services.s!);
    expect(h(a)).toMatch(/^[0-9a-f]{64}$/);
    expect(h(a)).toBe(h(b));
    expect(h(a)).not.toBe(h(c));
  });
});

describe('consistency', () => {
  it.each([
    ['services:\n  s:\n    command: x\n', /neither an image nor a build/],
    ['services:\n  s:\n    image: x\n    depends_on: [nope]\n', /depends on undefined service "nope"/],
    ['services:\n  s:\n    image: x\n    networks: [nope]\n', /undefined network "nope"/],
    ['services:\n  s:\n    image: x\n    volumes: ["nope:/data"]\n', /undefined volume "nope"/],
    ['services:\n  s:\n    image: x\n    secrets: [nope]\n', /undefined secret "nope"/],
    ['services:\n  s:\n    image: x\n    network_mode: "service:nope"\n', /network_mode of undefined service "nope"/],
  ])('rejects %j', (yaml, msg) => {
    const dir = tree({ 'compose.yaml': yaml });
    expect(() => load(dir)).toThrow(msg);
    expect(() => load(dir, { consistency: false })).not.toThrow();
  });

  it('reports depends_on cycles with their path and position', () => {
    const dir = tree({ 'compose.yaml': 'services:\n  a:\n    image: x\n    depends_on: [b]\n  b:\n    image: x\n    depends_on: [c]\n  c:\n    image: x\n    depends_on: [a]\n' });
    const e = error(() => load(dir));
    expect(e.code).toBe('CYCLE');
    expect(e.message).toBe('dependency cycle: a -> b -> c -> a');
    expect(e.where).toBe(`${join(dir, 'compose.yaml')}:4:18`);
  });

  it('drops optional dependencies that are not defined', () => {
    const dir = tree({ 'compose.yaml': 'services:\n  a:\n    image: x\n    depends_on: {b: {condition: service_started, required: false}}\n' });
    expect(load(dir).services.a!.depends_on).toEqual({});
  });
});

void mkdirSync;

describe('YAML scalars as Compose reads them', () => {
  it('reads 0440 as octal (as go-yaml does), keeps quoted strings, and YAML 1.2 booleans', () => {
    const dir = tree({ 'compose.yaml': 'services:\n  s:\n    image: x\n    configs: [{source: c, mode: 0440}]\n    environment: {A: "0440", B: yes, C: on}\nconfigs:\n  c: {content: hi}\n' });
    const s = load(dir).services.s!;
    expect(s.configs![0]!.mode).toBe(0o440);
    expect(s.environment).toEqual({ A: '0440', B: 'yes', C: 'on' });
  });
});

describe('config prints what docker compose config prints (compose-go v2.13)', () => {
  const printed = (dir: string, o: Parameters<typeof projectModel>[1] = {}, lo: Partial<LoadOptions> = {}) => projectModel(load(dir, lo), o) as Record<string, any>;

  it('reads label_file like env files: later files win, labels: wins, both file keys dropped', () => {
    const dir = tree({
      'compose.yaml': 'services:\n  s:\n    image: x\n    env_file: e.env\n    label_file: [a.labels, b.labels]\n    labels: [over=inline, bare]\n',
      'e.env': 'E=1\n',
      'a.labels': 'from.a=a\nover=a\nshared=a\nbase=a\nref=${base}-x\n',
      'b.labels': 'shared=b\n',
    });
    const s = printed(dir).services.s;
    expect(s.labels).toEqual({ 'from.a': 'a', over: 'inline', shared: 'b', base: 'a', ref: 'a-x', bare: '' });
    expect(s.environment).toEqual({ E: '1' });
    expect(s).not.toHaveProperty('label_file');
    expect(s).not.toHaveProperty('env_file');
    const e = error(() => load(tree({ 'compose.yaml': 'services:\n  s:\n    image: x\n    label_file: nope.labels\n' })));
    expect(e.message).toMatch(/label file not found: .*nope\.labels/);
    expect(e.location?.line).toBe(4);
  });

  it('gives interpolation the resolved project name as COMPOSE_PROJECT_NAME', () => {
    const yaml = 'services:\n  s:\n    image: ${COMPOSE_PROJECT_NAME}:1.0.0\n';
    expect(printed(tree({ 'compose.yaml': `name: fromfile\n${yaml}` })).services.s.image).toBe('fromfile:1.0.0');
    expect(printed(tree({ 'compose.yaml': `name: \${PREFIX}-app\n${yaml}` }), {}, { environment: { PREFIX: 'my' } }).services.s.image).toBe('my-app:1.0.0');
    expect(printed(tree({ 'compose.yaml': `name: fromfile\n${yaml}` }), {}, { projectName: 'cli' }).services.s.image).toBe('cli:1.0.0');
    const dir = tree({ 'compose.yaml': yaml });
    expect(printed(dir).services.s.image).toBe(`${load(dir).name}:1.0.0`);
  });

  it('prints file modes as octal strings and sizes as strings of bytes', () => {
    const dir = tree({
      'compose.yaml': [
        'services:',
        '  s:',
        '    image: x',
        '    shm_size: 64m',
        '    mem_limit: 1g',
        '    configs: [{source: c, mode: 0440}]',
        '    secrets: [{source: k, mode: "0400"}]',
        '    volumes: [{type: tmpfs, target: /t, tmpfs: {size: 1m, mode: 0755}}]',
        '    deploy: {resources: {limits: {memory: 50M}, reservations: {memory: 1k}}}',
        'configs: {c: {content: x}}',
        'secrets: {k: {environment: K}}',
        '',
      ].join('\n'),
    });
    for (const format of ['yaml', 'json'] as const) {
      const s = printed(dir, { format }).services.s;
      expect(s.configs[0].mode).toBe('0440');
      expect(s.secrets[0].mode).toBe('0400');
      expect(s.shm_size).toBe('67108864');
      expect(s.mem_limit).toBe('1073741824');
      expect(s.deploy.resources).toEqual({ limits: { memory: '52428800' }, reservations: { memory: '1024' } });
      expect(s.volumes[0].tmpfs).toEqual({ size: '1048576', mode: 493 });
    }
  });

  it('keeps config and secret targets as written; a secret without one gets /run/secrets/<source>', () => {
    const dir = tree({
      'compose.yaml': 'services:\n  s:\n    image: x\n    configs: [c, {source: c, target: rel/c}]\n    secrets: [k, {source: k, target: rel/k}]\nconfigs: {c: {content: x}}\nsecrets: {k: {environment: K}}\n',
    });
    const s = printed(dir).services.s;
    expect(s.configs).toEqual([{ source: 'c' }, { source: 'c', target: 'rel/c' }]);
    expect(s.secrets).toEqual([{ source: 'k', target: '/run/secrets/k' }, { source: 'k', target: 'rel/k' }]);
  });

  it('prints binds as Compose does: bind: {} for the short syntax, no bind key for a long one without options', () => {
    const dir = tree({
      'compose.yaml': 'services:\n  s:\n    image: x\n    volumes:\n      - ./a:/a\n      - {type: bind, source: ./b, target: /b}\n      - {type: bind, source: ./c, target: /c, bind: {propagation: rshared}}\n      - {type: bind, source: ./d, target: /d, bind: {create_host_path: false}}\n      - data:/data\nvolumes: {data: {}}\n',
    });
    const v = printed(dir).services.s.volumes;
    expect(v[0]).toEqual({ type: 'bind', source: join(dir, 'a'), target: '/a', bind: {} });
    expect(v[1]).toEqual({ type: 'bind', source: join(dir, 'b'), target: '/b' });
    expect(v[2].bind).toEqual({ propagation: 'rshared' });
    expect(v[3].bind).toEqual({ create_host_path: false });
    expect(v[4]).toEqual({ type: 'volume', source: 'data', target: '/data', volume: {} });
  });

  it('leaves out top-level resources no enabled service uses (external ones too), unless all', () => {
    const dir = tree({
      'compose.yaml': [
        'services:',
        '  s: {image: x, networks: [n], volumes: ["vol:/v"], secrets: [k], configs: [c], build: {context: ., secrets: [bk]}}',
        '  off: {image: x, profiles: [p], networks: [offnet]}',
        'networks: {n: {}, offnet: {}, unused: {}, ext: {external: true}}',
        'volumes: {vol: {}, unusedvol: {}}',
        'secrets: {k: {environment: A}, bk: {environment: B}, unusedk: {environment: C}}',
        'configs: {c: {content: a}, unusedc: {content: b}}',
        '',
      ].join('\n'),
    });
    const m = printed(dir);
    expect(Object.keys(m.networks)).toEqual(['n']);
    expect(Object.keys(m.volumes)).toEqual(['vol']);
    expect(Object.keys(m.secrets)).toEqual(['bk', 'k']);
    expect(Object.keys(m.configs)).toEqual(['c']);
    expect(Object.keys(printed(dir, { all: true }).networks)).toEqual(['ext', 'n', 'offnet', 'unused']);
  });

  it('keeps x- extensions below the top level in YAML only; list labels without = are empty strings', () => {
    const dir = tree({
      'compose.yaml': 'x-top: 1\nservices:\n  s:\n    image: x\n    x-svc: 2\n    environment: {x-keep: "3"}\n    labels: [bare, k=v]\n    deploy: {labels: [dl]}\n    networks: {n: {x-net: 4}}\nnetworks:\n  n: {x-def: 5, labels: [nl]}\n',
    });
    const y = printed(dir);
    expect(y['x-top']).toBe(1);
    expect(y.services.s['x-svc']).toBe(2);
    expect(y.networks.n['x-def']).toBe(5);
    const j = printed(dir, { format: 'json' });
    expect(j['x-top']).toBe(1);
    expect(j.services.s).not.toHaveProperty('x-svc');
    expect(j.services.s.networks.n).toEqual({});
    expect(j.networks.n).not.toHaveProperty('x-def');
    expect(j.services.s.environment).toEqual({ 'x-keep': '3' });
    expect(j.services.s.labels).toEqual({ bare: '', k: 'v' });
    expect(j.services.s.deploy.labels).toEqual({ dl: '' });
    expect(j.networks.n.labels).toEqual({ nl: '' });
  });
});
