/**
 * Snapshots of leased environments: seed once, fork per test worker, reset between tests.
 *
 * A snapshot is an image, `dockyard-snapshot/<project>:<tag>`, holding the named volumes of a
 * lease's services under `/snapshot/<volume key>/`, labelled `dev.dockyard.snapshot.*` (tag,
 * project, the lease it was taken from, when, which volumes, and per service the configuration
 * hash and image id it ran). Being an image, it can be pushed to a registry and pulled elsewhere.
 *
 * - capture: every running container of the lease is paused (one point in time for all of them:
 *   what a crash would leave, never a half-copied tree), a helper container (network none) copies
 *   the volumes (mounted read-only) into its own filesystem with `cp -a`, the lease resumes, and
 *   the helper is committed. The helper's image: `helperImage`, `DOCKYARD_HELPER_IMAGE`, or the
 *   image of a service that mounts the volumes (it needs `sh` and `cp`).
 * - restore (a fork, a reset): each volume is created empty, then a container is *created* (never
 *   started) from the snapshot image with the volumes mounted at `/snapshot/<key>`: the engine
 *   copies an image's content into an empty named volume when it is mounted, so no process runs.
 *   A tmpfs volume (driver_opts type tmpfs) is restored as a disk volume: a tmpfs volume's content
 *   lives only while some container mounts it.
 * - reset: the lease's containers are removed, its named volumes restored, and its services
 *   created again on the host ports they had (the URLs a test holds stay valid), then waited for.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { ContainerSummary, Engine, ImageInspect } from '../engine/engine.js';
import { DockyardError, isConflict } from '../errors.js';
import { LABEL } from '../model/names.js';
import type { Project } from '../model/project.js';
import { volumeBody } from '../converge/spec.js';
import { normalizeProjectName } from '../load/normalize.js';

export const SNAPSHOT = {
  tag: 'dev.dockyard.snapshot.tag',
  /** the project it belongs to (the project directory's name, as in a lease's name) */
  project: 'dev.dockyard.snapshot.project',
  /** the lease it was taken from */
  source: 'dev.dockyard.snapshot.source',
  created: 'dev.dockyard.snapshot.created',
  /** the volume keys it holds, comma-separated */
  volumes: 'dev.dockyard.snapshot.volumes',
  /** + service name: the service's configuration hash when the snapshot was taken */
  configHash: 'dev.dockyard.snapshot.config-hash.',
  /** + service name: the image id the service ran */
  image: 'dev.dockyard.snapshot.image.',
  /** on a capture's helper container (gc removes leftovers of an interrupted capture) */
  helper: 'dev.dockyard.snapshot.helper',
  /** + service name: the image (id) its container's filesystem was committed as (`containers`) */
  container: 'dev.dockyard.snapshot.container.',
  /** on such a committed image: the snapshot it belongs to (project:tag), and the service */
  containerOf: 'dev.dockyard.snapshot.container-of',
  service: 'dev.dockyard.snapshot.service',
  /** '1': the image also holds each volume's root, empty, with its owner and mode, under /dockyard-root/<key> (what an overlay restore needs) */
  roots: 'dev.dockyard.snapshot.roots',
  /** on a fork's upper and work volumes (overlay restore): the volume they belong to */
  layerOf: 'dev.dockyard.snapshot.layer-of',
  /**
   * on a container created (never started) from the snapshot image for a fork whose volumes are
   * overlays of it: the lease. The engine then refuses to remove the image (docker rmi, image prune)
   * while the fork lives; its release removes it.
   */
  keeper: 'dev.dockyard.snapshot.keeper',
} as const;

/** The repository of snapshot images: `dockyard-snapshot/<project>:<tag>`. */
export const SNAPSHOT_REPO = 'dockyard-snapshot';

/** Lease labels that snapshots use (kept here: lease.ts imports this module). */
export const LEASE_SNAPSHOT = {
  /** on a lease's containers and marker: the project it is a copy of */
  project: 'dev.dockyard.lease.project',
  /** on a lease's containers: the service's configuration hash before the lease changed it */
  configHash: 'dev.dockyard.lease.config-hash',
  /** on a lease's marker: the snapshot it was forked from (tag, image id) */
  from: 'dev.dockyard.lease.from',
  fromId: 'dev.dockyard.lease.from-id',
} as const;

export interface SnapshotInfo {
  tag: string;
  project: string;
  /** `dockyard-snapshot/<project>:<tag>` */
  ref: string;
  /** the image id */
  id: string;
  /** the lease it was taken from */
  source: string;
  createdAt: Date;
  /** the volume keys it holds */
  volumes: string[];
  /** per service: its configuration hash and image id when the snapshot was taken */
  services: Record<string, { configHash?: string; imageId?: string }>;
  /** per service whose container's filesystem was captured (`containers`): the committed image's id */
  containers: Record<string, string>;
  /** the image's names: `ref`, and registry references it was pushed or pulled as */
  tags: string[];
  /** bytes */
  size: number;
  /** still the image `ref` names (false: replaced by a newer snapshot of that tag) */
  current: boolean;
  /** the live leases forked from it */
  usedBy: string[];
}

