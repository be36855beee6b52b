/**
 * YAML with source positions. Parses a Compose file into plain values (anchors, aliases and
 * merge keys resolved), records the `!reset` / `!override` tags, and keeps the document so
 * that any key path can be located again (file:line:col) when a later stage reports an error.
 */
import jsyaml from 'js-yaml';
import { isAlias, isMap, isScalar, isSeq, LineCounter, parseAllDocuments } from 'yaml';
import type { Document, Node as YamlNode, Pair } from 'yaml';
import { DockyardError } from '../errors.js';
import type { KeyPath } from './path.js';
import { formatPath } from './path.js';

/** One YAML document of one file, as the loader sees it. */
export interface ParsedDocument {
  file: string;
  value: Record<string, unknown>;
  /** paths tagged !reset or !override: removed from the layers below before merging */
  resets: KeyPath[];
  source: SourceFile;
  docIndex: number;
}

export class SourceFile {
  private parsed?: { docs: Document.Parsed[]; lines: LineCounter };

  constructor(
    readonly file: string,
    readonly text: string,
  ) {}

  /** The positioned YAML documents, parsed on first use (only errors need them). */
  private get ast(): { docs: Document.Parsed[]; lines: LineCounter } {
    if (!this.parsed) {
      const lines = new LineCounter();
      const docs = parseAllDocuments(this.text, { lineCounter: lines, merge: true, uniqueKeys: true, prettyErrors: false, strict: false });
      this.parsed = { docs: (Array.isArray(docs) ? docs : []) as Document.Parsed[], lines };
    }
    return this.parsed;
  }

  get docs(): Document.Parsed[] {
    return this.ast.docs;
  }

  private get lines(): LineCounter {
    return this.ast.lines;
  }

  position(offset: number): { line: number; column: number } {
    const p = this.lines.linePos(offset);
    return { line: p.line, column: p.col };
  }

  /** Position of the key (or item) at `path`, or of its deepest existing ancestor. */
  locate(path: KeyPath, docIndex = 0, at_value = false): { line: number; column: number; exact: boolean } | undefined {
    const doc = this.docs[docIndex];
    if (!doc) return undefined;
    let node: unknown = doc.contents;
    let at: number | undefined = (node as YamlNode | null)?.range?.[0];
    for (let i = 0; i < path.length; i++) {
      node = deref(node, doc);
      const seg = path[i]!;
      let next: unknown;
      let pos: number | undefined;
      if (isMap(node)) {
        const pair = findPair(node.items as Pair[], String(seg), doc);
        if (pair) {
          next = pair.value;
          pos = (pair.key as YamlNode | null)?.range?.[0];
        }
      } else if (isSeq(node) && typeof seg === 'number') {
        next = node.items[seg];
        pos = (next as YamlNode | null)?.range?.[0];
      } else if (isSeq(node)) {
        // short syntax: a list item that names the key (depends_on: [db], environment: [A=1])
        next = node.items.find((it) => {
          const v = isScalar(it) ? String(it.value) : undefined;
          return v === seg || v?.startsWith(`${seg}=`) || v?.startsWith(`${seg}:`);
        });
        pos = (next as YamlNode | null)?.range?.[0];
      } else if (isScalar(node) && seg === 0) {
        // a single value standing for a one-item list (env_file: .env)
        next = node;
        pos = node.range?.[0];
      }
      if (pos === undefined) return at === undefined ? undefined : { ...this.position(at), exact: false };
      at = pos;
      node = next;
    }
    if (at_value && path.length > 0) {
      const v = deref(node, doc) as YamlNode | null;
      if (v?.range) at = v.range[0];
    }
    return at === undefined ? undefined : { ...this.position(at), exact: true };
  }
}

function isMergeKey(k: unknown): boolean {
  return isScalar(k) && (k.value === '<<' || typeof k.value === 'symbol');
}

