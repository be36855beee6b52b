/**
 * consolidate's three tiers on two sprawls, checked without consolidate's own proof: examples/sprawl
 * (8 Compose files) and test/fixtures-sprawl2 (12 Compose files: dev, local, quick, test, ci,
 * optimized, prod, production-secure, hardened, monitoring, staging and the default, with
 * hardening, performance and monitoring recurring across them). Each comes out as a base, one
 * overlay per environment and at most three cross-cutting overlays, each original in at most four
 * files, fewer files and lines than before; and each original, loaded here with the loader, equals
 * its new files loaded the same way (with the profiles the migration table gives it).
 */
import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { consolidate, loadProject, projectModel, writeConsolidation } from 'dockyard';
import { cleanupTrees, cli, tree } from '../helpers/fs.js';

afterAll(cleanupTrees);

type Rec = Record<string, any>;
const ROOT = join(import.meta.dirname, '..', '..');
const lines = (text: string) => text.split('\n').length - (text.endsWith('\n') ? 1 : 0);

/** The canonical model of some files, as `dockyard config` prints it (the shell's COMPOSE_PROFILES left out). */
function load(files: string[], projectDirectory: string | undefined, profiles: string[] = []): Rec {
  const { COMPOSE_PROFILES: _p, ...environment } = process.env;
  const m = projectModel(loadProject({ files, projectDirectory, projectName: 'same', profiles, environment }), { format: 'json' });
  delete m.name;
  return m;
}

/**
 * Consolidates `dir` into a scratch folder and checks the layout and every original against its
 * new files; returns what the checks found, for the sprawl's own expectations.
 */
function check(dir: string) {
  const out = join(tree({}), 'out');
  const c = consolidate(dir, out);
  expect(c.unproven).toBe(0);
  writeConsolidation(c);
  const r = c.compose!;
  const manifest = JSON.parse(readFileSync(join(out, 'consolidate.json'), 'utf8')) as { compose: Record<string, string[]>; profiles: Record<string, string[]>; dockerfiles: Record<string, { dockerfile: string; target: string }> };
  const originals = Object.keys(manifest.compose).sort();
  const written = r.filesAfter.map((f) => f.name).sort();

  // the layout: a base, one overlay per environment, at most three cross-cutting overlays
  const envFiles = r.tiers.environments.map((e) => e.file);
  const crossFiles = r.tiers.crossCutting.map((x) => x.file);
  expect(written).toEqual(['compose.base.yaml', ...envFiles, ...crossFiles].sort());
  expect(crossFiles.length).toBeLessThanOrEqual(3);
  for (const f of originals) {
    const list = manifest.compose[f]!;
    expect(list[0], f).toBe('compose.base.yaml');
    expect(list.length, f).toBeLessThanOrEqual(4);
    // at most one environment overlay, then at most two cross-cutting ones
    expect(list.slice(1).filter((x) => envFiles.includes(x)).length, f).toBeLessThanOrEqual(1);
    expect(list.slice(1).filter((x) => crossFiles.includes(x)).length, f).toBeLessThanOrEqual(2);
    expect(list.slice(1).every((x) => envFiles.includes(x) || crossFiles.includes(x)), f).toBe(true);
    if (list.length > 1 && envFiles.includes(list[1]!)) expect(list.slice(2).every((x) => crossFiles.includes(x)), f).toBe(true);
  }
  // an environment overlay is named after one of the originals that use it
  for (const e of r.tiers.environments) {
    const names = e.originals.map((o) => o.replace(/\.ya?ml$/, '').replace(/^(docker-)?compose([._-]|$)/, '') || 'default');
    expect(names, e.file).toContain(e.file.replace(/^compose\.|\.yaml$/g, ''));
  }
  // fewer files, fewer lines (counted here, on what was written)
  const before = originals.reduce((n, f) => n + lines(readFileSync(join(dir, f), 'utf8')), 0);
  const after = written.reduce((n, f) => n + lines(readFileSync(join(out, f), 'utf8')), 0);
  expect(written.length).toBeLessThan(originals.length);
  expect(after).toBeLessThan(before);
  expect([r.linesBefore, r.linesAfter]).toEqual([before, after]);

  // every original equals its new files, both loaded here: the services that built an original
  // Dockerfile build its target in the new one (consolidate.json says which), and a profile the
  // new files put on an optional service only decides whether it runs
  const profiled = new Set(r.tiers.profiles.flatMap((p) => p.services));
  for (const f of originals) {
    const want = load([join(dir, f)], undefined);
    for (const s of Object.values(want.services as Record<string, Rec>)) {
      if (!s.build) continue;
      const df = manifest.dockerfiles[relative(dir, join(s.build.context, s.build.dockerfile ?? 'Dockerfile'))];
      if (!df) continue;
      const { context: _c, dockerfile: _d, target: _t, ...rest } = s.build;
      s.build = { ...rest, context: dir, dockerfile: join(out, df.dockerfile), target: df.target };
    }
    const got = load(manifest.compose[f]!.map((x) => join(out, x)), dir, manifest.profiles[f] ?? []);
    for (const [name, s] of Object.entries(got.services as Record<string, Rec>)) if (profiled.has(name)) delete s.profiles;
    expect(got, f).toEqual(want);
  }
  return { c, r, out, originals, written, before, after, manifest };
}

