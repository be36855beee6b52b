/** The Docker Engine API through dockerode: the only module that talks to a daemon. */
import Docker from 'dockerode';
import { existsSync } from 'node:fs';
import { Agent } from 'node:http';
import type { AgentOptions } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { release as osRelease } from 'node:os';
import { PassThrough } from 'node:stream';
import type { Readable } from 'node:stream';
import { DockyardError, EngineError } from '../errors.js';
import { DockerConfigCredentials, encodeForEngine, isAuthRefusal, redact, refusedError, registryOf } from '../registry/auth.js';
import type { Credential, CredentialStore } from '../registry/auth.js';
import { currentEndpoint, DEFAULT_CONTEXT, describeEndpoint, modemOptions, resolveEndpoint, selectedEngine } from './context.js';
import type { EngineEndpoint, EngineSelection } from './context.js';
import type { ContainerInspect, ContainerSummary, Engine, EngineEvent, EventSubscription, ExecOptions, ImageInspect, LogOptions, SwarmKind } from './engine.js';

interface ApiError extends Error {
  statusCode?: number;
  code?: string;
  json?: { message?: string } | null;
  reason?: string;
  level?: string;
}

/** The engine in use, in words (for errors made without an engine at hand: the one an engine made now would use). */
function where(ep?: EngineEndpoint): string {
  if (ep) return describeEndpoint(ep);
  try {
    return describeEndpoint(currentEndpoint());
  } catch {
    return process.env.DOCKER_HOST ?? 'unix:///var/run/docker.sock';
  }
}

const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOENT', 'EACCES', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE', 'EPROTO']);
const isTlsCode = (code: string) => /^(ERR_SSL|ERR_TLS|CERT_|UNABLE_TO_|DEPTH_ZERO|SELF_SIGNED|ERR_OSSL|HOSTNAME_MISMATCH|ERR_TLS_CERT)/.test(code);

/** Turns dockerode's errors into DockyardErrors: unreachable (exit 3) or an engine message. */
export function engineError(e: unknown, what: string, ep?: EngineEndpoint): DockyardError {
  if (e instanceof DockyardError) return e;
  const err = e as ApiError;
  const code = err?.code ?? '';
  const ssh = typeof err?.level === 'string' && err.level.startsWith('client-');
  if ((UNREACHABLE.has(code) || isTlsCode(code) || ssh) && err.statusCode === undefined) {
    const named = ep ? ep.context !== DEFAULT_CONTEXT : false;
    const detail = isTlsCode(code) || ssh ? `${code || err.level}: ${err.message}` : code;
    const hint =
      code === 'EACCES'
        ? 'you lack permission on the socket: run as root or join the docker group'
        : isTlsCode(code)
          ? `the TLS handshake failed: check the engine's certificate and the client's (${ep?.tls?.from ?? 'DOCKER_CERT_PATH'})`
          : named
            ? `is that engine running? See \`docker context inspect ${ep!.context}\`, or choose another context (--context, DOCKER_CONTEXT, \`docker context use\`)`
            : 'start one: `bash scripts/engine.sh` (as root on Debian), `sudo systemctl start docker`, or set DOCKER_HOST or --context';
    return new DockyardError('ENGINE_UNREACHABLE', `cannot reach the Docker engine at ${where(ep)}: ${detail}`, { hint });
  }
  // a streamed request (build, a tar upload) leaves json empty: the engine's words are after the reason in the message
  const fromMessage = /^\(HTTP code \d+\) [^-]*- (.+)$/s.exec(err?.message ?? '')?.[1]?.trim();
  const msg = err?.json?.message ?? (typeof err?.json === 'string' ? err.json : undefined) ?? (fromMessage || undefined) ?? err?.reason ?? err?.message ?? String(e);
  return new EngineError(`${what}: ${String(msg).trim()}`, err?.statusCode, { cause: e });
}

export interface DockerEngineOptions extends EngineSelection {
  /** an endpoint resolved already (context.ts); else `context` / `host`, else as the docker CLI chooses */
  endpoint?: EngineEndpoint;
  /** registry credentials (default: the docker CLI's: config.json, credsStore, credHelpers) */
  credentials?: CredentialStore;
}

