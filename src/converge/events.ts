/** What the converge layer reports while it works. Library code never prints: the CLI renders these. */

export type ContainerAction =
  | 'creating'
  | 'created'
  | 'recreating'
  | 'recreated'
  | 'starting'
  | 'started'
  | 'running'
  | 'waiting'
  | 'healthy'
  | 'exited'
  | 'stopping'
  | 'stopped'
  | 'killed'
  | 'removing'
  | 'removed'
  | 'restarting'
  | 'restarted'
  | 'failed';

export type ProgressEvent =
  | { type: 'resource'; kind: 'network' | 'volume' | 'image'; name: string; action: 'creating' | 'created' | 'exists' | 'removed' | 'pulling' | 'pulled' | 'pushing' | 'pushed' | 'building' | 'built' | 'warning'; detail?: string }
  | { type: 'container'; service: string; name: string; action: ContainerAction; detail?: string }
  | { type: 'warning'; message: string };

export type Emit = (e: ProgressEvent) => void;

/** When each service passed each milestone, in ms since the run began. */
export interface TimelineEntry {
  service: string;
  /** began waiting for its dependencies */
  queued: number;
  created?: number;
  /** the start was asked of the engine */
  starting?: number;
  started?: number;
  /** healthy (or running, for services without a health check) */
  ready?: number;
  exited?: number;
  /** dependencies this service waited for */
  deps: string[];
}

export interface Timeline {
  startedAt: number;
  totalMs: number;
  entries: TimelineEntry[];
  /** services on the longest chain of waits, and its length in ms */
  criticalPath: { services: string[]; ms: number };
}
