/**
 * Reading the text files a project names (Compose files, env files) as untrusted input: only a
 * regular file is read (a FIFO or /dev/zero would block or never end), never more than a cap
 * (checked as it is read, not after reading it whole), and only valid UTF-8 (bytes that are not
 * would become U+FFFD in names and environments): each refusal a located error.
 */
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { isUtf8 } from 'node:buffer';
import { DockyardError } from '../errors.js';
import type { SourceLocation } from '../errors.js';

/** A Compose file bigger than this is not one a person wrote */
export const MAX_COMPOSE_BYTES = 64 * 1024 * 1024;
/** An env file is a few MB at most */
export const MAX_ENV_BYTES = 8 * 1024 * 1024;

export interface ReadContext {
  /** what the file is, for messages: "Compose file", "env file" */
  what: string;
  maxBytes: number;
  /** where the file is named (the -f flag has none) */
  from?: SourceLocation;
  keyPath?: string;
}

const mb = (n: number) => `${Math.round(n / 1024 / 1024)} MB`;

function kindOf(mode: number): string {
  const t = mode & constants.S_IFMT;
  if (t === constants.S_IFDIR) return 'a folder';
  if (t === constants.S_IFIFO) return 'a FIFO (named pipe)';
  if (t === constants.S_IFCHR) return 'a character device';
  if (t === constants.S_IFBLK) return 'a block device';
  if (t === constants.S_IFSOCK) return 'a socket';
  return 'not a regular file';
}

/**
 * The file's text. Throws ENOENT-like errors as they come (the caller words "not found"), and
 * DockyardErrors for what is there but must not be read.
 */
export function readUserText(path: string, c: ReadContext): string {
  // O_NONBLOCK: opening a FIFO with no writer returns at once instead of waiting for one
  const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) {
      throw new DockyardError('INVALID_VALUE', `${c.what} ${path} is ${kindOf(st.mode)}, not a regular file`, { location: c.from, keyPath: c.keyPath, hint: `point it at a regular file` });
    }
    const tooBig = () => new DockyardError('INVALID_VALUE', `${c.what} ${path} is larger than ${mb(c.maxBytes)}`, { location: c.from, keyPath: c.keyPath, hint: `a ${c.what} is small text; is this the file you meant?` });
    if (st.size > c.maxBytes) throw tooBig();
    // read to the end, never past the cap (the file may grow while it is read)
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const buf = Buffer.allocUnsafe(Math.min(1 << 20, c.maxBytes + 1 - total));
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      chunks.push(buf.subarray(0, n));
      total += n;
      if (total > c.maxBytes) throw tooBig();
    }
    return decodeUtf8(Buffer.concat(chunks, total), path, c);
  } finally {
    closeSync(fd);
  }
}

/** Strict UTF-8 (a leading byte-order mark dropped); an invalid byte is named by line and column. */
export function decodeUtf8(buf: Buffer, file: string, c: Pick<ReadContext, 'what'>): string {
  if (isUtf8(buf)) return buf.toString('utf8').replace(/^\uFEFF/, '');
  let line = 1;
  let start = 0;
  for (let i = 0; i <= buf.length; i++) {
    if (i < buf.length && buf[i] !== 0x0a) continue;
    const bytes = buf.subarray(start, i);
    if (!isUtf8(bytes)) {
      const column = bytes.toString('utf8').indexOf('\uFFFD') + 1 || 1;
      throw new DockyardError('INVALID_VALUE', `${c.what} ${file} is not valid UTF-8 (line ${line}, column ${column})`, {
        location: { file, line, column },
        hint: 'save the file as UTF-8 (e.g. iconv -f latin1 -t utf-8)',
      });
    }
    line++;
    start = i + 1;
  }
  // a sequence cut across a newline cannot happen (0x0a is never inside one): unreachable, but say so plainly
  throw new DockyardError('INVALID_VALUE', `${c.what} ${file} is not valid UTF-8`, { location: { file }, hint: 'save the file as UTF-8' });
}
