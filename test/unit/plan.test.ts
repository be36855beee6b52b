/** The up planner, table-driven and without an engine (as Compose's plan_test.go). */
import { describe, expect, it } from 'vitest';
import { loadProject } from '../../src/load/index.js';
import { serviceConfigDigest, serviceConfigHash } from '../../src/model/serialize.js';
import { formatPlan, planContainers as planUp, WILL_BUILD } from '../../src/converge/plan.js';
import type { ProjectContainer } from '../../src/converge/state.js';
import type { Project } from '../../src/model/project.js';
import { cleanupTrees, tree } from '../helpers/fs.js';
import { afterEach } from 'vitest';

afterEach(cleanupTrees);

const project = (yaml: string): Project => loadProject({ workingDir: tree({ 'compose.yaml': yaml }), projectName: 'p', environment: {} });

/** A container as the engine would list it, made from a service's definition (current unless changed). */
function container(p: Project, service: string, number: number, o: { state?: string; image?: string; from?: Project } = {}): ProjectContainer {
  const s = (o.from ?? p).services[service]!;
  return {
    id: `${service}-${number}-id`,
    name: `p-${service}-${number}`,
    image: 'img',
    imageId: o.image ?? 'sha256:img',
    state: o.state ?? 'running',
    status: '',
    labels: {},
    created: 0,
    ports: [],
    service,
    number,
    oneoff: false,
    configHash: serviceConfigHash(s),
    configDigest: serviceConfigDigest(s),
  };
}

const BASE = 'services:\n  db: {image: db, environment: {A: "1"}}\n  web: {image: web, depends_on: {db: {condition: service_started, restart: true}}}\n  job: {image: job}\n';
const CHANGED = BASE.replace('A: "1"', 'A: "2"');

type Row = { name: string; yaml: string; observed: (p: Project) => ProjectContainer[]; opts?: Record<string, unknown>; images?: Record<string, string>; expect: Record<string, string[]> };

const rows: Row[] = [
  { name: 'nothing exists: everything is created', yaml: BASE, observed: () => [], expect: { db: ['create 1'], job: ['create 1'], web: ['create 1'] } },
  {
    name: 'all current and running: kept',
    yaml: BASE,
    observed: (p) => [container(p, 'db', 1), container(p, 'web', 1), container(p, 'job', 1)],
    expect: { db: ['keep 1'], job: ['keep 1'], web: ['keep 1'] },
  },
  {
    name: 'a stopped current container is started',
    yaml: BASE,
    observed: (p) => [container(p, 'db', 1, { state: 'exited' }), container(p, 'web', 1), container(p, 'job', 1)],
    expect: { db: ['start 1'], job: ['keep 1'], web: ['keep 1'] },
  },
  {
    name: 'changed environment: recreated, naming the key; restart: true recreates the dependent',
    yaml: CHANGED,
    observed: () => {
      const old = project(BASE);
      return [container(old, 'db', 1), container(old, 'web', 1), container(old, 'job', 1)];
    },
    expect: { db: ['recreate 1: configuration changed: environment'], job: ['keep 1'], web: ['recreate 1: dependency db is recreated (depends_on restart: true)'] },
  },
  {
    name: '--no-recreate keeps changed containers',
    yaml: CHANGED,
    opts: { noRecreate: true },
    observed: () => {
      const old = project(BASE);
      return [container(old, 'db', 1), container(old, 'web', 1), container(old, 'job', 1)];
    },
    expect: { db: ['keep 1'], job: ['keep 1'], web: ['keep 1'] },
  },
  {
    name: 'a new image id recreates',
    yaml: BASE,
    images: { job: 'sha256:new0000000000' },
    observed: (p) => [container(p, 'db', 1), container(p, 'web', 1), container(p, 'job', 1)],
    expect: { db: ['keep 1'], job: ['recreate 1: image changed (img -> new000000000)'], web: ['keep 1'] },
  },
  {
    name: 'an image to be rebuilt (dry run) recreates',
    yaml: BASE,
    images: { job: WILL_BUILD },
    observed: (p) => [container(p, 'db', 1), container(p, 'web', 1), container(p, 'job', 1)],
    expect: { db: ['keep 1'], job: ['recreate 1: image will be rebuilt'], web: ['keep 1'] },
  },
  {
    name: '--force-recreate recreates everything',
    yaml: BASE,
    opts: { forceRecreate: true },
    observed: (p) => [container(p, 'db', 1), container(p, 'web', 1), container(p, 'job', 1)],
    expect: { db: ['recreate 1: --force-recreate'], job: ['recreate 1: --force-recreate'], web: ['recreate 1: --force-recreate; dependency db is recreated (depends_on restart: true)'] },
  },
  {
    name: 'scale up creates the missing numbers, scale down removes the highest',
    yaml: BASE,
    opts: { scale: { job: 3, db: 1, web: 0 } },
    observed: (p) => [container(p, 'db', 1), container(p, 'db', 2), container(p, 'web', 1), container(p, 'job', 1)],
    expect: { db: ['remove 2: scale 1', 'keep 1'], job: ['keep 1', 'create 2', 'create 3'], web: ['remove 1: scale 0'] },
  },
  {
    name: 'a container of another tool without a digest: configuration changed (no keys)',
    yaml: CHANGED,
    observed: () => {
      const c = container(project(BASE), 'db', 1);
      delete c.configDigest;
      return [c];
    },
    opts: { services: ['db'] },
    expect: { db: ['recreate 1: configuration changed'] },
  },
];

