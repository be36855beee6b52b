/**
 * Which engine: chosen as the docker CLI chooses it (docker/cli cli/command/cli.go,
 * resolveContextName): `--context` > `--host` > `DOCKER_HOST` > `DOCKER_CONTEXT` > the config's
 * `currentContext` > the default context. A named context is read from the CLI's store,
 * `$DOCKER_CONFIG/contexts/meta/<sha256 of name>/meta.json` (its `docker` endpoint: Host,
 * SkipTLSVerify), with TLS material in `contexts/tls/<sha256>/docker/{ca,cert,key}.pem`. The
 * default context is `--host` or `DOCKER_HOST` (TLS from `DOCKER_TLS_VERIFY`, `DOCKER_TLS`,
 * `DOCKER_CERT_PATH`), else the local socket.
 *
 * Pure: no dockerode here (docker.ts turns an endpoint into a client), so the CLI can read the
 * flags without loading the engine modules.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { DockyardError } from '../errors.js';
import { configDir, configPath, readDockerConfig } from '../registry/auth.js';

export const DEFAULT_CONTEXT = 'default';
const DEFAULT_SOCKET = 'unix:///var/run/docker.sock';

export interface EngineSelection {
  /** a context's name (`--context`) */
  context?: string;
  /** an engine address (`--host`): unix://, tcp://, ssh:// */
  host?: string;
}

export interface EngineEndpoint {
  /** the context in use (`default` when none is named) */
  context: string;
  /** what chose it */
  from: '--context' | '--host' | 'DOCKER_HOST' | 'DOCKER_CONTEXT' | 'currentContext' | 'default' | 'the library';
  /** the engine's address as written: unix:///var/run/docker.sock, tcp://host:2376, ssh://user@host */
  host: string;
  /** for tcp:// with TLS */
  tls?: { ca?: Buffer; cert?: Buffer; key?: Buffer; verify: boolean; from: string };
  /** `from`, in words (`the current context in /root/.docker/config.json`) */
  why?: string;
}

/** sha256 of a context's name: its folder in the store (as the CLI's contextdirOf). */
export function contextDirName(name: string): string {
  return createHash('sha256').update(name).digest('hex');
}

/** The store's folder: `$DOCKER_CONFIG/contexts`. */
export function contextStoreDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(configDir(env), 'contexts');
}

/** The names of the contexts in the store (for hints), `default` first. */
export function listContexts(env: NodeJS.ProcessEnv = process.env): string[] {
  const meta = join(contextStoreDir(env), 'meta');
  const names: string[] = [];
  try {
    for (const d of readdirSync(meta)) {
      try {
        const m = JSON.parse(readFileSync(join(meta, d, 'meta.json'), 'utf8')) as { Name?: string };
        if (m.Name) names.push(m.Name);
      } catch {
        /* not a context */
      }
    }
  } catch {
    /* no store */
  }
  return [DEFAULT_CONTEXT, ...names.sort()];
}

const readIf = (p: string) => (existsSync(p) ? readFileSync(p) : undefined);

/** The CLI's ParseHost: a scheme is added where missing (tcp), and tcp's default port (2375, 2376 with TLS). */
export function normalizeHost(host: string, tls = false): string {
  const h = host.trim();
  if (!h) return DEFAULT_SOCKET;
  const withScheme = h.includes('://') ? h : `tcp://${h}`;
  const scheme = withScheme.slice(0, withScheme.indexOf('://'));
  if (!['unix', 'tcp', 'ssh', 'npipe', 'http', 'https'].includes(scheme)) {
    throw new DockyardError('INVALID_VALUE', `engine address "${host}": dockyard talks to unix://, tcp:// and ssh:// engines`, { hint: 'e.g. unix:///var/run/docker.sock, tcp://host:2376, ssh://user@host' });
  }
  if (scheme === 'tcp' || scheme === 'http' || scheme === 'https') {
    let u: URL;
    try {
      u = new URL(withScheme.replace(/^[a-z]+:/, 'http:'));
    } catch {
      throw new DockyardError('INVALID_VALUE', `engine address "${host}" is not host:port`, { hint: 'e.g. tcp://192.0.2.10:2376' });
    }
    return `tcp://${u.hostname.includes(':') ? `[${u.hostname}]` : u.hostname}:${u.port || (tls ? '2376' : '2375')}${u.pathname === '/' ? '' : u.pathname}`;
  }
  return withScheme;
}

