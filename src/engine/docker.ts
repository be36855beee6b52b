/** The Docker Engine API through dockerode: the only module that talks to a daemon. */
import Docker from 'dockerode';
import { Agent } from 'node:http';
import type { AgentOptions } from 'node:http';
import { PassThrough } from 'node:stream';
import type { Readable } from 'node:stream';
import { DockyardError, EngineError } from '../errors.js';
import type { ContainerInspect, ContainerSummary, Engine, EngineEvent, EventSubscription, ExecOptions, ImageInspect, LogOptions, SwarmKind } from './engine.js';

interface ApiError extends Error {
  statusCode?: number;
  code?: string;
  json?: { message?: string } | null;
  reason?: string;
}

function where(): string {
  return process.env.DOCKER_HOST ?? 'unix:///var/run/docker.sock';
}

/** Turns dockerode's errors into DockyardErrors: unreachable (exit 3) or an engine message. */
export function engineError(e: unknown, what: string): DockyardError {
  if (e instanceof DockyardError) return e;
  const err = e as ApiError;
  const code = err?.code ?? '';
  if (['ECONNREFUSED', 'ENOENT', 'EACCES', 'ECONNRESET', 'EHOSTUNREACH', 'ETIMEDOUT'].includes(code) && err.statusCode === undefined) {
    return new DockyardError('ENGINE_UNREACHABLE', `cannot reach the Docker engine at ${where()} (${code})`, {
      hint: code === 'EACCES' ? 'you lack permission on the socket: run as root or join the docker group' : 'start one: `bash scripts/engine.sh` (as root on Debian), `sudo systemctl start docker`, or set DOCKER_HOST',
    });
  }
  // a streamed request (build, a tar upload) leaves json empty: the engine's words are after the reason in the message
  const fromMessage = /^\(HTTP code \d+\) [^-]*- (.+)$/s.exec(err?.message ?? '')?.[1]?.trim();
  const msg = err?.json?.message ?? (typeof err?.json === 'string' ? err.json : undefined) ?? (fromMessage || undefined) ?? err?.reason ?? err?.message ?? String(e);
  return new EngineError(`${what}: ${String(msg).trim()}`, err?.statusCode, { cause: e });
}

const isNotFound = (e: unknown) => (e as ApiError)?.statusCode === 404;

export class DockerEngine implements Engine {
  readonly docker: Docker;

  constructor(docker?: Docker) {
    this.docker = docker ?? new Docker();
    const modem = this.docker.modem as unknown as { socketPath?: string; agent?: Agent };
    // A unix socket has no TLS server name, but Node works one out of the Host header for every
    // request (its first use compiles the IPv6 pattern: ~17 ms of a short command here). An
    // agent with an empty server name skips that; keep-alive as Node's global agent.
    if (modem.socketPath && !modem.agent) modem.agent = new Agent({ keepAlive: true, servername: '' } as AgentOptions);
  }

  private async call<T>(what: string, f: () => Promise<T>): Promise<T> {
    try {
      return await f();
    } catch (e) {
      throw engineError(e, what);
    }
  }

