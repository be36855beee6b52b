/**
 * Live development (`watch`, `up --watch`): file events from chokidar, per `develop.watch` rule,
 * turned into actions on the service's containers — sync (a tar stream through the Engine API),
 * rebuild (through the build graph, then only that service recreated), restart, sync+restart,
 * sync+exec. The first change of a burst goes out at once; what changes while a transfer is under
 * way goes in the next one. Containers are looked up at every action, so watch survives their
 * recreation, restart or scaling; with `initial_sync`, every (re)start of a container gets the
 * rule's files again.
 *
 * What is sent is what is under the rule's path and nothing else: a symlink goes as a symlink with
 * its own target text (the watcher does not follow links, nothing is read through one), a file is
 * opened without following a link. What could not be done is never silent: a file that could not
 * be read (or is not a regular file), a transfer the engine refused, an exec that exited non-zero,
 * an initial sync that failed are named on the action's line (`error`); files not sent are not
 * recorded as sent, and they (or the container's whole initial sync) go again with the rule's
 * next change.
 */
import { constants, existsSync, lstatSync, readFileSync, readdirSync } from 'node:fs';
import type { Stats } from 'node:fs';
import { open, readlink } from 'node:fs/promises';
import { isAbsolute, join, posix, relative, resolve, sep } from 'node:path';
import { PassThrough } from 'node:stream';
import type { Readable } from 'node:stream';
import dockerignore from '@balena/dockerignore';
import { pack } from 'tar-stream';
import type { Header, Pack } from 'tar-stream';
import { slashRelative } from '../build/context.js';
import type { Engine, EngineEvent } from '../engine/engine.js';
import { DockyardError } from '../errors.js';
import { LABEL } from '../model/names.js';
import type { Project, Service, WatchRule } from '../model/project.js';
import { projectContainers } from '../converge/state.js';
import type { ProjectContainer } from '../converge/state.js';

export interface WatchAction {
  service: string;
  action: WatchRule['action'] | 'initial sync';
  /** files sent (or removed) to every container */
  files: number;
  /** from the first file event of the batch to done */
  ms: number;
  containers: string[];
  /** what failed: files not sent (and why), the engine's refusal, an exec's exit code; what was not sent goes again with the next change */
  error?: string;
}

export interface WatchOptions {
  services?: string[];
  signal?: AbortSignal;
  onAction?: (a: WatchAction) => void;
  /** told once every watcher is ready */
  onReady?: (rules: number) => void;
  /** how long to try following the engine's events again when their stream ends (default 60 s) */
  resubscribeMs?: number;
}

// the package is CommonJS: its factory is the default export, or the module itself
const ignore = ((dockerignore as unknown as { default?: unknown }).default ?? dockerignore) as unknown as () => import('@balena/dockerignore').Ignore;

interface Rule {
  service: Service;
  rule: WatchRule;
  /** absolute */
  path: string;
  target?: string;
  matches: (abs: string) => boolean;
}

