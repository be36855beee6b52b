/** From the canonical model to Docker Engine API bodies: containers, networks, volumes. */
import type { Project, Service, ServiceNetwork } from '../model/project.js';
import { LABEL } from '../model/names.js';
import { parsePortSpec } from '../load/canonical.js';
import { configHash, serviceConfigDigest, serviceConfigHash } from '../model/serialize.js';

type Rec = Record<string, unknown>;
export const DOCKYARD_VERSION = '0.1.0';
/** the Compose version we announce in labels, so docker compose accepts our resources */
export const COMPOSE_VERSION_LABEL = '2.29.0';

/** The replicas a service wants: --scale, then scale:, then deploy.replicas, then 1. */
export function replicas(s: Service, override?: number): number {
  if (override !== undefined) return override;
  if (typeof s.scale === 'number') return s.scale;
  if (typeof s.deploy?.replicas === 'number') return s.deploy.replicas;
  return 1;
}

function dependsOnLabel(s: Service): string {
  return Object.entries(s.depends_on ?? {})
    .map(([d, c]) => `${d}:${c.condition}:${c.restart ? 'true' : 'false'}`)
    .join(',');
}

export function containerLabels(project: Project, s: Service, n: number, oneoff = false): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const [k, v] of Object.entries(s.labels ?? {})) labels[k] = v ?? '';
  Object.assign(labels, {
    [LABEL.project]: project.name,
    [LABEL.service]: s.name,
    [LABEL.number]: String(n),
    [LABEL.oneoff]: oneoff ? 'True' : 'False',
    [LABEL.configHash]: serviceConfigHash(s),
    [LABEL.configDigest]: serviceConfigDigest(s),
    [LABEL.workingDir]: project.workingDir,
    [LABEL.configFiles]: project.configFiles.join(','),
    [LABEL.dependsOn]: dependsOnLabel(s),
    [LABEL.version]: COMPOSE_VERSION_LABEL,
    'dev.dockyard.version': DOCKYARD_VERSION,
  });
  return labels;
}

const NS_PER_S = 1e9;

function healthcheck(s: Service): Rec | undefined {
  const h = s.healthcheck;
  if (!h) return undefined;
  if (h.disable) return { Test: ['NONE'] };
  const out: Rec = {};
  if (h.test) out.Test = h.test;
  if (h.interval !== undefined) out.Interval = h.interval;
  if (h.timeout !== undefined) out.Timeout = h.timeout;
  if (h.start_period !== undefined) out.StartPeriod = h.start_period;
  if (h.start_interval !== undefined) out.StartInterval = h.start_interval;
  if (h.retries !== undefined) out.Retries = h.retries;
  return out;
}

function portKey(target: number, protocol: string): string {
  return `${target}/${protocol}`;
}

export interface ContainerSpec {
  body: Rec;
  /** networks to connect after create (the API attaches one at create time) */
  extraNetworks: Array<{ name: string; endpoint: Rec }>;
  /** files to copy in before start (configs/secrets from content or environment) */
  files: Array<{ path: string; content: string; mode: number; uid?: number; gid?: number }>;
}

/** The endpoint on one network: the service name and its aliases resolve to the container. */
function endpoint(s: Service, cfg: ServiceNetwork | null, links: string[], aliases = true): Rec {
  // a one-off container does not answer to the service's name unless asked (run --use-aliases)
  const ep: Rec = aliases ? { Aliases: [...new Set([s.name, ...(cfg?.aliases ?? [])])] } : {};
  // links work on user-defined networks as endpoint links (`links: [db:database]` resolves database)
  if (links.length) ep.Links = links;
  const ipam: Rec = {};
  if (cfg?.ipv4_address) ipam.IPv4Address = cfg.ipv4_address;
  if (cfg?.ipv6_address) ipam.IPv6Address = cfg.ipv6_address;
  if (cfg?.link_local_ips) ipam.LinkLocalIPs = cfg.link_local_ips;
  if (Object.keys(ipam).length) ep.IPAMConfig = ipam;
  if (cfg?.mac_address) ep.MacAddress = cfg.mac_address;
  if (cfg?.driver_opts) ep.DriverOpts = cfg.driver_opts;
  if (cfg?.gw_priority !== undefined) ep.GwPriority = cfg.gw_priority;
  return ep;
}

