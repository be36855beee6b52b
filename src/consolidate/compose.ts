/**
 * consolidate (Compose part): many standalone Compose files ("environments") become one base file
 * and a few overlays, such that each environment is exactly base + its overlays, and that is
 * proven by loading both and comparing the canonical models.
 *
 * The factoring works on leaves of the canonical model (a scalar, a list, or an empty mapping at a
 * key path). The base holds the leaves every environment has with the same value; every other
 * leaf belongs to the set of environments that have it, and leaves with the same set form one
 * overlay (changes that always occur together). No two overlays an environment uses set the same
 * key path, and the base never holds a path an overlay sets, so Compose's merge is plain union:
 * no `!reset` / `!override` is needed, and the proof checks it anyway.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative, resolve } from 'node:path';
import jsyaml from 'js-yaml';
import { slashRelative } from '../build/context.js';
import { discover } from '../load/discover.js';
import { loadProject } from '../load/index.js';
import { normalizeProjectName } from '../load/normalize.js';
import { projectModel, sortKeys } from '../model/serialize.js';

type Rec = Record<string, unknown>;
type Leaf = { path: string[]; value: unknown; key: string };

const PROJECT = 'consolidate';

/** Service lists Compose merges by appending: their items can be split between files. */
const APPENDED = new Set(['ports', 'volumes', 'expose', 'cap_add', 'cap_drop', 'security_opt', 'extra_hosts', 'dns', 'dns_search', 'tmpfs', 'secrets', 'configs', 'devices', 'profiles']);
/** marks an item of an appended list in a leaf's path */
const ITEM = '[]';

/**
 * The leaves of a model (scalars, lists, and empty mappings are leaves). With `items`, each item
 * of a service list Compose appends on merge is a leaf of its own.
 */
export function leaves(tree: unknown, path: string[] = [], items = false): Leaf[] {
  if (tree && typeof tree === 'object' && !Array.isArray(tree) && Object.keys(tree).length) {
    return Object.entries(tree as Rec).flatMap(([k, v]) => leaves(v, [...path, k], items));
  }
  if (items && Array.isArray(tree) && path.length === 3 && path[0] === 'services' && APPENDED.has(path[2]!) && tree.length) {
    return tree.map((x) => ({ path: [...path, ITEM], value: x, key: JSON.stringify([path, ITEM, x]) }));
  }
  return [{ path, value: tree, key: JSON.stringify([path, tree]) }];
}

function build(ls: Leaf[]): Rec {
  const out: Rec = {};
  for (const l of ls) {
    let at = out;
    const item = l.path.at(-1) === ITEM;
    const keys = item ? l.path.slice(0, -1) : l.path;
    for (const k of keys.slice(0, -1)) at = (at[k] ??= {}) as Rec;
    if (item) ((at[keys.at(-1)!] ??= []) as unknown[]).push(structuredClone(l.value));
    else at[keys.at(-1)!] = structuredClone(l.value);
  }
  return out;
}

export interface Factoring {
  base: Rec;
  /** overlays, each with the environments that use it */
  overlays: Array<{ name: string; envs: string[]; tree: Rec }>;
  /** per environment, its overlays in -f order (after the base) */
  files: Record<string, string[]>;
  /** groups of environments whose models are identical */
  identical: string[][];
}

/** Pure: the base and overlays of a set of models (keyed by environment name). */
export function factor(models: Record<string, Rec>, items = false): Factoring {
  const envs = Object.keys(models).sort();
  const byEnv = new Map(envs.map((e) => [e, leaves(models[e], [], items)]));
  const count = new Map<string, { leaf: Leaf; envs: string[] }>();
  for (const e of envs) for (const l of byEnv.get(e)!) (count.get(l.key) ?? count.set(l.key, { leaf: l, envs: [] }).get(l.key)!).envs.push(e);
  const baseLeaves: Leaf[] = [];
  const groups = new Map<string, { envs: string[]; leaves: Leaf[] }>();
  for (const { leaf, envs: have } of count.values()) {
    if (have.length === envs.length) baseLeaves.push(leaf);
    else {
      const g = have.join('\u0000');
      (groups.get(g) ?? groups.set(g, { envs: have, leaves: [] }).get(g)!).leaves.push(leaf);
    }
  }
  // overlays: the ones shared by most environments first (they read as "profiles"), then per environment
  const ordered = [...groups.values()].sort((a, b) => b.envs.length - a.envs.length || a.envs.join().localeCompare(b.envs.join()));
  const used = new Set<string>();
  const overlays = ordered.map((g) => {
    const others = envs.filter((e) => !g.envs.includes(e));
    let name = g.envs.length === 1 ? g.envs[0]! : others.length < g.envs.length ? `not-${others.join('-')}` : `shared-${g.envs.join('-')}`;
    if (name.length > 60) name = `shared-${g.envs.length}-${ordered.indexOf(g)}`;
    while (used.has(name)) name += '_';
    used.add(name);
    return { name, envs: g.envs, tree: build(g.leaves) };
  });
  // an overlay that is all an environment adds to the base is named after that environment
  for (const o of overlays) {
    if (o.envs.length < 2) continue;
    const only = o.envs.find((e) => overlays.filter((x) => x.envs.includes(e)).length === 1 && !used.has(e));
    if (only) {
      used.delete(o.name);
      used.add(only);
      o.name = only;
    }
  }
  const files = Object.fromEntries(envs.map((e) => [e, overlays.filter((o) => o.envs.includes(e)).map((o) => o.name)]));
  const sig = new Map<string, string[]>();
  for (const e of envs) {
    const s = JSON.stringify(models[e]);
    (sig.get(s) ?? sig.set(s, []).get(s)!).push(e);
  }
  return { base: build(baseLeaves), overlays, files, identical: [...sig.values()].filter((g) => g.length > 1) };
}

