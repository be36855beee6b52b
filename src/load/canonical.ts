/**
 * Canonical syntax: short forms rewritten to their long form (compose-spec: ports, volumes,
 * depends_on, build, networks, env_file, secrets/configs, devices, extends, include...).
 * Runs on the plain tree after each layer is merged, so later merges see one shape.
 */
import { DockyardError } from '../errors.js';
import type { KeyPath } from './path.js';
import { formatPath, isPlainObject, PatternTrie } from './path.js';
import type { PortConfig } from '../model/project.js';

type Any = unknown;
type Transform = (v: Any, path: KeyPath) => Any;

const stringOrList: Transform = (v) => (typeof v === 'string' ? [v] : v);
const sliceToMap: Transform = (v) => (Array.isArray(v) ? Object.fromEntries(v.map((x) => [String(x), null])) : v);
const fileMount: Transform = (v) => (typeof v === 'string' ? { source: v } : v);
const keyValueToMap: Transform = (v) => {
  if (!Array.isArray(v)) return v;
  const out: Record<string, Any> = {};
  for (const e of v) {
    const s = String(e);
    const i = s.indexOf('=');
    if (i >= 0) out[s.slice(0, i)] = s.slice(i + 1);
    else out[s] = null;
  }
  return out;
};

const transformers = PatternTrie.of<Transform>(
  [
    ['services.*.build.secrets.*', fileMount],
    ['services.*.build.additional_contexts', keyValueToMap],
    ['services.*.build.provenance', (v) => (typeof v === 'string' ? v : String(v))],
    ['services.*.build.sbom', (v) => (typeof v === 'string' ? v : String(v))],
    ['services.*.build.ssh', (v) => (typeof v === 'string' ? [v] : v)],
    ['services.*.build', (v) => (typeof v === 'string' ? { context: v } : v)],
    ['services.*.depends_on', dependsOn],
    ['services.*.env_file', envFile],
    ['services.*.label_file', stringOrList],
    ['services.*.extends', (v) => (typeof v === 'string' ? { service: v } : v)],
    ['services.*.gpus', (v) => (v === 'all' ? [{ count: -1 }] : v)],
    ['services.*.networks', sliceToMap],
    ['services.*.models', sliceToMap],
    ['services.*.volumes.*', volumeMount],
    ['services.*.dns', stringOrList],
    ['services.*.dns_search', stringOrList],
    ['services.*.devices.*', deviceMapping],
    ['services.*.secrets.*', fileMount],
    ['services.*.configs.*', fileMount],
    ['services.*.ports', portsTransform],
    ['services.*.ulimits.*', (v) => v],
    ['services.*.build.ulimits.*', (v) => v],
    ['services.*.develop.watch.*.ignore', stringOrList],
    ['services.*.develop.watch.*.include', stringOrList],
    ['services.*.tmpfs', stringOrList],
    ['volumes.*', maybeExternal],
    ['networks.*', maybeExternal],
    ['secrets.*', maybeExternal],
    ['configs.*', maybeExternal],
    ['include.*', (v) => (typeof v === 'string' ? { path: v } : v)],
  ] as Array<[string, Transform]>,
);

/** Rewrites the tree into canonical syntax (in place where possible). */
export function canonical(value: Any, path: KeyPath = [], trie: PatternTrie<Transform> | undefined = transformers): Any {
  if (!trie) return value;
  const v = trie.value ? trie.value(value, path) : value;
  if (isPlainObject(v)) {
    for (const k of Object.keys(v)) {
      const t = trie.next(k);
      if (t) v[k] = canonical(v[k], [...path, k], t);
    }
  } else if (Array.isArray(v)) {
    const t = trie.next(0);
    if (t) for (let i = 0; i < v.length; i++) v[i] = canonical(v[i], [...path, i], t);
  }
  return v;
}

function dependsOn(v: Any, path: KeyPath): Any {
  if (Array.isArray(v)) {
    return Object.fromEntries(v.map((k) => [String(k), { condition: 'service_started', required: true }]));
  }
  if (isPlainObject(v)) {
    for (const [k, d] of Object.entries(v)) {
      if (d === null || d === undefined) v[k] = { condition: 'service_started', required: true };
      else if (isPlainObject(d)) {
        d.condition ??= 'service_started';
        d.required ??= true;
      } else {
        throw new DockyardError('WRONG_TYPE', `depends_on.${k} must be a mapping`, { keyPath: formatPath([...path, k]), hint: 'use `condition: service_started|service_healthy|service_completed_successfully`' });
      }
    }
  }
  return v;
}

