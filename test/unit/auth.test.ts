/** Registry credentials as the docker CLI finds them, and dockyard's registry client's challenge handling (no engine). */
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { authKey, DockerConfigCredentials, encodeForEngine, HUB_KEY, isAuthRefusal, isDockerHub, loginCommand, readDockerConfig, redact, registryOf, StaticCredentials } from '../../src/registry/auth.js';
import { parseChallenge, parseRef, pruneRepository, RegistryClient } from '../../src/registry/client.js';
import { DockyardError } from '../../src/errors.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A DOCKER_CONFIG folder with this config.json, and a PATH with these credential helpers (name → sh body). */
function configEnv(config: unknown, helpers: Record<string, string> = {}): NodeJS.ProcessEnv {
  const dir = mkdtempSync(join(tmpdir(), 'dockyard-auth-'));
  dirs.push(dir);
  writeFileSync(join(dir, 'config.json'), typeof config === 'string' ? config : JSON.stringify(config));
  mkdirSync(join(dir, 'bin'));
  for (const [name, body] of Object.entries(helpers)) {
    writeFileSync(join(dir, 'bin', `docker-credential-${name}`), `#!/bin/sh\n${body}\n`);
    chmodSync(join(dir, 'bin', `docker-credential-${name}`), 0o755);
  }
  return { DOCKER_CONFIG: dir, PATH: `${join(dir, 'bin')}:${process.env.PATH}`, HOME: dir };
}

const b64 = (s: string) => Buffer.from(s).toString('base64');

describe('registry names', () => {
  it("Docker Hub's names are one registry, keyed as the CLI keys it", () => {
    for (const n of ['docker.io', 'index.docker.io', 'registry-1.docker.io', 'https://index.docker.io/v1/', 'https://index.docker.io/v1']) {
      expect(isDockerHub(n)).toBe(true);
      expect(authKey(n)).toBe(HUB_KEY);
    }
    expect(authKey('https://127.0.0.1:5000/v1/')).toBe('127.0.0.1:5000');
    expect(authKey('ghcr.io')).toBe('ghcr.io');
    expect(loginCommand('docker.io')).toBe('docker login');
    expect(loginCommand('ghcr.io')).toBe('docker login ghcr.io');
  });

  it('the registry of an image reference follows the docker reference rules', () => {
    expect(registryOf('busybox')).toBe('docker.io');
    expect(registryOf('library/busybox:1')).toBe('docker.io');
    expect(registryOf('team/app')).toBe('docker.io');
    expect(registryOf('docker.io/team/app')).toBe('docker.io');
    expect(registryOf('index.docker.io/team/app')).toBe('docker.io');
    expect(registryOf('localhost/app')).toBe('localhost');
    expect(registryOf('127.0.0.1:5000/team/app:1')).toBe('127.0.0.1:5000');
    expect(registryOf('ghcr.io/o/app@sha256:abc')).toBe('ghcr.io');
    expect(parseRef('docker.io/library/busybox:1')).toEqual({ registry: 'registry-1.docker.io', repository: 'library/busybox', tag: '1' });
    expect(parseRef('busybox')).toEqual({ registry: 'registry-1.docker.io', repository: 'library/busybox', tag: undefined });
  });

  it("the engine's headers: JSON in base64 with the URL alphabet", () => {
    const v = { username: 'u', password: '>>>???' };
    const enc = encodeForEngine(v);
    expect(enc).not.toMatch(/[+/]/);
    expect(JSON.parse(Buffer.from(enc, 'base64url').toString())).toEqual(v);
  });
});