describe('consolidate: three tiers on examples/sprawl', () => {
  it('8 files become a base, 3 environments and 1 cross-cutting overlay; monitoring is a profile', () => {
    const dir = join(ROOT, 'examples', 'sprawl');
    const { r, manifest, written, before, after } = check(dir);
    expect(written).toEqual(['compose.base.yaml', 'compose.ci.yaml', 'compose.debugging.yaml', 'compose.dev.yaml', 'compose.prod.yaml']);
    expect([before, after]).toEqual([524, r.linesAfter]);
    expect(r.tiers.environments.map((e) => [e.file, e.originals])).toEqual([
      ['compose.ci.yaml', ['docker-compose.ci.yml', 'docker-compose.test.yml']],
      ['compose.dev.yaml', ['docker-compose.debug.yml', 'docker-compose.dev.yml']],
      ['compose.prod.yaml', ['docker-compose.prod.yml', 'docker-compose.staging.yml']],
    ]);
    // debug is dev with the debugger: one concern, named by what it does
    expect(r.tiers.crossCutting.map((x) => [x.name, x.originals])).toEqual([['debugging', ['docker-compose.debug.yml']]]);
    expect(manifest.compose['docker-compose.debug.yml']).toEqual(['compose.base.yaml', 'compose.dev.yaml', 'compose.debugging.yaml']);
    // the monitoring services are optional: a profile in the base, not an overlay
    expect(r.tiers.profiles).toEqual([{ name: 'monitoring', services: ['prometheus', 'node-exporter'], originals: ['docker-compose.monitoring.yml', 'docker-compose.staging.yml'] }]);
    expect(manifest.profiles).toEqual({ 'docker-compose.monitoring.yml': ['monitoring'], 'docker-compose.staging.yml': ['monitoring'] });
    expect(manifest.compose['docker-compose.staging.yml']).toEqual(['compose.base.yaml', 'compose.prod.yaml']);
    expect(manifest.compose['docker-compose.yml']).toEqual(['compose.base.yaml']);
    expect(r.tiers.notes).toEqual([]);
  });

  it('the migration table, run as printed (up -> config), gives each original its project, --profile and all', () => {
    const dir = join(ROOT, 'examples', 'sprawl');
    const out = join(tree({}), 'out');
    const w = cli(['consolidate', '.', '--out', out], { cwd: dir });
    expect(w.code, w.stderr).toBe(0);
    expect(w.stdout).toMatch(/^ {2}profile monitoring: prometheus, node-exporter, in the base, enabled by docker-compose\.monitoring\.yml, docker-compose\.staging\.yml with --profile monitoring \(optional services: a profile, not an overlay\)$/m);
    expect(w.stdout).toMatch(/^proven: docker-compose\.staging\.yml = compose\.base\.yaml \+ compose\.prod\.yaml --profile monitoring$/m);
    const manifest = JSON.parse(readFileSync(join(out, 'consolidate.json'), 'utf8')) as { dockerfiles: Record<string, { target: string }> };
    const rows = [...w.stdout.matchAll(/^docker compose -f (\S+) up +dockyard (.*) up$/gm)];
    expect(rows).toHaveLength(8);
    const config = (args: string[]) => {
      const r = cli([...args, 'config', '--format', 'json'], { cwd: dir, env: { COMPOSE_PROFILES: '' } });
      expect(r.code, r.stderr).toBe(0);
      return JSON.parse(r.stdout) as Rec;
    };
    for (const [, f, after] of rows) {
      const want = config(['-f', f!]);
      // (the builds of the original Dockerfiles build their targets in the new one)
      for (const s of Object.values(want.services as Record<string, Rec>)) {
        const t = s.build && manifest.dockerfiles[relative(dir, join(s.build.context, s.build.dockerfile ?? 'Dockerfile'))];
        if (t) s.build = { context: dir, dockerfile: join(out, 'Dockerfile'), target: t.target };
      }
      const got = config(after!.split(' '));
      for (const s of ['prometheus', 'node-exporter']) delete (got.services as Record<string, Rec>)[s]?.profiles;
      expect(got, f).toEqual(want);
    }
  });
});

