/**
 * Registries that ask for credentials, found where the docker CLI finds them: push, pull, up of a
 * private image, a build FROM a private image and registry prune, against docker-registry with
 * htpasswd and with its token mode (a token server of the test's own), with credentials from
 * `auths`, from a `credsStore` helper and from `credHelpers` (helper scripts on PATH); a wrong
 * password gives a clear error and no secret in any output.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import './setup.js';
import { BASE, docker, useProjects } from '../helpers/engine.js';
import type { TestProject } from '../helpers/engine.js';
import { startRegistry } from '../helpers/registry.js';
import type { Registry } from '../helpers/registry.js';

const project = useProjects(afterEach);
const ALICE = 'alice-S3cret-pw-9f2c';
const BOB = 'bob-S3cret-pw-7d1e';
const IDENTITY = 'bob-identity-token-51a0';
const WRONG = 'Wr0ng-passw0rd-1c3d';
let basic: Registry;
let token: Registry;
let work: string;
const tags = new Set<string>();

const b64 = (s: string) => Buffer.from(s).toString('base64');
/** every secret of this file, and the encodings they travel in */
const SECRETS = [ALICE, BOB, IDENTITY, WRONG, b64(`alice:${ALICE}`), b64(`bob:${BOB}`), b64(`alice:${WRONG}`), b64(`bob:${WRONG}`)];

beforeAll(async () => {
  [basic, token] = await Promise.all([startRegistry({ users: { alice: ALICE } }), startRegistry({ users: { bob: BOB }, token: { refreshTokens: { [IDENTITY]: 'bob' } } })]);
  work = mkdtempSync(join(tmpdir(), 'dockyard-auth-'));
  mkdirSync(join(work, 'bin'));
  // credential helpers as the docker CLI runs them: `get`, the server address on stdin, JSON out
  const helper = (name: string, cases: Record<string, string>) => {
    const file = join(work, 'bin', `docker-credential-${name}`);
    const arms = Object.entries(cases).map(([host, json]) => `  ${host}) echo '${json}' ;;`).join('\n');
    writeFileSync(file, `#!/bin/sh\n[ "$1" = get ] || exit 1\nread -r url\necho "$url" >> ${join(work, `${name}.log`)}\ncase "$url" in\n${arms}\n  *) echo 'credentials not found in native keychain'; exit 1 ;;\nesac\n`);
    chmodSync(file, 0o755);
  };
  helper('dytest-store', { [basic.host]: JSON.stringify({ ServerURL: basic.host, Username: 'alice', Secret: ALICE }), [token.host]: JSON.stringify({ ServerURL: token.host, Username: 'bob', Secret: BOB }) });
  helper('dytest-identity', { [token.host]: JSON.stringify({ ServerURL: token.host, Username: '<token>', Secret: IDENTITY }) });
}, 60_000);

afterAll(() => {
  basic?.stop();
  token?.stop();
  if (tags.size) spawnSync('docker', ['rmi', '-f', ...tags], { stdio: 'ignore' });
  if (work) rmSync(work, { recursive: true, force: true });
});

