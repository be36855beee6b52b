/**
 * Compose rules: on each file as written (located by the loader's positions), and on the project
 * a unit loads (a base alone, or a layer merged on top of its bases: layers.ts), with variables
 * the environment lacks given placeholders (vars.ts).
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { DockyardError } from '../errors.js';
import { checkConsistency, loadProject } from '../load/index.js';
import type { Project, Service } from '../model/project.js';
import type { ParsedDocument } from '../load/yaml.js';
import type { KeyPath } from '../load/path.js';
import { isPlainObject } from '../load/path.js';
import { parsePortSpec } from '../load/canonical.js';
import type { Unit } from './layers.js';
import type { Finding } from './finding.js';
import { SECRET_NAME } from './rules.js';
import { incomplete } from './sources.js';
import type { Sources } from './sources.js';
import { decidedByPlaceholder, placeholders } from './vars.js';

type Rec = Record<string, unknown>;

const isProduction = (file: string) => /(^|[._-])prod(uction)?([._-]|$)/i.test(basename(file));

/**
 * The host ports a `ports` entry publishes as written (short syntax read as the loader reads it),
 * with their host IP and protocol; none when it publishes none or a variable decides.
 */
function publishedOf(port: unknown): Array<{ ip: string; port: string; protocol: string }> {
  if (isPlainObject(port)) {
    const published = port.published === undefined ? '' : String(port.published);
    return published && !published.includes('$') ? [{ ip: String(port.host_ip ?? ''), port: published, protocol: String(port.protocol ?? 'tcp') }] : [];
  }
  if (String(port).includes('$')) return [];
  try {
    return parsePortSpec(String(port)).flatMap((x) => (x.published ? [{ ip: x.host_ip ?? '', port: x.published, protocol: x.protocol }] : []));
  } catch {
    return []; // the loader names what is wrong with it
  }
}

/**
 * How a file's services end up: in a layer, a rule about something missing (log rotation,
 * limits, hardening) looks at the merged service, and is reported where the service is
 * introduced (the production file for hardening); in a layer without a base, not for services
 * the layer only changes.
 */
interface View {
  /** the loaded project's services, merged over the unit's files */
  merged?: Record<string, Service>;
  /** services defined in the files below this one */
  below: Set<string>;
  partial: boolean;
}

