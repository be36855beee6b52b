/**
 * Snapshots of `dockyard config`: each folder of test/compose-config holds Compose files and what
 * dockyard printed for them (snapshot.json / snapshot.yaml, the case's own folder written as
 * ${DIR}), reviewed line by line against compose-go's printing rules (README.md). A snapshot only
 * says that the output did not change: the checks that do not go through dockyard are
 * test/engine/config-v1.test.ts (docker-compose v1 resolving the same layered project) and the
 * hand-written expectations in test/unit/load.test.ts.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import jsyaml from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { cli } from '../helpers/fs.js';

const ROOT = join(import.meta.dirname, '..', 'compose-config');
const cases = readdirSync(ROOT, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name);

interface CaseOptions {
  /** extra arguments before `config` (-f, --profile, ...) */
  args?: string[];
  env?: Record<string, string>;
}

describe('config snapshots (printed by dockyard, reviewed against compose-go)', () => {
  it('has cases', () => expect(cases.length).toBeGreaterThan(0));
  for (const name of cases) {
    const dir = join(ROOT, name);
    const o: CaseOptions = existsSync(join(dir, 'case.json')) ? JSON.parse(readFileSync(join(dir, 'case.json'), 'utf8')) : {};
    for (const format of ['json', 'yaml'] as const) {
      it(`${name}: --format ${format}`, () => {
        const r = cli([...(o.args ?? []), 'config', '--format', format], { cwd: dir, env: o.env });
        expect(r.stderr).toBe('');
        expect(r.code).toBe(0);
        const text = r.stdout.replaceAll(dir, '${DIR}');
        const file = join(dir, `snapshot.${format}`);
        // UPDATE_SNAPSHOTS=1 rewrites the snapshot: review every changed line against compose-go
        // before committing it (README.md)
        if (process.env.UPDATE_SNAPSHOTS) writeFileSync(file, text);
        const expected = readFileSync(file, 'utf8');
        const parse = (t: string) => (format === 'json' ? JSON.parse(t) : jsyaml.load(t));
        expect(parse(text)).toEqual(parse(expected));
      });
    }
  }
});
