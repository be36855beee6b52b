/** `dockyard ps`: the project's containers, as the engine lists them. */
import type { Command } from 'commander';
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
      for (const s of o.status ?? []) if (!STATES.includes(s)) throw new DockyardError('USAGE', `invalid --status "${s}"`, { hint: `one of ${STATES.join(', ')}` });
      if (o.format !== 'table' && o.format !== 'json') throw new DockyardError('USAGE', `unknown format "${o.format}"`, { hint: 'table or json' });
      const { project, handle } = await context(globals(), true);
      const cs = await handle.ps({ services: names, all: o.all, status: o.status });
      if (o.services) {
        process.stdout.write([...new Set(cs.map((c) => c.service))].map((s) => `${s}\n`).join(''));
        return;
      }
      if (o.quiet) {
        process.stdout.write(cs.map((c) => `${c.id}\n`).join(''));
        return;
      }
      const ports = (c: (typeof cs)[number]) =>
        c.ports.map((p) => (p.published ? `${p.hostIp.includes(':') ? `[${p.hostIp}]` : p.hostIp || '0.0.0.0'}:${p.published}->${p.target}/${p.protocol}` : `${p.target}/${p.protocol}`)).join(', ');
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
          Health: c.health ?? '',
          ExitCode: c.exitCode ?? 0,
          Publishers: c.ports.map((p) => ({ URL: p.hostIp, TargetPort: p.target, PublishedPort: p.published ?? 0, Protocol: p.protocol })),
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
