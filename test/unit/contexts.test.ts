/** Which engine: the docker CLI's precedence, its context store, TLS material, addresses (no engine). */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { contextDirName, describeEndpoint, listContexts, modemOptions, normalizeHost, resolveEndpoint } from '../../src/engine/context.js';
import { DockyardError } from '../../src/errors.js';
import { cli } from '../helpers/fs.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A DOCKER_CONFIG with a config.json and contexts (name → host, and TLS files if given). */
function store(config: Record<string, unknown>, contexts: Record<string, { host: string; skip?: boolean; tls?: Record<string, string> }>): string {
  const dir = mkdtempSync(join(tmpdir(), 'dockyard-ctx-'));
  dirs.push(dir);
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
  for (const [name, c] of Object.entries(contexts)) {
    const id = createHash('sha256').update(name).digest('hex');
    mkdirSync(join(dir, 'contexts', 'meta', id), { recursive: true });
    writeFileSync(join(dir, 'contexts', 'meta', id, 'meta.json'), JSON.stringify({ Name: name, Metadata: {}, Endpoints: { docker: { Host: c.host, SkipTLSVerify: c.skip ?? false } } }));
    if (c.tls) {
      mkdirSync(join(dir, 'contexts', 'tls', id, 'docker'), { recursive: true });
      for (const [f, text] of Object.entries(c.tls)) writeFileSync(join(dir, 'contexts', 'tls', id, 'docker', f), text);
    }
  }
  return dir;
}

