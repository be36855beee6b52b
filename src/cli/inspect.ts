/** `images`, `stats`, `ls`, `version`, `events`: what is there, as docker compose shows it. */
import type { Command } from 'commander';
import { DockyardError } from '../errors.js';
import type { GlobalOptions } from './common.js';
import { context } from './common.js';
import { compileTemplate, table, template } from './table.js';

const VERSION = '0.1.0';

/** table, json, or a template (read here: one that cannot run is refused before the engine is asked). */
function checkFormat(f: string, allowed = ['table', 'json'], templates = true): void {
  if (!allowed.includes(f) && (!templates || !f.includes('{{'))) throw new DockyardError('USAGE', `unknown format "${f}"`, { hint: `${allowed.join(' or ')}${templates ? ", or a template such as '{{.Name}}'" : ''}` });
  if (!allowed.includes(f)) compileTemplate(f);
}

const size = (n: number) => (n >= 1e9 ? `${(n / 1e9).toFixed(3)}GB` : n >= 1e6 ? `${(n / 1e6).toFixed(1)}MB` : n >= 1e3 ? `${(n / 1e3).toFixed(1)}kB` : `${n}B`);
const bin = (n: number) => (n >= 2 ** 30 ? `${(n / 2 ** 30).toFixed(2)}GiB` : n >= 2 ** 20 ? `${(n / 2 ** 20).toFixed(2)}MiB` : n >= 2 ** 10 ? `${(n / 2 ** 10).toFixed(2)}KiB` : `${n}B`);

