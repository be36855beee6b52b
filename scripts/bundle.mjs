// Bundles the CLI into dist/dockyard.cjs (started by bin/dockyard.cjs with a V8 code cache).
import { build } from 'esbuild';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
await build({
  entryPoints: [join(root, 'src/cli/main.ts')],
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  outfile: join(root, 'dist/dockyard.cjs'),
  logLevel: 'warning',
  // ssh2 (used only for ssh:// engines) is loaded lazily from node_modules
  external: ['ssh2', 'cpu-features'],
  plugins: [
    {
      name: 'lazy-ssh2',
      setup(b) {
        b.onResolve({ filter: /^ssh2$/ }, (args) => (args.importer.includes('docker-modem') ? { path: join(root, 'scripts/shims/ssh2-lazy.cjs') } : { path: 'ssh2', external: true }));
      },
    },
  ],
});