/** What a one-off container or a replacement changes in a service's container. */
export interface ContainerOptions {
  oneoff?: boolean;
  command?: string[];
  env?: Record<string, string>;
  entrypoint?: string[];
  tty?: boolean;
  consoleSize?: [number, number];
  stdinOpen?: boolean;
  user?: string;
  workdir?: string;
  noPorts?: boolean;
  /** extra labels (run --label) */
  labels?: Record<string, string>;
  /** extra published ports (run --publish), in the short syntax */
  publish?: string[];
  /** extra mounts (run --volume), in the short syntax, host paths absolute */
  volumes?: string[];
  capAdd?: string[];
  capDrop?: string[];
  /** a one-off container answers to the service's name and aliases too (run --use-aliases) */
  useAliases?: boolean;
  /** the anonymous volumes of the container being replaced: mounted again at the same paths */
  inheritVolumes?: Array<{ name: string; target: string }>;
}

/** Resolves `service:x` references to a container of that service. */
export type ServiceContainerLookup = (service: string) => string | undefined;

/** What one container is made of, as the Compose key groups below fill it in. */
interface SpecContext {
  project: Project;
  s: Service;
  opts: ContainerOptions;
  lookup: ServiceContainerLookup;
  /** links: resolved to `container:alias` */
  links: string[];
}

interface SpecParts {
  body: Rec;
  host: Rec;
  binds: string[];
  mounts: Rec[];
  exposed: Rec;
  bindings: Record<string, Array<{ HostIp: string; HostPort: string }>>;
  files: ContainerSpec['files'];
  extraNetworks: ContainerSpec['extraNetworks'];
}

/** ports, expose (and run --publish): exposed ports and their host bindings */
function portsGroup({ s, opts }: SpecContext, out: SpecParts): void {
  const bind = (p: { target: number | string; protocol?: string; host_ip?: string; published?: string }) => {
    const key = portKey(p.target as number, p.protocol ?? 'tcp');
    out.exposed[key] = {};
    (out.bindings[key] ??= []).push({ HostIp: p.host_ip ?? '', HostPort: p.published ?? '' });
  };
  for (const e of s.expose ?? []) {
    const [port, proto] = e.split('/');
    for (const p of expandRange(port!)) out.exposed[portKey(p, proto ?? 'tcp')] = {};
  }
  if (!opts.noPorts) for (const p of s.ports ?? []) bind(p);
  for (const spec of opts.publish ?? []) for (const p of parsePortSpec(spec)) bind(p);
}

/** volumes (and run --volume): simple binds as Binds, everything else as Mounts */
function volumesGroup({ project, s, opts }: SpecContext, out: SpecParts): void {
  out.binds.push(...(opts.volumes ?? []));
  for (const v of s.volumes ?? []) {
    if (v.type === 'bind' && v.bind?.create_host_path !== false && !v.bind?.recursive) {
      const flags = [v.read_only && 'ro', v.bind?.selinux, v.bind?.propagation, v.volume?.nocopy && 'nocopy'].filter((x): x is string => !!x);
      out.binds.push(`${v.source}:${v.target}${flags.length ? `:${flags.join(',')}` : ''}`);
      continue;
    }
    const m: Rec = { Type: v.type, Target: v.target, ReadOnly: v.read_only ?? false };
    if (v.type === 'volume') {
      if (v.source) m.Source = project.volumes[v.source]?.name ?? v.source;
      const own = v.source && project.volumes[v.source] && !project.volumes[v.source]!.external;
      m.VolumeOptions = orUndefined(prune({ NoCopy: v.volume?.nocopy || undefined, Subpath: v.volume?.subpath, Labels: own ? { [LABEL.project]: project.name, [LABEL.volume]: v.source } : undefined }));
    } else if (v.type === 'bind') {
      m.Source = v.source;
      m.BindOptions = orUndefined(prune({ Propagation: v.bind?.propagation }));
    } else if (v.type === 'tmpfs') {
      m.TmpfsOptions = orUndefined(prune({ SizeBytes: v.tmpfs?.size, Mode: v.tmpfs?.mode }));
    } else if (v.source) m.Source = v.source;
    out.mounts.push(prune(m));
  }
  // a replacement keeps its predecessor's anonymous volumes (a `- /data` in volumes:, or a VOLUME
  // of the image): the data survives a recreation, as with Compose
  for (const v of opts.inheritVolumes ?? []) {
    const same = out.mounts.find((m) => m.Target === v.target);
    if (same) {
      if (same.Type === 'volume' && !same.Source) same.Source = v.name;
    } else if (!out.binds.some((b) => b.split(':')[1] === v.target)) {
      out.mounts.push({ Type: 'volume', Source: v.name, Target: v.target, ReadOnly: false });
    }
  }
}

