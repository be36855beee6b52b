/**
 * consolidate (Compose part): many standalone Compose files ("environments") become the three
 * tiers of tiers.ts (a base, one overlay per environment, a few cross-cutting overlays, optional
 * services under profiles), such that each environment is exactly base + its overlays (+ its
 * profiles), and that is proven by loading both and comparing the canonical models.
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
import { dumpCompose, leaves, tiers, type Rec } from './tiers.js';

const PROJECT = 'consolidate';

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

/**
 * dir undefined: the first file's folder (how an original is used on its own). The shell's
 * COMPOSE_PROFILES is left out: the proof is about the files (and the profiles passed).
 */
const model = (files: string[], dir: string | undefined, project = PROJECT, profiles: string[] = []): Rec => {
  const { COMPOSE_PROFILES: _p, ...environment } = process.env;
  const m = projectModel(loadProject({ files, projectDirectory: dir, projectName: project, profiles, environment: environment as Record<string, string>, consistency: false }), { format: 'json' });
  delete m.name;
  return m;
};
/** the proof loads under another project name: a name baked into the files would show */
const PROOF = 'proof-name';

export interface ComposeReport {
  /** original (relative to dir) -> its files in -f order (relative to out) */
  compose: Record<string, string[]>;
  /** original (relative to dir) -> the profiles it enables (--profile), often none */
  profiles: Record<string, string[]>;
  /** the layout: one overlay per environment, cross-cutting overlays, profiles, and where it is not exact */
  tiers: {
    base: string;
    environments: Array<{ file: string; originals: string[] }>;
    crossCutting: Array<{ file: string; name: string; originals: string[]; changes: string }>;
    profiles: Array<{ name: string; services: string[]; originals: string[] }>;
    /** where the three tiers are not exact (an original that would add more cross-cutting overlays, ...) and which differences made it so */
    notes: string[];
  };
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

const BASE_FILE = 'compose.base.yaml';
const fileOf = (name: string) => `compose.${name}.yaml`;
const lineCount = (text: string) => text.split('\n').length - (text.endsWith('\n') ? 1 : 0);

/** Factors the Compose files under dir and proves every original against its replacement. */
export function consolidateCompose(dir: string, out: string, builds?: BuildTargets): ComposeReport | undefined {
  dir = resolve(dir);
  out = resolve(out);
  const originals = discover(dir, { skip: out }).compose;
  if (originals.length < 2) return undefined;
  const texts = new Map(originals.map((f) => [f, readFileSync(f, 'utf8')]));
  const linesBefore = [...texts.values()].reduce((n, text) => n + lineCount(text), 0);
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
  const vars = (text: string) => new Set(text.match(/\$\{[^}]*\}|\$[A-Za-z_]\w*/g) ?? []);
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
  const rel = (f: string) => relative(dir, f);
  const byName = new Map(originals.map((f) => [names.get(f)!, rel(f)]));
  const attempt = (items: boolean, kept: boolean, layered: boolean): ComposeReport => {
    const t = tiers(kept ? written : loaded(), { items, crossCutting: layered ? 3 : 0, perEnvironment: 2, profiles: layered });
    const originalsOf = (envs: string[]) => envs.map((e) => byName.get(e)!);
    const head = (what: string) => `# ${what}\n`;
    const filesAfter = [
      { name: BASE_FILE, text: `${head(`shared by every environment${t.profiles.length ? `; optional services under profiles: ${t.profiles.map((p) => `${p.name} (${p.services.join(', ')})`).join(', ')}` : ''}`)}${dumpCompose(t.base)}` },
      ...t.environments.map((e) => ({ name: fileOf(e.name), text: `${head(`environment ${e.name}: ${originalsOf(e.envs).join(', ')}`)}${dumpCompose(e.tree)}` })),
      ...t.crossCutting.map((c) => ({ name: fileOf(c.name), text: `${head(`${c.name}, added by: ${originalsOf(c.envs).join(', ')}`)}${dumpCompose(c.tree)}` })),
    ];
    const report: ComposeReport = {
      compose: {},
      profiles: {},
      tiers: {
        base: BASE_FILE,
        environments: t.environments.map((e) => ({ file: fileOf(e.name), originals: originalsOf(e.envs) })),
        crossCutting: t.crossCutting.map((c) => ({ file: fileOf(c.name), name: c.name, originals: originalsOf(c.envs), changes: c.changes })),
        profiles: t.profiles.map((p) => ({ name: p.name, services: p.services, originals: originalsOf(p.envs) })),
        notes: [...t.notes, ...(filesAfter.length >= originals.length ? [`${filesAfter.length} files for ${originals.length} originals: they share too little for fewer files`] : [])],
      },
      identical: t.identical.map(originalsOf),
      proven: [],
      unproven: [],
      linesBefore,
      linesAfter: filesAfter.reduce((n, f) => n + lineCount(f.text), 0),
      filesAfter,
      variables: kept ? 'kept' : 'resolved',
      builds: builtTargets,
      projectNames,
    };
    const profiled = new Set(t.profiles.flatMap((p) => p.services));
    // the proof: the files written to a scratch folder, loaded as `-f base -f overlays... --profile ...`
    const scratch = mkdtempSync(join(tmpdir(), 'dockyard-consolidate-'));
    try {
      for (const f of filesAfter) writeFileSync(join(scratch, f.name), f.text);
      for (const f of originals) {
        const r = rel(f);
        const text = texts.get(f)!;
        const list = [BASE_FILE, ...t.files[names.get(f)!]!.map(fileOf)];
        const profiles = t.enable[names.get(f)!]!;
        report.compose[r] = list;
        report.profiles[r] = profiles;
        let got: Rec;
        try {
          got = model(list.map((x) => join(scratch, x)), dir, PROOF, profiles);
        } catch (e) {
          report.unproven.push({ file: r, difference: (e as Error).message });
          continue;
        }
        // (a profile only decides whether the service runs: the originals have none there)
        for (const s of profiled) delete ((got.services as Record<string, Rec> | undefined)?.[s] ?? {}).profiles;
        const mine = vars(text);
        const theirs = vars(list.map((x) => filesAfter.find((a) => a.name === x)!.text).join('\n'));
        const lost = kept ? [...mine].filter((v) => !theirs.has(v)) : [];
        // a variable only the replacement reads must not be one that fails when unset
        const fails = kept ? [...theirs].filter((v) => !mine.has(v) && /^\$\{[^}]*\?/.test(v)) : [];
        const want = wanted.get(f)!;
        const gotText = JSON.stringify(sortKeys(got));
        if (lost.length || fails.length) report.unproven.push({ file: r, difference: `variables differ: ${[...lost, ...fails].join(' ')}` });
        else if (gotText === want) report.proven.push(r);
        else report.unproven.push({ file: r, difference: firstDifference(JSON.parse(want), JSON.parse(gotText)) });
      }
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
    return report;
  };
  // as written first (variables kept), then from the loaded models; list items split between
  // files first (smaller overlays), whole lists when an order would change; the three tiers
  // first, then base and environments only
  const canKeep = Object.keys(written).length === originals.length;
  let last: ComposeReport | undefined;
  let tiered: ComposeReport | undefined;
  for (const layered of [true, false]) {
    for (const [items, kept] of [[true, true], [false, true], [true, false], [false, false]] as const) {
      if (kept && !canKeep) continue;
      last = attempt(items, kept, layered);
      tiered ??= last;
      if (!last.unproven.length) {
        // (the three tiers did not load to an original: say which, and what was done instead)
        const u = tiered.unproven[0];
        if (!layered && u) last.tiers.notes.unshift(`the three-tier layout did not load to ${u.file} (${u.difference}): base and one overlay per environment instead`);
        return last;
      }
    }
  }
  return last!;
}

function firstDifference(a: unknown, b: unknown): string {
  const la = new Map(leaves(a).map((l) => [l.path.join('.'), JSON.stringify(l.value)]));
  const lb = new Map(leaves(b).map((l) => [l.path.join('.'), JSON.stringify(l.value)]));
  for (const [k, v] of la) if (lb.get(k) !== v) return `${k}: ${v} in the original, ${lb.get(k) ?? 'nothing'} consolidated`;
  for (const [k, v] of lb) if (!la.has(k)) return `${k}: nothing in the original, ${v} consolidated`;
  return 'the models differ';
}

