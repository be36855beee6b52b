// Bundles the CLI into dist/dockyard.cjs (started by bin/dockyard.cjs with a V8 code cache).
import { build } from 'esbuild';
import { readFile } from 'node:fs/promises';
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
  // import() of an external module becomes require(): the bundle runs inside vm.Script
  supported: { 'dynamic-import': false },
  // smaller to read and to check against the code cache at every start
  minifyWhitespace: true,
  minifySyntax: true,
  // ssh2 (used only for ssh:// engines) is loaded lazily from node_modules; the HCL parser
  // loads its WebAssembly from its own directory, so it stays in node_modules too
  external: ['ssh2', 'cpu-features', '@cdktf/hcl2json', 'dockerode/lib/session.js'],
  plugins: [
    {
      // docker-modem formats every request with util.inspect (showHidden, unlimited depth: build
      // contexts and streams included) for a debug line that is off unless DEBUG asks for it;
      // formatting only when it is on saves ~12 ms at every start and more per request
      name: 'quiet-modem-debug',
      setup(b) {
        b.onLoad({ filter: /docker-modem[\\/]lib[\\/]modem\.js$/ }, async (args) => {
          const src = await readFile(args.path, 'utf8');
          const call = "debug('Sending: %s', util.inspect(options, {";
          if (!src.includes(call)) return { contents: src, loader: 'js', warnings: [{ text: 'docker-modem changed: the debug-only util.inspect is no longer skipped' }] };
          return { contents: src.replace(call, `debug.enabled && ${call}`), loader: 'js' };
        });
      },
    },
    {
      name: 'lazy-modules',
      setup(b) {
        b.onResolve({ filter: /^ssh2$/ }, (args) => (args.importer.includes('docker-modem') ? { path: join(root, 'scripts/shims/ssh2-lazy.cjs') } : { path: 'ssh2', external: true }));
        // dockerode's BuildKit session (gRPC, protobuf): loaded on first use, from node_modules
        b.onResolve({ filter: /^\.\/session$/ }, (args) => (args.importer.includes('dockerode') ? { path: join(root, 'scripts/shims/dockerode-session-lazy.cjs') } : undefined));
        // the Kubernetes models (600 KB, for `convert k8s` only) are a bundle of their own,
        // dist/k8s-models.cjs, read when first used
        b.onResolve({ filter: /^kubernetes-models\/(apps\/v1|batch\/v1|v1)$/ }, (args) => ({ path: args.path, namespace: 'k8s-models' }));
        b.onLoad({ filter: /.*/, namespace: 'k8s-models' }, (args) => ({
          contents: `module.exports = require(require('node:path').join(__dirname, 'k8s-models.cjs'))[${JSON.stringify(args.path.endsWith('apps/v1') ? 'apps' : args.path.endsWith('batch/v1') ? 'batch' : 'core')}];`,
          loader: 'js',
        }));
      },
    },
  ],
});

await build({
  stdin: { contents: "export * as apps from 'kubernetes-models/apps/v1';\nexport * as batch from 'kubernetes-models/batch/v1';\nexport * as core from 'kubernetes-models/v1';\n", resolveDir: root, loader: 'js' },
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  outfile: join(root, 'dist/k8s-models.cjs'),
  logLevel: 'warning',
  minifyWhitespace: true,
  minifySyntax: true,
});
