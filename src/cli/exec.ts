/** `exec`, `run`, `port`, `top`: working with one service's containers. */
import type { Command } from 'commander';
import { DockyardError } from '../errors.js';
import type { GlobalOptions } from './common.js';
import { collectOption, context } from './common.js';
import { takeTerminal, terminalSize } from './terminal.js';
import { parsePull } from './up.js';
import { readEnvFiles } from '../load/dotenv.js';
import { resolve } from 'node:path';

function envList(e: string[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const kv of e ?? []) {
    const i = kv.indexOf('=');
    if (i < 0) {
      const v = process.env[kv];
      if (v !== undefined) out[kv] = v;
    } else out[kv.slice(0, i)] = kv.slice(i + 1);
  }
  return out;
}

export function registerExec(program: Command, globals: () => GlobalOptions): void {
  program
    .command('exec')
    .description('run a command in a running container')
    .argument('<service>')
    .argument('<command...>')
    .option('-T, --no-tty', 'no pseudo-TTY (default: a TTY when stdin is one)')
    .option('-d, --detach', 'run in the background')
    .option('-e, --env <KEY=VALUE>', 'environment variable (repeatable)', collectOption)
    .option('-u, --user <user>', 'user')
    .option('-w, --workdir <dir>', 'working directory')
    .option('--privileged', 'extended privileges')
    .option('--index <n>', 'replica number', '1')
    .passThroughOptions()
    .action(async (service: string, cmd: string[], o: { tty: boolean; detach?: boolean; env?: string[]; user?: string; workdir?: string; privileged?: boolean; index: string }) => {
      const { handle } = await context(globals(), true, [service]);
      const tty = o.tty && process.stdin.isTTY === true;
      // a detached exec may have a TTY in the container, but leaves the local terminal alone
      let terminal: ReturnType<typeof takeTerminal> | undefined;
      try {
        const { exitCode } = await handle.exec(service, cmd, {
          index: Number(o.index),
          env: envList(o.env),
          user: o.user,
          workdir: o.workdir,
          tty,
          privileged: o.privileged,
          detach: o.detach,
          stdin: o.detach ? undefined : tty || !process.stdin.isTTY ? process.stdin : undefined,
          stdout: process.stdout,
          stderr: process.stderr,
          consoleSize: tty ? terminalSize() : undefined,
          followSize: tty && !o.detach ? (apply) => (terminal = takeTerminal()).follow(apply) : undefined,
        });
        process.exitCode = exitCode;
      } finally {
        terminal?.restore();
        process.stdin.unref?.();
        process.stdin.pause();
      }
    });

  program
    .command('run')
    .description('run a one-off command in a new container of a service')
    .argument('<service>')
    .argument('[command...]')
    .option('--rm', 'remove the container when it exits')
    .option('-d, --detach', 'run in the background, print the container name')
    .option('-e, --env <KEY=VALUE>', 'environment variable (repeatable)', collectOption)
    .option('--name <name>', 'container name')
    .option('--no-deps', 'do not start the services it depends on')
    .option('-u, --user <user>', 'user')
    .option('-w, --workdir <dir>', 'working directory')
    .option('--entrypoint <cmd>', 'override the entrypoint')
    .option('-T, --no-tty', 'no pseudo-TTY')
    .option('-P, --service-ports', "publish the service's ports")
    .option('-p, --publish <[ip:]host:container>', 'publish a port (repeatable)', collectOption)
    .option('-v, --volume <source:target[:ro]>', 'mount a volume or host path (repeatable)', collectOption)
    .option('-l, --label <KEY=VALUE>', 'a label (repeatable)', collectOption)
    .option('--cap-add <cap>', 'add a capability (repeatable)', collectOption)
    .option('--cap-drop <cap>', 'drop a capability (repeatable)', collectOption)
    .option('--use-aliases', "answer to the service's name and aliases on its networks")
    .option('--env-from-file <file>', 'environment variables from a file (repeatable)', collectOption)
    .option('--pull <policy>', 'pull the image first: always, missing, never')
    .option('--build', "build the service's image first, even if current")
    .option('--remove-orphans', 'remove containers of services no longer defined')
    .option('-q, --quiet', 'no progress output (pull, dependencies)')
    .option('--quiet-pull', 'no pull progress')
    .option('--quiet-build', 'no build progress')
    .option('-i, --interactive', 'keep stdin open (the default: it always is, unless -d)')
    .passThroughOptions()
    .action(async (service: string, cmd: string[], o: { rm?: boolean; detach?: boolean; env?: string[]; name?: string; deps: boolean; user?: string; workdir?: string; entrypoint?: string; tty: boolean; servicePorts?: boolean; publish?: string[]; volume?: string[]; label?: string[]; capAdd?: string[]; capDrop?: string[]; useAliases?: boolean; envFromFile?: string[]; pull?: string; build?: boolean; removeOrphans?: boolean; quiet?: boolean }) => {
      const pull = parsePull(o.pull);
      const labels: Record<string, string> = {};
      for (const l of o.label ?? []) {
        const i = l.indexOf('=');
        labels[i < 0 ? l : l.slice(0, i)] = i < 0 ? '' : l.slice(i + 1);
      }
      const fileEnv = o.envFromFile?.length ? readEnvFiles(o.envFromFile.map((path) => ({ path: resolve(path) })), process.env) : {};
      const ctx = await context(globals(), o.quiet === true, [service]);
      const { engine, handle } = ctx;
      const tty = o.tty && process.stdin.isTTY === true && !o.detach;
      // without a TTY, Ctrl-C is passed on as SIGINT; a second one kills the container (a shell as
      // PID 1 ignores SIGINT). With a TTY, Ctrl-C reaches the container as a key.
      let terminal: ReturnType<typeof takeTerminal> | undefined;
      try {
        if (o.build) await handle.build([service], { force: true, onEvent: ctx.progress.emit });
        const r = await handle.run(service, cmd, {
          onEvent: ctx.progress.emit,
          publish: o.publish,
          volumes: o.volume,
          labels,
          capAdd: o.capAdd,
          capDrop: o.capDrop,
          useAliases: o.useAliases,
          pull,
          removeOrphans: o.removeOrphans,
          env: { ...fileEnv, ...envList(o.env) },
          name: o.name,
          noDeps: !o.deps,
          user: o.user,
          workdir: o.workdir,
          entrypoint: o.entrypoint ? [o.entrypoint] : undefined,
          servicePorts: o.servicePorts,
          rm: o.rm,
          detach: o.detach,
          tty,
          consoleSize: tty ? terminalSize() : undefined,
          stdin: o.detach ? undefined : process.stdin,
          stdout: process.stdout,
          stderr: process.stderr,
          onAttach: () => {
            ctx.progress.finish();
            terminal = tty ? takeTerminal() : undefined;
          },
          // the terminal's size once the container runs (engines before API 1.42 take it only then)
          onStart: (id) => terminal?.follow((h, w) => void engine.resizeContainer(id, h, w).catch(() => undefined)),
          // Ctrl-C before the start call returns: the container's first output can come first
          beforeStart: (id) => {
            let interrupts = 0;
            const forward = () => {
              if (++interrupts > 1) process.stderr.write('killing the container\n');
              // (a container still starting refuses it: Ctrl-C again)
              void engine.killContainer(id, interrupts > 1 ? 'SIGKILL' : 'SIGINT').catch(() => undefined);
            };
            if (!tty) process.on('SIGINT', forward);
            return () => void process.off('SIGINT', forward);
          },
        });
        if (o.detach) process.stdout.write(`${r.container}\n`);
        else process.exitCode = r.exitCode;
      } finally {
        terminal?.restore();
        process.stdin.pause();
        process.stdin.unref?.();
      }
    });

  program
    .command('port')
    .description('print the host address a container port is published on')
    .argument('<service>')
    .argument('<port>')
    .option('--protocol <proto>', 'tcp or udp', 'tcp')
    .option('--index <n>', 'replica number', '1')
    .action(async (service: string, port: string, o: { protocol: string; index: string }) => {
      if (!/^\d+$/.test(port)) throw new DockyardError('USAGE', `invalid port "${port}"`, { hint: 'the container port, a number' });
      if (!['tcp', 'udp', 'sctp'].includes(o.protocol)) throw new DockyardError('USAGE', `invalid --protocol "${o.protocol}"`, { hint: 'tcp, udp or sctp' });
      const { handle } = await context(globals(), true, [service]);
      const b = await handle.port(service, Number(port), { protocol: o.protocol as 'tcp', index: Number(o.index) });
      process.stdout.write(`${b.hostIp}:${b.port}\n`);
    });

  program
    .command('top')
    .description('show the processes running in containers')
    .argument('[services...]')
    .action(async (names: string[]) => {
      const { handle } = await context(globals(), true, names);
      for (const t of await handle.top(names)) {
        const rows = [t.titles, ...t.processes];
        const w = t.titles.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
        process.stdout.write(`${t.container}\n${rows.map((r) => r.map((x, i) => (i === r.length - 1 ? x : (x ?? '').padEnd(w[i]!))).join('  ')).join('\n')}\n\n`);
      }
    });
}
