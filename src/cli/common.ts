/** Options every command shares (the docker compose global flags) and error output. */
import type { Command } from 'commander';
import { DockyardError } from '../errors.js';
import type { LoadOptions } from '../load/index.js';

export interface GlobalOptions {
  file?: string[];
  projectName?: string;
  projectDirectory?: string;
  envFile?: string[];
  profile?: string[];
}

const collect = (v: string, prev: string[] = []) => [...prev, v];

export function addGlobalOptions(cmd: Command): Command {
  return cmd
    .option('-f, --file <file>', 'Compose file (repeatable; "-" reads stdin)', collect)
    .option('-p, --project-name <name>', 'project name')
    .option('--project-directory <dir>', 'project directory (default: the directory of the first file)')
    .option('--env-file <file>', 'environment file (repeatable)', collect)
    .option('--profile <profile>', 'enable a profile (repeatable)', collect);
}

export function loadOptionsFrom(g: GlobalOptions, extra: Partial<LoadOptions> = {}): LoadOptions {
  return {
    files: g.file,
    projectName: g.projectName,
    projectDirectory: g.projectDirectory,
    envFiles: g.envFile,
    profiles: g.profile,
    onWarning: (m) => process.stderr.write(`warning: ${m}\n`),
    ...extra,
  };
}

/** Prints an error the way users should see it: one or two lines, no stack. Returns the exit code. */
export function reportError(e: unknown): number {
  if (e instanceof DockyardError) {
    process.stderr.write(`error: ${e.format()}\n`);
    return e.exitCode;
  }
  const err = e as Error;
  if (err && (err as { code?: string }).code === 'commander.help') return 0;
  process.stderr.write(`error: ${err?.message ?? String(e)}\n`);
  if (process.env.DOCKYARD_DEBUG) process.stderr.write(`${err?.stack ?? ''}\n`);
  return 1;
}
