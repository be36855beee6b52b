/**
 * deploy: the project as a Swarm stack on a real single-node Swarm, observed with the docker CLI
 * and real HTTP requests. (Ports publish in host mode here: this machine's kernel has no IPVS,
 * so the ingress routing mesh refuses connections, for `docker service create -p` too.)
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import './setup.js';
import { BASE, docker, dockerJson, useProjects } from '../helpers/engine.js';
import { startRegistry } from '../helpers/registry.js';

// a macrotask turn between long synchronous steps (see test/engine/setup.ts)
const turn = () => new Promise<void>((r) => setTimeout(r, 0));

const project = useProjects(afterEach);
const stacks: string[] = [];

beforeAll(() => {
  if (docker('info', '--format', '{{.Swarm.LocalNodeState}}') !== 'active') docker('swarm', 'init', '--advertise-addr', '127.0.0.1');
});
afterEach(() => {
  // remove what a failed test left: the stack's services, then its configs, secrets, networks
  for (const s of stacks.splice(0)) {
    const label = `label=com.docker.stack.namespace=${s}`;
    for (const [kind, ...rm] of [['service', 'rm'], ['config', 'rm'], ['secret', 'rm'], ['network', 'rm']]) {
      const ids = docker(kind!, 'ls', '-q', '--filter', label).split('\n').filter(Boolean);
      for (let i = 0; ids.length && i < 20 && spawnSync('docker', [kind!, ...rm, ...ids], { stdio: 'ignore' }).status !== 0; i++) spawnSync('sleep', ['0.5']);
    }
    // the named volumes the tasks created (a stack rm leaves them, as docker stack rm does)
    const vols = docker('volume', 'ls', '-q', '--filter', label).split('\n').filter(Boolean);
    for (let i = 0; vols.length && i < 20 && spawnSync('docker', ['volume', 'rm', ...vols], { stdio: 'ignore' }).status !== 0; i++) spawnSync('sleep', ['0.5']);
  }
});

const port = () => 20000 + Math.floor(Math.random() * 20000);
const get = async (p: number) => {
  const deadline = Date.now() + 15_000;
  for (;;) {
    try {
      return await (await fetch(`http://127.0.0.1:${p}/`)).text();
    } catch (e) {
      if (Date.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, 300));
    }
  }
};

const compose = (p: number, config: string, cmd = 'httpd -f -p 80 -h /www', withWorker = true, greeting = 'hello') => `
services:
  web:
    image: ${BASE}
    command: ["sh", "-c", "mkdir -p /www; cat /etc/app.conf /run/secrets/token > /www/index.html; echo $$GREETING >> /www/index.html; ${cmd}"]
    environment: { GREETING: ${greeting} }
    ports: [{ target: 80, published: ${p}, mode: host }]
    configs: [{ source: app, target: /etc/app.conf }]
    secrets: [token]
    volumes: ["data:/data"]
${withWorker ? '    depends_on: [worker]\n' : ''}    container_name: fixed
    stop_grace_period: 1s
    deploy:
      labels: { tier: front }
      update_config: { parallelism: 1, order: stop-first }
      restart_policy: { condition: on-failure, max_attempts: 5 }
      resources: { limits: { memory: 64M } }
  once:
    image: ${BASE}
    command: ["sh", "-c", "echo migrated"]
    restart: "no"
${withWorker ? `  worker:
    image: ${BASE}
    command: ["sleep", "3600"]
    deploy: { replicas: 2 }
` : ''}volumes:
  data: {}
configs:
  app: { content: "${config}" }
secrets:
  token: { file: ./token.txt }
`;

describe('deploy (Swarm)', () => {
  it('creates a stack, rolls a changed config and an environment variable, prunes, reports a failing update; ls, ps, rm', async () => {
    const web = port();
    const p = project({ 'compose.yaml': compose(web, 'v1 '), 'token.txt': 'secret ' });
    stacks.push(p.name);
    const first = p.ok(['deploy']);
    expect(first.stderr).toMatch(new RegExp(`service ${p.name}_web created`));
    expect(first.stderr).toMatch(/Swarm cannot honour 2 key\(s\), ignored: services\.web\.depends_on, services\.web\.container_name/);
    expect(first.stderr).toMatch(/3 created, 0 updated, 0 removed, converged/);
    // restart: "no" runs once: its task completed, and no other was started
    expect(docker('service', 'ps', '--format', '{{.CurrentState}}', `${p.name}_once`).split('\n').map((l) => l.split(' ')[0])).toEqual(['Complete']);
    // converged means running now: the engine shows the replicas, the server answers
    expect(docker('service', 'ls', '--filter', `label=com.docker.stack.namespace=${p.name}`, '--format', '{{.Name}} {{.Replicas}}').split('\n').sort()).toEqual([`${p.name}_once 0/1`, `${p.name}_web 1/1`, `${p.name}_worker 2/2`]);
    expect(await get(web)).toBe('v1 secret hello\n');
    const svc = dockerJson<Array<Record<string, any>>>('service', 'inspect', `${p.name}_web`)[0]!.Spec;
    expect(svc.Labels).toMatchObject({ 'com.docker.stack.namespace': p.name, 'com.docker.stack.image': BASE, tier: 'front' });
    expect(svc.TaskTemplate.Resources.Limits.MemoryBytes).toBe(64 * 1024 * 1024);
    expect(svc.TaskTemplate.RestartPolicy).toMatchObject({ Condition: 'on-failure', MaxAttempts: 5 });
    expect(svc.UpdateConfig).toMatchObject({ Parallelism: 1, Order: 'stop-first' });
    expect(svc.TaskTemplate.ContainerSpec.Mounts[0]).toMatchObject({ Type: 'volume', Source: `${p.name}_data`, Target: '/data' });
    const net = dockerJson<Array<Record<string, any>>>('network', 'inspect', `${p.name}_default`)[0]!;
    expect([net.Driver, net.Attachable, net.Labels['com.docker.stack.namespace']]).toEqual(['overlay', true, p.name]);

    // the docker CLI sees the same stack
    expect(p.ok(['deploy', 'ls']).stdout).toMatch(new RegExp(`^${p.name}\\s+3$`, 'm'));
    expect(p.ok(['deploy', 'ps', p.name]).stdout).toMatch(new RegExp(`${p.name}_worker\\.2\\s.*running\\s+running`));

    // a new config content is a new config object: the service rolls onto it, the old one goes
    p.writeFile('compose.yaml', compose(web, 'v2 ', undefined, false));
    const second = p.ok(['deploy', '--prune']);
    expect(second.stderr).toMatch(new RegExp(`service ${p.name}_worker removed`));
    expect(await get(web)).toBe('v2 secret hello\n');
    expect(docker('service', 'ls', '-q', '--filter', `name=${p.name}_worker`)).toBe('');
    expect(docker('config', 'ls', '--filter', `label=com.docker.stack.namespace=${p.name}`, '--format', '{{.Name}}').split('\n')).toHaveLength(1);

    // a rolling update of one environment variable completes: the running task has the new value
    const before = docker('service', 'inspect', '--format', '{{.Version.Index}}', `${p.name}_web`);
    p.writeFile('compose.yaml', compose(web, 'v2 ', undefined, false, 'hola'));
    const third = p.ok(['deploy']);
    expect(third.stderr).toMatch(/0 created, 2 updated, 0 removed, converged/);
    expect(Number(docker('service', 'inspect', '--format', '{{.Version.Index}}', `${p.name}_web`))).toBeGreaterThan(Number(before));
    expect(docker('service', 'inspect', '--format', '{{.UpdateStatus.State}}', `${p.name}_web`)).toBe('completed');
    expect(await get(web)).toBe('v2 secret hola\n');
    const running = docker('ps', '-q', '--filter', `label=com.docker.swarm.service.name=${p.name}_web`);
    expect(docker('inspect', '--format', '{{range .Config.Env}}{{println .}}{{end}}', running)).toMatch(/^GREETING=hola$/m);

    // an update whose tasks fail is reported with the task's error, and a non-zero exit
    p.writeFile('compose.yaml', compose(web, 'v2 ', 'exit 3', false));
    const bad = p.run(['deploy', '--timeout', '60s']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/did not converge:\n\s+\S+_web: .* failed, last: task: non-zero exit \(3\)/);
    expect(bad.stderr).not.toMatch(/\n\s+at /);

    // --dry-run rm describes and removes nothing
    const dry = p.ok(['--dry-run', 'deploy', 'rm', p.name]);
    expect(dry.stdout).toMatch(new RegExp(`DRY-RUN: would remove service`));
    expect(docker('service', 'ls', '-q', '--filter', `label=com.docker.stack.namespace=${p.name}`)).not.toBe('');

    // rm removes this stack's objects, and only them
    docker('config', 'create', '--label', 'com.docker.stack.namespace=other-stack', `${p.name}-bystander`, '/etc/hostname');
    try {
      const rm = p.ok(['deploy', 'rm', '--volumes', p.name]);
      expect(rm.stderr).toMatch(/stack \S+ removed/);
      for (const kind of ['service', 'config', 'secret', 'network', 'volume']) expect(docker(kind, 'ls', '-q', '--filter', `label=com.docker.stack.namespace=${p.name}`), kind).toBe('');
      expect(docker('container', 'ls', '-aq', '--filter', `label=com.docker.stack.namespace=${p.name}`), 'containers').toBe('');
      expect(docker('config', 'ls', '-q', '--filter', `name=${p.name}-bystander`)).not.toBe('');
    } finally {
      spawnSync('docker', ['config', 'rm', `${p.name}-bystander`], { stdio: 'ignore' });
    }
    const gone = p.run(['deploy', 'ps', p.name]);
    expect(gone.code).not.toBe(0);
    expect(gone.stderr).toMatch(/no stack named/);
  }, 180_000);

  it('pins images to the digest their registry has (--resolve-image), so a moved tag rolls the service; changed and never', async () => {
    const registry = await startRegistry();
    const p = project({ 'compose.yaml': `services:\n  app:\n    image: ${registry.host}/dyt-pin:1\n    command: ["sleep", "3600"]\n    stop_grace_period: 1s\n  local:\n    image: ${BASE}\n    command: ["sleep", "3600"]\n    stop_grace_period: 1s\n` });
    stacks.push(p.name);
    const ref = `${registry.host}/dyt-pin:1`;
    const pushed = (content: string) => {
      // an image with its own content, pushed under the same tag: the registry's digest moves
      p.writeFile(`img-${content}/Dockerfile`, `FROM ${BASE}\nRUN echo ${content} > /which\n`);
      docker('build', '-q', '-t', ref, join(p.dir, `img-${content}`));
      docker('push', ref);
      return docker('inspect', '--format', '{{index .RepoDigests 0}}', ref).split('@')[1]!;
    };
    const image = () => docker('service', 'inspect', '--format', '{{.Spec.TaskTemplate.ContainerSpec.Image}}', `${p.name}_app`);
    try {
      const d1 = pushed('one');
      await turn();
      const first = p.ok(['deploy']);
      await turn();
      expect(image()).toBe(`${ref}@${d1}`);
      expect(docker('service', 'inspect', '--format', '{{index .Spec.Labels "com.docker.stack.image"}}', `${p.name}_app`)).toBe(ref);
      // an image no registry knows is deployed by its name, and said so
      expect(first.stderr).toMatch(new RegExp(`warning: no registry gave a digest for ${BASE.replace(/[.:]/g, '\\$&')}`));
      expect(docker('service', 'inspect', '--format', '{{.Spec.TaskTemplate.ContainerSpec.Image}}', `${p.name}_local`)).toBe(BASE);
      // the tag moves: changed keeps what runs (the reference is the same), always follows it
      const d2 = pushed('two');
      await turn();
      expect(d2).not.toBe(d1);
      p.ok(['deploy', '--resolve-image', 'changed']);
      expect(image()).toBe(`${ref}@${d1}`);
      await turn();
      p.ok(['deploy']);
      expect(image()).toBe(`${ref}@${d2}`);
      await turn();
      const task = docker('ps', '-q', '--filter', `label=com.docker.swarm.service.name=${p.name}_app`);
      expect(docker('exec', task, 'cat', '/which')).toBe('two');
      p.ok(['deploy', '--resolve-image', 'never']);
      expect(image()).toBe(ref);
      expect(p.run(['deploy', '--resolve-image', 'sometimes']).stderr).toMatch(/--resolve-image: "sometimes" is not always, changed or never/);
    } finally {
      registry.stop();
      spawnSync('docker', ['rmi', ref], { stdio: 'ignore' });
    }
  }, 180_000);
});
