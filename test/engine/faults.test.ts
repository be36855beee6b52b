import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import './setup.js';
import { useProjects } from '../helpers/engine.js';

const project = useProjects(afterEach);

const IMG = '${DOCKYARD_BASE_IMAGE}';

describe('faults', () => {
  it('engine unreachable: exit 3 and says how to start one', () => {
    const p = project({ 'compose.yaml': `services:\n  a:\n    image: ${IMG}\n` });
    const r = p.run(['up', '-d'], { env: { DOCKER_HOST: 'unix:///tmp/dockyard-no-such.sock' } });
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/cannot reach the Docker engine at unix:\/\/\/tmp\/dockyard-no-such.sock/);
    expect(r.stderr).toMatch(/hint: start one: `bash scripts\/engine.sh`/);
    expect(p.run(['ps'], { env: { DOCKER_HOST: 'unix:///tmp/dockyard-no-such.sock' } }).code).toBe(3);
  });

  it('port already allocated: names the port and who holds it (a container, or a host process)', async () => {
    const holder = project({ 'compose.yaml': `services:\n  web:\n    image: ${IMG}\n    init: true\n    command: ["sleep", "600"]\n    ports: ["127.0.0.1:0:80"]\n` });
    holder.ok(['up', '-d']);
    const port = holder.ok(['port', 'web', '80']).stdout.trim().split(':')[1]!;
    const p = project({ 'compose.yaml': `services:\n  api:\n    image: ${IMG}\n    init: true\n    command: ["sleep", "600"]\n    ports: ["127.0.0.1:${port}:8000"]\n` });
    const r = p.run(['up', '-d']);
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(new RegExp(`service "api" \\(${p.name}-api-1\\) cannot publish port ${port}: it is already in use by container ${holder.name}-web-1 \\(project ${holder.name}, service web\\)`));
    expect(r.stderr).toMatch(/hint: stop what holds it, or publish another host port/);

    const server = createServer();
    await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
    const hostPort = (server.address() as AddressInfo).port;
    try {
      const q = project({ 'compose.yaml': `services:\n  api:\n    image: ${IMG}\n    init: true\n    command: ["sleep", "600"]\n    ports: ["127.0.0.1:${hostPort}:8000"]\n` });
      const r2 = q.run(['up', '-d']);
      expect(r2.code).toBe(4);
      expect(r2.stderr).toMatch(new RegExp(`cannot publish port ${hostPort}: it is already in use by a process on this host`));
    } finally {
      server.close();
    }
  }, 60_000);

  it('image missing and not pullable: names the image and the service', () => {
    const p = project({ 'compose.yaml': `services:\n  api:\n    image: dockyard-test/not-here:1\n` });
    const r = p.run(['up', '-d']);
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(/image dockyard-test\/not-here:1 for service "api" is not present and cannot be pulled/);
    expect(r.stderr).toMatch(/hint: build or load it locally/);
    expect(p.containers()).toEqual([]);
  }, 60_000);

  it('SIGINT during up leaves a consistent, reported state that the next up completes', async () => {
    const p = project({
      'compose.yaml': `services:
  db:
    image: ${IMG}
    init: true
    command: ["sh", "-c", "sleep 2; touch /tmp/ok; exec sleep 600"]
    healthcheck: {test: ["CMD", "test", "-f", "/tmp/ok"], interval: 300ms, retries: 50}
  api:
    image: ${IMG}
    init: true
    command: ["sleep", "600"]
    depends_on: {db: {condition: service_healthy}}
`,
    });
    const up = p.start(['up', '-d']);
    await up.until(/Container .*-db-1 +Started/, 20_000);
    up.signal('SIGINT');
    expect(await up.exited).toBe(130);
    expect(up.err).toMatch(/interrupted: 1 container\(s\) of .* exist: .*-db-1 \(running\)/);
    expect(up.err).toMatch(/run `dockyard up` again to finish/);
    expect(p.containers().map((c) => c.service)).toEqual(['db']);
    p.ok(['up', '-d', '--wait']);
    expect(p.containers().map((c) => `${c.service}:${c.state}`)).toEqual(['api:running', 'db:running']);
  }, 60_000);
  it('a network the engine refuses: the containers created meanwhile are removed again', () => {
    // containers are created while their networks are (only starting needs them); two networks
    // with the same subnet make one creation fail after the containers may exist
    const subnet = `10.${100 + Math.floor(Math.random() * 100)}.${Math.floor(Math.random() * 250)}.0/24`;
    const p = project({
      'compose.yaml': `services:
  a:
    image: ${IMG}
    init: true
    command: ["sleep", "600"]
    networks: [n1]
  b:
    image: ${IMG}
    init: true
    command: ["sleep", "600"]
    networks: [n2]
networks:
  n1:
    ipam: {config: [{subnet: "${subnet}"}]}
  n2:
    ipam: {config: [{subnet: "${subnet}"}]}
`,
    });
    const r = p.run(['up', '-d']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/overlaps/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(p.containers()).toEqual([]);
  }, 60_000);
});
