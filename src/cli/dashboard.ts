/** `dockyard dashboard`: a live page of the project in the browser (and `up --dashboard`'s serving of it). */
import { spawn } from 'node:child_process';
import type { Command } from 'commander';
import type { GlobalOptions } from './common.js';
import { context, parseIntOption } from './common.js';
import type { ProjectHandle } from '../api/project.js';
import type { Dashboard } from '../dashboard/server.js';

export interface DashboardFlags {
  port?: number;
  bind?: string;
  open?: boolean;
}

export function registerDashboard(program: Command, globals: () => GlobalOptions): void {
  program
    .command('dashboard')
    .description('serve a live page of the project: services, health, logs, startup timeline, actions, leases')
    .option('--port <port>', 'port to listen on (default: a free one)', parseIntOption('--port'))
    // --host is the engine's address (a global flag): where the page listens is --bind
    .option('--bind <address>', 'address to listen on (default 127.0.0.1: this machine only)')
    .option('--open', 'open the page in a browser')
    .action(async (o: DashboardFlags) => {
      const { handle } = await context(globals(), true);
      const d = await startDashboard(handle, o, (l) => process.stdout.write(`${l}\n`));
      await untilInterrupted();
      await d.close();
    });
}

/** Serves the page, says where (the URL carries the token), opens a browser with --open. */
export async function startDashboard(handle: ProjectHandle, o: DashboardFlags, say: (line: string) => void): Promise<Dashboard> {
  const { serveDashboard } = await import('../dashboard/server.js');
  const d = await serveDashboard(handle, { port: o.port, host: o.bind });
  say(`dashboard: ${d.url}`);
  if (o.bind && !['127.0.0.1', 'localhost', '::1'].includes(o.bind)) say(`dashboard: listening on ${o.bind}: anyone who can reach it and has the URL can drive the project`);
  if (o.open) openBrowser(d.url);
  return d;
}

function openBrowser(url: string): void {
  const cmd = process.platform === 'darwin' ? 'open' : process.platform === 'win32' ? 'explorer' : 'xdg-open';
  const child = spawn(cmd, [url], { detached: true, stdio: 'ignore' });
  child.on('error', () => process.stderr.write(`dashboard: could not start ${cmd}: open the URL yourself\n`));
  child.unref();
}

/** Resolves on Ctrl-C or SIGTERM. */
export function untilInterrupted(): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      process.off('SIGINT', done);
      process.off('SIGTERM', done);
      resolve();
    };
    process.on('SIGINT', done);
    process.on('SIGTERM', done);
  });
}
