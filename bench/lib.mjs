// Shared helpers for the benchmarks: timing whole commands, interleaved side-by-side runs with a
// warm-up of each side, medians, and the figures every bench records (bench/run.mjs writes them
// to bench/results.json, scripts/readme-figures.mjs puts them in README.md).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
// the command as npm installs it (bin/dockyard starts Node on bin/dockyard.cjs)
export const DOCKYARD = [join(ROOT, 'bin', 'dockyard')];
export const COMPOSE_V1 = ['docker-compose'];
const TIME = '/usr/bin/time';

/** BENCH_QUICK=1: fewer repetitions, to check that a bench works (its figures are not reported). */
export const QUICK = process.env.BENCH_QUICK === '1';
/** Counted runs of each side (a warm-up of each side comes first and is not counted): at least 5. */
export const RUNS = QUICK ? 2 : Math.max(5, Number(process.env.BENCH_RUNS ?? 5));

export function tmpDir(name) {
  const d = join(ROOT, '.bench-tmp', name);
  rmSync(d, { recursive: true, force: true });
  mkdirSync(d, { recursive: true });
  return d;
}

/** Runs a command once; returns wall seconds and peak RSS (MB) of the child. */
export function run(cmd, args, opts = {}) {
  const useTime = existsSync(TIME);
  const argv = useTime ? [TIME, '-f', '__TIME__ %e %M', ...cmd, ...args] : [...cmd, ...args];
  const t0 = process.hrtime.bigint();
  const r = spawnSync(argv[0], argv.slice(1), { cwd: opts.cwd, env: { ...process.env, ...opts.env }, encoding: 'utf8', maxBuffer: 512 * 1024 * 1024 });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  let rssMb;
  const m = /__TIME__ [\d.]+ (\d+)/.exec(r.stderr ?? '');
  if (m) rssMb = Number(m[1]) / 1024;
  if (r.status !== 0 && !opts.allowFail) {
    throw new Error(`${[...cmd, ...args].join(' ')} failed (${r.status}):\n${(r.stderr ?? '').replace(/__TIME__.*\n?/, '').slice(-2000)}`);
  }
  return { seconds, rssMb, stdout: r.stdout, stderr: r.stderr, status: r.status };
}

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const k = s.length >> 1;
  return s.length % 2 ? s[k] : (s[k - 1] + s[k]) / 2;
}

/** Samples of one measure (numbers or { seconds, rssMb }) -> { seconds: median, rssMb: max, runs, samples }. */
function summarize(samples) {
  const secs = samples.map((s) => (typeof s === 'number' ? s : s.seconds));
  const rss = Math.max(0, ...samples.map((s) => (typeof s === 'number' ? 0 : (s.rssMb ?? 0))));
  return { seconds: median(secs), rssMb: rss || undefined, runs: secs.length, samples: secs };
}

const isMeasure = (x) => typeof x === 'number' || (x && typeof x.seconds === 'number');

/**
 * Side-by-side runs: each side once first, not counted (warm-up: file cache, images, the engine's
 * own caches), then `runs` rounds, each running every side once, the order rotating from round to
 * round so no side always goes first (ours, base, ours, base...: the machine's drift weighs on all
 * alike). A side is `async (round) => measure`, where round is -1 for its warm-up and a measure is
 * seconds, { seconds, rssMb }, or an object of named measures (one run timing several steps).
 * Returns, per side, the median of each measure ({ seconds, rssMb, runs, samples }).
 */
export async function sideBySide(sides, { runs = RUNS, warm = true } = {}) {
  const names = Object.keys(sides);
  const samples = Object.fromEntries(names.map((n) => [n, []]));
  if (warm) for (const n of names) await sides[n](-1);
  for (let i = 0; i < runs; i++) {
    for (let k = 0; k < names.length; k++) {
      const n = names[(k + i) % names.length];
      samples[n].push(await sides[n](i));
    }
  }
  const out = {};
  for (const n of names) {
    const xs = samples[n];
    if (isMeasure(xs[0])) out[n] = summarize(xs);
    else out[n] = Object.fromEntries(Object.keys(xs[0]).map((key) => [key, summarize(xs.map((x) => x[key]))]));
  }
  return out;
}