export interface SnapshotOptions {
  engine?: Engine | string;
  /** an image with sh and cp for the capture (default: DOCKYARD_HELPER_IMAGE, else the image of a service that mounts the volumes) */
  helperImage?: string;
  /** replace a snapshot of that tag (default: refused) */
  replace?: boolean;
  /**
   * also capture the containers' writable layers (files written outside volumes): `true` for
   * every service, or these services. Each service's (first) container is committed as an image,
   * paused with the rest; forks and resets create that service's containers from it.
   */
  containers?: boolean | string[];
}

const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const LEASE_NAME = 'dev.dockyard.lease';

async function defaultEngine(engine?: Engine | string): Promise<Engine> {
  return (await import('../engine/docker.js')).resolveEngine(engine);
}

function checkTag(tag: string): void {
  if (!TAG.test(tag)) throw new DockyardError('USAGE', `invalid snapshot tag "${tag}"`, { hint: 'letters, digits, _ . - (at most 128), not starting with . or -' });
}

/** The project a lease is a copy of, as acquire names it: the project directory's name. */
export const projectKey = (workingDir: string): string => normalizeProjectName(workingDir.split(/[\\/]/).filter(Boolean).at(-1) ?? '') || 'env';

function infoOf(img: { Id: string; RepoTags?: string[]; Size?: number; Labels?: Record<string, string> | null }, used: Map<string, string[]>): SnapshotInfo {
  const l = img.Labels ?? {};
  const tag = l[SNAPSHOT.tag] ?? '';
  const project = l[SNAPSHOT.project] ?? '';
  const ref = `${SNAPSHOT_REPO}/${project}:${tag}`;
  const services: SnapshotInfo['services'] = {};
  const containers: SnapshotInfo['containers'] = {};
  for (const [k, v] of Object.entries(l)) {
    if (k.startsWith(SNAPSHOT.configHash)) (services[k.slice(SNAPSHOT.configHash.length)] ??= {}).configHash = v;
    else if (k.startsWith(SNAPSHOT.image)) (services[k.slice(SNAPSHOT.image.length)] ??= {}).imageId = v;
    else if (k.startsWith(SNAPSHOT.container) && v) containers[k.slice(SNAPSHOT.container.length)] = v;
  }
  return {
    tag,
    project,
    ref,
    id: img.Id,
    source: l[SNAPSHOT.source] ?? '',
    createdAt: new Date(l[SNAPSHOT.created] ?? 0),
    volumes: (l[SNAPSHOT.volumes] ?? '').split(',').filter(Boolean),
    services,
    containers,
    tags: img.RepoTags ?? [],
    size: img.Size ?? 0,
    current: (img.RepoTags ?? []).includes(ref),
    usedBy: used.get(img.Id) ?? [],
  };
}

/** Which snapshot each lease was forked from: image id -> lease names (leases still on the engine). */
async function snapshotUsers(engine: Engine): Promise<Map<string, string[]>> {
  const used = new Map<string, string[]>();
  for (const v of await engine.listVolumes([LEASE_SNAPSHOT.fromId])) {
    const id = v.Labels[LEASE_SNAPSHOT.fromId]!;
    const lease = v.Labels[LEASE_NAME];
    if (!lease) continue;
    const list = used.get(id) ?? [];
    if (!list.includes(lease)) list.push(lease);
    used.set(id, list);
  }
  return used;
}

/** The snapshots on the engine (replaced ones too, until gc or rm removes them), newest first. */
export async function listSnapshots(o: { engine?: Engine | string; project?: string } = {}): Promise<SnapshotInfo[]> {
  const engine = await defaultEngine(o.engine);
  const [imgs, used] = await Promise.all([engine.listImages({ label: [o.project ? `${SNAPSHOT.project}=${o.project}` : SNAPSHOT.tag] }), snapshotUsers(engine)]);
  return imgs
    .filter((i) => i.Labels[SNAPSHOT.tag])
    .map((i) => infoOf({ ...i, Size: i.Size }, used))
    .sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime() || a.tag.localeCompare(b.tag));
}

/**
 * The snapshot a tag names: the current image of that tag, of `project` when given. A tag that
 * several projects use needs the project (an acquire gives its own).
 */
export async function findSnapshot(tag: string, o: { engine?: Engine | string; project?: string } = {}): Promise<SnapshotInfo | undefined> {
  const engine = await defaultEngine(o.engine);
  const all = (await listSnapshots({ engine })).filter((s) => s.tag === tag && s.current);
  const mine = o.project ? all.filter((s) => s.project === o.project) : all;
  if (mine.length === 1) return mine[0];
  if (mine.length > 1) throw new DockyardError('USAGE', `snapshot tag "${tag}" names snapshots of several projects (${mine.map((s) => s.project).join(', ')})`, { hint: 'name it as project:tag' });
  // another project's snapshot of that tag, when it is the only one: used, and the hashes tell the differences
  return all.length === 1 ? all[0] : undefined;
}

/**
 * A snapshot by tag, `project:tag`, image id or reference (a registry's too: with `pull`, one not
 * here is pulled, see pullSnapshot); a clear error when there is none.
 */