describe('planContainers (the containers part of the plan)', () => {
  for (const r of rows) {
    it(r.name, () => {
      const p = project(r.yaml);
      const existing = r.observed(p);
      const names = (r.opts?.services as string[] | undefined) ?? Object.keys(p.services);
      const imageIds = new Map(names.map((n) => [n, r.images?.[n] ?? 'sha256:img']));
      const { services: _named, ...opts } = r.opts ?? {};
      void _named;
      const plan = planUp(p, { ...opts, services: names.map((n) => p.services[n]!), existing, imageIds });
      const got: Record<string, string[]> = {};
      for (const sp of plan.services) {
        got[sp.service] = sp.steps.map((st) => `${st.action} ${st.number}${st.action === 'recreate' ? `: ${st.reasons.join('; ')}` : st.action === 'remove' ? `: ${st.reason}` : ''}`);
      }
      expect(got).toEqual(r.expect);
      // dependencies come first
      const order = plan.services.map((sp) => sp.service);
      if (order.includes('web') && order.includes('db')) expect(order.indexOf('db')).toBeLessThan(order.indexOf('web'));
    });
  }

  it('lists orphans, to be removed only with removeOrphans', () => {
    const p = project(BASE);
    const orphan = { ...container(p, 'db', 1), service: 'gone', name: 'p-gone-1' };
    const keep = planUp(p, { services: [], existing: [orphan], imageIds: new Map() });
    expect(keep.orphans.map((o) => o.action)).toEqual(['keep']);
    const rm = planUp(p, { services: [], existing: [orphan], imageIds: new Map(), removeOrphans: true });
    expect(rm.orphans.map((o) => o.action)).toEqual(['remove']);
    expect(formatPlan(rm).at(-1)).toMatch(/^\(orphan\)\s+p-gone-1\s+remove$/);
  });

  it('prints one aligned line per container', () => {
    const p = project(CHANGED);
    const old = project(BASE);
    const plan = planUp(p, { services: Object.values(p.services), existing: [container(old, 'db', 1)], imageIds: new Map() });
    expect(formatPlan(plan)).toEqual(['db   p-db-1   recreate: configuration changed: environment', 'job  p-job-1  create', 'web  p-web-1  create']);
  });
});
