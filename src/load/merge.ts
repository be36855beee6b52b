/**
 * Merging layered Compose files (compose-spec 13-merge.md): mappings merge key by key,
 * sequences append, scalars override, with the spec's special rules for the keys below,
 * then "unicity" removes redefinitions in sequences that are keyed (ports, volumes, ...).
 */
import { DockyardError } from '../errors.js';
import type { KeyPath } from './path.js';
import { formatPath, isPlainObject, PatternTrie } from './path.js';
import { parseVolumeSpec } from './canonical.js';

type Any = unknown;
type Merger = (base: Any, over: Any, path: KeyPath) => Any;


const specials = PatternTrie.of<Merger>([
  ['networks.*.ipam.config', mergeIpamConfig],
  ['networks.*.labels', mergeToSequence],
  ['volumes.*.labels', mergeToSequence],
  ['services.*.annotations', mergeToSequence],
  ['services.*.build', mergeBuild],
  ['services.*.build.args', mergeToSequence],
  ['services.*.build.additional_contexts', mergeToSequence],
  ['services.*.build.extra_hosts', mergeExtraHosts],
  ['services.*.build.labels', mergeToSequence],
  ['services.*.command', override],
  ['services.*.depends_on', mergeDependsOn],
  ['services.*.deploy.labels', mergeToSequence],
  ['services.*.dns', mergeToSequence],
  ['services.*.dns_opt', mergeToSequence],
  ['services.*.dns_search', mergeToSequence],
  ['services.*.entrypoint', override],
  ['services.*.env_file', mergeToSequence],
  ['services.*.label_file', mergeToSequence],
  ['services.*.environment', mergeToSequence],
  ['services.*.extra_hosts', mergeExtraHosts],
  ['services.*.healthcheck.test', override],
  ['services.*.labels', mergeToSequence],
  ['services.*.volumes.*.volume.labels', mergeToSequence],
  ['services.*.logging', mergeLogging],
  ['services.*.models', mergeStringSetToMap],
  ['services.*.networks', mergeStringSetToMap],
  ['services.*.sysctls', mergeToSequence],
  ['services.*.tmpfs', mergeToSequence],
  ['services.*.ulimits.*', mergeUlimit],
  // runtime flags are one command line: a later file replaces it
  ['models.*.runtime_flags', override],
]);

function clone<T>(v: T): T {
  return structuredClone(v);
}

/** The rules trie positioned at `path` (for merges that start below the root). */
function rulesAt(path: KeyPath): PatternTrie<Merger> | undefined {
  let t: PatternTrie<Merger> | undefined = specials;
  for (const seg of path) t = t?.next(seg);
  return t;
}

/** Merges `over` onto `base` (both plain trees); returns a new tree. */
export function mergeTrees(base: Any, over: Any, path: KeyPath = [], trie?: PatternTrie<Merger> | null): Any {
  const rules = trie === undefined ? rulesAt(path) : trie;
  if (rules?.value) return rules.value(base, over, path);
  if (over === null || over === undefined) return base;
  if (isPlainObject(base)) {
    if (!isPlainObject(over)) throw conflict(path, base, over);
    return mergeMappings(base, over, path, rules);
  }
  if (Array.isArray(base)) {
    if (!Array.isArray(over)) throw conflict(path, base, over);
    return [...base, ...over];
  }
  return over;
}

function conflict(path: KeyPath, base: Any, over: Any): DockyardError {
  const kind = (v: Any) => (Array.isArray(v) ? 'a list' : isPlainObject(v) ? 'a mapping' : `a ${typeof v}`);
  return new DockyardError('MERGE_CONFLICT', `cannot merge ${kind(over)} onto ${kind(base)}`, {
    keyPath: formatPath(path),
    hint: 'an override file must use the same kind of value as the file it overrides, or tag it !override',
  });
}

function mergeMappings(base: Record<string, Any>, over: Record<string, Any>, path: KeyPath, trie?: PatternTrie<Merger> | null): Record<string, Any> {
  const rules = trie === undefined ? rulesAt(path) : trie;
  const out: Record<string, Any> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    if (!(k in out)) out[k] = v;
    else out[k] = mergeTrees(out[k], v, [...path, k], rules?.next(k) ?? null);
  }
  return out;
}

