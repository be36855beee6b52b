/** Key paths inside a Compose model: ['services', 'web', 'ports', 0] <-> services.web.ports[0] */
export type KeyPath = ReadonlyArray<string | number>;

export function formatPath(path: KeyPath): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else out += out ? `.${seg}` : seg;
  }
  return out;
}

/** Matches a path against a pattern such as services.*.ports ('*' matches one segment). */
export function matches(path: KeyPath, pattern: readonly string[]): boolean {
  if (path.length !== pattern.length) return false;
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i]!;
    if (p !== '*' && p !== String(path[i])) return false;
  }
  return true;
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
