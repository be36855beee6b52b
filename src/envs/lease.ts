/**
 * Leased, isolated environments for parallel test runs. A lease is a project of its own (a unique
 * name), every published port remapped to one the engine picks (on 127.0.0.1 unless told
 * otherwise), brought up and waited for in-process. The engine is the state: a lease is a small
 * marker volume labelled with its owner and its expiry — containers' labels cannot change, a
 * marker can be replaced on renew. `gc` (and every acquire) removes expired leases and those whose
 * owner process is gone; nothing that is not a lease is ever touched.
 *
 * Whose a lease is: a process, named by something a reused pid cannot match — host, boot id, pid
 * namespace, pid and the process's start time (`dev.dockyard.lease.owner*` labels). The owner is
 * gone when, on this host, its boot is over or its pid names no process, a zombie, or a process
 * that started at another time. A lease may have no owner process (`owner: 'none'`, what
 * `dockyard env acquire` does unless `--owner-pid` names one): only its expiry or a release ends
 * it. An owner on another host, or in another pid namespace of this one, cannot be seen from here:
 * its lease also lives until its expiry. Markers of older versions (`host:pid` only) are read as
 * before: on this host, the lease lives while that pid does.
 */
import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { readFileSync, readlinkSync } from 'node:fs';
import { hostname, userInfo } from 'node:os';
import { basename, dirname, resolve } from 'node:path';
import type { ContainerStatus, LogEntry, OpenProjectOptions } from '../api/project.js';
import { openProject } from '../api/project.js';
import type { ProjectHandle } from '../api/project.js';
import type { ContainerSummary, Engine } from '../engine/engine.js';
import type { Project } from '../model/project.js';
import { DockyardError, isConflict } from '../errors.js';
import { parseDuration } from '../load/units.js';
import { LABEL } from '../model/names.js';
import { normalizeProjectName } from '../load/normalize.js';
import { serviceConfigHash } from '../model/serialize.js';
import { imageName } from '../model/names.js';
import { LEASE_SNAPSHOT, SNAPSHOT, afterRemovals, projectKey, resolveSnapshot, restoreVolumes, snapshotById, trackRemoval, snapshotDifferences, snapshotEnvironment, useSnapshotContainers } from './snapshot.js';
import type { SnapshotInfo, SnapshotOptions } from './snapshot.js';

export const LEASE = {
  name: 'dev.dockyard.lease',
  owner: 'dev.dockyard.lease.owner',
  expires: 'dev.dockyard.lease.expires',
  created: 'dev.dockyard.lease.created',
  workingDir: 'dev.dockyard.lease.working_dir',
  /** the owner's boot (Linux: /proc/sys/kernel/random/boot_id) */
  ownerBoot: 'dev.dockyard.lease.owner.boot',
  /** the owner's pid namespace (Linux: /proc/self/ns/pid), in which its pid means something */
  ownerPidns: 'dev.dockyard.lease.owner.pidns',
  /** the owner process's start time (Linux: clock ticks since boot, field 22 of /proc/<pid>/stat; elsewhere `ps -o lstart`) */
  ownerStart: 'dev.dockyard.lease.owner.start',
  /** the owner process's command line; with no owner process, the command that acquired the lease */
  ownerCommand: 'dev.dockyard.lease.owner.command',
  /** the user who acquired the lease */
  ownerUser: 'dev.dockyard.lease.owner.user',
} as const;

const OWNER_LABELS = [LEASE.owner, LEASE.ownerBoot, LEASE.ownerPidns, LEASE.ownerStart, LEASE.ownerCommand, LEASE.ownerUser] as const;

const DEFAULT_TTL_MS = 60 * 60 * 1000;

export interface AcquireOptions extends Omit<OpenProjectOptions, 'projectName'> {
  /** only these services (and their dependencies) */
  services?: string[];
  /** how long the lease lives unless renewed: ms, or a duration ("30m"); default 1h */
  ttl?: number | string;
  /** where published ports bind (default 127.0.0.1) */
  bindHost?: string;
  /** how long to wait for every service to be healthy (default 120 s) */
  waitTimeoutMs?: number;
  /** the lease's name (default: the project directory's name and a random suffix) */
  name?: string;
  /**
   * who holds it: this process by default (gc reclaims the lease once the process is gone);
   * `{ pid }`: that process on this host (it must be running); 'none': no process, only its expiry
   * or a release ends it
   */
  owner?: 'process' | 'none' | { pid: number };
  /**
   * a fork of a snapshot (its tag, `project:tag` or image id): the named volumes it holds are
   * created as copies of it before the services start (see envs/snapshot.ts)
   */
  from?: string;
  /** with `from`: refuse a snapshot taken of another configuration or image of a service (default: a warning, through onWarning) */
  strict?: boolean;
}

