/**
 * Lint never needs a variable's value. A variable the files use without a default (`$X`, `${X}`,
 * `${X:?msg}`, `${X?msg}`) that is set neither in the environment nor in an .env file gets a
 * placeholder shaped for where it is used (a path in a volume or a build context, a duration,
 * otherwise `1`, which reads as a string, a number, a port or a size), so that a CI job lints a
 * file without its secrets. The variable itself is checked when the file runs. A malformed
 * `${...}` is still an error: the loader parses every template whatever the values.
 */
import { dirname, join } from 'node:path';
import type { DockyardError } from '../errors.js';
import type { KeyPath } from '../load/path.js';
import { isPlainObject } from '../load/path.js';
import type { ParsedDocument } from '../load/yaml.js';
import type { Sources } from './sources.js';

// `$$` (a literal $), then `${NAME` followed by `}`, `?` or `:?` (no default), then `$NAME`
const REF = /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?=\}|:?\?)|\$([A-Za-z_][A-Za-z0-9_]*)/g;

/** The variables a string refers to without a default, with where each starts and ends. */
export function references(s: string): Array<{ name: string; start: number; end: number }> {
  if (!s.includes('$')) return [];
  const out: Array<{ name: string; start: number; end: number }> = [];
  for (const m of s.matchAll(REF)) {
    const name = m[1] ?? m[2];
    if (!name) continue;
    // the end of the whole reference: past its closing brace when braced
    const end = m[1] ? closing(s, m.index + m[0].length) : m.index + m[0].length;
    out.push({ name, start: m.index, end });
  }
  return out;
}

function closing(s: string, from: number): number {
  let depth = 1;
  for (let i = from; i < s.length; i++) {
    if (s[i] === '{') depth++;
    else if (s[i] === '}' && --depth === 0) return i + 1;
  }
  return s.length;
}

const DURATIONS = new Set(['interval', 'timeout', 'start_period', 'start_interval', 'stop_grace_period', 'delay', 'window', 'monitor']);
const PLACEHOLDER_PATH = '/dockyard-lint-placeholder';

/** Keys whose value is a path on the host (a bind mount, a build context, a file). */
function isPathKey(path: KeyPath): boolean {
  const [top, , key, sub] = path;
  if (top === 'include') return true;
  if (top === 'secrets' || top === 'configs') return key === 'file';
  if (top !== 'services') return false;
  if (key === 'volumes' || key === 'env_file' || key === 'label_file') return true;
  if (key === 'build') return path.length === 3 || sub === 'context' || sub === 'dockerfile';
  if (key === 'extends') return sub === 'file';
  return false;
}

/** A value for a variable at `start..end` of the string `s` found at `path`. */
function shape(path: KeyPath, s: string, start: number, end: number): { value: string; rank: number } {
  if (isPathKey(path)) {
    // at the start of a path (or of a volume's source or target): absolute
    return { value: start === 0 || s[start - 1] === ':' ? PLACEHOLDER_PATH : 'placeholder', rank: 2 };
  }
  const key = [...path].reverse().find((k) => typeof k === 'string');
  if (key !== undefined && DURATIONS.has(key)) return { value: end === s.length ? '1s' : '1', rank: 1 };
  return { value: '1', rank: 0 };
}

/** Names an .env file sets (`KEY=...`, `export KEY=...`, `KEY: ...`). */
export function envKeys(text: string): string[] {
  return [...text.matchAll(/^[ \t]*(?:export[ \t]+)?([A-Za-z_][A-Za-z0-9_.-]*)[ \t]*[=:]/gm)].map((m) => m[1]!);
}

