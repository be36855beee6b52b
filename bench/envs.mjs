// Leased environments: acquire (3 services, images present, every service ready), 8 at once,
// release; side by side with docker-compose v1 bringing up the same stack under a unique project
// name and waiting for it the way test tools do (polling health every 100 ms).
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createInterface } from 'node:readline';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { COMPOSE_V1, RUNS, figure, line, note, repeat, sideBySide, tmpDir } from './lib.mjs';

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

/**
 * A Node process that holds dockyard's library (as a test run does) and acquires and releases on
 * request, one line each way, so that its acquires can be interleaved with v1's.
 */
function libServer(dir) {
  const script = `
    const d = await import(${JSON.stringify(new URL('../dist/index.js', import.meta.url).href)});
    const dir = ${JSON.stringify(dir)};
    const rl = (await import('node:readline')).createInterface({ input: process.stdin });
    for await (const cmd of rl) {
      let out;
      try {
      if (cmd === 'one') {
        let t = performance.now();
        const l = await d.acquireEnvironment({ workingDir: dir });
        const up = (performance.now() - t) / 1000;
        // the engine's own part: from the first container created to the last one ready (its
        // starts, and the health checks' intervals), as the engine recorded it
        const info = await Promise.all(['db', 'api', 'web'].map((s) => l.handle.inspect(s)));
        const created = Math.min(...info.map((x) => Date.parse(x.Created)));
        const ready = Math.max(...info.map((x) => { const ok = x.State.Health?.Log?.find((h) => h.ExitCode === 0); return ok ? Date.parse(ok.End) : Date.parse(x.State.StartedAt); }));
        t = performance.now();
        await l.release();
        out = { up, span: (ready - created) / 1000, down: (performance.now() - t) / 1000 };
      } else {
        const t8 = performance.now();
        const all = await Promise.allSettled(Array.from({ length: 8 }, () => d.acquireEnvironment({ workingDir: dir })));
        const up = (performance.now() - t8) / 1000;
        const eight = all.filter((x) => x.status === 'fulfilled').map((x) => x.value);
        const failed = all.find((x) => x.status === 'rejected');
        if (failed) {
          await Promise.allSettled(eight.map((l) => l.release()));
          throw failed.reason;
        }
        const t8r = performance.now();
        await Promise.all(eight.map((l) => l.release()));
        out = { up, down: (performance.now() - t8r) / 1000 };
      }
      } catch (err) {
        out = { error: String(err?.message ?? err) };
      }
      process.stdout.write(JSON.stringify(out) + '\\n');
    }`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  return {
    async ask(cmd) {
      child.stdin.write(`${cmd}\n`);
      const { value, done } = await lines.next();
      if (done) throw new Error('the library process ended');
      const r = JSON.parse(value);
      if (r.error) throw new Error(r.error);
      return r;
    },
    close: () => child.stdin.end(),
  };
}

function v1UpAndWait(dir, project) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(COMPOSE_V1[0], ['-p', project, 'up', '-d'], { cwd: dir, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  const ids = execFileSync('docker', ['ps', '-q', '--filter', `label=com.docker.compose.project=${project}`], { encoding: 'utf8' }).trim().split('\n');
  for (let k = 0; ; k++) {
    if (k > 600) {
      spawnSync(COMPOSE_V1[0], ['-p', project, 'down'], { cwd: dir });
      throw new Error(`docker-compose v1's stack ${project} was not ready after a minute`);
    }
    const states = execFileSync('docker', ['inspect', '--format', '{{if .State.Health}}{{.State.Health.Status}}{{else}}{{.State.Status}}{{end}}', ...ids], { encoding: 'utf8' }).trim().split('\n');
    if (states.every((s) => s === 'healthy' || s === 'running')) break;
    spawnSync('sleep', ['0.1']);
  }
  const up = Number(process.hrtime.bigint() - t0) / 1e9;
  const t1 = process.hrtime.bigint();
  spawnSync(COMPOSE_V1[0], ['-p', project, 'down'], { cwd: dir });
  return { up, down: Number(process.hrtime.bigint() - t1) / 1e9 };
}

export async function benchEnvs() {
  line('\n## leased environments (3 services, images present, every service ready)');
  const dir = tmpDir('envs');
  writeFileSync(join(dir, 'docker-compose.yml'), STACK);
  const lib = libServer(dir);
  try {
    // one acquire + release in dockyard's process, one up + wait + down by v1: interleaved, each
    // warmed once (the library's first acquire also loads its modules)
    const r = await sideBySide({
      ours: () => lib.ask('one'),
      base: () => v1UpAndWait(dir, `benchenv${Math.random().toString(36).slice(2, 8)}`),
    });
    const p50 = r.ours.up.seconds;
    figure({ id: 'envs.acquire', name: 'acquire (p50)', value: p50, baseline: r.base.up.seconds, unit: 's', runs: RUNS, mark: { max: 1.5 }, samples: { dockyard: r.ours.up.samples, baseline: r.base.up.samples } });
    figure({ id: 'envs.release', name: 'release (p50)', value: r.ours.down.seconds, baseline: r.base.down.seconds, unit: 's', runs: RUNS, mark: { max: 1 }, samples: { dockyard: r.ours.down.samples, baseline: r.base.down.samples } });
    note(`the engine's own part of an acquire (first container created -> last one ready: starts and health-check intervals, 500 ms here; this engine, API 1.41, has no start_interval): p50 ${r.ours.span.seconds.toFixed(2)}s; dockyard's part ${(p50 - r.ours.span.seconds).toFixed(2)}s (loading, gc of old leases, the marker, network, listing)`);
    const eight = await repeat(() => lib.ask('eight'));
    figure({ id: 'envs.acquire8', name: '8 acquired at once, all ready', value: eight.up.seconds, unit: 's', runs: RUNS, mark: { max: 6 }, detail: `8 released in ${eight.down.seconds.toFixed(2)} s` });
  } finally {
    lib.close();
  }
}
