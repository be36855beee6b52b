/** Leased environments: parallel acquisitions, release, gc of expired and orphaned leases, dockyard test. */
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import './setup.js';
import { acquireEnvironment, gcEnvironments, healthReport, listEnvironments, releaseEnvironment, DockyardError } from 'dockyard';
import type { Lease } from 'dockyard';
import { BASE, docker } from '../helpers/engine.js';
import { cleanupTrees, cli, tree } from '../helpers/fs.js';

const STACK = `services:
  db:
    image: \${DOCKYARD_BASE_IMAGE}
    init: true
    command: ["sh", "-c", "touch /tmp/ok; exec sleep 600"]
    healthcheck: {test: ["CMD", "test", "-f", "/tmp/ok"], interval: 1s, start_interval: 100ms, start_period: 30s}
  api:
    image: \${DOCKYARD_BASE_IMAGE}
    init: true
    command: ["sh", "-c", "mkdir -p /www && echo '{\\"status\\":\\"ok\\"}' > /www/health && exec httpd -f -p 8000 -h /www"]
    ports: ["8080:8000"]
    depends_on: {db: {condition: service_healthy}}
    healthcheck: {test: ["CMD-SHELL", "timeout 2 wget -q -O /dev/null http://127.0.0.1:8000/health"], interval: 1s, start_interval: 100ms, start_period: 30s}
  worker:
    image: \${DOCKYARD_BASE_IMAGE}
    init: true
    command: ["sleep", "600"]
    depends_on: [api]
`;

const dir = tree({ 'compose.yaml': STACK });
const environment = { ...process.env, DOCKYARD_BASE_IMAGE: BASE };
const made: string[] = [];
afterAll(async () => {
  for (const n of made) await releaseEnvironment(n).catch(() => undefined);
  cleanupTrees();
});
const leaseContainers = (name: string) => docker('ps', '-aq', '--filter', `label=com.docker.compose.project=${name}`);