export async function resolveSnapshot(name: string, o: { engine?: Engine | string; project?: string; pull?: boolean } = {}): Promise<SnapshotInfo> {
  const engine = await defaultEngine(o.engine);
  let found: SnapshotInfo | undefined;
  if (name.startsWith('sha256:') || name.includes('/')) {
    const img = await engine.inspectImage(name);
    if (img?.Config?.Labels?.[SNAPSHOT.tag]) found = infoOf(imageRow(img), await snapshotUsers(engine));
    else if (img) throw new DockyardError('USAGE', `${name} is not a dockyard snapshot (it has no ${SNAPSHOT.tag} label)`, { hint: 'dockyard env snapshots ls lists the snapshots' });
    else if (o.pull && name.includes('/') && !name.startsWith(`${SNAPSHOT_REPO}/`)) return pullSnapshot(name, { engine });
  } else if (/^[^:]+:[^:]+$/.test(name)) {
    const [project, tag] = name.split(':') as [string, string];
    found = await findSnapshot(tag, { engine, project });
    if (found && found.project !== project) found = undefined;
  } else {
    found = await findSnapshot(name, { engine, project: o.project });
  }
  if (!found) throw new DockyardError('USAGE', `no snapshot "${name}"`, { hint: 'dockyard env snapshots ls lists them; dockyard env snapshot LEASE --as TAG takes one' });
  return found;
}

/** A snapshot by its image id, without asking who uses it (a reset's quick look); undefined when gone. */
export async function snapshotById(engine: Engine, id: string): Promise<SnapshotInfo | undefined> {
  const img = await engine.inspectImage(id);
  return img?.Config?.Labels?.[SNAPSHOT.tag] ? infoOf(imageRow(img), new Map()) : undefined;
}

const imageRow = (img: ImageInspect) => ({ Id: img.Id, RepoTags: img.RepoTags, Size: img.Size, Labels: img.Config?.Labels ?? {} });

/** Runs a container to its end; throws with its last log lines when it fails. */
async function runToEnd(engine: Engine, id: string, what: string): Promise<void> {
  await engine.startContainer(id);
  const code = await engine.waitContainer(id);
  if (code === 0) return;
  const info = await engine.inspectContainer(id);
  const logs = await engine.containerLogs(id, { tail: 10 }, info?.Config.Tty ?? false);
  const chunks: Buffer[] = [];
  logs.stdout.on('data', (b: Buffer) => chunks.push(b));
  logs.stderr.on('data', (b: Buffer) => chunks.push(b));
  await logs.done;
  await new Promise((r) => setImmediate(r));
  const out = Buffer.concat(chunks).toString('utf8').trim();
  throw new DockyardError('ENGINE', `${what} failed (exit code ${code})${out ? `: ${out.split('\n').slice(-5).join(' | ')}` : ''}`, {
    hint: 'the helper image needs sh and cp: set helperImage (or DOCKYARD_HELPER_IMAGE) to one that has them, such as busybox',
  });
}

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * Takes a snapshot of a lease's named volumes (and, with `containers`, of its services'
 * containers' filesystems), consistently: the lease's running containers are paused while the
 * volumes are copied and the containers committed, then resumed. Returns the snapshot.
 */
