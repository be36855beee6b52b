/**
 * The Compose Specification as a compact schema, and a validator that reports the first
 * problem with its key path, what was expected and a "did you mean" hint. Written here rather
 * than generated from the JSON schema so that every error says exactly what is wrong where.
 */
import { closest } from '../errors.js';

export type Schema =
  | { k: 'str'; enum?: readonly string[]; pattern?: RegExp; patternHint?: string }
  | { k: 'num'; int?: boolean }
  | { k: 'bool' }
  | { k: 'null' }
  | { k: 'any' }
  | { k: 'arr'; items: Schema }
  | { k: 'obj'; props: Record<string, Schema>; required?: readonly string[]; extra?: Schema; keyPattern?: RegExp; ext?: boolean }
  | { k: 'union'; of: readonly Schema[]; name: string }
  | { k: 'lazy'; get: () => Schema };

export const str = (o: { enum?: readonly string[]; pattern?: RegExp; patternHint?: string } = {}): Schema => ({ k: 'str', ...o });
export const num: Schema = { k: 'num' };
export const int: Schema = { k: 'num', int: true };
export const bool: Schema = { k: 'bool' };
export const nul: Schema = { k: 'null' };
export const any: Schema = { k: 'any' };
export const arr = (items: Schema): Schema => ({ k: 'arr', items });
/** An object with known keys; `x-` extension keys are allowed unless ext: false. */
export const obj = (props: Record<string, Schema>, o: { required?: readonly string[]; extra?: Schema; keyPattern?: RegExp; ext?: boolean } = {}): Schema => ({
  k: 'obj',
  props,
  ext: o.ext ?? true,
  required: o.required,
  extra: o.extra,
  keyPattern: o.keyPattern,
});
/** A mapping with any keys (matching keyPattern) and values of one schema. */
export const dict = (values: Schema, keyPattern?: RegExp): Schema => ({ k: 'obj', props: {}, extra: values, keyPattern, ext: false });
export const oneOf = (name: string, ...of: Schema[]): Schema => ({ k: 'union', of, name });
export const lazy = (get: () => Schema): Schema => ({ k: 'lazy', get });

// A Go duration: 1h2m3s, 1.5s, 300ms, 10us, 5ns (or a plain number of seconds is not allowed)
export const DURATION = /^(?:[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|ms|s|m|h))+$|^0$/;
const duration = str({ pattern: DURATION, patternHint: 'a duration such as 10s, 1m30s, 500ms or 1h' });
const strOrNum = oneOf('a string or a number', str(), num);
const strOrInt = oneOf('a string or an integer', str(), int);
const boolish = oneOf('a boolean', bool, str());
const listOfStrings = arr(str());
const stringOrList = oneOf('a string or a list of strings', str(), listOfStrings);
const scalar = oneOf('a string, number, boolean or null', str(), num, bool, nul);
const listOrDict = oneOf('a mapping or a list of KEY=VALUE strings', dict(scalar), arr(str()));
const command = oneOf('a string or a list of strings', nul, str(), arr(str()));
const NAME = /^[a-zA-Z0-9._-]+$/;
const extraHosts = oneOf('a mapping or a list of "host:ip" strings', dict(oneOf('a string or a list', str(), arr(str()))), arr(str()));
const driverOpts = dict(oneOf('a string or a number', str(), num));

const serviceHook = obj({ command, user: str(), privileged: boolish, working_dir: str(), environment: listOrDict });

const blkioLimit = obj({ path: str(), rate: strOrInt }, { ext: false });
const blkioWeight = obj({ path: str(), weight: strOrInt }, { ext: false });

const deviceRequest = obj({ capabilities: listOfStrings, count: strOrInt, device_ids: listOfStrings, driver: str(), options: listOrDict });

const resources = obj({
  cpus: strOrNum,
  memory: str(),
  pids: strOrInt,
  devices: arr(deviceRequest),
  generic_resources: arr(obj({ discrete_resource_spec: obj({ kind: str(), value: strOrNum }) })),
});