export interface LeasedService {
  state: string;
  health?: string;
  exitCode?: number;
  /** container port ("80/tcp") -> host port */
  ports: Record<string, number>;
  /** the address of a published port: `http://127.0.0.1:49153` (default: the first port) */
  url(port?: number, scheme?: string): string;
}

export interface ServiceHealth {
  service: string;
  container: string;
  status: 'healthy' | 'unhealthy' | 'starting' | 'running' | 'stopped' | 'exited';
  exitCode?: number;
  /** the last health check's output */
  lastCheck?: string;
  /** the last log lines, for anything not healthy */
  logs?: string[];
}

/** Whose a lease is, as its labels say. */
export interface LeaseHolder {
  host: string;
  /** the owner process; undefined when the lease has none */
  pid?: number;
  /** the user who acquired it */
  user?: string;
  /** the owner's command line (with no owner process: the command that acquired the lease) */
  command?: string;
  boot?: string;
  pidns?: string;
  /** the owner process's start time, as recorded (clock ticks since boot on Linux) */
  start?: string;
}

/**
 * alive: the owner process runs. gone: it ended (its pid free, a zombie, or taken by a process that
 * started at another time; or its host rebooted). unknown: it runs on another host or in another
 * pid namespace, which cannot be seen from here. none: the lease has no owner process. Only a
 * gone owner makes a lease orphaned; the others live until their expiry.
 */
export type OwnerState = 'alive' | 'gone' | 'unknown' | 'none';

export interface LeaseInfo {
  name: string;
  /** the owner label as written: `host:pid` (`host:-` with no owner process) */
  owner: string;
  holder: LeaseHolder;
  ownerState: OwnerState;
  expiresAt: Date;
  createdAt: Date;
  workingDir: string;
  expired: boolean;
  /** the owner process is gone (ownerState 'gone') */
  orphaned: boolean;
}

const ttlMs = (ttl: number | string | undefined): number => {
  if (ttl === undefined) return DEFAULT_TTL_MS;
  if (typeof ttl === 'number') return ttl;
  const ns = parseDuration(ttl);
  if (ns === undefined || ns <= 0) throw new DockyardError('USAGE', `invalid lease time "${ttl}"`, { hint: 'a duration such as 30m, 2h, 90s' });
  return ns / 1e6;
};

/** What this machine says about processes: Linux's /proc, else `ps`; undefined where neither answers. */
const linux = process.platform === 'linux';
const readText = (path: string): string | undefined => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
};
const ps = (pid: number, field: string): string | undefined => {
  try {
    return execFileSync('ps', ['-o', `${field}=`, '-p', String(pid)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 5000 }).trim() || undefined;
  } catch {
    return undefined;
  }
};
let here: { host: string; boot?: string; pidns?: string } | undefined;
/** This host, boot and pid namespace. */
function thisMachine(): { host: string; boot?: string; pidns?: string } {
  if (here) return here;
  let pidns: string | undefined;
  try {
    pidns = linux ? readlinkSync('/proc/self/ns/pid') : undefined;
  } catch {
    pidns = undefined;
  }
  return (here = { host: hostname(), boot: linux ? readText('/proc/sys/kernel/random/boot_id')?.trim() || undefined : undefined, pidns });
}

