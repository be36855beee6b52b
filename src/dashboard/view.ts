/**
 * The dashboard's view of a project on the engine: what its page shows, kept up to date from the
 * engine's own event stream (one subscription; a container is inspected once per event that
 * concerns it), its containers' output (one follower per running container), the plan `up` would
 * carry out (recreations and their reasons, images out of date with their build) and the leases.
 * It holds no state of its own: every container row is the engine's last answer, and a lost event
 * stream is re-subscribed and everything inspected again.
 */
import type { ProjectHandle } from '../api/project.js';
import type { ContainerInspect, EngineEvent, EventSubscription } from '../engine/engine.js';
import type { ProgressEvent, Timeline } from '../converge/events.js';
import type { WatchAction } from '../watch/watch.js';
import { LABEL } from '../model/names.js';
import { LEASE, listEnvironments } from '../envs/lease.js';
import { reconstructTimeline, timingOf } from './timeline.js';
import type { ContainerTiming } from './timeline.js';

export interface ContainerView {
  id: string;
  name: string;
  service: string;
  number: number;
  oneoff: boolean;
  /** created, running, restarting, paused, exited, dead */
  state: string;
  health?: string;
  /** the last health check's output, when it failed */
  healthOutput?: string;
  exitCode?: number;
  restarts: number;
  startedAt?: string;
  finishedAt?: string;
  image: string;
  imageId: string;
  ports: Array<{ target: number; protocol: string; hostIp: string; published?: number }>;
  /** the engine's error for a container that could not start */
  error?: string;
}

export interface ServiceView {
  name: string;
  image?: string;
  build: boolean;
  dependsOn: string[];
  replicas: number;
}

export interface LogView {
  /** ms since the epoch */
  t: number;
  /** service, container, stderr?, text */
  s: string;
  c: string;
  e?: 1;
  x: string;
}

export interface ActivityView {
  id: number;
  /** copy and exec: what the engine's event stream reported (files copied into a container, an exec in it) */
  kind: 'action' | 'up' | 'build' | 'watch' | 'copy' | 'exec';
  title: string;
  service?: string;
  /** the container it concerns (copy, exec) */
  container?: string;
  state: 'running' | 'done' | 'failed';
  /** ms since the epoch */
  started: number;
  ms?: number;
  lines: string[];
  error?: string;
}

export interface PlanView {
  /** per service: what `up` would do (keep steps left out) and the image step */
  services: Record<string, { steps: Array<{ action: string; name: string; reasons: string[] }>; image?: { action: string; reason: string; ref: string } }>;
  error?: string;
  at: number;
}

export interface LeaseView {
  name: string;
  expiresAt: number;
  expired: boolean;
  owner: string;
  ownerState: string;
  containers: number;
  running: number;
  unhealthy: number;
  healthy: number;
}

export type DashboardMessage =
  | { type: 'container'; container: ContainerView }
  | { type: 'removed'; id: string }
  | { type: 'logs'; lines: LogView[]; dropped?: number }
  | { type: 'activity'; entry: ActivityView }
  /** an entry folded into another (an engine-reported copy into a watch action of this process) */
  | { type: 'activity-removed'; id: number }
  | { type: 'timeline'; timeline: Timeline; from: TimelineSource; notes?: string[] }
  | { type: 'plan'; plan: PlanView }
  | { type: 'leases'; leases: LeaseView[] };

export interface Snapshot {
  project: string;
  services: ServiceView[];
  containers: ContainerView[];
  logs: LogView[];
  activity: ActivityView[];
  timeline?: Timeline;
  /** up: up's own record of its run; engine: put together from the containers' inspections */
  timelineFrom?: TimelineSource;
  /** what an engine timeline leaves out, and why */
  timelineNotes?: string[];
  plan?: PlanView;
  leases: LeaseView[];
  /** the server's clock (ms), for relative times */
  now: number;
}

export type TimelineSource = 'up' | 'engine';

