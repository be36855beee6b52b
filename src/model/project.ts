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

/** A lifecycle hook (post_start, pre_stop) or a watch rule's exec. */
export interface ServiceHook {
  command?: string[] | null;
  user?: string;
  privileged?: boolean;
  working_dir?: string;
  environment?: Mapping;
}

export interface DeviceRequest {
  capabilities?: string[];
  driver?: string;
  /** -1: all */
  count?: number;
  device_ids?: string[];
  options?: Record<string, string>;
}

export interface Resources {
  cpus?: number;
  /** bytes */
  memory?: number;
  pids?: number;
  devices?: DeviceRequest[];
  generic_resources?: unknown[];
}

export interface UpdateConfig {
  parallelism?: number;
  /** nanoseconds */
  delay?: number;
  failure_action?: string;
  /** nanoseconds */
  monitor?: number;
  max_failure_ratio?: number;
  order?: string;
}

export interface Deploy {
  mode?: string;
  replicas?: number;
  labels?: Record<string, string>;
  endpoint_mode?: string;
  update_config?: UpdateConfig;
  rollback_config?: UpdateConfig;
  /** delay and window in nanoseconds */
  restart_policy?: { condition?: string; delay?: number; max_attempts?: number; window?: number };
  placement?: { constraints?: string[]; preferences?: Array<{ spread: string }>; max_replicas_per_node?: number };
  resources?: { limits?: Resources; reservations?: Resources };
}

export interface WatchRule {
  path: string;
  action: 'sync' | 'rebuild' | 'restart' | 'sync+restart' | 'sync+exec';
  target?: string;
  ignore?: string[];
  include?: string[];
  initial_sync?: boolean;
  exec?: ServiceHook;
}

export interface Ulimit {
  single?: number;
  soft?: number;
  hard?: number;
}

/** A service as every command sees it: one shape per field (see load/normalize.ts). */
export interface Service {
  name: string;
  image?: string;
  build?: BuildConfig;
  command?: string[] | null;
  entrypoint?: string[] | null;
  environment?: Mapping;
  env_file?: Array<{ path: string; required: boolean; format?: string }>;
  /** label files, read into labels at load */
  label_file?: string[];
  labels?: Record<string, string>;
  annotations?: Mapping;
  ports?: PortConfig[];
  expose?: string[];
  volumes?: ServiceVolume[];
  volumes_from?: string[];
  tmpfs?: string[];
  networks?: Record<string, ServiceNetwork | null>;
  network_mode?: string;
  links?: string[];
  external_links?: string[];
  depends_on?: Record<string, DependsOn>;
  healthcheck?: Healthcheck;
  profiles?: string[];
  restart?: string;
  scale?: number;
  secrets?: FileMount[];
  configs?: FileMount[];
  deploy?: Deploy;
  develop?: { watch?: WatchRule[] };
  /** stop_grace_period in nanoseconds */
  stop_grace_period?: number;
  stop_signal?: string;
  container_name?: string;
  hostname?: string;
  domainname?: string;
  mac_address?: string;
  user?: string;
  working_dir?: string;
  tty?: boolean;
  stdin_open?: boolean;
  init?: boolean;
  privileged?: boolean;
  read_only?: boolean;
  attach?: boolean;
  platform?: string;
  pull_policy?: string;
  pull_refresh_after?: string;
  runtime?: string;
  isolation?: string;
  cap_add?: string[];
  cap_drop?: string[];
  security_opt?: string[];
  sysctls?: Mapping;
  ulimits?: Record<string, Ulimit>;
  dns?: string[];
  dns_opt?: string[];
  dns_search?: string[];
  /** host=ip entries */
  extra_hosts?: string[];
  devices?: Array<{ source: string; target?: string; permissions?: string }>;
  device_cgroup_rules?: string[];
  gpus?: DeviceRequest[];
  group_add?: string[];
  ipc?: string;
  pid?: string | null;
  uts?: string;
  userns_mode?: string;
  cgroup?: string;
  cgroup_parent?: string;
  logging?: { driver?: string; options?: Record<string, string | null> };
  /** bytes */
  shm_size?: number;
  mem_limit?: number;
  mem_reservation?: number;
  memswap_limit?: number;
  mem_swappiness?: number;
  oom_kill_disable?: boolean;
  oom_score_adj?: number;
  pids_limit?: number;
  cpus?: number;
  cpu_count?: number;
  cpu_percent?: number;
  cpu_shares?: number;
  cpu_quota?: number;
  cpu_period?: number;
  cpu_rt_period?: number;
  cpu_rt_runtime?: number;
  cpuset?: string;
  storage_opt?: Record<string, string>;
  blkio_config?: {
    weight?: number;
    weight_device?: Array<{ path: string; weight: number }>;
    device_read_bps?: Array<{ path: string; rate: number }>;
    device_read_iops?: Array<{ path: string; rate: number }>;
    device_write_bps?: Array<{ path: string; rate: number }>;
    device_write_iops?: Array<{ path: string; rate: number }>;
  };
  credential_spec?: { config?: string; file?: string; registry?: string };
  post_start?: ServiceHook[];
  pre_stop?: ServiceHook[];
  provider?: { type: string; options?: Record<string, unknown> };
  models?: Record<string, { endpoint_var?: string; model_var?: string } | null>;
  use_api_socket?: boolean;
  /** service-level x- extensions */
  [extension: `x-${string}`]: unknown;
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
  /** between the parts of container names: '-', or '_' with --compatibility (COMPOSE_COMPATIBILITY) */
  separator?: '-' | '_';
  /** the environment used for interpolation (shell over env files) */
  environment: Record<string, string>;
  profiles: string[];
}
