/** The Project as `docker compose config` prints it, and per-service configuration hashes. */
import { createHash } from 'node:crypto';
import type { FileMount, Project, Service } from './project.js';
import { formatDuration } from '../load/units.js';

type Rec = Record<string, unknown>;

const SERVICE_DURATIONS = [['stop_grace_period'], ['healthcheck', 'interval'], ['healthcheck', 'timeout'], ['healthcheck', 'start_period'], ['healthcheck', 'start_interval']];
const DEPLOY_DURATIONS = [['restart_policy', 'delay'], ['restart_policy', 'window'], ['update_config', 'delay'], ['update_config', 'monitor'], ['rollback_config', 'delay'], ['rollback_config', 'monitor']];

/** A value with every mapping's keys sorted (undefined members left out): JSON that compares as values do. */
export function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === 'object') {
    const out: Rec = {};
    for (const k of Object.keys(v as Rec).sort()) {
      const x = (v as Rec)[k];
      if (x !== undefined) out[k] = sortKeys(x);
    }
    return out;
  }
  return v;
}

function mapAt(obj: Rec, path: string[], f: (v: unknown) => unknown): void {
  let o: unknown = obj;
  for (let i = 0; i < path.length - 1; i++) {
    o = (o as Rec | undefined)?.[path[i]!];
    if (!o || typeof o !== 'object') return;
  }
  const last = path[path.length - 1]!;
  const rec = o as Rec;
  if (rec[last] !== undefined && rec[last] !== null) rec[last] = f(rec[last]);
}

const fmtDur = (v: unknown) => (typeof v === 'number' ? formatDuration(v) : v);

/** One service in Compose's printed form (without its name). */
export function serviceModel(s: Service): Rec {
  const out = structuredClone(s) as unknown as Rec;
  delete out.name;
  for (const p of SERVICE_DURATIONS) mapAt(out, p, fmtDur);
  if (out.deploy) for (const p of DEPLOY_DURATIONS) mapAt(out.deploy as Rec, p, fmtDur);
  if (out.ulimits) {
    const u: Rec = {};
    for (const [k, v] of Object.entries(out.ulimits as Rec)) {
      const x = v as { single?: number; soft?: number; hard?: number };
      u[k] = x.single !== undefined ? x.single : { soft: x.soft, hard: x.hard };
    }
    out.ulimits = u;
  }
  return out;
}

/** Doubles every `$` (in place) so that the output loads back to the same values. */
function escapeDollars(v: unknown): unknown {
  if (typeof v === 'string') return v.includes('$') ? v.replaceAll('$', '$$$$') : v;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) v[i] = escapeDollars(v[i]);
  } else if (v && typeof v === 'object') {
    const r = v as Rec;
    for (const k in r) r[k] = escapeDollars(r[k]);
  }
  return v;
}

export interface ModelOptions {
  /** double `$` in values (on unless interpolation was off) */
  escapeDollars?: boolean;
  /** 'json' leaves out the x- extensions below the top level, as Compose's JSON does (default 'yaml') */
  format?: 'yaml' | 'json';
  /** keep networks, volumes, secrets, configs and models that no service uses (Compose drops them) */
  all?: boolean;
}

/** The top-level resources the (enabled) services use, by kind: what Compose keeps. */
export function usedResources(p: Project): Record<'networks' | 'volumes' | 'secrets' | 'configs' | 'models', Set<string>> {
  const used = { networks: new Set<string>(), volumes: new Set<string>(), secrets: new Set<string>(), configs: new Set<string>(), models: new Set<string>() };
  for (const s of Object.values(p.services)) {
    for (const n of Object.keys(s.networks ?? {})) used.networks.add(n);
    for (const v of s.volumes ?? []) if (v.type === 'volume' && v.source) used.volumes.add(v.source);
    for (const x of s.secrets ?? []) used.secrets.add(x.source);
    for (const x of (s.build?.secrets as FileMount[] | undefined) ?? []) if (x && typeof x === 'object') used.secrets.add(x.source);
    for (const x of s.configs ?? []) used.configs.add(x.source);
    for (const m of Object.keys((s.models as Rec | undefined) ?? {})) used.models.add(m);
  }
  return used;
}