/** Checks the rules of the services and compiles their ignore / include patterns. */
export function compileRules(projectDir: string, services: Service[]): Rule[] {
  const out: Rule[] = [];
  for (const s of services) {
    (s.develop?.watch ?? []).forEach((w, i) => {
      const where = `services.${s.name}.develop.watch[${i}]`;
      const path = resolve(projectDir, w.path);
      const rel = relative(projectDir, path);
      if (rel.startsWith('..') || isAbsolute(rel)) {
        throw new DockyardError('INVALID_VALUE', `watch path ${w.path} is outside the project (${projectDir})`, { keyPath: `${where}.path`, hint: 'watch files of the project only' });
      }
      const needsTarget = w.action === 'sync' || w.action === 'sync+restart' || w.action === 'sync+exec';
      if (needsTarget && !w.target) throw new DockyardError('INVALID_VALUE', `a ${w.action} rule needs a target`, { keyPath: where, hint: 'add target: /path/in/container' });
      if (w.target !== undefined && (!w.target.startsWith('/') || w.target.split('/').includes('..'))) {
        throw new DockyardError('INVALID_VALUE', `watch target ${w.target} must be an absolute path in the container, without ..`, { keyPath: `${where}.target`, hint: 'e.g. target: /app/src' });
      }
      if (w.action === 'sync+exec' && !w.exec?.command?.length) throw new DockyardError('INVALID_VALUE', 'a sync+exec rule needs exec.command', { keyPath: `${where}.exec`, hint: 'exec: {command: ["kill", "-HUP", "1"]}' });
      const ign = ignore().add(w.ignore ?? []);
      // the build context's .dockerignore for rules inside it
      const ctx = s.build?.context;
      const ctxIgnore = ctx && !relative(ctx, path).startsWith('..') && existsSync(join(ctx, '.dockerignore')) ? ignore().add(readFileSync(join(ctx, '.dockerignore'), 'utf8').split('\n')) : undefined;
      const inc = w.include?.length ? ignore().add(w.include) : undefined;
      const matches = (abs: string) => {
        const r = slashRelative(path, abs);
        if (r === '' || r.startsWith('..')) return r === '';
        if (ign.ignores(r)) return false;
        if (ctxIgnore && ctx && ctxIgnore.ignores(slashRelative(ctx, abs))) return false;
        if (inc && !statSafe(abs)?.isDirectory() && !inc.ignores(r)) return false;
        return true;
      };
      out.push({ service: s, rule: w, path, target: w.target, matches });
    });
  }
  return out;
}

function statSafe(p: string) {
  try {
    return lstatSync(p);
  } catch {
    return undefined;
  }
}

/** Files larger than this stream into the tar; smaller ones are read whole (a consistent size). */
const STREAM_ABOVE = 1 << 20;

/** When a new folder is walked again after its event (ms): the watcher lists it before it watches it. */
const RESCAN_MS = [250, 1500];
/** how long watch tries to follow the engine's events again after their stream ended */
const RESUBSCRIBE_MS = 60_000;

/** What a file was when it was sent: a rescan sends only files not sent as they are now. */
function signature(abs: string, st = statSafe(abs)): string | undefined {
  return st && `${st.mtimeMs}:${st.size}:${st.ino}`;
}

/**
 * Whether `abs` is reached from the rule's path without going through a symlink (or anything else
 * that is not a folder): a path through a link would read, or remove, what is outside the watched
 * path. A folder on the way that is gone is fine: what was below it is gone too (a deletion).
 */
function direct(root: string, abs: string): boolean {
  const rel = relative(root, abs);
  if (rel.startsWith('..') || isAbsolute(rel)) return false;
  let p = root;
  for (const part of rel.split(sep).slice(0, -1)) {
    p = join(p, part);
    const st = statSafe(p);
    if (!st) return true;
    if (!st.isDirectory()) return false;
  }
  return true;
}

const message = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/** Why a file could not be read: the system's code and words, without the path (the line names it). */
function why(e: unknown): string {
  return (e as NodeJS.ErrnoException)?.code ? message(e).replace(/, \w+ '.*'$/s, '') : message(e);
}

/** What a file that is neither a folder, a symlink nor a regular file is. */
function kind(st: Stats): string {
  return st.isFIFO() ? 'a FIFO' : st.isSocket() ? 'a socket' : st.isCharacterDevice() || st.isBlockDevice() ? 'a device' : 'a special file';
}

/** The last line of a command's output, as `: line`, or nothing. */
function lastLine(text: string): string {
  const l = text.trim().split('\n').pop()?.trim();
  return l ? `: ${l.length > 200 ? `${l.slice(0, 200)}…` : l}` : '';
}

const AGAIN = '(tried again with the next change)';

interface Queue {
  rule: Rule;
  /** paths with events since the last transfer */
  pending: Set<string>;
  /** new folders to walk again */
  rescan: Set<string>;
  /** paths not sent by their transfer (unreadable, refused): they go with the next change */
  retry: Set<string>;
  /** containers just started ('*': every running one): their initial sync is due now */
  starting: Set<string>;
  /** containers whose initial sync failed ('*': every running one): it goes again with the next change */
  owed: Set<string>;
  /** file -> its signature when last sent */
  sent: Map<string, string | undefined>;
  since: number;
  busy: boolean;
}

