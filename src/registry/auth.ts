/**
 * Registry credentials, found where the docker CLI finds them: `DOCKER_AUTH_CONFIG`, then the
 * CLI's config file (`$DOCKER_CONFIG/config.json`, default `~/.docker/config.json`): a
 * `credHelpers` entry for the registry, else `credsStore`, else the `auths` entry. A helper is run
 * as the CLI runs it (`docker-credential-<name> get`, the server address on stdin); nothing is
 * written anywhere. Docker Hub's names (docker.io, index.docker.io, registry-1.docker.io,
 * https://index.docker.io/v1/) are one registry, keyed `https://index.docker.io/v1/` as the CLI does.
 *
 * Secrets stay in `RegistryAuth` objects: messages name the registry, the user and where the
 * credentials came from (`credential()` / `describeCredential()`), never a password or token.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { DockyardError } from '../errors.js';

/** The key Docker Hub's credentials are stored under (the CLI's `registry.IndexServer`). */
export const HUB_KEY = 'https://index.docker.io/v1/';
const HUB_NAMES = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io', 'registry.hub.docker.com', HUB_KEY, 'https://index.docker.io', 'https://registry-1.docker.io', 'https://registry-1.docker.io/v2/']);

/** What the engine's X-Registry-Auth carries (the Engine API's AuthConfig). */
export interface RegistryAuth {
  username?: string;
  password?: string;
  /** an OAuth refresh token (what `docker login` keeps for registries that give one) */
  identitytoken?: string;
  /** a bearer token to send to the registry as it is */
  registrytoken?: string;
  serveraddress: string;
}

export interface Credential {
  auth: RegistryAuth;
  /** where it was found, for messages: `auths in /root/.docker/config.json`, `credsStore "pass"` */
  source: string;
}

/** Where credentials come from. The default is the docker CLI's configuration (`DockerConfigCredentials`). */
export interface CredentialStore {
  /** the credentials for a registry host (`127.0.0.1:5000`, `ghcr.io`, `docker.io`), or undefined (anonymous) */
  get(registry: string): Promise<Credential | undefined>;
}

/** `docker.io` and its other names, in any spelling the CLI accepts. */
export function isDockerHub(registry: string): boolean {
  return HUB_NAMES.has(registry) || HUB_NAMES.has(convertToHostname(registry));
}

/** The CLI's `ConvertToHostname`: `https://host:5000/v1/` → `host:5000`. */
export function convertToHostname(maybeUrl: string): string {
  let s = maybeUrl;
  const scheme = s.indexOf('://');
  if (scheme >= 0) s = s.slice(scheme + 3);
  return s.split('/')[0]!;
}

/** The key a registry's credentials are stored under (what `docker login HOST` writes). */
export function authKey(registry: string): string {
  return isDockerHub(registry) ? HUB_KEY : convertToHostname(registry);
}

/** What to type to log in: `docker login` for Docker Hub, `docker login HOST` otherwise. */
export function loginCommand(registry: string): string {
  return isDockerHub(registry) ? 'docker login' : `docker login ${convertToHostname(registry)}`;
}

/**
 * The registry host of an image reference, by the docker reference rules: the first path
 * component is a host if it has a dot or a colon or is `localhost`; otherwise the image is Docker
 * Hub's (`docker.io`).
 */
export function registryOf(ref: string): string {
  const noDigest = ref.split('@')[0]!;
  const slash = noDigest.indexOf('/');
  if (slash < 0) return 'docker.io';
  const first = noDigest.slice(0, slash);
  if (first.includes('.') || first.includes(':') || first === 'localhost') return first === 'index.docker.io' ? 'docker.io' : first;
  return 'docker.io';
}

/** The engine's X-Registry-Auth / X-Registry-Config encoding: JSON, base64 with the URL alphabet (the engine decodes that one). */
export function encodeForEngine(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64').replace(/\+/g, '-').replace(/\//g, '_');
}

/** Says whose credentials these are and where they came from; no secret. */
export function describeCredential(c: Credential): string {
  const who = c.auth.username ? `user "${c.auth.username}"` : c.auth.identitytoken ? 'an identity token' : 'a registry token';
  return `${who} (from ${c.source})`;
}

/** The error for a registry that refused: which registry, whose credentials, what to run. */
export function refusedError(registry: string, cred: Credential | undefined, detail?: string, what?: string): DockyardError {
  const host = isDockerHub(registry) ? 'Docker Hub' : `the registry ${convertToHostname(registry)}`;
  const why = cred ? `refused the credentials of ${describeCredential(cred)}` : 'asks for credentials, and none are configured for it';
  // what to run is in the message too: callers that wrap the message keep it
  return new DockyardError('ENGINE', `${what ? `${what}: ` : ''}${host} ${why}${detail ? `: ${detail}` : ''}; run \`${loginCommand(registry)}\``, {
    hint: `dockyard reads the docker CLI's credentials: ${configPath()} (auths, credsStore, credHelpers) and DOCKER_AUTH_CONFIG`,
  });
}

