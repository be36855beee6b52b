/**
 * `down`, `start`, `stop`, `restart`, `kill`, `rm`, `pause`, `unpause`, `scale`, `wait`. Services named on
 * the line have their profiles enabled (as in Compose): `stop job` works on a service under a profile.
 */
import { constants } from 'node:os';
import type { Command } from 'commander';
import { DockyardError } from '../errors.js';
import type { GlobalOptions } from './common.js';
import { context, parseIntOption, parseTimeoutMs } from './common.js';
import { envFlag } from './colour.js';

export function registerLifecycle(program: Command, globals: () => GlobalOptions): void {
  program
    .command('down')
    .description('stop and remove containers and networks (and volumes with -v)')
    .option('-v, --volumes', 'also remove named volumes declared by the project, and anonymous volumes')
    .option('--remove-orphans', 'also remove containers of services no longer defined (default: COMPOSE_REMOVE_ORPHANS)')
    .option('--rmi <which>', 'remove images: local (built ones without a name) or all')
    .option('-t, --timeout <seconds>', 'seconds to wait for each container to stop', parseIntOption('--timeout'))
    .action(async (o: { volumes?: boolean; removeOrphans?: boolean; rmi?: string; timeout?: number }) => {
      if (o.rmi !== undefined && o.rmi !== 'local' && o.rmi !== 'all') throw new DockyardError('USAGE', `invalid --rmi "${o.rmi}"`, { hint: 'local or all' });
      const { handle } = await context(globals());
      const t0 = Date.now();
      await handle.down({ volumes: o.volumes, removeOrphans: o.removeOrphans ?? envFlag(process.env.COMPOSE_REMOVE_ORPHANS), rmi: o.rmi as 'local' | 'all' | undefined, timeoutS: o.timeout });
      process.stderr.write(`down in ${((Date.now() - t0) / 1000).toFixed(2)}s\n`);
    });

  program
    .command('start')
    .description('start existing containers (and those of their dependencies), in dependency order')
    .argument('[services...]')
    .option('--wait', 'wait until they are running, healthy or completed')
    .option('--wait-timeout <duration>', 'give up waiting after this long (seconds or 30s, 2m)')
    .action(async (names: string[], o: { wait?: boolean; waitTimeout?: string }) => {
      await (await context(globals(), false, names)).handle.start(names, { wait: o.wait || o.waitTimeout !== undefined, waitTimeoutMs: parseTimeoutMs(o.waitTimeout, '--wait-timeout') });
    });

  program
    .command('stop')
    .description('stop running containers (dependents first)')
    .argument('[services...]')
    .option('-t, --timeout <seconds>', 'seconds to wait before killing', parseIntOption('--timeout'))
    .action(async (names: string[], o: { timeout?: number }) => {
      await (await context(globals(), false, names)).handle.stop(names, { timeoutS: o.timeout });
    });

  program
    .command('restart')
    .description('restart containers')
    .argument('[services...]')
    .option('-t, --timeout <seconds>', 'seconds to wait before killing', parseIntOption('--timeout'))
    .option('--no-deps', 'accepted: restart never restarts dependencies it was not asked to')
    .action(async (names: string[], o: { timeout?: number }) => {
      await (await context(globals(), false, names)).handle.restart(names, { timeoutS: o.timeout });
    });

  program
    .command('kill')
    .description('send a signal to running containers')
    .argument('[services...]')
    .option('-s, --signal <signal>', 'the signal (SIGTERM, TERM, 15, SIGRTMIN+3)', parseSignal, 'SIGKILL')
    .option('--remove-orphans', 'remove containers of services no longer defined (default: COMPOSE_REMOVE_ORPHANS)')
    .action(async (names: string[], o: { signal: string; removeOrphans?: boolean }) => {
      await (await context(globals(), false, names)).handle.kill(names, { signal: o.signal, removeOrphans: o.removeOrphans ?? envFlag(process.env.COMPOSE_REMOVE_ORPHANS) });
    });

  program
    .command('rm')
    .description('remove stopped containers')
    .argument('[services...]')
    .option('-s, --stop', 'stop them first')
    .option('-f, --force', 'do not ask (dockyard never asks)')
    .option('-v, --volumes', 'remove anonymous volumes too')
    .action(async (names: string[], o: { stop?: boolean; volumes?: boolean }) => {
      const removed = await (await context(globals(), false, names)).handle.rm(names, o);
      if (!removed.length) process.stderr.write('no stopped containers\n');
    });
}

export function registerMoreLifecycle(program: Command, globals: () => GlobalOptions): void {
  for (const [verb, what] of [['pause', 'pause the running containers of services'], ['unpause', 'unpause the paused containers of services']] as const) {
    program
      .command(verb)
      .description(what)
      .argument('[services...]')
      .action(async (names: string[]) => {
        const { handle } = await context(globals(), true, names);
        const done = await handle[verb](names);
        process.stderr.write(done.length ? done.map((n) => ` ✔ Container ${n}  ${verb === 'pause' ? 'Paused' : 'Unpaused'}\n`).join('') : `no ${verb === 'pause' ? 'running' : 'paused'} containers\n`);
      });
  }

  program
    .command('scale')
    .description('set the number of containers of services: scale web=3 worker=0')
    .argument('<service=replicas...>')
    .option('--no-deps', 'do not start the services they depend on')
    .action(async (pairs: string[], o: { deps: boolean }) => {
      const replicas: Record<string, number> = {};
      for (const p of pairs) {
        const m = /^([^=]+)=(\d+)$/.exec(p);
        if (!m) throw new DockyardError('USAGE', `invalid scale "${p}"`, { hint: 'write SERVICE=REPLICAS, e.g. web=3' });
        replicas[m[1]!] = Number(m[2]);
      }
      const { handle } = await context(globals(), false, Object.keys(replicas));
      await handle.scale(replicas, { noDeps: !o.deps });
    });

  program
    .command('wait')
    .description('wait until the containers of services have stopped; exit with the code of the last one')
    .argument('<services...>')
    .option('--down-project', 'bring the project down once the first container stops')
    .action(async (names: string[], o: { downProject?: boolean }) => {
      const { handle } = await context(globals(), true, names);
      process.exitCode = await handle.wait(names, { downProject: o.downProject, onExit: (c, code) => process.stdout.write(`container "${c}" exited with status code ${code}\n`) });
    });
}

/** A signal as the engine takes it, checked here so that a typo is a usage error, not a failure. */
export function parseSignal(v: string): string {
  if (/^\d+$/.test(v) && Number(v) >= 1 && Number(v) <= 64) return v;
  const name = v.toUpperCase().replace(/^SIG/, '');
  if (`SIG${name}` in constants.signals || /^RT(MIN|MAX)([+-]\d+)?$/.test(name)) return `SIG${name}`;
  const known = Object.keys(constants.signals).map((s) => s.replace(/^SIG/, ''));
  throw new DockyardError('USAGE', `unknown signal "${v}"`, { hint: `a number (1-64) or a name: ${known.slice(0, 12).join(', ')}, ...` });
}