const updateConfig = obj({
  parallelism: strOrInt,
  delay: duration,
  failure_action: str(),
  monitor: duration,
  max_failure_ratio: strOrNum,
  order: str({ enum: ['start-first', 'stop-first'] }),
});

const deployment = oneOf(
  'a mapping',
  nul,
  obj({
    mode: str(),
    endpoint_mode: str(),
    replicas: strOrInt,
    labels: listOrDict,
    rollback_config: updateConfig,
    update_config: updateConfig,
    resources: obj({ limits: resources, reservations: resources }),
    restart_policy: obj({ condition: str(), delay: duration, max_attempts: strOrInt, window: duration }),
    placement: obj({ constraints: listOfStrings, preferences: arr(obj({ spread: str() })), max_replicas_per_node: strOrInt }),
  }),
);

const configOrSecretRef = arr(
  oneOf('a name or a mapping {source, target, uid, gid, mode}', str(), obj({ source: str(), target: str(), uid: str(), gid: str(), mode: strOrNum })),
);

const build = oneOf(
  'a path or a mapping',
  str(),
  obj({
    context: str(),
    dockerfile: str(),
    dockerfile_inline: str(),
    entitlements: listOfStrings,
    args: listOrDict,
    ssh: listOrDict,
    labels: listOrDict,
    cache_from: listOfStrings,
    cache_to: listOfStrings,
    no_cache: boolish,
    additional_contexts: listOrDict,
    network: str(),
    provenance: oneOf('a string or a boolean', str(), bool),
    sbom: oneOf('a string or a boolean', str(), bool),
    pull: boolish,
    target: str(),
    shm_size: strOrInt,
    extra_hosts: extraHosts,
    isolation: str(),
    privileged: boolish,
    secrets: configOrSecretRef,
    tags: listOfStrings,
    ulimits: lazy(() => ulimits),
    platform: stringOrList,
    platforms: listOfStrings,
  }),
);

const ulimits: Schema = dict(
  oneOf('an integer or a mapping {soft, hard}', strOrInt, obj({ hard: strOrInt, soft: strOrInt })),
  /^[a-z]+$/,
);

const healthcheck = obj({
  disable: boolish,
  interval: duration,
  retries: strOrNum,
  test: oneOf('a string or a list of strings', str(), arr(str())),
  timeout: duration,
  start_period: duration,
  start_interval: duration,
});

const serviceVolume = oneOf(
  'a string or a mapping {type, source, target}',
  str(),
  obj(
    {
      type: str({ enum: ['bind', 'volume', 'tmpfs', 'cluster', 'npipe', 'image'] }),
      source: str(),
      target: str(),
      read_only: boolish,
      consistency: str(),
      bind: obj({ propagation: str(), create_host_path: boolish, recursive: str({ enum: ['enabled', 'disabled', 'writable', 'readonly'] }), selinux: str({ enum: ['z', 'Z'] }) }),
      volume: obj({ labels: listOrDict, nocopy: boolish, subpath: str() }),
      tmpfs: obj({ size: strOrInt, mode: strOrNum }),
      image: obj({ subpath: str() }),
    },
    { required: ['type'] },
  ),
);

