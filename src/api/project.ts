/**
 * The library API: open a project (the same loading rules as the CLI), then drive it on the
 * engine in-process — up, down, start, stop, ps, port, exec, run, logs, events — with typed
 * results. `await using p = await openProject(...)` brings it down (volumes too) when done.
 */
import { PassThrough, Readable } from 'node:stream';
import type { Writable } from 'node:stream';
import type { ContainerInspect, Engine, EngineEvent } from '../engine/engine.js';
import { DockyardError } from '../errors.js';
import { loadProject } from '../load/index.js';
import { LABEL } from '../model/names.js';
import type { Project, Service } from '../model/project.js';
import type { ProgressEvent, Timeline } from '../converge/events.js';
import type { Plan } from '../converge/plan.js';
import type { Converger } from '../converge/runner.js';
import { projectContainers } from '../converge/state.js';
import type { ProjectContainer } from '../converge/state.js';
import { AsyncQueue } from '../converge/queue.js';
import { parseSince, streamLogs } from '../converge/logs.js';
import type { LogItem } from '../converge/logs.js';
import { attachRun } from '../converge/attach.js';
import type { AttachOptions } from '../converge/attach.js';
import { runOneOff } from '../converge/run.js';
import { buildProgress } from '../build/progress.js';

export interface OpenProjectOptions {
  /** Compose files, in order (default: compose.yaml and its override, searched upward) */
  files?: string[];
  projectName?: string;
  projectDirectory?: string;
  profiles?: string[];
  envFiles?: string[];
  /** the environment for interpolation and COMPOSE_* variables, instead of process.env */
  environment?: Record<string, string | undefined>;
  /** where relative paths start (default: process.cwd()) */
  workingDir?: string;
  /** the engine (default: the Docker engine at DOCKER_HOST or the local socket) */
  engine?: Engine;
  /** loader warnings (obsolete version, ...); default: ignored */
  onWarning?: (message: string) => void;
}

export interface UpOptions {
  services?: string[];
  /** wait until every service is running, healthy or completed */
  wait?: boolean;
  waitTimeoutMs?: number;
  /** true: build every image with a build section; false: never build; default: build what is missing or stale */
  build?: boolean;
  noDeps?: boolean;
  forceRecreate?: boolean;
  noRecreate?: boolean;
  /** create, do not start */
  noStart?: boolean;
  scale?: Record<string, number>;
  removeOrphans?: boolean;
  /** seconds to wait for containers being replaced to stop */
  timeoutS?: number;
  /** progress: networks, volumes, images, containers (the events the CLI renders) */
  onEvent?: (e: ProgressEvent) => void;
  signal?: AbortSignal;
}

export interface PortBinding {
  target: number;
  protocol: string;
  hostIp: string;
  published?: number;
}

export interface ContainerStatus {
  id: string;
  name: string;
  service: string;
  number: number;
  oneoff: boolean;
  image: string;
  /** created, running, restarting, paused, exited, dead */
  state: string;
  /** the engine's own words: "Up 3 seconds (healthy)" */
  status: string;
  health?: 'starting' | 'healthy' | 'unhealthy';
  /** for an exited container */
  exitCode?: number;
  ports: PortBinding[];
  /** unix seconds */
  created: number;
  labels: Record<string, string>;
}

export interface ExecResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export interface ExecOptions {
  env?: Record<string, string>;
  user?: string;
  workdir?: string;
  /** the replica (default 1) */
  index?: number;
  privileged?: boolean;
  /** given to the command on its standard input */
  stdin?: string | Buffer | Readable;
  /** where the output goes as it comes (then it is not collected into the result) */
  stdout?: Writable;
  stderr?: Writable;
  /** a pseudo-terminal in the container, of this size (rows, columns) */
  tty?: boolean;
  consoleSize?: [number, number];
  /** with a TTY: subscribes the TTY's size to the caller's terminal */
  followSize?: (apply: (rows: number, cols: number) => void) => () => void;
  /** start it in the background and return at once */
  detach?: boolean;
}

export interface RunOptions extends Omit<ExecOptions, 'index' | 'privileged' | 'followSize'> {
  /** remove the container when it ends */
  rm?: boolean;
  entrypoint?: string[];
  name?: string;
  labels?: Record<string, string>;
  /** do not start the services it depends on */
  noDeps?: boolean;
  /** publish the service's ports */
  servicePorts?: boolean;
  /** called once attached, before stdin is connected (a terminal goes into raw mode here) */
  onAttach?: () => void;
  /** told the container's id once started; what it returns is called when the run ends */
  onStart?: (id: string) => (() => void) | void;
  /** progress of the dependencies it starts and the image it builds */
  onEvent?: (e: ProgressEvent) => void;
}

