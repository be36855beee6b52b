/**
 * The library API: open a project (the same loading rules as the CLI), then drive it on the
 * engine in-process — up, down, start, stop, ps, port, exec, run, logs, events — with typed
 * results. `await using p = await openProject(...)` brings it down (volumes too) when done.
 */
import type { Readable } from 'node:stream';
import type { ContainerInspect, Engine } from '../engine/engine.js';
import { DockyardError } from '../errors.js';
import { loadProject } from '../load/index.js';
import { LABEL } from '../model/names.js';
import type { Project, Service } from '../model/project.js';
import type { ProgressEvent, Timeline } from '../converge/events.js';
import type { Plan } from '../converge/plan.js';
import type { Converger } from '../converge/runner.js';
import { projectContainers } from '../converge/state.js';
import { serviceContainer, serviceContainers } from '../converge/find.js';
import { targetServices } from '../converge/plan.js';
import { lifecycleEvents } from '../converge/lifecycle-events.js';
import type { EventStream, LifecycleEvent } from '../converge/lifecycle-events.js';
import { collector, toReadable } from '../converge/exec.js';
import type { ExecInOptions } from '../converge/exec.js';
import type { CopyOptions } from '../converge/copy.js';
import type { ProjectContainer } from '../converge/state.js';
import { parseSince, streamLogs } from '../converge/logs.js';
import type { LogItem } from '../converge/logs.js';
import { attachRun } from '../converge/attach.js';
import type { AttachOptions } from '../converge/attach.js';
import { runOneOff } from '../converge/run.js';
import type { OneOffOptions } from '../converge/run.js';
import { buildProgress } from '../build/progress.js';
import type { PruneResult } from '../registry/client.js';
import type { WatchAction } from '../watch/watch.js';

export interface OpenProjectOptions {
  /** Compose files, in order (default: compose.yaml and its override, searched upward) */
  files?: string[];
  projectName?: string;
  projectDirectory?: string;
  profiles?: string[];
  /**
   * the services the caller means to use: their profiles are enabled as if given with --profile
   * (as `dockyard logs job` enables a profiled `job`); without it, a profiled service stays disabled
   */
  services?: string[];
  envFiles?: string[];
  /** the environment for interpolation and COMPOSE_* variables, instead of process.env */
  environment?: Record<string, string | undefined>;
  /** where relative paths start (default: process.cwd()) */
  workingDir?: string;
  /** the engine: an Engine, a Docker context's name, or (by default) the one the docker CLI would use */
  engine?: Engine | string;
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
  /** pull images: always, missing, never, build (default: each service's pull_policy) */
  pull?: 'always' | 'missing' | 'never' | 'build';
  quietPull?: boolean;
  /** recreated containers get new anonymous volumes instead of their predecessors' */
  renewAnonVolumes?: boolean;
  /** recreate the dependencies of the services named, even if unchanged */
  recreateDeps?: boolean;
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
  command: string;
}

export interface ExecResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** exec()'s options: those of converge/exec.ts, and which replica */
export interface ExecOptions extends ExecInOptions {
  /** the replica (default 1) */
  index?: number;
}

/** run()'s options: those of a one-off container (converge/run.ts), with stdin as text or a stream. */
export interface RunOptions extends Omit<OneOffOptions, 'command' | 'stdin' | 'build'> {
  /** given to the command on its standard input */
  stdin?: string | Buffer | Readable;
  /** progress of the dependencies it starts and the image it builds */
  onEvent?: (e: ProgressEvent) => void;
}

