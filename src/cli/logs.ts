/** `dockyard logs`, and the log streaming shared with attached `up` and `run`. */
import type { Command } from 'commander';
import type { Engine } from '../engine/engine.js';
import { projectContainers } from '../converge/state.js';
import type { ProjectContainer } from '../converge/state.js';
import { DockyardError } from '../errors.js';
import { parseDuration } from '../load/units.js';
import type { GlobalOptions } from './common.js';
import { context } from './common.js';
import { prefixer } from './render.js';
import { LABEL } from '../model/names.js';

export interface FollowOptions {
  follow?: boolean;
  tail?: number | 'all';
  since?: number;
  timestamps?: boolean;
  prefix?: boolean;
  /** where the containers' stderr goes: stdout (logs, up) or stderr (run) */
  stderrTo?: 'stdout' | 'stderr';
  /** with follow: also follow the project's containers (of these services) that start meanwhile */
  watch?: { project: string; services?: string[] };
}

/**
 * Streams the logs of containers to stdout, each line prefixed with the container's name.
 * With follow, returns when every container has stopped, with their exit codes; a container
 * that its restart policy brings back is followed into its next run (`onRestart` is told).
 */
export async function followLogs(
  engine: Engine,
  cs: ProjectContainer[],
  o: FollowOptions,
  onExit?: (c: ProjectContainer, code: number) => void,
  onRestart?: (c: ProjectContainer, code: number) => void,
): Promise<Map<string, number>> {
  let width = Math.max(0, ...cs.map((c) => c.name.length));
  const services = [...new Set(cs.map((c) => c.service))];
  const exits = new Map<string, number>();
  /** fromStart: only the output of the container's current run */
  const follow = async (c: ProjectContainer, fromStart = false) => {
    const info = await engine.inspectContainer(c.id);
    const tty = info?.Config.Tty ?? false;
    let since = fromStart && info ? Date.parse(info.State.StartedAt) / 1000 - 0.001 : o.since;
    let tail = fromStart ? 'all' : o.tail;
    if (!services.includes(c.service)) services.push(c.service);
    width = Math.max(width, c.name.length);
    // one prefixer per stream: each keeps its own partial last line
    const p = o.prefix === false ? (b: Buffer | string) => b.toString() : prefixer(width, c.name, services.indexOf(c.service));
    const pe = o.prefix === false ? (b: Buffer | string) => b.toString() : prefixer(width, c.name, services.indexOf(c.service));
    let run = info?.State.StartedAt;
    for (;;) {
      const logs = await engine.containerLogs(c.id, { follow: o.follow, tail, since, timestamps: o.timestamps }, tty);
      logs.stdout.on('data', (b: Buffer) => process.stdout.write(p(b)));
      logs.stderr.on('data', (b: Buffer) => (o.stderrTo === 'stderr' ? process.stderr : process.stdout).write(pe(b)));
      await logs.done;
      if (!o.follow) return;
      const end = await afterRun(engine, c.id, run);
      if (end.next === undefined) {
        exits.set(c.id, end.code);
        onExit?.(c, end.code);
        return;
      }
      onRestart?.(c, end.code);
      // the next run's output only (what came before was shown)
      run = end.next;
      since = end.finished ? Math.floor(Date.parse(end.finished)) / 1000 + 0.001 : Date.parse(end.next) / 1000;
      tail = 'all';
    }
  };
  const followed = new Set(cs.map((c) => c.id));
  const tasks = cs.map((c) => follow(c));
  // containers of the project that start meanwhile (recreated by an `up` elsewhere, scaled up)
  const watch = o.follow ? o.watch : undefined;
  const sub = watch
    ? await engine.events({ type: ['container'], event: ['start'], label: [`${LABEL.project}=${watch.project}`, `${LABEL.oneoff}=False`] }, (e) => {
        const service = e.Actor.Attributes[LABEL.service] ?? '';
        if (followed.has(e.Actor.ID) || (watch.services && !watch.services.includes(service))) return;
        followed.add(e.Actor.ID);
        const name = e.Actor.Attributes.name ?? e.Actor.ID.slice(0, 12);
        const c = { id: e.Actor.ID, name, service, number: Number(e.Actor.Attributes[LABEL.number] ?? 0) } as ProjectContainer;
        tasks.push(follow(c, true));
      })
    : undefined;
  try {
    for (;;) {
      const n = tasks.length;
      await Promise.all(tasks);
      if (!sub) break;
      // everything followed has stopped: a recreation starts its new container a moment later
      await new Promise((r) => setTimeout(r, WATCH_GRACE_MS));
      if (tasks.length === n) break;
    }
  } finally {
    sub?.close();
  }
  return exits;
}

/** How long `logs -f` waits, once all it follows has stopped, for a container to start. */
const WATCH_GRACE_MS = 2000;

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
  if (ns !== undefined) return Math.floor((Date.now() - ns / 1e6) / 1000);
  const t = Date.parse(v);
  if (!Number.isNaN(t)) return Math.floor(t / 1000);
  throw new DockyardError('USAGE', `invalid --since "${v}"`, { hint: 'write a duration (10m, 1h) or a date (2024-01-02T15:04:05Z)' });
}

export function registerLogs(program: Command, globals: () => GlobalOptions): void {
  program
    .command('logs')
    .description('show the output of containers')
    .argument('[services...]', 'services (default: all)')
    .option('-f, --follow', 'follow the output')
    .option('-n, --tail <lines>', 'lines from the end of each log ("all" for everything)', 'all')
    .option('--since <when>', 'only since a time (2024-01-02T15:04:05Z) or a duration ago (10m)')
    .option('-t, --timestamps', 'show timestamps')
    .option('--no-log-prefix', 'do not prefix lines with the container name')
    .option('--index <n>', 'the replica number of the service')
    .action(async (names: string[], o: { follow?: boolean; tail: string; since?: string; timestamps?: boolean; logPrefix: boolean; index?: string }) => {
      const { project, engine, converger } = await context(globals(), true);
      if (names.length) converger.targets(names, true);
      await converger.ensureEngine();
      let cs = await projectContainers(engine, project.name, { services: names.length ? names : undefined });
      if (o.index) cs = cs.filter((c) => c.number === Number(o.index));
      const tail = o.tail === 'all' ? 'all' : Number(o.tail);
      if (tail !== 'all' && !Number.isInteger(tail)) throw new DockyardError('USAGE', `invalid --tail "${o.tail}"`, { hint: 'a number of lines, or all' });
      const watch = o.index ? undefined : { project: project.name, services: names.length ? names : undefined };
      await followLogs(engine, cs, { follow: o.follow, tail, since: o.since ? parseSince(o.since) : undefined, timestamps: o.timestamps, prefix: o.logPrefix, watch });
    });
}
