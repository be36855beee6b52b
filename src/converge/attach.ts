/**
 * Attached `up`: follow the containers' output until they have all stopped, stopping the rest
 * when one exits (--abort-on-container-exit) or fails (--abort-on-container-failure), or when
 * asked (Ctrl-C). The exit code follows Compose: that of the container whose exit ended the run,
 * or of the first exit of the --exit-code-from service.
 */
import type { LogItem } from './logs.js';
import { streamLogs } from './logs.js';
import { stop } from './lifecycle.js';
import type { Converger } from './runner.js';
import { projectContainers } from './state.js';

export interface AttachOptions {
  /** the services whose containers are followed */
  services: string[];
  /** the services stopped when the run is aborted (default: those followed) */
  stopServices?: string[];
  /** unix seconds: output from then on */
  since?: number;
  /** stop everything when a container exits ('exit'), or exits with a non-zero code ('failure') */
  abortOn?: 'exit' | 'failure';
  /** the exit code is this service's */
  exitCodeFrom?: string;
  /** seconds to wait when stopping */
  timeout?: number;
  /** every line, exit and restart, for rendering */
  onItem: (item: LogItem) => void;
  /** told when the run is being stopped, and why */
  onStopping?: (why: string) => void;
  /** aborting it stops the containers gracefully (Ctrl-C) */
  signal?: AbortSignal;
}

export async function attachRun(conv: Converger, o: AttachOptions): Promise<{ exitCode: number }> {
  const cs = await projectContainers(conv.engine, conv.project.name, { oneoff: false, services: o.services });
  let stopping: Promise<void> | undefined;
  let exitCode = 0;
  let decided = false;
  let fromDecided = false;
  const stopAll = (why: string) => {
    if (stopping) return;
    o.onStopping?.(why);
    stopping = stop(conv, o.stopServices ?? o.services, o.timeout);
    stopping.catch(() => undefined);
  };
  const onAbort = () => stopAll('Gracefully stopping... (press Ctrl-C again to force)');
  o.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    for await (const item of streamLogs(conv.engine, cs, { follow: true, since: o.since, watch: { project: conv.project.name, services: o.services, graceMs: 0 } })) {
      o.onItem(item);
      if (item.kind !== 'exit') continue;
      if (o.exitCodeFrom && !fromDecided && item.container.service === o.exitCodeFrom) {
        fromDecided = true;
        exitCode = item.code;
      }
      if (o.abortOn && !stopping && !(o.abortOn === 'failure' && item.code === 0)) {
        if (!o.exitCodeFrom && !decided) exitCode = item.code;
        decided = true;
        stopAll('Aborting on container exit...');
      }
    }
    await stopping;
  } finally {
    o.signal?.removeEventListener('abort', onAbort);
  }
  return { exitCode };
}
