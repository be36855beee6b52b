/**
 * consolidate (Dockerfiles): many Dockerfiles become one multi-stage Dockerfile with one named
 * target per original. Stages that start the same way (same base image, same first instructions)
 * share a stage; originals from different folders get one build context (DIR) with their COPY and
 * ADD sources rewritten. Proof: the flattened instruction chain of every target (its FROM chain
 * followed back to an image, `COPY --from` stages compared by their own chains) equals the
 * original's.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { DockerfileParser } from 'dockerfile-ast';
import { ignoreRules, listContext, slashRelative } from '../build/context.js';
import { copyOperands, foldInstruction as fold } from '../build/instructions.js';
import { discover } from '../load/discover.js';

interface Ins {
  kw: string;
  /** the instruction as written (continuations kept) */
  text: string;
  /** the comparison key: continuations folded, spaces collapsed */
  key: string;
}
interface Stage {
  /** its name in the original (or its index) */
  name: string;
  from: string;
  ins: Ins[];
}
interface Original {
  file: string;
  /** the file and its folder relative to DIR, with / ('' for DIR itself) */
  rel: string;
  prefix: string;
  target: string;
  /** each stage's name in the new file (lower case name -> stage): inner ones <target>--<name>, the last the target */
  renamed: Map<string, string>;
  args: Ins[];
  stages: Stage[];
}

/** The operands of a COPY/ADD written out whole (keyword first). */
const operandsOf = (raw: string) => {
  const m = /^\s*\w+\s+([\s\S]*)$/.exec(raw);
  return m ? copyOperands(m[1]!) : undefined;
};
const fromStage = (flags: string[]) => flags.some((f) => /^--from=/i.test(f));
const isUrl = (s: string) => /^[a-z]+:\/\//i.test(s);

/** Parses a Dockerfile into its global ARGs and stages; COPY/ADD sources prefixed with `prefix`. */
export function parseDockerfile(text: string, prefix: string): { args: Ins[]; stages: Stage[] } {
  const doc = DockerfileParser.parse(text);
  const lines = text.split('\n');
  const args: Ins[] = [];
  const stages: Stage[] = [];
  for (const i of doc.getInstructions()) {
    const r = i.getRange();
    const raw = r.start.line === r.end.line ? lines[r.start.line]!.slice(r.start.character, r.end.character) : [lines[r.start.line]!.slice(r.start.character), ...lines.slice(r.start.line + 1, r.end.line), lines[r.end.line]!.slice(0, r.end.character)].join('\n');
    const kw = i.getKeyword().toUpperCase();
    if (kw === 'FROM') {
      const f = i as unknown as { getImage(): string; getBuildStage(): string | null };
      const platform = /--platform=\S+/.exec(raw)?.[0];
      stages.push({ name: f.getBuildStage() ?? String(stages.length), from: `${platform ? `${platform} ` : ''}${f.getImage()}`, ins: [] });
      continue;
    }
    const t = (kw === 'COPY' || kw === 'ADD') && prefix ? prefixSources(raw, kw, prefix) : raw;
    const ins = { kw, text: t, key: fold(t) };
    if (!stages.length) args.push(ins);
    else stages.at(-1)!.ins.push(ins);
  }
  return { args, stages };
}

/** The sources of a COPY/ADD from the context (none for --from, heredocs and URLs); undefined when unreadable. */
function sourcesOf(raw: string): string[] | undefined {
  if (raw.includes('<<')) return [];
  const ops = operandsOf(raw);
  if (!ops) return undefined;
  return fromStage(ops.flags) ? [] : ops.sources.filter((x) => !isUrl(x));
}

/**
 * The folders and files (relative to the unified context) that an original's COPY/ADD read: the
 * part of each source before its first wildcard. Undefined when a source cannot be read that way
 * (a variable in it): then the whole context counts.
 */
