/** `dockyard watch`: bring the services up (unless --no-up), then follow their develop.watch rules. */
import type { Command } from 'commander';
import type { ProjectHandle } from '../api/project.js';
import type { WatchAction } from '../watch/watch.js';
import type { GlobalOptions } from './common.js';
import { context } from './common.js';

/**
 * One line per action: service, action, files sent, the time from the file event to done, and what
 * failed (files not sent, the engine's refusal, an exec's exit code; the library retries them with
 * the next change and says so).
 */
export function printAction(a: WatchAction): void {
  const what = a.action === 'rebuild' || a.action === 'restart' ? '' : ` ${a.files} file${a.files === 1 ? '' : 's'}`;
  const outcome = a.error ? `  failed: ${a.error}` : a.containers.length ? '' : '  (no container running)';
  process.stderr.write(`watch: ${a.service}  ${a.action}${what}  ${a.ms} ms${outcome}\n`);
}

/** Runs watch until Ctrl-C (or the signal), printing each action. */
export async function runWatch(handle: ProjectHandle, services: string[], signal?: AbortSignal): Promise<void> {
  const ac = new AbortController();
  const stop = () => ac.abort();
  signal?.addEventListener('abort', stop, { once: true });
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  try {
    await handle.watch({
      services,
      signal: ac.signal,
      onAction: printAction,
      onReady: (n) => process.stderr.write(`watch: following ${n} rule${n === 1 ? '' : 's'} (Ctrl-C to stop)\n`),
    });
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
}

export function registerWatch(program: Command, globals: () => GlobalOptions): void {
  program
    .command('watch')
    .description('keep containers in sync with the files you edit (develop.watch: sync, rebuild, restart, sync+restart, sync+exec)')
    .argument('[services...]')
    .option('--no-up', 'do not bring the services up first')
    .option('--quiet', 'no progress while bringing them up')
    .action(async (names: string[], o: { up: boolean; quiet?: boolean }) => {
      const { handle, progress } = await context(globals(), o.quiet === true, names);
      if (o.up) {
        try {
          await handle.up({ services: names, onEvent: progress.emit });
        } finally {
          progress.finish();
        }
      }
      await runWatch(handle, names);
    });
}
