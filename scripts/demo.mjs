// npm run demo: the README's main job. Starts an engine where none answers (scripts/engine.sh),
// brings up the example stack (examples/shop) on local images, and prints where to reach it.
//   npm run demo            bring it up (again: only what changed is recreated)
//   npm run demo -- down    remove it (containers, networks, volumes)
//   npm run demo -- <any dockyard command>   e.g. npm run demo -- ps
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(root, 'bin', 'dockyard');
const stack = join(root, 'examples', 'shop');
const args = process.argv.slice(2);
const dockyard = (a, opts = {}) => spawnSync(cli, a, { cwd: stack, stdio: 'inherit', ...opts }).status ?? 1;

const engine = spawnSync('bash', [join(root, 'scripts', 'engine.sh')], { stdio: 'inherit' });
if (engine.status !== 0) process.exit(engine.status ?? 1);

if (args[0] === 'down') {
  process.exit(dockyard(['down', '-v', ...args.slice(1)]));
}
if (args.length) process.exit(dockyard(args));

console.log(`\ndockyard demo: bringing up the example stack in ${stack}\n`);
const code = dockyard(['up', '-d', '--wait', '--timeline']);
if (code !== 0) process.exit(code);
const port = (svc, p) => spawnSync(cli, ['port', svc, String(p)], { cwd: stack, encoding: 'utf8' }).stdout.trim();
console.log('');
dockyard(['ps']);
console.log(`
The stack is up:
  web  http://localhost:${port('web', 80).split(':').pop()}/         (static front)
  api  http://localhost:${port('api', 8000).split(':').pop()}/health   (depends on db healthy + migrate done)

Try:   npm run demo -- logs -f worker      npm run demo -- ps
Stop:  npm run demo -- down
`);
