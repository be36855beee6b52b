/** One error class for everything dockyard reports to a user. */

export interface SourceLocation {
  file: string;
  line?: number;
  column?: number;
}

export type ErrorCode =
  | 'YAML_SYNTAX'
  | 'DUPLICATE_KEY'
  | 'UNKNOWN_KEY'
  | 'WRONG_TYPE'
  | 'INVALID_VALUE'
  | 'MISSING_FILE'
  | 'NO_CONFIG_FILE'
  | 'INVALID_TEMPLATE'
  | 'MISSING_VARIABLE'
  | 'CYCLE'
  | 'MISSING_REFERENCE'
  | 'MERGE_CONFLICT'
  | 'USAGE'
  | 'ENGINE_UNREACHABLE'
  | 'ENGINE'
  | 'SERVICE_FAILED'
  | 'INTERNAL';

const EXIT_CODES: Partial<Record<ErrorCode, number>> = {
  USAGE: 2,
  ENGINE_UNREACHABLE: 3,
  ENGINE: 4,
  SERVICE_FAILED: 4,
};

export interface ErrorDetails {
  location?: SourceLocation;
  /** Dotted key path inside the file, e.g. services.web.ports[0] */
  keyPath?: string;
  hint?: string;
  cause?: unknown;
}

export class DockyardError extends Error {
  readonly code: ErrorCode;
  location?: SourceLocation;
  keyPath?: string;
  hint?: string;

  constructor(code: ErrorCode, message: string, details: ErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'DockyardError';
    this.code = code;
    this.location = details.location;
    this.keyPath = details.keyPath;
    this.hint = details.hint;
  }

  get exitCode(): number {
    return EXIT_CODES[this.code] ?? 1;
  }

  /** file:line:col, or the file alone, or nothing. */
  get where(): string | undefined {
    const l = this.location;
    if (!l) return undefined;
    if (l.line === undefined) return l.file;
    return `${l.file}:${l.line}:${l.column ?? 1}`;
  }

  /** The one or two lines the CLI prints. */
  format(): string {
    const head = [this.where, this.keyPath].filter(Boolean).join(': ');
    const first = head ? `${head}: ${this.message}` : this.message;
    return this.hint ? `${first}\n  hint: ${this.hint}` : first;
  }
}

/** What kind of refusal an engine error is, from its HTTP status (never from its wording). */
export type EngineErrorKind = 'not-found' | 'conflict' | 'not-modified' | 'forbidden' | 'bad-request' | 'unauthorized' | 'server' | 'other';

export function engineErrorKind(status: number | undefined): EngineErrorKind {
  switch (status) {
    case 304:
      return 'not-modified';
    case 400:
      return 'bad-request';
    case 401:
      return 'unauthorized';
    case 403:
      return 'forbidden';
    case 404:
      return 'not-found';
    case 409:
      return 'conflict';
    default:
      return status !== undefined && status >= 500 ? 'server' : 'other';
  }
}

/** An error the engine answered with: its HTTP status and kind (Compose's errdefs, here). */
export class EngineError extends DockyardError {
  readonly status?: number;
  readonly kind: EngineErrorKind;
  constructor(message: string, status: number | undefined, details: ErrorDetails = {}) {
    super('ENGINE', message, details);
    this.name = 'EngineError';
    this.status = status;
    this.kind = engineErrorKind(status);
  }
}

export const isEngineError = (e: unknown, kind: EngineErrorKind): e is EngineError => e instanceof EngineError && e.kind === kind;
export const isNotFound = (e: unknown): e is EngineError => isEngineError(e, 'not-found');
export const isConflict = (e: unknown): e is EngineError => isEngineError(e, 'conflict');

/** Edit distance, for "did you mean" hints. */
export function closest(word: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = levenshtein(word, c);
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  return best !== undefined && bestD <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}

function levenshtein(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = prev[j]!;
      prev[j] = Math.min(prev[j]! + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = tmp;
    }
  }
  return prev[b.length]!;
}
