/**
 * loadProject: Compose files -> the canonical Project.
 * parse (positions) -> interpolate -> validate (per file) -> include -> !reset/!override ->
 * extends -> merge layers -> canonical -> profiles -> normalize -> consistency.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, delimiter, dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { DockyardError } from '../errors.js';
import { Dag } from '../graph/dag.js';
import type { Project, Service } from '../model/project.js';
import { composeFileSchema, validate } from '../model/schema.js';
import { canonical } from './canonical.js';
import { readEnvFiles } from './dotenv.js';
import { decodeUtf8, MAX_COMPOSE_BYTES, readUserText } from './read.js';
import { interpolateTree, substitute } from './interpolate.js';
import { applyResets, enforceUnicity, mergeTrees } from './merge.js';
import { Normalizer, normalizeProjectName } from './normalize.js';
import type { KeyPath } from './path.js';
import { formatPath, isPlainObject } from './path.js';
import { resolveTreePaths } from './paths.js';
import { parseYaml } from './yaml.js';
import type { ParsedDocument, SourceFile } from './yaml.js';

export interface LoadOptions {
  /** -f files, in order; '-' reads stdin */
  files?: string[];
  /** -p */
  projectName?: string;
  /** --project-directory */
  projectDirectory?: string;
  /** where the command runs (default: process.cwd()) */
  workingDir?: string;
  /** --env-file (repeatable); default: <project dir>/.env when it exists */
  envFiles?: string[];
  /** --profile (repeatable); COMPOSE_PROFILES is added */
  profiles?: string[];
  /** services named on the command line: their profiles are activated (as Compose does) */
  services?: string[];
  /** the shell environment (default: process.env) */
  environment?: Record<string, string | undefined>;
  /** false: --no-interpolate */
  interpolate?: boolean;
  /** false: --no-path-resolution */
  resolvePaths?: boolean;
  /** false: --no-consistency */
  consistency?: boolean;
  /** content of stdin for '-f -' (default: read fd 0) */
  stdin?: () => string;
  /** warnings (obsolete version, ...) */
  onWarning?: (message: string) => void;
  /** --compatibility: container names as docker-compose v1 made them (project_service_1); also COMPOSE_COMPATIBILITY */
  compatibility?: boolean;
}

export const DEFAULT_FILES = ['compose.yaml', 'compose.yml', 'docker-compose.yaml', 'docker-compose.yml'];
const OVERRIDE_FILES: Record<string, string[]> = {
  'compose.yaml': ['compose.override.yaml', 'compose.override.yml'],
  'compose.yml': ['compose.override.yml', 'compose.override.yaml'],
  'docker-compose.yaml': ['docker-compose.override.yaml', 'docker-compose.override.yml'],
  'docker-compose.yml': ['docker-compose.override.yml', 'docker-compose.override.yaml'],
};

type Rec = Record<string, unknown>;

/** Finds the default Compose file (and its override) in `dir` or the nearest parent. */
export function findDefaultFiles(dir: string): string[] | undefined {
  let d = resolve(dir);
  for (;;) {
    for (const name of DEFAULT_FILES) {
      const f = join(d, name);
      if (existsSync(f)) {
        const out = [f];
        const ov = OVERRIDE_FILES[name]!.map((o) => join(d, o)).find((o) => existsSync(o));
        if (ov) out.push(ov);
        return out;
      }
    }
    const up = dirname(d);
    if (up === d) return undefined;
    d = up;
  }
}

interface Layer {
  source: SourceFile;
  docIndex: number;
}

class Loader {
  /** every document loaded, for locating paths in later errors */
  readonly layers: Layer[] = [];
  private readonly parsed = new Map<string, ParsedDocument[]>();
  private stdinText?: string;

  constructor(
    readonly opts: LoadOptions,
    readonly cwd: string,
  ) {}