/** Absolute paths under the project folder, made relative to it again (./x), in every string. */
function relativize(v: unknown, dir: string): unknown {
  if (typeof v === 'string') return v === dir ? '.' : v.startsWith(`${dir}/`) ? `./${v.slice(dir.length + 1)}` : v;
  if (Array.isArray(v)) return v.map((x) => relativize(x, dir));
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, relativize(x, dir)]));
  return v;
}

const envName = (dir: string, file: string) =>
  slashRelative(dir, file).replace(/\.ya?ml$/, '').replace(/(^|\/)(docker-)?compose([._-]|$)/, '$1').replace(/[^A-Za-z0-9_.-]+/g, '-').replace(/^[-.]+|[-.]+$/g, '') || 'default';

/**
 * The model in the shorter forms people write (short port and volume syntax, list depends_on,
 * default names left out). Every rewrite is one the loader reads back to the same model: the
 * proof checks it.
 */
export function compact(m: Rec, project: string): Rec {
  const out = structuredClone(m);
  for (const kind of ['networks', 'volumes', 'secrets', 'configs'] as const) {
    const defs = out[kind] as Record<string, Rec> | undefined;
    for (const [k, d] of Object.entries(defs ?? {})) if (d && d.name === `${project}_${k}`) delete d.name;
    if (kind === 'networks' && defs?.default && !Object.keys(defs.default).length) delete defs.default;
    if (defs && !Object.keys(defs).length) delete out[kind];
  }
  for (const s of Object.values((out.services ?? {}) as Record<string, Rec>)) {
    const nets = s.networks as Rec | undefined;
    if (nets && Object.keys(nets).length === 1 && 'default' in nets && nets.default === null) delete s.networks;
    const deps = s.depends_on as Record<string, Rec> | undefined;
    if (deps && Object.values(deps).every((d) => d.condition === 'service_started' && d.required === true && Object.keys(d).length === 2)) s.depends_on = Object.keys(deps);
    if (Array.isArray(s.ports))
      s.ports = s.ports.map((p: Rec) => {
        const keys = Object.keys(p).filter((k) => !['mode', 'protocol', 'published', 'target', 'host_ip'].includes(k));
        if (keys.length || p.mode !== 'ingress') return p;
        return `${p.host_ip ? `${String(p.host_ip)}:` : ''}${p.published !== undefined ? `${String(p.published)}:` : p.host_ip ? ':' : ''}${String(p.target)}${p.protocol === 'tcp' ? '' : `/${String(p.protocol)}`}`;
      });
    if (Array.isArray(s.volumes))
      s.volumes = s.volumes.map((v: Rec) => {
        const extra = Object.keys(v).filter((k) => !['type', 'source', 'target', 'read_only', 'bind', 'volume'].includes(k));
        const opts = (v.bind ?? v.volume) as Rec | undefined;
        if (extra.length || (opts && Object.keys(opts).length) || !v.source || (v.type !== 'bind' && v.type !== 'volume')) return v;
        const src = String(v.source);
        if (v.type === 'bind' && !/^(\.|\/|~)/.test(src)) return v;
        return `${src}:${String(v.target)}${v.read_only ? ':ro' : ''}`;
      });
    const b = s.build as Rec | undefined;
    if (b && Object.keys(b).length === 2 && b.dockerfile === 'Dockerfile' && typeof b.context === 'string') s.build = b.context;
  }
  return out;
}

/**
 * Where the original Dockerfiles went: the new Dockerfile (absolute), and per original Dockerfile
 * (absolute) its target and what each of its stages is called now.
 */
export interface BuildTargets {
  dockerfile: string;
  originals: Map<string, { target: string; stages: Record<string, string> }>;
}

