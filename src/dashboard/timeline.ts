/**
 * The startup timeline of a stack the dashboard did not start (another terminal, `docker compose`,
 * a lease), put together from what the engine keeps about each container: when it was created, when
 * it last started, when it exited, and its health log — from which the moment it turned healthy is
 * read, if the log still holds it (the engine keeps the last 5 checks only). The project's
 * depends_on gives the edges of the critical path. Nothing is guessed: what the engine no longer
 * has is left out of the picture and said in a note.
 */
import type { ContainerInspect } from '../engine/engine.js';
import type { Timeline, TimelineEntry } from '../converge/events.js';
import { buildTimeline } from '../converge/up.js';
import { LABEL } from '../model/names.js';

/** What the engine says about one container's run, times in ms since the epoch. */
export interface ContainerTiming {
  service: string;
  name: string;
  created: number;
  /** its last start (undefined: never started) */
  startedAt?: number;
  /** when it last exited, if it is not running */
  finishedAt?: number;
  state: string;
  health?: {
    status: string;
    /** the check's interval (the first check runs one interval after the start) */
    intervalMs: number;
    log: Array<{ start: number; end: number; exitCode: number }>;
  };
}

export interface EngineTimeline {
  timeline: Timeline;
  /** what the picture leaves out, and why (relative times: ms from the first creation) */
  notes: string[];
}

/** How many health checks the engine keeps per container (moby's maxLogEntries). */
export const HEALTH_LOG_KEPT = 5;
/** The engine's default health check interval. */
const DEFAULT_INTERVAL_MS = 30_000;

/** The engine's time as ms since the epoch; its zero time (0001-01-01) and garbage as undefined. */
export function engineTime(s: string | undefined): number | undefined {
  if (!s) return undefined;
  const t = Date.parse(s);
  return Number.isNaN(t) || t <= 0 ? undefined : t;
}

