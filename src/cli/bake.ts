/** `dockyard bake`: build targets and groups from docker-bake.hcl / .json or Compose files. */
import { isAbsolute, relative, resolve } from 'node:path';
import type { Command } from 'commander';
import { DockyardError } from '../errors.js';
import { loadBakeFiles, resolveBake } from '../build/bake.js';
import type { BakeTarget } from '../build/bake.js';
import type { Project, Service } from '../model/project.js';
import type { GlobalOptions } from './common.js';
import { collectOption, engineFor } from './common.js';
import { buildServices } from './build.js';

/** Bake targets as services of a synthetic project, so that they build through the same graph. */
function asProject(targets: Record<string, BakeTarget>, cwd: string): Project {
  const services: Record<string, Service> = {};
  for (const [name, t] of Object.entries(targets)) {
    const [first, ...rest] = t.tags ?? [];
    const ctx = t.context ?? '.';
    services[name] = {
      name,
      image: first ?? `bake-${name}`,
      build: {
        context: ctx.includes('://') || isAbsolute(ctx) ? ctx : resolve(cwd, ctx),
        dockerfile: t.dockerfile,
        dockerfile_inline: t['dockerfile-inline'],
        args: t.args,
        labels: t.labels,
        target: t.target,
        tags: rest,
        no_cache: t['no-cache'],
        pull: t.pull,
        network: t.network,
        cache_from: t['cache-from'],
        extra_hosts: t['extra-hosts'],
      },
    };
  }
  return { name: 'bake', workingDir: cwd, configFiles: [], services, disabledServices: {}, networks: {}, volumes: {}, secrets: {}, configs: {}, models: {}, extensions: {}, environment: {}, profiles: [] };
}

export function registerBake(program: Command, globals: () => GlobalOptions): void {
  program
    .command('bake')
    .description('build targets and groups from bake files (docker-bake.hcl / .json) or Compose files')
    .argument('[targets...]', 'targets or groups (default: the "default" group)')
    .option('-f, --file <file>', 'bake file (repeatable; default: compose files and docker-bake.* here)', collectOption)
    .option('--set <target.key=value>', 'override a value (repeatable; target may be *)', collectOption)
    .option('--print', 'print the resolved definition as JSON and do not build')
    .option('--no-cache', 'do not use the build cache')
    .option('--pull', 'always try to pull newer base images')
    .option('--push', "push the targets' tags to their registries after building")
    .action(async (names: string[], o: { file?: string[]; set?: string[]; print?: boolean; cache: boolean; pull?: boolean; push?: boolean }) => {
      const cwd = process.cwd();
      const files = [...(globals().file ?? []), ...(o.file ?? [])];
      const { def } = await loadBakeFiles(files, cwd, process.env);
      const resolved = resolveBake(def, names, o.set ?? [], process.env);
      if (o.print) {
        // contexts print relative to the current directory, as buildx prints them
        const printed = structuredClone(resolved);
        for (const t of Object.values(printed.target)) {
          if (t.context && isAbsolute(t.context)) {
            const rel = relative(cwd, t.context);
            t.context = rel === '' ? '.' : rel.startsWith('..') ? t.context : rel;
          }
        }
        process.stdout.write(`${JSON.stringify(printed, null, 2)}\n`);
        return;
      }
      // the engine --context / --host / the environment name; with --dry-run, one that only reads
      const engine = await engineFor(globals());
      await engine.ping();
      const project = asProject(resolved.target, cwd);
      const t0 = Date.now();
      const r = await buildServices(engine, project, Object.keys(resolved.target), { noCache: !o.cache, pull: o.pull });
      const built = [...r.values()].filter((x) => x === 'built').length;
      process.stderr.write(`bake: ${built} built, ${r.size - built} up to date, in ${((Date.now() - t0) / 1000).toFixed(2)}s\n`);
      if (o.push) {
        const tags = [...new Set(Object.values(resolved.target).flatMap((t) => t.tags ?? []))];
        if (!tags.length) throw new DockyardError('USAGE', 'nothing to push: the targets have no tags', { hint: 'give the targets tags = ["registry/name:tag"]' });
        for (const tag of tags) {
          await engine.pushImage(tag);
          process.stderr.write(`pushed ${tag}\n`);
        }
      }
    });
}
