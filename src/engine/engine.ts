/**
 * The Engine interface: everything dockyard asks of a Docker daemon. Bodies are the Docker
 * Engine API's own shapes (ContainerCreate, NetworkCreate...), so nothing is lost in translation.
 * The only implementation talking to a daemon is `DockerEngine` (./docker.ts).
 */
import type { Readable, Writable } from 'node:stream';

export type Labels = Record<string, string>;

export interface ContainerSummary {
  id: string;
  name: string;
  image: string;
  imageId: string;
  state: string;
  status: string;
  labels: Labels;
  created: number;
  ports: Array<{ privatePort: number; publicPort?: number; type: string; ip?: string }>;
  /** the command line, as the engine shows it */
  command?: string;
}

export interface ContainerInspect {
  Id: string;
  Name: string;
  Image: string;
  Created: string;
  State: {
    Status: string;
    Running: boolean;
    /** waiting to be started again by its restart policy (Running stays true meanwhile) */
    Restarting?: boolean;
    ExitCode: number;
    Error?: string;
    StartedAt: string;
    FinishedAt: string;
    OOMKilled?: boolean;
    Health?: { Status: string; FailingStreak: number; Log?: Array<{ ExitCode: number; Output: string; Start: string; End: string }> };
  };
  Config: { Labels: Labels | null; Env?: string[]; Cmd?: string[] | null; Image: string; Tty?: boolean; User?: string; WorkingDir?: string; Entrypoint?: string[] | null; Hostname?: string; Healthcheck?: unknown; StopSignal?: string; StopTimeout?: number };
  HostConfig: Record<string, unknown>;
  NetworkSettings: {
    Ports?: Record<string, Array<{ HostIp: string; HostPort: string }> | null>;
    Networks?: Record<string, { Aliases?: string[] | null; IPAddress?: string; NetworkID?: string; IPAMConfig?: unknown }>;
  };
  Mounts?: Array<{ Type: string; Name?: string; Source: string; Destination: string; RW: boolean }>;
}

export interface EngineEvent {
  Type: string;
  Action: string;
  Actor: { ID: string; Attributes: Record<string, string> };
  time: number;
  timeNano: number;
}

export interface EventSubscription {
  close(): void;
}

export interface LogOptions {
  follow?: boolean;
  tail?: number | 'all';
  since?: number;
  until?: number;
  timestamps?: boolean;
}

export interface ExecOptions {
  cmd: string[];
  env?: string[];
  user?: string;
  workdir?: string;
  tty?: boolean;
  privileged?: boolean;
  /** start it in the background and return at once (exit code 0) */
  detach?: boolean;
  stdin?: Readable;
  stdout: Writable;
  stderr: Writable;
  /** with a TTY: its size from the start (engines with API 1.42+; older ones take the resize below) */
  consoleSize?: [number, number];
  /** with a TTY: subscribes the exec's size to the local terminal's (see cli/terminal.ts) */
  followSize?: (apply: (rows: number, cols: number) => void) => () => void;
}

export interface PathStat {
  name: string;
  size: number;
  /** Go's os.FileMode bits (directory: 1 << 31) */
  mode: number;
  mtime: string;
  linkTarget: string;
}

export interface ImageInspect {
  Id: string;
  RepoTags?: string[];
  Config?: { Labels?: Labels | null; Cmd?: string[] | null; Entrypoint?: string[] | null; Env?: string[]; ExposedPorts?: Record<string, object> };
  /** the storage driver and, for overlay2, where the image's top layer is on the engine's host (UpperDir) */
  GraphDriver?: { Name?: string; Data?: Record<string, string> | null };
  Created?: string;
  Size?: number;
  Metadata?: { LastTagTime?: string };
}

export interface Engine {
  /** a dry run: nothing is changed (engine/dryrun.ts) */
  readonly dryRun?: boolean;
  ping(): Promise<void>;
  version(): Promise<{ Version: string; ApiVersion: string }>;

  listContainers(labels: string[], all?: boolean): Promise<ContainerSummary[]>;
  inspectContainer(id: string): Promise<ContainerInspect | undefined>;
  createContainer(name: string, body: Record<string, unknown>): Promise<string>;
  startContainer(id: string): Promise<void>;
  stopContainer(id: string, timeoutSeconds?: number): Promise<void>;
  restartContainer(id: string, timeoutSeconds?: number): Promise<void>;
  killContainer(id: string, signal?: string): Promise<void>;
  removeContainer(id: string, opts?: { force?: boolean; volumes?: boolean }): Promise<void>;
  renameContainer(id: string, name: string): Promise<void>;
  waitContainer(id: string): Promise<number>;
  /** sets the size of a container's TTY */
  resizeContainer(id: string, rows: number, cols: number): Promise<void>;
  containerLogs(id: string, opts: LogOptions, tty: boolean): Promise<{ stdout: Readable; stderr: Readable; done: Promise<void>; close(): void }>;
  attachContainer(id: string, tty: boolean): Promise<{ stdout: Readable; stderr: Readable; stdin: Writable; close(): void }>;
  putArchive(id: string, path: string, tar: Buffer | Readable): Promise<void>;
  /** a tar stream of a path in the container (file or folder) */
  getArchive(id: string, path: string): Promise<Readable>;
  /** what is at a path in the container, or undefined */
  statPath(id: string, path: string): Promise<PathStat | undefined>;
  pauseContainer(id: string): Promise<void>;
  unpauseContainer(id: string): Promise<void>;
  /** one sample of a container's resource usage (the API's stats object) */
  containerStats(id: string): Promise<Record<string, any>>;
  /** the container's filesystem as a tar stream */
  exportContainer(id: string): Promise<Readable>;
  /** a new image from a container's changes; returns its id */
  commitContainer(id: string, o: { repo?: string; tag?: string; author?: string; message?: string; changes?: string[]; pause?: boolean }): Promise<string>;
  topContainer(id: string, psArgs?: string): Promise<{ Titles: string[]; Processes: string[][] }>;
  exec(id: string, opts: ExecOptions): Promise<number>;

