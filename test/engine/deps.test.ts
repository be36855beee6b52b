import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import './setup.js';
import { BASE, useProjects } from '../helpers/engine.js';
import { openProject } from 'dockyard';

const project = useProjects(afterEach);

const IMG = '${DOCKYARD_BASE_IMAGE}';
const t = (iso: string) => Date.parse(iso);

describe('depends_on', () => {
  it('waits for service_healthy and service_completed_successfully, in order', () => {
    const p = project({
      'compose.yaml': `services:
  db:
    image: ${IMG}
    init: true
    command: ["sh", "-c", "sleep 1; touch /tmp/ready; exec sleep 600"]
    healthcheck: {test: ["CMD", "test", "-f", "/tmp/ready"], interval: 300ms, retries: 50}
  migrate:
    image: ${IMG}
    command: ["sh", "-c", "sleep 0.5; echo migrated"]
    depends_on: {db: {condition: service_healthy}}
  api:
    image: ${IMG}
    init: true
    command: ["sleep", "600"]
    depends_on:
      db: {condition: service_healthy}
      migrate: {condition: service_completed_successfully}
`,
    });
    const r = p.ok(['up', '-d', '--wait', '--timeline']);
    const db = p.inspect(`${p.name}-db-1`);
    const migrate = p.inspect(`${p.name}-migrate-1`);
    const api = p.inspect(`${p.name}-api-1`);
    expect(db.State.Health.Status).toBe('healthy');
    expect(migrate.State.ExitCode).toBe(0);
    // migrate started only after db became healthy (db needs >= 1 s), api only after migrate finished
    expect(t(migrate.State.StartedAt) - t(db.State.StartedAt)).toBeGreaterThanOrEqual(900);
    expect(t(api.State.StartedAt)).toBeGreaterThanOrEqual(t(migrate.State.FinishedAt));
    expect(r.stderr).toMatch(/up in [\d.]+m?s; critical path: db → migrate → api/);
    expect(r.stderr).toMatch(/\ndb +.*█/);
  }, 60_000);

  it('independent services start at once, without waiting for a slow one; its dependents wait for it (as the engine saw it)', async () => {
    const svcs = Array.from({ length: 6 }, (_, i) => `  s${i}:\n    image: ${IMG}\n    init: true\n    command: ["sleep", "600"]\n`).join('');
    const p = project({
      'compose.yaml': `services:
${svcs}  slow:
    image: ${IMG}
    init: true
    command: ["sh", "-c", "sleep 3; touch /tmp/ok; exec sleep 600"]
    healthcheck: {test: ["CMD", "test", "-f", "/tmp/ok"], interval: 1s, start_interval: 200ms, start_period: 20s}
  after:
    image: ${IMG}
    init: true
    command: ["sleep", "600"]
    depends_on: {slow: {condition: service_healthy}}
`,
    });
    const h = await openProject({ workingDir: p.dir, projectName: p.name, environment: { DOCKYARD_BASE_IMAGE: BASE } });
    await h.up({ wait: true, waitTimeoutMs: 60_000 });
    const state = (c: string) => p.inspect(`${p.name}-${c}-1`).State as { StartedAt: string; Health?: { Log: Array<{ ExitCode: number; End: string }> } };
    const healthyAt = t(state('slow').Health!.Log.find((l) => l.ExitCode === 0)!.End);
    const started = Array.from({ length: 6 }, (_, i) => t(state(`s${i}`).StartedAt));
    // all six were running well before the slow one was healthy (3 s after its start)...
    for (const at of started) expect(at).toBeLessThan(healthyAt - 1000);
    // ...and its dependent started only after
    expect(t(state('after').StartedAt)).toBeGreaterThan(healthyAt);
  }, 60_000);

  it('a failing job stops what depends on it, naming the service, exit code and last log lines', () => {
    const p = project({
      'compose.yaml': `services:
  migrate:
    image: ${IMG}
    command: ["sh", "-c", "echo connecting; echo 'relation users does not exist' >&2; exit 3"]
  api:
    image: ${IMG}
    command: ["sleep", "600"]
    depends_on: {migrate: {condition: service_completed_successfully}}
  side:
    image: ${IMG}
    init: true
    command: ["sleep", "600"]
`,
    });
    const r = p.run(['up', '-d']);
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(/service "migrate" exited with code 3/);
    expect(r.stderr).toMatch(/relation users does not exist/);
    expect(r.stderr).toMatch(/so "api", which depends on it \(service_completed_successfully\), was not started/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(p.containers().map((c) => c.service)).not.toContain('api');
    expect(p.containers().find((c) => c.service === 'side')?.state).toBe('running');
  }, 60_000);

  it('an unhealthy dependency stops its dependents and shows the health check output', () => {
    const p = project({
      'compose.yaml': `services:
  db:
    image: ${IMG}
    init: true
    command: ["sleep", "600"]
    healthcheck: {test: ["CMD-SHELL", "echo db not accepting connections; exit 1"], interval: 200ms, retries: 2}
  api:
    image: ${IMG}
    command: ["sleep", "600"]
    depends_on: {db: {condition: service_healthy}}
`,
    });
    const r = p.run(['up', '-d']);
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(/service "db" is unhealthy/);
    expect(r.stderr).toMatch(/last health check \(exit 1\): db not accepting connections/);
    expect(p.containers().map((c) => c.service)).toEqual(['db']);
  }, 60_000);

  it('a failure two levels up ends the run (nothing waits forever) and leaves no unstarted containers', () => {
    const p = project({
      'compose.yaml': `services:
  a:
    image: ${IMG}
    init: true
    command: ["sleep", "600"]
    healthcheck: {test: ["CMD", "false"], interval: 200ms, retries: 2}
  b:
    image: ${IMG}
    init: true
    command: ["sleep", "600"]
    depends_on: {a: {condition: service_healthy}}
  c:
    image: ${IMG}
    init: true
    command: ["sleep", "600"]
    depends_on: {b: {condition: service_started}}
`,
    });
    const r = p.run(['up', '-d'], { timeoutMs: 30_000 });
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(/service "a" is unhealthy/);
    expect(p.containers().map((c) => c.service)).toEqual(['a']);
  }, 60_000);

  it('required: false lets a dependent start when its dependency fails', () => {
    const p = project({
      'compose.yaml': `services:
  cache:
    image: ${IMG}
    command: ["sh", "-c", "exit 1"]
  api:
    image: ${IMG}
    init: true
    command: ["sleep", "600"]
    depends_on: {cache: {condition: service_completed_successfully, required: false}}
`,
    });
    const r = p.ok(['up', '-d']);
    expect(r.stderr).toMatch(/optional dependency cache of api failed/);
    expect(p.containers().find((c) => c.service === 'api')?.state).toBe('running');
  }, 60_000);

  it('--wait fails on a service that never becomes healthy within --wait-timeout, and writes the timeline SVG', () => {
    const p = project({
      'compose.yaml': `services:
  slow:
    image: ${IMG}
    init: true
    command: ["sleep", "600"]
    healthcheck: {test: ["CMD", "false"], interval: 10s, retries: 3}
  fine:
    image: ${IMG}
    init: true
    command: ["sleep", "600"]
`,
    });
    const r = p.run(['up', '-d', '--wait', '--wait-timeout', '2s']);
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(/service "slow" timed out after 2.0s waiting for slow to be ready/);
    const q = project({ 'compose.yaml': `services:\n  a:\n    image: ${IMG}\n    init: true\n    command: ["sleep", "600"]\n` });
    q.ok(['up', '-d', '--wait', '--timeline-svg', 'tl.svg']);
    const svg = readFileSync(join(q.dir, 'tl.svg'), 'utf8');
    expect(svg).toMatch(/^<svg[^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    expect(svg).toMatch(/<text[^>]*>a<\/text>/);
  }, 60_000);
});
