// Shared helpers for the side-by-side benchmarks: timing whole commands, medians, tables.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
// the command as npm installs it (bin/dockyard starts Node on bin/dockyard.cjs)
export const DOCKYARD = [join(ROOT, 'bin', 'dockyard')];
export const COMPOSE_V1 = ['docker-compose'];
const TIME = '/usr/bin/time';

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
  return { seconds, rssMb, stdout: r.stdout, status: r.status };
}

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** Runs `fn` n times and returns the median seconds and the max RSS. */
export function measure(n, fn) {
  const times = [];
  let rss = 0;
  for (let i = 0; i < n; i++) {
    const r = fn(i);
    times.push(r.seconds);
    rss = Math.max(rss, r.rssMb ?? 0);
  }
  return { seconds: median(times), rssMb: rss || undefined, runs: n };
}

const rows = [];
/** Records one side-by-side line: ours vs baseline, and the target ratio. */
export function report(name, ours, base, target, baseName = 'docker-compose v1') {
  const ratio = ours.seconds / base.seconds;
  rows.push({ name, ours, base, ratio, target });
  const ok = target === undefined ? '' : ratio <= target ? '  ok' : '  MISSED';
  console.log(
    `${name.padEnd(50)} dockyard ${fmt(ours.seconds)}${ours.rssMb ? ` ${ours.rssMb.toFixed(0)}MB` : ''}   ${baseName} ${fmt(base.seconds)}${base.rssMb ? ` ${base.rssMb.toFixed(0)}MB` : ''}   ratio ${ratio.toFixed(2)}x${target !== undefined ? ` (target <= ${+target.toFixed(2)}x)` : ''}${ok}`,
  );
}

export function line(text) {
  console.log(text);
}

export function fmt(s) {
  return s < 1 ? `${(s * 1000).toFixed(0)}ms`.padStart(7) : `${s.toFixed(2)}s`.padStart(7);
}

export function summary() {
  const missed = rows.filter((r) => r.target !== undefined && r.ratio > r.target);
  console.log(`\n${rows.length} comparisons, ${missed.length} missed their target`);
  return missed.length;
}
