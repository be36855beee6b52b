/** Engine API bodies built from the canonical model, table-driven (no engine). */
import { afterEach, describe, expect, it } from 'vitest';
import { loadProject } from '../../src/load/index.js';
import { containerSpec, networkBody, volumeBody } from '../../src/converge/spec.js';
import type { ContainerOptions } from '../../src/converge/spec.js';
import { cleanupTrees, tree } from '../helpers/fs.js';

afterEach(cleanupTrees);

const load = (yaml: string) => loadProject({ workingDir: tree({ 'compose.yaml': yaml }), projectName: 'p', environment: {} });
const sibling = (svc: string) => `p-${svc}-1`;

function body(service: string, opts: ContainerOptions = {}) {
  const p = load(`services:\n  s:\n    image: img\n${service}  other:\n    image: img\nvolumes: {data: {}}\n`);
  return containerSpec(p, p.services.s!, 1, 'p-s-1', 'img', sibling, opts);
}

const rows: Array<{ name: string; service: string; opts?: ContainerOptions; expect: Record<string, unknown>; host?: Record<string, unknown> }> = [
  { name: 'command, entrypoint, environment, user, workdir', service: '    command: echo hi\n    entrypoint: ["/e"]\n    environment: {A: "1", UNSET: null}\n    user: "1000"\n    working_dir: /w\n', expect: { Cmd: ['echo', 'hi'], Entrypoint: ['/e'], Env: ['A=1'], User: '1000', WorkingDir: '/w', Image: 'img' } },
  { name: 'a one-off overrides command, env and user, and never restarts', service: '    command: ["a"]\n    restart: always\n', opts: { oneoff: true, command: ['b'], env: { X: 'y' }, user: 'u' }, expect: { Cmd: ['b'], Env: ['X=y'], User: 'u' }, host: { RestartPolicy: { Name: 'no' } } },
  { name: 'restart policy with a count; deploy.restart_policy', service: '    restart: on-failure:3\n', expect: {}, host: { RestartPolicy: { Name: 'on-failure', MaximumRetryCount: 3 } } },
  { name: 'ports: published, ranges, host ip, protocol', service: '    ports: ["8080:80", "127.0.0.1:53:53/udp", "9000-9001:9000-9001"]\n', expect: { ExposedPorts: { '80/tcp': {}, '53/udp': {}, '9000/tcp': {}, '9001/tcp': {} } }, host: { PortBindings: { '80/tcp': [{ HostIp: '', HostPort: '8080' }], '53/udp': [{ HostIp: '127.0.0.1', HostPort: '53' }], '9000/tcp': [{ HostIp: '', HostPort: '9000' }], '9001/tcp': [{ HostIp: '', HostPort: '9001' }] } } },
  { name: 'volumes: bind, named (labelled), anonymous, tmpfs', service: '    volumes: ["/host:/h:ro", "data:/d", "/anon", {type: tmpfs, target: /t, tmpfs: {size: 1m}}]\n', expect: {}, host: { Binds: ['/host:/h:ro'], Mounts: [{ Type: 'volume', Target: '/d', ReadOnly: false, Source: 'p_data', VolumeOptions: { Labels: { 'com.docker.compose.project': 'p', 'com.docker.compose.volume': 'data' } } }, { Type: 'volume', Target: '/anon', ReadOnly: false }, { Type: 'tmpfs', Target: '/t', ReadOnly: false, TmpfsOptions: { SizeBytes: 1048576 } }] } },
  { name: 'a replacement mounts its predecessor anonymous volumes again', service: '    volumes: ["/anon"]\n', opts: { inheritVolumes: [{ name: 'abc', target: '/anon' }, { name: 'img', target: '/imgvol' }] }, expect: {}, host: { Mounts: [{ Type: 'volume', Target: '/anon', ReadOnly: false, Source: 'abc' }, { Type: 'volume', Source: 'img', Target: '/imgvol', ReadOnly: false }] } },
  { name: 'service:x namespaces and volumes_from name the sibling container', service: '    network_mode: "service:other"\n    ipc: "service:other"\n    volumes_from: ["other:ro"]\n', expect: {}, host: { NetworkMode: 'container:p-other-1', IpcMode: 'container:p-other-1', VolumesFrom: ['p-other-1:ro'] } },
  { name: 'resources from the service and from deploy', service: '    mem_limit: 64m\n    deploy: {resources: {limits: {cpus: "0.5", pids: 10}}}\n', expect: {}, host: { Memory: 64 * 1024 * 1024, NanoCpus: 5e8, PidsLimit: 10 } },
  { name: 'health check durations in nanoseconds; disabled', service: '    healthcheck: {test: ["CMD", "true"], interval: 2s, retries: 3}\n', expect: { Healthcheck: { Test: ['CMD', 'true'], Interval: 2e9, Retries: 3 } } },
  { name: 'extra hosts, dns, capabilities, ulimits, logging', service: '    extra_hosts: ["a=1.2.3.4"]\n    dns: 8.8.8.8\n    cap_add: [NET_ADMIN]\n    ulimits: {nofile: {soft: 1, hard: 2}, nproc: 5}\n    logging: {driver: json-file, options: {max-size: 1m}}\n', expect: {}, host: { ExtraHosts: ['a:1.2.3.4'], Dns: ['8.8.8.8'], CapAdd: ['NET_ADMIN'], Ulimits: [{ Name: 'nofile', Soft: 1, Hard: 2 }, { Name: 'nproc', Soft: 5, Hard: 5 }], LogConfig: { Type: 'json-file', Config: { 'max-size': '1m' } } } },
];

