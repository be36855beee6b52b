/**
 * `deploy`: the Project as a Swarm stack, through the Engine API (what `docker stack deploy`
 * does, with the wait for convergence built in). Objects are named `<stack>_<name>` and labelled
 * `com.docker.stack.namespace=<stack>`, as the docker CLI names and labels them, so both tools see
 * the same stacks. Configs and secrets get content-hashed names: a changed file rolls the services.
 */
import { createHash } from 'node:crypto';
import { DockyardError } from '../errors.js';
import type { Engine } from '../engine/engine.js';
import { imageName } from '../model/names.js';
import type { Project, Service, UpdateConfig } from '../model/project.js';
import { sortKeys } from '../model/serialize.js';
import { definedContent } from './content.js';

export const STACK_LABEL = 'com.docker.stack.namespace';
const IMAGE_LABEL = 'com.docker.stack.image';

export interface DeployOptions {
  /** do not wait for the services to converge */
  detach?: boolean;
  /** remove services of the stack that are no longer in the project */
  prune?: boolean;
  /** how long to wait for convergence (default 5 minutes) */
  timeoutMs?: number;
  /**
   * pin each service's image to the digest its registry has now, so that every node runs the same
   * image (as docker stack deploy does): always (default), changed (only for images whose
   * reference changed since the last deploy), never
   */
  resolveImage?: 'always' | 'changed' | 'never';
  /** progress: one line per change, and per service `n/m running` while waiting */
  onProgress?: (line: string) => void;
  /**
   * send each service's registry credentials to the Swarm, so that its nodes can pull private
   * images (`docker stack deploy --with-registry-auth`); the digest lookups use them regardless
   */
  withRegistryAuth?: boolean;
  /**
   * a registry (HOST[:PORT]) to push images through that only this engine has and that name no
   * registry: they are tagged `HOST/<image>`, pushed, and deployed by that digest
   */
  registry?: string;
}

export interface DeployResult {
  stack: string;
  created: string[];
  updated: string[];
  removed: string[];
  /** keys Swarm cannot honour, with their key paths */
  ignored: string[];
  /** images no registry gave a digest for (each node then resolves the tag on its own) */
  unresolved: Array<{ image: string; reason: string }>;
  /** images of `build:` services built (or found up to date) before deploying */
  built: string[];
  /** images pushed before deploying: built ones to the registry they name, local ones through `registry` */
  pushed: Array<{ image: string; as: string }>;
  /** what Swarm cannot do here (no IPVS: virtual IPs and the ingress mesh), with the services concerned */
  warnings: string[];
}

/** Keys a Swarm service has no place for (listed in one warning). */
const UNSUPPORTED = ['container_name', 'links', 'external_links', 'network_mode', 'privileged', 'devices', 'cgroup_parent', 'cpu_shares', 'cpuset', 'mem_limit', 'mem_reservation', 'cpus', 'userns_mode', 'ipc', 'pid', 'security_opt', 'volumes_from', 'depends_on', 'shm_size', 'mac_address', 'runtime', 'scale', 'blkio_config', 'oom_score_adj', 'platform', 'profiles', 'pull_policy', 'develop', 'post_start', 'pre_stop', 'extends', 'attach', 'gpus', 'uts', 'label_file', 'env_file', 'models', 'provider'];

const ns = (v?: number) => (v === undefined ? undefined : Math.round(v));
const nameOf = (stack: string, key: string) => `${stack}_${key}`;
const hash = (s: string) => createHash('sha256').update(s).digest('hex').slice(0, 10);

function updateConfig(u: UpdateConfig | undefined): Record<string, unknown> | undefined {
  if (!u) return undefined;
  const fa = u.failure_action;
  return {
    Parallelism: u.parallelism ?? 1,
    Delay: ns(u.delay),
    FailureAction: fa,
    Monitor: ns(u.monitor),
    MaxFailureRatio: u.max_failure_ratio,
    Order: u.order,
  };
}

/**
 * The restart condition: deploy.restart_policy's, else the service's `restart:` translated (a job
 * with `restart: "no"` runs until it succeeds once instead of being restarted forever, which Swarm's
 * default would do).
 */
function restartOf(s: Service): { Condition: string; MaxAttempts?: number } {
  const c = s.deploy?.restart_policy?.condition;
  if (c) return { Condition: c };
  // a one-off job: retried until it succeeds (Swarm does not wait for its dependencies), then left
  if (s.restart === 'no') return { Condition: 'on-failure' };
  const m = /^on-failure(?::(\d+))?$/.exec(s.restart ?? '');
  if (m) return { Condition: 'on-failure', ...(m[1] ? { MaxAttempts: Number(m[1]) } : {}) };
  return { Condition: 'any' };
}

