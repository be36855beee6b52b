/**
 * Bake files as `docker buildx bake` reads them: docker-bake.hcl / .json and Compose files;
 * targets, groups (default "default"), inherits, variables with defaults overridden by the
 * environment, ${} interpolation, --set overrides, and the resolved definition for --print.
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { DockyardError } from '../errors.js';
import { loadProject } from '../load/index.js';
import { imageName } from '../model/names.js';

export interface BakeTarget {
  context?: string;
  dockerfile?: string;
  'dockerfile-inline'?: string;
  args?: Record<string, string>;
  labels?: Record<string, string>;
  tags?: string[];
  target?: string;
  'no-cache'?: boolean;
  pull?: boolean;
  platforms?: string[];
  'cache-from'?: string[];
  'cache-to'?: string[];
  output?: string[];
  network?: string;
  'shm-size'?: string;
  'extra-hosts'?: string[];
  inherits?: string[];
  [key: string]: unknown;
}

export interface BakeDefinition {
  group: Record<string, { targets: string[] }>;
  target: Record<string, BakeTarget>;
  variable: Record<string, { default?: string }>;
}

export const DEFAULT_BAKE_FILES = ['compose.yaml', 'compose.yml', 'docker-compose.yml', 'docker-compose.yaml', 'docker-bake.json', 'docker-bake.override.json', 'docker-bake.hcl', 'docker-bake.override.hcl'];

type Rec = Record<string, unknown>;

/** hcl2json gives every block as a list of bodies; take them in order, later wins. */
function flattenBlocks(v: unknown): Record<string, Rec> {
  const out: Record<string, Rec> = {};
  for (const [name, bodies] of Object.entries((v ?? {}) as Record<string, unknown>)) {
    const list = Array.isArray(bodies) ? bodies : [bodies];
    out[name] = Object.assign({}, ...list.map((b) => b as Rec));
  }
  return out;
}

async function parseHcl(file: string, text: string): Promise<Rec> {
  const { parse } = await import('@cdktf/hcl2json');
  try {
    return (await parse(basename(file), text)) as Rec;
  } catch (e) {
    const msg = (e as Error).message.replace(/^parse config: \[?/, '').replace(/\]$/, '');
    const m = /^[^:]+:(\d+),(\d+)(?:-\d+)?: (.*)$/s.exec(msg);
    throw new DockyardError('YAML_SYNTAX', `invalid HCL: ${m ? m[3] : msg}`, {
      location: { file, line: m ? Number(m[1]) : undefined, column: m ? Number(m[2]) : undefined },
      hint: 'each attribute goes on its own line inside a block: target "app" { context = "." }',
    });
  }
}

function composeTargets(file: string, env: Record<string, string | undefined>): BakeDefinition {
  const project = loadProject({ files: [file], environment: env, consistency: false });
  const def: BakeDefinition = { group: {}, target: {}, variable: {} };
  for (const s of Object.values(project.services)) {
    const b = s.build;
    if (!b) continue;
    const t: BakeTarget = { context: b.context, dockerfile: b.dockerfile ?? 'Dockerfile' };
    if (b.dockerfile_inline !== undefined) {
      t['dockerfile-inline'] = b.dockerfile_inline;
      delete t.dockerfile;
    }
    const args = Object.fromEntries(Object.entries(b.args ?? {}).filter(([, v]) => v !== null)) as Record<string, string>;
    if (Object.keys(args).length) t.args = args;
    const labels = Object.fromEntries(Object.entries(b.labels ?? {}).map(([k, v]) => [k, v ?? '']));
    if (Object.keys(labels).length) t.labels = labels;
    t.tags = [imageName(project.name, s), ...(b.tags ?? [])];
    if (b.target) t.target = b.target;
    if (b.no_cache) t['no-cache'] = true;
    if (b.pull) t.pull = true;
    if (b.network) t.network = b.network;
    if (b.cache_from) t['cache-from'] = b.cache_from;
    if (b.extra_hosts) t['extra-hosts'] = b.extra_hosts;
    def.target[s.name] = t;
  }
  def.group.default = { targets: Object.keys(def.target) };
  return def;
}

