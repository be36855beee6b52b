/**
 * A recording fake Engine, in memory: containers, networks, volumes and images as plain records,
 * every change recorded as one line ("create container p-web-1"), container events sent to
 * subscribers as the engine sends them. Only what `up` and `plan` use is implemented; anything
 * else throws, so a test learns at once when the code under test asks for more.
 */
import type { ContainerInspect, ContainerSummary, Engine, EngineEvent, ImageInspect } from '../../src/engine/engine.js';

interface FakeContainer {
  id: string;
  name: string;
  body: Record<string, unknown>;
  state: 'created' | 'running' | 'exited';
  imageId: string;
}

export class FakeEngine {
  readonly calls: string[] = [];
  readonly containers = new Map<string, FakeContainer>();
  readonly networks = new Map<string, Record<string, string>>();
  readonly volumes = new Set<string>();
  readonly images = new Map<string, string>();
  /** what a pull brings: a new image id per reference (as a moved tag would) */
  private pulls = 0;
  private subs = new Set<(e: EngineEvent) => void>();
  private ends = new Map<(e: EngineEvent) => void, ((err?: Error) => void) | undefined>();
  /** every events() call: its `since` (undefined: from now) */
  readonly subscriptions: Array<{ since?: number }> = [];
  /** events() calls to refuse next (an engine that does not answer) */
  refuseSubscriptions = 0;

  /** the engine ends every event stream, without an error (a restart, a proxy closing) or with one */
  endEvents(err?: Error): void {
    for (const [sub, onEnd] of [...this.ends]) {
      this.subs.delete(sub);
      this.ends.delete(sub);
      queueMicrotask(() => onEnd?.(err));
    }
  }

  /** a container (re)started behind the code's back: its start event */
  restart(name: string): void {
    const c = this.byRef(name);
    c.state = 'running';
    this.emit(c, 'start');
  }
  private seq = 0;

  /** a container that exists before the test (labels as the engine would list them) */
  addContainer(name: string, labels: Record<string, string>, o: { state?: FakeContainer['state']; imageId?: string; image?: string } = {}): string {
    const id = `fake${String(++this.seq).padStart(60, '0')}`;
    this.containers.set(id, { id, name, body: { Labels: labels, Image: o.image ?? 'img' }, state: o.state ?? 'running', imageId: o.imageId ?? 'sha256:img' });
    return id;
  }

  private emit(c: FakeContainer, action: string): void {
    const e: EngineEvent = { Type: 'container', Action: action, Actor: { ID: c.id, Attributes: { ...(c.body.Labels as Record<string, string>), name: c.name } }, time: Math.floor(Date.now() / 1000), timeNano: Date.now() * 1e6 };
    for (const s of this.subs) queueMicrotask(() => s(e));
  }

  private byRef(idOrName: string): FakeContainer {
    const c = this.containers.get(idOrName) ?? [...this.containers.values()].find((x) => x.name === idOrName);
    if (!c) throw Object.assign(new Error(`no such container ${idOrName}`), { statusCode: 404 });
    return c;
  }

  readonly engine: Engine = new Proxy({} as Engine, {
    get: (_t, prop: string) => {
      const f = (this.impl as Record<string, unknown>)[prop];
      if (prop === 'then') return undefined;
      if (typeof f === 'function') return f;
      if (prop === 'dryRun') return false;
      return () => {
        throw new Error(`FakeEngine: ${prop} is not implemented`);
      };
    },
  });

