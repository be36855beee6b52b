/** `exec`, `run`, `port`, `top`: working with one service's containers. */
import type { Command } from 'commander';
import { DockyardError } from '../errors.js';
import { projectContainers } from '../converge/state.js';
import { runOneOff } from '../converge/run.js';
import type { GlobalOptions } from './common.js';
import { collectOption, context } from './common.js';
import type { Context } from './common.js';
import { buildServices } from './build.js';
import { takeTerminal, terminalSize } from './terminal.js';

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

async function containerOf(ctx: Context, service: string, index = 1) {
  ctx.converger.targets([service], true);
  await ctx.converger.ensureEngine();
  const cs = await projectContainers(ctx.engine, ctx.project.name, { oneoff: false, services: [service] });
  const c = cs.find((x) => x.number === index) ?? (index === 1 ? cs[0] : undefined);
  if (!c) throw new DockyardError('USAGE', `service "${service}" has no container${index > 1 ? ` number ${index}` : ''}`, { hint: `start it with: dockyard up -d ${service}` });
  return c;
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
      const ctx = await context(globals(), true);
      const c = await containerOf(ctx, service, Number(o.index));
      if (c.state !== 'running') throw new DockyardError('SERVICE_FAILED', `container ${c.name} is not running (${c.status})`, { hint: `start it: dockyard start ${service}` });
      const tty = o.tty && process.stdin.isTTY === true;
      const env = Object.entries(envList(o.env)).map(([k, v]) => `${k}=${v}`);
      // a detached exec may have a TTY in the container, but leaves the local terminal alone
      const terminal = tty && !o.detach ? takeTerminal() : undefined;
      try {
        const code = await ctx.engine.exec(c.id, {
          cmd,
          env,
          user: o.user,
          workdir: o.workdir,
          tty,
          privileged: o.privileged,
          detach: o.detach,
          stdin: o.detach ? undefined : tty || !process.stdin.isTTY ? process.stdin : undefined,
          stdout: process.stdout,
          stderr: process.stderr,
          consoleSize: tty ? terminalSize() : undefined,
          followSize: terminal?.follow,
        });
        process.exitCode = code;
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
    .passThroughOptions()
    .action(async (service: string, cmd: string[], o: { rm?: boolean; detach?: boolean; env?: string[]; name?: string; deps: boolean; user?: string; workdir?: string; entrypoint?: string; tty: boolean; servicePorts?: boolean }) => {
      const ctx = await context(globals(), false, [service]);
      const { project, engine, converger } = ctx;
      const tty = o.tty && process.stdin.isTTY === true && !o.detach;
      // without a TTY, Ctrl-C is passed on as SIGINT; a second one kills the container (a shell as
      // PID 1 ignores SIGINT). With a TTY, Ctrl-C reaches the container as a key.
      let terminal: ReturnType<typeof takeTerminal> | undefined;
      try {
        const r = await runOneOff(converger, service, {
          command: cmd,
          env: envList(o.env),
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
          build: async (svcs) => void (await buildServices(engine, project, svcs.map((x) => x.name), {}, ctx.progress)),
          onAttach: () => {
            ctx.progress.finish();
            terminal = tty ? takeTerminal() : undefined;
          },
          onStart: (id) => {
            const unfollow = terminal?.follow((h, w) => void engine.resizeContainer(id, h, w).catch(() => undefined));
            let interrupts = 0;
            const forward = () => {
              if (++interrupts > 1) process.stderr.write('killing the container\n');
              void engine.killContainer(id, interrupts > 1 ? 'SIGKILL' : 'SIGINT');
            };
            if (!tty) process.on('SIGINT', forward);
            return () => {
              unfollow?.();
              process.off('SIGINT', forward);
            };
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
      const ctx = await context(globals(), true);
      const c = await containerOf(ctx, service, Number(o.index));
      const info = await ctx.engine.inspectContainer(c.id);
      const b = info?.NetworkSettings.Ports?.[`${port}/${o.protocol}`];
      if (!b?.length) throw new DockyardError('USAGE', `port ${port}/${o.protocol} of ${service} is not published`, { hint: 'publish it under ports: in the Compose file' });
      process.stdout.write(`${b[0]!.HostIp || '0.0.0.0'}:${b[0]!.HostPort}\n`);
    });

  program
    .command('top')
    .description('show the processes running in containers')
    .argument('[services...]')
    .action(async (names: string[]) => {
      const ctx = await context(globals(), true);
      if (names.length) ctx.converger.targets(names, true);
      await ctx.converger.ensureEngine();
      const cs = (await projectContainers(ctx.engine, ctx.project.name, { oneoff: false, services: names.length ? names : undefined })).filter((c) => c.state === 'running');
      for (const c of cs) {
        const t = await ctx.engine.topContainer(c.id);
        const rows = [t.Titles, ...t.Processes];
        const w = t.Titles.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
        process.stdout.write(`${c.name}\n${rows.map((r) => r.map((x, i) => (i === r.length - 1 ? x : (x ?? '').padEnd(w[i]!))).join('  ')).join('\n')}\n\n`);
      }
    });
}
