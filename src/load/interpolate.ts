/**
 * Compose variable interpolation: $VAR, ${VAR}, ${VAR:-default}, ${VAR-default},
 * ${VAR:?error}, ${VAR?error}, ${VAR:+replacement}, ${VAR+replacement}, nesting inside the
 * default / replacement / error parts, and $$ for a literal $.
 */
import { DockyardError } from '../errors.js';
import type { KeyPath } from './path.js';
import { formatPath, isPlainObject } from './path.js';

export type Lookup = (name: string) => string | undefined;

/** Thrown by `substitute`; the caller adds the file and key path. */
export class TemplateError extends Error {
  constructor(
    readonly kind: 'invalid' | 'required',
    message: string,
    readonly variable?: string,
  ) {
    super(message);
  }
}

const NAME_START = /[A-Za-z_]/;
const NAME_CHAR = /[A-Za-z0-9_]/;

/** Substitutes every variable in `text`. */
export function substitute(text: string, lookup: Lookup): string {
  if (!text.includes('$')) return text;
  const p = new Parser(text, lookup);
  const out = p.parseUntil(undefined);
  return out;
}

class Parser {
  i = 0;
  constructor(
    private readonly s: string,
    private readonly lookup: Lookup,
  ) {}

  /** Reads text until `stop` (a closing brace at this nesting level) or the end. */
  parseUntil(stop: '}' | undefined): string {
    let out = '';
    const s = this.s;
    while (this.i < s.length) {
      const c = s[this.i]!;
      if (stop && c === stop) return out;
      if (c !== '$') {
        out += c;
        this.i++;
        continue;
      }
      const n = s[this.i + 1];
      if (n === '$') {
        out += '$';
        this.i += 2;
      } else if (n === '{') {
        this.i += 2;
        out += this.braced();
      } else if (n !== undefined && NAME_START.test(n)) {
        this.i++;
        const name = this.name();
        out += this.lookup(name) ?? '';
      } else {
        out += '$';
        this.i++;
      }
    }
    if (stop) throw new TemplateError('invalid', `invalid template "${s}": missing closing brace`);
    return out;
  }

  private name(): string {
    const start = this.i;
    while (this.i < this.s.length && NAME_CHAR.test(this.s[this.i]!)) this.i++;
    return this.s.slice(start, this.i);
  }

  private braced(): string {
    const s = this.s;
    const start = this.i;
    if (!NAME_START.test(s[this.i] ?? '')) throw this.invalid(start);
    const name = this.name();
    const rest = s[this.i];
    if (rest === '}') {
      this.i++;
      return this.lookup(name) ?? '';
    }
    let op: string;
    if (rest === ':' && ['-', '?', '+'].includes(s[this.i + 1] ?? '')) {
      op = s.slice(this.i, this.i + 2);
      this.i += 2;
    } else if (rest === '-' || rest === '?' || rest === '+') {
      op = rest;
      this.i += 1;
    } else {
      throw this.invalid(start);
    }
    const value = this.lookup(name);
    const argStart = this.i;
    // The argument is itself a template; parse it lazily so that an unused required branch
    // does not fail, but always parse to find the closing brace.
    const arg = this.parseUntil('}');
    this.i++; // the closing brace
    const unset = value === undefined;
    const empty = unset || value === '';
    switch (op) {
      case ':-':
        return empty ? arg : value!;
      case '-':
        return unset ? arg : value!;
      case ':+':
        return empty ? '' : arg;
      case '+':
        return unset ? '' : arg;
      case ':?':
      case '?':
        if (op === ':?' ? empty : unset) {
          const msg = this.s.slice(argStart, this.i - 1) ? arg : '';
          throw new TemplateError('required', `required variable ${name} is missing a value${msg ? `: ${msg}` : ''}`, name);
        }
        return value!;
    }
    throw this.invalid(start);
  }

  private invalid(start: number): TemplateError {
    const end = this.s.indexOf('}', start);
    const frag = end < 0 ? this.s.slice(start - 2) : this.s.slice(start - 2, end + 1);
    return new TemplateError('invalid', `invalid interpolation format "${frag}" in "${this.s}"${end < 0 ? ': missing closing brace' : ''}`);
  }
}

export interface InterpolationContext {
  lookup: Lookup;
  /** reports where a failing value is: file, line, col */
  locate: (path: KeyPath) => { file: string; line?: number; column?: number };
}

/** Interpolates every string value of a parsed Compose document (keys are left as they are). */
export function interpolateTree(value: unknown, ctx: InterpolationContext, path: (string | number)[] = []): unknown {
  if (typeof value === 'string') {
    try {
      return substitute(value, ctx.lookup);
    } catch (e) {
      if (e instanceof TemplateError) {
        throw new DockyardError(e.kind === 'required' ? 'MISSING_VARIABLE' : 'INVALID_TEMPLATE', e.message, {
          location: ctx.locate(path),
          keyPath: formatPath(path),
          hint:
            e.kind === 'required'
              ? `set ${e.variable} in the environment or in an --env-file / .env file`
              : 'a variable is written $NAME or ${NAME} (with :-, -, :?, ?, :+ or +); write $$ for a literal $',
        });
      }
      throw e;
    }
  }
  if (Array.isArray(value)) return value.map((v, i) => interpolateTree(v, ctx, [...path, i]));
  if (isPlainObject(value)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = interpolateTree(v, ctx, [...path, k]);
    return out;
  }
  return value;
}
