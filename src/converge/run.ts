/**
 * One-off containers (`run`): the service's dependencies started first, its networks, volumes
 * and image made ready, a container created with the service's configuration (and references to
 * sibling services resolved to their containers), attached before it starts, waited for, and
 * removed with `rm` however the run ends.
 */
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import type { Readable, Writable } from 'node:stream';
import { DockyardError } from '../errors.js';
import { imageName } from '../model/names.js';
import type { Service } from '../model/project.js';
import type { Converger } from './runner.js';
import { up } from './up.js';
import { projectContainers } from './state.js';
import { parsePortSpec, parseVolumeSpec } from '../load/canonical.js';
import { resolve } from 'node:path';

export interface OneOffOptions {
  /** the command (default: the service's) */
  command?: string[];
  entrypoint?: string[];
  env?: Record<string, string>;
  labels?: Record<string, string>;
  name?: string;
  user?: string;
  workdir?: string;
  /** remove the container when it ends */
  rm?: boolean;
  /** do not start the services it depends on */
  noDeps?: boolean;
  /** publish the service's ports (they are left out by default, as with Compose) */
  servicePorts?: boolean;
  /** more published ports, `[HOST_IP:][HOST_PORT:]PORT[/PROTO]` */
  publish?: string[];
  /** more mounts, `SOURCE:TARGET[:ro]` (a relative host path is the project directory's) */
  volumes?: string[];
  capAdd?: string[];
  capDrop?: string[];
  /** answer to the service's name and aliases on its networks */
  useAliases?: boolean;
  /** pull the image first: always, missing, never */
  pull?: 'always' | 'missing' | 'never' | 'build';
  /** remove containers of services the project no longer defines first */
  removeOrphans?: boolean;
  tty?: boolean;
  consoleSize?: [number, number];
  /** start it and return at once (exit code 0), without attaching */
  detach?: boolean;
  stdin?: Readable;
  stdout?: Writable;
  stderr?: Writable;
  /** builds images that are missing or stale */
  build?: (services: Service[]) => Promise<void>;
  /** which of these services' images are out of date with their sources (for the dependencies `run` brings up) */
  stale?: (services: Service[]) => Promise<Set<string>>;
  /** called once attached, before stdin is connected (a terminal goes into raw mode here) */
  onAttach?: () => void;
  /**
   * told the container's id just before it is started (its first output can come before the start
   * call returns, so signal handlers go in here); what it returns is called when the run ends
   */
  beforeStart?: (id: string) => (() => void) | void;
  /** told the container's id once it is started (a TTY's size goes in here); what it returns is called when the run ends */
  onStart?: (id: string) => (() => void) | void;
}

export interface OneOffResult {
  exitCode: number;
  /** the container's name */
  container: string;
  id: string;
}

export async function runOneOff(conv: Converger, service: string, o: OneOffOptions = {}): Promise<OneOffResult> {
  const [s] = conv.targets([service], true);
  // bad flags are refused before anything is started or created
  const volumes = checkedFlags(conv, o);
  const ref = await prepareOneOff(conv, s!, o);
  // service:x, links and volumes_from refer to the sibling services' containers (running first)
  const siblings = await projectContainers(conv.engine, conv.project.name, { oneoff: false });
  const lookup = (svc: string) => (siblings.find((c) => c.service === svc && c.state === 'running') ?? siblings.find((c) => c.service === svc))?.name;
  const name = o.name ?? `${conv.project.name}-${service}-run-${randomBytes(6).toString('hex')}`;
  const id = await conv.create(s!, 1, name, ref, lookup, {
    oneoff: true,
    command: o.command?.length ? o.command : undefined,
    env: o.env,
    labels: o.labels,
    entrypoint: o.entrypoint,
    tty: o.tty,
    consoleSize: o.consoleSize,
    user: o.user,
    workdir: o.workdir,
    noPorts: !o.servicePorts,
    stdinOpen: !o.detach && !!o.stdin,
    publish: o.publish,
    volumes,
    capAdd: o.capAdd,
    capDrop: o.capDrop,
    useAliases: o.useAliases,
  });
  if (!o.detach) return { exitCode: await runAttached(conv, id, o), container: name, id };
  try {
    await conv.engine.startContainer(id);
  } catch (e) {
    // as docker run --rm: its anonymous volumes go with it
    if (o.rm) await conv.engine.removeContainer(id, { force: true, volumes: true });
    throw e;
  }
  return { exitCode: 0, container: name, id };
}

