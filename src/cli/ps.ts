/** `dockyard ps`: the project's containers, as the engine lists them. */
import type { Command } from 'commander';
import { projectContainers } from '../converge/state.js';
import { DockyardError } from '../errors.js';
import type { GlobalOptions } from './common.js';
import { collectOption, context } from './common.js';

const STATES = ['paused', 'restarting', 'removing', 'running', 'dead', 'created', 'exited'];

export function registerPs(program: Command, globals: () => GlobalOptions): void {
  program
    .command('ps')
    .description('list the containers of the project')
    .argument('[services...]', 'services (default: all)')
    .option('-a, --all', 'also stopped containers (and one-off containers)')
    .option('--format <format>', 'table or json', 'table')
    .option('--services', 'print the service names')
    .option('--status <status>', 'filter by state (repeatable): ' + STATES.join(', '), collectOption)
    .option('-q, --quiet', 'print the ids only')
    .action(async (names: string[], o: { all?: boolean; format: string; services?: boolean; status?: string[]; quiet?: boolean }) => {
      const { project, engine, converger } = await context(globals(), true);
      for (const s of o.status ?? []) if (!STATES.includes(s)) throw new DockyardError('USAGE', `invalid --status "${s}"`, { hint: `one of ${STATES.join(', ')}` });
      if (o.format !== 'table' && o.format !== 'json') throw new DockyardError('USAGE', `unknown format "${o.format}"`, { hint: 'table or json' });
      if (names.length) converger.targets(names, true);
      await converger.ensureEngine();
      let cs = await projectContainers(engine, project.name, { services: names.length ? names : undefined, all: true });
      if (o.status?.length) cs = cs.filter((c) => o.status!.includes(c.state));
      else if (!o.all) cs = cs.filter((c) => c.state === 'running' || c.state === 'restarting' || c.state === 'paused');
      if (!o.all) cs = cs.filter((c) => !c.oneoff);
      if (o.services) {
        process.stdout.write([...new Set(cs.map((c) => c.service))].map((s) => `${s}\n`).join(''));
        return;
      }
      if (o.quiet) {
        process.stdout.write(cs.map((c) => `${c.id}\n`).join(''));
        return;
      }
      const ports = (c: (typeof cs)[number]) =>
        [...new Map(c.ports.map((p) => [`${p.ip ?? ''}${p.publicPort ?? ''}${p.privatePort}${p.type}`, p])).values()]
          .map((p) => (p.publicPort ? `${p.ip?.includes(':') ? `[${p.ip}]` : p.ip ?? '0.0.0.0'}:${p.publicPort}->${p.privatePort}/${p.type}` : `${p.privatePort}/${p.type}`))
          .join(', ');
      if (o.format === 'json') {
        const rows = cs.map((c) => ({
          ID: c.id,
          Name: c.name,
          Image: c.image,
          Project: project.name,
          Service: c.service,
          Number: c.number,
          State: c.state,
          Status: c.status,
          Created: c.created,
          Labels: c.labels,
          Publishers: c.ports.map((p) => ({ URL: p.ip ?? '', TargetPort: p.privatePort, PublishedPort: p.publicPort ?? 0, Protocol: p.type })),
          Ports: ports(c),
        }));
        process.stdout.write(`${JSON.stringify(rows)}\n`);
        return;
      }
      const table = [['NAME', 'IMAGE', 'SERVICE', 'CREATED', 'STATUS', 'PORTS'], ...cs.map((c) => [c.name, c.image, c.service, ago(c.created), c.status, ports(c)])];
      const widths = table[0]!.map((_, i) => Math.max(...table.map((r) => r[i]!.length)));
      process.stdout.write(table.map((r) => r.map((x, i) => (i === r.length - 1 ? x : x.padEnd(widths[i]!))).join('   ').trimEnd() + '\n').join(''));
    });
}

function ago(unixSeconds: number): string {
  const s = Math.max(0, Math.floor(Date.now() / 1000 - unixSeconds));
  if (s < 60) return `${s} seconds ago`;
  if (s < 3600) return `${Math.floor(s / 60)} minutes ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} hours ago`;
  return `${Math.floor(s / 86400)} days ago`;
}
