/**
 * Colours and live progress, decided per output stream (as docker compose decides them: log lines on
 * stdout are coloured when stdout is a terminal, progress on stderr is live when stderr is one), from
 * the flags and the environment. Pure: the caller passes the environment and the streams.
 */
import { DockyardError } from '../errors.js';

export type AnsiMode = 'auto' | 'always' | 'never';
export type ProgressMode = 'auto' | 'tty' | 'plain' | 'json' | 'quiet';

export const ANSI_MODES: readonly AnsiMode[] = ['auto', 'always', 'never'];
export const PROGRESS_MODES: readonly ProgressMode[] = ['auto', 'tty', 'plain', 'json', 'quiet'];

type Env = Record<string, string | undefined>;

/** --ansi, else COMPOSE_ANSI, else auto (the flag wins over the variable, as in Compose). */
export function resolveAnsi(flag: string | undefined, env: Env): AnsiMode {
  const [value, from] = flag !== undefined ? [flag, '--ansi'] : env.COMPOSE_ANSI ? [env.COMPOSE_ANSI, 'COMPOSE_ANSI'] : ['auto', ''];
  if (!(ANSI_MODES as readonly string[]).includes(value)) throw new DockyardError('USAGE', `invalid ${from} "${value}"`, { hint: 'never, always or auto' });
  return value as AnsiMode;
}

/**
 * Whether text written to a stream gets colours. `--ansi`/COMPOSE_ANSI never or always decide;
 * in auto: FORCE_COLOR (0 or false: no; anything else, even empty: yes), then NO_COLOR (set and not
 * empty: no), then TERM=dumb (no), then whether that very stream is a terminal. FORCE_COLOR before
 * NO_COLOR is Node's own order; an explicit --ansi before both is no-color.org's.
 */
export function colourFor(stream: { isTTY?: boolean }, ansi: AnsiMode, env: Env): boolean {
  if (ansi !== 'auto') return ansi === 'always';
  const force = env.FORCE_COLOR;
  if (force !== undefined) return !/^(0|false)$/i.test(force.trim());
  if (env.NO_COLOR) return false;
  if (env.TERM === 'dumb') return false;
  return stream.isTTY === true;
}

/**
 * How progress is shown (it goes to stderr): --progress, else COMPOSE_PROGRESS, else auto. Auto is
 * live (redrawn in place) when stderr is a terminal that can redraw (not TERM=dumb) and ANSI is not
 * turned off; plain lines otherwise. As Compose: `tty` with --ansi never, and `plain` with --ansi
 * always, are refused.
 */
export function resolveProgress(flag: string | undefined, env: Env, ansi: AnsiMode, stderr: { isTTY?: boolean }): Exclude<ProgressMode, 'auto'> {
  const [value, from] = flag !== undefined ? [flag, '--progress'] : env.COMPOSE_PROGRESS ? [env.COMPOSE_PROGRESS, 'COMPOSE_PROGRESS'] : ['auto', ''];
  const mode = value === 'none' ? 'quiet' : value;
  if (!(PROGRESS_MODES as readonly string[]).includes(mode)) throw new DockyardError('USAGE', `invalid ${from} "${value}"`, { hint: 'auto, tty, plain, json or quiet' });
  if (mode === 'tty' && ansi === 'never') throw new DockyardError('USAGE', `${from} tty cannot be used while ANSI is off (--ansi never)`, { hint: 'leave one of them out' });
  if (mode === 'plain' && ansi === 'always') throw new DockyardError('USAGE', `${from} plain cannot be used while ANSI is forced (--ansi always)`, { hint: 'leave one of them out' });
  if (mode !== 'auto') return mode as Exclude<ProgressMode, 'auto'>;
  if (ansi === 'never' || env.TERM === 'dumb') return 'plain';
  return stderr.isTTY === true ? 'tty' : 'plain';
}

/** A boolean variable as Compose reads one (Go's ParseBool, plus "y"): 1, t, true, y; anything else is false. */
export function envFlag(v: string | undefined): boolean {
  return /^(1|t|true|y)$/i.test((v ?? '').trim());
}

/** COMPOSE_ENV_FILES: the env files when no --env-file is given (comma-separated, as Compose reads it). */
export function envFilesFrom(flag: string[] | undefined, env: Env): string[] | undefined {
  if (flag?.length) return flag;
  const files = (env.COMPOSE_ENV_FILES ?? '').split(',').map((f) => f.trim()).filter(Boolean);
  return files.length ? files : undefined;
}