/** what the wait expects of a service: its replicas, and whether it is a job (done when complete) */
interface Wanted {
  mode: number | 'global';
  job: boolean;
  /** restart: "no" (nothing in deploy.restart_policy): a one-off run, done only when it completed */
  oneoff: boolean;
  /** restart condition none: one failure is final */
  once: boolean;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A task in one of these states runs no container any more. */
const FINAL_TASK_STATES = new Set(['complete', 'shutdown', 'failed', 'rejected', 'orphaned', 'remove']);

/** Retries a removal the engine refuses for a moment (endpoints and containers of removed tasks go a bit after them). */
async function removeSoon(remove: () => Promise<void>): Promise<void> {
  for (let i = 0; ; i++) {
    try {
      return await remove();
    } catch (e) {
      if (i >= 20) throw e;
      await sleep(500);
    }
  }
}

/** The engine must be a Swarm manager: a clear error otherwise. */
async function requireSwarm(engine: Engine): Promise<void> {
  const state = await engine.swarmState();
  if (state !== 'active') {
    throw new DockyardError('USAGE', `this engine is not part of a Swarm (its state: ${state})`, { hint: 'make it one: `docker swarm init --advertise-addr 127.0.0.1`, or choose a manager (--context, DOCKER_HOST)' });
  }
}

/** The engine given: an Engine, or a docker context's name (that context's engine), or none (as the docker CLI chooses). */
async function engineOf(engine: Engine | string | undefined): Promise<Engine> {
  if (engine && typeof engine !== 'string') return engine;
  return (await import('../engine/docker.js')).engineFromContext(engine);
}

/** `engine`: an Engine, or the name of a docker context. */
export async function deployStack(engineOrContext: Engine | string | undefined, project: Project, o: DeployOptions = {}): Promise<DeployResult> {
  const engine = await engineOf(engineOrContext);
  const say = o.onProgress ?? (() => undefined);
  const stack = project.name;
  const labels = { [STACK_LABEL]: stack };
  const result: DeployResult = { stack, created: [], updated: [], removed: [], ignored: [], unresolved: [], built: [], pushed: [], warnings: [] };
  await requireSwarm(engine);
  const [nodes, self] = await Promise.all([swarmNodes(engine), selfOf(engine)]);
  result.warnings.push(...ipvsWarnings(project, self.ipvs));

  // images first: built, pushed, pinned, and every one of them able to reach the nodes that will
  // run it; nothing is created before that is settled
  const existing = new Map((await engine.listSwarm('services', { label: [`${STACK_LABEL}=${stack}`] })).map((x) => [x.Spec.Name as string, x]));
  const pinned = await prepareImages(engine, project, existing, o, result, say, nodes, self.nodeId);

  for (const s of Object.values(project.services)) {
    for (const k of Object.keys(s)) if (UNSUPPORTED.includes(k)) result.ignored.push(`services.${s.name}.${k}`);
    if (s.build && !namesRegistry(imageName(stack, s)) && !o.registry) result.ignored.push(`services.${s.name}.build`);
  }

  // networks: overlay, attachable (so `run` containers can join), created once
  const netNames = new Map<string, string>();
  const usedNets = new Set(Object.values(project.services).flatMap((s) => Object.keys(s.networks ?? { default: null })));
  for (const key of usedNets) {
    const def = project.networks[key] ?? { name: `${stack}_${key}` };
    const name = def.external ? def.name : nameOf(stack, key);
    netNames.set(key, name);
    if (def.external) continue;
    if (await engine.inspectNetwork(name)) continue;
    await engine.createNetwork({
      Name: name,
      Driver: def.driver ?? 'overlay',
      Attachable: def.attachable ?? true,
      Internal: def.internal === true,
      Options: def.driver_opts ?? {},
      Labels: { ...(def.labels as Record<string, string> | undefined), ...labels },
      ...(def.ipam ? { IPAM: { Driver: def.ipam.driver ?? 'default', Config: (def.ipam.config ?? []).map((c) => Object.fromEntries(Object.entries(c).map(([k, v]) => [k === 'ip_range' ? 'IPRange' : k[0]!.toUpperCase() + k.slice(1), v]))) } } : {}),
    });
    say(`network ${name} created`);
  }

  // configs and secrets: immutable in Swarm, so a new content is a new object (name + hash)
  const files: Record<'configs' | 'secrets', Map<string, { id: string; name: string }>> = { configs: new Map(), secrets: new Map() };
  for (const kind of ['configs', 'secrets'] as const) {
    const existing = await engine.listSwarm(kind, { label: [`${STACK_LABEL}=${stack}`] });
    for (const [key, def] of Object.entries(project[kind])) {
      if (def.external) {
        const found = (await engine.listSwarm(kind, { name: [def.name] })).find((x) => x.Spec?.Name === def.name);
        if (!found) throw new DockyardError('MISSING_REFERENCE', `${kind}.${key}: external ${kind.slice(0, -1)} "${def.name}" does not exist in the Swarm`, { hint: `create it first: docker ${kind.slice(0, -1)} create ${def.name} FILE` });
        files[kind].set(key, { id: found.ID, name: def.name });
        continue;
      }
      const content = definedContent(project, def);
      const name = `${nameOf(stack, key)}-${hash(content)}`;
      const same = existing.find((x) => x.Spec?.Name === name);
      if (same) {
        files[kind].set(key, { id: same.ID, name });
        continue;
      }
      const id = await engine.createSwarm(kind, { Name: name, Labels: { ...labels, 'com.dockyard.key': key }, Data: Buffer.from(content).toString('base64') });
      files[kind].set(key, { id, name });
      say(`${kind.slice(0, -1)} ${name} created`);
    }
  }

  // services
  const wanted = new Map<string, Wanted>();
  for (const s of Object.values(project.services)) {
    const spec = serviceSpec(project, s, netNames, files, labels, pinned.get(s.name));
    const name = spec.Name as string;
    const mode = s.deploy?.mode === 'global' ? 'global' : (s.deploy?.replicas ?? 1);
    const restart = restartOf(s).Condition;
    wanted.set(name, { mode, job: restart !== 'any', once: restart === 'none', oneoff: s.restart === 'no' && !s.deploy?.restart_policy?.condition });
    const cur = existing.get(name);
    if (cur) {
      await engine.updateService(cur.ID, cur.Version.Index, spec, { registryAuth: o.withRegistryAuth });
      result.updated.push(name);
      say(`service ${name} updated`);
    } else {
      await engine.createSwarm('services', spec, { registryAuth: o.withRegistryAuth });
      result.created.push(name);
      say(`service ${name} created`);
    }
  }
  if (o.prune) {
    for (const [name, cur] of existing) {
      if (wanted.has(name)) continue;
      await engine.removeSwarm('services', cur.ID);
      result.removed.push(name);
      say(`service ${name} removed`);
    }
  }
  if (!o.detach && !engine.dryRun) await waitConverged(engine, stack, wanted, o.timeoutMs ?? 300_000, say, nodes);
  // configs and secrets of earlier contents, no longer used by any service
  for (const kind of ['configs', 'secrets'] as const) {
    const keep = new Set([...files[kind].values()].map((f) => f.id));
    for (const x of await engine.listSwarm(kind, { label: [`${STACK_LABEL}=${stack}`] })) {
      if (keep.has(x.ID)) continue;
      await engine.removeSwarm(kind, x.ID).catch(() => undefined); // still in use by an old task: a later deploy removes it
    }
  }
  return result;
}

/** A Swarm node, as deploy reads it. */
export interface SwarmNode {
  id: string;
  /** the node's host name (what `docker node ls` shows) */
  name: string;
  role: string;
  /** ready, down, unknown, disconnected */
  state: string;
  /** active, pause, drain */
  availability: string;
  addr?: string;
  labels: Record<string, string>;
  engineLabels: Record<string, string>;
  os?: string;
  arch?: string;
}

/** This engine's node (an Engine written before swarmSelf existed: unknown). */
const selfOf = (engine: Engine): Promise<{ nodeId: string; ipvs?: boolean }> => (typeof engine.swarmSelf === 'function' ? engine.swarmSelf() : Promise.resolve({ nodeId: '' }));

/** The Swarm's nodes (asked of a manager; none known from an Engine written before listNodes existed). */
export async function swarmNodes(engine: Engine): Promise<SwarmNode[]> {
  if (typeof engine.listNodes !== 'function') return [];
  return (await engine.listNodes()).map((n) => ({
    id: String(n.ID),
    name: String(n.Description?.Hostname ?? n.ID),
    role: String(n.Spec?.Role ?? ''),
    state: String(n.Status?.State ?? 'unknown'),
    availability: String(n.Spec?.Availability ?? 'active'),
    addr: n.Status?.Addr,
    labels: n.Spec?.Labels ?? {},
    engineLabels: n.Description?.Engine?.Labels ?? {},
    os: n.Description?.Platform?.OS,
    arch: n.Description?.Platform?.Architecture,
  }));
}

/** Whether a node meets one placement constraint (`node.role==worker`, `node.labels.zone!=a`...); one we cannot read here is met. */
export function meetsConstraint(n: SwarmNode, constraint: string): boolean {
  const m = /^\s*([^=!\s]+)\s*(==|!=)\s*(.*?)\s*$/.exec(constraint);
  if (!m) return true; // the engine refuses a malformed constraint itself
  const key = m[1]!.toLowerCase();
  const want = m[3]!;
  const named: Record<string, string | undefined> = { 'node.id': n.id, 'node.hostname': n.name, 'node.role': n.role, 'node.platform.os': n.os, 'node.platform.arch': n.arch };
  let have: string | undefined;
  if (key in named) have = named[key];
  else if (key.startsWith('node.labels.')) have = n.labels[m[1]!.slice('node.labels.'.length)];
  else if (key.startsWith('engine.labels.')) have = n.engineLabels[m[1]!.slice('engine.labels.'.length)];
  else return true;
  const eq = have !== undefined && have.toLowerCase() === want.toLowerCase();
  return m[2] === '==' ? eq : !eq;
}

/** The nodes a service's tasks may be placed on now: ready, active, meeting its constraints. */
export function eligibleNodes(nodes: SwarmNode[], s: Service): SwarmNode[] {
  const cs = s.deploy?.placement?.constraints ?? [];
  return nodes.filter((n) => n.state === 'ready' && n.availability === 'active' && cs.every((c) => meetsConstraint(n, c)));
}

/** `host:5000/app:1`, `localhost/app`, `docker.io/library/x` name a registry; `app:1`, `org/app` do not. */
export function namesRegistry(image: string): boolean {
  const slash = image.indexOf('/');
  if (slash < 0) return false;
  const first = image.slice(0, slash);
  return first.includes('.') || first.includes(':') || first === 'localhost';
}

/** Without IPVS, Swarm's virtual IPs and its ingress mesh cannot route: which services rely on them. */
function ipvsWarnings(project: Project, ipvs: boolean | undefined): string[] {
  if (ipvs !== false) return [];
  const services = Object.values(project.services);
  const vip = services.filter((s) => (s.deploy?.endpoint_mode ?? 'vip') === 'vip').map((s) => s.name);
  const ingress = services.flatMap((s) => (s.ports ?? []).filter((p) => p.mode !== 'host' && p.published).map((p) => `${s.name}:${p.published}`));
  const out: string[] = [];
  if (vip.length) out.push(`this engine's kernel has no IPVS, so Swarm's virtual IPs do not route: the names of ${vip.join(', ')} (endpoint_mode vip) resolve to an address nothing answers on; set deploy.endpoint_mode: dnsrr`);
  if (ingress.length) out.push(`this engine's kernel has no IPVS, so the ingress routing mesh does not answer: ports ${ingress.join(', ')} publish through it; publish with mode: host`);
  return out;
}


/**
 * Which of `ask` lack an image: a global job whose command does not exist runs on every other
 * node once; where the image is there its task fails to start ("executable file not found"),
 * where it is not, the engine rejects it ("No such image"). Then the job is removed.
 */
async function nodesLacking(engine: Engine, image: string, ask: SwarmNode[], self: string): Promise<{ lacking: SwarmNode[]; silent: SwarmNode[] }> {
  const name = `dockyard-image-probe-${hash(image + Date.now())}`;
  const id = await engine.createSwarm('services', {
    Name: name,
    Labels: { 'dev.dockyard.probe': image },
    TaskTemplate: {
      ContainerSpec: { Image: image, Command: ['/dockyard-image-probe'] },
      RestartPolicy: { Condition: 'none', MaxAttempts: 1 },
      Placement: { Constraints: [`node.id!=${self}`] },
    },
    Mode: { GlobalJob: {} },
  });
  const verdict = new Map<string, boolean>();
  try {
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      for (const t of await engine.listSwarm('tasks', { service: [id] })) {
        const st = t.Status?.State as string | undefined;
        if (!t.NodeID || verdict.has(t.NodeID) || !['failed', 'rejected', 'complete', 'running', 'shutdown'].includes(st ?? '')) continue;
        verdict.set(t.NodeID, !/No such image/i.test(String(t.Status?.Err ?? '')));
      }
      if (ask.every((n) => verdict.has(n.id))) break;
      await sleep(200);
    }
  } finally {
    await engine.removeSwarm('services', id);
  }
  return { lacking: ask.filter((n) => verdict.get(n.id) === false), silent: ask.filter((n) => !verdict.has(n.id)) };
}