  private readonly impl: Partial<Engine> = {
    ping: async () => undefined,
    version: async () => ({ Version: 'fake', ApiVersion: '1.41' }),
    listContainers: async (labels: string[], all?: boolean): Promise<ContainerSummary[]> =>
      [...this.containers.values()]
        .filter((c) => (all || c.state === 'running') && labels.every((l) => {
          const [k, v] = l.split('=');
          return (c.body.Labels as Record<string, string>)[k!] === v;
        }))
        .map((c) => ({ id: c.id, name: c.name, image: String(c.body.Image), imageId: c.imageId, state: c.state, status: '', labels: c.body.Labels as Record<string, string>, created: 0, ports: [] })),
    inspectContainer: async (id: string): Promise<ContainerInspect | undefined> => {
      const c = this.containers.get(id) ?? [...this.containers.values()].find((x) => x.name === id);
      if (!c) return undefined;
      const now = new Date().toISOString();
      return { Id: c.id, Name: `/${c.name}`, Image: c.imageId, Created: now, State: { Status: c.state, Running: c.state === 'running', ExitCode: 0, StartedAt: now, FinishedAt: now }, Config: { Labels: c.body.Labels as Record<string, string>, Image: String(c.body.Image), Tty: false }, HostConfig: {}, NetworkSettings: {}, Mounts: [] };
    },
    createContainer: async (name: string, body: Record<string, unknown>) => {
      if ([...this.containers.values()].some((c) => c.name === name)) throw Object.assign(new Error(`Conflict. The container name "/${name}" is already in use`), { statusCode: 409 });
      this.calls.push(`create container ${name}`);
      const id = `fake${String(++this.seq).padStart(60, '0')}`;
      const c: FakeContainer = { id, name, body, state: 'created', imageId: this.images.get(String(body.Image)) ?? 'sha256:none' };
      this.containers.set(id, c);
      this.emit(c, 'create');
      return id;
    },
    startContainer: async (id: string) => {
      const c = this.byRef(id);
      this.calls.push(`start container ${c.name}`);
      c.state = 'running';
      this.emit(c, 'start');
    },
    stopContainer: async (id: string) => {
      const c = this.byRef(id);
      this.calls.push(`stop container ${c.name}`);
      c.state = 'exited';
      this.emit(c, 'die');
    },
    removeContainer: async (id: string) => {
      const c = this.byRef(id);
      this.calls.push(`remove container ${c.name}`);
      this.containers.delete(c.id);
      this.emit(c, 'destroy');
    },
    renameContainer: async (id: string, name: string) => {
      const c = this.byRef(id);
      this.calls.push(`rename container ${c.name} to ${name}`);
      c.name = name;
    },
    connectNetwork: async (network: string, container: string) => void this.calls.push(`connect ${this.byRef(container).name} to ${network}`),
    putArchive: async (id: string, path: string) => void this.calls.push(`put archive ${this.byRef(id).name}:${path}`),
    inspectNetwork: async (name: string) => (this.networks.has(name) ? { Id: name, Name: name, Labels: this.networks.get(name)! } : undefined),
    createNetwork: async (body: Record<string, unknown>) => {
      this.calls.push(`create network ${String(body.Name)}`);
      this.networks.set(String(body.Name), (body.Labels as Record<string, string>) ?? {});
      return String(body.Name);
    },
    inspectVolume: async (name: string) => (this.volumes.has(name) ? { Name: name, Labels: {} } : undefined),
    createVolume: async (body: Record<string, unknown>) => {
      this.calls.push(`create volume ${String(body.Name)}`);
      this.volumes.add(String(body.Name));
    },
    inspectImage: async (ref: string): Promise<ImageInspect | undefined> => (this.images.has(ref) ? { Id: this.images.get(ref)!, RepoTags: [ref], Created: new Date(0).toISOString() } : undefined),
    pullImage: async (ref: string) => {
      this.calls.push(`pull image ${ref}`);
      this.images.set(ref, `sha256:pulled${++this.pulls}`);
    },
    events: async (_filters, onEvent, onEnd, o) => {
      this.subscriptions.push({ since: o?.since });
      if (this.refuseSubscriptions > 0) {
        this.refuseSubscriptions--;
        throw Object.assign(new Error('connect ECONNREFUSED /var/run/docker.sock'), { code: 'ECONNREFUSED' });
      }
      this.subs.add(onEvent);
      this.ends.set(onEvent, onEnd);
      return {
        close: () => {
          this.subs.delete(onEvent);
          this.ends.delete(onEvent);
        },
      };
    },
  };
}