  /** file:line:col of a key path, searching the latest layer first. */
  locate = (path: KeyPath): { file: string; line?: number; column?: number } | undefined => {
    let fallback: { file: string; line?: number; column?: number } | undefined;
    for (let i = this.layers.length - 1; i >= 0; i--) {
      const l = this.layers[i]!;
      const pos = l.source.locate(path, l.docIndex);
      if (pos?.exact) return { file: l.source.file, line: pos.line, column: pos.column };
      if (pos && !fallback && path.length > 0) {
        // only a useful fallback when the first segment exists in that file
        const top = l.source.locate(path.slice(0, 1), l.docIndex);
        if (top?.exact) fallback = { file: l.source.file, line: pos.line, column: pos.column };
      }
    }
    return fallback ?? (this.layers.length ? { file: this.layers[this.layers.length - 1]!.source.file } : undefined);
  };

  readText(file: string, from?: { file: string; line?: number; column?: number }, keyPath?: string): string {
    if (file === '-') {
      this.stdinText ??= this.opts.stdin ? this.opts.stdin() : decodeUtf8(readFileSync(0), '-', { what: 'Compose file' });
      return this.stdinText;
    }
    try {
      if (statSync(file).isDirectory()) {
        throw new DockyardError('MISSING_FILE', `${file} is a directory, not a Compose file`, { location: from, keyPath, hint: 'name the file itself, e.g. compose.yaml' });
      }
      return readUserText(file, { what: 'Compose file', maxBytes: MAX_COMPOSE_BYTES, from, keyPath });
    } catch (e) {
      if (e instanceof DockyardError) throw e;
      throw new DockyardError('MISSING_FILE', `file not found: ${file}`, {
        location: from,
        keyPath,
        hint: from ? 'paths are relative to the file that names them' : 'check the -f path or COMPOSE_FILE; relative paths start from the current directory',
      });
    }
  }

  docs(file: string, from?: { file: string; line?: number; column?: number }, keyPath?: string): ParsedDocument[] {
    let d = this.parsed.get(file);
    if (!d) {
      d = parseYaml(file === '-' ? '(stdin)' : file, this.readText(file, from, keyPath));
      this.parsed.set(file, d);
    }
    return d;
  }

  /** Interpolates and validates one document; returns its tree (a copy). */
  prepare(doc: ParsedDocument, env: Record<string, string>): Rec {
    const locateHere = (path: KeyPath, atValue = false) => {
      const pos = doc.source.locate(path, doc.docIndex, atValue);
      return { file: doc.file, line: pos?.line, column: pos?.column };
    };
    let tree = structuredClone(doc.value);
    if (this.opts.interpolate !== false) {
      tree = interpolateTree(tree, { lookup: (k) => env[k], locate: (p) => locateHere(p, true) }) as Rec;
    }
    const issue = validate(tree, composeFileSchema);
    if (issue) {
      throw new DockyardError(issue.code, issue.message, { location: locateHere(issue.path), keyPath: formatPath(issue.path), hint: issue.hint });
    }
    if ('version' in tree) {
      this.opts.onWarning?.(`${doc.file}: the top-level "version" is obsolete and ignored`);
      delete tree.version;
    }
    return tree;
  }

  /**
   * Loads a list of files as layers of one model (the main project, or an included one).
   * `chain` holds the files being included, for cycle detection.
   */
  loadLayers(files: string[], env: Record<string, string>, workingDir: string, chain: string[]): Rec {
    let dict: Rec = {};
    for (const file of files) {
      for (const doc of this.docs(file)) {
        this.layers.push({ source: doc.source, docIndex: doc.docIndex });
        const cfg = this.prepare(doc, env);
        const here = [...chain, file];
        if (Array.isArray(cfg.include)) {
          dict = this.applyIncludes(cfg, doc, dict, env, workingDir, here);
        }
        applyResets(dict, doc.resets);
        this.applyExtends(cfg, file, doc, env, workingDir, []);
        dict = mergeTrees(dict, cfg) as Rec;
        // canonical syntax first, then unicity once: the indexers read both forms, and only the
        // long form reveals duplicates such as a port range overlapping an override
        dict = this.canonical(dict);
        dict = enforceUnicity(dict) as Rec;
      }
    }
    return dict;
  }