/** Every file under `abs` (itself if a file) that the rule lets through; a folder that cannot be listed goes in `failed`. */
function walk(abs: string, rule: Rule, out: string[] = [], failed?: Map<string, string>): string[] {
  const st = statSafe(abs);
  if (!st || !rule.matches(abs)) return out;
  out.push(abs);
  if (st.isDirectory()) {
    let names: string[];
    try {
      names = readdirSync(abs);
    } catch (e) {
      failed?.set(abs, why(e));
      return out;
    }
    for (const c of names) walk(join(abs, c), rule, out, failed);
  }
  return out;
}

/** A failure once a file's entry has begun: the archive cannot go on, the transfer fails. */
class Midway extends Error {
  constructor(readonly reason: unknown) {
    super('midway');
  }
}

/**
 * A regular file's entry. It is opened without following a link and without waiting for a FIFO's
 * writer, and must still be a regular file: one replaced meanwhile fails here, before its entry
 * begins. Small files are read whole, so a file written meanwhile has an entry of the size read;
 * large ones stream up to the size seen (one that shrank meanwhile fails the transfer).
 */
async function fileEntry(p: Pack, abs: string, header: Partial<Header> & { name: string }): Promise<void> {
  const fh = await open(abs, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw new Error(`${st.isDirectory() ? 'a folder' : kind(st)} now, not a regular file`);
    if (st.size <= STREAM_ABOVE) {
      const data = await fh.readFile();
      p.entry({ ...header, size: data.length }, data);
      return;
    }
    await new Promise<void>((res, rej) => {
      const entry = p.entry({ ...header, size: st.size }, (err) => (err ? rej(err) : res()));
      fh.createReadStream({ start: 0, end: st.size - 1, autoClose: false }).on('error', rej).pipe(entry);
    }).catch((e: unknown) => {
      throw new Midway(e);
    });
  } finally {
    await fh.close();
  }
}

/**
 * The files as one tar stream, placed under the rule's target, owned by uid:gid. A symlink is an
 * entry of its own target text. A file that cannot be read as it was listed (unreadable, not or no
 * longer a regular file, now below a link) is left out and put in `failed` with the reason.
 */
