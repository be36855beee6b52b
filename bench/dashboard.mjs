// dashboard: in a real browser (Debian's chromium through playwright-core), with the engine's own
// clock as the start: an engine event (pause / unpause of a container) until the page shows it
// painted; the first paint of a 30-service stack (navigation until all 30 rows show their state,
// painted); 1,000 log lines a second into the page for DOCKYARD_BENCH_FLOOD_S seconds (default 60,
// the issue's minute; 8 in a quick run), with the page's responsiveness (longest frame,
// a round trip into the page) and its memory (JS heap, DOM nodes, lines kept) at the start and the end.
// Figures only dockyard has (v1 has no dashboard): no baseline.
//
//   node bench/dashboard.mjs        (npm run build first; bench/run.mjs runs it as `dashboard`)
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as lib from './lib.mjs';

const IMAGE = process.env.DOCKYARD_TEST_IMAGE ?? 'dockyard-test/busybox:latest';
const CHROMIUM = process.env.DOCKYARD_CHROMIUM ?? '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--enable-precise-memory-info'];
const FLOOD_S = Number(process.env.DOCKYARD_BENCH_FLOOD_S ?? (lib.QUICK ? 8 : 60));
// 1,000 lines a second by the clock, not by a loop's pace: every 50 ms the lines due since the start
// (10 per centisecond of /proc/uptime) are written, so a loop slowed by the machine's load catches up
// ($$: a dollar in a Compose file)
const FLOOD_SH =
  'read u _ < /proc/uptime; s=$${u%.*}$${u#*.}; n=0; ' +
  'while :; do read u _ < /proc/uptime; due=$$(( ($${u%.*}$${u#*.} - s) * 10 )); k=$$((due - n)); ' +
  'if [ $$k -gt 0 ]; then yes "flood $$n lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor" | head -n $$k; n=$$due; fi; usleep 50000; done';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const pct = (xs, p) => [...xs].map((x) => (Number.isFinite(x) ? x : Infinity)).sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil((xs.length * p) / 100) - 1)];
const med = (xs) => pct(xs, 50);
// lib.mjs's figure() where it has one; else a plain line
const figure =
  lib.figure ??
  ((f) => {
    const ok = f.mark ? (f.mark.max !== undefined ? f.value <= f.mark.max : f.value >= f.mark.min) : undefined;
    console.log(`${f.name.padEnd(52)} dockyard ${+f.value.toFixed(1)} ${f.unit}${f.mark ? `   (pass mark ${f.mark.max !== undefined ? '≤' : '≥'} ${f.mark.max ?? f.mark.min} ${f.unit})${ok ? '  ok' : '  MISSED'}` : ''}`);
    return { ...f, ok };
  });
const note = lib.note ?? ((t) => console.log(`  ${t}`));

// in the page, before its own script: when a service row's state changes, the time it is painted
// (the frame after the change), on the same clock as the engine (ms since the epoch)
const OBSERVE = `
  window.__seen = [];
  window.__firstPaint = undefined;
  new MutationObserver((ms) => {
    const now = [];
    for (const m of ms) if (m.attributeName === 'data-state' && m.target.dataset.service) now.push({ service: m.target.dataset.service, state: m.target.dataset.state });
    const rows = document.querySelectorAll('tr[data-service][data-state="running"]').length;
    const all = window.__want && rows >= window.__want && window.__firstPaint === undefined;
    if (!now.length && !all) return;
    requestAnimationFrame(() => setTimeout(() => {
      const t = performance.timeOrigin + performance.now();
      for (const n of now) window.__seen.push({ ...n, t });
      if (all && window.__firstPaint === undefined) window.__firstPaint = performance.now();
    }, 0));
  }).observe(document, { subtree: true, attributes: true, attributeFilter: ['data-state'], childList: true });
`;

async function launch() {
  const { chromium } = await import('playwright-core');
  const profile = mkdtempSync(join(tmpdir(), 'dockyard-bench-chromium-'));
  const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: ARGS, viewport: { width: 1280, height: 900 } });
  return { context, close: async () => (await context.close().catch(() => undefined), rmSync(profile, { recursive: true, force: true })) };
}