/** One side alone, warmed up once, median of `runs` (for figures with no baseline). */
export async function repeat(fn, opts) {
  return (await sideBySide({ only: fn }, opts)).only;
}

// ---- figures ----------------------------------------------------------------------------------

const figures = [];
const notes = [];

/**
 * Records one figure. `value` in `unit` ('s', 'ms', 'x', 'MB', 'MB/s', '%', 'count');
 * `baseline` (docker-compose v1) and `floor` (the engine's raw API doing the same work) in the same
 * unit where there are; `mark`, the pass mark: { max } or { min } on the value, or
 * { max, of: 'baseline' | 'floor' } on the ratio value / baseline (or floor). `baselineName`: the
 * baseline when it is not docker-compose v1 (the Swarm bench's is `docker stack`).
 */
export function figure({ id, name, value, unit, mark, baseline, baselineName, floor, runs, detail, samples }) {
  // samples: each side's counted runs, in seconds ({ dockyard: [...], baseline: [...], floor: [...] })
  const round = (xs) => xs?.map((x) => (Number.isFinite(x) ? +x.toPrecision(4) : null));
  const f = { id, name, value, unit, runs, baseline, baselineName, floor, mark, detail, samples: samples && Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, round(v)])) };
  f.ok = passes(f);
  figures.push(f);
  const side = (label, v) => (v === undefined ? '' : `   ${label} ${formatValue(v, unit)}`);
  const ratio = mark?.of ? `   ratio ${(value / (mark.of === 'floor' ? floor : baseline)).toFixed(2)}x` : '';
  console.log(
    `${name.padEnd(52)} dockyard ${formatValue(value, unit)}${side(baselineName ?? 'docker-compose v1', baseline)}${side('engine floor', floor)}${ratio}` +
      `${mark ? `   (pass mark ${formatMark(mark, unit, baselineName)})${f.ok ? '  ok' : '  MISSED'}` : ''}${detail ? `\n    ${detail}` : ''}`,
  );
  return f;
}

/** A line of context printed with the figures and kept in the results (not a figure). */
export function note(text) {
  notes.push(text);
  console.log(`  ${text}`);
}

export function passes(f) {
  const { mark, value } = f;
  if (!mark) return undefined;
  if (typeof value !== 'number' || Number.isNaN(value)) return false;
  const against = mark.of === 'floor' ? f.floor : mark.of === 'baseline' ? f.baseline : undefined;
  const v = mark.of ? value / against : value;
  if (mark.of && !(against > 0)) return false;
  return (mark.max === undefined || v <= mark.max) && (mark.min === undefined || v >= mark.min);
}

export function formatValue(v, unit) {
  if (typeof v !== 'number' || Number.isNaN(v)) return 'n/a';
  switch (unit) {
    case 's':
      return `${v < 10 ? v.toFixed(2) : v.toFixed(1)} s`;
    case 'ms':
      return `${v.toFixed(0)} ms`;
    case 'x':
      return `${v.toFixed(2)}x`;
    case '%':
      return `${v.toFixed(1)}%`;
    case 'MB':
    case 'MB/s':
      return `${v.toFixed(0)} ${unit}`;
    default:
      return `${+v.toFixed(2)}`;
  }
}

export function formatMark(mark, unit, baselineName = 'docker-compose v1') {
  const op = mark.max !== undefined ? '≤' : '≥';
  const n = mark.max ?? mark.min;
  if (mark.of) return `${op} ${+n.toFixed(2)}x ${mark.of === 'floor' ? 'engine floor' : baselineName}`;
  const num = +n.toPrecision(3);
  return `${op} ${unit === 'count' ? num : unit === '%' || unit === 'x' ? `${num}${unit}` : `${num} ${unit}`}`;
}

export function line(text) {
  console.log(text);
}

export function fmt(s) {
  return s < 1 ? `${(s * 1000).toFixed(0)}ms`.padStart(7) : `${s.toFixed(2)}s`.padStart(7);
}

export function results() {
  return { figures, notes };
}
