/**
 * A service under a profile, named on the command line, has its profiles enabled by every command
 * that takes services (as docker compose does, not only up and run): issue 28.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import './setup.js';
import { BASE, docker, useProjects } from '../helpers/engine.js';
import { CLI, dockerEnv } from '../helpers/fs.js';

const project = useProjects(afterEach);
/** Lets vitest's worker talk to its parent between commands (spawnSync blocks this process). */
const tick = () => new Promise((r) => setTimeout(r, 0));
const images: string[] = [];
afterAll(() => {
  for (const i of images) spawnSync('docker', ['rmi', '-f', i], { stdio: 'ignore' });
});

const COMPOSE = `services:
  web:
    image: ${BASE}
    command: ["sleep", "600"]
    init: true
  job:
    image: ${BASE}
    profiles: [tools]
    command: ["sh", "-c", "echo job-ran; exec sleep 600"]
    init: true
    ports: ["80"]
`;

describe('profiles enabled by the services named', () => {
  it('every command that takes services works on a service under a profile it names', async () => {
    const p = project({ 'compose.yaml': COMPOSE });
    const commit = `dyt-profiles-${p.name}:1`;
    images.push(commit);
    // each command, exit 0 and never "disabled by profiles"
    const run = async (args: string[]) => (await tick(), p.run(args));
    const ok = async (args: string[]) => {
      await tick();
      const r = p.ok(args);
      expect(`${r.stdout}${r.stderr}`, args.join(' ')).not.toMatch(/profile/);
      return r;
    };
    // nothing runs yet: ps job says nothing (job is enabled by naming it); config, naming none, has web only
    expect((await run(['ps', 'job'])).stderr).toBe('');
    expect((await run(['config', '--services'])).stdout).toBe('web\n');

    await ok(['create', 'job']);
    await ok(['start', 'job']);
    await ok(['up', '-d', 'job']);
    expect(p.containers().map((c) => c.service)).toEqual(['job']);
    expect((await ok(['ps', 'job'])).stdout).toMatch(new RegExp(`${p.name}-job-1`));
    expect((await ok(['ps', '--services', 'job'])).stdout).toBe('job\n');
    expect((await ok(['logs', 'job'])).stdout).toMatch(/job-ran/);
    expect((await ok(['top', 'job'])).stdout).toMatch(/sleep 600/);
    expect((await ok(['port', 'job', '80'])).stdout).toMatch(/^[\d.:]+:\d+\n$/);
    expect((await ok(['images', 'job'])).stdout).toMatch(/job/);
    expect((await ok(['stats', '--no-stream', 'job'])).stdout).toMatch(new RegExp(`${p.name}-job-1`));
    expect((await ok(['exec', '-T', 'job', 'echo', 'in-job'])).stdout).toBe('in-job\n');
    await ok(['cp', 'job:/etc/hostname', join(p.dir, 'hostname')]);
    expect(existsSync(join(p.dir, 'hostname'))).toBe(true);
    await ok(['export', 'job', '-o', join(p.dir, 'fs.tar')]);
    expect(statSync(join(p.dir, 'fs.tar')).size).toBeGreaterThan(0);
    await ok(['commit', 'job', commit]);
    expect(docker('image', 'inspect', '--format', '{{.Id}}', commit)).toMatch(/^sha256:/);
    await ok(['pause', 'job']);
    expect(p.containers()[0]!.state).toBe('paused');
    await ok(['unpause', 'job']);
    await ok(['restart', 'job']);
    await ok(['scale', 'job=1']);
    await ok(['build', 'job']);
    await ok(['pull', '--policy', 'missing', 'job']);
    await ok(['--dry-run', 'push', 'job']);
    await ok(['events', '--since', '10m', '--until', '1s', 'job']);
    await ok(['run', '--rm', 'job', 'true']);
    await ok(['stop', 'job']);
    expect(p.containers()[0]!.state).toBe('exited');
    await ok(['start', 'job']);
    await ok(['kill', 'job']);
    // the container has stopped: wait reports its exit code (137: killed)
    const waited = await run(['wait', 'job']);
    expect(waited.stderr).not.toMatch(/profile/);
    expect(waited.stdout).toMatch(/exited with status code 137/);
    await ok(['rm', '-f', 'job']);
    expect(p.containers()).toEqual([]);
    // attach, watch: past loading (the profile is enabled), each stops for its own reason
    const attach = await run(['attach', 'job']);
    expect(attach.stderr).toMatch(/service "job" has no container/);
    const watch = await run(['watch', '--no-up', 'job']);
    expect(watch.stderr).not.toMatch(/disabled by profiles|no such service/);
  }, 300_000);

  it('a service name that is nowhere is still refused', () => {
    const p = project({ 'compose.yaml': COMPOSE });
    const nope = p.run(['ps', 'nope']);
    expect(nope.code).toBe(2);
    expect(nope.stderr).toMatch(/no such service: nope/);
  });
});

