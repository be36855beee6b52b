import { afterEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { loadBakeFiles, resolveBake } from '../../src/build/bake.js';
import { baseImages, needsBuildKit } from '../../src/build/builder.js';
import { listContext, sourceHash } from '../../src/build/context.js';
import { cleanupTrees, cli, tree } from '../helpers/fs.js';

afterEach(cleanupTrees);

const HCL = `variable "TAG" {
  default = "latest"
}
variable "REPO" {
  default = "shop/\${TAG}"
}
group "default" {
  targets = ["app", "worker"]
}
group "all" {
  targets = ["default", "tools"]
}
target "base" {
  context = "."
  args = { A = "1" }
  labels = { team = "shop" }
}
target "app" {
  inherits = ["base"]
  dockerfile = "app.Dockerfile"
  tags = ["app:\${TAG}"]
  args = { B = "x-\${TAG}" }
}
target "worker" {
  inherits = ["app"]
  target = "worker"
  tags = ["\${REPO}-worker"]
}
target "tools" {
  context = "tools"
}
`;

describe('bake', () => {
  it('resolves HCL targets, groups, inherits and variables (environment wins)', async () => {
    const dir = tree({ 'docker-bake.hcl': HCL });
    const { def } = await loadBakeFiles(undefined, dir, {});
    const r = resolveBake(def, [], [], {});
    expect(r.group).toEqual({ default: { targets: ['app', 'worker'] } });
    expect(r.target.app).toEqual({ args: { A: '1', B: 'x-latest' }, context: dir, dockerfile: 'app.Dockerfile', labels: { team: 'shop' }, tags: ['app:latest'] });
    expect(r.target.worker).toMatchObject({ target: 'worker', tags: ['shop/latest-worker'], args: { A: '1', B: 'x-latest' } });
    const env = resolveBake(def, ['all'], [], { TAG: 'v2' });
    expect(Object.keys(env.target)).toEqual(['app', 'tools', 'worker']);
    expect(env.target.worker!.tags).toEqual(['shop/v2-worker']);
    expect(env.target.tools!.context).toBe(join(dir, 'tools'));
  });

  it('applies --set (with * patterns, args, lists, booleans)', async () => {
    const dir = tree({ 'docker-bake.hcl': HCL });
    const { def } = await loadBakeFiles(undefined, dir, {});
    const r = resolveBake(def, ['app', 'worker'], ['*.args.C=3', 'app.tags=a', 'app.tags=b', 'worker.no-cache=true', 'worker.target=dev'], {});
    expect(r.target.app!.args).toEqual({ A: '1', B: 'x-latest', C: '3' });
    expect(r.target.app!.tags).toEqual(['a', 'b']);
    expect(r.target.worker!['no-cache']).toBe(true);
    expect(r.target.worker!.target).toBe('dev');
    expect(() => resolveBake(def, ['app'], ['app.bogus=1'], {})).toThrow(/unknown key "bogus"/);
    expect(() => resolveBake(def, ['nope'], [], {})).toThrow(/no target or group named "nope"/);
  });

  it('reads JSON bake files and Compose files, later files overriding earlier ones', async () => {
    const dir = tree({
      'compose.yaml': 'services:\n  api:\n    build: {context: ./api, args: {X: "1"}, target: prod}\n    image: shop/api\n  db:\n    image: postgres\n',
      'docker-bake.json': JSON.stringify({ target: { api: { tags: ['shop/api:json'] }, extra: { context: 'extra' } }, group: { default: { targets: ['api', 'extra'] } } }),
    });
    const { def } = await loadBakeFiles(undefined, dir, {});
    const r = resolveBake(def, [], [], {});
    expect(Object.keys(r.target)).toEqual(['api', 'extra']);
    expect(r.target.api).toMatchObject({ context: join(dir, 'api'), dockerfile: 'Dockerfile', args: { X: '1' }, target: 'prod', tags: ['shop/api:json'] });
  });

  it('detects cycles and unknown variables', async () => {
    const dir = tree({ 'docker-bake.hcl': 'target "a" {\n  inherits = ["b"]\n}\ntarget "b" {\n  inherits = ["a"]\n}\ntarget "c" {\n  tags = ["x:${NOPE}"]\n}\n' });
    const { def } = await loadBakeFiles(undefined, dir, {});
    expect(() => resolveBake(def, ['a'], [], {})).toThrow(/inherits cycle: a -> b -> a/);
    expect(() => resolveBake(def, ['c'], [], {})).toThrow(/unknown variable "NOPE"/);
  });

  it('--print prints {"group", "target"} JSON; HCL errors name the file, line and column', () => {
    const dir = tree({ 'docker-bake.hcl': HCL });
    const r = cli(['bake', '--print', 'worker'], { cwd: dir, env: { TAG: 'v9' } });
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j).toEqual({
      group: { default: { targets: ['worker'] } },
      target: { worker: { args: { A: '1', B: 'x-v9' }, context: '.', dockerfile: 'app.Dockerfile', labels: { team: 'shop' }, tags: ['shop/v9-worker'], target: 'worker' } },
    });
    const bad = tree({ 'docker-bake.hcl': 'target "a" { context = "." tags = ["x"] }\n' });
    const e = cli(['bake', '--print'], { cwd: bad });
    expect(e.code).toBe(1);
    expect(e.stderr).toMatch(new RegExp(`^error: ${join(bad, 'docker-bake.hcl')}:1:\\d+: invalid HCL`));
  });
});