/**
 * Images, before anything is deployed: `build:` services built here (their image pushed to the
 * registry it names); every image pinned to its registry digest (see resolveImages); an image no
 * registry has is pushed through `o.registry`, else it must be on every node that may run it
 * (a built one is only here; another is looked for on the other nodes), or deploy is refused.
 */
async function prepareImages(engine: Engine, project: Project, existing: Map<string, Record<string, any>>, o: DeployOptions, result: DeployResult, say: (l: string) => void, nodes: SwarmNode[], self: string): Promise<Map<string, string>> {
  const services = Object.values(project.services);
  // built when the result can reach the nodes: its image names a registry, or --registry is given
  // (otherwise `build` is listed as ignored, as docker stack deploy ignores it)
  const builds = services.filter((s) => s.build && (namesRegistry(imageName(project.name, s)) || o.registry));
  const built = new Set(builds.map((s) => imageName(project.name, s)));
  if (builds.length) {
    const { buildServices } = await import('../build/builder.js');
    await buildServices(engine, project, builds.map((s) => s.name), {
      dryRun: engine.dryRun,
      onEvent: (e) => {
        if (e.type !== 'build') return;
        if (e.action === 'built') say(`image ${e.image} built (service ${e.service})`);
        else if (e.action === 'skipped') say(`image ${e.image} up to date (service ${e.service})`);
      },
    });
    result.built.push(...built);
    for (const image of built) {
      if (!namesRegistry(image)) continue;
      if (!engine.dryRun) await engine.pushImage(image);
      result.pushed.push({ image, as: image });
      say(`image ${image} pushed to ${image.slice(0, image.indexOf('/'))}: the nodes pull it from there`);
    }
  }
  const mode = o.resolveImage ?? 'always';
  const pinned = await resolveImages(engine, project, existing, mode, result);
  // which nodes may lack an image can only be told knowing the nodes
  if (mode === 'never' || engine.dryRun || !nodes.length) return pinned;

  const selfNode = nodes.find((n) => n.id === self);
  const refusals: string[] = [];
  for (const u of [...result.unresolved]) {
    const uses = services.filter((s) => imageName(project.name, s) === u.image && !pinned.has(s.name));
    if (!uses.length) continue;
    const local = await engine.inspectImage(u.image);
    if (o.registry && local && !namesRegistry(u.image)) {
      const tagged = u.image.slice(u.image.lastIndexOf('/') + 1).includes(':') ? u.image : `${u.image}:latest`;
      const as = `${o.registry.replace(/\/+$/, '')}/${tagged}`;
      const colon = as.lastIndexOf(':');
      await engine.tagImage(u.image, as.slice(0, colon), as.slice(colon + 1));
      await engine.pushImage(as);
      const digest = await engine.registryDigest(as);
      for (const s of uses) pinned.set(s.name, `${as}@${digest}`);
      result.pushed.push({ image: u.image, as });
      result.unresolved.splice(result.unresolved.indexOf(u), 1);
      say(`image ${u.image} is only on this engine: pushed to ${o.registry} as ${as}, deployed by its digest`);
      continue;
    }
    const may = new Map<string, SwarmNode>();
    for (const s of uses) for (const n of eligibleNodes(nodes, s)) may.set(n.id, n);
    const lacking: SwarmNode[] = [];
    if (may.has(self) && !local) lacking.push(may.get(self)!);
    const others = [...may.values()].filter((n) => n.id !== self);
    if (built.has(u.image)) lacking.push(...others);
    else if (others.length) {
      const probe = await nodesLacking(engine, u.image, others, self);
      lacking.push(...probe.lacking);
      if (probe.silent.length) result.warnings.push(`could not tell whether ${probe.silent.map((n) => n.name).join(', ')} have ${u.image} (no answer in 30 s)`);
    }
    if (!lacking.length) continue;
    const names = lacking.map((n) => n.name).sort();
    const here = local ? `this engine${selfNode ? ` (${selfNode.name})` : ''} has it${built.has(u.image) ? ' (built here)' : ''}` : 'this engine lacks it too';
    refusals.push(`${u.image} (${uses.length > 1 ? 'services' : 'service'} ${uses.map((s) => s.name).join(', ')}): no registry has it, and ${names.join(', ')} would lack it; ${here}. The registry said: ${u.reason}`);
  }
  if (refusals.length) {
    throw new DockyardError('MISSING_REFERENCE', `cannot deploy: ${refusals.length === 1 ? 'an image' : `${refusals.length} images`} would not reach the nodes that may run ${refusals.length === 1 ? 'it' : 'them'} (nothing was deployed):\n  ${refusals.join('\n  ')}`, {
      hint: 'name a registry in image: (REGISTRY/NAME:TAG; a build: service is then built and pushed there by deploy), or deploy --registry HOST to push such images through HOST, or constrain the service to nodes that have it (deploy.placement.constraints)',
    });
  }
  return pinned;
}

