import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import './setup.js';
import { BASE, docker, useProjects } from '../helpers/engine.js';

const project = useProjects(afterEach);
const extra: string[] = [];
afterEach(() => {
  for (const cmd of extra.splice(0)) {
    const [kind, name] = cmd.split(' ');
    try {
      docker(kind!, 'rm', name!);
    } catch {
      /* already gone */
    }
  }
});

const IMG = '${DOCKYARD_BASE_IMAGE}';

describe('networks (conformance: networks, different networks)', () => {
  it('custom, internal and external networks; aliases and static addresses; isolation between networks', () => {
    const ext = `dyt-ext-${Math.random().toString(16).slice(2, 8)}`;
    docker('network', 'create', ext);
    extra.push(`network ${ext}`);
    const p = project({
      'compose.yaml': `services:
  server:
    image: ${IMG}
    init: true
    command: ["sh", "-c", "mkdir -p /w && echo pong > /w/ping && exec httpd -f -p 80 -h /w"]
    networks:
      front:
        aliases: [api.local]
        ipv4_address: 10.213.5.10
      back: {}
  client:
    image: ${IMG}
    init: true
    command: ["sleep", "600"]
    networks: [front, outside]
  stranger:
    image: ${IMG}
    init: true
    command: ["sleep", "600"]
    networks: [other]
networks:
  front:
    ipam:
      # outside the engine's default address pools, so that parallel tests cannot take it first
      config: [{subnet: 10.213.0.0/16}]
  back:
    internal: true
    labels: {tier: back}
  other: {}
  outside:
    name: ${ext}
    external: true
`,
    });
    p.ok(['up', '-d']);
    const server = p.inspect(`${p.name}-server-1`);
    expect(Object.keys(server.NetworkSettings.Networks).sort()).toEqual([`${p.name}_back`, `${p.name}_front`]);
    expect(server.NetworkSettings.Networks[`${p.name}_front`].IPAddress).toBe('10.213.5.10');
    expect(server.NetworkSettings.Networks[`${p.name}_front`].Aliases).toEqual(expect.arrayContaining(['server', 'api.local']));
    expect(docker('network', 'inspect', `${p.name}_back`, '--format', '{{.Internal}} {{index .Labels "tier"}}')).toBe('true back');
    expect(Object.keys(p.inspect(`${p.name}-client-1`).NetworkSettings.Networks)).toContain(ext);
    // same network: reachable by service name and alias; different network: not reachable
    expect(docker('exec', `${p.name}-client-1`, 'sh', '-c', 'timeout 5 wget -qO- http://server/ping && timeout 5 wget -qO- http://api.local/ping')).toBe('pong\npong');
    const cut = docker('exec', `${p.name}-stranger-1`, 'sh', '-c', 'timeout 3 wget -qO- http://server/ping >/dev/null 2>&1 && echo reached || echo isolated');
    expect(cut).toBe('isolated');
    p.ok(['down']);
    expect(docker('network', 'ls', '-q', '--filter', `name=${ext}`)).not.toBe(''); // external networks stay
  }, 90_000);

  it('says when a project network was created from an earlier definition, until down recreates it', () => {
    const compose = (net: string) => `services:\n  a:\n    image: ${IMG}\n    init: true\n    command: ["sleep", "600"]\n    networks: [back]\nnetworks:\n  back: ${net}\n`;
    const p = project({ 'compose.yaml': compose('{}') });
    p.ok(['up', '-d']);
    expect(p.ok(['up', '-d']).stderr).not.toMatch(/warning/);
    writeFileSync(join(p.dir, 'compose.yaml'), compose('{internal: true, labels: {tier: back}}'));
    expect(p.ok(['up', '-d']).stderr).toMatch(new RegExp(`warning: network ${p.name}_back was created from an earlier definition of "back" .*: \`dockyard down\` then \`up\` recreates it`));
    p.ok(['down']);
    expect(p.ok(['up', '-d']).stderr).not.toMatch(/warning/);
    expect(docker('network', 'inspect', `${p.name}_back`, '-f', '{{.Internal}}')).toBe('true');
  }, 60_000);

  it('reports a missing external network, before building anything', () => {
    const p = project({
      'compose.yaml': `services:\n  a:\n    image: ${IMG}\n    networks: [x]\n  b:\n    build: ./b\nnetworks:\n  x:\n    name: dyt-does-not-exist\n    external: true\n`,
      'b/Dockerfile': `FROM ${BASE}\nRUN echo built > /built\n`,
    });
    const r = p.run(['up', '-d']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/external network "dyt-does-not-exist" does not exist/);
    expect(docker('images', '-q', `${p.name}-b`)).toBe('');
    expect(p.containers()).toEqual([]);
  });

  it('network_mode service:x and pid/ipc service:x share namespaces', () => {
    const p = project({
      'compose.yaml': `services:
  main:
    image: ${IMG}
    init: true
    command: ["sleep", "600"]
    ipc: shareable
  side:
    image: ${IMG}
    init: true
    command: ["sleep", "600"]
    network_mode: "service:main"
    pid: "service:main"
    ipc: "service:main"
    depends_on: [main]
`,
    });
    p.ok(['up', '-d']);
    const hc = p.inspect(`${p.name}-side-1`).HostConfig;
    const mainId = p.inspect(`${p.name}-main-1`).Id;
    for (const key of ['NetworkMode', 'PidMode', 'IpcMode']) expect(hc[key]).toMatch(new RegExp(`^container:(${p.name}-main-1|${mainId})$`));
  }, 60_000);
});

