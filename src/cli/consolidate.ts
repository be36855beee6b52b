/** `dockyard consolidate [DIR] [--out OUT]`: many Compose files into a base and overlays, proven equal. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import type { Command } from 'commander';
import { DockyardError } from '../errors.js';
import { table } from './table.js';

export function registerConsolidate(program: Command): void {
  program
    .command('consolidate')
    .description('fold the Compose files under DIR into one base file and overlays, proven equal to the originals')
    .argument('[dir]', 'the folder to consolidate', '.')
    .option('-o, --out <dir>', 'write the new files and consolidate.json here (without it: only report)')
    .action(async (dirArg: string, o: { out?: string }) => {
      const { consolidateCompose } = await import('../consolidate/compose.js');
      const dir = resolve(dirArg);
      const out = resolve(o.out ?? join(dir, 'consolidated'));
      const r = consolidateCompose(dir, out);
      const w = (s: string) => process.stdout.write(s);
      w(`Compose: ${Object.keys(r.compose).length} files, ${r.linesBefore} lines -> ${r.filesAfter.length} files, ${r.linesAfter} lines (${r.linesBefore - r.linesAfter} duplicated lines removed)\n`);
      for (const g of r.identical) w(`identical: ${g.join(', ')}\n`);
      for (const f of r.proven) w(`proven: ${f} = ${r.compose[f]!.join(' + ')}\n`);
      for (const u of r.unproven) w(`NOT proven: ${u.file}: ${u.difference}\n`);
      const pd = relative(out, dir) || '.';
      w(`\n${table(['before', 'after'], Object.entries(r.compose).map(([f, files]) => [`docker compose -f ${f} up`, `dockyard --project-directory ${pd} ${files.map((x) => `-f ${join(relative(process.cwd(), out) || '.', x)}`).join(' ')} up`]))}`);
      if (r.unproven.length) throw new DockyardError('INVALID_VALUE', `${r.unproven.length} original(s) could not be proven equal to their replacement: nothing written`, { hint: 'report it with the files: the factoring should always be provable' });
      if (!o.out) {
        w('\n(report only: --out DIR writes the files)\n');
        return;
      }
      mkdirSync(out, { recursive: true });
      for (const f of r.filesAfter) writeFileSync(join(out, f.name), f.text);
      writeFileSync(join(out, 'consolidate.json'), `${JSON.stringify({ project_directory: pd, compose: r.compose, dockerfiles: {} }, null, 2)}\n`);
      w(`\nwrote ${r.filesAfter.length} files and consolidate.json to ${relative(process.cwd(), out) || '.'}\n`);
    });
}
