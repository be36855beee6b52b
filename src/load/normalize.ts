/**
 * From the merged tree to the canonical Project: every field in one shape (environment as a
 * map, ports and volumes long form, durations in ns, sizes in bytes, commands as lists,
 * absolute paths, default network, resource names).
 */
import { resolve } from 'node:path';
import { DockyardError } from '../errors.js';
import type { ErrorCode } from '../errors.js';
import type { Mapping, Service } from '../model/project.js';
import { readEnvFiles } from './dotenv.js';
import type { KeyPath } from './path.js';
import { formatPath, isPlainObject } from './path.js';
import { parseDuration, parseSize, shellSplit } from './units.js';

export type Locator = (path: KeyPath) => { file: string; line?: number; column?: number } | undefined;

export interface NormalizeContext {
  projectName: string;
  workingDir: string;
  environment: Record<string, string>;
  resolvePaths: boolean;
  /** false (--no-consistency): a missing env_file is treated as empty instead of an error */
  checkFiles: boolean;
  locate: Locator;
}

type Rec = Record<string, unknown>;

export class Normalizer {
  constructor(private readonly ctx: NormalizeContext) {}

  fail(code: ErrorCode, message: string, path: KeyPath, hint?: string): never {
    throw new DockyardError(code, message, { location: this.ctx.locate(path), keyPath: formatPath(path), hint });
  }

  mapping(v: unknown, path: KeyPath, resolveFromEnv = false): Mapping {
    const out: Mapping = {};
    const put = (k: string, val: unknown) => {
      if (val === null || val === undefined) {
        const env = resolveFromEnv ? this.ctx.environment[k] : undefined;
        out[k] = env ?? null;
      } else out[k] = typeof val === 'string' ? val : String(val);
    };
    if (Array.isArray(v)) {
      for (const e of v) {
        const s = String(e);
        const i = s.indexOf('=');
        if (i < 0) put(s, null);
        else put(s.slice(0, i), s.slice(i + 1));
      }
    } else if (isPlainObject(v)) {
      for (const [k, val] of Object.entries(v)) put(k, val);
    } else if (v !== null && v !== undefined) this.fail('WRONG_TYPE', 'must be a mapping or a list of KEY=VALUE', path);
    return out;
  }

