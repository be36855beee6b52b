/** `dockyard env ...` (leased environments) and `dockyard test -- CMD` (run a command against one). */
import { spawn } from 'node:child_process';
import type { Command } from 'commander';
import { DockyardError } from '../errors.js';
import type { GlobalOptions } from './common.js';
import { table } from './table.js';
import { leaseVariables } from '../envs/variables.js';

function acquireOptions(g: GlobalOptions, o: { ttl?: string; bindHost?: string; from?: string; strict?: boolean }) {
  return {
    files: g.file,
    projectDirectory: g.projectDirectory,
    envFiles: g.envFile,
    profiles: g.profile,
    ttl: o.ttl,
    bindHost: o.bindHost,
    from: o.from,
    strict: o.strict,
    onWarning: (m: string) => void process.stderr.write(`warning: ${m}\n`),
  };
}

const SNAPSHOTS = `
Snapshots: seed once, fork per test worker, reset between tests.
  dockyard env snapshot NAME --as TAG     the lease's named volumes, captured with its services paused
        [--containers [SERVICE...]]       and the containers' own files (all services, or these)
  dockyard env acquire --from TAG         a fork: its volumes start as copies of the snapshot's
  dockyard test --from TAG -- CMD         the same for a command
  dockyard env reset NAME                 a fork back to its snapshot (same host ports), services ready
  dockyard env snapshots ls | rm TAG...   what there is; rm refuses one a live fork uses (--force)
  dockyard env gc --snapshots             also removes the snapshots no live lease was forked from
  dockyard env snapshots push TAG --registry HOST[:PORT][/NS]   to a registry (docker's credentials)
  dockyard env snapshots pull REF         from one; --from REF also pulls one that is not here
A snapshot is an image, dockyard-snapshot/<project>:<tag>, labelled dev.dockyard.snapshot.* (with
--containers, one more image per service). It records each service's configuration hash and image
id: a fork of another configuration warns, and --strict refuses it.`;

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

const mb = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;

