/** `dockyard up`: converge the project; attached mode streams logs until Ctrl-C. */
import { writeFileSync } from 'node:fs';
import { Option } from 'commander';
import type { Command } from 'commander';
import { DockyardError } from '../errors.js';
import type { GlobalOptions } from './common.js';
import { collectOption, context, parseIntOption, parseTimeoutMs } from './common.js';
import { logPrinter } from './logs.js';
import { envFlag } from './colour.js';
import { runWatch } from './watch.js';
import { startDashboard, untilInterrupted } from './dashboard.js';
import type { Dashboard } from '../dashboard/server.js';
import { setColor, timelineGantt, timelineSummary, timelineSvg } from './render.js';
import { formatPlan, formatResources } from '../converge/plan.js';
import type { ProgressEvent } from '../converge/events.js';

interface UpFlags {
  detach?: boolean;
  wait?: boolean;
  waitTimeout?: string;
  scale?: string[];
  removeOrphans?: boolean;
  forceRecreate?: boolean;
  recreate: boolean;
  start: boolean;
  deps: boolean;
  abortOnContainerExit?: boolean;
  abortOnContainerFailure?: boolean;
  exitCodeFrom?: string;
  timeout?: number;
  timeline?: boolean;
  timelineSvg?: string;
  build?: boolean;
  noBuild?: boolean;
  quietPull?: boolean;
  pull?: string;
  quietBuild?: boolean;
  alwaysRecreateDeps?: boolean;
  renewAnonVolumes?: boolean;
  attach?: string[];
  skipAttach?: string[];
  attachDependencies?: boolean;
  color: boolean;
  logPrefix: boolean;
  timestamps?: boolean;
  menu?: string | boolean;
  watch?: boolean;
  dashboard?: boolean;
  dashboardPort?: number;
  dashboardBind?: string;
}