/** Reads and merges bake files (later files override earlier ones, target by target, key by key). */
export async function loadBakeFiles(files: string[] | undefined, cwd: string, env: Record<string, string | undefined>): Promise<{ def: BakeDefinition; files: string[] }> {
  const list = files?.length ? files.map((f) => resolve(cwd, f)) : DEFAULT_BAKE_FILES.map((f) => join(cwd, f)).filter((f) => existsSync(f));
  if (!list.length) {
    throw new DockyardError('NO_CONFIG_FILE', `no bake file found in ${cwd}`, { hint: `create docker-bake.hcl, or name one with -f (looked for ${DEFAULT_BAKE_FILES.join(', ')})` });
  }
  const def: BakeDefinition = { group: {}, target: {}, variable: {} };
  for (const file of list) {
    if (!existsSync(file)) throw new DockyardError('MISSING_FILE', `bake file not found: ${file}`, { hint: 'check the -f path' });
    let part: BakeDefinition;
    if (/\.ya?ml$/.test(file)) part = composeTargets(file, env);
    else {
      const text = readFileSync(file, 'utf8');
      let raw: Rec;
      if (file.endsWith('.json')) {
        try {
          raw = JSON.parse(text) as Rec;
        } catch (e) {
          throw new DockyardError('YAML_SYNTAX', `invalid JSON: ${(e as Error).message}`, { location: { file }, hint: 'check commas and quotes' });
        }
        part = { group: (raw.group ?? {}) as BakeDefinition['group'], target: (raw.target ?? {}) as BakeDefinition['target'], variable: (raw.variable ?? {}) as BakeDefinition['variable'] };
      } else {
        raw = await parseHcl(file, text);
        part = { group: flattenBlocks(raw.group) as BakeDefinition['group'], target: flattenBlocks(raw.target) as BakeDefinition['target'], variable: flattenBlocks(raw.variable) as BakeDefinition['variable'] };
      }
      // relative contexts are relative to the bake file's directory
      for (const t of Object.values(part.target)) if (typeof t.context === 'string' && !t.context.includes('://')) t.context = resolve(dirname(file), t.context);
    }
    for (const [k, v] of Object.entries(part.variable)) def.variable[k] = { ...def.variable[k], ...v };
    for (const [k, v] of Object.entries(part.group)) def.group[k] = v;
    for (const [k, v] of Object.entries(part.target)) def.target[k] = { ...def.target[k], ...v };
  }
  return { def, files: list };
}

/** ${VAR} in bake strings: the environment wins over a variable's default. */
function interpolator(def: BakeDefinition, env: Record<string, string | undefined>): (s: string, where: string) => string {
  const cache = new Map<string, string>();
  const stack: string[] = [];
  const value = (name: string, where: string): string => {
    const cached = cache.get(name);
    if (cached !== undefined) return cached;
    const fromEnv = env[name];
    const v = def.variable[name];
    if (fromEnv === undefined && !v) {
      throw new DockyardError('MISSING_VARIABLE', `${where}: unknown variable "${name}"`, { hint: `declare it: variable "${name}" { default = "" }, or set it in the environment` });
    }
    if (stack.includes(name)) throw new DockyardError('CYCLE', `variable cycle: ${[...stack, name].join(' -> ')}`, { hint: 'a variable default may not refer to itself' });
    stack.push(name);
    const out = fromEnv ?? interp(String(v!.default ?? ''), `variable ${name}`);
    stack.pop();
    cache.set(name, out);
    return out;
  };
  const interp = (s: string, where: string): string =>
    s.replace(/\$\$|\$\{([^}]*)\}/g, (m, expr: string | undefined) => {
      if (m === '$$') return '$';
      const e = expr!.trim();
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(e)) {
        throw new DockyardError('INVALID_TEMPLATE', `${where}: unsupported expression "\${${e}}"`, { hint: 'bake interpolation here supports variables: ${NAME}' });
      }
      return value(e, where);
    });
  return interp;
}

function deepInterp(v: unknown, f: (s: string) => string): unknown {
  if (typeof v === 'string') return f(v);
  if (Array.isArray(v)) return v.map((x) => deepInterp(x, f));
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, deepInterp(x, f)]));
  return v;
}

const MAP_KEYS = new Set(['args', 'labels']);
const LIST_KEYS = new Set(['tags', 'platforms', 'cache-from', 'cache-to', 'output', 'extra-hosts']);

function applySet(t: BakeTarget, key: string, value: string, seen: Set<string>): void {
  const [head, ...rest] = key.split('.');
  if (MAP_KEYS.has(head!) && rest.length) {
    t[head!] = { ...((t[head!] as Record<string, string> | undefined) ?? {}), [rest.join('.')]: value };
  } else if (LIST_KEYS.has(head!) || head === 'platform') {
    const k = head === 'platform' ? 'platforms' : head!;
    const vals = value.split(',').filter(Boolean);
    t[k] = seen.has(k) ? [...((t[k] as string[] | undefined) ?? []), ...vals] : vals;
    seen.add(k);
  } else if (head === 'no-cache' || head === 'pull') {
    t[head] = value === '' || value === 'true' || value === '1';
  } else if (['context', 'dockerfile', 'target', 'network', 'shm-size', 'dockerfile-inline'].includes(head!)) {
    t[head!] = value;
  } else {
    throw new DockyardError('USAGE', `--set: unknown key "${key}"`, { hint: 'keys: context, dockerfile, target, tags, args.NAME, labels.NAME, no-cache, pull, platform, cache-from, cache-to, output' });
  }
}