function override(_b: Any, o: Any): Any {
  return o;
}

function mergeLogging(b: Any, o: Any, path: KeyPath): Any {
  if (!isPlainObject(b) || !isPlainObject(o)) return o ?? b;
  const d1 = b.driver;
  const d2 = o.driver;
  if (d1 === d2 || d1 === undefined || d2 === undefined) return mergeMappings(b, o, path);
  return o;
}

function toBuild(v: Any): Record<string, Any> | undefined {
  if (typeof v === 'string') return { context: v };
  return isPlainObject(v) ? v : undefined;
}

function mergeBuild(b: Any, o: Any, path: KeyPath): Any {
  const bb = toBuild(b);
  const ob = toBuild(o);
  if (!bb) return ob;
  if (!ob) return bb;
  return mergeMappings(bb, ob, path);
}

function toMapping(v: Any, def: Record<string, Any> | null): Record<string, Any> | undefined {
  if (isPlainObject(v)) return v;
  if (Array.isArray(v)) {
    const out: Record<string, Any> = {};
    for (const s of v) out[String(s)] = def ? { ...def } : null;
    return out;
  }
  return undefined;
}

function mergeDependsOn(b: Any, o: Any, path: KeyPath): Any {
  const def = { condition: 'service_started', required: true };
  const bm = toMapping(b, def);
  const om = toMapping(o, def);
  if (!bm) return om;
  if (!om) return bm;
  return mergeMappings(bm, om, path);
}

function mergeStringSetToMap(b: Any, o: Any, path: KeyPath): Any {
  const bm = toMapping(b, null);
  const om = toMapping(o, null);
  if (!bm) return om;
  if (!om) return bm;
  return mergeMappings(bm, om, path);
}

/** A mapping or list as a list of KEY=VALUE strings (mappings sorted by key). */
export function toSequence(v: Any): Any[] {
  if (isPlainObject(v)) {
    const seq: string[] = [];
    for (const [k, val] of Object.entries(v)) {
      if (val === null || val === undefined) seq.push(k);
      else if (Array.isArray(val)) for (const x of val) seq.push(`${k}=${scalarText(x)}`);
      else seq.push(`${k}=${scalarText(val)}`);
    }
    return seq.sort();
  }
  if (Array.isArray(v)) return v;
  if (typeof v === 'string') return [v];
  return [];
}

function scalarText(v: Any): string {
  return typeof v === 'string' ? v : JSON.stringify(v) ?? String(v);
}

function mergeToSequence(b: Any, o: Any): Any {
  return [...toSequence(b), ...toSequence(o)];
}

function mergeExtraHosts(b: Any, o: Any): Any {
  const right = toSequence(b);
  const left = toSequence(o).filter((v) => !right.includes(v));
  return [...right, ...left];
}

/** An ulimit defined again replaces the earlier one as a whole (soft and hard together). */
function mergeUlimit(b: Any, o: Any): Any {
  return o ?? b;
}