function copiedRoots(o: Original): string[] | undefined {
  const roots: string[] = [];
  for (const st of o.stages) {
    for (const i of st.ins) {
      if (i.kw !== 'COPY' && i.kw !== 'ADD') continue;
      const srcs = sourcesOf(i.text);
      if (!srcs) return undefined;
      for (const src of srcs) {
        if (src.includes('$')) return undefined;
        const fixed = src.split('/').filter((x) => x && x !== '.');
        const at = fixed.findIndex((x) => /[*?[\\]/.test(x));
        roots.push((at < 0 ? fixed : fixed.slice(0, at)).join('/'));
      }
    }
  }
  return roots;
}

/**
 * COPY/ADD with its sources under `prefix` (the original's context inside the unified one), on one
 * line; as written when it reads from a stage or a heredoc.
 */
function prefixSources(raw: string, kw: string, prefix: string): string {
  const ops = operandsOf(raw);
  if (!ops || fromStage(ops.flags)) return raw;
  const fix = (s: string) => (isUrl(s) ? s : `${prefix}/${s.replace(/^\.\//, '').replace(/^\/+/, '')}`.replace(/\/\.$/, '').replace(/\/$/, '') || '.');
  const list = [...ops.sources.map(fix), ops.dest];
  return [kw, ...ops.flags, ops.json ? JSON.stringify(list).replace(/","/g, '", "') : list.join(' ')].join(' ');
}

/** The flattened chain of a stage: its FROM followed back to an image, `--from` stages by their own chains. */
function flatten(stages: Map<string, { from: string; ins: Ins[] }>, name: string, seen: string[] = []): string[] {
  const s = stages.get(name.toLowerCase());
  if (!s || seen.includes(name)) return [`IMAGE ${name}`];
  const base = stages.has(s.from.toLowerCase()) ? flatten(stages, s.from, [...seen, name]) : [`FROM ${s.from}`];
  return [
    ...base,
    ...s.ins.map((i) => {
      const from = /--from=(\S+)/i.exec(i.key)?.[1];
      return from && stages.has(from.toLowerCase()) ? i.key.replace(/--from=\S+/i, `--from={${flatten(stages, from, [...seen, name]).join(' | ')}}`) : i.key;
    }),
  ];
}

const targetName = (rel: string) => {
  const base = rel.split('/').pop()!;
  const folder = dirname(rel) === '.' ? '' : dirname(rel).replace(/\//g, '-');
  const own = base.replace(/^Dockerfile\.?/i, '').replace(/\.?Dockerfile$/i, '');
  return (([folder, own].filter(Boolean).join('-') || 'default').toLowerCase().replace(/[^a-z0-9_.-]+/g, '-'));
};

export interface DockerfileReport {
  dockerfile: string;
  /**
   * original (relative to dir) -> its target in the new file, the context (relative to dir), and
   * what each of its stages is called in the new file (lower case name -> stage)
   */
  targets: Record<string, { target: string; context: string; stages: Record<string, string> }>;
  proven: string[];
  unproven: Array<{ file: string; difference: string }>;
  linesBefore: number;
  linesAfter: number;
  /**
   * the ignore rules of the unified context (each original's .dockerignore under its folder), for
   * Dockerfile.dockerignore beside the new Dockerfile; undefined when no rules are needed
   */
  dockerignore?: string;
}

/** A .dockerignore pattern of a context inside the unified one, under its folder. */
const underFolder = (prefix: string, p: string) => {
  const neg = p.startsWith('!');
  const body = (neg ? p.slice(1) : p).replace(/^(\.?\/)+/, '');
  return `${neg ? '!' : ''}${prefix ? `${prefix}/${body}` : body}`;
};

/**
 * The unified context's ignore rules, and for each original whose files differ under them, the
 * first difference (the original's folder seen through its own rules against the unified view).
 */
function unifyIgnores(dir: string, out: string, originals: Original[]): { rules?: string[]; differs: Map<string, string> } {
  const differs = new Map<string, string>();
  const byFolder = new Map<string, string[]>();
  for (const o of originals) {
    const own = ignoreRules(dirname(o.file), o.file).patterns;
    const had = byFolder.get(o.prefix);
    if (had && had.join('\n') !== own.join('\n')) differs.set(o.file, `its ignore rules differ from another Dockerfile's in ${o.prefix || '.'}`);
    else byFolder.set(o.prefix, own);
  }
  const rules = [...byFolder.entries()]
    .sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a.localeCompare(b)))
    .flatMap(([prefix, pats]) => pats.map((p) => underFolder(prefix, p)));
  // without rules of its own, the unified build would read DIR/.dockerignore: then an empty file wins
  if (!rules.length && !existsSync(join(dir, '.dockerignore'))) return { differs };
  const unified = listContext(dir, join(out, 'Dockerfile'), rules).map((f) => `${f.path} (${f.kind})`);
  for (const o of originals) {
    if (differs.has(o.file)) continue;
    const { prefix } = o;
    const at = (p: string) => (prefix ? `${prefix}/${p}` : p);
    // the Dockerfile and .dockerignore are always sent (and never copied): left out of both views
    const skip = new Set([o.rel, at('.dockerignore')].map((p) => `${p} (file)`));
    // only what its COPY and ADD read matters (a folder's rules may hide files that no one copies)
    const roots = copiedRoots(o) ?? [prefix];
    const read = (p: string) => roots.some((r) => r === '' || p.startsWith(`${r} (`) || p.startsWith(`${r}/`));
    const want = listContext(dirname(o.file), o.file).map((f) => `${at(f.path)} (${f.kind})`).filter((p) => !skip.has(p) && read(p));
    const got = unified.filter((p) => (prefix ? p.startsWith(`${prefix}/`) : true) && !skip.has(p) && read(p));
    const wantSet = new Set(want);
    const gotSet = new Set(got);
    const missing = want.find((p) => !gotSet.has(p));
    const extra = got.find((p) => !wantSet.has(p));
    if (missing) differs.set(o.file, `the unified build context leaves out ${missing}`);
    else if (extra) differs.set(o.file, `the unified build context adds ${extra}, which its own leaves out`);
  }
  return { rules, differs };
}