/**
 * What a one-off container needs before it is created: its dependencies up (unless noDeps), its
 * own networks and volumes, its image built or pulled, orphans removed if asked. Its image reference.
 */
async function prepareOneOff(conv: Converger, s: Service, o: OneOffOptions): Promise<string> {
  const { project, engine } = conv;
  const deps = Object.keys(s.depends_on ?? {}).filter((d) => project.services[d]);
  if (!o.noDeps && deps.length) await up(conv, { services: deps, wait: false, builder: o.build ? (svcs) => o.build!(svcs) : undefined, stale: o.stale });
  else await conv.ensureEngine();
  // its own networks and volumes (a dependency may not use them, or none was started)
  await conv.ensureResources([s]);
  if (s.build && o.pull !== 'always') {
    if (!o.build) throw new DockyardError('SERVICE_FAILED', `service "${s.name}" must be built`, { hint: 'build it first: dockyard build' });
    await o.build([s]);
  }
  const ref = imageName(project.name, s);
  if (o.pull === 'always' || (o.pull === 'missing' && !(await engine.inspectImage(ref)))) await engine.pullImage(ref);
  if (o.removeOrphans) {
    const known = new Set([...Object.keys(project.services), ...Object.keys(project.disabledServices)]);
    await conv.removeContainers((await projectContainers(engine, project.name, { oneoff: false })).filter((c) => !known.has(c.service)));
  }
  if (!(await engine.inspectImage(ref))) {
    throw new DockyardError('SERVICE_FAILED', `image ${ref} for service "${s.name}" is not present`, { hint: s.build ? 'build it first: dockyard build' : 'load or build it locally' });
  }
  return ref;
}

/** --volume and --publish checked (a usage error names the flag); the volumes as the engine takes them. */
function checkedFlags(conv: Converger, o: OneOffOptions): string[] {
  for (const p of o.publish ?? []) {
    try {
      parsePortSpec(p);
    } catch (e) {
      throw new DockyardError('USAGE', `invalid --publish "${p}": ${(e as Error).message}`, { hint: '[HOST_IP:][HOST_PORT:]PORT[/PROTOCOL]' });
    }
  }
  return (o.volumes ?? []).map((v) => {
    let spec;
    try {
      spec = parseVolumeSpec(v);
    } catch (e) {
      throw new DockyardError('USAGE', `invalid --volume "${v}": ${(e as Error).message}`, { hint: 'SOURCE:TARGET[:ro]' });
    }
    if (!spec.source) throw new DockyardError('USAGE', `invalid --volume "${v}"`, { hint: 'SOURCE:TARGET[:ro]' });
    const source = spec.type === 'bind' ? resolve(conv.project.workingDir, spec.source) : conv.project.volumes[spec.source]?.name ?? spec.source;
    return `${source}:${spec.target}${spec.read_only ? ':ro' : ''}`;
  });
}

/** Attached before it starts (no output is missed), started, waited for; its exit code. */
async function runAttached(conv: Converger, id: string, o: OneOffOptions): Promise<number> {
  const { engine } = conv;
  let io: Awaited<ReturnType<typeof engine.attachContainer>> | undefined;
  let ended: (() => void) | void = undefined;
  let before: (() => void) | void = undefined;
  try {
    io = await engine.attachContainer(id, o.tty ?? false);
    const drained = Promise.all([once(io.stdout, 'end'), once(io.stderr, 'end')]);
    if (o.stdout) io.stdout.pipe(o.stdout, { end: false });
    else io.stdout.resume();
    if (o.stderr) io.stderr.pipe(o.stderr, { end: false });
    else io.stderr.resume();
    o.onAttach?.();
    if (o.stdin) o.stdin.pipe(io.stdin);
    before = o.beforeStart?.(id);
    await engine.startContainer(id);
    ended = o.onStart?.(id);
    const exitCode = await engine.waitContainer(id);
    // the last output can trail the exit by a moment
    await Promise.race([drained, new Promise((r) => setTimeout(r, 2000).unref())]);
    return exitCode;
  } finally {
    ended?.();
    before?.();
    if (io && o.stdin) o.stdin.unpipe(io.stdin);
    io?.close();
    // as docker run --rm: its anonymous volumes go with it
    if (o.rm) await engine.removeContainer(id, { force: true, volumes: true });
  }
}
