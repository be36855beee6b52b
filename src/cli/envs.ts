/** `dockyard env ...` (leased environments) and `dockyard test -- CMD` (run a command against one). */
import { spawn } from 'node:child_process';
import type { Command } from 'commander';
import { DockyardError } from '../errors.js';
import type { GlobalOptions } from './common.js';
import { table } from './table.js';
import { leaseVariables } from '../envs/variables.js';

function acquireOptions(g: GlobalOptions, o: { ttl?: string; bindHost?: string }) {
  return {
    files: g.file,
    projectDirectory: g.projectDirectory,
    envFiles: g.envFile,
    profiles: g.profile,
    ttl: o.ttl,
    bindHost: o.bindHost,
  };
}

/** `--owner-pid`: a pid, or `parent` (the process that ran dockyard, e.g. the shell). */
function ownerPid(v: string | undefined): { pid: number } | 'none' {
  if (v === undefined) return 'none';
  const pid = v === 'parent' ? process.ppid : /^\d+$/.test(v) ? Number(v) : NaN;
  if (!Number.isSafeInteger(pid) || pid <= 0) throw new DockyardError('USAGE', `invalid --owner-pid "${v}"`, { hint: 'a process id, or "parent" (the process that ran dockyard)' });
  return { pid };
}

const OWNERS = `
Whose a lease is: every lease records its owner process by host, boot, pid and the process's start
time (a pid reused by another process is not the owner), with the user and the owner's command.
gc (and every acquire) releases expired leases and those whose owner process is gone.

Leases acquired here (env acquire) have no owner process by default: dockyard exits while the
lease lives on, and its parent (a shell, a $(...) subshell, a CI step) is no better guess of how
long it is needed. Such a lease is never orphaned: it lives until its expiry (--ttl, default 1h),
env release or env renew. Name the process it belongs to with --owner-pid (a CI script:
--owner-pid $$), and gc releases it once that process is gone. An owner on another host, or in
another pid namespace on this host (a container), cannot be seen from here: its lease also lives
until its expiry. dockyard test and the library's acquireEnvironment are owned by their process.

env ls shows each lease's owner (user@host, pid, command) and its state: owner alive, owner gone,
no owner (until expiry), owner elsewhere (until expiry), expired.`;

