/** Names and labels shared with Docker Compose, so both tools see the same resources. */
import type { Service } from './project.js';

export const LABEL = {
  project: 'com.docker.compose.project',
  service: 'com.docker.compose.service',
  number: 'com.docker.compose.container-number',
  oneoff: 'com.docker.compose.oneoff',
  configHash: 'com.docker.compose.config-hash',
  workingDir: 'com.docker.compose.project.working_dir',
  configFiles: 'com.docker.compose.project.config_files',
  dependsOn: 'com.docker.compose.depends_on',
  network: 'com.docker.compose.network',
  volume: 'com.docker.compose.volume',
  version: 'com.docker.compose.version',
  image: 'com.docker.compose.image',
  sourceHash: 'dev.dockyard.source-hash',
  /** the definition a network was created from (dockyard's own: Compose hashes differently) */
  networkHash: 'dev.dockyard.network-hash',
  /** a short hash per configuration key of a container's service (which keys changed) */
  configDigest: 'dev.dockyard.config-digest',
} as const;

/** The image a service runs: its `image`, or `<project>-<service>` for a build without one. */
export function imageName(project: string, s: Service): string {
  return s.image ?? `${project}-${s.name}`;
}

/** `<project>-<service>-<n>` (`_` with --compatibility, as docker-compose v1), or the service's container_name. */
export function containerName(project: string, s: Service, n: number, separator: '-' | '_' = '-'): string {
  return typeof s.container_name === 'string' ? s.container_name : [project, s.name, n].join(separator);
}
