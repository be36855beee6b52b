/**
 * The whole plan of `up` (networks, volumes, images, containers), table-driven and without an
 * engine; then `up` against a recording fake engine makes exactly the calls its plan names.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { openProject } from 'dockyard';
import { loadProject } from '../../src/load/index.js';
import { serviceConfigDigest, serviceConfigHash } from '../../src/model/serialize.js';
import { formatPlan, formatResources, planFailure, planUp } from '../../src/converge/plan.js';
import type { Observed, Plan, PlanOptions } from '../../src/converge/plan.js';
import type { Project } from '../../src/model/project.js';
import { cleanupTrees, tree } from '../helpers/fs.js';
import { FakeEngine } from '../helpers/fake-engine.js';

afterEach(cleanupTrees);

const load = (yaml: string): Project => loadProject({ workingDir: tree({ 'compose.yaml': yaml, 'app/Dockerfile': 'FROM scratch\n' }), projectName: 'p', environment: {} });
const NOW = Date.parse('2026-12-05T12:00:00Z');
const HOUR = 3_600_000;

const seen = (o: Partial<Observed> = {}): Observed => ({ containers: [], networks: {}, volumes: {}, images: {}, staleBuilds: new Set(), now: NOW, ...o });

describe('planUp: images by --build, --pull and pull_policy (written by hand)', () => {
  const rows: Array<{ name: string; service: string; images?: Observed['images']; stale?: string[]; opts?: PlanOptions; expect: [string, string] }> = [
    { name: 'missing policy, present: used', service: 'service: {image: x}', images: { x: { id: 'sha256:x', pulledAt: 0 } }, expect: ['use', 'present'] },
    { name: 'missing policy, absent: pulled', service: 'service: {image: x}', expect: ['pull', 'not present'] },
    { name: 'always, present: pulled', service: 'service: {image: x, pull_policy: always}', images: { x: { id: 'sha256:x', pulledAt: NOW } }, expect: ['pull', 'pull_policy: always'] },
    { name: '--pull always over missing', service: 'service: {image: x}', images: { x: { id: 'sha256:x', pulledAt: NOW } }, opts: { pull: 'always' }, expect: ['pull', '--pull always'] },
    { name: 'never, present: used', service: 'service: {image: x, pull_policy: never}', images: { x: { id: 'sha256:x', pulledAt: 0 } }, expect: ['use', 'present'] },
    { name: 'never, absent: the run fails before anything', service: 'service: {image: x, pull_policy: never}', expect: ['fail', 'image x for service "service" is not present, and its pull policy is never'] },
    { name: 'daily, pulled 2 days ago: refreshed', service: 'service: {image: x, pull_policy: daily}', images: { x: { id: 'sha256:x', pulledAt: NOW - 48 * HOUR } }, expect: ['pull', 'last pulled more than 24h0m0s ago'] },
    { name: 'daily, pulled an hour ago: used', service: 'service: {image: x, pull_policy: daily}', images: { x: { id: 'sha256:x', pulledAt: NOW - HOUR } }, expect: ['use', 'present'] },
    { name: 'every_12h, pulled 13 h ago: refreshed', service: 'service: {image: x, pull_policy: every_12h}', images: { x: { id: 'sha256:x', pulledAt: NOW - 13 * HOUR } }, expect: ['pull', 'last pulled more than 12h0m0s ago'] },
    { name: 'build, never built: built', service: 'service: {build: ./app}', expect: ['build', 'not built yet'] },
    { name: 'build, sources changed: built', service: 'service: {build: ./app}', images: { 'p-service': { id: 'sha256:b', pulledAt: 0 } }, stale: ['service'], expect: ['build', 'its sources changed'] },
    { name: 'build, up to date: used', service: 'service: {build: ./app}', images: { 'p-service': { id: 'sha256:b', pulledAt: 0 } }, expect: ['use', 'up to date with its sources'] },
    { name: 'build, --build: built though current', service: 'service: {build: ./app}', images: { 'p-service': { id: 'sha256:b', pulledAt: 0 } }, opts: { build: 'always' }, expect: ['build', '--build'] },
    { name: 'build, pull_policy build: built every time', service: 'service: {build: ./app, pull_policy: build}', images: { 'p-service': { id: 'sha256:b', pulledAt: 0 } }, expect: ['build', 'pull_policy: build'] },
    { name: 'build, --no-build, not built: fails', service: 'service: {build: ./app}', opts: { build: 'never' }, expect: ['fail', 'image p-service for service "service" is not built'] },
    { name: 'build, --no-build, built: used', service: 'service: {build: ./app}', images: { 'p-service': { id: 'sha256:b', pulledAt: 0 } }, opts: { build: 'never' }, expect: ['use', 'present'] },
    { name: 'build with pull_policy always: pulled, not built', service: 'service: {image: reg/x, build: ./app, pull_policy: always}', expect: ['pull', 'not present'] },
  ];
  for (const r of rows) {
    it(r.name, () => {
      const p = load(`services:\n  ${r.service}\n`);
      const plan = planUp(p, seen({ images: r.images ?? {}, staleBuilds: new Set(r.stale ?? []) }), r.opts);
      expect(plan.images.map((i) => [i.action, i.reason])).toEqual([r.expect]);
      // a failing image step is the run's error, before any change
      expect(planFailure(plan)?.message).toBe(r.expect[0] === 'fail' ? r.expect[1] : undefined);
    });
  }

  it('an image to be pulled recreates the container that runs the old one; the dry run says so', () => {
    const p = load('services:\n  web: {image: x, pull_policy: always}\n');
    const s = p.services.web!;
    const c = { id: 'c1', name: 'p-web-1', image: 'x', imageId: 'sha256:x', state: 'running', status: '', labels: {}, created: 0, ports: [], service: 'web', number: 1, oneoff: false, configHash: serviceConfigHash(s), configDigest: serviceConfigDigest(s) };
    const plan = planUp(p, seen({ containers: [c], images: { x: { id: 'sha256:x', pulledAt: NOW } } }));
    expect(formatResources(plan)).toEqual(['image x: pull (pull_policy: always)', 'network p_default: create']);
    expect(formatPlan(plan)).toEqual(['web  p-web-1  recreate: image will be pulled']);
  });
});

describe('planUp: networks and volumes (written by hand)', () => {
  const yaml = 'services:\n  a: {image: x, networks: [front, ext], volumes: [data:/d, shared:/s]}\nnetworks: {front: {}, ext: {external: true}}\nvolumes: {data: {}, shared: {external: true}}\n';
  const images = { x: { id: 'sha256:x', pulledAt: 0 } };

  it('missing ones are created; present ones kept; an external one that is missing fails the run first', () => {
    const p = load(yaml);
    const plan = planUp(p, seen({ images }));
    expect(plan.networks.map((r) => `${r.name} ${r.action}`)).toEqual(['p_ext fail', 'p_front create'].map((x) => x.replace('p_ext', 'ext')));
    expect(plan.volumes.map((r) => `${r.name} ${r.action}`)).toEqual(['p_data create', 'shared fail']);
    expect(planFailure(plan)?.message).toBe('external network "ext" does not exist');
    expect(formatResources(plan)).toEqual(['network ext: missing (external: up would fail)', 'network p_front: create', 'volume p_data: create', 'volume shared: missing (external: up would fail)']);
  });

  it('present ones are kept; a network another project made is used with a warning', () => {
    const p = load(yaml);
    const plan = planUp(p, seen({ images, networks: { ext: { labels: {} }, p_front: { labels: { 'com.docker.compose.project': 'other' } } }, volumes: { p_data: true, shared: true } }));
    expect([...plan.networks, ...plan.volumes].map((r) => r.action)).toEqual(['keep', 'keep', 'keep', 'keep']);
    expect(plan.warnings).toEqual(['network p_front belongs to project other; using it anyway']);
    expect(planFailure(plan)).toBeUndefined();
    expect(formatResources(plan)).toEqual([]);
  });
});

/** The engine calls a plan stands for, worked out from the plan alone (as a reader of --dry-run would). */
function callsOf(plan: Plan, noStart = false): string[] {
  const calls: string[] = [];
  for (const r of [...plan.networks, ...plan.volumes]) if (r.action === 'create') calls.push(`create ${r.kind} ${r.name}`);
  for (const i of plan.images) if (i.action === 'pull') calls.push(`pull image ${i.ref}`);
  for (const sp of plan.services) {
    for (const st of sp.steps) {
      if (st.action === 'create') calls.push(`create container ${st.name}`, ...(noStart ? [] : [`start container ${st.name}`]));
      if (st.action === 'start' && !noStart) calls.push(`start container ${st.name}`);
      if (st.action === 'remove') calls.push(`stop container ${st.name}`, `remove container ${st.name}`);
      if (st.action === 'recreate') {
        const tmp = `${st.container.id.slice(0, 12)}_${st.name}`;
        calls.push(`create container ${tmp}`, `stop container ${st.container.name}`, `remove container ${st.container.name}`, `rename container ${tmp} to ${st.name}`, ...(noStart ? [] : [`start container ${st.name}`]));
      }
    }
  }
  for (const o of plan.orphans) if (o.action === 'remove') calls.push(`stop container ${o.container.name}`, `remove container ${o.container.name}`);
  return calls.sort();
}