export interface LogsOptions {
  follow?: boolean;
  /** lines from the end of each container's log */
  tail?: number;
  /** a Date, unix seconds, or a duration ago ("10m") */
  since?: Date | number | string;
  /** the replica */
  index?: number;
  /** stops following */
  signal?: AbortSignal;
}

export interface LogEntry {
  service: string;
  /** the container's name */
  container: string;
  stream: 'stdout' | 'stderr';
  line: string;
  time?: Date;
}

export type LifecycleAction = 'created' | 'started' | 'healthy' | 'unhealthy' | 'exited' | 'stopped' | 'killed' | 'restarted' | 'paused' | 'unpaused' | 'removed';

export interface LifecycleEvent {
  action: LifecycleAction;
  service: string;
  /** the container's name */
  container: string;
  id: string;
  number: number;
  oneoff: boolean;
  /** for exited */
  exitCode?: number;
  /** for killed */
  signal?: string;
  time: Date;
}

/** An iterable of events that is subscribed once `ready` resolves. */
export interface EventStream<T> extends AsyncIterable<T> {
  ready: Promise<void>;
  close(): void;
}

const ACTIONS: Record<string, LifecycleAction> = {
  create: 'created',
  start: 'started',
  'health_status: healthy': 'healthy',
  'health_status: unhealthy': 'unhealthy',
  die: 'exited',
  stop: 'stopped',
  kill: 'killed',
  restart: 'restarted',
  pause: 'paused',
  unpause: 'unpaused',
  destroy: 'removed',
};

/** Opens a project: loads it with the CLI's rules; bad input throws the DockyardError the CLI prints. */
export async function openProject(o: OpenProjectOptions = {}): Promise<ProjectHandle> {
  const model = loadProject({
    files: o.files,
    projectName: o.projectName,
    projectDirectory: o.projectDirectory,
    profiles: o.profiles,
    envFiles: o.envFiles,
    environment: o.environment,
    workingDir: o.workingDir,
    onWarning: o.onWarning,
  });
  const engine = o.engine ?? new (await import('../engine/docker.js')).DockerEngine();
  const { Converger } = await import('../converge/runner.js');
  return new ProjectHandle(model, engine, (emit) => new Converger(engine, model, emit));
}

export class ProjectHandle {
  readonly name: string;

  constructor(
    /** the canonical project (what `config` prints) */
    readonly model: Project,
    readonly engine: Engine,
    private readonly converger: (emit?: (e: ProgressEvent) => void) => Converger,
  ) {
    this.name = model.name;
  }

  private builder(onEvent?: (e: ProgressEvent) => void) {
    return async (services: Service[], force = false) => {
      const { buildServices } = await import('../build/builder.js');
      await buildServices(this.engine, this.model, services.map((s) => s.name), { force, onEvent: onEvent ? buildProgress(onEvent) : undefined });
    };
  }

  private upOptions(o: UpOptions) {
    return {
      services: o.services,
      wait: o.wait,
      waitTimeoutMs: o.waitTimeoutMs,
      noDeps: o.noDeps,
      forceRecreate: o.forceRecreate,
      noRecreate: o.noRecreate,
      noStart: o.noStart,
      scale: o.scale,
      removeOrphans: o.removeOrphans,
      timeout: o.timeoutS,
      build: o.build === true ? ('always' as const) : o.build === false ? ('never' as const) : ('missing' as const),
      builder: this.builder(o.onEvent),
      signal: o.signal,
    };
  }

  /** Creates and starts the services (with their dependencies), in dependency order. */
  async up(o: UpOptions = {}): Promise<{ timeline: Timeline; containers: Record<string, string[]> }> {
    return this.converger(o.onEvent).up(this.upOptions(o));
  }

  /** What `up` would do, and why, touching nothing. */
  async plan(o: UpOptions = {}): Promise<{ plan: Plan; resources: string[] }> {
    return this.converger(o.onEvent).planUp(this.upOptions(o), async (svcs) => {
      const { buildServices } = await import('../build/builder.js');
      const r = await buildServices(this.engine, this.model, svcs.map((s) => s.name), { dryRun: true });
      return new Set([...r].filter(([, v]) => v === 'would-build').map(([k]) => k));
    });
  }

