/**
 * consolidate (Compose): the three tiers on small cases (base by majority with overrides and
 * resets, environments shared by originals that differ by a concern, cross-cutting overlays named
 * by what they do, profiles), a property test (random environments built from random overlays come
 * back proven, each with at most four files), and the CLI's output files, reloaded independently
 * of the tool and compared with the originals.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import jsyaml from 'js-yaml';
import { consolidateCompose } from '../../src/consolidate/compose.js';
import { dumpCompose, tiers } from '../../src/consolidate/tiers.js';
import { consolidateDockerfiles } from '../../src/consolidate/dockerfile.js';
import { consolidate } from 'dockyard';
import { cleanupTrees, cli, tree } from '../helpers/fs.js';

afterAll(cleanupTrees);

const svc = (extra: Record<string, unknown>, more: Record<string, unknown> = {}) => ({ services: { api: { image: 'a:1', ...extra }, db: { image: 'pg' }, ...more } });
const hard = { read_only: true, cap_drop: ['ALL'] };
const perf = { cpus: 2, mem_limit: '1g' };
const byName = <T extends { name: string }>(xs: T[]) => Object.fromEntries(xs.map((x) => [x.name, x]));

describe('consolidate: the three tiers', () => {
  it('the base holds what most environments share; an overlay changes it or resets it', () => {
    const t = tiers(
      {
        dev: { services: { api: { image: 'a:1', environment: { LOG: 'debug' }, ports: ['8080:80'] } } },
        test: { services: { api: { image: 'a:1', environment: { LOG: 'info' }, ports: ['8080:80'] } } },
        prod: { services: { api: { image: 'a:1', environment: { LOG: 'info' }, read_only: true } } },
      },
      { items: true },
    );
    expect(t.base).toEqual({ services: { api: { image: 'a:1', environment: { LOG: 'info' }, ports: ['8080:80'] } } });
    const envs = byName(t.environments);
    expect(dumpCompose(envs.dev!.tree)).toBe('services:\n  api:\n    environment:\n      LOG: debug\n');
    expect(dumpCompose(envs.prod!.tree)).toBe('services:\n  api:\n    ports: !reset null\n    read_only: true\n');
    // test is the base itself
    expect(t.files).toEqual({ dev: ['dev'], prod: ['prod'], test: [] });
    expect(t.crossCutting).toEqual([]);
  });

  it('a list an overlay replaces is tagged !override; one it extends gets the new items only', () => {
    const t = tiers(
      {
        a: svc({ ports: ['80:80'], command: ['run'] }),
        b: svc({ ports: ['80:80'], command: ['run'] }),
        c: svc({ ports: ['80:80', '9229:9229'], command: ['run'] }),
        d: svc({ ports: ['81:80'], command: ['run', '--debug'] }),
      },
      { items: true },
    );
    const envs = byName(t.environments);
    expect(dumpCompose(envs.c!.tree)).toBe("services:\n  api:\n    ports:\n      - '9229:9229'\n");
    expect(dumpCompose(envs.d!.tree)).toBe("services:\n  api:\n    ports: !override\n      - '81:80'\n    command: !override\n      - run\n      - '--debug'\n");
  });

  it('changes that recur across environments become cross-cutting overlays named by what they do; originals that differ only by them share an environment', () => {
    const models = {
      default: svc({}),
      prod: svc({ restart: 'always', ...perf }),
      secure: svc({ restart: 'always', ...perf, ...hard }),
      hardened: svc(hard),
      fast: svc(perf),
      dev: svc({ command: ['dev'] }),
    };
    const t = tiers(models, { items: true });
    expect(t.environments.map((e) => [e.name, e.envs])).toEqual([
      ['dev', ['dev']],
      ['prod', ['prod', 'secure']],
    ]);
    expect(t.crossCutting.map((c) => [c.name, c.envs, c.changes])).toEqual([
      ['performance', ['fast', 'prod', 'secure'], 'api: cpus, mem_limit'],
      ['hardening', ['hardened', 'secure'], 'api: read_only, cap_drop'],
    ]);
    // base + environment + at most two cross-cutting overlays, in -f order
    expect(t.files).toEqual({ default: [], dev: ['dev'], fast: ['performance'], hardened: ['hardening'], prod: ['prod', 'performance'], secure: ['prod', 'performance', 'hardening'] });
    expect(t.notes).toEqual([]);
    // without cross-cutting overlays: base and one overlay per environment
    const flat = tiers(models, { items: true, crossCutting: 0 });
    expect(flat.crossCutting).toEqual([]);
    expect(Object.values(flat.files).every((f) => f.length <= 1)).toBe(true);
  });

  it('an original with more cross-cutting changes than it may add: the rest in its environment overlay, and the report says which', () => {
    // six services each: every group is well worth a file
    const all = (x: Record<string, unknown>) => ({ services: Object.fromEntries(['a', 'b', 'c', 'd', 'e', 'f'].map((s) => [s, { image: `${s}:1`, ...x }])) });
    const mon = { labels: { 'prometheus.io/scrape': 'true' } };
    const two = tiers({ plain: all({}), hardened: all(hard), fast: all(perf), secure: all({ ...hard, ...perf }) }, { items: true });
    expect(two.crossCutting.map((c) => c.name)).toEqual(['hardening', 'performance']);
    expect(two.files).toEqual({ plain: [], hardened: ['hardening'], fast: ['performance'], secure: ['hardening', 'performance'] });
    // full has its own changes and all three concerns: one of them stays in its overlay
    const t = tiers({ plain: all({}), hardened: all(hard), fast: all(perf), watched: all(mon), dev: all({ command: ['dev'] }), full: all({ command: ['dev'], ...hard, ...perf, ...mon }) }, { items: true });
    expect(t.files.full).toEqual(['full', 'hardening', 'performance']);
    expect(Object.values(t.files).every((f) => f.length <= 3)).toBe(true);
    expect(t.notes).toEqual([
      'a, b, c and 3 more: command: recur in dev; full, but full already adds 2 cross-cutting overlays: they are in the environment overlays',
      'a, b, c and 3 more: labels.prometheus.io/scrape: recur in full; watched, but full already adds 2 cross-cutting overlays: they are in the environment overlays',
    ]);
    // with at most one: the other goes into the environment overlay of the original that has both
    const one = tiers({ plain: all({}), dev: all({ command: ['dev'] }), hardened: all(hard), fast: all(perf), secure: all({ command: ['dev'], ...hard, ...perf }) }, { items: true, perEnvironment: 1 });
    expect(Object.values(one.files).every((f) => f.length <= 2)).toBe(true);
    expect(one.files.secure).toEqual(['secure', 'hardening']);
    expect(one.notes).toEqual([
      'a, b, c and 3 more: command: recur in dev; secure, but secure already adds 1 cross-cutting overlay: they are in the environment overlays',
      'a, b, c and 3 more: cpus, mem_limit: recur in fast; secure, but secure already adds 1 cross-cutting overlay: they are in the environment overlays',
    ]);
  });

  it('optional services: a profile in the base when several environments add them, part of the overlay when one environment does', () => {
    const admin = { adminer: { image: 'adminer:4' } };
    const t = tiers(
      {
        default: svc({}),
        dev: svc({ command: ['dev'] }, admin),
        test: svc({ command: ['test'] }, admin),
        ci: svc({ command: ['test'] }, { ...admin, runner: { image: 'r:1' } }),
        prod: svc({ restart: 'always' }),
        stage: svc({ restart: 'always', ...perf }),
        qa: svc({ command: ['qa'] }, { seed: { image: 's:1' } }),
      },
      { items: true },
    );
    expect(t.profiles).toEqual([{ name: 'adminer', services: ['adminer'], envs: ['ci', 'dev', 'test'] }]);
    expect((t.base.services as Record<string, unknown>).adminer).toEqual({ profiles: ['adminer'], image: 'adminer:4' });
    expect(t.enable).toMatchObject({ ci: ['adminer'], dev: ['adminer'], test: ['adminer'], prod: [], qa: [] });
    // seed is qa's alone: in its overlay; runner is what ci adds to test: a service of its own, named after it
    expect(dumpCompose(byName(t.environments).qa!.tree)).toMatch(/^  seed:\n    image: s:1$/m);
    expect(t.files.ci).toEqual(['test', 'runner']);
  });

  it('names identical environments', () => {
    const m = { services: { a: { image: 'x:1' } } };
    expect(tiers({ a: m, b: structuredClone(m), c: { services: { a: { image: 'y:1' } } } }, { items: true }).identical).toEqual([['a', 'b']]);
  });
});

// a small seeded generator, so that a failure can be replayed
function rng(seed: number) {
  return () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
}

describe('consolidate: property', () => {
  it('random environments built from random overlays, resets and optional services are all proven in three tiers, each original in at most four files', () => {
    for (let seed = 1; seed <= 16; seed++) {
      const r = rng(seed * 7919);
      const pick = <T>(xs: T[]) => xs[Math.floor(r() * xs.length)]!;
      const services = ['api', 'web', 'db', 'worker', 'cache'].slice(0, 2 + Math.floor(r() * 4));
      // candidate concerns: each a few service keys
      const concerns = Array.from({ length: 5 }, (_, i) =>
        Object.fromEntries(
          services.filter(() => r() < 0.6).map((s) => [
            s,
            {
              ...(r() < 0.5 ? { environment: { [`K${i}`]: pick(['a', 'b']) } } : {}),
              ...(r() < 0.4 ? { ports: [`${10000 + i * 10 + services.indexOf(s)}:80`] } : {}),
              ...(r() < 0.3 ? { read_only: true } : {}),
              ...(r() < 0.3 ? { cap_drop: ['ALL'] } : {}),
              ...(r() < 0.2 ? { command: ['run', `--m${i}`] } : {}),
              ...(r() < 0.2 ? { restart: pick(['always', 'no']) } : {}),
            },
          ]),
        ),
      );
      const files: Record<string, string> = {};
      const nEnv = 3 + Math.floor(r() * 9);
      for (let e = 0; e < nEnv; e++) {
        type Svc = Record<string, unknown> & { environment: Record<string, string> };
        const svc: Record<string, Svc> = Object.fromEntries(services.map((s) => [s, { image: `${s}:1`, environment: { COMMON: 'yes', LOG: r() < 0.7 ? 'info' : 'debug' }, ports: [`${20000 + services.indexOf(s)}:80`], restart: 'unless-stopped' }]));
        // what most have and a few lack (a reset), a service some leave out
        if (r() < 0.2) delete svc[services[0]!]!.ports;
        if (r() < 0.15) delete svc[services.at(-1)!];
        for (const c of concerns.filter(() => r() < 0.4)) {
          for (const [s, keys] of Object.entries(c)) {
            const t = svc[s];
            if (!t) continue;
            for (const [k, v] of Object.entries(keys)) {
              if (k === 'environment') t.environment = { ...t.environment, ...(v as Record<string, string>) };
              else if (k === 'ports' || k === 'cap_drop') t[k] = [...((t[k] as string[]) ?? []), ...(v as string[]).filter((p) => !((t[k] as string[]) ?? []).includes(p))];
              else t[k] = v;
            }
          }
        }
        // optional services
        const extra: Record<string, unknown> = {};
        if (r() < 0.35) extra.adminer = { image: 'adminer:4', ports: ['8081:8080'] };
        if (r() < 0.25) extra.prometheus = { image: 'prom:1', volumes: ['prom:/data'] };
        files[`compose.env${e}.yaml`] = jsyaml.dump({ services: { ...svc, ...extra }, ...(extra.prometheus ? { volumes: { prom: {} } } : {}) });
      }
      const dir = tree(files);
      const rep = consolidateCompose(dir, join(dir, 'consolidated'))!;
      expect(rep.unproven, `seed ${seed}`).toEqual([]);
      expect(rep.proven.sort(), `seed ${seed}`).toEqual(Object.keys(files).sort());
      // the three tiers themselves loaded to the originals (no fallback to base + one overlay each)
      expect(rep.tiers.notes.filter((n) => n.startsWith('the three-tier layout did not load')), `seed ${seed}`).toEqual([]);
      expect(rep.variables, `seed ${seed}`).toBe('kept');
      expect(rep.compose[Object.keys(files)[0]!]![0]).toBe('compose.base.yaml');
      expect(Object.values(rep.compose).every((l) => l.length <= 4), `seed ${seed}`).toBe(true);
      expect(rep.tiers.crossCutting.length, `seed ${seed}`).toBeLessThanOrEqual(3);
      expect(rep.linesAfter, `seed ${seed}`).toBeLessThan(rep.linesBefore);
    }
  });
});

describe('consolidate: CLI', () => {
  const env = (extra: string) => `services:\n  api:\n    build: ./api\n    image: acme/api:1\n    environment:\n      DB: postgres://db/app\n${extra}    depends_on: [db]\n  db:\n    image: postgres:16\n    volumes: [data:/var/lib/postgresql/data]\nvolumes:\n  data: {}\n`;
  const dir = tree({
    'docker-compose.yml': env('      LOG: info\n    ports: ["8080:80"]\n'),
    'docker-compose.dev.yml': env('      LOG: debug\n    ports: ["8080:80", "9229:9229"]\n    volumes: ["./api:/src"]\n'),
    'docker-compose.prod.yml': env('      LOG: info\n    read_only: true\n'),
    'ci/compose.yaml': env('      LOG: info\n    ports: ["8080:80"]\n').replace('./api', '../api').replace('./api:/src', '../api:/src'),
    'api/Dockerfile': 'FROM scratch\n',
  });

  it('reports without writing; --out writes files that load (by docker compose -f order) to the originals', () => {
    const report = cli(['consolidate'], { cwd: dir });
    expect(report.code).toBe(0);
    // the base holds the port most environments publish; prod resets it
    expect(report.stdout).toMatch(/^Compose: 4 files, 57 lines -> 3 files, \d+ lines/);
    expect(report.stdout).toMatch(/proven: docker-compose\.prod\.yml = compose\.base\.yaml \+ compose\.prod\.yaml\n/);
    expect(report.stdout).toMatch(/identical: ci\/compose\.yaml, docker-compose\.yml/);
    expect(report.stdout).toMatch(/report only/);
    const w = cli(['consolidate', '--out', 'out'], { cwd: dir });
    expect(w.code).toBe(0);
    const manifest = JSON.parse(readFileSync(join(dir, 'out', 'consolidate.json'), 'utf8')) as { project_directory: string; compose: Record<string, string[]> };
    expect(manifest.project_directory).toBe('..');
    expect(Object.keys(manifest.compose).sort()).toEqual(['ci/compose.yaml', 'docker-compose.dev.yml', 'docker-compose.prod.yml', 'docker-compose.yml']);
    // each line of the migration table, run in DIR as printed (`up` → `config`): the same project
    const rows = [...w.stdout.matchAll(/^docker compose (-f \S+) up +dockyard (.*) up$/gm)];
    expect(rows.map((m) => m[1]).sort()).toEqual(Object.keys(manifest.compose).sort().map((f) => `-f ${f}`));
    for (const [, before, after] of rows) {
      const a = cli([...before!.split(' '), 'config', '--format', 'json'], { cwd: dir });
      const b = cli([...after!.split(' '), 'config', '--format', 'json'], { cwd: dir });
      expect(a.code, a.stderr).toBe(0);
      expect(b.code, b.stderr).toBe(0);
      expect(JSON.parse(b.stdout), before).toEqual(JSON.parse(a.stdout));
    }
    expect(w.stdout).toMatch(/-p ci -f out\/compose\.base\.yaml/);
    // the prod overlay holds what only prod has, and resets what prod lacks
    expect(readFileSync(join(dir, 'out', 'compose.prod.yaml'), 'utf8')).toBe('# environment prod: docker-compose.prod.yml\nservices:\n  api:\n    ports: !reset null\n    read_only: true\n');
  });

  it('one Compose file is nothing to consolidate: a clear error', () => {
    const r = cli(['consolidate'], { cwd: tree({ 'compose.yaml': 'services:\n  a:\n    image: x\n' }) });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/nothing to consolidate/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});

describe('consolidate: Dockerfiles', () => {
  it('shares common prefixes as stages, renames inner stages, rewrites COPY sources into one context', () => {
    const dir = tree({
      'a/Dockerfile': 'FROM debian:12.5\nWORKDIR /app\nRUN apt-get update \\\n && apt-get install -y curl\nCOPY src /app/src\nCMD ["a"]\n',
      'b/Dockerfile.prod': 'FROM debian:12.5\nWORKDIR /app\nRUN apt-get update \\\n && apt-get install -y curl\nCOPY ["conf", "/etc/b"]\nCMD ["b"]\n',
      'c.Dockerfile': 'FROM golang:1.22 AS build\nCOPY . /src\nRUN go build -o /out/c /src\nFROM debian:12.5\nWORKDIR /app\nCOPY --from=build /out/c /usr/bin/c\n',
    });
    const r = consolidateDockerfiles(dir, join(dir, 'consolidated'))!;
    expect(r.unproven).toEqual([]);
    expect(r.proven.sort()).toEqual(['a/Dockerfile', 'b/Dockerfile.prod', 'c.Dockerfile']);
    const df = r.dockerfile;
    expect(r.targets).toEqual({
      'a/Dockerfile': { target: 'a', context: '.', stages: { 0: 'a' } },
      'b/Dockerfile.prod': { target: 'b-prod', context: '.', stages: { 0: 'b-prod' } },
      // an inner stage is renamed after its target; the last stage is the target
      'c.Dockerfile': { target: 'c', context: '.', stages: { build: 'c--build', 1: 'c' } },
    });
    expect(df).toMatch(/ AS c--build\n/);
    // the shared start once, the folders' files under their folder in the one context
    expect(df.match(/apt-get install -y curl/g)).toHaveLength(1);
    expect(df).toMatch(/^FROM debian:12\.5 AS base-\d+\nWORKDIR \/app$/m);
    expect(df).toMatch(/COPY a\/src \/app\/src/);
    expect(df).toMatch(/COPY \["b\/conf", "\/etc\/b"\]/);
    // the inner stage is renamed and defined before the stage that copies from it
    expect(df).toMatch(/FROM golang:1\.22 AS c--build/);
    expect(df).toMatch(/COPY --from=c--build \/out\/c \/usr\/bin\/c/);
    expect(df.indexOf('AS c--build')).toBeLessThan(df.indexOf('--from=c--build'));
  });

  it('a COPY over several lines, with flags: every source under its folder, the flags kept; heredocs and --from as written', () => {
    const dir = tree({
      'a/Dockerfile': 'FROM scratch\nCOPY --chown=1:1 x.txt \\\n  y.txt /app/\nCOPY <<EOF /note\nhi\nEOF\n',
      'b/Dockerfile': 'FROM scratch AS s\nCOPY ["m n.txt", \\\n "/m/"]\nFROM scratch\nCOPY --from=s /m /m\n',
    });
    const r = consolidateDockerfiles(dir, join(dir, 'out'))!;
    expect(r.unproven).toEqual([]);
    expect(r.dockerfile).toMatch(/^COPY --chown=1:1 a\/x\.txt a\/y\.txt \/app\/$/m);
    expect(r.dockerfile).toMatch(/^COPY \["b\/m n\.txt", "\/m\/"\]$/m);
    expect(r.dockerfile).toMatch(/^COPY <<EOF \/note\nhi\nEOF$/m);
    expect(r.dockerfile).toMatch(/^COPY --from=b--s \/m \/m$/m);
  });

  it('two global ARGs with different defaults are reported unproven, not merged', () => {
    const dir = tree({ 'x/Dockerfile': 'ARG V=1\nFROM debian:$V\n', 'y/Dockerfile': 'ARG V=2\nFROM debian:$V\n' });
    const r = consolidateDockerfiles(dir, join(dir, 'out'))!;
    expect(r.unproven.map((u) => u.file)).toEqual(['y/Dockerfile']);
  });
});

describe('consolidate: build contexts', () => {
  it("each folder's .dockerignore goes under its folder in one set of rules; rules that would change another folder's files are unproven", () => {
    const dir = tree({
      'a/Dockerfile': 'FROM scratch\nCOPY . /app\n',
      'a/.dockerignore': '# comment\nnode_modules\n*.log\n!keep.log\n/secret\n',
      'a/node_modules/x.js': '',
      'a/app.log': '',
      'a/keep.log': '',
      'a/secret': '',
      'a/main.js': '',
      'b/Dockerfile': 'FROM scratch\nCOPY . /b\n',
      'b/main.js': '',
      'b/node_modules/y.js': '',
    });
    const d = consolidateDockerfiles(dir, join(dir, 'out'))!;
    expect(d.unproven).toEqual([]);
    expect(d.dockerignore).toBe('a/node_modules\na/*.log\n!a/keep.log\na/secret\n');
    // a root Dockerfile's rules reach into the folders: the other originals would lose files
    const dir2 = tree({
      'Dockerfile': 'FROM scratch\nCOPY . /\n',
      '.dockerignore': '**/*.log\n',
      'a/Dockerfile': 'FROM scratch\nCOPY . /app\n',
      'a/app.log': '',
    });
    const d2 = consolidateDockerfiles(dir2, join(dir2, 'out'))!;
    expect(d2.unproven).toEqual([{ file: 'a/Dockerfile', difference: 'the unified build context leaves out a/app.log (file)' }]);
    // ...unless they copy only what the folders' rules leave alone
    const dir2b = tree({
      'Dockerfile': 'FROM scratch\nCOPY ["conf/x.conf", "/"]\nCOPY a/*.txt /t/\n',
      '.dockerignore': '**/*.log\n',
      'conf/x.conf': '',
      'a/Dockerfile': 'FROM scratch\nCOPY . /app\n',
      'a/.dockerignore': 'hidden.txt\n',
      'a/hidden.txt': '',
      'a/shown.txt': '',
    });
    // (the root's COPY a/*.txt reads a/: a/hidden.txt, left out by a's rules, would be missing)
    expect(consolidateDockerfiles(dir2b, join(dir2b, 'out'))!.unproven).toEqual([{ file: 'Dockerfile', difference: 'the unified build context leaves out a/hidden.txt (file)' }]);
    writeFileSync(join(dir2b, 'Dockerfile'), 'FROM scratch\nCOPY ["conf/x.conf", "/"]\n');
    const d2b = consolidateDockerfiles(dir2b, join(dir2b, 'out'))!;
    expect(d2b.unproven).toEqual([]);
    expect(d2b.dockerignore).toBe('**/*.log\na/hidden.txt\n');
    // two Dockerfiles of one folder with their own, different rules cannot share one context
    const dir3 = tree({
      'a/Dockerfile': 'FROM scratch\nCOPY . /app\n',
      'a/Dockerfile.dev': 'FROM scratch\nCOPY . /dev\n',
      'a/Dockerfile.dev.dockerignore': 'x\n',
    });
    const d3 = consolidateDockerfiles(dir3, join(dir3, 'out'))!;
    expect(d3.unproven.map((u) => u.difference)).toEqual(["its ignore rules differ from another Dockerfile's in a"]);
    expect(Object.keys(d3.targets).sort()).toEqual(['a/Dockerfile', 'a/Dockerfile.dev']);
    // a Dockerfile without FROM: named, not a crash
    const d4 = consolidateDockerfiles(tree({ 'Dockerfile': 'FROM scratch\n', 'x.Dockerfile': 'RUN true\n' }), '/nonexistent')!;
    expect(d4.unproven).toEqual([{ file: 'x.Dockerfile', difference: 'it has no FROM instruction' }]);
  });
});