/** The default context's endpoint: the host given (or DOCKER_HOST, or the local socket), TLS as the environment says. */
function defaultEndpoint(host: string | undefined, from: EngineEndpoint['from'], env: NodeJS.ProcessEnv): EngineEndpoint {
  const verify = !!env.DOCKER_TLS_VERIFY;
  const tlsOn = verify || !!env.DOCKER_TLS;
  const addr = normalizeHost(host ?? DEFAULT_SOCKET, tlsOn);
  const ep: EngineEndpoint = { context: DEFAULT_CONTEXT, from, host: addr };
  if (tlsOn && addr.startsWith('tcp://')) {
    const dir = env.DOCKER_CERT_PATH || configDir(env);
    ep.tls = { ca: readIf(join(dir, 'ca.pem')), cert: readIf(join(dir, 'cert.pem')), key: readIf(join(dir, 'key.pem')), verify, from: env.DOCKER_CERT_PATH ? `DOCKER_CERT_PATH (${dir})` : dir };
    if (verify && !ep.tls.ca && env.DOCKER_CERT_PATH) {
      throw new DockyardError('INVALID_VALUE', `DOCKER_TLS_VERIFY is set, and ${join(dir, 'ca.pem')} does not exist`, { hint: 'point DOCKER_CERT_PATH at the folder with ca.pem, cert.pem and key.pem' });
    }
  }
  return ep;
}

/** A named context from the store. */
export function readContext(name: string, from: EngineEndpoint['from'], env: NodeJS.ProcessEnv = process.env): EngineEndpoint {
  if (name === DEFAULT_CONTEXT) return defaultEndpoint(env.DOCKER_HOST || undefined, env.DOCKER_HOST ? 'DOCKER_HOST' : from, env);
  const dir = contextDirName(name);
  const file = join(contextStoreDir(env), 'meta', dir, 'meta.json');
  let meta: { Name?: string; Endpoints?: { docker?: { Host?: string; SkipTLSVerify?: boolean } } };
  try {
    meta = JSON.parse(readFileSync(file, 'utf8')) as typeof meta;
  } catch (e) {
    const missing = (e as NodeJS.ErrnoException).code === 'ENOENT';
    const known = listContexts(env);
    throw new DockyardError('MISSING_REFERENCE', missing ? `no context "${name}" (${describeFrom(from, env)}) in ${contextStoreDir(env)}` : `the context "${name}" (${describeFrom(from, env)}) cannot be read: ${file} is not valid JSON`, {
      hint: `contexts there: ${known.join(', ')}; create one with \`docker context create ${name} --docker host=...\`, or choose another (--context, DOCKER_CONTEXT, \`docker context use\`)`,
    });
  }
  const docker = meta.Endpoints?.docker;
  if (!docker?.Host) {
    throw new DockyardError('INVALID_VALUE', `the context "${name}" has no docker endpoint (${file})`, { hint: `see \`docker context inspect ${name}\`` });
  }
  const tlsDir = join(contextStoreDir(env), 'tls', dir, 'docker');
  const ca = readIf(join(tlsDir, 'ca.pem'));
  const cert = readIf(join(tlsDir, 'cert.pem'));
  const key = readIf(join(tlsDir, 'key.pem'));
  const host = normalizeHost(docker.Host, !!(ca || cert || docker.SkipTLSVerify));
  const ep: EngineEndpoint = { context: name, from, host, why: describeFrom(from, env) };
  // as the CLI: TLS for a tcp endpoint with TLS material or SkipTLSVerify
  if (host.startsWith('tcp://') && (ca || cert || key || docker.SkipTLSVerify)) ep.tls = { ca, cert, key, verify: !docker.SkipTLSVerify, from: `the context's TLS files (${tlsDir})` };
  return ep;
}

/**
 * The engine to talk to, by the docker CLI's precedence. `sel` is what was given explicitly
 * (`--context`, `--host`, or a library option); the rest comes from the environment and the
 * CLI's config.
 */
export function resolveEndpoint(sel: EngineSelection = {}, env: NodeJS.ProcessEnv = process.env): EngineEndpoint {
  if (sel.context && sel.host) throw new DockyardError('USAGE', 'conflicting options: cannot give both --host and --context', { hint: 'use one of them' });
  if (sel.context) return readContext(sel.context, '--context', env);
  if (sel.host) return defaultEndpoint(sel.host, '--host', env);
  if (env.DOCKER_HOST) return defaultEndpoint(env.DOCKER_HOST, 'DOCKER_HOST', env);
  if (env.DOCKER_CONTEXT) return readContext(env.DOCKER_CONTEXT, 'DOCKER_CONTEXT', env);
  const current = readDockerConfig(env).currentContext;
  if (current) return readContext(current, 'currentContext', env);
  return defaultEndpoint(undefined, 'default', env);
}