/** Sizes print as strings of bytes, file modes as octal strings: Compose's UnitBytes and FileMode. */
const bytes = (v: unknown) => (typeof v === 'number' ? String(v) : v);
const octal = (v: unknown) => {
  const n = typeof v === 'string' ? parseInt(v, 8) : v;
  return typeof n === 'number' && Number.isFinite(n) ? `0${n.toString(8)}` : v;
};
const SIZES = [['shm_size'], ['mem_limit'], ['mem_reservation'], ['memswap_limit'], ['mem_swappiness'], ['build', 'shm_size'], ['deploy', 'resources', 'limits', 'memory'], ['deploy', 'resources', 'reservations', 'memory']];

/** A service as `config` prints it: printed types, defaults left out, files already read dropped. */
function printedService(s: Service, format: 'yaml' | 'json'): Rec {
  const out = serviceModel(s);
  // extra hosts print sorted (compose-go's HostsList)
  if (Array.isArray(out.extra_hosts)) out.extra_hosts = [...(out.extra_hosts as string[])].sort();
  const build = out.build as Rec | undefined;
  if (Array.isArray(build?.extra_hosts)) build.extra_hosts = [...(build.extra_hosts as string[])].sort();
  // blkio devices: rates are sizes; compose-go's structs for them have no JSON names, so its JSON
  // says Path, Rate and Weight (and its YAML path, rate, weight)
  const blkio = out.blkio_config as Record<string, unknown> | undefined;
  if (blkio) {
    for (const k of ['weight_device', 'device_read_bps', 'device_read_iops', 'device_write_bps', 'device_write_iops']) {
      if (!Array.isArray(blkio[k])) continue;
      blkio[k] = (blkio[k] as Rec[]).map((d) => {
        const e: Rec = {};
        for (const [key, v] of Object.entries(d)) {
          if (key.startsWith('x-')) continue;
          e[format === 'json' ? key[0]!.toUpperCase() + key.slice(1) : key] = key === 'rate' ? bytes(v) : v;
        }
        return e;
      });
    }
  }
  // env_file and label_file were read into environment and labels
  delete out.env_file;
  delete out.label_file;
  for (const p of SIZES) mapAt(out, p, bytes);
  for (const kind of ['secrets', 'configs']) {
    for (const m of (out[kind] as Rec[] | undefined) ?? []) mapAt(m, ['mode'], octal);
  }
  for (const m of ((out.build as Rec | undefined)?.secrets as Rec[] | undefined) ?? []) if (m && typeof m === 'object') mapAt(m, ['mode'], octal);
  for (const v of (out.volumes as Rec[] | undefined) ?? []) {
    mapAt(v, ['tmpfs', 'size'], bytes);
    // create_host_path: true is the default, left out (a short-syntax bind prints bind: {})
    const b = v.bind as Rec | undefined;
    if (b?.create_host_path === true) delete b.create_host_path;
  }
  return out;
}

/** Keys whose values are user mappings (their keys are data, never extensions). */
const DATA_MAPS = new Set(['environment', 'labels', 'annotations', 'sysctls', 'args', 'driver_opts', 'options', 'additional_contexts', 'ulimits', 'storage_opt', 'extra_hosts']);

/** Booleans that Compose prints when false (pointers or always-printed fields in compose-go's types). */
const KEEP_FALSE = new Set(['attach', 'init', 'enable_ipv4', 'enable_ipv6', 'required', 'create_host_path']);

/** Removes false booleans (in place): compose-go's plain bool fields are `omitempty`. */
function dropFalse(v: unknown): void {
  if (Array.isArray(v)) for (const x of v) dropFalse(x);
  else if (v && typeof v === 'object') {
    const r = v as Rec;
    for (const k of Object.keys(r)) {
      if (k.startsWith('x-') || DATA_MAPS.has(k)) continue;
      if (r[k] === false && !KEEP_FALSE.has(k)) delete r[k];
      else dropFalse(r[k]);
    }
  }
}

/**
 * compose-go's JSON always has a hook's `command` (null when absent), and a watch rule's `exec`
 * (a struct, which encoding/json never leaves out): `{"command": null}` when the rule has none.
 */
