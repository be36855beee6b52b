/** Finding Dockerfiles and Compose files under a folder (lint, consolidate): one rule for both. */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

// (Dockerfile.dev.dockerignore is the ignore file of Dockerfile.dev, not a Dockerfile)
export const isDockerfile = (name: string) => !name.endsWith('.dockerignore') && (/^Dockerfile(\..+)?$/.test(name) || /\.Dockerfile$/.test(name) || /^Containerfile$/.test(name));
export const isCompose = (name: string) => /^(docker-)?compose([.-].*)?\.ya?ml$/.test(name);

export interface Discovered {
  dockerfiles: string[];
  compose: string[];
}

/** The files a folder holds, recursively, in name order (node_modules, dot folders and `skip` left out). */
export function discover(dir: string, o: { skip?: string } = {}, out: Discovered = { dockerfiles: [], compose: [] }): Discovered {
  for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    const p = join(dir, e.name);
    if (e.isDirectory()) {
      if (e.name === 'node_modules' || e.name.startsWith('.') || p === o.skip) continue;
      discover(p, o, out);
    } else if (isDockerfile(e.name)) out.dockerfiles.push(p);
    else if (isCompose(e.name)) out.compose.push(p);
  }
  return out;
}
