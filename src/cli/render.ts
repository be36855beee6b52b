/** Rendering for the terminal: progress lines, prefixed logs, timelines (text Gantt and SVG). */
import type { ProgressEvent, Timeline } from '../converge/events.js';
import type { LogLine } from '../converge/logs.js';
import { colourFor, resolveAnsi, resolveProgress } from './colour.js';
import type { AnsiMode, ProgressMode } from './colour.js';

let ansiMode: AnsiMode | undefined;
let noColour = false;
/** --ansi (never, always, auto; else COMPOSE_ANSI): colours, and whether auto progress may be live. */
export function setAnsi(mode: AnsiMode): void {
  ansiMode = mode;
}
/** --no-color (logs, up): no colours at all. */
export function setColor(on: boolean): void {
  noColour = !on;
}
const ansi = (): AnsiMode => ansiMode ?? resolveAnsi(undefined, process.env);
/** Colours in what goes to stdout (log lines, lint findings): decided from stdout, not stderr. */
export const colourOut = (): boolean => !noColour && colourFor(process.stdout, ansi(), process.env);
/** Colours in what goes to stderr (progress, timelines). */
export const colourErr = (): boolean => !noColour && colourFor(process.stderr, ansi(), process.env);
const tty = colourErr;
const COLORS = [36, 33, 32, 35, 34, 91, 92, 93, 94, 95, 96];
/** A log prefix in its service's colour (log lines go to stdout). */
export const color = (i: number, s: string) => (colourOut() ? `\x1b[${COLORS[i % COLORS.length]}m${s}\x1b[0m` : s);
const dim = (s: string) => (tty() ? `\x1b[2m${s}\x1b[0m` : s);
const bold = (s: string) => (tty() ? `\x1b[1m${s}\x1b[0m` : s);
const green = (s: string) => (tty() ? `\x1b[32m${s}\x1b[0m` : s);

const WORDS: Record<string, string> = {
  creating: 'Creating',
  created: 'Created',
  recreating: 'Recreating',
  recreated: 'Recreated',
  starting: 'Starting',
  started: 'Started',
  running: 'Running',
  waiting: 'Waiting',
  healthy: 'Healthy',
  exited: 'Exited',
  stopping: 'Stopping',
  stopped: 'Stopped',
  killed: 'Killed',
  removing: 'Removing',
  removed: 'Removed',
  restarting: 'Restarting',
  restarted: 'Restarted',
  failed: 'Failed',
  pulling: 'Pulling',
  pulled: 'Pulled',
  pushing: 'Pushing',
  pushed: 'Pushed',
  building: 'Building',
  built: 'Built',
  exists: 'Current',
};
const FINAL = new Set(['created', 'recreated', 'started', 'running', 'healthy', 'exited', 'stopped', 'killed', 'removed', 'restarted', 'pulled', 'pushed', 'built', 'exists']);

/** The row an event belongs to ("Container shop-db-1", "Network shop_back") and its key. */
function rowOf(e: Exclude<ProgressEvent, { type: 'warning' }>): { key: string; label: string } {
  const kind = e.type === 'resource' ? e.kind : 'container';
  return { key: `${kind} ${e.name}`, label: `${kind[0]!.toUpperCase()}${kind.slice(1)} ${e.name}` };
}

export interface Progress {
  emit: (e: ProgressEvent) => void;
  /** draws the final state (on a TTY) and stops redrawing */
  finish: () => void;
}

/**
 * Progress on stderr. On a TTY: one live line per network, volume, image and container, redrawn
 * in place (spinner while working, ✔ and the time when done). Otherwise: one plain line per
 * finished step, for logs and CI.
 */
const live = new Set<Progress>();

/** Finishes every live progress block (before an error or a summary is printed). */
export function finishProgress(): void {
  for (const p of live) p.finish();
  live.clear();
}

let progressFlag: string | undefined;
/** --progress: auto (live on a terminal, else plain lines), tty, plain, json (a JSON object per event), quiet; else COMPOSE_PROGRESS. */
export function setProgress(mode: ProgressMode): void {
  progressFlag = mode;
}
/** The progress mode in effect: the flag or COMPOSE_PROGRESS, auto resolved against stderr. */
export function progressMode(): Exclude<ProgressMode, 'auto'> {
  return resolveProgress(progressFlag, process.env, ansi(), process.stderr);
}