  listNetworks(labels: string[]): Promise<Array<{ Id: string; Name: string; Labels: Labels }>>;
  inspectNetwork(name: string): Promise<{ Id: string; Name: string; Labels: Labels; Internal?: boolean; Driver?: string; Containers?: Record<string, unknown> } | undefined>;
  createNetwork(body: Record<string, unknown>): Promise<string>;
  removeNetwork(name: string): Promise<void>;
  connectNetwork(network: string, container: string, endpoint: Record<string, unknown>): Promise<void>;
  disconnectNetwork(network: string, container: string): Promise<void>;

  listVolumes(labels: string[]): Promise<Array<{ Name: string; Labels: Labels }>>;
  /** `Mountpoint`: where the volume's files are on the engine's host */
  inspectVolume(name: string): Promise<{ Name: string; Labels: Labels | null; Mountpoint?: string } | undefined>;
  createVolume(body: Record<string, unknown>): Promise<void>;
  removeVolume(name: string): Promise<void>;

  inspectImage(ref: string): Promise<ImageInspect | undefined>;
  removeImage(ref: string): Promise<void>;
  pullImage(ref: string, onProgress?: (msg: Record<string, unknown>) => void): Promise<void>;
  pushImage(ref: string, onProgress?: (msg: Record<string, unknown>) => void): Promise<void>;
  tagImage(ref: string, repo: string, tag: string): Promise<void>;
  listImages(filters?: Record<string, string[]>): Promise<Array<{ Id: string; RepoTags: string[]; Size: number; Created: number; Labels: Labels }>>;
  /**
   * Builds with the classic builder. `o.baseImages`: the images the Dockerfile starts FROM, whose
   * registries' credentials go along (the engine pulls them with those).
   */
  buildImage(context: Readable, options: Record<string, unknown>, onProgress: (msg: Record<string, unknown>) => void, o?: { baseImages?: string[] }): Promise<void>;

  /**
   * Engine events (filters as the API takes them); `onEvent` runs for each, `onEnd` if the stream
   * ends unasked. An error thrown by `onEvent` ends the subscription and reaches `onEnd` (or, with
   * no `onEnd`, is thrown again as an uncaught exception): a consumer's failure is never swallowed.
   */
  events(filters: Record<string, string[]>, onEvent: (e: EngineEvent) => void, onEnd?: (err?: Error) => void, o?: { since?: number; until?: number }): Promise<EventSubscription>;

  /** The digest a registry has for an image reference now (the engine asks the registry, with its credentials) */
  registryDigest(image: string): Promise<string>;

  /** Swarm: this node's state (`inactive`, `active`, ...) */
  swarmState(): Promise<string>;
  /** Swarm objects (services, tasks, configs, secrets), filtered as the API takes it */
  listSwarm(kind: SwarmKind, filters: Record<string, string[]>): Promise<Array<Record<string, any>>>;
  /** `o.registryAuth`: send the credentials for a service's image, so that the nodes can pull it (`--with-registry-auth`) */
  createSwarm(kind: Exclude<SwarmKind, 'tasks'>, body: Record<string, unknown>, o?: { registryAuth?: boolean }): Promise<string>;
  /** update a service at its version (the version guards against concurrent updates) */
  updateService(id: string, version: number, body: Record<string, unknown>, o?: { registryAuth?: boolean }): Promise<void>;
  /** removes a service, config or secret; gone already is fine */
  removeSwarm(kind: Exclude<SwarmKind, 'tasks'>, id: string): Promise<void>;
  /** Swarm (a manager): the nodes, as the API gives them (ID, Spec, Description, Status, ManagerStatus) */
  listNodes(): Promise<Array<Record<string, any>>>;
  /**
   * Swarm: this engine's node id, and whether its kernel has IPVS (virtual IPs and the ingress
   * mesh need it): false or true when it can be told from here (the engine runs on this machine's
   * kernel), undefined otherwise
   */
  swarmSelf(): Promise<{ nodeId: string; ipvs?: boolean }>;
}

export type SwarmKind = 'services' | 'tasks' | 'configs' | 'secrets';
