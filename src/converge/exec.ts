/** `exec`: a command in a service's running container, its output collected or streamed. */
import { PassThrough, Readable } from 'node:stream';
import type { Writable } from 'node:stream';
import type { Engine } from '../engine/engine.js';
import { DockyardError } from '../errors.js';
import type { ProjectContainer } from './state.js';

export interface ExecInOptions {
  env?: Record<string, string>;
  user?: string;
  workdir?: string;
  privileged?: boolean;
  /** given to the command on its standard input */
  stdin?: string | Buffer | Readable;
  /** where the output goes as it comes (then it is not collected into the result) */
  stdout?: Writable;
  stderr?: Writable;
  /** a pseudo-terminal in the container, of this size (rows, columns) */
  tty?: boolean;
  consoleSize?: [number, number];
  /** with a TTY: subscribes the TTY's size to the caller's terminal */
  followSize?: (apply: (rows: number, cols: number) => void) => () => void;
  /** start it in the background and return at once */
  detach?: boolean;
}

export async function execIn(engine: Engine, c: ProjectContainer, command: string[], o: ExecInOptions = {}): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  if (c.state !== 'running') throw new DockyardError('SERVICE_FAILED', `container ${c.name} is not running (${c.status})`, { hint: `start it: dockyard start ${c.service}` });
  const out = collector(o.stdout);
  const err = collector(o.stderr);
  const exitCode = await engine.exec(c.id, {
    cmd: command,
    env: Object.entries(o.env ?? {}).map(([k, v]) => `${k}=${v}`),
    user: o.user,
    workdir: o.workdir,
    privileged: o.privileged,
    tty: o.tty,
    consoleSize: o.consoleSize,
    followSize: o.followSize,
    detach: o.detach,
    stdin: toReadable(o.stdin),
    stdout: out.stream,
    stderr: err.stream,
  });
  return { exitCode, stdout: out.text(), stderr: err.text() };
}

/** Output that goes where the caller says, or is collected as text. */
export function collector(to?: Writable): { stream: Writable; text(): string } {
  if (to) return { stream: to, text: () => '' };
  const chunks: Buffer[] = [];
  const stream = new PassThrough();
  stream.on('data', (c: Buffer) => chunks.push(c));
  return { stream, text: () => Buffer.concat(chunks).toString('utf8') };
}

/** Standard input given as text, bytes or a stream. */
export function toReadable(v: string | Buffer | Readable | undefined): Readable | undefined {
  if (v === undefined) return undefined;
  if (typeof v === 'string' || Buffer.isBuffer(v)) return Readable.from([Buffer.from(v)]);
  return v;
}