export function registerEnvs(program: Command, globals: () => GlobalOptions): void {
  const env = program.command('env').description('leased, isolated environments for tests: acquire, release, ls, gc, health, renew').addHelpText('after', OWNERS);

  env
    .command('acquire')
    .description('bring up an isolated copy of the project (own name, ports the engine picks) and print it')
    .option('--ttl <duration>', 'how long it lives unless renewed (default 1h)')
    .option('--bind-host <ip>', 'where published ports bind (default 127.0.0.1)')
    .option('--owner-pid <pid>', 'the process the lease belongs to (a pid, or "parent"): gc releases it once that process is gone (default: none, the lease lives until its expiry)')
    .option('--format <format>', 'text or json', 'text')
    .addHelpText('after', `
This command exits while the lease lives on. Without --owner-pid the lease has no owner process:
it is never orphaned and lives until its expiry (--ttl, default 1h) or env release. With
--owner-pid it belongs to that process (identified by its start time, so a reused pid does not
count): gc, and every acquire, releases it once that process is gone. In a script:
  name=$(dockyard env acquire --owner-pid $$ --format json | jq -r .name)
("parent" is dockyard's parent process: in a pipeline or $(...) that may be a subshell that ends
at once, taking the lease with it; prefer $$.)`)
    .action(async (o: { ttl?: string; bindHost?: string; ownerPid?: string; format: string }) => {
      if (!['text', 'json'].includes(o.format)) throw new DockyardError('USAGE', `unknown format "${o.format}"`, { hint: 'text or json' });
      const owner = ownerPid(o.ownerPid);
      const { acquireEnvironment } = await import('../envs/lease.js');
      // this process ends now: the lease is the named owner's, or (none) only its expiry or a release ends it
      const lease = await acquireEnvironment({ ...acquireOptions(globals(), o), owner });
      if (o.format === 'json') return void process.stdout.write(`${JSON.stringify(lease.toJSON())}\n`);
      process.stdout.write(`${lease.name}  (until ${lease.expiresAt.toISOString()})\n`);
      for (const [svc, s] of Object.entries(lease.services)) process.stdout.write(`  ${svc}: ${s.state}${s.health ? ` (${s.health})` : ''}${Object.keys(s.ports).length ? `  ${Object.entries(s.ports).map(([k, v]) => `${k} -> ${v}`).join(', ')}` : ''}\n`);
    });

  env
    .command('release')
    .description('remove leases: containers, networks, volumes (idempotent)')
    .argument('<names...>')
    .action(async (names: string[]) => {
      const { releaseEnvironment } = await import('../envs/lease.js');
      for (const n of names) await releaseEnvironment(n);
    });

  env
    .command('ls')
    .description('the leases on this engine: whose each is (user@host, pid, command) and whether its owner is alive')
    .option('--format <format>', 'table or json', 'table')
    .action(async (o: { format: string }) => {
      if (!['table', 'json'].includes(o.format)) throw new DockyardError('USAGE', `unknown format "${o.format}"`, { hint: 'table or json' });
      const { listEnvironments } = await import('../envs/lease.js');
      const ls = await listEnvironments();
      if (o.format === 'json') {
        const rows = ls.map((l) => ({
          name: l.name,
          owner: l.owner,
          holder: { host: l.holder.host, pid: l.holder.pid ?? null, user: l.holder.user, command: l.holder.command, start: l.holder.start },
          // true / false, or null when it cannot be told: no owner process, or one on another host
          ownerAlive: l.ownerState === 'alive' ? true : l.ownerState === 'gone' ? false : null,
          ownerState: l.ownerState,
          expiresAt: l.expiresAt.toISOString(),
          expired: l.expired,
          orphaned: l.orphaned,
          workingDir: l.workingDir,
        }));
        return void process.stdout.write(`${JSON.stringify(rows)}\n`);
      }
      const short = (cmd: string) => (cmd.length > 60 ? `${cmd.slice(0, 59)}…` : cmd);
      const state = (l: (typeof ls)[number]) =>
        l.expired ? 'expired' : { alive: 'owner alive', gone: 'owner gone', none: 'no owner (until expiry)', unknown: 'owner elsewhere (until expiry)' }[l.ownerState];
      process.stdout.write(
        table(
          ['NAME', 'EXPIRES', 'STATE', 'OWNER', 'PID', 'COMMAND'],
          ls.map((l) => [l.name, l.expiresAt.toISOString(), state(l), `${l.holder.user ? `${l.holder.user}@` : ''}${l.holder.host || '?'}`, l.holder.pid === undefined ? '-' : String(l.holder.pid), short(l.holder.command ?? '')]),
        ),
      );
    });

  env
    .command('gc')
    .description('remove expired leases and those whose owner process is gone (a reused pid does not count as the owner)')
    .action(async () => {
      const { gcEnvironments } = await import('../envs/lease.js');
      const gone = await gcEnvironments();
      process.stderr.write(gone.length ? `removed ${gone.join(', ')}\n` : 'nothing to remove\n');
    });

  env
    .command('health')
    .description("a lease's services: healthy, unhealthy, starting, running, stopped, exited, with what went wrong")
    .argument('<name>')
    .option('--format <format>', 'text or json', 'text')
    .action(async (name: string, o: { format: string }) => {
      const { healthReport } = await import('../envs/lease.js');
      const r = await healthReport(name);
      if (o.format === 'json') return void process.stdout.write(`${JSON.stringify(r)}\n`);
      for (const s of r) {
        process.stdout.write(`${s.service} (${s.container}): ${s.status}${s.exitCode !== undefined ? ` (${s.exitCode})` : ''}\n`);
        if (s.lastCheck && s.status !== 'healthy') process.stdout.write(`  last health check: ${s.lastCheck}\n`);
        for (const l of s.logs ?? []) process.stdout.write(`  | ${l}\n`);
      }
    });

  env
    .command('renew')
    .description('extend a lease')
    .argument('<name>')
    .requiredOption('--ttl <duration>', 'from now (30m, 2h)')
    .action(async (name: string, o: { ttl: string }) => {
      const { renewEnvironment } = await import('../envs/lease.js');
      process.stdout.write(`${(await renewEnvironment(name, o.ttl)).toISOString()}\n`);
    });

  program
    .command('test')
    .description('acquire an environment, run a command with its ports and URLs as variables, release it; exit with the command\'s code')
    .argument('<command...>')
    .option('--ttl <duration>', 'lease time (default 1h)')
    .option('--bind-host <ip>', 'where published ports bind (default 127.0.0.1)')
    .passThroughOptions()
    .action(async (cmd: string[], o: { ttl?: string; bindHost?: string }) => {
      const { acquireEnvironment } = await import('../envs/lease.js');
      const lease = await acquireEnvironment(acquireOptions(globals(), o));
      let child: ReturnType<typeof spawn> | undefined;
      let interrupted = false;
      const onSignal = (sig: NodeJS.Signals) => () => {
        interrupted = true;
        child?.kill(sig);
      };
      const onInt = onSignal('SIGINT');
      const onTerm = onSignal('SIGTERM');
      process.on('SIGINT', onInt);
      process.on('SIGTERM', onTerm);
      try {
        const vars = leaseVariables(lease.name, lease.services, o.bindHost && o.bindHost !== '0.0.0.0' ? o.bindHost : '127.0.0.1');
        process.stderr.write(`dockyard test: ${lease.name} is up; running ${cmd.join(' ')}\n`);
        const code = await new Promise<number>((resolve, reject) => {
          child = spawn(cmd[0]!, cmd.slice(1), { stdio: 'inherit', env: { ...process.env, ...vars } });
          child.on('error', (e) => reject(new DockyardError('USAGE', `cannot run ${cmd[0]}: ${e.message}`)));
          child.on('exit', (c, sig) => resolve(c ?? (sig ? 128 + (({ SIGINT: 2, SIGTERM: 15, SIGKILL: 9 } as Record<string, number>)[sig] ?? 1) : 1)));
        });
        process.exitCode = interrupted && code === 0 ? 130 : code;
      } finally {
        process.off('SIGINT', onInt);
        process.off('SIGTERM', onTerm);
        await lease.release();
      }
    });
}
