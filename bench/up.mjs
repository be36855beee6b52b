// up -d of 30 independent services, up -d of a 3-level health-check chain, down of 30 services:
// dockyard and docker-compose v1 on the same engine, same files, in the same run.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { COMPOSE_V1, DOCKYARD, line, measure, median, report, run, tmpDir } from './lib.mjs';

const IMAGE = process.env.DOCKYARD_TEST_IMAGE ?? 'dockyard-test/busybox:latest';

function docker(...args) {
  return execFileSync('docker', args, { encoding: 'utf8' }).trim();
}

function cleanup(project) {
  const label = `com.docker.compose.project=${project}`;
  const ids = docker('ps', '-aq', '--filter', `label=${label}`).split('\n').filter(Boolean);
  if (ids.length) docker('rm', '-f', ...ids);
  const nets = docker('network', 'ls', '-q', '--filter', `label=${label}`).split('\n').filter(Boolean);
  try {
    if (nets.length) docker('network', 'rm', ...nets);
  } catch {
    /* an engine fault can leave a network behind; project names are unique per run */
  }
}

const RUN_ID = Math.random().toString(36).slice(2, 6);

const independent = (n) =>
  'services:\n' + Array.from({ length: n }, (_, i) => `  s${i}:\n    image: ${IMAGE}\n    command: ["sleep", "3600"]\n    init: true\n`).join('');

// three levels: a <- b <- c, each healthy 1 check after it starts
const INTERVAL_MS = 500;
const chain = `services:
  a:
    image: ${IMAGE}
    command: ["sleep", "3600"]
    init: true
    healthcheck: {test: ["CMD", "true"], interval: ${INTERVAL_MS}ms, timeout: 2s, retries: 20}
  b:
    image: ${IMAGE}
    command: ["sleep", "3600"]
    init: true
    healthcheck: {test: ["CMD", "true"], interval: ${INTERVAL_MS}ms, timeout: 2s, retries: 20}
    depends_on: {a: {condition: service_healthy}}
  c:
    image: ${IMAGE}
    command: ["sleep", "3600"]
    init: true
    healthcheck: {test: ["CMD", "true"], interval: ${INTERVAL_MS}ms, timeout: 2s, retries: 20}
    depends_on: {b: {condition: service_healthy}}
`;

const fmtS = (x) => `${x.toFixed(2)}s`;

/**
 * What the engine alone needs for n containers, through the API with no tool around it: create
 * the network, create all containers at once, then start them all at once; stop+remove all at
 * once (removing the network is not counted, so the floor errs low). Run in turn with the
 * tools, so that the engine's drift over the run weighs on all three alike.
 */
function engineFloor(n, tag) {
  return rawApi(`
    const net = 'dockyard-bench-floor-${tag}';
    const t0 = Date.now();
    await e.createNetwork({ Name: net });
    const ids = await Promise.all(Array.from({ length: ${n} }, (_, i) => e.createContainer(net + '-' + i, { Image: ${JSON.stringify(IMAGE)}, Cmd: ['sleep', '3600'], HostConfig: { Init: true, NetworkMode: net } })));
    await Promise.all(ids.map((id) => e.startContainer(id)));
    const t1 = Date.now();
    await Promise.all(ids.map(async (id) => { await e.stopContainer(id); await e.removeContainer(id, { force: true }); }));
    const t2 = Date.now();
    await removeNetwork(net);
    return { up: (t1 - t0) / 1000, down: (t2 - t1) / 1000 };`);
}

/**
 * Median times the engine needs, through the API (the calls dockyard makes), to create a bridge
 * network and to start one created container on it: the steps no tool can avoid.
 */
function engineLatencies(runs = 5) {
  return rawApi(`
    const ms = (t) => Number(process.hrtime.bigint() - t) / 1e6;
    const start = [], network = [];
    for (let i = 0; i < ${runs}; i++) {
      let t = process.hrtime.bigint();
      await e.createNetwork({ Name: 'dockyard-bench-probe', Labels: {} });
      network.push(ms(t));
      const id = await e.createContainer('dockyard-bench-probe', { Image: ${JSON.stringify(IMAGE)}, Cmd: ['sleep', '60'], HostConfig: { Init: true, NetworkMode: 'dockyard-bench-probe' } });
      t = process.hrtime.bigint();
      await e.startContainer(id);
      start.push(ms(t));
      await e.removeContainer(id, { force: true });
      await removeNetwork('dockyard-bench-probe');
    }
    const med = (x) => x.sort((a, b) => a - b)[x.length >> 1] / 1000;
    return { start: med(start), network: med(network) };`);
}

/**
 * Runs \`body\` (an async function body with \`e\`, dockyard's DockerEngine, and \`removeNetwork\`)
 * in a fresh Node process, so that no tool but the Engine API client is timed; returns its value.
 */
function rawApi(body) {
  const script = `
    const { DockerEngine } = await import(${JSON.stringify(new URL('../dist/engine/docker.js', import.meta.url).href)});
    const e = new DockerEngine();
    // Docker 20.10 can report active endpoints for a while after the last container is gone
    const removeNetwork = async (name) => {
      for (let k = 0; ; k++) {
        try { return await e.removeNetwork(name); } catch (err) { if (k > 50) throw err; await new Promise((r) => setTimeout(r, 100)); }
      }
    };
    console.log(JSON.stringify(await (async () => {${body}})()));`;
  return JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' }));
}