describe('up carries out exactly the plan --dry-run prints (a recording fake engine)', () => {
  it('networks, volumes, pulls, creates, recreates, starts, scale-downs and orphans: the calls made are the plan', async () => {
    const dir = tree({
      'compose.yaml': [
        'services:',
        '  db: {image: db, pull_policy: always, volumes: [data:/var/lib/db]}',
        '  cache: {image: cache}',
        '  web: {image: web, environment: {MODE: "2"}, depends_on: [db, cache], networks: [front, default]}',
        '  worker: {image: web, command: ["work"], scale: 1}',
        '  idle: {image: web, command: ["idle"]}',
        'networks: {front: {}}',
        'volumes: {data: {}}',
        '',
      ].join('\n'),
    });
    const fake = new FakeEngine();
    fake.images.set('db', 'sha256:db0').set('web', 'sha256:web0');
    fake.networks.set('p_default', { 'com.docker.compose.project': 'p' });
    const old = loadProject({ workingDir: tree({ 'compose.yaml': 'services:\n  web: {image: web, environment: {MODE: "1"}}\n' }), projectName: 'p', environment: {} });
    const h = await openProject({ workingDir: dir, projectName: 'p', environment: {}, engine: fake.engine });
    const labels = (service: string, n: number, s = h.model.services[service]!) => ({
      'com.docker.compose.project': 'p', 'com.docker.compose.service': service, 'com.docker.compose.container-number': String(n), 'com.docker.compose.oneoff': 'False',
      'com.docker.compose.config-hash': serviceConfigHash(s), 'dev.dockyard.config-digest': serviceConfigDigest(s),
    });
    fake.addContainer('p-db-1', labels('db', 1), { imageId: 'sha256:db0', image: 'db' }); // pull_policy always: recreated on the new image
    fake.addContainer('p-web-1', labels('web', 1, old.services.web!), { imageId: 'sha256:web0', image: 'web' }); // changed environment
    fake.addContainer('p-worker-1', labels('worker', 1), { imageId: 'sha256:web0', image: 'web' });
    fake.addContainer('p-worker-2', labels('worker', 2), { imageId: 'sha256:web0', image: 'web' }); // beyond scale 1
    fake.addContainer('p-idle-1', labels('idle', 1), { state: 'exited', imageId: 'sha256:web0', image: 'web' }); // current, stopped
    fake.addContainer('p-gone-1', { ...labels('idle', 1), 'com.docker.compose.service': 'gone' }, { imageId: 'sha256:web0' }); // orphan

    const opts = { removeOrphans: true };
    const plan = await h.plan(opts);
    expect(fake.calls).toEqual([]); // the plan changes nothing
    // the dry run's lines, as `up --dry-run` prints them (a snapshot of the code under test, kept for reading)
    expect([...formatResources(plan), ...formatPlan(plan)]).toEqual([
      'image cache: pull (not present)',
      'image db: pull (pull_policy: always)',
      'network p_front: create',
      'volume p_data: create',
      'cache     p-cache-1   create',
      'db        p-db-1      recreate: image will be pulled',
      'idle      p-idle-1    start: up to date, not running',
      'worker    p-worker-2  remove: scale 1',
      'worker    p-worker-1  keep: running, up to date',
      'web       p-web-1     recreate: configuration changed: depends_on, environment, networks',
      '(orphan)  p-gone-1    remove',
    ]);
    // what a reader of that plan expects the engine to be asked, written from the plan alone
    const expected = callsOf(plan);
    await h.up(opts);
    expect(fake.calls.filter((c) => !c.startsWith('connect ')).sort()).toEqual(expected);
    // and the engine's records agree: one container per wanted number, the orphan and the surplus gone
    expect([...fake.containers.values()].map((c) => `${c.name} ${c.state}`).sort()).toEqual(['p-cache-1 running', 'p-db-1 running', 'p-idle-1 running', 'p-web-1 running', 'p-worker-1 running']);
  });
});
