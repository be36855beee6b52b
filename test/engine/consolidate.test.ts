/**
 * consolidate: every original Dockerfile and its target in the consolidated one build to images
 * with the same history (the engine's record of each layer) and the same files.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import './setup.js';
import { BASE, docker } from '../helpers/engine.js';
import { cleanupTrees, cli, tree } from '../helpers/fs.js';

const tag = `dyt-consolidate-${randomBytes(4).toString('hex')}`;
const images: string[] = [];
afterAll(() => {
  if (images.length) spawnSync('docker', ['rmi', '-f', ...images], { stdio: 'ignore' });
  cleanupTrees();
});

/**
 * An original is built by `docker build` (the classic builder, which reads the folder's
 * .dockerignore); a target by dockyard, from a Compose file as a user would, which reads
 * Dockerfile.dockerignore beside the consolidated Dockerfile.
 */
const build = (dockerfile: string, context: string, name: string, target?: string) => {
  const image = `${tag}:${name}`;
  images.push(image);
  const r = target
    ? cli(['-p', `${tag}-${name}`, '-f', join(tree({ 'compose.yaml': `services:\n  t:\n    image: ${image}\n    build:\n      context: ${context}\n      dockerfile: ${dockerfile}\n      target: ${target}\n` }), 'compose.yaml'), 'build', '--quiet'])
    : (() => {
        const x = spawnSync('docker', ['build', '-q', '-f', dockerfile, '-t', image, context], { encoding: 'utf8', env: { ...process.env, DOCKER_BUILDKIT: '0' } });
        return { code: x.status, stderr: x.stderr };
      })();
  if (r.code !== 0) throw new Error(`building ${dockerfile} failed:\n${r.stderr}`);
  return {
    // the builder names a copied folder by a hash that includes its path in the context (which the
    // unified context changes): masked here; the layers' content digests below compare the files
    history: docker('history', '--no-trunc', '--format', '{{.CreatedBy}}', image).split('\n').map((l) => l.replace(/(dir|file|multi):[0-9a-f]{64}/, '$1:*'))
      // (the labels dockyard puts on what it builds are layers of their own: not the Dockerfile's)
      .filter((l) => !/#\(nop\) +LABEL (dev\.dockyard|com\.docker\.compose)\./.test(l)),
    // every file of the image and its checksum (timestamps of rebuilt layers differ, contents must not)
    files: docker('run', '--rm', '--entrypoint', 'sh', image, '-c', 'find / -xdev -type f ! -path "/proc/*" ! -path "/sys/*" ! -path "/etc/hostname" ! -path "/etc/hosts" ! -path "/etc/resolv.conf" -exec md5sum {} + | sort'),
  };
};

describe('consolidate (engine)', () => {
  it('each original and its target build to the same layers; the consolidated Compose files build the targets', () => {
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
      const before = build(join(dir, orig), join(dir, dirname(orig)), `${t.target}-before`);
      const after = build(join(out, t.dockerfile), join(out, t.context), `${t.target}-after`, t.target);
      expect(after.history, orig).toEqual(before.history);
      expect(after.files, orig).toBe(before.files);
      expect(before.files).toMatch(orig === 'c.Dockerfile' ? / \/list$/m : orig.startsWith('a') ? / \/app\/src\/a\.txt$/m : / \/etc\/b\/b\.conf$/m);
      expect(before.history.some((l) => /COPY/.test(l))).toBe(true);
      expect(before.files).not.toMatch(/skip\.conf/);
      filesOf.set(orig, before.files);
    }
    // the consolidated Compose files build the targets: the same files as the originals' images
    const manifestCompose = (JSON.parse(readFileSync(join(out, 'consolidate.json'), 'utf8')) as { compose: Record<string, string[]> }).compose;
    const name = `${tag}-compose`;
    for (const [orig, files] of Object.entries(manifestCompose)) {
      const b = cli(['-p', name, '--project-directory', dir, ...files.flatMap((f) => ['-f', join(out, f)]), 'build', '--quiet']);
      expect(b.code, b.stderr).toBe(0);
      for (const svc of orig === 'compose.yaml' ? ['a', 'b'] : ['a', 'c']) {
        const image = `${name}-${svc}`;
        images.push(image);
        const files = docker('run', '--rm', '--entrypoint', 'sh', image, '-c', 'find / -xdev -type f ! -path "/proc/*" ! -path "/sys/*" ! -path "/etc/hostname" ! -path "/etc/hosts" ! -path "/etc/resolv.conf" -exec md5sum {} + | sort');
        if (svc === 'c') expect(files, `${orig} ${svc}`).toMatch(/ \/src\/a\.txt$/m); // the build stage of c.Dockerfile
        else expect(files, `${orig} ${svc}`).toBe(filesOf.get(svc === 'a' ? 'a/Dockerfile' : 'b/Dockerfile.prod'));
      }
    }
    expect(readFileSync(join(out, 'compose.base.yaml'), 'utf8')).toMatch(/target: a\n/);
  }, 120_000);
});
