/** `dockyard watch`: bring the services up (unless --no-up), then follow their develop.watch rules. */
import type { Command } from 'commander';
import type { ProjectHandle } from '../api/project.js';
import type { WatchAction } from '../watch/watch.js';
import type { GlobalOptions } from './common.js';
import { context, parseIntOption } from './common.js';
import { startDashboard } from './dashboard.js';

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

/**
 * Runs watch until Ctrl-C (or the signal), printing each action, and telling it to `onAction` too
 * (the dashboard's activity, with `--dashboard`): one place for both.
 */
export async function runWatch(handle: ProjectHandle, services: string[], signal?: AbortSignal, onAction?: (a: WatchAction) => void): Promise<void> {
  const ac = new AbortController();
  const stop = () => ac.abort();
  signal?.addEventListener('abort', stop, { once: true });
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  try {
    await handle.watch({
      services,
      signal: ac.signal,
      onAction: (a) => {
        printAction(a);
        onAction?.(a);
      },
      onReady: (n) => process.stderr.write(`watch: following ${n} rule${n === 1 ? '' : 's'} (Ctrl-C to stop)\n`),
    });
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
}

interface WatchFlags {
  up: boolean;
  quiet?: boolean;
  dashboard?: boolean;
  dashboardPort?: number;
  dashboardBind?: string;
}

export function registerWatch(program: Command, globals: () => GlobalOptions): void {
  program
    .command('watch')
    .description('keep containers in sync with the files you edit (develop.watch: sync, rebuild, restart, sync+restart, sync+exec)')
    .argument('[services...]')
    .option('--no-up', 'do not bring the services up first')
    .option('--quiet', 'no progress while bringing them up')
    .option('--dashboard', 'serve a live page of the project (printed URL) while watching, its actions among the activity')
    .option('--dashboard-port <port>', "the dashboard's port (default: a free one)", parseIntOption('--dashboard-port'))
    .option('--dashboard-bind <address>', 'where the dashboard listens (default 127.0.0.1)')
    .action(async (names: string[], o: WatchFlags) => {
      const { handle, progress } = await context(globals(), o.quiet === true, names);
      // the page is up before the services are, so it shows the up too
      const dash = o.dashboard ? await startDashboard(handle, { port: o.dashboardPort, bind: o.dashboardBind }, (l) => process.stderr.write(`${l}\n`)) : undefined;
      try {
        if (o.up) {
          const shown = dash?.activity(`up ${names.join(' ') || handle.name}`);
          try {
            const r = await handle.up({ services: names, onEvent: shown ? (e) => (shown.progress(e), progress.emit(e)) : progress.emit });
            shown?.end();
            dash?.setTimeline(r.timeline);
          } catch (e) {
            shown?.end(e);
            throw e;
          } finally {
            progress.finish();
          }
        }
        await runWatch(handle, names, undefined, dash && ((a) => dash.watchAction(a)));
      } finally {
        await dash?.close();
      }
    });
}