describe('build contexts', () => {
  it('honours .dockerignore, and <Dockerfile>.dockerignore over it', () => {
    const dir = tree({ 'Dockerfile': 'FROM x\n', '.dockerignore': '*.log\nsecrets/\n!secrets/public.txt\n', 'a.txt': '', 'b.log': '', 'secrets/key': '', 'secrets/public.txt': '', 'dev.Dockerfile': 'FROM y\n', 'dev.Dockerfile.dockerignore': 'a.txt\n' });
    const files = listContext(dir, 'Dockerfile').filter((f) => f.kind === 'file').map((f) => f.path);
    expect(files).toEqual(['.dockerignore', 'Dockerfile', 'a.txt', 'dev.Dockerfile', 'dev.Dockerfile.dockerignore', 'secrets/public.txt']);
    const dev = listContext(dir, 'dev.Dockerfile').filter((f) => f.kind === 'file').map((f) => f.path);
    expect(dev).not.toContain('a.txt');
    expect(dev).toContain('b.log');
  });

  it('hashes content, Dockerfile, args and target; ignored files do not count', () => {
    const dir = tree({ 'Dockerfile': 'FROM x\n', '.dockerignore': '*.log\n', 'a.txt': '1' });
    const h = (args = {}, target?: string) => sourceHash(listContext(dir, 'Dockerfile'), { dockerfile: 'FROM x\n', args, target });
    const base = h();
    expect(h()).toBe(base);
    expect(h({ A: '1' })).not.toBe(base);
    expect(h({}, 'prod')).not.toBe(base);
    const withLog = tree({ 'Dockerfile': 'FROM x\n', '.dockerignore': '*.log\n', 'a.txt': '1', 'noise.log': 'x' });
    expect(sourceHash(listContext(withLog, 'Dockerfile'), { dockerfile: 'FROM x\n' })).toBe(base);
    const changed = tree({ 'Dockerfile': 'FROM x\n', '.dockerignore': '*.log\n', 'a.txt': '2' });
    expect(sourceHash(listContext(changed, 'Dockerfile'), { dockerfile: 'FROM x\n' })).not.toBe(base);
  });

  it('names the BuildKit features the classic builder lacks, and finds base images', () => {
    expect(needsBuildKit('FROM x\nRUN --mount=type=cache,target=/root/.cache pip install\n')).toBe('RUN --mount');
    expect(needsBuildKit('FROM x\nRUN <<EOF\necho hi\nEOF\n')).toBe('heredocs (<<EOF)');
    expect(needsBuildKit('FROM x\nRUN echo hi\n')).toBeUndefined();
    expect(baseImages('FROM a:1 AS build\nFROM build AS test\nFROM --platform=linux/amd64 b\nFROM scratch\n')).toEqual(['a:1', 'b']);
  });
});