describe('leased environments', () => {
  it('8 acquisitions of the same file at once: distinct names and ports, all healthy and answering; released without a trace', async () => {
    const leases: Lease[] = await Promise.all(Array.from({ length: 8 }, () => acquireEnvironment({ workingDir: dir, environment, ttl: '10m' })));
    made.push(...leases.map((l) => l.name));
    expect(new Set(leases.map((l) => l.name)).size).toBe(8);
    const ports = leases.map((l) => l.services.api!.ports['8000/tcp']!);
    expect(new Set(ports).size).toBe(8);
    expect(ports).not.toContain(8080); // the file's fixed host port is never used by a lease
    for (const l of leases) {
      expect(l.services.db!.health).toBe('healthy');
      expect(l.services.api!.health).toBe('healthy');
      expect(l.services.worker!.state).toBe('running');
      const res = await fetch(`${l.services.api!.url(8000)}/health`);
      expect(await res.json()).toEqual({ status: 'ok' });
    }
    // bound to 127.0.0.1 only
    expect(docker('port', `${leases[0]!.name}-api-1`, '8000')).toMatch(/^127\.0\.0\.1:\d+$/);
    const listed = (await listEnvironments()).map((l) => l.name);
    for (const l of leases) expect(listed).toContain(l.name);
    const report = await healthReport(leases[0]!.name);
    expect(report.map((r) => `${r.service}:${r.status}`)).toEqual(['api:healthy', 'db:healthy', 'worker:running']);
    await Promise.all(leases.map((l) => l.release()));
    await leases[0]!.release(); // idempotent
    for (const l of leases) {
      expect(leaseContainers(l.name)).toBe('');
      expect(docker('network', 'ls', '-q', '--filter', `label=com.docker.compose.project=${l.name}`)).toBe('');
      expect(docker('volume', 'ls', '-q', '--filter', `label=com.docker.compose.project=${l.name}`)).toBe('');
    }
  }, 180_000);

  it('gc removes an expired lease and leaves a live one; renew extends a lease', async () => {
    // live first: an acquire reclaims expired leases itself, and the short one's clock runs from
    // the start of its acquire (a slow start can leave it expired on return)
    const live = await acquireEnvironment({ workingDir: dir, environment, ttl: '1h', services: ['db'] });
    const short = await acquireEnvironment({ workingDir: dir, environment, ttl: 1500, services: ['db'] });
    made.push(short.name, live.name);
    const before = live.expiresAt;
    expect((await live.renew('2h')).getTime()).toBeGreaterThan(before.getTime());
    await new Promise((r) => setTimeout(r, Math.max(0, short.expiresAt.getTime() - Date.now()) + 200));
    const removed = await gcEnvironments();
    expect(removed).toContain(short.name);
    expect(removed).not.toContain(live.name);
    expect(leaseContainers(short.name)).toBe('');
    expect(leaseContainers(live.name)).not.toBe('');
    expect((await listEnvironments()).find((l) => l.name === live.name)!.expiresAt.getTime()).toBe(live.expiresAt.getTime());
    await live.release();
  }, 120_000);

  it('a lease whose owner process was killed is reclaimed by gc (and by the next acquire)', async () => {
    const script = `
      const { acquireEnvironment } = await import('dockyard');
      const l = await acquireEnvironment({ workingDir: ${JSON.stringify(dir)}, services: ['db'] });
      console.log(l.name);
      setInterval(() => {}, 1000);`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { cwd: process.cwd(), env: environment, stdio: ['ignore', 'pipe', 'inherit'] });
    const name = await new Promise<string>((resolve) => child.stdout.on('data', (b: Buffer) => resolve(b.toString().trim())));
    made.push(name);
    expect(leaseContainers(name)).not.toBe('');
    expect((await gcEnvironments())).not.toContain(name); // its owner is alive
    child.kill('SIGKILL');
    await new Promise((r) => child.on('exit', r));
    expect(await gcEnvironments()).toContain(name);
    expect(leaseContainers(name)).toBe('');
  }, 120_000);

  it('dockyard/vitest: the example global setup leases the shop for a test run and releases it', () => {
    const before = new Set(docker('ps', '-aq', '--filter', 'label=dev.dockyard.lease').split('\n').filter(Boolean));
    const r = spawnSync(process.execPath, [join('node_modules', 'vitest', 'vitest.mjs'), 'run', '--config', 'examples/shop/vitest.config.ts'], { encoding: 'utf8', env: environment, timeout: 170_000 });
    expect(r.stdout + r.stderr).toMatch(/2 passed/);
    expect(r.status).toBe(0);
    const after = docker('ps', '-aq', '--filter', 'label=dev.dockyard.lease').split('\n').filter((x) => x && !before.has(x));
    expect(after).toEqual([]);
  }, 180_000);

  it('a fixed container_name is refused: it cannot be isolated', async () => {
    const d = tree({ 'compose.yaml': `services:\n  a:\n    image: x\n    container_name: fixed\n` });
    const e = await acquireEnvironment({ workingDir: d, environment }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(DockyardError);
    expect((e as DockyardError).message).toMatch(/service "a" has a fixed container_name \("fixed"\)/);
  });

  it('dockyard test runs a command with the lease\'s ports and URLs, passes its exit code through, and releases', () => {
    const r = cli(['test', '--', 'sh', '-c', 'echo "$DOCKYARD_ENV $API_PORT_8000"; wget -qO- "$API_URL/health"; exit 7'], { cwd: dir, env: { DOCKYARD_BASE_IMAGE: BASE }, timeoutMs: 120_000 });
    expect(r.code).toBe(7);
    const [name, port] = r.stdout.split('\n')[0]!.split(' ');
    expect(name).toMatch(/^dy-/);
    expect(Number(port)).toBeGreaterThan(0);
    expect(r.stdout).toMatch(/\{"status":"ok"\}/);
    expect(leaseContainers(name!)).toBe('');
    // env acquire / ls / health / renew / release from the command line
    const acq = cli(['env', 'acquire', '--format', 'json', '--ttl', '5m'], { cwd: dir, env: { DOCKYARD_BASE_IMAGE: BASE }, timeoutMs: 120_000 });
    expect(acq.code).toBe(0);
    const lease = JSON.parse(acq.stdout) as { name: string; expiresAt: string; services: Record<string, { state: string; health?: string; ports: Record<string, number> }> };
    made.push(lease.name);
    expect(lease.services.api).toMatchObject({ state: 'running', health: 'healthy', ports: { '8000/tcp': expect.any(Number) } });
    const ls = JSON.parse(cli(['env', 'ls', '--format', 'json']).stdout) as Array<{ name: string }>;
    expect(ls.map((l) => l.name)).toContain(lease.name);
    expect(cli(['env', 'health', lease.name]).stdout).toMatch(/^api \(.*\): healthy$/m);
    expect(cli(['env', 'renew', lease.name, '--ttl', '20m']).stdout).toMatch(/^\d{4}-/);
    expect(cli(['env', 'release', lease.name]).code).toBe(0);
    expect(leaseContainers(lease.name)).toBe('');
  }, 180_000);
});