interface ConfigAuthEntry {
  auth?: string;
  username?: string;
  password?: string;
  identitytoken?: string;
  registrytoken?: string;
}

interface DockerConfig {
  auths?: Record<string, ConfigAuthEntry>;
  credsStore?: string;
  credHelpers?: Record<string, string>;
  currentContext?: string;
}

/** `$DOCKER_CONFIG`, or `~/.docker`. */
export function configDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.DOCKER_CONFIG || join(env.HOME || homedir(), '.docker');
}

export function configPath(env: NodeJS.ProcessEnv = process.env): string {
  return join(configDir(env), 'config.json');
}

/**
 * The CLI's config file, parsed (missing: empty). A file that is not JSON is an error that says
 * where it breaks, without quoting it (it may hold credentials).
 */
export function readDockerConfig(env: NodeJS.ProcessEnv = process.env): DockerConfig {
  const file = configPath(env);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return {};
  }
  if (!text.trim()) return {};
  try {
    const parsed = JSON.parse(text) as unknown;
    return parsed && typeof parsed === 'object' ? (parsed as DockerConfig) : {};
  } catch (e) {
    // Node's message quotes the text: only the position goes out
    const at = /position (\d+)/.exec((e as Error).message)?.[1];
    throw new DockyardError('INVALID_VALUE', `${file} is not valid JSON${at ? ` (at character ${at})` : ''}`, { hint: 'fix it, or point DOCKER_CONFIG at another folder' });
  }
}

/** user:password from an `auth` field (base64), as the CLI decodes it. */
function decodeAuth(auth: string, where: string): { username: string; password: string } {
  const decoded = Buffer.from(auth, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0) throw new DockyardError('INVALID_VALUE', `the "auth" of ${where} is not base64 of user:password`, { hint: 'log in again with `docker login`' });
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1).replace(/\0+$/, '') };
}

function fromEntry(entry: ConfigAuthEntry, serveraddress: string, where: string): RegistryAuth | undefined {
  const auth: RegistryAuth = { serveraddress };
  if (entry.auth) Object.assign(auth, decodeAuth(entry.auth, where));
  else if (entry.username) Object.assign(auth, { username: entry.username, password: entry.password ?? '' });
  if (entry.identitytoken) auth.identitytoken = entry.identitytoken;
  if (entry.registrytoken) auth.registrytoken = entry.registrytoken;
  return auth.username || auth.identitytoken || auth.registrytoken ? auth : undefined;
}

/** An `auths` map's entry for a key: exact, else the first whose key names the same host (legacy `https://host/v1/` keys). */
function lookup(auths: Record<string, ConfigAuthEntry> | undefined, key: string): [string, ConfigAuthEntry] | undefined {
  if (!auths) return undefined;
  if (auths[key]) return [key, auths[key]!];
  for (const [k, v] of Object.entries(auths)) if (authKey(k) === key) return [k, v];
  return undefined;
}

/** A credential helper that is missing or failed (not a registry's refusal). */
export class CredentialError extends DockyardError {
  constructor(message: string, hint?: string) {
    super('ENGINE', message, { hint });
    this.name = 'CredentialError';
  }
}

/** Runs `docker-credential-<helper> get` with the server address on stdin; undefined when it has none. */
export function runCredentialHelper(helper: string, serverAddress: string, why: string, env: NodeJS.ProcessEnv = process.env): Promise<{ Username: string; Secret: string; ServerURL?: string } | undefined> {
  const program = `docker-credential-${helper}`;
  return new Promise((resolve, reject) => {
    const child = spawn(program, ['get'], { stdio: ['pipe', 'pipe', 'pipe'], env });
    let out = '';
    let err = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.stdout.on('data', (d: Buffer) => (out += d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => (err += d.toString('utf8')));
    child.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(
        e.code === 'ENOENT'
          ? new CredentialError(`the credential helper ${program} (${why}) is not on PATH`, `install it, or change ${why}`)
          : new CredentialError(`the credential helper ${program} (${why}) could not be run: ${e.message}`),
      );
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) {
        try {
          const r = JSON.parse(out) as { Username?: string; Secret?: string; ServerURL?: string };
          return resolve(r.Secret ? { Username: r.Username ?? '', Secret: r.Secret, ServerURL: r.ServerURL } : undefined);
        } catch {
          return reject(new CredentialError(`the credential helper ${program} (${why}) answered with something that is not JSON`));
        }
      }
      // the helpers' protocol: "credentials not found in native keychain" on stdout, exit 1
      const said = (out.trim() || err.trim()).split('\n')[0] ?? '';
      if (/credentials not found/i.test(said)) return resolve(undefined);
      reject(new CredentialError(`the credential helper ${program} (${why}) failed for ${serverAddress}: ${signal ? `killed by ${signal}` : said || `exit code ${code}`}`, `check it with \`echo ${serverAddress} | ${program} get\``));
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(serverAddress);
  });
}