export function registerInspect(program: Command, globals: () => GlobalOptions): void {
  program
    .command('images')
    .description('list the images used by the containers of the project')
    .argument('[services...]')
    .option('--format <format>', 'table, json, or a template', 'table')
    .option('-q, --quiet', 'print the image ids only')
    .action(async (names: string[], o: { format: string; quiet?: boolean }) => {
      checkFormat(o.format);
      const { handle } = await context(globals(), true, names);
      const rows = await handle.images(names);
      if (o.quiet) return void process.stdout.write([...new Set(rows.map((r) => r.id))].map((i) => `${i}\n`).join(''));
      const recs = rows.map((r) => ({ ContainerName: r.container, Repository: r.repository, Tag: r.tag, ID: r.id, Size: r.size, Created: new Date(r.created * 1000).toISOString() }));
      if (o.format === 'json') return void process.stdout.write(`${JSON.stringify(recs)}\n`);
      if (o.format !== 'table') return void process.stdout.write(template(o.format, recs));
      process.stdout.write(table(['CONTAINER', 'REPOSITORY', 'TAG', 'IMAGE ID', 'SIZE'], rows.map((r) => [r.container, r.repository, r.tag, r.id.replace(/^sha256:/, '').slice(0, 12), size(r.size)])));
    });

  program
    .command('stats')
    .description("the containers' resource use (a live view on a TTY; one sample with --no-stream)")
    .argument('[services...]')
    .option('-a, --all', 'also stopped containers')
    .option('--no-stream', 'one sample, then exit')
    .option('--no-trunc', 'full container ids')
    .option('--format <format>', 'table, json, or a template', 'table')
    .action(async (names: string[], o: { all?: boolean; stream: boolean; trunc: boolean; format: string }) => {
      checkFormat(o.format);
      const { handle } = await context(globals(), true, names);
      const stream = o.stream && process.stdout.isTTY === true;
      for (;;) {
        const rows = await handle.stats(names, { all: o.all });
        const recs = rows.map((r) => ({
          ID: o.trunc ? r.id.slice(0, 12) : r.id,
          Name: r.container,
          Service: r.service,
          CPUPerc: `${r.cpuPercent.toFixed(2)}%`,
          MemUsage: `${bin(r.memoryBytes)} / ${bin(r.memoryLimitBytes)}`,
          MemPerc: `${r.memoryPercent.toFixed(2)}%`,
          NetIO: `${size(r.netRxBytes)} / ${size(r.netTxBytes)}`,
          BlockIO: `${size(r.blockReadBytes)} / ${size(r.blockWriteBytes)}`,
          PIDs: String(r.pids),
        }));
        let out: string;
        if (o.format === 'json') out = recs.map((r) => `${JSON.stringify(r)}\n`).join('');
        else if (o.format !== 'table') out = template(o.format, recs);
        else out = table(['CONTAINER ID', 'NAME', 'CPU %', 'MEM USAGE / LIMIT', 'MEM %', 'NET I/O', 'BLOCK I/O', 'PIDS'], recs.map((r) => [r.ID, r.Name, r.CPUPerc, r.MemUsage, r.MemPerc, r.NetIO, r.BlockIO, r.PIDs]));
        process.stdout.write(stream ? `\x1b[2J\x1b[H${out}` : out);
        if (!stream) return;
        await new Promise((r) => setTimeout(r, 1000));
      }
    });

  program
    .command('ls')
    .description('list the projects on this engine (from their containers)')
    .option('-a, --all', 'also projects whose containers are all stopped')
    .option('--filter <filter>', 'name=NAME (a part of the name)')
    .option('--format <format>', 'table or json', 'table')
    .option('-q, --quiet', 'print the project names only')
    .action(async (o: { all?: boolean; filter?: string; format: string; quiet?: boolean }) => {
      checkFormat(o.format, ['table', 'json'], false);
      let nameFilter: string | undefined;
      if (o.filter) {
        const m = /^name=(.*)$/.exec(o.filter);
        if (!m) throw new DockyardError('USAGE', `invalid --filter "${o.filter}"`, { hint: 'name=NAME' });
        nameFilter = m[1];
      }
      const { listProjects } = await import('../api/project.js');
      const projects = (await listProjects({ all: o.all })).filter((p) => !nameFilter || p.name.includes(nameFilter));
      if (o.quiet) return void process.stdout.write(projects.map((p) => `${p.name}\n`).join(''));
      if (o.format === 'json') return void process.stdout.write(`${JSON.stringify(projects.map((p) => ({ Name: p.name, Status: p.status, ConfigFiles: p.configFiles.join(',') })))}\n`);
      process.stdout.write(table(['NAME', 'STATUS', 'CONFIG FILES'], projects.map((p) => [p.name, p.status, p.configFiles.join(',')])));
    });

  program
    .command('version')
    .description("dockyard's version (and the engine's)")
    .option('-f, --format <format>', 'pretty or json', 'pretty')
    .option('--short', 'the version number only')
    .action(async (o: { format: string; short?: boolean }) => {
      if (o.short) return void process.stdout.write(`${VERSION}\n`);
      if (o.format !== 'pretty' && o.format !== 'json') throw new DockyardError('USAGE', `unknown format "${o.format}"`, { hint: 'pretty or json' });
      // the engine in use and what chose it (nothing is contacted)
      const e = (await import('../engine/context.js')).engineSummary();
      if (o.format === 'json') return void process.stdout.write(`${JSON.stringify({ version: VERSION, engine: { host: e.host, context: e.context } })}\n`);
      process.stdout.write(`dockyard version ${VERSION}\nengine: ${e.description}\n`);
    });

  program
    .command('events')
    .description('stream the lifecycle events of the project\'s containers')
    .argument('[services...]')
    .option('--json', 'one JSON object per line')
    .option('--since <when>', 'also events since then (a duration ago or a date)')
    .option('--until <when>', 'stop at that time')
    .action(async (names: string[], o: { json?: boolean; since?: string; until?: string }) => {
      const { handle } = await context(globals(), true, names);
      const { parseSince } = await import('../converge/logs.js');
      const since = o.since ? parseSince(o.since) : undefined;
      const until = o.until ? parseSince(o.until) : undefined;
      if (names.length) handle.model.services && names.forEach((n) => { if (!handle.model.services[n]) throw new DockyardError('USAGE', `no such service: ${n}`); });
      const ac = new AbortController();
      process.on('SIGINT', () => ac.abort());
      // with --until the engine replays up to then and ends the stream
      const events = handle.events({ signal: ac.signal, since, until });
      for await (const e of events) {
        if (names.length && !names.includes(e.service)) continue;
        if (until !== undefined && e.time.getTime() > until * 1000) break;
        if (o.json) {
          process.stdout.write(`${JSON.stringify({ time: e.time.toISOString(), type: 'container', action: e.action, id: e.id, service: e.service, attributes: { name: e.container, ...(e.exitCode !== undefined ? { exitCode: String(e.exitCode) } : {}), ...(e.signal ? { signal: e.signal } : {}) } })}\n`);
        } else {
          process.stdout.write(`${e.time.toISOString()} container ${e.action} ${e.id} (name=${e.container}, service=${e.service}${e.exitCode !== undefined ? `, exitCode=${e.exitCode}` : ''})\n`);
        }
      }
    });
}