  /** Stops and removes the containers and networks (volumes too with `volumes`). */
  async down(o: { volumes?: boolean; removeOrphans?: boolean; timeoutS?: number; rmi?: 'local' | 'all'; onEvent?: (e: ProgressEvent) => void } = {}): Promise<void> {
    await this.converger(o.onEvent).down({ volumes: o.volumes, removeOrphans: o.removeOrphans, timeout: o.timeoutS, rmi: o.rmi });
  }

  /** Starts existing containers, dependencies first, each once its dependencies' conditions hold. */
  async start(services?: string[], o: { waitTimeoutMs?: number; onEvent?: (e: ProgressEvent) => void } = {}): Promise<void> {
    await this.converger(o.onEvent).start(services, o.waitTimeoutMs);
  }

  async stop(services?: string[], o: { timeoutS?: number; onEvent?: (e: ProgressEvent) => void } = {}): Promise<void> {
    await this.converger(o.onEvent).stop(services, o.timeoutS);
  }

  async restart(services?: string[], o: { timeoutS?: number; waitTimeoutMs?: number; onEvent?: (e: ProgressEvent) => void } = {}): Promise<void> {
    await this.converger(o.onEvent).restart(services, o.timeoutS, o.waitTimeoutMs);
  }

  async kill(services?: string[], o: { signal?: string; onEvent?: (e: ProgressEvent) => void } = {}): Promise<void> {
    await this.converger(o.onEvent).kill(services, o.signal ?? 'SIGKILL');
  }

  /** The project's containers: running ones, or all (one-off ones included) with `all`. */
  async ps(o: { all?: boolean; services?: string[]; status?: string[] } = {}): Promise<ContainerStatus[]> {
    if (o.services?.length) this.converger().targets(o.services, true);
    await this.engine.ping();
    let cs = await projectContainers(this.engine, this.name, { services: o.services?.length ? o.services : undefined, all: true });
    if (o.status?.length) cs = cs.filter((c) => o.status!.includes(c.state));
    else if (!o.all) cs = cs.filter((c) => ['running', 'restarting', 'paused'].includes(c.state));
    if (!o.all) cs = cs.filter((c) => !c.oneoff);
    return cs.map(containerStatus);
  }

  private async container(service: string, index = 1): Promise<ProjectContainer> {
    this.converger().targets([service], true);
    const cs = await projectContainers(this.engine, this.name, { oneoff: false, services: [service] });
    const c = cs.find((x) => x.number === index) ?? (index === 1 ? cs[0] : undefined);
    if (!c) throw new DockyardError('USAGE', `service "${service}" has no container${index > 1 ? ` number ${index}` : ''}`, { hint: `start it with: dockyard up -d ${service}` });
    return c;
  }

  /**
   * Where a container port is published: `host` is an address to connect to (127.0.0.1 for a
   * port published on all interfaces), `hostIp` the one it is bound to.
   */
  async port(service: string, target: number, o: { protocol?: 'tcp' | 'udp' | 'sctp'; index?: number } = {}): Promise<{ host: string; port: number; hostIp: string }> {
    const protocol = o.protocol ?? 'tcp';
    const c = await this.container(service, o.index);
    const info = await this.engine.inspectContainer(c.id);
    const b = info?.NetworkSettings.Ports?.[`${target}/${protocol}`]?.find((x) => x.HostPort);
    if (!b) {
      const published = Object.entries(info?.NetworkSettings.Ports ?? {}).filter(([, v]) => v?.length).map(([k]) => k);
      throw new DockyardError('USAGE', `port ${target}/${protocol} of service "${service}" is not published`, {
        hint: published.length ? `published: ${published.join(', ')}` : `publish it under services.${service}.ports`,
      });
    }
    const hostIp = b.HostIp || '0.0.0.0';
    const host = hostIp === '0.0.0.0' ? '127.0.0.1' : hostIp === '::' ? '::1' : hostIp;
    return { host, port: Number(b.HostPort), hostIp };
  }

