/** The actual state: the engine's containers, listed by the Compose labels. No local database. */
import type { ContainerSummary, Engine } from '../engine/engine.js';
import { DockyardError } from '../errors.js';
import { LABEL } from '../model/names.js';

export interface ProjectContainer extends ContainerSummary {
  service: string;
  number: number;
  oneoff: boolean;
  configHash: string;
  /** dockyard's per-key digest of the configuration (absent on containers made by other tools) */
  configDigest?: string;
}

export async function projectContainers(engine: Engine, project: string, opts: { all?: boolean; oneoff?: boolean; services?: string[] } = {}): Promise<ProjectContainer[]> {
  const labels = [`${LABEL.project}=${project}`];
  if (opts.oneoff === false) labels.push(`${LABEL.oneoff}=False`);
  if (opts.oneoff === true) labels.push(`${LABEL.oneoff}=True`);
  const list = await engine.listContainers(labels, opts.all ?? true);
  return list
    .map((c) => ({
      ...c,
      service: c.labels[LABEL.service] ?? '',
      number: Number(c.labels[LABEL.number] ?? 0),
      oneoff: c.labels[LABEL.oneoff] === 'True',
      configHash: c.labels[LABEL.configHash] ?? '',
      configDigest: c.labels[LABEL.configDigest],
    }))
    .filter((c) => !opts.services || opts.services.includes(c.service))
    .sort((a, b) => a.service.localeCompare(b.service) || a.number - b.number || a.name.localeCompare(b.name));
}

/**
 * How many engine operations run at once: COMPOSE_PARALLEL_LIMIT (as docker compose reads it) or
 * DOCKYARD_PARALLEL, else 16. A value that is not a positive whole number is refused.
 */
export function parallelLimit(env: Record<string, string | undefined> = process.env): number {
  for (const name of ['DOCKYARD_PARALLEL', 'COMPOSE_PARALLEL_LIMIT']) {
    const v = env[name];
    if (v === undefined || v === '') continue;
    if (!/^\d+$/.test(v.trim()) || Number(v) < 1) throw new DockyardError('USAGE', `${name} must be a whole number of at least 1, not "${v}"`);
    return Number(v);
  }
  return 16;
}

/** A small counting semaphore: at most `n` tasks at once. */
export class Limit {
  private active = 0;
  private readonly queue: Array<() => void> = [];
  constructor(private readonly n: number) {}

  async run<T>(f: () => Promise<T>): Promise<T> {
    // a finishing task hands its slot straight to the first waiter (the count never drops in
    // between, so a newcomer cannot slip in while that waiter is being woken)
    if (this.active >= this.n) await new Promise<void>((r) => this.queue.push(r));
    else this.active++;
    try {
      return await f();
    } finally {
      const next = this.queue.shift();
      if (next) next();
      else this.active--;
    }
  }
}
