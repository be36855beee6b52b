/**
 * deploy on a real 3-node Swarm: new dockerd instances made by scripts/swarm-nodes.sh (a manager
 * and two workers, each in its own network namespace, with a TLS registry on the manager's
 * address), started once for the file and always removed. The main engine is not touched.
 * This kernel has no IPVS: services use endpoint_mode dnsrr and host-mode ports.
 * If this machine cannot run extra engines, the file fails and says why (it never skips).
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import './setup.js';
import { BASE, TestProject } from '../helpers/engine.js';
import { CLI } from '../helpers/fs.js';

const SCRIPT = new URL('../../scripts/swarm-nodes.sh', import.meta.url).pathname;
const env: Record<string, string> = {};
let manager = '';
let registry = '';
const nodes = ['m', 'w1', 'w2'];
const hostname = (n: string) => `dys-${n}`;
const re = (s: string) => s.replace(/[.:*+?()[\]{}|^$\\]/g, '\\$&');

/** the docker CLI against one node (tests may observe with it) */
function on(node: string, ...args: string[]): string {
  return execFileSync('docker', args, { encoding: 'utf8', env: { ...process.env, DOCKER_HOST: env[`SWARM_SOCK_${node}`]! }, stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}
const lines = (s: string) => s.split('\n').filter(Boolean);

/**
 * A child process, awaited (the long ones must not block this worker's event loop: vitest's
 * own messages would time out)
 */
function run(cmd: string, args: string[], o: { env?: Record<string, string>; cwd?: string; timeoutMs?: number } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: o.cwd, env: { ...process.env, ...o.env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      stderr += `\n(test: ${cmd} ${args.join(' ')} did not finish in ${(o.timeoutMs ?? 120_000) / 1000}s)`;
      child.kill('SIGKILL');
    }, o.timeoutMs ?? 120_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
  });
}

beforeAll(async () => {
  const can = await run('bash', [SCRIPT, 'can']);
  if (can.code !== 0) throw new Error(`this machine cannot run the 3-node Swarm these tests need: ${can.stdout.trim()} ${can.stderr.trim()}`);
  const up = await run('bash', [SCRIPT, 'up', '3'], { timeoutMs: 150_000 });
  if (up.code !== 0) {
    await run('bash', [SCRIPT, 'down']);
    throw new Error(`scripts/swarm-nodes.sh up 3 failed (${up.code}):\n${up.stderr}`);
  }
  for (const l of lines(up.stdout)) {
    const m = /^(\w+)="?(.*?)"?$/.exec(l);
    if (m) env[m[1]!] = m[2]!;
  }
  manager = env.DOCKER_HOST!;
  registry = env.SWARM_REGISTRY!;
  // zones for spread preferences and constraints: m in a, w1 in a, w2 in b
  for (const [n, zone] of [['m', 'a'], ['w1', 'a'], ['w2', 'b']] as const) on('m', 'node', 'update', '--label-add', `zone=${zone}`, hostname(n));
}, 160_000);

afterAll(async () => {
  const r = await run('bash', [SCRIPT, 'down'], { timeoutMs: 120_000 });
  if (r.code !== 0) throw new Error(`scripts/swarm-nodes.sh down failed: ${r.stderr}`);
}, 130_000);

