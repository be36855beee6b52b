/**
 * --dry-run: an Engine that reads from the real one and changes nothing. Every change it is asked
 * for is described (`would create container shop-web-1`) instead; containers it "creates" exist
 * only here, and every wait on them is met at once, so a whole command runs through and shows
 * what it would do (Compose's own --dry-run works the same way, with a client that only reads).
 */
import { PassThrough, Readable } from 'node:stream';
import type { ContainerInspect, Engine, EngineEvent, EventSubscription, ExecOptions, LogOptions, SwarmKind } from './engine.js';

export class DryRunEngine implements Engine {
  readonly dryRun = true;
  private readonly fake = new Map<string, { name: string; body: Record<string, unknown>; running: boolean }>();

  constructor(
    private readonly real: Engine,
    /** one line per change that would be made */
    private readonly say: (line: string) => void,
  ) {}

  /** names of the real containers listed so far (changes are described by name) */
  private readonly names = new Map<string, string>();

  private nameOf(id: string): string {
    return this.fake.get(id)?.name ?? this.names.get(id) ?? id.slice(0, 12);
  }

  /** the real engine's endpoint and description (which engine, which context) */
  get endpoint(): unknown {
    return (this.real as { endpoint?: unknown }).endpoint;
  }
  describe(): string {
    return (this.real as { describe?: () => string }).describe?.() ?? 'the engine';
  }
  ping() {
    return this.real.ping();
  }
  version() {
    return this.real.version();
  }
  async listContainers(labels: string[], all?: boolean) {
    const list = await this.real.listContainers(labels, all);
    for (const c of list) this.names.set(c.id, c.name);
    return list;
  }
  async inspectContainer(id: string): Promise<ContainerInspect | undefined> {
    const f = this.fake.get(id);
    if (!f) return this.real.inspectContainer(id);
    const now = new Date().toISOString();
    return {
      Id: id,
      Name: `/${f.name}`,
      Image: String(f.body.Image ?? ''),
      Created: now,
      // what a dependency waits for is met at once: running, healthy, and (for jobs) done with 0
      State: { Status: f.running ? 'running' : 'created', Running: f.running, ExitCode: 0, StartedAt: now, FinishedAt: now, Health: { Status: 'healthy', FailingStreak: 0 } },
      Config: { Labels: (f.body.Labels as Record<string, string>) ?? {}, Image: String(f.body.Image ?? ''), Tty: false },
      HostConfig: {},
      NetworkSettings: {},
    };
  }
  async createContainer(name: string, body: Record<string, unknown>): Promise<string> {
    this.say(`would create container ${name}`);
    const id = `dryrun${Buffer.from(name).toString('hex').padEnd(58, '0').slice(0, 58)}`;
    this.fake.set(id, { name, body, running: false });
    return id;
  }
  async startContainer(id: string): Promise<void> {
    this.say(`would start container ${this.nameOf(id)}`);
    const f = this.fake.get(id);
    if (f) f.running = true;
  }
  async stopContainer(id: string): Promise<void> {
    this.say(`would stop container ${this.nameOf(id)}`);
  }
  async restartContainer(id: string): Promise<void> {
    this.say(`would restart container ${this.nameOf(id)}`);
  }
  async killContainer(id: string, signal?: string): Promise<void> {
    this.say(`would send ${signal ?? 'SIGKILL'} to container ${this.nameOf(id)}`);
  }
  async removeContainer(id: string): Promise<void> {
    this.say(`would remove container ${this.nameOf(id)}`);
    this.fake.delete(id);
  }
  async renameContainer(id: string, name: string): Promise<void> {
    this.say(`would rename container ${this.nameOf(id)} to ${name}`);
    const f = this.fake.get(id);
    if (f) f.name = name;
  }
  async waitContainer(): Promise<number> {
    return 0;
  }
  async resizeContainer(): Promise<void> {}
  async containerLogs(id: string, opts: LogOptions, tty: boolean) {
    if (this.fake.has(id)) {
      const empty = () => Readable.from([]);
      return { stdout: empty(), stderr: empty(), done: Promise.resolve(), close: () => undefined };
    }
    return this.real.containerLogs(id, opts, tty);
  }
  async attachContainer(id: string) {
    this.say(`would attach to container ${this.nameOf(id)}`);
    const end = () => {
      const s = new PassThrough();
      s.end();
      return s;
    };
    return { stdout: end(), stderr: end(), stdin: new PassThrough(), close: () => undefined };
  }
  async putArchive(id: string, path: string): Promise<void> {
    this.say(`would copy files into container ${this.nameOf(id)} at ${path}`);
  }
  getArchive(id: string, path: string) {
    return this.real.getArchive(id, path);
  }
  statPath(id: string, path: string) {
    return this.fake.has(id) ? Promise.resolve(undefined) : this.real.statPath(id, path);
  }
  async pauseContainer(id: string): Promise<void> {
    this.say(`would pause container ${this.nameOf(id)}`);
  }
  async unpauseContainer(id: string): Promise<void> {
    this.say(`would unpause container ${this.nameOf(id)}`);
  }
  containerStats(id: string) {
    return this.real.containerStats(id);
  }
  exportContainer(id: string) {
    return this.real.exportContainer(id);
  }
  async commitContainer(id: string, o: { repo?: string; tag?: string }): Promise<string> {
    this.say(`would commit container ${this.nameOf(id)}${o.repo ? ` as ${o.repo}${o.tag ? `:${o.tag}` : ''}` : ''}`);
    return 'sha256:dryrun';
  }
  topContainer(id: string, psArgs?: string) {
    return this.real.topContainer(id, psArgs);
  }
  async exec(id: string, o: ExecOptions): Promise<number> {
    this.say(`would run ${JSON.stringify(o.cmd)} in container ${this.nameOf(id)}`);
    return 0;
  }
  listNetworks(labels: string[]) {
    return this.real.listNetworks(labels);
  }
  inspectNetwork(name: string) {
    return this.real.inspectNetwork(name);
  }
  async createNetwork(body: Record<string, unknown>): Promise<string> {
    this.say(`would create network ${String(body.Name)}`);
    return 'dryrun-network';
  }
  async removeNetwork(name: string): Promise<void> {
    this.say(`would remove network ${name}`);
  }
  async connectNetwork(network: string, container: string): Promise<void> {
    this.say(`would connect container ${this.nameOf(container)} to network ${network}`);
  }
  async disconnectNetwork(network: string, container: string): Promise<void> {
    this.say(`would disconnect container ${this.nameOf(container)} from network ${network}`);
  }
  listVolumes(labels: string[]) {
    return this.real.listVolumes(labels);
  }
  inspectVolume(name: string) {
    return this.real.inspectVolume(name);
  }
  async createVolume(body: Record<string, unknown>): Promise<void> {
    this.say(`would create volume ${String(body.Name)}`);
  }
  async removeVolume(name: string): Promise<void> {
    this.say(`would remove volume ${name}`);
  }
  async inspectImage(ref: string) {
    return (await this.real.inspectImage(ref)) ?? (this.pulled.has(ref) ? { Id: `sha256:dryrun-${ref}` } : undefined);
  }
  private readonly pulled = new Set<string>();
  async removeImage(ref: string): Promise<void> {
    this.say(`would remove image ${ref}`);
  }
  async pullImage(ref: string): Promise<void> {
    this.say(`would pull image ${ref}`);
    this.pulled.add(ref);
  }
  async pushImage(ref: string): Promise<void> {
    this.say(`would push image ${ref}`);
  }
  async tagImage(ref: string, repo: string, tag: string): Promise<void> {
    this.say(`would tag image ${ref} as ${repo}:${tag}`);
  }
  listImages(filters?: Record<string, string[]>) {
    return this.real.listImages(filters);
  }
  async buildImage(context: Readable, options: Record<string, unknown>): Promise<void> {
    context.resume();
    const tags = ([] as unknown[]).concat(options.t ?? []).map(String);
    this.say(`would build image ${tags.join(', ')}`);
    for (const t of tags) this.pulled.add(t);
  }
  events(filters: Record<string, string[]>, onEvent: (e: EngineEvent) => void, onEnd?: (err?: Error) => void, o?: { since?: number; until?: number }): Promise<EventSubscription> {
    return this.real.events(filters, onEvent, onEnd, o);
  }
  registryDigest(image: string) {
    return this.real.registryDigest(image);
  }
  swarmState() {
    return this.real.swarmState();
  }
  listSwarm(kind: SwarmKind, filters: Record<string, string[]>) {
    return this.real.listSwarm(kind, filters);
  }
  async createSwarm(kind: Exclude<SwarmKind, 'tasks'>, body: Record<string, unknown>): Promise<string> {
    this.say(`would create ${kind.slice(0, -1)} ${String(body.Name)}`);
    return `dry-run-${String(body.Name)}`;
  }
  async updateService(id: string, _version: number, body: Record<string, unknown>): Promise<void> {
    this.say(`would update service ${String(body.Name ?? id)}`);
  }
  async removeSwarm(kind: Exclude<SwarmKind, 'tasks'>, id: string): Promise<void> {
    this.say(`would remove ${kind.slice(0, -1)} ${id}`);
  }
  listNodes() {
    return this.real.listNodes();
  }
  swarmSelf() {
    return this.real.swarmSelf();
  }
}