export async function snapshotEnvironment(name: string, tag: string, o: SnapshotOptions = {}): Promise<SnapshotInfo> {
  checkTag(tag);
  const engine = await defaultEngine(o.engine);
  await afterRemovals(name);
  const [cs, markers, listed] = await Promise.all([
    engine.listContainers([`${LABEL.project}=${name}`], true),
    engine.listVolumes([`${LEASE_NAME}=${name}`]),
    engine.listVolumes([`${LABEL.project}=${name}`, LABEL.volume]),
  ]);
  const vols = await currentVolumes(engine, cs, listed);
  if (!markers.length && !cs.some((c) => c.labels[LEASE_NAME])) throw new DockyardError('USAGE', `no lease named ${name}`, { hint: 'dockyard env ls lists the leases' });
  const services = cs.filter((c) => c.labels[LABEL.oneoff] !== 'True').sort((a, b) => Number(a.labels[LABEL.number] ?? 0) - Number(b.labels[LABEL.number] ?? 0));
  const commits = containersToCommit(name, services, o.containers);
  if (!vols.length && !commits.length) {
    throw new DockyardError('USAGE', `the services of ${name} have no named volumes: there is nothing to capture`, { hint: 'a snapshot holds named volumes (volumes: {data: {}} and a service mounting data:/path), and with --containers the containers\' own files' });
  }
  const project = markers[0]?.Labels[LEASE_SNAPSHOT.project] ?? services.find((c) => c.labels[LEASE_SNAPSHOT.project])?.labels[LEASE_SNAPSHOT.project] ?? projectKey(markers[0]?.Labels['dev.dockyard.lease.working_dir'] ?? name);
  const ref = `${SNAPSHOT_REPO}/${project}`;
  const previous = await engine.inspectImage(`${ref}:${tag}`);
  if (previous && !o.replace) throw new DockyardError('USAGE', `snapshot ${project}:${tag} exists`, { hint: 'remove it first (dockyard env snapshots rm), or replace it (--replace)' });

  const labels: Record<string, string> = {
    [SNAPSHOT.tag]: tag,
    [SNAPSHOT.project]: project,
    [SNAPSHOT.source]: name,
    [SNAPSHOT.created]: new Date().toISOString(),
    [SNAPSHOT.volumes]: vols.map((v) => v.Labels[LABEL.volume]!).sort().join(','),
    [SNAPSHOT.helper]: name,
  };
  for (const c of services) {
    const svc = c.labels[LABEL.service];
    if (!svc || labels[SNAPSHOT.image + svc]) continue;
    labels[SNAPSHOT.image + svc] = c.imageId;
    const hash = c.labels[LEASE_SNAPSHOT.configHash];
    if (hash) labels[SNAPSHOT.configHash + svc] = hash;
  }
  const helperImage = o.helperImage ?? process.env.DOCKYARD_HELPER_IMAGE ?? (await mountingImage(engine, services, new Set(vols.map((v) => v.Name))));
  if (!helperImage) throw new DockyardError('USAGE', `no image to copy ${name}'s volumes with`, { hint: 'set helperImage (or DOCKYARD_HELPER_IMAGE) to an image with sh and cp, such as busybox' });
  const keys = vols.map((v) => v.Labels[LABEL.volume]!);
  // each volume's root again, empty, with its owner and mode (for a restore as an overlay on this
  // image's layer); left out, all of them, where the helper image has no stat
  const roots = keys.map((k) => {
    const [from, to] = [quote(`/dockyard-from/${k}`), quote(`/dockyard-root/${k}`)];
    return `{ mkdir -p ${to} && chown "$(stat -c %u:%g ${from})" ${to} && chmod "$(stat -c %a ${from})" ${to}; } 2>/dev/null || rm -rf /dockyard-root`;
  });
  const script = ['set -e', 'mkdir -p /snapshot', ...keys.map((k) => `cp -a ${quote(`/dockyard-from/${k}`)} ${quote(`/snapshot/${k}`)}`), ...roots].join('\n');
  const helper = await engine.createContainer(`${name}-snapshot-${randomBytes(3).toString('hex')}`, {
    Image: helperImage,
    Entrypoint: ['/bin/sh', '-c'],
    Cmd: [script],
    User: '0:0',
    WorkingDir: '/',
    Labels: labels,
    NetworkDisabled: true,
    HostConfig: { NetworkMode: 'none', Mounts: vols.map((v) => ({ Type: 'volume', Source: v.Name, Target: `/dockyard-from/${v.Labels[LABEL.volume]}`, ReadOnly: true })) },
  });
  const committed: Array<[string, string]> = [];
  try {
    await capture(engine, name, cs, helper, commits, `${project}:${tag}`, committed);
    const more = committed.map(([svc, cid]) => `"${SNAPSHOT.container}${svc}"="${cid}"`);
    if (keys.length && (await engine.statPath(helper, '/dockyard-root'))) more.push(`"${SNAPSHOT.roots}"="1"`);
    const id = await engine.commitContainer(helper, { repo: ref, tag, pause: false, message: `dockyard snapshot of ${name}`, changes: more.length ? [`LABEL ${more.join(' ')}`] : [] });
    // the containers' images named after the snapshot once it exists (unnamed until then: a failed capture leaves no names behind)
    await Promise.all(committed.map(([svc, cid]) => engine.tagImage(cid, containerRepo(project, svc), tag)));
    if (previous && previous.Id !== id && !(await snapshotUsers(engine)).has(previous.Id)) await removeImages(engine, infoOf(imageRow(previous), new Map())).catch(() => undefined);
    const img = await engine.inspectImage(id);
    return infoOf(imageRow(img!), new Map());
  } catch (e) {
    await Promise.all(committed.map(([, cid]) => engine.removeImage(cid).catch(() => undefined)));
    throw e;
  } finally {
    await engine.removeContainer(helper, { force: true, volumes: true }).catch(() => undefined);
  }
}

/**
 * The capture itself, at one point in time for every service: all running containers paused
 * while the helper copies the volumes and the chosen containers are committed (their ids pushed
 * onto `committed` as they come, so that a failure can remove them), then resumed.
 */
async function capture(engine: Engine, name: string, cs: ContainerSummary[], helper: string, commits: ContainerSummary[], of: string, committed: Array<[string, string]>): Promise<void> {
  const running = cs.filter((c) => c.state === 'running');
  const paused: string[] = [];
  try {
    await Promise.all(
      running.map(async (c) => {
        await engine.pauseContainer(c.id);
        paused.push(c.id);
      }),
    );
    await Promise.all([
      runToEnd(engine, helper, `copying ${name}'s volumes`),
      ...commits.map(async (c) => {
        const svc = c.labels[LABEL.service]!;
        const changes = [`LABEL "${SNAPSHOT.containerOf}"="${of}" "${SNAPSHOT.service}"="${svc}"`];
        committed.push([svc, await engine.commitContainer(c.id, { pause: false, message: `dockyard snapshot ${of}: service ${svc}'s container`, changes })]);
      }),
    ]);
  } finally {
    await Promise.all(paused.map((id) => engine.unpauseContainer(id).catch(() => undefined)));
  }
}

/**
 * A lease's volumes, one per key: where a reset's old volume of a key is still there (its removal
 * under way in another process), the one the containers mount.
 */
