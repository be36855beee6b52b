/** Options every command shares (the docker compose global flags) and error output. */
import type { Command } from 'commander';
import { DockyardError } from '../errors.js';
import { selectEngine } from '../engine/context.js';
import type { LoadOptions } from '../load/index.js';
import { parseDuration } from '../load/units.js';
import { envFilesFrom, resolveAnsi, resolveProgress } from './colour.js';

export interface GlobalOptions {
  file?: string[];
  projectName?: string;
  projectDirectory?: string;
  envFile?: string[];
  profile?: string[];
  ansi?: string;
  progress?: string;
  parallel?: number;
  compatibility?: boolean;
  dryRun?: boolean;
  /** the docker context to use (--context / -c) */
  context?: string;
  /** the engine's address (--host / -H) */
  host?: string;
}

const collect = (v: string, prev: string[] = []) => [...prev, v];

/**
 * The docker compose global flags. They are accepted before the command and after it (as
 * Compose accepts them); where a command has its own -f (logs --follow, rm --force) or -p
 * (run --publish), only --file or --project-name is accepted after that command.
 */
export function addGlobalOptions(cmd: Command, shortFile = true, shortProject = true): Command {
  // a command's own option of the same name wins (registry prune --dry-run, build --parallel)
  const has = (long: string) => cmd.options.some((o) => o.long === long);
  const add = (flags: string, what: string, parse?: (v: string, prev?: never) => unknown) => {
    const long = flags.split(/[ ,]+/).find((f) => f.startsWith('--'))!;
    // a short flag the command has for itself (commit -c) leaves the long one only
    const short = /^(-[A-Za-z]), /.exec(flags)?.[1];
    const own = short !== undefined && cmd.options.some((o) => o.short === short);
    const spec = own ? flags.slice(flags.indexOf(', ') + 2) : flags;
    if (!has(long)) (parse ? cmd.option(spec, what, parse as never) : cmd.option(spec, what));
  };
  add(shortFile ? '-f, --file <file>' : '--file <file>', 'Compose file (repeatable; "-" reads stdin)', collect as never);
  add(shortProject ? '-p, --project-name <name>' : '--project-name <name>', 'project name');
  add('--project-directory <dir>', 'project directory (default: the directory of the first file)');
  add('--env-file <file>', 'environment file (repeatable)', collect as never);
  add('--profile <profile>', 'enable a profile (repeatable)', collect as never);
  add('--ansi <when>', 'colours and live progress: never, always, auto');
  add('--progress <type>', 'progress output: auto, tty, plain, json, quiet');
  add('--compatibility', 'container names as docker-compose v1 made them (project_service_1)');
  add('--dry-run', 'show what would change; change nothing');
  add('-c, --context <name>', 'the docker context to use (default: DOCKER_HOST, DOCKER_CONTEXT, `docker context use`)');
  add('-H, --host <address>', 'the engine to use: unix://, tcp:// or ssh:// (as DOCKER_HOST)');
  // build has its own --parallel (builds at once); elsewhere it bounds engine operations
  if (cmd.name() !== 'build') add('--parallel <n>', 'engine operations at once (-1: no limit)', parseParallel as never);
  return cmd;
}

function parseParallel(v: string): number {
  if (!/^-?\d+$/.test(v) || Number(v) === 0 || Number(v) < -1) throw new DockyardError('USAGE', `--parallel must be a whole number of at least 1, or -1 (no limit), not "${v}"`);
  return Number(v);
}

/**
 * Applies the global flags that are settings: --ansi (else COMPOSE_ANSI), --progress (else
 * COMPOSE_PROGRESS), --parallel; an invalid value, from a flag or a variable, is a usage error.
 */
export function applyGlobalSettings(g: GlobalOptions): void {
  const ansi = resolveAnsi(g.ansi, process.env);
  setAnsi(ansi);
  resolveProgress(g.progress, process.env, ansi, process.stderr);
  if (g.progress !== undefined) setProgress(g.progress as 'auto');
  if (g.parallel !== undefined) process.env.DOCKYARD_PARALLEL = String(g.parallel === -1 ? 1_000_000 : g.parallel);
  // every engine made from here on talks to the engine these name (or, without them, as the docker CLI chooses)
  selectEngine({ context: g.context, host: g.host });
}