/** secrets and configs: a file bound read-only, or content copied in before the start */
function secretsGroup({ project, s }: SpecContext, out: SpecParts): void {
  for (const kind of ['secrets', 'configs'] as const) {
    for (const ref of s[kind] ?? []) {
      const def = project[kind][ref.source];
      if (!def) continue;
      // where it lands: as Compose places it (a relative secret target under /run/secrets, a
      // relative config target under /; no target: the name of the source)
      const dir = kind === 'secrets' ? '/run/secrets/' : '/';
      const target = ref.target === undefined ? `${dir}${ref.source}` : ref.target.startsWith('/') ? ref.target : `${dir}${ref.target}`;
      if (def.file) {
        out.binds.push(`${def.file}:${target}:ro`);
        continue;
      }
      const content = def.content !== undefined ? String(def.content) : def.environment !== undefined ? project.environment[String(def.environment)] ?? '' : '';
      out.files.push({ path: target, content, mode: ref.mode ?? 0o444, uid: ref.uid ? Number(ref.uid) : undefined, gid: ref.gid ? Number(ref.gid) : undefined });
    }
  }
}

/** The service keys that map one to one onto the engine's HostConfig. */
const HOST_KEYS: Array<[string, (s: Service) => unknown]> = [
  ['Init', (s) => s.init],
  ['Privileged', (s) => s.privileged],
  ['ReadonlyRootfs', (s) => s.read_only],
  ['SecurityOpt', (s) => s.security_opt],
  ['Dns', (s) => s.dns],
  ['DnsOptions', (s) => s.dns_opt],
  ['DnsSearch', (s) => s.dns_search],
  ['ExtraHosts', (s) => (s.extra_hosts as string[] | undefined)?.map((h) => h.replace('=', ':'))],
  ['Tmpfs', (s) => (s.tmpfs ? Object.fromEntries((s.tmpfs as string[]).map((t) => (t.includes(':') ? [t.slice(0, t.indexOf(':')), t.slice(t.indexOf(':') + 1)] : [t, '']))) : undefined)],
  ['Sysctls', (s) => s.sysctls],
  ['ShmSize', (s) => s.shm_size],
  ['GroupAdd', (s) => s.group_add],
  ['OomKillDisable', (s) => s.oom_kill_disable],
  ['OomScoreAdj', (s) => s.oom_score_adj],
  ['PidsLimit', (s) => s.pids_limit],
  ['CgroupParent', (s) => s.cgroup_parent],
  ['Cgroupns', (s) => s.cgroup],
  ['Isolation', (s) => s.isolation],
  ['Runtime', (s) => s.runtime],
  ['UsernsMode', (s) => s.userns_mode],
  ['UTSMode', (s) => s.uts],
  ['StorageOpt', (s) => s.storage_opt],
  ['CpuShares', (s) => s.cpu_shares],
  ['CpuQuota', (s) => s.cpu_quota],
  ['CpuPeriod', (s) => s.cpu_period],
  ['CpuRealtimePeriod', (s) => s.cpu_rt_period],
  ['CpuRealtimeRuntime', (s) => s.cpu_rt_runtime],
  ['CpusetCpus', (s) => s.cpuset],
  ['CpuCount', (s) => s.cpu_count],
  ['CpuPercent', (s) => s.cpu_percent],
  ['Memory', (s) => s.mem_limit],
  ['MemoryReservation', (s) => s.mem_reservation],
  ['MemorySwap', (s) => s.memswap_limit],
  ['MemorySwappiness', (s) => s.mem_swappiness],
  ['DeviceCgroupRules', (s) => s.device_cgroup_rules],
  ['Devices', (s) => (s.devices as Array<{ source: string; target?: string; permissions?: string }> | undefined)?.map((d) => ({ PathOnHost: d.source, PathInContainer: d.target ?? d.source, CgroupPermissions: d.permissions ?? 'rwm' }))],
  ['Ulimits', (s) => (s.ulimits ? Object.entries(s.ulimits as Record<string, { single?: number; soft?: number; hard?: number }>).map(([k, v]) => ({ Name: k, Soft: v.single ?? v.soft, Hard: v.single ?? v.hard })) : undefined)],
  ['LogConfig', (s) => (s.logging ? { Type: (s.logging as { driver?: string }).driver ?? 'json-file', Config: (s.logging as { options?: Record<string, string> }).options ?? {} } : undefined)],
];