function deref(node: unknown, doc: Document.Parsed): unknown {
  let n = node;
  for (let i = 0; i < 100 && isAlias(n); i++) n = n.resolve(doc);
  return n;
}

function findPair(items: Pair[], key: string, doc: Document.Parsed): Pair | undefined {
  for (let i = items.length - 1; i >= 0; i--) {
    const it = items[i]!;
    const k = isScalar(it.key) ? String(it.key.value) : undefined;
    if (k === key) return it;
  }
  // look through merge keys
  for (const it of items) {
    if (isMergeKey(it.key)) {
      const v = deref(it.value, doc);
      const sources = isSeq(v) ? v.items.map((x) => deref(x, doc)) : [v];
      for (const s of sources) {
        if (isMap(s)) {
          const p = findPair(s.items as Pair[], key, doc);
          if (p) return p;
        }
      }
    }
  }
  return undefined;
}

const MAX_NODE_VISITS = 5_000_000;

/** Parses YAML text: every document, or the first error with its position. */
export function parseYaml(file: string, text: string): ParsedDocument[] {
  const source = new SourceFile(file, text);
  let values: unknown[];
  try {
    // fast path: js-yaml builds plain values several times faster than a positioned AST
    values = jsyaml.loadAll(text, null, { schema: COMPOSE_SCHEMA, filename: file });
  } catch (e) {
    // the positioned parser names the error precisely; fall back to js-yaml's own mark
    checkPositioned(source);
    const err = e as jsyaml.YAMLException;
    const mark = err.mark;
    throw new DockyardError(/duplicat/.test(err.reason ?? '') ? 'DUPLICATE_KEY' : 'YAML_SYNTAX', `invalid YAML: ${err.reason ?? err.message}`, {
      location: { file, line: mark ? mark.line + 1 : undefined, column: mark ? mark.column + 1 : undefined },
      hint: 'check indentation, quoting and colons near this position',
    });
  }
  const out: ParsedDocument[] = [];
  values.forEach((raw, docIndex) => {
    if (raw === null || raw === undefined) return;
    if (typeof raw !== 'object' || Array.isArray(raw) || raw instanceof Tagged) {
      const pos = source.locate([], docIndex);
      throw new DockyardError('WRONG_TYPE', 'the top level of a Compose file must be a mapping', {
        location: { file, line: pos?.line, column: pos?.column },
        hint: 'a Compose file starts with keys such as services:, networks:, volumes:',
      });
    }
    const w = new TagWalker(source);
    const value = w.walk(raw, []) as Record<string, unknown>;
    out.push({ file, value, resets: w.resets, source, docIndex });
  });
  return out;
}

/** !reset / !override values, found after parsing and replaced by a walk that knows their paths. */
class Tagged {
  constructor(
    readonly tag: '!reset' | '!override',
    readonly value: unknown,
  ) {}
}

const taggedTypes = (['scalar', 'sequence', 'mapping'] as const).flatMap((kind) =>
  (['!reset', '!override'] as const).map(
    (tag) =>
      new jsyaml.Type(tag, {
        kind,
        construct: (data: unknown) => new Tagged(tag, data === undefined ? null : kind === 'scalar' && typeof data === 'string' ? resolveScalar(data) : data),
      }),
  ),
);

/** A plain scalar under a custom tag, resolved as the core schema would (numbers, booleans, null). */
function resolveScalar(s: string): unknown {
  const v = jsyaml.load(s, { schema: jsyaml.CORE_SCHEMA });
  return v === undefined ? null : v;
}

// js-yaml ships the merge-key (<<) type; its typings do not declare `types`
const mergeType = (jsyaml as unknown as { types: { merge: jsyaml.Type } }).types.merge;

