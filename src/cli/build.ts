/** `dockyard build`: build service images as a graph, skipping what is up to date. */
import type { Command } from 'commander';
import type { BuildEvent, BuildOptions } from '../build/builder.js';
import type { Engine } from '../engine/engine.js';
import type { Project } from '../model/project.js';
import type { GlobalOptions } from './common.js';
import { context, parseIntOption } from './common.js';
import { progressPrinter } from './render.js';
import type { Progress } from './render.js';

/** Build events as progress rows: per image, the step under way, then time and cache hits. */
function printer(progress: Progress): (e: BuildEvent) => void {
  const images = new Map<string, string>();
  return (e) => {
    if (e.type === 'step') {
      const image = images.get(e.service) ?? e.service;
      progress.emit({ type: 'resource', kind: 'image', name: image, action: 'building', detail: `step ${e.step}/${e.of}: ${e.instruction.slice(0, 50)}` });
      return;
    }
    images.set(e.service, e.image);
    if (e.action === 'building') progress.emit({ type: 'resource', kind: 'image', name: e.image, action: 'building' });
    else if (e.action === 'skipped') progress.emit({ type: 'resource', kind: 'image', name: e.image, action: 'exists', detail: 'up to date' });
    else if (e.action === 'built') progress.emit({ type: 'resource', kind: 'image', name: e.image, action: 'built', detail: `${e.cacheHits ?? 0}/${e.steps ?? 0} steps cached` });
  };
}

/** Builds with progress rows; into the caller's live block when given one (up), else its own. */
export async function buildServicesWithOutput(engine: Engine, project: Project, names: string[] | undefined, o: BuildOptions, shared?: Progress) {
  const { buildServices } = await import('../build/builder.js');
  const progress = shared ?? progressPrinter();
  try {
    return await buildServices(engine, project, names, { onEvent: printer(progress), ...o });
  } finally {
    if (!shared) progress.finish();
  }
}

export { buildServicesWithOutput as buildServices };

export function registerBuild(program: Command, globals: () => GlobalOptions): void {
  program
    .command('build')
    .description('build service images (only what changed), dependencies first, in parallel')
    .argument('[services...]')
    .option('--no-cache', 'do not use the build cache')
    .option('--pull', 'always try to pull newer base images')
    .option('--parallel <n>', 'builds at once (default 4)', parseIntOption('--parallel'), 4)
    .action(async (names: string[], o: { cache: boolean; pull?: boolean; parallel: number }) => {
      const { project, engine, converger } = await context(globals(), true);
      if (names.length) converger.targets(names, true);
      await converger.ensureEngine();
      const t0 = Date.now();
      const r = await buildServicesWithOutput(engine, project, names, { noCache: !o.cache, pull: o.pull, parallel: o.parallel });
      const built = [...r.values()].filter((x) => x === 'built').length;
      process.stderr.write(`build: ${built} built, ${r.size - built} up to date, in ${((Date.now() - t0) / 1000).toFixed(2)}s\n`);
    });
}
