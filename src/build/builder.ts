/**
 * Builds service images as a graph: an image built FROM another service's image (or using one
 * as an additional context) is built after it; independent builds run in parallel (bounded).
 * An image whose source-hash label matches the context is not rebuilt.
 */
import { readFileSync } from 'node:fs';
import { isAbsolute, join, relative } from 'node:path';
import { DockyardError, EngineError } from '../errors.js';
import { CredentialError } from '../registry/auth.js';
import type { Engine } from '../engine/engine.js';
import { Dag } from '../graph/dag.js';
import { imageName, LABEL } from '../model/names.js';
import type { Project, Service } from '../model/project.js';
import { Limit } from '../converge/state.js';
import { listContext, sourceHash, tarContext } from './context.js';

export type BuildEvent =
  | { type: 'build'; service: string; image: string; action: 'skipped' | 'building' | 'built' | 'failed'; ms?: number; cacheHits?: number; steps?: number; detail?: string }
  | { type: 'step'; service: string; step: number; of: number; instruction: string; cached: boolean };

export interface BuildOptions {
  noCache?: boolean;
  pull?: boolean;
  /** build even when the source hash matches */
  force?: boolean;
  parallel?: number;
  onEvent?: (e: BuildEvent) => void;
  /** only say what would be built ('would-build'), build nothing */
  dryRun?: boolean;
}

export interface BuildPlan {
  service: Service;
  image: string;
  dockerfile: string;
  dockerfileText: string;
  /** the Dockerfile is sent as a generated entry (inline, or rewritten for additional contexts) */
  generated: boolean;
  hash: string;
  files: ReturnType<typeof listContext>;
}

function dockerfileText(s: Service): { path: string; text: string } {
  const b = s.build!;
  if (b.dockerfile_inline !== undefined) return { path: 'Dockerfile', text: b.dockerfile_inline };
  const p = isAbsolute(b.dockerfile ?? 'Dockerfile') ? b.dockerfile! : join(b.context, b.dockerfile ?? 'Dockerfile');
  try {
    return { path: p, text: readFileSync(p, 'utf8') };
  } catch {
    throw new DockyardError('MISSING_FILE', `Dockerfile not found for service "${s.name}": ${p}`, { hint: 'check build.context and build.dockerfile' });
  }
}