export interface LogsOptions {
  follow?: boolean;
  /** lines from the end of each container's log */
  tail?: number;
  /** a Date, unix seconds, or a duration ago ("10m") */
  since?: Date | number | string;
  /** output up to then: a Date, unix seconds, or a duration ago */
  until?: Date | number | string;
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

export type { EventStream, LifecycleAction, LifecycleEvent } from '../converge/lifecycle-events.js';

/** The Compose projects on an engine, from their containers' labels (what `ls` lists). */
export async function listProjects(o: { all?: boolean; engine?: Engine | string } = {}): Promise<Array<{ name: string; status: string; configFiles: string[]; workingDir: string }>> {
  const engine = await (await import('../engine/docker.js')).resolveEngine(o.engine);
  const cs = await engine.listContainers([LABEL.project], true);
  const byProject = new Map<string, typeof cs>();
  for (const c of cs) {
    const p = c.labels[LABEL.project]!;
    (byProject.get(p) ?? byProject.set(p, []).get(p)!).push(c);
  }
  const out = [...byProject].map(([name, list]) => {
    const counts = new Map<string, number>();
    for (const c of list) counts.set(c.state, (counts.get(c.state) ?? 0) + 1);
    return {
      name,
      running: counts.get('running') ?? 0,
      status: [...counts].sort(([a], [b]) => a.localeCompare(b)).map(([st, n]) => `${st}(${n})`).join(', '),
      configFiles: [...new Set(list.flatMap((c) => (c.labels[LABEL.configFiles] ?? '').split(',').filter(Boolean)))],
      workingDir: list[0]!.labels[LABEL.workingDir] ?? '',
    };
  });
  return out.filter((p) => o.all || p.running > 0).sort((a, b) => a.name.localeCompare(b.name)).map(({ running: _r, ...p }) => p);
}

/** Opens a project: loads it with the CLI's rules; bad input throws the DockyardError the CLI prints. */
export async function openProject(o: OpenProjectOptions = {}): Promise<ProjectHandle> {
  const model = loadProject({
    files: o.files,
    projectName: o.projectName,
    projectDirectory: o.projectDirectory,
    profiles: o.profiles,
    services: o.services,
    envFiles: o.envFiles,
    environment: o.environment,
    workingDir: o.workingDir,
    onWarning: o.onWarning,
  });
  const engine = await (await import('../engine/docker.js')).resolveEngine(o.engine);
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

  /** which of these services' images are out of date with their sources (the builder's own check, building nothing) */
  private readonly stale = async (services: Service[]): Promise<Set<string>> => {
    if (!services.length) return new Set();
    const { buildServices } = await import('../build/builder.js');
    const r = await buildServices(this.engine, this.model, services.map((s) => s.name), { dryRun: true });
    return new Set([...r].filter(([, v]) => v === 'would-build').map(([k]) => k));
  };

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
      pull: o.pull,
      quietPull: o.quietPull,
      renewAnonVolumes: o.renewAnonVolumes,
      recreateDeps: o.recreateDeps,
      build: o.build === true ? ('always' as const) : o.build === false ? ('never' as const) : ('missing' as const),
      builder: this.builder(o.onEvent),
      stale: this.stale,
      signal: o.signal,
    };
  }

  /** Creates and starts the services (with their dependencies), in dependency order. */
  async up(o: UpOptions = {}): Promise<{ timeline: Timeline; containers: Record<string, string[]> }> {
    const { up } = await import('../converge/up.js');
    return up(this.converger(o.onEvent), this.upOptions(o));
  }

  /** What `up` would do, and why, touching nothing: the plan `up` carries out. */
  async plan(o: UpOptions = {}): Promise<Plan> {
    const { planUpOnly } = await import('../converge/up.js');
    return planUpOnly(this.converger(o.onEvent), this.upOptions(o));
  }

  /** Stops and removes the containers and networks (volumes too with `volumes`). */
  async down(o: { volumes?: boolean; removeOrphans?: boolean; timeoutS?: number; rmi?: 'local' | 'all'; onEvent?: (e: ProgressEvent) => void } = {}): Promise<void> {
    const { down } = await import('../converge/down.js');
    await down(this.converger(o.onEvent), { volumes: o.volumes, removeOrphans: o.removeOrphans, timeout: o.timeoutS, rmi: o.rmi });
  }

  /** Starts existing containers, dependencies first, each once its dependencies' conditions hold. */
  async start(services?: string[], o: { wait?: boolean; waitTimeoutMs?: number; onEvent?: (e: ProgressEvent) => void } = {}): Promise<void> {
    const { start } = await import('../converge/lifecycle.js');
    await start(this.converger(o.onEvent), services, o.waitTimeoutMs, o.wait);
  }

  async stop(services?: string[], o: { timeoutS?: number; onEvent?: (e: ProgressEvent) => void } = {}): Promise<void> {
    const { stop } = await import('../converge/lifecycle.js');
    await stop(this.converger(o.onEvent), services, o.timeoutS);
  }

  async restart(services?: string[], o: { timeoutS?: number; waitTimeoutMs?: number; onEvent?: (e: ProgressEvent) => void } = {}): Promise<void> {
    const { restart } = await import('../converge/lifecycle.js');
    await restart(this.converger(o.onEvent), services, o.timeoutS, o.waitTimeoutMs);
  }

  async kill(services?: string[], o: { signal?: string; removeOrphans?: boolean; onEvent?: (e: ProgressEvent) => void } = {}): Promise<void> {
    const cv = this.converger(o.onEvent);
    if (o.removeOrphans) {
      const known = new Set([...Object.keys(this.model.services), ...Object.keys(this.model.disabledServices)]);
      await cv.removeContainers((await projectContainers(this.engine, this.name, { oneoff: false })).filter((c) => !known.has(c.service)));
    }
    const { kill } = await import('../converge/lifecycle.js');
    await kill(cv, services, o.signal ?? 'SIGKILL');
  }

  /** The project's containers: running ones, or all (one-off ones included) with `all`. */
  async ps(o: { all?: boolean; services?: string[]; status?: string[]; orphans?: boolean } = {}): Promise<ContainerStatus[]> {
    if (o.services?.length) targetServices(this.model, o.services, true);
    await this.engine.ping();
    let cs = await projectContainers(this.engine, this.name, { services: o.services?.length ? o.services : undefined, all: true });
    if (o.status?.length) cs = cs.filter((c) => o.status!.includes(c.state));
    else if (!o.all) cs = cs.filter((c) => ['running', 'restarting', 'paused'].includes(c.state));
    if (!o.all) cs = cs.filter((c) => !c.oneoff);
    // orphans: containers of services the project no longer defines (listed unless orphans: false)
    if (o.orphans === false) cs = cs.filter((c) => this.model.services[c.service] || this.model.disabledServices[c.service]);
    return cs.map(containerStatus);
  }

  private container(service: string, index = 1): Promise<ProjectContainer> {
    return serviceContainer(this.engine, this.model, service, index);
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
    const { execIn } = await import('../converge/exec.js');
    return execIn(this.engine, await this.container(service, o.index), command, o);
  }

  /** Runs a one-off container of a service (its dependencies started first); resolves when it ends. */
  async run(service: string, command?: string[], o: RunOptions = {}): Promise<ExecResult & { container: string }> {
    const out = collector(o.stdout);
    const err = collector(o.stderr);
    const { onEvent, ...rest } = o;
    const r = await runOneOff(this.converger(onEvent), service, {
      ...rest,
      command,
      stdin: toReadable(o.stdin),
      stdout: out.stream,
      stderr: err.stream,
      build: this.builder(onEvent),
      stale: this.stale,
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
        if (services?.length) targetServices(self.model, services, true);
        let cs = await projectContainers(self.engine, self.name, { services: services?.length ? services : undefined });
        if (o.index !== undefined) cs = cs.filter((c) => c.number === o.index);
        const when = (v: Date | number | string | undefined) => (v instanceof Date ? v.getTime() / 1000 : typeof v === 'string' ? parseSince(v) : v);
        const since = when(o.since);
        const until = when(o.until);
        const watch = o.index === undefined ? { project: self.name, services: services?.length ? services : undefined } : undefined;
        yield* streamLogs(self.engine, cs, { follow: o.follow, tail: o.tail, since, until, watch, signal: o.signal });
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
    if (services?.length) targetServices(this.model, services, true);
    const { buildServices } = await import('../build/builder.js');
    return buildServices(this.engine, this.model, services, { noCache: o.noCache, pull: o.pull, force: o.force, parallel: o.parallel, onEvent: o.onEvent ? buildProgress(o.onEvent) : undefined });
  }

  /** Removes stopped containers (with `stop`, stops them first); returns the names removed. */
  async rm(services?: string[], o: { stop?: boolean; volumes?: boolean; onEvent?: (e: ProgressEvent) => void } = {}): Promise<string[]> {
    const { rm } = await import('../converge/lifecycle.js');
    return (await rm(this.converger(o.onEvent), services, o)).map((c) => c.name);
  }

  /** The processes running in the services' containers. */
  async top(services?: string[]): Promise<Array<{ container: string; titles: string[]; processes: string[][] }>> {
    if (services?.length) targetServices(this.model, services, true);
    const cs = (await projectContainers(this.engine, this.name, { oneoff: false, services: services?.length ? services : undefined })).filter((c) => c.state === 'running');
    return Promise.all(
      cs.map(async (c) => {
        const t = await this.engine.topContainer(c.id);
        return { container: c.name, titles: t.Titles, processes: t.Processes };
      }),
    );
  }

  /** The project's container lifecycle as it happens on the engine (created, started, healthy, exited...). */
  events(o: { signal?: AbortSignal; since?: number; until?: number } = {}): EventStream<LifecycleEvent> {
    return lifecycleEvents(this.engine, this.name, o);
  }

  /** Pauses the running containers of the services (all by default). */
  async pause(services?: string[]): Promise<string[]> {
    const cs = (await this.containersOf(services)).filter((c) => c.state === 'running');
    await Promise.all(cs.map((c) => this.engine.pauseContainer(c.id)));
    return cs.map((c) => c.name);
  }

  async unpause(services?: string[]): Promise<string[]> {
    const cs = (await this.containersOf(services)).filter((c) => c.state === 'paused');
    await Promise.all(cs.map((c) => this.engine.unpauseContainer(c.id)));
    return cs.map((c) => c.name);
  }

  /** Sets the number of containers of services (`scale web=3 worker=0`), their dependencies started unless noDeps. */
  async scale(replicas: Record<string, number>, o: { noDeps?: boolean; onEvent?: (e: ProgressEvent) => void } = {}): Promise<void> {
    const { up } = await import('../converge/up.js');
    await up(this.converger(o.onEvent), { services: Object.keys(replicas), scale: replicas, noDeps: o.noDeps, noRecreate: true, builder: this.builder(o.onEvent), stale: this.stale });
  }

  /**
   * Waits until the containers of the services have all stopped; resolves with the exit code of
   * the last one. With `downProject`, the project is brought down once the first one stops.
   */
  async wait(services: string[], o: { downProject?: boolean; onExit?: (container: string, code: number) => void } = {}): Promise<number> {
    const { waitFor } = await import('../converge/lifecycle.js');
    return waitFor(this.converger(), await this.containersOf(services, true), { ...o, services });
  }

  /** The images the services use: [{ service, container, repository, tag, id, size }]. */
  async images(services?: string[]): Promise<Array<{ service: string; container: string; repository: string; tag: string; id: string; size: number; created: number }>> {
    const cs = await this.containersOf(services, true);
    const imgs = await this.engine.listImages();
    return cs.map((c) => {
      const img = imgs.find((i) => i.Id === c.imageId);
      const ref = img?.RepoTags.find((t) => t === c.image || t === `${c.image}:latest`) ?? img?.RepoTags[0] ?? c.image;
      const at = ref.lastIndexOf(':');
      const slash = ref.lastIndexOf('/');
      const [repository, tag] = at > slash ? [ref.slice(0, at), ref.slice(at + 1)] : [ref, 'latest'];
      return { service: c.service, container: c.name, repository, tag, id: c.imageId, size: img?.Size ?? 0, created: img?.Created ?? 0 };
    });
  }

  /** One sample of each running container's CPU, memory, network and block I/O use. */
  async stats(services?: string[], o: { all?: boolean } = {}): Promise<ContainerStats[]> {
    const cs = (await this.containersOf(services, true)).filter((c) => o.all || c.state === 'running');
    return Promise.all(cs.map(async (c) => containerStats(c, c.state === 'running' ? await this.engine.containerStats(c.id) : undefined)));
  }

  /** Copies out of a service's container: a tar stream of `path` (what `cp SERVICE:PATH DEST` unpacks). */
  async copyFrom(service: string, path: string, o: { index?: number } = {}): Promise<Readable> {
    const { copyFrom } = await import('../converge/copy.js');
    return copyFrom(this.engine, await this.container(service, o.index), path);
  }

  /** Copies into the containers of a service (one, or all with `all`): a tar stream unpacked at `dir`. */
  async copyTo(service: string, dir: string, tar: () => Readable | Buffer, o: { index?: number; all?: boolean } = {}): Promise<string[]> {
    const cs = o.all ? await this.containersOf([service], false, true) : [await this.container(service, o.index)];
    for (const c of cs) await this.engine.putArchive(c.id, dir, tar());
    return cs.map((c) => c.name);
  }

  /**
   * docker cp between a service's container and here: `cp('web:/etc/app.conf', './conf')`,
   * `cp('./build', 'web:/srv/')`; `-` is a tar stream on stdin or stdout. Into a service, `all`
   * copies into every container of it.
   */
  async cp(src: string, dest: string, o: CopyOptions = {}): Promise<{ containers: string[] }> {
    const { copy } = await import('../converge/copy.js');
    return copy(this.engine, (service, all) => (all ? this.containersOf([service], false, true) : this.container(service, o.index).then((c) => [c])), src, dest, o);
  }

  /** Pulls the services' images (those with a build section only if they name an image and no build is wanted). */
  async pull(services?: string[], o: { ignoreBuildable?: boolean; ignoreFailures?: boolean; includeDeps?: boolean; onlyMissing?: boolean; onEvent?: (e: ProgressEvent) => void } = {}): Promise<{ pulled: string[]; failed: Array<{ image: string; error: string }> }> {
    const targets = targetServices(this.model, services?.length ? services : undefined, !o.includeDeps);
    const refs = new Set<string>();
    for (const s of targets) {
      if (s.build && (o.ignoreBuildable || !s.image)) continue;
      refs.add(s.image ?? `${this.name}-${s.name}`);
    }
    const pulled: string[] = [];
    const failed: Array<{ image: string; error: string }> = [];
    await Promise.all(
      [...refs].map(async (ref) => {
        if (o.onlyMissing && (await this.engine.inspectImage(ref))) return;
        o.onEvent?.({ type: 'resource', kind: 'image', name: ref, action: 'pulling' });
        try {
          await this.engine.pullImage(ref);
          pulled.push(ref);
          o.onEvent?.({ type: 'resource', kind: 'image', name: ref, action: 'pulled' });
        } catch (e) {
          failed.push({ image: ref, error: e instanceof Error ? e.message : String(e) });
          o.onEvent?.({ type: 'resource', kind: 'image', name: ref, action: 'warning', detail: 'pull failed' });
        }
      }),
    );
    if (failed.length && !o.ignoreFailures) {
      throw new DockyardError('SERVICE_FAILED', `cannot pull ${failed.map((f) => f.image).join(', ')}: ${failed[0]!.error}`, { hint: 'check the image names and the registry, or pass --ignore-pull-failures' });
    }
    return { pulled: pulled.sort(), failed };
  }

  /** Pushes the images of the services that name one (built or pulled). */
  async push(services?: string[], o: { ignoreFailures?: boolean; includeDeps?: boolean; onEvent?: (e: ProgressEvent) => void } = {}): Promise<{ pushed: string[]; failed: Array<{ image: string; error: string }> }> {
    const targets = targetServices(this.model, services?.length ? services : undefined, !o.includeDeps);
    const refs = new Set<string>();
    for (const s of targets) {
      if (s.image) refs.add(s.image);
      for (const t of s.build?.tags ?? []) refs.add(t);
    }
    const pushed: string[] = [];
    const failed: Array<{ image: string; error: string }> = [];
    for (const ref of refs) {
      o.onEvent?.({ type: 'resource', kind: 'image', name: ref, action: 'pushing' });
      try {
        await this.engine.pushImage(ref);
        pushed.push(ref);
        o.onEvent?.({ type: 'resource', kind: 'image', name: ref, action: 'pushed' });
      } catch (e) {
        failed.push({ image: ref, error: e instanceof Error ? e.message : String(e) });
      }
    }
    if (failed.length && !o.ignoreFailures) {
      throw new DockyardError('SERVICE_FAILED', `cannot push ${failed.map((f) => f.image).join(', ')}: ${failed[0]!.error}`, { hint: 'check the registry (it must be reachable and accept the push), or pass --ignore-push-failures' });
    }
    return { pushed, failed };
  }

  /**
   * Keeps the newest `keep` tags of each service image's repository in its registry (through the
   * registry's HTTP API), deleting the others; `dryRun` only says which would go.
   */
  async registryPrune(services: string[] | undefined, o: { keep: number; dryRun?: boolean }): Promise<Array<PruneResult & { registry: string }>> {
    if (!Number.isInteger(o.keep) || o.keep < 0) throw new DockyardError('USAGE', `--keep must be a whole number, not ${String(o.keep)}`);
    const { parseRef, pruneRepository, RegistryClient } = await import('../registry/client.js');
    const targets = targetServices(this.model, services?.length ? services : undefined, true);
    const repos = new Map<string, { registry: string; repository: string }>();
    for (const s of targets) {
      for (const ref of [s.image, ...(s.build?.tags ?? [])]) {
        if (!ref) continue;
        const r = parseRef(ref);
        repos.set(`${r.registry}/${r.repository}`, r);
      }
    }
    if (!repos.size) throw new DockyardError('USAGE', 'no service names an image in a registry', { hint: 'give the services image: registry/name:tag (or build.tags)' });
    const out: Array<PruneResult & { registry: string }> = [];
    for (const r of repos.values()) out.push({ registry: r.registry, ...(await pruneRepository(new RegistryClient(r.registry), r.repository, o.keep, o.dryRun)) });
    return out;
  }

  /** A container's filesystem as a tar stream. */
  async export(service: string, o: { index?: number } = {}): Promise<Readable> {
    return this.engine.exportContainer((await this.container(service, o.index)).id);
  }

  /** A new image from a service container's changes; resolves with its id. */
  async commit(service: string, o: { index?: number; repo?: string; tag?: string; author?: string; message?: string; changes?: string[]; pause?: boolean } = {}): Promise<string> {
    return this.engine.commitContainer((await this.container(service, o.index)).id, o);
  }

  /** The project's containers of some services (all by default; one-off ones with `oneoff`). */
  private containersOf(services?: string[], withOneoff = false, mustExist = false): Promise<ProjectContainer[]> {
    return serviceContainers(this.engine, this.model, services, { withOneoff, mustExist });
  }

  /**
   * Live development: follows the services' develop.watch rules (sync, rebuild, restart,
   * sync+restart, sync+exec) until `signal` aborts; `onAction` hears of each action done.
   */
  async watch(o: { services?: string[]; signal?: AbortSignal; onAction?: (a: WatchAction) => void; onReady?: (rules: number) => void } = {}): Promise<void> {
    const { watchProject } = await import('../watch/watch.js');
    await watchProject(this, o);
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

export interface ContainerStats {
  container: string;
  service: string;
  id: string;
  /** percent of one CPU times the CPUs used (as docker stats) */
  cpuPercent: number;
  memoryBytes: number;
  memoryLimitBytes: number;
  memoryPercent: number;
  netRxBytes: number;
  netTxBytes: number;
  blockReadBytes: number;
  blockWriteBytes: number;
  pids: number;
}

/** docker stats' arithmetic over one sample of the engine's stats object. */
function containerStats(c: ProjectContainer, st: Record<string, any> | undefined): ContainerStats {
  const cpuDelta = (st?.cpu_stats?.cpu_usage?.total_usage ?? 0) - (st?.precpu_stats?.cpu_usage?.total_usage ?? 0);
  const sysDelta = (st?.cpu_stats?.system_cpu_usage ?? 0) - (st?.precpu_stats?.system_cpu_usage ?? 0);
  const cpus = st?.cpu_stats?.online_cpus ?? st?.cpu_stats?.cpu_usage?.percpu_usage?.length ?? 1;
  const cache = st?.memory_stats?.stats?.inactive_file ?? st?.memory_stats?.stats?.total_inactive_file ?? 0;
  const mem = Math.max(0, (st?.memory_stats?.usage ?? 0) - cache);
  const limit = st?.memory_stats?.limit ?? 0;
  let rx = 0;
  let tx = 0;
  for (const n of Object.values((st?.networks ?? {}) as Record<string, { rx_bytes: number; tx_bytes: number }>)) {
    rx += n.rx_bytes;
    tx += n.tx_bytes;
  }
  let read = 0;
  let write = 0;
  for (const e of (st?.blkio_stats?.io_service_bytes_recursive ?? []) as Array<{ op: string; value: number }>) {
    if (/^read$/i.test(e.op)) read += e.value;
    if (/^write$/i.test(e.op)) write += e.value;
  }
  return {
    container: c.name,
    service: c.service,
    id: c.id,
    cpuPercent: sysDelta > 0 && cpuDelta > 0 ? (cpuDelta / sysDelta) * cpus * 100 : 0,
    memoryBytes: mem,
    memoryLimitBytes: limit,
    memoryPercent: limit ? (mem / limit) * 100 : 0,
    netRxBytes: rx,
    netTxBytes: tx,
    blockReadBytes: read,
    blockWriteBytes: write,
    pids: st?.pids_stats?.current ?? 0,
  };
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
  return { id: c.id, name: c.name, service: c.service, number: c.number, oneoff: c.oneoff, image: c.image, state: c.state, status: c.status, health, exitCode: exit ? Number(exit[1]) : undefined, ports, created: c.created, labels: c.labels, command: c.command ?? '' };
}

