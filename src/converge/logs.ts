/**
 * Container output as typed items, shared by `logs`, attached `up`, `run` and the library's
 * `logs()`: each line with its container, stream and time; with follow, what became of each run
 * (exited, or brought back by its restart policy), and the project's containers that start
 * meanwhile.
 */
import type { Engine, EventSubscription } from '../engine/engine.js';
import { LABEL } from '../model/names.js';
import { DockyardError } from '../errors.js';
import { parseDuration } from '../load/units.js';
import { AsyncQueue } from './queue.js';
import { projectContainers, type ProjectContainer } from './state.js';

export interface LogLine {
  kind: 'line';
  service: string;
  /** the container's name */
  container: string;
  number: number;
  stream: 'stdout' | 'stderr';
  /** the text, without its line ending */
  line: string;
  /** when the engine received it */
  time?: Date;
}

export type LogItem =
  | LogLine
  /** a followed container started being followed (one that started meanwhile, too) */
  | { kind: 'follow'; container: ProjectContainer }
  /** a followed container's run ended and it stays stopped */
  | { kind: 'exit'; container: ProjectContainer; code: number }
  /** a followed container's run ended and its restart policy brought it back */
  | { kind: 'restart'; container: ProjectContainer; code: number };

export interface LogStreamOptions {
  follow?: boolean;
  tail?: number | 'all';
  /** unix seconds */
  since?: number;
  /** unix seconds: output up to then */
  until?: number;
  /** with follow: also follow the project's containers (of these services) that start meanwhile */
  watch?: { project: string; services?: string[]; graceMs?: number };
  /** stops following (the iteration then ends) */
  signal?: AbortSignal;
}

/** How long `logs -f` waits, once all it follows has stopped, for a container to start (a recreation). */
const WATCH_GRACE_MS = 2000;
/** ...and at most, for a container already created to start. */
const PENDING_MAX_MS = 60_000;

/** Splits chunks into lines; `flush` gives back a last line without its newline. */
function lineSplitter(): { push(chunk: Buffer): string[]; flush(): string[] } {
  let rest = '';
  return {
    push(chunk) {
      const lines = (rest + chunk.toString('utf8')).split('\n');
      rest = lines.pop() ?? '';
      return lines;
    },
    flush() {
      const r = rest;
      rest = '';
      return r ? [r] : [];
    },
  };
}

/** "2024-01-02T15:04:05.123456789Z text" (the engine's timestamps) into time and text. */
function splitTime(raw: string): { time?: Date; line: string } {
  const sp = raw.indexOf(' ');
  if (sp > 19 && /^\d{4}-\d\d-\d\dT/.test(raw)) {
    const t = new Date(raw.slice(0, sp));
    if (!Number.isNaN(t.getTime())) return { time: t, line: raw.slice(sp + 1).replace(/\r$/, '') };
  }
  return { line: raw.replace(/\r$/, '') };
}

export function streamLogs(engine: Engine, cs: ProjectContainer[], o: LogStreamOptions = {}): AsyncQueue<LogItem> {
  const stream = new LogStream(engine, o);
  void stream.drive(cs);
  return stream.q;
}

/** One `logs` (or attached `up`): the containers followed, and those that start meanwhile. */
class LogStream {
  readonly q = new AsyncQueue<LogItem>();
  private readonly closers = new Set<() => void>();
  private stopped = false;
  private readonly followed = new Set<string>();
  private readonly tasks: Promise<void>[] = [];
  /** created but not started yet (a recreation creates the new one before it stops the old one) */
  private readonly pending = new Set<string>();

  constructor(
    private readonly engine: Engine,
    private readonly o: LogStreamOptions,
  ) {
    this.q.onStop = () => {
      this.stopped = true;
      for (const c of this.closers) c();
    };
    o.signal?.addEventListener('abort', () => this.q.close(), { once: true });
  }

  private add(c: ProjectContainer, fromStart = false): void {
    this.followed.add(c.id);
    this.tasks.push(this.follow(c, fromStart));
  }

  /** A container's output, run after run while its restart policy brings it back; fromStart: its current run's only. */
  private async follow(c: ProjectContainer, fromStart = false): Promise<void> {
    const { engine, o, q } = this;
    q.push({ kind: 'follow', container: c });
    const info = await engine.inspectContainer(c.id);
    const tty = info?.Config.Tty ?? false;
    let since = fromStart && info ? Date.parse(info.State.StartedAt) / 1000 - 0.001 : o.since;
    let tail = fromStart ? 'all' : o.tail;
    let run = info?.State.StartedAt;
    for (;;) {
      if (this.stopped) return;
      const logs = await engine.containerLogs(c.id, { follow: o.follow, tail, since, until: o.until, timestamps: true }, tty);
      this.closers.add(logs.close);
      const ended: Promise<void>[] = [];
      for (const [stream, readable] of [['stdout', logs.stdout], ['stderr', logs.stderr]] as const) {
        const split = lineSplitter();
        const emit = (raw: string) => q.push({ kind: 'line', service: c.service, container: c.name, number: c.number, stream, ...splitTime(raw) });
        readable.on('data', (b: Buffer) => split.push(b).forEach(emit));
        ended.push(new Promise<void>((r) => readable.on('end', () => r(split.flush().forEach(emit))).on('close', () => r())));
      }
      await logs.done;
      // every line is out before what became of the run
      await Promise.all(ended);
      this.closers.delete(logs.close);
      if (!o.follow || this.stopped) return;
      const end = await afterRun(engine, c.id, run);
      if (end.next === undefined) return void q.push({ kind: 'exit', container: c, code: end.code });
      q.push({ kind: 'restart', container: c, code: end.code });
      // the next run's output only (what came before was shown)
      run = end.next;
      since = end.finished ? Math.floor(Date.parse(end.finished)) / 1000 + 0.001 : Date.parse(end.next) / 1000;
      tail = 'all';
    }
  }

