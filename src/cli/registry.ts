/** `pull`, `push`, `registry prune`: images and registries. */
import type { Command } from 'commander';
import { DockyardError } from '../errors.js';
import type { GlobalOptions } from './common.js';
import { context } from './common.js';

export function registerRegistry(program: Command, globals: () => GlobalOptions): void {
  program
    .command('pull')
    .description("pull the services' images")
    .argument('[services...]')
    .option('--ignore-pull-failures', 'pull what can be pulled, report the rest')
    .option('--ignore-buildable', 'skip services that build their image')
    .option('--include-deps', 'also the images of their dependencies')
    .option('--policy <policy>', 'missing (only what is not here) or always', 'always')
    .option('-q, --quiet', 'no progress')
    .action(async (names: string[], o: { ignorePullFailures?: boolean; ignoreBuildable?: boolean; includeDeps?: boolean; policy: string; quiet?: boolean }) => {
      if (!['always', 'missing'].includes(o.policy)) throw new DockyardError('USAGE', `invalid --policy "${o.policy}"`, { hint: 'always or missing' });
      const { handle, progress } = await context(globals(), o.quiet === true, names);
      try {
        const r = await handle.pull(names, { ignoreBuildable: o.ignoreBuildable, ignoreFailures: o.ignorePullFailures, includeDeps: o.includeDeps, onlyMissing: o.policy === 'missing', onEvent: progress.emit });
        progress.finish();
        for (const f of r.failed) process.stderr.write(`warning: ${f.image}: ${f.error}\n`);
      } finally {
        progress.finish();
      }
    });

  program
    .command('push')
    .description("push the services' images (their image: and build tags)")
    .argument('[services...]')
    .option('--ignore-push-failures', 'push what can be pushed, report the rest')
    .option('--include-deps', 'also the images of their dependencies')
    .option('-q, --quiet', 'no progress')
    .action(async (names: string[], o: { ignorePushFailures?: boolean; includeDeps?: boolean; quiet?: boolean }) => {
      const { handle, progress } = await context(globals(), o.quiet === true, names);
      try {
        const r = await handle.push(names, { ignoreFailures: o.ignorePushFailures, includeDeps: o.includeDeps, onEvent: progress.emit });
        progress.finish();
        for (const f of r.failed) process.stderr.write(`warning: ${f.image}: ${f.error}\n`);
      } finally {
        progress.finish();
      }
    });

  const registry = program.command('registry').description('the registries of the services\' images');
  registry
    .command('prune')
    .description("keep the newest N tags of each service image in its registry, delete the older ones (by when the images were made)")
    .argument('[services...]')
    .requiredOption('--keep <n>', 'tags to keep per image', (v) => {
      if (!/^\d+$/.test(v)) throw new DockyardError('USAGE', `--keep must be a whole number, not "${v}"`);
      return Number(v);
    })
    .option('--dry-run', 'only list what would be deleted')
    .action(async (names: string[], o: { keep: number; dryRun?: boolean }) => {
      const { handle } = await context(globals(), true, names);
      const dryRun = o.dryRun || globals().dryRun;
      for (const r of await handle.registryPrune(names, { keep: o.keep, dryRun })) {
        process.stdout.write(`${r.registry}/${r.repository}: keep ${r.kept.join(', ') || '(none)'}; ${dryRun ? 'would delete' : 'deleted'} ${r.removed.join(', ') || '(none)'}\n`);
      }
    });
}
