/** docker compose parity: exit codes of attached runs, start with dependencies. */
import { afterEach, describe, expect, it } from 'vitest';
import './setup.js';
import { docker, useProjects } from '../helpers/engine.js';

const project = useProjects(afterEach);
const IMG = '${DOCKYARD_BASE_IMAGE}';

describe('docker compose parity', () => {
  it('up --abort-on-container-exit exits with the code of the container that ended the run', () => {
    const p = project({
      'compose.yaml': `services:\n  done:\n    image: ${IMG}\n    command: ["sh", "-c", "sleep 1; exit 0"]\n  server:\n    image: ${IMG}\n    command: ["sleep", "600"]\n`,
    });
    // done exits 0; server is then stopped (143 or 137): the run's code is done's, 0
    const r = p.run(['up', '--abort-on-container-exit', '-t', '1']);
    expect(r.stderr).toMatch(/Aborting on container exit/);
    expect(r.code).toBe(0);
    expect(p.containers().find((c) => c.service === 'server')?.state).toBe('exited');
  }, 60_000);

  it('up --abort-on-container-failure ignores clean exits and stops on the first failure, with its code', () => {
    const p = project({
      'compose.yaml': `services:\n  ok:\n    image: ${IMG}\n    command: ["true"]\n  bad:\n    image: ${IMG}\n    command: ["sh", "-c", "sleep 2; exit 5"]\n  server:\n    image: ${IMG}\n    command: ["sleep", "600"]\n`,
    });
    const r = p.run(['up', '--abort-on-container-failure', '-t', '1']);
    expect(r.code).toBe(5);
    expect(r.stderr).toMatch(/ok-1 exited with code 0[\s\S]*Aborting on container exit/);
  }, 60_000);

  it('start foo starts its dependencies first, in order, once their conditions hold', () => {
    const p = project({
      'compose.yaml': `services:
  db:
    image: ${IMG}
    init: true
    command: ["sh", "-c", "sleep 1; touch /tmp/ok; exec sleep 600"]
    healthcheck: {test: ["CMD", "test", "-f", "/tmp/ok"], interval: 1s, start_interval: 200ms, start_period: 10s}
  foo:
    image: ${IMG}
    init: true
    command: ["sleep", "600"]
    depends_on: {db: {condition: service_healthy}}
`,
    });
    p.ok(['up', '-d', '--wait']);
    p.ok(['stop']);
    expect(p.containers().map((c) => c.state)).toEqual(['exited', 'exited']);
    p.ok(['start', 'foo']);
    const state = (s: string) => JSON.parse(docker('inspect', '--format', '{{json .State}}', `${p.name}-${s}-1`)) as { Running: boolean; StartedAt: string; Health: { Log: Array<{ ExitCode: number; End: string }> } };
    const db = state('db');
    const foo = state('foo');
    expect(db.Running && foo.Running).toBe(true);
    // foo started once db was healthy again (the last passing check before foo's start)
    const healthy = db.Health.Log.filter((l) => l.ExitCode === 0).map((l) => Date.parse(l.End));
    expect(healthy.some((t) => t >= Date.parse(db.StartedAt) && t <= Date.parse(foo.StartedAt))).toBe(true);
  }, 60_000);
});

describe('run resolves sibling services', () => {
  it('network_mode: service:x, volumes_from and links name the sibling containers in a one-off container', () => {
    const p = project({
      'compose.yaml': `services:
  db:
    image: ${IMG}
    init: true
    command: ["sh", "-c", "mkdir -p /shared && echo from-db > /shared/f && mkdir -p /www && echo served > /www/x && exec httpd -f -p 5432 -h /www"]
    volumes: [/shared]
  side:
    image: ${IMG}
    network_mode: "service:db"
    volumes_from: [db]
    command: ["true"]
  linked:
    image: ${IMG}
    links: ["db:database"]
    command: ["true"]
`,
    });
    p.ok(['up', '-d', 'db', '--wait']);
    // in db's network namespace: its port answers on 127.0.0.1; its volume is mounted
    const r = p.ok(['run', '--rm', '-T', 'side', 'sh', '-c', 'timeout 5 wget -qO- http://127.0.0.1:5432/x; cat /shared/f']);
    expect(r.stdout).toBe('served\nfrom-db\n');
    const l = p.ok(['run', '--rm', '-T', 'linked', 'sh', '-c', 'timeout 5 wget -qO- http://database:5432/x']);
    expect(l.stdout).toBe('served\n');
    expect(docker('ps', '-a', '-q', '--filter', `label=com.docker.compose.oneoff=True`, '--filter', `label=com.docker.compose.project=${p.name}`)).toBe('');
  }, 60_000);
});

describe('flags of exec and run', () => {
  it('exec --privileged gives the command every capability; run -P publishes the service ports, a plain run does not', () => {
    const p = project({ 'compose.yaml': `services:\n  app:\n    image: ${IMG}\n    init: true\n    command: ["sleep", "600"]\n    ports: ["80"]\n` });
    p.ok(['up', '-d']);
    const caps = (args: string[]) => p.run(['exec', '-T', ...args, 'app', 'grep', 'CapEff', '/proc/self/status']);
    const plain = caps([]);
    expect(plain.code).toBe(0);
    // the engine gives a privileged exec every capability; where the engine itself runs without
    // them (as in some sandboxes), the runtime refuses to apply them: either way the flag reached it
    const priv = caps(['--privileged']);
    if (priv.code === 0) expect(BigInt(`0x${/CapEff:\s+([0-9a-f]+)/.exec(priv.stdout)![1]}`)).toBeGreaterThan(BigInt(`0x${/CapEff:\s+([0-9a-f]+)/.exec(plain.stdout)![1]}`));
    else expect(priv.stdout + priv.stderr).toMatch(/unable to apply caps/);
    const ported = p.ok(['run', '-d', '-P', 'app', 'sleep', '30']).stdout.trim();
    expect(docker('port', ported, '80')).toMatch(/:\d+$/);
    const unported = p.ok(['run', '-d', 'app', 'sleep', '30']).stdout.trim();
    expect(docker('port', unported)).toBe('');
  }, 60_000);
});