const made: TestProject[] = [];
afterEach(() => {
  // a failed test's stack goes with its project (the nodes go in afterAll anyway)
  for (const p of made.splice(0)) spawnSync('docker', ['stack', 'rm', p.name], { env: { ...process.env, DOCKER_HOST: manager }, stdio: 'ignore' });
});
function project(files: Record<string, string>): TestProject {
  const p = new TestProject(files);
  made.push(p);
  return p;
}
/** dockyard -p NAME ... against the manager */
const dy = (p: TestProject, args: string[], timeoutMs = 120_000) => run(process.execPath, [CLI, '-p', p.name, ...args], { cwd: p.dir, env: { DOCKER_HOST: manager, DOCKYARD_BASE_IMAGE: BASE }, timeoutMs });
async function ok(p: TestProject, args: string[]) {
  const r = await dy(p, args);
  if (r.code !== 0) throw new Error(`dockyard ${args.join(' ')} exited ${r.code}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
  return r;
}
/** the nodes the running tasks of a service are on */
function placed(service: string): string[] {
  return lines(on('m', 'service', 'ps', '--filter', 'desired-state=running', '--format', '{{.Node}} {{.CurrentState}}', service))
    .filter((l) => / Running /.test(l))
    .map((l) => l.split(' ')[0]!)
    .sort();
}
/** a node's engine removes the containers of removed tasks a moment after the manager forgets them */
async function gone(node: string, stack: string): Promise<void> {
  const list = () => on(node, 'ps', '-aq', '--filter', `label=com.docker.stack.namespace=${stack}`);
  const deadline = Date.now() + 20_000;
  while (list() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 300));
  expect(list(), `containers of ${stack} on ${node}`).toBe('');
}
/** every task error of a stack, on every node */
const taskErrors = (stack: string) => lines(on('m', 'stack', 'ps', '--no-trunc', '--format', '{{.Name}} {{.Node}} {{.Error}}', stack)).filter((l) => l.trim().split(' ').length > 2);

describe('deploy on a 3-node Swarm', () => {
  it('gets every image to the nodes: builds and pushes a build: image that names a registry; refuses a local-only image naming the nodes that lack it; --registry pushes it', async () => {
    const app = `${registry}/dyt-app:1`;
    const local = `dyt-local-${Math.random().toString(16).slice(2, 8)}:1`;
    const p = project({
      'app/Dockerfile': `FROM ${BASE}\nRUN echo built > /which\n`,
      'compose.yaml': `services:
  app:
    build: ./app
    image: ${app}
    command: ["sleep", "3600"]
    stop_grace_period: 1s
    deploy: { replicas: 3, endpoint_mode: dnsrr, placement: { max_replicas_per_node: 1 } }
`,
    });
    const first = await ok(p, ['deploy']);
    expect(first.stderr).toMatch(new RegExp(`image ${re(app)} built`));
    expect(first.stderr).toMatch(/pushed to 192\.168\.213\.11:5000: the nodes pull it from there/);
    expect(on('m', 'service', 'inspect', '--format', '{{.Spec.TaskTemplate.ContainerSpec.Image}}', `${p.name}_app`)).toMatch(new RegExp(`^${re(app)}@sha256:[0-9a-f]{64}$`));
    // one task per node, each running the image built here: the workers pulled it from the registry
    expect(placed(`${p.name}_app`)).toEqual(nodes.map(hostname));
    for (const n of ['w1', 'w2']) expect(on(n, 'exec', lines(on(n, 'ps', '-q', '--filter', `label=com.docker.swarm.service.name=${p.name}_app`))[0]!, 'cat', '/which')).toBe('built');
    expect(taskErrors(p.name)).toEqual([]);

    // an image only the manager has, naming no registry: refused before anything is deployed
    on('m', 'tag', BASE, local);
    const q = project({ 'compose.yaml': `services:\n  loc:\n    image: ${local}\n    command: ["sleep", "3600"]\n    stop_grace_period: 1s\n    deploy: { replicas: 2, endpoint_mode: dnsrr }\n` });
    const refused = await dy(q, ['deploy']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(new RegExp(`${re(local)} \\(service loc\\): no registry has it, and dys-w1, dys-w2 would lack it; this engine \\(dys-m\\) has it`));
    expect(refused.stderr).toMatch(/nothing was deployed/);
    expect(on('m', 'service', 'ls', '-q', '--filter', `label=com.docker.stack.namespace=${q.name}`)).toBe('');
    expect(on('m', 'network', 'ls', '-q', '--filter', `label=com.docker.stack.namespace=${q.name}`)).toBe('');
    // the probe that looked for it on the workers is gone too
    expect(on('m', 'service', 'ls', '-q', '--filter', 'label=dev.dockyard.probe')).toBe('');

    // --registry: pushed through it, deployed by digest, running on both workers
    const pushed = await ok(q, ['deploy', '--registry', registry]);
    expect(pushed.stderr).toMatch(new RegExp(`image ${re(local)} is only on this engine: pushed to ${re(registry)} as ${re(`${registry}/${local}`)}`));
    expect(on('m', 'service', 'inspect', '--format', '{{.Spec.TaskTemplate.ContainerSpec.Image}}', `${q.name}_loc`)).toMatch(new RegExp(`^${re(`${registry}/${local}`)}@sha256:`));
    expect(placed(`${q.name}_loc`)).toHaveLength(2);
    expect(taskErrors(q.name)).toEqual([]);
    // (afterEach removes both stacks: rm across nodes is the next test's)
  }, 150_000);

  it('honours placement (constraints, spread over a node label, max_replicas_per_node), mode global, endpoint_mode; a service reaches another on another node by name over the overlay; ls, ps and rm across the nodes', async () => {
    const p = project({
      'compose.yaml': `services:
  web:
    image: ${BASE}
    hostname: "{{.Node.Hostname}}"
    command: ["sh", "-c", "mkdir -p /www; hostname > /www/index.html; httpd -f -p 80 -h /www"]
    stop_grace_period: 1s
    deploy:
      replicas: 2
      endpoint_mode: dnsrr
      placement: { constraints: [node.role==worker], max_replicas_per_node: 1 }
  zoned:
    image: ${BASE}
    command: ["sleep", "3600"]
    stop_grace_period: 1s
    deploy:
      replicas: 4
      endpoint_mode: dnsrr
      placement: { preferences: [{ spread: node.labels.zone }] }
  agent:
    image: ${BASE}
    command: ["sleep", "3600"]
    stop_grace_period: 1s
    volumes: ["data:/data"]
    configs: [{ source: conf, target: /etc/agent.conf }]
    secrets: [token]
    deploy: { mode: global }
  client:
    image: ${BASE}
    command: ["sleep", "3600"]
    stop_grace_period: 1s
    deploy: { endpoint_mode: dnsrr, placement: { constraints: [node.role==manager] } }
volumes:
  data: {}
configs:
  conf: { content: "x" }
secrets:
  token: { file: ./token }
`,
      token: 'y',
    });
    const r = await ok(p, ['deploy']);
    // no IPVS on this kernel: deploy says what cannot work (agent keeps the default vip mode)
    expect(r.stderr).toMatch(/warning: this engine's kernel has no IPVS, so Swarm's virtual IPs do not route: the names of agent \(endpoint_mode vip\)/);
    expect(placed(`${p.name}_web`)).toEqual(['dys-w1', 'dys-w2']);
    expect(placed(`${p.name}_agent`)).toEqual(nodes.map(hostname));
    expect(placed(`${p.name}_client`)).toEqual(['dys-m']);
    // spread over zone: 2 tasks in zone a (m, w1), 2 in zone b (w2 alone)
    expect(placed(`${p.name}_zoned`).filter((n) => n === 'dys-w2')).toHaveLength(2);
    const spec = JSON.parse(on('m', 'service', 'inspect', `${p.name}_web`))[0].Spec;
    expect(spec.EndpointSpec.Mode).toBe('dnsrr');
    expect(spec.TaskTemplate.Placement).toMatchObject({ Constraints: ['node.role==worker'], MaxReplicas: 1 });
    expect(JSON.parse(on('m', 'service', 'inspect', `${p.name}_zoned`))[0].Spec.TaskTemplate.Placement.Preferences).toEqual([{ Spread: { SpreadDescriptor: 'node.labels.zone' } }]);
    expect(JSON.parse(on('m', 'network', 'inspect', `${p.name}_default`))[0].Driver).toBe('overlay');
    // the client on the manager reaches web, on the workers, by its name, over the overlay network
    const client = lines(on('m', 'ps', '-q', '--filter', `label=com.docker.swarm.service.name=${p.name}_client`))[0]!;
    const answers = new Set<string>();
    for (let i = 0; i < 6; i++) answers.add(on('m', 'exec', client, 'wget', '-qO-', 'http://web/'));
    expect([...answers].every((a) => a === 'dys-w1' || a === 'dys-w2')).toBe(true);
    expect(lines(on('m', 'exec', client, 'nslookup', 'web')).filter((l) => /^Address: 10\./.test(l))).toHaveLength(2);

    // ls, ps and rm across the nodes: rm leaves nothing of the stack on any node but the named volumes it names
    expect((await ok(p, ['deploy', 'ls'])).stdout).toMatch(new RegExp(`^${p.name}\\s+4$`, 'm'));
    const ps = (await ok(p, ['deploy', 'ps', p.name])).stdout;
    for (const n of nodes) expect(ps).toMatch(new RegExp(`${p.name}_agent\\s.*\\s${hostname(n)}\\s+running\\s+running`));
    expect(ps).toMatch(new RegExp(`${p.name}_client\\.1\\s.*\\sdys-m\\s+running\\s+running`));
    const rm = await ok(p, ['deploy', 'rm', '--volumes', p.name]);
    expect(rm.stderr).toMatch(new RegExp(`note: volume ${p.name}_data stays on dys-w1, dys-w2: Swarm cannot remove a node's volumes from a manager`));
    for (const n of nodes) await gone(n, p.name);
    for (const n of ['w1', 'w2']) on(n, 'volume', 'rm', `${p.name}_data`);
    for (const n of nodes) {
      expect(on(n, 'network', 'ls', '-q', '--filter', `name=${p.name}_`), `networks on ${n}`).toBe('');
      expect(on(n, 'volume', 'ls', '-q', '--filter', `name=${p.name}_`), `volumes on ${n}`).toBe('');
    }
    for (const kind of ['service', 'config', 'secret']) expect(on('m', kind, 'ls', '-q', '--filter', `label=com.docker.stack.namespace=${p.name}`), kind).toBe('');
    expect((await dy(p, ['deploy', 'ps', p.name])).stderr).toMatch(/no stack named/);
  }, 150_000);

  it('reports a rolling update node by node, and a rollback with the failed tasks\' reason', async () => {
    const file = (cmd: string, v: string) => `services:
  web:
    image: ${BASE}
    command: ["sh", "-c", "${cmd}"]
    environment: { V: "${v}" }
    stop_grace_period: 1s
    deploy:
      replicas: 3
      endpoint_mode: dnsrr
      placement: { max_replicas_per_node: 1 }
      update_config: { parallelism: 2, delay: 0s, failure_action: rollback, monitor: 1s }
      rollback_config: { parallelism: 0 }
`;
    const p = project({ 'compose.yaml': file('sleep 3600', '1') });
    await ok(p, ['deploy']);
    p.writeFile('compose.yaml', file('sleep 3600', '2'));
    const update = await ok(p, ['deploy']);
    // one line per change, naming each node and what runs there: new spec, old spec, starting...
    const updating = lines(update.stderr).filter((l) => l.includes('(update updating)'));
    expect(updating.some((l) => /\[(?=.*\b1 new\b)(?=.*\b1 old\b)/.test(l))).toBe(true);
    for (const n of nodes) expect(updating.some((l) => l.includes(`${hostname(n)}: `))).toBe(true);
    expect(lines(update.stderr)).toContain(`${p.name}_web: 3/3 running [dys-m: 1 new; dys-w1: 1 new; dys-w2: 1 new]`);
    const env = () => JSON.parse(on('m', 'service', 'inspect', `${p.name}_web`))[0].Spec.TaskTemplate.ContainerSpec.Env;
    expect(env()).toEqual(['V=2']);

    // the new tasks fail: Swarm rolls back (failure_action: rollback), deploy says why and where
    p.writeFile('compose.yaml', file('exit 3', '3'));
    const bad = await dy(p, ['deploy', '--timeout', '100s']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(new RegExp(`${p.name}_web: the update failed and Swarm rolled it back \\(rollback_completed\\); \\d+ task\\(s\\) of the new spec failed — dys-\\w+: task: non-zero exit \\(3\\).*; the service runs its previous spec`));
    expect(bad.stderr).not.toMatch(/no reason given/);
    expect(env()).toEqual(['V=2']);
    expect(placed(`${p.name}_web`)).toEqual(nodes.map(hostname));
  }, 150_000);

  // last: it leaves a node dead
  it('a worker whose dockerd is killed: deploy ps shows the node down, which tasks left it and where each runs now', async () => {
    const p = project({
      'compose.yaml': `services:
  web:
    image: ${BASE}
    command: ["sleep", "3600"]
    stop_grace_period: 1s
    deploy: { replicas: 3, endpoint_mode: dnsrr, placement: { max_replicas_per_node: 2 } }
`,
    });
    await ok(p, ['deploy']);
    const before = (await ok(p, ['deploy', 'ps', p.name])).stdout;
    const onW2 = lines(before).filter((l) => /\sdys-w2\s+running\s+running/.test(l)).map((l) => l.split(/\s+/)[1]!);
    expect(onW2.length).toBeGreaterThan(0);
    const kill = await run('bash', [SCRIPT, 'kill', 'w2']);
    expect(kill.code).toBe(0);
    // the manager sees the node down (heartbeat 1 s here) and starts its replicas elsewhere
    let ps = '';
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      ps = (await ok(p, ['deploy', 'ps', p.name])).stdout;
      if (/node dys-w2 is down/.test(ps) && onW2.every((t) => new RegExp(`${re(t)} \\(\\w+\\): now on dys-(m|w1) \\(running`).test(ps))) break;
      await new Promise((r) => setTimeout(r, 1000));
    }
    expect(ps).toMatch(/\sdys-w2 \(down\)\s/);
    expect(ps).toMatch(new RegExp(`node dys-w2 is down: ${onW2.length} task\\(s\\) left it`));
    for (const t of onW2) expect(ps).toMatch(new RegExp(`${re(t)} \\(\\w+\\): now on dys-(m|w1) \\(running, task \\w+\\)`));
    expect(placed(`${p.name}_web`)).toHaveLength(3);
    // rm does not wait for the dead node
    const t0 = Date.now();
    const rm = await ok(p, ['deploy', 'rm', p.name]);
    expect(Date.now() - t0).toBeLessThan(30_000);
    expect(rm.stderr).toMatch(/note: dys-w2 is not ready: its engine removes this stack's containers there when it comes back/);
    for (const n of ['m', 'w1']) await gone(n, p.name);
  }, 150_000);
});
