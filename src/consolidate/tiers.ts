/**
 * consolidate (Compose), the factoring: many environments (standalone Compose models, as written or
 * loaded) become three tiers, as a team lays them out by hand:
 *
 * 1. the base: per key path, the value that most environments share (the few that differ change it,
 *    the few that lack it `!reset` it);
 * 2. one overlay per environment, named after an original; originals that differ only by tier-3
 *    changes share one;
 * 3. a few cross-cutting overlays (hardening, performance, monitoring...), each a group of changes
 *    that recur together, named by what they do; an original adds at most `perEnvironment` of them.
 *
 * Optional services (the same definition wherever present, in at most half of the environments, in
 * more than one environment) go to the base under a profile instead, unless they belong to exactly
 * the originals of one overlay (then they are part of it).
 *
 * Everything works on the leaves of the trees (a scalar, a list, or an empty mapping at a key path;
 * with `items`, each item of a list Compose appends on merge). The split is chosen by a small search
 * over candidate cross-cutting groups that minimizes files and lines; the caller proves the result by
 * loading it.
 */
import jsyaml from 'js-yaml';

export type Rec = Record<string, unknown>;
export interface Leaf {
  path: string[];
  value: unknown;
  key: string;
}

/** Service lists Compose merges by appending: their items can be split between files. */
export const APPENDED = new Set(['ports', 'volumes', 'expose', 'cap_add', 'cap_drop', 'security_opt', 'extra_hosts', 'dns', 'dns_search', 'tmpfs', 'secrets', 'configs', 'devices', 'profiles']);
/** marks an item of an appended list in a leaf's path */
export const ITEM = '[]';

/** `!reset`: the path is removed from the files below. */
export class Reset {}
export const RESET = new Reset();
/** `!override`: the value replaces what the files below say, instead of merging with it. */
export class Override {
  constructor(readonly value: unknown) {}
}

/**
 * Mappings the loader (as compose-go) merges as KEY=VALUE sequences: once two files are merged, a
 * `!reset` of one of their keys finds a list and removes nothing.
 */
const SEQUENCED = [
  ['services', '*', 'environment'],
  ['services', '*', 'labels'],
  ['services', '*', 'annotations'],
  ['services', '*', 'sysctls'],
  ['services', '*', 'extra_hosts'],
  ['services', '*', 'build', 'args'],
  ['services', '*', 'build', 'labels'],
  ['services', '*', 'build', 'additional_contexts'],
  ['services', '*', 'build', 'extra_hosts'],
  ['services', '*', 'deploy', 'labels'],
  ['networks', '*', 'labels'],
  ['volumes', '*', 'labels'],
];
/** The sequenced mapping a path is strictly below, if any. */
const sequencedAbove = (path: string[]) => SEQUENCED.find((pat) => path.length > pat.length && pat.every((k, i) => k === '*' || k === path[i]))?.length;

const isMap = (v: unknown): v is Rec => !!v && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Reset) && !(v instanceof Override);
const isAppended = (path: string[]) => path.length === 3 && path[0] === 'services' && APPENDED.has(path[2]!);

/**
 * The leaves of a model (scalars, lists, and empty mappings are leaves). With `items`, each item
 * of a service list Compose appends on merge is a leaf of its own.
 */
export function leaves(tree: unknown, path: string[] = [], items = false): Leaf[] {
  if (isMap(tree) && Object.keys(tree).length) {
    return Object.entries(tree).flatMap(([k, v]) => leaves(v, [...path, k], items));
  }
  if (items && Array.isArray(tree) && isAppended(path) && tree.length) {
    return tree.map((x) => ({ path: [...path, ITEM], value: x, key: JSON.stringify([path, ITEM, x]) }));
  }
  return [{ path, value: tree, key: JSON.stringify([path, tree]) }];
}

const copy = (v: unknown): unknown => (v instanceof Reset ? v : v instanceof Override ? new Override(structuredClone(v.value)) : structuredClone(v));

/** A tree from leaves (an item leaf is pushed onto the list at its path). */
export function build(ls: Array<{ path: string[]; value: unknown }>): Rec {
  const out: Rec = {};
  for (const l of ls) {
    let at = out;
    const item = l.path.at(-1) === ITEM;
    const keys = item ? l.path.slice(0, -1) : l.path;
    for (const k of keys.slice(0, -1)) at = (isMap(at[k]) ? at[k] : (at[k] = {})) as Rec;
    if (item) ((at[keys.at(-1)!] ??= []) as unknown[]).push(copy(l.value));
    else at[keys.at(-1)!] = copy(l.value);
  }
  return out;
}