function tarOf(files: string[], rule: Rule, owner: { uid: number; gid: number }, failed: Map<string, string>): Readable {
  const p = pack();
  (async () => {
    const st0 = statSafe(rule.path);
    for (const abs of files) {
      if (failed.has(abs)) continue;
      const st = statSafe(abs);
      // gone since it was listed: its deletion event follows
      if (!st) continue;
      // a rule on a single file maps it to the target itself
      const rel = st0?.isFile() ? '' : slashRelative(rule.path, abs);
      const name = posix.join(rule.target!, rel).replace(/^\//, '');
      const header = { name, mode: st.mode & 0o7777, mtime: st.mtime, uid: owner.uid, gid: owner.gid };
      try {
        if (!direct(rule.path, abs)) throw new Error('a folder above it is a symlink now');
        if (st.isDirectory()) p.entry({ ...header, type: 'directory' });
        else if (st.isSymbolicLink()) p.entry({ ...header, type: 'symlink', linkname: await readlink(abs) });
        else if (st.isFile()) await fileEntry(p, abs, header);
        else throw new Error(`${kind(st)}, not a regular file`);
      } catch (e) {
        if (e instanceof Midway) throw e.reason;
        failed.set(abs, why(e));
      }
    }
    p.finalize();
  })().catch((e: unknown) => p.destroy(e as Error));
  return p as unknown as Readable;
}

/** uid and gid of the container's user (files it is sent are its own). */
async function ownerOf(engine: Engine, id: string): Promise<{ uid: number; gid: number }> {
  const info = await engine.inspectContainer(id);
  const user = info?.Config.User ?? '';
  if (!user) return { uid: 0, gid: 0 };
  const [u, g] = user.split(':');
  if (/^\d+$/.test(u!) && (g === undefined || /^\d+$/.test(g))) return { uid: Number(u), gid: Number(g ?? u) };
  const ask = async (args: string[]) => {
    const chunks: Buffer[] = [];
    const out = new PassThrough();
    out.on('data', (c: Buffer) => chunks.push(c));
    await engine.exec(id, { cmd: ['id', ...args], stdout: out, stderr: new PassThrough() });
    return Number(Buffer.concat(chunks).toString().trim()) || 0;
  };
  return { uid: await ask(['-u', u!]), gid: g ? (/^\d+$/.test(g) ? Number(g) : await ask(['-g', u!])) : await ask(['-g', u!]) };
}

/** What watch asks of a project: the library's handle (api/project.ts) is one; watch does not import it. */
export interface WatchedProject {
  readonly engine: Engine;
  readonly model: Project;
  exec(service: string, command: string[], o: { index?: number; user?: string; workdir?: string; env?: Record<string, string> }): Promise<{ exitCode: number; stdout: string; stderr: string }>;
  build(services?: string[]): Promise<unknown>;
  up(o: { services?: string[]; noDeps?: boolean }): Promise<unknown>;
  restart(services?: string[]): Promise<void>;
}

export async function watchProject(handle: WatchedProject, o: WatchOptions = {}): Promise<void> {
  const { watch } = await import('chokidar');
  const engine = handle.engine;
  const model = handle.model;
  const targets = (o.services?.length ? o.services : Object.keys(model.services)).map((n) => {
    const s = model.services[n];
    if (!s) throw new DockyardError('USAGE', `no such service: ${n}`, { hint: `services: ${Object.keys(model.services).join(', ')}` });
    return s;
  });
  const rules = compileRules(model.workingDir, targets);
  if (!rules.length) throw new DockyardError('USAGE', `no develop.watch rules in ${o.services?.length ? o.services.join(', ') : 'the project'}`, { hint: 'add develop: {watch: [{path: ./src, action: sync, target: /app/src}]} to a service' });
  const owners = new Map<string, Promise<{ uid: number; gid: number }>>();
  const owner = (id: string) => {
    let p = owners.get(id);
    if (!p) {
      p = ownerOf(engine, id);
      owners.set(id, p);
      // a failed look-up is asked again next time
      p.catch(() => owners.get(id) === p && owners.delete(id));
    }
    return p;
  };
  const running = async (service: string) => (await projectContainers(engine, model.name, { oneoff: false, services: [service] })).filter((c) => c.state === 'running');
  const shown = (abs: string) => slashRelative(model.workingDir, abs) || '.';
  const notSent = (failed: Map<string, string>) => {
    const l = [...failed].map(([f, r]) => `${shown(f)} (${r})`);
    return `not sent: ${l.slice(0, 3).join(', ')}${l.length > 3 ? ` and ${l.length - 3} more` : ''} ${AGAIN}`;
  };
  /** the engine's refusals, one per container (named when there are several) */
  const refusals = (cs: ProjectContainer[], results: PromiseSettledResult<unknown>[]) =>
    results.flatMap((r, i) => (r.status === 'rejected' ? [`${cs.length > 1 ? `${cs[i]!.name}: ` : ''}${message(r.reason)}`] : []));
  const filesIn = (files: string[], failed: Map<string, string>) => files.filter((f) => !failed.has(f) && !statSafe(f)?.isDirectory()).length;

  /** Sends files (and removes the deleted ones) to one container; what it could not read goes in `failed`. */
  const syncTo = async (id: string, rule: Rule, files: string[], deleted: string[], failed: Map<string, string>) => {
    if (files.length) await engine.putArchive(id, '/', tarOf(files, rule, await owner(id), failed));
    if (deleted.length) {
      const st0 = statSafe(rule.path);
      const paths = deleted.map((abs) => (st0?.isFile() || abs === rule.path ? rule.target! : posix.join(rule.target!, slashRelative(rule.path, abs))));
      const err: Buffer[] = [];
      const stderr = new PassThrough().on('data', (c: Buffer) => err.push(c));
      const code = await engine.exec(id, { cmd: ['rm', '-rf', '--', ...paths], stdout: new PassThrough().resume(), stderr });
      if (code !== 0) throw new Error(`removing ${paths.join(' ')} exited with code ${code}${lastLine(Buffer.concat(err).toString())}`);
    }
  };

  /** sync+exec: the rule's command in each container; one text for each that exited non-zero (or could not run). */
  const execIn = async (rule: Rule, cs: ProjectContainer[]): Promise<string[]> => {
    const x = rule.rule.exec!;
    const env = Object.fromEntries(Object.entries(x.environment ?? {}).filter((e): e is [string, string] => e[1] !== null));
    const results = await Promise.allSettled(cs.map((c) => handle.exec(rule.service.name, x.command!, { index: c.number, user: x.user, workdir: x.working_dir, env })));
    return results.flatMap((r, i) => {
      if (r.status === 'rejected') return [`exec in ${cs[i]!.name}: ${message(r.reason)}`];
      return r.value.exitCode === 0 ? [] : [`exec in ${cs[i]!.name} exited with code ${r.value.exitCode}${lastLine(r.value.stderr || r.value.stdout)}`];
    });
  };

  /**
   * rescan: new folders walked again after their events, for the files created while the watcher
   * was setting itself up on them (chokidar lists a new folder before it watches it: a file
   * written in between gets no event); only what was not sent as it is now goes out
   */
  const act = async (q: Queue, changed: string[], since: number, rescan: string[] = []): Promise<void> => {
    const rule = q.rule;
    const s = rule.service;
    const a = rule.rule.action;
    const failed = new Map<string, string>();
    const present: string[] = [];
    const deleted: string[] = [];
    for (const abs of new Set(changed)) {
      // through a symlink: not under the watched path (the watcher does not follow links; a folder may have become one since)
      if (!direct(rule.path, abs)) continue;
      if (statSafe(abs)) walk(abs, rule, present, failed);
      else if (rule.matches(abs)) deleted.push(abs);
    }
    const asSent = new Set(present);
    for (const dir of rescan) {
      if (!direct(rule.path, dir)) continue;
      for (const f of walk(dir, rule, [], failed)) {
        if (asSent.has(f)) continue;
        const st = statSafe(f);
        if (st?.isDirectory() || q.sent.get(f) !== signature(f, st)) present.push(f);
      }
    }
    const files = [...new Set(present)];
    const count = files.filter((f) => !statSafe(f)?.isDirectory()).length + deleted.length;
    const sync = a !== 'rebuild' && a !== 'restart';
    if (sync && !count && !failed.size) return;
    let names: string[] = [];
    let sent = count;
    const problems: string[] = [];
    try {
      if (a === 'rebuild') {
        await handle.build([s.name]);
        await handle.up({ services: [s.name], noDeps: true });
        names = (await running(s.name)).map((c) => c.name);
      } else if (a === 'restart') {
        await handle.restart([s.name]);
        names = (await running(s.name)).map((c) => c.name);
      } else {
        sent = 0;
        const cs = await running(s.name);
        names = cs.map((c) => c.name);
        const refused = refusals(cs, await Promise.allSettled(cs.map((c) => syncTo(c.id, rule, files, deleted, failed))));
        for (const f of failed.keys()) q.retry.add(f);
        if (refused.length) {
          // the whole batch goes again with the next change
          for (const f of [...changed, ...rescan]) q.retry.add(f);
          problems.push(`${refused.join('; ')} ${AGAIN}`);
        } else if (cs.length) {
          for (const f of files) if (!failed.has(f)) q.sent.set(f, signature(f));
          for (const f of deleted) q.sent.delete(f);
          sent = filesIn(files, failed) + deleted.length;
        }
        if (failed.size) problems.push(notSent(failed));
        if (!refused.length) {
          if (a === 'sync+restart') await handle.restart([s.name]);
          if (a === 'sync+exec') problems.push(...(await execIn(rule, cs)));
        }
      }
    } catch (e) {
      problems.push(message(e));
    }
    o.onAction?.({ service: s.name, action: a, files: sent, ms: Date.now() - since, containers: names, ...(problems.length ? { error: problems.join('; ') } : {}) });
  };

  /**
   * initial_sync: the rule's files to the containers in `only` (every running one when undefined).
   * A container the transfer failed into owes the whole sync again, with the rule's next change
   * (and with its next start); files that could not be read go again with that change too.
   */
  const initialSync = async (q: Queue, only?: Set<string>): Promise<void> => {
    const rule = q.rule;
    const service = rule.service.name;
    const t0 = Date.now();
    const failed = new Map<string, string>();
    let cs: ProjectContainer[] = [];
    try {
      cs = (await running(service)).filter((c) => !only || only.has(c.id));
      if (!cs.length) return;
      const files = walk(rule.path, rule, [], failed);
      const results = await Promise.allSettled(cs.map((c) => syncTo(c.id, rule, files, [], failed)));
      results.forEach((r, i) => r.status === 'rejected' && q.owed.add(cs[i]!.id));
      const refused = refusals(cs, results);
      for (const f of failed.keys()) q.retry.add(f);
      if (refused.length < cs.length) for (const f of files) if (!failed.has(f)) q.sent.set(f, signature(f));
      const problems = [...(refused.length ? [`${refused.join('; ')} ${AGAIN}`] : []), ...(failed.size ? [notSent(failed)] : [])];
      o.onAction?.({ service, action: 'initial sync', files: refused.length ? 0 : filesIn(files, failed), ms: Date.now() - t0, containers: cs.map((c) => c.name), ...(problems.length ? { error: problems.join('; ') } : {}) });
    } catch (e) {
      for (const id of cs.length ? cs.map((c) => c.id) : [...(only ?? ['*'])]) q.owed.add(id);
      o.onAction?.({ service, action: 'initial sync', files: 0, ms: Date.now() - t0, containers: cs.map((c) => c.name), error: `${message(e)} ${AGAIN}` });
    }
  };

  // per rule: the first change goes out at once; what comes meanwhile waits for the next transfer.
  // What the last one could not do (files not sent, initial syncs owed) rides with the next change.
  const queues: Queue[] = rules.map((rule) => ({ rule, pending: new Set<string>(), rescan: new Set<string>(), retry: new Set<string>(), starting: new Set<string>(), owed: new Set<string>(), sent: new Map(), since: 0, busy: false }));
  const flush = async (q: Queue) => {
    const change = q.pending.size > 0 || q.rescan.size > 0;
    if (q.busy || (!change && !q.starting.size)) return;
    q.busy = true;
    const since = q.since;
    const batch = change ? [...q.pending, ...q.retry] : [];
    const rescan = [...q.rescan];
    const due = new Set([...q.starting, ...(change ? q.owed : [])]);
    q.pending.clear();
    q.rescan.clear();
    q.starting.clear();
    if (change) {
      q.retry.clear();
      q.owed.clear();
    }
    try {
      if (due.size) await initialSync(q, due.has('*') ? undefined : due);
      if (change) await act(q, batch, since, rescan);
    } finally {
      q.busy = false;
      if (q.pending.size || q.rescan.size || q.starting.size) void flush(q);
    }
  };
  const timers = new Set<NodeJS.Timeout>();
  const watchers = await Promise.all(
    queues.map(async (q) => {
      // links are not followed: a symlink is sent as one, and nothing is read through it
      const w = watch(q.rule.path, { ignoreInitial: true, ignored: (p: string) => p !== q.rule.path && !q.rule.matches(p) && !!statSafe(p), persistent: true, followSymlinks: false, ignorePermissionErrors: true });
      w.on('all', (event: string, p: string) => {
        if (!q.pending.size) q.since = Date.now();
        q.pending.add(resolve(p));
        // the same tick's events (a save that writes several files) go together
        if (!q.busy) setImmediate(() => void flush(q));
        // a new folder: looked at again once the watcher surely watches it
        if (event === 'addDir' && q.rule.rule.action !== 'rebuild' && q.rule.rule.action !== 'restart') {
          for (const ms of RESCAN_MS) {
            const t = setTimeout(() => {
              timers.delete(t);
              q.rescan.add(resolve(p));
              if (!q.busy) void flush(q);
            }, ms);
            timers.add(t);
          }
        }
      });
      // (without a listener, an error event would throw out of the watcher)
      w.on('error', (err: unknown) => o.onAction?.({ service: q.rule.service.name, action: q.rule.rule.action, files: 0, ms: 0, containers: [], error: `watching ${shown(q.rule.path)}: ${why(err)}` }));
      await new Promise<void>((r) => w.on('ready', () => r()));
      return w;
    }),
  );

  // initial_sync: now, and whenever a container of the service starts again
  const initial = queues.filter((q) => q.rule.rule.initial_sync && q.rule.target);
  let sub: Awaited<ReturnType<Engine['events']>> | undefined;
  let ended: Error | undefined;
  let failed: ((e: Error) => void) | undefined;
  let stopped = false;
  const fail = (err: Error) => {
    ended = err;
    failed?.(err);
  };
  const onStart = (e: EngineEvent) => {
    lastEvent = e.time ?? Math.floor(Date.now() / 1000);
    const service = e.Actor.Attributes[LABEL.service];
    owners.delete(e.Actor.ID);
    for (const q of initial) {
      if (q.rule.service.name !== service) continue;
      q.starting.add(e.Actor.ID);
      void flush(q);
    }
  };
  let lastEvent = Math.floor(Date.now() / 1000);
  const filters = { type: ['container'], event: ['start'], label: [`${LABEL.project}=${model.name}`, `${LABEL.oneoff}=False`] };
  /**
   * The engine's start events. A stream that ends without an error (the engine restarted, a proxy
   * closed the connection) is followed again from a second before its last event, and every
   * running container gets its initial sync again (one may have started while no one listened);
   * an engine that does not answer for `resubscribeMs` ends the watch with that error.
   */
  const subscribe = (since?: number): Promise<Awaited<ReturnType<Engine['events']>>> =>
    engine.events(filters, onStart, (err) => {
      if (stopped) return;
      if (err) return fail(err);
      void resubscribe();
    }, since === undefined ? undefined : { since });
  const resubscribe = async () => {
    const deadline = Date.now() + (o.resubscribeMs ?? RESUBSCRIBE_MS);
    for (let wait = 100; ; wait = Math.min(wait * 2, 2_000)) {
      try {
        const again = await subscribe(lastEvent - 1);
        if (stopped) return again.close();
        sub = again;
        for (const q of initial) {
          q.starting.add('*');
          void flush(q);
        }
        return;
      } catch (e) {
        if (stopped) return;
        if (Date.now() >= deadline) return fail(new DockyardError('ENGINE', `the engine's event stream ended and could not be followed again: ${message(e)}`, { hint: 'is the engine running? (docker info)' }));
        await new Promise((r) => setTimeout(r, wait));
      }
    }
  };
  try {
    // subscribed first: a container that starts during the first initial sync gets its own
    sub = initial.length ? await subscribe() : undefined;
    for (const q of initial) {
      q.starting.add('*');
      await flush(q);
    }
    o.onReady?.(rules.length);
    await new Promise<void>((res, rej) => {
      failed = rej;
      if (ended) return rej(ended);
      if (o.signal?.aborted) return res();
      o.signal?.addEventListener('abort', () => res(), { once: true });
    });
  } finally {
    stopped = true;
    sub?.close();
    for (const t of timers) clearTimeout(t);
    await Promise.all(watchers.map((w) => w.close()));
  }
}