function hookCommandsInJson(s: Rec): void {
  for (const k of ['post_start', 'pre_stop']) for (const h of (s[k] as Rec[] | undefined) ?? []) h.command ??= null;
  for (const w of ((s.develop as Rec | undefined)?.watch as Rec[] | undefined) ?? []) {
    w.exec ??= {};
    (w.exec as Rec).command ??= null;
  }
}

/** Removes x- keys below the top level (in place), as Compose's JSON output does. */
function dropExtensions(v: unknown): void {
  if (Array.isArray(v)) for (const x of v) dropExtensions(x);
  else if (v && typeof v === 'object') {
    const r = v as Rec;
    for (const k of Object.keys(r)) {
      if (k.startsWith('x-')) delete r[k];
      else if (!DATA_MAPS.has(k)) dropExtensions(r[k]);
    }
  }
}

/** The whole project as a plain object: name, services, networks, volumes, secrets, configs, models, x-*. */
export function projectModel(p: Project, o: ModelOptions = {}): Rec {
  const services: Rec = {};
  for (const name of Object.keys(p.services).sort()) services[name] = printedService(p.services[name]!, o.format ?? 'yaml');
  const out: Rec = { name: p.name, services };
  const used = o.all ? undefined : usedResources(p);
  for (const kind of ['networks', 'volumes', 'secrets', 'configs', 'models'] as const) {
    const kept = Object.fromEntries(Object.entries(p[kind]).filter(([k]) => !used || used[kind].has(k)));
    if (Object.keys(kept).length) out[kind] = structuredClone(kept);
  }
  for (const k of ['services', 'networks', 'volumes', 'secrets', 'configs', 'models']) if (out[k]) for (const x of Object.values(out[k] as Rec)) dropFalse(x);
  if (o.format === 'json') for (const x of Object.values(services)) hookCommandsInJson(x as Rec);
  if (o.format === 'json') for (const k of ['services', 'networks', 'volumes', 'secrets', 'configs', 'models']) if (out[k]) for (const x of Object.values(out[k] as Rec)) dropExtensions(x);
  const sorted = sortKeys(out) as Rec;
  const result: Rec = {};
  for (const k of ['name', 'services', 'networks', 'volumes', 'secrets', 'configs', 'models']) if (sorted[k] !== undefined) result[k] = sorted[k];
  for (const k of Object.keys(p.extensions).sort()) result[k] = sortKeys(p.extensions[k]);
  return o.escapeDollars === false ? result : (escapeDollars(result) as Rec);
}

/**
 * The configuration hash of a service: what `up` compares to decide recreation. Replica counts
 * and build instructions are left out: scaling does not recreate, and a rebuilt image changes
 * the image id, which `up` checks separately.
 */
export function serviceConfigHash(s: Service): string {
  return configHash(hashedModel(s));
}

/** The part of a service that decides recreation (see serviceConfigHash). */
function hashedModel(s: Service): Rec {
  const m = serviceModel(s);
  delete m.scale;
  delete m.build;
  delete m.pull_policy;
  delete m.profiles;
  if (m.deploy && typeof m.deploy === 'object') {
    const d = { ...(m.deploy as Rec) };
    delete d.replicas;
    m.deploy = d;
  }
  return m;
}

/**
 * A short hash per top-level key of the service's hashed configuration, as one label value
 * (`key=hash,...`): what lets `up` say which keys changed when it recreates a container.
 */
export function serviceConfigDigest(s: Service): string {
  const m = hashedModel(s);
  return Object.keys(m)
    .sort()
    .map((k) => `${k}=${configHash(m[k]).slice(0, 8)}`)
    .join(',');
}

/** The keys whose hashes differ between a container's digest label and a service now. */
export function changedKeys(oldDigest: string | undefined, s: Service): string[] | undefined {
  if (!oldDigest) return undefined;
  const parse = (d: string) => new Map(d.split(',').filter(Boolean).map((kv) => kv.split('=') as [string, string]));
  const a = parse(oldDigest);
  const b = parse(serviceConfigDigest(s));
  return [...new Set([...a.keys(), ...b.keys()])].filter((k) => a.get(k) !== b.get(k)).sort();
}

/** SHA-256 of a value's JSON with its keys sorted: the same definition, the same hash. */
export function configHash(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(sortKeys(value))).digest('hex');
}
