/** `cp`, `export`, `commit`, `attach`: files and streams of a service's container. */
import { createWriteStream } from 'node:fs';
import type { Command } from 'commander';
import { DockyardError } from '../errors.js';
import type { GlobalOptions } from './common.js';
import { context } from './common.js';
import { takeTerminal } from './terminal.js';

const index = (v: string) => {
  if (!/^\d+$/.test(v) || Number(v) < 1) throw new DockyardError('USAGE', `--index must be a whole number of at least 1, not "${v}"`);
  return Number(v);
};

export function registerFiles(program: Command, globals: () => GlobalOptions): void {
  program
    .command('cp')
    .description('copy files between a service container and here: cp SERVICE:SRC DEST, cp SRC SERVICE:DEST (- is a tar stream)')
    .argument('<source>')
    .argument('<destination>')
    .option('--index <n>', 'the replica (default 1)', index)
    .option('--all', 'into every container of the service')
    .option('-a, --archive', 'keep the files\' owners (uid, gid)')
    .option('-L, --follow-link', 'copy what symbolic links in the source point to')
    .action(async (src: string, dest: string, o: { index?: number; all?: boolean; archive?: boolean; followLink?: boolean }) => {
      const { handle } = await context(globals(), true, [src, dest].flatMap(serviceOf));
      // stdin is only touched for `cp - SERVICE:DEST` (opening it would keep the process alive)
      const r = await handle.cp(src, dest, { ...o, stdin: src === '-' ? process.stdin : undefined, stdout: process.stdout });
      if (dest !== '-') process.stderr.write(`copied ${src} to ${dest}${r.containers.length > 1 ? ` (${r.containers.join(', ')})` : ''}\n`);
    });

  program
    .command('export')
    .description("export a service container's filesystem as a tar archive")
    .argument('<service>')
    .option('--index <n>', 'the replica (default 1)', index)
    .option('-o, --output <file>', 'write to a file instead of stdout')
    .action(async (service: string, o: { index?: number; output?: string }) => {
      if (!o.output && process.stdout.isTTY) throw new DockyardError('USAGE', 'refusing to write a tar archive to a terminal', { hint: 'use -o FILE, or redirect the output' });
      const { handle } = await context(globals(), true, [service]);
      const tar = await handle.export(service, { index: o.index });
      const out = o.output ? createWriteStream(o.output) : process.stdout;
      await new Promise<void>((res, rej) => {
        tar.on('error', rej);
        if (o.output) out.on('finish', res).on('error', rej);
        else tar.on('end', res);
        tar.pipe(out, { end: !!o.output });
      });
    });

  program
    .command('commit')
    .description("a new image from a service container's changes")
    .argument('<service>')
    .argument('[repository[:tag]]')
    .option('--index <n>', 'the replica (default 1)', index)
    .option('-a, --author <author>', 'author')
    .option('-m, --message <message>', 'commit message')
    .option('-c, --change <instruction>', 'a Dockerfile instruction to apply (repeatable)', (v: string, prev: string[] = []) => [...prev, v])
    .option('--no-pause', 'do not pause the container while committing')
    .action(async (service: string, ref: string | undefined, o: { index?: number; author?: string; message?: string; change?: string[]; pause: boolean }) => {
      const { handle } = await context(globals(), true, [service]);
      const at = ref ? ref.lastIndexOf(':') : -1;
      const [repo, tag] = ref && at > ref.lastIndexOf('/') ? [ref.slice(0, at), ref.slice(at + 1)] : [ref, undefined];
      process.stdout.write(`${await handle.commit(service, { index: o.index, repo, tag, author: o.author, message: o.message, changes: o.change, pause: o.pause })}\n`);
    });

  program
    .command('attach')
    .description("attach this terminal's input and output to a service's running container")
    .argument('<service>')
    .option('--index <n>', 'the replica (default 1)', index)
    .option('--no-stdin', 'do not attach stdin')
    .option('--sig-proxy', 'pass signals on to the container (default true; --sig-proxy=false to not)', true)
    .option('--detach-keys <keys>', 'keys that detach (default ctrl-p,ctrl-q)', 'ctrl-p,ctrl-q')
    .action(async (service: string, o: { index?: number; stdin: boolean; sigProxy: boolean | string; detachKeys: string }) => {
      const { handle } = await context(globals(), true, [service]);
      const info = await handle.inspect(service, o.index ?? 1);
      if (!info?.State.Running) throw new DockyardError('SERVICE_FAILED', `container of ${service} is not running`, { hint: `start it: dockyard start ${service}` });
      const tty = info.Config.Tty === true;
      const io = await handle.engine.attachContainer(info.Id, tty);
      const terminal = tty && o.stdin && process.stdin.isTTY ? takeTerminal() : undefined;
      const unfollow = terminal?.follow((h, w) => void handle.engine.resizeContainer(info.Id, h, w).catch(() => undefined));
      const keys = detachSequence(o.detachKeys);
      const proxy = o.sigProxy !== false && o.sigProxy !== 'false';
      const forward = (sig: NodeJS.Signals) => () => void handle.engine.killContainer(info.Id, sig);
      const onInt = forward('SIGINT');
      const onTerm = forward('SIGTERM');
      if (proxy && !tty) {
        process.on('SIGINT', onInt);
        process.on('SIGTERM', onTerm);
      }
      let detached = false;
      try {
        io.stdout.pipe(process.stdout, { end: false });
        io.stderr.pipe(process.stderr, { end: false });
        if (o.stdin) {
          let matched = 0;
          process.stdin.on('data', (b: Buffer) => {
            for (const byte of b) {
              matched = byte === keys[matched] ? matched + 1 : byte === keys[0] ? 1 : 0;
              if (matched === keys.length) {
                detached = true;
                io.close();
                return;
              }
            }
            io.stdin.write(b);
          });
        }
        await new Promise<void>((res) => {
          io.stdout.on('end', res);
          io.stdout.on('close', res);
        });
        if (!detached) {
          const code = await handle.engine.waitContainer(info.Id).catch(() => 0);
          process.exitCode = code;
        } else process.stderr.write('\nread escape sequence\n');
      } finally {
        unfollow?.();
        terminal?.restore();
        process.off('SIGINT', onInt);
        process.off('SIGTERM', onTerm);
        process.stdin.pause();
        process.stdin.unref?.();
      }
    });
}

/** The service of a `cp` side written SERVICE:PATH (none for a local path or -), as the copy reads it. */
function serviceOf(side: string): string[] {
  const m = /^([a-zA-Z0-9][a-zA-Z0-9_.-]*):/.exec(side);
  return m && !/^[a-zA-Z]$/.test(m[1]!) ? [m[1]!] : [];
}

/** "ctrl-p,ctrl-q" as the bytes typed. */
function detachSequence(spec: string): number[] {
  return spec.split(',').map((k) => {
    const m = /^ctrl-([a-z@[\\\]^_])$/i.exec(k.trim());
    if (m) return m[1]!.toLowerCase().charCodeAt(0) & 0x1f;
    if (k.trim().length === 1) return k.trim().charCodeAt(0);
    throw new DockyardError('USAGE', `invalid detach key "${k}"`, { hint: 'e.g. ctrl-p,ctrl-q' });
  });
}