export interface ViewOptions {
  /** log lines kept for pages that connect later (default 1000) */
  logLines?: number;
  /** lines of each container's past output read when the view starts (default 100) */
  tail?: number;
  /** how often queued log lines go out, ms (default 50) */
  logFlushMs?: number;
}

/** Engine events that change what a container row shows. */
const RELEVANT = new Set(['create', 'start', 'die', 'stop', 'kill', 'restart', 'pause', 'unpause', 'destroy', 'rename', 'oom', 'update']);
const MAX_LINE = 4000;

export class ProjectView {
  readonly containers = new Map<string, ContainerView>();
  private readonly logs: LogView[] = [];
  private pendingLogs: LogView[] = [];
  private flushTimer?: NodeJS.Timeout;
  private readonly activity: ActivityView[] = [];
  private nextActivity = 1;
  private timeline?: Timeline;
  private timelineFrom?: TimelineSource;
  private timelineNotes?: string[];
  /** each container's timing as the engine last told it (for the engine timeline) */
  private readonly timings = new Map<string, ContainerTiming>();
  /** each container's health check command, as its exec events name it (those execs are not activity) */
  private readonly healthCmds = new Map<string, string>();
  /** execs under way, by exec id */
  private readonly execs = new Map<string, Activity>();
  /** the last engine-reported copy per container and direction: a burst is one entry */
  private readonly copies = new Map<string, { a: Activity; at: number; n: number }>();
  /** entries folded into another: never sent again */
  private readonly gone = new Set<number>();
  private plan?: PlanView;
  private leases: LeaseView[] = [];
  private readonly listeners = new Set<(m: DashboardMessage) => void>();
  private subs: EventSubscription[] = [];
  private readonly inflight = new Map<string, Promise<void>>();
  private readonly again = new Set<string>();
  /** events patched into a row per container: an inspection begun before the last one is not sent */
  private readonly patches = new Map<string, number>();
  private readonly followers = new Map<string, { close(): void }>();
  /** the newest log line's time per container: a follower started again skips what was shown */
  private readonly lastLogTime = new Map<string, number>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private closed = false;
  /** log lines read since the view started */
  linesSeen = 0;

  constructor(
    readonly handle: ProjectHandle,
    private readonly o: ViewOptions = {},
  ) {}

  get engine() {
    return this.handle.engine;
  }

  /** Subscribes to the engine, reads every container once, starts following their output. */
  async start(): Promise<void> {
    await this.subscribe();
    await this.refreshAll(true);
    this.later('plan', 0, () => this.refreshPlan());
    this.later('leases', 0, () => this.refreshLeases());
  }