describe('volumes, configs and secrets (conformance: volumes, config file, secret file)', () => {
  it('named, external, bind, tmpfs volumes with driver options; read-only binds', () => {
    const ext = `dyt-extvol-${Math.random().toString(16).slice(2, 8)}`;
    docker('volume', 'create', ext);
    extra.push(`volume ${ext}`);
    const p = project({
      'host/hello.txt': 'from host\n',
      'compose.yaml': `services:
  app:
    image: ${IMG}
    init: true
    command: ["sleep", "600"]
    volumes:
      - data:/data
      - ./host:/host:ro
      - type: tmpfs
        target: /scratch
        tmpfs: {size: 1m}
      - shared:/shared
      - type: bind
        source: ./made-by-engine
        target: /made
volumes:
  data:
    driver_opts: {type: tmpfs, device: tmpfs}
    labels: [owner=tests]
  shared:
    name: ${ext}
    external: true
`,
    });
    p.ok(['up', '-d']);
    const c = `${p.name}-app-1`;
    expect(docker('exec', c, 'cat', '/host/hello.txt')).toBe('from host');
    expect(docker('exec', c, 'sh', '-c', 'touch /host/x 2>/dev/null && echo rw || echo ro')).toBe('ro');
    expect(docker('exec', c, 'sh', '-c', 'mount | grep " /scratch " | grep -o tmpfs | head -1')).toBe('tmpfs');
    expect(docker('volume', 'inspect', `${p.name}_data`, '--format', '{{index .Options "type"}} {{index .Labels "owner"}} {{index .Labels "com.docker.compose.volume"}}')).toBe('tmpfs tests data');
    expect(docker('exec', c, 'sh', '-c', 'echo hi > /shared/f && cat /shared/f')).toBe('hi');
    p.ok(['down', '-v']);
    expect(docker('volume', 'ls', '-q', '--filter', `name=${ext}`)).toBe(ext); // external volumes are never removed
  }, 60_000);

  it('configs and secrets from a file, inline content and the environment, mounted read-only', () => {
    const p = project({
      'app.conf': 'setting=1\n',
      'token.txt': 's3cret\n',
      'app.labels': 'team=core\n',
      'compose.yaml': `services:
  app:
    image: ${IMG}
    init: true
    command: ["sleep", "600"]
    label_file: ./app.labels
    configs:
      - app_conf
      - source: app_conf
        target: rel/app.conf
      - source: inline
        target: /etc/inline.conf
        mode: 0440
    secrets:
      - token
      - source: from_env
        target: env_secret
configs:
  app_conf: {file: ./app.conf}
  inline: {content: "inline for $\${COMPOSE_PROJECT_NAME:-x}"}
secrets:
  token: {file: ./token.txt}
  from_env: {environment: SECRET_VALUE}
`,
    });
    p.ok(['up', '-d'], { env: { SECRET_VALUE: 'from-the-env' } });
    const c = `${p.name}-app-1`;
    expect(docker('exec', c, 'cat', '/app_conf')).toBe('setting=1');
    expect(docker('exec', c, 'cat', '/rel/app.conf')).toBe('setting=1'); // a relative config target is under /
    expect(docker('inspect', c, '--format', '{{index .Config.Labels "team"}}')).toBe('core');
    expect(docker('exec', c, 'cat', '/etc/inline.conf')).toBe('inline for ${COMPOSE_PROJECT_NAME:-x}');
    expect(docker('exec', c, 'stat', '-c', '%a', '/etc/inline.conf')).toBe('440');
    expect(docker('exec', c, 'cat', '/run/secrets/token')).toBe('s3cret');
    expect(docker('exec', c, 'cat', '/run/secrets/env_secret')).toBe('from-the-env');
    expect(docker('exec', c, 'sh', '-c', 'echo x > /run/secrets/token 2>/dev/null && echo rw || echo ro')).toBe('ro');
  }, 60_000);
});