/** A dockerode client for an endpoint. docker-modem reads DOCKER_HOST itself: hidden meanwhile, every key is given. */
function clientFor(ep: EngineEndpoint): Docker {
  const opts = modemOptions(ep);
  if (opts.protocol === 'https') {
    // verification off (DOCKER_TLS without _VERIFY, SkipTLSVerify) needs an agent: docker-modem passes no such option
    opts.agent = new HttpsAgent({ keepAlive: true, ca: ep.tls?.ca, cert: ep.tls?.cert, key: ep.tls?.key, rejectUnauthorized: ep.tls?.verify !== false });
  }
  const saved = { DOCKER_HOST: process.env.DOCKER_HOST, DOCKER_CERT_PATH: process.env.DOCKER_CERT_PATH, DOCKER_TLS_VERIFY: process.env.DOCKER_TLS_VERIFY };
  for (const k of Object.keys(saved)) delete process.env[k];
  try {
    return new Docker(opts as Docker.DockerOptions);
  } finally {
    for (const [k, v] of Object.entries(saved)) if (v !== undefined) process.env[k] = v;
  }
}

const isNotFound = (e: unknown) => (e as ApiError)?.statusCode === 404;

export class DockerEngine implements Engine {
  readonly docker: Docker;
  /** the engine in use and the context that named it */
  readonly endpoint: EngineEndpoint;
  readonly credentials: CredentialStore;
  /**
   * Hears the engine's progress messages of every pull (layers, bytes), whoever asked for the pull
   * (pull, up, run): the CLI renders them. A pull's own onProgress is called too.
   */
  onPullProgress?: (ref: string, msg: Record<string, unknown>) => void;

  /** A dockerode client as it is, or options: a context, a host, credentials (default: as the docker CLI) */
  constructor(o?: Docker | DockerEngineOptions) {
    const opts: DockerEngineOptions = o instanceof Docker ? {} : (o ?? {});
    this.credentials = opts.credentials ?? new DockerConfigCredentials();
    if (o instanceof Docker) {
      this.docker = o;
      this.endpoint = { context: DEFAULT_CONTEXT, from: 'the library', host: String((o.modem as { socketPath?: unknown; host?: string }).host ?? (o.modem as { socketPath?: unknown }).socketPath ?? '') };
    } else {
      const explicit = opts.context || opts.host ? { context: opts.context, host: opts.host } : selectedEngine();
      this.endpoint = opts.endpoint ?? resolveEndpoint(explicit);
      this.docker = clientFor(this.endpoint);
    }
    const modem = this.docker.modem as unknown as { socketPath?: string; agent?: Agent };
    // A unix socket has no TLS server name, but Node works one out of the Host header for every
    // request (its first use compiles the IPv6 pattern: ~17 ms of a short command here). An
    // agent with an empty server name skips that; keep-alive as Node's global agent.
    if (modem.socketPath && !modem.agent) modem.agent = new Agent({ keepAlive: true, servername: '' } as AgentOptions);
  }

  /** `unix:///var/run/docker.sock (context "default")` */
  describe(): string {
    return describeEndpoint(this.endpoint);
  }

  private async call<T>(what: string, f: () => Promise<T>): Promise<T> {
    try {
      return await f();
    } catch (e) {
      throw engineError(e, what, this.endpoint);
    }
  }

  private async maybe<T>(what: string, f: () => Promise<T>): Promise<T | undefined> {
    try {
      return await f();
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw engineError(e, what, this.endpoint);
    }
  }

  /** The credentials for an image's registry, and how the engine takes them (X-Registry-Auth). */
  private async authFor(ref: string): Promise<{ cred?: Credential; authconfig?: { key: string } }> {
    const cred = await this.credentials.get(registryOf(ref));
    return cred ? { cred, authconfig: { key: encodeForEngine(cred.auth) } } : {};
  }

  /**
   * An engine error that is a registry's refusal becomes one that says which registry, whose
   * credentials (never the secret) and what to run; any other passes as it is.
   */
  private registryError(e: unknown, what: string, ref: string, cred: Credential | undefined): DockyardError {
    const err = engineError(e, what, this.endpoint);
    if (err.code === 'ENGINE_UNREACHABLE') return err;
    const words = redact(err.message.startsWith(`${what}: `) ? err.message.slice(what.length + 2) : err.message, cred);
    if (!isAuthRefusal(words)) return redact(err.message, cred) === err.message ? err : new EngineError(redact(err.message, cred), err instanceof EngineError ? err.status : undefined);
    const refused = refusedError(registryOf(ref), cred, words, what);
    return new EngineError(refused.message, 401, { hint: refused.hint });
  }