async function currentVolumes(engine: Engine, cs: ContainerSummary[], vols: Array<{ Name: string; Labels: Record<string, string> }>): Promise<Array<{ Name: string; Labels: Record<string, string> }>> {
  const keys = vols.map((v) => v.Labels[LABEL.volume]);
  if (new Set(keys).size === keys.length) return vols;
  const mounted = new Set((await Promise.all(cs.map((c) => engine.inspectContainer(c.id)))).flatMap((i) => (i?.Mounts ?? []).map((m) => m.Name)));
  const byKey = new Map<string, { Name: string; Labels: Record<string, string> }>();
  for (const v of vols) {
    const was = byKey.get(v.Labels[LABEL.volume]!);
    if (!was || (mounted.has(v.Name) && !mounted.has(was.Name))) byKey.set(v.Labels[LABEL.volume]!, v);
  }
  return [...byKey.values()];
}

/** A reset's removals of a lease's old volumes still under way in this process, by lease. */
const removals = new Map<string, Promise<void>>();

/** Resolves once this process's removals of a lease's old volumes are over (a reset leaves them running). */
export function afterRemovals(lease: string): Promise<void> {
  return removals.get(lease) ?? Promise.resolve();
}

/** Tracks a removal of a lease's old volumes (its failure is no one's: release removes what is left). */
export function trackRemoval(lease: string, p: Promise<unknown>): void {
  const q: Promise<void> = p
    .then(
      () => undefined,
      () => undefined,
    )
    .finally(() => {
      if (removals.get(lease) === q) removals.delete(lease);
    });
  removals.set(lease, q);
}

/** The containers to commit: each chosen service's first one (`containers`: true for every service). */
function containersToCommit(name: string, services: ContainerSummary[], which: SnapshotOptions['containers']): ContainerSummary[] {
  if (!which || (Array.isArray(which) && !which.length)) return [];
  const first = new Map<string, ContainerSummary>();
  for (const c of services) if (c.labels[LABEL.service] && !first.has(c.labels[LABEL.service]!)) first.set(c.labels[LABEL.service]!, c);
  if (which === true) return [...first.values()];
  const unknown = which.filter((s) => !first.has(s));
  if (unknown.length) throw new DockyardError('USAGE', `${name} has no container of service${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}`, { hint: `its services: ${[...first.keys()].sort().join(', ') || 'none'}` });
  return which.map((s) => first.get(s)!);
}

/** A service's name as a repository path component: lowercase letters, digits, single dashes; a hash tells apart names that had to change. */
export function servicePath(service: string): string {
  const s = service.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '');
  return s && s === service ? s : `${s || 'service'}-${createHash('sha256').update(service).digest('hex').slice(0, 8)}`;
}

/** Where a service's committed container lives: `dockyard-snapshot/<project>/<service>` (tagged as the snapshot). */
export const containerRepo = (project: string, service: string): string => `${SNAPSHOT_REPO}/${project}/${servicePath(service)}`;

/** The image of a service container that mounts one of these volumes (else the first one's). */
async function mountingImage(engine: Engine, cs: Array<{ id: string; imageId: string }>, volumes: Set<string>): Promise<string | undefined> {
  for (const c of cs) {
    const info = await engine.inspectContainer(c.id);
    if (info?.Mounts?.some((m) => m.Type === 'volume' && m.Name && volumes.has(m.Name))) return c.imageId;
  }
  return cs[0]?.imageId;
}

/**
 * What differs between a snapshot and the project about to use it: services whose configuration
 * or image changed since the snapshot was taken, volumes it holds that the project lacks.
 */
export async function snapshotDifferences(engine: Engine, snap: SnapshotInfo, project: string, hashes: Record<string, string>, images: Record<string, string | undefined>, volumes: string[]): Promise<string[]> {
  const out: string[] = [];
  if (snap.project && snap.project !== project) out.push(`snapshot ${snap.tag} was taken of project ${snap.project}, not ${project}`);
  for (const [svc, was] of Object.entries(snap.services)) {
    if (!(svc in hashes)) continue;
    if (was.configHash && was.configHash !== hashes[svc]) out.push(`service ${svc}: its configuration changed since snapshot ${snap.tag} was taken`);
    const now = images[svc];
    if (was.imageId && now && was.imageId !== now) out.push(`service ${svc}: its image is not the one snapshot ${snap.tag} was taken with (${was.imageId.slice(7, 19)}, now ${now.slice(7, 19)})`);
  }
  const missing = snap.volumes.filter((k) => !volumes.includes(k));
  if (missing.length) out.push(`snapshot ${snap.tag} holds volume${missing.length > 1 ? 's' : ''} ${missing.join(', ')}, which the project does not have (left out)`);
  return out;
}

/**
 * Creates a project's named volumes as copies of a snapshot's, all at once. On an overlay2 engine
 * (and a snapshot that holds its volumes' roots), each is an overlay: the snapshot image's layer
 * (read-only, shared by every fork) under an upper volume of the fork's own, so nothing is copied
 * and a fork costs the same whatever the data's size; the upper volume's root takes the volume's
 * owner and mode from the image. Otherwise, or with DOCKYARD_SNAPSHOT_RESTORE=copy, or for a
 * volume with another driver or options, each volume is created empty, then a container created
 * (not started) from the snapshot image with it mounted, which has the engine copy the image's
 * content into it. `labels` go on those containers (each is removed at once).
 */
