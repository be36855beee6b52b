/**
 * Engines as the docker CLI finds them: a context (from --context / -c, DOCKER_CONTEXT, the
 * config's currentContext) pointing at the engine through another socket (a proxy the test runs);
 * one pointing at nothing (exit 3, naming the context); DOCKER_HOST's place in the precedence; a
 * tcp:// engine with TLS. For TLS the test does not restart the shared dockerd with a second
 * listener: it runs a TLS-terminating proxy (Node, client certificates required) in front of the
 * engine's unix socket, with a CA, server and client certificates it makes with openssl. Proxies
 * are child processes: the CLI runs with spawnSync, which blocks this process.
 */
import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import './setup.js';
import { useProjects } from '../helpers/engine.js';

const project = useProjects(afterEach);
const IMG = '${DOCKYARD_BASE_IMAGE}';
const COMPOSE = { 'compose.yaml': `services:\n  a:\n    image: ${IMG}\n    init: true\n    command: ["sleep", "600"]\n` };

/** The engine's own socket (the one the tests use). */
const ENGINE_SOCKET = process.env.DOCKER_HOST?.startsWith('unix://') ? process.env.DOCKER_HOST.slice(7) : '/var/run/docker.sock';

const PROXY = String.raw`
import { createServer, connect } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { appendFileSync, readFileSync, rmSync } from 'node:fs';
const [mode, listen, target, log, cert, key, ca] = process.argv.slice(2);
// half-open both ways: a client that closes its side (exec without stdin) still gets the output
const onConn = (client) => {
  appendFileSync(log, 'connection\n');
  const up = connect({ path: target, allowHalfOpen: true });
  client.pipe(up);
  up.pipe(client);
  const kill = () => { client.destroy(); up.destroy(); };
  client.on('error', kill);
  up.on('error', kill);
};
const server = mode === 'tls'
  ? createTlsServer({ cert: readFileSync(cert), key: readFileSync(key), ca: readFileSync(ca), requestCert: true, rejectUnauthorized: true, allowHalfOpen: true }, onConn)
  : createServer({ allowHalfOpen: true }, onConn);
server.on('tlsClientError', (e) => appendFileSync(log, 'refused ' + e.code + '\n'));
if (mode === 'tls') server.listen(0, '127.0.0.1', () => process.stdout.write(server.address().port + '\n'));
else { rmSync(listen, { force: true }); server.listen(listen, () => process.stdout.write('ready\n')); }
`;

let dir: string;
const children: ChildProcess[] = [];

async function startProxy(args: string[]): Promise<string> {
  const child = spawn(process.execPath, [join(dir, 'proxy.mjs'), ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('\n')) resolve(out.trim());
    });
    child.on('exit', (code) => reject(new Error(`proxy exited ${code}`)));
  });
}

/** Lets vitest's worker talk to its parent between commands (spawnSync blocks this process). */
const tick = () => new Promise((r) => setTimeout(r, 0));

const connections = (log: string) => readFileSync(log, 'utf8').split('\n').filter((l) => l === 'connection').length;

/** A DOCKER_CONFIG folder: config.json and contexts (name → host, TLS files) in the CLI's store layout. */
function dockerConfig(name: string, config: Record<string, unknown>, contexts: Record<string, { host: string; tls?: string }>): string {
  const d = join(dir, name);
  mkdirSync(d, { recursive: true });
  writeFileSync(join(d, 'config.json'), JSON.stringify(config));
  for (const [ctx, c] of Object.entries(contexts)) {
    const id = createHash('sha256').update(ctx).digest('hex');
    mkdirSync(join(d, 'contexts', 'meta', id), { recursive: true });
    writeFileSync(join(d, 'contexts', 'meta', id, 'meta.json'), JSON.stringify({ Name: ctx, Metadata: { Description: 'dockyard test' }, Endpoints: { docker: { Host: c.host, SkipTLSVerify: false } } }));
    if (c.tls) {
      mkdirSync(join(d, 'contexts', 'tls', id, 'docker'), { recursive: true });
      for (const f of ['ca.pem', 'cert.pem', 'key.pem']) writeFileSync(join(d, 'contexts', 'tls', id, 'docker', f), readFileSync(join(c.tls, f)));
    }
  }
  return d;
}

let proxySock: string;
let proxyLog: string;
const deadSock = () => join(dir, 'nothing-here.sock');

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'dockyard-contexts-'));
  writeFileSync(join(dir, 'proxy.mjs'), PROXY);
  proxySock = join(dir, 'proxied.sock');
  proxyLog = join(dir, 'proxied.log');
  writeFileSync(proxyLog, '');
  await startProxy(['unix', proxySock, ENGINE_SOCKET, proxyLog]);
}, 30_000);

