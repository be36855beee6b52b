// npm run bench: every benchmark in one run, side by side with docker-compose v1 (the baseline) and
// the engine's raw API (the floor) where there are; every figure with its pass mark. A full run
// writes bench/results.json (committed; scripts/readme-figures.mjs puts it in README.md).
//
//   node bench/run.mjs --readme    (npm run bench) then README.md from them (scripts/readme-figures.mjs)
//   node bench/run.mjs [NAME...]   only those benches (config, up, up30, chain, build, envs, watch,
//                                  lint, consolidate; dashboard, snapshots, swarm-nodes where their
//                                  files are there): written to bench/results.partial.json
//   BENCH_QUICK=1                  fewer repetitions, to check that a bench works (partial file too)
//   BENCH_RUNS=n                   counted runs of each side (at least 5; one warm-up each first)
//   BENCH_RESULTS=FILE             where to write the results instead
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { benchConfig } from './config.mjs';
import { benchUp } from './up.mjs';
import { benchBuild } from './build.mjs';
import { benchEnvs } from './envs.mjs';
import { benchWatch } from './watch.mjs';
import { benchLint } from './lint.mjs';
import { benchConsolidate } from './consolidate.mjs';
import { QUICK, ROOT, RUNS, formatMark, formatValue, line, results } from './lib.mjs';

// name -> the bench; `part` names run one part of a bench
const BENCHES = {
  config: () => benchConfig(),
  up: () => benchUp('all'),
  build: () => benchBuild(),
  envs: () => benchEnvs(),
  watch: () => benchWatch(),
  lint: () => benchLint(),
  consolidate: () => benchConsolidate(),
};
const PARTS = { up30: () => benchUp('30'), chain: () => benchUp('chain') };
// benches kept by others (bench/dashboard.mjs, ...): run under their own names when the file is
// there, each through the function it exports whose name starts with `bench`
for (const name of ['dashboard', 'snapshots', 'swarm-nodes']) {
  if (!existsSync(join(ROOT, 'bench', `${name}.mjs`))) continue;
  BENCHES[name] = async () => {
    const mod = await import(`./${name}.mjs`);
    const fn = Object.entries(mod).find(([k, v]) => k.startsWith('bench') && typeof v === 'function')?.[1];
    if (!fn) throw new Error(`bench/${name}.mjs exports no bench function`);
    return fn();
  };
}

const sh = (cmd, args) => {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return undefined;
  }
};

const readme = process.argv.includes('--readme');
const only = process.argv.slice(2).filter((a) => a !== '--readme');
for (const n of only) if (!BENCHES[n] && !PARTS[n]) throw new Error(`no bench named ${n} (${[...Object.keys(BENCHES), ...Object.keys(PARTS)].join(', ')})`);
const full = only.length === 0 && !QUICK;
const out = process.env.BENCH_RESULTS ?? join(ROOT, 'bench', full ? 'results.json' : 'results.partial.json');

const started = new Date();
const engine = JSON.parse(sh('docker', ['version', '--format', '{{json .Server}}']) ?? '{}');
const machine = {
  cores: cpus().length,
  cpu: cpus()[0]?.model,
  memoryGb: +(totalmem() / 2 ** 30).toFixed(1),
  node: process.version,
  engine: { version: engine.Version, api: engine.ApiVersion },
  composeV1: sh('docker-compose', ['version', '--short']),
};
const commit = sh('git', ['-C', ROOT, 'rev-parse', '--short', 'HEAD']);
line(`dockyard benchmarks, ${started.toISOString()}: ${machine.cores} cores, engine ${machine.engine.version}, docker-compose ${machine.composeV1}; medians of ${RUNS} runs (each side warmed once first, sides interleaved)${QUICK ? ' — QUICK: figures not for the README' : ''}`);

const errors = [];
for (const [name, bench] of Object.entries({ ...BENCHES, ...PARTS })) {
  if (only.length ? !only.includes(name) : !BENCHES[name]) continue;
  try {
    await bench();
  } catch (err) {
    // one broken bench does not lose the others' figures; it is recorded and fails the run
    errors.push({ bench: name, error: String(err?.stack ?? err).slice(0, 4000) });
    line(`  ${name}: FAILED: ${String(err?.message ?? err).split('\n').slice(0, 6).join('\n    ')}`);
  }
}

const { figures, notes } = results();
const missed = figures.filter((f) => f.ok === false);
writeFileSync(
  out,
  `${JSON.stringify(
    {
      date: started.toISOString(),
      seconds: Math.round((Date.now() - started.getTime()) / 1000),
      full,
      quick: QUICK,
      benches: only.length ? only : Object.keys(BENCHES),
      runs: RUNS,
      commit,
      machine,
      figures: figures.map((f) => ({ ...f, value: finite(f.value), baseline: finite(f.baseline), floor: finite(f.floor), text: formatValue(f.value, f.unit), markText: f.mark && formatMark(f.mark, f.unit, f.baselineName) })),
      notes,
      errors,
    },
    null,
    2,
  )}\n`,
);
line(`\n${figures.length} figures, ${figures.filter((f) => f.mark).length} with a pass mark, ${missed.length} missed${missed.length ? `: ${missed.map((f) => f.id).join(', ')}` : ''}${errors.length ? `; ${errors.length} bench(es) failed: ${errors.map((e) => e.bench).join(', ')}` : ''}`);
line(`results: ${out}`);
process.exitCode = missed.length + errors.length > 0 ? 1 : 0;
if (readme) {
  if (full && process.env.BENCH_RESULTS === undefined) {
    // the README's figures from this run (a missed figure is shown as missed; a bench that failed
    // leaves figures missing, and the script then leaves the README as it was)
    const r = spawnSync(process.execPath, [join(ROOT, 'scripts', 'readme-figures.mjs')], { stdio: 'inherit' });
    if (r.status !== 0) process.exitCode = 1;
  } else line('README.md not rewritten: only a full run (no bench named, no BENCH_QUICK, no BENCH_RESULTS) fills it');
}

function finite(x) {
  return typeof x === 'number' && Number.isFinite(x) ? +x.toPrecision(6) : x === undefined ? undefined : null;
}