const types = (jsyaml as unknown as { types: Record<'null' | 'bool' | 'int' | 'float', jsyaml.Type> }).types;
/** YAML 1.1 octal (0440), as go-yaml (and so Compose) reads it: file modes are written this way. */
const legacyOctal = new jsyaml.Type('tag:dockyard.dev,2026:legacy-octal-int', {
  kind: 'scalar',
  resolve: (s: string | null) => s !== null && /^[-+]?0[0-7]+$/.test(s),
  construct: (s: string) => parseInt(s, 8),
  predicate: () => false,
});
// the core schema's scalars, with legacy octal first and merge keys; !reset / !override tags
const COMPOSE_SCHEMA = jsyaml.FAILSAFE_SCHEMA.extend({ implicit: [types.null, types.bool, legacyOctal, types.int, types.float, mergeType], explicit: taggedTypes });

class TagWalker {
  resets: KeyPath[] = [];
  private visits = 0;
  constructor(private readonly source: SourceFile) {}

  walk(v: unknown, path: (string | number)[]): unknown {
    if (++this.visits > MAX_NODE_VISITS) {
      throw new DockyardError('YAML_SYNTAX', `the document expands to more than ${MAX_NODE_VISITS} nodes`, {
        location: { file: this.source.file },
        hint: 'look for aliases that refer to each other in a loop or expand exponentially',
      });
    }
    if (v instanceof Tagged) {
      this.resets.push([...path]);
      if (v.tag === '!reset') return RESET;
      return this.walk(v.value, path);
    }
    if (Array.isArray(v)) {
      const out: unknown[] = [];
      for (const item of v) {
        const x = this.walk(item, [...path, out.length]);
        if (x !== RESET) out.push(x);
      }
      return out;
    }
    if (v !== null && typeof v === 'object' && !(v instanceof Date)) {
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) {
        const y = this.walk(x, [...path, k]);
        if (y !== RESET) out[k] = y;
      }
      return out;
    }
    return v;
  }
}

/** Throws the positioned parser's first error for this source, if it finds one. */
function checkPositioned(source: SourceFile): void {
  const file = source.file;
  source.docs.forEach((doc) => {
    const err = doc.errors[0];
    if (!err) return;
    const pos = source.position(err.pos[0]);
    const dup = err.code === 'DUPLICATE_KEY';
    const msg = err.message.split('\n')[0]!.replace(/ at line \d+, column \d+.*$/, '');
    const dupPath = dup ? duplicatePath(doc, err.pos[0]) : undefined;
    const dupKey = dupPath?.split('.').pop();
    throw new DockyardError(dup ? 'DUPLICATE_KEY' : 'YAML_SYNTAX', dup ? `key "${dupKey ?? '?'}" is defined twice in the same mapping` : `invalid YAML: ${msg}`, {
      location: { file, line: pos.line, column: pos.column },
      keyPath: dupPath,
      hint: dup ? 'each key may appear once in a mapping; remove or rename one of them' : 'check indentation, quoting and colons near this position',
    });
  });
}

/** Best effort: the key path of the duplicated key at an offset. */
function duplicatePath(doc: Document.Parsed, offset: number): string | undefined {
  const path: (string | number)[] = [];
  let node: unknown = doc.contents;
  for (;;) {
    if (isMap(node)) {
      const pair = (node.items as Pair[]).find((p) => {
        const r = (p.key as YamlNode | null)?.range;
        const vr = (p.value as YamlNode | null)?.range;
        return r && r[0] <= offset && (vr ? vr[2] : r[2]) >= offset;
      });
      if (!pair) break;
      path.push(isScalar(pair.key) ? String(pair.key.value) : '?');
      if ((pair.key as YamlNode).range![0] === offset) break;
      node = pair.value;
    } else if (isSeq(node)) {
      const i = node.items.findIndex((it) => {
        const r = (it as YamlNode | null)?.range;
        return r && r[0] <= offset && r[2] >= offset;
      });
      if (i < 0) break;
      path.push(i);
      node = node.items[i];
    } else break;
  }
  return path.length ? formatPath(path) : undefined;
}

const RESET = Symbol('reset');
