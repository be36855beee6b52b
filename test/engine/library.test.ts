/**
 * The library, imported by its package name as a user's code would, against the real engine.
 * Outcomes are observed from outside: the engine's own state (docker inspect), real HTTP requests.
 */
import { afterEach, describe, expect, it } from 'vitest';
import './setup.js';
import { openProject, DockyardError } from 'dockyard';
import type { LifecycleEvent, ProgressEvent } from 'dockyard';
import { BASE, docker, useProjects } from '../helpers/engine.js';

const project = useProjects(afterEach);
const IMG = '${DOCKYARD_BASE_IMAGE}';
const env = { DOCKYARD_BASE_IMAGE: BASE };
const open = (p: { dir: string; name: string }, more: Parameters<typeof openProject>[0] = {}) => openProject({ workingDir: p.dir, projectName: p.name, environment: env, ...more });

const STACK = `services:
  db:
    image: ${IMG}
    init: true
    command: ["sh", "-c", "sleep 2; touch /tmp/ready; exec sleep 600"]
    healthcheck: {test: ["CMD", "test", "-f", "/tmp/ready"], interval: 1s, start_interval: 200ms, start_period: 10s, retries: 30}
  web:
    image: ${IMG}
    init: true
    command: ["sh", "-c", "mkdir -p /www && echo hello from $$NAME > /www/index.html && exec httpd -f -p 80 -h /www"]
    environment: {NAME: web}
    ports: ["80"]
    depends_on: {db: {condition: service_healthy}}
  side:
    image: ${IMG}
    init: true
    command: ["sh", "-c", "echo side says hi; echo to stderr >&2; exec sleep 600"]
  job:
    image: ${IMG}
    command: ["sh", "-c", "echo job ran; exit 3"]
    profiles: [jobs]
`;

