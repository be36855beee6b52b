import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import './setup.js';
import { docker, useProjects } from '../helpers/engine.js';

const project = useProjects(afterEach);

const BASE = 'dockyard-test/busybox:latest';
const created = (image: string) => docker('image', 'inspect', image, '--format', '{{.Id}}');

describe('build', () => {
  it('builds in graph order, skips what is current, rebuilds what changed (and what is built FROM it)', () => {
    const p = project({
      'base/Dockerfile': `FROM ${BASE}\nARG FLAVOUR=plain\nRUN echo "$FLAVOUR" > /flavour\nCOPY . /ctx/\n`,
      'base/.dockerignore': '*.log\n',
      'base/keep.txt': 'keep\n',
      'base/noise.log': 'noise\n',
      'app/Dockerfile': 'FROM PROJECT-base\nRUN cat /flavour > /seen\n',
      'compose.yaml': 'services:\n  base:\n    build: {context: ./base, args: {FLAVOUR: spicy}}\n  app:\n    build: ./app\n',
    });
    writeFileSync(join(p.dir, 'app/Dockerfile'), `FROM ${p.name}-base\nRUN cat /flavour > /seen\n`);
    const first = p.ok(['build']);
    expect(first.stderr).toMatch(/build: 2 built, 0 up to date/);
    // order: base is built before app (app starts FROM it)
    expect(first.stderr.indexOf(`Image ${p.name}-base `)).toBeLessThan(first.stderr.indexOf(`Image ${p.name}-app `));
    expect(docker('run', '--rm', `${p.name}-app`, 'sh', '-c', 'cat /seen; ls /ctx')).toBe('spicy\nDockerfile\nkeep.txt');
    const label = docker('image', 'inspect', `${p.name}-app`, '--format', '{{index .Config.Labels "dev.dockyard.source-hash"}}');
    expect(label).toMatch(/^[0-9a-f]{64}$/);
    const ids = [created(`${p.name}-base`), created(`${p.name}-app`)];
    expect(p.ok(['build']).stderr).toMatch(/build: 0 built, 2 up to date/);
    writeFileSync(join(p.dir, 'base/noise.log'), 'more noise\n'); // ignored: no rebuild
    expect(p.ok(['build']).stderr).toMatch(/0 built, 2 up to date/);
    writeFileSync(join(p.dir, 'base/keep.txt'), 'changed\n');
    expect(p.ok(['build']).stderr).toMatch(/2 built, 0 up to date/);
    expect(created(`${p.name}-base`)).not.toBe(ids[0]);
    expect(created(`${p.name}-app`)).not.toBe(ids[1]);
    // --no-cache rebuilds even when current
    expect(p.ok(['build', '--no-cache', 'base']).stderr).toMatch(/1 built/);
  }, 120_000);

  it('targets, dockerfile_inline, a Dockerfile outside the context, labels, tags, and service additional contexts', () => {
    const p = project({
      'multi/Dockerfile': `FROM ${BASE} AS dev\nRUN echo dev > /stage\nFROM ${BASE} AS prod\nRUN echo prod > /stage\n`,
      // a Dockerfile outside its context (as docker build -f ../x does), with its own ignore file
      'docker/app.Dockerfile': `FROM ${BASE}\nCOPY . /app\n`,
      'docker/app.Dockerfile.dockerignore': 'secret.txt\n',
      'app/main.txt': 'main\n',
      'app/secret.txt': 'secret\n',
      'compose.yaml': `services:
  multi:
    build: {context: ./multi, target: dev, labels: {team: shop}, tags: ["PROJECT-extra:1"]}
  inline:
    build:
      context: .
      dockerfile_inline: |
        FROM ${BASE}
        RUN echo inline > /how
  outside:
    build: {context: ./app, dockerfile: ../docker/app.Dockerfile}
  uses:
    build:
      context: .
      additional_contexts: {basis: "service:inline"}
      dockerfile_inline: |
        FROM basis
        RUN cat /how > /copied
`,
    });
    writeFileSync(join(p.dir, 'compose.yaml'), readFileSync(join(p.dir, 'compose.yaml'), 'utf8').replace('PROJECT', p.name));
    p.ok(['build']);
    expect(docker('run', '--rm', `${p.name}-multi`, 'cat', '/stage')).toBe('dev');
    expect(docker('image', 'inspect', `${p.name}-multi`, '--format', '{{index .Config.Labels "team"}}')).toBe('shop');
    expect(docker('run', '--rm', `${p.name}-extra:1`, 'cat', '/stage')).toBe('dev');
    expect(docker('run', '--rm', `${p.name}-uses`, 'cat', '/copied')).toBe('inline');
    expect(docker('run', '--rm', `${p.name}-outside`, 'ls', '/app')).toBe('main.txt');
    docker('rmi', `${p.name}-extra:1`);
  }, 120_000);

  it('a failing step shows the instruction, its exit code and its last output lines', () => {
    const p = project({
      'Dockerfile': `FROM ${BASE}\nRUN echo preparing && echo "compiler: error in main.c" >&2 && exit 42\n`,
      'compose.yaml': 'services:\n  broken:\n    build: .\n',
    });
    const r = p.run(['build']);
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(/build of service "broken" failed at: RUN echo preparing/);
    expect(r.stderr).toMatch(/exit code 42/);
    expect(r.stderr).toMatch(/compiler: error in main\.c/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  }, 60_000);

  it('says clearly when a Dockerfile needs BuildKit', () => {
    const p = project({ 'Dockerfile': `FROM ${BASE}\nRUN --mount=type=cache,target=/cache echo hi\n`, 'compose.yaml': 'services:\n  bk:\n    build: .\n' });
    const r = p.run(['build']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/its Dockerfile uses RUN --mount, which needs BuildKit; this engine builds with the classic builder/);
  });

  it('up builds what is missing or stale; --no-build refuses', () => {
    const p = project({ 'Dockerfile': `FROM ${BASE}\nCOPY msg /msg\nCMD ["sh", "-c", "cat /msg; exec sleep 600"]\n`, msg: 'one\n', 'compose.yaml': 'services:\n  app:\n    build: .\n    init: true\n' });
    const r = p.ok(['up', '-d']);
    expect(r.stderr).toMatch(/Image .*-app +Built /);
    expect(docker('exec', `${p.name}-app-1`, 'cat', '/msg')).toBe('one');
    expect(p.ok(['up', '-d']).stderr).toMatch(/Image .*-app +Current .*up to date/);
    // --build builds even what is current
    expect(p.ok(['up', '-d', '--build']).stderr).toMatch(/Image .*-app +Built /);
    writeFileSync(join(p.dir, 'msg'), 'two\n');
    p.ok(['up', '-d']);
    expect(docker('exec', `${p.name}-app-1`, 'cat', '/msg')).toBe('two'); // rebuilt and recreated
    // run builds too, and down --rmi local removes the images built for the project
    expect(p.ok(['run', '--rm', 'app', 'cat', '/msg']).stdout).toBe('two\n');
    p.ok(['down', '--rmi', 'local']);
    expect(docker('images', '-q', `${p.name}-app`)).toBe('');
    const nb = p.run(['up', '-d', '--no-build']);
    expect(nb.code).toBe(4);
    expect(nb.stderr).toMatch(/image .*-app for service "app" is not built/);
  }, 120_000);

  it('bake builds HCL targets through the same builder', () => {
    const p = project({
      'Dockerfile': `FROM ${BASE}\nARG WHO=nobody\nRUN echo "$WHO" > /who\n`,
      'docker-bake.hcl': 'variable "WHO" {\n  default = "bake"\n}\ntarget "one" {\n  context = "."\n  args = { WHO = "${WHO}" }\n  tags = ["TAG"]\n}\n',
    });
    const tag = `${p.name}-baked:1`;
    writeFileSync(join(p.dir, 'docker-bake.hcl'), readFileSync(join(p.dir, 'docker-bake.hcl'), 'utf8').replace('TAG', tag));
    try {
      const r = p.ok(['bake'], { env: { WHO: 'env' } });
      expect(r.stderr).toMatch(/bake: 1 built/);
      expect(docker('run', '--rm', tag, 'cat', '/who')).toBe('env');
    } finally {
      docker('rmi', '-f', tag);
    }
  }, 60_000);
});
