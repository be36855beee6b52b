/**
 * .env files with Compose's rules: `KEY=VALUE`, `export KEY=VALUE`, `KEY: VALUE`, comments,
 * single quotes (literal), double quotes (escapes, interpolation, several lines), unquoted values
 * (trimmed, ` #` starts a comment, interpolation), and `KEY` alone (inherited when set).
 * Variables in a value are looked up in the given environment first, then in the file so far.
 */
import { statSync } from 'node:fs';
import { MAX_ENV_BYTES, readUserText } from './read.js';
import { DockyardError } from '../errors.js';
import { substitute, TemplateError } from './interpolate.js';
import type { Lookup } from './interpolate.js';

const ESCAPES: Record<string, string> = { a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v', '"': '"', '\\': '\\', $: '$$' };

export function parseDotenv(text: string, file: string, lookup: Lookup = () => undefined): Record<string, string> {
  const out: Record<string, string> = {};
  const src = text.replace(/^\uFEFF/, '').replace(/\r\n?/g, '\n');
  let i = 0;
  let line = 1;
  const fail = (msg: string, hint: string): never => {
    throw new DockyardError('INVALID_VALUE', msg, { location: { file, line, column: 1 }, hint });
  };
  const look = (name: string) => lookup(name) ?? out[name];
  const interp = (v: string): string => {
    try {
      return substitute(v, look);
    } catch (e) {
      if (e instanceof TemplateError) {
        throw new DockyardError(e.kind === 'required' ? 'MISSING_VARIABLE' : 'INVALID_TEMPLATE', e.message, {
          location: { file, line, column: 1 },
          hint: e.kind === 'required' ? `set ${e.variable} before this line or in the environment` : 'write $$ for a literal $',
        });
      }
      throw e;
    }
  };
  while (i < src.length) {
    // skip blank space and comment lines
    const ch = src[i]!;
    if (ch === '\n') {
      line++;
      i++;
      continue;
    }
    if (/\s/.test(ch)) {
      i++;
      continue;
    }
    if (ch === '#') {
      const nl = src.indexOf('\n', i);
      i = nl < 0 ? src.length : nl;
      continue;
    }
    let rest = src.slice(i);
    const exp = /^export\s+/.exec(rest);
    if (exp) {
      i += exp[0].length;
      rest = src.slice(i);
    }
    const km = /^([A-Za-z0-9_.\-[\]]+)[ \t]*/.exec(rest);
    if (!km) fail(`invalid line in env file: "${rest.split('\n')[0]}"`, 'each line is KEY=VALUE; keys use letters, digits, _ . - [ ]');
    const key = km![1]!;
    i += km![0].length;
    const sep = src[i];
    if (sep === undefined || sep === '\n' || sep === '#') {
      // KEY alone: inherited from the environment when set
      const v = lookup(key);
      if (v !== undefined) out[key] = v;
      const nl = src.indexOf('\n', i);
      i = nl < 0 ? src.length : nl;
      continue;
    }
    if (sep !== '=' && sep !== ':') fail(`unexpected character "${sep}" after key ${key}`, `write ${key}=VALUE`);
    i++;
    while (src[i] === ' ' || src[i] === '\t') i++;
    const q = src[i];
    if (q === "'" || q === '"') {
      let j = i + 1;
      let raw = '';
      for (; j < src.length; j++) {
        const c = src[j]!;
        if (c === '\\' && q === '"' && j + 1 < src.length) {
          raw += c + src[j + 1];
          j++;
          continue;
        }
        if (c === q) break;
        raw += c;
      }
      if (j >= src.length) fail(`unterminated ${q === '"' ? 'double' : 'single'}-quoted value for ${key}`, `close the value with ${q}`);
      const startLine = line;
      line += (src.slice(i, j).match(/\n/g) ?? []).length;
      if (q === "'") out[key] = raw;
      else {
        const unescaped = raw.replace(/\\(0[0-7]{0,3}|.)/gs, (_m, e: string) => {
          if (e[0] === '0') return String.fromCharCode(parseInt(e, 8));
          return ESCAPES[e] ?? `\\${e}`;
        });
        out[key] = interp(unescaped);
      }
      void startLine;
      // anything after the closing quote up to the end of the line is ignored (comment)
      const nl = src.indexOf('\n', j);
      i = nl < 0 ? src.length : nl;
      continue;
    }
    const nl = src.indexOf('\n', i);
    let value = src.slice(i, nl < 0 ? src.length : nl);
    i = nl < 0 ? src.length : nl;
    if (value.startsWith('#')) value = '';
    const hash = value.indexOf(' #');
    if (hash >= 0) value = value.slice(0, hash);
    const tab = value.indexOf('\t#');
    if (tab >= 0) value = value.slice(0, tab);
    out[key] = interp(value.trim());
  }
  return out;
}

/** Reads env files in order; later files override earlier ones; `required: false` files may be missing. */
export function readEnvFiles(
  files: ReadonlyArray<{ path: string; required?: boolean; from?: { file: string; line?: number; column?: number }; keyPath?: string; kind?: 'env' | 'label' }>,
  environment: Record<string, string | undefined>,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of files) {
    let text: string;
    try {
      if (statSync(f.path).isDirectory()) {
        throw new DockyardError('MISSING_FILE', `${f.kind ?? 'env'} file ${f.path} is a directory`, { location: f.from, keyPath: f.keyPath, hint: f.kind === 'label' ? 'point label_file at a file' : 'point env_file / --env-file at a file' });
      }
      text = readUserText(f.path, { what: `${f.kind ?? 'env'} file`, maxBytes: MAX_ENV_BYTES, from: f.from, keyPath: f.keyPath });
    } catch (e) {
      if (e instanceof DockyardError) throw e;
      if (f.required === false) continue;
      throw new DockyardError('MISSING_FILE', `${f.kind ?? 'env'} file not found: ${f.path}`, {
        location: f.from,
        keyPath: f.keyPath,
        hint: f.kind === 'label' ? 'create the file, or fix the path (relative to the project directory)' : 'create the file, fix the path (relative to the project directory), or mark it `required: false`',
      });
    }
    Object.assign(out, parseDotenv(text, f.path, (k) => environment[k] ?? out[k]));
  }
  return out;
}
