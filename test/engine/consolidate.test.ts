/**
 * consolidate: every original Dockerfile and its target in the consolidated one build to images
 * with the same files and configuration (and, for the small case, the same history: the engine's
 * record of each layer); an environment of a larger sprawl (test/fixtures-sprawl2) comes up from
 * its new files (base + environment + two cross-cutting overlays) as the original says.
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import './setup.js';
import { BASE, docker, dockerJson, useProjects } from '../helpers/engine.js';
import { CLI, cleanupTrees, cli, dockerEnv, tree } from '../helpers/fs.js';

const tag = `dyt-consolidate-${randomBytes(4).toString('hex')}`;
const images: string[] = [];
afterAll(() => {
  if (images.length) spawnSync('docker', ['rmi', '-f', ...images], { stdio: 'ignore' });
  cleanupTrees();
});

/**
 * Runs a command without blocking vitest's worker (a build takes minutes on a busy engine, and a
 * worker blocked that long times out its calls to the runner).
 */
function run(cmd: string, args: string[], o: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { env: o.env ?? process.env, cwd: o.cwd });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
/** the built CLI, as helpers/fs.ts's cli() runs it, without blocking */
const dockyard = (args: string[], cwd?: string) => run(process.execPath, [CLI, ...args], { cwd, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/root', ...dockerEnv() } });
/** every file of an image and its checksum (timestamps of rebuilt layers differ, contents must not) */
const filesOfImage = async (image: string) => {
  const r = await run('docker', ['run', '--rm', '--entrypoint', 'sh', image, '-c', 'find / -xdev -type f ! -path "/proc/*" ! -path "/sys/*" ! -path "/etc/hostname" ! -path "/etc/hosts" ! -path "/etc/resolv.conf" -exec md5sum {} + | sort']);
  if (r.code !== 0) throw new Error(`listing the files of ${image} failed:\n${r.stderr}`);
  return r.stdout.trim();
};

/**
 * An original is built by `docker build` (the classic builder, which reads the folder's
 * .dockerignore); a target by dockyard, from a Compose file as a user would, which reads
 * Dockerfile.dockerignore beside the consolidated Dockerfile.
 */
const build = async (dockerfile: string, context: string, name: string, target?: string) => {
  const image = `${tag}:${name}`;
  images.push(image);
  const r = target
    ? await dockyard(['-p', `${tag}-${name}`, '-f', join(tree({ 'compose.yaml': `services:\n  t:\n    image: ${image}\n    build:\n      context: ${context}\n      dockerfile: ${dockerfile}\n      target: ${target}\n` }), 'compose.yaml'), 'build', '--quiet'])
    : await run('docker', ['build', '-q', '-f', dockerfile, '-t', image, context], { env: { ...process.env, DOCKER_BUILDKIT: '0' } });
  if (r.code !== 0) throw new Error(`building ${dockerfile} failed:\n${r.stderr}`);
  return {
    config: configOf(image),
    // the builder names a copied folder by a hash that includes its path in the context (which the
    // unified context changes): masked here; the layers' content digests below compare the files
    history: docker('history', '--no-trunc', '--format', '{{.CreatedBy}}', image).split('\n').map((l) => l.replace(/(dir|file|multi):[0-9a-f]{64}/, '$1:*'))
      // (the labels dockyard puts on what it builds are layers of their own: not the Dockerfile's)
      .filter((l) => !/#\(nop\) +LABEL (dev\.dockyard|com\.docker\.compose)\./.test(l)),
    files: await filesOfImage(image),
  };
};

/**
 * An image's configuration (what a container of it starts with), without what differs by build
 * and not by Dockerfile: the parent layer's id, the builder's host name, the labels dockyard puts
 * on what it builds.
 */
function configOf(image: string): Record<string, unknown> {
  const c = dockerJson<Array<{ Config: Record<string, unknown> }>>('image', 'inspect', image)[0]!.Config;
  const { Image: _i, Hostname: _h, Labels, ...rest } = c;
  const labels = Object.fromEntries(Object.entries((Labels ?? {}) as Record<string, string>).filter(([k]) => !/^(dev\.dockyard|com\.docker\.compose)\./.test(k)));
  return { ...rest, Labels: labels };
}

describe('consolidate (engine)', () => {
  it('each original and its target build to the same layers; the consolidated Compose files build the targets', async () => {
    const dir = tree({
      'a/Dockerfile': `FROM ${BASE}\nWORKDIR /app\nRUN echo shared > /shared \\\n && echo more >> /shared\nCOPY src /app/src\nCOPY --chown=1:1 src/a.txt \\\n  src/b.txt /app/two/\nCMD ["cat", "/app/src/a.txt"]\n`,
      'a/src/a.txt': 'a\n',
      'a/src/b.txt': 'b\n',
      'b/Dockerfile.prod': `FROM ${BASE}\nWORKDIR /app\nRUN echo shared > /shared \\\n && echo more >> /shared\nCOPY ["conf", "/etc/b"]\nCMD ["cat", "/etc/b/b.conf"]\n`,
      'b/conf/b.conf': 'b\n',
      'b/conf/skip.conf': 'left out by b/.dockerignore\n',
      'b/.dockerignore': 'conf/skip.conf\n',
      'c.Dockerfile': `FROM ${BASE} AS build\nCOPY a/src /src\nRUN ls /src > /list\nFROM ${BASE}\nCOPY --from=build /list /list\n`,
      // two environments that build them: after consolidation they build the new targets
      'compose.yaml': 'services:\n  a:\n    build: ./a\n  b:\n    build: {context: ./b, dockerfile: Dockerfile.prod}\n',
      'compose.prod.yaml': 'services:\n  a:\n    build: ./a\n    read_only: true\n  c:\n    build: {context: ., dockerfile: c.Dockerfile, target: build}\n',
    });
    const out = join(tree({}), 'out');
    const r = cli(['consolidate', dir, '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/Dockerfiles: 3 files/);
    const manifest = JSON.parse(readFileSync(join(out, 'consolidate.json'), 'utf8')) as { dockerfiles: Record<string, { dockerfile: string; target: string; context: string }> };
    expect(Object.keys(manifest.dockerfiles).sort()).toEqual(['a/Dockerfile', 'b/Dockerfile.prod', 'c.Dockerfile']);
    const filesOf = new Map<string, string>();
    for (const [orig, t] of Object.entries(manifest.dockerfiles)) {
      const [before, after] = await Promise.all([build(join(dir, orig), join(dir, dirname(orig)), `${t.target}-before`), build(join(out, t.dockerfile), join(out, t.context), `${t.target}-after`, t.target)]);
      expect(after.history, orig).toEqual(before.history);
      expect(after.files, orig).toBe(before.files);
      expect(after.config, orig).toEqual(before.config);
      expect(before.files).toMatch(orig === 'c.Dockerfile' ? / \/list$/m : orig.startsWith('a') ? / \/app\/src\/a\.txt$/m : / \/etc\/b\/b\.conf$/m);
      expect(before.history.some((l) => /COPY/.test(l))).toBe(true);
      expect(before.files).not.toMatch(/skip\.conf/);
      filesOf.set(orig, before.files);
    }
    // the consolidated Compose files build the targets: the same files as the originals' images
    const manifestCompose = (JSON.parse(readFileSync(join(out, 'consolidate.json'), 'utf8')) as { compose: Record<string, string[]> }).compose;
    const name = `${tag}-compose`;
    for (const [orig, files] of Object.entries(manifestCompose)) {
      const b = await dockyard(['-p', name, '--project-directory', dir, ...files.flatMap((f) => ['-f', join(out, f)]), 'build', '--quiet']);
      expect(b.code, b.stderr).toBe(0);
      for (const svc of orig === 'compose.yaml' ? ['a', 'b'] : ['a', 'c']) {
        const image = `${name}-${svc}`;
        images.push(image);
        const files = await filesOfImage(image);
        if (svc === 'c') expect(files, `${orig} ${svc}`).toMatch(/ \/src\/a\.txt$/m); // the build stage of c.Dockerfile
        else expect(files, `${orig} ${svc}`).toBe(filesOf.get(svc === 'a' ? 'a/Dockerfile' : 'b/Dockerfile.prod'));
      }
    }
    expect(readFileSync(join(out, 'compose.base.yaml'), 'utf8')).toMatch(/target: a\n/);
  }, 300_000);
});

/** test/fixtures-sprawl2's files, its image names pointed at the test image. */
function sprawl2(): Record<string, string> {
  const root = join(import.meta.dirname, '..', 'fixtures-sprawl2');
  const files: Record<string, string> = {};
  const walk = (rel: string) => {
    for (const name of readdirSync(join(root, rel))) {
      const r = rel ? `${rel}/${name}` : name;
      if (statSync(join(root, r)).isDirectory()) walk(r);
      else files[r] = readFileSync(join(root, r), 'utf8').replaceAll('dockyard-test/busybox:latest', BASE);
    }
  };
  walk('');
  return files;
}

describe('consolidate (engine): a larger sprawl', () => {
  const project = useProjects(afterEach);

  it('each original Dockerfile and its target build to images with the same files and configuration', async () => {
    const dir = tree(sprawl2());
    const out = join(dir, 'consolidated');
    const r = cli(['consolidate', dir, '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    const manifest = JSON.parse(readFileSync(join(out, 'consolidate.json'), 'utf8')) as { dockerfiles: Record<string, { dockerfile: string; target: string; context: string }> };
    expect(Object.keys(manifest.dockerfiles).sort()).toEqual(['api/Dockerfile', 'api/Dockerfile.dev', 'tools/Dockerfile.test', 'web/Dockerfile', 'worker/Dockerfile']);
    for (const [orig, t] of Object.entries(manifest.dockerfiles)) {
      const [before, after] = await Promise.all([build(join(dir, orig), join(dir, dirname(orig)), `s2-${t.target}-before`), build(join(out, t.dockerfile), join(out, t.context), `s2-${t.target}-after`, t.target)]);
      expect(after.files, orig).toBe(before.files);
      expect(after.config, orig).toEqual(before.config);
      expect(before.files, orig).toMatch(orig.startsWith('web') ? / \/www\/index\.html$/m : / \/app\/package\.json$/m);
    }
  }, 480_000);

  it('production-secure comes up from base + prod + performance + hardening, as the original describes it', async () => {
    const p = project(sprawl2());
    const c = p.run(['consolidate', '.', '--out', 'consolidated']);
    expect(c.code, c.stderr).toBe(0);
    const manifest = JSON.parse(readFileSync(join(p.dir, 'consolidated', 'consolidate.json'), 'utf8')) as { compose: Record<string, string[]>; profiles: Record<string, string[]> };
    const files = manifest.compose['docker-compose.production-secure.yml']!;
    expect(files).toEqual(['compose.base.yaml', 'compose.prod.yaml', 'compose.performance.yaml', 'compose.hardening.yaml']);
    expect(manifest.profiles['docker-compose.production-secure.yml']).toBeUndefined();
    const up = await dockyard(['-p', p.name, '--project-directory', '.', ...files.flatMap((f) => ['-f', `consolidated/${f}`]), 'up', '--wait', '--wait-timeout', '240s'], p.dir);
    expect(up.code, `${up.stdout}\n${up.stderr}`).toBe(0);
    const running = p.containers();
    expect(running.map((x) => [x.service, x.state])).toEqual([
      ['api', 'running'],
      ['cache', 'running'],
      ['db', 'running'],
      ['web', 'running'],
      ['worker', 'running'],
    ]);
    const of = (svc: string) => p.inspect(running.find((x) => x.service === svc)!.id);
    // the values of each tier, as the original production-secure file has them
    const api = of('api');
    expect(api.Config.Env).toEqual(expect.arrayContaining(['LOG_LEVEL=info', 'WORKERS=8', 'DATABASE_URL=postgres://shop:shop@db:5432/shop']));
    expect(api.HostConfig.RestartPolicy.Name).toBe('always');
    expect(api.HostConfig.LogConfig).toEqual({ Type: 'json-file', Config: { 'max-file': '3', 'max-size': '10m' } });
    expect(api.HostConfig.Memory).toBe(256 * 1024 * 1024);
    expect(api.HostConfig.Ulimits).toEqual([{ Name: 'nofile', Soft: 4096, Hard: 8192 }]);
    expect(api.HostConfig.ReadonlyRootfs).toBe(true);
    expect(api.HostConfig.CapDrop).toEqual(['ALL']);
    expect(api.HostConfig.SecurityOpt).toEqual(['no-new-privileges:true']);
    expect(Object.keys(api.HostConfig.Tmpfs ?? {})).toEqual(['/tmp']);
    expect(of('web').HostConfig.ReadonlyRootfs).toBe(true);
    expect(of('worker').Config.Env).toEqual(expect.arrayContaining(['CONCURRENCY=16', 'QUEUES=default,mail']));
    // the base publishes the database's port; prod resets it
    const db = of('db');
    expect(db.HostConfig.PortBindings ?? {}).toEqual({});
    expect(db.HostConfig.ShmSize).toBe(256 * 1024 * 1024);
    expect(db.HostConfig.RestartPolicy.Name).toBe('always');
    // the built image is the consolidated Dockerfile's api target
    expect(docker('run', '--rm', '--entrypoint', 'cat', api.Image, '/app/deps.txt')).toMatch(/package\.json/);
  }, 360_000);
});