  canonical(tree: Rec): Rec {
    try {
      return canonical(tree) as Rec;
    } catch (e) {
      if (e instanceof DockyardError && e.keyPath && !e.location) {
        e.location = this.locate(e.keyPath.split(/\.|(?=\[)/).map((s) => (/^\[\d+\]$/.test(s) ? Number(s.slice(1, -1)) : s)));
      }
      throw e;
    }
  }

  private applyIncludes(cfg: Rec, doc: ParsedDocument, dict: Rec, env: Record<string, string>, workingDir: string, chain: string[]): Rec {
    const includes = cfg.include as unknown[];
    delete cfg.include;
    const fileDir = doc.file === '(stdin)' ? workingDir : dirname(doc.file);
    includes.forEach((inc, i) => {
      const at = doc.source.locate(['include', i], doc.docIndex);
      const from = { file: doc.file, line: at?.line, column: at?.column };
      const keyPath = formatPath(['include', i]);
      const spec = typeof inc === 'string' ? { path: inc } : (inc as Rec);
      const paths = (Array.isArray(spec.path) ? spec.path : [spec.path]).map((p) => resolve(fileDir, String(p)));
      for (const p of paths) {
        if (chain.includes(p)) {
          throw new DockyardError('CYCLE', `include cycle: ${[...chain.slice(chain.indexOf(p)), p].map((f) => relative(this.cwd, f) || f).join(' -> ')}`, {
            location: from,
            keyPath,
            hint: 'a file may not include itself, directly or through other files',
          });
        }
        if (!existsSync(p)) throw new DockyardError('MISSING_FILE', `included file not found: ${p}`, { location: from, keyPath, hint: 'include paths are relative to the file that includes them' });
      }
      const projectDir = spec.project_directory !== undefined ? resolve(fileDir, String(spec.project_directory)) : dirname(paths[0]!);
      const envFiles = spec.env_file !== undefined ? (Array.isArray(spec.env_file) ? spec.env_file : [spec.env_file]).map((f) => resolve(fileDir, String(f))) : [join(projectDir, '.env')].filter((f) => existsSync(f));
      const subEnv = { ...readEnvFiles(envFiles.map((f) => ({ path: f, from, keyPath })), env), ...env };
      const sub = this.loadLayers(paths, subEnv, projectDir, chain);
      resolveTreePaths(sub, projectDir);
      // imported resources must not conflict with what the including model already defines
      for (const kind of ['services', 'networks', 'volumes', 'secrets', 'configs', 'models']) {
        const imported = sub[kind];
        if (!isPlainObject(imported)) continue;
        const mine = isPlainObject(cfg[kind]) ? (cfg[kind] as Rec) : {};
        const existing = isPlainObject(dict[kind]) ? (dict[kind] as Rec) : {};
        for (const name of Object.keys(imported)) {
          if (name in mine || (name in existing && JSON.stringify(existing[name]) !== JSON.stringify(imported[name]))) {
            throw new DockyardError('MERGE_CONFLICT', `${kind}.${name} is defined both here and in included ${relative(this.cwd, paths[0]!) || paths[0]}`, {
              location: from,
              keyPath,
              hint: 'rename one of them; to change an included resource, use an override file (-f) instead of include',
            });
          }
        }
        dict[kind] = { ...existing, ...imported };
      }
      for (const [k, v] of Object.entries(sub)) if (!(k in dict) && !['services', 'networks', 'volumes', 'secrets', 'configs', 'models', 'name'].includes(k)) dict[k] = v;
    });
    return dict;
  }

  /** Resolves `extends` for every service of `cfg` (in place). */
  private applyExtends(cfg: Rec, file: string, doc: ParsedDocument, env: Record<string, string>, workingDir: string, stack: string[]): void {
    const services = isPlainObject(cfg.services) ? (cfg.services as Rec) : undefined;
    if (!services) return;
    const done = new Set<string>();
    const resolveOne = (name: string, stk: string[]): Rec => {
      const svc = services[name] as Rec | null;
      if (!isPlainObject(svc) || svc.extends === undefined || done.has(name)) return (svc ?? {}) as Rec;
      const ext = typeof svc.extends === 'string' ? { service: svc.extends } : (svc.extends as Rec);
      const at = doc.source.locate(['services', name, 'extends'], doc.docIndex);
      const from = { file: doc.file, line: at?.line, column: at?.column };
      const keyPath = formatPath(['services', name, 'extends']);
      const id = `${file}#${name}`;
      if (stk.includes(id)) {
        const cycle = [...stk.slice(stk.indexOf(id)), id].map((x) => x.split('#')[1]).join(' -> ');
        throw new DockyardError('CYCLE', `extends cycle: ${cycle}`, { location: from, keyPath, hint: 'a service may not extend itself, directly or through others' });
      }
      const target = String(ext.service);
      let base: Rec;
      if (ext.file !== undefined) {
        const baseDir = file === '-' ? workingDir : dirname(file);
        const other = resolve(baseDir, String(ext.file));
        base = this.extendFromFile(other, target, env, workingDir, [...stk, id], from, keyPath);
      } else {
        if (!isPlainObject(services[target]) && services[target] !== null) {
          throw new DockyardError('MISSING_REFERENCE', `service "${name}" extends "${target}", which is not defined in this file`, {
            location: from,
            keyPath,
            hint: `define services.${target} here, or name its file with extends.file`,
          });
        }
        base = structuredClone(resolveOne(target, [...stk, id]));
      }
      const own = { ...svc };
      delete own.extends;
      delete base.extends;
      // this file's !reset / !override apply to what is extended too (as compose-go does)
      applyResets({ services: { [name]: base } }, doc.resets);
      const merged = enforceUnicity(mergeTrees(base, own, ['services', name]), ['services', name]) as Rec;
      services[name] = merged;
      done.add(name);
      return merged;
    };
    for (const name of Object.keys(services)) resolveOne(name, stack);
  }

  private extendFromFile(file: string, service: string, env: Record<string, string>, workingDir: string, stack: string[], from: { file: string; line?: number; column?: number }, keyPath: string): Rec {
    const docs = this.docs(file, from, keyPath);
    let found: Rec | undefined;
    for (const doc of docs) {
      this.layers.push({ source: doc.source, docIndex: doc.docIndex });
      const cfg = this.prepare(doc, env);
      const services = isPlainObject(cfg.services) ? (cfg.services as Rec) : {};
      if (!(service in services)) continue;
      // resolve that file's own extends chain for the one service we need
      const only: Rec = { services: { ...services } };
      this.applyExtends(only, file, doc, env, workingDir, stack);
      const svc = structuredClone((only.services as Rec)[service] ?? {}) as Rec;
      const tree = { services: { [service]: svc } };
      canonical(tree);
      // relative paths in the base service are relative to its own file
      resolveTreePaths(tree, dirname(file));
      if (this.opts.resolvePaths === false) relativize(tree.services[service] as Rec, workingDir);
      found = tree.services[service] as Rec;
    }
    if (!found) {
      throw new DockyardError('MISSING_REFERENCE', `service "${service}" not found in ${file}`, { location: from, keyPath, hint: 'check extends.service and extends.file' });
    }
    return found;
  }
}

/** With --no-path-resolution, paths taken from other files are made relative to the project directory. */
function relativize(svc: Rec, base: string): void {
  const rel = (p: string) => (isAbsolute(p) ? relative(base, p) || '.' : p);
  const b = svc.build;
  if (isPlainObject(b) && typeof b.context === 'string' && b.context.startsWith('/')) b.context = rel(b.context);
  if (Array.isArray(svc.volumes)) for (const v of svc.volumes) if (isPlainObject(v) && v.type === 'bind' && typeof v.source === 'string') v.source = rel(v.source);
  if (Array.isArray(svc.env_file)) for (const f of svc.env_file) if (isPlainObject(f) && typeof f.path === 'string') f.path = rel(f.path);
}

const PROJECT_NAME = /^[a-z0-9][a-z0-9_-]*$/;

/** Loads, merges, normalizes and validates a Compose project. */
export function loadProject(opts: LoadOptions = {}): Project {
  const cwd = resolve(opts.workingDir ?? process.cwd());
  const shell = opts.environment ?? process.env;
  const loader = new Loader(opts, cwd);

  // 1. files and the project directory
  let files: string[] | undefined = opts.files?.length ? opts.files.map((f) => (f === '-' ? '-' : resolve(cwd, f))) : undefined;
  let projectDir = opts.projectDirectory ? resolve(cwd, opts.projectDirectory) : undefined;
  const envFilesFor = (dir: string) => (opts.envFiles?.length ? opts.envFiles.map((f) => resolve(cwd, f)) : [join(dir, '.env')].filter((f) => existsSync(f) && statSync(f).isFile()));
  const shellEnv: Record<string, string> = {};
  for (const [k, v] of Object.entries(shell)) if (v !== undefined) shellEnv[k] = v;
  const readEnv = (dir: string) => ({ ...readEnvFiles(envFilesFor(dir).map((path) => ({ path })), shellEnv), ...shellEnv });

  if (!files) {
    const pre = readEnv(projectDir ?? cwd);
    if (pre.COMPOSE_FILE) {
      const sep = pre.COMPOSE_PATH_SEPARATOR || delimiter;
      files = pre.COMPOSE_FILE.split(sep).filter(Boolean).map((f) => resolve(projectDir ?? cwd, f));
    } else {
      files = findDefaultFiles(cwd);
      if (!files) {
        throw new DockyardError('NO_CONFIG_FILE', `no Compose file found in ${cwd} or any parent directory`, {
          hint: `create compose.yaml, or name files with -f (looked for ${DEFAULT_FILES.join(', ')})`,
        });
      }
    }
  }
  if (!projectDir) {
    const first = files.find((f) => f !== '-');
    projectDir = first ? dirname(first) : cwd;
  }
  const environment = readEnv(projectDir);

  // 2. the project name, before the layers: Compose gives it to interpolation as
  // COMPOSE_PROJECT_NAME (an image `${COMPOSE_PROJECT_NAME}:1.0` is the project's name)
  let name: string;
  const explicit = opts.projectName ?? environment.COMPOSE_PROJECT_NAME;
  if (explicit !== undefined && explicit !== '') {
    if (!PROJECT_NAME.test(explicit)) {
      throw new DockyardError('USAGE', `"${explicit}" is not a valid project name`, { hint: 'use lowercase letters, digits, dashes and underscores, starting with a letter or digit' });
    }
    name = explicit;
  } else {
    // the last `name:` of the files as written, interpolated (as compose-go reads it)
    let written: unknown;
    let at: ParsedDocument | undefined;
    for (const f of files) {
      for (const doc of loader.docs(f)) {
        if (isPlainObject(doc.value) && doc.value.name !== undefined && doc.value.name !== null && doc.value.name !== '') [written, at] = [doc.value.name, doc];
      }
    }
    const fromFile = typeof written === 'string' && opts.interpolate !== false ? substitute(written, (k) => environment[k]) : written;
    if (typeof fromFile === 'string' && fromFile !== '') {
      name = fromFile;
      if (!PROJECT_NAME.test(name)) {
        throw new DockyardError('INVALID_VALUE', `"${name}" is not a valid project name`, { location: at && { file: at.file, ...at.source.locate(['name'], at.docIndex, true) }, keyPath: 'name', hint: 'use lowercase letters, digits, dashes and underscores' });
      }
    } else {
      name = normalizeProjectName(basename(projectDir));
      if (!name) throw new DockyardError('USAGE', `cannot derive a project name from the directory "${basename(projectDir)}"`, { hint: 'set one with -p NAME or name: in the Compose file' });
    }
  }
  environment.COMPOSE_PROJECT_NAME = name;

  // 3. layers
  const dict = loader.loadLayers(files, environment, projectDir, []);
  if (opts.resolvePaths !== false) resolveTreePaths(dict, projectDir);

  // 4. normalize
  const norm = new Normalizer({ projectName: name, workingDir: projectDir, environment, resolvePaths: opts.resolvePaths !== false, checkFiles: opts.consistency !== false, locate: loader.locate });
  const rawServices = (isPlainObject(dict.services) ? dict.services : {}) as Rec;
  const all: Record<string, Service> = {};
  for (const sname of Object.keys(rawServices).sort()) {
    all[sname] = norm.service(sname, (rawServices[sname] ?? {}) as Rec);
  }

  // 5. profiles
  const named = (opts.services ?? []).flatMap((n) => all[n]?.profiles ?? []);
  const profiles = [...new Set([...(opts.profiles ?? []), ...(environment.COMPOSE_PROFILES ?? '').split(',').map((s) => s.trim()), ...named].filter(Boolean))];
  const services: Record<string, Service> = {};
  const disabledServices: Record<string, Service> = {};
  for (const [sname, svc] of Object.entries(all)) {
    const sp = svc.profiles ?? [];
    if (sp.length === 0 || profiles.includes('*') || sp.some((p) => profiles.includes(p))) services[sname] = svc;
    else disabledServices[sname] = svc;
  }

  const networks = norm.resources('networks', dict.networks as Rec | undefined);
  const usesDefault = Object.values(services).some((s) => s.networks && 'default' in s.networks);
  if (usesDefault && !networks.default) networks.default = { name: `${name}_default` };
  const volumes = norm.resources('volumes', dict.volumes as Rec | undefined);
  const secrets = norm.resources('secrets', dict.secrets as Rec | undefined);
  const configs = norm.resources('configs', dict.configs as Rec | undefined);
  const models = (isPlainObject(dict.models) ? dict.models : {}) as Record<string, Rec>;
  const extensions: Rec = {};
  for (const [k, v] of Object.entries(dict)) if (k.startsWith('x-')) extensions[k] = v;

  const project: Project = {
    name,
    workingDir: projectDir,
    configFiles: files,
    services,
    disabledServices,
    networks: networks as Project['networks'],
    volumes: volumes as Project['volumes'],
    secrets: secrets as Project['secrets'],
    configs: configs as Project['configs'],
    models,
    extensions,
    environment,
    profiles,
  };
  if (opts.compatibility || /^(1|true)$/i.test(environment.COMPOSE_COMPATIBILITY ?? '')) project.separator = '_';

  // 6. consistency
  if (opts.consistency !== false) checkConsistency(project, loader.locate);
  else dropMissingOptionalDeps(project);
  return project;
}

function dropMissingOptionalDeps(project: Project): void {
  for (const s of Object.values(project.services)) {
    if (!s.depends_on) continue;
    // an optional dependency disabled by profiles stays (Compose prints it; nothing waits for it)
    for (const [d, cfg] of Object.entries(s.depends_on)) if (!cfg.required && !project.services[d] && !project.disabledServices[d]) delete s.depends_on[d];
  }
}

/** References between services and resources exist; no dependency cycles. */
export function checkConsistency(project: Project, locate: (p: KeyPath) => { file: string; line?: number; column?: number } | undefined): void {
  const fail = (code: 'MISSING_REFERENCE' | 'CYCLE' | 'INVALID_VALUE', msg: string, path: KeyPath, hint: string): never => {
    throw new DockyardError(code, msg, { location: locate(path), keyPath: formatPath(path), hint });
  };
  const svcRef = (from: string, ref: string, path: KeyPath, what: string) => {
    if (project.services[ref]) return;
    const disabled = project.disabledServices[ref];
    if (disabled) {
      fail('MISSING_REFERENCE', `service "${from}" ${what} "${ref}", which is not enabled by the active profiles`, path, `enable it with --profile ${disabled.profiles?.[0] ?? ''} (or COMPOSE_PROFILES)`);
    }
    fail('MISSING_REFERENCE', `service "${from}" ${what} undefined service "${ref}"`, path, `define services.${ref}, or fix the name`);
  };
  dropMissingOptionalDeps(project);
  const containerNames = new Map<string, string>();
  for (const [name, s] of Object.entries(project.services)) {
    const p = (...k: (string | number)[]): KeyPath => ['services', name, ...k];
    // one engine name, one container: the second service's container would replace the first's
    if (s.container_name) {
      const other = containerNames.get(s.container_name);
      if (other) fail('INVALID_VALUE', `services "${other}" and "${name}" both set container_name "${s.container_name}"`, p('container_name'), 'a container name is unique on the engine: give each service its own, or leave container_name out');
      containerNames.set(s.container_name, name);
    }
    if (!s.image && !s.build && !s.provider) fail('INVALID_VALUE', `service "${name}" has neither an image nor a build context`, p(), 'add image: NAME, or build: ./dir');
    for (const link of (s.links as string[] | undefined) ?? []) svcRef(name, link.split(':')[0]!, p('links'), 'links to');
    for (const vf of (s.volumes_from as string[] | undefined) ?? []) {
      if (vf.startsWith('container:')) continue;
      svcRef(name, vf.split(':')[0]!, p('volumes_from'), 'takes volumes from');
    }
    for (const key of ['network_mode', 'ipc', 'pid'] as const) {
      const v = s[key];
      if (typeof v === 'string' && v.startsWith('service:')) svcRef(name, v.slice(8), p(key), `uses the ${key} of`);
    }
    // after links, volumes_from and service:x, which imply depends_on entries: their own message is clearer
    for (const [dep, cfg] of Object.entries(s.depends_on ?? {})) if (cfg.required || !project.disabledServices[dep]) svcRef(name, dep, p('depends_on', dep), 'depends on');
    for (const net of Object.keys(s.networks ?? {})) {
      if (!project.networks[net]) fail('MISSING_REFERENCE', `service "${name}" uses undefined network "${net}"`, p('networks', net), `declare it under the top-level networks: key`);
    }
    (s.volumes ?? []).forEach((v, i) => {
      if (v.type === 'volume' && v.source && !project.volumes[v.source]) {
        fail('MISSING_REFERENCE', `service "${name}" uses undefined volume "${v.source}"`, p('volumes', i), 'declare it under the top-level volumes: key, or use a path (./dir) for a bind mount');
      }
    });
    for (const kind of ['secrets', 'configs'] as const) {
      (s[kind] ?? []).forEach((m, i) => {
        if (!project[kind][m.source]) fail('MISSING_REFERENCE', `service "${name}" uses undefined ${kind.slice(0, -1)} "${m.source}"`, p(kind, i), `declare it under the top-level ${kind}: key`);
      });
    }
  }
  for (const kind of ['secrets', 'configs'] as const) {
    for (const [n, r] of Object.entries(project[kind])) {
      const sources = ['file', 'environment', 'content'].filter((k) => r[k] !== undefined);
      if (!r.external && sources.length === 0) fail('INVALID_VALUE', `${kind.slice(0, -1)} "${n}" has no source`, [kind, n], 'set file:, environment:' + (kind === 'configs' ? ', content:' : '') + ' or external: true');
    }
  }
  const dag = new Dag();
  for (const [name, s] of Object.entries(project.services)) {
    dag.addNode(name);
    for (const d of Object.keys(s.depends_on ?? {})) dag.addEdge(name, d);
  }
  const cycle = dag.findCycle();
  if (cycle) {
    fail('CYCLE', `dependency cycle: ${cycle.join(' -> ')}`, ['services', cycle[0]!, 'depends_on', cycle[1]!], 'remove one depends_on entry to break the cycle');
  }
}

/** The dependency graph of a project's services. */
export function serviceGraph(project: Project): Dag {
  const dag = new Dag();
  for (const [name, s] of Object.entries(project.services)) {
    dag.addNode(name);
    for (const d of Object.keys(s.depends_on ?? {})) if (project.services[d]) dag.addEdge(name, d);
  }
  return dag;
}
