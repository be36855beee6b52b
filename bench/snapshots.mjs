// Snapshots of leased environments (issue 29), with 50 MB of seeded volume data: a fork of the
// snapshot against a plain acquire of the same stack (target: ready in <= 1.2x its time) and
// against re-running the seeding each time (acquire, then seed); a reset of a fork after a write
// (target: <= 1.0 s beyond the services' own part: containers started and ready, as the engine
// recorded it). Runs alternate (plain, fork, plain + seeding) so a busy engine weighs on all alike.
// A reset here is Lease.reset: it returns once the services are ready; the old volume's removal
// runs on after it (the release that follows waits for it), as it does while a test runs.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RUNS, figure, line, median, note, tmpDir } from './lib.mjs';

const IMAGE = process.env.DOCKYARD_TEST_IMAGE ?? 'dockyard-test/busybox:latest';
const STACK = `services:
  db:
    image: ${IMAGE}
    init: true
    command: ["sh", "-c", "mkdir -p /data/www && touch /tmp/ok && exec httpd -f -p 5432 -h /data/www"]
    volumes: [data:/data]
    healthcheck: {test: ["CMD", "test", "-f", "/tmp/ok"], interval: 500ms, timeout: 2s, retries: 30}
  api:
    image: ${IMAGE}
    init: true
    command: ["sh", "-c", "mkdir -p /www && echo ok > /www/health && exec httpd -f -p 8000 -h /www"]
    ports: ["8000"]
    depends_on: {db: {condition: service_healthy}}
    healthcheck: {test: ["CMD-SHELL", "timeout 2 wget -q -O /dev/null http://127.0.0.1:8000/health"], interval: 500ms, timeout: 2s, retries: 30}
  web:
    image: ${IMAGE}
    init: true
    command: ["sleep", "3600"]
    depends_on: [api]
volumes:
  data: {}
`;
// the seeding: 50 files of 1 MB and 2,000 small rows, as a migration and fixtures would write them
const SEED = 'mkdir -p /data/tables /data/rows && head -c 1048576 /dev/urandom > /tmp/mb && for i in $(seq 1 50); do cat /tmp/mb > /data/tables/t$i; done && for i in $(seq 1 2000); do echo "row $i" > /data/rows/r$i; done && du -sm /data | cut -f1';

function lib(dir, body) {
  const script = `
    const d = await import(${JSON.stringify(new URL('../dist/index.js', import.meta.url).href)});
    const S = await import(${JSON.stringify(new URL('../dist/envs/snapshot.js', import.meta.url).href)});
    const dir = ${JSON.stringify(dir)};
    const SEED = ${JSON.stringify(SEED)};
    const time = async (f) => { const t = performance.now(); const r = await f(); return [(performance.now() - t) / 1000, r]; };
    // the engine's own part: from the first container created to the last one ready (starts, health-check intervals)
    const span = async (l) => {
      const info = await Promise.all(['db', 'api', 'web'].map((s) => l.handle.inspect(s)));
      const created = Math.min(...info.map((x) => Date.parse(x.Created)));
      const ready = Math.max(...info.map((x) => { const ok = x.State.Health?.Log?.find((h) => h.ExitCode === 0); return ok ? Date.parse(ok.End) : Date.parse(x.State.StartedAt); }));
      return (ready - created) / 1000;
    };
    console.log(JSON.stringify(await (async () => {${body}})()));`;
  return JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 }));
}

export async function benchSnapshots() {
  line('\n## snapshots of leased environments (3 services, 50 MB seeded in a volume: fork, reset, against seeding again)');
  const dir = tmpDir('snapshots');
  writeFileSync(join(dir, 'compose.yaml'), STACK);
  // one warm-up round (not counted), then RUNS rounds of plain acquire, fork + reset, acquire +
  // seeding, the order rotating from round to round
  const r = lib(
    dir,
    `const tag = 'bench-' + Math.random().toString(36).slice(2, 8);
     const seedLease = await d.acquireEnvironment({ workingDir: dir });
     const [seedS, mb] = await time(() => seedLease.exec('db', ['sh', '-c', SEED]));
     const [snapS, snap] = await time(() => seedLease.snapshot(tag));
     await seedLease.release();
     const out = { plain: [], fork: [], seeded: [], reset: [], resetSpan: [] };
     const sides = {
       plain: async (keep) => {
         const [p, l] = await time(() => d.acquireEnvironment({ workingDir: dir }));
         if (keep) out.plain.push(p);
         await l.release();
       },
       fork: async (keep) => {
         const [f, l] = await time(() => d.acquireEnvironment({ workingDir: dir, from: tag }));
         const seen = (await l.exec('db', ['sh', '-c', 'ls /data/tables | wc -l; ls /data/rows | wc -l'])).stdout.split('\\n').map(Number);
         if (seen[0] !== 50 || seen[1] !== 2000) throw new Error('the fork does not hold the seeded data: ' + seen);
         await l.exec('db', ['sh', '-c', 'echo dirty > /data/rows/r1; rm -f /data/tables/t1']);
         const [rs] = await time(() => l.reset());
         if ((await l.exec('db', ['cat', '/data/rows/r1'])).stdout !== 'row 1\\n') throw new Error('reset did not restore the seed');
         if (keep) out.fork.push(f), out.reset.push(rs), out.resetSpan.push(await span(l));
         await l.release();
       },
       seeded: async (keep) => {
         const [s, l] = await time(async () => { const l = await d.acquireEnvironment({ workingDir: dir }); await l.exec('db', ['sh', '-c', SEED]); return l; });
         if (keep) out.seeded.push(s);
         await l.release();
       },
     };
     const names = Object.keys(sides);
     for (const n of names) await sides[n](false);
     for (let i = 0; i < ${RUNS}; i++) {
       for (let k = 0; k < names.length; k++) await sides[names[(k + i) % names.length]](true);
       process.stderr.write('  snapshots: round ' + (i + 1) + ' of ${RUNS} done\\n');
     }
     await S.removeSnapshot(tag);
     return { seedS, mb: Number(mb.stdout.trim()), snapS, size: snap.size, ...out };`,
  );
  const plain = median(r.plain);
  const fork = median(r.fork);
  const seeded = median(r.seeded);
  const reset = median(r.reset);
  const own = median(r.resetSpan);
  const ours = median(r.reset.map((x, i) => x - r.resetSpan[i]));
  note(`seeded ${r.mb} MB (50 files of 1 MB, 2,000 rows) in ${r.seedS.toFixed(2)} s; snapshot taken in ${r.snapS.toFixed(2)} s (a ${(r.size / 1e6).toFixed(0)} MB image)`);
  figure({ id: 'snapshots.fork', name: 'fork of a 50 MB snapshot, ready, / plain acquire', value: fork / plain, unit: 'x', runs: RUNS, mark: { max: 1.2 }, detail: `fork p50 ${fork.toFixed(2)} s, plain acquire of the same stack (empty volume) p50 ${plain.toFixed(2)} s` });
  figure({ id: 'snapshots.reseed', name: 'fork / acquire + seeding again', value: fork / seeded, unit: 'x', runs: RUNS, detail: `acquire + seeding p50 ${seeded.toFixed(2)} s` });
  figure({ id: 'snapshots.reset', name: "reset after a write: dockyard's part (p50)", value: ours, unit: 's', runs: RUNS, mark: { max: 1 }, detail: `reset p50 ${reset.toFixed(2)} s, of which the services' own part (first container created -> last one ready) ${own.toFixed(2)} s` });
}

if (import.meta.url === `file://${process.argv[1]}`) await benchSnapshots();