/**
 * Each service's image pinned to its registry digest (`name:tag@sha256:...`): asked of the
 * registry once per image, through the engine. With `changed`, a service whose image reference is
 * what the last deploy recorded keeps the image its spec runs. An image the registry does not
 * know (built here, not pushed) is deployed by its reference, and named in the result.
 */
async function resolveImages(engine: Engine, project: Project, existing: Map<string, Record<string, any>>, mode: 'always' | 'changed' | 'never', result: DeployResult): Promise<Map<string, string>> {
  const pinned = new Map<string, string>();
  if (mode === 'never') return pinned;
  // once per image, however many services run it
  const asked = new Map<string, Promise<string | undefined>>();
  const pin = (image: string) =>
    engine.registryDigest(image).then(
      (digest) => `${image}@${digest}`,
      (e: unknown) => {
        result.unresolved.push({ image, reason: e instanceof Error ? e.message.replace(`distribution ${image}: `, '') : String(e) });
        return undefined;
      },
    );
  const ask = (image: string) => {
    if (!asked.has(image)) asked.set(image, pin(image));
    return asked.get(image)!;
  };
  await Promise.all(
    Object.values(project.services).map(async (s) => {
      const image = imageName(project.name, s);
      if (image.includes('@')) return; // pinned as written
      const cur = existing.get(nameOf(project.name, s.name));
      if (mode === 'changed' && cur && cur.Spec?.Labels?.[IMAGE_LABEL] === image) {
        const running = cur.Spec?.TaskTemplate?.ContainerSpec?.Image as string | undefined;
        if (running) pinned.set(s.name, running);
        return;
      }
      const p = await ask(image);
      if (p) pinned.set(s.name, p);
    }),
  );
  return pinned;
}

