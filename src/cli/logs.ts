/** `dockyard logs`, and the log streaming shared with attached `up` and `run`. */
import type { Command } from 'commander';
import type { Engine } from '../engine/engine.js';
import { projectContainers } from '../converge/state.js';
import type { ProjectContainer } from '../converge/state.js';
import { DockyardError } from '../errors.js';
import type { GlobalOptions } from './common.js';
import { context } from './common.js';
import { formatLine } from './render.js';
import { parseSince, streamLogs } from '../converge/logs.js';

export interface FollowOptions {
  follow?: boolean;
  tail?: number | 'all';
  since?: number;
  timestamps?: boolean;
  prefix?: boolean;
  /** with follow: also follow the project's containers (of these services) that start meanwhile */
  watch?: { project: string; services?: string[] };
}

/**
 * Prints the logs of containers (library: converge/logs.ts), each line prefixed with the
 * container's name in its service's colour. With follow, returns when every container has
 * stopped, with their exit codes; `onRestart` is told of runs that a restart policy follows up.
 */
export async function followLogs(
  engine: Engine,
  cs: ProjectContainer[],
  o: FollowOptions,
  onExit?: (c: ProjectContainer, code: number) => void,
  onRestart?: (c: ProjectContainer, code: number) => void,
): Promise<Map<string, number>> {
  let width = Math.max(0, ...cs.map((c) => c.name.length));
  const services = [...new Set(cs.map((c) => c.service))];
  const exits = new Map<string, number>();
  for await (const item of streamLogs(engine, cs, { follow: o.follow, tail: o.tail, since: o.since, watch: o.watch })) {
    if (item.kind === 'follow') {
      if (!services.includes(item.container.service)) services.push(item.container.service);
      width = Math.max(width, item.container.name.length);
    } else if (item.kind === 'line') {
      process.stdout.write(formatLine(item, o.prefix === false ? undefined : { width, color: services.indexOf(item.service) }, o.timestamps));
    } else if (item.kind === 'exit') {
      exits.set(item.container.id, item.code);
      onExit?.(item.container, item.code);
    } else onRestart?.(item.container, item.code);
  }
  return exits;
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
    .option('--no-log-prefix', 'do not prefix lines with the container name')
    .option('--index <n>', 'the replica number of the service')
    .action(async (names: string[], o: { follow?: boolean; tail: string; since?: string; timestamps?: boolean; logPrefix: boolean; index?: string }) => {
      const { project, engine, converger } = await context(globals(), true);
      if (names.length) converger.targets(names, true);
      await converger.ensureEngine();
      let cs = await projectContainers(engine, project.name, { services: names.length ? names : undefined });
      if (o.index) cs = cs.filter((c) => c.number === Number(o.index));
      const tail = o.tail === 'all' ? 'all' : Number(o.tail);
      if (tail !== 'all' && !Number.isInteger(tail)) throw new DockyardError('USAGE', `invalid --tail "${o.tail}"`, { hint: 'a number of lines, or all' });
      const watch = o.index ? undefined : { project: project.name, services: names.length ? names : undefined };
      await followLogs(engine, cs, { follow: o.follow, tail, since: o.since ? parseSince(o.since) : undefined, timestamps: o.timestamps, prefix: o.logPrefix, watch });
    });
}
