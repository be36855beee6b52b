/** `dockyard consolidate [DIR] [--out OUT]`: many Compose files into a base and overlays, proven equal. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import type { Command } from 'commander';
import { DockyardError } from '../errors.js';
import { table } from './table.js';
import type { ComposeReport } from '../consolidate/compose.js';

/** A path as the user would type it in `from`: relative below it, absolute elsewhere. */
const shown = (p: string, from = process.cwd()) => {
  const r = relative(from, p);
  return r === '' ? '.' : r.startsWith('..') ? p : r;
};

export function registerConsolidate(program: Command): void {
  program
    .command('consolidate')
    .description('fold the Compose files and Dockerfiles under DIR into a base file with overlays and one multi-stage Dockerfile, each original proven equal')
    .argument('[dir]', 'the folder to consolidate', '.')
    .option('-o, --out <dir>', 'write the new files and consolidate.json here (without it: only report)')
    .action(async (dirArg: string, o: { out?: string }) => {
      const { consolidateCompose } = await import('../consolidate/compose.js');
      const dir = resolve(dirArg);
      const out = resolve(o.out ?? join(dir, 'consolidated'));
      const { consolidateDockerfiles } = await import('../consolidate/dockerfile.js');
      const d = consolidateDockerfiles(dir, out);
      // the Compose files' builds of consolidated Dockerfiles build their targets instead
      const builds = d && !d.unproven.length ? { dockerfile: join(out, 'Dockerfile'), originals: new Map(Object.entries(d.targets).map(([f, t]) => [join(dir, f), t])) } : undefined;
      const r: ComposeReport = consolidateCompose(dir, out, builds) ?? { compose: {}, identical: [], proven: [], unproven: [], linesBefore: 0, linesAfter: 0, filesAfter: [], variables: 'kept', builds: 0, projectNames: {} };
      if (!r.filesAfter.length && !d) throw new DockyardError('USAGE', `nothing to consolidate under ${dir}: it needs two or more Compose files or Dockerfiles`, { hint: 'Compose files: compose*.yaml, docker-compose*.yaml; Dockerfiles: Dockerfile, Dockerfile.*, *.Dockerfile' });
      const w = (s: string) => process.stdout.write(s);
      // paths as typed in DIR (the migration table's commands are typed there, as the originals are used)
      const fromDir = (p: string) => shown(p, dir);
      if (r.filesAfter.length) w(`Compose: ${Object.keys(r.compose).length} files, ${r.linesBefore} lines -> ${r.filesAfter.length} files, ${r.linesAfter} lines (${r.linesBefore - r.linesAfter} duplicated lines removed)\n`);
      if (r.filesAfter.length && r.variables === 'resolved') w('note: the files could not be factored as written: variables are resolved with the current environment in the new files\n');
      if (r.builds) w(`build: the services that built the original Dockerfiles build their targets in ${fromDir(join(out, 'Dockerfile'))} (${r.builds} builds in all)\n`);
      for (const g of r.identical) w(`identical: ${g.join(', ')}\n`);
      for (const f of r.proven) w(`proven: ${f} = ${r.compose[f]!.join(' + ')}\n`);
      for (const u of r.unproven) w(`NOT proven: ${u.file}: ${u.difference}\n`);
      if (d) {
        w(`Dockerfiles: ${Object.keys(d.targets).length} files, ${d.linesBefore} lines -> 1 multi-stage Dockerfile, ${d.linesAfter} lines\n`);
        for (const f of d.proven) w(`proven: ${f} = Dockerfile --target ${d.targets[f]!.target}\n`);
        if (d.dockerignore !== undefined) w(`the folders' .dockerignore rules, for the one build context: Dockerfile.dockerignore (dockyard and BuildKit read it beside the Dockerfile; the classic builder does not)\n`);
        for (const u of d.unproven) w(`NOT proven: ${u.file}: ${u.difference}\n`);
      }
      const pd = relative(out, dir) || '.';
      if (r.filesAfter.length || d) w(`\ncommands, run in ${shown(dir)}:\n`);
      if (r.filesAfter.length) w(`\n${table(['before', 'after'], Object.entries(r.compose).map(([f, files]) => [`docker compose -f ${f} up`, `dockyard --project-directory . ${r.projectNames[f] ? `-p ${r.projectNames[f]} ` : ''}${files.map((x) => `-f ${fromDir(join(out, x))}`).join(' ')} up`]))}`);
      if (d) w(`\n${table(['before', 'after'], Object.entries(d.targets).map(([f, t]) => [`docker build -f ${f} ${dirname(f)}`, `docker build -f ${fromDir(join(out, 'Dockerfile'))} --target ${t.target} .`]))}`);
      const unproven = r.unproven.length + (d?.unproven.length ?? 0);
      if (unproven) throw new DockyardError('INVALID_VALUE', `${unproven} original(s) could not be proven equal to their replacement: nothing written`, { hint: 'each NOT proven line says why: Dockerfiles whose global ARGs or ignore rules conflict cannot share one file (align them, or move one out of DIR); a Compose file that cannot be factored is worth reporting with the files' });
      if (!o.out) {
        w('\n(report only: --out DIR writes the files)\n');
        return;
      }
      mkdirSync(out, { recursive: true });
      for (const f of r.filesAfter) writeFileSync(join(out, f.name), f.text);
      if (d) writeFileSync(join(out, 'Dockerfile'), d.dockerfile);
      if (d?.dockerignore !== undefined) writeFileSync(join(out, 'Dockerfile.dockerignore'), d.dockerignore);
      const dockerfiles = Object.fromEntries(Object.entries(d?.targets ?? {}).map(([f, t]) => [f, { dockerfile: 'Dockerfile', target: t.target, context: pd }]));
      writeFileSync(join(out, 'consolidate.json'), `${JSON.stringify({ project_directory: pd, compose: r.compose, dockerfiles }, null, 2)}\n`);
      w(`\nwrote ${r.filesAfter.length + (d ? 1 : 0) + (d?.dockerignore !== undefined ? 1 : 0)} files and consolidate.json to ${shown(out)}\n`);
    });
}
