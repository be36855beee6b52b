/** Dockerfile rules, over dockerfile-ast (continuations, escape directive, heredocs, # syntax). */
import { DockerfileParser } from 'dockerfile-ast';
import { copyOperands } from '../build/instructions.js';
import type { Finding } from './finding.js';
import { SECRET_NAME } from './rules.js';

/** The simple commands of a RUN's shell text (split at &&, ||, ;, | and newlines), as words. */
export function shellCommands(text: string): string[][] {
  const out: string[][] = [];
  for (const part of text.split(/&&|\|\||;|\||\n/)) {
    const words = part.trim().split(/\s+/).filter(Boolean);
    // env assignments and sudo-less prefixes before the command
    while (words.length && /^[A-Za-z_][A-Za-z0-9_]*=/.test(words[0]!)) words.shift();
    if (words.length) out.push(words);
  }
  return out;
}

const DEP_INSTALL = /\b(npm (ci|install)|yarn( install)?$|yarn install|pnpm install|pip3? install -r|pip3? install .*requirements|poetry install|bundle install|go mod download|composer install|cargo fetch|mvn .*dependency)/;

/** One instruction as the rules see it, and what the file has said so far (per stage where it resets). */
interface Ctx {
  kw: string;
  line: number;
  col: number;
  args: string;
  json: unknown[];
  ins: unknown;
  add(rule: string, detail?: string, at?: { line: number; col: number }): void;
  stageNames: Set<string>;
  /** FROMs seen so far */
  stageStart: number;
  pipefail: boolean;
  cmds: number;
  entrypoints: number;
  copiedAll?: { line: number; col: number };
  lastUser?: string;
  healthcheck: boolean;
  healthchecks: number;
  workdirSet: boolean;
  downloaders: Set<string>;
}

const absolute = (p: string) => p.startsWith('/') || p.startsWith('$') || /^[A-Za-z]:[\\/]/.test(p);

