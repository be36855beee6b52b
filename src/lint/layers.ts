/**
 * A project's layers, as lint sees them. Each Compose file is either a base (linted as it loads
 * on its own) or a layer, linted merged on top of its bases, as Compose would run it, with the
 * findings located in the layer reported:
 * - the files `up` loads together: COMPOSE_FILE (in the folder's .env), else the default file
 *   and its override (compose.yaml + compose.override.yaml), are one stack;
 * - a file named *.override.*, or in an overrides/ folder, is a layer over the project's base
 *   (the first file of that stack: `-f compose.yaml -f overrides/x.yaml`);
 * - another file whose services run nothing by themselves (no image, build or extends) and are
 *   defined in a sibling base file is a layer over that base (docker-compose.prod.yml);
 * - a layer whose base is nowhere (an override kept alone, a file only used through
 *   extends.file) is linted alone without the whole-project checks (image or build, references
 *   to what other files define, unused networks and volumes).
 */
import { existsSync, readdirSync } from 'node:fs';
import { basename, delimiter, dirname, join, resolve } from 'node:path';
import { isCompose } from '../load/discover.js';
import { DEFAULT_FILES } from '../load/index.js';
import { incomplete } from './sources.js';
import type { Sources } from './sources.js';
import { envValue } from './vars.js';

export interface Unit {
  /** the files loaded together, bases first */
  files: string[];
  /** the files whose findings this unit reports (the others are reported by their own unit) */
  own: string[];
  /** a layer without a base: the whole-project checks are skipped */
  partial: boolean;
  /** files layered over a base that `up` does not load with them (checked against their base) */
  optional?: boolean;
}

const OVERRIDES_DIR = /^overrides?$/i;
export const isLayerName = (name: string) => /(^|[.-])override([.-])/i.test(name);

/** The default file of a folder (compose.yaml...) and its override, if any: the stack `up` loads there. */
export function defaultStack(dir: string): string[] | undefined {
  const name = DEFAULT_FILES.find((n) => existsSync(join(dir, n)));
  if (!name) return undefined;
  const stem = name.replace(/\.ya?ml$/, '');
  const ext = name.slice(stem.length);
  const override = [`${stem}.override${ext}`, `${stem}.override${ext === '.yaml' ? '.yml' : '.yaml'}`].map((n) => join(dir, n)).find((f) => existsSync(f));
  return override ? [join(dir, name), override] : [join(dir, name)];
}

/** COMPOSE_FILE as `up` reads it in `dir` (the environment's, else the .env file's). */
export function composeFileStack(dir: string, src: Sources, env?: Record<string, string | undefined>): string[] | undefined {
  const text = src.text(join(dir, '.env'));
  const list = env?.COMPOSE_FILE || (text !== undefined ? envValue(text, 'COMPOSE_FILE') : undefined);
  if (!list) return undefined;
  const sep = env?.COMPOSE_PATH_SEPARATOR || (text !== undefined ? envValue(text, 'COMPOSE_PATH_SEPARATOR') : undefined) || delimiter;
  const files = list.split(sep).filter(Boolean).map((f) => resolve(dir, f));
  return files.length ? files : undefined;
}

/** The folder a file's project lives in: its own, or the parent of an overrides/ folder. */
function projectDir(file: string): string {
  const d = dirname(file);
  return OVERRIDES_DIR.test(basename(d)) && !defaultStack(d) ? dirname(d) : d;
}

/** Plans how to lint these Compose files (found in folders or named): one unit per base or layer. */
export function planUnits(files: string[], src: Sources, o: { cwd?: string; env?: Record<string, string | undefined> } = {}): Unit[] {
  const byProject = new Map<string, string[]>();
  for (const f of files) {
    const d = projectDir(f);
    (byProject.get(d) ?? byProject.set(d, []).get(d)!).push(f);
  }
  // files only used through extends.file by the files linted (fragments: they need not run alone)
  const fragments = new Set(files.flatMap((f) => src.refs(f).extendsFiles));
  const units: Unit[] = [];
  for (const [dir, group] of byProject) {
    // (the environment's COMPOSE_FILE names the files of the folder where it is set: here)
    const stack = composeFileStack(dir, src, dir === o.cwd ? o.env : undefined) ?? defaultStack(dir) ?? [];
    const base = stack[0];
    const inStack = stack.filter((f) => group.includes(f));
    if (inStack.length) units.push({ files: stack, own: inStack, partial: false });
    let listed: string[] | undefined;
    const folder = () => (listed ??= readdirSync(dir).filter((n) => isCompose(n)).map((n) => join(dir, n)));
    // complete files of the folder that could be the base of a layer (the project's first)
    const candidates = (f: string): string[][] => {
      const siblings = folder().filter((g) => g !== f && !stack.includes(g) && !isLayerName(basename(g)) && src.services(g).length > 0 && !src.services(g).some(([, s]) => incomplete(s)));
      return [...(base ? [[base]] : []), ...(stack.length > 1 ? [stack] : []), ...siblings.map((g) => [g])];
    };
    // (also when it is linted without the files that extend it)
    const fragment = (f: string) => fragments.has(f) || folder().some((g) => src.refs(g).extendsFiles.includes(f));
    for (const f of group) {
      if (stack.includes(f)) continue;
      const open = src.services(f).filter(([, s]) => incomplete(s)).map(([n]) => n);
      const named = isLayerName(basename(f)) || OVERRIDES_DIR.test(basename(dirname(f)));
      if (!named && !open.length) {
        units.push({ files: [f], own: [f], partial: false });
        continue;
      }
      // the base that defines the most of what the layer changes (the project's base first)
      let best: string[] | undefined;
      let most = 0;
      for (const c of open.length ? candidates(f) : base ? [[base]] : []) {
        const defined = new Set(c.flatMap((g) => [...src.defined(g)]));
        const n = open.filter((s) => defined.has(s)).length;
        if (!best || n > most) [best, most] = [c, n];
        if (n === open.length) break;
      }
      if (best && (named || most > 0)) units.push({ files: [...best, f], own: [f], partial: false, optional: true });
      else if (named || fragment(f)) units.push({ files: [f], own: [f], partial: true });
      // services that run nothing and are defined nowhere: the file is wrong in itself
      else units.push({ files: [f], own: [f], partial: false });
    }
  }
  return units;
}