const service = obj({
  develop: oneOf(
    'a mapping',
    nul,
    obj({
      watch: arr(
        obj(
          {
            ignore: stringOrList,
            include: stringOrList,
            path: str(),
            action: str({ enum: ['rebuild', 'sync', 'restart', 'sync+restart', 'sync+exec'] }),
            target: str(),
            exec: serviceHook,
            initial_sync: bool,
          },
          { required: ['path', 'action'] },
        ),
      ),
    }),
  ),
  deploy: deployment,
  annotations: listOrDict,
  attach: boolish,
  build,
  blkio_config: obj({
    device_read_bps: arr(blkioLimit),
    device_read_iops: arr(blkioLimit),
    device_write_bps: arr(blkioLimit),
    device_write_iops: arr(blkioLimit),
    weight: strOrInt,
    weight_device: arr(blkioWeight),
  }, { ext: false }),
  cap_add: listOfStrings,
  cap_drop: listOfStrings,
  cgroup: str({ enum: ['host', 'private'] }),
  cgroup_parent: str(),
  command,
  configs: configOrSecretRef,
  container_name: str(),
  cpu_count: strOrInt,
  cpu_percent: strOrInt,
  cpu_shares: strOrNum,
  cpu_quota: strOrNum,
  cpu_period: strOrNum,
  cpu_rt_period: strOrNum,
  cpu_rt_runtime: strOrNum,
  cpus: strOrNum,
  cpuset: str(),
  credential_spec: obj({ config: str(), file: str(), registry: str() }),
  depends_on: oneOf(
    'a list of service names or a mapping',
    listOfStrings,
    dict(
      obj({ restart: boolish, required: bool, condition: str({ enum: ['service_started', 'service_healthy', 'service_completed_successfully'] }) }, { required: ['condition'] }),
      NAME,
    ),
  ),
  device_cgroup_rules: listOfStrings,
  devices: arr(oneOf('a string or a mapping {source, target, permissions}', str(), obj({ source: str(), target: str(), permissions: str() }, { required: ['source'] }))),
  dns: stringOrList,
  dns_opt: listOfStrings,
  dns_search: stringOrList,
  domainname: str(),
  entrypoint: command,
  env_file: oneOf(
    'a path or a list of paths',
    str(),
    arr(oneOf('a path or a mapping {path, required, format}', str(), obj({ path: str(), format: str(), required: boolish }, { required: ['path'], ext: false }))),
  ),
  label_file: stringOrList,
  environment: listOrDict,
  expose: arr(oneOf('a string or a number', str(), num)),
  extends: oneOf('a service name or a mapping {service, file}', str(), obj({ service: str(), file: str() }, { required: ['service'], ext: false })),
  provider: obj({ type: str(), options: dict(oneOf('a scalar or a list', str(), num, bool, arr(oneOf('a scalar', str(), num, bool)))) }, { required: ['type'] }),
  external_links: listOfStrings,
  extra_hosts: extraHosts,
  gpus: oneOf('"all" or a list', str({ enum: ['all'] }), arr(deviceRequest)),
  group_add: arr(oneOf('a string or a number', str(), num)),
  healthcheck,
  hostname: str(),
  image: str(),
  init: boolish,
  ipc: str(),
  isolation: str(),
  labels: listOrDict,
  links: listOfStrings,
  logging: obj({ driver: str(), options: dict(oneOf('a string, number or null', str(), num, nul)) }),
  mac_address: str(),
  mem_limit: strOrNum,
  mem_reservation: strOrInt,
  mem_swappiness: strOrInt,
  memswap_limit: strOrNum,
  network_mode: str(),
  models: oneOf('a list of model names or a mapping', listOfStrings, dict(oneOf('a mapping', nul, obj({ endpoint_var: str(), model_var: str() })), NAME)),
  networks: oneOf(
    'a list of network names or a mapping',
    listOfStrings,
    dict(
      oneOf(
        'a mapping or null',
        nul,
        obj({
          aliases: listOfStrings,
          interface_name: str(),
          ipv4_address: str(),
          ipv6_address: str(),
          link_local_ips: listOfStrings,
          mac_address: str(),
          driver_opts: driverOpts,
          priority: num,
          gw_priority: num,
        }),
      ),
      NAME,
    ),
  ),
  oom_kill_disable: boolish,
  oom_score_adj: strOrInt,
  pid: oneOf('a string or null', str(), nul),
  pids_limit: strOrNum,
  platform: str(),
  ports: arr(
    oneOf(
      'a number, a string or a mapping {target, published, host_ip, protocol, mode}',
      num,
      str(),
      obj({ name: str(), mode: str(), host_ip: str(), target: strOrInt, published: strOrInt, protocol: str(), app_protocol: str() }),
    ),
  ),
  post_start: arr(serviceHook),
  pre_stop: arr(serviceHook),
  privileged: boolish,
  profiles: listOfStrings,
  pull_policy: str({ pattern: /^(always|never|build|if_not_present|missing|refresh|daily|weekly|every_\d+[smhdw])$|^\$/, patternHint: 'one of always, never, missing, build, daily, weekly, every_<duration>' }),
  pull_refresh_after: str(),
  read_only: boolish,
  restart: str(),
  runtime: str(),
  scale: strOrInt,
  security_opt: listOfStrings,
  shm_size: strOrNum,
  secrets: configOrSecretRef,
  sysctls: listOrDict,
  stdin_open: boolish,
  stop_grace_period: duration,
  stop_signal: str(),
  storage_opt: dict(any),
  tmpfs: stringOrList,
  tty: boolish,
  ulimits,
  use_api_socket: bool,
  user: str(),
  uts: str(),
  userns_mode: str(),
  volumes: arr(serviceVolume),
  volumes_from: listOfStrings,
  working_dir: str(),
});

