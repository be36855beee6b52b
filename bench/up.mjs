// up -d of 30 independent services, up -d of a 3-level health-check chain, down of 30 services:
// dockyard and docker-compose v1 on the same engine, same files, in the same run.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { COMPOSE_V1, DOCKYARD, RUNS, figure, line, median, note, run, sideBySide, tmpDir } from './lib.mjs';

const IMAGE = process.env.DOCKYARD_TEST_IMAGE ?? 'dockyard-test/busybox:latest';

function docker(...args) {
  return execFileSync('docker', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
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
  // (each call is a fresh Node process: its start is not timed)
  return rawApi(`
    const net = 'dockyard-bench-floor-${tag}';
    const t0 = Date.now();
    await e.createNetwork({ Name: net });
    const ids = await Promise.all(Array.from({ length: ${n} }, (_, i) => e.createContainer(net + '-' + i, { Image: ${JSON.stringify(IMAGE)}, Cmd: ['sleep', '3600'], HostConfig: { Init: true, NetworkMode: net } })));
    await Promise.all(ids.map((id) => e.startContainer(id)));
    const t1 = Date.now();
    await Promise.all(ids.map(async (id) => { await e.stopContainer(id); await e.removeContainer(id, { force: true }); }));
    const t2 = Date.now();
    // not counted; a network Docker 20.10 holds with phantom endpoints is left (and said so)
    const left = await removeNetwork(net).then(() => false, (err) => { if (!/active endpoints/.test(String(err))) throw err; return true; });
    return { up: (t1 - t0) / 1000, down: (t2 - t1) / 1000, left };`);
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

/** `which`: 'all', '30' (30 independent services up and down) or 'chain'. */
export async function benchUp(which = 'all') {
  line('\n## up / down');
  if (which !== 'chain') await bench30();
  if (which !== '30') await benchChain();
}

async function bench30() {
  const dir30 = tmpDir('up-30');
  const phantoms = {};
  writeFileSync(join(dir30, 'docker-compose.yml'), independent(30));
  // 30 independent services: up -d, up -d again (nothing to do), down; with each tool and with the
  // engine alone (raw API), interleaved, each warmed once
  const tool = (name, cmd) => (i) => {
    const project = `bench${name}30x${i < 0 ? 'w' : i}${RUN_ID}`;
    cleanup(project);
    try {
      const up = run(cmd, ['-p', project, 'up', '-d'], { cwd: dir30 });
      // the same again: everything is running and current, nothing to do
      const noop = run(cmd, ['-p', project, 'up', '-d'], { cwd: dir30 });
      // Docker 20.10 can keep a network with phantom endpoints after its last container is gone
      // (until dockerd restarts): dockyard leaves it with a warning; docker-compose v1 fails on it
      // after every container is removed. Counted either way (the work was done), and said so.
      const down = run(cmd, ['-p', project, 'down'], { cwd: dir30, allowFail: true });
      if (down.status !== 0 && !/active endpoints/.test(down.stderr)) throw new Error(`${cmd.join(' ')} -p ${project} down failed (${down.status}):\n${down.stderr.slice(-2000)}`);
      if (down.status !== 0 || /active endpoints/.test(down.stderr)) phantoms[name] = (phantoms[name] ?? 0) + 1;
      return { up, noop, down };
    } finally {
      cleanup(project);
    }
  };
  const r = await sideBySide({
    ours: tool('dy', DOCKYARD),
    base: tool('v1', COMPOSE_V1),
    floor: (i) => {
      const f = engineFloor(30, `${RUN_ID}${i < 0 ? 'w' : i}`);
      if (f.left) phantoms.floor = (phantoms.floor ?? 0) + 1;
      return { up: f.up, down: f.down };
    },
  });
  // the 0.6x-of-v1 marks are retired: the engine's own floor is above them on this machine; the
  // marks are relative to that floor, measured in the same run
  figure({ id: 'up.30', name: 'up -d, 30 independent services', value: r.ours.up.seconds, baseline: r.base.up.seconds, floor: r.floor.up.seconds, unit: 's', runs: RUNS, mark: { max: 1.15, of: 'floor' }, samples: { dockyard: r.ours.up.samples, baseline: r.base.up.samples, floor: r.floor.up.samples } });
  figure({ id: 'up.30.noop', name: 'up -d again, 30 running and current (no-op)', value: r.ours.noop.seconds, baseline: r.base.noop.seconds, unit: 's', runs: RUNS, mark: { max: 0.3, of: 'baseline' }, samples: { dockyard: r.ours.noop.samples, baseline: r.base.noop.samples } });
  figure({ id: 'down.30', name: 'down, 30 services', value: r.ours.down.seconds, baseline: r.base.down.seconds, floor: r.floor.down.seconds, unit: 's', runs: RUNS, mark: { max: 1.15, of: 'floor' }, samples: { dockyard: r.ours.down.samples, baseline: r.base.down.samples, floor: r.floor.down.samples } });
  note(`engine floor: raw API, no tool, all at once: network + create+start 30 ${fmtS(r.floor.up.seconds)}, stop+remove 30 ${fmtS(r.floor.down.seconds)}; dockyard spends ${fmtS(r.ours.up.seconds - r.floor.up.seconds)} / ${fmtS(r.ours.down.seconds - r.floor.down.seconds)} above it, docker-compose v1 ${fmtS(r.base.up.seconds - r.floor.up.seconds)} / ${fmtS(r.base.down.seconds - r.floor.down.seconds)}`);
  if (Object.keys(phantoms).length) note(`networks the engine kept with phantom endpoints after down (a Docker 20.10 fault, cleared by restarting dockerd; the rounds count, the work being done): ${Object.entries(phantoms).map(([k, v]) => `${k === 'dy' ? 'dockyard' : k === 'v1' ? 'docker-compose v1' : 'raw API'} ${v}`).join(', ')}`);
  // the fastest this engine did the same work in this run, through the raw API or through dockyard
  const best = { up: Math.min(r.floor.up.seconds, r.ours.up.seconds), down: Math.min(r.floor.down.seconds, r.ours.down.seconds) };
  note(`a tool that added nothing to the engine's fastest run of this work would be ${(best.up / r.base.up.seconds).toFixed(2)}x (up) and ${(best.down / r.base.down.seconds).toFixed(2)}x (down) of docker-compose v1 on this engine`);
}

async function benchChain() {
  const dirChain = tmpDir('up-chain');
  writeFileSync(join(dirChain, 'docker-compose.yml'), chain);
  const lat = engineLatencies(RUNS);
  const crit = [];
  const tool = (name, cmd, sep) => (i) => {
    const project = `bench${name}chain${i < 0 ? 'w' : i}${RUN_ID}`;
    cleanup(project);
    try {
      // v1 returns once c is started; dockyard too (without --wait): compare the same point
      const r = run(cmd, ['-p', project, 'up', '-d'], { cwd: dirChain });
      if (name === 'dy' && i >= 0) crit.push({ path: chainCriticalPath(project, sep, lat), total: r.seconds });
      return r;
    } finally {
      cleanup(project);
    }
  };
  const r = await sideBySide({ ours: tool('dy', DOCKYARD, '-'), base: tool('v1', COMPOSE_V1, '_') });
  figure({ id: 'up.chain', name: 'up -d, 3-level health-check chain', value: r.ours.seconds, baseline: r.base.seconds, unit: 's', runs: RUNS, mark: { max: 0.8, of: 'baseline' }, samples: { dockyard: r.ours.samples, baseline: r.base.samples } });
  // dockyard's time above the chain's own critical path, per run; the median of those
  const over = median(crit.map((c) => (c.total - c.path) * 1000));
  const path = median(crit.map((c) => c.path * 1000));
  figure({
    id: 'up.chain.overhead',
    name: 'up -d, chain: dockyard above its critical path',
    value: over,
    unit: 'ms',
    runs: crit.length,
    mark: { max: 300 },
    detail: `critical path (the engine's own steps, one after the other: network create ${(lat.network * 1000).toFixed(0)} ms + start ${(lat.start * 1000).toFixed(0)} ms x3 + each level's start->healthy): ${path.toFixed(0)} ms`,
  });
}