export function registerEnvs(program: Command, globals: () => GlobalOptions): void {
  const env = program.command('env').description('leased, isolated environments for tests: acquire, release, ls, gc, health, renew, snapshot, reset').addHelpText('after', OWNERS + '\n' + SNAPSHOTS);

  env
    .command('acquire')
    .description('bring up an isolated copy of the project (own name, ports the engine picks) and print it')
    .option('--ttl <duration>', 'how long it lives unless renewed (default 1h)')
    .option('--bind-host <ip>', 'where published ports bind (default 127.0.0.1)')
    .option('--owner-pid <pid>', 'the process the lease belongs to (a pid, or "parent"): gc releases it once that process is gone (default: none, the lease lives until its expiry)')
    .option('--from <tag>', 'a fork of this snapshot (tag, project:tag, image id, or a registry reference, pulled when not here): its named volumes start as copies of it')
    .option('--strict', 'with --from: refuse a snapshot taken of another configuration or image of a service')
    .option('--format <format>', 'text or json', 'text')
    .addHelpText('after', `
This command exits while the lease lives on. Without --owner-pid the lease has no owner process:
it is never orphaned and lives until its expiry (--ttl, default 1h) or env release. With
--owner-pid it belongs to that process (identified by its start time, so a reused pid does not
count): gc, and every acquire, releases it once that process is gone. In a script:
  name=$(dockyard env acquire --owner-pid $$ --format json | jq -r .name)
("parent" is dockyard's parent process: in a pipeline or $(...) that may be a subshell that ends
at once, taking the lease with it; prefer $$.)`)
    .action(async (o: { ttl?: string; bindHost?: string; ownerPid?: string; from?: string; strict?: boolean; format: string }) => {
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
    .option('--snapshots', 'also remove the snapshots no live lease was forked from')
    .option('--keep <tags...>', 'with --snapshots: keep these tags')
    .action(async (o: { snapshots?: boolean; keep?: string[] }) => {
      const { gcEnvironments } = await import('../envs/lease.js');
      const gone = await gcEnvironments();
      const snaps = o.snapshots ? await (await import('../envs/snapshot.js')).gcSnapshots({ keep: o.keep }) : [];
      const all = [...gone, ...snaps.map((s) => `snapshot ${s.project}:${s.tag}`)];
      process.stderr.write(all.length ? `removed ${all.join(', ')}\n` : 'nothing to remove\n');
    });

  env
    .command('snapshot')
    .description("capture a lease's named volumes (its services paused meanwhile) as a snapshot others fork")
    .argument('<name>', 'the lease')
    .requiredOption('--as <tag>', 'the snapshot\'s tag')
    .option('--replace', 'replace a snapshot of that tag')
    .option('--containers [services...]', "also the containers' own files (their writable layers): every service's, or these services' (after NAME)")
    .option('--helper-image <image>', 'an image with sh and cp to copy with (default: DOCKYARD_HELPER_IMAGE, else the image of a service that mounts the volumes)')
    .option('--format <format>', 'text or json', 'text')
    .action(async (name: string, o: { as: string; replace?: boolean; containers?: true | string[]; helperImage?: string; format: string }) => {
      if (!['text', 'json'].includes(o.format)) throw new DockyardError('USAGE', `unknown format "${o.format}"`, { hint: 'text or json' });
      const { snapshotEnvironment } = await import('../envs/snapshot.js');
      const s = await snapshotEnvironment(name, o.as, { replace: o.replace, helperImage: o.helperImage, containers: o.containers });
      if (o.format === 'json') return void process.stdout.write(`${JSON.stringify(s)}\n`);
      const cs = Object.keys(s.containers);
      process.stdout.write(`${s.project}:${s.tag}  ${s.ref}  ${s.id.slice(7, 19)}  volumes: ${s.volumes.join(', ') || '-'}${cs.length ? `  containers: ${cs.join(', ')}` : ''}  ${mb(s.size)}\n`);
    });

  const snapshots = env.command('snapshots').description('the snapshots on this engine: ls, rm, push, pull');
  snapshots
    .command('ls', { isDefault: true })
    .description('list snapshots: tag, project, volumes, size, the lease it was taken from, the leases forked from it')
    .option('--format <format>', 'table or json', 'table')
    .action(async (o: { format: string }) => {
      if (!['table', 'json'].includes(o.format)) throw new DockyardError('USAGE', `unknown format "${o.format}"`, { hint: 'table or json' });
      const { listSnapshots } = await import('../envs/snapshot.js');
      const ls = await listSnapshots();
      if (o.format === 'json') return void process.stdout.write(`${JSON.stringify(ls)}\n`);
      process.stdout.write(
        table(
          ['TAG', 'PROJECT', 'ID', 'CREATED', 'VOLUMES', 'CONTAINERS', 'SIZE', 'FROM LEASE', 'USED BY'],
          ls.map((s) => [s.current ? s.tag : `${s.tag} (replaced)`, s.project, s.id.slice(7, 19), s.createdAt.toISOString(), s.volumes.join(',') || '-', Object.keys(s.containers).join(',') || '-', mb(s.size), s.source, s.usedBy.join(',') || '-']),
        ),
      );
    });
  snapshots
    .command('rm')
    .description('remove snapshots (tag, project:tag or image id); one a live fork uses only with --force')
    .argument('<tags...>')
    .option('--force', 'even when a live lease was forked from it (its reset then fails)')
    .action(async (tags: string[], o: { force?: boolean }) => {
      const { removeSnapshot } = await import('../envs/snapshot.js');
      for (const t of tags) await removeSnapshot(t, { force: o.force });
    });
  snapshots
    .command('push')
    .description("push a snapshot (and its containers' images) to a registry, with the docker CLI's credentials for it")
    .argument('<tag>', 'the snapshot: tag, project:tag or image id')
    .requiredOption('--registry <registry>', 'HOST[:PORT][/namespace]: pushed as <registry>/dockyard-snapshot/<project>:<tag>')
    .action(async (tag: string, o: { registry: string }) => {
      const { pushSnapshot } = await import('../envs/snapshot.js');
      const r = await pushSnapshot(tag, { registry: o.registry });
      process.stderr.write(`pushed ${r.snapshot.project}:${r.snapshot.tag}${r.refs.length > 1 ? ` (and ${r.refs.length - 1} container image${r.refs.length > 2 ? 's' : ''})` : ''}\n`);
      process.stdout.write(`${r.refs[0]}\n`);
    });
  snapshots
    .command('pull')
    .description("pull a snapshot someone pushed (env snapshots push), with its containers' images; it is then forked as one taken here")
    .argument('<ref>', 'as pushed: HOST[:PORT][/namespace]/dockyard-snapshot/<project>:<tag>')
    .action(async (ref: string) => {
      const { pullSnapshot } = await import('../envs/snapshot.js');
      const s = await pullSnapshot(ref);
      process.stdout.write(`${s.project}:${s.tag}  ${s.ref}  ${s.id.slice(7, 19)}\n`);
    });

  env
    .command('reset')
    .description('put a fork back to its snapshot: containers recreated on the same host ports, volumes copied again, services ready')
    .argument('<name>')
    .action(async (name: string) => {
      const { resetEnvironment } = await import('../envs/lease.js');
      await resetEnvironment(name, { awaitRemovals: true, onWarning: (m) => void process.stderr.write(`warning: ${m}\n`) });
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
    .option('--from <tag>', 'a fork of this snapshot (see dockyard env --help)')
    .option('--strict', 'with --from: refuse a snapshot taken of another configuration or image of a service')
    .passThroughOptions()
    .action(async (cmd: string[], o: { ttl?: string; bindHost?: string; from?: string; strict?: boolean }) => {
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