function serviceSpec(
  project: Project,
  s: Service,
  nets: Map<string, string>,
  files: Record<'configs' | 'secrets', Map<string, { id: string; name: string }>>,
  stackLabels: Record<string, string>,
  pinned?: string,
): Record<string, unknown> {
  const stack = project.name;
  const image = imageName(stack, s);
  const d = s.deploy ?? {};
  const h = s.healthcheck;
  const strs = (m: Record<string, unknown> | undefined) => Object.fromEntries(Object.entries(m ?? {}).map(([k, v]) => [k, String(v ?? '')]));
  const mounts = (s.volumes ?? []).map((v) => {
    const vol = v.type === 'volume' && v.source ? project.volumes[v.source] : undefined;
    const source = v.type === 'volume' && v.source ? (vol?.external ? vol.name : nameOf(stack, v.source)) : v.source;
    return {
      Type: v.type,
      Source: source,
      Target: v.target,
      ReadOnly: v.read_only === true,
      ...(v.type === 'volume' ? { VolumeOptions: { NoCopy: v.volume?.nocopy === true, Labels: { ...strs(vol?.labels as never), ...stackLabels }, ...(vol?.driver ? { DriverConfig: { Name: vol.driver, Options: vol.driver_opts ?? {} } } : {}) } } : {}),
      ...(v.type === 'bind' && v.bind?.propagation ? { BindOptions: { Propagation: v.bind.propagation } } : {}),
      ...(v.type === 'tmpfs' && v.tmpfs ? { TmpfsOptions: { SizeBytes: v.tmpfs.size, Mode: v.tmpfs.mode } } : {}),
    };
  });
  for (const t of s.tmpfs ?? []) mounts.push({ Type: 'tmpfs', Source: undefined, Target: t.split(':')[0]!, ReadOnly: false });
  const refs = (kind: 'configs' | 'secrets') =>
    (s[kind] ?? []).map((r) => {
      const f = files[kind].get(r.source);
      if (!f) throw new DockyardError('MISSING_REFERENCE', `services.${s.name}.${kind}: "${r.source}" is not defined`, { hint: `define it under top-level ${kind}:` });
      const target = r.target ?? (kind === 'secrets' ? r.source : `/${r.source}`);
      return {
        File: { Name: target, UID: r.uid ?? '0', GID: r.gid ?? '0', Mode: r.mode ?? 0o444 },
        [kind === 'configs' ? 'ConfigID' : 'SecretID']: f.id,
        [kind === 'configs' ? 'ConfigName' : 'SecretName']: f.name,
      };
    });
  const res = (r: { cpus?: number; memory?: number } | undefined) => r && { ...(r.cpus !== undefined ? { NanoCPUs: Math.round(r.cpus * 1e9) } : {}), ...(r.memory !== undefined ? { MemoryBytes: r.memory } : {}) };
  const rp = d.restart_policy;
  const ports = (s.ports ?? []).map((p) => ({ Protocol: p.protocol, TargetPort: p.target, ...(p.published ? { PublishedPort: Number(p.published.split('-')[0]) } : {}), PublishMode: p.mode === 'host' ? 'host' : 'ingress' }));
  return {
    Name: nameOf(stack, s.name),
    Labels: { ...strs(d.labels), ...stackLabels, [IMAGE_LABEL]: image },
    TaskTemplate: {
      ContainerSpec: {
        Image: pinned ?? image,
        Labels: { ...strs(s.labels), ...stackLabels },
        ...(s.entrypoint ? { Command: s.entrypoint } : {}),
        ...(s.command ? { Args: s.command } : {}),
        Env: Object.entries(s.environment ?? {}).map(([k, v]) => (v === null || v === undefined ? k : `${k}=${String(v)}`)),
        ...(s.working_dir ? { Dir: s.working_dir } : {}),
        ...(s.user ? { User: s.user } : {}),
        ...(s.hostname ? { Hostname: s.hostname } : {}),
        TTY: s.tty === true,
        OpenStdin: s.stdin_open === true,
        ReadOnly: s.read_only === true,
        ...(s.init !== undefined ? { Init: s.init } : {}),
        Mounts: mounts,
        ...(h ? { Healthcheck: { Test: h.disable ? ['NONE'] : h.test, Interval: ns(h.interval), Timeout: ns(h.timeout), Retries: h.retries, StartPeriod: ns(h.start_period) } } : {}),
        ...(s.stop_grace_period !== undefined ? { StopGracePeriod: s.stop_grace_period } : {}),
        ...(s.stop_signal ? { StopSignal: s.stop_signal } : {}),
        ...(s.extra_hosts?.length ? { Hosts: s.extra_hosts.map((e) => { const [host, ip] = e.split('='); return `${ip} ${host}`; }) } : {}),
        ...(s.dns?.length || s.dns_search?.length || s.dns_opt?.length ? { DNSConfig: { Nameservers: s.dns, Search: s.dns_search, Options: s.dns_opt } } : {}),
        ...(s.cap_add?.length ? { CapabilityAdd: s.cap_add } : {}),
        ...(s.cap_drop?.length ? { CapabilityDrop: s.cap_drop } : {}),
        ...(s.sysctls ? { Sysctls: strs(s.sysctls as never) } : {}),
        Configs: refs('configs'),
        Secrets: refs('secrets'),
      },
      ...(d.resources ? { Resources: { Limits: res(d.resources.limits), Reservations: res(d.resources.reservations) } } : {}),
      RestartPolicy: { ...restartOf(s), ...(rp?.delay !== undefined ? { Delay: rp.delay } : {}), ...(rp?.max_attempts !== undefined ? { MaxAttempts: rp.max_attempts } : {}), ...(rp?.window !== undefined ? { Window: rp.window } : {}) },
      Placement: { Constraints: d.placement?.constraints ?? [], Preferences: (d.placement?.preferences ?? []).map((p) => ({ Spread: { SpreadDescriptor: p.spread } })), ...(d.placement?.max_replicas_per_node ? { MaxReplicas: d.placement.max_replicas_per_node } : {}) },
      Networks: Object.entries(s.networks ?? { default: null }).map(([key, cfg]) => ({ Target: nets.get(key) ?? nameOf(stack, key), Aliases: [s.name, ...(cfg?.aliases ?? [])] })),
      ...(s.logging?.driver ? { LogDriver: { Name: s.logging.driver, Options: s.logging.options ?? {} } } : {}),
    },
    Mode: d.mode === 'global' ? { Global: {} } : { Replicated: { Replicas: d.replicas ?? 1 } },
    ...(d.update_config ? { UpdateConfig: updateConfig(d.update_config) } : {}),
    ...(d.rollback_config ? { RollbackConfig: updateConfig(d.rollback_config) } : {}),
    EndpointSpec: { Mode: d.endpoint_mode ?? 'vip', Ports: ports },
  };
}