export function consolidateDockerfiles(dir: string, out: string): DockerfileReport | undefined {
  const files = discover(dir, { skip: out }).dockerfiles;
  if (files.length < 2) return undefined;
  const originals: Original[] = [];
  const used = new Set<string>();
  let linesBefore = 0;
  for (const f of files) {
    const text = readFileSync(f, 'utf8');
    linesBefore += text.split('\n').filter((l) => l.trim()).length;
    const rel = slashRelative(dir, f);
    let target = targetName(rel);
    while (used.has(target)) target += '-x';
    used.add(target);
    const prefix = slashRelative(dir, dirname(f));
    const parsed = parseDockerfile(text, prefix);
    const renamed = new Map(parsed.stages.map((s, i) => [s.name.toLowerCase(), i === parsed.stages.length - 1 ? target : `${target}--${s.name.toLowerCase()}`]));
    originals.push({ file: f, rel, prefix, target, renamed, ...parsed });
  }
  // global ARGs: one of each; the same name with two defaults cannot share the file
  const args = new Map<string, Ins>();
  const argConflict = new Set<string>();
  for (const o of originals) {
    for (const a of o.args) {
      const n = a.key.replace(/^ARG\s+/i, '').split('=')[0]!;
      const had = args.get(n);
      if (had && had.key !== a.key) argConflict.add(o.file);
      else args.set(n, a);
    }
  }
  // every stage of every original as a chain of keys: [FROM, ...instructions]; named stages
  // become <target>--<name>, the last stage is the target
  interface Chain {
    name: string;
    from: string;
    ins: Ins[];
  }
  const chains: Chain[] = [];
  for (const o of originals) {
    const rename = o.renamed;
    for (const s of o.stages) {
      const from = rename.get(s.from.toLowerCase()) ?? s.from;
      const ins = s.ins.map((i) => {
        const ref = /--from=(\S+)/i.exec(i.text)?.[1];
        const to = ref ? rename.get(ref.toLowerCase()) : undefined;
        if (!to) return i;
        const text = i.text.replace(/--from=\S+/i, `--from=${to}`);
        return { ...i, text, key: fold(text) };
      });
      chains.push({ name: rename.get(s.name.toLowerCase())!, from, ins });
    }
  }
  // a trie over [FROM, ...keys]: shared prefixes become shared stages
  interface Node {
    key: string;
    ins?: Ins;
    children: Node[];
    ends: string[];
    count: number;
  }
  const root: Node = { key: '', children: [], ends: [], count: 0 };
  for (const c of chains) {
    let at = root;
    const path = [{ key: `FROM ${c.from}`, ins: undefined as Ins | undefined }, ...c.ins.map((i) => ({ key: i.key, ins: i }))];
    for (const p of path) {
      let next = at.children.find((n) => n.key === p.key);
      if (!next) at.children.push((next = { key: p.key, ins: p.ins, children: [], ends: [], count: 0 }));
      next.count++;
      at = next;
    }
    at.ends.push(c.name);
  }
  const out_: Array<{ name: string; from: string; ins: Ins[] }> = [];
  let shared = 0;
  const emit = (start: Node, from: string) => {
    // walk down while nothing branches or ends
    const ins: Ins[] = [];
    let at = start;
    if (at.ins) ins.push(at.ins);
    while (at.children.length === 1 && !at.ends.length) {
      at = at.children[0]!;
      ins.push(at.ins!);
    }
    const alone = at.ends.length === 1 && !at.children.length;
    // a branch point with no instruction of its own is the parent itself: no empty stage for it
    if (!ins.length && !at.ends.length) {
      for (const c of at.children) emit(c, from);
      return;
    }
    const name = alone ? at.ends[0]! : `base-${++shared}`;
    out_.push({ name, from, ins });
    if (!alone) for (const e of at.ends) out_.push({ name: e, from: name, ins: [] });
    for (const c of at.children) emit(c, name);
  };
  for (const c of root.children) {
    const from = c.key.replace(/^FROM /, '');
    // the FROM itself has no instruction: start below it
    const first: Node = { ...c, ins: undefined };
    emit(first, from);
  }
  // order: a stage after every stage it builds on or copies from (the classic builder needs it)
  const byName = new Map(out_.map((s) => [s.name, s]));
  const ordered: typeof out_ = [];
  const visit = (s: (typeof out_)[number], stack: string[] = []) => {
    if (ordered.includes(s) || stack.includes(s.name)) return;
    const deps = [s.from, ...s.ins.map((i) => /--from=(\S+)/i.exec(i.text)?.[1]).filter((x): x is string => !!x)];
    for (const d of deps) if (byName.has(d)) visit(byName.get(d)!, [...stack, s.name]);
    ordered.push(s);
  };
  for (const s of out_) visit(s);
  const lines: string[] = [...args.values()].map((a) => a.text);
  for (const s of ordered) {
    if (lines.length) lines.push('');
    lines.push(`FROM ${s.from} AS ${s.name}`, ...s.ins.map((i) => i.text));
  }
  const dockerfile = `${lines.join('\n')}\n`;

  // the proof: each target's flattened chain against its original's
  const parsed = parseDockerfile(dockerfile, '');
  const newStages = new Map(parsed.stages.map((s) => [s.name.toLowerCase(), s]));
  const ignores = unifyIgnores(dir, out, originals);
  const report: DockerfileReport = { dockerfile, targets: {}, proven: [], unproven: [], linesBefore, linesAfter: dockerfile.split('\n').filter((l) => l.trim()).length, ...(ignores.rules ? { dockerignore: `${ignores.rules.join('\n')}\n` } : {}) };
  for (const o of originals) {
    const { rel } = o;
    report.targets[rel] = { target: o.target, context: '.', stages: Object.fromEntries(o.renamed) };
    if (argConflict.has(o.file)) {
      report.unproven.push({ file: rel, difference: 'a global ARG has another default in another Dockerfile' });
      continue;
    }
    if (!o.stages.length) {
      report.unproven.push({ file: rel, difference: 'it has no FROM instruction' });
      continue;
    }
    const ctx = ignores.differs.get(o.file);
    if (ctx) {
      report.unproven.push({ file: rel, difference: ctx });
      continue;
    }
    const own = new Map(o.stages.map((s) => [s.name.toLowerCase(), s]));
    const want = flatten(own, o.stages.at(-1)!.name);
    const got = flatten(newStages, o.target);
    if (JSON.stringify(want) === JSON.stringify(got)) report.proven.push(rel);
    else {
      const i = want.findIndex((w, k) => got[k] !== w);
      report.unproven.push({ file: rel, difference: `instruction ${i + 1}: "${want[i] ?? ''}" in the original, "${got[i] ?? 'nothing'}" consolidated` });
    }
  }
  return report;
}
