/**
 * `lint --fix`: the rewrites that are safe to make without a person: drop `version:` from Compose
 * files, CMD / ENTRYPOINT to JSON form (when the command has no shell syntax), add
 * `--no-install-recommends`, and merge a lone `RUN apt-get update` into the install that follows.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import type { LintFinding } from './lint.js';

export interface Fixed {
  file: string;
  line: number;
  rule: string;
  what: string;
}

export function fix(findings: LintFinding[]): Fixed[] {
  const done: Fixed[] = [];
  const byFile = new Map<string, LintFinding[]>();
  for (const f of findings) if (['DY201', 'DY104', 'DY108', 'DY110'].includes(f.rule)) (byFile.get(f.file) ?? byFile.set(f.file, []).get(f.file)!).push(f);
  for (const [file, fs] of byFile) {
    const lines = readFileSync(file, 'utf8').split('\n');
    // bottom to top: line numbers above stay right
    for (const f of [...fs].sort((a, b) => b.line - a.line)) {
      const i = f.line - 1;
      const l = lines[i];
      if (l === undefined) continue;
      if (f.rule === 'DY201' && /^version\s*:/.test(l)) {
        lines.splice(i, 1);
        done.push({ file, line: f.line, rule: f.rule, what: 'removed the obsolete version:' });
      } else if (f.rule === 'DY104') {
        const m = /^(\s*)(CMD|ENTRYPOINT)\s+(.+?)\s*$/i.exec(l);
        if (m && !/[&|;$<>'"`*?\\(){}[\]]/.test(m[3]!)) {
          lines[i] = `${m[1]}${m[2]!.toUpperCase()} ${JSON.stringify(m[3]!.split(/\s+/)).replace(/","/g, '", "')}`;
          done.push({ file, line: f.line, rule: f.rule, what: `${m[2]!.toUpperCase()} in JSON form` });
        }
      } else if (f.rule === 'DY108') {
        // the instruction's lines (with continuations)
        let j = i;
        while (j < lines.length) {
          if (/apt-get\s+install\b(?![^\n]*--no-install-recommends)/.test(lines[j]!)) {
            lines[j] = lines[j]!.replace(/apt-get\s+install\b/, 'apt-get install --no-install-recommends');
            done.push({ file, line: j + 1, rule: f.rule, what: 'added --no-install-recommends' });
          }
          if (!/\\\s*$/.test(lines[j]!)) break;
          j++;
        }
      } else if (f.rule === 'DY110') {
        const next = lines[i + 1];
        if (/^\s*RUN\s+apt-get\s+update\s*$/.test(l) && next && /^\s*RUN\s+apt-get\s+(-\S+\s+)*install\b/.test(next)) {
          lines[i + 1] = next.replace(/^(\s*)RUN\s+/, '$1RUN apt-get update && ');
          lines.splice(i, 1);
          done.push({ file, line: f.line, rule: f.rule, what: 'merged apt-get update into the install after it' });
        }
      }
    }
    writeFileSync(file, lines.join('\n'));
  }
  return done.sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line);
}
