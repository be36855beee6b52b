/** Small tar archives (files to copy into a container), through tar-stream. */
import { pack } from 'tar-stream';

export interface TarEntry {
  name: string;
  content: string | Buffer;
  mode?: number;
  uid?: number;
  gid?: number;
}

/** Builds an uncompressed tar in memory (parent directories of each entry included). */
export async function tarFiles(entries: TarEntry[]): Promise<Buffer> {
  const p = pack();
  const chunks: Buffer[] = [];
  const done = new Promise<void>((resolve, reject) => {
    p.on('data', (c: unknown) => chunks.push(c as Buffer));
    p.on('end', () => resolve());
    p.on('error', reject);
  });
  const seen = new Set<string>();
  for (const e of entries) {
    const parts = e.name.split('/').slice(0, -1);
    for (let i = 1; i <= parts.length; i++) {
      const d = parts.slice(0, i).join('/');
      if (seen.has(d)) continue;
      seen.add(d);
      p.entry({ name: `${d}/`, type: 'directory', mode: 0o755 });
    }
    p.entry({ name: e.name, mode: e.mode ?? 0o644, uid: e.uid ?? 0, gid: e.gid ?? 0 }, typeof e.content === 'string' ? Buffer.from(e.content) : e.content);
  }
  p.finalize();
  await done;
  return Buffer.concat(chunks);
}