describe('consolidate: builds', () => {
  it("a service that built an original Dockerfile builds its target (stages renamed); inline Dockerfiles, variables and other Dockerfiles are left as written", () => {
    const env = (extra: string) => `services:
  a:
    build: ./a
  b:
    build: {context: ./a, dockerfile: Dockerfile.dev, target: deps, args: {X: "1"}}
  inline:
    build: {context: ., dockerfile_inline: "FROM scratch"}
  vary:
    build: ./\${WHERE:-a}
  other:
    build: ./elsewhere
${extra}`;
    const dir = tree({ 'compose.yaml': env(''), 'compose.prod.yaml': env('    read_only: true\n') });
    const out = join(dir, 'out');
    const builds = {
      dockerfile: join(out, 'Dockerfile'),
      originals: new Map<string, { target: string; stages: Record<string, string> }>([
        [join(dir, 'a/Dockerfile'), { target: 'a', stages: { 0: 'a' } }],
        [join(dir, 'a/Dockerfile.dev'), { target: 'a-dev', stages: { deps: 'a-dev--deps', 1: 'a-dev' } }],
      ]),
    };
    const r = consolidateCompose(dir, out, builds)!;
    expect(r.unproven).toEqual([]);
    expect(r.builds).toBe(4);
    const base = jsyaml.load(r.filesAfter.find((f) => f.name === 'compose.base.yaml')!.text) as { services: Record<string, { build: unknown }> };
    expect(base.services.a!.build).toEqual({ context: '.', dockerfile: 'out/Dockerfile', target: 'a' });
    expect(base.services.b!.build).toEqual({ context: '.', dockerfile: 'out/Dockerfile', target: 'a-dev--deps', args: { X: '1' } });
    expect(base.services.inline!.build).toEqual({ context: '.', dockerfile_inline: 'FROM scratch' });
    expect(base.services.vary!.build).toBe('./${WHERE:-a}');
    expect(base.services.other!.build).toBe('./elsewhere');
  });
});

