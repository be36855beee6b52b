/**
 * consolidate (Compose): the factoring on small cases, a property test (random environments built
 * from random overlays come back proven, each with its own overlays), and the CLI's output files,
 * reloaded independently of the tool and compared with the originals.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import jsyaml from 'js-yaml';
import { consolidateCompose, factor } from '../../src/consolidate/compose.js';
import { consolidateDockerfiles } from '../../src/consolidate/dockerfile.js';
import { consolidate } from 'dockyard';
import { cleanupTrees, cli, tree } from '../helpers/fs.js';

afterAll(cleanupTrees);

describe('consolidate: factoring', () => {
  it('puts what all share in the base and groups changes that occur together', () => {
    const f = factor({
      dev: { services: { api: { image: 'a:1', environment: { LOG: 'debug' }, ports: ['8080:80'] } } },
      test: { services: { api: { image: 'a:1', environment: { LOG: 'info' }, ports: ['8080:80'] } } },
      prod: { services: { api: { image: 'a:1', environment: { LOG: 'info' }, read_only: true } } },
    });
    expect(f.base).toEqual({ services: { api: { image: 'a:1' } } });
    const byName = Object.fromEntries(f.overlays.map((o) => [o.name, o]));
    expect(byName['not-prod']!.tree).toEqual({ services: { api: { ports: ['8080:80'] } } });
    expect(byName['not-dev']!.tree).toEqual({ services: { api: { environment: { LOG: 'info' } } } });
    expect(byName.dev!.tree).toEqual({ services: { api: { environment: { LOG: 'debug' } } } });
    expect(byName.prod!.tree).toEqual({ services: { api: { read_only: true } } });
    expect(byName.test).toBeUndefined();
    expect(f.files.test).toEqual(['not-prod', 'not-dev']);
    expect(f.identical).toEqual([]);
  });

  it('names identical environments', () => {
    const m = { services: { a: { image: 'x:1' } } };
    expect(factor({ a: m, b: structuredClone(m), c: { services: { a: { image: 'y:1' } } } }).identical).toEqual([['a', 'b']]);
  });
});

// a small seeded generator, so that a failure can be replayed
function rng(seed: number) {
  return () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
}

describe('consolidate: property', () => {
  it('random environments built from random overlays are all proven, and the files are smaller', () => {
    for (let seed = 1; seed <= 12; seed++) {
      const r = rng(seed);
      const pick = <T>(xs: T[]) => xs[Math.floor(r() * xs.length)]!;
      const services = ['api', 'web', 'db', 'worker', 'cache'].slice(0, 2 + Math.floor(r() * 4));
      // candidate overlays: each a few service keys
      const overlays = Array.from({ length: 4 }, (_, i) =>
        Object.fromEntries(
          services.filter(() => r() < 0.5).map((s) => [
            s,
            {
              ...(r() < 0.5 ? { environment: { [`K${i}`]: pick(['a', 'b', '1']) } } : {}),
              ...(r() < 0.4 ? { ports: [`${10000 + i * 10 + services.indexOf(s)}:80`] } : {}),
              ...(r() < 0.3 ? { read_only: true } : {}),
              ...(r() < 0.3 ? { volumes: [`v${i}:/data${i}`] } : {}),
              ...(r() < 0.3 ? { command: ['run', `--mode=${i}`] } : {}),
            },
          ]),
        ),
      );
      const files: Record<string, string> = {};
      const nEnv = 2 + Math.floor(r() * 5);
      for (let e = 0; e < nEnv; e++) {
        const svc: Record<string, Record<string, unknown>> = Object.fromEntries(services.map((s) => [s, { image: `${s}:1`, environment: { COMMON: 'yes' } }]));
        const vols = new Set<string>();
        for (const o of overlays.filter(() => r() < 0.5)) {
          for (const [s, keys] of Object.entries(o)) {
            const t = svc[s]!;
            for (const [k, v] of Object.entries(keys)) {
              if (k === 'environment') t.environment = { ...(t.environment as object), ...(v as object) };
              else if (k === 'ports' || k === 'volumes') t[k] = [...((t[k] as string[]) ?? []), ...(v as string[])];
              else t[k] = v;
              if (k === 'volumes') for (const x of v as string[]) vols.add(x.split(':')[0]!);
            }
          }
        }
        files[`compose.env${e}.yaml`] = jsyaml.dump({ services: svc, ...(vols.size ? { volumes: Object.fromEntries([...vols].map((v) => [v, {}])) } : {}) });
      }
      const dir = tree(files);
      const rep = consolidateCompose(dir, join(dir, 'consolidated'))!;
      expect(rep.unproven, `seed ${seed}`).toEqual([]);
      expect(rep.proven.sort(), `seed ${seed}`).toEqual(Object.keys(files).sort());
      expect(rep.compose[Object.keys(files)[0]!]![0]).toBe('compose.base.yaml');
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
    expect(report.stdout).toMatch(/proven: docker-compose\.prod\.yml = compose\.base\.yaml \+ compose\.not-dev\.yaml \+ compose\.prod\.yaml\n/);
    expect(report.stdout).toMatch(/identical: ci, default/);
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
    // the prod overlay holds what only prod has
    expect(jsyaml.load(readFileSync(join(dir, 'out', 'compose.prod.yaml'), 'utf8'))).toEqual({ services: { api: { read_only: true } } });
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
  it('8 Compose files and 8 Dockerfiles: at most 8 files out, at most half the lines, every original proven', () => {
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
    expect(c.identical).toEqual([['ci', 'test']]);
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