function envFile(v: Any): Any {
  const one = (e: Any) => (typeof e === 'string' ? { path: e, required: true } : isPlainObject(e) ? { required: true, ...e } : e);
  if (typeof v === 'string') return [one(v)];
  if (Array.isArray(v)) return v.map(one);
  return v;
}

function maybeExternal(v: Any, path: KeyPath): Any {
  if (!isPlainObject(v)) return v;
  const ext = v.external;
  if (isPlainObject(ext)) {
    v.external = true;
    if (ext.name !== undefined) {
      if (v.name !== undefined && v.name !== ext.name) {
        throw new DockyardError('INVALID_VALUE', 'name and external.name conflict', { keyPath: formatPath(path), hint: 'use only `name:` together with `external: true`' });
      }
      v.name = ext.name;
    }
  }
  return v;
}

function deviceMapping(v: Any, path: KeyPath): Any {
  if (typeof v !== 'string') return v;
  const arr = v.split(':');
  if (arr.length > 3) {
    throw new DockyardError('INVALID_VALUE', `confusing device mapping "${v}"`, { keyPath: formatPath(path), hint: 'use the long syntax: {source, target, permissions}' });
  }
  const [src, dst, perm] = arr;
  return { source: src, target: dst || src, permissions: perm ?? 'rwm' };
}

// --- volumes -----------------------------------------------------------------------------------

const PROPAGATIONS = new Set(['rprivate', 'private', 'rshared', 'shared', 'rslave', 'slave']);

export interface VolumeSpec {
  type: 'volume' | 'bind';
  source?: string;
  target: string;
  read_only?: boolean;
  bind?: { propagation?: string; selinux?: string };
  volume?: { nocopy: boolean };
}

function isFilePath(s: string): boolean {
  return s.startsWith('.') || s.startsWith('/') || s.startsWith('~') || /^[A-Za-z]:[\\/]/.test(s) || s.startsWith('\\');
}

/** Parses `[SOURCE:]TARGET[:MODE]` (compose short volume syntax). */
export function parseVolumeSpec(spec: string): VolumeSpec {
  if (spec.length === 0) throw new Error('invalid empty volume spec');
  const parts: string[] = [];
  let buf = '';
  let depth = 0;
  for (let i = 0; i < spec.length; i++) {
    const c = spec[i]!;
    if (c === '$' && spec[i + 1] === '{') depth++;
    else if (c === '}' && depth > 0) depth--;
    if (c === ':' && depth === 0 && !(buf.length === 1 && /[A-Za-z]/.test(buf) && parts.length === 0 && /[\\/]/.test(spec[i + 1] ?? ''))) {
      parts.push(buf);
      buf = '';
    } else buf += c;
  }
  parts.push(buf);
  if (parts.some((p) => p === '')) throw new Error(`invalid volume spec "${spec}": empty section between colons`);
  if (parts.length > 3) throw new Error(`invalid volume spec "${spec}": too many colons`);
  const out: VolumeSpec = { type: 'volume', target: '' };
  if (parts.length === 1) out.target = parts[0]!;
  else {
    out.source = parts[0]!;
    out.target = parts[1]!;
  }
  if (parts.length === 3) {
    for (const opt of parts[2]!.split(',')) {
      if (opt === 'ro') out.read_only = true;
      else if (opt === 'rw') out.read_only = false;
      else if (opt === 'nocopy') out.volume = { nocopy: true };
      else if (PROPAGATIONS.has(opt)) out.bind = { ...out.bind, propagation: opt };
      else if (opt === 'z' || opt === 'Z') out.bind = { ...out.bind, selinux: opt };
    }
  }
  if (out.source && isFilePath(out.source)) out.type = 'bind';
  return out;
}

function cleanTarget(t: string): string {
  if (!t) return t;
  const abs = t.startsWith('/');
  const segs: string[] = [];
  for (const s of t.split('/')) {
    if (s === '' || s === '.') continue;
    if (s === '..') {
      if (segs.length && segs[segs.length - 1] !== '..') segs.pop();
      else if (!abs) segs.push('..');
    } else segs.push(s);
  }
  const j = segs.join('/');
  return abs ? `/${j}` : j || '.';
}