  async ping(): Promise<void> {
    await this.call('ping', () => this.docker.ping());
  }

  async version() {
    const v = await this.call('version', () => this.docker.version());
    return { Version: v.Version, ApiVersion: v.ApiVersion };
  }

  async listContainers(labels: string[], all = true): Promise<ContainerSummary[]> {
    const list = await this.call('list containers', () => this.docker.listContainers({ all, filters: { label: labels } }));
    return list.map((c) => ({
      id: c.Id,
      name: (c.Names[0] ?? '').replace(/^\//, ''),
      image: c.Image,
      imageId: c.ImageID,
      state: c.State,
      status: c.Status,
      labels: c.Labels ?? {},
      created: c.Created,
      ports: (c.Ports ?? []).map((p) => ({ privatePort: p.PrivatePort, publicPort: p.PublicPort, type: p.Type, ip: p.IP })),
      command: c.Command,
    }));
  }

  inspectContainer(id: string): Promise<ContainerInspect | undefined> {
    return this.maybe(`inspect container ${id}`, () => this.docker.getContainer(id).inspect() as unknown as Promise<ContainerInspect>);
  }

  async createContainer(name: string, body: Record<string, unknown>): Promise<string> {
    const c = await this.call(`create container ${name}`, () => this.docker.createContainer({ ...(body as Docker.ContainerCreateOptions), name }));
    return c.id;
  }

  async startContainer(id: string): Promise<void> {
    try {
      await this.docker.getContainer(id).start();
    } catch (e) {
      if ((e as ApiError).statusCode === 304) return; // already started
      throw engineError(e, 'start container', this.endpoint);
    }
  }

  async stopContainer(id: string, timeoutSeconds?: number): Promise<void> {
    try {
      await this.docker.getContainer(id).stop(timeoutSeconds === undefined ? {} : { t: timeoutSeconds });
    } catch (e) {
      const s = (e as ApiError).statusCode;
      if (s === 304 || s === 404) return;
      throw engineError(e, 'stop container', this.endpoint);
    }
  }

  async restartContainer(id: string, timeoutSeconds?: number): Promise<void> {
    await this.call('restart container', () => this.docker.getContainer(id).restart(timeoutSeconds === undefined ? {} : { t: timeoutSeconds }));
  }

  async killContainer(id: string, signal?: string): Promise<void> {
    try {
      await this.docker.getContainer(id).kill(signal ? { signal } : {});
    } catch (e) {
      const s = (e as ApiError).statusCode;
      if (s === 409 || s === 404) return; // not running
      throw engineError(e, 'kill container', this.endpoint);
    }
  }

  async removeContainer(id: string, opts: { force?: boolean; volumes?: boolean } = {}): Promise<void> {
    try {
      await this.docker.getContainer(id).remove({ force: opts.force ?? false, v: opts.volumes ?? false });
    } catch (e) {
      const s = (e as ApiError).statusCode;
      if (s === 404) return;
      if (s === 409) {
        // removal already in progress (down racing an auto-remove): done, once it is gone
        const still = await this.docker.getContainer(id).inspect().catch(() => undefined);
        if (!still || (still as { State?: { Status?: string } }).State?.Status === 'removing') return;
      }
      throw engineError(e, 'remove container', this.endpoint);
    }
  }

  async renameContainer(id: string, name: string): Promise<void> {
    await this.call('rename container', () => this.docker.getContainer(id).rename({ name }));
  }

  async resizeContainer(id: string, rows: number, cols: number): Promise<void> {
    await this.call('resize container TTY', () => this.docker.getContainer(id).resize({ h: rows, w: cols }));
  }

  async waitContainer(id: string): Promise<number> {
    const r = (await this.call('wait container', () => this.docker.getContainer(id).wait())) as { StatusCode: number };
    return r.StatusCode;
  }

  async containerLogs(id: string, opts: LogOptions, tty: boolean) {
    const stream = (await this.call('container logs', () =>
      this.docker.getContainer(id).logs({
        follow: (opts.follow ?? false) as true,
        stdout: true,
        stderr: true,
        timestamps: opts.timestamps ?? false,
        tail: opts.tail ?? 'all',
        since: opts.since,
        until: opts.until,
      } as Docker.ContainerLogsOptions & { follow: true }),
    )) as unknown as Readable | Buffer;
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    if (Buffer.isBuffer(stream)) {
      if (tty) stdout.end(stream);
      else demuxBuffer(stream, stdout, stderr);
      return { stdout, stderr, done: Promise.resolve(), close: () => undefined };
    }
    return { ...this.split(stream, tty, stdout, stderr), close: () => (stream as Readable & { destroy(): void }).destroy() };
  }

  /**
   * A container's output stream into stdout and stderr: as it is with a TTY, demultiplexed
   * without one; both end (and `done` resolves) when the stream ends, closes or fails.
   */
  private split(stream: Readable, tty: boolean, stdout = new PassThrough(), stderr = new PassThrough()) {
    if (tty) stream.pipe(stdout);
    else this.docker.modem.demuxStream(stream, stdout, stderr);
    const done = new Promise<void>((resolve) => {
      stream.on('end', resolve);
      stream.on('close', resolve);
      stream.on('error', () => resolve());
    }).then(() => {
      stdout.end();
      stderr.end();
    });
    return { stdout, stderr, done };
  }

  async attachContainer(id: string, tty: boolean) {
    const stream = (await this.call('attach container', () =>
      this.docker.getContainer(id).attach({ stream: true, stdin: true, stdout: true, stderr: true, hijack: true }),
    )) as NodeJS.ReadWriteStream & { destroy(): void };
    const { stdout, stderr } = this.split(stream as unknown as Readable, tty);
    return { stdout, stderr, stdin: stream as unknown as import('node:stream').Writable, close: () => stream.destroy() };
  }

  async putArchive(id: string, path: string, tar: Buffer | Readable): Promise<void> {
    await this.call('copy into container', () => this.docker.getContainer(id).putArchive(tar as unknown as NodeJS.ReadableStream, { path }));
  }

  async getArchive(id: string, path: string): Promise<Readable> {
    return (await this.call(`copy ${path} from container`, () => this.docker.getContainer(id).getArchive({ path }))) as unknown as Readable;
  }

  async statPath(id: string, path: string) {
    try {
      // dockerode hands back the raw response of the HEAD request: the stat is a header
      const res = (await this.docker.getContainer(id).infoArchive({ path })) as unknown as { headers: Record<string, string>; resume(): void; destroy(): void };
      const header = res.headers['x-docker-container-path-stat'];
      res.resume();
      res.destroy();
      if (!header) return undefined;
      return JSON.parse(Buffer.from(header, 'base64').toString('utf8')) as { name: string; size: number; mode: number; mtime: string; linkTarget: string };
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw engineError(e, `stat ${path}`, this.endpoint);
    }
  }

  async pauseContainer(id: string): Promise<void> {
    await this.call('pause container', () => this.docker.getContainer(id).pause());
  }

  async unpauseContainer(id: string): Promise<void> {
    await this.call('unpause container', () => this.docker.getContainer(id).unpause());
  }

  async containerStats(id: string): Promise<Record<string, any>> {
    return (await this.call('stats', () => this.docker.getContainer(id).stats({ stream: false }))) as unknown as Record<string, any>;
  }

  async exportContainer(id: string): Promise<Readable> {
    return (await this.call('export container', () => this.docker.getContainer(id).export())) as unknown as Readable;
  }

  async commitContainer(id: string, o: { repo?: string; tag?: string; author?: string; message?: string; changes?: string[]; pause?: boolean }): Promise<string> {
    const r = (await this.call('commit container', () =>
      this.docker.getContainer(id).commit(Object.fromEntries(Object.entries({ repo: o.repo, tag: o.tag, author: o.author, comment: o.message, changes: o.changes?.length ? o.changes : undefined, pause: o.pause ?? true }).filter(([, v]) => v !== undefined))),
    )) as { Id: string };
    return r.Id;
  }

  topContainer(id: string, psArgs?: string) {
    return this.call('top', () => this.docker.getContainer(id).top(psArgs ? { ps_args: psArgs } : {}) as Promise<{ Titles: string[]; Processes: string[][] }>);
  }

  async exec(id: string, o: ExecOptions): Promise<number> {
    const exec = await this.call('exec', () =>
      this.docker.getContainer(id).exec({
        Cmd: o.cmd,
        Env: o.env,
        User: o.user,
        WorkingDir: o.workdir,
        Tty: o.tty ?? false,
        ConsoleSize: o.tty ? o.consoleSize : undefined,
        Privileged: o.privileged,
        AttachStdin: !!o.stdin && !o.detach,
        AttachStdout: !o.detach,
        AttachStderr: !o.detach,
      }),
    );
    if (o.detach) {
      const res = (await this.call('exec start', () => exec.start({ Detach: true, Tty: false }))) as unknown as { destroy?: () => void; resume?: () => void };
      // the engine answers with an empty response; release its socket so the process can exit
      res?.resume?.();
      res?.destroy?.();
      return 0;
    }
    const stream = (await this.call('exec start', () => exec.start({ hijack: true, stdin: !!o.stdin, Tty: o.tty ?? false, ConsoleSize: o.tty ? o.consoleSize : undefined } as Docker.ExecStartOptions))) as NodeJS.ReadWriteStream;
    // the exec's TTY takes the local terminal's size, now and on every change
    const unfollow = o.tty ? o.followSize?.((h, w) => void exec.resize({ h, w }).catch(() => undefined)) : undefined;
    await new Promise<void>((resolve, reject) => {
      if (o.tty) (stream as unknown as Readable).pipe(o.stdout, { end: false });
      else this.docker.modem.demuxStream(stream, o.stdout, o.stderr);
      if (o.stdin) o.stdin.pipe(stream as unknown as import('node:stream').Writable);
      stream.on('end', resolve);
      stream.on('close', resolve);
      stream.on('error', reject);
    }).finally(() => unfollow?.());
    // the stream can end a moment before the engine records the exit code
    for (let i = 0; i < 200; i++) {
      const info = await this.call('exec inspect', () => exec.inspect());
      if (!info.Running) return info.ExitCode ?? 0;
      await new Promise((r) => setTimeout(r, 10));
    }
    return -1;
  }

  async listNetworks(labels: string[]) {
    const list = await this.call('list networks', () => this.docker.listNetworks({ filters: { label: labels } }));
    return list.map((n) => ({ Id: n.Id, Name: n.Name, Labels: n.Labels ?? {} }));
  }

  async inspectNetwork(name: string) {
    const n = await this.maybe(`inspect network ${name}`, () => this.docker.getNetwork(name).inspect());
    return n && { ...n, Labels: n.Labels ?? {} };
  }

  async createNetwork(body: Record<string, unknown>): Promise<string> {
    const n = await this.call(`create network ${String(body.Name)}`, () => this.docker.createNetwork(body as unknown as Docker.NetworkCreateOptions));
    return n.id;
  }

  async removeNetwork(name: string): Promise<void> {
    try {
      await this.docker.getNetwork(name).remove();
    } catch (e) {
      if (isNotFound(e)) return;
      throw engineError(e, `remove network ${name}`, this.endpoint);
    }
  }

  async connectNetwork(network: string, container: string, endpoint: Record<string, unknown>): Promise<void> {
    await this.call(`connect to network ${network}`, () => this.docker.getNetwork(network).connect({ Container: container, EndpointConfig: endpoint }));
  }

  async disconnectNetwork(network: string, container: string): Promise<void> {
    await this.call(`disconnect from network ${network}`, () => this.docker.getNetwork(network).disconnect({ Container: container, Force: true }));
  }

  async listVolumes(labels: string[]) {
    const r = await this.call('list volumes', () => this.docker.listVolumes({ filters: { label: labels } }));
    return (r.Volumes ?? []).map((v) => ({ Name: v.Name, Labels: (v.Labels as Record<string, string>) ?? {} }));
  }

  inspectVolume(name: string) {
    return this.maybe(`inspect volume ${name}`, () => this.docker.getVolume(name).inspect() as Promise<{ Name: string; Labels: Record<string, string> | null; Mountpoint?: string }>);
  }

  async createVolume(body: Record<string, unknown>): Promise<void> {
    await this.call(`create volume ${String(body.Name)}`, () => this.docker.createVolume(body as Docker.VolumeCreateOptions));
  }

  async removeVolume(name: string): Promise<void> {
    try {
      await this.docker.getVolume(name).remove();
    } catch (e) {
      if (isNotFound(e)) return;
      throw engineError(e, `remove volume ${name}`, this.endpoint);
    }
  }

  inspectImage(ref: string): Promise<ImageInspect | undefined> {
    return this.maybe(`inspect image ${ref}`, () => this.docker.getImage(ref).inspect() as unknown as Promise<ImageInspect>);
  }

  async removeImage(ref: string): Promise<void> {
    try {
      await this.docker.getImage(ref).remove();
    } catch (e) {
      if (isNotFound(e)) return;
      throw engineError(e, `remove image ${ref}`, this.endpoint);
    }
  }

  async pullImage(ref: string, onProgress?: (msg: Record<string, unknown>) => void): Promise<void> {
    const { cred, authconfig } = await this.authFor(ref);
    const what = `pull ${ref}`;
    try {
      const stream = (await this.docker.pull(ref, authconfig ? { authconfig } : {})) as unknown as Readable;
      const hook = this.onPullProgress;
      await this.follow(stream, what, hook ? (m) => (onProgress?.(m), hook(ref, m)) : onProgress);
    } catch (e) {
      throw this.registryError(e, what, ref, cred);
    }
  }

  async pushImage(ref: string, onProgress?: (msg: Record<string, unknown>) => void): Promise<void> {
    // the engine wants X-Registry-Auth even for a registry without credentials: "{}" then
    const { cred, authconfig } = await this.authFor(ref);
    const what = `push ${ref}`;
    try {
      const stream = (await (this.docker.getImage(ref).push({ authconfig: authconfig ?? {} } as never) as unknown as Promise<unknown>)) as Readable;
      await this.follow(stream, what, onProgress);
    } catch (e) {
      throw this.registryError(e, what, ref, cred);
    }
  }

  /** Follows a progress stream (pull, push) to its end; an error message in it fails it. */
  private follow(stream: Readable, what: string, onProgress?: (msg: Record<string, unknown>) => void): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.docker.modem.followProgress(
        stream,
        (err: Error | null, out: Array<Record<string, unknown>>) => {
          if (err) return reject(engineError(err, what, this.endpoint));
          const failed = out?.find((m) => m.error);
          if (failed) return reject(new EngineError(`${what}: ${String(failed.error)}`, undefined));
          resolve();
        },
        onProgress,
      );
    });
  }

  async tagImage(ref: string, repo: string, tag: string): Promise<void> {
    await this.call(`tag ${ref}`, () => this.docker.getImage(ref).tag({ repo, tag }));
  }

  async listImages(filters: Record<string, string[]> = {}) {
    const list = await this.call('list images', () => this.docker.listImages({ filters }));
    return list.map((i) => ({ Id: i.Id, RepoTags: (i.RepoTags ?? []).filter((t) => t !== '<none>:<none>'), Size: i.Size, Created: i.Created, Labels: i.Labels ?? {} }));
  }

  async buildImage(context: Readable, options: Record<string, unknown>, onProgress: (msg: Record<string, unknown>) => void, o: { baseImages?: string[] } = {}): Promise<void> {
    // undefined options would reach the API as empty strings ("bad format for add-host")
    const opts: Record<string, unknown> = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined && v !== ''));
    // the credentials of each registry the FROM lines name (X-Registry-Config: the engine pulls them with these)
    const creds = new Map<string, { ref: string; cred: Credential }>();
    for (const ref of o.baseImages ?? []) {
      const cred = await this.credentials.get(registryOf(ref));
      if (cred && !creds.has(cred.auth.serveraddress)) creds.set(cred.auth.serveraddress, { ref, cred });
    }
    if (creds.size) opts.registryconfig = { base64: encodeForEngine(Object.fromEntries([...creds].map(([k, v]) => [k, v.cred.auth]))) };
    const refused = (message: string): DockyardError | undefined => {
      if (!isAuthRefusal(message)) return undefined;
      // which registry: the base image whose registry the engine's words name (else the first)
      const bases = o.baseImages ?? [];
      const ref = bases.find((b) => message.includes(registryOf(b)) && registryOf(b) !== 'docker.io') ?? bases.find((b) => message.includes(b.split(':')[0]!)) ?? bases[0];
      if (!ref) return undefined;
      const cred = creds.get(this.keyOf(ref))?.cred;
      const r = refusedError(registryOf(ref), cred, redact(message, cred), `pull ${ref}`);
      return new EngineError(r.message, 401, { hint: r.hint });
    };
    let stream: Readable;
    try {
      stream = (await this.docker.buildImage(context as unknown as NodeJS.ReadableStream, opts)) as unknown as Readable;
    } catch (e) {
      const err = engineError(e, 'build', this.endpoint);
      throw refused(err.message) ?? err;
    }
    await new Promise<void>((resolve, reject) => {
      this.docker.modem.followProgress(
        stream,
        (err: Error | null, out: Array<Record<string, unknown>>) => {
          if (err) return reject(engineError(err, 'build', this.endpoint));
          const failed = out.find((m) => m.error);
          if (failed) return reject(refused(String(failed.error)) ?? new DockyardError('ENGINE', String(failed.error)));
          resolve();
        },
        onProgress,
      );
    });
  }

  private keyOf(ref: string): string {
    const r = registryOf(ref);
    return r === 'docker.io' ? 'https://index.docker.io/v1/' : r;
  }

  async events(filters: Record<string, string[]>, onEvent: (e: EngineEvent) => void, onEnd?: (err?: Error) => void, o: { since?: number; until?: number } = {}): Promise<EventSubscription> {
    const stream = (await this.call('events', () =>
      // fractional unix seconds, as the API takes them
      this.docker.getEvents({ filters, ...(o.since !== undefined ? { since: o.since.toFixed(3) } : {}), ...(o.until !== undefined ? { until: o.until.toFixed(3) } : {}) } as unknown as Docker.GetEventsOptions) as Promise<unknown>,
    )) as Readable & { destroy(): void };
    let closed = false;
    const ended = (err?: Error) => {
      if (!closed) onEnd?.(err);
      closed = true;
    };
    stream.on('end', () => ended());
    stream.on('close', () => ended());
    let buf = '';
    stream.on('data', (chunk: Buffer) => {
      if (closed) return;
      buf += chunk.toString('utf8');
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        if (!line) continue;
        let event: EngineEvent;
        try {
          event = JSON.parse(line) as EngineEvent;
        } catch {
          continue; // a line the engine garbled: not an event
        }
        try {
          onEvent(event);
        } catch (e) {
          // the consumer failed: the subscription ends with its error (never swallowed)
          const err = e instanceof Error ? e : new Error(String(e));
          if (!onEnd) queueMicrotask(() => { throw err; });
          ended(err);
          stream.destroy();
          return;
        }
      }
    });
    stream.on('error', () => ended());
    return {
      close: () => {
        closed = true;
        stream.destroy();
      },
    };
  }
  async registryDigest(image: string): Promise<string> {
    const { cred, authconfig } = await this.authFor(image);
    const what = `distribution ${image}`;
    let d: { Descriptor?: { digest?: string } };
    try {
      d = await (this.docker.getImage(image) as unknown as { distribution(o: unknown): Promise<{ Descriptor?: { digest?: string } }> }).distribution(authconfig ? { authconfig } : {});
    } catch (e) {
      throw this.registryError(e, what, image, cred);
    }
    const digest = d.Descriptor?.digest;
    if (!digest) throw new EngineError(`${what}: the registry gave no digest`, 500);
    return digest;
  }

  async swarmState(): Promise<string> {
    const info = (await this.call('info', () => this.docker.info())) as { Swarm?: { LocalNodeState?: string } };
    return info.Swarm?.LocalNodeState ?? 'inactive';
  }

  async listSwarm(kind: SwarmKind, filters: Record<string, string[]>) {
    const opts = { filters };
    // dockerode's typings pick the callback overloads here; the promise ones are what run
    const d = this.docker as unknown as Record<string, (o: unknown) => Promise<unknown>>;
    const f = { services: () => d.listServices!(opts), tasks: () => d.listTasks!(opts), configs: () => d.listConfigs!(opts), secrets: () => d.listSecrets!(opts) }[kind];
    return (await this.call(`list ${kind}`, f)) as Array<Record<string, any>>;
  }

  /** X-Registry-Auth for a service's image, when asked for and there are credentials for its registry. */
  private async serviceAuth(body: Record<string, unknown>, o?: { registryAuth?: boolean }): Promise<{ key: string } | undefined> {
    const image = (body as { TaskTemplate?: { ContainerSpec?: { Image?: string } } }).TaskTemplate?.ContainerSpec?.Image;
    if (!o?.registryAuth || !image) return undefined;
    return (await this.authFor(image)).authconfig;
  }

  async createSwarm(kind: Exclude<SwarmKind, 'tasks'>, body: Record<string, unknown>, o?: { registryAuth?: boolean }): Promise<string> {
    const d = this.docker;
    const b = body as never;
    const auth = kind === 'services' ? await this.serviceAuth(body, o) : undefined;
    const f = { services: () => (auth ? (d.createService(auth as never, b) as unknown as Promise<unknown>) : d.createService(b)), configs: () => d.createConfig(b), secrets: () => d.createSecret(b) }[kind];
    const r = (await this.call(`create ${kind.slice(0, -1)} ${String(body.Name)}`, f)) as { id?: string; ID?: string };
    return r.id ?? r.ID ?? '';
  }

  async updateService(id: string, version: number, body: Record<string, unknown>, o?: { registryAuth?: boolean }): Promise<void> {
    const auth = await this.serviceAuth(body, o);
    await this.call(`update service ${id}`, () => (auth ? (this.docker.getService(id).update(auth as never, { ...body, version } as never) as unknown as Promise<unknown>) : this.docker.getService(id).update({ ...body, version } as never)));
  }

  async removeSwarm(kind: Exclude<SwarmKind, 'tasks'>, id: string): Promise<void> {
    const d = this.docker;
    const f = { services: () => d.getService(id).remove(), configs: () => d.getConfig(id).remove(), secrets: () => d.getSecret(id).remove() }[kind];
    try {
      await f();
    } catch (e) {
      if (isNotFound(e)) return;
      throw engineError(e, `remove ${kind.slice(0, -1)} ${id}`, this.endpoint);
    }
  }

  async listNodes(): Promise<Array<Record<string, any>>> {
    return (await this.call('list nodes', () => this.docker.listNodes())) as Array<Record<string, any>>;
  }

  async swarmSelf(): Promise<{ nodeId: string; ipvs?: boolean }> {
    const info = (await this.call('info', () => this.docker.info())) as { Swarm?: { NodeID?: string }; KernelVersion?: string };
    return { nodeId: info.Swarm?.NodeID ?? '', ipvs: localIpvs(info.KernelVersion) };
  }
}

