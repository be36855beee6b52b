/**
 * Go templates for `--format`, as docker and docker compose run them (text/template with the docker
 * CLI's functions): fields and variables, pipes, parentheses, `if` / `else if` / `else`, `range`
 * (with `$i, $v :=` and `else`), `with`, `{{- -}}` trimming, comments; functions json, split, join,
 * title, lower, upper, pad, truncate and Go's and, or, not, len, index, slice, print, printf,
 * println, eq, ne, lt, le, gt, ge, html, js, urlquery. What it does not support (define, template,
 * block, break, continue, an unknown function) is refused when the template is read, before
 * anything runs: never printed literally.
 */
import { DockyardError } from '../errors.js';

type Value = unknown;
type Operand =
  | { t: 'lit'; v: Value }
  | { t: 'field'; path: string[] } // .A.B (path [] is the dot)
  | { t: 'var'; name: string; path: string[] }
  | { t: 'fn'; name: string }
  | { t: 'paren'; pipe: Pipe; path: string[] };
interface Pipe {
  decl?: { names: string[]; assign: boolean };
  cmds: Operand[][];
}
type Node =
  | { t: 'text'; s: string }
  | { t: 'action'; pipe: Pipe }
  | { t: 'if' | 'with'; branches: Array<{ pipe: Pipe; body: Node[] }>; otherwise?: Node[] }
  | { t: 'range'; pipe: Pipe; body: Node[]; otherwise?: Node[] };

const UNSUPPORTED = new Set(['define', 'template', 'block', 'break', 'continue', 'call']);

function fail(message: string): never {
  throw new DockyardError('USAGE', `invalid --format template: ${message}`, { hint: "fields ({{.Name}}), pipes ({{.Name | upper}}), if/else, range, with and docker's functions (json, join, upper, printf...) are supported" });
}

/** Text and actions, with {{- and -}} trimming applied and comments dropped. */
function lex(src: string): Array<{ text: string } | { action: string }> {
  const out: Array<{ text: string } | { action: string }> = [];
  let i = 0;
  let trimNext = false;
  while (i < src.length) {
    const open = src.indexOf('{{', i);
    let text = src.slice(i, open < 0 ? src.length : open);
    if (trimNext) text = text.replace(/^\s+/, '');
    trimNext = false;
    if (open < 0) {
      out.push({ text });
      break;
    }
    let start = open + 2;
    if (/^- /.test(src.slice(start, start + 2)) || (src[start] === '-' && /\s/.test(src[start + 1] ?? ''))) {
      text = text.replace(/\s+$/, '');
      start += 1;
    }
    out.push({ text });
    // the action ends at the first }} outside a string
    let j = start;
    let quote: string | undefined;
    for (; j < src.length; j++) {
      const c = src[j]!;
      if (quote) {
        if (c === '\\' && quote !== '`') j++;
        else if (c === quote) quote = undefined;
      } else if (c === '"' || c === '`' || c === "'") quote = c;
      else if (src.startsWith('}}', j)) break;
    }
    if (j >= src.length) fail(`unclosed action: ${src.slice(open)}`);
    let body = src.slice(start, j);
    if (/\s-$/.test(body) || body === '-') {
      body = body.slice(0, -1);
      trimNext = true;
    }
    i = j + 2;
    const trimmed = body.trim();
    if (/^\/\*[\s\S]*\*\/$/.test(trimmed)) continue;
    out.push({ action: trimmed });
  }
  return out.filter((x) => !('text' in x) || x.text !== '');
}

type Token = { k: 'str' | 'num' | 'bool' | 'nil' | 'ident' | 'field' | 'var' | '(' | ')' | '|' | ':=' | '=' | ','; v: string; path?: string[] };

const FIELD_CHAIN = /^(?:\.[A-Za-z_][A-Za-z0-9_]*)+/;