/** Rules on one file as written. */
function lintDoc(doc: ParsedDocument, view: View = { below: new Set(), partial: false }): Finding[] {
  const out: Finding[] = [];
  const at = (rule: string, path: KeyPath, detail?: string) => {
    const pos = doc.source.locate(path, doc.docIndex);
    out.push({ rule, file: doc.file, line: pos?.line ?? 1, column: pos?.column ?? 1, detail });
  };
  const v = doc.value;
  if ('version' in v) at('DY201', ['version']);
  const services = isPlainObject(v.services) ? v.services : {};
  const publishedPorts = new Map<string, string>();
  for (const [name, raw] of Object.entries(services)) {
    if (!isPlainObject(raw)) continue;
    const s = raw as Rec;
    const p = (...k: (string | number)[]): KeyPath => ['services', name, ...k];
    // what this file says of the service is not all there is to it: judged on the merged service,
    // and not at all where the rest is unknown (a layer without a base that only changes it)
    const unknown = view.partial && incomplete(s);
    const m = unknown ? undefined : view.merged?.[name];
    const introduced = !view.below.has(name);
    if (s.container_name !== undefined) at('DY202', p('container_name'), String(s.container_name));
    if (s.privileged === true || s.privileged === 'true') at('DY203', p('privileged'));
    (Array.isArray(s.volumes) ? s.volumes : []).forEach((vol, i) => {
      const src = typeof vol === 'string' ? vol.split(':')[0] : isPlainObject(vol) ? String(vol.source ?? '') : '';
      if (/docker\.sock$/.test(src ?? '')) at('DY204', p('volumes', i));
    });
    if (s.network_mode === 'host') at('DY205', p('network_mode'));
    if (s.pid === 'host') at('DY206', p('pid'));
    (Array.isArray(s.cap_add) ? s.cap_add : []).forEach((c, i) => {
      if (String(c).toUpperCase() === 'ALL') at('DY207', p('cap_add', i));
    });
    if (typeof s.image === 'string' && s.build === undefined && !m?.build && !s.image.includes('$') && !s.image.includes('@')) {
      const last = s.image.split('/').pop()!;
      if (!last.includes(':') || last.endsWith(':latest')) at('DY208', p('image'), s.image);
    }
    const env = s.environment;
    const seen = new Set<string>();
    if (Array.isArray(env)) {
      env.forEach((e, i) => {
        const [k, ...rest] = String(e).split('=');
        const val = rest.join('=');
        if (seen.has(k!)) at('DY210', p('environment', i), k);
        seen.add(k!);
        if (SECRET_NAME.test(k!) && val && !val.includes('${') && !val.startsWith('$')) at('DY209', p('environment', i), k);
      });
    } else if (isPlainObject(env)) {
      for (const [k, val] of Object.entries(env)) {
        if (SECRET_NAME.test(k) && val !== null && val !== undefined && String(val) !== '' && !String(val).includes('$')) at('DY209', p('environment', k), k);
      }
    }
    if (s.user !== undefined && /^(root|0)(:|$)/.test(String(s.user))) at('DY218', p('user'));
    (Array.isArray(s.ports) ? s.ports : []).forEach((port, i) => {
      const published = publishedOf(port);
      if (published.some((x) => !x.ip || x.ip === '0.0.0.0' || x.ip === '::')) at('DY220', p('ports', i), published[0]!.port);
      for (const x of published) {
        // (a range of host ports for one container port: the engine picks one of them)
        if (x.port.includes('-')) continue;
        const key = `${x.ip || '*'}:${x.port}/${x.protocol}`;
        const first = publishedPorts.get(key);
        if (first) at('DY219', p('ports', i), `${x.port} (also ${first})`);
        else publishedPorts.set(key, `services.${name}.ports[${i}]`);
      }
    });
    if (unknown) continue;
    // the service as it runs: merged over the layers below, or as written
    const run = (m ?? s) as Rec;
    const logging = isPlainObject(run.logging) ? run.logging : undefined;
    const driver = logging?.driver ?? 'json-file';
    const rotated = isPlainObject(logging?.options) && (logging.options as Rec)['max-size'] !== undefined && (logging.options as Rec)['max-size'] !== null;
    // (where the service comes from below, the file below reports it)
    if (driver === 'json-file' && !rotated && introduced) at('DY212', p());
    const limits = isPlainObject(run.deploy) && isPlainObject((run.deploy as Rec).resources) && ((run.deploy as Rec).resources as Rec).limits !== undefined;
    if (!limits && run.mem_limit === undefined && run.cpus === undefined && introduced) at('DY213', p());
    if (isProduction(doc.file)) {
      const missing: string[] = [];
      if (!(Array.isArray(run.cap_drop) && run.cap_drop.map(String).map((x) => x.toUpperCase()).includes('ALL'))) missing.push('cap_drop: [ALL]');
      if (!(run.read_only === true || run.read_only === 'true')) missing.push('read_only: true');
      if (!(Array.isArray(run.security_opt) && run.security_opt.some((o) => /^no-new-privileges(:true)?$/.test(String(o))))) missing.push('security_opt: [no-new-privileges:true]');
      if (missing.length) at('DY214', p(), missing.join(', '));
    }
  }
  return out;
}


export interface UnitResult {
  findings: Finding[];
  dockerfiles: string[];
  /** when the project loaded whole: the networks and volumes it found unused (`DY215|name`) */
  unused?: Set<string>;
}

const REQUIRED = /required variable ([A-Za-z_][A-Za-z0-9_]*) is missing/;