describe('credentials from the docker config', () => {
  it('auths: user:password (base64), identity tokens, legacy https://HOST/v1/ keys, Docker Hub under any name', async () => {
    const env = configEnv({
      auths: {
        '127.0.0.1:5000': { auth: b64('alice:pa:ss') },
        'https://legacy.example:5001/v1/': { auth: b64('old:timer') },
        'ghcr.io': { identitytoken: 'id-token-1' },
        [HUB_KEY]: { auth: b64('hubuser:hubpass') },
        'empty.example': {},
      },
    });
    const c = new DockerConfigCredentials(env);
    expect((await c.get('127.0.0.1:5000'))?.auth).toEqual({ username: 'alice', password: 'pa:ss', serveraddress: '127.0.0.1:5000' });
    expect((await c.get('127.0.0.1:5000'))?.source).toBe(`auths in ${join(env.DOCKER_CONFIG!, 'config.json')}`);
    expect((await c.get('legacy.example:5001'))?.auth.username).toBe('old');
    expect((await c.get('ghcr.io'))?.auth).toEqual({ identitytoken: 'id-token-1', serveraddress: 'ghcr.io' });
    for (const hub of ['docker.io', 'index.docker.io', 'registry-1.docker.io']) expect((await c.get(hub))?.auth).toEqual({ username: 'hubuser', password: 'hubpass', serveraddress: HUB_KEY });
    expect(await c.get('empty.example')).toBeUndefined();
    expect(await c.get('nowhere.example')).toBeUndefined();
  });

  it('credHelpers wins over credsStore, which wins over auths; helpers get the server address on stdin; "not found" is anonymous', async () => {
    const log = join(mkdtempSync(join(tmpdir(), 'dockyard-helper-log-')), 'log');
    dirs.push(join(log, '..'));
    const env = configEnv(
      {
        auths: { 'a.example': { auth: b64('fromfile:x') }, 'b.example': {} },
        credsStore: 'store',
        credHelpers: { 'b.example': 'special', [HUB_KEY]: 'special' },
      },
      {
        store: `read url; echo "store $1 $url" >> ${log}; case "$url" in a.example) echo '{"ServerURL":"a.example","Username":"sa","Secret":"store-secret"}';; *) echo 'credentials not found in native keychain'; exit 1;; esac`,
        special: `read url; echo "special $1 $url" >> ${log}; echo '{"ServerURL":"x","Username":"<token>","Secret":"identity-'"$url"'"}'`,
      },
    );
    const c = new DockerConfigCredentials(env);
    const a = await c.get('a.example');
    expect(a?.auth).toEqual({ username: 'sa', password: 'store-secret', serveraddress: 'a.example' });
    expect(a?.source).toMatch(/^docker-credential-store, the credsStore in .*config\.json$/);
    expect((await c.get('b.example'))?.auth).toEqual({ identitytoken: 'identity-b.example', serveraddress: 'b.example' });
    expect((await c.get('docker.io'))?.auth).toEqual({ identitytoken: `identity-${HUB_KEY}`, serveraddress: HUB_KEY });
    expect(await c.get('c.example')).toBeUndefined();
    // once per registry, however often asked
    await c.get('a.example');
    const { readFileSync } = await import('node:fs');
    expect(readFileSync(log, 'utf8').trim().split('\n')).toEqual(['store get a.example', 'special get b.example', `special get ${HUB_KEY}`, 'store get c.example']);
  });

  it('a helper that is missing or fails is an error naming it, and where it was configured', async () => {
    const missing = new DockerConfigCredentials(configEnv({ credsStore: 'nosuchhelper' }));
    await expect(missing.get('x.example')).rejects.toThrow(/docker-credential-nosuchhelper \(credsStore in .*config\.json\) is not on PATH/);
    const failing = new DockerConfigCredentials(configEnv({ credHelpers: { 'x.example': 'broken' } }, { broken: 'echo "keychain locked" >&2; exit 3' }));
    await expect(failing.get('x.example')).rejects.toThrow(/docker-credential-broken \(credHelpers entry for x.example in .*\) failed for x.example: keychain locked/);
  });

  it('DOCKER_AUTH_CONFIG comes first; a config file that is not JSON says where, without quoting it', async () => {
    const env = { ...configEnv({ auths: { 'a.example': { auth: b64('file:pw') } } }), DOCKER_AUTH_CONFIG: JSON.stringify({ auths: { 'a.example': { auth: b64('env:pw2') } } }) };
    expect((await new DockerConfigCredentials(env).get('a.example'))?.auth.username).toBe('env');
    expect((await new DockerConfigCredentials(env).get('a.example'))?.source).toBe('DOCKER_AUTH_CONFIG');
    const broken = configEnv('{"auths": {"a.example": {"auth": "c2VjcmV0LXZhbHVl"}},}');
    let err: unknown;
    try {
      readDockerConfig(broken);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DockyardError);
    expect((err as Error).message).toMatch(/config\.json is not valid JSON/);
    expect((err as Error).message).not.toContain('c2VjcmV0');
    expect(await new DockerConfigCredentials(configEnv('')).get('a.example')).toBeUndefined();
  });

  it('refusals are recognized by the words registries use; secrets are redacted from foreign text', () => {
    for (const m of ['no basic auth credentials', 'unauthorized: authentication required', "pull access denied for x, repository does not exist or may require 'docker login'", 'denied: requested access to the resource is denied']) expect(isAuthRefusal(m)).toBe(true);
    expect(isAuthRefusal('manifest unknown')).toBe(false);
    const cred = { auth: { username: 'u', password: 'hunter22', serveraddress: 'x' }, source: 's' };
    expect(redact(`x hunter22 y ${b64('u:hunter22')}`, cred)).toBe('x *** y ***');
  });
});