/**
 * The docker CLI's credentials. The config is read on first use; each registry's credentials are
 * looked up once per instance (a helper runs once per registry, however many images).
 */
export class DockerConfigCredentials implements CredentialStore {
  private config?: DockerConfig;
  private readonly cache = new Map<string, Promise<Credential | undefined>>();

  constructor(private readonly env: NodeJS.ProcessEnv = process.env) {}

  get(registry: string): Promise<Credential | undefined> {
    const key = authKey(registry);
    let p = this.cache.get(key);
    if (!p) {
      p = this.find(key);
      this.cache.set(key, p);
    }
    return p;
  }

  private async find(key: string): Promise<Credential | undefined> {
    const fromEnv = this.env.DOCKER_AUTH_CONFIG;
    if (fromEnv) {
      let parsed: DockerConfig;
      try {
        parsed = JSON.parse(fromEnv) as DockerConfig;
      } catch {
        throw new DockyardError('INVALID_VALUE', 'DOCKER_AUTH_CONFIG is not valid JSON', { hint: 'it holds {"auths": {"HOST": {"auth": "base64 of user:password"}}}' });
      }
      const hit = lookup(parsed.auths, key);
      const auth = hit && fromEntry(hit[1], key, `DOCKER_AUTH_CONFIG's entry for ${hit[0]}`);
      if (auth) return { auth, source: 'DOCKER_AUTH_CONFIG' };
    }
    this.config ??= readDockerConfig(this.env);
    const file = configPath(this.env);
    const helperName = this.config.credHelpers?.[key] ?? this.config.credsStore;
    if (helperName) {
      const why = this.config.credHelpers?.[key] ? `credHelpers entry for ${key} in ${file}` : `credsStore in ${file}`;
      const got = await runCredentialHelper(helperName, key, why, this.env);
      if (!got) return undefined;
      const auth: RegistryAuth = got.Username === '<token>' ? { identitytoken: got.Secret, serveraddress: key } : { username: got.Username, password: got.Secret, serveraddress: key };
      return { auth, source: `docker-credential-${helperName}, the ${why}` };
    }
    const hit = lookup(this.config.auths, key);
    const auth = hit && fromEntry(hit[1], key, `the auths entry for ${hit[0]} in ${file}`);
    return auth && { auth, source: `auths in ${file}` };
  }
}

/** Credentials given by a program (library users): a map from registry (any of its names) to user and password or token. */
export class StaticCredentials implements CredentialStore {
  private readonly byKey = new Map<string, RegistryAuth>();
  constructor(entries: Record<string, Omit<RegistryAuth, 'serveraddress'>>) {
    for (const [k, v] of Object.entries(entries)) this.byKey.set(authKey(k), { ...v, serveraddress: authKey(k) });
  }
  async get(registry: string): Promise<Credential | undefined> {
    const auth = this.byKey.get(authKey(registry));
    return auth && { auth, source: 'the credentials given to dockyard' };
  }
}

/** No credentials at all (anonymous access everywhere). */
export const anonymous: CredentialStore = { get: async () => undefined };

/**
 * Is this engine or registry message a refusal for want of (good) credentials? The engine relays
 * the registry's words: `no basic auth credentials`, `unauthorized: authentication required`,
 * `denied: requested access to the resource is denied`, `... may require 'docker login'`.
 */
export function isAuthRefusal(message: string): boolean {
  return /no basic auth credentials|unauthorized|authentication required|access to the resource is denied|may require 'docker login'|401 Unauthorized|incorrect username or password/i.test(message);
}

/** Anything that looks like a secret of this credential, replaced: for text that reaches a user from elsewhere (an engine, a helper). */
export function redact(text: string, cred: Credential | undefined): string {
  if (!cred) return text;
  let out = text;
  const a = cred.auth;
  for (const s of [a.password, a.identitytoken, a.registrytoken, a.username && a.password ? Buffer.from(`${a.username}:${a.password}`).toString('base64') : undefined]) {
    if (s && s.length >= 4) out = out.split(s).join('***');
  }
  return out;
}