/**
 * A service's `build:` pointed at the consolidated Dockerfile when it builds one of the originals
 * (context and dockerfile resolved from `from`; a target stage renamed as in the new file).
 * `context` is what the new build's context is written as. Undefined: left as it is (an inline
 * Dockerfile, a variable, a remote context, a Dockerfile that was not consolidated).
 */
function retarget(b: unknown, from: string, context: string, dir: string, builds: BuildTargets): Rec | undefined {
  const r: Rec | undefined = typeof b === 'string' ? { context: b } : b && typeof b === 'object' && !Array.isArray(b) ? { ...(b as Rec) } : undefined;
  if (!r || r.dockerfile_inline !== undefined) return undefined;
  const ctx = r.context ?? '.';
  const df = r.dockerfile ?? 'Dockerfile';
  if (typeof ctx !== 'string' || typeof df !== 'string' || /\$/.test(ctx + df) || /^[a-z]+:\/\//i.test(ctx) || ctx.startsWith('git@')) return undefined;
  const orig = builds.originals.get(resolve(from, ctx, df));
  if (!orig) return undefined;
  let target = orig.target;
  if (r.target !== undefined) {
    const t = typeof r.target === 'string' && !r.target.includes('$') ? orig.stages[r.target.toLowerCase()] : undefined;
    if (!t) return undefined;
    target = t;
  }
  const { context: _c, dockerfile: _d, target: _t, ...rest } = r;
  // the new Dockerfile relative to the new context (dir) when it is below it, else absolute
  const rel = slashRelative(dir, builds.dockerfile);
  return { context, dockerfile: rel.startsWith('..') ? builds.dockerfile : rel, target, ...rest };
}

/**
 * Every service build of a model (as written, or canonical) retargeted, or only those named in
 * `only`; the names of those that were.
 */
function retargetAll(m: Rec, from: string, context: string, dir: string, builds: BuildTargets | undefined, only?: Set<string>): Set<string> {
  const done = new Set<string>();
  if (!builds) return done;
  for (const [name, svc] of Object.entries((m.services ?? {}) as Record<string, Rec | null>)) {
    if (!svc || svc.build === undefined || (only && !only.has(name))) continue;
    const b = retarget(svc.build, from, context, dir, builds);
    if (b) {
      svc.build = b;
      done.add(name);
    }
  }
  return done;
}

/** dir undefined: the first file's folder (how an original is used on its own) */
const model = (files: string[], dir: string | undefined, project = PROJECT): Rec => {
  const m = projectModel(loadProject({ files, projectDirectory: dir, projectName: project, environment: { ...process.env } as Record<string, string>, consistency: false }), { format: 'json' });
  delete m.name;
  return m;
};
/** the proof loads under another project name: a name baked into the files would show */
const PROOF = 'proof-name';

export interface ComposeReport {
  /** original (relative to dir) -> its files in -f order (relative to out) */
  compose: Record<string, string[]>;
  identical: string[][];
  /** originals whose replacement loads to the same model */
  proven: string[];
  unproven: Array<{ file: string; difference: string }>;
  linesBefore: number;
  linesAfter: number;
  filesAfter: Array<{ name: string; text: string }>;
  /**
   * kept: the files were factored as written, ${VARIABLES} and all (each original's variables are
   * in its replacement); resolved: they were factored from the loaded models, with the current
   * environment's values in place of the variables (when the files as written could not be)
   */
  variables: 'kept' | 'resolved';
  /** service builds (counted per original) that now build a target of the consolidated Dockerfile */
  builds: number;
  /**
   * originals whose project name came from a folder other than dir (and not from a name: key):
   * the name to pass with -p so that the replacement, loaded from dir, keeps it
   */
  projectNames: Record<string, string>;
}

/** Factors the Compose files under dir and proves every original against its replacement. */
export function consolidateCompose(dir: string, out: string, builds?: BuildTargets): ComposeReport | undefined {
  dir = resolve(dir);
  out = resolve(out);
  const originals = discover(dir, { skip: out }).compose;
  if (originals.length < 2) return undefined;
  const texts = new Map(originals.map((f) => [f, readFileSync(f, 'utf8')]));
  const linesBefore = [...texts.values()].reduce((n, text) => n + text.split('\n').length - (text.endsWith('\n') ? 1 : 0), 0);
  // an original whose project name came from its own folder keeps it with -p
  const projectNames = Object.fromEntries(originals.filter((f) => dirname(f) !== dir && !/^name\s*:/m.test(texts.get(f)!)).map((f) => [relative(dir, f), normalizeProjectName(basename(dirname(f)))]));
  const names = new Map<string, string>();
  const written: Record<string, Rec> = {};
  /** per original, the services whose build now builds a target of the consolidated Dockerfile */
  const retargeted = new Map<string, Set<string>>();
  for (const f of originals) {
    let n = envName(dir, f);
    while ([...names.values()].includes(n)) n += '_';
    names.set(f, n);
    try {
      const raw = jsyaml.load(texts.get(f)!);
      if (raw && typeof raw === 'object' && !Array.isArray(raw)) {
        written[n] = raw as Rec;
        // (relative paths of the new files resolve from dir: the new context is written as '.')
        // a build written with a variable is left as written, in every form of the file
        retargeted.set(f, retargetAll(written[n], dirname(f), '.', dir, builds));
      }
    } catch {
      // custom tags (!reset, !override) and the like: factored from the loaded models
    }
  }
  const vars = (text: string) => [...new Set(text.match(/\$\{[^}]*\}|\$[A-Za-z_]\w*/g) ?? [])].sort().join(' ');
  // what each replacement must load to: the original's model, its builds retargeted
  const wanted = new Map(
    originals.map((f) => {
      const m = model([f], undefined, PROOF);
      const done = retargetAll(m, dirname(f), dir, dir, builds, retargeted.get(f));
      retargeted.set(f, done);
      return [f, JSON.stringify(sortKeys(m))];
    }),
  );
  const builtTargets = [...retargeted.values()].reduce((n, x) => n + x.size, 0);
  // the loaded models, only needed when the files as written cannot be factored
  let models: Record<string, Rec> | undefined;
  const loaded = () =>
    (models ??= Object.fromEntries(
      originals.map((f) => {
        const m = model([f], undefined);
        retargetAll(m, dirname(f), dir, dir, builds, retargeted.get(f));
        return [names.get(f)!, compact(relativize(m, dir) as Rec, PROJECT)];
      }),
    ));
  const attempt = (items: boolean, kept: boolean): ComposeReport => {
    const fx = factor(kept ? written : loaded(), items);
    const dump = (t: Rec) => jsyaml.dump(t, { lineWidth: -1, noRefs: true, sortKeys: false });
    const filesAfter = [{ name: 'compose.base.yaml', text: dump(fx.base) }, ...fx.overlays.map((o) => ({ name: `compose.${o.name}.yaml`, text: `# used by: ${o.envs.join(', ')}\n${dump(o.tree)}` }))];
    const report: ComposeReport = { compose: {}, identical: fx.identical, proven: [], unproven: [], linesBefore, linesAfter: filesAfter.reduce((n, f) => n + f.text.split('\n').length - 1, 0), filesAfter, variables: kept ? 'kept' : 'resolved', builds: builtTargets, projectNames };
    // the proof: the files written to a scratch folder, loaded as `-f base -f overlays...`
    const scratch = mkdtempSync(join(tmpdir(), 'dockyard-consolidate-'));
    try {
      for (const f of filesAfter) writeFileSync(join(scratch, f.name), f.text);
      for (const f of originals) {
        const rel = relative(dir, f);
        const text = texts.get(f)!;
        const list = ['compose.base.yaml', ...fx.files[names.get(f)!]!.map((o) => `compose.${o}.yaml`)];
        report.compose[rel] = list;
        const want = wanted.get(f)!;
        let got: string;
        try {
          got = JSON.stringify(sortKeys(model(list.map((x) => join(scratch, x)), dir, PROOF)));
        } catch (e) {
          report.unproven.push({ file: rel, difference: (e as Error).message });
          continue;
        }
        const lost = kept && vars(text) !== vars(list.map((x) => filesAfter.find((a) => a.name === x)!.text).join('\n'));
        if (lost) report.unproven.push({ file: rel, difference: `variables differ: ${vars(text)}` });
        else if (got === want) report.proven.push(rel);
        else report.unproven.push({ file: rel, difference: firstDifference(JSON.parse(want), JSON.parse(got)) });
      }
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
    return report;
  };
  // as written first (variables kept), then from the loaded models; list items split between
  // files first (smaller overlays), whole lists when an order would change
  const canKeep = Object.keys(written).length === originals.length;
  for (const [items, kept] of [[true, true], [false, true], [true, false]] as const) {
    if (kept && !canKeep) continue;
    const r = attempt(items, kept);
    if (!r.unproven.length) return r;
  }
  return attempt(false, false);
}

function firstDifference(a: unknown, b: unknown): string {
  const la = new Map(leaves(a).map((l) => [l.path.join('.'), JSON.stringify(l.value)]));
  const lb = new Map(leaves(b).map((l) => [l.path.join('.'), JSON.stringify(l.value)]));
  for (const [k, v] of la) if (lb.get(k) !== v) return `${k}: ${v} in the original, ${lb.get(k) ?? 'nothing'} consolidated`;
  for (const [k, v] of lb) if (!la.has(k)) return `${k}: nothing in the original, ${v} consolidated`;
  return 'the models differ';
}