/** Lints one unit: its files loaded together, findings reported for its own files. */
export function lintUnit(unit: Unit, src: Sources, env: Record<string, string | undefined> = { ...process.env }): UnitResult {
  const own = new Set(unit.own);
  const broken = unit.files.find((f) => 'error' in src.get(f));
  if (broken) {
    const p = src.get(broken) as { error: unknown };
    return fallBack(unit, src, env, broken, loadError(broken, p.error));
  }
  const docs = unit.files.flatMap((f) => src.docs(f));
  const related = src.related(unit.files);
  const relatedSet = new Set(related);
  const relatedDocs = related.flatMap((f) => src.docs(f));
  const { environment, names } = placeholders(src, unit.files, related, env);
  const load = (consistency: boolean) => loadProject({ files: unit.files, workingDir: dirname(unit.files[0]!), environment, consistency, onWarning: () => undefined });
  const decided = (e: unknown) => e instanceof DockyardError && decidedByPlaceholder(e, [...relatedDocs, ...docs], names);
  let consistency = !unit.partial;
  let project: Project | undefined;
  let failure: unknown;
  for (let attempt = 0; attempt < 20; attempt++) {
    try {
      project = load(consistency);
      break;
    } catch (e) {
      // a required variable the scan did not see (set but empty, in a file it did not read)
      const name = e instanceof DockyardError && e.code === 'MISSING_VARIABLE' ? REQUIRED.exec(e.message)?.[1] : undefined;
      if (name && !names.has(name)) {
        environment[name] = '1';
        names.add(name);
        continue;
      }
      if (decided(e) && consistency) {
        // (a file a placeholder names, a volume it makes up: the checks that need them wait for
        // the real values; the references between services are still checked below)
        consistency = false;
        continue;
      }
      if (!decided(e)) failure = e;
      break;
    }
  }
  const locate = locator([...docs].reverse().concat([...relatedDocs].reverse()));
  if (project && consistency !== !unit.partial) {
    try {
      checkConsistency(project, (path) => locate(path));
    } catch (e) {
      if (!decided(e)) failure = e;
    }
  } else if (project && unit.partial) {
    // without a base, only the whole-project checks are left out: a file the layer names
    // (env_file) must still exist
    try {
      load(true);
    } catch (e) {
      let whole = false;
      try {
        checkConsistency(project, () => undefined);
      } catch (c) {
        whole = c instanceof Error && e instanceof Error && c.message === e.message;
      }
      if (!whole && !decided(e)) failure = e;
    }
  }
  if (failure !== undefined) {
    const at = failure instanceof DockyardError ? failure.location?.file : undefined;
    return fallBack(unit, src, env, at && unit.files.includes(at) ? at : undefined, loadError(at ?? unit.own[unit.own.length - 1]!, failure));
  }
  const out: Finding[] = [];
  const merged = project ? { ...project.services, ...project.disabledServices } : undefined;
  unit.files.forEach((f, i) => {
    if (!own.has(f)) return;
    const below = new Set(unit.files.slice(0, i).flatMap((g) => [...src.defined(g)]));
    for (const d of src.docs(f)) out.push(...lintDoc(d, { merged, below, partial: unit.partial }));
  });
  if (!project) return { findings: out, dockerfiles: [] }; // a value only the real variables decide
  const report = (rule: string, path: KeyPath, detail?: string) => {
    const at = locate(path);
    if (at && (own.has(at.file) || relatedSet.has(at.file))) out.push({ rule, ...at, detail });
  };
  const dockerfiles: string[] = [];
  const all = merged!;
  for (const s of Object.values(all)) {
    for (const [dep, cfg] of Object.entries(s.depends_on ?? {})) {
      const d = all[dep];
      if (cfg.condition !== 'service_healthy' || !d || unit.partial) continue;
      const healthy = d.healthcheck && !d.healthcheck.disable;
      const df = d.build?.context && d.build.dockerfile ? join(d.build.context, d.build.dockerfile) : undefined;
      const inImage = df && existsSync(df) && /^\s*HEALTHCHECK\s+(?!NONE)/im.test(readFileSync(df, 'utf8'));
      if (!healthy && !inImage) report('DY211', ['services', s.name, 'depends_on', dep], dep);
    }
    if (s.build?.context && existsSync(s.build.context)) {
      const ctx = s.build.context;
      const df = s.build.dockerfile ? join(ctx, s.build.dockerfile) : undefined;
      if (!existsSync(join(ctx, '.dockerignore')) && !(df && existsSync(`${df}.dockerignore`))) report('DY217', ['services', s.name, 'build'], ctx);
      // what the unit's own files build (a layer's base builds are its base's to lint)
      // (located only when it matters: positions cost a second, slower parse)
      const mine = own.size === unit.files.length || own.has(locate(['services', s.name, 'build'])?.file ?? '');
      if (df && existsSync(df) && mine) dockerfiles.push(df);
    }
  }
  // declared in the files but used by no service (unknown without the whole project)
  if (unit.partial) return { findings: out, dockerfiles: [...new Set(dockerfiles)] };
  const usedNets = new Set(Object.values(all).flatMap((s) => Object.keys(s.networks ?? {})));
  const usedVols = new Set(Object.values(all).flatMap((s) => (s.volumes ?? []).filter((v) => v.type === 'volume' && v.source).map((v) => v.source!)));
  const unused = new Set<string>();
  for (const d of docs) {
    for (const n of Object.keys(isPlainObject(d.value.networks) ? d.value.networks : {})) {
      if (usedNets.has(n) || n === 'default' || unused.has(`DY215|${n}`)) continue;
      unused.add(`DY215|${n}`);
      report('DY215', ['networks', n], n);
    }
    for (const v of Object.keys(isPlainObject(d.value.volumes) ? d.value.volumes : {})) {
      if (usedVols.has(v) || unused.has(`DY216|${v}`)) continue;
      unused.add(`DY216|${v}`);
      report('DY216', ['volumes', v], v);
    }
  }
  return { findings: out, dockerfiles: [...new Set(dockerfiles)], unused };
}