export async function restoreVolumes(engine: Engine, snap: SnapshotInfo, project: Project, labels: Record<string, string> = {}, o: { keeper?: string } = {}): Promise<string[]> {
  const keys = snap.volumes.filter((k) => project.volumes[k] && !project.volumes[k]!.external);
  if (!keys.length) return [];
  const layer = await overlayLayer(engine, snap);
  const overlays = await Promise.all(
    keys.map(async (k) => {
      const body = volumeBody(project, k) as { Name: string; Driver?: string; DriverOpts?: Record<string, string> } & Record<string, unknown>;
      // a tmpfs volume would lose what is copied as soon as the copying container lets it go
      if (body.DriverOpts?.type === 'tmpfs') delete body.DriverOpts;
      const lower = layer && `${layer}/snapshot/${k}`;
      if (lower && (body.Driver ?? 'local') === 'local' && !body.DriverOpts && !/[,:]/.test(lower)) return restoreOverlay(engine, snap, project.name, k, body, lower, labels).then(() => true);
      await engine.createVolume(body);
      await createdFrom(engine, snap, project.name, body.Name, `/snapshot/${k}`, labels);
      return false;
    }),
  );
  if (o.keeper && overlays.includes(true)) {
    await engine.createContainer(`${o.keeper}-snapshot-keeper-${randomBytes(3).toString('hex')}`, {
      Image: snap.id,
      Cmd: ['true'],
      Labels: { [LEASE_NAME]: o.keeper, [SNAPSHOT.keeper]: o.keeper },
      NetworkDisabled: true,
      HostConfig: { NetworkMode: 'none' },
    });
  }
  return keys;
}

/** Where the snapshot image's top layer is on the engine's host, when a restore can lay overlays on it. */
async function overlayLayer(engine: Engine, snap: SnapshotInfo): Promise<string | undefined> {
  if (process.env.DOCKYARD_SNAPSHOT_RESTORE === 'copy') return undefined;
  const img = await engine.inspectImage(snap.id);
  if (img?.Config?.Labels?.[SNAPSHOT.roots] !== '1' || img.GraphDriver?.Name !== 'overlay2') return undefined;
  return img.GraphDriver.Data?.UpperDir || undefined;
}

/** A container created (never started) from the snapshot image with a volume mounted at `target`, and removed: the engine copies the image's content there into the empty volume. */
async function createdFrom(engine: Engine, snap: SnapshotInfo, project: string, volume: string, target: string, labels: Record<string, string>): Promise<void> {
  const id = await engine.createContainer(`${project}-restore-${randomBytes(4).toString('hex')}`, {
    Image: snap.id,
    Cmd: ['true'],
    Labels: { ...labels, [LABEL.project]: project },
    NetworkDisabled: true,
    HostConfig: { NetworkMode: 'none', Mounts: [{ Type: 'volume', Source: volume, Target: target }] },
  });
  await engine.removeContainer(id, { force: true });
}

/**
 * A volume as an overlay of the snapshot's layer (`lower`): an upper and a work volume of its own
 * (labelled with the project, so that a release removes them, and with the volume they serve), the
 * upper one's root given the volume's owner and mode from the image's /dockyard-root/<key>.
 */
async function restoreOverlay(engine: Engine, snap: SnapshotInfo, project: string, key: string, body: { Name: string } & Record<string, unknown>, lower: string, labels: Record<string, string>): Promise<void> {
  const [upper, work] = [`${body.Name}-upper`, `${body.Name}-work`];
  const mine = { [LABEL.project]: project, [SNAPSHOT.layerOf]: body.Name };
  await Promise.all([engine.createVolume({ Name: upper, Labels: mine }).then(() => createdFrom(engine, snap, project, upper, `/dockyard-root/${key}`, labels)), engine.createVolume({ Name: work, Labels: mine })]);
  const [u, w] = await Promise.all([engine.inspectVolume(upper), engine.inspectVolume(work)]);
  if (!u?.Mountpoint || !w?.Mountpoint) throw new DockyardError('ENGINE', `volume ${!u?.Mountpoint ? upper : work} has no mount point`, { hint: 'DOCKYARD_SNAPSHOT_RESTORE=copy restores by copying' });
  await engine.createVolume({ ...body, Driver: 'local', DriverOpts: { type: 'overlay', device: 'overlay', o: `lowerdir=${lower},upperdir=${u.Mountpoint},workdir=${w.Mountpoint}` } });
}

/**
 * The services whose containers a snapshot holds run from those images in a fork and after a
 * reset: the project's `image` of each becomes the committed image (its build and pull policy
 * set aside); the rest of their configuration stays the project's. Refused when an image is gone.
 */
export async function useSnapshotContainers(engine: Engine, snap: SnapshotInfo, project: Project): Promise<void> {
  await Promise.all(
    Object.entries(snap.containers).map(async ([svc, id]) => {
      const s = project.services[svc];
      if (!s || s.image === id) return;
      if (!(await engine.inspectImage(id))) {
        throw new DockyardError('USAGE', `snapshot ${snap.project}:${snap.tag} holds service ${svc}'s container as image ${id.slice(7, 19)}, which is gone`, {
          hint: 'pull the snapshot again (dockyard env snapshots pull REF), or take it again',
        });
      }
      s.image = id;
      delete s.build;
      s.pull_policy = 'missing';
    }),
  );
}

