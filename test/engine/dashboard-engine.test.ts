/**
 * The dashboard as a view of the engine, in a real browser (Debian's chromium through
 * playwright-core): a stack started by docker-compose v1 in another process gets its startup
 * timeline put together from the engine (created, last start, first healthy check; depends_on for
 * the critical path) on a plain `dockyard dashboard`; `dockyard watch --dashboard` shows its watch
 * actions; the plain page shows the copies into the containers and the execs in them that the
 * engine reports (its health checks' execs left out).
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import './setup.js';
import { BASE, TestProject } from '../helpers/engine.js';
import type { Background } from '../helpers/engine.js';
import { launchBrowser } from '../helpers/browser.js';
import type { TestBrowser } from '../helpers/browser.js';

const run = promisify(execFile);
/** the docker CLI without blocking this process's event loop */
const dockerA = async (...args: string[]) => (await run('docker', args, { encoding: 'utf8' })).stdout.trim();

// docker-compose v1 reads this file as it is (no develop: key, which it refuses); dockyard watch adds it
const COMPOSE = `services:
  db:
    image: ${BASE}
    init: true
    command: ["sleep", "600"]
    healthcheck: {test: ["CMD", "true"], interval: 5s, retries: 3}
  init:
    image: ${BASE}
    command: ["sh", "-c", "sleep 1"]
  app:
    image: ${BASE}
    init: true
    command: ["sh", "-c", "mkdir -p /app/src; exec sleep 600"]
    depends_on:
      db: {condition: service_healthy}
      init: {condition: service_completed_successfully}
`;
const WATCH = `services:
  app:
    develop:
      watch:
        - {path: ./src, action: sync, target: /app/src}
`;

const urlOf = (bg: Background) => /dashboard: (http:\/\/127\.0\.0\.1:\d+\/\?token=\S+)/.exec(bg.out + bg.err)![1]!;