  on(fn: (m: DashboardMessage) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  snapshot(): Snapshot {
    const services = Object.values(this.handle.model.services).map((s) => ({
      name: s.name,
      image: s.image,
      build: !!s.build,
      dependsOn: Object.keys(s.depends_on ?? {}),
      replicas: (s as { deploy?: { replicas?: number } }).deploy?.replicas ?? (s as { scale?: number }).scale ?? 1,
    }));
    return {
      project: this.handle.name,
      services,
      containers: [...this.containers.values()],
      // the containers' tails arrive one container after another: in time order for the page
      logs: [...this.logs].sort((x, y) => x.t - y.t),
      activity: [...this.activity],
      timeline: this.timeline,
      timelineFrom: this.timelineFrom,
      timelineNotes: this.timelineNotes,
      plan: this.plan,
      leases: this.leases,
      now: Date.now(),
    };
  }

  close(): void {
    this.closed = true;
    for (const s of this.subs) s.close();
    for (const f of this.followers.values()) f.close();
    for (const t of this.timers.values()) clearTimeout(t);
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.listeners.clear();
  }

  private send(m: DashboardMessage): void {
    for (const fn of this.listeners) fn(m);
  }

  private async subscribe(): Promise<void> {
    const onEnd = (err?: Error) => {
      if (this.closed) return;
      // a listener of ours failed: the pages say so (never swallowed), then the view starts over
      if (err) this.begin('action', 'the dashboard lost track of the engine\'s events').end(err);
      // the stream ended (engine restarting, connection lost): subscribe again, then read everything
      this.later('resubscribe', 1000, async () => {
        for (const s of this.subs.splice(0)) s.close();
        await this.subscribe().then(() => this.refreshAll(false), () => onEnd());
      });
    };
    const [own, leases] = await Promise.all([
      this.engine.events({ type: ['container'], label: [`${LABEL.project}=${this.handle.name}`] }, (e) => this.onEvent(e), onEnd),
      this.engine.events({ type: ['container', 'volume'], label: [LEASE.name] }, (e) => this.onLeaseEvent(e), onEnd),
    ]);
    this.subs.push(own, leases);
  }

  private onEvent(e: EngineEvent): void {
    const action = e.Action.startsWith('health_status') ? 'health' : e.Action;
    if (action === 'extract-to-dir' || action === 'archive-path' || action.startsWith('exec_start:') || action === 'exec_die') return this.engineActivity(e);
    if (action !== 'health' && !RELEVANT.has(action)) return;
    const id = e.Actor.ID;
    if (action === 'destroy') {
      this.containers.delete(id);
      this.timings.delete(id);
      this.healthCmds.delete(id);
      this.patches.delete(id);
      this.followers.get(id)?.close();
      this.followers.delete(id);
      this.send({ type: 'removed', id });
    } else {
      // what the event itself says goes out at once; the inspection that follows completes the row
      const known = this.containers.get(id);
      const patch = known && eventPatch(e);
      if (known && patch) {
        const v = { ...known, ...patch };
        this.containers.set(id, v);
        this.patches.set(id, (this.patches.get(id) ?? 0) + 1);
        this.send({ type: 'container', container: v });
      }
      void this.refresh(id);
    }
    if (['create', 'destroy', 'rename'].includes(action)) this.later('plan', 500, () => this.refreshPlan());
  }

  /**
   * What the engine reports done inside a container, as activity: files copied into it
   * (`extract-to-dir`: `docker cp`, a watch's sync from another process) or out of it
   * (`archive-path`), and execs (`exec_start` with its command, `exec_die` with its exit code).
   * The engine names neither the files nor their number; its health checks' execs are left out.
   */
  private engineActivity(e: EngineEvent): void {
    const id = e.Actor.ID;
    const name = e.Actor.Attributes.name ?? id.slice(0, 12);
    const service = e.Actor.Attributes[LABEL.service];
    const at = Math.floor(e.timeNano / 1e6) || e.time * 1000;
    if (e.Action === 'exec_die') {
      const x = this.execs.get(e.Actor.Attributes.execID ?? '');
      if (!x) return;
      this.execs.delete(e.Actor.Attributes.execID!);
      const code = e.Actor.Attributes.exitCode;
      return x.end(code && code !== '0' ? `exited with code ${code}` : undefined, at);
    }
    if (e.Action.startsWith('exec_start:')) {
      const cmd = e.Action.slice('exec_start:'.length).trim();
      const hc = this.healthCmds.get(id);
      if (hc && (cmd === hc || cmd.endsWith(` ${hc}`))) return;
      const x = this.begin('exec', `exec ${cmd.length > 120 ? `${cmd.slice(0, 120)}…` : cmd} in ${name}`, service, { container: name, at });
      if (e.Actor.Attributes.execID) this.execs.set(e.Actor.Attributes.execID, x);
      // an exec whose end never came (a lost event stream) is forgotten after 200 others
      if (this.execs.size > 200) this.execs.delete(this.execs.keys().next().value!);
      return;
    }
    const into = e.Action === 'extract-to-dir';
    const key = `${into ? '>' : '<'}${name}`;
    const last = this.copies.get(key);
    if (last && at - last.at < 2000 && !this.gone.has(last.a.id)) {
      last.at = at;
      last.n++;
      return last.a.retitle(`files copied ${into ? 'into' : 'out of'} ${name} (${last.n} copies)`);
    }
    const a = this.begin('copy', `files copied ${into ? 'into' : 'out of'} ${name}`, service, { container: name, at });
    a.end(undefined, at);
    this.copies.set(key, { a, at, n: 1 });
  }

  private onLeaseEvent(e: EngineEvent): void {
    if (e.Type === 'volume' || ['create', 'start', 'die', 'destroy'].includes(e.Action) || e.Action.startsWith('health_status')) this.later('leases', 300, () => this.refreshLeases());
  }

  /** Runs `fn` once after `ms`, however often asked meanwhile. */
  private later(key: string, ms: number, fn: () => Promise<void> | void): void {
    if (this.closed || this.timers.has(key)) return;
    this.timers.set(
      key,
      setTimeout(() => {
        this.timers.delete(key);
        if (!this.closed) void Promise.resolve(fn()).catch(() => undefined);
      }, ms),
    );
  }

  private async refreshAll(first: boolean): Promise<void> {
    const list = await this.engine.listContainers([`${LABEL.project}=${this.handle.name}`], true);
    const ids = new Set(list.map((c) => c.id));
    for (const id of [...this.containers.keys()]) {
      if (!ids.has(id)) {
        this.containers.delete(id);
        this.timings.delete(id);
        this.send({ type: 'removed', id });
      }
    }
    await Promise.all(list.map((c) => this.refresh(c.id, first)));
  }

  /** Inspects a container (once at a time; asked again meanwhile, once more after) and sends its row. */
  refresh(id: string, first = false): Promise<void> {
    const running = this.inflight.get(id);
    if (running) {
      this.again.add(id);
      return running;
    }
    const p = (async () => {
      const seq = this.patches.get(id) ?? 0;
      const c = await this.engine.inspectContainer(id).catch(() => undefined);
      if (this.closed) return;
      // an event came meanwhile: its patch is newer than this answer, and another inspection follows
      if (seq !== (this.patches.get(id) ?? 0) && this.again.has(id)) return;
      if (!c) {
        this.timings.delete(id);
        if (this.containers.delete(id)) this.send({ type: 'removed', id });
        return;
      }
      const v = containerView(c);
      this.containers.set(id, v);
      this.send({ type: 'container', container: v });
      const t = timingOf(c);
      if (t) this.timings.set(id, t);
      const hc = healthCommand(c);
      if (hc) this.healthCmds.set(id, hc);
      this.later('timeline', 300, () => this.rebuildTimeline());
      if ((v.state === 'running' || v.state === 'paused') && !this.followers.has(id)) this.follow(c, first);
    })().finally(() => {
      this.inflight.delete(id);
      if (this.again.delete(id)) void this.refresh(id);
    });
    this.inflight.set(id, p);
    return p;
  }

  /** Follows a container's output until its run ends; lines already shown are skipped. */
  private follow(c: ContainerInspect, first: boolean): void {
    const id = c.Id;
    let stop = false;
    const handle = { close: () => void (stop = true) };
    this.followers.set(id, handle);
    const name = c.Name.replace(/^\//, '');
    const service = c.Config.Labels?.[LABEL.service] ?? '';
    const last = this.lastLogTime.get(id);
    const since = last !== undefined ? Math.floor(last / 1000) : first ? undefined : Math.floor(Date.parse(c.State.StartedAt) / 1000) || undefined;
    void (async () => {
      const lg = await this.engine.containerLogs(id, { follow: true, timestamps: true, tail: since === undefined ? (this.o.tail ?? 100) : 'all', since }, !!c.Config.Tty);
      handle.close = () => {
        stop = true;
        lg.close();
      };
      if (stop || this.closed) return lg.close();
      const read = (stream: NodeJS.ReadableStream, err: boolean) => {
        let rest = '';
        stream.on('data', (chunk: Buffer) => {
          const parts = (rest + chunk.toString('utf8')).split('\n');
          rest = parts.pop() ?? '';
          for (const raw of parts) this.line(id, service, name, raw, err);
        });
        stream.on('end', () => rest && this.line(id, service, name, rest, err));
      };
      read(lg.stdout, false);
      read(lg.stderr, true);
      await lg.done.catch(() => undefined);
    })()
      .catch(() => undefined)
      .finally(() => {
        if (this.followers.get(id) === handle) this.followers.delete(id);
        // it may have started again while its last run's output was being read
        if (!this.closed && this.containers.get(id)?.state === 'running') void this.refresh(id);
      });
  }

  private line(id: string, service: string, container: string, raw: string, err: boolean): void {
    let t = Date.now();
    let x = raw;
    const sp = raw.indexOf(' ');
    if (sp > 19 && /^\d{4}-\d\d-\d\dT/.test(raw)) {
      const ms = Date.parse(raw.slice(0, sp));
      if (!Number.isNaN(ms)) {
        t = ms;
        x = raw.slice(sp + 1);
      }
    }
    // nanosecond timestamps share a millisecond: only lines strictly older were shown already
    const last = this.lastLogTime.get(id);
    if (last !== undefined && t < last) return;
    this.lastLogTime.set(id, t);
    x = x.replace(/\r$/, '');
    if (x.length > MAX_LINE) x = `${x.slice(0, MAX_LINE)}…`;
    const l: LogView = err ? { t, s: service, c: container, e: 1, x } : { t, s: service, c: container, x };
    this.linesSeen++;
    this.logs.push(l);
    const cap = this.o.logLines ?? 1000;
    if (this.logs.length > cap * 1.25) this.logs.splice(0, this.logs.length - cap);
    this.pendingLogs.push(l);
    this.flushTimer ??= setTimeout(() => {
      this.flushTimer = undefined;
      const lines = this.pendingLogs;
      this.pendingLogs = [];
      if (lines.length) this.send({ type: 'logs', lines });
    }, this.o.logFlushMs ?? 50);
  }

  /** The plan `up` would carry out now: recreations with their reasons, images to build. */
  async refreshPlan(): Promise<void> {
    let plan: PlanView;
    try {
      const p = await this.handle.plan({ onEvent: () => undefined });
      const services: PlanView['services'] = {};
      for (const sp of p.services) {
        services[sp.service] = {
          steps: sp.steps.filter((s) => s.action !== 'keep').map((s) => ({ action: s.action, name: s.name, reasons: s.action === 'recreate' ? s.reasons : s.action === 'remove' ? [s.reason] : [] })),
        };
      }
      for (const im of p.images) (services[im.service] ??= { steps: [] }).image = { action: im.action, reason: im.reason, ref: im.ref };
      plan = { services, at: Date.now() };
    } catch (e) {
      plan = { services: {}, error: e instanceof Error ? e.message : String(e), at: Date.now() };
    }
    if (this.closed) return;
    this.plan = plan;
    this.send({ type: 'plan', plan });
  }

  private async refreshLeases(): Promise<void> {
    const [infos, cs] = await Promise.all([listEnvironments({ engine: this.engine }), this.engine.listContainers([LEASE.name], true)]);
    this.leases = infos.map((l) => {
      const mine = cs.filter((c) => c.labels[LEASE.name] === l.name);
      return {
        name: l.name,
        expiresAt: l.expiresAt.getTime(),
        expired: l.expired,
        owner: `${l.holder.user ? `${l.holder.user}@` : ''}${l.holder.host}${l.holder.pid ? ` pid ${l.holder.pid}` : ''}`,
        ownerState: l.ownerState,
        containers: mine.length,
        running: mine.filter((c) => c.state === 'running').length,
        unhealthy: mine.filter((c) => /\(unhealthy\)/.test(c.status)).length,
        healthy: mine.filter((c) => /\(healthy\)/.test(c.status)).length,
      };
    });
    if (!this.closed) this.send({ type: 'leases', leases: this.leases });
  }

  /** The startup timeline of a run (up's own record): it replaces the one put together from the engine. */
  setTimeline(t: Timeline): void {
    this.timeline = t;
    this.timelineFrom = 'up';
    this.timelineNotes = undefined;
    this.send({ type: 'timeline', timeline: t, from: 'up' });
  }

  /**
   * The startup timeline from the containers' inspections (created, last started, first healthy
   * check) and the project's depends_on, unless a run's own record was given, or an up of this
   * process is under way (its record follows). Sent when it changed.
   */
  private rebuildTimeline(): void {
    if (this.timelineFrom === 'up' || this.activity.some((a) => a.kind === 'up' && a.state === 'running')) return;
    const deps = Object.fromEntries(Object.values(this.handle.model.services).map((s) => [s.name, Object.keys(s.depends_on ?? {})]));
    const r = reconstructTimeline([...this.timings.values()], deps);
    if (!r && !this.timeline) return;
    if (r && this.timeline && JSON.stringify(r.timeline) === JSON.stringify(this.timeline) && JSON.stringify(r.notes) === JSON.stringify(this.timelineNotes)) return;
    this.timeline = r?.timeline ?? { startedAt: Date.now(), totalMs: 0, entries: [], criticalPath: { services: [], ms: 0 } };
    this.timelineFrom = 'engine';
    this.timelineNotes = r?.notes ?? [];
    this.send({ type: 'timeline', timeline: this.timeline, from: 'engine', notes: this.timelineNotes });
  }

  /** An activity (an action, an up, a build, an engine-reported copy or exec): its progress lines and its end go to every page. */
  begin(kind: ActivityView['kind'], title: string, service?: string, o: { container?: string; at?: number } = {}): Activity {
    const a: ActivityView = { id: this.nextActivity++, kind, title, service, container: o.container, state: 'running', started: o.at ?? Date.now(), lines: [] };
    this.activity.push(a);
    if (this.activity.length > 50) this.activity.shift();
    const send = () => {
      if (!this.gone.has(a.id)) this.send({ type: 'activity', entry: a });
    };
    send();
    const note = (line: string) => {
      if (a.state !== 'running') return;
      a.lines.push(line);
      if (a.lines.length > 30) a.lines.shift();
      this.later(`activity-${a.id}`, 50, send);
    };
    return {
      id: a.id,
      progress: (e) => note(progressLine(e)),
      note,
      retitle: (title) => {
        a.title = title;
        send();
      },
      end: (error, at) => {
        a.state = error === undefined ? 'done' : 'failed';
        a.ms = Math.max(0, (at ?? Date.now()) - a.started);
        if (error !== undefined) a.error = error instanceof Error ? error.message : String(error);
        send();
        if (kind === 'copy' || kind === 'exec') return;
        this.later('plan', 200, () => this.refreshPlan());
        if (kind === 'up') this.later('timeline', 300, () => this.rebuildTimeline());
      },
    };
  }

  /**
   * A watch action done (sync, rebuild, restart...) with its timing. This process's own copies and
   * execs into its containers, which the engine reported meanwhile, are folded into it (they are
   * this action: the page shows one entry, with what watch knows).
   */
  watchAction(w: WatchAction): void {
    const since = Date.now() - w.ms - 500;
    for (const x of this.activity) {
      if ((x.kind === 'copy' || x.kind === 'exec') && x.container && w.containers.includes(x.container) && x.started >= since && !this.gone.has(x.id)) {
        this.gone.add(x.id);
        if (this.gone.size > 500) this.gone.delete(this.gone.values().next().value!);
        this.send({ type: 'activity-removed', id: x.id });
      }
    }
    for (let i = this.activity.length - 1; i >= 0; i--) if (this.gone.has(this.activity[i]!.id)) this.activity.splice(i, 1);
    const files = w.action === 'rebuild' || w.action === 'restart' ? '' : `${w.files} file(s) to `;
    const a = this.begin('watch', `watch ${w.action} ${w.service}`, w.service);
    a.note(`${files}${w.containers.join(', ') || '(no container running)'} in ${w.ms} ms`);
    a.end(w.error);
  }
}

export interface Activity {
  id: number;
  progress(e: ProgressEvent): void;
  note(line: string): void;
  retitle(title: string): void;
  /** done, or failed with `error`; `at`: when it ended (ms since the epoch; default now) */
  end(error?: unknown, at?: number): void;
}

/** The command line a container's health check execs show in the engine's events. */
function healthCommand(c: ContainerInspect): string | undefined {
  const test = (c.Config.Healthcheck as { Test?: string[] } | undefined)?.Test;
  if (!test?.length || test[0] === 'NONE') return undefined;
  return test[0] === 'CMD-SHELL' ? test.slice(1).join(' ') : test[0] === 'CMD' ? test.slice(1).join(' ') : test.join(' ');
}

/** The change an engine event makes to a container's row, as far as the event itself tells. */
function eventPatch(e: EngineEvent): Partial<ContainerView> | undefined {
  switch (e.Action) {
    case 'start':
    case 'unpause':
    case 'restart':
      return { state: 'running', exitCode: undefined };
    case 'pause':
      return { state: 'paused' };
    case 'die':
      return { state: 'exited', exitCode: e.Actor.Attributes.exitCode !== undefined ? Number(e.Actor.Attributes.exitCode) : undefined };
    default: {
      const h = /^health_status: (\w+)/.exec(e.Action.trim());
      return h ? { health: h[1] } : undefined;
    }
  }
}

export function progressLine(e: ProgressEvent): string {
  if (e.type === 'warning') return `warning: ${e.message}`;
  if (e.type === 'resource') return `${e.kind} ${e.name} ${e.action}${e.detail ? ` (${e.detail})` : ''}`;
  return `${e.name} ${e.action}${e.detail ? ` (${e.detail})` : ''}`;
}

/** A container row from the engine's inspection. */
export function containerView(c: ContainerInspect): ContainerView {
  const labels = c.Config.Labels ?? {};
  const st = c.State;
  const health = st.Health?.Status && st.Health.Status !== 'none' ? st.Health.Status : undefined;
  const lastCheck = st.Health?.Log?.at(-1);
  const ports: ContainerView['ports'] = [];
  for (const [key, binds] of Object.entries(c.NetworkSettings.Ports ?? {})) {
    const [port, protocol] = key.split('/');
    const seen = new Set<string>();
    for (const b of binds ?? [{ HostIp: '', HostPort: '' }]) {
      if (seen.has(b.HostPort)) continue;
      seen.add(b.HostPort);
      ports.push({ target: Number(port), protocol: protocol ?? 'tcp', hostIp: b.HostIp, published: b.HostPort ? Number(b.HostPort) : undefined });
    }
  }
  return {
    id: c.Id,
    name: c.Name.replace(/^\//, ''),
    service: labels[LABEL.service] ?? '',
    number: Number(labels[LABEL.number] ?? 0),
    oneoff: labels[LABEL.oneoff] === 'True',
    state: st.Status,
    health,
    healthOutput: health === 'unhealthy' || (lastCheck && lastCheck.ExitCode !== 0) ? lastCheck?.Output.trim().slice(-2000) : undefined,
    exitCode: st.Status === 'exited' || st.Status === 'dead' ? st.ExitCode : undefined,
    restarts: (c as unknown as { RestartCount?: number }).RestartCount ?? 0,
    startedAt: st.StartedAt,
    finishedAt: st.FinishedAt,
    image: c.Config.Image,
    imageId: c.Image,
    ports: ports.sort((a, b) => a.target - b.target),
    error: st.Error || undefined,
  };
}