/** A task's words for why it failed: its error, and the container's exit code when the error does not say it. */
function taskReason(t: Record<string, any>): string {
  const err = String(t.Status?.Err ?? t.Status?.Message ?? '');
  const code = t.Status?.ContainerStatus?.ExitCode as number | undefined;
  return code !== undefined && code !== 0 && !err.includes(`(${code})`) ? `${err || 'exited'} (exit code ${code})` : err || `state ${String(t.Status?.State)}`;
}

/**
 * Per node, what a service's tasks are doing: `dys-w1: 1 new; dys-w2: 1 new starting, 1 old`
 * (new: the service's current spec; old: an earlier one still running).
 */
function perNode(tasks: Array<Record<string, any>>, spec: string, nodeName: (id: string) => string, rollingBack: boolean): string {
  const by = new Map<string, Map<string, number>>();
  // in a rollback the service's spec is the previous one again: its tasks are "restored"
  const [cur, other] = rollingBack ? ['restored', 'rolled back'] : ['new', 'old'];
  for (const t of tasks) {
    const st = String(t.Status?.State ?? '');
    const isNew = canonical(t.Spec?.ContainerSpec) === spec;
    let key: string;
    if (isNew && t.DesiredState === 'running') key = st === 'running' ? cur : `${cur} ${st}`;
    else if (!isNew && st === 'running') key = other;
    else continue;
    const node = t.NodeID ? nodeName(t.NodeID) : 'unassigned';
    const m = by.get(node) ?? by.set(node, new Map()).get(node)!;
    m.set(key, (m.get(key) ?? 0) + 1);
  }
  return [...by]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([node, m]) => `${node}: ${[...m].sort(([a], [b]) => (a === cur ? -1 : b === cur ? 1 : a.localeCompare(b))).map(([k, n]) => `${n} ${k}`).join(', ')}`)
    .join('; ');
}

/**
 * Polls the tasks until every service runs its replicas on its current spec; reports task errors.
 * On a Swarm of several nodes each line says what runs where (`dys-w1: 1 new; dys-w2: 1 old`), so
 * a rolling update is seen node by node. An update Swarm rolls back or pauses ends the wait with
 * the errors of the new spec's tasks, per node.
 */