/** Removes snapshots by tag (`project:tag`, or image id); one a live lease was forked from only with `force`. */
export async function removeSnapshot(name: string, o: { engine?: Engine | string; force?: boolean } = {}): Promise<SnapshotInfo> {
  const engine = await defaultEngine(o.engine);
  const snap = await resolveSnapshot(name, { engine });
  if (snap.usedBy.length && !o.force) throw new DockyardError('USAGE', `snapshot ${snap.tag} is in use by ${snap.usedBy.join(', ')} (their volumes are overlays of it, and reset restores from it)`, { hint: 'release those leases first, or --force (those forks then lose their volumes\' data)' });
  // forced: the containers that keep it for live forks go first
  const keepers = (await engine.listContainers([SNAPSHOT.keeper], true)).filter((c) => c.imageId === snap.id);
  await Promise.all(keepers.map((c) => engine.removeContainer(c.id, { force: true })));
  await removeImages(engine, snap, o.force);
  return snap;
}

/**
 * Removes a snapshot's image (every name it has: its own, those it was pushed or pulled as), then
 * the images of its containers. `force`: a container image a fork's container still runs from is
 * left (the engine refuses it) instead of failing.
 */
async function removeImages(engine: Engine, snap: SnapshotInfo, force = false): Promise<void> {
  await removeImageAndNames(engine, snap.id);
  for (const id of Object.values(snap.containers)) {
    await removeImageAndNames(engine, id).catch((e: unknown) => {
      if (!force || !isConflict(e)) throw e;
    });
  }
}

/** An image and its names (the names as the engine has them now: a newer snapshot may have taken one). */
async function removeImageAndNames(engine: Engine, id: string): Promise<void> {
  const img = await engine.inspectImage(id);
  if (!img) return;
  for (const t of img.RepoTags ?? []) {
    // the last name's removal removes the image
    if ((await engine.inspectImage(t))?.Id === id) await engine.removeImage(t);
  }
  await engine.removeImage(id);
}

/**
 * Removes the snapshots no live lease was forked from (what `env gc --snapshots` does), what
 * an interrupted capture left (its helper container), and committed container images no snapshot
 * refers to any more. `keep`: tags to keep; `olderThanMs`: only snapshots at least that old.
 * Returns the snapshots removed.
 */
export async function gcSnapshots(o: { engine?: Engine | string; keep?: string[]; olderThanMs?: number } = {}): Promise<SnapshotInfo[]> {
  const engine = await defaultEngine(o.engine);
  // a capture's helper lives seconds; restores' containers carry the label too (from the image) and live less
  const leftovers = (await engine.listContainers([SNAPSHOT.helper], true)).filter((c) => !c.labels[SNAPSHOT.keeper]);
  await Promise.all(leftovers.filter((c) => c.state !== 'running' && c.state !== 'paused' && Date.now() / 1000 - c.created > 600).map((c) => engine.removeContainer(c.id, { force: true, volumes: true }).catch(() => undefined)));
  const now = Date.now();
  const all = await listSnapshots({ engine });
  const gone = all.filter((s) => !s.usedBy.length && !o.keep?.includes(s.tag) && (o.olderThanMs === undefined || now - s.createdAt.getTime() >= o.olderThanMs));
  const removed: SnapshotInfo[] = [];
  for (const s of gone) {
    try {
      await removeImages(engine, s);
      removed.push(s);
    } catch {
      // in use meanwhile (a fork restoring from it): kept
    }
  }
  // committed containers whose snapshot is gone (removed by hand, a capture interrupted after committing)
  const referenced = new Set(all.filter((s) => !removed.includes(s)).flatMap((s) => Object.values(s.containers)));
  const orphans = (await engine.listImages({ label: [SNAPSHOT.containerOf] })).filter((i) => !referenced.has(i.Id) && now / 1000 - i.Created > 600);
  for (const i of orphans) await removeImageAndNames(engine, i.Id).catch(() => undefined);
  return removed;
}

