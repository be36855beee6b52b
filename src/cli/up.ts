/** `dockyard up`: converge the project; attached mode streams logs until Ctrl-C. */
import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { DockyardError } from '../errors.js';
import { projectContainers } from '../converge/state.js';
import type { GlobalOptions } from './common.js';
import { collectOption, context, parseIntOption, parseTimeoutMs } from './common.js';
import { followLogs } from './logs.js';
import { timelineGantt, timelineSummary, timelineSvg } from './render.js';
import { buildServices } from './build.js';
import { formatPlan } from '../converge/plan.js';

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
  exitCodeFrom?: string;
  timeout?: number;
  timeline?: boolean;
  timelineSvg?: string;
  build?: boolean;
  noBuild?: boolean;
  quietPull?: boolean;
  dryRun?: boolean;
}

export function registerUp(program: Command, globals: () => GlobalOptions): void {
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
    .option('--exit-code-from <service>', 'exit with this service container exit code (implies --abort-on-container-exit)')
    .option('-t, --timeout <seconds>', 'seconds to wait when stopping containers', parseIntOption('--timeout'))
    .option('--build', 'build images before starting')
    .option('--no-build', 'do not build missing images')
    .option('--timeline', 'print the startup timeline as a Gantt chart')
    .option('--timeline-svg <file>', 'write the startup timeline as an SVG picture')
    .option('--dry-run', 'print what would be created, recreated (and why), started or removed; change nothing')
    .action(async (names: string[], o: UpFlags) => {
      const { project, engine, converger, progress } = await context(globals(), false, names);
      if (o.exitCodeFrom && !project.services[o.exitCodeFrom]) throw new DockyardError('USAGE', `no such service: ${o.exitCodeFrom}`, { hint: '--exit-code-from takes a service name' });
      if (o.exitCodeFrom) o.abortOnContainerExit = true;
      if (o.detach && o.abortOnContainerExit) throw new DockyardError('USAGE', '--abort-on-container-exit and --detach cannot be combined');
      const scale: Record<string, number> = {};
      for (const s of o.scale ?? []) {
        const m = /^([^=]+)=(\d+)$/.exec(s);
        if (!m) throw new DockyardError('USAGE', `invalid --scale "${s}"`, { hint: 'write --scale service=N' });
        scale[m[1]!] = Number(m[2]);
      }
      const build: 'always' | 'never' | 'missing' = o.build ? 'always' : o.noBuild === true || o.build === false ? 'never' : 'missing';
      if (o.dryRun) {
        const { plan, resources } = await converger.planUp({ services: names, scale, forceRecreate: o.forceRecreate, noRecreate: !o.recreate, noDeps: !o.deps, removeOrphans: o.removeOrphans, build }, async (svcs) => {
          const { buildServices: check } = await import('../build/builder.js');
          const r = await check(engine, project, svcs.map((s) => s.name), { dryRun: true });
          return new Set([...r].filter(([, v]) => v === 'would-build').map(([k]) => k));
        });
        const lines = [...resources, ...formatPlan(plan)];
        process.stdout.write(lines.map((l) => `${l}\n`).join(''));
        process.stderr.write(`dry run: nothing was changed (${plan.services.reduce((n, sp) => n + sp.steps.filter((st) => st.action !== 'keep').length, 0)} container change(s) planned)\n`);
        return;
      }
      const detach = o.detach || o.wait;
      const abort = new AbortController();
      let interrupts = 0;
      const onSigint = () => {
        interrupts++;
        abort.abort();
        if (interrupts > 1) process.exit(130);
        process.stderr.write('\ninterrupt: finishing the steps under way, then stopping (Ctrl-C again to quit at once)\n');
      };
      process.on('SIGINT', onSigint);
      let result;
      try {
        result = await converger.up({
          services: names,
          scale,
          forceRecreate: o.forceRecreate,
          noRecreate: !o.recreate,
          noStart: !o.start,
          noDeps: !o.deps,
          removeOrphans: o.removeOrphans,
          wait: o.wait,
          waitTimeoutMs: parseTimeoutMs(o.waitTimeout),
          timeout: o.timeout,
          build,
          builder: async (svcs, force) => void (await buildServices(engine, project, svcs.map((s) => s.name), { force }, progress)),
          signal: abort.signal,
        });
      } catch (e) {
        progress.finish();
        if (abort.signal.aborted) {
          const cs = await projectContainers(engine, project.name, { oneoff: false }).catch(() => []);
          process.stderr.write(`interrupted: ${cs.length} container(s) of ${project.name} exist: ${cs.map((c) => `${c.name} (${c.state})`).join(', ') || 'none'}\n`);
          process.stderr.write('run `dockyard up` again to finish, or `dockyard down` to remove them\n');
          process.exitCode = 130;
          return;
        }
        throw e;
      } finally {
        process.off('SIGINT', onSigint);
        progress.finish();
      }
      process.stderr.write(`${timelineSummary(result.timeline)}\n`);
      if (o.timeline) process.stderr.write(`${timelineGantt(result.timeline)}\n`);
      if (o.timelineSvg) writeFileSync(o.timelineSvg, timelineSvg(result.timeline));
      if (detach || !o.start) return;

      // attached: stream logs until every container stops, or Ctrl-C stops the project
      const cs = await projectContainers(engine, project.name, { oneoff: false, services: Object.keys(result.containers) });
      let stopping = false;
      const stopAll = async (why: string) => {
        if (stopping) return;
        stopping = true;
        process.stderr.write(`${why}\n`);
        await converger.stop(Object.keys(result.containers), o.timeout);
      };
      const sig = () => {
        if (stopping) process.exit(130);
        void stopAll('Gracefully stopping... (press Ctrl-C again to force)');
      };
      process.on('SIGINT', sig);
      process.on('SIGTERM', sig);
      try {
        const exits = await followLogs(
          engine,
          cs,
          { follow: true, since: Math.floor(result.timeline.startedAt / 1000) - 1, prefix: true },
          (c, code) => {
            process.stderr.write(`${c.name} exited with code ${code}\n`);
            if (o.abortOnContainerExit && !stopping) void stopAll(`Aborting on container exit...`);
          },
          // its restart policy brings it back: its next run is followed too
          (c, code) => process.stderr.write(`${c.name} exited with code ${code} (restarting)\n`),
        );
        if (o.exitCodeFrom) {
          const c = cs.find((x) => x.service === o.exitCodeFrom);
          const info = c ? await engine.inspectContainer(c.id) : undefined;
          process.exitCode = info?.State.ExitCode ?? exits.get(c?.id ?? '') ?? 0;
        } else if (o.abortOnContainerExit) {
          const failed = [...exits.values()].find((x) => x !== 0);
          if (failed !== undefined) process.exitCode = failed;
        }
      } finally {
        process.off('SIGINT', sig);
        process.off('SIGTERM', sig);
      }
    });
}
