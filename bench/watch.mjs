// watch: a single-file edit until it is visible inside the container (seen by a loop in the
// container, against the same clock), 500 files written at once, and the CPU of an idle watch.
// Figures only dockyard has (v1 has no watch): no baseline.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DOCKYARD, QUICK, RUNS, figure, line, repeat, tmpDir } from './lib.mjs';

const IMAGE = process.env.DOCKYARD_TEST_IMAGE ?? 'dockyard-test/busybox:latest';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
// nearest-rank percentile (an edit never seen, NaN, counts as the slowest)
const pct = (xs, p) => [...xs].map((x) => (Number.isNaN(x) ? Infinity : x)).sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil((xs.length * p) / 100) - 1)];

export async function benchWatch() {
  line('\n## watch');
  const dir = tmpDir('watch');
  mkdirSync(join(dir, 'src'));
  writeFileSync(join(dir, 'compose.yaml'), `services:\n  app:\n    image: ${IMAGE}\n    init: true\n    command: ["sleep", "3600"]\n    develop:\n      watch:\n        - {path: ./src, action: sync, target: /app/src}\n`);
  const project = `benchwatch${Math.random().toString(36).slice(2, 6)}`;
  const c = `${project}-app-1`;
  execFileSync(DOCKYARD[0], ['-p', project, 'up', '-d'], { cwd: dir, stdio: 'ignore' });
  const w = spawn(DOCKYARD[0], ['-p', project, 'watch', '--no-up'], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  w.stderr.on('data', (b) => (err += b));
  try {
    while (!/following/.test(err)) await sleep(50);
    // idle CPU: the watch process over RUNS windows of 2 s with nothing changing, after a first
    // uncounted one; the median
    const cpu = () => readFileSync(`/proc/${w.pid}/stat`, 'utf8').split(' ').slice(13, 15).reduce((a, b) => a + Number(b), 0);
    const idle = await repeat(async () => {
      const c0 = cpu();
      await sleep(2000);
      return ((cpu() - c0) / 100 / 2) * 100; // clock ticks (100/s) -> percent of one CPU
    });
    // single-file edits: a loop in the container notes when each file appears; the first WARM
    // edits are not counted
    const WARM = 3;
    const N = QUICK ? 10 : 30;
    // the clock both sides share: the kernel's uptime (10 ms steps; busybox's date has no %N)
    const uptime = () => Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
    spawnSync('docker', ['exec', '-d', c, 'sh', '-c', `mkdir -p /app/src; i=1; while [ $i -le ${WARM + N} ]; do while [ ! -f /app/src/f$i ]; do :; done; cut -d' ' -f1 /proc/uptime >> /tmp/seen; i=$((i+1)); done`]);
    await sleep(300);
    const wrote = [];
    for (let i = 1; i <= WARM + N; i++) {
      wrote.push(uptime());
      writeFileSync(join(dir, 'src', `f${i}`), `edit ${i}\n`);
      await sleep(250);
    }
    await sleep(500);
    const seen = execFileSync('docker', ['exec', c, 'cat', '/tmp/seen'], { encoding: 'utf8' }).trim().split('\n').map(Number);
    const ms = seen.map((t, i) => (t - wrote[i]) * 1000).slice(WARM);
    while (ms.length < N) ms.push(NaN); // an edit never seen
    figure({ id: 'watch.edit.p50', name: 'single-file edit visible in the container (p50)', value: pct(ms, 50), unit: 'ms', runs: N, mark: { max: 100 } });
    figure({ id: 'watch.edit.p95', name: 'single-file edit visible in the container (p95)', value: pct(ms, 95), unit: 'ms', runs: N, mark: { max: 250 } });

    // 500 files at once, into a new folder each round (a warm-up round first); the median
    const many = await repeat(async (round) => {
      const sub = `many${round < 0 ? 'w' : round}`;
      spawnSync('docker', ['exec', '-d', c, 'sh', '-c', `mkdir -p /app/src/${sub}; while [ "$(ls /app/src/${sub} | wc -l)" -lt 500 ]; do :; done; cut -d" " -f1 /proc/uptime > /tmp/${sub}`]);
      await sleep(300);
      mkdirSync(join(dir, 'src', sub));
      const t500 = uptime();
      for (let i = 0; i < 500; i++) writeFileSync(join(dir, 'src', sub, `m${i}.txt`), `file ${i}\n`);
      for (let i = 0; i < 100; i++) {
        await sleep(100);
        const r = spawnSync('docker', ['exec', c, 'cat', `/tmp/${sub}`], { encoding: 'utf8' });
        if (r.status === 0 && r.stdout.trim()) return Number(r.stdout.trim()) - t500;
      }
      // a miss: how many arrived, and what the watch said
      const arrived = spawnSync('docker', ['exec', c, 'sh', '-c', `ls /app/src/${sub} | wc -l`], { encoding: 'utf8' }).stdout.trim();
      line(`  (${arrived} of 500 arrived; the watch said: ${err.trim().split('\n').slice(-4).join(' | ')})`);
      return Infinity;
    });
    figure({ id: 'watch.many500', name: '500 files written at once, all visible', value: many.seconds, unit: 's', runs: RUNS, mark: { max: 3 } });
    figure({ id: 'watch.idle', name: 'idle watch, CPU (of one core)', value: idle.seconds, unit: '%', runs: RUNS, mark: { max: 1 } });
  } finally {
    w.kill('SIGINT');
    spawnSync(DOCKYARD[0], ['-p', project, 'down', '-t', '0'], { cwd: dir, stdio: 'ignore' });
  }
}
