/**
 * The dashboard in a real browser (Debian's chromium through playwright-core), on the shop example
 * running on the engine: the page lists its services, follows what the engine does (a `docker stop`
 * from outside, a line written in a container), drives it (the restart button), refuses an action
 * without the URL's token, serves two pages at once, and `up --dashboard` serves it from the CLI.
 * The README's screenshot is taken here (written to docs/dashboard.png with DOCKYARD_SCREENSHOT=1).
 */
import { copyFileSync } from 'node:fs';
import { execFile } from 'node:child_process';
import { request } from 'node:http';
import { promisify } from 'node:util';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import './setup.js';
import { openProject } from 'dockyard';
import type { ProjectHandle } from 'dockyard';
import { serveDashboard } from '../../dist/dashboard/server.js';
import type { Dashboard } from '../../dist/dashboard/server.js';
import { BASE, TestProject } from '../helpers/engine.js';
import { launchBrowser } from '../helpers/browser.js';
import type { TestBrowser } from '../helpers/browser.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const SHOP = join(ROOT, 'examples', 'shop');

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });

/** fetch() will not send another Host header: node:http will */
const statusOf = (port: number, path: string, host: string) =>
  new Promise<number>((resolve, reject) => {
    request({ port, host: '127.0.0.1', path, headers: { host } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    })
      .on('error', reject)
      .end();
  });

/**
 * The docker CLI without blocking: the dashboard serves from this very process, and a synchronous
 * child process would hold its events back for as long as the command runs.
 */
const run = promisify(execFile);
const dockerA = async (...args: string[]) => (await run('docker', args, { encoding: 'utf8' })).stdout.trim();
const startedAt = (container: string) => dockerA('inspect', '-f', '{{.State.StartedAt}}', container);

