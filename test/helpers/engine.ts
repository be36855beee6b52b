/** Engine tests: a unique project per test, the CLI run against it, cleanup even on failure. */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { CLI, cli, tree } from './fs.js';

export const BASE = process.env.DOCKYARD_TEST_IMAGE ?? 'dockyard-test/busybox:latest';

/** Runs the docker CLI (tests may observe with it); returns trimmed stdout. */
export function docker(...args: string[]): string {
  return execFileSync('docker', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

export function dockerJson<T = Record<string, unknown>>(...args: string[]): T {
  return JSON.parse(docker(...args)) as T;
}

export function engineAvailable(): boolean {
  return spawnSync('docker', ['info'], { stdio: 'ignore' }).status === 0;
}

/** A dockyard command running in the background: its output so far, and its exit code to come. */
export interface Background {
  out: string;
  err: string;
  exited: Promise<number | null>;
  signal(sig: NodeJS.Signals): void;
  /** waits until stdout or stderr matches (fails the test after the timeout) */
  until(re: RegExp, timeoutMs?: number): Promise<void>;
}

export class TestProject {
  readonly name: string;
  readonly dir: string;

  constructor(files: Record<string, string>, prefix = 'dyt') {
    this.name = `${prefix}-${randomBytes(4).toString('hex')}`;
    this.dir = tree(files);
  }

  /** Writes (or replaces) a file of the project. */
  writeFile(name: string, text: string): void {
    mkdirSync(dirname(join(this.dir, name)), { recursive: true });
    writeFileSync(join(this.dir, name), text);
  }

  /** Runs `dockyard -p <name> ...args` in the project directory. */
  run(args: string[], opts: { env?: Record<string, string>; input?: string; timeoutMs?: number } = {}) {
    return cli(['-p', this.name, ...args], { cwd: this.dir, env: { DOCKYARD_BASE_IMAGE: BASE, ...opts.env }, input: opts.input, timeoutMs: opts.timeoutMs });
  }

  /** Like run, but fails the test with the output when the exit code is not `code`. */
  ok(args: string[], opts: { env?: Record<string, string>; input?: string; code?: number } = {}) {
    const r = this.run(args, opts);
    if (r.code !== (opts.code ?? 0)) throw new Error(`dockyard ${args.join(' ')} exited ${r.code}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
    return r;
  }

  /** Starts `dockyard -p <name> ...args` in the background, for tests that signal or watch it. */
  start(args: string[]): Background {
    const child = spawn(process.execPath, [CLI, '-p', this.name, ...args], { cwd: this.dir, env: { ...process.env, DOCKYARD_BASE_IMAGE: BASE } });
    const bg: Background = {
      out: '',
      err: '',
      exited: new Promise<number | null>((r) => child.on('exit', r)),
      signal: (sig) => void child.kill(sig),
      async until(re, timeoutMs = 30_000) {
        const deadline = Date.now() + timeoutMs;
        while (!re.test(bg.out + bg.err) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
        if (!re.test(bg.out + bg.err)) throw new Error(`dockyard ${args.join(' ')} did not print ${re} in ${timeoutMs / 1000}s:\n${bg.out}${bg.err}`);
      },
    };
    child.stdout.on('data', (d: Buffer) => (bg.out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (bg.err += d.toString()));
    return bg;
  }

  containers(all = true): Array<{ id: string; name: string; service: string; state: string }> {
    const out = docker('ps', ...(all ? ['-a'] : []), '--filter', `label=com.docker.compose.project=${this.name}`, '--format', '{{.ID}}\t{{.Names}}\t{{.Label "com.docker.compose.service"}}\t{{.State}}');
    return out
      .split('\n')
      .filter(Boolean)
      .map((l) => {
        const [id, name, service, state] = l.split('\t');
        return { id: id!, name: name!, service: service!, state: state! };
      })
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  inspect(container: string): Record<string, any> {
    return dockerJson<Array<Record<string, any>>>('inspect', container)[0]!;
  }

  /** Removes everything the project created: containers, networks, volumes, built images. */
  cleanup(): void {
    const label = `label=com.docker.compose.project=${this.name}`;
    const ids = docker('ps', '-aq', '--filter', label).split('\n').filter(Boolean);
    if (ids.length) spawnSync('docker', ['rm', '-f', '-v', ...ids], { stdio: 'ignore' });
    const nets = docker('network', 'ls', '-q', '--filter', label).split('\n').filter(Boolean);
    if (nets.length) spawnSync('docker', ['network', 'rm', ...nets], { stdio: 'ignore' });
    const vols = docker('volume', 'ls', '-q', '--filter', label).split('\n').filter(Boolean);
    if (vols.length) spawnSync('docker', ['volume', 'rm', '-f', ...vols], { stdio: 'ignore' });
    const imgs = docker('images', '-q', '--filter', label).split('\n').filter(Boolean);
    if (imgs.length) spawnSync('docker', ['rmi', '-f', ...new Set(imgs)], { stdio: 'ignore' });
  }
}

/** One fresh project per call, all cleaned up after each test (also when it fails). */
export function useProjects(afterEach: (fn: () => void) => void): (files: Record<string, string>) => TestProject {
  const made: TestProject[] = [];
  afterEach(() => {
    for (const p of made.splice(0)) p.cleanup();
  });
  return (files) => {
    const p = new TestProject(files);
    made.push(p);
    return p;
  };
}
