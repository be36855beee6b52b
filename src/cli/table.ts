/** Tables and `--format` templates, as docker prints them. */

/** Columns separated by three spaces, the last one not padded. */
export function table(head: string[], rows: string[][]): string {
  const all = [head, ...rows];
  const widths = head.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  return all.map((r) => r.map((x, i) => (i === r.length - 1 ? x : (x ?? '').padEnd(widths[i]!))).join('   ').trimEnd() + '\n').join('');
}

/**
 * A Go-template-like format (`{{.Name}}\t{{.State}}`, `{{json .}}`, `table {{.Name}}`): each
 * record on one line. What scripts written for docker compose pass to --format.
 */
export function template(format: string, records: Array<Record<string, unknown>>): string {
  let f = format.replace(/\\t/g, '\t').replace(/\\n/g, '\n');
  let header: string | undefined;
  if (f.startsWith('table ')) {
    f = f.slice(6);
    header = f.replace(/\{\{\s*\.(\w+)\s*\}\}/g, (_, k: string) => k.replace(/([a-z])([A-Z])/g, '$1 $2').toUpperCase());
  }
  const line = (r: Record<string, unknown>) =>
    f.replace(/\{\{\s*(json\s+)?\.(\w*)\s*\}\}/g, (_, json: string | undefined, k: string) => {
      const v = k ? r[k] : r;
      if (json) return JSON.stringify(v);
      return v === undefined || v === null ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v);
    });
  return (header !== undefined ? `${header}\n` : '') + records.map((r) => `${line(r)}\n`).join('');
}
