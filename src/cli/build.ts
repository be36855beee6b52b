/** `dockyard build`: build service images as a graph, skipping what is up to date. */
import type { Command } from 'commander';
import type { BuildOptions } from '../build/builder.js';
import { buildProgress } from '../build/progress.js';
import type { Engine } from '../engine/engine.js';
import type { Project } from '../model/project.js';
import type { GlobalOptions } from './common.js';
import { context, parseIntOption } from './common.js';
import { progressPrinter } from './render.js';
import type { Progress } from './render.js';

/** Builds with progress rows; into the caller's live block when given one (up), else its own. */
export async function buildServicesWithOutput(engine: Engine, project: Project, names: string[] | undefined, o: BuildOptions, shared?: Progress) {
  const { buildServices } = await import('../build/builder.js');
  const progress = shared ?? progressPrinter();
  try {
    return await buildServices(engine, project, names, { onEvent: buildProgress(progress.emit), ...o });
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
    .option('--push', 'push the images built (their image: and build tags) to their registries')
    .option('-q, --quiet', 'no progress')
    .action(async (names: string[], o: { cache: boolean; pull?: boolean; parallel: number; push?: boolean; quiet?: boolean }) => {
      const { handle } = await context(globals(), true, names);
      await handle.engine.ping();
      const t0 = Date.now();
      const progress = o.quiet ? { emit: () => undefined, finish: () => undefined } : progressPrinter();
      let r;
      try {
        r = await handle.build(names, { noCache: !o.cache, pull: o.pull, parallel: o.parallel, onEvent: progress.emit });
        if (o.push) await handle.push(names.length ? names : [...r.keys()], { onEvent: progress.emit });
      } finally {
        progress.finish();
      }
      const built = [...r.values()].filter((x) => x === 'built').length;
      process.stderr.write(`build: ${built} built, ${r.size - built} up to date, in ${((Date.now() - t0) / 1000).toFixed(2)}s\n`);
    });
}
