/**
 * consolidate: the Dockerfiles and Compose files under a folder, together. The Dockerfiles go
 * first: when every one is proven, the Compose services that built them build their targets in
 * the new Dockerfile, and the Compose proof holds them to that.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { DockyardError } from '../errors.js';
import { consolidateCompose, type ComposeReport } from './compose.js';
import { consolidateDockerfiles, type DockerfileReport } from './dockerfile.js';

export type { ComposeReport } from './compose.js';
export type { DockerfileReport } from './dockerfile.js';

export interface Consolidation {
  /** absolute */
  dir: string;
  out: string;
  /** undefined: fewer than two Compose files */
  compose?: ComposeReport;
  /** undefined: fewer than two Dockerfiles */
  dockerfiles?: DockerfileReport;
  /** how many originals could not be proven (then nothing may be written) */
  unproven: number;
}

/** Consolidates what is under `dir` (new files meant for `out`, by default DIR/consolidated); writes nothing. */
export function consolidate(dir: string, out?: string): Consolidation {
  dir = resolve(dir);
  out = resolve(out ?? join(dir, 'consolidated'));
  const dockerfiles = consolidateDockerfiles(dir, out);
  const builds = dockerfiles && !dockerfiles.unproven.length ? { dockerfile: join(out, 'Dockerfile'), originals: new Map(Object.entries(dockerfiles.targets).map(([f, t]) => [join(dir, f), t])) } : undefined;
  const compose = consolidateCompose(dir, out, builds);
  if (!compose && !dockerfiles) {
    throw new DockyardError('USAGE', `nothing to consolidate under ${dir}: it needs two or more Compose files or Dockerfiles`, { hint: 'Compose files: compose*.yaml, docker-compose*.yaml; Dockerfiles: Dockerfile, Dockerfile.*, *.Dockerfile' });
  }
  return { dir, out, compose, dockerfiles, unproven: (compose?.unproven.length ?? 0) + (dockerfiles?.unproven.length ?? 0) };
}

/** Throws when an original could not be proven equal to its replacement (then nothing may be written). */
export function requireProven(c: Consolidation): void {
  if (c.unproven) throw new DockyardError('INVALID_VALUE', `${c.unproven} original(s) could not be proven equal to their replacement: nothing written`, { hint: "each NOT proven line says why: Dockerfiles whose global ARGs or ignore rules conflict cannot share one file (align them, or move one out of DIR); a Compose file that cannot be factored is worth reporting with the files" });
}

/** Writes the new files and consolidate.json to `c.out`; refuses when an original is unproven. Returns the files' names. */
export function writeConsolidation(c: Consolidation): string[] {
  requireProven(c);
  const files: Array<[string, string]> = (c.compose?.filesAfter ?? []).map((f) => [f.name, f.text]);
  const d = c.dockerfiles;
  if (d) files.push(['Dockerfile', d.dockerfile]);
  if (d?.dockerignore !== undefined) files.push(['Dockerfile.dockerignore', d.dockerignore]);
  const pd = relative(c.out, c.dir) || '.';
  const dockerfiles = Object.fromEntries(Object.entries(d?.targets ?? {}).map(([f, t]) => [f, { dockerfile: 'Dockerfile', target: t.target, context: pd }]));
  // (profiles: per original, the --profile flags its replacement needs; only those that need any)
  const profiles = Object.fromEntries(Object.entries(c.compose?.profiles ?? {}).filter(([, p]) => p.length));
  files.push(['consolidate.json', `${JSON.stringify({ project_directory: pd, compose: c.compose?.compose ?? {}, profiles, dockerfiles }, null, 2)}\n`]);
  mkdirSync(c.out, { recursive: true });
  for (const [name, text] of files) writeFileSync(join(c.out, name), text);
  return files.map(([name]) => name);
}