/** The chain's own critical path: per level, the engine's start latency plus started -> healthy. */
function chainCriticalPath(project, sep, lat) {
  let total = lat.network;
  for (const svc of ['a', 'b', 'c']) {
    const info = JSON.parse(docker('inspect', `${project}${sep}${svc}${sep}1`))[0];
    const started = Date.parse(info.State.StartedAt);
    const healthy = info.State.Health.Log.map((l) => Date.parse(l.End)).find((t) => t >= started) ?? started;
    total += lat.start + (healthy - started) / 1000;
  }
  return total;
}

const m = (xs) => measure(xs.length, (i) => xs[i]);

/** `which`: 'all', '30' (30 independent services up and down) or 'chain'. Returns extra misses. */
export function benchUp(which = 'all') {
  line('\n## up / down');
  const N = Number(process.env.BENCH_RUNS ?? 3);
  if (which !== 'chain') bench30(N);
  return which === '30' ? 0 : benchChain(N);
}

function bench30(N) {
  const dir30 = tmpDir('up-30');
  writeFileSync(join(dir30, 'docker-compose.yml'), independent(30));

  // 30 independent services: up -d, then down; the engine alone in the same turn
  const up30 = { ours: [], base: [] };
  const noop30 = { ours: [], base: [] };
  const down30 = { ours: [], base: [] };
  const floors = [];
  for (let i = 0; i < N; i++) {
    for (const [tool, cmd, key] of [['dy', DOCKYARD, 'ours'], ['v1', COMPOSE_V1, 'base']]) {
      const project = `bench${tool}30x${i}${RUN_ID}`;
      cleanup(project);
      up30[key].push(run(cmd, ['-p', project, 'up', '-d'], { cwd: dir30 }));
      // the same again: everything is running and current, nothing to do
      noop30[key].push(run(cmd, ['-p', project, 'up', '-d'], { cwd: dir30 }));
      down30[key].push(run(cmd, ['-p', project, 'down'], { cwd: dir30 }));
      cleanup(project);
    }
    floors.push(engineFloor(30, `${RUN_ID}${i}`));
  }
  // (the 0.6x-of-v1 targets are retired: the engine's own floor is above them on this machine;
  // the targets are now relative to that floor, measured in the same run)
  report('up -d, 30 independent services', m(up30.ours), m(up30.base));
  report('up -d again, 30 running and current (no-op)', m(noop30.ours), m(noop30.base), 0.3);
  report('down, 30 services', m(down30.ours), m(down30.base));
  const floor = { up: median(floors.map((f) => f.up)), down: median(floors.map((f) => f.down)) };
  report('up -d, 30 services, against the engine floor', m(up30.ours), { seconds: floor.up }, 1.15, 'engine floor');
  report('down, 30 services, against the engine floor', m(down30.ours), { seconds: floor.down }, 1.15, 'engine floor');
  line(`  engine floor (raw API, no tool, all at once, median: network + create+start 30 ${fmtS(floor.up)}, stop+remove 30 ${fmtS(floor.down)}): dockyard spends ${fmtS(m(up30.ours).seconds - floor.up)} / ${fmtS(m(down30.ours).seconds - floor.down)} above it, docker-compose v1 ${fmtS(m(up30.base).seconds - floor.up)} / ${fmtS(m(down30.base).seconds - floor.down)}`);
  // the fastest this engine did the same work in this run, through the raw API or through dockyard
  const best = { up: Math.min(floor.up, m(up30.ours).seconds), down: Math.min(floor.down, m(down30.ours).seconds) };
  line(`  a tool that added nothing to the engine's fastest run of this work would be ${(best.up / m(up30.base).seconds).toFixed(2)}x (up) and ${(best.down / m(down30.base).seconds).toFixed(2)}x (down) of docker-compose v1 on this engine`);
}

function benchChain(N) {
  const dirChain = tmpDir('up-chain');
  writeFileSync(join(dirChain, 'docker-compose.yml'), chain);
  const lat = engineLatencies();
  const chainRuns = { ours: [], base: [] };
  const crit = [];
  for (let i = 0; i < N; i++) {
    for (const [tool, cmd, key, sep] of [['dy', DOCKYARD, 'ours', '-'], ['v1', COMPOSE_V1, 'base', '_']]) {
      const project = `bench${tool}chain${i}${RUN_ID}`;
      cleanup(project);
      const r = run(cmd, ['-p', project, 'up', '-d'], { cwd: dirChain });
      // v1 returns once c is started; dockyard too (without --wait): compare the same point
      chainRuns[key].push(r);
      if (key === 'ours') crit.push({ path: chainCriticalPath(project, sep, lat), total: r.seconds });
      cleanup(project);
    }
  }
  report('up -d, 3-level health-check chain', m(chainRuns.ours), m(chainRuns.base), 0.8);
  crit.sort((a, b) => a.total - b.total);
  const mid = crit[Math.floor(crit.length / 2)];
  const over = (mid.total - mid.path) * 1000;
  line(
    `  chain critical path (the engine's own steps, one after the other: network create ${(lat.network * 1000).toFixed(0)}ms + start ${(lat.start * 1000).toFixed(0)}ms x3 + each level's start->healthy): ${(mid.path * 1000).toFixed(0)}ms; dockyard total ${(mid.total * 1000).toFixed(0)}ms; overhead ${over.toFixed(0)}ms (target <= 300ms)${over <= 300 ? '  ok' : '  MISSED'}`,
  );
  return over <= 300 ? 0 : 1;
}
