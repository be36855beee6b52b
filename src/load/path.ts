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

/**
 * Path patterns (services.*.ports) compiled into a trie, so that a walk over a tree only
 * descends where some pattern can still match, and finds the rule for a node in O(1).
 */
export class PatternTrie<T> {
  private readonly children = new Map<string, PatternTrie<T>>();
  private wildcard?: PatternTrie<T>;
  value?: T;

  static of<T>(entries: ReadonlyArray<readonly [string, T]>): PatternTrie<T> {
    const root = new PatternTrie<T>();
    for (const [pattern, value] of entries) {
      let node: PatternTrie<T> = root;
      for (const seg of pattern.split('.')) {
        if (seg === '*') node = node.wildcard ??= new PatternTrie<T>();
        else {
          let next = node.children.get(seg);
          if (!next) node.children.set(seg, (next = new PatternTrie<T>()));
          node = next;
        }
      }
      node.value = value;
    }
    return root;
  }

  /** The sub-trie for one more path segment; exact segments win over '*'. */
  next(seg: string | number): PatternTrie<T> | undefined {
    return (typeof seg === 'string' ? this.children.get(seg) : undefined) ?? this.wildcard;
  }
}