describe('COMPOSE_* variables and terminals, on the engine', () => {
  it('logs > file typed in a terminal: no colour codes in the file (colour follows stdout); COMPOSE_REMOVE_ORPHANS; --wait-timeout 1m30s; COMPOSE_ENV_FILES', async () => {
    const p = project({
      'compose.yaml': `services:\n  web:\n    image: ${BASE}\n    command: ["sh", "-c", "echo hello-\${GREETING:-none}; exec sleep 600"]\n    init: true\n  worker:\n    image: ${BASE}\n    command: ["sleep", "600"]\n    init: true\n`,
      'greet.env': 'GREETING=env-files\n',
    });
    await tick();
    p.ok(['up', '-d'], { env: { COMPOSE_ENV_FILES: 'greet.env' } });
    // stdout to a file, stderr still the terminal
    const inTerminal = (args: string) =>
      promisify(execFile)('script', ['-qec', `'${process.execPath}' '${CLI}' -p ${p.name} ${args}`, '/dev/null'], { cwd: p.dir, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/root', TERM: 'xterm', ...dockerEnv() } });
    await inTerminal('logs web > out.txt');
    const file = readFileSync(join(p.dir, 'out.txt'), 'utf8');
    expect(file).toMatch(new RegExp(`^${p.name}-web-1 +\\| hello-env-files\\n$`));
    expect((await inTerminal('logs web')).stdout).toMatch(new RegExp(`\\x1b\\[\\d+m${p.name}-web-1 *\\x1b\\[0m \\| hello-env-files`));
    // worker is no longer defined: an orphan, removed by kill when COMPOSE_REMOVE_ORPHANS says so
    p.writeFile('compose.yaml', `services:\n  web:\n    image: ${BASE}\n    command: ["sleep", "600"]\n    init: true\n`);
    await tick();
    p.ok(['kill', 'web']);
    expect(p.containers().map((c) => c.service)).toEqual(['web', 'worker']);
    await tick();
    p.ok(['kill', 'web'], { env: { COMPOSE_REMOVE_ORPHANS: 'true' } });
    expect(p.containers().map((c) => c.service)).toEqual(['web']);
    // a Go duration
    await tick();
    p.ok(['start', '--wait-timeout', '1m30s', 'web']);
    await tick();
    expect(p.run(['start', '--wait-timeout', '1m30', 'web']).stderr).toMatch(/invalid --wait-timeout "1m30"/);
    // up reads COMPOSE_REMOVE_ORPHANS too (a new orphan: a service no longer defined)
    p.writeFile('compose.yaml', `services:\n  web2:\n    image: ${BASE}\n    command: ["sleep", "600"]\n    init: true\n`);
    await tick();
    p.ok(['up', '-d'], { env: { COMPOSE_REMOVE_ORPHANS: '1' } });
    expect(p.containers().map((c) => c.service)).toEqual(['web2']);
    await tick();
    expect(p.run(['up', '-d', '--wait-timeout', '1m30']).stderr).toMatch(/invalid --wait-timeout "1m30"/);
  }, 120_000);
});