function tokenize(s: string): Token[] {
  const toks: Token[] = [];
  let i = 0;
  const rest = () => s.slice(i);
  while (i < s.length) {
    const r = rest();
    let m: RegExpExecArray | null;
    if ((m = /^\s+/.exec(r))) i += m[0].length;
    else if (r.startsWith(':=')) (toks.push({ k: ':=', v: ':=' }), (i += 2));
    else if ('()|=,'.includes(r[0]!)) {
      toks.push({ k: r[0] as '(', v: r[0]! });
      i++;
      // (pipeline).Field
      if (r[0] === ')' && (m = FIELD_CHAIN.exec(rest()))) {
        toks[toks.length - 1]!.path = m[0].slice(1).split('.');
        i += m[0].length;
      }
    } else if ((m = /^"(?:[^"\\]|\\.)*"/.exec(r))) {
      toks.push({ k: 'str', v: unquote(m[0]) });
      i += m[0].length;
    } else if ((m = /^`[^`]*`/.exec(r))) {
      toks.push({ k: 'str', v: m[0].slice(1, -1) });
      i += m[0].length;
    } else if ((m = /^'(?:[^'\\]|\\.)'/.exec(r))) {
      toks.push({ k: 'num', v: String(unquote(`"${m[0].slice(1, -1)}"`).codePointAt(0)) });
      i += m[0].length;
    } else if ((m = /^[-+]?(?:0x[0-9a-fA-F]+|\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)/.exec(r))) {
      toks.push({ k: 'num', v: m[0] });
      i += m[0].length;
    } else if ((m = /^\$[A-Za-z0-9_]*/.exec(r))) {
      i += m[0].length;
      const f = FIELD_CHAIN.exec(rest());
      if (f) i += f[0].length;
      toks.push({ k: 'var', v: m[0], path: f ? f[0].slice(1).split('.') : [] });
    } else if ((m = FIELD_CHAIN.exec(r))) {
      toks.push({ k: 'field', v: m[0], path: m[0].slice(1).split('.') });
      i += m[0].length;
    } else if (r[0] === '.') {
      toks.push({ k: 'field', v: '.', path: [] });
      i++;
    } else if ((m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(r))) {
      const w = m[0];
      toks.push(w === 'true' || w === 'false' ? { k: 'bool', v: w } : w === 'nil' ? { k: 'nil', v: w } : { k: 'ident', v: w });
      i += w.length;
    } else fail(`unexpected "${r[0]}" in {{${s}}}`);
  }
  return toks;
}

function unquote(q: string): string {
  try {
    return JSON.parse(q.replace(/\\x([0-9a-fA-F]{2})/g, '\\u00$1').replace(/\\([abfv'])/g, (_, c: string) => ({ a: '\\u0007', b: '\\b', f: '\\f', v: '\\u000b', "'": "'" })[c]!)) as string;
  } catch {
    return fail(`bad string ${q}`);
  }
}

/** A pipeline: [$x :=] cmd | cmd ...; each cmd a function with arguments, or one operand. */
function parsePipe(toks: Token[], text: string, declOk = true): Pipe {
  let pos = 0;
  const pipe: Pipe = { cmds: [] };
  // $x := ..., $i, $v := ...
  if (declOk && toks[0]?.k === 'var' && !toks[0].path?.length) {
    const names: string[] = [];
    let j = 0;
    while (toks[j]?.k === 'var' && !toks[j]!.path?.length) {
      names.push(toks[j]!.v);
      if (toks[j + 1]?.k === ',') j += 2;
      else {
        j++;
        break;
      }
    }
    if (toks[j]?.k === ':=' || toks[j]?.k === '=') {
      pipe.decl = { names, assign: toks[j]!.k === '=' };
      pos = j + 1;
    }
  }
  const operand = (): Operand => {
    const t = toks[pos++];
    if (!t) return fail(`missing value in {{${text}}}`);
    switch (t.k) {
      case 'str':
        return { t: 'lit', v: t.v };
      case 'num':
        return { t: 'lit', v: Number(t.v) };
      case 'bool':
        return { t: 'lit', v: t.v === 'true' };
      case 'nil':
        return { t: 'lit', v: null };
      case 'field':
        return { t: 'field', path: t.path! };
      case 'var':
        return { t: 'var', name: t.v, path: t.path! };
      case 'ident':
        if (UNSUPPORTED.has(t.v)) fail(`"${t.v}" is not supported in {{${text}}}`);
        if (!Object.hasOwn(FUNCTIONS, t.v)) fail(`function "${t.v}" not defined in {{${text}}}`);
        return { t: 'fn', name: t.v };
      case '(': {
        let depth = 1;
        const start = pos;
        while (pos < toks.length && depth) {
          if (toks[pos]!.k === '(') depth++;
          else if (toks[pos]!.k === ')') depth--;
          pos++;
        }
        if (depth) fail(`unclosed ( in {{${text}}}`);
        const close = toks[pos - 1]!;
        return { t: 'paren', pipe: parsePipe(toks.slice(start, pos - 1), text, false), path: close.path ?? [] };
      }
      default:
        return fail(`unexpected "${t.v}" in {{${text}}}`);
    }
  };
  let cmd: Operand[] = [];
  while (pos < toks.length) {
    if (toks[pos]!.k === '|') {
      if (!cmd.length) fail(`missing command before | in {{${text}}}`);
      pipe.cmds.push(cmd);
      cmd = [];
      pos++;
      continue;
    }
    cmd.push(operand());
  }
  if (!cmd.length) fail(pipe.cmds.length ? `missing command after | in {{${text}}}` : `empty action {{${text}}}`);
  pipe.cmds.push(cmd);
  for (const [i, c] of pipe.cmds.entries()) {
    if (c[0]!.t !== 'fn' && c.length > 1) fail(`can't give an argument to a non-function in {{${text}}}`);
    if (i > 0 && c[0]!.t !== 'fn') fail(`a pipe passes its value to a function, not to a value, in {{${text}}}`);
  }
  return pipe;
}

/** The template's tree. */
function parse(src: string): Node[] {
  const items = lex(src);
  let pos = 0;
  // returns the nodes up to (and the keyword of) the else / end that closes them
  const block = (inside?: string): { nodes: Node[]; stop?: { word: 'else' | 'end'; rest: string } } => {
    const nodes: Node[] = [];
    while (pos < items.length) {
      const it = items[pos++]!;
      if ('text' in it) {
        nodes.push({ t: 'text', s: it.text });
        continue;
      }
      const a = it.action;
      const word = /^[A-Za-z]+/.exec(a)?.[0] ?? '';
      const rest = a.slice(word.length).trim();
      if (word === 'end' || word === 'else') {
        if (!inside) fail(`{{${a}}} without an if, range or with`);
        if (word === 'end' && rest) fail(`unexpected "${rest}" in {{end}}`);
        return { nodes, stop: { word, rest } };
      }
      if (UNSUPPORTED.has(word)) fail(`{{${word}}} is not supported`);
      if (word === 'if' || word === 'with') nodes.push(conditional(word, rest));
      else if (word === 'range') nodes.push(range(rest));
      else nodes.push({ t: 'action', pipe: parsePipe(tokenize(a), a) });
    }
    if (inside) fail(`{{${inside}}} has no {{end}}`);
    return { nodes };
  };
  const conditional = (word: 'if' | 'with', first: string): Node => {
    if (!first) fail(`{{${word}}} needs a value`);
    const node: Node & { t: 'if' | 'with' } = { t: word, branches: [] };
    let cond = first;
    for (;;) {
      const { nodes, stop } = block(word);
      node.branches.push({ pipe: parsePipe(tokenize(cond), `${word} ${cond}`), body: nodes });
      if (stop!.word === 'end') return node;
      // else if ... / else with ... / else
      const m = new RegExp(`^${word}\\b\\s*(.*)$`).exec(stop!.rest);
      if (m) {
        cond = m[1]!;
        continue;
      }
      if (stop!.rest) fail(`unexpected "${stop!.rest}" after {{else}}`);
      const last = block(word);
      if (last.stop!.word !== 'end') fail(`{{else}} after {{else}}`);
      node.otherwise = last.nodes;
      return node;
    }
  };
  const range = (rest: string): Node => {
    if (!rest) fail('{{range}} needs a value');
    const pipe = parsePipe(tokenize(rest), `range ${rest}`);
    if (pipe.decl && pipe.decl.names.length > 2) fail('{{range}} declares at most two variables');
    const { nodes, stop } = block('range');
    const node: Node = { t: 'range', pipe, body: nodes };
    if (stop!.word === 'else') {
      if (stop!.rest) fail(`unexpected "${stop!.rest}" after {{else}} in {{range}}`);
      const last = block('range');
      if (last.stop!.word !== 'end') fail('{{else}} after {{else}}');
      node.otherwise = last.nodes;
    }
    return node;
  };
  return block().nodes;
}

// --- execution ---

const RECORD = new WeakSet<object>();

function truthy(v: Value): boolean {
  if (v === undefined || v === null || v === false || v === 0 || v === '') return false;
  if (Array.isArray(v)) return v.length > 0;
  if (typeof v === 'object') return Object.keys(v).length > 0;
  return true;
}

function fieldOf(v: Value, path: string[], what: string): Value {
  let cur = v;
  for (const k of path) {
    if (cur === null || cur === undefined) return undefined;
    if (typeof cur !== 'object' || Array.isArray(cur)) fail(`can't evaluate field ${k} of ${what} (not an object)`);
    if (!(k in (cur as object))) {
      // a record's fields are fixed (docker: "can't evaluate field"); a map's missing key is empty
      if (RECORD.has(cur as object)) fail(`can't evaluate field ${k}: the fields are ${Object.keys(cur as object).join(', ')}`);
      return undefined;
    }
    cur = (cur as Record<string, Value>)[k];
  }
  return cur;
}

/** A value as Go's fmt prints it with %v (objects as JSON, as dockyard prints them). */
function show(v: Value): string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'object') return Array.isArray(v) ? `[${v.map(show).join(' ')}]` : JSON.stringify(v);
  return String(v);
}

