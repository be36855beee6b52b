/** Colours per stream, progress modes and the COMPOSE_* variables the CLI reads (issue 28). */
import { execFile } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { colourFor, envFilesFrom, envFlag, resolveAnsi, resolveProgress } from '../../src/cli/colour.js';
import { loadOptionsFrom, parseTimeoutMs } from '../../src/cli/common.js';
import { parseDuration } from '../../src/load/units.js';
import { CLI, cleanupTrees, tree } from '../helpers/fs.js';

const TTY = { isTTY: true };
const FILE = { isTTY: false };

describe('colour, decided per stream', () => {
  it('auto: each stream by its own terminal (logs > file in a terminal: stdout plain, stderr coloured)', () => {
    const env = { TERM: 'xterm-256color' };
    // `dockyard logs > file` typed in a terminal: stdout is the file, stderr the terminal
    expect(colourFor(FILE, 'auto', env)).toBe(false);
    expect(colourFor(TTY, 'auto', env)).toBe(true);
  });

  it('--ansi / COMPOSE_ANSI always and never decide whatever the stream and the variables', () => {
    for (const env of [{}, { NO_COLOR: '1' }, { FORCE_COLOR: '0' }, { TERM: 'dumb' }]) {
      expect(colourFor(FILE, 'always', env)).toBe(true);
      expect(colourFor(TTY, 'never', env)).toBe(false);
    }
  });

  it('FORCE_COLOR: 0 or false turns colours off, anything else (even empty) on; it wins over NO_COLOR and TERM=dumb', () => {
    for (const v of ['1', '2', '3', 'true', '']) expect([v, colourFor(FILE, 'auto', { FORCE_COLOR: v })]).toEqual([v, true]);
    for (const v of ['0', 'false', 'FALSE']) expect([v, colourFor(TTY, 'auto', { FORCE_COLOR: v })]).toEqual([v, false]);
    expect(colourFor(FILE, 'auto', { FORCE_COLOR: '1', NO_COLOR: '1', TERM: 'dumb' })).toBe(true);
  });

  it('NO_COLOR (not empty) and TERM=dumb turn colours off on a terminal; an empty NO_COLOR does not', () => {
    expect(colourFor(TTY, 'auto', { NO_COLOR: '1' })).toBe(false);
    expect(colourFor(TTY, 'auto', { NO_COLOR: '' })).toBe(true);
    expect(colourFor(TTY, 'auto', { TERM: 'dumb' })).toBe(false);
  });

  it('the flag wins over COMPOSE_ANSI; an invalid value names where it came from', () => {
    expect(resolveAnsi(undefined, {})).toBe('auto');
    expect(resolveAnsi(undefined, { COMPOSE_ANSI: 'never' })).toBe('never');
    expect(resolveAnsi('always', { COMPOSE_ANSI: 'never' })).toBe('always');
    expect(() => resolveAnsi(undefined, { COMPOSE_ANSI: 'sometimes' })).toThrow(/invalid COMPOSE_ANSI "sometimes"/);
    expect(() => resolveAnsi('sometimes', {})).toThrow(/invalid --ansi "sometimes"/);
  });
});

describe('progress mode (stderr)', () => {
  it('auto: live on a terminal stderr, plain lines otherwise, with TERM=dumb, or with ANSI off', () => {
    expect(resolveProgress(undefined, {}, 'auto', TTY)).toBe('tty');
    expect(resolveProgress(undefined, {}, 'auto', FILE)).toBe('plain');
    expect(resolveProgress(undefined, { TERM: 'dumb' }, 'auto', TTY)).toBe('plain');
    expect(resolveProgress(undefined, {}, 'never', TTY)).toBe('plain');
    // colours forced into a pipe do not make redraws there
    expect(resolveProgress(undefined, {}, 'always', FILE)).toBe('plain');
    expect(resolveProgress('auto', {}, 'auto', TTY)).toBe('tty');
  });

  it('COMPOSE_PROGRESS when --progress is not given; the flag wins; none is quiet', () => {
    expect(resolveProgress(undefined, { COMPOSE_PROGRESS: 'json' }, 'auto', TTY)).toBe('json');
    expect(resolveProgress('quiet', { COMPOSE_PROGRESS: 'json' }, 'auto', TTY)).toBe('quiet');
    expect(resolveProgress(undefined, { COMPOSE_PROGRESS: 'none' }, 'auto', TTY)).toBe('quiet');
    expect(resolveProgress(undefined, { COMPOSE_PROGRESS: 'plain' }, 'auto', TTY)).toBe('plain');
    expect(() => resolveProgress(undefined, { COMPOSE_PROGRESS: 'fancy' }, 'auto', TTY)).toThrow(/invalid COMPOSE_PROGRESS "fancy"/);
  });

  it('as Compose: tty with ANSI off, and plain with ANSI forced, are refused', () => {
    expect(() => resolveProgress('tty', {}, 'never', TTY)).toThrow(/--progress tty cannot be used while ANSI is off/);
    expect(() => resolveProgress(undefined, { COMPOSE_PROGRESS: 'plain' }, 'always', TTY)).toThrow(/COMPOSE_PROGRESS plain cannot be used while ANSI is forced/);
  });
});

