import { describe, expect, it } from 'vitest';
import { buildTimeline } from '../../src/converge/up.js';
import { timelineGantt, timelineSummary, timelineSvg } from '../../src/cli/render.js';
import { Dag } from '../../src/graph/dag.js';

describe('timeline', () => {
  const entries = [
    { service: 'db', queued: 0, starting: 10, started: 400, ready: 1400, deps: [] },
    { service: 'cache', queued: 0, starting: 10, started: 380, ready: 500, deps: [] },
    { service: 'migrate', queued: 0, starting: 1410, started: 1800, exited: 2100, deps: ['db'] },
    { service: 'api', queued: 0, starting: 2110, started: 2500, ready: 3000, deps: ['migrate', 'cache'] },
    { service: 'worker', queued: 0, starting: 510, started: 900, ready: 900, deps: ['cache'] },
  ];

  it('finds the critical path: the chain of waits that decided the total', () => {
    const t = buildTimeline(1000, entries);
    expect(t.totalMs).toBe(3000);
    expect(t.criticalPath).toEqual({ services: ['db', 'migrate', 'api'], ms: 3000 });
    expect(timelineSummary(t)).toBe('up in 3.00s; critical path: db → migrate → api (3.00s)');
  });

  it('draws a Gantt chart and an SVG picture', () => {
    const t = buildTimeline(1000, entries);
    const g = timelineGantt(t, 30).split('\n');
    expect(g[0]).toMatch(/^service +0 +3\.00s$/);
    const api = g.find((l) => l.startsWith('api'))!;
    // waiting until ~2.1 s of 3 s, then starting, then up to ready at the right edge
    expect(api.indexOf('░')).toBe(api.indexOf('·') + 21);
    expect(api).toMatch(/█+ +start 2\.50s, ready 3\.00s$/);
    expect(g.find((l) => l.startsWith('migrate'))).toMatch(/done 2\.10s/);
    const svg = timelineSvg(t);
    expect(svg.match(/<text[^>]*>(db|cache|migrate|api|worker)<\/text>/g)).toHaveLength(5);
    expect(svg).toMatch(/<text x="10" y="\d+" font-weight="bold">api<\/text>/);
  });

  it('the dependency graph gives layers, order and the longest weighted path', () => {
    const d = new Dag();
    d.addEdge('api', 'db');
    d.addEdge('api', 'cache');
    d.addEdge('web', 'api');
    d.addNode('solo');
    expect(d.layers()).toEqual([['cache', 'db', 'solo'], ['api'], ['web']]);
    expect(d.closure(['api'])).toEqual(new Set(['api', 'db', 'cache']));
    expect(d.criticalPath((n) => ({ db: 5, cache: 1, api: 2, web: 1, solo: 3 })[n]!)).toEqual({ path: ['db', 'api', 'web'], total: 8 });
    d.addEdge('db', 'web');
    expect(d.findCycle()).toEqual(['api', 'db', 'web', 'api']);
  });
});
