/** `dockyard ps`: the project's containers, as the engine lists them. */
import type { Command } from 'commander';
import { DockyardError } from '../errors.js';
import type { GlobalOptions } from './common.js';
import { collectOption, context } from './common.js';
import { compileTemplate, table } from './table.js';

const STATES = ['paused', 'restarting', 'removing', 'running', 'dead', 'created', 'exited'];

export function registerPs(program: Command, globals: () => GlobalOptions): void {
  program
    .command('ps')
    .description('list the containers of the project')
    .argument('[services...]', 'services (default: all)')
    .option('-a, --all', 'also stopped containers (and one-off containers)')
    .option('--format <format>', "table, json, or a template ('{{.Name}} {{.State}}')", 'table')
    .option('--services', 'print the service names')
    .option('--status <status>', 'filter by state (repeatable): ' + STATES.join(', '), collectOption)
    .option('--filter <key=value>', 'filter: status=STATE', collectOption)
    .option('--no-orphans', 'leave out containers of services the project no longer defines')
    .option('--no-trunc', 'do not shorten the command')
    .option('-q, --quiet', 'print the ids only')
    .action(async (names: string[], o: { all?: boolean; format: string; services?: boolean; status?: string[]; filter?: string[]; orphans: boolean; trunc: boolean; quiet?: boolean }) => {
      const status = [...(o.status ?? [])];
      for (const f of o.filter ?? []) {
        const [k, v] = [f.slice(0, f.indexOf('=')), f.slice(f.indexOf('=') + 1)];
        if (!f.includes('=')) throw new DockyardError('USAGE', `invalid --filter "${f}"`, { hint: 'write KEY=VALUE, e.g. status=running' });
        if (k === 'status') status.push(v);
        else if (k === 'source') throw new DockyardError('USAGE', '--filter source=... is not implemented (docker compose does not implement it either)', { hint: 'filter by status=STATE' });
        else throw new DockyardError('USAGE', `unknown filter "${k}"`, { hint: 'status=STATE' });
      }
      for (const s of status) if (!STATES.includes(s)) throw new DockyardError('USAGE', `invalid status "${s}"`, { hint: `one of ${STATES.join(', ')}` });
      if (o.format !== 'table' && o.format !== 'json' && !o.format.includes('{{')) throw new DockyardError('USAGE', `unknown format "${o.format}"`, { hint: "table, json, or a template such as '{{.Name}}'" });
      // a template is read (and refused if it cannot run) before the engine is asked anything
      const tpl = o.format !== 'table' && o.format !== 'json' ? compileTemplate(o.format) : undefined;
      const { project, handle } = await context(globals(), true, names);
      const cs = await handle.ps({ services: names, all: o.all, status, orphans: o.orphans });
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
      const cmd = (c: (typeof cs)[number]) => (o.trunc && c.command.length > 20 ? `"${c.command.slice(0, 19)}…"` : `"${c.command}"`);
      if (o.format !== 'table') {
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
          Command: `"${c.command}"`,
          RunningFor: ago(c.created),
        }));
        process.stdout.write(tpl ? tpl.render(rows) : `${JSON.stringify(rows)}\n`);
        return;
      }
      process.stdout.write(table(['NAME', 'IMAGE', 'COMMAND', 'SERVICE', 'CREATED', 'STATUS', 'PORTS'], cs.map((c) => [c.name, c.image, cmd(c), c.service, ago(c.created), c.status, ports(c)])));
    });
}

function ago(unixSeconds: number): string {
  const s = Math.max(0, Math.floor(Date.now() / 1000 - unixSeconds));
  if (s < 60) return `${s} seconds ago`;
  if (s < 3600) return `${Math.floor(s / 60)} minutes ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} hours ago`;
  return `${Math.floor(s / 86400)} days ago`;
}
