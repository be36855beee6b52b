/** `dockyard lint`: Dockerfiles and Compose files against the rule catalogue. */
import { relative } from 'node:path';
import type { Command } from 'commander';
import { DockyardError } from '../errors.js';
import type { GlobalOptions } from './common.js';
import { colourOut } from './render.js';

export function registerLint(program: Command, globals: () => GlobalOptions): void {
  program
    .command('lint')
    .description('check Dockerfiles and Compose files (default: the project here and what it builds)')
    .argument('[paths...]', 'files or folders')
    .option('--format <format>', 'text, json or sarif', 'text')
    .option('--fail-on <severity>', 'exit 1 when a finding is at least: error, warning, info, none', 'error')
    .option('--explain <id>', 'explain a rule')
    .option('--rules', 'list the rules')
    .option('--fix', 'rewrite what is safe to rewrite (version:, JSON-form CMD, --no-install-recommends, apt-get update merged into its install), then lint again')
    .action(async (paths: string[], o: { format: string; failOn: string; explain?: string; rules?: boolean; fix?: boolean }) => {
      const { RULE, RULES } = await import('../lint/rules.js');
      if (o.explain) {
        const r = RULE[o.explain.toUpperCase()];
        if (!r) throw new DockyardError('USAGE', `no rule ${o.explain}`, { hint: 'dockyard lint --rules lists them' });
        return void process.stdout.write(`${r.id} (${r.category}, ${r.severity}): ${r.message}\n\n${r.explain}\n${r.covers ? `\nCovers: ${r.covers}\n` : ''}`);
      }
      if (o.rules) return void process.stdout.write(RULES.map((r) => `${r.id}  ${r.severity.padEnd(7)}  ${r.category.padEnd(11)}  ${r.message}\n`).join(''));
      if (!['text', 'json', 'sarif'].includes(o.format)) throw new DockyardError('USAGE', `unknown format "${o.format}"`, { hint: 'text, json or sarif' });
      if (!['error', 'warning', 'info', 'none'].includes(o.failOn)) throw new DockyardError('USAGE', `invalid --fail-on "${o.failOn}"`, { hint: 'error, warning, info or none' });
      const { fails, lint, sarif } = await import('../lint/lint.js');
      const cwd = process.cwd();
      let findings = lint(paths, { cwd: globals().projectDirectory ?? cwd, composeFiles: globals().file });
      if (o.fix) {
        const { fix } = await import('../lint/fix.js');
        for (const f of fix(findings)) process.stderr.write(`fixed ${relative(cwd, f.file) || f.file}:${f.line} ${f.rule}: ${f.what}\n`);
        findings = lint(paths, { cwd: globals().projectDirectory ?? cwd, composeFiles: globals().file });
      }
      if (o.format === 'json') {
        process.stdout.write(`${JSON.stringify({ findings: findings.map((f) => ({ rule: f.rule, category: f.category, severity: f.severity, file: relative(cwd, f.file) || f.file, line: f.line, column: f.column, message: f.message })) }, null, 2)}\n`);
      } else if (o.format === 'sarif') {
        process.stdout.write(`${JSON.stringify(sarif(findings, cwd), null, 2)}\n`);
      } else {
        // --ansi / COMPOSE_ANSI, FORCE_COLOR, NO_COLOR, TERM=dumb, and whether stdout is a terminal
        const tty = colourOut();
        const paint = (sev: string, s: string) => (!tty ? s : `\x1b[${sev === 'error' ? 31 : sev === 'warning' ? 33 : 36}m${s}\x1b[0m`);
        let last = '';
        for (const f of findings) {
          const file = relative(cwd, f.file) || f.file;
          if (file !== last && last) process.stdout.write('\n');
          last = file;
          process.stdout.write(`${file}:${f.line}:${f.column} ${paint(f.severity, f.severity)} ${f.rule} ${f.message}\n`);
        }
        const count = (s: string) => findings.filter((f) => f.severity === s).length;
        process.stderr.write(`${findings.length ? '\n' : ''}lint: ${count('error')} error(s), ${count('warning')} warning(s), ${count('info')} note(s)\n`);
      }
      if (fails(findings, o.failOn as 'error')) process.exitCode = 1;
    });
}
