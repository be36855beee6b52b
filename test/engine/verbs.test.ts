import { spawn } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import './setup.js';
import { BASE, docker, useProjects } from '../helpers/engine.js';
import { CLI } from '../helpers/fs.js';

const project = useProjects(afterEach);

const IMG = '${DOCKYARD_BASE_IMAGE}';

describe('logs, exec, run, port, top', () => {
  it('logs: prefixed lines, --tail, --no-log-prefix, -t, --since', () => {
    const p = project({ 'compose.yaml': `services:\n  talk:\n    image: ${IMG}\n    command: ["sh", "-c", "for i in 1 2 3 4 5; do echo line $$i; done; echo oops >&2"]\n` });
    p.ok(['up', '-d', '--wait']);
    const all = p.ok(['logs']).stdout;
    expect(all).toMatch(new RegExp(`^${p.name}-talk-1 \\| line 1\\n`));
    expect(all).toMatch(/\| oops\n/);
    expect(p.ok(['logs', '--tail', '2', '--no-log-prefix']).stdout.split('\n').filter(Boolean)).toHaveLength(2);
    expect(p.ok(['logs', '-t', '--tail', '1']).stdout).toMatch(/\| \d{4}-\d\d-\d\dT[\d:.]+Z /);
    expect(p.ok(['logs', '--since', '2099-01-01T00:00:00Z']).stdout).toBe('');
    expect(p.ok(['logs', '--index', '2']).stdout).toBe(''); // there is no replica 2
    expect(p.ok(['logs', '--index', '1']).stdout.split('\n').sort()).toEqual(all.split('\n').sort());
    expect(p.run(['logs', 'nope']).code).toBe(2);
  }, 60_000);

  it('exec: exit code, env, user, workdir, stdin', () => {
    const p = project({ 'compose.yaml': `services:\n  app:\n    image: ${IMG}\n    init: true\n    command: ["sleep", "600"]\n    environment: {FROM_COMPOSE: yes}\n` });
    p.ok(['up', '-d']);
    expect(p.run(['exec', '-T', 'app', 'sh', '-c', 'exit 5']).code).toBe(5);
    expect(p.ok(['exec', '-T', '-e', 'X=1', '-w', '/tmp', '-u', 'nobody', 'app', 'sh', '-c', 'echo $X $FROM_COMPOSE $(pwd) $(id -u)']).stdout).toBe('1 yes /tmp 65534\n');
    expect(p.ok(['exec', '-T', 'app', 'wc', '-l'], { input: 'a\nb\nc\n' }).stdout.trim()).toBe('3');
    // -d returns at once and leaves the command running
    const t0 = Date.now();
    expect(p.ok(['exec', '-d', 'app', 'sh', '-c', 'sleep 3; touch /tmp/detached-done']).stdout).toBe('');
    expect(Date.now() - t0).toBeLessThan(2500);
    expect(docker('exec', `${p.name}-app-1`, 'sh', '-c', 'sleep 4; ls /tmp/detached-done')).toBe('/tmp/detached-done');
    expect(p.run(['exec', '-T', 'missing', 'true']).code).toBe(2);
  }, 60_000);

  it('run: one-off containers with --rm, -e, --no-deps, exit codes, and dependencies started', () => {
    const p = project({
      'compose.yaml': `services:\n  db:\n    image: ${IMG}\n    init: true\n    command: ["sleep", "600"]\n  tool:\n    image: ${IMG}\n    command: ["echo", "default"]\n    depends_on: [db]\n`,
    });
    const r = p.ok(['run', '--rm', '-e', 'V=42', 'tool', 'sh', '-c', 'echo got $V; exit 0']);
    expect(r.stdout).toBe('got 42\n');
    expect(p.containers().map((c) => c.service)).toEqual(['db']); // removed (--rm), db started
    expect(p.run(['run', '--rm', '--no-deps', 'tool', 'sh', '-c', 'exit 9']).code).toBe(9);
    const named = p.ok(['run', '--rm', '--no-deps', '--name', `${p.name}-custom`, '-u', 'nobody', '-w', '/tmp', '--entrypoint', 'sh', 'tool', '-c', 'echo $(id -u) $(pwd) $(hostname)']);
    expect(named.stdout).toMatch(/^65534 \/tmp \S+\n$/);
    const kept = p.ok(['run', 'tool']);
    expect(kept.stdout).toBe('default\n');
    const oneoff = docker('ps', '-a', '--filter', `label=com.docker.compose.project=${p.name}`, '--filter', 'label=com.docker.compose.oneoff=True', '--format', '{{.Names}}');
    expect(oneoff).toMatch(new RegExp(`^${p.name}-tool-run-[0-9a-f]{12}$`));
  }, 60_000);

  it('port and top; ports short and long syntax, ranges, UDP, host IP, ephemeral (conformance: UDP port)', () => {
    const p = project({
      'compose.yaml': `services:
  web:
    image: ${IMG}
    init: true
    command: ["httpd", "-f", "-p", "80"]
    ports:
      - "127.0.0.1::80"
      - "53/udp"
      - target: 81
        published: "0"
        protocol: tcp
      - "127.0.0.1:0:82"
`,
    });
    p.ok(['up', '-d']);
    const ep = p.ok(['port', 'web', '80']).stdout.trim();
    expect(ep).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(p.ok(['port', '--protocol', 'udp', 'web', '53']).stdout).toMatch(/:\d+\n$/);
    const ports = p.inspect(`${p.name}-web-1`).HostConfig.PortBindings as Record<string, unknown>;
    expect(Object.keys(ports).sort()).toEqual(['53/udp', '80/tcp', '81/tcp', '82/tcp']);
    expect(p.run(['port', 'web', '9999']).code).toBe(2);
    expect(p.ok(['top', 'web']).stdout).toMatch(/httpd -f -p 80/);
  }, 60_000);
});

describe('attached up', () => {
  it('streams prefixed logs and returns when the containers exit; --exit-code-from', () => {
    const p = project({
      'compose.yaml': `services:\n  test:\n    image: ${IMG}\n    command: ["sh", "-c", "echo running tests; sleep 1; exit 3"]\n  db:\n    image: ${IMG}\n    init: true\n    command: ["sleep", "600"]\n`,
    });
    const r = p.run(['up', '--exit-code-from', 'test']);
    expect(r.code).toBe(3);
    expect(r.stdout).toMatch(new RegExp(`${p.name}-test-1 +\\| running tests`));
    expect(r.stderr).toMatch(/Aborting on container exit/);
    // --abort-on-container-exit stopped db as well
    expect(p.containers().find((c) => c.service === 'db')?.state).toBe('exited');
  }, 60_000);

  it('Ctrl-C stops the project cleanly', async () => {
    const p = project({ 'compose.yaml': `services:\n  a:\n    image: ${IMG}\n    init: true\n    command: ["sh", "-c", "echo started; exec sleep 600"]\n` });
    const child = spawn(process.execPath, [CLI, '-p', p.name, 'up'], { cwd: p.dir, env: { ...process.env, DOCKYARD_BASE_IMAGE: BASE } });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const deadline = Date.now() + 30_000;
    while (!/\| started/.test(out) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    child.kill('SIGINT');
    const code = await new Promise<number | null>((r) => child.on('exit', r));
    expect(out).toMatch(/Gracefully stopping/);
    expect(code).toBe(0);
    expect(p.containers().map((c) => c.state)).toEqual(['exited']);
  }, 60_000);
});