describe('consolidate: examples/sprawl', () => {
  it('8 Compose files and 8 Dockerfiles: at most 8 files out, at most half the lines, every original proven (its tiers: consolidate-tiers.test.ts)', () => {
    const dir = join(import.meta.dirname, '..', '..', 'examples', 'sprawl');
    // as a user's code would: by the package's name (the Compose builds retargeted at the new Dockerfile)
    const r = consolidate(dir);
    const [c, d] = [r.compose!, r.dockerfiles!];
    expect(r.unproven).toBe(0);
    expect(c.builds).toBeGreaterThan(0);
    expect(Object.keys(c.compose)).toHaveLength(8);
    expect(Object.keys(d.targets)).toHaveLength(8);
    expect([...c.unproven, ...d.unproven]).toEqual([]);
    expect(c.filesAfter.length + 1 + (d.dockerignore === undefined ? 0 : 1)).toBeLessThanOrEqual(8);
    expect(d.dockerignore).toMatch(/^api\/node_modules$/m);
    expect((c.linesAfter + d.linesAfter) * 2).toBeLessThanOrEqual(c.linesBefore + d.linesBefore);
    expect(c.identical).toEqual([['docker-compose.ci.yml', 'docker-compose.test.yml']]);
    // no shared stage without instructions of its own (a branch right at FROM uses the image itself)
    expect(d.dockerfile).not.toMatch(/AS base-\d+\n(\n|$)/);
  });
});