/** The value of one key of an .env file as written (quotes removed), for COMPOSE_FILE. */
export function envValue(text: string, key: string): string | undefined {
  let out: string | undefined;
  for (const m of text.matchAll(new RegExp(`^[ \\t]*(?:export[ \\t]+)?${key}[ \\t]*[=:][ \\t]*(.*)$`, 'gm'))) {
    let v = m[1]!.trim();
    if (/^(["']).*\1$/.test(v)) v = v.slice(1, -1);
    else v = v.replace(/\s+#.*$/, '');
    out = v;
  }
  return out;
}

export interface Placeholders {
  /** the environment to load with: the real one, and a placeholder for each variable missing from it */
  environment: Record<string, string | undefined>;
  /** the variables given a placeholder */
  names: Set<string>;
}

/**
 * Placeholders for the variables `files` (and the files they include or extend, and the .env
 * files the loader reads for them) use without a default and that are not set.
 */
export function placeholders(src: Sources, files: string[], related: string[], env: Record<string, string | undefined>): Placeholders {
  const dirs = new Set([...files, ...related].map((f) => dirname(f)));
  const envFiles = new Set([...dirs].map((d) => join(d, '.env')));
  for (const f of [...files, ...related]) for (const inc of src.refs(f).includes) inc.envFiles.forEach((e) => envFiles.add(e));
  const known = new Set(Object.keys(env).filter((k) => env[k] !== undefined));
  const wanted = new Map<string, { value: string; rank: number }>();
  const want = (name: string, v: { value: string; rank: number }) => {
    const had = wanted.get(name);
    if (!had || v.rank > had.rank) wanted.set(name, v);
  };
  for (const e of envFiles) {
    const t = src.text(e);
    if (t === undefined) continue;
    envKeys(t).forEach((k) => known.add(k));
    // (an .env value can use variables too)
    for (const r of references(t)) want(r.name, { value: '1', rank: 0 });
  }
  const path: Array<string | number> = []; // (one path, pushed and popped: most values have no $)
  const walk = (v: unknown) => {
    if (typeof v === 'string') {
      if (v.includes('$')) for (const r of references(v)) want(r.name, shape(path, v, r.start, r.end));
    } else if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) {
        path.push(i);
        walk(v[i]);
        path.pop();
      }
    } else if (isPlainObject(v)) {
      for (const k in v) {
        path.push(k);
        walk(v[k]);
        path.pop();
      }
    }
  };
  for (const f of [...files, ...related]) for (const d of src.docs(f)) walk(d.value);
  const environment = { ...env };
  const names = new Set<string>();
  for (const [name, v] of wanted) {
    if (known.has(name)) continue;
    environment[name] = v.value;
    names.add(name);
  }
  return { environment, names };
}

/** Parses a key path as the loader prints it (`services.web.ports[0]`). */
export function parseKeyPath(s: string): KeyPath {
  return s.split(/\.|(?=\[)/).filter(Boolean).map((x) => (/^\[\d+\]$/.test(x) ? Number(x.slice(1, -1)) : x));
}

function valueAt(v: unknown, path: KeyPath): unknown {
  let cur = v;
  for (const k of path) {
    if (Array.isArray(cur) && typeof k === 'number') cur = cur[k];
    else if (isPlainObject(cur)) cur = cur[String(k)];
    else return undefined;
  }
  return cur;
}

function mentions(v: unknown, names: Set<string>): boolean {
  if (typeof v === 'string') return references(v).some((r) => names.has(r.name));
  if (Array.isArray(v)) return v.some((x) => mentions(x, names));
  if (isPlainObject(v)) return Object.values(v).some((x) => mentions(x, names));
  return false;
}

/**
 * Whether a load error is about a value a placeholder decided (a volume whose source is a
 * variable, a port, a path to a file that only exists where the file runs): not a defect of
 * the file. Errors about a whole service (no image) or the file's structure never are.
 */
export function decidedByPlaceholder(e: DockyardError, docs: ParsedDocument[], names: Set<string>): boolean {
  if (!names.size || !e.keyPath || e.code === 'INVALID_TEMPLATE') return false;
  const path = parseKeyPath(e.keyPath);
  if (path.length < 3 && path[0] !== 'include') return false;
  // a reference to something undefined is about a name, unless a variable makes the name (a
  // volume's source, the file a service extends)
  if (e.code === 'MISSING_REFERENCE' && path[2] !== 'volumes' && path[2] !== 'extends') return false;
  for (const d of [...docs].reverse()) {
    let v = valueAt(d.value, path);
    // (an index of the merged list may not be this file's)
    if (v === undefined && typeof path[path.length - 1] === 'number') v = valueAt(d.value, path.slice(0, -1));
    if (v === undefined) continue;
    return mentions(v, names);
  }
  return false;
}