describe('COMPOSE_* variables', () => {
  it('COMPOSE_REMOVE_ORPHANS and other booleans read as Compose reads them (1, t, true, y)', () => {
    for (const v of ['1', 't', 'true', 'TRUE', 'y', ' True ']) expect([v, envFlag(v)]).toEqual([v, true]);
    for (const v of [undefined, '', '0', 'false', 'no', 'yes', 'on']) expect([v, envFlag(v)]).toEqual([v, false]);
  });

  it('COMPOSE_ENV_FILES gives the env files when no --env-file is given', () => {
    expect(envFilesFrom(undefined, { COMPOSE_ENV_FILES: 'a.env, b.env' })).toEqual(['a.env', 'b.env']);
    expect(envFilesFrom(['c.env'], { COMPOSE_ENV_FILES: 'a.env' })).toEqual(['c.env']);
    expect(envFilesFrom(undefined, {})).toBeUndefined();
    const saved = process.env.COMPOSE_ENV_FILES;
    process.env.COMPOSE_ENV_FILES = 'x.env,y.env';
    try {
      expect(loadOptionsFrom({}).envFiles).toEqual(['x.env', 'y.env']);
      expect(loadOptionsFrom({ envFile: ['z.env'] }).envFiles).toEqual(['z.env']);
    } finally {
      if (saved === undefined) delete process.env.COMPOSE_ENV_FILES;
      else process.env.COMPOSE_ENV_FILES = saved;
    }
  });
});

describe('timeouts', () => {
  it('seconds or Go durations: 1m30s, 1h2m3.5s, 500ms', () => {
    expect(parseTimeoutMs('90')).toBe(90_000);
    expect(parseTimeoutMs('1.5')).toBe(1_500);
    expect(parseTimeoutMs('1m30s')).toBe(90_000);
    expect(parseTimeoutMs('1h2m3.5s')).toBe(3_723_500);
    expect(parseTimeoutMs('500ms')).toBe(500);
    expect(parseTimeoutMs('2m')).toBe(120_000);
    expect(parseTimeoutMs(undefined)).toBeUndefined();
  });

  it('refuses what Go refuses, and negative timeouts, naming the flag', () => {
    for (const v of ['1m30', '30x', '', 'm', '1m-30s', '-5s', 'abc']) expect(() => parseTimeoutMs(v, '--wait-timeout')).toThrow(/invalid --wait-timeout/);
  });

  it('parseDuration takes one sign before the first number only', () => {
    expect(parseDuration('-1m30s')).toBe(-90e9);
    expect(parseDuration('+2s')).toBe(2e9);
    expect(parseDuration('1m-30s')).toBeUndefined();
    expect(parseDuration('1.5h')).toBe(5400e9);
    expect(parseDuration('0')).toBe(0);
    expect(parseDuration('10μs')).toBe(10e3);
  });
});

describe('in a real terminal (a pseudo-terminal made by script)', () => {
  const dir = tree({ Dockerfile: 'FROM ubuntu\nMAINTAINER me\n' });
  afterAll(cleanupTrees);
  /** runs `dockyard ARGS [> out.txt]` with stdout and stderr on a terminal (or stdout to a file); its terminal text and the file */
  const inTerminal = async (args: string, env: Record<string, string> = {}, toFile = false) => {
    rmSync(join(dir, 'out.txt'), { force: true });
    const cmd = `'${process.execPath}' '${CLI}' ${args}${toFile ? ' > out.txt' : ''}`;
    const { stdout } = await promisify(execFile)('script', ['-qec', cmd, '/dev/null'], { cwd: dir, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/root', TERM: 'xterm', ...env } }).catch((e: { stdout: string }) => ({ stdout: e.stdout }));
    return { terminal: stdout, file: toFile ? readFileSync(join(dir, 'out.txt'), 'utf8') : '' };
  };
  const ESC = /\x1b\[/;

  it('lint > file typed in a terminal writes no colour codes into the file; the terminal gets them', async () => {
    const redirected = await inTerminal('lint Dockerfile', {}, true);
    expect(redirected.file).toMatch(/warning DY101/);
    expect(redirected.file).not.toMatch(ESC);
    expect((await inTerminal('lint Dockerfile')).terminal).toMatch(/\x1b\[33mwarning\x1b\[0m DY101/);
  }, 60_000);

  it('lint honours --ansi, COMPOSE_ANSI, NO_COLOR, TERM=dumb and FORCE_COLOR', async () => {
    expect((await inTerminal('--ansi never lint Dockerfile')).terminal).not.toMatch(ESC);
    expect((await inTerminal('lint --ansi always Dockerfile', {}, true)).file).toMatch(ESC);
    expect((await inTerminal('lint Dockerfile', { COMPOSE_ANSI: 'never' })).terminal).not.toMatch(ESC);
    expect((await inTerminal('lint Dockerfile', { NO_COLOR: '1' })).terminal).not.toMatch(ESC);
    expect((await inTerminal('lint Dockerfile', { TERM: 'dumb' })).terminal).not.toMatch(ESC);
    expect((await inTerminal('lint Dockerfile', { FORCE_COLOR: '1' }, true)).file).toMatch(ESC);
  }, 120_000);
});