function mergeIpamConfig(b: Any, o: Any, path: KeyPath): Any {
  if (!Array.isArray(b) || !Array.isArray(o)) return o ?? b;
  const out: Record<string, Any>[] = [];
  const indexOf = (subnet: Any) => out.findIndex((c) => c.subnet === subnet);
  for (const orig of b) {
    const right = isPlainObject(orig) ? orig : {};
    for (const ov of o) {
      const left = isPlainObject(ov) ? ov : {};
      if (left.subnet !== right.subnet && indexOf(left.subnet) < 0) {
        out.push(left);
        continue;
      }
      const merged = mergeMappings(right, left, path);
      const i = indexOf(merged.subnet);
      if (i >= 0) out[i] = merged;
      else out.push(merged);
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Unicity: a later entry with the same key replaces the earlier one, in its place.

type Indexer = (entry: Any, path: KeyPath, index: number) => string;

const keyValue: Indexer = (v) => {
  const s = typeof v === 'string' ? v : String(v);
  const i = s.indexOf('=');
  return i >= 0 ? s.slice(0, i) : s;
};

const volumeIndexer: Indexer = (v) => {
  if (isPlainObject(v)) return String(v.target ?? '');
  if (typeof v === 'string') return parseVolumeSpec(v).target;
  return '';
};

const deviceIndexer: Indexer = (v) => {
  if (isPlainObject(v)) return String(v.target ?? '');
  if (typeof v === 'string') {
    const a = v.split(':');
    return a.length === 1 ? a[0]! : a[1]!;
  }
  return '';
};

const mountIndexer =
  (dir: string): Indexer =>
  (v) => {
    if (typeof v === 'string') return `${dir}/${v}`;
    if (isPlainObject(v)) return v.target !== undefined ? String(v.target) : `${dir}/${String(v.source)}`;
    return '';
  };

const portIndexer: Indexer = (v) => {
  if (typeof v === 'number') return String(v);
  if (typeof v === 'string') return v;
  if (isPlainObject(v)) {
    return `${String(v.host_ip ?? '0.0.0.0')}:${String(v.published ?? '')}:${String(v.target)}/${String(v.protocol ?? 'tcp')}`;
  }
  return '';
};

const envFileIndexer: Indexer = (v) => (typeof v === 'string' ? v : isPlainObject(v) ? String(v.path) : '');

const unique = PatternTrie.of<Indexer>([
  ['networks.*.labels', keyValue],
  ['networks.*.ipam.options', keyValue],
  ['services.*.annotations', keyValue],
  ['services.*.build.args', keyValue],
  ['services.*.build.additional_contexts', keyValue],
  ['services.*.build.platform', keyValue],
  ['services.*.build.tags', keyValue],
  ['services.*.build.labels', keyValue],
  ['services.*.cap_add', keyValue],
  ['services.*.cap_drop', keyValue],
  ['services.*.configs', mountIndexer('')],
  ['services.*.deploy.labels', keyValue],
  ['services.*.dns', keyValue],
  ['services.*.dns_opt', keyValue],
  ['services.*.dns_search', keyValue],
  ['services.*.environment', keyValue],
  ['services.*.env_file', envFileIndexer],
  ['services.*.expose', (v: unknown) => String(v)],
  ['services.*.labels', keyValue],
  ['services.*.links', keyValue],
  ['services.*.networks.*.aliases', keyValue],
  ['services.*.networks.*.link_local_ips', keyValue],
  ['services.*.ports', portIndexer],
  ['services.*.profiles', keyValue],
  ['services.*.secrets', mountIndexer('/run/secrets')],
  ['services.*.sysctls', keyValue],
  ['services.*.tmpfs', keyValue],
  ['services.*.volumes', volumeIndexer],
  ['services.*.devices', deviceIndexer],
]);

function unicityAt(path: KeyPath): PatternTrie<Indexer> | undefined {
  let t: PatternTrie<Indexer> | undefined = unique;
  for (const seg of path) t = t?.next(seg);
  return t;
}

/** Removes redefinitions from keyed sequences, in place order. */
export function enforceUnicity(value: Any, path: KeyPath = [], trie: PatternTrie<Indexer> | undefined = unicityAt(path)): Any {
  if (!trie) return value;
  if (isPlainObject(value)) {
    for (const k of Object.keys(value)) {
      const t = trie.next(k);
      if (t) value[k] = enforceUnicity(value[k], path, t);
    }
    return value;
  }
  if (Array.isArray(value)) {
    const indexer = trie.value;
    if (indexer) {
      const seq: Any[] = [];
      const keys = new Map<string, number>();
      value.forEach((entry, i) => {
        void i;
        const key = indexer(entry, path, i);
        const j = keys.get(key);
        if (j !== undefined) seq[j] = entry;
        else {
          keys.set(key, seq.length);
          seq.push(entry);
        }
      });
      return seq;
    }
  }
  return value;
}

/** Removes the paths tagged !reset / !override from the layers below. */
export function applyResets(tree: Record<string, Any>, resets: readonly KeyPath[]): void {
  for (const p of resets) {
    let node: Any = tree;
    for (let i = 0; i < p.length - 1 && node !== undefined; i++) {
      node = isPlainObject(node) ? node[String(p[i])] : Array.isArray(node) ? node[Number(p[i])] : undefined;
    }
    const last = p[p.length - 1];
    if (isPlainObject(node) && last !== undefined) delete node[String(last)];
    else if (Array.isArray(node) && typeof last === 'number') node.splice(last, 1);
  }
}

export { clone };