  private async maybe<T>(what: string, f: () => Promise<T>): Promise<T | undefined> {
    try {
      return await f();
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw engineError(e, what);
    }
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
      throw engineError(e, 'start container');
    }
  }

  async stopContainer(id: string, timeoutSeconds?: number): Promise<void> {
    try {
      await this.docker.getContainer(id).stop(timeoutSeconds === undefined ? {} : { t: timeoutSeconds });
    } catch (e) {
      const s = (e as ApiError).statusCode;
      if (s === 304 || s === 404) return;
      throw engineError(e, 'stop container');
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
      throw engineError(e, 'kill container');
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
      throw engineError(e, 'remove container');
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
      throw engineError(e, `stat ${path}`);
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
      throw engineError(e, `remove network ${name}`);
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
    return this.maybe(`inspect volume ${name}`, () => this.docker.getVolume(name).inspect() as Promise<{ Name: string; Labels: Record<string, string> | null }>);
  }

  async createVolume(body: Record<string, unknown>): Promise<void> {
    await this.call(`create volume ${String(body.Name)}`, () => this.docker.createVolume(body as Docker.VolumeCreateOptions));
  }

  async removeVolume(name: string): Promise<void> {
    try {
      await this.docker.getVolume(name).remove();
    } catch (e) {
      if (isNotFound(e)) return;
      throw engineError(e, `remove volume ${name}`);
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
      throw engineError(e, `remove image ${ref}`);
    }
  }

  async pullImage(ref: string, onProgress?: (msg: Record<string, unknown>) => void): Promise<void> {
    const stream = await this.call(`pull ${ref}`, () => this.docker.pull(ref) as Promise<Readable>);
    await this.follow(stream, `pull ${ref}`, onProgress);
  }

  async pushImage(ref: string, onProgress?: (msg: Record<string, unknown>) => void): Promise<void> {
    // the engine wants X-Registry-Auth even for a registry without credentials: "{}" then
    const stream = (await this.call(`push ${ref}`, () => (this.docker.getImage(ref).push({ authconfig: {} } as never) as unknown as Promise<unknown>))) as unknown as Readable;
    await this.follow(stream, `push ${ref}`, onProgress);
  }

  /** Follows a progress stream (pull, push) to its end; an error message in it fails it. */
  private follow(stream: Readable, what: string, onProgress?: (msg: Record<string, unknown>) => void): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.docker.modem.followProgress(
        stream,
        (err: Error | null, out: Array<Record<string, unknown>>) => {
          if (err) return reject(engineError(err, what));
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

  async buildImage(context: Readable, options: Record<string, unknown>, onProgress: (msg: Record<string, unknown>) => void): Promise<void> {
    // undefined options would reach the API as empty strings ("bad format for add-host")
    const opts = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined && v !== ''));
    const stream = await this.call('build', () => this.docker.buildImage(context as unknown as NodeJS.ReadableStream, opts));
    await new Promise<void>((resolve, reject) => {
      this.docker.modem.followProgress(
        stream,
        (err: Error | null, out: Array<Record<string, unknown>>) => {
          if (err) return reject(engineError(err, 'build'));
          const failed = out.find((m) => m.error);
          if (failed) return reject(new DockyardError('ENGINE', String(failed.error)));
          resolve();
        },
        onProgress,
      );
    });
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
    const d = (await this.call(`distribution ${image}`, () => (this.docker.getImage(image) as unknown as { distribution(): Promise<{ Descriptor?: { digest?: string } }> }).distribution())) as { Descriptor?: { digest?: string } };
    const digest = d.Descriptor?.digest;
    if (!digest) throw new EngineError(`distribution ${image}: the registry gave no digest`, 500);
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

  async createSwarm(kind: Exclude<SwarmKind, 'tasks'>, body: Record<string, unknown>): Promise<string> {
    const d = this.docker;
    const b = body as never;
    const f = { services: () => d.createService(b), configs: () => d.createConfig(b), secrets: () => d.createSecret(b) }[kind];
    const r = (await this.call(`create ${kind.slice(0, -1)} ${String(body.Name)}`, f)) as { id?: string; ID?: string };
    return r.id ?? r.ID ?? '';
  }

  async updateService(id: string, version: number, body: Record<string, unknown>): Promise<void> {
    await this.call(`update service ${id}`, () => this.docker.getService(id).update({ ...body, version } as never));
  }

  async removeSwarm(kind: Exclude<SwarmKind, 'tasks'>, id: string): Promise<void> {
    const d = this.docker;
    const f = { services: () => d.getService(id).remove(), configs: () => d.getConfig(id).remove(), secrets: () => d.getSecret(id).remove() }[kind];
    try {
      await f();
    } catch (e) {
      if (isNotFound(e)) return;
      throw engineError(e, `remove ${kind.slice(0, -1)} ${id}`);
    }
  }
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
