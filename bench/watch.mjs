// watch: a single-file edit until it is visible inside the container (seen by a loop in the
// container, against the same clock), 500 files written at once, and the CPU of an idle watch.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DOCKYARD, line, tmpDir } from './lib.mjs';

const IMAGE = process.env.DOCKYARD_TEST_IMAGE ?? 'dockyard-test/busybox:latest';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const pct = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((xs.length * p) / 100))];

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
    // idle CPU: the watch process over 5 s with nothing changing
    const cpu = () => readFileSync(`/proc/${w.pid}/stat`, 'utf8').split(' ').slice(13, 15).reduce((a, b) => a + Number(b), 0);
    const c0 = cpu();
    await sleep(5000);
    const idle = ((cpu() - c0) / 100 / 5) * 100; // clock ticks (100/s) -> percent of one CPU
    // single-file edits: a loop in the container notes when each file appears
    const N = 30;
    // the clock both sides share: the kernel's uptime (10 ms steps; busybox's date has no %N)
    const uptime = () => Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
    spawnSync('docker', ['exec', '-d', c, 'sh', '-c', `mkdir -p /app/src; i=1; while [ $i -le ${N} ]; do while [ ! -f /app/src/f$i ]; do :; done; cut -d' ' -f1 /proc/uptime >> /tmp/seen; i=$((i+1)); done`]);
    await sleep(300);
    const wrote = [];
    for (let i = 1; i <= N; i++) {
      wrote.push(uptime());
      writeFileSync(join(dir, 'src', `f${i}`), `edit ${i}\n`);
      await sleep(250);
    }
    await sleep(500);
    const seen = execFileSync('docker', ['exec', c, 'cat', '/tmp/seen'], { encoding: 'utf8' }).trim().split('\n').map(Number);
    const ms = seen.map((t, i) => (t - wrote[i]) * 1000);
    const p50 = pct(ms, 50);
    const p95 = pct(ms, 95);
    // 500 files at once
    spawnSync('docker', ['exec', '-d', c, 'sh', '-c', 'mkdir -p /app/src/many; while [ "$(ls /app/src/many | wc -l)" -lt 500 ]; do :; done; cut -d" " -f1 /proc/uptime > /tmp/all']);
    await sleep(300);
    mkdirSync(join(dir, 'src', 'many'));
    const t500 = uptime();
    for (let i = 0; i < 500; i++) writeFileSync(join(dir, 'src', 'many', `m${i}.txt`), `file ${i}\n`);
    let all;
    for (let i = 0; i < 100 && !all; i++) {
      await sleep(100);
      const r = spawnSync('docker', ['exec', c, 'cat', '/tmp/all'], { encoding: 'utf8' });
      if (r.status === 0 && r.stdout.trim()) all = Number(r.stdout.trim()) - t500;
    }
    // on a miss: how many arrived, and what the watch said
    const arrived = all === undefined ? spawnSync('docker', ['exec', c, 'sh', '-c', 'ls /app/src/many | wc -l'], { encoding: 'utf8' }).stdout.trim() : '500';
    if (all === undefined) line(`  (${arrived} of 500 arrived; the watch said: ${err.trim().split('\n').slice(-4).join(' | ')})`);
    const ok = (x, t) => (x !== undefined && x <= t ? 'ok' : 'MISSED');
    line(`single-file edit visible in the container: p50 ${p50.toFixed(0)} ms (target <= 100) ${ok(p50, 100)}, p95 ${p95.toFixed(0)} ms (target <= 250) ${ok(p95, 250)} (${N} edits)`);
    line(`500 files written at once, all visible in ${all === undefined ? 'more than 10' : all.toFixed(2)} s (target <= 3 s) ${ok(all, 3)}`);
    line(`idle watch: ${idle.toFixed(2)}% of one CPU over 5 s`);
    return [p50 <= 100, p95 <= 250, all !== undefined && all <= 3].filter((x) => !x).length;
  } finally {
    w.kill('SIGINT');
    spawnSync(DOCKYARD[0], ['-p', project, 'down', '-t', '0'], { cwd: dir, stdio: 'ignore' });
  }
}
