/** Reading Dockerfile instructions' words the way the builder does (lint and consolidate share it). */

/** An instruction's line continuations folded away and its spaces collapsed: two instructions compare as they read. */
export const foldInstruction = (s: string): string => s.replace(/\\\r?\n\s*/g, ' ').replace(/\s+/g, ' ').trim();

export interface CopyOperands {
  /** the leading --flags, as written (`--chown=1:1`, `--from=build`) */
  flags: string[];
  sources: string[];
  dest: string;
  /** written as a JSON array (`COPY ["a b", "/app/"]`) */
  json: boolean;
}

/**
 * The operands of a COPY or ADD (its arguments after the keyword, continuations allowed): leading
 * flags, then sources and a destination as words or as a JSON array. Undefined when there are no
 * operands to read: a heredoc, a JSON array that does not parse, nothing after the flags.
 */
export function copyOperands(args: string): CopyOperands | undefined {
  if (args.includes('<<')) return undefined;
  const m = /^((?:--\S+\s+)*)(.*)$/s.exec(foldInstruction(args));
  const flags = m![1]!.split(' ').filter(Boolean);
  const rest = m![2]!.trim();
  let list: string[];
  if (rest.startsWith('[')) {
    try {
      const parsed = JSON.parse(rest) as unknown;
      if (!Array.isArray(parsed)) return undefined;
      list = parsed.map(String);
    } catch {
      return undefined;
    }
  } else list = rest.split(' ').filter(Boolean);
  if (!list.length) return undefined;
  return { flags, sources: list.slice(0, -1), dest: list.at(-1)!, json: rest.startsWith('[') };
}
