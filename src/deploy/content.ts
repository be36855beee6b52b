/** The content of a config or secret as the project defines it: `content`, `environment` or `file`. */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Project } from '../model/project.js';

export function definedContent(project: Project, def: { file?: string; content?: string; environment?: string }): string {
  if (def.content !== undefined) return String(def.content);
  if (def.environment !== undefined) return project.environment[def.environment] ?? '';
  return def.file ? readFileSync(resolve(project.workingDir, def.file), 'utf8') : '';
}