export function loadOptionsFrom(g: GlobalOptions, extra: Partial<LoadOptions> = {}): LoadOptions {
  return {
    files: g.file,
    projectName: g.projectName,
    projectDirectory: g.projectDirectory,
    // COMPOSE_ENV_FILES when no --env-file is given (as Compose reads it: from the shell only)
    envFiles: envFilesFrom(g.envFile, process.env),
    profiles: g.profile,
    compatibility: g.compatibility,
    onWarning: (m) => process.stderr.write(`warning: ${m}\n`),
    ...extra,
  };
}

/** Prints an error the way users should see it: one or two lines, no stack. Returns the exit code. */
export function reportError(e: unknown): number {
  finishProgress();
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

import { loadProject } from '../load/index.js';
import type { Converger } from '../converge/runner.js';
import type { ProjectHandle } from '../api/project.js';
import type { DockerEngine } from '../engine/docker.js';
import type { Project } from '../model/project.js';
import { finishProgress, progressPrinter, setAnsi, setProgress } from './render.js';
import type { Progress } from './render.js';
import { pullProgress } from './pull-progress.js';

export interface Context {
  project: Project;
  engine: DockerEngine;
  converger: Converger;
  /** the library's handle on the project: the verbs (its progress goes to the printer below) */
  handle: ProjectHandle;
  /** live progress: call finish() before printing anything else */
  progress: Progress;
}

/** The engine client (nothing is contacted until first use); with --dry-run, one that only reads. */
export async function engineFor(g: GlobalOptions): Promise<DockerEngine> {
  const { DockerEngine } = await import('../engine/docker.js');
  const real = new DockerEngine();
  if (!g.dryRun) return real;
  // reads go to the engine, changes are described: "would create container ..."
  const { DryRunEngine } = await import('../engine/dryrun.js');
  process.stderr.write('DRY-RUN MODE: nothing will be changed\n');
  return new DryRunEngine(real, (l) => process.stdout.write(`DRY-RUN: ${l}\n`)) as unknown as DockerEngine;
}

/**
 * Loads the project and prepares the engine client (nothing is contacted until first use).
 * The engine modules load on demand: `config` and `--help` never pay for them.
 */
export async function context(g: GlobalOptions, quiet = false, services?: string[]): Promise<Context> {
  const project = loadProject(loadOptionsFrom(g, { services }));
  const [engine, { Converger }, { ProjectHandle }] = await Promise.all([engineFor(g), import('../converge/runner.js'), import('../api/project.js')]);
  let progress: Progress = quiet || g.dryRun ? { emit: () => undefined, finish: () => undefined } : progressPrinter();
  if (!quiet && !g.dryRun) {
    // the bytes and layers of every pull (pull, up, run) in its image's row
    const pulls = pullProgress(progress.emit);
    engine.onPullProgress = pulls.onMessage;
    progress = { emit: pulls.emit, finish: progress.finish };
  }
  const converger = new Converger(engine, project, progress.emit);
  const handle = new ProjectHandle(project, engine, (emit) => new Converger(engine, project, emit ?? progress.emit));
  return { project, engine, converger, handle, progress };
}

export const collectOption = collect;

/** A number of seconds (30, 1.5) or a Go duration ("30s", "1m30s", "500ms", "1h2m"), as milliseconds. */
export function parseTimeoutMs(v: string | undefined, flag = 'duration'): number | undefined {
  if (v === undefined) return undefined;
  if (/^\d+(\.\d+)?$/.test(v)) return Number(v) * 1000;
  const ns = parseDuration(v);
  if (ns === undefined || ns < 0) throw new DockyardError('USAGE', `invalid ${flag} "${v}"`, { hint: 'write seconds (30) or a duration (30s, 2m, 1m30s)' });
  return ns / 1e6;
}

export function parseIntOption(name: string): (v: string) => number {
  return (v) => {
    if (!/^\d+$/.test(v)) throw new DockyardError('USAGE', `${name} must be a whole number, not "${v}"`);
    return Number(v);
  };
}
