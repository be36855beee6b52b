/** The canonical Project: what every command works from. No I/O here. */

export type Mapping = Record<string, string | null>;

export interface PortConfig {
  name?: string;
  mode: string;
  host_ip?: string;
  target: number;
  published?: string;
  protocol: string;
  app_protocol?: string;
}

export interface ServiceVolume {
  type: 'bind' | 'volume' | 'tmpfs' | 'cluster' | 'npipe' | 'image';
  source?: string;
  target: string;
  read_only?: boolean;
  consistency?: string;
  bind?: { propagation?: string; create_host_path?: boolean; recursive?: string; selinux?: string };
  volume?: { nocopy?: boolean; subpath?: string; labels?: Mapping };
  tmpfs?: { size?: number; mode?: number };
  image?: { subpath?: string };
}

export interface DependsOn {
  condition: 'service_started' | 'service_healthy' | 'service_completed_successfully';
  required: boolean;
  restart?: boolean;
}

export interface ServiceNetwork {
  aliases?: string[];
  ipv4_address?: string;
  ipv6_address?: string;
  link_local_ips?: string[];
  mac_address?: string;
  driver_opts?: Record<string, string>;
  interface_name?: string;
  priority?: number;
  gw_priority?: number;
}

export interface Healthcheck {
  test?: string[];
  /** durations in nanoseconds */
  interval?: number;
  timeout?: number;
  start_period?: number;
  start_interval?: number;
  retries?: number;
  disable?: boolean;
}

export interface FileMount {
  source: string;
  target?: string;
  uid?: string;
  gid?: string;
  mode?: number;
}

export interface BuildConfig {
  context: string;
  dockerfile?: string;
  dockerfile_inline?: string;
  args?: Mapping;
  labels?: Mapping;
  target?: string;
  tags?: string[];
  additional_contexts?: Record<string, string>;
  network?: string;
  shm_size?: number;
  extra_hosts?: string[];
  cache_from?: string[];
  no_cache?: boolean;
  pull?: boolean;
  [key: string]: unknown;
}

export interface Service {
  name: string;
  image?: string;
  build?: BuildConfig;
  command?: string[] | null;
  entrypoint?: string[] | null;
  environment?: Mapping;
  env_file?: Array<{ path: string; required: boolean; format?: string }>;
  labels?: Mapping;
  ports?: PortConfig[];
  expose?: string[];
  volumes?: ServiceVolume[];
  networks?: Record<string, ServiceNetwork | null>;
  network_mode?: string;
  depends_on?: Record<string, DependsOn>;
  healthcheck?: Healthcheck;
  profiles?: string[];
  restart?: string;
  scale?: number;
  secrets?: FileMount[];
  configs?: FileMount[];
  deploy?: Record<string, unknown> & { replicas?: number };
  /** stop_grace_period in nanoseconds */
  stop_grace_period?: number;
  [key: string]: unknown;
}

export interface Network {
  name: string;
  driver?: string;
  driver_opts?: Record<string, string>;
  external?: boolean;
  internal?: boolean;
  attachable?: boolean;
  enable_ipv6?: boolean;
  enable_ipv4?: boolean;
  ipam?: { driver?: string; config?: Array<Record<string, unknown>>; options?: Record<string, string> };
  labels?: Mapping;
  [key: string]: unknown;
}

export interface Volume {
  name: string;
  driver?: string;
  driver_opts?: Record<string, string>;
  external?: boolean;
  labels?: Mapping;
  [key: string]: unknown;
}

export interface SecretOrConfig {
  name: string;
  file?: string;
  environment?: string;
  content?: string;
  external?: boolean;
  labels?: Mapping;
  [key: string]: unknown;
}

export interface Project {
  name: string;
  /** the project directory: relative paths resolve against it */
  workingDir: string;
  /** the Compose files, absolute ('-' for stdin) */
  configFiles: string[];
  services: Record<string, Service>;
  /** services left out by profiles */
  disabledServices: Record<string, Service>;
  networks: Record<string, Network>;
  volumes: Record<string, Volume>;
  secrets: Record<string, SecretOrConfig>;
  configs: Record<string, SecretOrConfig>;
  models: Record<string, Record<string, unknown>>;
  /** top-level x- keys */
  extensions: Record<string, unknown>;
  /** the environment used for interpolation (shell over env files) */
  environment: Record<string, string>;
  profiles: string[];
}