describe('consolidate: three tiers on a larger sprawl (test/fixtures-sprawl2)', () => {
  const dir = join(ROOT, 'test', 'fixtures-sprawl2');

  it('12 files become a base, 4 environments and 3 cross-cutting overlays (hardening, performance, monitoring); mail is a profile', () => {
    const { r, out, manifest, written, before, after } = check(dir);
    expect(written).toHaveLength(8);
    expect(after * 3).toBeLessThan(before);
    expect(r.tiers.environments.map((e) => [e.file, e.originals])).toEqual([
      ['compose.test.yaml', ['docker-compose.ci.yml', 'docker-compose.test.yml']],
      ['compose.dev.yaml', ['docker-compose.dev.yml', 'docker-compose.local.yml']],
      ['compose.prod.yaml', ['docker-compose.prod.yml', 'docker-compose.production-secure.yml', 'docker-compose.staging.yml']],
      ['compose.quick.yaml', ['docker-compose.quick.yml']],
    ]);
    expect(r.tiers.crossCutting.map((x) => [x.name, x.originals])).toEqual([
      ['performance', ['docker-compose.optimized.yml', 'docker-compose.prod.yml', 'docker-compose.production-secure.yml', 'docker-compose.staging.yml']],
      ['hardening', ['docker-compose.ci.yml', 'docker-compose.hardened.yml', 'docker-compose.production-secure.yml']],
      ['monitoring', ['docker-compose.local.yml', 'docker-compose.monitoring.yml', 'docker-compose.staging.yml']],
    ]);
    expect(manifest.compose['docker-compose.production-secure.yml']).toEqual(['compose.base.yaml', 'compose.prod.yaml', 'compose.performance.yaml', 'compose.hardening.yaml']);
    expect(manifest.compose['docker-compose.hardened.yml']).toEqual(['compose.base.yaml', 'compose.hardening.yaml']);
    expect(manifest.compose['docker-compose.yml']).toEqual(['compose.base.yaml']);
    // mail: in five originals of three environments, the same everywhere: a profile
    expect(r.tiers.profiles).toEqual([{ name: 'mail', services: ['mail'], originals: ['docker-compose.ci.yml', 'docker-compose.dev.yml', 'docker-compose.local.yml', 'docker-compose.quick.yml', 'docker-compose.test.yml'] }]);
    // the monitoring services go with the monitoring overlay: the same originals add both
    expect(readFileSync(join(out, 'compose.monitoring.yaml'), 'utf8')).toMatch(/^  prometheus:$/m);
    // the base holds the values most environments share; the few that differ change or reset them
    const base = readFileSync(join(out, 'compose.base.yaml'), 'utf8');
    expect(base).toMatch(/^      LOG_LEVEL: info$/m);
    expect(base).toMatch(/^    restart: unless-stopped$/m);
    const prod = readFileSync(join(out, 'compose.prod.yaml'), 'utf8');
    expect(prod).toMatch(/^    restart: always$/m);
    expect(prod).toMatch(/^    ports: !reset null$/m);
    expect(readFileSync(join(out, 'compose.performance.yaml'), 'utf8')).toMatch(/^      WORKERS: '8'$/m);
    expect(readFileSync(join(out, 'compose.quick.yaml'), 'utf8')).toMatch(/^  worker: !reset null$/m);
    expect(r.tiers.notes).toEqual([]);
  });
});
