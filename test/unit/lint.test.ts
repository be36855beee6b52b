/**
 * dockyard lint over the fixture corpus (test/lint/fixtures): each file says on its first line
 * which rules it must trigger (`# expect: DY101`), hardened files none; every rule has a file
 * that hits it, and the hardened ones miss it.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { lint, sarif } from '../../src/lint/lint.js';
import { RULES } from '../../src/lint/rules.js';
import { shellCommands } from '../../src/lint/dockerfile.js';
import { rulesPage } from '../../src/lint/docs.js';
import { cli, tree, cleanupTrees } from '../helpers/fs.js';
import { afterAll } from 'vitest';

afterAll(cleanupTrees);

const DIR = join(import.meta.dirname, '..', 'lint', 'fixtures');
const files = readdirSync(DIR).filter((f) => f.endsWith('.Dockerfile') || f.endsWith('.yaml'));
const expected = (f: string) => (/^# expect:(.*)$/m.exec(readFileSync(join(DIR, f), 'utf8'))?.[1] ?? '').split(/\s+/).filter(Boolean);

describe('lint fixtures', () => {
  it('has at least 40 files and a hit for every rule', () => {
    expect(files.length).toBeGreaterThanOrEqual(40);
    const hit = new Set(files.flatMap(expected));
    expect(RULES.map((r) => r.id).filter((id) => !hit.has(id))).toEqual([]);
  });
  for (const f of files) {
    it(`${f}: ${expected(f).join(' ') || 'nothing'}`, () => {
      const found = [...new Set(lint([join(DIR, f)], { cwd: DIR }).map((x) => x.rule))].sort();
      expect(found).toEqual([...new Set(expected(f))].sort());
    });
  }
});

describe('lint', () => {
  it('the rules page in docs/ is the generated one (npm run docs)', () => {
    expect(readFileSync(join(import.meta.dirname, '..', '..', 'docs', 'lint-rules.md'), 'utf8')).toBe(rulesPage());
  });

  it('--fix rewrites what is safe, says what it changed, and lints again', () => {
    const dir = tree({
      'Dockerfile': 'FROM node:20\nRUN apt-get update\nRUN apt-get install -y curl && rm -rf /var/lib/apt/lists/*\nUSER node\nHEALTHCHECK CMD ["true"]\nCMD node server.js\nENTRYPOINT echo $HOME\n',
      'compose.yaml': 'version: "3"\nservices:\n  a:\n    image: x:1\n    logging: {options: {max-size: 1m}}\n    mem_limit: 1g\n',
    });
    const r = cli(['lint', '--fix', 'Dockerfile', 'compose.yaml'], { cwd: dir });
    expect(r.stderr).toMatch(/fixed Dockerfile:2 DY110: merged apt-get update into the install after it/);
    expect(r.stderr).toMatch(/fixed Dockerfile:6 DY104: CMD in JSON form/);
    expect(r.stderr).toMatch(/fixed compose\.yaml:1 DY201: removed the obsolete version:/);
    expect(readFileSync(join(dir, 'Dockerfile'), 'utf8')).toBe('FROM node:20\nRUN apt-get update && apt-get install --no-install-recommends -y curl && rm -rf /var/lib/apt/lists/*\nUSER node\nHEALTHCHECK CMD ["true"]\nCMD ["node", "server.js"]\nENTRYPOINT echo $HOME\n');
    expect(readFileSync(join(dir, 'compose.yaml'), 'utf8')).not.toMatch(/version/);
    // what is left: the shell-form ENTRYPOINT with shell syntax (not safe to rewrite), and the second ENTRYPOINT-less CMD... only that
    expect(r.stdout).toMatch(/Dockerfile:6:1 warning DY104 .*\(ENTRYPOINT\)/);
  });

  it('splits RUN into commands', () => {
    expect(shellCommands('apt-get update && DEBIAN_FRONTEND=x apt-get install -y a | tee log; cd /x')).toEqual([['apt-get', 'update'], ['apt-get', 'install', '-y', 'a'], ['tee', 'log'], ['cd', '/x']]);
  });

  it('locates findings, honours # dockyard-ignore and .dockyard.yaml severities', () => {
    const dir = tree({
      'Dockerfile': 'FROM node\n# dockyard-ignore DY115\nUSER root\nRUN cd /x # dockyard-ignore DY106\nCMD node x\n',
      '.dockyard.yaml': 'lint:\n  rules:\n    DY116: off\n    DY104: error\n',
    });
    const f = lint(['Dockerfile'], { cwd: dir });
    expect(f.map((x) => `${x.rule}:${x.line}:${x.column}:${x.severity}`)).toEqual(['DY101:1:1:warning', 'DY115:1:1:warning', 'DY104:5:1:error']);
  });

  it('DY219 names each host port published twice and where it was first; DY220 each entry open on every interface', () => {
    const dir = tree({
      'compose.yaml': `services:
  a:
    image: x:1
    ports: ["127.0.0.1:8080:80", "127.0.0.1:7000-7001:7000-7001", "9000:9000/udp", "127.0.0.1:8000-8010:80"]
  b:
    image: x:1
    ports:
      - "127.0.0.1:8080:8080"
      - "127.0.0.2:8080:80"
      - "127.0.0.1:7001:7001/tcp"
      - {target: 9000, published: 9000, protocol: tcp}
      - "[::1]:6000:6000"
      - "\${PORT}:80"
      - "127.0.0.1:8005:80"
`,
    });
    const f = lint(['compose.yaml'], { cwd: dir }).filter((x) => x.rule === 'DY219' || x.rule === 'DY220');
    expect(f.map((x) => `${x.rule}:${x.line} ${x.detail}`)).toEqual([
      'DY220:4 9000',
      'DY219:8 8080 (also services.a.ports[0])',
      'DY219:10 7001 (also services.a.ports[1])',
      'DY220:11 9000',
    ]);
  });

  it('prints text, json and sarif; exits 1 at --fail-on; explains rules', () => {
    const dir = tree({ 'Dockerfile': 'FROM node:20\nUSER node\nHEALTHCHECK CMD ["true"]\nCMD node x\n' });
    const text = cli(['lint', 'Dockerfile'], { cwd: dir });
    expect(text.stdout).toBe('Dockerfile:4:1 warning DY104 CMD / ENTRYPOINT in shell form (CMD)\n');
    expect(text.code).toBe(0);
    expect(cli(['lint', '--fail-on', 'warning', 'Dockerfile'], { cwd: dir }).code).toBe(1);
    const json = JSON.parse(cli(['lint', '--format', 'json', 'Dockerfile'], { cwd: dir }).stdout);
    expect(json).toEqual({ findings: [{ rule: 'DY104', category: 'reliability', severity: 'warning', file: 'Dockerfile', line: 4, column: 1, message: 'CMD / ENTRYPOINT in shell form (CMD)' }] });
    const s = JSON.parse(cli(['lint', '--format', 'sarif', 'Dockerfile'], { cwd: dir }).stdout) as { version: string; runs: Array<{ results: Array<{ ruleId: string; locations: Array<{ physicalLocation: { region: { startLine: number } } }> }> }> };
    expect(s.version).toBe('2.1.0');
    expect(s.runs[0]!.results[0]).toMatchObject({ ruleId: 'DY104', locations: [{ physicalLocation: { region: { startLine: 4 } } }] });
    expect(cli(['lint', '--explain', 'DY104']).stdout).toMatch(/^DY104 \(reliability, warning\): CMD \/ ENTRYPOINT in shell form\n\nIn shell form/);
    expect(cli(['lint', '--explain', 'DY999']).code).toBe(2);
    expect(cli(['lint', '--rules']).stdout.split('\n').filter(Boolean)).toHaveLength(RULES.length);
    void sarif;
  });
});