  /** Runs a command in a running container; resolves with its exit code and output. */
  async exec(service: string, command: string[], o: ExecOptions = {}): Promise<ExecResult> {
    const c = await this.container(service, o.index);
    if (c.state !== 'running') throw new DockyardError('SERVICE_FAILED', `container ${c.name} is not running (${c.status})`, { hint: `start it: dockyard start ${service}` });
    const out = collector(o.stdout);
    const err = collector(o.stderr);
    const exitCode = await this.engine.exec(c.id, {
      cmd: command,
      env: Object.entries(o.env ?? {}).map(([k, v]) => `${k}=${v}`),
      user: o.user,
      workdir: o.workdir,
      privileged: o.privileged,
      tty: o.tty,
      consoleSize: o.consoleSize,
      followSize: o.followSize,
      detach: o.detach,
      stdin: toReadable(o.stdin),
      stdout: out.stream,
      stderr: err.stream,
    });
    return { exitCode, stdout: out.text(), stderr: err.text() };
  }

  /** Runs a one-off container of a service (its dependencies started first); resolves when it ends. */
  async run(service: string, command?: string[], o: RunOptions = {}): Promise<ExecResult & { container: string }> {
    const out = collector(o.stdout);
    const err = collector(o.stderr);
    const r = await runOneOff(this.converger(o.onEvent), service, {
      command,
      env: o.env,
      user: o.user,
      workdir: o.workdir,
      entrypoint: o.entrypoint,
      name: o.name,
      labels: o.labels,
      rm: o.rm,
      noDeps: o.noDeps,
      servicePorts: o.servicePorts,
      tty: o.tty,
      consoleSize: o.consoleSize,
      detach: o.detach,
      stdin: toReadable(o.stdin),
      stdout: out.stream,
      stderr: err.stream,
      onAttach: o.onAttach,
      onStart: o.onStart,
      build: this.builder(o.onEvent),
    });
    return { exitCode: r.exitCode, stdout: out.text(), stderr: err.text(), container: r.container };
  }

  /** The containers' output, line by line; with `follow`, until they all stop (or `signal`). */
  logs(services?: string[], o: LogsOptions = {}): AsyncIterable<LogEntry> {
    const items = this.logStream(services, o);
    return {
      async *[Symbol.asyncIterator]() {
        for await (const item of items) {
          if (item.kind === 'line') yield { service: item.service, container: item.container, stream: item.stream, line: item.line, time: item.time };
        }
      },
    };
  }

  /**
   * logs() with what happens to the containers followed: lines, and with follow, each
   * container's exits and restarts, and the containers that start meanwhile.
   */
  logStream(services?: string[], o: LogsOptions = {}): AsyncIterable<LogItem> {
    const self = this;
    return {
      async *[Symbol.asyncIterator]() {
        if (services?.length) self.converger().targets(services, true);
        let cs = await projectContainers(self.engine, self.name, { services: services?.length ? services : undefined });
        if (o.index !== undefined) cs = cs.filter((c) => c.number === o.index);
        const since = o.since instanceof Date ? o.since.getTime() / 1000 : typeof o.since === 'string' ? parseSince(o.since) : o.since;
        const watch = o.index === undefined ? { project: self.name, services: services?.length ? services : undefined } : undefined;
        yield* streamLogs(self.engine, cs, { follow: o.follow, tail: o.tail, since, watch, signal: o.signal });
      },
    };
  }

  /**
   * Follows the output of the services' containers until they have all stopped (attached `up`):
   * stops the rest when one exits or fails (`abortOn`), or when `signal` aborts. The exit code is
   * Compose's: that of the container whose exit ended the run, or of `exitCodeFrom`.
   */
  async attach(o: Omit<AttachOptions, 'services'> & { services?: string[] }): Promise<{ exitCode: number }> {
    return attachRun(this.converger(), { ...o, services: o.services ?? Object.keys(this.model.services) });
  }

  /** Builds the services' images as a graph, skipping those whose sources did not change. */
  async build(services?: string[], o: { noCache?: boolean; pull?: boolean; force?: boolean; parallel?: number; onEvent?: (e: ProgressEvent) => void } = {}): Promise<Map<string, 'built' | 'skipped' | 'would-build'>> {
    if (services?.length) this.converger().targets(services, true);
    const { buildServices } = await import('../build/builder.js');
    return buildServices(this.engine, this.model, services, { noCache: o.noCache, pull: o.pull, force: o.force, parallel: o.parallel, onEvent: o.onEvent ? buildProgress(o.onEvent) : undefined });
  }