/** the one-to-one keys, capabilities (with run --cap-add/--cap-drop), links and volumes_from */
function hostGroup({ s, opts, lookup, links }: SpecContext, out: SpecParts): void {
  for (const [key, value] of HOST_KEYS) out.host[key] = value(s);
  out.host.CapAdd = opts.capAdd?.length ? [...(s.cap_add ?? []), ...opts.capAdd] : s.cap_add;
  out.host.CapDrop = opts.capDrop?.length ? [...(s.cap_drop ?? []), ...opts.capDrop] : s.cap_drop;
  out.host.Links = s.network_mode ? links : undefined;
  out.host.VolumesFrom = (s.volumes_from as string[] | undefined)
    ?.map((v) => {
      if (v.startsWith('container:')) return v.slice(10);
      const [svc, mode] = v.split(':');
      const c = lookup(svc!);
      return c ? (mode ? `${c}:${mode}` : c) : undefined;
    })
    .filter(Boolean);
}

/** deploy.resources where the service's own keys say nothing (cpus, memory, pids) */
function resourcesGroup({ s }: SpecContext, out: SpecParts): void {
  const resources = (s.deploy?.resources ?? {}) as Rec;
  const limits = (resources.limits ?? {}) as Rec;
  const reservations = (resources.reservations ?? {}) as Rec;
  const cpus = typeof s.cpus === 'number' ? s.cpus : typeof limits.cpus === 'number' ? limits.cpus : undefined;
  if (cpus !== undefined) out.host.NanoCpus = Math.round(cpus * 1e9);
  if (out.host.Memory === undefined && typeof limits.memory === 'number') out.host.Memory = limits.memory;
  if (out.host.MemoryReservation === undefined && typeof reservations.memory === 'number') out.host.MemoryReservation = reservations.memory;
  if (out.host.PidsLimit === undefined && typeof limits.pids === 'number') out.host.PidsLimit = limits.pids;
}

/** restart policy, the TTY's size, ipc and pid (service:x to that service's container) */
function processGroup({ s, opts, lookup }: SpecContext, out: SpecParts): void {
  out.host.RestartPolicy = restartPolicy(s, opts.oneoff);
  // the TTY's size from the start (engines with API 1.42+; older ones take a resize after start)
  if (opts.tty && opts.consoleSize) out.host.ConsoleSize = opts.consoleSize;
  for (const key of ['ipc', 'pid'] as const) {
    const v = s[key];
    if (typeof v === 'string') out.host[key === 'ipc' ? 'IpcMode' : 'PidMode'] = v.startsWith('service:') ? `container:${lookup(v.slice(8)) ?? v.slice(8)}` : v;
  }
}

/** network_mode, or the networks: the first at create time (by priority, then name), the rest connected after */
function networksGroup({ project, s, opts, lookup, links }: SpecContext, out: SpecParts): void {
  if (s.network_mode) {
    const nm = s.network_mode;
    out.host.NetworkMode = nm.startsWith('service:') ? `container:${lookup(nm.slice(8)) ?? nm.slice(8)}` : nm;
    return;
  }
  const nets = Object.entries(s.networks ?? {}).sort(([a, x], [b, y]) => (y?.priority ?? 0) - (x?.priority ?? 0) || a.localeCompare(b));
  if (!nets.length) return;
  const aliases = !opts.oneoff || opts.useAliases;
  const [firstKey, firstCfg] = nets[0]!;
  const firstName = project.networks[firstKey]?.name ?? firstKey;
  out.host.NetworkMode = firstName;
  out.body.NetworkingConfig = { EndpointsConfig: { [firstName]: endpoint(s, firstCfg, links, aliases) } };
  for (const [key, cfg] of nets.slice(1)) out.extraNetworks.push({ name: project.networks[key]?.name ?? key, endpoint: endpoint(s, cfg, links, aliases) });
}

/** Compose's keys by group, each filling its part of the container's definition, in this order. */
const SPEC_GROUPS: Array<(c: SpecContext, out: SpecParts) => void> = [portsGroup, volumesGroup, secretsGroup, hostGroup, resourcesGroup, processGroup, networksGroup];

