/** pull, push, build --push, bake --push and registry prune against a real local registry. */
import { spawnSync } from 'node:child_process';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import './setup.js';
import { BASE, docker, useProjects } from '../helpers/engine.js';
import { startRegistry } from '../helpers/registry.js';
import type { Registry } from '../helpers/registry.js';

const project = useProjects(afterEach);
let reg: Registry;
const pushed: string[] = [];

beforeAll(async () => {
  reg = await startRegistry();
});
afterAll(() => {
  reg?.stop();
  for (const t of pushed) spawnSync('docker', ['rmi', '-f', t], { stdio: 'ignore' });
});

const tags = async (repo: string) => ((await (await fetch(`http://${reg.host}/v2/${repo}/tags/list`)).json()) as { tags: string[] | null }).tags ?? [];

describe('registry', () => {
  it('build --push sends the built image; after removing it here, pull brings it back; push and pull report failures', async () => {
    const image = `${reg.host}/team/app:1`;
    pushed.push(image);
    const p = project({ Dockerfile: `FROM ${BASE}\nRUN echo built > /marker\n`, 'compose.yaml': `services:\n  app:\n    build: .\n    image: ${image}\n  missing:\n    image: ${reg.host}/team/none:1\n` });
    p.ok(['build', '--push', 'app']);
    expect(await tags('team/app')).toEqual(['1']);
    const id = docker('image', 'inspect', '--format', '{{.Id}}', image);
    docker('rmi', '-f', image);
    const pull = p.run(['pull', 'app', '--quiet']);
    expect(pull.code).toBe(0);
    expect(pull.stderr).toBe('');
    expect(docker('image', 'inspect', '--format', '{{.Id}}', image)).toBe(id);
    expect(docker('run', '--rm', image, 'cat', '/marker')).toBe('built');
    // one image is not in the registry: an error, unless told to go on
    const fail = p.run(['pull']);
    expect(fail.code).toBe(4);
    expect(fail.stderr).toMatch(/cannot pull .*team\/none:1/);
    const ignored = p.run(['pull', '--ignore-pull-failures']);
    expect(ignored.code).toBe(0);
    expect(ignored.stderr).toMatch(/warning: .*team\/none:1/);
    // push of an image that is not here fails the same way
    expect(p.run(['push', 'missing']).code).toBe(4);
    expect(p.run(['push', 'missing', '--ignore-push-failures']).code).toBe(0);
  }, 120_000);

  it('up honours pull_policy: always pulls a newer image from the registry', async () => {
    const image = `${reg.host}/team/policy:1`;
    pushed.push(image);
    docker('tag', BASE, image);
    docker('push', image);
    const p = project({ Dockerfile: `FROM ${BASE}\nRUN echo v2 > /v\n`, 'compose.yaml': `services:\n  app:\n    image: ${image}\n    pull_policy: always\n    command: ["sleep", "600"]\n    init: true\n` });
    // the registry gets a newer image under the same tag (built and pushed elsewhere)
    docker('build', '-q', '-t', image, p.dir);
    docker('push', image);
    const newer = docker('image', 'inspect', '--format', '{{.Id}}', image);
    docker('tag', BASE, image); // here, the tag points to the old image again
    p.ok(['up', '-d']);
    expect(p.inspect(`${p.name}-app-1`).Image).toBe(newer);
  }, 120_000);

  it('bake --push, then registry prune keeps the newest N tags (--dry-run first)', async () => {
    const repo = 'team/pruned';
    const p = project({ Dockerfile: `FROM ${BASE}\nARG V\nRUN echo $V > /v\n`, 'compose.yaml': `services:\n  app:\n    image: ${reg.host}/${repo}:latest\n` });
    for (const v of ['1', '2', '3', '4']) {
      const tag = `${reg.host}/${repo}:${v}`;
      pushed.push(tag);
      p.writeFile('docker-bake.hcl', `target "default" {\n  context = "."\n  args = { V = "${v}" }\n  tags = ["${tag}"]\n}\n`);
      p.ok(['bake', '-f', 'docker-bake.hcl', '--push']);
      await new Promise((r) => setTimeout(r, 1100)); // distinct creation times
    }
    expect((await tags(repo)).sort()).toEqual(['1', '2', '3', '4']);
    const dry = p.ok(['registry', 'prune', '--keep', '2', '--dry-run']);
    expect(dry.stdout).toBe(`${reg.host}/${repo}: keep 4, 3; would delete 2, 1\n`);
    expect((await tags(repo)).sort()).toEqual(['1', '2', '3', '4']);
    p.ok(['registry', 'prune', '--keep', '2']);
    expect((await tags(repo)).sort()).toEqual(['3', '4']);
    expect(p.run(['registry', 'prune', '--keep', 'x']).code).toBe(2);
  }, 120_000);
});