  /** Labels: a mapping whose entries without a value are empty strings (as Compose reads them). */
  labels(v: unknown, path: KeyPath): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [k, x] of Object.entries(this.mapping(v, path))) out[k] = x ?? '';
    return out;
  }

  duration(v: unknown, path: KeyPath): number | undefined {
    if (v === undefined || v === null) return undefined;
    if (typeof v === 'number') return v * 1e9;
    const ns = parseDuration(String(v));
    if (ns === undefined) this.fail('INVALID_VALUE', `invalid duration "${String(v)}"`, path, 'write a duration such as 10s, 1m30s, 500ms or 1h');
    return ns;
  }

  size(v: unknown, path: KeyPath): number | undefined {
    if (v === undefined || v === null) return undefined;
    const n = parseSize(v);
    if (n === undefined) this.fail('INVALID_VALUE', `invalid size "${String(v)}"`, path, 'write a size such as 512m, 1g or a number of bytes');
    return n;
  }

  int(v: unknown, path: KeyPath): number | undefined {
    if (v === undefined || v === null) return undefined;
    const n = typeof v === 'number' ? v : /^[-+]?\d+$/.test(String(v).trim()) ? Number(v) : NaN;
    if (!Number.isInteger(n)) this.fail('INVALID_VALUE', `"${String(v)}" is not an integer`, path);
    return n;
  }

  num(v: unknown, path: KeyPath): number | undefined {
    if (v === undefined || v === null) return undefined;
    const n = typeof v === 'number' ? v : Number(String(v).trim());
    if (!Number.isFinite(n) || String(v).trim() === '') this.fail('INVALID_VALUE', `"${String(v)}" is not a number`, path);
    return n;
  }

  bool(v: unknown, path: KeyPath): boolean | undefined {
    if (v === undefined || v === null) return undefined;
    if (typeof v === 'boolean') return v;
    const s = String(v).toLowerCase();
    if (['true', 'yes', 'y', 'on', '1'].includes(s)) return true;
    if (['false', 'no', 'n', 'off', '0', ''].includes(s)) return false;
    this.fail('INVALID_VALUE', `"${String(v)}" is not a boolean`, path, 'write true or false');
  }

  command(v: unknown, path: KeyPath): string[] | null | undefined {
    if (v === undefined) return undefined;
    if (v === null) return null;
    if (Array.isArray(v)) return v.map(String);
    try {
      return shellSplit(String(v));
    } catch (e) {
      this.fail('INVALID_VALUE', (e as Error).message, path, 'balance the quotes, or write the command as a list');
    }
  }

  // ---------------------------------------------------------------------------------------------

  service(name: string, raw: Rec): Service {
    const p = (k: string | number, ...more: (string | number)[]): KeyPath => ['services', name, k, ...more];
    const s: Rec = { ...raw, name };
    delete s.extends;
    for (const key of ['environment', 'annotations', 'sysctls'] as const) {
      if (s[key] !== undefined) s[key] = this.mapping(s[key], p(key), key === 'environment');
    }
    if (s.labels !== undefined) s.labels = this.labels(s.labels, p('labels'));
    if (s.label_file !== undefined) {
      // label files are read like env files (later files win; a value may use the labels read
      // before it); the service's own labels win over them
      const files = (s.label_file as unknown[]).map(String);
      const fromFiles = readEnvFiles(
        files.map((f, i) => ({ path: resolve(this.ctx.workingDir, f), required: this.ctx.checkFiles, from: this.ctx.locate(p('label_file', i)), keyPath: formatPath(p('label_file', i)), kind: 'label' })),
        {},
      );
      s.label_file = files;
      s.labels = { ...fromFiles, ...((s.labels as Mapping | undefined) ?? {}) };
    }
    if (s.env_file !== undefined) {
      const files = (s.env_file as Rec[]).map((f, i) => ({
        path: String(f.path),
        required: this.bool(f.required, p('env_file', i, 'required')) ?? true,
        ...(f.format !== undefined ? { format: String(f.format) } : {}),
      }));
      s.env_file = files;
      // Compose resolves env files into the environment; the service's own environment wins.
      const fromFiles = readEnvFiles(
        files.map((f, i) => ({ path: resolve(this.ctx.workingDir, f.path), required: f.required && this.ctx.checkFiles, from: this.ctx.locate(p('env_file', i)), keyPath: formatPath(p('env_file', i)) })),
        this.ctx.environment,
      );
      s.environment = { ...fromFiles, ...((s.environment as Mapping | undefined) ?? {}) };
    }
    for (const key of ['command', 'entrypoint'] as const) if (key in s) s[key] = this.command(s[key], p(key));
    if (s.build !== undefined) s.build = this.build(s.build as Rec, name);
    if (s.healthcheck !== undefined) {
      const h = { ...(s.healthcheck as Rec) };
      if (typeof h.test === 'string') h.test = ['CMD-SHELL', h.test];
      for (const d of ['interval', 'timeout', 'start_period', 'start_interval']) if (h[d] !== undefined) h[d] = this.duration(h[d], p('healthcheck', d));
      if (h.retries !== undefined) h.retries = this.int(h.retries, p('healthcheck', 'retries'));
      if (h.disable !== undefined) h.disable = this.bool(h.disable, p('healthcheck', 'disable'));
      if (Array.isArray(h.test) && h.test[0] === 'NONE') h.disable = true;
      s.healthcheck = h;
    }
    if (s.stop_grace_period !== undefined) s.stop_grace_period = this.duration(s.stop_grace_period, p('stop_grace_period'));
    for (const b of ['read_only', 'privileged', 'tty', 'stdin_open', 'init', 'oom_kill_disable', 'attach']) if (s[b] !== undefined) s[b] = this.bool(s[b], p(b));
    for (const z of ['shm_size', 'mem_limit', 'mem_reservation', 'memswap_limit']) {
      if (s[z] !== undefined) s[z] = s[z] === -1 || s[z] === '-1' ? -1 : this.size(s[z], p(z));
    }
    for (const i of ['scale', 'cpu_shares', 'cpu_quota', 'cpu_period', 'cpu_rt_period', 'cpu_rt_runtime', 'cpu_count', 'cpu_percent', 'pids_limit', 'oom_score_adj', 'mem_swappiness']) {
      if (s[i] !== undefined) s[i] = this.int(s[i], p(i));
    }
    if (s.cpus !== undefined) s.cpus = this.num(s.cpus, p('cpus'));
    if (s.expose !== undefined) s.expose = (s.expose as unknown[]).map(String);
    if (s.group_add !== undefined) s.group_add = (s.group_add as unknown[]).map(String);
    if (s.ports !== undefined) {
      s.ports = (s.ports as Rec[]).map((port, i) => {
        const out: Rec = { ...port, mode: port.mode ?? 'ingress', protocol: port.protocol ?? 'tcp' };
        out.target = this.int(port.target, p('ports', i, 'target'));
        if (port.published !== undefined && port.published !== null && port.published !== '') out.published = String(port.published);
        else delete out.published;
        return out;
      });
    }
    if (s.volumes !== undefined) {
      s.volumes = (s.volumes as Rec[]).map((v, i) => {
        const out: Rec = { ...v };
        if (out.read_only !== undefined) out.read_only = this.bool(out.read_only, p('volumes', i, 'read_only'));
        if (out.type === 'bind' && isPlainObject(out.bind)) {
          // options given: a missing create_host_path is true (compose-go's default); no bind
          // options at all stays so (the engine runner creates the host path either way)
          const b: Rec = { ...out.bind };
          b.create_host_path = b.create_host_path === undefined ? true : this.bool(b.create_host_path, p('volumes', i, 'bind', 'create_host_path'));
          out.bind = b;
        }
        if (isPlainObject(out.volume)) {
          const vv = { ...out.volume };
          if (vv.nocopy !== undefined) vv.nocopy = this.bool(vv.nocopy, p('volumes', i, 'volume', 'nocopy'));
          if (vv.labels !== undefined) vv.labels = this.mapping(vv.labels, p('volumes', i, 'volume', 'labels'));
          out.volume = vv;
        }
        if (isPlainObject(out.tmpfs)) {
          const t = { ...out.tmpfs };
          if (t.size !== undefined) t.size = this.size(t.size, p('volumes', i, 'tmpfs', 'size'));
          if (t.mode !== undefined) t.mode = typeof t.mode === 'string' ? parseInt(t.mode, 8) : t.mode;
          out.tmpfs = t;
        }
        if (out.target === undefined && out.type !== 'npipe') this.fail('INVALID_VALUE', 'a volume needs a target path', p('volumes', i), 'add target: /path/in/container');
        return out;
      });
    }
    if (s.tmpfs !== undefined) s.tmpfs = (s.tmpfs as unknown[]).map(String);
    if (s.dns !== undefined) s.dns = (s.dns as unknown[]).map(String);
    if (s.dns_search !== undefined) s.dns_search = (s.dns_search as unknown[]).map(String);
    if (s.extra_hosts !== undefined) s.extra_hosts = this.extraHosts(s.extra_hosts, p('extra_hosts'));
    for (const kind of ['secrets', 'configs'] as const) {
      if (s[kind] === undefined) continue;
      s[kind] = (s[kind] as Rec[]).map((m, i) => {
        const out: Rec = { ...m };
        // as compose-go: a service secret without a target gets /run/secrets/<source>; other
        // targets stay as written (the engine runner places relative ones, see converge/spec.ts)
        if (out.target === undefined && kind === 'secrets') out.target = `/run/secrets/${String(m.source)}`;
        if (typeof out.mode === 'string') out.mode = parseInt(out.mode, 8);
        if (out.mode !== undefined && !Number.isFinite(out.mode as number)) this.fail('INVALID_VALUE', 'invalid file mode', p(kind, i, 'mode'), 'write an octal mode such as 0440');
        return out;
      });
    }
    // (the short syntax got its target and permissions in canonical.ts; the long one stays as written)
    if (s.gpus !== undefined) s.gpus = (s.gpus as Rec[]).map((d, i) => this.deviceRequest(d, p('gpus', i)));
    if (isPlainObject(s.blkio_config)) s.blkio_config = this.blkio(s.blkio_config, p('blkio_config'));
    for (const hook of ['post_start', 'pre_stop'] as const) {
      if (Array.isArray(s[hook])) s[hook] = (s[hook] as Rec[]).map((h, i) => this.hook(h, p(hook, i)));
    }
    if (isPlainObject(s.develop) && Array.isArray(s.develop.watch)) {
      s.develop = { ...s.develop, watch: s.develop.watch.map((w: Rec, i: number) => (isPlainObject(w.exec) ? { ...w, exec: this.hook(w.exec, p('develop', 'watch', i, 'exec')) } : w)) };
    }
    if (s.depends_on !== undefined) {
      const deps: Rec = {};
      for (const [dep, d] of Object.entries(s.depends_on as Rec)) {
        const dd = { ...(d as Rec) };
        dd.required = this.bool(dd.required, p('depends_on', dep, 'required')) ?? true;
        if (dd.restart !== undefined) dd.restart = this.bool(dd.restart, p('depends_on', dep, 'restart'));
        deps[dep] = dd;
      }
      s.depends_on = deps;
    }
    // what a service shares with another makes it depend on it (as compose-go normalizes):
    // links and service:x namespaces (restarted with it), volumes_from (not restarted)
    const implied: Array<[string, boolean]> = [];
    for (const l of (s.links as string[] | undefined) ?? []) implied.push([String(l).split(':')[0]!, true]);
    for (const k of ['network_mode', 'ipc', 'pid', 'uts', 'cgroup']) if (typeof s[k] === 'string' && (s[k] as string).startsWith('service:')) implied.push([(s[k] as string).slice(8), true]);
    for (const v of (s.volumes_from as string[] | undefined) ?? []) if (!String(v).startsWith('container:')) implied.push([String(v).split(':')[0]!, false]);
    for (const [dep, restart] of implied) {
      const deps = (s.depends_on ??= {}) as Rec;
      deps[dep] ??= { condition: 'service_started', restart, required: true };
    }
    if (s.networks !== undefined) {
      const nets: Rec = {};
      for (const [n, cfg] of Object.entries(s.networks as Rec)) nets[n] = cfg === undefined ? null : cfg;
      s.networks = nets;
    } else if (s.network_mode === undefined) {
      s.networks = { default: null };
    }
    if (s.logging !== undefined && isPlainObject((s.logging as Rec).options)) {
      const l = { ...(s.logging as Rec) };
      l.options = Object.fromEntries(Object.entries(l.options as Rec).map(([k, v]) => [k, v === null ? null : String(v)]));
      s.logging = l;
    }
    if (s.ulimits !== undefined) {
      const u: Rec = {};
      for (const [k, v] of Object.entries(s.ulimits as Rec)) {
        if (isPlainObject(v)) u[k] = { soft: this.int(v.soft, p('ulimits', k, 'soft')), hard: this.int(v.hard, p('ulimits', k, 'hard')) };
        else u[k] = { single: this.int(v, p('ulimits', k)) };
      }
      s.ulimits = u;
    }
    if (s.deploy !== undefined && s.deploy !== null) s.deploy = this.deploy(s.deploy as Rec, p('deploy'));
    if (s.deploy === null) delete s.deploy;
    return s as unknown as Service;
  }

  /** A device request (gpus, deploy reservations): count "all" is -1, and the default (compose-go's DeviceCount). */
  deviceRequest(d: Rec, path: KeyPath): Rec {
    const out: Rec = { ...d };
    if (out.count === undefined && out.device_ids === undefined) out.count = -1;
    else if (typeof out.count === 'string') out.count = out.count.toLowerCase() === 'all' ? -1 : this.int(out.count, [...path, 'count']);
    return out;
  }

  /** blkio_config: weights as integers, rates in bytes (or operations) per second. */
  private blkio(b: Rec, path: KeyPath): Rec {
    const out: Rec = { ...b };
    if (out.weight !== undefined) out.weight = this.int(out.weight, [...path, 'weight']);
    if (Array.isArray(out.weight_device)) out.weight_device = out.weight_device.map((w: Rec, i: number) => ({ ...w, weight: this.int(w.weight, [...path, 'weight_device', i, 'weight']) }));
    for (const k of ['device_read_bps', 'device_read_iops', 'device_write_bps', 'device_write_iops']) {
      if (Array.isArray(out[k])) out[k] = (out[k] as Rec[]).map((t, i) => ({ ...t, rate: this.size(t.rate, [...path, k, i, 'rate']) }));
    }
    return out;
  }

  /** A lifecycle hook (post_start, pre_stop, watch exec): command as a list, environment as a mapping. */
  private hook(h: Rec, path: KeyPath): Rec {
    const out: Rec = { ...h };
    if ('command' in out) out.command = this.command(out.command, [...path, 'command']);
    if (out.environment !== undefined) out.environment = this.mapping(out.environment, [...path, 'environment'], true);
    if (out.privileged !== undefined) out.privileged = this.bool(out.privileged, [...path, 'privileged']);
    return out;
  }

  private extraHosts(v: unknown, path: KeyPath): string[] {
    const out: string[] = [];
    if (isPlainObject(v)) {
      for (const [h, ip] of Object.entries(v)) for (const x of Array.isArray(ip) ? ip : [ip]) out.push(`${h}=${String(x)}`);
      return out;
    }
    for (const e of v as unknown[]) {
      const s = String(e);
      const eq = s.indexOf('=');
      const colon = s.indexOf(':');
      const i = eq >= 0 && (colon < 0 || eq < colon) ? eq : colon;
      if (i < 0) this.fail('INVALID_VALUE', `invalid extra host "${s}"`, path, 'write host=ip or host:ip');
      for (const ip of s.slice(i + 1).split(',')) out.push(`${s.slice(0, i)}=${ip.replace(/^\[(.*)\]$/, '$1')}`);
    }
    return out;
  }

  private build(b: Rec, name: string): Rec {
    const p = (...more: (string | number)[]): KeyPath => ['services', name, 'build', ...more];
    const out: Rec = { ...b };
    out.context = String(out.context ?? '.');
    if (out.dockerfile === undefined && out.dockerfile_inline === undefined) out.dockerfile = 'Dockerfile';
    if (out.args !== undefined) out.args = this.mapping(out.args, p('args'), true);
    if (out.labels !== undefined) out.labels = this.labels(out.labels, p('labels'));
    if (out.additional_contexts !== undefined) {
      const ac: Rec = {};
      for (const [k, v] of Object.entries(this.mapping(out.additional_contexts, p('additional_contexts')))) ac[k] = String(v ?? '');
      out.additional_contexts = ac;
    }
    if (out.shm_size !== undefined) out.shm_size = this.size(out.shm_size, p('shm_size'));
    for (const k of ['no_cache', 'pull', 'privileged'] as const) if (out[k] !== undefined) out[k] = this.bool(out[k], p(k));
    if (out.extra_hosts !== undefined) out.extra_hosts = this.extraHosts(out.extra_hosts, p('extra_hosts'));
    return out;
  }

  private deploy(d: Rec, path: KeyPath): Rec {
    const out: Rec = { ...d };
    if (out.replicas !== undefined) out.replicas = this.int(out.replicas, [...path, 'replicas']);
    if (out.labels !== undefined) out.labels = this.labels(out.labels, [...path, 'labels']);
    if (isPlainObject(out.resources)) {
      const r: Rec = {};
      for (const [k, v] of Object.entries(out.resources)) {
        if (!isPlainObject(v)) continue;
        const rr: Rec = { ...v };
        if (rr.cpus !== undefined) rr.cpus = this.num(rr.cpus, [...path, 'resources', k, 'cpus']);
        if (rr.memory !== undefined) rr.memory = this.size(rr.memory, [...path, 'resources', k, 'memory']);
        if (rr.pids !== undefined) rr.pids = this.int(rr.pids, [...path, 'resources', k, 'pids']);
        if (Array.isArray(rr.devices)) rr.devices = rr.devices.map((d: Rec, i: number) => this.deviceRequest(d, [...path, 'resources', k, 'devices', i]));
        r[k] = rr;
      }
      out.resources = r;
    }
    if (isPlainObject(out.restart_policy)) {
      const rp: Rec = { ...out.restart_policy };
      for (const k of ['delay', 'window']) if (rp[k] !== undefined) rp[k] = this.duration(rp[k], [...path, 'restart_policy', k]);
      if (rp.max_attempts !== undefined) rp.max_attempts = this.int(rp.max_attempts, [...path, 'restart_policy', 'max_attempts']);
      out.restart_policy = rp;
    }
    for (const uc of ['update_config', 'rollback_config']) {
      if (!isPlainObject(out[uc])) continue;
      const c: Rec = { ...(out[uc] as Rec) };
      for (const k of ['delay', 'monitor']) if (c[k] !== undefined) c[k] = this.duration(c[k], [...path, uc, k]);
      if (c.parallelism !== undefined) c.parallelism = this.int(c.parallelism, [...path, uc, 'parallelism']);
      out[uc] = c;
    }
    return out;
  }

  /** Top-level networks / volumes / secrets / configs with their final names. */
  resources(kind: 'networks' | 'volumes' | 'secrets' | 'configs', raw: Rec | undefined): Record<string, Rec> {
    const out: Record<string, Rec> = {};
    for (const [key, v] of Object.entries(raw ?? {})) {
      if (key.startsWith('x-')) continue;
      const r: Rec = { ...((v as Rec | null) ?? {}) };
      const path: KeyPath = [kind, key];
      if (r.external !== undefined) r.external = this.bool(r.external, [...path, 'external']);
      if (r.labels !== undefined) r.labels = this.labels(r.labels, [...path, 'labels']);
      for (const b of ['internal', 'attachable', 'enable_ipv6', 'enable_ipv4']) if (r[b] !== undefined) r[b] = this.bool(r[b], [...path, b]);
      if (r.driver_opts !== undefined) r.driver_opts = Object.fromEntries(Object.entries(r.driver_opts as Rec).map(([k, x]) => [k, String(x)]));
      if (r.name === undefined) r.name = r.external ? key : `${this.ctx.projectName}_${key}`;
      out[key] = r;
    }
    return out;
  }
}

/** Compose's project name rule: lowercase; only a-z 0-9 _ -; starts with a letter or digit. */
export function normalizeProjectName(s: string): string {
  return s
    .toLowerCase()
    .replace(/[^a-z0-9_-]/g, '')
    .replace(/^[^a-z0-9]+/, '');
}

