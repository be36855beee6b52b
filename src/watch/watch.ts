/**
 * Live development (`watch`, `up --watch`): file events from chokidar, per `develop.watch` rule,
 * turned into actions on the service's containers — sync (a tar stream through the Engine API),
 * rebuild (through the build graph, then only that service recreated), restart, sync+restart,
 * sync+exec. The first change of a burst goes out at once; what changes while a transfer is under
 * way goes in the next one. Containers are looked up at every action, so watch survives their
 * recreation, restart or scaling; with `initial_sync`, every (re)start of a container gets the
 * rule's files again.
 */
import { createReadStream, existsSync, lstatSync, readFileSync, readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { isAbsolute, join, posix, relative, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import dockerignore from '@balena/dockerignore';
import { pack } from 'tar-stream';
import type { ProjectHandle } from '../api/project.js';
import { slashRelative } from '../build/context.js';
import type { Engine } from '../engine/engine.js';
import { DockyardError } from '../errors.js';
import { LABEL } from '../model/names.js';
import type { Service, WatchRule } from '../model/project.js';
import { projectContainers } from '../converge/state.js';

export interface WatchAction {
  service: string;
  action: WatchRule['action'] | 'initial sync';
  /** files sent (or removed) */
  files: number;
  /** from the first file event of the batch to done */
  ms: number;
  containers: string[];
  error?: string;
}

export interface WatchOptions {
  services?: string[];
  signal?: AbortSignal;
  onAction?: (a: WatchAction) => void;
  /** told once every watcher is ready */
  onReady?: (rules: number) => void;
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

/** What a file was when it was sent: a rescan sends only files not sent as they are now. */
function signature(abs: string, st = statSafe(abs)): string | undefined {
  return st && `${st.mtimeMs}:${st.size}:${st.ino}`;
}

interface Queue {
  rule: Rule;
  /** paths with events since the last transfer */
  pending: Set<string>;
  /** new folders to walk again */
  rescan: Set<string>;
  /** file -> its signature when last sent */
  sent: Map<string, string | undefined>;
  since: number;
  busy: boolean;
}

/** Every file under `abs` (itself if a file) that the rule lets through. */
function walk(abs: string, rule: Rule, out: string[] = []): string[] {
  const st = statSafe(abs);
  if (!st || !rule.matches(abs)) return out;
  out.push(abs);
  if (st.isDirectory()) for (const c of readdirSync(abs)) walk(join(abs, c), rule, out);
  return out;
}

/** The files as one tar stream, placed under the rule's target, owned by uid:gid. */
function tarOf(files: string[], rule: Rule, owner: { uid: number; gid: number }): Readable {
  const p = pack();
  (async () => {
    const st0 = statSafe(rule.path);
    for (const abs of files) {
      const st = statSafe(abs);
      if (!st) continue;
      // a rule on a single file maps it to the target itself
      const rel = st0?.isFile() ? '' : slashRelative(rule.path, abs);
      const name = posix.join(rule.target!, rel).replace(/^\//, '');
      const header = { name, mode: st.mode & 0o7777, mtime: st.mtime, uid: owner.uid, gid: owner.gid };
      if (st.isDirectory()) p.entry({ ...header, type: 'directory' });
      else if (st.isSymbolicLink()) p.entry({ ...header, type: 'symlink', linkname: '' });
      else if (st.isFile()) {
        // a file being written meanwhile: its entry must have the size of what is read. Small
        // files are read whole first; large ones stream, up to the size seen (a file that
        // shrank meanwhile fails this transfer; its next event sends it again)
        if (st.size <= STREAM_ABOVE) {
          const data = await readFile(abs).catch(() => undefined);
          if (data) p.entry({ ...header, size: data.length }, data);
        } else {
          await new Promise<void>((res, rej) => {
            const entry = p.entry({ ...header, size: st.size }, (err) => (err ? rej(err) : res()));
            createReadStream(abs, { end: st.size - 1 }).on('error', rej).pipe(entry);
          });
        }
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
    const { PassThrough } = await import('node:stream');
    const out = new PassThrough();
    out.on('data', (c: Buffer) => chunks.push(c));
    await engine.exec(id, { cmd: ['id', ...args], stdout: out, stderr: new PassThrough() });
    return Number(Buffer.concat(chunks).toString().trim()) || 0;
  };
  return { uid: await ask(['-u', u!]), gid: g ? (/^\d+$/.test(g) ? Number(g) : await ask(['-g', u!])) : await ask(['-g', u!]) };
}

export async function watchProject(handle: ProjectHandle, o: WatchOptions = {}): Promise<void> {
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
  const owner = (id: string) => owners.get(id) ?? owners.set(id, ownerOf(engine, id)).get(id)!;
  const running = async (service: string) => (await projectContainers(engine, model.name, { oneoff: false, services: [service] })).filter((c) => c.state === 'running');

  /** Sends files (and removes the deleted ones) to one container. */
  const syncTo = async (id: string, rule: Rule, files: string[], deleted: string[]) => {
    if (files.length) await engine.putArchive(id, '/', tarOf(files, rule, await owner(id)));
    if (deleted.length) {
      const st0 = statSafe(rule.path);
      const paths = deleted.map((abs) => (st0?.isFile() || abs === rule.path ? rule.target! : posix.join(rule.target!, slashRelative(rule.path, abs))));
      const { PassThrough } = await import('node:stream');
      await engine.exec(id, { cmd: ['rm', '-rf', '--', ...paths], stdout: new PassThrough(), stderr: new PassThrough() });
    }
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
    const present: string[] = [];
    const deleted: string[] = [];
    for (const abs of new Set(changed)) {
      if (statSafe(abs)) walk(abs, rule, present);
      else if (rule.matches(abs)) deleted.push(abs);
    }
    const asSent = new Set(present);
    for (const dir of rescan) {
      for (const f of walk(dir, rule)) {
        if (asSent.has(f)) continue;
        const st = statSafe(f);
        if (st?.isDirectory() || q.sent.get(f) !== signature(f, st)) present.push(f);
      }
    }
    const files = [...new Set(present)];
    const count = files.filter((f) => !statSafe(f)?.isDirectory()).length + deleted.length;
    if (!count && a !== 'rebuild' && a !== 'restart') return;
    let names: string[] = [];
    try {
      if (a === 'rebuild') {
        await handle.build([s.name]);
        await handle.up({ services: [s.name], noDeps: true });
        names = (await running(s.name)).map((c) => c.name);
      } else if (a === 'restart') {
        await handle.restart([s.name]);
        names = (await running(s.name)).map((c) => c.name);
      } else {
        const cs = await running(s.name);
        names = cs.map((c) => c.name);
        await Promise.all(cs.map((c) => syncTo(c.id, rule, files, deleted)));
        for (const f of files) q.sent.set(f, signature(f));
        for (const f of deleted) q.sent.delete(f);
        if (a === 'sync+restart') await handle.restart([s.name]);
        if (a === 'sync+exec') {
          const x = rule.rule.exec!;
          await Promise.all(cs.map((c) => handle.exec(s.name, x.command!, { index: c.number, user: x.user, workdir: x.working_dir, env: Object.fromEntries(Object.entries(x.environment ?? {}).filter((e): e is [string, string] => e[1] !== null)) })));
        }
      }
      o.onAction?.({ service: s.name, action: a, files: count, ms: Date.now() - since, containers: names });
    } catch (e) {
      o.onAction?.({ service: s.name, action: a, files: count, ms: Date.now() - since, containers: names, error: e instanceof Error ? e.message : String(e) });
    }
  };

  // per rule: the first change goes out at once; what comes meanwhile waits for the next transfer
  const queues: Queue[] = rules.map((rule) => ({ rule, pending: new Set<string>(), rescan: new Set<string>(), sent: new Map(), since: 0, busy: false }));
  const flush = async (q: Queue) => {
    if (q.busy || (!q.pending.size && !q.rescan.size)) return;
    q.busy = true;
    const batch = [...q.pending];
    const rescan = [...q.rescan];
    const since = q.since;
    q.pending.clear();
    q.rescan.clear();
    try {
      await act(q, batch, since, rescan);
    } finally {
      q.busy = false;
      if (q.pending.size || q.rescan.size) void flush(q);
    }
  };
  const timers = new Set<NodeJS.Timeout>();
  const watchers = await Promise.all(
    queues.map(async (q) => {
      const w = watch(q.rule.path, { ignoreInitial: true, ignored: (p: string) => p !== q.rule.path && !q.rule.matches(p) && !!statSafe(p), persistent: true });
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
      await new Promise<void>((r) => w.on('ready', () => r()));
      return w;
    }),
  );

  // initial_sync: now, and whenever a container of the service starts again
  const initial = queues.filter((q) => q.rule.rule.initial_sync && q.rule.target);
  const sendAll = async (q: Queue, only?: string) => {
    const t0 = Date.now();
    const files = walk(q.rule.path, q.rule);
    const cs = (await running(q.rule.service.name)).filter((c) => !only || c.id === only);
    await Promise.all(cs.map((c) => syncTo(c.id, q.rule, files, [])));
    for (const f of files) q.sent.set(f, signature(f));
    if (cs.length) o.onAction?.({ service: q.rule.service.name, action: 'initial sync', files: files.filter((f) => !statSafe(f)?.isDirectory()).length, ms: Date.now() - t0, containers: cs.map((c) => c.name) });
  };
  for (const q of initial) await sendAll(q);
  const sub = initial.length
    ? await engine.events({ type: ['container'], event: ['start'], label: [`${LABEL.project}=${model.name}`, `${LABEL.oneoff}=False`] }, (e) => {
        const service = e.Actor.Attributes[LABEL.service];
        owners.delete(e.Actor.ID);
        for (const q of initial) if (q.rule.service.name === service) void sendAll(q, e.Actor.ID).catch(() => undefined);
      }, (err) => err && failed?.(err))
    : undefined;
  let failed: ((e: Error) => void) | undefined;
  o.onReady?.(rules.length);
  try {
    await new Promise<void>((res, rej) => {
      failed = rej;
      if (o.signal?.aborted) return res();
      o.signal?.addEventListener('abort', () => res(), { once: true });
    });
  } finally {
    sub?.close();
    for (const t of timers) clearTimeout(t);
    await Promise.all(watchers.map((w) => w.close()));
  }
}