/**
 * Whether the kernel has IPVS, when the engine runs on this machine's kernel (same release: a
 * local engine, not one in a VM or elsewhere): /proc/net/ip_vs exists once the module is in; a
 * kernel without module support, or without the module file, cannot get it.
 */
function localIpvs(engineKernel: string | undefined): boolean | undefined {
  if (!engineKernel || engineKernel !== osRelease() || process.platform !== 'linux') return undefined;
  if (existsSync('/proc/net/ip_vs')) return true;
  if (!existsSync('/proc/modules')) return false;
  const dir = `/lib/modules/${engineKernel}`;
  if (!existsSync(dir)) return undefined;
  return existsSync(`${dir}/kernel/net/netfilter/ipvs`) ? undefined : false;
}

function demuxBuffer(buf: Buffer, stdout: PassThrough, stderr: PassThrough): void {
  let i = 0;
  while (i + 8 <= buf.length) {
    const type = buf[i]!;
    const len = buf.readUInt32BE(i + 4);
    const payload = buf.subarray(i + 8, i + 8 + len);
    (type === 2 ? stderr : stdout).write(payload);
    i += 8 + len;
  }
  stdout.end();
  stderr.end();
}

/**
 * An engine for a context (or, with no name, the one the docker CLI would use now), with the
 * docker CLI's credentials unless others are given. What `openProject({ engine })`,
 * `acquireEnvironment({ engine })` and `deployStack` take where they are given a context's name.
 */
export async function engineFromContext(name?: string, o: { credentials?: CredentialStore } = {}): Promise<Engine> {
  return new DockerEngine({ ...(name ? { context: name } : {}), credentials: o.credentials });
}

/** An Engine as given (an Engine, a context's name, or nothing: the default). */
export async function resolveEngine(engine?: Engine | string, o: { credentials?: CredentialStore } = {}): Promise<Engine> {
  if (engine && typeof engine !== 'string') return engine;
  return engineFromContext(engine, o);
}
