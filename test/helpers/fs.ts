import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const made: string[] = [];

/** Writes files into a fresh temporary directory and returns its path. */
export function tree(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'dockyard-test-'));
  made.push(dir);
  for (const [name, text] of Object.entries(files)) {
    const p = join(dir, name);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, text);
  }
  return dir;
}

export function cleanupTrees(): void {
  for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true });
}

export const CLI = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'dockyard.cjs');

/** The DOCKER_* variables of the test run (which engine, its TLS files). */
export function dockerEnv(): Record<string, string> {
  return Object.fromEntries(Object.entries(process.env).filter((e): e is [string, string] => e[0].startsWith('DOCKER_') && e[1] !== undefined));
}

/** Runs the built CLI; returns exit code and output. */
export function cli(args: string[], opts: { cwd?: string; env?: Record<string, string>; input?: string; timeoutMs?: number } = {}) {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    cwd: opts.cwd,
    // the engine the tests use (DOCKER_HOST, DOCKER_CERT_PATH, ...) is the one the CLI talks to
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/root', ...dockerEnv(), ...opts.env },
    input: opts.input,
    encoding: 'utf8',
    // a command that hangs fails its test instead of blocking the run (spawnSync blocks vitest's timers)
    timeout: opts.timeoutMs ?? 90_000,
    killSignal: 'SIGKILL',
  });
  if (r.error && (r.error as NodeJS.ErrnoException).code === 'ETIMEDOUT') {
    return { code: -1, stdout: r.stdout ?? '', stderr: `${r.stderr ?? ''}\n(test helper: dockyard ${args.join(' ')} did not finish in ${(opts.timeoutMs ?? 90_000) / 1000}s)` };
  }
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}
