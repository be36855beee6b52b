/**
 * `dockyard lint`: Dockerfiles and Compose files against the rule catalogue (rules.ts), located
 * by file:line:col; severities from `.dockyard.yaml` (`lint: {rules: {ID: off|info|warning|error}}`);
 * `# dockyard-ignore ID` on the line or the line above silences a finding.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, join, relative, resolve } from 'node:path';
import jsyaml from 'js-yaml';
import { DockyardError } from '../errors.js';
import { discover, isCompose } from '../load/discover.js';
import { findDefaultFiles } from '../load/index.js';
import { lintUnit } from './compose.js';
import { lintDockerfile } from './dockerfile.js';
import { composeFileStack, planUnits } from './layers.js';
import type { Unit } from './layers.js';
import { Sources } from './sources.js';
import { RULE } from './rules.js';
import type { Category, Severity } from './rules.js';

import type { Finding } from './finding.js';
export type { Finding } from './finding.js';

export interface LintFinding extends Finding {
  category: Category;
  severity: Severity;
  message: string;
}

function loadConfig(cwd: string): Record<string, Severity | 'off'> {
  const f = join(cwd, '.dockyard.yaml');
  if (!existsSync(f)) return {};
  const cfg = jsyaml.load(readFileSync(f, 'utf8')) as { lint?: { rules?: Record<string, string> } } | undefined;
  const rules = cfg?.lint?.rules ?? {};
  for (const [id, sev] of Object.entries(rules)) {
    if (!RULE[id]) throw new DockyardError('INVALID_VALUE', `unknown rule ${id} in ${f}`, { keyPath: `lint.rules.${id}`, hint: 'dockyard lint --rules lists them' });
    if (!['off', 'info', 'warning', 'error'].includes(sev)) throw new DockyardError('INVALID_VALUE', `invalid severity "${sev}" for ${id} in ${f}`, { keyPath: `lint.rules.${id}`, hint: 'off, info, warning or error' });
  }
  return rules as Record<string, Severity | 'off'>;
}

/**
 * Lints the paths given (files or folders), or the project here (its Compose files, as `up`
 * would load them, and what they build). Compose files are linted by their layers (layers.ts):
 * a base as it loads alone, a layer merged over its bases.
 */
export function lint(paths: string[], o: { cwd?: string; composeFiles?: string[] } = {}): LintFinding[] {
  const cwd = resolve(o.cwd ?? process.cwd());
  const found = { dockerfiles: [] as string[], compose: [] as string[] };
  const src = new Sources();
  let units: Unit[] | undefined;
  if (paths.length) {
    for (const p of paths.map((x) => resolve(cwd, x))) {
      if (!existsSync(p)) throw new DockyardError('USAGE', `no such file or folder: ${relative(cwd, p) || p}`);
      if (statSync(p).isDirectory()) discover(p, {}, found);
      else if (isCompose(basename(p)) || /\.ya?ml$/.test(p)) found.compose.push(p);
      else found.dockerfiles.push(p);
    }
  } else {
    const files = o.composeFiles?.length ? o.composeFiles.map((f) => resolve(cwd, f)) : (composeFileStack(cwd, src, process.env) ?? findDefaultFiles(cwd));
    if (files) units = [{ files, own: files, partial: false }];
    else discover(cwd, {}, found);
  }
  units ??= planUnits([...new Set(found.compose)], src, { cwd, env: process.env });
  const raw: Finding[] = [];
  const dockerfiles = new Set(found.dockerfiles);
  // a network or volume a base declares for its layers is used when one of them uses it
  const unusedOver = new Map<string, Array<Set<string>>>();
  const env = { ...process.env }; // (read once: every read of process.env asks the C++ side)
  const results = units.map((u) => lintUnit(u, src, env));
  units.forEach((u, i) => {
    const r = results[i]!;
    r.dockerfiles.forEach((d) => dockerfiles.add(d));
    if (r.unused && u.optional) for (const f of u.files) if (!u.own.includes(f)) (unusedOver.get(f) ?? unusedOver.set(f, []).get(f)!).push(r.unused);
  });
  for (const r of results) {
    for (const f of r.findings) {
      if ((f.rule === 'DY215' || f.rule === 'DY216') && unusedOver.get(f.file)?.some((u) => !u.has(`${f.rule}|${f.detail}`))) continue;
      raw.push(f);
    }
  }
  for (const d of dockerfiles) raw.push(...lintDockerfile(d, readFileSync(d, 'utf8')));
  const config = loadConfig(cwd);
  const texts = new Map<string, string[]>();
  const lines = (f: string) => texts.get(f) ?? texts.set(f, existsSync(f) ? readFileSync(f, 'utf8').split('\n') : []).get(f)!;
  const ignored = (f: Finding) => {
    const ls = lines(f.file);
    return [ls[f.line - 1], ls[f.line - 2]].some((l) => l !== undefined && new RegExp(`#\\s*dockyard-ignore\\b[^\\n]*\\b${f.rule}\\b`).test(l));
  };
  const seen = new Set<string>();
  const out: LintFinding[] = [];
  for (const f of raw) {
    const rule = RULE[f.rule]!;
    const sev = config[f.rule] ?? rule.severity;
    if (sev === 'off' || ignored(f)) continue;
    const key = `${f.rule}|${f.file}|${f.line}|${f.column}|${f.detail ?? ''}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ ...f, category: rule.category, severity: sev, message: f.detail ? `${rule.message} (${f.detail})` : rule.message });
  }
  return out.sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line || a.column - b.column || a.rule.localeCompare(b.rule));
}

const RANK: Record<Severity, number> = { info: 0, warning: 1, error: 2 };

/** Whether a finding reaches the --fail-on level. */
export function fails(findings: LintFinding[], failOn: Severity | 'none'): boolean {
  return failOn !== 'none' && findings.some((f) => RANK[f.severity] >= RANK[failOn]);
}

/** SARIF 2.1.0, for code-scanning upload. */
export function sarif(findings: LintFinding[], cwd: string): unknown {
  const used = [...new Set(findings.map((f) => f.rule))].sort();
  return {
    version: '2.1.0',
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    runs: [
      {
        tool: {
          driver: {
            name: 'dockyard',
            informationUri: 'https://github.com/dockyard',
            rules: used.map((id) => ({ id, shortDescription: { text: RULE[id]!.message }, fullDescription: { text: RULE[id]!.explain }, properties: { category: RULE[id]!.category }, defaultConfiguration: { level: level(RULE[id]!.severity) } })),
          },
        },
        results: findings.map((f) => ({
          ruleId: f.rule,
          level: level(f.severity),
          message: { text: f.message },
          locations: [{ physicalLocation: { artifactLocation: { uri: relative(cwd, f.file) || f.file }, region: { startLine: f.line, startColumn: f.column } } }],
        })),
      },
    ],
  };
}

const level = (s: Severity) => (s === 'error' ? 'error' : s === 'warning' ? 'warning' : 'note');