  /** Removes stopped containers (with `stop`, stops them first); returns the names removed. */
  async rm(services?: string[], o: { stop?: boolean; volumes?: boolean; onEvent?: (e: ProgressEvent) => void } = {}): Promise<string[]> {
    return (await this.converger(o.onEvent).rm(services, o)).map((c) => c.name);
  }

  /** The processes running in the services' containers. */
  async top(services?: string[]): Promise<Array<{ container: string; titles: string[]; processes: string[][] }>> {
    if (services?.length) this.converger().targets(services, true);
    const cs = (await projectContainers(this.engine, this.name, { oneoff: false, services: services?.length ? services : undefined })).filter((c) => c.state === 'running');
    return Promise.all(
      cs.map(async (c) => {
        const t = await this.engine.topContainer(c.id);
        return { container: c.name, titles: t.Titles, processes: t.Processes };
      }),
    );
  }

  /** The project's container lifecycle as it happens on the engine (created, started, healthy, exited...). */
  events(o: { signal?: AbortSignal } = {}): EventStream<LifecycleEvent> {
    const q = new AsyncQueue<LifecycleEvent>();
    const subscribed = this.engine.events({ type: ['container'], label: [`${LABEL.project}=${this.name}`] }, (e: EngineEvent) => {
      const action = ACTIONS[e.Action] ?? (e.Action.startsWith('health_status: ') ? ACTIONS[e.Action.trim()] : undefined);
      if (!action) return;
      const a = e.Actor.Attributes;
      q.push({
        action,
        service: a[LABEL.service] ?? '',
        container: a.name ?? e.Actor.ID.slice(0, 12),
        id: e.Actor.ID,
        number: Number(a[LABEL.number] ?? 0),
        oneoff: a[LABEL.oneoff] === 'True',
        exitCode: action === 'exited' && a.exitCode !== undefined ? Number(a.exitCode) : undefined,
        signal: action === 'killed' ? a.signal : undefined,
        time: new Date(e.timeNano ? e.timeNano / 1e6 : e.time * 1000),
      });
    }, () => q.close());
    q.onStop = () => void subscribed.then((s) => s.close(), () => undefined);
    subscribed.catch((e) => q.close(e));
    o.signal?.addEventListener('abort', () => q.close(), { once: true });
    return { ready: subscribed.then(() => undefined), close: () => q.close(), [Symbol.asyncIterator]: () => q[Symbol.asyncIterator]() };
  }

  /** The full state of one container, as the engine reports it. */
  async inspect(service: string, index = 1): Promise<ContainerInspect | undefined> {
    return this.engine.inspectContainer((await this.container(service, index)).id);
  }

  /** `await using`: brings the project down, its volumes and orphans too. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.down({ volumes: true, removeOrphans: true });
  }
}

function containerStatus(c: ProjectContainer): ContainerStatus {
  const health = /\(healthy\)/.test(c.status) ? 'healthy' : /\(unhealthy\)/.test(c.status) ? 'unhealthy' : /\(health: starting\)/.test(c.status) ? 'starting' : undefined;
  const exit = /^Exited \((-?\d+)\)/.exec(c.status);
  const seen = new Set<string>();
  const ports: PortBinding[] = [];
  for (const p of c.ports) {
    const key = `${p.ip ?? ''}|${p.publicPort ?? ''}|${p.privatePort}|${p.type}`;
    if (seen.has(key)) continue;
    seen.add(key);
    ports.push({ target: p.privatePort, protocol: p.type, hostIp: p.ip ?? '', published: p.publicPort });
  }
  return { id: c.id, name: c.name, service: c.service, number: c.number, oneoff: c.oneoff, image: c.image, state: c.state, status: c.status, health, exitCode: exit ? Number(exit[1]) : undefined, ports, created: c.created, labels: c.labels };
}

function collector(to?: Writable): { stream: Writable; text(): string } {
  if (to) return { stream: to, text: () => '' };
  const chunks: Buffer[] = [];
  const stream = new PassThrough();
  stream.on('data', (c: Buffer) => chunks.push(c));
  return { stream, text: () => Buffer.concat(chunks).toString('utf8') };
}

function toReadable(v: string | Buffer | Readable | undefined): Readable | undefined {
  if (v === undefined) return undefined;
  if (typeof v === 'string' || Buffer.isBuffer(v)) return Readable.from([Buffer.from(v)]);
  return v;
}
