/** Tables and `--format` templates (template.ts), as docker prints them. */

/** Columns separated by three spaces, the last one not padded. */
export function table(head: string[], rows: string[][]): string {
  const all = [head, ...rows];
  const widths = head.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  return all.map((r) => r.map((x, i) => (i === r.length - 1 ? x : (x ?? '').padEnd(widths[i]!))).join('   ').trimEnd() + '\n').join('');
}

export { compileTemplate, template } from './template.js';