/** `HOST[:PORT][/namespace...]`: where snapshots are pushed. */
const REGISTRY = /^(?:localhost|[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*)(?::\d{1,5})?(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/;

function checkRegistry(registry: string): string {
  const r = registry.replace(/\/+$/, '');
  const host = r.split('/')[0]!;
  if (!REGISTRY.test(r) || !(host.includes('.') || host.includes(':') || host === 'localhost')) {
    throw new DockyardError('USAGE', `invalid registry "${registry}"`, { hint: 'HOST[:PORT][/namespace], e.g. registry.example.com/team or 127.0.0.1:5000 (the host has a dot or a port, or is localhost)' });
  }
  return r;
}

/** The references a snapshot is pushed as: its image, then each service's container image (`<ref repository>/<service>`). */
function remoteRefs(snap: SnapshotInfo, repo: string, tag: string): { main: string; containers: Array<{ service: string; id: string; ref: string }> } {
  return { main: `${repo}:${tag}`, containers: Object.entries(snap.containers).map(([service, id]) => ({ service, id, ref: `${repo}/${servicePath(service)}:${tag}` })) };
}

/**
 * Pushes a snapshot (its image and its containers' images) to a registry, with the credentials
 * the docker CLI would use for it (X-Registry-Auth): as `<registry>/dockyard-snapshot/<project>:<tag>`
 * and `.../<project>/<service>:<tag>`. Another machine pulls it (`pullSnapshot`, or an acquire
 * `from` that reference). Returns the references pushed, the snapshot's first.
 */
export async function pushSnapshot(name: string, o: { registry: string; engine?: Engine | string; onProgress?: (ref: string, msg: Record<string, unknown>) => void }): Promise<{ snapshot: SnapshotInfo; refs: string[] }> {
  const registry = checkRegistry(o.registry);
  const engine = await defaultEngine(o.engine);
  const snap = await resolveSnapshot(name, { engine });
  const repo = `${registry}/${SNAPSHOT_REPO}/${snap.project}`;
  const { main, containers } = remoteRefs(snap, repo, snap.tag);
  const all = [{ id: snap.id, ref: main }, ...containers];
  for (const c of all) {
    const at = c.ref.lastIndexOf(':');
    await engine.tagImage(c.id, c.ref.slice(0, at), c.ref.slice(at + 1));
  }
  await Promise.all(all.map((c) => engine.pushImage(c.ref, o.onProgress && ((m) => o.onProgress!(c.ref, m)))));
  return { snapshot: await resolveSnapshot(snap.id, { engine }), refs: all.map((c) => c.ref) };
}

/** `repository:tag` of a reference (a digest is refused: the containers' images are found by the tag). */
function splitRef(ref: string): [string, string] {
  if (ref.includes('@')) throw new DockyardError('USAGE', `"${ref}" names an image by digest`, { hint: 'name the snapshot by its tag, as it was pushed: HOST/.../dockyard-snapshot/PROJECT:TAG' });
  const at = ref.lastIndexOf(':');
  return at > ref.lastIndexOf('/') ? [ref.slice(0, at), ref.slice(at + 1)] : [ref, 'latest'];
}

/**
 * Pulls a snapshot pushed by `pushSnapshot` (its image, recognised by its labels, then its
 * containers' images) with the docker CLI's credentials for the registry, and names it as a
 * snapshot taken here would be named (`dockyard-snapshot/<project>:<tag>`; a local snapshot of that
 * name is replaced, and removed unless a live fork uses it). Returns it.
 */
export async function pullSnapshot(ref: string, o: { engine?: Engine | string; onProgress?: (ref: string, msg: Record<string, unknown>) => void } = {}): Promise<SnapshotInfo> {
  const engine = await defaultEngine(o.engine);
  const [repo, regTag] = splitRef(ref);
  const had = await engine.inspectImage(ref);
  await engine.pullImage(ref, o.onProgress && ((m) => o.onProgress!(ref, m)));
  const img = await engine.inspectImage(ref);
  if (!img) throw new DockyardError('ENGINE', `${ref} is missing after pull`);
  if (!img.Config?.Labels?.[SNAPSHOT.tag]) {
    if (!had) await engine.removeImage(ref).catch(() => undefined);
    throw new DockyardError('USAGE', `${ref} is not a dockyard snapshot (it has no ${SNAPSHOT.tag} label)`, { hint: 'push snapshots with dockyard env snapshots push TAG --registry HOST' });
  }
  const snap = infoOf(imageRow(img), new Map());
  // the labels come from the registry: they name what is tagged here, so they must be names
  const bad = normalizeProjectName(snap.project) !== snap.project || !snap.project ? `project "${snap.project}"` : !/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/.test(snap.tag) ? `tag "${snap.tag}"` : !Object.values(snap.containers).every((id) => /^sha256:[0-9a-f]{64}$/.test(id)) ? 'a container image id' : undefined;
  if (bad) {
    if (!had) await engine.removeImage(ref).catch(() => undefined);
    throw new DockyardError('USAGE', `${ref} is not a snapshot dockyard can use: its labels give an invalid ${bad}`, { hint: 'push snapshots with dockyard env snapshots push TAG --registry HOST' });
  }
  const { containers } = remoteRefs(snap, repo, regTag);
  await Promise.all(
    containers.map(async (c) => {
      await engine.pullImage(c.ref, o.onProgress && ((m) => o.onProgress!(c.ref, m)));
      const got = await engine.inspectImage(c.ref);
      if (got?.Id !== c.id) throw new DockyardError('USAGE', `${c.ref} is not the image snapshot ${snap.project}:${snap.tag} holds service ${c.service}'s container in (${c.id.slice(7, 19)})`, { hint: 'push the snapshot again; its images were overwritten by another push' });
    }),
  );
  const local = `${SNAPSHOT_REPO}/${snap.project}`;
  const previous = await engine.inspectImage(`${local}:${snap.tag}`);
  await Promise.all([engine.tagImage(snap.id, local, snap.tag), ...containers.map((c) => engine.tagImage(c.id, containerRepo(snap.project, c.service), snap.tag))]);
  if (previous && previous.Id !== snap.id && !(await snapshotUsers(engine)).has(previous.Id)) await removeImages(engine, infoOf(imageRow(previous), new Map())).catch(() => undefined);
  return resolveSnapshot(snap.id, { engine });
}
