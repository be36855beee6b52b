/** `dockyard config`: the canonical model, or parts of it. */
import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import jsyaml from 'js-yaml';
import { DockyardError } from '../errors.js';
import { loadProject } from '../load/index.js';
import { projectModel, serviceConfigHash, usedResources } from '../model/serialize.js';
import { imageName } from '../model/names.js';
import type { GlobalOptions } from './common.js';
import { loadOptionsFrom } from './common.js';

interface ConfigOptions {
  format: string;
  services?: boolean;
  volumes?: boolean;
  networks?: boolean;
  profiles?: boolean;
  images?: boolean;
  hash?: string;
  quiet?: boolean;
  output?: string;
  interpolate: boolean;
  pathResolution: boolean;
  consistency: boolean;
  allResources?: boolean;
}

export function registerConfig(program: Command, globals: () => GlobalOptions): void {
  program
    .command('config')
    .description('validate the Compose files and print the canonical model')
    .option('--format <format>', 'yaml or json', 'yaml')
    .option('--services', 'print the service names')
    .option('--volumes', 'print the volume names')
    .option('--networks', 'print the network names')
    .option('--profiles', 'print the profile names')
    .option('--images', 'print the image names')
    .option('--hash <services>', 'print the configuration hash of services ("*" for all)')
    .option('-q, --quiet', 'only validate')
    .option('-o, --output <file>', 'write to a file instead of stdout')
    .option('--no-interpolate', 'do not substitute variables')
    .option('--no-path-resolution', 'keep paths as written')
    .option('--no-consistency', 'skip the checks of references between resources')
    .option('--all-resources', 'include networks, volumes, secrets and configs that no service uses')
    .action((o: ConfigOptions) => {
      if (o.format !== 'yaml' && o.format !== 'json') {
        throw new DockyardError('USAGE', `unknown format "${o.format}"`, { hint: 'use --format yaml or --format json' });
      }
      const project = loadProject(loadOptionsFrom(globals(), { interpolate: o.interpolate, resolvePaths: o.pathResolution, consistency: o.consistency }));
      if (o.quiet) return;
      let text: string;
      const lines = (xs: string[]) => (xs.length ? xs.join('\n') + '\n' : '');
      const used = () => usedResources(project);
      if (o.services) text = lines(Object.keys(project.services));
      else if (o.volumes) text = lines(Object.keys(project.volumes).filter((k) => o.allResources || used().volumes.has(k)));
      else if (o.networks) text = lines(Object.keys(project.networks).filter((k) => o.allResources || used().networks.has(k)));
      else if (o.profiles) {
        const all = new Set<string>();
        for (const s of [...Object.values(project.services), ...Object.values(project.disabledServices)]) for (const p of s.profiles ?? []) all.add(p);
        text = lines([...all].sort());
      } else if (o.images) text = lines(Object.values(project.services).map((s) => imageName(project.name, s)));
      else if (o.hash !== undefined) {
        const wanted = o.hash === '*' ? Object.keys(project.services) : o.hash.split(',').map((s) => s.trim());
        for (const w of wanted) {
          if (!project.services[w]) throw new DockyardError('USAGE', `no such service: ${w}`, { hint: `services: ${Object.keys(project.services).join(', ')}` });
        }
        text = lines(wanted.map((n) => `${n} ${serviceConfigHash(project.services[n]!)}`));
      } else {
        const model = projectModel(project, { escapeDollars: o.interpolate, format: o.format, all: o.allResources });
        text = o.format === 'json' ? JSON.stringify(model, null, 2) + '\n' : jsyaml.dump(model, { lineWidth: -1, noRefs: true, quotingType: '"' });
      }
      if (o.output) writeFileSync(o.output, text);
      else process.stdout.write(text);
    });
}