describe('consolidate: variables', () => {
  it('keeps ${VARIABLES} as written (the new files still follow the environment)', () => {
    const f = 'services:\n  a:\n    image: acme/a:${TAG:-1}\n    ports: ["${PORT:-80}:80"]\n    environment: { X: "${X}" }\n';
    const dir = tree({ 'compose.yaml': f, 'compose.prod.yaml': `${f}    read_only: true\n` });
    const r = consolidateCompose(dir, join(dir, 'out'))!;
    expect(r.unproven).toEqual([]);
    expect(r.variables).toBe('kept');
    const base = r.filesAfter.find((x) => x.name === 'compose.base.yaml')!.text;
    expect(base).toMatch(/image: acme\/a:\$\{TAG:-1\}/);
    expect(base).toMatch(/\$\{PORT:-80\}:80/);
    // and the replacement follows a changed environment as the original does
    const out = tree(Object.fromEntries(r.filesAfter.map((x) => [x.name, x.text])));
    const env = { TAG: '9', PORT: '81', X: 'y' };
    const a = cli(['-p', 'v', '-f', 'compose.prod.yaml', 'config', '--format', 'json'], { cwd: dir, env });
    const b = cli(['-p', 'v', '--project-directory', dir, ...r.compose['compose.prod.yaml']!.flatMap((x) => ['-f', join(out, x)]), 'config', '--format', 'json'], { cwd: dir, env });
    expect(b.code, b.stderr).toBe(0);
    expect(JSON.parse(b.stdout)).toEqual(JSON.parse(a.stdout));
    expect(a.stdout).toMatch(/acme\/a:9/);
  });
});
