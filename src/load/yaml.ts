/**
 * YAML with source positions. Parses a Compose file into plain values (anchors, aliases and
 * merge keys resolved), records the `!reset` / `!override` tags, and keeps the document so
 * that any key path can be located again (file:line:col) when a later stage reports an error.
 */
import { isAlias, isMap, isPair, isScalar, isSeq, LineCounter, parseAllDocuments, parse as parseYamlText } from 'yaml';
import type { Document, Node as YamlNode, Pair, Scalar } from 'yaml';
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
  constructor(
    readonly file: string,
    readonly docs: Document.Parsed[],
    private readonly lines: LineCounter,
  ) {}

  position(offset: number): { line: number; column: number } {
    const p = this.lines.linePos(offset);
    return { line: p.line, column: p.col };
  }

  /** Position of the key (or item) at `path`, or of its deepest existing ancestor. */
  locate(path: KeyPath, docIndex = 0): { line: number; column: number; exact: boolean } | undefined {
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
      }
      if (pos === undefined) return at === undefined ? undefined : { ...this.position(at), exact: false };
      at = pos;
      node = next;
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
  const lines = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter: lines, merge: true, uniqueKeys: true, prettyErrors: false, strict: false });
  const list = Array.isArray(docs) ? docs : [];
  const source = new SourceFile(file, list as Document.Parsed[], lines);
  const out: ParsedDocument[] = [];
  list.forEach((doc, docIndex) => {
    const err = doc.errors[0];
    if (err) {
      const pos = source.position(err.pos[0]);
      const dup = err.code === 'DUPLICATE_KEY';
      const msg = err.message.split('\n')[0]!.replace(/ at line \d+, column \d+.*$/, '');
      const dupPath = dup ? duplicatePath(doc as Document.Parsed, err.pos[0]) : undefined;
      const dupKey = dupPath?.split('.').pop();
      throw new DockyardError(dup ? 'DUPLICATE_KEY' : 'YAML_SYNTAX', dup ? `key "${dupKey ?? '?'}" is defined twice in the same mapping` : `invalid YAML: ${msg}`, {
        location: { file, line: pos.line, column: pos.column },
        keyPath: dupPath,
        hint: dup ? 'each key may appear once in a mapping; remove or rename one of them' : 'check indentation, quoting and colons near this position',
      });
    }
    if (doc.contents === null) return; // empty document
    const conv = new Converter(doc as Document.Parsed, source);
    const value = conv.convert(doc.contents, []);
    if (value === null || value === undefined) return;
    if (typeof value !== 'object' || Array.isArray(value)) {
      const pos = source.position(doc.contents.range?.[0] ?? 0);
      throw new DockyardError('WRONG_TYPE', 'the top level of a Compose file must be a mapping', {
        location: { file, line: pos.line, column: pos.column },
        hint: 'a Compose file starts with keys such as services:, networks:, volumes:',
      });
    }
    out.push({ file, value: value as Record<string, unknown>, resets: conv.resets, source, docIndex });
  });
  return out;
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

class Converter {
  resets: KeyPath[] = [];
  private visits = 0;
  constructor(
    private readonly doc: Document.Parsed,
    private readonly source: SourceFile,
  ) {}

  private fail(node: YamlNode | null | undefined, message: string, hint?: string): never {
    const pos = this.source.position(node?.range?.[0] ?? 0);
    throw new DockyardError('YAML_SYNTAX', message, { location: { file: this.source.file, line: pos.line, column: pos.column }, hint });
  }

  convert(node: unknown, path: (string | number)[], aliasDepth = 0): unknown {
    if (++this.visits > MAX_NODE_VISITS) {
      this.fail(node as YamlNode, `the document expands to more than ${MAX_NODE_VISITS} nodes`, 'look for aliases that refer to each other in a loop or expand exponentially');
    }
    if (node === null || node === undefined) return null;
    if (isAlias(node)) {
      if (aliasDepth > 1000) this.fail(node as unknown as YamlNode, 'alias nesting is too deep');
      const target = node.resolve(this.doc);
      if (!target) this.fail(node as unknown as YamlNode, `unknown alias *${node.source}`, 'define the anchor (&name) before using it');
      return this.convert(target, path, aliasDepth + 1);
    }
    const tag = (node as { tag?: string }).tag;
    if (tag === '!reset') {
      this.resets.push([...path]);
      return RESET;
    }
    if (tag === '!override') this.resets.push([...path]);
    if (isScalar(node)) return this.scalar(node, tag);
    if (isSeq(node)) {
      const out: unknown[] = [];
      for (const item of node.items) {
        const v = this.convert(item, [...path, out.length], aliasDepth);
        if (v !== RESET) out.push(v);
      }
      return out;
    }
    if (isMap(node)) {
      const out: Record<string, unknown> = {};
      const merged: Record<string, unknown>[] = [];
      for (const pair of node.items as Pair[]) {
        const keyNode = pair.key;
        const key = isScalar(keyNode) ? keyNode.value : keyNode;
        if (isMergeKey(keyNode)) {
          const v = this.convert(pair.value, path, aliasDepth);
          const list = Array.isArray(v) ? v : [v];
          for (const m of list) {
            if (m === null || typeof m !== 'object' || Array.isArray(m)) this.fail(pair.value as YamlNode, 'a merge key (<<) needs a mapping or a list of mappings');
            merged.push(m as Record<string, unknown>);
          }
          continue;
        }
        if (key !== null && typeof key === 'object') this.fail(keyNode as YamlNode, 'mapping keys must be scalars');
        const k = String(key);
        const v = this.convert(pair.value, [...path, k], aliasDepth);
        if (v !== RESET) out[k] = v;
      }
      // merge keys: explicit keys win, earlier merged maps win over later ones
      for (const m of merged) for (const [k, v] of Object.entries(m)) if (!(k in out)) out[k] = v;
      return out;
    }
    if (isPair(node)) return this.convert(node.value, path, aliasDepth);
    return null;
  }

  private scalar(node: Scalar, tag: string | undefined): unknown {
    if ((tag === '!reset' || tag === '!override') && node.type === 'PLAIN' && typeof node.source === 'string') {
      return parseYamlText(node.source) as unknown;
    }
    const v = node.value;
    if (typeof v === 'bigint') return Number(v);
    return v;
  }
}

const RESET = Symbol('reset');