describe('library (import from "dockyard")', () => {
  it('openProject throws the DockyardError the CLI prints, with file, line and key path', async () => {
    const p = project({ 'compose.yaml': 'services:\n  web:\n    image: x\n    enviroment: {A: 1}\n' });
    const e = await open(p).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(DockyardError);
    expect((e as DockyardError).code).toBe('UNKNOWN_KEY');
    expect((e as DockyardError).format()).toMatch(/compose\.yaml:4:5: services\.web\.enviroment: unknown key "enviroment"\n {2}hint: did you mean "environment"/);
  });

  it('environment replaces process.env for interpolation', async () => {
    const p = project({ 'compose.yaml': 'services:\n  web:\n    image: ${IMAGE:-none}\n' });
    const h = await open(p, { environment: { IMAGE: 'from-the-option' } });
    expect(h.model.services.web!.image).toBe('from-the-option');
    expect(h.name).toBe(p.name);
  });

  it('services: a named service\'s profiles are enabled, as the CLI does for `logs job`; without it the service stays disabled', async () => {
    const p = project({ 'compose.yaml': STACK });
    const without = await open(p);
    expect(Object.keys(without.model.services)).not.toContain('job');
    await expect(without.up({ services: ['job'] })).rejects.toThrow(/job/);
    const h = await open(p, { services: ['job'] });
    expect(Object.keys(h.model.services).sort()).toEqual(['db', 'job', 'side', 'web']);
    await h.up({ services: ['job'] });
    // the engine's own record: the job's container ran and exited 3; the other services were not started
    const ps = docker('ps', '-a', '--filter', `label=com.docker.compose.project=${p.name}`, '--format', '{{.Label "com.docker.compose.service"}} {{.State}}').trim().split('\n');
    expect(ps).toHaveLength(1);
    expect(ps[0]).toMatch(/^job (exited|running)$/);
    await h.down();
  });

  it('up (with --wait), ps, port with a real HTTP request, exec, logs, run, stop/start/restart/kill, down', async () => {
    const p = project({ 'compose.yaml': STACK });
    const h = await open(p);
    const progress: ProgressEvent[] = [];
    const { timeline } = await h.up({ wait: true, waitTimeoutMs: 60_000, onEvent: (e) => progress.push(e) });
    expect(timeline.entries.map((e) => e.service).sort()).toEqual(['db', 'side', 'web']);
    expect(progress.some((e) => e.type === 'container' && e.action === 'started')).toBe(true);

    // the engine says: db healthy, web and side running; web started after db was healthy, side
    // (independent) did not wait for it
    const state = (c: string) => JSON.parse(docker('inspect', '--format', '{{json .State}}', `${p.name}-${c}-1`)) as { Status: string; StartedAt: string; Health?: { Log: Array<{ ExitCode: number; End: string }> } };
    const db = state('db');
    expect(db.Status).toBe('running');
    const healthyAt = Date.parse(db.Health!.Log.find((l) => l.ExitCode === 0)!.End);
    expect(Date.parse(state('web').StartedAt)).toBeGreaterThan(healthyAt);
    expect(Date.parse(state('side').StartedAt)).toBeLessThan(healthyAt);

    const ps = await h.ps();
    expect(ps.map((c) => `${c.service}:${c.state}:${c.health ?? '-'}`).sort()).toEqual(['db:running:healthy', 'side:running:-', 'web:running:-']);
    const webRow = ps.find((c) => c.service === 'web')!;
    expect(webRow.name).toBe(`${p.name}-web-1`);
    expect(webRow.ports).toContainEqual(expect.objectContaining({ target: 80, protocol: 'tcp', published: expect.any(Number) }));

    const { host, port } = await h.port('web', 80);
    expect(port).toBe(webRow.ports.find((x) => x.published)!.published);
    const res = await fetch(`http://${host}:${port}/index.html`);
    expect(await res.text()).toBe('hello from web\n');
    await expect(h.port('web', 81)).rejects.toThrow(/port 81\/tcp of service "web" is not published/);
    await expect(h.port('side', 80)).rejects.toThrow(DockyardError);

    const ex = await h.exec('web', ['sh', '-c', 'echo out; echo err >&2; cat; echo $GREETING; exit 7'], { env: { GREETING: 'hi' }, stdin: 'from stdin\n' });
    expect(ex).toEqual({ exitCode: 7, stdout: 'out\nfrom stdin\nhi\n', stderr: 'err\n' });
    expect((await h.exec('web', ['pwd'], { workdir: '/www', user: 'nobody' })).stdout).toBe('/www\n');

    const lines = [];
    for await (const l of h.logs(['side'])) lines.push(l);
    expect(lines.map((l) => `${l.service} ${l.container} ${l.stream} ${l.line}`)).toEqual([`side ${p.name}-side-1 stdout side says hi`, `side ${p.name}-side-1 stderr to stderr`]);
    expect(lines[0]!.time).toBeInstanceOf(Date);

    // a one-off container of a service in a profile: output, exit code; --rm leaves nothing
    const run = await h.run('side', ['sh', '-c', 'echo one-off; cat'], { rm: true, stdin: 'piped' });
    expect(run).toMatchObject({ exitCode: 0, stdout: 'one-off\npiped' });
    expect(docker('ps', '-a', '-q', '--filter', `name=${run.container}`)).toBe('');

    await h.stop(['side']);
    expect(state('side').Status).toBe('exited');
    expect((await h.ps({ all: true })).find((c) => c.service === 'side')).toMatchObject({ state: 'exited', exitCode: expect.any(Number) });
    await h.start(['side']);
    expect(state('side').Status).toBe('running');
    const before = state('web').StartedAt;
    await h.restart(['web']);
    expect(state('web').StartedAt).not.toBe(before);
    await h.kill(['side'], { signal: 'SIGKILL' });
    expect(state('side').Status).toBe('exited');

    await h.down();
    expect(p.containers()).toEqual([]);
    expect(docker('network', 'ls', '-q', '--filter', `label=com.docker.compose.project=${p.name}`)).toBe('');
  }, 120_000);

  it('events: the lifecycle as the engine reports it; logs follow until stopped', async () => {
    const p = project({ 'compose.yaml': STACK });
    const h = await open(p, { profiles: ['jobs'] });
    const events = h.events();
    await events.ready;
    const seen: LifecycleEvent[] = [];
    const collecting = (async () => {
      for await (const e of events) seen.push(e);
    })();
    await h.up({ services: ['job', 'side'] });
    const followed: string[] = [];
    const ac = new AbortController();
    const following = (async () => {
      for await (const l of h.logs(['side'], { follow: true, signal: ac.signal })) followed.push(l.line);
    })();
    await until(() => followed.includes('to stderr'));
    await until(() => seen.some((e) => e.service === 'job' && e.action === 'exited'));
    ac.abort();
    await following;
    await h.down();
    await until(() => seen.filter((e) => e.action === 'removed').length >= 2);
    events.close();
    await collecting;
    const job = seen.filter((e) => e.service === 'job').map((e) => e.action);
    expect(job).toEqual(expect.arrayContaining(['created', 'started', 'exited', 'removed']));
    expect(seen.find((e) => e.service === 'job' && e.action === 'exited')!.exitCode).toBe(3);
    expect(seen.every((e) => e.container.startsWith(`${p.name}-`) && e.time instanceof Date)).toBe(true);
  }, 90_000);

  it('plan: what up would do, and why, touching nothing', async () => {
    const p = project({ 'compose.yaml': `services:\n  a:\n    image: ${IMG}\n    command: ["sleep", "600"]\n    init: true\n` });
    const h = await open(p);
    const plan = await h.plan();
    expect(plan.networks).toEqual([expect.objectContaining({ kind: 'network', name: `${p.name}_default`, action: 'create' })]);
    expect(plan.images).toEqual([expect.objectContaining({ service: 'a', action: 'use', reason: 'present' })]);
    expect(plan.services[0]!.steps).toEqual([{ action: 'create', number: 1, name: `${p.name}-a-1` }]);
    expect(p.containers()).toEqual([]);
  });

  it('await using: the project is brought down, volumes too, however the block ends', async () => {
    const p = project({ 'compose.yaml': `services:\n  a:\n    image: ${IMG}\n    command: ["sleep", "600"]\n    init: true\n    volumes: [data:/data]\nvolumes: {data: {}}\n` });
    await expect(
      (async () => {
        await using h = await open(p);
        await h.up();
        expect(p.containers().map((c) => c.state)).toEqual(['running']);
        throw new Error('the test body failed');
      })(),
    ).rejects.toThrow('the test body failed');
    expect(p.containers()).toEqual([]);
    expect(docker('volume', 'ls', '-q', '--filter', `label=com.docker.compose.project=${p.name}`)).toBe('');
  }, 60_000);
});

async function until(f: () => boolean, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!f()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 50));
  }
}
