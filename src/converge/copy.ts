/**
 * Files between the host and containers (`cp`), through the Engine API's archive endpoints, with
 * docker cp's rules: copying onto an existing folder puts the source inside it; onto a path that
 * does not exist, the source takes that name; `-` is a tar stream on stdin or stdout.
 */
import { createReadStream, existsSync, lstatSync, mkdirSync, readdirSync, readlinkSync, statSync, symlinkSync, writeFileSync, chmodSync, rmSync } from 'node:fs';
import { basename, dirname, join, posix, resolve, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { extract, pack } from 'tar-stream';
import { DockyardError } from '../errors.js';

/** A local path as a tar stream whose top entry is named `as` (its folders walked). */
export function packPath(src: string, as: string, o: { archive?: boolean; followLinks?: boolean } = {}): Readable {
  const p = pack();
  const owner = (st: { uid: number; gid: number }) => (o.archive ? { uid: st.uid, gid: st.gid } : { uid: 0, gid: 0 });
  const add = async (abs: string, name: string): Promise<void> => {
    const st = o.followLinks ? statSync(abs) : lstatSync(abs);
    const header = { name, mode: st.mode & 0o7777, mtime: st.mtime, ...owner(st) };
    if (st.isDirectory()) {
      p.entry({ ...header, type: 'directory' });
      for (const child of readdirSync(abs).sort()) await add(join(abs, child), `${name}/${child}`);
    } else if (st.isSymbolicLink()) {
      p.entry({ ...header, type: 'symlink', linkname: readlinkSync(abs) });
    } else if (st.isFile()) {
      await new Promise<void>((res, rej) => {
        const entry = p.entry({ ...header, size: st.size }, (err) => (err ? rej(err) : res()));
        const rs = createReadStream(abs);
        rs.on('error', rej);
        rs.pipe(entry);
      });
    }
  };
  add(src, as)
    .then(() => p.finalize())
    .catch((e: unknown) => p.destroy(e as Error));
  return p as unknown as Readable;
}

/**
 * Unpacks a tar stream into `dir`; the top entry `from` is written as `to` (docker cp's rename
 * when the destination does not exist). Entries that would land outside `dir` are refused.
 */
export async function unpackTo(tar: Readable, dir: string, rename?: { from: string; to: string }): Promise<number> {
  const root = resolve(dir);
  const ex = extract();
  let count = 0;
  const done = new Promise<void>((res, rej) => {
    ex.on('entry', (h, stream, next) => {
      let name = h.name.replace(/\/+$/, '');
      if (rename && (name === rename.from || name.startsWith(`${rename.from}/`))) name = rename.to + name.slice(rename.from.length);
      const target = resolve(root, name);
      if (target !== root && !target.startsWith(root + sep)) {
        stream.resume();
        return rej(new DockyardError('USAGE', `refusing to write ${h.name} outside ${root}`));
      }
      const finish = (e?: unknown) => (e ? rej(e) : (count++, next()));
      try {
        if (h.type === 'directory') {
          mkdirSync(target, { recursive: true });
          if (h.mode) chmodSync(target, h.mode);
          stream.resume();
          stream.on('end', () => finish());
        } else if (h.type === 'symlink') {
          mkdirSync(dirname(target), { recursive: true });
          if (existsSync(target)) rmSync(target, { force: true });
          symlinkSync(h.linkname ?? '', target);
          stream.resume();
          stream.on('end', () => finish());
        } else if (h.type === 'file' || h.type === 'contiguous-file') {
          mkdirSync(dirname(target), { recursive: true });
          const chunks: Buffer[] = [];
          stream.on('data', (c: unknown) => void chunks.push(c as Buffer));
          stream.on('end', () => {
            try {
              writeFileSync(target, Buffer.concat(chunks), { mode: h.mode ?? 0o644 });
              if (h.mode) chmodSync(target, h.mode);
              finish();
            } catch (e) {
              finish(e);
            }
          });
        } else {
          stream.resume();
          stream.on('end', () => finish());
        }
      } catch (e) {
        stream.resume();
        finish(e);
      }
    });
    ex.on('finish', () => res());
    ex.on('error', rej);
  });
  tar.on('error', (e) => ex.destroy(e));
  tar.pipe(ex);
  await done;
  return count;
}

export type CopyEnd = { kind: 'container'; service: string; path: string } | { kind: 'local'; path: string } | { kind: 'stdio' };

/** `SERVICE:PATH`, `-`, or a local path (a Windows drive letter is not a service). */
export function parseCopyEnd(arg: string): CopyEnd {
  if (arg === '-') return { kind: 'stdio' };
  const m = /^([a-zA-Z0-9][a-zA-Z0-9_.-]*):(.*)$/.exec(arg);
  if (m && !/^[a-zA-Z]$/.test(m[1]!)) {
    if (!m[2]) throw new DockyardError('USAGE', `no path in "${arg}"`, { hint: 'write SERVICE:/path/in/container' });
    return { kind: 'container', service: m[1]!, path: m[2]! };
  }
  return { kind: 'local', path: arg };
}

/** Where a local destination puts the copied item: into an existing folder, or as a new name. */
export function localDestination(dest: string, srcName: string): { dir: string; rename?: { from: string; to: string } } {
  const abs = resolve(dest);
  if (existsSync(abs) && statSync(abs).isDirectory()) return { dir: abs };
  if (dest.endsWith('/')) throw new DockyardError('USAGE', `destination folder ${dest} does not exist`, { hint: 'create it first, or leave out the trailing slash to copy under that name' });
  if (!existsSync(dirname(abs))) throw new DockyardError('USAGE', `destination folder ${dirname(abs)} does not exist`);
  return { dir: dirname(abs), rename: srcName === basename(abs) ? undefined : { from: srcName, to: basename(abs) } };
}

/** The container path's last name (the top entry of its archive). */
export const containerBase = (p: string) => posix.basename(posix.normalize(p.replace(/\/+$/, '') || '/'));