const schema = jsyaml.DEFAULT_SCHEMA.extend([
  new jsyaml.Type('!reset', { kind: 'scalar', instanceOf: Reset, represent: () => '' }),
  new jsyaml.Type('!override', { kind: 'sequence', instanceOf: Override, predicate: (o: unknown) => o instanceof Override && Array.isArray(o.value), represent: (o: unknown) => (o as Override).value as object }),
  new jsyaml.Type('!override', { kind: 'mapping', instanceOf: Override, predicate: (o: unknown) => o instanceof Override && isMap(o.value), represent: (o: unknown) => (o as Override).value as object }),
  new jsyaml.Type('!override', { kind: 'scalar', instanceOf: Override, predicate: (o: unknown) => o instanceof Override && !Array.isArray(o.value) && !isMap(o.value), represent: (o: unknown) => ((o as Override).value === null ? '' : String((o as Override).value)) }),
]);

/** YAML text of a tree with `!reset` / `!override` where the factoring put them. */
export function dumpCompose(tree: Rec): string {
  return jsyaml
    .dump(tree, { schema, lineWidth: -1, noRefs: true, sortKeys: false })
    .replace(/ !reset ''$/gm, ' !reset null')
    .replace(/ !override $/gm, ' !override');
}

export interface TierOptions {
  /** split appended lists into items (smaller overlays; an order may not survive, the proof says) */
  items: boolean;
  /** at most this many cross-cutting overlays (0: base and environments only) */
  crossCutting?: number;
  /** an original adds at most this many cross-cutting overlays */
  perEnvironment?: number;
  /** optional services under profiles in the base */
  profiles?: boolean;
}

export interface Tiering {
  base: Rec;
  /** one overlay per environment: its name (an original's), the originals (models' keys) that use it */
  environments: Array<{ name: string; envs: string[]; tree: Rec }>;
  /** cross-cutting overlays, in -f order: what they do, who adds them, what they change */
  crossCutting: Array<{ name: string; envs: string[]; tree: Rec; changes: string }>;
  /** optional services under a profile in the base, and the originals that enable it */
  profiles: Array<{ name: string; services: string[]; envs: string[] }>;
  /** per original: its overlays in -f order (names, after the base) */
  files: Record<string, string[]>;
  /** per original: the profiles it enables */
  enable: Record<string, string[]>;
  /** groups of originals whose models are identical */
  identical: string[][];
  /** where the split is not an exact three-tier one, and which differences made it so */
  notes: string[];
}

type Kind = 'set' | 'item' | 'reset';
/** A change an environment makes to the base. */
interface Change {
  key: string;
  kind: Kind;
  path: string[];
  value: unknown;
  lines: number;
  /** where its key first appears in the originals (a list's items: then in an environment's order) */
  order: number;
}

const FILE_COST = 20;
const overlays = (n: number) => `${n} cross-cutting overlay${n === 1 ? '' : 's'}`;
const PK = (p: string[]) => p.join('\u0001');

/** Lines a value takes in block YAML below its key. */
function valueLines(v: unknown): number {
  if (Array.isArray(v)) return v.reduce((n: number, x) => n + 1 + valueLines(x), 0);
  if (isMap(v)) return Object.values(v).reduce((n: number, x) => n + 1 + valueLines(x), 0);
  if (v instanceof Override) return valueLines(v.value);
  return typeof v === 'string' ? v.split('\n').length - 1 : 0;
}

const CONCERNS: Array<[string, RegExp]> = [
  ['hardening', /\b(read_only|cap_drop|cap_add|security_opt|no-new-privileges|privileged|userns_mode|pids_limit|seccomp|apparmor|user)\b/],
  ['performance', /\b(deploy\.resources|resources|ulimits|shm_size|mem_limit|memswap_limit|mem_reservation|cpus|cpu_shares|cpu_quota|cpuset|sysctls|oom_score_adj|replicas)\b|environment\.[A-Z0-9_]*(WORKERS?|THREADS?|POOL[A-Z_]*|CONCURRENCY|GOMAXPROCS|CACHE_SIZE|MAX_CONN[A-Z_]*|PROCESSES)\b/],
  ['monitoring', /prometheus|grafana|exporter|cadvisor|jaeger|otel|opentelemetry|loki|promtail|datadog|zipkin|statsd|telegraf|metrics|tracing|telemetry|sentry/i],
  ['debugging', /debug|inspect|9229|5005|2345|pprof|SYS_PTRACE/i],
  ['logging', /\blogging\b/],
];

const concernOf = (c: { path: string[]; value: unknown }) => {
  const text = `${c.path.filter((k) => k !== ITEM).join('.')}=${JSON.stringify(c.value instanceof Override ? c.value.value : c.value instanceof Reset ? null : c.value)}`;
  return CONCERNS.find(([, re]) => re.test(text))?.[0];
};

/** Whether most of a group's changes belong to one concern (then it reads as a cross-cutting overlay). */
const isConcern = (changes: Array<{ path: string[]; value: unknown }>) => {
  const n = new Map<string, number>();
  for (const c of changes) {
    const k = concernOf(c);
    if (k) n.set(k, (n.get(k) ?? 0) + 1);
  }
  return Math.max(0, ...n.values()) * 2 >= changes.length;
};