/** Resolves the requested targets and groups into a flat, printable definition. */
export function resolveBake(def: BakeDefinition, names: string[], sets: string[], env: Record<string, string | undefined>): { group: Record<string, { targets: string[] }>; target: Record<string, BakeTarget> } {
  const interp = interpolator(def, env);
  const wanted = names.length ? names : ['default'];
  const targets: string[] = [];
  const expand = (n: string, stack: string[]) => {
    if (def.group[n]) {
      if (stack.includes(n)) throw new DockyardError('CYCLE', `group cycle: ${[...stack, n].join(' -> ')}`, { hint: 'a group may not contain itself' });
      for (const t of def.group[n]!.targets ?? []) expand(t, [...stack, n]);
    } else if (def.target[n]) {
      if (!targets.includes(n)) targets.push(n);
    } else if (n === 'default' && !names.length) {
      for (const t of Object.keys(def.target)) if (!targets.includes(t)) targets.push(t);
    } else {
      throw new DockyardError('USAGE', `no target or group named "${n}"`, { hint: `targets: ${Object.keys(def.target).join(', ') || '(none)'}; groups: ${Object.keys(def.group).join(', ') || '(none)'}` });
    }
  };
  for (const n of wanted) expand(n, []);

  const resolved = new Map<string, BakeTarget>();
  const resolveTarget = (name: string, stack: string[]): BakeTarget => {
    const done = resolved.get(name);
    if (done) return done;
    const raw = def.target[name];
    if (!raw) throw new DockyardError('USAGE', `target "${stack.at(-1)}" inherits from unknown target "${name}"`, { hint: 'check the inherits list' });
    if (stack.includes(name)) throw new DockyardError('CYCLE', `inherits cycle: ${[...stack, name].join(' -> ')}`, { hint: 'a target may not inherit from itself' });
    let out: BakeTarget = {};
    for (const parent of raw.inherits ?? []) {
      const p = resolveTarget(parent, [...stack, name]);
      out = { ...out, ...p, args: { ...out.args, ...p.args }, labels: { ...out.labels, ...p.labels } };
    }
    const own = deepInterp(raw, (s) => interp(s, `target ${name}`)) as BakeTarget;
    out = { ...out, ...own, args: { ...out.args, ...own.args }, labels: { ...out.labels, ...own.labels } };
    delete out.inherits;
    resolved.set(name, out);
    return out;
  };
  const result: Record<string, BakeTarget> = {};
  const seen = new Map<string, Set<string>>();
  for (const name of targets) result[name] = structuredClone(resolveTarget(name, []));
  for (const s of sets) {
    const m = /^([^.=]+)\.([^=]+)=(.*)$/s.exec(s);
    if (!m) throw new DockyardError('USAGE', `invalid --set "${s}"`, { hint: 'write --set target.key=value (target may be *)' });
    const re = new RegExp(`^${m[1]!.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`);
    for (const name of Object.keys(result)) {
      if (!re.test(name)) continue;
      if (!seen.has(name)) seen.set(name, new Set());
      applySet(result[name]!, m[2]!, m[3]!, seen.get(name)!);
    }
  }
  for (const t of Object.values(result)) {
    t.context ??= '.';
    if (t['dockerfile-inline'] === undefined) t.dockerfile ??= 'Dockerfile';
    if (t.args && !Object.keys(t.args).length) delete t.args;
    if (t.labels && !Object.keys(t.labels).length) delete t.labels;
  }
  // as buildx prints it: the "default" group holds what was asked for
  const group: Record<string, { targets: string[] }> = { default: { targets: names.length ? [...names] : def.group.default ? [...(def.group.default.targets ?? [])] : targets } };
  const sortedTargets = Object.fromEntries(Object.keys(result).sort().map((k) => [k, sortObj(result[k]!)]));
  return { group, target: sortedTargets };
}

function sortObj<T extends object>(o: T): T {
  return Object.fromEntries(Object.keys(o).sort().map((k) => [k, (o as Rec)[k]])) as T;
}