/** Each instruction's rules, found by its keyword. */
const BY_KEYWORD: Record<string, (c: Ctx) => void> = {
  FROM(c) {
    Object.assign(c, { workdirSet: false, healthchecks: 0, cmds: 0, entrypoints: 0, copiedAll: undefined, lastUser: undefined, healthcheck: false });
    c.stageStart++;
    const f = c.ins as { getImageName(): string | null; getImageTag(): string | null; getImageDigest(): string | null };
    const image = f.getImageName() ?? '';
    const earlier = c.stageNames.has(image.toLowerCase());
    // DY101: an image without a tag or digest, or :latest
    if (image && image !== 'scratch' && !image.includes('$') && !earlier && !f.getImageDigest() && (!f.getImageTag() || f.getImageTag() === 'latest')) c.add('DY101', image);
  },
  MAINTAINER: (c) => c.add('DY102'),
  ONBUILD(c) {
    if (/^\s*(FROM|MAINTAINER)\b/i.test(c.args)) c.add('DY131');
  },
  ADD(c) {
    const srcs = c.args.split(/\s+/).filter((a) => a && !a.startsWith('--')).slice(0, -1);
    // DY103: ADD where COPY would do (no URL, no archive)
    if (srcs.length && srcs.every((s) => !/^(https?|git):\/\//.test(s) && !/\.(tar|tar\.gz|tgz|tar\.bz2|tar\.xz|txz)$/.test(s))) c.add('DY103');
    if (srcs.includes('.')) c.copiedAll ??= { line: c.line, col: c.col };
  },
  CMD: (c) => execForm(c, ++c.cmds),
  ENTRYPOINT: (c) => execForm(c, ++c.entrypoints),
  WORKDIR(c) {
    c.workdirSet = true;
    if (c.args && !absolute(c.args)) c.add('DY105', c.args);
  },
  LABEL(c) {
    for (const m of c.args.matchAll(/(?:^|\s)("[^"]*"|[^\s=]+)=/g)) {
      const key = m[1]!.replace(/^"|"$/g, '');
      if (!key.includes('$') && !/^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/.test(key)) c.add('DY138', key);
    }
  },
  SHELL(c) {
    c.pipefail = /pipefail/.test(c.args);
  },
  USER(c) {
    c.lastUser = c.args.trim();
  },
  HEALTHCHECK(c) {
    // HEALTHCHECK NONE is a decision too
    c.healthcheck = true;
    if (++c.healthchecks === 2) c.add('DY125');
  },
  COPY: copyRules,
  EXPOSE(c) {
    for (const p of c.args.split(/\s+/).filter(Boolean)) {
      if (p.includes('$')) continue;
      const m = /^(\d+)(?:-(\d+))?(?:\/(tcp|udp|sctp))?$/i.exec(p);
      if (!m || Number(m[1]) < 1 || Number(m[1]) > 65535 || (m[2] !== undefined && (Number(m[2]) > 65535 || Number(m[2]) < Number(m[1])))) c.add('DY121', p);
    }
  },
  ENV: variables,
  ARG: variables,
  RUN: runRules,
};

/** DY104 (shell form), DY120 (a second CMD or ENTRYPOINT in a stage) */
function execForm(c: Ctx, nth: number): void {
  if (!c.json.length && c.args.trim()) c.add('DY104', c.kw);
  if (nth === 2) c.add('DY120', c.kw);
}

/** DY107 (--from an unknown or later stage), DY133 (several sources, a destination without /), DY135 (relative destination without WORKDIR) */
function copyRules(c: Ctx): void {
  const flags = (c.ins as { getFlags?: () => Array<{ getName(): string; getValue(): string | null }> }).getFlags?.() ?? [];
  const from = flags.find((f) => f.getName().toLowerCase() === 'from')?.getValue() ?? /--from=(\S+)/.exec(c.args)?.[1];
  if (from && !c.stageNames.has(from.toLowerCase()) && !/^\d+$/.test(from) && !from.includes(':') && !from.includes('/') && !from.includes('$')) c.add('DY107', from);
  if (from && /^\d+$/.test(from) && Number(from) >= c.stageStart - 1) c.add('DY107', from);
  // (a heredoc has no operands to read)
  const ops = copyOperands(c.args);
  if (!ops) return;
  if (!from && (ops.sources.includes('.') || ops.sources.includes('./'))) c.copiedAll ??= { line: c.line, col: c.col };
  if (ops.sources.length > 1 && !ops.dest.endsWith('/') && !ops.dest.includes('$')) c.add('DY133');
  if (!absolute(ops.dest) && !c.workdirSet) c.add('DY135', ops.dest);
}

/** DY117 (a secret in ENV or ARG), DY134 (ENV referring to a key set in the same instruction) */
function variables(c: Ctx): void {
  const setHere: string[] = [];
  for (const m of c.args.matchAll(/([A-Za-z_][A-Za-z0-9_]*)(?:=|\s+)("[^"]*"|'[^']*'|\S+)?/g)) {
    const key = m[1]!;
    const value = (m[2] ?? '').replace(/^["']|["']$/g, '');
    if (SECRET_NAME.test(key) && value && !value.startsWith('$')) c.add('DY117', key);
    if (c.kw === 'ARG') return;
    if (setHere.some((k) => new RegExp(`\\$\\{?${k}\\b`).test(value))) c.add('DY134', key);
    setHere.push(key);
  }
}

/** A RUN as its rules see it: the simple commands, and whether any command line matches. */
interface Run {
  cmds: string[][];
  has(re: RegExp): boolean;
  installs: string[][];
}

const first = (r: Run, f: (c: string[]) => boolean) => r.cmds.some(f);

/** The RUN rules, each a predicate of the RUN (one finding when it holds), found by its id. */
const RUN_RULES: Array<[string, (r: Run, c: Ctx) => boolean]> = [
  ['DY106', (r) => first(r, (c) => c[0] === 'cd')],
  ['DY136', (r) => first(r, (c) => c[0] === 'ln' && c.at(-1) === '/bin/sh')],
  ['DY137', (r) => first(r, (c) => c[0] === 'useradd' && !c.some((w) => w === '-l' || w === '--no-log-init' || /^-[a-zA-Z]*l[a-zA-Z]*$/.test(w)) && c.some((w, i) => (w === '-u' || w === '--uid') && Number(c[i + 1]) > 99999))],
  ['DY139', (r) => first(r, (c) => c[0] === 'zypper' && (c.includes('dist-upgrade') || c.includes('dup')))],
  ['DY140', (r) => first(r, (c) => c[0] === 'zypper' && (c.includes('install') || c.includes('in'))) && !r.has(/zypper (clean|cc)/)],
  ['DY114', (r) => first(r, (c) => c[0] === 'sudo')],
  ['DY109', (r) => r.installs.length > 0 && !r.has(/rm -r?f? ?-?r?f? \/var\/lib\/apt\/lists/)],
  ['DY110', (r) => first(r, (c) => c[0] === 'apt-get' && c[1] === 'update') && !r.installs.length],
  ['DY112', (r) => first(r, (c) => /^pip3?$/.test(c[0]!) && c[1] === 'install' && !c.includes('--no-cache-dir'))],
  ['DY113', (r) => first(r, (c) => c[0] === 'npm' && (c[1] === 'install' || c[1] === 'i') && c.length === 2)],
  ['DY122', (r) => first(r, (c) => c[0] === 'apk' && c[1] === 'add' && !c.includes('--no-cache'))],
  ['DY119', (_r, c) => /[^|]\|[^|]/.test(c.args) && !c.pipefail && !/set -[a-z]*o pipefail|set -o pipefail/.test(c.args)],
  ['DY124', (r) => first(r, (c) => c[0] === 'apt-get' && (c[1] === 'upgrade' || c[1] === 'dist-upgrade'))],
  ['DY126', (r) => first(r, (c) => c[0] === 'apt' && ['install', 'update', 'upgrade', 'remove'].includes(c[1] ?? ''))],
  ['DY128', (r) => first(r, (c) => ['yum', 'dnf'].includes(c[0]!) && c.includes('install')) && !r.has(/(yum|dnf) clean all/)],
  ['DY129', (r) => first(r, (c) => c[0] === 'yarn' && (c.length === 1 || c[1] === 'install')) && !r.has(/yarn cache clean/)],
];

/** The RUN rules of the table, then those reported per command or that carry state across RUNs. */
function runRules(c: Ctx): void {
  const cmds = shellCommands(c.args);
  const words = cmds.map((x) => x.join(' '));
  const r: Run = { cmds, has: (re) => words.some((w) => re.test(w)), installs: cmds.filter((x) => x[0] === 'apt-get' && x.includes('install')) };
  // per apt-get install: DY108 (recommends), DY111 (no -y)
  for (const x of r.installs) {
    if (!x.some((w) => w === '--no-install-recommends')) c.add('DY108');
    if (!x.some((w) => /^-[a-z]*y|^--yes$|^--assume-yes$/.test(w))) c.add('DY111');
  }
  for (const [rule, holds] of RUN_RULES) if (holds(r, c)) c.add(rule);
  // per yum/dnf/zypper install: DY127 (no -y)
  for (const x of cmds.filter((y) => ['yum', 'dnf', 'microdnf', 'zypper'].includes(y[0]!) && y.some((w) => w === 'install' || w === 'in'))) {
    if (!x.some((w) => /^-[a-z]*y$|^--assumeyes$|^-n$|^--non-interactive$/.test(w))) c.add('DY127', x[0]);
  }
  // DY132: both wget and curl in the image (across RUNs)
  for (const x of cmds) if (x[0] === 'wget' || x[0] === 'curl') c.downloaders.add(x[0]);
  if (c.downloaders.size === 2) {
    c.add('DY132');
    c.downloaders = new Set();
  }
  // DY118: the whole context copied before the dependencies are installed (at the COPY)
  if (c.copiedAll && DEP_INSTALL.test(c.args)) {
    c.add('DY118', undefined, c.copiedAll);
    c.copiedAll = undefined;
  }
}

export function lintDockerfile(file: string, text: string): Finding[] {
  const out: Finding[] = [];
  const doc = DockerfileParser.parse(text);
  const push = (rule: string, line: number, column: number, detail?: string) => out.push({ rule, file, line: line + 1, column: column + 1, detail });
  const froms = doc.getFROMs();
  // DY123: stage names lower case and unique
  const stages: string[] = [];
  froms.forEach((f, i) => {
    const name = f.getBuildStage();
    if (name) {
      if (name !== name.toLowerCase() || stages.includes(name.toLowerCase())) push('DY123', f.getRange().start.line, f.getRange().start.character, name);
      stages.push(name.toLowerCase());
    } else stages.push(String(i));
  });
  const instructions = doc.getInstructions();
  const c = {
    stageNames: new Set(froms.map((f) => f.getBuildStage()?.toLowerCase()).filter(Boolean) as string[]),
    stageStart: 0,
    pipefail: false,
    cmds: 0,
    entrypoints: 0,
    healthcheck: false,
    healthchecks: 0,
    workdirSet: false,
    downloaders: new Set<string>(),
  } as Ctx;
  let seenFrom = false;
  for (const ins of instructions) {
    const kw = ins.getKeyword().toUpperCase();
    const { line, character } = ins.getRange().start;
    Object.assign(c, {
      kw,
      line,
      col: character,
      ins,
      args: (ins as unknown as { getArgumentsContent(): string | null }).getArgumentsContent?.() ?? '',
      json: (ins as unknown as { getJSONStrings?: () => unknown[] }).getJSONStrings?.() ?? [],
      add: (rule: string, detail?: string, at?: { line: number; col: number }) => push(rule, at?.line ?? line, at?.col ?? character, detail),
    });
    // DY130: an instruction other than ARG before the first FROM
    if (kw === 'FROM') seenFrom = true;
    else if (!seenFrom && kw !== 'ARG') c.add('DY130', kw);
    BY_KEYWORD[kw]?.(c);
  }
  if (instructions.length && froms.length) {
    const last = froms[froms.length - 1]!.getRange().start;
    // DY115: the last stage runs as root; DY116: no HEALTHCHECK
    if (!c.lastUser || /^(root|0)(:|$)/.test(c.lastUser)) push('DY115', last.line, last.character);
    if (!c.healthcheck) push('DY116', last.line, last.character);
  }
  return out;
}