  /** Containers of the project that start meanwhile (recreated by an `up` elsewhere, scaled up) are followed too. */
  private async watchNew(watch: NonNullable<LogStreamOptions['watch']>): Promise<EventSubscription> {
    const sub = await this.engine.events(
      { type: ['container'], event: ['create', 'start', 'destroy'], label: [`${LABEL.project}=${watch.project}`, `${LABEL.oneoff}=False`] },
      (e) => {
        const service = e.Actor.Attributes[LABEL.service] ?? '';
        if (this.stopped || (watch.services && !watch.services.includes(service))) return;
        if (e.Action === 'create') this.pending.add(e.Actor.ID);
        if (e.Action === 'destroy') this.pending.delete(e.Actor.ID);
        if (e.Action !== 'start') return;
        this.pending.delete(e.Actor.ID);
        if (this.followed.has(e.Actor.ID)) return;
        const name = e.Actor.Attributes.name ?? e.Actor.ID.slice(0, 12);
        this.add({ id: e.Actor.ID, name, service, number: Number(e.Actor.Attributes[LABEL.number] ?? 0) } as ProjectContainer, true);
      },
      (err) => err && this.q.close(err),
    );
    this.closers.add(() => sub.close());
    // what started (or was created) between the caller's listing and the subscription: the
    // events above cannot tell of it, the engine's list can
    if (this.stopped) return sub;
    for (const c of await projectContainers(this.engine, watch.project, { oneoff: false, services: watch.services })) {
      if (this.followed.has(c.id)) continue;
      if (c.state === 'created') this.pending.add(c.id);
      else if (c.state === 'running') this.add(c, true);
    }
    return sub;
  }

  /** Follows until everything followed has stopped (and, watching, nothing new started within the grace). */
  async drive(cs: ProjectContainer[]): Promise<void> {
    for (const c of cs) this.add(c);
    const watch = this.o.follow ? this.o.watch : undefined;
    let sub: EventSubscription | undefined;
    try {
      if (watch) sub = await this.watchNew(watch);
      for (;;) {
        const n = this.tasks.length;
        await Promise.all(this.tasks);
        if (!sub || this.stopped) break;
        // everything followed has stopped: a recreation starts its new container a moment later
        const until = Date.now() + PENDING_MAX_MS;
        await new Promise((r) => setTimeout(r, watch?.graceMs ?? WATCH_GRACE_MS));
        while (this.pending.size && this.tasks.length === n && !this.stopped && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
        if (this.tasks.length === n) break;
      }
      this.q.close();
    } catch (e) {
      this.q.close(e);
    } finally {
      sub?.close();
    }
  }
}

/**
 * What became of a container whose run (started at `run`) ended its output: its exit code, and
 * when its restart policy brought it back, the start of its next run and when the ended run
 * finished (the output after that is the next runs': a run shorter than a look is not lost).
 * (The engine's wait would sleep through a restart: a restarting container counts as running.)
 */
async function afterRun(engine: Engine, id: string, run: string | undefined): Promise<{ code: number; next?: string; finished?: string }> {
  let code: number | undefined; // the run's exit code, once seen while the container restarts
  let finished: string | undefined;
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  for (let i = 0; ; i++) {
    const info = await engine.inspectContainer(id);
    if (!info) return { code: code ?? -1 };
    const s = info.State;
    if (s.StartedAt !== run && (s.Running || s.Restarting)) return { code: code ?? s.ExitCode, next: s.StartedAt, finished };
    if (s.Restarting) {
      code ??= s.ExitCode;
      finished ??= s.FinishedAt;
      await sleep(100); // the engine's restart delay starts at 100 ms and doubles
    } else if (!s.Running) return { code: code ?? s.ExitCode };
    // still this run: the output ended a moment before the engine recorded the exit
    else if (i > 250) return { code: await engine.waitContainer(id).catch(() => -1) };
    else await sleep(20);
  }
}

/** "10m", "1h30m" (relative), an RFC 3339 date, or unix seconds: as unix seconds. */
export function parseSince(v: string): number {
  if (/^\d+$/.test(v)) return Number(v);
  const ns = parseDuration(v);
  if (ns !== undefined) return (Date.now() - ns / 1e6) / 1000;
  const t = Date.parse(v);
  if (!Number.isNaN(t)) return t / 1000;
  throw new DockyardError('USAGE', `invalid --since "${v}"`, { hint: 'write a duration (10m, 1h) or a date (2024-01-02T15:04:05Z)' });
}

