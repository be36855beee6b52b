/** Recreating containers: safe (create first), data in anonymous volumes kept, --dry-run, links. */
import { afterEach, describe, expect, it } from 'vitest';
import './setup.js';
import { docker, useProjects } from '../helpers/engine.js';

const project = useProjects(afterEach);
const IMG = '${DOCKYARD_BASE_IMAGE}';

describe('recreate', () => {
  it('keeps the data of anonymous volumes (volumes: - /data, and a VOLUME of the image) across a recreation', () => {
    const compose = (v: string) => `services:
  db:
    build: ./db
    command: ["sleep", "600"]
    init: true
    environment: {VERSION: "${v}"}
    volumes: [/data]
`;
    const p = project({ 'db/Dockerfile': 'FROM dockyard-test/busybox:latest\nVOLUME /imgvol\n', 'compose.yaml': compose('1') });
    p.ok(['up', '-d']);
    const c = `${p.name}-db-1`;
    docker('exec', c, 'sh', '-c', 'echo kept > /data/f && echo kept-too > /imgvol/g');
    const before = p.inspect(c).Id as string;
    p.writeFile('compose.yaml', compose('2'));
    const out = p.ok(['up', '-d']);
    expect(out.stderr).toMatch(/Recreat/i);
    expect(p.inspect(c).Id).not.toBe(before);
    expect(docker('exec', c, 'sh', '-c', 'echo $VERSION')).toBe('2');
    expect(docker('exec', c, 'cat', '/data/f')).toBe('kept');
    expect(docker('exec', c, 'cat', '/imgvol/g')).toBe('kept-too');
    // the project has one container for the service, with its usual name
    expect(p.containers().map((x) => x.name)).toEqual([c]);
  }, 90_000);

  it('a replacement that cannot be created leaves the old container running, and says why', () => {
    const p = project({ 'compose.yaml': `services:\n  app:\n    image: ${IMG}\n    command: ["sleep", "600"]\n    init: true\n` });
    p.ok(['up', '-d']);
    const c = `${p.name}-app-1`;
    const before = p.inspect(c).Id as string;
    p.writeFile('compose.yaml', `services:\n  app:\n    image: ${IMG}\n    command: ["sleep", "600"]\n    init: true\n    runtime: no-such-runtime\n`);
    const r = p.run(['up', '-d']);
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(new RegExp(`cannot recreate ${c}: .*no-such-runtime.*; ${c} was left as it was`));
    expect(p.inspect(c).Id).toBe(before);
    expect(p.inspect(c).State.Running).toBe(true);
    expect(p.containers().map((x) => x.name)).toEqual([c]); // no temporary container left behind
  }, 60_000);

  it('up --dry-run names exactly the services to recreate, and why, and changes nothing', () => {
    const yaml = (port: string) => `services:
  db:
    image: ${IMG}
    command: ["sleep", "600"]
    init: true
  api:
    image: ${IMG}
    command: ["sleep", "600"]
    init: true
    environment: {PORT: "${port}"}
    depends_on: [db]
  web:
    image: ${IMG}
    command: ["sleep", "600"]
    init: true
    depends_on: {api: {condition: service_started, restart: true}}
`;
    const p = project({ 'compose.yaml': yaml('1') });
    const fresh = p.ok(['up', '--dry-run']);
    expect(fresh.stdout).toMatch(new RegExp(`network ${p.name}_default: create`));
    expect(fresh.stdout.split('\n').filter((l) => new RegExp(`^\\w+ +${p.name}-\\w+-1 +create$`).test(l))).toHaveLength(3);
    expect(p.containers()).toEqual([]);
    expect(docker('network', 'ls', '-q', '--filter', `name=${p.name}_default`)).toBe('');
    p.ok(['up', '-d']);
    const ids = p.containers().map((c) => c.id);
    p.writeFile('compose.yaml', yaml('2'));
    const r = p.ok(['up', '--dry-run']);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toEqual([
      expect.stringMatching(new RegExp(`^db +${p.name}-db-1 +keep: running, up to date$`)),
      expect.stringMatching(new RegExp(`^api +${p.name}-api-1 +recreate: configuration changed: environment$`)),
      expect.stringMatching(new RegExp(`^web +${p.name}-web-1 +recreate: dependency api is recreated \\(depends_on restart: true\\)$`)),
    ]);
    expect(r.stderr).toMatch(/dry run: nothing was changed/);
    expect(p.containers().map((c) => c.id)).toEqual(ids);
  }, 60_000);

  it('links: a service reaches another by the link alias on the project network', () => {
    const p = project({
      'compose.yaml': `services:
  c1:
    image: ${IMG}
    command: ["sleep", "600"]
    init: true
    links: ["c2:lnk"]
  c2:
    image: ${IMG}
    command: ["sleep", "600"]
    init: true
`,
    });
    p.ok(['up', '-d']);
    expect(docker('exec', `${p.name}-c1-1`, 'sh', '-c', 'ping -c1 -W2 lnk >/dev/null && echo reached')).toBe('reached');
  }, 60_000);
});
