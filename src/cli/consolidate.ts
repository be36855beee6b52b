/** `dockyard consolidate [DIR] [--out OUT]`: many Compose files into a base and overlays, proven equal. */
import { dirname, join, relative } from 'node:path';
import type { Command } from 'commander';
import { table } from './table.js';

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
      const { consolidate, requireProven, writeConsolidation } = await import('../consolidate/index.js');
      const c = consolidate(dirArg, o.out);
      const { dir, out, compose: r, dockerfiles: d } = c;
      const w = (s: string) => process.stdout.write(s);
      // paths as typed in DIR (the migration table's commands are typed there, as the originals are used)
      const fromDir = (p: string) => shown(p, dir);
      if (r) {
        const t = r.tiers;
        const profiles = (f: string) => r.profiles[f]!.map((p) => ` --profile ${p}`).join('');
        w(`Compose: ${Object.keys(r.compose).length} files, ${r.linesBefore} lines -> ${r.filesAfter.length} files, ${r.linesAfter} lines (${r.linesBefore - r.linesAfter} duplicated lines removed)\n`);
        w(`  base: ${t.base} (what the environments share, and the values most of them share)\n`);
        for (const e of t.environments) w(`  environment: ${e.file} (${e.originals.join(', ')})\n`);
        for (const c of t.crossCutting) w(`  cross-cutting: ${c.file}, added by ${c.originals.join(', ')} (${c.changes})\n`);
        for (const p of t.profiles) w(`  profile ${p.name}: ${p.services.join(', ')}, in the base, enabled by ${p.originals.join(', ')} with --profile ${p.name} (optional services: a profile, not an overlay)\n`);
        for (const n of t.notes) w(`  not three tiers exactly: ${n}\n`);
        if (r.variables === 'resolved') w('note: the files could not be factored as written: variables are resolved with the current environment in the new files\n');
        if (r.builds) w(`build: the services that built the original Dockerfiles build their targets in ${fromDir(join(out, 'Dockerfile'))} (${r.builds} builds in all)\n`);
        for (const g of r.identical) w(`identical: ${g.join(', ')}\n`);
        for (const f of r.proven) w(`proven: ${f} = ${r.compose[f]!.join(' + ')}${profiles(f)}\n`);
        for (const u of r.unproven) w(`NOT proven: ${u.file}: ${u.difference}\n`);
      }
      if (d) {
        w(`Dockerfiles: ${Object.keys(d.targets).length} files, ${d.linesBefore} lines -> 1 multi-stage Dockerfile, ${d.linesAfter} lines\n`);
        for (const f of d.proven) w(`proven: ${f} = Dockerfile --target ${d.targets[f]!.target}\n`);
        if (d.dockerignore !== undefined) w(`the folders' .dockerignore rules, for the one build context: Dockerfile.dockerignore (dockyard and BuildKit read it beside the Dockerfile; the classic builder does not)\n`);
        for (const u of d.unproven) w(`NOT proven: ${u.file}: ${u.difference}\n`);
      }
      w(`\ncommands, run in ${shown(dir)}:\n`);
      if (r) w(`\n${table(['before', 'after'], Object.entries(r.compose).map(([f, files]) => [`docker compose -f ${f} up`, `dockyard --project-directory . ${r.projectNames[f] ? `-p ${r.projectNames[f]} ` : ''}${files.map((x) => `-f ${fromDir(join(out, x))}`).join(' ')}${r.profiles[f]!.map((p) => ` --profile ${p}`).join('')} up`]))}`);
      if (d) w(`\n${table(['before', 'after'], Object.entries(d.targets).map(([f, t]) => [`docker build -f ${f} ${dirname(f)}`, `docker build -f ${fromDir(join(out, 'Dockerfile'))} --target ${t.target} .`]))}`);
      requireProven(c);
      if (!o.out) {
        w('\n(report only: --out DIR writes the files)\n');
        return;
      }
      const written = writeConsolidation(c);
      w(`\nwrote ${written.length - 1} files and consolidate.json to ${shown(out)}\n`);
    });
}