/**
 * A name for a group of changes: the concern most of them belong to, else the services it adds
 * (`added`: services the base does not have), else its most common key.
 */
function concernName(changes: Array<{ path: string[]; value: unknown }>, added: (service: string) => boolean = () => false): string {
  const score = new Map<string, number>();
  for (const c of changes) {
    const hit = concernOf(c);
    if (hit) score.set(hit, (score.get(hit) ?? 0) + 1);
  }
  const best = [...score.entries()].sort((a, b) => b[1] - a[1] || CONCERNS.findIndex((c) => c[0] === a[0]) - CONCERNS.findIndex((c) => c[0] === b[0]))[0];
  if (best) return best[0];
  const clean = (x: string) => x.toLowerCase().replace(/[^a-z0-9_.-]+/g, '-').replace(/^[-.]+|[-.]+$/g, '') || 'shared';
  const services = [...new Set(changes.filter((c) => c.path[0] === 'services' && c.path[1] && added(c.path[1])).map((c) => c.path[1]!))];
  if (services.length) return clean(services[0]!);
  const keys = new Map<string, number>();
  for (const c of changes) {
    const p = c.path;
    const k = p[0] === 'services' ? (p.length > 3 && ['environment', 'labels'].includes(p[2]!) ? p[3]! : p.length > 2 ? p[2]! : p[1]!) : p[0]!;
    keys.set(k, (keys.get(k) ?? 0) + 1);
  }
  return clean([...keys.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))[0]?.[0] ?? 'shared');
}

/** What a group of changes touches, in short: "api, worker: read_only, cap_drop; web: read_only". */
export function summarize(changes: Array<{ path: string[] }>): string {
  const by = new Map<string, Set<string>>();
  for (const c of changes) {
    const p = c.path.filter((k) => k !== ITEM);
    const [owner, key] = p[0] === 'services' && p.length > 1 ? [p[1]!, p.length > 2 ? (['environment', 'labels'].includes(p[2]!) && p[3] ? `${p[2]}.${p[3]}` : p[2]!) : '(service)'] : [p[0]!, p[1] ?? ''];
    (by.get(owner) ?? by.set(owner, new Set()).get(owner)!).add(key);
  }
  const owners = new Map<string, string[]>();
  for (const [o, ks] of by) {
    const k = [...ks].filter(Boolean).join(', ');
    (owners.get(k) ?? owners.set(k, []).get(k)!).push(o);
  }
  return [...owners.entries()].map(([k, os]) => `${os.length > 4 ? `${os.slice(0, 3).join(', ')} and ${os.length - 3} more` : os.join(', ')}: ${k}`).join('; ');
}

interface Unit {
  name: string;
  members: string[];
  tree: Rec;
  /** leaves by path key, in order */
  map: Map<string, { path: string[]; value: unknown }>;
  /** proper prefixes of its leaf paths */
  under: Set<string>;
}

function unitOf(name: string, members: string[], tree: Rec): Unit {
  const map = new Map<string, { path: string[]; value: unknown }>();
  const under = new Set<string>();
  for (const l of leaves(tree)) {
    map.set(PK(l.path), { path: l.path, value: l.value });
    for (let i = 1; i < l.path.length; i++) under.add(PK(l.path.slice(0, i)));
  }
  return { name, members, tree, map, under };
}

const subtree = (t: Rec, p: string[]): unknown => p.reduce<unknown>((at, k) => (isMap(at) ? at[k] : undefined), t);
const scalar = (v: unknown) => v === null || typeof v !== 'object';
const startsWith = (a: unknown[], b: unknown[]) => b.length <= a.length && b.every((x, i) => JSON.stringify(x) === JSON.stringify(a[i]));