/** Dockerfile features the classic builder lacks. */
export function needsBuildKit(text: string): string | undefined {
  if (/^\s*RUN\s+(?:--[a-z-]+=\S+\s+)*--mount=/im.test(text)) return 'RUN --mount';
  if (/^\s*(RUN|COPY)\s.*<<-?\s*["']?[A-Za-z_]+["']?\s*$/im.test(text)) return 'heredocs (<<EOF)';
  if (/^\s*(COPY|ADD)\s+.*--link\b/im.test(text)) return 'COPY --link';
  if (/^\s*#\s*syntax\s*=/im.test(text) && /--mount|<<|--link/.test(text)) return 'a # syntax= frontend';
  return undefined;
}

const INLINE_NAME = '.dockyard.Dockerfile';

/**
 * The classic builder has no additional contexts. Those that name an image (docker-image://ref,
 * or service:x, the image of another service) are honoured by rewriting `FROM name` and
 * `COPY --from=name` to that image; a directory context cannot be, and says so.
 */
export function applyAdditionalContexts(project: Project, s: Service, text: string): string {
  const ctxs = s.build?.additional_contexts ?? {};
  if (!Object.keys(ctxs).length) return text;
  const refs = new Map<string, string>();
  for (const [name, v] of Object.entries(ctxs)) {
    if (v.startsWith('docker-image://')) refs.set(name, v.slice('docker-image://'.length));
    else if (v.startsWith('service:')) {
      const other = project.services[v.slice(8)];
      if (!other) throw new DockyardError('MISSING_REFERENCE', `service "${s.name}": additional context "${name}" names unknown service "${v.slice(8)}"`, { hint: 'use service:<name of a service with a build>' });
      refs.set(name, imageName(project.name, other));
    } else {
      throw new DockyardError('INVALID_VALUE', `service "${s.name}": additional context "${name}" (${v}) is a directory or URL, which needs BuildKit; this engine builds with the classic builder`, {
        hint: 'use docker-image://<image> or service:<name>, or copy the files into the main context',
      });
    }
  }
  const esc = (x: string) => x.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  let out = text;
  for (const [name, ref] of refs) {
    out = out
      .replace(new RegExp(`^(\\s*FROM\\s+(?:--platform=\\S+\\s+)?)${esc(name)}(\\s|$)`, 'gim'), `$1${ref}$2`)
      .replace(new RegExp(`(--from=)${esc(name)}(\\s)`, 'gi'), `$1${ref}$2`);
  }
  return out;
}

/** The images a Dockerfile starts FROM (stage names and scratch left out). */
export function baseImages(text: string): string[] {
  const stages = new Set<string>();
  const out: string[] = [];
  for (const m of text.matchAll(/^\s*FROM\s+(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?/gim)) {
    const ref = m[1]!;
    if (!stages.has(ref.toLowerCase()) && ref !== 'scratch' && !out.includes(ref)) out.push(ref);
    if (m[2]) stages.add(m[2].toLowerCase());
  }
  return out;
}

export function planBuild(project: Project, s: Service, df: { path: string; text: string }, baseIds: Record<string, string> = {}): BuildPlan {
  const b = s.build!;
  if (/^[a-z]+:\/\//i.test(b.context) || b.context.startsWith('git@')) {
    throw new DockyardError('INVALID_VALUE', `service "${s.name}": remote build contexts are not supported yet (${b.context})`, { hint: 'clone it and point build.context at the directory' });
  }
  const feature = needsBuildKit(df.text);
  if (feature) {
    throw new DockyardError('INVALID_VALUE', `service "${s.name}": its Dockerfile uses ${feature}, which needs BuildKit; this engine builds with the classic builder`, {
      hint: 'rewrite that instruction without BuildKit features (e.g. COPY instead of RUN --mount), or build with docker buildx and use the image',
    });
  }
  const text = applyAdditionalContexts(project, s, df.text);
  const dfRel = b.dockerfile_inline !== undefined ? INLINE_NAME : relative(b.context, df.path);
  // a Dockerfile outside the context is sent inside it, under a name of its own (as docker build does)
  const outside = dfRel.startsWith('..') || isAbsolute(dfRel);
  const generated = b.dockerfile_inline !== undefined || text !== df.text || outside;
  const files = listContext(b.context, dfRel);
  // the base images' ids are part of the hash: a rebuilt or updated base makes this image stale
  const hash = sourceHash(files, { dockerfile: text, args: b.args, target: b.target, other: { labels: b.labels, tags: b.tags, bases: baseIds } });
  return { service: s, image: imageName(project.name, s), dockerfile: generated ? INLINE_NAME : dfRel, dockerfileText: text, generated, hash, files };
}

/** Build order: services whose Dockerfile starts FROM another service's image come after it. */
export function buildGraph(project: Project, services: Service[], textOf: (s: Service) => string): Dag {
  const dag = new Dag();
  const byImage = new Map(services.map((s) => [imageName(project.name, s), s.name]));
  for (const s of services) {
    dag.addNode(s.name);
    const text = textOf(s);
    for (const m of text.matchAll(/^\s*FROM\s+(?:--platform=\S+\s+)?(\S+)/gim)) {
      const from = m[1]!;
      const dep = byImage.get(from) ?? byImage.get(from.replace(/:latest$/, ''));
      if (dep && dep !== s.name) dag.addEdge(s.name, dep);
    }
    for (const v of Object.values(s.build?.additional_contexts ?? {})) {
      if (v.startsWith('service:')) {
        const dep = v.slice(8);
        if (services.some((x) => x.name === dep)) dag.addEdge(s.name, dep);
      }
    }
  }
  return dag;
}

export async function buildServices(engine: Engine, project: Project, names: string[] | undefined, o: BuildOptions = {}): Promise<Map<string, 'built' | 'skipped' | 'would-build'>> {
  if (o.parallel !== undefined && !(Number.isInteger(o.parallel) && o.parallel >= 1)) {
    throw new DockyardError('USAGE', `the build parallelism must be a whole number of at least 1, not ${String(o.parallel)}`, { hint: 'e.g. --parallel 4' });
  }
  const emit = o.onEvent ?? (() => undefined);
  const services = Object.values(project.services).filter((s) => s.build && (!names?.length || names.includes(s.name)));
  // each Dockerfile is read once per run; a missing one fails that service's build, not the graph
  const dockerfiles = new Map<string, { path: string; text: string } | DockyardError>();
  for (const s of services) {
    try {
      dockerfiles.set(s.name, dockerfileText(s));
    } catch (e) {
      dockerfiles.set(s.name, e as DockyardError);
    }
  }
  const dockerfileOf = (s: Service) => {
    const df = dockerfiles.get(s.name)!;
    if (df instanceof DockyardError) throw df;
    return df;
  };
  const dag = buildGraph(project, services, (s) => {
    const df = dockerfiles.get(s.name);
    return df && !(df instanceof DockyardError) ? df.text : '';
  });
  const cycle = dag.findCycle();
  if (cycle) throw new DockyardError('CYCLE', `build cycle: ${cycle.join(' -> ')}`, { hint: 'an image cannot be built FROM an image that is built FROM it' });
  const limit = new Limit(o.parallel ?? 4);
  const results = new Map<string, 'built' | 'skipped' | 'would-build'>();
  const done = new Map<string, Promise<void>>();
  const one = async (s: Service) => {
    for (const d of dag.deps.get(s.name) ?? []) await done.get(d);
    await limit.run(async () => {
      const df = dockerfileOf(s);
      const baseIds: Record<string, string> = {};
      const bases = baseImages(applyAdditionalContexts(project, s, df.text));
      for (const ref of bases) baseIds[ref] = (await engine.inspectImage(ref))?.Id ?? 'missing';
      const plan = planBuild(project, s, df, baseIds);
      const existing = await engine.inspectImage(plan.image);
      if (!o.force && !o.noCache && existing?.Config?.Labels?.[LABEL.sourceHash] === plan.hash) {
        results.set(s.name, 'skipped');
        emit({ type: 'build', service: s.name, image: plan.image, action: 'skipped', detail: 'up to date (source hash matches)' });
        return;
      }
      if (o.dryRun) {
        results.set(s.name, 'would-build');
        return;
      }
      const t0 = Date.now();
      emit({ type: 'build', service: s.name, image: plan.image, action: 'building' });
      const b = s.build!;
      const labels: Record<string, string> = {};
      for (const [k, v] of Object.entries(b.labels ?? {})) labels[k] = v ?? '';
      labels[LABEL.sourceHash] = plan.hash;
      labels[LABEL.project] = project.name;
      labels[LABEL.service] = s.name;
      const buildargs: Record<string, string> = {};
      for (const [k, v] of Object.entries(b.args ?? {})) if (v !== null) buildargs[k] = v;
      const extra = plan.generated ? [{ path: plan.dockerfile, content: plan.dockerfileText }] : [];
      const tags = [plan.image, ...(b.tags ?? [])];
      const stepLines: string[] = [];
      let steps = 0;
      let hits = 0;
      let last = '';
      try {
        await engine.buildImage(
          tarContext(plan.files, extra),
          {
            t: tags,
            dockerfile: plan.dockerfile,
            buildargs,
            labels,
            target: b.target,
            nocache: o.noCache ?? b.no_cache ?? false,
            pull: o.pull ?? b.pull ?? false,
            networkmode: b.network,
            shmsize: b.shm_size,
            extrahosts: b.extra_hosts?.map((h) => h.replace('=', ':')).join(','),
            cachefrom: b.cache_from ? JSON.stringify(b.cache_from) : undefined,
            rm: true,
            forcerm: true,
          },
          (msg) => {
            const text = typeof msg.stream === 'string' ? msg.stream : '';
            for (const line of text.split('\n')) {
              if (!line.trim()) continue;
              stepLines.push(line);
              if (stepLines.length > 40) stepLines.shift();
              const m = /^Step (\d+)\/(\d+) : (.*)$/.exec(line);
              if (m) {
                steps = Number(m[2]);
                last = m[3]!;
                emit({ type: 'step', service: s.name, step: Number(m[1]), of: steps, instruction: last, cached: false });
              } else if (/---> Using cache/.test(line)) {
                hits++;
              }
            }
          },
          // the registries of the FROM images the engine will pull (missing here, or --pull) get their credentials
          { baseImages: bases.filter((ref) => (o.pull ?? b.pull) || baseIds[ref] === 'missing') },
        );
      } catch (e) {
        const msg = (e as Error).message;
        if ((e instanceof EngineError && e.kind === 'unauthorized') || e instanceof CredentialError) {
          // a registry refused a base image: its words and what to run, not "fix the Dockerfile"
          emit({ type: 'build', service: s.name, image: plan.image, action: 'failed', detail: msg });
          throw new EngineError(`build of service "${s.name}" failed at: ${last || '(before the first step)'}\n  ${msg}`, 401, { hint: e.hint });
        }
        const code = /returned a non-zero code: (\d+)/.exec(msg)?.[1];
        const out = stepLines.filter((l) => !/^ ---> |^Step \d+\/\d+|^Removing intermediate/.test(l)).slice(-10);
        emit({ type: 'build', service: s.name, image: plan.image, action: 'failed', detail: msg });
        throw new DockyardError('SERVICE_FAILED', `build of service "${s.name}" failed at: ${last || '(before the first step)'}${code ? `\n  exit code ${code}` : `\n  ${msg}`}${out.length ? `\n  last output:\n${out.map((l) => `    ${l}`).join('\n')}` : ''}`, {
          hint: `fix the Dockerfile (${plan.dockerfile}) or the context, then build again`,
        });
      }
      results.set(s.name, 'built');
      emit({ type: 'build', service: s.name, image: plan.image, action: 'built', ms: Date.now() - t0, cacheHits: hits, steps });
    });
  };
  for (const name of dag.order()) {
    const s = services.find((x) => x.name === name)!;
    done.set(name, one(s));
  }
  const settled = await Promise.allSettled(done.values());
  const failed = settled.find((x) => x.status === 'rejected') as PromiseRejectedResult | undefined;
  if (failed) throw failed.reason;
  return results;
}