export function progressPrinter(t0 = Date.now()): Progress {
  const mode = progressMode();
  if (mode === 'quiet') return { emit: (e) => (e.type === 'warning' ? void process.stderr.write(`warning: ${e.message}\n`) : undefined), finish: () => undefined };
  if (mode === 'json') return { emit: (e) => void process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), ...e })}\n`), finish: () => undefined };
  if (mode === 'plain') return plainProgress(t0);
  const p = liveProgress();
  live.add(p);
  return p;
}

function liveProgress(): Progress {
  const rows = new Map<string, { label: string; word: string; began: number; ended?: number; detail?: string }>();
  const warnings: string[] = [];
  let drawn = 0;
  let frame = 0;
  let timer: NodeJS.Timeout | undefined;
  const SPIN = '⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏';
  let finished = false;
  const after = plainProgress(Date.now());
  const draw = () => {
    frame++;
    const out: string[] = [];
    for (const w of warnings.splice(0)) out.push(`${bold('warning:')} ${w}`);
    const lines = [...rows.values()].map((r) => {
      const secs = (((r.ended ?? Date.now()) - r.began) / 1000).toFixed(1);
      const mark = r.ended !== undefined ? green('✔') : SPIN[frame % SPIN.length]!;
      return ` ${mark} ${r.label.padEnd(36)} ${r.word.padEnd(10)} ${dim(`${secs}s`)}${r.detail ? ` ${dim(r.detail)}` : ''}`;
    });
    // move up over the previous live block, print warnings above it, redraw the block
    let text = drawn ? `\x1b[${drawn}A\r` : '';
    for (const w of out) text += `\x1b[2K${w}\n`;
    for (const l of lines) text += `\x1b[2K${l}\n`;
    process.stderr.write(text);
    drawn = lines.length;
  };
  const schedule = () => {
    timer ??= setInterval(draw, 100);
    timer.unref();
  };
  return {
    emit: (e) => {
      // once finished, the block is left alone: later events print as plain lines below it
      if (finished) return after.emit(e);
      if (e.type === 'warning') {
        warnings.push(e.message);
        schedule();
        return;
      }
      const { key, label } = rowOf(e);
      const row = rows.get(key) ?? { label, word: '', began: Date.now() };
      if (!rows.has(key) || row.ended !== undefined) row.began = row.ended !== undefined && !FINAL.has(e.action) ? Date.now() : row.began;
      row.word = WORDS[e.action] ?? e.action;
      row.ended = FINAL.has(e.action) ? Date.now() : undefined;
      row.detail = e.detail;
      rows.set(key, row);
      schedule();
    },
    finish: () => {
      if (finished) return;
      finished = true;
      if (timer) clearInterval(timer);
      timer = undefined;
      if (rows.size || warnings.length) draw();
    },
  };
}

function plainProgress(t0: number): Progress {
  const began = new Map<string, number>();
  return {
    emit: (e) => {
      if (e.type === 'warning') {
        process.stderr.write(`warning: ${e.message}\n`);
        return;
      }
      const { key, label } = rowOf(e);
      if (!FINAL.has(e.action)) {
        // a step reports progress many times (a pull's bytes): it began at its first report
        if (!began.has(key)) began.set(key, Date.now());
        return;
      }
      const secs = ((Date.now() - (began.get(key) ?? t0)) / 1000).toFixed(1);
      began.delete(key);
      process.stderr.write(` ✔ ${label.padEnd(36)} ${(WORDS[e.action] ?? e.action).padEnd(10)} ${secs}s${e.detail ? ` ${e.detail}` : ''}\n`);
    },
    finish: () => undefined,
  };
}

/** One log line as printed: `name | text`, the name in its service's colour; -t adds the time. */
export function formatLine(l: LogLine, prefix?: { width: number; color: number }, timestamps = false): string {
  const time = timestamps && l.time ? `${l.time.toISOString()} ` : '';
  return `${prefix ? `${color(prefix.color, l.container.padEnd(prefix.width))} | ` : ''}${time}${l.line}\n`;
}

function fmtMs(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)}ms` : `${(ms / 1000).toFixed(2)}s`;
}

export function timelineSummary(t: Timeline): string {
  return `${bold('up')} in ${fmtMs(t.totalMs)}; critical path: ${t.criticalPath.services.join(' → ') || '(none)'} (${fmtMs(t.criticalPath.ms)})`;
}

/** The timeline as a Gantt chart: waiting (·), creating (░), starting to ready (█). */
export function timelineGantt(t: Timeline, width = 60): string {
  const total = Math.max(t.totalMs, 1);
  const col = (ms: number) => Math.min(width, Math.round((ms / total) * width));
  const nameW = Math.max(7, ...t.entries.map((e) => e.service.length));
  const lines = [`${'service'.padEnd(nameW)}  ${'0'.padEnd(width - fmtMs(total).length)}${fmtMs(total)}`];
  const crit = new Set(t.criticalPath.services);
  for (const e of [...t.entries].sort((a, b) => a.queued - b.queued || a.service.localeCompare(b.service))) {
    const bar = Array<string>(width).fill(' ');
    const q = col(e.queued);
    const c = col(e.starting ?? e.started ?? e.queued);
    const s = col(e.started ?? e.starting ?? e.queued);
    const r = col(e.ready ?? e.exited ?? e.started ?? e.queued);
    for (let i = q; i < c; i++) bar[i] = '·';
    for (let i = c; i < s; i++) bar[i] = '░';
    for (let i = s; i < Math.max(r, s + 1) && i < width; i++) bar[i] = '█';
    const milestones = [`start ${fmtMs(e.started ?? 0)}`, e.ready !== undefined ? `ready ${fmtMs(e.ready)}` : '', e.exited !== undefined ? `done ${fmtMs(e.exited)}` : ''].filter(Boolean).join(', ');
    lines.push(`${(crit.has(e.service) ? bold(e.service) : e.service).padEnd(nameW + (crit.has(e.service) && tty() ? 8 : 0))}  ${bar.join('')}  ${dim(milestones)}`);
  }
  lines.push(dim(`· created, waiting for dependencies   ░ engine starting it   █ started → ready      bold: critical path`));
  return lines.join('\n');
}

const esc = (s: string) => s.replace(/[<>&"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c]!);

/** The timeline as an SVG picture. */
export function timelineSvg(t: Timeline): string {
  const rowH = 26;
  const left = 140;
  const width = 760;
  const total = Math.max(t.totalMs, 1);
  const x = (ms: number) => left + (ms / total) * (width - left - 20);
  const entries = [...t.entries].sort((a, b) => a.queued - b.queued || a.service.localeCompare(b.service));
  const h = 50 + entries.length * rowH + 30;
  const crit = new Set(t.criticalPath.services);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${h}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="10" y="20" font-size="14" font-weight="bold">${esc(`up: ${fmtMs(t.totalMs)} — critical path ${t.criticalPath.services.join(' → ')}`)}</text>`,
  ];
  for (let i = 0; i <= 4; i++) {
    const ms = (total * i) / 4;
    parts.push(`<line x1="${x(ms)}" y1="30" x2="${x(ms)}" y2="${h - 30}" stroke="#ddd"/><text x="${x(ms)}" y="${h - 14}" text-anchor="middle" fill="#666">${fmtMs(ms)}</text>`);
  }
  entries.forEach((e, i) => {
    const y = 40 + i * rowH;
    const c = e.starting ?? e.started ?? e.queued;
    const s = e.started ?? c;
    const r = e.ready ?? e.exited ?? s;
    parts.push(`<text x="10" y="${y + 15}"${crit.has(e.service) ? ' font-weight="bold"' : ''}>${esc(e.service)}</text>`);
    parts.push(`<rect x="${x(e.queued)}" y="${y + 8}" width="${Math.max(0, x(c) - x(e.queued))}" height="4" fill="#bbb"><title>waiting for ${esc(e.deps.join(', ') || 'nothing')}</title></rect>`);
    parts.push(`<rect x="${x(c)}" y="${y + 4}" width="${Math.max(1, x(s) - x(c))}" height="12" fill="#9ecae1"><title>engine starting it</title></rect>`);
    parts.push(`<rect x="${x(s)}" y="${y + 4}" width="${Math.max(2, x(r) - x(s))}" height="12" fill="${crit.has(e.service) ? '#e6550d' : '#3182bd'}"><title>start → ${e.ready !== undefined ? 'ready' : e.exited !== undefined ? 'exited' : 'started'} ${fmtMs(r)}</title></rect>`);
  });
  parts.push('</svg>');
  return parts.join('\n');
}