/**
 * A unit that does not load. Where the file that fails is one of its bases, its own files are
 * linted alone, without a base (the base's unit reports the error). Where it is its own, the
 * error is that file's one finding; the files below it are linted together, those above it alone.
 */
function fallBack(unit: Unit, src: Sources, env: Record<string, string | undefined>, at: string | undefined, error: Finding): UnitResult {
  const i = at ? unit.files.indexOf(at) : -1;
  if (at && i >= 0 && !unit.own.includes(at)) return lintUnit({ files: unit.own, own: unit.own, partial: true }, src, env);
  const out: UnitResult = { findings: [error], dockerfiles: [] };
  if (i < 0) return out;
  const below = unit.files.slice(0, i);
  const ownBelow = unit.own.filter((f) => below.includes(f));
  const ownAbove = unit.own.filter((f) => unit.files.indexOf(f) > i);
  for (const u of [ownBelow.length && { files: below, own: ownBelow, partial: unit.partial }, ownAbove.length && { files: ownAbove, own: ownAbove, partial: true }]) {
    if (!u) continue;
    const r = lintUnit(u, src, env);
    out.findings.push(...r.findings);
    out.dockerfiles.push(...r.dockerfiles);
  }
  return out;
}

/**
 * Where a key path of the loaded project is written: the newest file that has it, else the
 * nearest part of it in the newest file that has the service (or resource).
 */
function locator(newestFirst: ParsedDocument[]) {
  return (path: KeyPath): { file: string; line: number; column: number } | undefined => {
    for (const d of newestFirst) {
      const pos = d.source.locate(path, d.docIndex);
      if (pos?.exact) return { file: d.file, line: pos.line, column: pos.column };
    }
    for (const d of newestFirst) {
      if (!d.source.locate(path.slice(0, 2), d.docIndex)?.exact) continue;
      const pos = d.source.locate(path, d.docIndex)!;
      return { file: d.file, line: pos.line, column: pos.column };
    }
    return undefined;
  };
}

function loadError(file: string, e: unknown): Finding {
  if (e instanceof DockyardError) return { rule: 'DY200', file: e.location?.file ?? file, line: e.location?.line ?? 1, column: e.location?.column ?? 1, detail: `${e.keyPath ? `${e.keyPath}: ` : ''}${e.message}` };
  return { rule: 'DY200', file, line: 1, column: 1, detail: e instanceof Error ? e.message : String(e) };
}
