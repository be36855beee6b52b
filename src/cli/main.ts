#!/usr/bin/env node
/** The dockyard command line: docker compose's verbs and flags. */
import { Command, CommanderError } from 'commander';
import { addGlobalOptions, reportError } from './common.js';
import { finishProgress } from './render.js';
import type { GlobalOptions } from './common.js';
import { registerConfig } from './config.js';
import { registerUp } from './up.js';
import { registerLifecycle } from './lifecycle.js';
import { registerPs } from './ps.js';
import { registerLogs } from './logs.js';
import { registerExec } from './exec.js';
import { registerBuild } from './build.js';
import { registerBake } from './bake.js';

export async function main(argv: string[]): Promise<number> {
  const program = addGlobalOptions(new Command('dockyard'))
    .description('Docker development and test environments, faster and clearer: loads Compose files, builds, runs')
    .version('0.1.0')
    .exitOverride()
    .configureOutput({ outputError: (s, write) => write(s) })
    .showSuggestionAfterError(true)
    .enablePositionalOptions();
  // the command being run: its options merged with the program's (global flags go either side)
  let active: Command = program;
  program.hook('preAction', (_this, actionCommand) => {
    active = actionCommand;
  });
  const globals = () => {
    const own = active.opts<GlobalOptions>();
    const top = program.opts<GlobalOptions>();
    const both = <T>(a?: T[], b?: T[]) => (a || b ? [...(a ?? []), ...(b ?? [])] : undefined);
    return {
      file: both(top.file, active === program ? undefined : own.file),
      projectName: own.projectName ?? top.projectName,
      projectDirectory: own.projectDirectory ?? top.projectDirectory,
      envFile: both(top.envFile, active === program ? undefined : own.envFile),
      profile: both(top.profile, active === program ? undefined : own.profile),
    } satisfies GlobalOptions;
  };
  registerConfig(program, globals);
  registerUp(program, globals);
  registerLifecycle(program, globals);
  registerPs(program, globals);
  registerLogs(program, globals);
  registerExec(program, globals);
  registerBuild(program, globals);
  // bake has its own -f (bake files), as docker buildx bake does
  for (const c of program.commands) addGlobalOptions(c, !['logs', 'rm'].includes(c.name()));
  registerBake(program, globals);
  try {
    await program.parseAsync(argv);
    finishProgress();
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return 0;
      return 2;
    }
    return reportError(e);
  }
}

main(process.argv).then(
  (code) => {
    // a command may have set its own exit code (exec, run, up --exit-code-from)
    if (code !== 0 || process.exitCode === undefined) process.exitCode = code;
  },
  (e) => {
    process.exitCode = reportError(e);
  },
);