describe('dashboard (real browser)', () => {
  // the shop example under a project name of the test's own; cleaned up by label whatever happens
  const shop = new TestProject({}, 'shop');
  let handle: ProjectHandle;
  let dash: Dashboard;
  let browser: TestBrowser;

  beforeAll(async () => {
    const [webPort, apiPort] = [await freePort(), await freePort()];
    const launching = launchBrowser();
    handle = await openProject({ workingDir: SHOP, projectName: shop.name, environment: { DOCKYARD_BASE_IMAGE: BASE, WEB_PORT: String(webPort), API_PORT: String(apiPort) } });
    const { timeline } = await handle.up({ wait: true, waitTimeoutMs: 60_000, onEvent: () => undefined });
    dash = await serveDashboard(handle, { timeline });
    browser = await launching;
  });

  afterAll(async () => {
    await dash?.close();
    await browser?.close();
    shop.cleanup();
  });

  const row = (page: import('playwright-core').Page, service: string) => page.locator(`tr[data-service="${service}"]`);

  it('lists the services of the running stack, with state, health, ports and the startup timeline; README screenshot', async () => {
    expect(dash.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/\?token=[\w-]{20,}$/);
    const page = await browser.page(dash.url);
    for (const s of ['db', 'api', 'web', 'worker']) await expect.poll(() => row(page, s).getAttribute('data-state')).toBe('running');
    await expect.poll(() => row(page, 'migrate').getAttribute('data-state')).toBe('exited');
    expect(await row(page, 'migrate').getAttribute('data-exit')).toBe('0');
    await expect.poll(() => row(page, 'db').getAttribute('data-health')).toBe('healthy');
    await expect.poll(() => row(page, 'api').getAttribute('data-health')).toBe('healthy');
    expect(await row(page, 'worker').locator('[data-container]').count()).toBe(2);
    // the published port is a link to the port the engine chose
    const web = (await dockerA('port', `${shop.name}-web-1`, '80/tcp')).split('\n')[0]!.split(':').at(-1);
    expect(await row(page, 'web').locator('a').first().getAttribute('href')).toBe(`http://127.0.0.1:${web}/`);
    expect(await page.locator('#timeline svg rect[data-timeline="api"]').count()).toBe(1);
    await expect.poll(() => page.locator('.l[data-service="worker"]').count()).toBeGreaterThan(0);
    const shot = join(tmpdir(), `dockyard-dashboard-${shop.name}.png`);
    await page.screenshot({ path: shot, fullPage: true });
    if (process.env.DOCKYARD_SCREENSHOT === '1') copyFileSync(shot, join(ROOT, 'docs', 'dashboard.png'));
    await page.close();
  });

  it('a container stopped with `docker stop` shows as exited within a second; two pages at once, one closed mid-stream', async () => {
    const [a, b] = [await browser.page(dash.url), await browser.page(dash.url)];
    for (const p of [a, b]) await expect.poll(() => row(p, 'web').getAttribute('data-state')).toBe('running');
    await expect.poll(() => dash.clients).toBe(2);
    // each page notes when its row turned to exited, against the engine's own time of the exit
    for (const p of [a, b]) {
      await p.evaluate(() => {
        const tr = document.querySelector('tr[data-service="web"]')!;
        new MutationObserver(() => {
          if (tr.getAttribute('data-state') === 'exited') (window as unknown as { exitedAt?: number }).exitedAt ??= Date.now();
        }).observe(tr, { attributes: true, attributeFilter: ['data-state'] });
      });
    }
    await dockerA('stop', '-t', '1', `${shop.name}-web-1`);
    const finished = Date.parse(await dockerA('inspect', '-f', '{{.State.FinishedAt}}', `${shop.name}-web-1`));
    for (const p of [a, b]) {
      await p.waitForSelector('tr[data-service="web"][data-state="exited"]', { timeout: 5000 });
      const seen = await p.evaluate(() => (window as unknown as { exitedAt: number }).exitedAt);
      expect(seen - finished).toBeLessThan(1000);
    }
    // one page goes away mid-stream: the other goes on, and the server forgets the closed one
    await b.close();
    await expect.poll(() => dash.clients).toBe(1);
    await dockerA('start', `${shop.name}-web-1`);
    await a.waitForSelector('tr[data-service="web"][data-state="running"]', { timeout: 1000 });
    await a.close();
  });

  it('a log line written in a container appears', async () => {
    const page = await browser.page(dash.url);
    await page.waitForSelector('#conn[data-connected="true"]');
    const marker = `marker-${Date.now()}`;
    await dockerA('exec', `${shop.name}-api-1`, 'sh', '-c', `echo ${marker} > /proc/1/fd/1`);
    const line = page.locator('.l[data-service="api"]', { hasText: marker });
    await line.waitFor({ timeout: 2000 });
    // the filter keeps only what matches
    await page.fill('#filter', marker);
    await expect.poll(() => page.locator('.l[data-service]:not(.h)').count()).toBe(1);
    await page.close();
  });

  it('the restart button restarts the container (the engine\'s StartedAt changes) and shows the result', async () => {
    const page = await browser.page(dash.url);
    const before = await startedAt(`${shop.name}-web-1`);
    await row(page, 'web').locator('button[data-action="restart"]').click();
    await expect.poll(() => startedAt(`${shop.name}-web-1`), { timeout: 20_000 }).not.toBe(before);
    await page.waitForSelector('[data-activity][data-service="web"][data-state="done"]', { timeout: 20_000 });
    await expect.poll(() => row(page, 'web').getAttribute('data-state')).toBe('running');
    await page.close();
  });

  it('an action without the token (or with another) is refused, and changes nothing', async () => {
    const before = await startedAt(`${shop.name}-web-1`);
    const base = dash.url.replace(/\?.*/, '');
    const post = (headers: Record<string, string>, query = '') => fetch(`${base}api/actions${query}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ action: 'stop', service: 'web' }) });
    expect((await post({})).status).toBe(403);
    expect((await post({ 'x-dockyard-token': 'guess' })).status).toBe(403);
    expect((await post({}, '?token=')).status).toBe(403);
    // nor can the page be read without it, nor reached under another host name (DNS rebinding)
    expect((await fetch(`${base}events`)).status).toBe(403);
    expect(await statusOf(dash.port, `/?token=${dash.token}`, 'evil.example')).toBe(403);
    expect(await statusOf(dash.port, `/?token=${dash.token}`, `localhost:${dash.port}`)).toBe(200);
    // a page of another origin that learnt the token still cannot post
    expect((await post({ 'x-dockyard-token': dash.token, origin: 'http://evil.example' })).status).toBe(403);
    // the page loaded without its token shows nothing and its action is refused
    const page = await browser.page(base);
    const status = await page.evaluate(async () => (await fetch('/api/actions', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"action":"stop","service":"web"}' })).status);
    expect(status).toBe(403);
    await page.close();
    await new Promise((r) => setTimeout(r, 300));
    expect(await startedAt(`${shop.name}-web-1`)).toBe(before);
    expect(await dockerA('inspect', '-f', '{{.State.Status}}', `${shop.name}-web-1`)).toBe('running');
  });
});

describe('up --dashboard (CLI)', () => {
  const p = new TestProject({
    'compose.yaml': `services:
  app:
    image: \${DOCKYARD_BASE_IMAGE}
    init: true
    command: ["sh", "-c", "echo app says hello; exec sleep 600"]
  side:
    image: \${DOCKYARD_BASE_IMAGE}
    init: true
    command: ["sleep", "600"]
    depends_on: [app]
`,
  });
  let browser: TestBrowser | undefined;
  afterAll(async () => {
    await browser?.close();
    p.cleanup();
  });

  it('serves the page while the stack runs (up -d --dashboard: until Ctrl-C), with up\'s progress and timeline', async () => {
    const bg = p.start(['up', '-d', '--dashboard']);
    try {
      await bg.until(/dashboard: (http:\/\/127\.0\.0\.1:\d+\/\?token=\S+)/);
      const url = /dashboard: (http:\/\/\S+)/.exec(bg.err)![1]!;
      await bg.until(/critical path|started/);
      browser = await launchBrowser();
      const page = await browser.page(url);
      for (const s of ['app', 'side']) await expect.poll(() => page.locator(`tr[data-service="${s}"]`).getAttribute('data-state')).toBe('running');
      await page.locator('.l[data-service="app"]', { hasText: 'app says hello' }).waitFor({ timeout: 5000 });
      await expect.poll(() => page.locator('#timeline svg rect[data-timeline]').count()).toBe(2);
      await page.waitForSelector('[data-activity][data-state="done"]');
    } finally {
      bg.signal('SIGINT');
    }
    expect(await bg.exited).toBe(0);
    // Ctrl-C ends the page, not the stack
    expect(p.containers().map((c) => c.state)).toEqual(['running', 'running']);
  });
});