describe('engine resolution', () => {
  const dir = store({ currentContext: 'current' }, { current: { host: 'unix:///run/current.sock' }, envctx: { host: 'unix:///run/envctx.sock' }, flag: { host: 'ssh://deploy@build.example:2222' } });
  const env = (e: Record<string, string> = {}) => ({ DOCKER_CONFIG: dir, HOME: dir, ...e });

  it('follows the docker CLI: --context > --host > DOCKER_HOST > DOCKER_CONTEXT > currentContext > default', () => {
    const all = env({ DOCKER_HOST: 'unix:///run/dockerhost.sock', DOCKER_CONTEXT: 'envctx' });
    expect(resolveEndpoint({ context: 'flag' }, all)).toMatchObject({ context: 'flag', from: '--context', host: 'ssh://deploy@build.example:2222' });
    expect(resolveEndpoint({ host: 'unix:///run/hostflag.sock' }, all)).toMatchObject({ context: 'default', from: '--host', host: 'unix:///run/hostflag.sock' });
    expect(resolveEndpoint({}, all)).toMatchObject({ context: 'default', from: 'DOCKER_HOST', host: 'unix:///run/dockerhost.sock' });
    expect(resolveEndpoint({}, env({ DOCKER_CONTEXT: 'envctx' }))).toMatchObject({ context: 'envctx', from: 'DOCKER_CONTEXT', host: 'unix:///run/envctx.sock' });
    expect(resolveEndpoint({}, env())).toMatchObject({ context: 'current', from: 'currentContext', host: 'unix:///run/current.sock' });
    const bare = mkdtempSync(join(tmpdir(), 'dockyard-ctx-'));
    dirs.push(bare);
    expect(resolveEndpoint({}, { DOCKER_CONFIG: bare })).toMatchObject({ context: 'default', from: 'default', host: 'unix:///var/run/docker.sock' });
    // the default context, named, is DOCKER_HOST when set (as the CLI's)
    expect(resolveEndpoint({ context: 'default' }, all)).toMatchObject({ context: 'default', host: 'unix:///run/dockerhost.sock' });
  });

  it('reads the store by the sha256 of the name; an unknown context says which contexts there are', () => {
    expect(contextDirName('current')).toBe(createHash('sha256').update('current').digest('hex'));
    expect(listContexts(env())).toEqual(['default', 'current', 'envctx', 'flag']);
    let err: unknown;
    try {
      resolveEndpoint({}, env({ DOCKER_CONTEXT: 'nope' }));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DockyardError);
    expect((err as DockyardError).message).toMatch(/^no context "nope" \(from DOCKER_CONTEXT\) in .*contexts$/);
    expect((err as DockyardError).hint).toMatch(/contexts there: default, current, envctx, flag/);
    expect(() => resolveEndpoint({ context: 'a', host: 'b' }, env())).toThrow(/cannot give both --host and --context/);
  });

  it('TLS: DOCKER_TLS_VERIFY with DOCKER_CERT_PATH, or the context TLS files; DOCKER_TLS alone does not verify', () => {
    const certs = mkdtempSync(join(tmpdir(), 'dockyard-certs-'));
    dirs.push(certs);
    for (const f of ['ca.pem', 'cert.pem', 'key.pem']) writeFileSync(join(certs, f), `${f} text`);
    const ep = resolveEndpoint({}, env({ DOCKER_HOST: 'tcp://10.0.0.5', DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: certs }));
    expect(ep.host).toBe('tcp://10.0.0.5:2376');
    expect(ep.tls).toMatchObject({ verify: true });
    expect(ep.tls?.ca?.toString()).toBe('ca.pem text');
    expect(describeEndpoint(ep)).toBe('tcp://10.0.0.5:2376 (context "default", from DOCKER_HOST, TLS)');
    expect(resolveEndpoint({}, env({ DOCKER_HOST: 'tcp://10.0.0.5:2376', DOCKER_TLS: '1', DOCKER_CERT_PATH: certs })).tls?.verify).toBe(false);
    expect(resolveEndpoint({}, env({ DOCKER_HOST: 'tcp://10.0.0.5' })).tls).toBeUndefined();
    expect(resolveEndpoint({}, env({ DOCKER_HOST: 'tcp://10.0.0.5' })).host).toBe('tcp://10.0.0.5:2375');
    const withTls = store({}, { remote: { host: 'tcp://10.0.0.6:2376', tls: { 'ca.pem': 'CA', 'cert.pem': 'CERT', 'key.pem': 'KEY' } }, loose: { host: 'tcp://10.0.0.7:2376', skip: true } });
    const remote = resolveEndpoint({ context: 'remote' }, { DOCKER_CONFIG: withTls });
    expect(remote.tls).toMatchObject({ verify: true });
    expect(remote.tls?.key?.toString()).toBe('KEY');
    expect(modemOptions(remote)).toMatchObject({ protocol: 'https', host: '10.0.0.6', port: '2376', socketPath: undefined });
    expect(resolveEndpoint({ context: 'loose' }, { DOCKER_CONFIG: withTls }).tls).toMatchObject({ verify: false });
  });

  it('addresses as the CLI parses them; what dockerode is given for each kind', () => {
    expect(normalizeHost('10.1.2.3:4000')).toBe('tcp://10.1.2.3:4000');
    expect(normalizeHost('tcp://h', true)).toBe('tcp://h:2376');
    expect(() => normalizeHost('fd://')).toThrow(/unix:\/\/, tcp:\/\/ and ssh:\/\//);
    expect(modemOptions({ context: 'x', from: '--context', host: 'unix:///run/a.sock' })).toMatchObject({ socketPath: '/run/a.sock', host: undefined, protocol: undefined });
    expect(modemOptions({ context: 'x', from: '--context', host: 'tcp://10.0.0.1:2375' })).toMatchObject({ protocol: 'http', host: '10.0.0.1', port: '2375', socketPath: undefined });
    expect(modemOptions({ context: 'flag', from: '--context', host: 'ssh://deploy@build.example:2222' }, { SSH_AUTH_SOCK: '/run/agent.sock' })).toMatchObject({
      protocol: 'ssh',
      host: 'build.example',
      port: '2222',
      username: 'deploy',
      sshOptions: { agent: '/run/agent.sock' },
    });
  });

  it('dockyard version names the engine in use and the context that chose it (nothing contacted)', () => {
    const dir = store({ currentContext: 'remote' }, { remote: { host: 'tcp://10.9.8.7:2376' } });
    const env = { DOCKER_CONFIG: dir };
    const pretty = cli(['version'], { env });
    expect(pretty.code).toBe(0);
    expect(pretty.stdout).toMatch(/^dockyard version \d+\.\d+\.\d+\nengine: tcp:\/\/10\.9\.8\.7:2376 \(context "remote"/);
    expect(JSON.parse(cli(['version', '--format', 'json'], { env }).stdout).engine).toEqual({ host: 'tcp://10.9.8.7:2376', context: 'remote' });
    // DOCKER_HOST wins over the current context, as in the docker CLI
    expect(JSON.parse(cli(['version', '--format', 'json'], { env: { ...env, DOCKER_HOST: 'unix:///tmp/x.sock' } }).stdout).engine.host).toBe('unix:///tmp/x.sock');
  });
});
