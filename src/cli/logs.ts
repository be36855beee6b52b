/** `dockyard logs`, and the log streaming shared with attached `up` and `run`. */
import type { Command } from 'commander';
import type { Engine } from '../engine/engine.js';
import { projectContainers } from '../converge/state.js';
import type { ProjectContainer } from '../converge/state.js';
import { DockyardError } from '../errors.js';
import { parseDuration } from '../load/units.js';
import type { GlobalOptions } from './common.js';
import { context } from './common.js';
import { prefixer } from './render.js';

export interface FollowOptions {
  follow?: boolean;
  tail?: number | 'all';
  since?: number;
  timestamps?: boolean;
  prefix?: boolean;
  /** where the containers' stderr goes: stdout (logs, up) or stderr (run) */
  stderrTo?: 'stdout' | 'stderr';
}

/**
 * Streams the logs of containers to stdout, each line prefixed with the container's name.
 * With follow, returns when every container has stopped, with their exit codes.
 */
export async function followLogs(engine: Engine, cs: ProjectContainer[], o: FollowOptions, onExit?: (c: ProjectContainer, code: number) => void): Promise<Map<string, number>> {
  const width = Math.max(0, ...cs.map((c) => c.name.length));
  const services = [...new Set(cs.map((c) => c.service))];
  const exits = new Map<string, number>();
  await Promise.all(
    cs.map(async (c) => {
      const info = await engine.inspectContainer(c.id);
      const tty = info?.Config.Tty ?? false;
      const logs = await engine.containerLogs(c.id, { follow: o.follow, tail: o.tail, since: o.since, timestamps: o.timestamps }, tty);
      // one prefixer per stream: each keeps its own partial last line
      const p = o.prefix === false ? (b: Buffer | string) => b.toString() : prefixer(width, c.name, services.indexOf(c.service));
      const pe = o.prefix === false ? (b: Buffer | string) => b.toString() : prefixer(width, c.name, services.indexOf(c.service));
      logs.stdout.on('data', (b: Buffer) => process.stdout.write(p(b)));
      logs.stderr.on('data', (b: Buffer) => (o.stderrTo === 'stderr' ? process.stderr : process.stdout).write(pe(b)));
      await logs.done;
      if (o.follow) {
        const code = await engine.waitContainer(c.id).catch(() => -1);
        exits.set(c.id, code);
        onExit?.(c, code);
      }
    }),
  );
  return exits;
}

/** "10m", "1h30m" (relative), an RFC 3339 date, or unix seconds: as unix seconds. */
export function parseSince(v: string): number {
  if (/^\d+$/.test(v)) return Number(v);
  const ns = parseDuration(v);
  if (ns !== undefined) return Math.floor((Date.now() - ns / 1e6) / 1000);
  const t = Date.parse(v);
  if (!Number.isNaN(t)) return Math.floor(t / 1000);
  throw new DockyardError('USAGE', `invalid --since "${v}"`, { hint: 'write a duration (10m, 1h) or a date (2024-01-02T15:04:05Z)' });
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
      await followLogs(engine, cs, { follow: o.follow, tail, since: o.since ? parseSince(o.since) : undefined, timestamps: o.timestamps, prefix: o.logPrefix });
    });
}
