/** `dockyard deploy`: the project as a Swarm stack; `deploy ls | ps STACK | rm STACK`. */
import type { Command } from 'commander';
import { DockyardError } from '../errors.js';
import type { GlobalOptions } from './common.js';
import { context, engineFor, parseTimeoutMs } from './common.js';
import { table } from './table.js';

export function registerDeploy(program: Command, globals: () => GlobalOptions): void {
  program
    .command('deploy')
    .description('deploy the project as a Swarm stack (-p names it); deploy ls | ps STACK | rm STACK')
    .argument('[action]', 'ls, ps or rm (none: deploy)')
    .argument('[stack]', 'the stack, for ps and rm')
    .option('-d, --detach', 'do not wait for the services to converge')
    .option('--prune', 'remove services of the stack that are no longer in the project')
    .option('--timeout <duration>', 'how long to wait for convergence', '5m')
    .option('-v, --volumes', 'deploy rm: also remove the named volumes of the stack')
    .option('--resolve-image <when>', 'pin images to the digest their registry has: always, changed or never', 'always')
    .option('--with-registry-auth', "send the docker CLI's registry credentials to the Swarm agents (private images on every node)")
    .option('--registry <host>', 'push images that only this engine has (naming no registry) through this registry, so that every node can pull them')
    .option('-q, --quiet', 'no progress')
    .action(async (action: string | undefined, stack: string | undefined, o: { detach?: boolean; prune?: boolean; timeout: string; quiet?: boolean; volumes?: boolean; resolveImage: string; withRegistryAuth?: boolean; registry?: string }) => {
      const say = o.quiet ? () => undefined : (l: string) => process.stderr.write(`${l}\n`);
      const swarm = await import('../deploy/swarm.js');
      if (action === undefined) {
        const g = globals();
        const resolveImage = o.resolveImage;
        if (resolveImage !== 'always' && resolveImage !== 'changed' && resolveImage !== 'never') throw new DockyardError('USAGE', `--resolve-image: "${resolveImage}" is not always, changed or never`, { hint: 'always (the default) pins every image to its registry digest; never deploys the references as written' });
        const { project, engine } = await context(g, true);
        // in a dry run the engine itself says what would change
        const r = await swarm.deployStack(engine, project, { detach: o.detach, prune: o.prune, timeoutMs: parseTimeoutMs(o.timeout), resolveImage, withRegistryAuth: o.withRegistryAuth, registry: o.registry, onProgress: g.dryRun ? () => undefined : say });
        for (const w of r.warnings) process.stderr.write(`warning: ${w}\n`);
        for (const u of r.unresolved) process.stderr.write(`warning: no registry gave a digest for ${u.image} (${u.reason}): each node uses whatever ${u.image} means to it, which may differ between nodes\n`);
        if (r.ignored.length) process.stderr.write(`warning: Swarm cannot honour ${r.ignored.length} key(s), ignored: ${r.ignored.join(', ')}\n`);
        say(`stack ${r.stack}: ${r.created.length} ${g.dryRun ? 'to create' : 'created'}, ${r.updated.length} ${g.dryRun ? 'to update' : 'updated'}, ${r.removed.length} ${g.dryRun ? 'to remove' : 'removed'}${o.detach || g.dryRun ? '' : ', converged'}`);
        return;
      }
      const engine = await engineFor(globals());
      const need = () => {
        if (!stack) throw new DockyardError('USAGE', `deploy ${action} needs the stack's name`, { hint: `dockyard deploy ${action} NAME (dockyard deploy ls lists them)` });
        return stack;
      };
      if (action === 'ls') {
        const list = await swarm.listStacks(engine);
        process.stdout.write(table(['NAME', 'SERVICES'], list.map((s) => [s.name, String(s.services)])));
      } else if (action === 'ps') {
        const tasks = await swarm.stackTasks(engine, need());
        // a slot's earlier tasks under its current one, as docker stack ps shows them
        const seen = new Set<string>();
        const rows = tasks.map((t) => {
          const key = `${t.service}/${t.slot || t.nodeId}`;
          const name = `${seen.has(key) ? ' \\_ ' : ''}${swarm.taskName(t)}`;
          seen.add(key);
          return [t.id, name, t.image, t.nodeState && t.nodeState !== 'ready' ? `${t.node} (${t.nodeState})` : t.node, t.desired, t.state, t.error ?? ''];
        });
        process.stdout.write(table(['ID', 'NAME', 'IMAGE', 'NODE', 'DESIRED STATE', 'CURRENT STATE', 'ERROR'], rows));
        for (const loss of swarm.tasksThatLeft(tasks)) {
          process.stdout.write(`node ${loss.node} is ${loss.state}: ${loss.tasks.length} task(s) left it\n`);
          for (const t of loss.tasks) process.stdout.write(`  ${t.name} (${t.task}): ${t.now ? `now on ${t.now.node} (${t.now.state}, task ${t.now.task})` : t.global ? 'not placed elsewhere (a global service runs one task per node)' : 'not placed elsewhere yet'}\n`);
        }
      } else if (action === 'rm') {
        const r = await swarm.removeStack(engine, need(), say, { volumes: o.volumes });
        say(`stack ${stack} removed (${r.removed.length} objects)`);
      } else throw new DockyardError('USAGE', `unknown deploy action "${action}"`, { hint: 'ls, ps STACK, rm STACK, or none to deploy' });
    });
}