export function registerUp(program: Command, globals: () => GlobalOptions): void {
  program
    .command('create')
    .description('create the containers of services (and their dependencies) without starting them')
    .argument('[services...]')
    .option('--build', 'build images before creating')
    .option('--no-build', 'do not build missing images')
    .option('--force-recreate', 'recreate containers even if unchanged')
    .option('--no-recreate', 'keep existing containers even if changed')
    .option('--remove-orphans', 'remove containers of services no longer defined')
    .option('--scale <service=n>', 'replicas of a service (repeatable)', collectOption)
    .option('--pull <policy>', 'pull images: always, missing, never, build')
    .option('--quiet-pull', 'no pull progress')
    .option('-y, --yes', 'answer yes to prompts (dockyard never prompts)')
    .action(async (names: string[], o: { build?: boolean; noBuild?: boolean; forceRecreate?: boolean; recreate: boolean; removeOrphans?: boolean; scale?: string[]; pull?: string }) => {
      const { handle, progress } = await context(globals(), false, names);
      try {
        await handle.up({
          services: names,
          noStart: true,
          scale: parseScale(o.scale),
          forceRecreate: o.forceRecreate,
          noRecreate: !o.recreate,
          removeOrphans: o.removeOrphans ?? envFlag(process.env.COMPOSE_REMOVE_ORPHANS),
          build: o.build ? true : o.build === false ? false : undefined,
          pull: parsePull(o.pull),
          onEvent: progress.emit,
        });
      } finally {
        progress.finish();
      }
    });

  program
    .command('up')
    .description('create and start the services (with their dependencies)')
    .argument('[services...]', 'services to start (default: all)')
    .option('-d, --detach', 'run in the background')
    .option('--wait', 'wait until services are running, healthy or completed (implies -d)')
    .option('--wait-timeout <duration>', 'give up waiting after this long (seconds or 30s, 2m)')
    .option('--scale <service=n>', 'replicas of a service (repeatable)', collectOption)
    .option('--remove-orphans', 'remove containers of services no longer defined')
    .option('--force-recreate', 'recreate containers even if unchanged')
    .option('--no-recreate', 'keep existing containers even if changed')
    .option('--no-start', 'create but do not start')
    .option('--no-deps', 'do not start linked services')
    .option('--abort-on-container-exit', 'stop everything when any container stops (attached mode)')
    .option('--abort-on-container-failure', 'stop everything when a container exits with a non-zero code (attached mode)')
    .option('--exit-code-from <service>', 'exit with this service container exit code (implies --abort-on-container-exit)')
    .option('-t, --timeout <seconds>', 'seconds to wait when stopping containers', parseIntOption('--timeout'))
    .option('--build', 'build images before starting')
    .option('--no-build', 'do not build missing images')
    .option('--timeline', 'print the startup timeline as a Gantt chart')
    .option('--timeline-svg <file>', 'write the startup timeline as an SVG picture')
    .option('--pull <policy>', 'pull images: always, missing, never, build (default: each service\'s pull_policy)')
    .option('--quiet-pull', 'no pull progress')
    .option('--quiet-build', 'no build progress')
    .option('--always-recreate-deps', 'recreate the dependencies of the services named, even if unchanged')
    .option('-V, --renew-anon-volumes', 'recreated containers get new anonymous volumes instead of their predecessors\'')
    .option('--attach <service>', 'follow the output of these services only (repeatable; attached mode)', collectOption)
    // --no-attach SERVICE (commander would take --no-attach as the negation of --attach: main.ts renames it)
    .addOption(new Option('--skip-attach <service>', 'do not follow the output of these services (repeatable); written --no-attach').argParser(collectOption))
    .option('--attach-dependencies', 'also follow the output of the dependencies of the services named')
    .option('--no-color', 'no colours in the output')
    .option('--no-log-prefix', 'do not prefix log lines with the container name')
    .option('--timestamps', 'show timestamps in the log lines')
    .option('-y, --yes', 'answer yes to prompts (dockyard never prompts)')
    .option('-w, --watch', "follow the services' develop.watch rules (sync, rebuild, restart...) while up")
    .option('--dashboard', 'serve a live page of the project (printed URL) while it runs; with -d, until Ctrl-C')
    .option('--dashboard-port <port>', 'the dashboard\'s port (default: a free one)', parseIntOption('--dashboard-port'))
    .option('--dashboard-bind <address>', 'where the dashboard listens (default 127.0.0.1)')
    .option('--menu [enabled]', 'not available: dockyard has no interactive menu (--menu=false is accepted)')
    .action(async (names: string[], o: UpFlags) => {
      checkFlags(o);
      const pull = parsePull(o.pull);
      if (o.color === false) setColor(false);
      const ctx = await context(globals(), false, names);
      if (o.exitCodeFrom && !ctx.project.services[o.exitCodeFrom]) throw new DockyardError('USAGE', `no such service: ${o.exitCodeFrom}`, { hint: '--exit-code-from takes a service name' });
      for (const n of [...(o.attach ?? []), ...(o.skipAttach ?? [])]) if (!ctx.project.services[n]) throw new DockyardError('USAGE', `no such service: ${n}`);
      if (o.exitCodeFrom) o.abortOnContainerExit = true;
      const scale = parseScale(o.scale);
      // --build: every image with a build section; --no-build: none; else what is missing or stale
      const build = o.build ? true : o.noBuild === true || o.build === false ? false : undefined;
      const planned = { services: names, scale, forceRecreate: o.forceRecreate, recreateDeps: o.alwaysRecreateDeps, noRecreate: !o.recreate, noDeps: !o.deps, removeOrphans: o.removeOrphans ?? envFlag(process.env.COMPOSE_REMOVE_ORPHANS), build, pull };
      // --dry-run (a global flag): up prints its plan, with the reasons, and changes nothing
      if (globals().dryRun) return printPlan(await ctx.handle.plan(planned));
      // --dashboard: the page is up before the first change, so it shows up's progress too
      const dash = o.dashboard ? await startDashboard(ctx.handle, { port: o.dashboardPort, bind: o.dashboardBind }, (l) => process.stderr.write(`${l}\n`)) : undefined;
      try {
        await upAndFollow(ctx, names, o, planned, dash);
      } finally {
        await dash?.close();
      }
    });
}