async function waitConverged(engine: Engine, stack: string, wanted: Map<string, Wanted>, timeoutMs: number, say: (l: string) => void, nodeList: SwarmNode[] = []): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const last = new Map<string, string>();
  const label = [`${STACK_LABEL}=${stack}`];
  const pending = ['new', 'pending', 'assigned', 'accepted', 'preparing', 'ready', 'starting'];
  const names = new Map(nodeList.map((n) => [n.id, n.name]));
  const nodeName = (id: string) => names.get(id) ?? id.slice(0, 12);
  const several = nodeList.length > 1;
  for (;;) {
    let done = true;
    const failures: string[] = [];
    // one listing of the stack's services and one of its tasks per round
    const [services, allTasks] = await Promise.all([engine.listSwarm('services', { label }), engine.listSwarm('tasks', { label })]);
    if (several && allTasks.some((t) => t.NodeID && !names.has(t.NodeID))) for (const n of await swarmNodes(engine)) names.set(n.id, n.name);
    for (const [name, { mode, job, once, oneoff }] of wanted) {
      const svc = services.find((x) => x.Spec.Name === name);
      if (!svc) continue;
      // a task runs the current spec when its container spec is the service's (the engine copies it)
      const spec = canonical(svc.Spec.TaskTemplate?.ContainerSpec);
      const own = allTasks.filter((t) => t.ServiceID === svc.ID);
      const tasks = own.filter((t) => canonical(t.Spec?.ContainerSpec) === spec);
      const state = (t: Record<string, any>) => t.Status?.State as string | undefined;
      const current = tasks.filter((t) => t.DesiredState === 'running');
      // a one-off run (restart: "no") is done when its task of the current spec completed; a
      // service that is restarted only on failure, when its tasks run or completed
      const running = oneoff ? tasks.filter((t) => state(t) === 'complete').length : job ? tasks.filter((t) => state(t) === 'running' || state(t) === 'complete').length : current.filter((t) => state(t) === 'running').length;
      const want = mode === 'global' ? Math.max(1, current.length) : mode;
      const update = svc.UpdateStatus?.State as string | undefined;
      // why a task of the current spec is not running yet (pending on a port, no such image, ...)
      const waiting = current.find((t) => state(t) !== 'running' && state(t));
      const why = waiting ? ` — ${state(waiting)}${waiting.Status.Err ? `: ${waiting.Status.Err}` : ''}` : '';
      const where = several && !oneoff ? perNode(own, spec, nodeName, /rollback/.test(update ?? '')) : '';
      const line = `${name}: ${running}/${want} ${oneoff ? 'complete' : job ? 'running or complete' : 'running'}${update && update !== 'completed' ? ` (update ${update})` : ''}${running < want ? why : ''}${where ? ` [${where}]` : ''}`;
      if (last.get(name) !== line) say(line);
      last.set(name, line);
      const failed = tasks.filter((t) => state(t) === 'failed' || state(t) === 'rejected');
      const byTime = (x: Record<string, any>, y: Record<string, any>) => String(x.UpdatedAt).localeCompare(String(y.UpdatedAt));
      const lastErr = failed.sort(byTime).map((t) => t.Status?.Err ?? t.Status?.Message).filter(Boolean).at(-1) ?? 'no reason given';
      const action = (svc.Spec.UpdateConfig?.FailureAction as string | undefined) ?? 'pause';
      if (update && /paused|rollback_completed|rollback_paused/.test(update)) {
        // the tasks of the spec that failed: since the update started, of another spec than the one now running (a rollback restored the previous one)
        const since = String(svc.UpdateStatus?.StartedAt ?? '');
        const rolled = /rollback/.test(update);
        const bad = own.filter((t) => (state(t) === 'failed' || state(t) === 'rejected') && String(t.UpdatedAt) >= since && (rolled ? canonical(t.Spec?.ContainerSpec) !== spec : canonical(t.Spec?.ContainerSpec) === spec)).sort(byTime);
        const reasons = [...new Map(bad.map((t) => [`${t.NodeID ? nodeName(t.NodeID) : 'unassigned'}: ${taskReason(t)}`, true])).keys()];
        const why2 = reasons.length ? `${bad.length} task(s) of the new spec failed — ${reasons.join('; ')}` : `Swarm says: ${String(svc.UpdateStatus?.Message ?? 'no message')}`;
        failures.push(rolled ? `${name}: the update failed and Swarm rolled it back (${update}); ${why2}; the service runs its previous spec` : `${name}: update ${update} (${svc.UpdateStatus?.Message ?? ''}); ${failed.length} failed, last: ${lastErr}${several && reasons.length ? ` — ${reasons.join('; ')}` : ''}`);
      }
      // Swarm decides on a failed update when told to (rollback, pause): its decision is awaited
      else if (!job && failed.length >= 3 && running < want && !(update === 'updating' && action !== 'continue') && !/rollback_started/.test(update ?? '')) failures.push(`${name}: ${failed.length} tasks failed, last: ${lastErr}`);
      else if (once && failed.length && running < want && !allTasks.some((t) => t.ServiceID === svc.ID && (pending.includes(state(t) ?? '') || state(t) === 'running'))) {
        failures.push(`${name}: the job failed, last: ${lastErr}`);
      }
      if (running < want || (update !== undefined && update !== 'completed' && !/rollback_completed/.test(update))) done = false;
    }
    if (failures.length) throw new DockyardError('SERVICE_FAILED', `the stack did not converge:\n  ${failures.join('\n  ')}`, { hint: 'see the tasks: dockyard deploy ps <stack>' });
    if (done) return;
    if (Date.now() > deadline) throw new DockyardError('SERVICE_FAILED', `the stack did not converge in ${Math.round(timeoutMs / 1000)} s: ${[...last.values()].join('; ')}`, { hint: '--detach to not wait; dockyard deploy ps <stack> shows the tasks' });
    await sleep(500);
  }
}

const canonical = (v: unknown): string => JSON.stringify(sortKeys(v));

export interface StackSummary {
  name: string;
  services: number;
}

export async function listStacks(engineOrContext?: Engine | string): Promise<StackSummary[]> {
  const engine = await engineOf(engineOrContext);
  await requireSwarm(engine);
  const counts = new Map<string, number>();
  for (const s of await engine.listSwarm('services', { label: [STACK_LABEL] })) {
    const n = s.Spec.Labels?.[STACK_LABEL] as string;
    counts.set(n, (counts.get(n) ?? 0) + 1);
  }
  return [...counts].sort().map(([name, services]) => ({ name, services }));
}

export interface StackTask {
  id: string;
  service: string;
  slot?: number;
  image: string;
  /** the node's host name (what `docker stack ps` shows; its id if the Swarm no longer knows it) */
  node: string;
  nodeId: string;
  /** the node's state: ready, down, unknown, disconnected */
  nodeState: string;
  desired: string;
  state: string;
  error?: string;
  /** when the task last changed (the engine's time) */
  updated?: string;
}

/** The tasks that were running on a node that is no longer ready, and where each one's slot runs now. */
export interface NodeLoss {
  node: string;
  state: string;
  /** now: where the task's slot runs now (a replica); global: a global service's task, which stays with its node */
  tasks: Array<{ task: string; name: string; now?: { node: string; state: string; task: string }; global?: boolean }>;
}

export async function stackTasks(engineOrContext: Engine | string | undefined, stack: string): Promise<StackTask[]> {
  const engine = await engineOf(engineOrContext);
  await requireSwarm(engine);
  const services = new Map((await engine.listSwarm('services', { label: [`${STACK_LABEL}=${stack}`] })).map((s) => [s.ID as string, s.Spec.Name as string]));
  if (!services.size) throw new DockyardError('MISSING_REFERENCE', `no stack named "${stack}"`, { hint: 'dockyard deploy ls lists them' });
  const [tasks, nodes] = await Promise.all([engine.listSwarm('tasks', { label: [`${STACK_LABEL}=${stack}`] }), swarmNodes(engine)]);
  const byId = new Map(nodes.map((n) => [n.id, n]));
  return tasks
    .filter((t) => services.has(t.ServiceID))
    .map((t) => {
      const n = t.NodeID ? byId.get(t.NodeID) : undefined;
      return {
        id: String(t.ID).slice(0, 12),
        service: services.get(t.ServiceID)!,
        slot: t.Slot,
        image: t.Spec?.ContainerSpec?.Image ?? '',
        node: n?.name ?? (t.NodeID ? String(t.NodeID).slice(0, 12) : ''),
        nodeId: String(t.NodeID ?? ''),
        nodeState: n?.state ?? (t.NodeID ? 'unknown' : ''),
        desired: t.DesiredState,
        state: t.Status?.State ?? '',
        error: t.Status?.Err,
        updated: t.Status?.Timestamp ?? t.UpdatedAt,
      };
    })
    .sort((a, b) => a.service.localeCompare(b.service) || (a.slot ?? 0) - (b.slot ?? 0) || (a.slot ? 0 : a.node.localeCompare(b.node)) || Number(b.desired === 'running') - Number(a.desired === 'running') || String(b.updated).localeCompare(String(a.updated)));
}