describe('service options', () => {
  it('passes every supported option to the engine', () => {
    const p = project({
      'svc.env': 'FROM_FILE=1\n',
      'compose.yaml': `services:
  app:
    image: ${IMG}
    entrypoint: ["/bin/sh", "-c"]
    command: ["echo start; exec sleep 600"]
    user: "65534:65534"
    working_dir: /tmp
    hostname: apphost
    env_file: svc.env
    environment: {A: "1"}
    labels: {team: shop}
    logging: {driver: json-file, options: {max-size: 1m, max-file: "2"}}
    extra_hosts: ["db.internal:10.1.2.3"]
    dns: [9.9.9.9]
    dns_search: [example.test]
    tmpfs: [/run/tmp]
    init: true
    stop_signal: SIGUSR1
    stop_grace_period: 7s
    sysctls: {net.core.somaxconn: "1024"}
    ulimits: {nofile: {soft: 1024, hard: 2048}, nproc: 512}
    cap_add: [NET_ADMIN]
    cap_drop: [MKNOD]
    security_opt: [no-new-privileges:true]
    read_only: true
    privileged: false
    devices: ["/dev/null:/dev/mynull:rw"]
    restart: on-failure:3
    shm_size: 32m
    mem_limit: 64m
    cpus: 0.5
    pids_limit: 100
    healthcheck: {test: ["CMD", "true"], interval: 2s, timeout: 1s, retries: 4, start_period: 1s}
    deploy:
      resources: {reservations: {memory: 16m}}
`,
    });
    p.ok(['up', '-d']);
    const c = p.inspect(`${p.name}-app-1`);
    expect(c.Config.Entrypoint).toEqual(['/bin/sh', '-c']);
    expect(c.Config.Cmd).toEqual(['echo start; exec sleep 600']);
    expect(c.Config.User).toBe('65534:65534');
    expect(c.Config.WorkingDir).toBe('/tmp');
    expect(c.Config.Hostname).toBe('apphost');
    expect(c.Config.Env).toEqual(expect.arrayContaining(['A=1', 'FROM_FILE=1']));
    expect(c.Config.Labels.team).toBe('shop');
    expect(c.Config.StopSignal).toBe('SIGUSR1');
    expect(c.Config.StopTimeout).toBe(7);
    expect(c.Config.Healthcheck).toEqual({ Test: ['CMD', 'true'], Interval: 2e9, Timeout: 1e9, Retries: 4, StartPeriod: 1e9 });
    const h = c.HostConfig;
    expect(h.LogConfig).toEqual({ Type: 'json-file', Config: { 'max-size': '1m', 'max-file': '2' } });
    expect(h.ExtraHosts).toEqual(['db.internal:10.1.2.3']);
    expect(h.Dns).toEqual(['9.9.9.9']);
    expect(h.DnsSearch).toEqual(['example.test']);
    expect(h.Tmpfs).toEqual({ '/run/tmp': '' });
    expect(h.Init).toBe(true);
    expect(h.Sysctls).toEqual({ 'net.core.somaxconn': '1024' });
    expect(h.Ulimits).toEqual(expect.arrayContaining([{ Name: 'nofile', Soft: 1024, Hard: 2048 }, { Name: 'nproc', Soft: 512, Hard: 512 }]));
    expect(h.CapAdd).toEqual(['NET_ADMIN']);
    expect(h.CapDrop).toEqual(['MKNOD']);
    expect(h.SecurityOpt).toEqual(['no-new-privileges:true']);
    expect(h.ReadonlyRootfs).toBe(true);
    expect(h.Privileged).toBe(false);
    expect(h.Devices).toEqual([{ PathOnHost: '/dev/null', PathInContainer: '/dev/mynull', CgroupPermissions: 'rw' }]);
    expect(h.RestartPolicy).toEqual({ Name: 'on-failure', MaximumRetryCount: 3 });
    expect(h.ShmSize).toBe(32 * 1024 * 1024);
    expect(h.Memory).toBe(64 * 1024 * 1024);
    expect(h.MemoryReservation).toBe(16 * 1024 * 1024);
    expect(h.NanoCpus).toBe(5e8);
    expect(h.PidsLimit).toBe(100);
    expect(docker('exec', `${p.name}-app-1`, 'sh', '-c', 'grep db.internal /etc/hosts | cut -f1; id -u; touch /x 2>/dev/null || echo ro-root')).toBe('10.1.2.3\n65534\nro-root');
  }, 60_000);
});
