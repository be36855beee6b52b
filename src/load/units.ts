/** Durations, byte sizes and shell words as Compose reads and prints them. */

const UNIT_NS: Record<string, number> = { ns: 1, us: 1e3, µs: 1e3, μs: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };

/**
 * Parses a Go duration ("1m30s", "500ms", "2h", "-1.5h") into nanoseconds; undefined when invalid.
 * As Go's time.ParseDuration: one optional sign before the first number, every number with its unit
 * (only "0" may go without), units ns, us (µs, μs), ms, s, m, h.
 */
export function parseDuration(s: string): number | undefined {
  const sign = s.startsWith('-') ? -1 : 1;
  const body = /^[-+]/.test(s) ? s.slice(1) : s;
  if (body === '0') return 0;
  const re = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/gy;
  let total = 0;
  let pos = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(body))) {
    total += Number(m[1]) * UNIT_NS[m[2]!]!;
    pos = re.lastIndex;
  }
  if (pos !== body.length || pos === 0) return undefined;
  return sign * Math.round(total);
}

/** Formats nanoseconds as Go's time.Duration.String() does: 1m30s, 500ms, 1.5s, 0s. */
export function formatDuration(ns: number): string {
  if (ns === 0) return '0s';
  const neg = ns < 0;
  let n = Math.abs(ns);
  let out: string;
  if (n < 1e9) {
    if (n < 1e3) out = `${n}ns`;
    else if (n < 1e6) out = `${trim(n / 1e3)}µs`;
    else out = `${trim(n / 1e6)}ms`;
  } else {
    const h = Math.floor(n / 3600e9);
    n -= h * 3600e9;
    const m = Math.floor(n / 60e9);
    n -= m * 60e9;
    const s = trim(n / 1e9);
    out = h > 0 ? `${h}h${m}m${s}s` : m > 0 ? `${m}m${s}s` : `${s}s`;
  }
  return neg ? `-${out}` : out;
}

function trim(x: number): string {
  return String(Number(x.toFixed(9)));
}

const SIZE_UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, kb: 1024, m: 1024 ** 2, mb: 1024 ** 2, g: 1024 ** 3, gb: 1024 ** 3, t: 1024 ** 4, tb: 1024 ** 4, p: 1024 ** 5, pb: 1024 ** 5 };

/** Parses "512m", "1g", "1.5GB", 1024 into bytes; undefined when invalid. */
export function parseSize(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? Math.floor(v) : undefined;
  if (typeof v !== 'string') return undefined;
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(v);
  if (!m) return undefined;
  const unit = SIZE_UNITS[m[2]!.toLowerCase()] ?? (m[2]!.toLowerCase().endsWith('ib') ? SIZE_UNITS[m[2]!.toLowerCase().replace('ib', 'b')] : undefined);
  if (unit === undefined) return undefined;
  return Math.floor(Number(m[1]) * unit);
}

/** Splits a command line into words the way a POSIX shell would (quotes, backslashes), no expansion. */
export function shellSplit(s: string): string[] {
  const out: string[] = [];
  let cur = '';
  let has = false;
  let i = 0;
  while (i < s.length) {
    const c = s[i]!;
    if (c === "'") {
      const j = s.indexOf("'", i + 1);
      if (j < 0) throw new Error(`unterminated single quote in "${s}"`);
      cur += s.slice(i + 1, j);
      has = true;
      i = j + 1;
    } else if (c === '"') {
      i++;
      has = true;
      while (i < s.length && s[i] !== '"') {
        if (s[i] === '\\' && i + 1 < s.length && '"\\$`\n'.includes(s[i + 1]!)) {
          cur += s[i + 1];
          i += 2;
        } else cur += s[i++];
      }
      if (i >= s.length) throw new Error(`unterminated double quote in "${s}"`);
      i++;
    } else if (c === '\\' && i + 1 < s.length) {
      cur += s[i + 1];
      has = true;
      i += 2;
    } else if (/\s/.test(c)) {
      if (has) out.push(cur);
      cur = '';
      has = false;
      i++;
    } else {
      cur += c;
      has = true;
      i++;
    }
  }
  if (has) out.push(cur);
  return out;
}