/** `web.2` (a replica's slot) or `web` (a global service's task, one per node) */
export const taskName = (t: StackTask) => `${t.service}${t.slot ? `.${t.slot}` : ''}`;

/**
 * Nodes that are not ready (down: a dockerd that died, a machine gone), the tasks that were running
 * there when they went, and where each task's slot runs now (Swarm starts a replica elsewhere; a
 * global service's task stays with its node).
 */
export function tasksThatLeft(tasks: StackTask[]): NodeLoss[] {
  const out = new Map<string, NodeLoss>();
  for (const t of tasks) {
    if (!t.nodeId || t.nodeState === 'ready' || t.state !== 'running') continue;
    const loss = out.get(t.nodeId) ?? out.set(t.nodeId, { node: t.node, state: t.nodeState, tasks: [] }).get(t.nodeId)!;
    const now = t.slot ? tasks.find((x) => x.service === t.service && x.slot === t.slot && !['shutdown', 'remove', 'orphaned'].includes(x.desired) && x.nodeId !== t.nodeId) : undefined;
    loss.tasks.push({ task: t.id, name: taskName(t), ...(now ? { now: { node: now.node, state: now.state, task: now.id } } : {}), ...(t.slot ? {} : { global: true }) });
  }
  return [...out.values()];
}

/** Removes the stack's services, then its networks, configs and secrets (and volumes if asked): that stack's only. */
export async function removeStack(engineOrContext: Engine | string | undefined, stack: string, say: (l: string) => void = () => undefined, o: { volumes?: boolean } = {}): Promise<{ removed: string[]; left: string[] }> {
  const engine = await engineOf(engineOrContext);
  await requireSwarm(engine);
  const label = [`${STACK_LABEL}=${stack}`];
  const removed: string[] = [];
  const [services, configs, secrets, networks] = await Promise.all([engine.listSwarm('services', { label }), engine.listSwarm('configs', { label }), engine.listSwarm('secrets', { label }), engine.listNetworks(label)]);
  if (!services.length && !configs.length && !secrets.length && !networks.length) throw new DockyardError('MISSING_REFERENCE', `no stack named "${stack}"`, { hint: 'dockyard deploy ls lists them' });
  // on a Swarm of several nodes: which other nodes hold the stack's named volumes (the tasks made
  // them there), and which nodes are not ready (their engines remove their tasks when they return)
  const [nodes, self] = await Promise.all([swarmNodes(engine), selfOf(engine)]);
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const elsewhere = new Map<string, Set<string>>();
  for (const t of await engine.listSwarm('tasks', { label })) {
    if (!t.NodeID || t.NodeID === self.nodeId || !services.some((s) => s.ID === t.ServiceID)) continue;
    for (const m of (t.Spec?.ContainerSpec?.Mounts ?? []) as Array<{ Type?: string; Source?: string }>) {
      if (m.Type === 'volume' && m.Source) (elsewhere.get(m.Source) ?? elsewhere.set(m.Source, new Set()).get(m.Source)!).add(byId.get(t.NodeID)?.name ?? t.NodeID);
    }
  }
  const left: string[] = [];
  // as docker stack rm does: the services at once, then their configs, secrets and networks (the
  // manager lets them go once no service uses them, while the tasks are still stopping), then the
  // wait for the tasks' containers to be gone
  await Promise.all(
    services.map(async (s) => {
      await engine.removeSwarm('services', s.ID);
      say(`service ${s.Spec.Name} removed`);
    }),
  );
  removed.push(...services.map((s) => `service ${s.Spec.Name}`));
  const gone = async (what: string, remove: () => Promise<void>) => {
    await removeSoon(remove);
    say(`${what} removed`);
    return what;
  };
  removed.push(
    ...(await Promise.all([
      ...configs.map((x) => gone(`config ${x.Spec.Name}`, () => engine.removeSwarm('configs', x.ID))),
      ...secrets.map((x) => gone(`secret ${x.Spec.Name}`, () => engine.removeSwarm('secrets', x.ID))),
      ...networks.map((n) => gone(`network ${n.Name}`, () => engine.removeNetwork(n.Name))),
    ])),
  );
  // every task stopped (as docker stack rm --detach=false waits: its state final, its container
  // stopped; the engine removes the container just after, and a volume waits for that below); a
  // node that is not ready cannot say so (its engine removes them when it comes back)
  const deadline = Date.now() + 60_000;
  const reachable = (t: Record<string, any>) => !t.NodeID || !byId.has(t.NodeID) || byId.get(t.NodeID)!.state === 'ready';
  const stopping = (t: Record<string, any>) => services.some((s) => s.ID === t.ServiceID) && reachable(t) && !FINAL_TASK_STATES.has(String(t.Status?.State));
  while (!engine.dryRun && (await engine.listSwarm('tasks', { label })).some(stopping) && Date.now() < deadline) await sleep(200);
  const away = nodes.filter((n) => n.state !== 'ready').map((n) => n.name);
  if (away.length && services.length) {
    left.push(`${away.join(', ')} ${away.length > 1 ? 'are' : 'is'} not ready: ${away.length > 1 ? 'their engines remove' : 'its engine removes'} this stack's containers there when ${away.length > 1 ? 'they come' : 'it comes'} back`);
  }
  if (o.volumes) {
    // named volumes hold data: removed only when asked (docker stack rm never removes them)
    for (const v of await engine.listVolumes(label)) {
      await removeSoon(() => engine.removeVolume(v.Name));
      removed.push(`volume ${v.Name}`);
      say(`volume ${v.Name} removed`);
    }
  }
  // named volumes on other nodes: a manager has no way to remove them (Swarm has no such call)
  if (o.volumes) for (const [vol, on] of elsewhere) left.push(`volume ${vol} stays on ${[...on].sort().join(', ')}: Swarm cannot remove a node's volumes from a manager (there: docker volume rm ${vol})`);
  for (const l of left) say(`note: ${l}`);
  return { removed, left };
}
