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

export function registerEnvs(program: Command, globals: () => GlobalOptions): void {
  const env = program.command('env').description('leased, isolated environments for tests: acquire, release, ls, gc, health, renew');

  env
    .command('acquire')
    .description('bring up an isolated copy of the project (own name, ports the engine picks) and print it')
    .option('--ttl <duration>', 'how long it lives unless renewed (default 1h)')
    .option('--bind-host <ip>', 'where published ports bind (default 127.0.0.1)')
    .option('--format <format>', 'text or json', 'text')
    .action(async (o: { ttl?: string; bindHost?: string; format: string }) => {
      if (!['text', 'json'].includes(o.format)) throw new DockyardError('USAGE', `unknown format "${o.format}"`, { hint: 'text or json' });
      const { acquireEnvironment } = await import('../envs/lease.js');
      // this process ends now: only the lease's expiry (or release) ends it
      const lease = await acquireEnvironment({ ...acquireOptions(globals(), o), owner: 'none' });
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
    .description('the leases on this engine')
    .option('--format <format>', 'table or json', 'table')
    .action(async (o: { format: string }) => {
      const { listEnvironments } = await import('../envs/lease.js');
      const ls = await listEnvironments();
      if (o.format === 'json') return void process.stdout.write(`${JSON.stringify(ls.map((l) => ({ name: l.name, owner: l.owner, expiresAt: l.expiresAt.toISOString(), expired: l.expired, orphaned: l.orphaned, workingDir: l.workingDir })))}\n`);
      process.stdout.write(table(['NAME', 'EXPIRES', 'OWNER', 'STATE'], ls.map((l) => [l.name, l.expiresAt.toISOString(), l.owner, l.expired ? 'expired' : l.orphaned ? 'owner gone' : 'live'])));
    });

  env
    .command('gc')
    .description('remove expired leases and those whose owner process is gone')
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