afterAll(() => {
  for (const c of children) c.kill('SIGKILL');
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('contexts', () => {
  it('a context that points at the engine through another socket is used: --context, -c, DOCKER_CONTEXT, currentContext', async () => {
    const cfg = dockerConfig('proxied', {}, { proxied: { host: `unix://${proxySock}` } });
    const current = dockerConfig('current', { currentContext: 'proxied' }, { proxied: { host: `unix://${proxySock}` } });
    const p = project(COMPOSE);
    const base = { DOCKER_CONFIG: cfg, DOCKER_HOST: '' };
    let seen = connections(proxyLog);
    const through = async (args: string[], env: Record<string, string>) => {
      await tick();
      const r = p.ok(args, { env });
      const now = connections(proxyLog);
      expect(now, `${args.join(' ')} went through the context's socket`).toBeGreaterThan(seen);
      seen = now;
      return r;
    };
    await through(['--context', 'proxied', 'up', '-d'], base);
    expect(p.containers().map((c) => c.state)).toEqual(['running']);
    expect((await through(['-c', 'proxied', 'ps', '--format', 'json'], base)).stdout).toContain(`${p.name}-a-1`);
    await through(['ps', '--context', 'proxied'], base);
    await through(['ps'], { ...base, DOCKER_CONTEXT: 'proxied' });
    await through(['ps'], { DOCKER_CONFIG: current, DOCKER_HOST: '' });
    await through(['down'], { DOCKER_CONFIG: current, DOCKER_HOST: '' });
    expect(p.containers()).toEqual([]);
  }, 120_000);

  it('a context that points at nothing: exit 3, naming the engine and the context (and how it was chosen)', async () => {
    const cfg = dockerConfig('dead', {}, { dead: { host: `unix://${deadSock()}` } });
    const current = dockerConfig('dead-current', { currentContext: 'dead' }, { dead: { host: `unix://${deadSock()}` } });
    const p = project(COMPOSE);
    const at = `cannot reach the Docker engine at unix://${deadSock()}`;
    const flag = p.run(['--context', 'dead', 'up', '-d'], { env: { DOCKER_CONFIG: cfg, DOCKER_HOST: '' } });
    expect(flag.code).toBe(3);
    expect(flag.stderr).toContain(`${at} (context "dead", from --context): ENOENT`);
    expect(flag.stderr).toMatch(/hint: is that engine running\? See `docker context inspect dead`/);
    await tick();
    const env = p.run(['ps'], { env: { DOCKER_CONFIG: cfg, DOCKER_HOST: '', DOCKER_CONTEXT: 'dead' } });
    expect(env.code).toBe(3);
    expect(env.stderr).toContain(`${at} (context "dead", from DOCKER_CONTEXT)`);
    await tick();
    const cur = p.run(['ps'], { env: { DOCKER_CONFIG: current, DOCKER_HOST: '' } });
    expect(cur.code).toBe(3);
    expect(cur.stderr).toContain(`${at} (context "dead", the current context in ${join(current, 'config.json')})`);
    // a context that does not exist: bad input, with the contexts there are
    await tick();
    const none = p.run(['--context', 'nosuch', 'ps'], { env: { DOCKER_CONFIG: cfg, DOCKER_HOST: '' } });
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/no context "nosuch" \(from --context\) in .*\n {2}hint: contexts there: default, dead;/);
  }, 60_000);

  it('precedence as the docker CLI: DOCKER_HOST over DOCKER_CONTEXT and currentContext, --context and --host over DOCKER_HOST', async () => {
    const cfg = dockerConfig('both', { currentContext: 'dead' }, { dead: { host: `unix://${deadSock()}` }, proxied: { host: `unix://${proxySock}` } });
    const p = project(COMPOSE);
    const viaProxy = `unix://${proxySock}`;
    let seen = connections(proxyLog);
    const check = async (args: string[], env: Record<string, string>, code: number) => {
      await tick();
      const r = p.run([...args, 'ps'], { env: { DOCKER_CONFIG: cfg, ...env } });
      expect(r.code, `${args.join(' ')} ${JSON.stringify(env)}: ${r.stderr}`).toBe(code);
      return r;
    };
    // DOCKER_HOST wins over DOCKER_CONTEXT and the current context
    await check([], { DOCKER_HOST: viaProxy, DOCKER_CONTEXT: 'dead' }, 0);
    expect(connections(proxyLog)).toBeGreaterThan(seen);
    seen = connections(proxyLog);
    await check([], { DOCKER_HOST: viaProxy }, 0);
    expect(connections(proxyLog)).toBeGreaterThan(seen);
    // --context wins over DOCKER_HOST
    expect((await check(['--context', 'dead'], { DOCKER_HOST: viaProxy }, 3)).stderr).toContain('(context "dead", from --context)');
    await check(['--context', 'proxied'], { DOCKER_HOST: `unix://${deadSock()}` }, 0);
    // --host wins over DOCKER_HOST and the contexts
    await check(['-H', viaProxy], { DOCKER_HOST: `unix://${deadSock()}`, DOCKER_CONTEXT: 'dead' }, 0);
    expect((await check(['-H', `unix://${deadSock()}`], { DOCKER_HOST: viaProxy }, 3)).stderr).toContain('(context "default", from --host)');
    // both: the CLI's refusal
    expect((await check(['-H', viaProxy, '--context', 'proxied'], {}, 2)).stderr).toMatch(/cannot give both --host and --context/);
    // without DOCKER_HOST, the current context decides
    expect((await check([], { DOCKER_HOST: '' }, 3)).stderr).toContain('(context "dead", the current context in');
  }, 60_000);

  it('a tcp:// engine with TLS: DOCKER_HOST + DOCKER_TLS_VERIFY + DOCKER_CERT_PATH, and a context with its TLS material', async () => {
    // a CA, a server certificate for 127.0.0.1 and a client certificate, as `docker` with TLS uses them
    const pki = join(dir, 'pki');
    mkdirSync(pki);
    const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: pki, stdio: 'ignore' });
    ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca-key.pem', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=dockyard test CA');
    ssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server-key.pem', '-out', 'server.csr', '-subj', '/CN=127.0.0.1');
    writeFileSync(join(pki, 'server.ext'), 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
    ssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca-key.pem', '-CAcreateserial', '-out', 'server-cert.pem', '-days', '2', '-extfile', 'server.ext');
    ssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'key.pem', '-out', 'client.csr', '-subj', '/CN=client');
    writeFileSync(join(pki, 'client.ext'), 'extendedKeyUsage=clientAuth\n');
    ssl('x509', '-req', '-in', 'client.csr', '-CA', 'ca.pem', '-CAkey', 'ca-key.pem', '-CAcreateserial', '-out', 'cert.pem', '-days', '2', '-extfile', 'client.ext');
    // another CA, which did not sign the server's certificate
    const other = join(dir, 'other-ca');
    mkdirSync(other);
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'k.pem', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=other CA'], { cwd: other, stdio: 'ignore' });
    for (const f of ['cert.pem', 'key.pem']) writeFileSync(join(other, f), readFileSync(join(pki, f)));
    const tlsLog = join(dir, 'tls.log');
    writeFileSync(tlsLog, '');
    const port = await startProxy(['tls', '-', ENGINE_SOCKET, tlsLog, join(pki, 'server-cert.pem'), join(pki, 'server-key.pem'), join(pki, 'ca.pem')]);
    const host = `tcp://127.0.0.1:${port}`;
    const cfg = dockerConfig('tls', {}, { secure: { host, tls: pki } });
    const p = project(COMPOSE);
    const viaEnv = { DOCKER_CONFIG: cfg, DOCKER_HOST: host, DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: pki };
    p.ok(['up', '-d'], { env: viaEnv });
    await tick();
    expect(p.containers().map((c) => c.state)).toEqual(['running']);
    expect(p.ok(['exec', '-T', 'a', 'echo', 'over TLS'], { env: viaEnv }).stdout).toBe('over TLS\n');
    expect(connections(tlsLog)).toBeGreaterThan(0);
    const seen = connections(tlsLog);
    await tick();
    // a context with its TLS material in the store
    expect(p.ok(['--context', 'secure', 'ps', '--format', 'json'], { env: { DOCKER_CONFIG: cfg, DOCKER_HOST: '' } }).stdout).toContain(`${p.name}-a-1`);
    expect(connections(tlsLog)).toBeGreaterThan(seen);
    // without TLS, or trusting another CA: unreachable (exit 3), saying which engine
    await tick();
    const plain = p.run(['ps'], { env: { DOCKER_CONFIG: cfg, DOCKER_HOST: host } });
    expect(plain.code).toBe(3);
    expect(plain.stderr).toContain(`cannot reach the Docker engine at ${host} (context "default", from DOCKER_HOST)`);
    await tick();
    const wrongCa = p.run(['ps'], { env: { ...viaEnv, DOCKER_CERT_PATH: other } });
    expect(wrongCa.code).toBe(3);
    expect(wrongCa.stderr).toContain(`cannot reach the Docker engine at ${host} (context "default", from DOCKER_HOST, TLS)`);
    expect(wrongCa.stderr).toMatch(/hint: the TLS handshake failed: check the engine's certificate and the client's \(DOCKER_CERT_PATH/);
    p.ok(['down'], { env: viaEnv });
  }, 120_000);
});