describe('containerSpec', () => {
  for (const r of rows) {
    it(r.name, () => {
      const { body: b } = body(r.service, r.opts);
      expect(b).toMatchObject(r.expect);
      if (r.host) expect(b.HostConfig).toMatchObject(r.host);
    });
  }

  it('a one-off leaves published ports out unless asked', () => {
    expect((body('    ports: ["8080:80"]\n', { oneoff: true, noPorts: true }).body.HostConfig as Record<string, unknown>).PortBindings).toBeUndefined();
    expect((body('    ports: ["8080:80"]\n', { oneoff: true }).body.HostConfig as Record<string, unknown>).PortBindings).toEqual({ '80/tcp': [{ HostIp: '', HostPort: '8080' }] });
  });

  it('labels: Compose\'s, the config hash and per-key digest, the user\'s, run --label', () => {
    const { body: b } = body('    labels: {team: core}\n', { labels: { extra: 'x' } });
    expect(b.Labels).toMatchObject({ team: 'core', extra: 'x', 'com.docker.compose.project': 'p', 'com.docker.compose.service': 's', 'com.docker.compose.container-number': '1', 'com.docker.compose.oneoff': 'False' });
    expect((b.Labels as Record<string, string>)['dev.dockyard.config-digest']).toMatch(/^command=[0-9a-f]{8},|image=[0-9a-f]{8}/);
  });

  it('networks: the first at create time with aliases and links, the others connected after', () => {
    const p = load('services:\n  s:\n    image: img\n    links: ["other:db"]\n    networks: {b: {aliases: [x]}, a: {priority: 10, ipv4_address: 10.0.0.5}}\n  other:\n    image: img\n    networks: [a]\nnetworks: {a: {}, b: {}}\n');
    const spec = containerSpec(p, p.services.s!, 1, 'p-s-1', 'img', sibling);
    expect(spec.body.HostConfig).toMatchObject({ NetworkMode: 'p_a' });
    expect(spec.body.NetworkingConfig).toEqual({ EndpointsConfig: { p_a: { Aliases: ['s'], Links: ['p-other-1:db'], IPAMConfig: { IPv4Address: '10.0.0.5' } } } });
    expect(spec.extraNetworks).toEqual([{ name: 'p_b', endpoint: { Aliases: ['s', 'x'], Links: ['p-other-1:db'] } }]);
  });

  it('configs and secrets: files bound read-only, content copied in; relative targets placed as Compose does', () => {
    const p = load('services:\n  s:\n    image: img\n    configs: [{source: c, target: rel/c.conf}, {source: f}]\n    secrets: [{source: k, target: rel}]\nconfigs: {c: {content: hello}, f: {file: /etc/hostname}}\nsecrets: {k: {environment: K}}\n');
    const spec = containerSpec(p, p.services.s!, 1, 'p-s-1', 'img', sibling);
    expect(spec.files.map((f) => f.path)).toEqual(['/run/secrets/rel', '/rel/c.conf']);
    expect(spec.body.HostConfig).toMatchObject({ Binds: ['/etc/hostname:/f:ro'] });
  });
});

describe('networkBody and volumeBody', () => {
  const p = load('services:\n  s:\n    image: img\n    networks: [n]\n    volumes: [v:/v]\nnetworks:\n  n: {driver: bridge, internal: true, labels: [team=core], ipam: {config: [{subnet: 10.9.0.0/16}]}}\nvolumes:\n  v: {driver_opts: {type: tmpfs}, labels: {a: b}}\n');
  it('a network: its definition, Compose labels and the definition hash', () => {
    const b = networkBody(p, 'n');
    expect(b).toMatchObject({ Name: 'p_n', Driver: 'bridge', Internal: true, IPAM: { Driver: 'default', Config: [{ Subnet: '10.9.0.0/16' }] }, Labels: { team: 'core', 'com.docker.compose.project': 'p', 'com.docker.compose.network': 'n' } });
    const other = load('services:\n  s:\n    image: img\n    networks: [n]\nnetworks:\n  n: {driver: bridge, internal: false}\n');
    expect((networkBody(other, 'n').Labels as Record<string, string>)['dev.dockyard.network-hash']).not.toBe((b.Labels as Record<string, string>)['dev.dockyard.network-hash']);
  });
  it('a volume: driver, options and labels', () => {
    expect(volumeBody(p, 'v')).toEqual({ Name: 'p_v', Driver: 'local', DriverOpts: { type: 'tmpfs' }, Labels: { a: 'b', 'com.docker.compose.project': 'p', 'com.docker.compose.volume': 'v', 'com.docker.compose.version': expect.any(String) } });
  });
});