async function stack(name, compose) {
  const { openProject } = await import('../dist/index.js');
  const dir = mkdtempSync(join(tmpdir(), `dockyard-bench-${name}-`));
  writeFileSync(join(dir, 'compose.yaml'), compose);
  const handle = await openProject({ workingDir: dir, projectName: `benchdash${name}${Math.random().toString(36).slice(2, 6)}` });
  return {
    handle,
    dir,
    down: async () => {
      await handle.down({ volumes: true, removeOrphans: true, timeoutS: 0, onEvent: () => undefined }).catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function benchDashboard() {
  lib.line('\n## dashboard');
  const { serveDashboard } = await import('../dist/dashboard/server.js');
  const browser = await launch();
  const services = Array.from({ length: 30 }, (_, i) => `  s${String(i + 1).padStart(2, '0')}:\n    image: ${IMAGE}\n    init: true\n    command: ["sleep", "3600"]\n`).join('');
  const s30 = await stack('30', `services:\n${services}`);
  try {
    await s30.handle.up({ onEvent: () => undefined });
    const dash = await serveDashboard(s30.handle);
    try {
      await firstPaint(browser, dash);
      await eventToVisible(browser, dash, s30.handle);
    } finally {
      await dash.close();
    }
  } finally {
    await s30.down();
  }
  const flood = await stack(
    'flood',
    `services:\n  flood:\n    image: ${IMAGE}\n    init: true\n    command: ${JSON.stringify(['sh', '-c', FLOOD_SH])}\n  quiet:\n    image: ${IMAGE}\n    init: true\n    command: ["sleep", "3600"]\n`,
  );
  try {
    await flood.handle.up({ onEvent: () => undefined });
    const dash = await serveDashboard(flood.handle);
    try {
      await logFlood(browser, dash, flood.handle);
    } finally {
      await dash.close();
    }
  } finally {
    await flood.down();
    await browser.close();
  }
}

/** Navigation until every one of the 30 rows shows "running", painted; median of RUNS fresh pages. */
async function firstPaint(browser, dash) {
  const runs = lib.QUICK ? 3 : 7;
  const times = [];
  for (let i = -1; i < runs; i++) {
    const page = await browser.context.newPage();
    await page.addInitScript(`window.__want = 30; ${OBSERVE}`);
    await page.goto(dash.url);
    await page.waitForFunction(() => window.__firstPaint !== undefined, undefined, { timeout: 10_000 });
    // from the start of navigation (performance.now() is measured from it)
    if (i >= 0) times.push(await page.evaluate(() => window.__firstPaint));
    await page.close();
  }
  figure({ id: 'dashboard.firstPaint', name: 'dashboard: first paint of a 30-service stack', value: med(times), unit: 'ms', runs, mark: { max: 500 }, detail: `each run ${times.map((t) => t.toFixed(0)).join(', ')} ms` });
}

/** pause / unpause containers; the engine's event time until the page painted the new state. */
async function eventToVisible(browser, dash, handle) {
  const page = await browser.context.newPage();
  page.on('crash', () => note('event to visible: the page crashed'));
  await page.addInitScript(OBSERVE);
  await page.goto(dash.url);
  await page.waitForSelector('tr[data-service="s30"][data-state="running"]');
  const cs = await handle.ps();
  const events = [];
  const sub = await handle.engine.events({ type: ['container'], label: [`com.docker.compose.project=${handle.name}`] }, (e) => {
    if (e.Action === 'pause' || e.Action === 'unpause') events.push({ service: e.Actor.Attributes['com.docker.compose.service'], state: e.Action === 'pause' ? 'paused' : 'running', t: e.timeNano / 1e6 });
  });
  const N = lib.QUICK ? 20 : 60;
  for (let i = 0; i < N; i++) {
    const c = cs[i % cs.length];
    await handle.engine.pauseContainer(c.id);
    await sleep(60);
    await handle.engine.unpauseContainer(c.id);
    await sleep(60);
  }
  await sleep(500);
  sub.close();
  const seen = await page.evaluate(() => window.__seen);
  const lat = events.map((e) => {
    const s = seen.find((x) => x.service === e.service && x.state === e.state && x.t >= e.t - 5);
    return s ? s.t - e.t : NaN;
  });
  await page.close();
  const missing = lat.filter((x) => !Number.isFinite(x)).length;
  figure({ id: 'dashboard.event.p50', name: 'dashboard: engine event visible in the page (p50)', value: pct(lat, 50), unit: 'ms', runs: lat.length, mark: { max: 100 } });
  figure({ id: 'dashboard.event.p95', name: 'dashboard: engine event visible in the page (p95)', value: pct(lat, 95), unit: 'ms', runs: lat.length, mark: { max: 250 }, detail: `${lat.length} events (pause and unpause of 30 containers)${missing ? `, ${missing} never shown` : ''}; max ${Math.max(...lat.filter(Number.isFinite)).toFixed(0)} ms` });
}

/** ~1,000 lines a second: the page's longest frame, round trips into it, its memory, the lines it keeps. */
async function logFlood(browser, dash, handle) {
  const page = await browser.context.newPage();
  await page.goto(dash.url);
  await page.waitForSelector('tr[data-service="flood"][data-state="running"]');
  const cdp = await browser.context.newCDPSession(page);
  await cdp.send('Performance.enable');
  // after a garbage collection: what the page holds, not what it has yet to free
  const metrics = async () => {
    await cdp.send('HeapProfiler.collectGarbage');
    return Object.fromEntries((await cdp.send('Performance.getMetrics')).metrics.map((m) => [m.name, m.value]));
  };
  // the longest gap between two frames, per second (a busy main thread shows here)
  await page.evaluate(() => {
    window.__gaps = [];
    let last = performance.now();
    let worst = 0;
    let since = last;
    const tick = (t) => {
      worst = Math.max(worst, t - last);
      last = t;
      if (t - since >= 1000) {
        window.__gaps.push(worst);
        worst = 0;
        since = t;
      }
      requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
  });
  await sleep(2000);
  const lines0 = dash.view.linesSeen;
  const t0 = Date.now();
  const samples = [];
  const trips = [];
  // the page's own main-thread work (CDP TaskDuration, seconds) between the two samples: how busy the
  // flood keeps it, whatever else the machine is doing
  const busy = [];
  const sample = async () => {
    const m = await metrics();
    busy.push(m);
    const kept = await page.evaluate(() => document.querySelectorAll('#logs .l').length);
    samples.push({ s: (Date.now() - t0) / 1000, heapMb: m.JSHeapUsedSize / 2 ** 20, nodes: m.Nodes, kept, serverMb: process.memoryUsage().rss / 2 ** 20 });
  };
  let sampled = false;
  while (Date.now() - t0 < FLOOD_S * 1000) {
    await sleep(1000);
    const a = performance.now();
    await page.evaluate(() => document.title);
    trips.push(performance.now() - a);
    // memory once the page's line buffer is full (1,500 lines: ~2 s), and at the end
    if (!sampled && Date.now() - t0 > 3000) {
      sampled = true;
      await sample();
    }
  }
  await sample();
  // a filter typed during the flood: until the page has applied it
  const f0 = performance.now();
  await page.fill('#filter', 'flood 1.');
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => r())));
  const filterMs = performance.now() - f0;
  const rate = (dash.view.linesSeen - lines0) / ((Date.now() - t0) / 1000);
  const gaps = await page.evaluate(() => window.__gaps);
  await page.close();
  const [early, end] = [samples[0], samples.at(-1)];
  const busyShare = ((busy.at(-1).TaskDuration - busy[0].TaskDuration) / (end.s - early.s)) * 100;
  const heapGrowth = end.heapMb - early.heapMb;
  note(`log flood: ${rate.toFixed(0)} lines/s into the page for ${FLOOD_S} s ${FLOOD_S < 60 ? " (the issue's minute shortened)" : ''}: lines kept ${early.kept} → ${end.kept}, DOM nodes ${early.nodes} → ${end.nodes}, JS heap ${early.heapMb.toFixed(1)} → ${end.heapMb.toFixed(1)} MB, server RSS ${early.serverMb.toFixed(0)} → ${end.serverMb.toFixed(0)} MB`);
  figure({ id: 'dashboard.flood.rate', name: 'dashboard: log lines a second into the page', value: rate, unit: 'count', mark: { min: 900 } });
  figure({ id: 'dashboard.flood.frame', name: 'dashboard: longest frame under the flood (p95 of seconds)', value: pct(gaps.slice(1), 95), unit: 'ms', runs: gaps.length, mark: { max: 250 }, detail: `worst ${Math.max(...gaps).toFixed(0)} ms; a round trip into the page p95 ${pct(trips, 95).toFixed(0)} ms; a typed filter applied in ${filterMs.toFixed(0)} ms` });
  figure({ id: 'dashboard.flood.busy', name: 'dashboard: page main thread busy under the flood', value: busyShare, unit: '%', mark: { max: 50 } });
  figure({ id: 'dashboard.flood.heap', name: 'dashboard: page JS heap growth under the flood', value: heapGrowth, unit: 'MB', mark: { max: 10 }, detail: `from second ${early.s.toFixed(0)} to ${end.s.toFixed(0)}` });
  figure({ id: 'dashboard.flood.nodes', name: 'dashboard: DOM nodes at the end of the flood', value: end.nodes, unit: 'count', mark: { max: 10_000 }, detail: `${end.kept} log lines kept (the page keeps 1,500)` });
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await benchDashboard();
