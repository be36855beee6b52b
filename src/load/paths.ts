/** Makes relative paths in a canonical Compose tree absolute against a base directory. */
import { homedir } from 'node:os';
import { isAbsolute, resolve } from 'node:path';
import { isPlainObject } from './path.js';

type Rec = Record<string, unknown>;

export function isRemoteContext(ctx: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(ctx) || ctx.startsWith('git@') || ctx.startsWith('github.com/');
}

function abs(base: string, p: string): string {
  if (p === '~' || p.startsWith('~/')) return homedir() + p.slice(1);
  return isAbsolute(p) ? p : resolve(base, p);
}

/** Resolves every path-valued field of the tree against `base` (in place). */
export function resolveTreePaths(tree: Rec, base: string): void {
  const services = isPlainObject(tree.services) ? tree.services : {};
  for (const svc of Object.values(services)) {
    if (!isPlainObject(svc)) continue;
    const build = svc.build;
    if (isPlainObject(build)) {
      const ctx = String(build.context ?? '.');
      build.context = isRemoteContext(ctx) ? ctx : abs(base, ctx);
      if (isPlainObject(build.additional_contexts)) {
        for (const [k, v] of Object.entries(build.additional_contexts)) {
          const s = String(v);
          if (!(s.startsWith('docker-image://') || s.startsWith('service:') || s.startsWith('target:') || isRemoteContext(s))) build.additional_contexts[k] = abs(base, s);
        }
      }
    }
    if (Array.isArray(svc.env_file)) for (const f of svc.env_file) if (isPlainObject(f) && typeof f.path === 'string') f.path = abs(base, f.path);
    if (Array.isArray(svc.label_file)) svc.label_file = svc.label_file.map((f) => abs(base, String(f)));
    if (Array.isArray(svc.volumes)) {
      for (const v of svc.volumes) {
        if (isPlainObject(v) && v.type === 'bind' && typeof v.source === 'string') v.source = abs(base, v.source);
      }
    }
    if (isPlainObject(svc.extends) && typeof svc.extends.file === 'string') svc.extends.file = abs(base, svc.extends.file);
    if (isPlainObject(svc.develop) && Array.isArray(svc.develop.watch)) {
      for (const w of svc.develop.watch) if (isPlainObject(w) && typeof w.path === 'string') w.path = abs(base, w.path);
    }
  }
  for (const kind of ['secrets', 'configs']) {
    const m = tree[kind];
    if (!isPlainObject(m)) continue;
    for (const v of Object.values(m)) if (isPlainObject(v) && typeof v.file === 'string') v.file = abs(base, v.file);
  }
}
