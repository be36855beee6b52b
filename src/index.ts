/** dockyard's library API. */
export { loadProject, findDefaultFiles, checkConsistency, serviceGraph, DEFAULT_FILES } from './load/index.js';
export type { LoadOptions } from './load/index.js';
export { parseDotenv } from './load/dotenv.js';
export { substitute } from './load/interpolate.js';
export { mergeTrees } from './load/merge.js';
export { parseDuration, formatDuration, parseSize, shellSplit } from './load/units.js';
export { projectModel, serviceConfigHash, serviceModel } from './model/serialize.js';
export { LABEL, imageName, containerName } from './model/names.js';
export type * from './model/project.js';
export { Dag } from './graph/dag.js';
export { DockyardError } from './errors.js';
export { EngineError, isConflict, isNotFound } from './errors.js';
export type { ErrorCode, EngineErrorKind } from './errors.js';
export { openProject, ProjectHandle } from './api/project.js';
export type {
  OpenProjectOptions,
  UpOptions,
  ContainerStatus,
  PortBinding,
  ExecOptions,
  ExecResult,
  RunOptions,
  LogsOptions,
  LogEntry,
  LifecycleEvent,
  LifecycleAction,
  EventStream,
} from './api/project.js';
export type { ProgressEvent, Timeline, TimelineEntry } from './converge/events.js';
export { formatPlan, formatResources, planUp } from './converge/plan.js';
export type { ImageStep, Observed, Plan, PlanOptions, ResourceStep, ServicePlan, Step } from './converge/plan.js';
export type { Engine } from './engine/engine.js';
export { acquireEnvironment, releaseEnvironment, renewEnvironment, listEnvironments, gcEnvironments, healthReport, Lease, LEASE } from './envs/lease.js';
export type { AcquireOptions, LeasedService, LeaseHolder, LeaseInfo, OwnerState, ServiceHealth } from './envs/lease.js';
export type { WatchAction, WatchOptions } from './watch/watch.js';
export { convertToKubernetes } from './deploy/k8s.js';
export type { K8sResult } from './deploy/k8s.js';
export { deployStack, listStacks, stackTasks, removeStack } from './deploy/swarm.js';
export type { DeployOptions, DeployResult, StackSummary, StackTask } from './deploy/swarm.js';
export { consolidate, writeConsolidation, requireProven } from './consolidate/index.js';
export type { Consolidation, ComposeReport, DockerfileReport } from './consolidate/index.js';
export { engineFromContext, resolveEngine } from './engine/docker.js';
export { engineSummary, resolveEndpoint } from './engine/context.js';
export type { EngineEndpoint } from './engine/context.js';
export { DockerConfigCredentials, StaticCredentials } from './registry/auth.js';
export type { Credential, CredentialStore, RegistryAuth } from './registry/auth.js';
export { serveDashboard } from './dashboard/server.js';
export type { Dashboard, DashboardOptions, DashboardAction, Snapshot, ContainerView, LogView } from './dashboard/server.js';
export { snapshotEnvironment, listSnapshots, findSnapshot, resolveSnapshot, removeSnapshot, gcSnapshots, pushSnapshot, pullSnapshot, SNAPSHOT, SNAPSHOT_REPO } from './envs/snapshot.js';
export type { SnapshotInfo, SnapshotOptions } from './envs/snapshot.js';
export { resetEnvironment } from './envs/lease.js';
export type { ResetOptions } from './envs/lease.js';
export { swarmNodes, tasksThatLeft, eligibleNodes, meetsConstraint, namesRegistry } from './deploy/swarm.js';
export type { SwarmNode, NodeLoss } from './deploy/swarm.js';