/** up, its timeline, then (attached) the services' output or (detached) the watch and the dashboard. */
async function upAndFollow(ctx: UpContext, names: string[], o: UpFlags, planned: Planned, dash: Dashboard | undefined): Promise<void> {
  const result = await converge(ctx, o, planned, dash);
  if (!result) return;
  dash?.setTimeline(result.timeline);
  process.stderr.write(`${timelineSummary(result.timeline)}\n`);
  if (o.timeline) process.stderr.write(`${timelineGantt(result.timeline)}\n`);
  if (o.timelineSvg) writeFileSync(o.timelineSvg, timelineSvg(result.timeline));
  // --watch: the services' develop.watch rules, alongside (detached: until Ctrl-C)
  const watchStop = new AbortController();
  const watching = o.watch && o.start ? runWatch(ctx.handle, names, watchStop.signal, dash && ((a) => dash.watchAction(a))) : undefined;
  try {
    if (!(o.detach || o.wait) && o.start) await followAttached(ctx.handle, names, o, result);
    else if (dash) await Promise.race([untilInterrupted(), ...(watching ? [watching] : [])]);
    else await watching;
  } finally {
    watchStop.abort();
    await watching?.catch(() => undefined);
  }
}

type UpContext = Awaited<ReturnType<typeof context>>;
type Planned = Parameters<UpContext['handle']['plan']>[0];
type UpDone = Awaited<ReturnType<UpContext['handle']['up']>>;

/** Flags that cannot go together, refused before anything is loaded. */
function checkFlags(o: UpFlags): void {
  if (o.menu !== undefined && o.menu !== 'false' && o.menu !== false) throw new DockyardError('USAGE', 'dockyard has no interactive menu', { hint: 'use dockyard logs, ps, stop... in another terminal; --menu=false is accepted' });
  if (o.alwaysRecreateDeps && o.recreate === false) throw new DockyardError('USAGE', '--always-recreate-deps and --no-recreate cannot be combined');
  const abort = o.abortOnContainerExit || !!o.exitCodeFrom;
  if (abort && o.abortOnContainerFailure) throw new DockyardError('USAGE', '--abort-on-container-exit and --abort-on-container-failure cannot be combined');
  if (o.detach && (abort || o.abortOnContainerFailure)) throw new DockyardError('USAGE', '--abort-on-container-exit and --detach cannot be combined');
}

/** up --dry-run: the plan `up` would carry out, one line per resource and container, with reasons. */
function printPlan(plan: Awaited<ReturnType<UpContext['handle']['plan']>>): void {
  const lines = [...formatResources(plan), ...formatPlan(plan)];
  process.stdout.write(lines.map((l) => `${l}\n`).join(''));
  process.stderr.write(`dry run: nothing was changed (${plan.services.reduce((n, sp) => n + sp.steps.filter((st) => st.action !== 'keep').length, 0)} container change(s) planned)\n`);
}

