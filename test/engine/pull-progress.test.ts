/**
 * Pull progress shows the layers and bytes the engine reports (issue 28), from a real local
 * registry: in `--progress json` events while it pulls, on the final line in plain mode (pull and
 * up), and live in a terminal (a pseudo-terminal made by `script`).
 */
import { spawnSync } from 'node:child_process';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import './setup.js';
import { BASE, docker, useProjects } from '../helpers/engine.js';
import { CLI, dockerEnv } from '../helpers/fs.js';
import { startRegistry } from '../helpers/registry.js';
import type { Registry } from '../helpers/registry.js';

const project = useProjects(afterEach);
/** Lets vitest's worker talk to its parent between commands (spawnSync blocks this process). */
const tick = () => new Promise((r) => setTimeout(r, 0));
let reg: Registry;
let image: string;

beforeAll(async () => {
  reg = await startRegistry();
  image = `${reg.host}/team/progress:1`;
  // two layers of their own with bytes to download (random: nothing compresses away), on the base here
  const dir = spawnSync('mktemp', ['-d'], { encoding: 'utf8' }).stdout.trim();
  spawnSync('sh', ['-c', `printf 'FROM ${BASE}\\nRUN head -c 1500000 /dev/urandom > /a\\nRUN head -c 700000 /dev/urandom > /b\\n' > ${dir}/Dockerfile`]);
  docker('build', '-q', '-t', image, dir);
  docker('push', image);
  spawnSync('rm', ['-rf', dir]);
}, 120_000);
afterAll(() => {
  spawnSync('docker', ['rmi', '-f', image], { stdio: 'ignore' });
  reg?.stop();
});

const forget = () => spawnSync('docker', ['rmi', '-f', image], { stdio: 'ignore' });
const compose = () => `services:\n  app:\n    image: ${image}\n    command: ["sleep", "600"]\n    init: true\n`;

describe('pull progress', () => {
  it('--progress json: pulling events carry layers done and bytes as they come; pulled sums it up', async () => {
    const p = project({ 'compose.yaml': compose() });
    forget();
    await tick();
    const r = p.ok(['--progress', 'json', 'pull', 'app']);
    const events = r.stderr.trim().split('\n').map((l) => JSON.parse(l) as { action: string; name: string; detail?: string });
    const details = events.filter((e) => e.action === 'pulling' && e.detail).map((e) => e.detail!);
    // three layers: the base one already here, two downloaded (about 1.5 MB and 0.7 MB)
    expect(details.length).toBeGreaterThan(1);
    // layers are counted as the engine names them: the count grows to 3 in the first messages
    for (const d of details) expect(d).toMatch(/^[0-3]\/[1-3] layers( {2}[\d.]+(B|kB|MB) \/ [\d.]+(kB|MB))?$/);
    expect(details.some((d) => /^[0-2]\/3 layers {2}[\d.]+(B|kB|MB) \/ /.test(d))).toBe(true);
    expect(details.at(-1)).toMatch(/^3\/3 layers {2}2\.\d+MB \/ 2\.\d+MB$/);
    expect(events.at(-1)).toMatchObject({ action: 'pulled', name: image });
    expect(events.at(-1)!.detail).toMatch(/^3 layers, 2\.\d+MB downloaded, 1 already here$/);
  }, 60_000);

  it('plain lines: the final line of pull and of up says what was downloaded; --quiet-pull and -q say nothing', async () => {
    const p = project({ 'compose.yaml': compose() });
    forget();
    await tick();
    expect(p.ok(['pull']).stderr).toMatch(/✔ Image .*team\/progress:1 +Pulled +[\d.]+s 3 layers, 2\.\d+MB downloaded, 1 already here\n/);
    forget();
    await tick();
    expect(p.ok(['up', '-d']).stderr).toMatch(/Pulled +[\d.]+s 3 layers, 2\.\d+MB downloaded/);
    p.ok(['down']);
    await tick();
    forget();
    await tick();
    expect(p.ok(['up', '-d', '--quiet-pull']).stderr).not.toMatch(/Pull|layers/);
    p.ok(['down']);
    await tick();
    forget();
    await tick();
    expect(p.ok(['pull', '-q']).stderr).toBe('');
  }, 120_000);

  it('in a terminal, the live row shows layers and bytes', async () => {
    const p = project({ 'compose.yaml': compose() });
    forget();
    await tick();
    const cmd = `'${process.execPath}' '${CLI}' -p ${p.name} pull app`;
    const r = spawnSync('script', ['-qec', cmd, '/dev/null'], { cwd: p.dir, encoding: 'utf8', env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/root', TERM: 'xterm', ...dockerEnv() }, timeout: 60_000 });
    expect(r.status).toBe(0);
    // redrawn in place (cursor up), with the bytes while it pulls and the summary when done
    expect(r.stdout).toMatch(/\x1b\[\d+A/);
    expect(r.stdout).toMatch(/Pulling +\S*[\d.]+s\S* \S*\d\/3 layers {2}[\d.]+(B|kB|MB) \/ [\d.]+(kB|MB)/);
    expect(r.stdout).toMatch(/Pulled +\S*[\d.]+s\S* \S*3 layers, 2\.\d+MB downloaded, 1 already here/);
  }, 60_000);
});
