/** Compose rules: on each file as written (located by the loader's positions), and on the merged project. */
import { existsSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { DockyardError } from '../errors.js';
import { loadProject } from '../load/index.js';
import { parseYaml } from '../load/yaml.js';
import type { ParsedDocument } from '../load/yaml.js';
import type { KeyPath } from '../load/path.js';
import { isPlainObject } from '../load/path.js';
import { parsePortSpec } from '../load/canonical.js';
import type { Finding } from './lint.js';
import { SECRET_NAME } from './rules.js';

type Rec = Record<string, unknown>;

const isProduction = (file: string) => /(^|[._-])prod(uction)?([._-]|$)/i.test(basename(file));

/** Rules on one file as written. */
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

function lintDoc(doc: ParsedDocument): Finding[] {
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
    if (typeof s.image === 'string' && s.build === undefined && !s.image.includes('$') && !s.image.includes('@')) {
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
    const logging = isPlainObject(s.logging) ? s.logging : undefined;
    const driver = logging?.driver ?? 'json-file';
    if ((driver === 'json-file' || driver === 'local') && !(isPlainObject(logging?.options) && (logging!.options as Rec)['max-size'] !== undefined) && driver === 'json-file') at('DY212', p());
    const limits = isPlainObject(s.deploy) && isPlainObject((s.deploy as Rec).resources) && (((s.deploy as Rec).resources as Rec).limits !== undefined);
    if (!limits && s.mem_limit === undefined && s.cpus === undefined) at('DY213', p());
    if (isProduction(doc.file)) {
      const missing: string[] = [];
      if (!(Array.isArray(s.cap_drop) && s.cap_drop.map(String).map((x) => x.toUpperCase()).includes('ALL'))) missing.push('cap_drop: [ALL]');
      if (!(s.read_only === true || s.read_only === 'true')) missing.push('read_only: true');
      if (!(Array.isArray(s.security_opt) && s.security_opt.some((o) => /^no-new-privileges(:true)?$/.test(String(o))))) missing.push('security_opt: [no-new-privileges:true]');
      if (missing.length) at('DY214', p(), missing.join(', '));
    }
  }
  return out;
}

/** Rules on the merged project (the files together), and the Dockerfiles it builds. */
export function lintCompose(files: string[], cwd: string): { findings: Finding[]; dockerfiles: string[] } {
  const out: Finding[] = [];
  const docs: ParsedDocument[] = [];
  for (const f of files) {
    try {
      docs.push(...parseYaml(f, readFileSync(f, 'utf8')));
    } catch (e) {
      out.push(loadError(f, e));
    }
  }
  const locate = (path: KeyPath): { file: string; line: number; column: number } => {
    for (const d of [...docs].reverse()) {
      const pos = d.source.locate(path, d.docIndex);
      if (pos?.exact) return { file: d.file, line: pos.line, column: pos.column };
    }
    return { file: files[0]!, line: 1, column: 1 };
  };
  const dockerfiles: string[] = [];
  if (out.some((f) => f.rule === 'DY200')) return { findings: out, dockerfiles };
  let project;
  try {
    project = loadProject({ files, workingDir: cwd, environment: { ...process.env }, onWarning: () => undefined });
  } catch (e) {
    // nothing else can be checked until it loads
    out.push(loadError(files[0]!, e));
    return { findings: out, dockerfiles };
  }
  for (const d of docs) out.push(...lintDoc(d));
  const all = { ...project.services, ...project.disabledServices };
  for (const s of Object.values(all)) {
    for (const [dep, cfg] of Object.entries(s.depends_on ?? {})) {
      const d = all[dep];
      if (cfg.condition !== 'service_healthy' || !d) continue;
      const own = d.healthcheck && !d.healthcheck.disable;
      const df = d.build?.context && d.build.dockerfile ? join(d.build.context, d.build.dockerfile) : undefined;
      const inImage = df && existsSync(df) && /^\s*HEALTHCHECK\s+(?!NONE)/im.test(readFileSync(df, 'utf8'));
      if (!own && !inImage) out.push({ rule: 'DY211', ...locate(['services', s.name, 'depends_on', dep]), detail: dep });
    }
    if (s.build?.context && existsSync(s.build.context)) {
      const ctx = s.build.context;
      const df = s.build.dockerfile ? join(ctx, s.build.dockerfile) : undefined;
      if (!existsSync(join(ctx, '.dockerignore')) && !(df && existsSync(`${df}.dockerignore`))) out.push({ rule: 'DY217', ...locate(['services', s.name, 'build']), detail: ctx });
      if (df && existsSync(df)) dockerfiles.push(df);
    }
  }
  // declared in the files but used by no service
  const usedNets = new Set(Object.values(all).flatMap((s) => Object.keys(s.networks ?? {})));
  const usedVols = new Set(Object.values(all).flatMap((s) => (s.volumes ?? []).filter((v) => v.type === 'volume' && v.source).map((v) => v.source!)));
  for (const d of docs) {
    for (const n of Object.keys(isPlainObject(d.value.networks) ? d.value.networks : {})) if (!usedNets.has(n) && n !== 'default') out.push({ rule: 'DY215', ...locate(['networks', n]), detail: n });
    for (const v of Object.keys(isPlainObject(d.value.volumes) ? d.value.volumes : {})) if (!usedVols.has(v)) out.push({ rule: 'DY216', ...locate(['volumes', v]), detail: v });
  }
  return { findings: out, dockerfiles: [...new Set(dockerfiles)] };
}

function loadError(file: string, e: unknown): Finding {
  if (e instanceof DockyardError) return { rule: 'DY200', file: e.location?.file ?? file, line: e.location?.line ?? 1, column: e.location?.column ?? 1, detail: `${e.keyPath ? `${e.keyPath}: ` : ''}${e.message}` };
  return { rule: 'DY200', file, line: 1, column: 1, detail: e instanceof Error ? e.message : String(e) };
}
