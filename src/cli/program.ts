/** The dockyard program: every command, its flags and the global ones (what main runs and completion reads). */
import { Command } from 'commander';
import { addGlobalOptions, applyGlobalSettings } from './common.js';
import type { GlobalOptions } from './common.js';
import { registerConfig } from './config.js';
import { registerUp } from './up.js';
import { registerLifecycle, registerMoreLifecycle } from './lifecycle.js';
import { registerPs } from './ps.js';
import { registerLogs } from './logs.js';
import { registerExec } from './exec.js';
import { registerBuild } from './build.js';
import { registerBake } from './bake.js';
import { registerInspect } from './inspect.js';
import { registerFiles } from './files.js';
import { registerRegistry } from './registry.js';
import { registerEnvs } from './envs.js';
import { registerWatch } from './watch.js';
import { registerDashboard } from './dashboard.js';
import { registerLint } from './lint.js';
import { registerConvert } from './convert.js';
import { registerDeploy } from './deploy.js';
import { registerConsolidate } from './consolidate.js';
import { registerCompletion } from './completion.js';

export function buildProgram(): Command {
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
      ansi: own.ansi ?? top.ansi,
      progress: own.progress ?? top.progress,
      parallel: active.name() === 'build' ? top.parallel : own.parallel ?? top.parallel,
      compatibility: own.compatibility || top.compatibility,
      dryRun: own.dryRun || top.dryRun,
      context: own.context ?? top.context,
      host: own.host ?? top.host,
    } satisfies GlobalOptions;
  };
  program.hook('preAction', () => applyGlobalSettings(globals()));
  registerConfig(program, globals);
  registerUp(program, globals);
  registerLifecycle(program, globals);
  registerMoreLifecycle(program, globals);
  registerPs(program, globals);
  registerLogs(program, globals);
  registerExec(program, globals);
  registerBuild(program, globals);
  registerInspect(program, globals);
  registerFiles(program, globals);
  registerRegistry(program, globals);
  registerEnvs(program, globals);
  registerWatch(program, globals);
  registerDashboard(program, globals);
  registerLint(program, globals);
  registerConvert(program, globals);
  registerDeploy(program, globals);
  registerConsolidate(program);
  // bake has its own -f (bake files), as docker buildx bake does
  for (const c of program.commands) {
    addGlobalOptions(c, !['logs', 'rm', 'version'].includes(c.name()), c.name() !== 'run');
    for (const sub of c.commands) addGlobalOptions(sub);
  }
  registerBake(program, globals);
  registerCompletion(program);
  return program;
}
