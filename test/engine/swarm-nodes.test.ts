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
    await ok(p, ['deploy', 'rm', p.name]);
    await ok(q, ['deploy', 'rm', q.name]);
  }, 150_000);
});
