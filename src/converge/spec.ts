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

export function containerSpec(
  project: Project,
  s: Service,
  n: number,
  name: string,
  image: string,
  lookup: ServiceContainerLookup,
  opts: ContainerOptions = {},
): ContainerSpec {
  const env = { ...(s.environment ?? {}), ...(opts.env ?? {}) };
  const links = ((s.links as string[] | undefined) ?? []).flatMap((l) => {
    const [svc, alias] = l.split(':');
    const c = lookup(svc!);
    return c ? [`${c}:${alias ?? svc}`] : [];
  });
  const Env = Object.entries(env)
    .filter(([, v]) => v !== null && v !== undefined)
    .map(([k, v]) => `${k}=${v}`);
  const exposed: Rec = {};
  const bindings: Record<string, Array<{ HostIp: string; HostPort: string }>> = {};
  for (const e of s.expose ?? []) {
    const [port, proto] = e.split('/');
    for (const p of expandRange(port!)) exposed[portKey(p, proto ?? 'tcp')] = {};
  }
  if (!opts.noPorts) {
    for (const p of s.ports ?? []) {
      const key = portKey(p.target, p.protocol);
      exposed[key] = {};
      (bindings[key] ??= []).push({ HostIp: p.host_ip ?? '', HostPort: p.published ?? '' });
    }
  }
  for (const spec of opts.publish ?? []) {
    for (const p of parsePortSpec(spec)) {
      const key = portKey(p.target, p.protocol);
      exposed[key] = {};
      (bindings[key] ??= []).push({ HostIp: p.host_ip ?? '', HostPort: p.published ?? '' });
    }
  }
  const binds: string[] = [...(opts.volumes ?? [])];
  const mounts: Rec[] = [];
  for (const v of s.volumes ?? []) {
    if (v.type === 'bind' && v.bind?.create_host_path !== false && !v.bind?.recursive) {
      const opts: string[] = [];
      if (v.read_only) opts.push('ro');
      if (v.bind?.selinux) opts.push(v.bind.selinux);
      if (v.bind?.propagation) opts.push(v.bind.propagation);
      if (v.volume?.nocopy) opts.push('nocopy');
      binds.push(`${v.source}:${v.target}${opts.length ? `:${opts.join(',')}` : ''}`);
      continue;
    }
    const m: Rec = { Type: v.type, Target: v.target, ReadOnly: v.read_only ?? false };
    if (v.type === 'volume') {
      if (v.source) m.Source = project.volumes[v.source]?.name ?? v.source;
      const vo: Rec = {};
      if (v.volume?.nocopy) vo.NoCopy = true;
      if (v.volume?.subpath) vo.Subpath = v.volume.subpath;
      if (v.source && project.volumes[v.source] && !project.volumes[v.source]!.external) vo.Labels = { [LABEL.project]: project.name, [LABEL.volume]: v.source };
      if (Object.keys(vo).length) m.VolumeOptions = vo;
    } else if (v.type === 'bind') {
      m.Source = v.source;
      const bo: Rec = {};
      if (v.bind?.propagation) bo.Propagation = v.bind.propagation;
      if (Object.keys(bo).length) m.BindOptions = bo;
    } else if (v.type === 'tmpfs') {
      const to: Rec = {};
      if (v.tmpfs?.size !== undefined) to.SizeBytes = v.tmpfs.size;
      if (v.tmpfs?.mode !== undefined) to.Mode = v.tmpfs.mode;
      if (Object.keys(to).length) m.TmpfsOptions = to;
    } else if (v.source) m.Source = v.source;
    mounts.push(m);
  }
  // a replacement keeps its predecessor's anonymous volumes (a `- /data` in volumes:, or a VOLUME
  // of the image): the data survives a recreation, as with Compose
  for (const v of opts.inheritVolumes ?? []) {
    const same = mounts.find((m) => m.Target === v.target);
    if (same) {
      if (same.Type === 'volume' && !same.Source) same.Source = v.name;
    } else if (!binds.some((b) => b.split(':')[1] === v.target)) {
      mounts.push({ Type: 'volume', Source: v.name, Target: v.target, ReadOnly: false });
    }
  }
  const files: ContainerSpec['files'] = [];
  for (const kind of ['secrets', 'configs'] as const) {
    for (const ref of s[kind] ?? []) {
      const def = project[kind][ref.source];
      if (!def) continue;
      // where it lands: as Compose places it (a relative secret target under /run/secrets, a
      // relative config target under /; no target: the name of the source)
      const dir = kind === 'secrets' ? '/run/secrets/' : '/';
      const target = ref.target === undefined ? `${dir}${ref.source}` : ref.target.startsWith('/') ? ref.target : `${dir}${ref.target}`;
      if (def.file) {
        binds.push(`${def.file}:${target}:ro`);
      } else {
        const content = def.content !== undefined ? String(def.content) : def.environment !== undefined ? project.environment[String(def.environment)] ?? '' : '';
        files.push({ path: target, content, mode: ref.mode ?? 0o444, uid: ref.uid ? Number(ref.uid) : undefined, gid: ref.gid ? Number(ref.gid) : undefined });
      }
    }
  }

  const host: Rec = {
    Binds: binds.length ? binds : undefined,
    Mounts: mounts.length ? mounts : undefined,
    PortBindings: Object.keys(bindings).length ? bindings : undefined,
    Init: s.init,
    Privileged: s.privileged,
    ReadonlyRootfs: s.read_only,
    CapAdd: opts.capAdd?.length ? [...(s.cap_add ?? []), ...opts.capAdd] : s.cap_add,
    CapDrop: opts.capDrop?.length ? [...(s.cap_drop ?? []), ...opts.capDrop] : s.cap_drop,
    SecurityOpt: s.security_opt,
    Dns: s.dns,
    DnsOptions: s.dns_opt,
    DnsSearch: s.dns_search,
    ExtraHosts: (s.extra_hosts as string[] | undefined)?.map((h) => h.replace('=', ':')),
    Tmpfs: s.tmpfs ? Object.fromEntries((s.tmpfs as string[]).map((t) => { const i = t.indexOf(':'); return i < 0 ? [t, ''] : [t.slice(0, i), t.slice(i + 1)]; })) : undefined,
    Sysctls: s.sysctls,
    ShmSize: s.shm_size,
    GroupAdd: s.group_add,
    OomKillDisable: s.oom_kill_disable,
    OomScoreAdj: s.oom_score_adj,
    PidsLimit: s.pids_limit,
    CgroupParent: s.cgroup_parent,
    Cgroupns: s.cgroup,
    Isolation: s.isolation,
    Runtime: s.runtime,
    UsernsMode: s.userns_mode,
    UTSMode: s.uts,
    StorageOpt: s.storage_opt,
    CpuShares: s.cpu_shares,
    CpuQuota: s.cpu_quota,
    CpuPeriod: s.cpu_period,
    CpuRealtimePeriod: s.cpu_rt_period,
    CpuRealtimeRuntime: s.cpu_rt_runtime,
    CpusetCpus: s.cpuset,
    CpuCount: s.cpu_count,
    CpuPercent: s.cpu_percent,
    Memory: s.mem_limit,
    MemoryReservation: s.mem_reservation,
    MemorySwap: s.memswap_limit,
    MemorySwappiness: s.mem_swappiness,
    DeviceCgroupRules: s.device_cgroup_rules,
    Devices: (s.devices as Array<{ source: string; target?: string; permissions?: string }> | undefined)?.map((d) => ({ PathOnHost: d.source, PathInContainer: d.target ?? d.source, CgroupPermissions: d.permissions ?? 'rwm' })),
    Links: s.network_mode ? links : undefined,
    VolumesFrom: (s.volumes_from as string[] | undefined)?.map((v) => {
      if (v.startsWith('container:')) return v.slice(10);
      const [svc, mode] = v.split(':');
      const c = lookup(svc!);
      return c ? (mode ? `${c}:${mode}` : c) : undefined;
    }).filter(Boolean),
  };
  const limits = ((s.deploy?.resources as Rec | undefined)?.limits ?? {}) as Rec;
  const reservations = ((s.deploy?.resources as Rec | undefined)?.reservations ?? {}) as Rec;
  const cpus = typeof s.cpus === 'number' ? s.cpus : typeof limits.cpus === 'number' ? limits.cpus : undefined;
  if (cpus !== undefined) host.NanoCpus = Math.round(cpus * 1e9);
  if (host.Memory === undefined && typeof limits.memory === 'number') host.Memory = limits.memory;
  if (host.MemoryReservation === undefined && typeof reservations.memory === 'number') host.MemoryReservation = reservations.memory;
  if (host.PidsLimit === undefined && typeof limits.pids === 'number') host.PidsLimit = limits.pids;
  if (s.ulimits) {
    host.Ulimits = Object.entries(s.ulimits as Record<string, { single?: number; soft?: number; hard?: number }>).map(([k, v]) => ({ Name: k, Soft: v.single ?? v.soft, Hard: v.single ?? v.hard }));
  }
  if (s.logging) {
    const l = s.logging as { driver?: string; options?: Record<string, string> };
    host.LogConfig = { Type: l.driver ?? 'json-file', Config: l.options ?? {} };
  }
  host.RestartPolicy = restartPolicy(s, opts.oneoff);
  // the TTY's size from the start (engines with API 1.42+; older ones take a resize after start)
  if (opts.tty && opts.consoleSize) host.ConsoleSize = opts.consoleSize;
  for (const key of ['ipc', 'pid'] as const) {
    const v = s[key];
    if (typeof v === 'string') {
      const mode = v.startsWith('service:') ? `container:${lookup(v.slice(8)) ?? v.slice(8)}` : v;
      host[key === 'ipc' ? 'IpcMode' : 'PidMode'] = mode;
    }
  }

  // networks: the first at create time (by priority, then name), the rest connected after
  const nets = Object.entries(s.networks ?? {}).sort(([a, x], [b, y]) => (y?.priority ?? 0) - (x?.priority ?? 0) || a.localeCompare(b));
  const extraNetworks: ContainerSpec['extraNetworks'] = [];
  let networking: Rec | undefined;
  if (s.network_mode) {
    const nm = s.network_mode;
    host.NetworkMode = nm.startsWith('service:') ? `container:${lookup(nm.slice(8)) ?? nm.slice(8)}` : nm;
  } else if (nets.length) {
    const [firstKey, firstCfg] = nets[0]!;
    const firstName = project.networks[firstKey]?.name ?? firstKey;
    host.NetworkMode = firstName;
    networking = { EndpointsConfig: { [firstName]: endpoint(s, firstCfg, links, !opts.oneoff || opts.useAliases) } };
    for (const [key, cfg] of nets.slice(1)) {
      extraNetworks.push({ name: project.networks[key]?.name ?? key, endpoint: endpoint(s, cfg, links, !opts.oneoff || opts.useAliases) });
    }
  }

  const body: Rec = {
    Image: image,
    Cmd: opts.command ?? s.command ?? undefined,
    Entrypoint: opts.entrypoint ?? s.entrypoint ?? undefined,
    Env,
    Labels: { ...containerLabels(project, s, n, opts.oneoff), ...opts.labels },
    User: opts.user ?? s.user,
    WorkingDir: opts.workdir ?? s.working_dir,
    Hostname: s.hostname,
    Domainname: s.domainname,
    MacAddress: s.mac_address,
    ExposedPorts: Object.keys(exposed).length ? exposed : undefined,
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
    NetworkingConfig: networking,
  };
  if (s.command === null && !opts.command) body.Cmd = [];
  if (s.entrypoint === null && !opts.entrypoint) body.Entrypoint = [];
  return { body: prune(body), extraNetworks, files };
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