/** A fake registry in this process: Basic or Bearer, the token server at /token. */
function fakeRegistry(mode: 'basic' | 'bearer'): Promise<{ host: string; server: Server; seen: string[] }> {
  const seen: string[] = [];
  const good = `Basic ${b64('alice:right-password')}`;
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const host = req.headers.host!;
    const url = new URL(req.url!, `http://${host}`);
    const auth = req.headers.authorization ?? '';
    seen.push(`${req.method} ${url.pathname}${url.search} ${auth.split(' ')[0] || 'anonymous'}`);
    if (url.pathname === '/token') {
      if (req.method === 'POST') {
        let body = '';
        req.on('data', (d) => (body += d));
        req.on('end', () => {
          const f = new URLSearchParams(body);
          if (f.get('grant_type') === 'refresh_token' && f.get('refresh_token') === 'good-identity') return void res.end(JSON.stringify({ access_token: `tok:${f.get('scope')}` }));
          res.writeHead(401).end();
        });
        return;
      }
      if (auth !== good) return void res.writeHead(401).end();
      return void res.end(JSON.stringify({ token: `tok:${url.searchParams.get('scope')}` }));
    }
    const scope = `repository:team/app:${req.method === 'DELETE' ? 'delete' : 'pull'}`;
    const ok = mode === 'basic' ? auth === good : auth === `Bearer tok:${scope}`;
    if (!ok) {
      res.writeHead(401, { 'www-authenticate': mode === 'basic' ? 'Basic realm="fake"' : `Bearer realm="http://${host}/token",service="fake",scope="${scope}"` });
      return void res.end();
    }
    if (url.pathname === '/v2/team/app/tags/list') return void res.end(JSON.stringify({ name: 'team/app', tags: ['1', '2'] }));
    const m = /^\/v2\/team\/app\/manifests\/(.+)$/.exec(url.pathname);
    if (m && req.method === 'GET') {
      res.writeHead(200, { 'docker-content-digest': `sha256:${m[1]}` });
      return void res.end(JSON.stringify({ config: { digest: `sha256:c${m[1]}` } }));
    }
    if (m && req.method === 'DELETE') return void res.writeHead(202).end();
    const blob = /^\/v2\/team\/app\/blobs\/sha256:c(.+)$/.exec(url.pathname);
    if (blob) return void res.end(JSON.stringify({ created: new Date(Number(blob[1]) * 1000).toISOString() }));
    res.writeHead(404).end();
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ host: `127.0.0.1:${(server.address() as { port: number }).port}`, server, seen })));
}

describe("dockyard's registry client", () => {
  it('answers a Basic challenge with the credentials, then sends them at once', async () => {
    const reg = await fakeRegistry('basic');
    try {
      const client = new RegistryClient(reg.host, new StaticCredentials({ [reg.host]: { username: 'alice', password: 'right-password' } }));
      const r = await pruneRepository(client, 'team/app', 1);
      expect(r).toEqual({ repository: 'team/app', kept: ['2'], removed: ['1'] });
      expect(reg.seen[0]).toBe('GET /v2/team/app/tags/list anonymous');
      expect(reg.seen.slice(1).every((l) => l.endsWith(' Basic'))).toBe(true);
    } finally {
      reg.server.close();
    }
  });

  it('answers a Bearer challenge with a token per scope (user and password, or an identity token as OAuth refresh token)', async () => {
    const reg = await fakeRegistry('bearer');
    try {
      const withPassword = new RegistryClient(reg.host, new StaticCredentials({ [reg.host]: { username: 'alice', password: 'right-password' } }));
      expect(await pruneRepository(withPassword, 'team/app', 1)).toEqual({ repository: 'team/app', kept: ['2'], removed: ['1'] });
      const tokens = reg.seen.filter((l) => l.startsWith('GET /token'));
      expect(tokens).toEqual([`GET /token?service=fake&scope=repository%3Ateam%2Fapp%3Apull&account=alice Basic`, `GET /token?service=fake&scope=repository%3Ateam%2Fapp%3Adelete&account=alice Basic`]);
      reg.seen.length = 0;
      const withIdentity = new RegistryClient(reg.host, new StaticCredentials({ [reg.host]: { identitytoken: 'good-identity' } }));
      expect(await withIdentity.tags('team/app')).toEqual(['1', '2']);
      expect(reg.seen).toContain('POST /token anonymous');
    } finally {
      reg.server.close();
    }
  });

  it('a refusal names the registry, the user and where the credentials came from, says what to run, and never shows the secret', async () => {
    for (const mode of ['basic', 'bearer'] as const) {
      const reg = await fakeRegistry(mode);
      try {
        const client = new RegistryClient(reg.host, new StaticCredentials({ [reg.host]: { username: 'alice', password: 'wrong-password-1234' } }));
        const err = await client.tags('team/app').then(() => undefined, (e: unknown) => e as DockyardError);
        expect(err).toBeInstanceOf(DockyardError);
        expect(err!.message).toMatch(new RegExp(`the registry ${reg.host.replace(/\./g, '\\.')} refused the credentials of user "alice" \\(from the credentials given to dockyard\\).*; run \`docker login ${reg.host.replace(/\./g, '\\.')}\``));
        expect(err!.exitCode).toBe(4);
        expect(`${err!.format()}${JSON.stringify(err)}`).not.toMatch(/wrong-password-1234|d3JvbmctcGFzc3dvcmQ/);
        const anon = await new RegistryClient(reg.host, new StaticCredentials({})).tags('team/app').then(() => undefined, (e: unknown) => e as DockyardError);
        expect(anon!.message).toMatch(/asks for credentials, and none are configured for it.*; run `docker login /);
      } finally {
        reg.server.close();
      }
    }
  });

  it('reads WWW-Authenticate challenges', () => {
    expect(parseChallenge('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull"')).toEqual({
      scheme: 'bearer',
      params: { realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:library/busybox:pull' },
    });
    expect(parseChallenge('Basic realm="Registry Realm"')).toEqual({ scheme: 'basic', params: { realm: 'Registry Realm' } });
  });
});