const external = oneOf('a boolean or a mapping {name}', bool, str(), obj({ name: str() }));

const network = oneOf(
  'a mapping or null',
  nul,
  obj({
    name: str(),
    driver: str(),
    driver_opts: driverOpts,
    ipam: obj({
      driver: str(),
      config: arr(obj({ subnet: str(), ip_range: str(), gateway: str(), aux_addresses: dict(str()) })),
      options: dict(str()),
    }),
    external,
    internal: boolish,
    enable_ipv4: boolish,
    enable_ipv6: boolish,
    attachable: boolish,
    labels: listOrDict,
  }),
);

const volume = oneOf('a mapping or null', nul, obj({ name: str(), driver: str(), driver_opts: driverOpts, external, labels: listOrDict }));

const secret = obj({
  name: str(),
  environment: str(),
  file: str(),
  external,
  labels: listOrDict,
  driver: str(),
  driver_opts: driverOpts,
  template_driver: str(),
});

const config = obj({ name: str(), content: str(), environment: str(), file: str(), external, labels: listOrDict, template_driver: str() });

const model = obj({ name: str(), model: str(), context_size: int, runtime_flags: listOfStrings });

export const composeFileSchema: Schema = obj({
  version: str(),
  name: str({ pattern: /^[a-z0-9][a-z0-9_-]*$|\$/, patternHint: 'lowercase letters, digits, dashes and underscores, starting with a letter or digit' }),
  include: arr(oneOf('a path or a mapping {path, env_file, project_directory}', str(), obj({ path: stringOrList, env_file: stringOrList, project_directory: str() }, { ext: false }))),
  services: oneOf('a mapping of services', nul, dict(oneOf('a service mapping', nul, service), NAME)),
  models: oneOf('a mapping', nul, dict(model, NAME)),
  networks: oneOf('a mapping', nul, dict(network, NAME)),
  volumes: oneOf('a mapping', nul, dict(volume, NAME)),
  secrets: oneOf('a mapping', nul, dict(secret, NAME)),
  configs: oneOf('a mapping', nul, dict(config, NAME)),
});

// ---------------------------------------------------------------------------------------------

export interface SchemaIssue {
  path: (string | number)[];
  code: 'UNKNOWN_KEY' | 'WRONG_TYPE' | 'INVALID_VALUE';
  message: string;
  hint?: string;
}

function describe(s: Schema): string {
  switch (s.k) {
    case 'str':
      return s.enum ? `one of ${s.enum.join(', ')}` : s.patternHint ?? 'a string';
    case 'num':
      return s.int ? 'an integer' : 'a number';
    case 'bool':
      return 'a boolean';
    case 'null':
      return 'null';
    case 'any':
      return 'anything';
    case 'arr':
      return 'a list';
    case 'obj':
      return 'a mapping';
    case 'union':
      return s.name;
    case 'lazy':
      return describe(s.get());
  }
}

function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'string') return `the string "${v.length > 40 ? v.slice(0, 40) + '…' : v}"`;
  if (typeof v === 'number') return `the number ${v}`;
  if (typeof v === 'boolean') return `the boolean ${v}`;
  return typeof v;
}