function describeFrom(from: EngineEndpoint['from'], env: NodeJS.ProcessEnv = process.env): string {
  switch (from) {
    case 'currentContext':
      return `the current context in ${configPath(env)}`;
    case 'default':
      return 'the default';
    case 'the library':
      return 'given to the library';
    default:
      return `from ${from}`;
  }
}

/** `unix:///var/run/docker.sock (context "default")`, `tcp://10.0.0.5:2376 (context "prod", from DOCKER_CONTEXT, TLS)` */
export function describeEndpoint(ep: EngineEndpoint): string {
  const parts = [`context "${ep.context}"`];
  if (ep.from !== 'default') parts.push(ep.why ?? describeFrom(ep.from));
  if (ep.tls) parts.push(ep.tls.verify ? 'TLS' : 'TLS without verification');
  return `${ep.host} (${parts.join(', ')})`;
}

/**
 * What dockerode (docker-modem) takes for an endpoint. Every connection key is set (undefined
 * where unused), so nothing of docker-modem's own reading of DOCKER_HOST is left over.
 */
export function modemOptions(ep: EngineEndpoint, env: NodeJS.ProcessEnv = process.env): Record<string, unknown> {
  const none = { socketPath: undefined, host: undefined, port: undefined, protocol: undefined, ca: undefined, cert: undefined, key: undefined, username: undefined, sshOptions: undefined };
  const scheme = ep.host.slice(0, ep.host.indexOf('://'));
  if (scheme === 'unix' || scheme === 'npipe') return { ...none, socketPath: ep.host.slice(scheme.length + 3) || '/var/run/docker.sock' };
  const u = new URL(ep.host.replace(/^[a-z]+:/, 'http:'));
  const hostname = u.hostname.replace(/^\[|\]$/g, '');
  if (scheme === 'ssh') {
    const sshOptions: Record<string, unknown> = {};
    if (env.SSH_AUTH_SOCK) sshOptions.agent = env.SSH_AUTH_SOCK;
    else {
      // without an agent, the first default key that exists (as ssh tries them)
      const home = env.HOME || homedir();
      for (const k of ['id_ed25519', 'id_ecdsa', 'id_rsa']) {
        const p = join(home, '.ssh', k);
        if (existsSync(p)) {
          sshOptions.privateKey = readFileSync(p);
          break;
        }
      }
    }
    return { ...none, protocol: 'ssh', host: hostname, port: u.port || '22', username: decodeURIComponent(u.username) || undefined, sshOptions };
  }
  const base = { ...none, host: hostname, port: u.port, pathPrefix: u.pathname && u.pathname !== '/' ? u.pathname : '/' };
  if (!ep.tls) return { ...base, protocol: 'http' };
  return { ...base, protocol: 'https', ca: ep.tls.ca, cert: ep.tls.cert, key: ep.tls.key };
}

let selected: EngineSelection = {};

/** The CLI's `--context` / `--host`: what every engine made without options from then on uses. */
export function selectEngine(sel: EngineSelection): void {
  if (sel.context && sel.host) throw new DockyardError('USAGE', 'conflicting options: cannot give both --host and --context', { hint: 'use one of them' });
  selected = { ...sel };
}

/** What `selectEngine` chose (empty: the environment and config decide). */
export function selectedEngine(): EngineSelection {
  return selected;
}

/** The endpoint an engine made now without options would use (the CLI's flags, then the environment). */
export function currentEndpoint(env: NodeJS.ProcessEnv = process.env): EngineEndpoint {
  return resolveEndpoint(selected, env);
}

/**
 * The engine in use, for `dockyard version` and the like: its address, the context and what chose
 * it, in words and as fields. Nothing is contacted.
 */
export function engineSummary(env: NodeJS.ProcessEnv = process.env): { host: string; context: string; from: EngineEndpoint['from']; tls: boolean; description: string } {
  const ep = currentEndpoint(env);
  return { host: ep.host, context: ep.context, from: ep.from, tls: !!ep.tls, description: describeEndpoint(ep) };
}