function volumeMount(v: Any, path: KeyPath): Any {
  if (typeof v !== 'string') return v;
  try {
    const spec = parseVolumeSpec(v);
    const out: Record<string, Any> = { type: spec.type };
    if (spec.source !== undefined) out.source = spec.source;
    out.target = cleanTarget(spec.target);
    if (spec.read_only) out.read_only = true;
    // as compose-go's short syntax: a bind creates a missing host path; a volume gets (empty) options
    if (spec.type === 'bind') out.bind = { create_host_path: true, ...spec.bind };
    else out.volume = spec.volume ?? {};
    return out;
  } catch (e) {
    throw new DockyardError('INVALID_VALUE', (e as Error).message, { keyPath: formatPath(path), hint: 'write SOURCE:TARGET[:ro|rw], or use the long syntax {type, source, target}' });
  }
}

// --- ports -------------------------------------------------------------------------------------


function parseRange(s: string): [number, number] | undefined {
  const m = /^(\d+)(?:-(\d+))?$/.exec(s);
  if (!m) return undefined;
  const a = Number(m[1]);
  const b = m[2] === undefined ? a : Number(m[2]);
  if (b < a || a > 65535 || b > 65535) return undefined;
  return [a, b];
}

/** Parses `[HOST_IP:][HOST_PORT[-END]:]CONTAINER_PORT[-END][/PROTOCOL]`, expanding ranges. */
export function parsePortSpec(raw: string): PortConfig[] {
  let spec = raw;
  let protocol = 'tcp';
  const slash = spec.lastIndexOf('/');
  if (slash >= 0) {
    protocol = spec.slice(slash + 1).toLowerCase();
    spec = spec.slice(0, slash);
    if (!['tcp', 'udp', 'sctp'].includes(protocol)) throw new Error(`invalid protocol "${protocol}" in port "${raw}"`);
  }
  let hostIp: string | undefined;
  let rest = spec;
  const v6 = /^\[([^\]]+)\]:(.*)$/.exec(spec);
  if (v6) {
    hostIp = v6[1];
    rest = v6[2]!;
  }
  const parts = rest.split(':');
  let published: string | undefined;
  let container: string;
  if (parts.length === 1) container = parts[0]!;
  else if (parts.length === 2) {
    published = parts[0];
    container = parts[1]!;
  } else if (parts.length === 3 && !v6) {
    hostIp = parts[0];
    published = parts[1];
    container = parts[2]!;
  } else if (!v6 && parts.length > 3) {
    // an unbracketed IPv6 host address
    container = parts.pop()!;
    published = parts.pop();
    hostIp = parts.join(':');
  } else throw new Error(`invalid port "${raw}"`);
  if (published === '') published = undefined;
  if (hostIp === '') hostIp = undefined;
  const cr = parseRange(container);
  if (!cr) throw new Error(`invalid container port "${container}" in "${raw}"`);
  const n = cr[1] - cr[0] + 1;
  let pr: [number, number] | undefined;
  if (published !== undefined) {
    pr = parseRange(published);
    if (!pr) throw new Error(`invalid published port "${published}" in "${raw}"`);
  }
  const out: PortConfig[] = [];
  for (let i = 0; i < n; i++) {
    const p: PortConfig = { mode: 'ingress', target: cr[0] + i, protocol };
    if (hostIp !== undefined) p.host_ip = hostIp;
    if (pr) {
      const pn = pr[1] - pr[0] + 1;
      if (pn === n) p.published = String(pr[0] + i);
      else if (n === 1) p.published = pr[0] === pr[1] ? String(pr[0]) : `${pr[0]}-${pr[1]}`;
      else throw new Error(`port ranges don't match in "${raw}"`);
    }
    out.push(p);
  }
  return out;
}

function portsTransform(v: Any, path: KeyPath): Any {
  if (!Array.isArray(v)) return v;
  const out: Any[] = [];
  v.forEach((e, i) => {
    if (typeof e === 'number' || typeof e === 'string') {
      try {
        out.push(...parsePortSpec(String(e)));
      } catch (err) {
        throw new DockyardError('INVALID_VALUE', (err as Error).message, {
          keyPath: formatPath([...path, i]),
          hint: 'write [HOST_IP:][HOST_PORT:]CONTAINER_PORT[/PROTOCOL], e.g. "127.0.0.1:8080:80/tcp"',
        });
      }
    } else out.push(e);
  });
  return out;
}
