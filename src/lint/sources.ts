/**
 * The Compose files of one lint run, each parsed once: their documents as written, the services
 * they define, and the files they name (include, extends.file), for planning layers and for
 * giving variables placeholders.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { isPlainObject } from '../load/path.js';
import { parseYaml } from '../load/yaml.js';
import type { ParsedDocument } from '../load/yaml.js';

type Rec = Record<string, unknown>;

export interface Refs {
  /** included files (resolved), with the env files each include names */
  includes: Array<{ paths: string[]; envFiles: string[] }>;
  /** files named by extends.file */
  extendsFiles: string[];
}

const strings = (v: unknown): string[] => (Array.isArray(v) ? v : v === undefined || v === null ? [] : [v]).filter((x): x is string => typeof x === 'string');
// a path that a variable decides is not followed
const literal = (p: string) => !p.includes('$');

/** A service that runs nothing on its own: no image, build, extends or provider (a layer's or a fragment's). */
export const incomplete = (s: unknown): boolean => !isPlainObject(s) || (s.image === undefined && s.build === undefined && s.extends === undefined && s.provider === undefined);

export class Sources {
  private readonly parsed = new Map<string, { docs: ParsedDocument[] } | { error: unknown }>();
  private readonly refsOf = new Map<string, Refs>();
  private readonly definedBy = new Map<string, Set<string>>();
  private readonly texts = new Map<string, string | undefined>();

  /** The file's documents, or the error that parsing it gave. */
  get(file: string): { docs: ParsedDocument[] } | { error: unknown } {
    let p = this.parsed.get(file);
    if (!p) {
      try {
        p = { docs: parseYaml(file, readFileSync(file, 'utf8')) };
      } catch (error) {
        p = { error };
      }
      this.parsed.set(file, p);
    }
    return p;
  }

  docs(file: string): ParsedDocument[] {
    const p = this.get(file);
    return 'docs' in p ? p.docs : [];
  }

  /** A small text file (an .env), or undefined when there is none. */
  text(file: string): string | undefined {
    if (!this.texts.has(file)) {
      let t: string | undefined;
      try {
        t = existsSync(file) ? readFileSync(file, 'utf8') : undefined;
      } catch {
        t = undefined;
      }
      this.texts.set(file, t);
    }
    return this.texts.get(file);
  }

  /** The services a file's documents define as written (each with its definition). */
  services(file: string): Array<[string, unknown]> {
    return this.docs(file).flatMap((d) => (isPlainObject(d.value.services) ? Object.entries(d.value.services) : []));
  }

  refs(file: string): Refs {
    let r = this.refsOf.get(file);
    if (r) return r;
    r = { includes: [], extendsFiles: [] };
    const dir = dirname(file);
    for (const d of this.docs(file)) {
      for (const inc of Array.isArray(d.value.include) ? d.value.include : []) {
        const spec = (typeof inc === 'string' ? { path: inc } : isPlainObject(inc) ? inc : {}) as Rec;
        const paths = strings(spec.path).filter(literal).map((p) => resolve(dir, p));
        if (!paths.length) continue;
        const named = strings(spec.env_file).filter(literal).map((p) => resolve(dir, p));
        const projectDir = typeof spec.project_directory === 'string' && literal(spec.project_directory) ? resolve(dir, spec.project_directory) : dirname(paths[0]!);
        r.includes.push({ paths, envFiles: named.length ? named : [join(projectDir, '.env')] });
      }
      for (const [, s] of isPlainObject(d.value.services) ? Object.entries(d.value.services) : []) {
        const ext = isPlainObject(s) && isPlainObject(s.extends) ? s.extends : undefined;
        if (typeof ext?.file === 'string' && literal(ext.file)) r.extendsFiles.push(resolve(dir, ext.file));
      }
    }
    this.refsOf.set(file, r);
    return r;
  }

  /** The files these files name, directly or through others (include, extends.file). */
  related(files: string[]): string[] {
    const seen = new Set(files);
    const out: string[] = [];
    const queue = [...files];
    while (queue.length) {
      const f = queue.shift()!;
      const r = this.refs(f);
      for (const g of [...r.includes.flatMap((i) => i.paths), ...r.extendsFiles]) {
        if (seen.has(g) || !existsSync(g)) continue;
        seen.add(g);
        out.push(g);
        queue.push(g);
      }
    }
    return out;
  }

  /** The names of the services a file defines, with those of the files it includes. */
  defined(file: string): Set<string> {
    let s = this.definedBy.get(file);
    if (s) return s;
    s = new Set<string>();
    this.definedBy.set(file, s); // (an include cycle stops here)
    for (const [name] of this.services(file)) s.add(name);
    for (const inc of this.refs(file).includes) for (const p of inc.paths) if (existsSync(p)) for (const n of this.defined(p)) s.add(n);
    return s;
  }
}
