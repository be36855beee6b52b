/**
 * Build contexts: the files a build sends (after .dockerignore or <Dockerfile>.dockerignore),
 * their content hash, and the tar stream the engine receives.
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import type { Readable } from 'node:stream';
import dockerignore from '@balena/dockerignore';

// the package is CommonJS: its default export is the factory itself (or under .default when bundled)
const ignore = ((dockerignore as unknown as { default?: unknown }).default ?? dockerignore) as unknown as () => import('@balena/dockerignore').Ignore;
import { pack } from 'tar-stream';

export interface ContextFile {
  /** path inside the context, with / separators */
  path: string;
  abs: string;
  kind: 'file' | 'dir' | 'symlink';
  mode: number;
  size: number;
  mtime: Date;
  link?: string;
}

/** `to` relative to `from`, with / separators (as contexts, ignore rules and Dockerfiles write paths). */
export const slashRelative = (from: string, to: string): string => relative(from, to).split(sep).join('/');

/** The ignore rules for a context: <Dockerfile>.dockerignore beside the Dockerfile wins over .dockerignore. */
export function ignoreRules(contextDir: string, dockerfile: string): { file?: string; patterns: string[] } {
  const df = isAbsolute(dockerfile) ? dockerfile : join(contextDir, dockerfile);
  const specific = `${df}.dockerignore`;
  const general = join(contextDir, '.dockerignore');
  const file = existsSync(specific) ? specific : existsSync(general) ? general : undefined;
  if (!file) return { patterns: [] };
  const patterns = readFileSync(file, 'utf8')
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  return { file, patterns };
}

/** Lists the context's files (sorted), leaving out what the ignore rules (found, or given) exclude. */
export function listContext(contextDir: string, dockerfile: string, rules?: string[]): ContextFile[] {
  const root = resolve(contextDir);
  const patterns = rules ?? ignoreRules(root, dockerfile).patterns;
  const ig = ignore().add(patterns);
  const out: ContextFile[] = [];
  const dfRel = slashRelative(root, isAbsolute(dockerfile) ? dockerfile : join(root, dockerfile));
  const walk = (dir: string) => {
    const names = readdirSync(dir).sort();
    for (const name of names) {
      const abs = join(dir, name);
      const rel = slashRelative(root, abs);
      const st = lstatSync(abs);
      const isDir = st.isDirectory();
      const ignored = ig.ignores(isDir ? `${rel}/` : rel) && rel !== dfRel && rel !== '.dockerignore';
      if (isDir) {
        // a directory may be excluded while files below it are re-included with !patterns
        if (!ignored) out.push({ path: rel, abs, kind: 'dir', mode: st.mode & 0o7777, size: 0, mtime: st.mtime });
        if (!ignored || patterns.some((p) => p.startsWith('!'))) walk(abs);
        continue;
      }
      if (ignored) continue;
      if (st.isSymbolicLink()) out.push({ path: rel, abs, kind: 'symlink', mode: st.mode & 0o7777, size: 0, mtime: st.mtime, link: readlinkSync(abs) });
      else if (st.isFile()) out.push({ path: rel, abs, kind: 'file', mode: st.mode & 0o7777, size: st.size, mtime: st.mtime });
    }
  };
  walk(root);
  return out;
}

/**
 * SHA-256 over what decides the image: every context file (path, kind, mode, content), the
 * Dockerfile, build args and target. Files are streamed in fixed-size reads.
 */
export function sourceHash(files: ContextFile[], extra: { dockerfile: string; args?: Record<string, string | null>; target?: string; other?: unknown }): string {
  const h = createHash('sha256');
  h.update(`dockerfile\0${extra.dockerfile}\0`);
  h.update(`args\0${JSON.stringify(Object.entries(extra.args ?? {}).sort())}\0target\0${extra.target ?? ''}\0${JSON.stringify(extra.other ?? null)}\0`);
  for (const f of files) {
    h.update(`${f.kind}\0${f.path}\0${(f.mode & 0o111 ? 'x' : '-')}\0`);
    if (f.kind === 'file') h.update(readFileSync(f.abs));
    else if (f.kind === 'symlink') h.update(f.link ?? '');
    h.update('\0');
  }
  return h.digest('hex');
}

/** The context as a tar stream (entries in order, file contents streamed). */
export function tarContext(files: ContextFile[], extra: Array<{ path: string; content: string }> = []): Readable {
  const p = pack();
  (async () => {
    for (const e of extra) p.entry({ name: e.path, mode: 0o644 }, e.content);
    for (const f of files) {
      const header = { name: f.path, mode: f.mode, mtime: f.mtime, uid: 0, gid: 0 };
      if (f.kind === 'dir') p.entry({ ...header, type: 'directory' });
      else if (f.kind === 'symlink') p.entry({ ...header, type: 'symlink', linkname: f.link });
      else {
        await new Promise<void>((res, rej) => {
          const entry = p.entry({ ...header, size: f.size }, (err) => (err ? rej(err) : res()));
          const rs = createReadStream(f.abs);
          rs.on('error', rej);
          rs.pipe(entry);
        });
      }
    }
    p.finalize();
  })().catch((e) => p.destroy(e as Error));
  return p as unknown as Readable;
}

