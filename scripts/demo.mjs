// npm run demo: the README's main job, on the example stack (examples/shop).
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(root, 'bin', 'dockyard.cjs');
const stack = join(root, 'examples', 'shop');
const args = process.argv.slice(2);
const run = (a) => spawnSync(process.execPath, [cli, ...a], { cwd: stack, stdio: 'inherit' }).status ?? 1;

console.log(`dockyard demo: the example stack in ${stack}\n`);
const code = run(['config', ...args]);
process.exitCode = code;
