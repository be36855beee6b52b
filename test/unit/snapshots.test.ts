/**
 * Snapshots without an engine (issue 29): the names committed containers get, what push and pull
 * refuse before asking the engine, the services a capture commits, forks running those services
 * from the committed images, and a restore's one container per volume. The engine is a stub that
 * answers only what each case needs (anything else throws).
 */
import { describe, expect, it } from 'vitest';
import type { Engine } from '../../src/engine/engine.js';
import { DockyardError } from '../../src/errors.js';
import type { Project } from '../../src/model/project.js';
import { pullSnapshot, pushSnapshot, restoreVolumes, servicePath, snapshotEnvironment, useSnapshotContainers } from '../../src/envs/snapshot.js';
import type { SnapshotInfo } from '../../src/envs/snapshot.js';

/** an Engine whose every method throws unless given */
const stub = (impl: Partial<Record<keyof Engine, unknown>> = {}): Engine =>
  new Proxy(impl, {
    get: (t, k) => (k in t ? t[k as keyof typeof t] : k === 'then' ? undefined : () => Promise.reject(new Error(`unexpected engine call ${String(k)}`))),
  }) as unknown as Engine;

const snap = (o: Partial<SnapshotInfo> = {}): SnapshotInfo => ({
  tag: 'seeded',
  project: 'shop',
  ref: 'dockyard-snapshot/shop:seeded',
  id: 'sha256:main',
  source: 'dy-shop-1',
  createdAt: new Date(0),
  volumes: [],
  services: {},
  containers: {},
  tags: [],
  size: 0,
  current: true,
  usedBy: [],
  ...o,
});

describe('snapshot names and checks', () => {
  it('a service name as a repository path component: kept when valid, else lowercased with a hash that tells names apart', () => {
    expect(servicePath('db')).toBe('db');
    expect(servicePath('api-v2')).toBe('api-v2');
    expect(servicePath('My_Svc')).toMatch(/^my-svc-[0-9a-f]{8}$/);
    expect(servicePath('a_b')).not.toBe(servicePath('a-b'));
    expect(servicePath('__')).toMatch(/^service-[0-9a-f]{8}$/);
  });

  it('push refuses a registry that is not HOST[:PORT][/namespace] before asking the engine', async () => {
    for (const bad of ['not a registry', 'team', 'host:5000/Upper', 'host:5000//x', '']) {
      const e = await pushSnapshot('seeded', { registry: bad, engine: stub() }).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(DockyardError);
      expect((e as DockyardError).message).toBe(`invalid registry "${bad}"`);
    }
  });

  it('pull refuses a digest reference (the containers\' images are found by the tag)', async () => {
    await expect(pullSnapshot('reg.example/dockyard-snapshot/shop@sha256:abc', { engine: stub() })).rejects.toThrow(/names an image by digest/);
  });

  it('pull refuses an image whose labels name no valid project or tag (they come from the registry), and removes what it pulled', async () => {
    for (const labels of [{ 'dev.dockyard.snapshot.tag': 'seeded', 'dev.dockyard.snapshot.project': '../Other' }, { 'dev.dockyard.snapshot.tag': 'a:b', 'dev.dockyard.snapshot.project': 'shop' }]) {
      const removed: string[] = [];
      let pulled = false;
      const engine = stub({
        inspectImage: async () => (pulled ? { Id: 'sha256:x', RepoTags: [], Created: new Date(0).toISOString(), Config: { Labels: labels } } : undefined),
        pullImage: async () => void (pulled = true),
        removeImage: async (r: string) => void removed.push(r),
      });
      await expect(pullSnapshot('reg.example/dockyard-snapshot/shop:seeded', { engine })).rejects.toThrow(/labels give an invalid (project|tag)/);
      expect(removed).toEqual(['reg.example/dockyard-snapshot/shop:seeded']);
    }
  });

  it('a capture names the services it has no container of, with the ones it has', async () => {
    const db = { id: 'c1', name: 'dy-1-db-1', image: 'busybox', imageId: 'sha256:bb', state: 'running', created: 0, ports: [], labels: { 'com.docker.compose.service': 'db', 'com.docker.compose.container-number': '1', 'dev.dockyard.lease': 'dy-1' } };
    const engine = stub({ listContainers: async () => [db], listVolumes: async () => [] });
    const e = await snapshotEnvironment('dy-1', 'seeded', { engine, containers: ['db', 'cache'] }).catch((x: unknown) => x);
    expect((e as DockyardError).message).toBe('dy-1 has no container of service cache');
    expect((e as DockyardError).hint).toBe('its services: db');
    // no volumes and no containers asked for: nothing to capture
    await expect(snapshotEnvironment('dy-1', 'seeded', { engine })).rejects.toThrow(/nothing to capture/);
  });
});