function compare(a: Value, b: Value, name: string): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (typeof a === 'string' && typeof b === 'string') return a < b ? -1 : a > b ? 1 : 0;
  return fail(`${name}: cannot compare ${show(a)} with ${show(b)}`);
}

function printf(format: string, args: Value[]): string {
  let n = 0;
  return format.replace(/%([-+ 0#]*)(\d+)?(?:\.(\d+))?([vsdqftxXeg%])/g, (_, flags: string, width: string | undefined, prec: string | undefined, verb: string) => {
    if (verb === '%') return '%';
    if (n >= args.length) return `%!${verb}(MISSING)`;
    const a = args[n++];
    let s: string;
    switch (verb) {
      case 'd':
        s = typeof a === 'number' ? String(Math.trunc(a)) : `%!d(${show(a)})`;
        break;
      case 'f':
      case 'e':
      case 'g':
        s = typeof a === 'number' ? (verb === 'f' ? a.toFixed(prec !== undefined ? Number(prec) : 6) : verb === 'e' ? a.toExponential(prec !== undefined ? Number(prec) : 6) : String(a)) : `%!${verb}(${show(a)})`;
        break;
      case 'q':
        s = JSON.stringify(show(a));
        break;
      case 'x':
      case 'X':
        s = typeof a === 'number' ? a.toString(16) : Buffer.from(show(a)).toString('hex');
        if (verb === 'X') s = s.toUpperCase();
        break;
      case 't':
        s = typeof a === 'boolean' ? String(a) : `%!t(${show(a)})`;
        break;
      default:
        s = show(a);
        if (prec !== undefined && verb === 's') s = s.slice(0, Number(prec));
    }
    if (flags.includes('+') && typeof a === 'number' && a >= 0 && verb !== 's') s = `+${s}`;
    const w = width ? Number(width) : 0;
    if (s.length < w) s = flags.includes('-') ? s.padEnd(w) : flags.includes('0') && typeof a === 'number' ? s.padStart(w, '0') : s.padStart(w);
    return s;
  }) + (n < args.length ? `%!(EXTRA ${args.slice(n).map(show).join(', ')})` : '');
}

const str = (v: Value) => (typeof v === 'string' ? v : show(v));
const joined = (args: Value[]) => args.map(show).join('');

/** A template function: how many arguments it takes (exactly, or at least `min`), and what it does. */
interface TemplateFunction {
  arity?: number;
  min?: number;
  fn: (args: Value[], name: string) => Value;
}

/** docker's functions (json, split, join, title, lower, upper, pad, truncate) and Go's, found by name. */
const FUNCTIONS: Record<string, TemplateFunction> = {
  json: { arity: 1, fn: ([v]) => JSON.stringify(v ?? null) },
  split: { arity: 2, fn: ([a, b]) => str(a).split(str(b)) },
  join: {
    arity: 2,
    fn: ([list, sep]) => {
      if (!Array.isArray(list)) fail('join takes a list and a separator');
      return (list as Value[]).map(str).join(str(sep));
    },
  },
  title: { arity: 1, fn: ([v]) => str(v).replace(/(^|[^\p{L}\p{N}'])(\p{L})/gu, (_, p: string, c: string) => p + c.toUpperCase()) },
  lower: { arity: 1, fn: ([v]) => str(v).toLowerCase() },
  upper: { arity: 1, fn: ([v]) => str(v).toUpperCase() },
  pad: { arity: 3, fn: ([v, l, r]) => `${' '.repeat(Number(l) || 0)}${str(v)}${' '.repeat(Number(r) || 0)}` },
  truncate: {
    arity: 2,
    fn: ([v, k]) => {
      const s = str(v);
      return s.length > Number(k) ? s.slice(0, Number(k)) : s;
    },
  },
  and: { min: 1, fn: (args) => args.find((a) => !truthy(a)) ?? args[args.length - 1] },
  or: { min: 1, fn: (args) => args.find(truthy) ?? args[args.length - 1] },
  not: { arity: 1, fn: ([v]) => !truthy(v) },
  len: {
    arity: 1,
    fn: ([v]) => {
      if (typeof v === 'string' || Array.isArray(v)) return v.length;
      if (v && typeof v === 'object') return Object.keys(v).length;
      return fail(`len of ${show(v)}`);
    },
  },
  index: { min: 1, fn: ([v, ...keys]) => indexInto(v, keys) },
  slice: {
    fn: ([v, ...range]) => {
      if (!(typeof v === 'string' || Array.isArray(v))) fail(`can't slice ${show(v)}`);
      return (v as string).slice(...(range.slice(0, 2) as number[]));
    },
  },
  print: { fn: (args) => args.map((a, i) => (i > 0 && typeof a !== 'string' && typeof args[i - 1] !== 'string' ? ' ' : '') + show(a)).join('') },
  println: { fn: (args) => `${args.map(show).join(' ')}\n` },
  printf: { min: 1, fn: ([f, ...rest]) => printf(str(f), rest) },
  eq: { min: 2, fn: ([a, ...bs]) => bs.some((b) => a === b) },
  ne: { arity: 2, fn: ([a, b]) => a !== b },
  lt: { arity: 2, fn: ([a, b], n) => compare(a, b, n) < 0 },
  le: { arity: 2, fn: ([a, b], n) => compare(a, b, n) <= 0 },
  gt: { arity: 2, fn: ([a, b], n) => compare(a, b, n) > 0 },
  ge: { arity: 2, fn: ([a, b], n) => compare(a, b, n) >= 0 },
  html: { fn: (args) => joined(args).replace(/[<>&'"\0]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&#39;', '"': '&#34;', '\0': '\uFFFD' })[c]!) },
  js: { fn: (args) => joined(args).replace(/[\\'"<>&=\n\r\t]/g, (c) => `\\u${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`) },
  urlquery: { fn: (args) => encodeURIComponent(joined(args)) },
};

/** index: into lists and strings by number, objects by key */
function indexInto(v: Value, keys: Value[]): Value {
  for (const k of keys) {
    if (Array.isArray(v) || typeof v === 'string') {
      if (typeof k !== 'number' || k < 0 || k >= v.length) fail(`index ${show(k)} out of range`);
      v = (v as Value[])[k as number];
    } else if (v && typeof v === 'object') v = (v as Record<string, Value>)[str(k)];
    else return fail(`can't index ${show(v)}`);
  }
  return v;
}

function call(name: string, args: Value[]): Value {
  const f = FUNCTIONS[name];
  if (!f) return fail(`function "${name}" not defined`);
  if (f.arity !== undefined && args.length !== f.arity) fail(`${name} takes ${f.arity} argument${f.arity === 1 ? '' : 's'}, not ${args.length}`);
  if (f.min !== undefined && args.length < f.min) {
    fail(name === 'printf' ? 'printf takes a format' : name === 'index' ? 'index takes a value and keys' : `${name} takes at least ${f.min === 1 ? 'one argument' : 'two arguments'}`);
  }
  return f.fn(args, name);
}

class Scope {
  constructor(
    readonly vars: Map<string, Value>,
    readonly parent?: Scope,
  ) {}
  get(name: string): Value {
    for (let s: Scope | undefined = this; s; s = s.parent) if (s.vars.has(name)) return s.vars.get(name);
    return fail(`undefined variable ${name}`);
  }
  set(name: string, v: Value, assign: boolean): void {
    if (!assign) return void this.vars.set(name, v);
    for (let s: Scope | undefined = this; s; s = s.parent) if (s.vars.has(name)) return void s.vars.set(name, v);
    fail(`undefined variable ${name}`);
  }
}

function evalOperand(o: Operand, dot: Value, scope: Scope): Value {
  switch (o.t) {
    case 'lit':
      return o.v;
    case 'field':
      return fieldOf(dot, o.path, '.');
    case 'var':
      return fieldOf(scope.get(o.name), o.path, o.name);
    case 'paren':
      return fieldOf(evalPipe(o.pipe, dot, scope), o.path, '(...)');
    case 'fn':
      return call(o.name, []);
  }
}

function evalPipe(p: Pipe, dot: Value, scope: Scope): Value {
  let v: Value;
  p.cmds.forEach((cmd, i) => {
    const [head, ...args] = cmd;
    if (head!.t === 'fn') {
      const vals = args.map((a) => evalOperand(a, dot, scope));
      v = call(head!.name, i > 0 ? [...vals, v] : vals);
    } else v = evalOperand(head!, dot, scope);
  });
  if (p.decl) for (const n of p.decl.names) scope.set(n, v, p.decl.assign);
  return v;
}

function run(nodes: Node[], dot: Value, scope: Scope, out: string[]): void {
  for (const n of nodes) {
    switch (n.t) {
      case 'text':
        out.push(n.s);
        break;
      case 'action': {
        const v = evalPipe(n.pipe, dot, scope);
        if (!n.pipe.decl) out.push(show(v));
        break;
      }
      case 'if':
      case 'with': {
        let done = false;
        for (const b of n.branches) {
          const inner = new Scope(new Map(), scope);
          const v = evalPipe(b.pipe, dot, inner);
          if (truthy(v)) {
            run(b.body, n.t === 'with' ? v : dot, inner, out);
            done = true;
            break;
          }
        }
        if (!done && n.otherwise) run(n.otherwise, dot, new Scope(new Map(), scope), out);
        break;
      }
      case 'range': {
        const inner = new Scope(new Map(), scope);
        const v = evalPipe({ cmds: n.pipe.cmds }, dot, inner);
        const entries: Array<[Value, Value]> = Array.isArray(v)
          ? v.map((x, i) => [i, x])
          : v && typeof v === 'object'
            ? Object.keys(v).sort().map((k) => [k, (v as Record<string, Value>)[k]])
            : typeof v === 'number'
              ? Array.from({ length: Math.max(0, Math.trunc(v)) }, (_, i) => [i, i])
              : v === undefined || v === null
                ? []
                : fail(`range can't iterate over ${show(v)}`);
        if (!entries.length) {
          if (n.otherwise) run(n.otherwise, dot, inner, out);
          break;
        }
        const names = n.pipe.decl?.names ?? [];
        for (const [k, x] of entries) {
          const each = new Scope(new Map(), inner);
          if (names.length === 1) each.set(names[0]!, x, false);
          if (names.length === 2) (each.set(names[0]!, k, false), each.set(names[1]!, x, false));
          run(n.body, x, each, out);
        }
        break;
      }
    }
  }
}

export interface Template {
  /** whether it starts with `table` (a header line, columns aligned) */
  table: boolean;
  /** the text for these records: one line per record */
  render(records: Array<Record<string, unknown>>): string;
}

/** Header names as docker prints them: ContainerName → CONTAINER NAME, CPUPerc → CPU PERC. */
function headerName(field: string): string {
  return field.replace(/([a-z])([A-Z])/g, '$1 $2').toUpperCase();
}

/**
 * Reads a format (refusing what is not supported, before anything runs): `table` first means a
 * header line and columns aligned on tabs as docker's tabwriter does (cells at least 10 wide, 3
 * spaces between them); `\t` and `\n` written as two characters are a tab and a new line.
 */
export function compileTemplate(format: string): Template {
  let f = format.replace(/\\t/g, '\t').replace(/\\n/g, '\n');
  const table = /^table(\s|$)/.test(f);
  if (table) f = f.slice(5).replace(/^ /, '');
  const tree = parse(f);
  const exec = (dot: Value) => {
    const out: string[] = [];
    run(tree, dot, new Scope(new Map([['$', dot]])), out);
    return out.join('');
  };
  return {
    table,
    render(records) {
      const lines = records.map((r) => {
        RECORD.add(r);
        return exec(r);
      });
      if (!table) return lines.map((l) => `${l}\n`).join('');
      // the header: the same template over the field names
      const keys = records[0] ? Object.keys(records[0]) : [...f.matchAll(/\.([A-Za-z_][A-Za-z0-9_]*)/g)].map((m) => m[1]!);
      const head = Object.fromEntries(keys.map((k) => [k, headerName(k)]));
      let header: string;
      try {
        header = exec(head);
      } catch {
        header = '';
      }
      return tabAlign([header, ...lines]);
    },
  };
}

/** Go's tabwriter as docker sets it up (minwidth 10, padding 3): tab-separated cells in columns. */
function tabAlign(lines: string[]): string {
  const rows = lines.flatMap((l) => l.split('\n')).map((l) => l.split('\t'));
  const widths: number[] = [];
  for (const r of rows) r.slice(0, -1).forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length + 3, 10)));
  return rows.map((r) => `${r.map((c, i) => (i < r.length - 1 ? c.padEnd(widths[i]!) : c)).join('')}\n`).join('');
}

/** Renders records through a format (see compileTemplate). */
export function template(format: string, records: Array<Record<string, unknown>>): string {
  return compileTemplate(format).render(records);
}
