// Puts the figures of a bench run (bench/results.json, written by `npm run bench`) into README.md:
//
//   <!-- bench:ID -->50 ms<!-- /bench -->            the figure's value, as the bench prints it
//   <!-- bench:ID:mark -->≤ 100 ms<!-- /bench -->     its pass mark
//   <!-- bench:ID:baseline -->…<!-- /bench -->        docker-compose v1's value (also :floor)
//   <!-- bench:date -->2026-12-05<!-- /bench -->      the run's date
//   <!-- bench:table -->…<!-- /bench:table -->        the Benchmarks table (every figure of the run)
//
// A marker naming a figure the results do not have is an error: README.md is then left as it is.
// Run by `npm run bench` after the run; alone: node scripts/readme-figures.mjs [--results FILE]
// [--check] (--check: exit 1 if README.md is not what the results give, write nothing).
// Only a full run fills the README (not BENCH_QUICK, not a run of some benches): --allow-partial
// to override.
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const opt = (name) => {
  const i = args.indexOf(name);
  return i < 0 ? undefined : args[i + 1];
};
const resultsFile = opt('--results') ?? join(ROOT, 'bench', 'results.json');
const readmeFile = opt('--readme') ?? join(ROOT, 'README.md');
const check = args.includes('--check');

function fail(msg) {
  console.error(`readme-figures: ${msg}`);
  process.exit(1);
}

let res;
try {
  res = JSON.parse(readFileSync(resultsFile, 'utf8'));
} catch (err) {
  fail(`cannot read ${resultsFile}: ${err.message} (run \`npm run bench\`)`);
}
if ((res.quick || !res.full) && !args.includes('--allow-partial')) {
  fail(`${relative(ROOT, resultsFile)} is from a ${res.quick ? 'BENCH_QUICK' : 'partial'} run (${res.benches?.join(', ')}); the README takes a full \`npm run bench\` run (or pass --allow-partial)`);
}
const byId = new Map(res.figures.map((f) => [f.id, f]));
const day = res.date.slice(0, 10);

// the same formatting as the bench's (bench/lib.mjs), so README and bench output read alike
const { formatValue } = await import(new URL('../bench/lib.mjs', import.meta.url).href);
const val = (v, unit) => (v === null || v === undefined ? 'n/a' : formatValue(v, unit));
const ratio = (f) => {
  const against = f.mark?.of === 'floor' ? f.floor : f.mark?.of === 'baseline' ? f.baseline : undefined;
  return against > 0 && typeof f.value === 'number' ? ` (${(f.value / against).toFixed(2)}x)` : '';
};
const okText = (f) => (f.ok === true ? 'ok' : f.ok === false ? '**missed**' : '') + ratio(f);

function table() {
  const m = res.machine ?? {};
  const rows = res.figures.map((f) =>
    [f.name, val(f.value, f.unit), f.baseline === undefined ? '' : `${val(f.baseline, f.unit)}${f.baselineName ? ` (${f.baselineName})` : ''}`, f.floor === undefined ? '' : val(f.floor, f.unit), f.markText ?? '', okText(f)].join(' | '),
  );
  const missed = res.figures.filter((f) => f.ok === false).length;
  return [
    `From the \`npm run bench\` run of ${res.date.replace('T', ' ').replace(/\.\d+Z$/, ' UTC')} (commit ${res.commit ?? '?'}; ${m.cores} cores, Docker Engine ${m.engine?.version ?? '?'}, docker-compose ${m.composeV1 ?? '?'}, Node ${m.node ?? '?'}): medians of ${res.runs} runs, each side warmed once first, the sides interleaved run by run; ${res.figures.length} figures, ${missed} missed their pass mark${res.errors?.length ? `; failed benches: ${res.errors.map((e) => e.bench).join(', ')}` : ''}. The engine floor is the raw Engine API doing the same work with no tool around it.`,
    '',
    '| figure | dockyard | docker-compose v1 (or the baseline named) | engine floor | pass mark | ok |',
    '| --- | --- | --- | --- | --- | --- |',
    ...rows.map((r) => `| ${r} |`),
  ].join('\n');
}

const text = readFileSync(readmeFile, 'utf8');
const problems = [];
const problem = (p) => problems.includes(p) || problems.push(p);
const used = new Set();
let out = text.replace(/<!-- bench:table -->[\s\S]*?<!-- \/bench:table -->/g, () => `<!-- bench:table -->\n${table()}\n<!-- /bench:table -->`);
out = out.replace(/<!-- bench:([\w.-]+)(?::(\w+))? -->([\s\S]*?)<!-- \/bench -->/g, (all, id, part, _old) => {
  if (id === 'date') return `<!-- bench:date -->${day}<!-- /bench -->`;
  const f = byId.get(id);
  if (!f) {
    problem(`README names the figure ${id}, which ${relative(ROOT, resultsFile)} (${res.date}) does not have`);
    return all;
  }
  used.add(id);
  let v;
  if (!part) v = val(f.value, f.unit);
  else if (part === 'mark') v = f.markText ?? problem(`${id} has no pass mark`);
  else if (part === 'baseline' || part === 'floor') v = f[part] === undefined ? problem(`${id} has no ${part}`) : val(f[part], f.unit);
  else problem(`unknown part :${part} of ${id} (value, :mark, :baseline, :floor)`);
  return `<!-- bench:${id}${part ? `:${part}` : ''} -->${v}<!-- /bench -->`;
});
for (const id of used) if (!byId.get(id).mark) problem(`README claims ${id}, which has no pass mark in the bench`);
if (!/<!-- bench:table -->/.test(text)) problem('README has no <!-- bench:table --> block');
if (problems.length) fail(`${problems.join('\n  ')}\nREADME.md left as it was`);

for (const id of used) if (byId.get(id).ok === false) console.error(`readme-figures: warning: ${id} (${byId.get(id).text}) missed its pass mark (${byId.get(id).markText}) in this run`);
if (check) {
  if (out !== text) fail('README.md is not what the results give (run node scripts/readme-figures.mjs)');
  console.log('readme-figures: README.md matches the results');
} else if (out !== text) {
  writeFileSync(readmeFile, out);
  console.log(`readme-figures: README.md: ${used.size} figures and the table from the run of ${res.date}`);
} else console.log('readme-figures: README.md already up to date');
