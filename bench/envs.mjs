// Leased environments: acquire (3 services, images present, every service ready), 8 at once,
// release; side by side with docker-compose v1 bringing up the same stack under a unique project
// name and waiting for it the way test tools do (polling health every 100 ms).
import { execFileSync, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { COMPOSE_V1, line, median, report, tmpDir } from './lib.mjs';

const IMAGE = process.env.DOCKYARD_TEST_IMAGE ?? 'dockyard-test/busybox:latest';
const STACK = `services:
  db:
    image: ${IMAGE}
    init: true
    command: ["sh", "-c", "touch /tmp/ok; exec sleep 3600"]
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
`;

/** Runs a body with `acquireEnvironment` etc. in a fresh Node process; returns its JSON value. */
function lib(dir, body) {
  const script = `
    const d = await import(${JSON.stringify(new URL('../dist/index.js', import.meta.url).href)});
    const dir = ${JSON.stringify(dir)};
    console.log(JSON.stringify(await (async () => {${body}})()));`;
  return JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' }));
}

function v1UpAndWait(dir, project) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(COMPOSE_V1[0], ['-p', project, 'up', '-d'], { cwd: dir, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  const ids = execFileSync('docker', ['ps', '-q', '--filter', `label=com.docker.compose.project=${project}`], { encoding: 'utf8' }).trim().split('\n');
  for (;;) {
    const states = execFileSync('docker', ['inspect', '--format', '{{if .State.Health}}{{.State.Health.Status}}{{else}}{{.State.Status}}{{end}}', ...ids], { encoding: 'utf8' }).trim().split('\n');
    if (states.every((s) => s === 'healthy' || s === 'running')) break;
    spawnSync('sleep', ['0.1']);
  }
  const up = Number(process.hrtime.bigint() - t0) / 1e9;
  const t1 = process.hrtime.bigint();
  spawnSync(COMPOSE_V1[0], ['-p', project, 'down'], { cwd: dir });
  return { up, down: Number(process.hrtime.bigint() - t1) / 1e9 };
}

export function benchEnvs() {
  line('\n## leased environments (3 services, images present, every service ready)');
  const N = Number(process.env.BENCH_RUNS ?? 5);
  const dir = tmpDir('envs');
  writeFileSync(join(dir, 'docker-compose.yml'), STACK);
  const ours = lib(
    dir,
    `const acq = [], rel = [], span = [];
     for (let i = 0; i < ${N}; i++) {
       let t = performance.now();
       const l = await d.acquireEnvironment({ workingDir: dir });
       acq.push((performance.now() - t) / 1000);
       // the engine's own part: from the first container created to the last one ready (its
       // starts, and the health checks' intervals), as the engine recorded it
       const info = await Promise.all(['db', 'api', 'web'].map((s) => l.handle.inspect(s)));
       const created = Math.min(...info.map((x) => Date.parse(x.Created)));
       const ready = Math.max(...info.map((x) => { const ok = x.State.Health?.Log?.find((h) => h.ExitCode === 0); return ok ? Date.parse(ok.End) : Date.parse(x.State.StartedAt); }));
       span.push((ready - created) / 1000);
       t = performance.now();
       await l.release();
       rel.push((performance.now() - t) / 1000);
     }
     const t8 = performance.now();
     const eight = await Promise.all(Array.from({ length: 8 }, () => d.acquireEnvironment({ workingDir: dir })));
     const all8 = (performance.now() - t8) / 1000;
     const t8r = performance.now();
     await Promise.all(eight.map((l) => l.release()));
     return { acq, rel, span, all8, rel8: (performance.now() - t8r) / 1000 };`,
  );
  const base = Array.from({ length: N }, (_, i) => v1UpAndWait(dir, `benchenv${i}${Math.random().toString(36).slice(2, 6)}`));
  const p50 = median(ours.acq);
  report('acquire (p50)', { seconds: p50 }, { seconds: median(base.map((b) => b.up)) });
  report('release (p50)', { seconds: median(ours.rel) }, { seconds: median(base.map((b) => b.down)) });
  const ok = (x, t) => (x <= t ? 'ok' : 'MISSED');
  line(`  the engine's own part of an acquire (first container created -> last one ready: starts and health-check intervals, 500 ms here; this engine, API 1.41, has no start_interval): p50 ${median(ours.span).toFixed(2)}s; dockyard's part ${(p50 - median(ours.span)).toFixed(2)}s (loading, gc of old leases, the marker, network, listing)`);
  line(`  acquire p50 ${p50.toFixed(2)}s (target <= 1.5s) ${ok(p50, 1.5)}; 8 at once all ready in ${ours.all8.toFixed(2)}s (target <= 6s) ${ok(ours.all8, 6)}; release p50 ${median(ours.rel).toFixed(2)}s (target <= 1s) ${ok(median(ours.rel), 1)}; 8 released in ${ours.rel8.toFixed(2)}s`);
  return [p50 <= 1.5, ours.all8 <= 6, median(ours.rel) <= 1].filter((x) => !x).length;
}
