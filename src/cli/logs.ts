/** `dockyard logs`, and the rendering of log lines shared with attached `up`. */
import type { Command } from 'commander';
import { DockyardError } from '../errors.js';
import type { GlobalOptions } from './common.js';
import { context } from './common.js';
import { formatLine, setColor } from './render.js';
import { parseSince } from '../converge/logs.js';
import type { LogItem } from '../converge/logs.js';

/** Renders log items: each line prefixed with its container's name in its service's colour. */
export function logPrinter(o: { prefix?: boolean; timestamps?: boolean }): (item: LogItem) => void {
  let width = 0;
  const services: string[] = [];
  return (item) => {
    if (item.kind === 'follow') {
      if (!services.includes(item.container.service)) services.push(item.container.service);
      width = Math.max(width, item.container.name.length);
    } else if (item.kind === 'line') {
      process.stdout.write(formatLine(item, o.prefix === false ? undefined : { width, color: Math.max(0, services.indexOf(item.service)) }, o.timestamps));
    }
  };
}

export function registerLogs(program: Command, globals: () => GlobalOptions): void {
  program
    .command('logs')
    .description('show the output of containers')
    .argument('[services...]', 'services (default: all)')
    .option('-f, --follow', 'follow the output')
    .option('-n, --tail <lines>', 'lines from the end of each log ("all" for everything)', 'all')
    .option('--since <when>', 'only since a time (2024-01-02T15:04:05Z) or a duration ago (10m)')
    .option('-t, --timestamps', 'show timestamps')
    .option('--until <when>', 'only until a time (2024-01-02T15:04:05Z) or a duration ago (10m)')
    .option('--no-log-prefix', 'do not prefix lines with the container name')
    .option('--no-color', 'no colours')
    .option('--index <n>', 'the replica number of the service')
    .action(async (names: string[], o: { follow?: boolean; tail: string; since?: string; until?: string; timestamps?: boolean; logPrefix: boolean; color: boolean; index?: string }) => {
      if (o.color === false) setColor(false);
      const tail = o.tail === 'all' ? undefined : Number(o.tail);
      if (tail !== undefined && !Number.isInteger(tail)) throw new DockyardError('USAGE', `invalid --tail "${o.tail}"`, { hint: 'a number of lines, or all' });
      const since = o.since ? parseSince(o.since) : undefined;
      const until = o.until ? parseSince(o.until) : undefined;
      const { handle } = await context(globals(), true, names);
      const print = logPrinter({ prefix: o.logPrefix, timestamps: o.timestamps });
      for await (const item of handle.logStream(names, { follow: o.follow, tail, since, until, index: o.index ? Number(o.index) : undefined })) print(item);
    });
}
