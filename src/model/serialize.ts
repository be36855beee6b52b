/** The Project as `docker compose config` prints it, and per-service configuration hashes. */
import { createHash } from 'node:crypto';
import type { Project, Service } from './project.js';
import { formatDuration } from '../load/units.js';

type Rec = Record<string, unknown>;

const SERVICE_DURATIONS = [['stop_grace_period'], ['healthcheck', 'interval'], ['healthcheck', 'timeout'], ['healthcheck', 'start_period'], ['healthcheck', 'start_interval']];
const DEPLOY_DURATIONS = [['restart_policy', 'delay'], ['restart_policy', 'window'], ['update_config', 'delay'], ['update_config', 'monitor'], ['rollback_config', 'delay'], ['rollback_config', 'monitor']];

function sortKeys(v: unknown): unknown {
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
  const out = structuredClone(s) as Rec;
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
}

/** The whole project as a plain object: name, services, networks, volumes, secrets, configs, models, x-*. */
export function projectModel(p: Project, o: ModelOptions = {}): Rec {
  const services: Rec = {};
  for (const name of Object.keys(p.services).sort()) services[name] = serviceModel(p.services[name]!);
  const out: Rec = { name: p.name, services };
  for (const kind of ['networks', 'volumes', 'secrets', 'configs', 'models'] as const) {
    if (Object.keys(p[kind]).length) out[kind] = p[kind];
  }
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
  return configHash(m);
}

/** SHA-256 of a value's JSON with its keys sorted: the same definition, the same hash. */
export function configHash(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(sortKeys(value))).digest('hex');
}
