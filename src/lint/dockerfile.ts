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

export function lintDockerfile(file: string, text: string): Finding[] {
  const out: Finding[] = [];
  const doc = DockerfileParser.parse(text);
  const add = (rule: string, line: number, column: number, detail?: string) => out.push({ rule, file, line: line + 1, column: column + 1, detail });
  const stages: string[] = [];
  const froms = doc.getFROMs();
  let stageStart = 0;
  let pipefail = false;
  const instructions = doc.getInstructions();
  // per stage state
  let cmds = 0;
  let entrypoints = 0;
  let copiedAll: { line: number; col: number } | undefined;
  let lastUser: string | undefined;
  let healthcheck = false;
  let healthchecks = 0;
  let seenFrom = false;
  let workdirSet = false;
  let downloaders = new Set<string>();
  froms.forEach((f, i) => {
    const name = f.getBuildStage();
    if (name) {
      if (name !== name.toLowerCase() || stages.includes(name.toLowerCase())) add('DY123', f.getRange().start.line, f.getRange().start.character, name);
      stages.push(name.toLowerCase());
    } else stages.push(String(i));
  });
  const stageNames = new Set(froms.map((f) => f.getBuildStage()?.toLowerCase()).filter(Boolean) as string[]);
  for (const ins of instructions) {
    const kw = ins.getKeyword().toUpperCase();
    const { line, character } = ins.getRange().start;
    const args = (ins as unknown as { getArgumentsContent(): string | null }).getArgumentsContent?.() ?? '';
    const json = (ins as unknown as { getJSONStrings?: () => unknown[] }).getJSONStrings?.() ?? [];
    if (kw === 'FROM') seenFrom = true;
    else if (!seenFrom && kw !== 'ARG') add('DY130', line, character, kw);
    switch (kw) {
      case 'FROM': {
        stageStart++;
        workdirSet = false;
        healthchecks = 0;
        cmds = 0;
        entrypoints = 0;
        copiedAll = undefined;
        lastUser = undefined;
        healthcheck = false;
        const f = ins as unknown as { getImageName(): string | null; getImageTag(): string | null; getImageDigest(): string | null };
        const image = f.getImageName() ?? '';
        const earlier = stageNames.has(image.toLowerCase());
        if (image && image !== 'scratch' && !image.includes('$') && !earlier && !f.getImageDigest() && (!f.getImageTag() || f.getImageTag() === 'latest')) add('DY101', line, character, image);
        break;
      }
      case 'MAINTAINER':
        add('DY102', line, character);
        break;
      case 'ONBUILD':
        if (/^\s*(FROM|MAINTAINER)\b/i.test(args)) add('DY131', line, character);
        break;
      case 'ADD': {
        const srcs = args.split(/\s+/).filter((a) => a && !a.startsWith('--')).slice(0, -1);
        if (srcs.length && srcs.every((s) => !/^(https?|git):\/\//.test(s) && !/\.(tar|tar\.gz|tgz|tar\.bz2|tar\.xz|txz)$/.test(s))) add('DY103', line, character);
        if (srcs.includes('.')) copiedAll ??= { line, col: character };
        break;
      }
      case 'CMD':
      case 'ENTRYPOINT':
        if (!json.length && args.trim()) add('DY104', line, character, kw);
        if (kw === 'CMD' && ++cmds === 2) add('DY120', line, character, kw);
        if (kw === 'ENTRYPOINT' && ++entrypoints === 2) add('DY120', line, character, kw);
        break;
      case 'WORKDIR':
        workdirSet = true;
        if (args && !args.startsWith('/') && !args.startsWith('$') && !/^[A-Za-z]:[\\/]/.test(args)) add('DY105', line, character, args);
        break;
      case 'LABEL':
        for (const m of args.matchAll(/(?:^|\s)("[^"]*"|[^\s=]+)=/g)) {
          const key = m[1]!.replace(/^"|"$/g, '');
          if (!key.includes('$') && !/^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/.test(key)) add('DY138', line, character, key);
        }
        break;
      case 'SHELL':
        pipefail = /pipefail/.test(args);
        break;
      case 'USER':
        lastUser = args.trim();
        break;
      case 'HEALTHCHECK':
        // HEALTHCHECK NONE is a decision too
        healthcheck = true;
        if (++healthchecks === 2) add('DY125', line, character);
        break;
      case 'COPY': {
        const flags = (ins as unknown as { getFlags?: () => Array<{ getName(): string; getValue(): string | null }> }).getFlags?.() ?? [];
        const from = flags.find((f) => f.getName().toLowerCase() === 'from')?.getValue() ?? /--from=(\S+)/.exec(args)?.[1];
        if (from && !stageNames.has(from.toLowerCase()) && !/^\d+$/.test(from) && !from.includes(':') && !from.includes('/') && !from.includes('$')) add('DY107', line, character, from);
        if (from && /^\d+$/.test(from) && Number(from) >= stageStart - 1) add('DY107', line, character, from);
        // (a heredoc has no operands to read)
        const ops = copyOperands(args);
        if (!ops) break;
        if (!from && (ops.sources.includes('.') || ops.sources.includes('./'))) copiedAll ??= { line, col: character };
        const { dest } = ops;
        if (ops.sources.length > 1 && !dest.endsWith('/') && !dest.includes('$')) add('DY133', line, character);
        if (!dest.startsWith('/') && !dest.startsWith('$') && !/^[A-Za-z]:[\\/]/.test(dest) && !workdirSet) add('DY135', line, character, dest);
        break;
      }
      case 'EXPOSE':
        for (const p of args.split(/\s+/).filter(Boolean)) {
          if (p.includes('$')) continue;
          const m = /^(\d+)(?:-(\d+))?(?:\/(tcp|udp|sctp))?$/i.exec(p);
          if (!m || Number(m[1]) < 1 || Number(m[1]) > 65535 || (m[2] !== undefined && (Number(m[2]) > 65535 || Number(m[2]) < Number(m[1])))) add('DY121', line, character, p);
        }
        break;
      case 'ENV':
      case 'ARG': {
        const setHere: string[] = [];
        for (const m of args.matchAll(/([A-Za-z_][A-Za-z0-9_]*)(?:=|\s+)("[^"]*"|'[^']*'|\S+)?/g)) {
          const key = m[1]!;
          const value = (m[2] ?? '').replace(/^["']|["']$/g, '');
          if (SECRET_NAME.test(key) && value && !value.startsWith('$')) add('DY117', line, character, key);
          if (kw === 'ENV') {
            if (setHere.some((k) => new RegExp(`\\$\\{?${k}\\b`).test(value))) add('DY134', line, character, key);
            setHere.push(key);
          }
          if (kw === 'ARG') break;
        }
        break;
      }
      case 'RUN': {
        const cmdsOf = shellCommands(args);
        const words = cmdsOf.map((c) => c.join(' '));
        const has = (re: RegExp) => words.some((w) => re.test(w));
        if (cmdsOf.some((c) => c[0] === 'cd')) add('DY106', line, character);
        if (cmdsOf.some((c) => c[0] === 'ln' && c.at(-1) === '/bin/sh')) add('DY136', line, character);
        if (cmdsOf.some((c) => c[0] === 'useradd' && !c.some((w) => w === '-l' || w === '--no-log-init' || /^-[a-zA-Z]*l[a-zA-Z]*$/.test(w)) && c.some((w, i) => (w === '-u' || w === '--uid') && Number(c[i + 1]) > 99999))) add('DY137', line, character);
        if (cmdsOf.some((c) => c[0] === 'zypper' && (c.includes('dist-upgrade') || c.includes('dup')))) add('DY139', line, character);
        if (cmdsOf.some((c) => c[0] === 'zypper' && (c.includes('install') || c.includes('in'))) && !has(/zypper (clean|cc)/)) add('DY140', line, character);
        if (cmdsOf.some((c) => c[0] === 'sudo')) add('DY114', line, character);
        const installs = cmdsOf.filter((c) => c[0] === 'apt-get' && c.includes('install'));
        for (const c of installs) {
          if (!c.some((w) => w === '--no-install-recommends')) add('DY108', line, character);
          if (!c.some((w) => /^-[a-z]*y|^--yes$|^--assume-yes$/.test(w))) add('DY111', line, character);
        }
        if (installs.length && !has(/rm -r?f? ?-?r?f? \/var\/lib\/apt\/lists/)) add('DY109', line, character);
        if (cmdsOf.some((c) => c[0] === 'apt-get' && c[1] === 'update') && !installs.length) add('DY110', line, character);
        if (cmdsOf.some((c) => /^pip3?$/.test(c[0]!) && c[1] === 'install' && !c.includes('--no-cache-dir'))) add('DY112', line, character);
        if (cmdsOf.some((c) => c[0] === 'npm' && (c[1] === 'install' || c[1] === 'i') && c.length === 2)) add('DY113', line, character);
        if (cmdsOf.some((c) => c[0] === 'apk' && c[1] === 'add' && !c.includes('--no-cache'))) add('DY122', line, character);
        if (/[^|]\|[^|]/.test(args) && !pipefail && !/set -[a-z]*o pipefail|set -o pipefail/.test(args)) add('DY119', line, character);
        if (cmdsOf.some((c) => c[0] === 'apt-get' && (c[1] === 'upgrade' || c[1] === 'dist-upgrade'))) add('DY124', line, character);
        if (cmdsOf.some((c) => c[0] === 'apt' && ['install', 'update', 'upgrade', 'remove'].includes(c[1] ?? ''))) add('DY126', line, character);
        for (const c of cmdsOf.filter((x) => ['yum', 'dnf', 'microdnf', 'zypper'].includes(x[0]!) && x.some((w) => w === 'install' || w === 'in'))) {
          if (!c.some((w) => /^-[a-z]*y$|^--assumeyes$|^-n$|^--non-interactive$/.test(w))) add('DY127', line, character, c[0]);
        }
        if (cmdsOf.some((c) => ['yum', 'dnf'].includes(c[0]!) && c.includes('install')) && !has(/(yum|dnf) clean all/)) add('DY128', line, character);
        if (cmdsOf.some((c) => c[0] === 'yarn' && (c.length === 1 || c[1] === 'install')) && !has(/yarn cache clean/)) add('DY129', line, character);
        for (const c of cmdsOf) if (c[0] === 'wget' || c[0] === 'curl') downloaders.add(c[0]);
        if (downloaders.size === 2) {
          add('DY132', line, character);
          downloaders = new Set();
        }
        if (copiedAll && DEP_INSTALL.test(args)) {
          add('DY118', copiedAll.line, copiedAll.col);
          copiedAll = undefined;
        }
        break;
      }
    }
  }
  if (instructions.length && froms.length) {
    const last = froms[froms.length - 1]!.getRange().start;
    if (!lastUser || /^(root|0)(:|$)/.test(lastUser)) add('DY115', last.line, last.character);
    if (!healthcheck) add('DY116', last.line, last.character);
  }
  return out;
}