/** A DOCKER_CONFIG folder with this config.json; the env the CLI runs with (helpers on PATH). */
function dockerConfig(name: string, config: unknown): Record<string, string> {
  const dir = join(work, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
  return { DOCKER_CONFIG: dir, PATH: `${join(work, 'bin')}:${process.env.PATH}` };
}

function noSecrets(r: { stdout: string; stderr: string }): void {
  for (const s of SECRETS) {
    expect(r.stdout).not.toContain(s);
    expect(r.stderr).not.toContain(s);
  }
}

/** The project: an image built and pushed to `host`, one service using it, one built FROM it. */
function privateProject(host: string): { p: TestProject; image: string } {
  const p = project({ Dockerfile: `FROM ${BASE}\nARG V=1\nRUN echo "private $V" > /m\n` });
  const image = `${host}/${p.name}/app`;
  p.writeFile('derived/Dockerfile', `FROM ${image}:1\nRUN cat /m > /derived\n`);
  p.writeFile(
    'compose.yaml',
    `services:\n  app:\n    build: .\n    image: ${image}:1\n  use:\n    image: ${image}:1\n    init: true\n    command: ["sleep", "600"]\n  derived:\n    build: ./derived\n`,
  );
  tags.add(`${image}:1`);
  tags.add(`${image}:2`);
  return { p, image };
}

/** Lets vitest's worker talk to its parent between commands (spawnSync blocks this process). */
const tick = () => new Promise((r) => setTimeout(r, 0));

/** push, pull, up of the private image, a build FROM it, registry prune: all with the credentials env gives. */
async function everyFlow(host: string, env: Record<string, string>): Promise<void> {
  const { p, image } = privateProject(host);
  const run = async (args: string[]) => {
    const r = p.ok(args, { env });
    noSecrets(r);
    await tick();
    return r;
  };
  await run(['build', '--push', 'app']);
  docker('rmi', '-f', `${image}:1`);
  await run(['pull', 'app']);
  expect(docker('run', '--rm', `${image}:1`, 'cat', '/m')).toBe('private 1');
  docker('rmi', '-f', `${image}:1`);
  // up pulls the missing private image
  await run(['up', '-d', 'use']);
  expect(docker('exec', `${p.name}-use-1`, 'cat', '/m')).toBe('private 1');
  await run(['down']);
  docker('rmi', '-f', `${image}:1`);
  // the engine pulls the base of this build with the credentials sent along (X-Registry-Config)
  await run(['build', 'derived']);
  expect(docker('run', '--rm', `${p.name}-derived`, 'cat', '/derived')).toBe('private 1');
  // a second, newer tag; prune keeps the newest
  await new Promise((r) => setTimeout(r, 1100));
  p.writeFile('compose.yaml', readFileSync(join(p.dir, 'compose.yaml'), 'utf8').replace(/:1\n/g, ':2\n').replace('build: .\n', 'build:\n      context: .\n      args: {V: "2"}\n'));
  await run(['build', '--push', 'app']);
  expect((await run(['registry', 'prune', '--keep', '1', '--dry-run', 'app'])).stdout).toBe(`${host}/${p.name}/app: keep 2; would delete 1\n`);
  expect((await run(['registry', 'prune', '--keep', '1', 'app'])).stdout).toBe(`${host}/${p.name}/app: keep 2; deleted 1\n`);
  expect((await run(['registry', 'prune', '--keep', '1', '--dry-run', 'app'])).stdout).toBe(`${host}/${p.name}/app: keep 2; would delete (none)\n`);
}

describe('registries that ask for credentials', () => {
  it('htpasswd registry, credentials from auths', async () => {
    await everyFlow(basic.host, dockerConfig('auths', { auths: { [basic.host]: { auth: b64(`alice:${ALICE}`) } } }));
  }, 240_000);

  it('token registry, credentials from a credsStore helper (asked with the server address, once per registry and command)', () => {
    const env = dockerConfig('store', { credsStore: 'dytest-store' });
    everyFlow(token.host, env);
    const asked = readFileSync(join(work, 'dytest-store.log'), 'utf8').trim().split('\n');
    expect(new Set(asked)).toEqual(new Set([token.host]));
    expect(token.tokenLog().some((l) => l.startsWith('bob repository:'))).toBe(true);
  }, 240_000);

  it('token registry, an identity token from credHelpers (which wins over credsStore), as an OAuth refresh token', async () => {
    const before = token.tokenLog().length;
    // credsStore names a helper that does not exist: credHelpers must be the one asked
    await everyFlow(token.host, dockerConfig('helpers', { credsStore: 'nosuchhelper', credHelpers: { [token.host]: 'dytest-identity' } }));
    expect(readFileSync(join(work, 'dytest-identity.log'), 'utf8')).toContain(token.host);
    expect(token.tokenLog().slice(before).filter((l) => l.startsWith('bob '))).not.toEqual([]);
  }, 240_000);

  it('deploy pins a private image to the digest its registry has, asking with the credentials (none: a warning that says what to run)', async () => {
    const env = dockerConfig('deploy', { auths: { [token.host]: { auth: b64(`bob:${BOB}`) } } });
    const { p, image } = privateProject(token.host);
    p.ok(['build', '--push', 'app'], { env });
    await tick();
    p.writeFile('compose.yaml', `services:\n  use:\n    image: ${image}:1\n    init: true\n    command: ["sleep", "600"]\n`);
    const digest = JSON.parse(docker('image', 'inspect', '--format', '{{json .RepoDigests}}', `${image}:1`))[0].split('@')[1] as string;
    try {
      const r = p.ok(['deploy', '--detach'], { env });
      noSecrets(r);
      expect(r.stderr).not.toMatch(/no registry gave a digest/);
      expect(docker('service', 'inspect', '--format', '{{.Spec.TaskTemplate.ContainerSpec.Image}}', `${p.name}_use`)).toBe(`${image}:1@${digest}`);
      await tick();
      const anon = p.ok(['deploy', '--detach'], { env: dockerConfig('deploy-none', {}) });
      expect(anon.stderr).toMatch(new RegExp(`warning: no registry gave a digest for ${image.replace(/\./g, '\\.')}:1 \\(.*asks for credentials, and none are configured for it.*docker login ${token.host.replace(/\./g, '\\.')}`));
    } finally {
      spawnSync('docker', ['service', 'rm', `${p.name}_use`], { stdio: 'ignore' });
      // the network goes once the tasks' containers have
      for (let i = 0; i < 40 && spawnSync('docker', ['network', 'rm', `${p.name}_default`], { stdio: 'ignore' }).status !== 0 && docker('network', 'ls', '-q', '--filter', `name=${p.name}_default`); i++) await new Promise((r) => setTimeout(r, 500));
    }
  }, 240_000);

  it('a wrong password: every command says which registry refused whose credentials and what to run, exit 4, no secret anywhere', async () => {
    // the image is in both registries first (with the right credentials)
    const good = dockerConfig('good', { auths: { [basic.host]: { auth: b64(`alice:${ALICE}`) }, [token.host]: { auth: b64(`bob:${BOB}`) } } });
    const bad = dockerConfig('bad', { auths: { [basic.host]: { auth: b64(`alice:${WRONG}`) }, [token.host]: { auth: b64(`bob:${WRONG}`) } } });
    const none = dockerConfig('none', {});
    for (const [reg, user] of [[basic, 'alice'], [token, 'bob']] as const) {
      const { p, image } = privateProject(reg.host);
      p.ok(['build', '--push', 'app'], { env: good });
      docker('rmi', '-f', `${image}:1`);
      await tick();
      const refused = new RegExp(`the registry ${reg.host.replace(/\./g, '\\.')} refused the credentials of user "${user}" \\(from auths in ${join(work, 'bad', 'config.json').replace(/\./g, '\\.')}\\).*; run \`docker login ${reg.host.replace(/\./g, '\\.')}\``);
      for (const args of [['pull', 'app'], ['up', '-d', 'use'], ['build', 'derived'], ['registry', 'prune', '--keep', '0', 'app']]) {
        const r = p.run(args, { env: bad });
        expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(4);
        expect(r.stderr, args.join(' ')).toMatch(refused);
        noSecrets(r);
        await tick();
      }
      // push needs the image here
      p.ok(['pull', 'app'], { env: good });
      await tick();
      const push = p.run(['push', 'app'], { env: bad });
      expect(push.code).toBe(4);
      expect(push.stderr).toMatch(refused);
      noSecrets(push);
      // without any credentials: says so, and what to run
      await tick();
      const anon = p.run(['push', 'app'], { env: none });
      expect(anon.code).toBe(4);
      expect(anon.stderr).toMatch(new RegExp(`the registry ${reg.host.replace(/\./g, '\\.')} asks for credentials, and none are configured for it.*; run \`docker login ${reg.host.replace(/\./g, '\\.')}\``));
      // a dry run shows no secret either
      await tick();
      const dry = p.run(['--dry-run', 'push', 'app'], { env: bad });
      expect(dry.code).toBe(0);
      expect(dry.stdout).toMatch(/DRY-RUN: would push image/);
      noSecrets(dry);
    }
  }, 240_000);
});