export function containerSpec(
  project: Project,
  s: Service,
  n: number,
  name: string,
  image: string,
  lookup: ServiceContainerLookup,
  opts: ContainerOptions = {},
): ContainerSpec {
  const links = ((s.links as string[] | undefined) ?? []).flatMap((l) => {
    const [svc, alias] = l.split(':');
    const c = lookup(svc!);
    return c ? [`${c}:${alias ?? svc}`] : [];
  });
  const out: SpecParts = { body: {}, host: {}, binds: [], mounts: [], exposed: {}, bindings: {}, files: [], extraNetworks: [] };
  for (const group of SPEC_GROUPS) group({ project, s, opts, lookup, links }, out);
  const env = { ...(s.environment ?? {}), ...(opts.env ?? {}) };
  const host = { ...out.host, Binds: orUndefined(out.binds), Mounts: orUndefined(out.mounts), PortBindings: orUndefined(out.bindings) };
  const body: Rec = {
    Image: image,
    Cmd: opts.command ?? s.command ?? undefined,
    Entrypoint: opts.entrypoint ?? s.entrypoint ?? undefined,
    Env: Object.entries(env)
      .filter(([, v]) => v !== null && v !== undefined)
      .map(([k, v]) => `${k}=${v}`),
    Labels: { ...containerLabels(project, s, n, opts.oneoff), ...opts.labels },
    User: opts.user ?? s.user,
    WorkingDir: opts.workdir ?? s.working_dir,
    Hostname: s.hostname,
    Domainname: s.domainname,
    MacAddress: s.mac_address,
    ExposedPorts: orUndefined(out.exposed),
    Tty: opts.tty ?? s.tty ?? false,
    OpenStdin: opts.stdinOpen ?? s.stdin_open ?? false,
    AttachStdin: opts.stdinOpen ?? false,
    // a one-off container's stdin closes when the attached client closes it (docker run -i)
    StdinOnce: opts.stdinOpen ?? false,
    AttachStdout: true,
    AttachStderr: true,
    StopSignal: s.stop_signal,
    StopTimeout: s.stop_grace_period !== undefined ? Math.ceil(s.stop_grace_period / NS_PER_S) : undefined,
    Healthcheck: healthcheck(s),
    HostConfig: prune(host),
    NetworkingConfig: out.body.NetworkingConfig,
  };
  if (s.command === null && !opts.command) body.Cmd = [];
  if (s.entrypoint === null && !opts.entrypoint) body.Entrypoint = [];
  return { body: prune(body), extraNetworks: out.extraNetworks, files: out.files };
}

/** an empty list or object as undefined (left out of the engine's body) */
function orUndefined<T extends object>(x: T): T | undefined {
  return Object.keys(x).length ? x : undefined;
}

function restartPolicy(s: Service, oneoff?: boolean): Rec {
  if (oneoff) return { Name: 'no' };
  const r = s.restart;
  if (r) {
    const [name, count] = r.split(':');
    return { Name: name, ...(count ? { MaximumRetryCount: Number(count) } : {}) };
  }
  const rp = s.deploy?.restart_policy as Rec | undefined;
  if (rp?.condition) {
    const name = rp.condition === 'any' ? 'always' : rp.condition === 'on-failure' ? 'on-failure' : 'no';
    return { Name: name, ...(typeof rp.max_attempts === 'number' ? { MaximumRetryCount: rp.max_attempts } : {}) };
  }
  return { Name: 'no' };
}

function expandRange(s: string): number[] {
  const [a, b] = s.split('-').map(Number);
  if (b === undefined || Number.isNaN(b)) return [a!];
  const out: number[] = [];
  for (let i = a!; i <= b; i++) out.push(i);
  return out;
}

function prune(o: Rec): Rec {
  const out: Rec = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) out[k] = v;
  return out;
}

export function networkBody(project: Project, key: string): Rec {
  const n = project.networks[key]!;
  const ipam = n.ipam
    ? {
        Driver: n.ipam.driver ?? 'default',
        Config: (n.ipam.config ?? []).map((c) => prune({ Subnet: c.subnet, IPRange: c.ip_range, Gateway: c.gateway, AuxiliaryAddresses: c.aux_addresses })),
        Options: n.ipam.options,
      }
    : undefined;
  const labels: Record<string, string> = {};
  for (const [k, v] of Object.entries(n.labels ?? {})) labels[k] = v ?? '';
  const definition = prune({ Driver: n.driver ?? 'bridge', Options: n.driver_opts, Internal: n.internal, Attachable: n.attachable, EnableIPv6: n.enable_ipv6, IPAM: ipam });
  // what the network was created from (the user's labels included, not ours): a later `up`
  // tells when the definition has changed
  const hash = configHash({ ...definition, labels });
  Object.assign(labels, { [LABEL.project]: project.name, [LABEL.network]: key, [LABEL.version]: COMPOSE_VERSION_LABEL, [LABEL.networkHash]: hash });
  return { Name: n.name, ...definition, Labels: labels, CheckDuplicate: true };
}

export function volumeBody(project: Project, key: string): Rec {
  const v = project.volumes[key]!;
  const labels: Record<string, string> = {};
  for (const [k, x] of Object.entries(v.labels ?? {})) labels[k] = x ?? '';
  Object.assign(labels, { [LABEL.project]: project.name, [LABEL.volume]: key, [LABEL.version]: COMPOSE_VERSION_LABEL });
  return prune({ Name: v.name, Driver: v.driver ?? 'local', DriverOpts: v.driver_opts, Labels: labels });
}
