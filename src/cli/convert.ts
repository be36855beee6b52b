/** `dockyard convert k8s`: Kubernetes manifests from the project (validated against the schema). */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import jsyaml from 'js-yaml';
import { DockyardError } from '../errors.js';
import { loadProject } from '../load/index.js';
import type { GlobalOptions } from './common.js';
import { loadOptionsFrom } from './common.js';

export function registerConvert(program: Command, globals: () => GlobalOptions): void {
  program
    .command('convert')
    .description('convert the project for another platform: k8s (Kubernetes manifests)')
    .argument('<target>', 'k8s')
    .option('-o, --out <dir>', 'write one file per object into this folder (default: all to stdout)')
    .option('--namespace <ns>', 'the namespace of the objects')
    .action(async (target: string, o: { out?: string; namespace?: string }) => {
      if (target !== 'k8s' && target !== 'kubernetes') throw new DockyardError('USAGE', `unknown target "${target}"`, { hint: 'k8s' });
      const project = loadProject(loadOptionsFrom(globals()));
      const { convertToKubernetes } = await import('../deploy/k8s.js');
      const { manifests, warnings } = await convertToKubernetes(project, { namespace: o.namespace });
      const dump = (m: unknown) => jsyaml.dump(m, { lineWidth: -1, noRefs: true });
      if (o.out) {
        mkdirSync(o.out, { recursive: true });
        for (const m of manifests) {
          const meta = m.metadata as { name: string };
          writeFileSync(join(o.out, `${String(m.kind).toLowerCase()}-${meta.name}.yaml`), dump(m));
        }
        process.stderr.write(`wrote ${manifests.length} manifests to ${o.out}\n`);
      } else process.stdout.write(manifests.map(dump).join('---\n'));
      if (warnings.length) process.stderr.write(`warning: ${warnings.length} key(s) have no Kubernetes mapping or need attention:\n${warnings.map((w) => `  ${w}`).join('\n')}\n`);
    });
}
