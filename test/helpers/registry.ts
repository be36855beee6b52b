/**
 * A real registry for pull/push tests: Debian's docker-registry on 127.0.0.1, in a temporary
 * folder. Open, or with authentication: htpasswd (bcrypt entries made by `htpasswd -B`, or by
 * python3's crypt where apache2-utils is missing), or token mode, with a small token server of the
 * test's own (a child process: the CLI runs with spawnSync, which blocks this process) that
 * signs JWTs with a key and certificate made here with openssl.
 */
import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

export interface Registry {
  /** 127.0.0.1:PORT */
  host: string;
  /** for token mode: the token server's log, one line per token asked (`user scope...`, `refused user`) */
  tokenLog(): string[];
  stop(): void;
}

export interface RegistryAuthOptions {
  /** user → password */
  users: Record<string, string>;
  /** token mode (else htpasswd); identity tokens the token server takes as OAuth refresh tokens, → user */
  token?: { refreshTokens?: Record<string, string> };
}

/** A bcrypt htpasswd line (the registry takes only bcrypt). */
export function htpasswdLine(user: string, password: string): string {
  try {
    return execFileSync('htpasswd', ['-nbB', user, password], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    // no apache2-utils: python3's crypt makes bcrypt too (Linux's libcrypt)
    const hash = execFileSync('python3', ['-W', 'ignore', '-c', 'import crypt,sys; print(crypt.crypt(sys.argv[1], crypt.mksalt(crypt.METHOD_BLOWFISH)))', password], { encoding: 'utf8' }).trim();
    if (!hash.startsWith('$2')) throw new Error('no way to make a bcrypt hash here: install apache2-utils (htpasswd)');
    return `${user}:${hash}`;
  }
}

const TOKEN_SERVER = String.raw`
import { createServer } from 'node:http';
import { createPrivateKey, randomBytes, sign, X509Certificate } from 'node:crypto';
import { appendFileSync, readFileSync } from 'node:fs';
const [keyFile, certFile, usersFile, logFile, issuer, service] = process.argv.slice(2);
const key = createPrivateKey(readFileSync(keyFile));
const der = new X509Certificate(readFileSync(certFile)).raw.toString('base64');
const { users, refreshTokens } = JSON.parse(readFileSync(usersFile, 'utf8'));
const b64u = (b) => Buffer.from(b).toString('base64').replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_');
function jwt(sub, scopes) {
  const now = Math.floor(Date.now() / 1000);
  const access = scopes.filter(Boolean).map((s) => {
    const [type, ...rest] = s.split(':');
    const actions = rest.pop().split(',');
    return { type, name: rest.join(':'), actions };
  });
  const head = b64u(JSON.stringify({ alg: 'RS256', typ: 'JWT', x5c: [der] }));
  const body = b64u(JSON.stringify({ iss: issuer, sub, aud: service, exp: now + 300, nbf: now - 10, iat: now, jti: randomBytes(8).toString('hex'), access }));
  return head + '.' + body + '.' + b64u(sign('sha256', Buffer.from(head + '.' + body), key));
}
const log = (line) => appendFileSync(logFile, line + '\n');
createServer((req, res) => {
  let body = '';
  req.on('data', (d) => (body += d));
  req.on('end', () => {
    const url = new URL(req.url, 'http://x');
    const refuse = (who) => {
      log('refused ' + who);
      res.writeHead(401, { 'content-type': 'application/json' });
      res.end('{"errors":[{"code":"UNAUTHORIZED","message":"bad credentials"}]}');
    };
    let user;
    let scopes = url.searchParams.getAll('scope').flatMap((s) => s.split(' '));
    if (req.method === 'POST') {
      const form = new URLSearchParams(body);
      scopes = (form.get('scope') || '').split(' ');
      if (form.get('grant_type') === 'refresh_token') {
        user = refreshTokens[form.get('refresh_token')];
        if (!user) return refuse('refresh-token');
      } else if (form.get('grant_type') === 'password') {
        if (users[form.get('username')] !== form.get('password')) return refuse(form.get('username'));
        user = form.get('username');
      } else return refuse('grant ' + form.get('grant_type'));
    } else {
      const auth = req.headers.authorization || '';
      if (!auth.startsWith('Basic ')) return refuse('anonymous');
      const [u, ...p] = Buffer.from(auth.slice(6), 'base64').toString().split(':');
      if (users[u] !== p.join(':')) return refuse(u);
      user = u;
    }
    log(user + ' ' + scopes.join(' '));
    const token = jwt(user, scopes);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ token, access_token: token, expires_in: 300, issued_at: new Date().toISOString() }));
  });
}).listen(0, '127.0.0.1', function () {
  process.stdout.write(this.address().port + '\n');
});
`;

async function waitFor(url: string, ok: (status: number) => boolean): Promise<void> {
  for (let i = 0; i < 100; i++) {
    try {
      if (ok((await fetch(url)).status)) return;
    } catch {
      /* not yet */
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} did not answer`);
}

export async function startRegistry(auth?: RegistryAuthOptions): Promise<Registry> {
  const dir = mkdtempSync(join(tmpdir(), 'dockyard-registry-'));
  const port = await freePort();
  const children: ChildProcess[] = [];
  let authConfig = '';
  const tokenLogFile = join(dir, 'token.log');
  writeFileSync(tokenLogFile, '');
  if (auth && !auth.token) {
    writeFileSync(join(dir, 'htpasswd'), `${Object.entries(auth.users).map(([u, p]) => htpasswdLine(u, p)).join('\n')}\n`);
    authConfig = `auth:\n  htpasswd:\n    realm: dockyard-test\n    path: ${dir}/htpasswd\n`;
  } else if (auth?.token) {
    // the token server's signing key and certificate (the registry trusts that certificate)
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'token.key'), '-out', join(dir, 'token.crt'), '-days', '2', '-subj', '/CN=dockyard-test-token'], { stdio: 'ignore' });
    writeFileSync(join(dir, 'users.json'), JSON.stringify({ users: auth.users, refreshTokens: auth.token.refreshTokens ?? {} }));
    writeFileSync(join(dir, 'token-server.mjs'), TOKEN_SERVER);
    const server = spawn(process.execPath, [join(dir, 'token-server.mjs'), join(dir, 'token.key'), join(dir, 'token.crt'), join(dir, 'users.json'), tokenLogFile, 'dockyard-test-issuer', 'dockyard-test-registry'], { stdio: ['ignore', 'pipe', 'inherit'] });
    children.push(server);
    const tokenPort = await new Promise<number>((resolve, reject) => {
      let out = '';
      server.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('\n')) resolve(Number(out.trim()));
      });
      server.on('exit', (code) => reject(new Error(`the token server exited (${code})`)));
    });
    authConfig = `auth:\n  token:\n    realm: http://127.0.0.1:${tokenPort}/token\n    service: dockyard-test-registry\n    issuer: dockyard-test-issuer\n    rootcertbundle: ${dir}/token.crt\n`;
  }
  writeFileSync(
    join(dir, 'config.yml'),
    `version: 0.1\nlog: {level: error}\nstorage:\n  filesystem: {rootdirectory: ${dir}/data}\n  delete: {enabled: true}\nhttp: {addr: 127.0.0.1:${port}}\n${authConfig}`,
  );
  const child = spawn('docker-registry', ['serve', join(dir, 'config.yml')], { stdio: 'ignore' });
  children.push(child);
  const host = `127.0.0.1:${port}`;
  // with authentication, /v2/ answers 401 once it is up
  await waitFor(`http://${host}/v2/`, (s) => s === 200 || (!!auth && s === 401));
  return {
    host,
    tokenLog: () => readFileSync(tokenLogFile, 'utf8').split('\n').filter(Boolean),
    stop() {
      for (const c of children) c.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