describe('forks of a snapshot that holds containers', () => {
  const project = () =>
    ({
      name: 'dy-2',
      services: { db: { name: 'db', image: 'postgres:16', build: { context: '/x' }, pull_policy: 'always' }, api: { name: 'api', image: 'api:1' } },
      volumes: { data: { name: 'dy-2_data' }, cache: { name: 'dy-2_cache' }, ext: { name: 'shared', external: true } },
    }) as unknown as Project;

  it('the services it holds run from their committed images (build and pull policy set aside), the others as configured', async () => {
    const p = project();
    await useSnapshotContainers(stub({ inspectImage: async (id: string) => (id === 'sha256:dbc' ? { Id: id } : undefined) }), snap({ containers: { db: 'sha256:dbc', gone: 'sha256:x' } }), p);
    expect(p.services.db).toMatchObject({ image: 'sha256:dbc', pull_policy: 'missing' });
    expect(p.services.db!.build).toBeUndefined();
    expect(p.services.api!.image).toBe('api:1');
  });

  it('refuses when a committed image is gone, naming the service', async () => {
    await expect(useSnapshotContainers(stub({ inspectImage: async () => undefined }), snap({ containers: { db: 'sha256:0123456789abcdef' } }), project())).rejects.toThrow(/holds service db's container as image 0123456789ab, which is gone/);
  });

  it('restores each volume through a container of its own, external ones left out (an engine that is not overlay2: copies)', async () => {
    const created: Array<{ Image: string; Mounts: unknown[] }> = [];
    const engine = stub({
      inspectImage: async (id: string) => ({ Id: id, Config: { Labels: { 'dev.dockyard.snapshot.roots': '1' } }, GraphDriver: { Name: 'vfs' } }),
      createVolume: async () => undefined,
      createContainer: async (_n: string, body: { Image: string; HostConfig: { Mounts: unknown[] } }) => (created.push({ Image: body.Image, Mounts: body.HostConfig.Mounts }), `c${created.length}`),
      removeContainer: async () => undefined,
    });
    const keys = await restoreVolumes(engine, snap({ volumes: ['cache', 'data', 'ext'] }), project());
    expect(keys).toEqual(['cache', 'data']);
    expect(created.map((c) => c.Mounts).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)))).toEqual([
      [{ Type: 'volume', Source: 'dy-2_cache', Target: '/snapshot/cache' }],
      [{ Type: 'volume', Source: 'dy-2_data', Target: '/snapshot/data' }],
    ]);
    expect(created.every((c) => c.Image === 'sha256:main')).toBe(true);
  });

  it('on overlay2, each volume is an overlay of the snapshot\'s layer over upper and work volumes of its own; nothing copied', async () => {
    const volumes: Array<Record<string, any>> = [];
    const mounts: unknown[] = [];
    const engine = stub({
      inspectImage: async (id: string) => ({ Id: id, Config: { Labels: { 'dev.dockyard.snapshot.roots': '1' } }, GraphDriver: { Name: 'overlay2', Data: { UpperDir: '/var/lib/docker/overlay2/abc/diff' } } }),
      createVolume: async (b: Record<string, unknown>) => void volumes.push(b),
      inspectVolume: async (name: string) => ({ Name: name, Labels: {}, Mountpoint: `/var/lib/docker/volumes/${name}/_data` }),
      createContainer: async (_n: string, body: { HostConfig: { Mounts: unknown[] } }) => (mounts.push(...body.HostConfig.Mounts), 'c'),
      removeContainer: async () => undefined,
    });
    await restoreVolumes(engine, snap({ volumes: ['data'] }), project());
    expect(volumes.map((v) => v.Name).sort()).toEqual(['dy-2_data', 'dy-2_data-upper', 'dy-2_data-work']);
    expect(volumes.find((v) => v.Name === 'dy-2_data')).toMatchObject({
      Driver: 'local',
      DriverOpts: { type: 'overlay', device: 'overlay', o: 'lowerdir=/var/lib/docker/overlay2/abc/diff/snapshot/data,upperdir=/var/lib/docker/volumes/dy-2_data-upper/_data,workdir=/var/lib/docker/volumes/dy-2_data-work/_data' },
      Labels: { 'com.docker.compose.project': 'dy-2', 'com.docker.compose.volume': 'data' },
    });
    expect(volumes.find((v) => v.Name === 'dy-2_data-upper')!.Labels).toEqual({ 'com.docker.compose.project': 'dy-2', 'dev.dockyard.snapshot.layer-of': 'dy-2_data' });
    // the only container: the one that gives the upper volume's root the volume's owner and mode
    expect(mounts).toEqual([{ Type: 'volume', Source: 'dy-2_data-upper', Target: '/dockyard-root/data' }]);
  });
});