/** A process as /proc (or ps) sees it now: undefined when no such process runs. */
function processNow(pid: number): { start?: string; zombie: boolean } | undefined {
  if (linux) {
    const stat = readText(`/proc/${pid}/stat`);
    if (stat !== undefined) {
      // the command name (field 2) may hold spaces and parentheses: fields 3... follow the last ')'
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return { start: f[19], zombie: f[0] === 'Z' || f[0] === 'X' };
    }
  }
  // no /proc, or one that hides other users' processes (hidepid): ask the kernel whether the pid exists
  try {
    process.kill(pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return undefined;
  }
  // it exists; where /proc hides it, its start time cannot be read (ps reads /proc too): taken as the owner
  if (linux) return { zombie: false };
  return { start: ps(pid, 'lstart'), zombie: ps(pid, 'stat')?.startsWith('Z') ?? false };
}

function commandOf(pid: number): string | undefined {
  const raw = linux ? readText(`/proc/${pid}/cmdline`)?.split('\0').filter(Boolean).join(' ') : ps(pid, 'command');
  const cmd = raw || (pid === process.pid ? [process.argv0, ...process.argv.slice(1)].join(' ') : undefined);
  // a label is one line; the start of a long command line says enough
  const line = cmd?.replace(/\s+/g, ' ').trim();
  return line && line.length > 200 ? `${line.slice(0, 199)}…` : line || undefined;
}

function userName(): string | undefined {
  try {
    return userInfo().username;
  } catch {
    return process.env.USER ?? process.env.USERNAME;
  }
}

/** The labels that say whose a lease is. */
function ownerLabels(kind: AcquireOptions['owner'] = 'process'): Record<string, string> {
  const m = thisMachine();
  const labels: Record<string, string> = {};
  const set = (k: string, v: string | undefined) => {
    if (v) labels[k] = v;
  };
  set(LEASE.ownerUser, userName());
  if (kind === 'none') {
    labels[LEASE.owner] = `${m.host}:-`;
    set(LEASE.ownerCommand, commandOf(process.pid));
    return labels;
  }
  const pid = kind === 'process' ? process.pid : kind.pid;
  if (!Number.isInteger(pid) || pid <= 0) throw new DockyardError('USAGE', `invalid owner pid "${pid}"`, { hint: 'the pid of a running process on this host' });
  const now = processNow(pid);
  if (!now || now.zombie) throw new DockyardError('USAGE', `no process ${pid} runs here to own the lease`, { hint: 'name a running process (its pid), or acquire without an owner process: the lease then lives until its expiry' });
  labels[LEASE.owner] = `${m.host}:${pid}`;
  set(LEASE.ownerBoot, m.boot);
  set(LEASE.ownerPidns, m.pidns);
  set(LEASE.ownerStart, now.start);
  set(LEASE.ownerCommand, commandOf(pid));
  return labels;
}

/** Whose a lease is, from its labels (old markers: `host:pid` only). */
function holderOf(l: Record<string, string>): LeaseHolder {
  const who = l[LEASE.owner] ?? '';
  const cut = who.lastIndexOf(':');
  const pid = Number(who.slice(cut + 1));
  const h: LeaseHolder = { host: cut < 0 ? who : who.slice(0, cut) };
  if (cut >= 0 && Number.isInteger(pid) && pid > 0) h.pid = pid;
  if (l[LEASE.ownerUser]) h.user = l[LEASE.ownerUser];
  if (l[LEASE.ownerCommand]) h.command = l[LEASE.ownerCommand];
  if (l[LEASE.ownerBoot]) h.boot = l[LEASE.ownerBoot];
  if (l[LEASE.ownerPidns]) h.pidns = l[LEASE.ownerPidns];
  if (l[LEASE.ownerStart]) h.start = l[LEASE.ownerStart];
  return h;
}

/** Is the lease's owner process still the one that acquired it? (See OwnerState.) */
function ownerState(h: LeaseHolder): OwnerState {
  if (h.pid === undefined) return 'none';
  const m = thisMachine();
  if (h.host !== m.host) return 'unknown';
  // the host took a new boot: every process of the old one is gone (the host name stands for the machine, as it always has)
  if (h.boot && m.boot && h.boot !== m.boot) return 'gone';
  if (h.pidns && m.pidns && h.pidns !== m.pidns) return 'unknown';
  const now = processNow(h.pid);
  if (!now || now.zombie) return 'gone';
  // a process of that pid runs: the owner only if it started when the owner did (old markers cannot tell)
  if (h.start && now.start && h.start !== now.start) return 'gone';
  return 'alive';
}

/** an Engine as given, a Docker context's name, or the one the docker CLI would use */
async function defaultEngine(engine?: Engine | string): Promise<Engine> {
  return (await import('../engine/docker.js')).resolveEngine(engine);
}

/** Writes the lease's marker: a volume whose labels say whose it is and until when. */
async function mark(engine: Engine, name: string, expires: Date, created: Date, workingDir: string, who: Record<string, string>): Promise<void> {
  await engine.createVolume({
    Name: `dockyard-lease-${name}-${expires.getTime()}`,
    Labels: { ...who, [LEASE.name]: name, [LEASE.expires]: expires.toISOString(), [LEASE.created]: created.toISOString(), [LEASE.workingDir]: workingDir, [LABEL.project]: name },
  });
}

/** The owner labels among a resource's labels. */
const ownerOf = (l: Record<string, string>): Record<string, string> => Object.fromEntries(OWNER_LABELS.filter((k) => l[k] !== undefined).map((k) => [k, l[k]!]));

/** What a marker carries besides its owner, kept on renew: the project, the snapshot it was forked from. */
const MARKER_LABELS = [LEASE_SNAPSHOT.project, LEASE_SNAPSHOT.from, LEASE_SNAPSHOT.fromId] as const;
const markerExtras = (l: Record<string, string>): Record<string, string> => Object.fromEntries(MARKER_LABELS.filter((k) => l[k] !== undefined).map((k) => [k, l[k]!]));

/** The leases on the engine (from their markers), newest expiry per lease. */
export async function listEnvironments(o: { engine?: Engine | string } = {}): Promise<LeaseInfo[]> {
  const engine = await defaultEngine(o.engine);
  const vols = await engine.listVolumes([LEASE.name]);
  const byName = new Map<string, LeaseInfo>();
  const now = Date.now();
  for (const v of vols) {
    const l = v.Labels;
    const name = l[LEASE.name]!;
    const expiresAt = new Date(l[LEASE.expires] ?? 0);
    const prev = byName.get(name);
    if (prev && prev.expiresAt >= expiresAt) continue;
    const holder = holderOf(l);
    const state = ownerState(holder);
    byName.set(name, { name, owner: l[LEASE.owner] ?? '', holder, ownerState: state, expiresAt, createdAt: new Date(l[LEASE.created] ?? 0), workingDir: l[LEASE.workingDir] ?? '', expired: expiresAt.getTime() <= now, orphaned: state === 'gone' });
  }
  // containers of a lease whose marker is gone (an acquire that was killed halfway) count too
  const cs = await engine.listContainers([LEASE.name], true);
  for (const c of cs) {
    const name = c.labels[LEASE.name]!;
    if (byName.has(name)) continue;
    const holder = holderOf(c.labels);
    const state = ownerState(holder);
    byName.set(name, { name, owner: c.labels[LEASE.owner] ?? '', holder, ownerState: state, expiresAt: new Date(0), createdAt: new Date(c.created * 1000), workingDir: c.labels[LABEL.workingDir] ?? '', expired: true, orphaned: state === 'gone' });
  }
  return [...byName.values()].sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * Removes a lease: its containers, networks and volumes (anonymous ones too), found by the
 * project label; then its markers. Idempotent. Only leases: a project without a lease marker or
 * lease labels is refused.
 */
export async function releaseEnvironment(name: string, o: { engine?: Engine | string } = {}): Promise<void> {
  const engine = await defaultEngine(o.engine);
  await afterRemovals(name);
  const markers = await engine.listVolumes([`${LEASE.name}=${name}`]);
  const cs = await engine.listContainers([`${LABEL.project}=${name}`], true);
  if (!markers.length && cs.some((c) => !c.labels[LEASE.name])) throw new DockyardError('USAGE', `${name} is not a dockyard lease`, { hint: 'dockyard env ls lists the leases' });
  // two releases of one lease at once (two gcs): the engine refuses the second removal while the first runs
  await Promise.all(cs.map((c) => retry(() => engine.removeContainer(c.id, { force: true, volumes: true }).catch(async (e: unknown) => {
    if (!isConflict(e)) throw e;
    if (await engine.inspectContainer(c.id)) throw e;
  }))));
  // what kept the snapshot image of a fork's overlay volumes (no project label: not one of its services)
  const keepers = await engine.listContainers([`${SNAPSHOT.keeper}=${name}`], true);
  await Promise.all(keepers.map((c) => engine.removeContainer(c.id, { force: true })));
  const nets = await engine.listNetworks([`${LABEL.project}=${name}`]);
  for (const n of nets) {
    for (let attempt = 0; ; attempt++) {
      try {
        await engine.removeNetwork(n.Name);
        break;
      } catch (e) {
        if (attempt >= 20) throw e;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }
  const vols = await engine.listVolumes([`${LABEL.project}=${name}`]);
  // a volume stays in use while a container's removal (another release's) is still under way;
  // a fork's overlay volumes go before the upper and work volumes they mount
  const layer = (v: { Labels: Record<string, string> }) => v.Labels[SNAPSHOT.layerOf] !== undefined;
  await Promise.all(vols.filter((v) => !layer(v)).map((v) => retry(() => engine.removeVolume(v.Name))));
  await Promise.all(vols.filter(layer).map((v) => retry(() => engine.removeVolume(v.Name))));
}

/** Retries what the engine refuses as a conflict (something else is removing the same things), for up to 2 s. */
async function retry(f: () => Promise<void>): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await f();
    } catch (e) {
      if (attempt >= 20 || !isConflict(e)) throw e;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/** Extends a lease to `ttl` from now (its owner unchanged): a new marker replaces the old ones. */
export async function renewEnvironment(name: string, ttl?: number | string, o: { engine?: Engine | string } = {}): Promise<Date> {
  const engine = await defaultEngine(o.engine);
  const old = await engine.listVolumes([`${LEASE.name}=${name}`]);
  if (!old.length) throw new DockyardError('USAGE', `no lease named ${name}`, { hint: 'dockyard env ls lists the leases' });
  const l = old[0]!.Labels;
  const expires = new Date(Date.now() + ttlMs(ttl));
  await mark(engine, name, expires, new Date(l[LEASE.created] ?? Date.now()), l[LEASE.workingDir] ?? '', { ...ownerOf(l), ...markerExtras(l) });
  await Promise.all(old.filter((v) => v.Name !== `dockyard-lease-${name}-${expires.getTime()}`).map((v) => engine.removeVolume(v.Name)));
  return expires;
}

/** Removes the leases that expired and those whose owner process is gone (see OwnerState). */
export async function gcEnvironments(o: { engine?: Engine | string } = {}): Promise<string[]> {
  const engine = await defaultEngine(o.engine);
  const gone = (await listEnvironments({ engine })).filter((l) => l.expired || l.orphaned);
  await Promise.all(gone.map((l) => releaseEnvironment(l.name, { engine })));
  return gone.map((l) => l.name);
}

/** Per service: healthy / unhealthy / starting / running / stopped / exited, with the last check and log lines of what is not well. */
export async function healthReport(name: string, o: { engine?: Engine | string } = {}): Promise<ServiceHealth[]> {
  const engine = await defaultEngine(o.engine);
  const cs = await engine.listContainers([`${LABEL.project}=${name}`, `${LABEL.oneoff}=False`], true);
  return Promise.all(
    cs
      .sort((a, b) => a.name.localeCompare(b.name))
      .map(async (c) => {
        const info = await engine.inspectContainer(c.id);
        const st = info?.State;
        const health = st?.Health?.Status;
        const status: ServiceHealth['status'] = !st ? 'stopped' : st.Running ? (health === 'healthy' ? 'healthy' : health === 'unhealthy' ? 'unhealthy' : health === 'starting' ? 'starting' : 'running') : st.Status === 'exited' ? 'exited' : 'stopped';
        const out: ServiceHealth = { service: c.labels[LABEL.service] ?? '', container: c.name, status };
        if (status === 'exited') out.exitCode = st!.ExitCode;
        const last = st?.Health?.Log?.at(-1);
        if (last) out.lastCheck = last.Output.trim();
        if (status !== 'healthy' && status !== 'running') {
          const logs = await engine.containerLogs(c.id, { tail: 10 }, info?.Config.Tty ?? false);
          const chunks: Buffer[] = [];
          logs.stdout.on('data', (b: Buffer) => chunks.push(b));
          logs.stderr.on('data', (b: Buffer) => chunks.push(b));
          await logs.done;
          await new Promise((r) => setImmediate(r));
          out.logs = Buffer.concat(chunks).toString('utf8').split('\n').filter(Boolean);
        }
        return out;
      }),
  );
}

export class Lease {
  services: Record<string, LeasedService> = {};
  /** the snapshot it was forked from */
  from?: SnapshotInfo;
  /** what a fork found different from its snapshot (also given to onWarning) */
  warnings: string[] = [];

  constructor(
    readonly handle: ProjectHandle,
    public expiresAt: Date,
    private readonly createdAt: Date,
    private readonly bindHost: string,
  ) {}

  /**
   * Captures the named volumes of the lease's services as snapshot `tag` (its services paused
   * meanwhile): `acquireEnvironment({ from: tag })` then forks it.
   */
  snapshot(tag: string, o: Omit<SnapshotOptions, 'engine'> = {}): Promise<SnapshotInfo> {
    return snapshotEnvironment(this.name, tag, { ...o, engine: this.handle.engine });
  }

  /** A fork back to its snapshot: containers recreated on the same host ports, volumes restored, services ready. */
  async reset(o: { waitTimeoutMs?: number } = {}): Promise<this> {
    await resetEnvironment(this.name, { ...o, engine: this.handle.engine, handle: this.handle });
    return this.refresh();
  }

  get name(): string {
    return this.handle.name;
  }

  /** Reads the services' state and ports from the engine. */
  async refresh(): Promise<this> {
    const rows = await this.handle.ps({ all: true });
    const services: Record<string, LeasedService> = {};
    const host = this.bindHost === '0.0.0.0' ? '127.0.0.1' : this.bindHost === '::' ? '::1' : this.bindHost;
    for (const r of rows.filter((x) => !x.oneoff).sort((a, b) => a.number - b.number)) {
      if (services[r.service]) continue;
      services[r.service] = leasedService(r, host);
    }
    this.services = services;
    return this;
  }

  /** Extends the lease to `ttl` from now. */
  async renew(ttl?: number | string): Promise<Date> {
    this.expiresAt = await renewEnvironment(this.name, ttl, { engine: this.handle.engine });
    void this.createdAt;
    return this.expiresAt;
  }

  release(): Promise<void> {
    return releaseEnvironment(this.name, { engine: this.handle.engine });
  }

  health(): Promise<ServiceHealth[]> {
    return healthReport(this.name, { engine: this.handle.engine });
  }

  async restart(service: string): Promise<void> {
    await this.handle.restart([service], { waitTimeoutMs: 60_000 });
    await this.refresh();
  }

  exec(service: string, command: string[]) {
    return this.handle.exec(service, command);
  }

  logs(service: string, o: { follow?: boolean; tail?: number; signal?: AbortSignal } = {}): AsyncIterable<LogEntry> {
    return this.handle.logs([service], o);
  }

  /** What `env acquire --format json` prints. */
  toJSON(): { name: string; expiresAt: string; from?: string; warnings?: string[]; services: Record<string, { state: string; health?: string; ports: Record<string, number> }> } {
    return {
      name: this.name,
      expiresAt: this.expiresAt.toISOString(),
      ...(this.from ? { from: `${this.from.project}:${this.from.tag}` } : {}),
      ...(this.warnings.length ? { warnings: this.warnings } : {}),
      services: Object.fromEntries(Object.entries(this.services).map(([k, v]) => [k, { state: v.state, health: v.health, ports: v.ports }])),
    };
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.release();
  }
}

function leasedService(r: ContainerStatus, host: string): LeasedService {
  const ports: Record<string, number> = {};
  for (const p of r.ports) if (p.published && ports[`${p.target}/${p.protocol}`] === undefined) ports[`${p.target}/${p.protocol}`] = p.published;
  return {
    state: r.state,
    health: r.health,
    exitCode: r.exitCode,
    ports,
    url(port?: number, scheme = 'http') {
      const key = port === undefined ? Object.keys(ports)[0] : ports[`${port}/tcp`] !== undefined ? `${port}/tcp` : `${port}/udp`;
      const hostPort = key ? ports[key] : undefined;
      if (hostPort === undefined) throw new DockyardError('USAGE', port === undefined ? `service ${r.service} publishes no port` : `port ${port} of service ${r.service} is not published`, { hint: `published: ${Object.keys(ports).join(', ') || 'none'}` });
      return `${scheme}://${host.includes(':') ? `[${host}]` : host}:${hostPort}`;
    },
  };
}

/**
 * A lease's services as the lease runs them: no fixed container name, every published port on a
 * host port the engine picks (or, `pinned`, the one it had), the lease's labels on every container,
 * with the service's configuration hash as the files give it (what a snapshot records).
 */
function leaseServices(model: Project, name: string, labels: Record<string, string>, bindHost: string): void {
  for (const s of Object.values(model.services)) {
    if (s.container_name) {
      throw new DockyardError('INVALID_VALUE', `service "${s.name}" has a fixed container_name ("${s.container_name}"), which parallel leases cannot share`, {
        keyPath: `services.${s.name}.container_name`,
        hint: 'leave it out, or override it in an overlay file for tests (container_name: !reset null)',
      });
    }
    const hash = serviceConfigHash(s);
    // every published port on a host port the engine picks: leases never collide
    if (s.ports) s.ports = s.ports.map((p) => ({ ...p, published: undefined, host_ip: bindHost }));
    // the owner on the containers too: a lease whose marker is gone is still judged by it
    s.labels = { ...s.labels, [LEASE.name]: name, ...labels, [LEASE_SNAPSHOT.configHash]: hash };
  }
}

/** Published ports back on the host ports a lease's containers have now (a reset keeps its URLs). */
function pinPorts(model: Project, ports: Record<string, Record<string, number>>): void {
  for (const s of Object.values(model.services)) {
    const mine = ports[s.name];
    if (s.ports && mine) s.ports = s.ports.map((p) => ({ ...p, published: mine[`${p.target}/${p.protocol}`] !== undefined ? String(mine[`${p.target}/${p.protocol}`]) : undefined }));
  }
}

/**
 * Acquires an isolated environment: its own project name, every published port remapped to an
 * ephemeral one on `bindHost`, brought up and waited for (every service healthy, running or
 * completed). Expired and orphaned leases are reclaimed meanwhile. With `from`, a fork: the named
 * volumes are copies of that snapshot's before any service starts.
 */
export async function acquireEnvironment(o: AcquireOptions = {}): Promise<Lease> {
  const engine = await defaultEngine(o.engine);
  const bindHost = o.bindHost ?? '127.0.0.1';
  const ttl = ttlMs(o.ttl);
  // whose it is, settled first: a named owner that does not run is refused before anything is done
  const who = ownerLabels(o.owner);
  const cwd = resolve(o.workingDir ?? process.cwd());
  const dir = o.projectDirectory ? resolve(cwd, o.projectDirectory) : o.files?.length && o.files[0] !== '-' ? dirname(resolve(cwd, o.files[0]!)) : cwd;
  const project = projectKey(dir);
  const name = o.name ?? `dy-${normalizeProjectName(basename(dir)).slice(0, 30) || 'env'}-${randomBytes(4).toString('hex')}`;
  const warnings: string[] = [];
  // the snapshot is found (or pulled) while the files are read
  const finding = o.from !== undefined ? resolveSnapshot(o.from, { engine, project, pull: true }) : undefined;
  finding?.catch(() => undefined);
  const handle = await openProject({ ...o, engine, projectName: name });
  leaseServices(handle.model, name, { ...who, [LEASE_SNAPSHOT.project]: project }, bindHost);
  let snap: SnapshotInfo | undefined;
  if (finding) {
    snap = await finding;
    const services = Object.values(handle.model.services).filter((s) => snap!.services[s.name]);
    const images = Object.fromEntries(await Promise.all(services.map(async (s) => [s.name, (await engine.inspectImage(imageName(name, s)))?.Id] as const)));
    const hashes = Object.fromEntries(services.map((s) => [s.name, s.labels![LEASE_SNAPSHOT.configHash]!]));
    const diffs = await snapshotDifferences(engine, snap, project, hashes, images, Object.keys(handle.model.volumes));
    if (diffs.length && o.strict) throw new DockyardError('USAGE', `snapshot ${snap.tag} does not match the project: ${diffs.join('; ')}`, { hint: 'take the snapshot again from a lease of the project as it is, or use it anyway (without strict / --strict)' });
    for (const d of diffs) {
      warnings.push(d);
      o.onWarning?.(d);
    }
    await useSnapshotContainers(engine, snap, handle.model);
  }
  const created = new Date();
  const expiresAt = new Date(created.getTime() + ttl);
  const extras: Record<string, string> = { [LEASE_SNAPSHOT.project]: project };
  if (snap) Object.assign(extras, { [LEASE_SNAPSHOT.from]: `${snap.project}:${snap.tag}`, [LEASE_SNAPSHOT.fromId]: snap.id });
  // the marker first: an acquire killed halfway leaves something gc recognizes
  await mark(engine, name, expiresAt, created, handle.model.workingDir, { ...who, ...extras });
  try {
    // old leases are reclaimed while a fork's volumes are copied
    await Promise.all([gcEnvironments({ engine }), snap ? restoreVolumes(engine, snap, handle.model, {}, { keeper: name }) : undefined]);
    await handle.up({ services: o.services, wait: true, waitTimeoutMs: o.waitTimeoutMs ?? 120_000 });
  } catch (e) {
    await releaseEnvironment(name, { engine }).catch(() => undefined);
    throw e;
  }
  const lease = new Lease(handle, expiresAt, created, bindHost);
  lease.from = snap;
  lease.warnings = warnings;
  return lease.refresh();
}

export interface ResetOptions {
  engine?: Engine | string;
  /** the lease's project as it was acquired (Lease.reset gives its own); by default it is opened again from its containers' labels (working directory, Compose files) */
  handle?: ProjectHandle;
  /** with no handle: the environment the files are read with (default process.env) */
  environment?: Record<string, string | undefined>;
  /** how long to wait for every service to be ready again (default 120 s) */
  waitTimeoutMs?: number;
  onWarning?: (message: string) => void;
  /**
   * wait until the old volumes are removed too (default: their removal runs on after the reset
   * returns, while the test does; the next reset, snapshot or release of the lease in this process
   * waits for it)
   */
  awaitRemovals?: boolean;
}

/**
 * Puts a fork back to its snapshot: its containers removed (anonymous volumes too), its named
 * volumes copied again from the snapshot, its services created again on the same host ports and
 * waited for. A lease that is not a fork is refused.
 */
export async function resetEnvironment(name: string, o: ResetOptions = {}): Promise<void> {
  const engine = await defaultEngine(o.engine ?? o.handle?.engine);
  await afterRemovals(name);
  const [allMarkers, cs, vols, layers] = await Promise.all([
    engine.listVolumes([`${LEASE.name}=${name}`]),
    engine.listContainers([`${LABEL.project}=${name}`], true),
    engine.listVolumes([`${LABEL.project}=${name}`, LABEL.volume]),
    engine.listVolumes([`${LABEL.project}=${name}`, SNAPSHOT.layerOf]),
  ]);
  const markers = allMarkers.sort((a, b) => (b.Labels[LEASE.expires] ?? '').localeCompare(a.Labels[LEASE.expires] ?? ''));
  if (!markers.length) throw new DockyardError('USAGE', `no lease named ${name}`, { hint: 'dockyard env ls lists the leases' });
  const l = markers[0]!.Labels;
  const fromId = l[LEASE_SNAPSHOT.fromId];
  if (!fromId) throw new DockyardError('USAGE', `${name} was not forked from a snapshot: there is nothing to reset it to`, { hint: 'acquire it with from: TAG (dockyard env acquire --from TAG)' });
  const snap = await snapshotById(engine, fromId);
  if (!snap) throw new DockyardError('USAGE', `the snapshot ${name} was forked from (${l[LEASE_SNAPSHOT.from] ?? fromId}) is gone`, { hint: 'release the lease and acquire a new fork' });
  const services = cs.filter((c) => c.labels[LABEL.oneoff] !== 'True');
  const { ports, bindHost } = publishedPorts(services);
  const handle = o.handle ?? (await reopen(engine, name, services, l, bindHost, o));
  pinPorts(handle.model, ports);
  // checked before anything is removed: the images of the containers it holds are there
  await useSnapshotContainers(engine, snap, handle.model);
  const names = [...new Set(services.map((c) => c.labels[LABEL.service]!).filter((s) => handle.model.services[s]))];
  // the snapshot's volumes are restored under new names while the old containers are removed; the
  // old volumes go once the services are up (removing a volume's files takes as long as copying them)
  const restored = snap.volumes.filter((k) => handle.model.volumes[k] && !handle.model.volumes[k]!.external);
  for (const k of restored) handle.model.volumes[k]!.name = `${name}_${k}-${randomBytes(3).toString('hex')}`;
  await Promise.all([Promise.all(cs.map((c) => engine.removeContainer(c.id, { force: true, volumes: true }))), restoreVolumes(engine, snap, handle.model)]);
  const [replaced, others] = [vols.filter((v) => restored.includes(v.Labels[LABEL.volume]!)), vols.filter((v) => !restored.includes(v.Labels[LABEL.volume]!))];
  // with the upper and work volumes of those that were overlays (the volume first: it is their mount)
  const old = [...replaced, ...layers.filter((v) => replaced.some((r) => r.Name === v.Labels[SNAPSHOT.layerOf]))];
  // a volume the snapshot does not hold keeps its name and starts empty: up creates it again
  await Promise.all(others.map((v) => engine.removeVolume(v.Name)));
  try {
    await handle.up({ services: names.length ? names : undefined, wait: true, waitTimeoutMs: o.waitTimeoutMs ?? 120_000 });
  } finally {
    // after up: the engine's local volume driver holds its lock while it deletes a volume's files,
    // and creating or inspecting any volume (up does both) would wait for it
    const dropping = (async () => {
      await Promise.all(replaced.map((v) => retry(() => engine.removeVolume(v.Name))));
      await Promise.all(old.slice(replaced.length).map((v) => retry(() => engine.removeVolume(v.Name))));
    })();
    if (o.awaitRemovals) await dropping;
    else trackRemoval(name, dropping);
  }
}

/** The host ports a lease's services have now (by service, `port/protocol`), and the address they bind: a reset keeps its URLs. */
function publishedPorts(services: ContainerSummary[]): { ports: Record<string, Record<string, number>>; bindHost?: string } {
  const ports: Record<string, Record<string, number>> = {};
  let bindHost: string | undefined;
  for (const c of services.filter((x) => (x.labels[LABEL.number] ?? '1') === '1')) {
    const svc = c.labels[LABEL.service]!;
    for (const p of c.ports) {
      if (p.publicPort === undefined) continue;
      (ports[svc] ??= {})[`${p.privatePort}/${p.type}`] ??= p.publicPort;
      bindHost ??= p.ip;
    }
  }
  return { ports, bindHost };
}

/** A lease's project opened again from its containers' labels (working directory, Compose files), as the lease runs it; warns where the files now differ. */
async function reopen(engine: Engine, name: string, services: ContainerSummary[], marker: Record<string, string>, bindHost: string | undefined, o: ResetOptions): Promise<ProjectHandle> {
  const first = services[0];
  const dir = first?.labels[LABEL.workingDir] ?? marker[LEASE.workingDir];
  const handle = await openProject({ workingDir: dir, files: first?.labels[LABEL.configFiles]?.split(',').filter(Boolean), environment: o.environment, engine, projectName: name, onWarning: o.onWarning });
  const labels = { ...ownerOf(first?.labels ?? marker), [LEASE_SNAPSHOT.project]: marker[LEASE_SNAPSHOT.project] ?? projectKey(dir ?? name) };
  leaseServices(handle.model, name, labels, bindHost ?? '127.0.0.1');
  for (const c of services) {
    const svc = handle.model.services[c.labels[LABEL.service] ?? ''];
    const was = c.labels[LEASE_SNAPSHOT.configHash];
    if (svc && was && svc.labels?.[LEASE_SNAPSHOT.configHash] !== was) o.onWarning?.(`service ${svc.name}: the files now configure it differently than when ${name} was acquired; it is recreated as they say now`);
  }
  return handle;
}