/** Pure: the three tiers of a set of models (keyed by environment name). */
export function tiers(models: Record<string, Rec>, o: TierOptions): Tiering {
  const maxCross = o.crossCutting ?? 3;
  const perEnv = o.perEnvironment ?? 2;
  const names = Object.keys(models).sort();
  // identical originals are one environment
  const sig = new Map<string, string[]>();
  for (const e of names) {
    const s = JSON.stringify(models[e]);
    (sig.get(s) ?? sig.set(s, []).get(s)!).push(e);
  }
  const identical = [...sig.values()].filter((g) => g.length > 1);
  const groupsOf = [...sig.values()];
  const m = groupsOf.length;

  // optional services: one definition wherever present, in 2..m/2 environments, no profiles of their own
  const profiled = new Map<string, { services: string[]; resources: Array<[string, string]>; users: number[] }>();
  const strip = new Map<string, true>();
  if (o.profiles !== false && m >= 3) {
    const trees = groupsOf.map((g) => models[g[0]!]!);
    const svcs = [...new Set(trees.flatMap((t) => (isMap(t.services) ? Object.keys(t.services) : [])))];
    for (const s of svcs) {
      const have = trees.map((t, i) => (isMap(t.services) && t.services[s] !== undefined ? i : -1)).filter((i) => i >= 0);
      if (have.length < 2 || have.length * 2 > m) continue;
      const defs = have.map((i) => JSON.stringify((trees[i]!.services as Rec)[s]));
      const def = (trees[have[0]!]!.services as Rec)[s];
      if (!isMap(def) || 'profiles' in def || defs.some((d) => d !== defs[0])) continue;
      const k = have.join(',');
      (profiled.get(k) ?? profiled.set(k, { services: [], resources: [], users: have }).get(k)!).services.push(s);
    }
    // top-level resources present exactly where a profile's services are, and the same there
    for (const [k, p] of profiled) {
      for (const kind of ['volumes', 'networks', 'secrets', 'configs']) {
        const all = new Set(trees.flatMap((t) => (isMap(t[kind]) ? Object.keys(t[kind] as Rec) : [])));
        for (const r of all) {
          const have = trees.map((t, i) => (isMap(t[kind]) && (t[kind] as Rec)[r] !== undefined ? i : -1)).filter((i) => i >= 0);
          const defs = new Set(have.map((i) => JSON.stringify((trees[i]![kind] as Rec)[r])));
          if (have.join(',') === k && defs.size === 1) p.resources.push([kind, r]);
        }
      }
      for (const s of p.services) strip.set(PK(['services', s]), true);
      for (const [kind, r] of p.resources) strip.set(PK([kind, r]), true);
    }
  }
  const units = groupsOf.map((g) => {
    const t = structuredClone(models[g[0]!]!);
    for (const k of strip.keys()) {
      const [a, b] = k.split('\u0001') as [string, string];
      if (isMap(t[a])) {
        delete (t[a] as Rec)[b];
        if (!Object.keys(t[a] as Rec).length) delete t[a];
      }
    }
    return unitOf(g[0]!, g, t);
  });

  // tier 1: per path, the value most environments share
  /** per leaf path: its values and where; how many environments lack it (a reset each); whether one lacks a key of a sequenced mapping it has */
  const byPath = new Map<string, { path: string[]; vals: Map<string, { value: unknown; units: number[] }>; lacking: number; keyless: boolean }>();
  units.forEach((u, i) => {
    for (const [k, l] of u.map) {
      const e = byPath.get(k) ?? byPath.set(k, { path: l.path, vals: new Map(), lacking: 0, keyless: false }).get(k)!;
      const vk = JSON.stringify(l.value);
      (e.vals.get(vk) ?? e.vals.set(vk, { value: l.value, units: [] }).get(vk)!).units.push(i);
    }
  });
  const hasPrefixLeaf = (u: Unit, p: string[]) => {
    for (let i = 1; i < p.length; i++) if (u.map.has(PK(p.slice(0, i)))) return true;
    return false;
  };
  for (const [k, e] of byPath) {
    const lack = units.filter((u) => !u.map.has(k) && !u.under.has(k) && !hasPrefixLeaf(u, e.path));
    e.lacking = lack.length;
    const at = sequencedAbove(e.path);
    e.keyless = at !== undefined && lack.some((u) => u.under.has(PK(e.path.slice(0, at))));
  }

  /**
   * The layout for one rule of the base: a value most environments share goes to the base when the
   * copies it saves exceed `weight` times the resets it costs those that lack it.
   */
  const chooseBase = (weight: number) => {
    const base = new Map<string, { path: string[]; value: unknown }>();
    for (const [k, { path, vals, lacking, keyless }] of byPath) {
      // (no reset for one key of a sequenced mapping: a key some environment's mapping lacks stays out)
      if (keyless) continue;
      const all = [...vals.values()];
      if (o.items && isAppended(path) && all.every((v) => Array.isArray(v.value))) {
        const lists = all.map((v) => v.value as unknown[]);
        const cands = lists.filter((l) => l.length);
        if (!lacking && all.reduce((n, v) => n + v.units.length, 0) === m) {
          const lcp = lists.reduce((a, b) => {
            let i = 0;
            while (i < a.length && i < b.length && JSON.stringify(a[i]) === JSON.stringify(b[i])) i++;
            return a.slice(0, i);
          });
          if (lcp.length) cands.push(lcp);
        }
        let best: { list: unknown[]; score: number } | undefined;
        for (const l of cands) {
          const c = all.filter((v) => startsWith(v.value as unknown[], l)).reduce((n, v) => n + v.units.length, 0);
          const score = (c - 1) * l.length - weight * lacking;
          if ((c === m || (2 * c > m && score > 0)) && (!best || score > best.score || (score === best.score && l.length > best.list.length))) best = { list: l, score };
        }
        if (best) base.set(k, { path, value: best.list });
        continue;
      }
      const top = all.sort((a, b) => b.units.length - a.units.length)[0]!;
      const c = top.units.length;
      if (c === m || (2 * c > m && c - 1 > weight * lacking)) base.set(k, { path, value: top.value });
    }
    return base;
  };
  // where each key first appears in the originals: the new files keep that order
  const rank = new Map<string, number>();
  for (const u of units) {
    for (const { path } of u.map.values()) for (let i = 1; i <= path.length; i++) if (!rank.has(PK(path.slice(0, i)))) rank.set(PK(path.slice(0, i)), rank.size);
  }
  const layout = (base: Map<string, { path: string[]; value: unknown }>): Tiering => {
    // per environment, its changes to the base (in the originals' key order: rank)
    const mk = (kind: Kind, path: string[], value: unknown, occ = 0): Change => {
      const key = JSON.stringify([kind, path, value instanceof Override ? ['!override', value.value] : kind === 'reset' ? null : value, occ]);
      const order = rank.get(PK(path.at(-1) === ITEM ? path.slice(0, -1) : path)) ?? rank.size;
      return { key, kind, path, value, lines: kind === 'reset' ? 1 : 1 + valueLines(value), order };
    };
    const items = (path: string[], list: unknown[]): Change[] => {
      const seen = new Map<string, number>();
      return list.map((x) => {
        const j = JSON.stringify(x);
        const occ = seen.get(j) ?? 0;
        seen.set(j, occ + 1);
        return mk('item', [...path, ITEM], x, occ);
      });
    };
    const diffs: Change[][] = units.map((u) => {
      const out: Change[] = [];
      const consumed = new Set<string>();
      const done = new Set<string>();
      for (const [k, { path, value: b }] of base) {
        const own = u.map.get(k);
        if (own) {
          consumed.add(k);
          const v = own.value;
          if (JSON.stringify(v) === JSON.stringify(b)) continue;
          if (o.items && isAppended(path) && Array.isArray(v) && Array.isArray(b) && startsWith(v, b)) out.push(...items(path, v.slice(b.length)));
          else out.push(mk('set', path, scalar(v) && scalar(b) && v !== null ? v : new Override(v)));
        } else if (u.under.has(k)) {
          // a mapping here where the base has a leaf: merged onto an empty mapping, else replacing it
          if (isMap(b) && !Object.keys(b).length) continue;
          for (const x of u.map.keys()) if (x.startsWith(`${k}\u0001`)) consumed.add(x);
          out.push(mk('set', path, new Override(subtree(u.tree, path))));
        } else {
          let q: string[] | undefined;
          for (let i = 1; i < path.length && !q; i++) if (u.map.has(PK(path.slice(0, i)))) q = path.slice(0, i);
          if (q) {
            if (!done.has(PK(q))) out.push(mk('set', q, new Override(u.map.get(PK(q))!.value)));
            done.add(PK(q));
            consumed.add(PK(q));
            continue;
          }
          // nothing here: reset the highest key under which it has nothing
          let a = path;
          for (let i = 1; i <= path.length; i++) {
            const p = PK(path.slice(0, i));
            if (!u.map.has(p) && !u.under.has(p)) {
              a = path.slice(0, i);
              break;
            }
          }
          if (!done.has(PK(a))) out.push(mk('reset', a, RESET));
          done.add(PK(a));
        }
      }
      for (const [k, { path, value }] of u.map) {
        if (consumed.has(k) || base.has(k)) continue;
        if (o.items && isAppended(path) && Array.isArray(value) && value.length) out.push(...items(path, value));
        else out.push(mk('set', path, value));
      }
      return out;
    });

    // groups of changes: the same change in the same environments
    const byKey = new Map<string, { change: Change; units: number[] }>();
    diffs.forEach((d, i) => {
      for (const c of d) (byKey.get(c.key) ?? byKey.set(c.key, { change: c, units: [] }).get(c.key)!).units.push(i);
    });
    const groupIndex = new Map<string, number>();
    const groups: Array<{ units: number[]; changes: Change[]; lines: number }> = [];
    for (const { change, units: us } of byKey.values()) {
      const k = us.join(',');
      let gi = groupIndex.get(k);
      if (gi === undefined) {
        gi = groups.length;
        groupIndex.set(k, gi);
        groups.push({ units: us, changes: [], lines: 0 });
      }
      groups[gi]!.changes.push(change);
    }
    for (const g of groups) {
      const prefixes = new Set<string>();
      for (const c of g.changes) for (let i = 1; i < c.path.length; i++) prefixes.add(PK(c.path.slice(0, i)));
      g.lines = g.changes.reduce((n, c) => n + c.lines, 0) + prefixes.size;
    }
    const bit = (i: number) => 1n << BigInt(i);
    const unitMask = units.map((_, u) => groups.reduce((acc, g, gi) => (g.units.includes(u) ? acc | bit(gi) : acc), 0n));
    const linesOf = (mask: bigint) => groups.reduce((n, g, gi) => ((mask & bit(gi)) !== 0n ? n + g.lines : n), 0);
    const unitLines = unitMask.map(linesOf);

    const position = diffs.map((d) => new Map(d.map((c, i) => [c.key, i])));
    /** the changes of a set of groups in the originals' key order, a list's items in environment u's order */
    const changesOf = (mask: bigint, u = 0) => {
      const at = position[u]!;
      return groups.flatMap((g, gi) => ((mask & bit(gi)) !== 0n ? g.changes : [])).sort((a, b) => a.order - b.order || (at.get(a.key) ?? 0) - (at.get(b.key) ?? 0));
    };
    // an overlay added later appends: a group's items must be the last of each list they are in
    const itemLists = diffs.map((d) => {
      const by = new Map<string, string[]>();
      for (const c of d) if (c.kind === 'item') (by.get(PK(c.path)) ?? by.set(PK(c.path), []).get(PK(c.path))!).push(c.key);
      return [...by.values()];
    });
    const lastItems = (u: number, keys: Set<string>) =>
      itemLists[u]!.every((list) => {
        const first = list.findIndex((k) => keys.has(k));
        return first < 0 || list.slice(first).every((k) => keys.has(k));
      });
    // tier 3 candidates: the changes a set of environments shares, and what one environment adds to another
    interface Cand {
      mask: bigint;
      lines: number;
      users: boolean[];
      /** most of its changes belong to one concern (hardening, performance...) */
      concern: boolean;
    }
    const cands = new Map<bigint, Cand>();
    const addCand = (mask: bigint) => {
      if (mask === 0n || cands.has(mask)) return;
      const keys = new Set(groups.flatMap((g, gi) => ((mask & bit(gi)) !== 0n ? g.changes.map((c) => c.key) : [])));
      const users = unitMask.map((um, u) => (um & mask) === mask && lastItems(u, keys));
      if (users.some(Boolean)) cands.set(mask, { mask, lines: linesOf(mask), users, concern: isConcern(changesOf(mask)) });
    };
    if (maxCross > 0) {
      const sets = new Map<string, number[]>();
      for (const g of groups) if (g.units.length >= 2 && g.units.length < m) sets.set(g.units.join(','), g.units);
      for (const us of sets.values()) {
        let exact = 0n;
        let sup = 0n;
        groups.forEach((g, gi) => {
          if (us.every((u) => g.units.includes(u))) {
            sup |= bit(gi);
            if (g.units.length === us.length) exact |= bit(gi);
          }
        });
        addCand(exact);
        addCand(sup);
      }
      for (let a = 0; a < m; a++) for (let b = 0; b < m; b++) if (a !== b && (unitMask[b]! & ~unitMask[a]!) === 0n) addCand(unitMask[a]! & ~unitMask[b]!);
    }
    const choose = (T: Cand[], u: number, limit = perEnv) => {
      const app = T.filter((t) => t.users[u]);
      return app.length > limit ? [...app].sort((x, y) => y.lines - x.lines).slice(0, limit) : app;
    };
    const concernCache = new Map<bigint, boolean>();
    const residualIsConcern = (r: bigint) => concernCache.get(r) ?? concernCache.set(r, isConcern(changesOf(r))).get(r)!;
    /**
     * Files and lines (c); on a tie, the layout that reads right (sem, higher is better): a
     * cross-cutting overlay is a concern (hardening, performance...), best one that originals of
     * different environments add; one that is not a concern is the small increment between two
     * originals; an environment overlay is not just a concern.
     */
    const cost = (T: Cand[], limit = perEnv) => {
      let c = 0;
      let sem = 0;
      const seen = new Set<bigint>();
      const envsOf = new Map<Cand, { envs: Set<bigint>; n: number }>();
      for (let u = 0; u < m; u++) {
        let res = unitMask[u]!;
        let lines = unitLines[u]!;
        const chosen = choose(T, u, limit);
        for (const t of chosen) {
          res &= ~t.mask;
          lines -= t.lines;
        }
        for (const t of chosen) {
          const e = envsOf.get(t) ?? envsOf.set(t, { envs: new Set(), n: 0 }).get(t)!;
          e.envs.add(res);
          e.n++;
        }
        if (res !== 0n && !seen.has(res)) {
          seen.add(res);
          c += lines + FILE_COST;
          if (residualIsConcern(res)) sem -= 1;
        }
      }
      for (const [t, { envs, n }] of envsOf) {
        c += t.lines + FILE_COST;
        // (added by one original alone, over the base alone, it is that original's environment overlay)
        const alone = n === 1 && envs.has(0n);
        sem += alone ? -10 : t.concern ? 2 + (envs.size > 1 ? 1 : 0) : -t.lines / 1000;
      }
      return { c, sem };
    };
    const better = (x: { c: number; sem: number }, y: { c: number; sem: number }) => x.c < y.c || (x.c === y.c && x.sem > y.sem);
    const none = cost([]);
    const ranked = [...cands.values()].map((t) => ({ t, gain: none.c - cost([t]).c })).sort((a, b) => b.gain - a.gain).slice(0, 20).map((x) => x.t);
    let best: Cand[] = [];
    let bestCost = none;
    const search = (from: number, T: Cand[]) => {
      for (let i = from; i < ranked.length; i++) {
        const t = ranked[i]!;
        if (T.some((x) => (x.mask & t.mask) !== 0n)) continue;
        const next = [...T, t];
        const c = cost(next);
        if (better(c, bestCost)) {
          bestCost = c;
          best = next;
        }
        if (next.length < maxCross) search(i + 1, next);
      }
    };
    search(0, []);
    // (-f order: the most widely added first)
    best.sort((a, b) => b.users.filter(Boolean).length - a.users.filter(Boolean).length || b.lines - a.lines);
    /** notes, written once the cross-cutting overlays have their names (nameOf) */
    const pending: Array<() => string> = [];
    const label = (u: number) => units[u]!.members.join(', ');
    let nameOf = (_t: Cand) => '';

    // each environment's cross-cutting overlays; an item order they would change keeps them out
    const uses: Cand[][] = units.map((_, u) => {
      const app = best.filter((t) => t.users[u]);
      const chosen = choose(best, u);
      if (app.length > chosen.length) {
        for (const t of app.filter((x) => !chosen.includes(x))) pending.push(() => `${label(u)}: adds ${chosen.map(nameOf).join(' and ')}, and also has the changes of ${nameOf(t)} (${summarize(changesOf(t.mask))}): they are in its environment overlay, as an original adds at most ${overlays(perEnv)}`);
      }
      let list = best.filter((t) => chosen.includes(t));
      for (;;) {
        const ownerOf = new Map<string, number>();
        list.forEach((t, i) => {
          for (const c of changesOf(t.mask)) ownerOf.set(c.key, i + 1);
        });
        const bad = new Set<Cand>();
        const last = new Map<string, number>();
        for (const c of diffs[u]!) {
          if (c.kind !== 'item') continue;
          const p = PK(c.path);
          const w = ownerOf.get(c.key) ?? 0;
          if (w < (last.get(p) ?? 0)) bad.add(list[(last.get(p) ?? 1) - 1]!);
          last.set(p, Math.max(w, last.get(p) ?? 0));
        }
        if (!bad.size) break;
        for (const t of bad) pending.push(() => `${label(u)}: has the changes of ${nameOf(t)} (${summarize(changesOf(t.mask))}), but its lists put their items before its own, which an overlay added later cannot do: they are in its environment overlay`);
        list = list.filter((t) => !bad.has(t));
      }
      return list;
    });
    // a group that recurs but found no place: there are at most maxCross cross-cutting overlays, or
    // an original that has it already adds perEnv of them
    if (maxCross > 0) {
      let within = best.reduce((acc, x) => acc | x.mask, 0n);
      for (const left of ranked) {
        if ((left.mask & within) !== 0n || left.users.filter(Boolean).length < 2 || cost([...best, left], Infinity).c >= bestCost.c - FILE_COST / 2) continue;
        within |= left.mask;
        const full = units.map((_, u) => u).filter((u) => left.users[u] && uses[u]!.length >= perEnv);
        const why = best.length >= maxCross ? `there are at most ${overlays(maxCross)}` : `${full.map(label).join('; ')} already add${full.length === 1 ? 's' : ''} ${overlays(perEnv)}`;
        pending.push(() => `${summarize(changesOf(left.mask))}: recur in ${units.map((_, u) => u).filter((u) => left.users[u]).map(label).join('; ')}, but ${why}: they are in the environment overlays`);
      }
    }
    const residual = units.map((_, u) => uses[u]!.reduce((r, t) => r & ~t.mask, unitMask[u]!));

    // profiles: kept, or part of the one overlay that all and only their environments use
    type Part = { services: string[]; resources: Array<[string, string]>; users: number[] };
    const kept: Array<Part & { name: string }> = [];
    const extra = new Map<string, Part[]>();
    for (const p of profiled.values()) {
      const key = (xs: number[]) => xs.join(',');
      const target = best.find((t) => key(units.map((_, u) => u).filter((u) => uses[u]!.includes(t))) === key(p.users));
      const r = residual[p.users[0]!]!;
      const sameEnv = r !== 0n && key(units.map((_, u) => u).filter((u) => residual[u] === r)) === key(p.users);
      const at = target ? `t${best.indexOf(target)}` : sameEnv ? `e${r}` : undefined;
      if (at) (extra.get(at) ?? extra.set(at, []).get(at)!).push(p);
      else kept.push({ name: '', ...p });
    }
    /** where a profile's definitions are read: the first environment that has them */
    const srcOf = (p: Part) => models[units[p.users[0]!]!.name]!;
    const addParts = (tree: Rec, parts: Part[] | undefined, profile?: string) => {
      for (const p of parts ?? []) {
        const src = srcOf(p);
        for (const s of p.services) {
          const def = structuredClone((src.services as Rec)[s]) as Rec;
          ((tree.services ??= {}) as Rec)[s] = profile ? { profiles: [profile], ...def } : def;
        }
        for (const [kind, r] of p.resources) ((tree[kind] ??= {}) as Rec)[r] = structuredClone((src[kind] as Rec)[r]);
      }
    };

    // names: environments after an original (the one that adds the least), concerns after what they do
    const used = new Set<string>(['base']);
    const envOverlays: Tiering['environments'] = [];
    const envName = new Map<bigint, string>();
    for (const r of [...new Set(residual)]) {
      if (r === 0n) continue;
      const us = units.map((_, u) => u).filter((u) => residual[u] === r);
      const rep = [...us].sort((a, b) => uses[a]!.length - uses[b]!.length || units[a]!.name.length - units[b]!.name.length || units[a]!.name.localeCompare(units[b]!.name))[0]!;
      let name = units[rep]!.name;
      while (used.has(name)) name += '_';
      used.add(name);
      envName.set(r, name);
      const tree = build(changesOf(r, rep));
      addParts(tree, extra.get(`e${r}`));
      envOverlays.push({ name, envs: us.flatMap((u) => units[u]!.members), tree });
    }
    const baseServices = new Set([...base.values()].filter((b) => b.path[0] === 'services').map((b) => b.path[1]));
    const added = (svc: string) => !baseServices.has(svc);
    const cross: Tiering['crossCutting'] = best.map((t, i) => {
      const ch = changesOf(t.mask, Math.max(0, units.findIndex((_, u) => uses[u]!.includes(t))));
      const parts = extra.get(`t${i}`) ?? [];
      const partChanges = parts.flatMap((p) => [...p.services.flatMap((s) => leaves((srcOf(p).services as Rec)[s], ['services', s])), ...p.resources.map(([k, r]) => ({ path: [k, r], value: null }))]);
      let name = concernName([...ch, ...partChanges], added);
      while (used.has(name)) name = /-\d+$/.test(name) ? name.replace(/\d+$/, (d) => String(Number(d) + 1)) : `${name}-2`;
      used.add(name);
      const tree = build(ch);
      addParts(tree, parts);
      const us = units.map((_, u) => u).filter((u) => uses[u]!.includes(t));
      return { name, envs: us.flatMap((u) => units[u]!.members), tree, changes: summarize([...ch, ...partChanges]) };
    });
    nameOf = (t) => cross[best.indexOf(t)]!.name;
    const notes = pending.map((f) => f());
    const profiles: Tiering['profiles'] = [];
    for (const p of kept) {
      const defs = p.services.flatMap((s) => leaves((srcOf(p).services as Rec)[s], ['services', s]));
      let name = concernName(defs);
      if (!CONCERNS.some(([c]) => c === name)) name = p.services[0]!.toLowerCase().replace(/[^a-z0-9_.-]+/g, '-');
      while (profiles.some((x) => x.name === name)) name += '-2';
      p.name = name;
      profiles.push({ name, services: p.services, envs: p.users.flatMap((u) => units[u]!.members) });
    }
    // the base: shared values in the originals' order, then the optional services under their profile
    const baseTree = build([...base.values()]);
    for (const p of kept) addParts(baseTree, [p], p.name);

    const files: Record<string, string[]> = {};
    const enable: Record<string, string[]> = {};
    units.forEach((u, i) => {
      const list = [...(residual[i] !== 0n ? [envName.get(residual[i]!)!] : []), ...best.filter((t) => uses[i]!.includes(t)).map((t) => cross[best.indexOf(t)]!.name)];
      const prof = kept.filter((p) => p.users.includes(i)).map((p) => p.name);
      for (const e of u.members) {
        files[e] = list;
        enable[e] = prof;
      }
    });
    return { base: baseTree, environments: envOverlays, crossCutting: cross, profiles, files, enable, identical, notes };
  };
  // a reset can save a file or cost one: every rule is laid out, and the one with the fewest files and lines wins
  const costOf = (t: Tiering) => [t.base, ...t.environments.map((e) => e.tree), ...t.crossCutting.map((c) => c.tree)].reduce((n, x) => n + FILE_COST + dumpCompose(x).split('\n').length, 0);
  let best: { t: Tiering; cost: number } | undefined;
  const tried = new Set<string>();
  for (const weight of [2, 1, 0.5, 0]) {
    const base = chooseBase(weight);
    const key = [...base].map(([k, v]) => (Array.isArray(v.value) ? `${k}=${JSON.stringify(v.value)}` : k)).join('\u0002');
    if (tried.has(key)) continue;
    tried.add(key);
    const t = layout(base);
    const c = costOf(t);
    if (!best || c < best.cost) best = { t, cost: c };
  }
  return best!.t;
}