/** Returns the first problem found, or undefined. */
export function validate(value: unknown, schema: Schema, path: (string | number)[] = []): SchemaIssue | undefined {
  switch (schema.k) {
    case 'any':
      return undefined;
    case 'lazy':
      return validate(value, schema.get(), path);
    case 'null':
      return value === null || value === undefined ? undefined : wrong(value, schema, path);
    case 'bool':
      return typeof value === 'boolean' ? undefined : wrong(value, schema, path);
    case 'num':
      if (typeof value !== 'number' || (schema.int && !Number.isInteger(value))) return wrong(value, schema, path);
      return undefined;
    case 'str':
      if (typeof value !== 'string') return wrong(value, schema, path);
      if (schema.enum && !schema.enum.includes(value)) {
        const c = closest(value, schema.enum);
        return { path, code: 'INVALID_VALUE', message: `"${value}" is not allowed: must be one of ${schema.enum.join(', ')}`, hint: c ? `did you mean "${c}"?` : undefined };
      }
      if (schema.pattern && !schema.pattern.test(value)) {
        return { path, code: 'INVALID_VALUE', message: `"${value}" is not valid: expected ${schema.patternHint ?? schema.pattern}`, hint: schema.patternHint ? `write ${schema.patternHint}` : undefined };
      }
      return undefined;
    case 'arr':
      if (!Array.isArray(value)) return wrong(value, schema, path);
      for (let i = 0; i < value.length; i++) {
        const issue = validate(value[i], schema.items, [...path, i]);
        if (issue) return issue;
      }
      return undefined;
    case 'obj': {
      if (value === null || typeof value !== 'object' || Array.isArray(value)) return wrong(value, schema, path);
      const rec = value as Record<string, unknown>;
      for (const key of schema.required ?? []) {
        if (!(key in rec)) return { path, code: 'INVALID_VALUE', message: `missing required key "${key}"`, hint: `add ${key}: to this mapping` };
      }
      for (const [k, v] of Object.entries(rec)) {
        const p = [...path, k];
        const known = schema.props[k];
        if (known) {
          const issue = validate(v, known, p);
          if (issue) return issue;
          continue;
        }
        if (schema.ext && k.startsWith('x-')) continue;
        if (schema.extra) {
          if (schema.keyPattern && !schema.keyPattern.test(k)) {
            return { path: p, code: 'INVALID_VALUE', message: `invalid name "${k}"`, hint: 'names use letters, digits, ".", "_" and "-"' };
          }
          const issue = validate(v, schema.extra, p);
          if (issue) return issue;
          continue;
        }
        const c = closest(k, Object.keys(schema.props));
        return {
          path: p,
          code: 'UNKNOWN_KEY',
          message: `unknown key "${k}"`,
          hint: c ? `did you mean "${c}"? (extensions must start with "x-")` : `allowed here: ${Object.keys(schema.props).join(', ')}; extensions must start with "x-"`,
        };
      }
      return undefined;
    }
    case 'union': {
      // pick the alternative whose kind matches the value, to report the deepest useful error
      let best: SchemaIssue | undefined;
      for (const alt of schema.of) {
        const issue = validate(value, alt, path);
        if (!issue) return undefined;
        if (!best || issue.path.length > best.path.length) best = issue;
      }
      if (best && best.path.length > path.length) return best;
      if (best && best.code !== 'WRONG_TYPE') return best;
      return wrong(value, schema, path);
    }
  }
}

function kinds(s: Schema): string[] {
  if (s.k === 'union') return s.of.flatMap(kinds);
  if (s.k === 'lazy') return kinds(s.get());
  return [s.k];
}

function typeHint(schema: Schema, value: unknown): string {
  const k = kinds(schema);
  if (k.includes('arr') && !Array.isArray(value)) return 'write a YAML list: [a, b], or one "- item" per line';
  if (k.includes('obj') && (typeof value !== 'object' || Array.isArray(value))) return 'write a mapping: one "key: value" per line, indented under this key';
  if (k.includes('str') && typeof value !== 'string') return 'quote the value to make it a string';
  if (k.includes('num')) return 'write a number without quotes';
  if (k.includes('bool')) return 'write true or false';
  return `expected ${describe(schema)}`;
}

function wrong(value: unknown, schema: Schema, path: (string | number)[]): SchemaIssue {
  return { path, code: 'WRONG_TYPE', message: `must be ${describe(schema)}, not ${typeOf(value)}`, hint: typeHint(schema, value) };
}