/** The up itself, with live progress; Ctrl-C finishes the steps under way, then says what exists (undefined then). */
async function converge({ project, handle, progress }: UpContext, o: UpFlags, planned: Planned, dash?: Dashboard): Promise<UpDone | undefined> {
  const shown = dash?.activity(`up ${planned?.services?.join(' ') || project.name}`);
  const print = o.quietBuild ? (e: ProgressEvent) => (e.type === 'resource' && e.kind === 'image' && /^build/.test(e.action) ? undefined : progress.emit(e)) : progress.emit;
  const abort = new AbortController();
  let interrupts = 0;
  const onSigint = () => {
    interrupts++;
    abort.abort();
    if (interrupts > 1) process.exit(130);
    process.stderr.write('\ninterrupt: finishing the steps under way, then stopping (Ctrl-C again to quit at once)\n');
  };
  process.on('SIGINT', onSigint);
  try {
    return await handle.up({
      ...planned,
      noStart: !o.start,
      wait: o.wait,
      waitTimeoutMs: parseTimeoutMs(o.waitTimeout, '--wait-timeout'),
      timeoutS: o.timeout,
      quietPull: o.quietPull,
      renewAnonVolumes: o.renewAnonVolumes,
      onEvent: shown ? (e) => (shown.progress(e), print(e)) : print,
      signal: abort.signal,
    }).then((r) => (shown?.end(), r));
  } catch (e) {
    shown?.end(e);
    progress.finish();
    if (!abort.signal.aborted) throw e;
    const cs = await handle.ps({ all: true }).catch(() => []);
    process.stderr.write(`interrupted: ${cs.length} container(s) of ${project.name} exist: ${cs.map((c) => `${c.name} (${c.state})`).join(', ') || 'none'}\n`);
    process.stderr.write('run `dockyard up` again to finish, or `dockyard down` to remove them\n');
    process.exitCode = 130;
    return undefined;
  } finally {
    process.off('SIGINT', onSigint);
    progress.finish();
  }
}

/**
 * Attached: stream logs until every container stops, or Ctrl-C stops the project. Followed: the
 * services named (and their dependencies with --attach-dependencies), or all; --attach and
 * --no-attach choose among them.
 */
async function followAttached(handle: UpContext['handle'], names: string[], o: UpFlags, result: UpDone): Promise<void> {
  const started = Object.keys(result.containers);
  const chosen = o.attach?.length ? o.attach : names.length && !o.attachDependencies ? started.filter((n) => names.includes(n)) : started;
  const services = chosen.filter((n) => !o.skipAttach?.includes(n));
  const print = logPrinter({ prefix: o.logPrefix, timestamps: o.timestamps });
  const abort = new AbortController();
  const sig = () => {
    if (abort.signal.aborted) process.exit(130);
    abort.abort();
  };
  process.on('SIGINT', sig);
  process.on('SIGTERM', sig);
  try {
    const { exitCode } = await handle.attach({
      services,
      stopServices: started,
      since: result.timeline.startedAt / 1000,
      abortOn: o.abortOnContainerExit ? 'exit' : o.abortOnContainerFailure ? 'failure' : undefined,
      exitCodeFrom: o.exitCodeFrom,
      timeout: o.timeout,
      signal: abort.signal,
      onStopping: (why) => process.stderr.write(`${why}\n`),
      onItem: (item) => {
        print(item);
        if (item.kind === 'exit') process.stderr.write(`${item.container.name} exited with code ${item.code}\n`);
        // its restart policy brings it back: its next run is followed too
        else if (item.kind === 'restart') process.stderr.write(`${item.container.name} exited with code ${item.code} (restarting)\n`);
      },
    });
    if (exitCode !== 0) process.exitCode = exitCode;
  } finally {
    process.off('SIGINT', sig);
    process.off('SIGTERM', sig);
  }
}

export function parseScale(pairs: string[] | undefined): Record<string, number> {
  const scale: Record<string, number> = {};
  for (const s of pairs ?? []) {
    const m = /^([^=]+)=(\d+)$/.exec(s);
    if (!m) throw new DockyardError('USAGE', `invalid --scale "${s}"`, { hint: 'write --scale service=N' });
    scale[m[1]!] = Number(m[2]);
  }
  return scale;
}

const PULL = ['always', 'missing', 'never', 'build'] as const;
export function parsePull(v: string | undefined): (typeof PULL)[number] | undefined {
  if (v === undefined) return undefined;
  if (!(PULL as readonly string[]).includes(v)) throw new DockyardError('USAGE', `invalid --pull "${v}"`, { hint: PULL.join(', ') });
  return v as (typeof PULL)[number];
}