/** A container's timing from its inspection; undefined for one-off containers (not part of a startup). */
export function timingOf(c: ContainerInspect): ContainerTiming | undefined {
  const labels = c.Config.Labels ?? {};
  if (labels[LABEL.oneoff] === 'True') return undefined;
  const created = engineTime(c.Created);
  if (created === undefined) return undefined;
  const st = c.State;
  const startedAt = engineTime(st.StartedAt);
  const finished = engineTime(st.FinishedAt);
  const hc = c.Config.Healthcheck as { Test?: string[]; Interval?: number } | undefined;
  const h = st.Health;
  const health =
    h && h.Status && h.Status !== 'none'
      ? {
          status: h.Status,
          intervalMs: hc?.Interval ? hc.Interval / 1e6 : DEFAULT_INTERVAL_MS,
          log: (h.Log ?? []).flatMap((l) => {
            const [start, end] = [engineTime(l.Start), engineTime(l.End)];
            return start !== undefined && end !== undefined ? [{ start, end, exitCode: l.ExitCode }] : [];
          }),
        }
      : undefined;
  return {
    service: labels[LABEL.service] ?? '',
    name: c.Name.replace(/^\//, ''),
    created,
    startedAt,
    finishedAt: !st.Running && finished !== undefined && startedAt !== undefined && finished >= startedAt ? finished : undefined,
    state: st.Status,
    health,
  };
}

/**
 * When a health-checked container first turned healthy in its current run: the end of the first
 * successful check, known only while the log still holds every check since the start (fewer than
 * 5 entries, or the oldest is the first check, one interval after the start). `rolledOut` when it
 * is healthy but the moment has gone from the log (`by`: the oldest success kept, an upper bound).
 */
export function healthyAt(t: ContainerTiming): { at?: number; rolledOut?: { by?: number } } {
  const h = t.health;
  if (!h || t.startedAt === undefined) return {};
  const since = h.log.filter((l) => l.start >= t.startedAt! - 1000).sort((a, b) => a.start - b.start);
  const first = since[0];
  const complete = since.length < HEALTH_LOG_KEPT || (first !== undefined && first.start - t.startedAt <= h.intervalMs * 1.5 + 1000);
  const ok = since.find((l) => l.exitCode === 0);
  if (complete && ok) return { at: ok.end };
  if (h.status === 'healthy') return { rolledOut: { by: ok?.end } };
  return {};
}

const secs = (ms: number) => `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;

/** One service's entry from its containers' timings (times relative to t0), and its notes. */
function serviceEntry(service: string, cs: ContainerTiming[], t0: number, deps: string[]): { entry: TimelineEntry; notes: string[] } {
  const notes: string[] = [];
  const rel = (t: number) => t - t0;
  const created = Math.min(...cs.map((c) => c.created));
  const entry: TimelineEntry = { service, queued: rel(created), created: rel(created), deps };
  const starts = cs.map((c) => c.startedAt);
  if (starts.every((s) => s !== undefined)) entry.started = rel(Math.max(...(starts as number[])));
  else notes.push(`${service}: ${cs.filter((c) => c.startedAt === undefined).map((c) => c.name).join(', ')} never started`);
  if (entry.started === undefined) return { entry, notes };
  if (cs.every((c) => c.finishedAt !== undefined)) {
    entry.exited = rel(Math.max(...cs.map((c) => c.finishedAt!)));
    return { entry, notes };
  }
  const ready: number[] = [];
  for (const c of cs) {
    if (c.finishedAt !== undefined) continue;
    if (!c.health) {
      ready.push(c.startedAt!);
      continue;
    }
    const h = healthyAt(c);
    if (h.at !== undefined) ready.push(h.at);
    else if (h.rolledOut) notes.push(`${c.name}: healthy${h.rolledOut.by !== undefined ? ` by ${secs(rel(h.rolledOut.by))}` : ''}; when it turned healthy has rolled out of the engine's health log (it keeps the last ${HEALTH_LOG_KEPT} checks): its bar ends at its start`);
    else notes.push(`${c.name}: ${c.health.status === 'unhealthy' ? 'unhealthy' : 'not healthy yet'}`);
  }
  if (ready.length === cs.filter((c) => c.finishedAt === undefined).length) entry.ready = rel(Math.max(...ready));
  return { entry, notes };
}

/**
 * The startup timeline of the containers as the engine has them, with its critical path along the
 * project's depends_on edges (dependsOn: service → the services it depends on). A service that
 * exited after the others were up (stopped since, or crashed) is drawn to its start and named in a
 * note: its exit is not part of the startup. Undefined when there is no container.
 */
export function reconstructTimeline(timings: ContainerTiming[], dependsOn: Record<string, string[]>): EngineTimeline | undefined {
  if (!timings.length) return undefined;
  const t0 = Math.min(...timings.map((c) => c.created));
  const byService = new Map<string, ContainerTiming[]>();
  for (const c of timings) byService.set(c.service, [...(byService.get(c.service) ?? []), c]);
  const notes: string[] = [];
  const entries: TimelineEntry[] = [];
  for (const [service, cs] of byService) {
    const deps = (dependsOn[service] ?? []).filter((d) => byService.has(d));
    const r = serviceEntry(service, cs, t0, deps);
    entries.push(r.entry);
    notes.push(...r.notes);
  }
  // the startup ends when the last service still running was up: a later exit is not part of it
  const up = entries.filter((e) => e.exited === undefined && e.started !== undefined).map((e) => e.ready ?? e.started!);
  const end = up.length ? Math.max(...up) : undefined;
  for (const e of entries) {
    if (end === undefined || e.exited === undefined || e.exited <= end) continue;
    notes.push(`${e.service}: exited at ${secs(e.exited)}, after the others were up (not part of the startup)`);
    e.exited = undefined;
  }
  entries.sort((a, b) => (a.started ?? a.queued) - (b.started ?? b.queued) || a.service.localeCompare(b.service));
  return { timeline: buildTimeline(t0, entries), notes };
}
