/** `dockyard build`: build service images as a graph, skipping what is up to date. */
import type { Command } from 'commander';
import type { BuildEvent, BuildOptions } from '../build/builder.js';
import type { Engine } from '../engine/engine.js';
import type { Project } from '../model/project.js';
import type { GlobalOptions } from './common.js';
import { context } from './common.js';

function printer(): (e: BuildEvent) => void {
  const tty = process.stderr.isTTY === true;
  return (e) => {
    if (e.type === 'step') {
      if (tty) process.stderr.write(`   ${e.service} step ${e.step}/${e.of}: ${e.instruction.slice(0, 70)}\n`);
      return;
    }
    if (e.action === 'building') process.stderr.write(` … Image ${e.image} building\n`);
    else if (e.action === 'skipped') process.stderr.write(` ✔ Image ${e.image.padEnd(30)} up to date\n`);
    else if (e.action === 'built') process.stderr.write(` ✔ Image ${e.image.padEnd(30)} built in ${((e.ms ?? 0) / 1000).toFixed(1)}s (${e.cacheHits ?? 0}/${e.steps ?? 0} steps cached)\n`);
  };
}

export async function buildServicesWithOutput(engine: Engine, project: Project, names: string[] | undefined, o: BuildOptions) {
  const { buildServices } = await import('../build/builder.js');
  return buildServices(engine, project, names, { onEvent: printer(), ...o });
}

export { buildServicesWithOutput as buildServices };

export function registerBuild(program: Command, globals: () => GlobalOptions): void {
  program
    .command('build')
    .description('build service images (only what changed), dependencies first, in parallel')
    .argument('[services...]')
    .option('--no-cache', 'do not use the build cache')
    .option('--pull', 'always try to pull newer base images')
    .option('--parallel <n>', 'builds at once', '4')
    .action(async (names: string[], o: { cache: boolean; pull?: boolean; parallel: string }) => {
      const { project, engine, converger } = await context(globals(), true);
      if (names.length) converger.targets(names, true);
      await converger.ensureEngine();
      const t0 = Date.now();
      const r = await buildServicesWithOutput(engine, project, names, { noCache: !o.cache, pull: o.pull, parallel: Number(o.parallel) });
      const built = [...r.values()].filter((x) => x === 'built').length;
      process.stderr.write(`build: ${built} built, ${r.size - built} up to date, in ${((Date.now() - t0) / 1000).toFixed(2)}s\n`);
    });
}