describe('dashboard on a stack started elsewhere (docker-compose v1)', () => {
  const p = new TestProject({ 'compose.yaml': COMPOSE, 'watch.yaml': WATCH, 'src/.keep': '' }, 'dyt');
  const bgs: Background[] = [];
  let browser: TestBrowser;
  let plain: Page;
  let app: string;

  beforeAll(async () => {
    const launching = launchBrowser();
    await run('docker-compose', ['-p', p.name, 'up', '-d'], { cwd: p.dir, env: { ...process.env, DOCKER_BUILDKIT: '0' } });
    app = (await dockerA('ps', '--filter', `label=com.docker.compose.project=${p.name}`, '--filter', 'label=com.docker.compose.service=app', '--format', '{{.Names}}')).split('\n')[0]!;
    const dash = p.start(['dashboard']);
    bgs.push(dash);
    await dash.until(/dashboard: http/, 60_000);
    browser = await launching;
    plain = await browser.page(urlOf(dash));
    await plain.waitForSelector('#conn[data-connected="true"]');
  }, 240_000);

  afterAll(async () => {
    for (const bg of bgs) bg.signal('SIGINT');
    await Promise.all(bgs.map((bg) => bg.exited));
    await browser?.close();
    p.cleanup();
  });

  it("draws the startup timeline from the engine: each container's creation, start, first healthy check; critical path along depends_on", async () => {
    await plain.waitForSelector('#timeline [data-timeline-from="engine"]', { timeout: 10_000 });
    expect(await plain.locator('#timeline svg rect[data-timeline]').count()).toBe(3);
    // the page's figures are the engine's: db ready at its first successful check's end
    const ids = (await dockerA('ps', '-aq', '--filter', `label=com.docker.compose.project=${p.name}`)).split('\n');
    const inspected = JSON.parse(await dockerA('inspect', ...ids)) as Array<{ Created: string; Config: { Labels: Record<string, string> }; State: { StartedAt: string; FinishedAt: string; Health?: { Log: Array<{ End: string; ExitCode: number }> } } }>;
    const t0 = Math.min(...inspected.map((c) => Date.parse(c.Created)));
    const of = (s: string) => inspected.find((c) => c.Config.Labels['com.docker.compose.service'] === s)!;
    const firstOk = Date.parse(of('db').State.Health!.Log.find((l) => l.ExitCode === 0)!.End);
    const timeline = await plain.evaluate(() => (window as unknown as { dockyardDashboard: { state: { timeline: { entries: Array<Record<string, number | string>>; criticalPath: { services: string[] } } } } }).dockyardDashboard.state.timeline);
    const entry = (s: string) => timeline.entries.find((e) => e.service === s)!;
    expect(entry('db').ready).toBe(firstOk - t0);
    expect(entry('db').started).toBe(Date.parse(of('db').State.StartedAt) - t0);
    expect(entry('init').exited).toBe(Date.parse(of('init').State.FinishedAt) - t0);
    expect(entry('app').started).toBe(Date.parse(of('app').State.StartedAt) - t0);
    expect(entry('app').deps).toEqual(['db', 'init']);
    // db turned healthy after ~5 s (its interval), init was done in ~1 s: db decided app's start
    expect(timeline.criticalPath.services).toEqual(['db', 'app']);
    expect(await plain.locator('#timeline').innerText()).toMatch(/critical path db → app/);
  });

  it('watch --dashboard shows its watch actions; the plain page shows the copy the engine reports, and execs (not health checks)', async () => {
    const w = p.start(['-f', 'compose.yaml', '-f', 'watch.yaml', 'watch', '--no-up', '--dashboard']);
    bgs.push(w);
    await w.until(/following 1 rule/, 60_000);
    const page = await browser.page(urlOf(w));
    await page.waitForSelector('#conn[data-connected="true"]');
    p.writeFile('src/hello.txt', 'hello\n');
    // the watch process's page: the action, with its timing; the engine's report of its copy folded into it
    await page.locator('[data-activity][data-kind="watch"][data-service="app"][data-state="done"]', { hasText: 'watch sync app' }).waitFor({ timeout: 15_000 });
    expect(await page.locator('[data-activity][data-kind="watch"]').innerText()).toMatch(/1 file\(s\) to .*app.* in \d+ ms/);
    await expect.poll(() => page.locator('[data-activity][data-kind="copy"]').count()).toBe(0);
    expect(await dockerA('exec', app, 'cat', '/app/src/hello.txt')).toBe('hello');
    // the plain page (another process, no watch of its own): what the engine said
    await plain.locator(`[data-activity][data-kind="copy"][data-container="${app}"]`, { hasText: `files copied into ${app}` }).waitFor({ timeout: 5000 });
    await expect(dockerA('exec', app, 'sh', '-c', 'exit 3')).rejects.toThrow();
    await plain.locator(`[data-activity][data-kind="exec"][data-container="${app}"][data-state="failed"]`, { hasText: 'exited with code 3' }).waitFor({ timeout: 5000 });
    // db's health check runs `true` every 5 s: none of those execs is activity
    await new Promise((r) => setTimeout(r, 6000));
    // (the test's own two execs, newest first)
    expect(await plain.locator('[data-activity][data-kind="exec"]').allInnerTexts()).toEqual([expect.stringMatching(/^exec sh -c exit 3 in .* failed in \d+ ms/), expect.stringMatching(/^exec cat \/app\/src\/hello.txt in .* done in \d+ ms/)]);
    await page.close();
  }, 120_000);
});

describe('up --watch --dashboard', () => {
  const p = new TestProject({ 'compose.yaml': `services:\n  app:\n    image: ${BASE}\n    init: true\n    command: ["sleep", "600"]\n${WATCH.replace('services:\n  app:\n', '')}`, 'src/.keep': '' }, 'dyt');
  let browser: TestBrowser | undefined;
  afterAll(async () => {
    await browser?.close();
    p.cleanup();
  });

  it('feeds every watch action into the page', async () => {
    const bg = p.start(['up', '-d', '--watch', '--dashboard']);
    try {
      await bg.until(/following 1 rule/, 90_000);
      browser = await launchBrowser();
      const page = await browser.page(urlOf(bg));
      await page.waitForSelector('#conn[data-connected="true"]');
      p.writeFile('src/a.txt', 'a\n');
      await page.locator('[data-activity][data-kind="watch"][data-service="app"][data-state="done"]', { hasText: 'watch sync app' }).waitFor({ timeout: 15_000 });
      // the same line on stderr as without --dashboard
      await bg.until(/watch: app {2}sync 1 file {2}\d+ ms/);
    } finally {
      bg.signal('SIGINT');
    }
    expect(await bg.exited).toBe(0);
  }, 150_000);
});
