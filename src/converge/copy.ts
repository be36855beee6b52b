/**
 * Files between the host and containers (`cp`), through the Engine API's archive endpoints, with
 * docker cp's rules: copying onto an existing folder puts the source inside it; onto a path that
 * does not exist, the source takes that name; `-` is a tar stream on stdin or stdout.
 */
import { constants as fsConstants, createReadStream, createWriteStream, existsSync, linkSync, lstatSync, openSync, mkdirSync, readdirSync, readlinkSync, statSync, symlinkSync, unlinkSync, chmodSync } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { basename, dirname, join, posix, resolve, sep } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import type { Engine } from '../engine/engine.js';
import type { ProjectContainer } from './state.js';
import { extract, pack } from 'tar-stream';
import type { Header } from 'tar-stream';
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
 * Unpacks a tar stream (a container's archive: hostile input) into `dir`; the top entry `from` is
 * written as `to` (docker cp's rename when the destination does not exist). Nothing is written
 * outside `dir`, whatever the archive holds: names with `..` or that climb out are refused, every
 * folder on the way is checked with lstat and a symbolic link there is refused (a link in the
 * archive, or one a previous copy left, is never written through), and a file replaces what stood
 * at its name instead of opening it (O_EXCL | O_NOFOLLOW). Files stream to disk as they arrive.
 * Hard links only to what this archive already unpacked. Returns the number of entries written.
 */
export async function unpackTo(tar: Readable, dir: string, rename?: { from: string; to: string }): Promise<number> {
  const root = resolve(dir);
  const ex = extract();
  let count = 0;
  const renamed = (name: string) => (rename && (name === rename.from || name.startsWith(`${rename.from}/`)) ? rename.to + name.slice(rename.from.length) : name);
  const done = new Promise<void>((res, rej) => {
    ex.on('entry', (h, stream, next) => {
      writeEntry(root, h, stream as unknown as Readable, renamed).then(
        () => {
          count++;
          next();
        },
        (e) => {
          stream.resume();
          rej(e);
        },
      );
    });
    ex.on('finish', () => res());
    ex.on('error', rej);
  });
  tar.on('error', (e) => ex.destroy(e));
  tar.pipe(ex);
  await done;
  return count;
}

const refuse = (root: string, entry: string, why: string) =>
  new DockyardError('INVALID_VALUE', `refusing the archive's entry "${entry}": ${why}`, { hint: `nothing is written outside ${root}; the entries before this one were copied` });

/** `name`'s place under root, its folders made on the way (never through a link) */
function place(root: string, entry: string, name: string): string {
  const parts = name.replace(/^\/+/, '').split('/').filter((x) => x !== '' && x !== '.');
  if (parts.includes('..')) throw refuse(root, entry, 'its name climbs out with ".."');
  let at = root;
  for (const part of parts.slice(0, -1)) {
    at = join(at, part);
    const st = lstatOrUndefined(at);
    if (!st) mkdirSync(at);
    else if (st.isSymbolicLink()) throw refuse(root, entry, `${at} is a symbolic link (it would be written through)`);
    else if (!st.isDirectory()) throw refuse(root, entry, `${at} is not a folder`);
  }
  const target = parts.length ? join(at, parts[parts.length - 1]!) : root;
  if (target !== root && !target.startsWith(root + sep)) throw refuse(root, entry, `it would land outside ${root}`);
  return target;
}

/** What stands at `target` goes (a link is removed, never followed); a folder there is refused. */
function clearFor(root: string, entry: string, target: string): void {
  const st = lstatOrUndefined(target);
  if (st?.isDirectory()) throw refuse(root, entry, `a folder stands at ${target}`);
  if (st) unlinkSync(target);
}

/** One archive entry written under root: folders, links, hard links to what it unpacked, files streamed. */
async function writeEntry(root: string, h: Header, stream: Readable, renamed: (name: string) => string): Promise<void> {
  const target = place(root, h.name, renamed(h.name.replace(/\/+$/, '')));
  const mode = (h.mode ?? 0) & 0o7777;
  const drain = () => new Promise<void>((r) => stream.on('end', r).resume());
  if (h.type === 'directory') {
    const st = lstatOrUndefined(target);
    if (st?.isSymbolicLink()) throw refuse(root, h.name, `${target} is a symbolic link (it would be written through)`);
    if (st && !st.isDirectory()) unlinkSync(target);
    if (!st?.isDirectory()) mkdirSync(target);
    if (mode) chmodSync(target, mode);
  } else if (h.type === 'symlink') {
    clearFor(root, h.name, target);
    symlinkSync(h.linkname ?? '', target);
  } else if (h.type === 'link') {
    const source = place(root, h.name, renamed((h.linkname ?? '').replace(/^\/+/, '')));
    if (!lstatOrUndefined(source)?.isFile()) throw refuse(root, h.name, `its hard link target "${h.linkname}" is not a file this archive holds`);
    clearFor(root, h.name, target);
    linkSync(source, target);
  } else if (h.type === 'file' || h.type === 'contiguous-file') {
    clearFor(root, h.name, target);
    const { O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW } = fsConstants;
    await pipeline(stream, createWriteStream('', { fd: openSync(target, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, mode || 0o644) }));
    if (mode) chmodSync(target, mode);
    return;
  }
  // devices, FIFOs and the like are not copied (docker cp makes them only as root)
  await drain();
}

function lstatOrUndefined(p: string) {
  try {
    return lstatSync(p);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
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

export interface CopyOptions {
  index?: number;
  all?: boolean;
  archive?: boolean;
  followLink?: boolean;
  stdin?: Readable;
  stdout?: Writable;
}

/** A tar stream of `path` in a container (what `cp SERVICE:PATH DEST` unpacks). */
export async function copyFrom(engine: Engine, c: ProjectContainer, path: string): Promise<Readable> {
  if (!(await engine.statPath(c.id, path))) throw new DockyardError('USAGE', `no such file or directory in ${c.name}: ${path}`);
  return engine.getArchive(c.id, path);
}

/**
 * docker cp between a service's container and here: out of one container (unpacked safely, or a
 * tar stream on stdout), or into one or every container of a service. `containers` finds them.
 */
export async function copy(engine: Engine, containers: (service: string, all: boolean) => Promise<ProjectContainer[]>, src: string, dest: string, o: CopyOptions = {}): Promise<{ containers: string[] }> {
  const a = parseCopyEnd(src);
  const b = parseCopyEnd(dest);
  if (a.kind === 'container' && b.kind !== 'container') {
    const [c] = await containers(a.service, false);
    const tar = await copyFrom(engine, c!, a.path);
    if (b.kind === 'stdio') {
      if (!o.stdout) throw new DockyardError('USAGE', 'no output stream for "-"');
      await new Promise<void>((res, rej) => tar.on('end', res).on('error', rej).pipe(o.stdout!, { end: false }));
    } else {
      const to = localDestination(b.path, containerBase(a.path));
      await unpackTo(tar, to.dir, to.rename);
    }
    return { containers: [c!.name] };
  }
  if (b.kind === 'container' && a.kind !== 'container') {
    const cs = await containers(b.service, !!o.all);
    if (a.kind === 'stdio' && cs.length > 1) throw new DockyardError('USAGE', 'a tar stream on stdin goes into one container', { hint: 'leave out --all, or copy from a path' });
    if (a.kind === 'local' && !existsSync(a.path)) throw new DockyardError('USAGE', `no such file or directory: ${a.path}`);
    for (const c of cs) {
      const st = await engine.statPath(c.id, b.path);
      const isDir = st !== undefined && st.mode >= 2 ** 31;
      const dir = isDir ? b.path : posix.dirname(b.path);
      if (!isDir && !(await engine.statPath(c.id, dir))) throw new DockyardError('USAGE', `no such directory in ${c.name}: ${dir}`);
      const name = isDir ? basename(a.kind === 'local' ? a.path.replace(/\/+$/, '') : '') : posix.basename(b.path);
      await engine.putArchive(c.id, dir, a.kind === 'stdio' ? o.stdin! : packPath(a.path, name, { archive: o.archive, followLinks: o.followLink }));
    }
    return { containers: cs.map((c) => c.name) };
  }
  throw new DockyardError('USAGE', a.kind === 'container' ? 'copying between containers is not supported' : 'one side must be SERVICE:PATH', { hint: 'dockyard cp SERVICE:SRC DEST, or dockyard cp SRC SERVICE:DEST' });
}
