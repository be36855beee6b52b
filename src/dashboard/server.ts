/**
 * `serveDashboard(handle)`: a live page of a project, served on Node's own http. The page is one
 * static HTML file (./page.ts, no build step); it gets a snapshot and then every change as
 * server-sent events, and asks for actions (restart, stop, start, rebuild, run) by POST. Every
 * request must carry the per-run token the printed URL holds (a query parameter, or the
 * `x-dockyard-token` header): no other local page or process can read the project's output or drive
 * it. Bound to 127.0.0.1 unless told, where the Host header must name the loopback (no DNS rebinding).
 */
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { ProjectHandle } from '../api/project.js';
import type { ProgressEvent, Timeline } from '../converge/events.js';
import type { WatchAction } from '../watch/watch.js';
import { DockyardError } from '../errors.js';
import { PAGE } from './page.js';
import { ProjectView } from './view.js';
import type { DashboardMessage, ViewOptions } from './view.js';

export type { ActivityView, ContainerView, DashboardMessage, LeaseView, LogView, PlanView, ServiceView, Snapshot, TimelineSource } from './view.js';

export interface DashboardOptions extends ViewOptions {
  /** 0 or unset: a free port */
  port?: number;
  /** where to listen (default 127.0.0.1) */
  host?: string;
  /** the token actions need (default: 24 random bytes, base64url) */
  token?: string;
  /** the startup timeline to show (up's result); setTimeline() sets it later */
  timeline?: Timeline;
  /** bytes a page may fall behind before its log lines are skipped (default 4 MiB) */
  maxBacklog?: number;
}

export type DashboardAction = 'restart' | 'stop' | 'start' | 'rebuild' | 'run';
const ACTIONS: readonly DashboardAction[] = ['restart', 'stop', 'start', 'rebuild', 'run'];

export interface Dashboard {
  /** the page's address, token included */
  url: string;
  host: string;
  port: number;
  token: string;
  /** pages connected now */
  readonly clients: number;
  /** the view (containers, logs, activity) the pages show */
  readonly view: ProjectView;
  /** an activity of the caller's (an up, a build): its progress events go to the pages */
  activity(title: string, kind?: 'up' | 'build' | 'action'): { progress(e: ProgressEvent): void; end(error?: unknown): void };
  setTimeline(t: Timeline): void;
  watchAction(a: WatchAction): void;
  close(): Promise<void>;
}

interface Client {
  res: ServerResponse;
  dropped: number;
}

/** Serves the live page of a project; resolves once it listens. */
export async function serveDashboard(handle: ProjectHandle, o: DashboardOptions = {}): Promise<Dashboard> {
  const token = o.token ?? randomBytes(24).toString('base64url');
  const view = new ProjectView(handle, o);
  await view.start();
  if (o.timeline) view.setTimeline(o.timeline);
  const clients = new Set<Client>();
  const maxBacklog = o.maxBacklog ?? 4 * 1024 * 1024;
  const host = o.host ?? '127.0.0.1';

  // each message is serialized once, whatever the number of pages
  view.on((m) => {
    if (!clients.size) return;
    const text = frame(m);
    for (const c of clients) sendTo(c, m, text, maxBacklog);
  });
  const keepAlive = setInterval(() => {
    for (const c of clients) c.res.write(': keep-alive\n\n');
  }, 15_000);
  keepAlive.unref();

  const server = createServer((req, res) => {
    handleRequest(req, res).catch((e: unknown) => {
      if (!res.headersSent) reply(res, 500, { error: e instanceof Error ? e.message : String(e) });
      else res.end();
    });
  });
  let port = 0;

  async function handleRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (!hostAllowed(req.headers.host, host, port)) return reply(res, 403, { error: 'this dashboard answers to its own address only' });
    const given = url.searchParams.get('token') ?? header(req, 'x-dockyard-token');
    if (!given || !same(given, token)) {
      return reply(res, 403, { error: 'refused: the token is missing or wrong', hint: 'open the URL dockyard printed: it carries the token' });
    }
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('X-Content-Type-Options', 'nosniff');
    if (req.method === 'GET' && url.pathname === '/') {
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Content-Security-Policy': "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'", 'Referrer-Policy': 'no-referrer' });
      // the page comes with a snapshot, so that its first paint needs no second request
      const snap = JSON.stringify(view.snapshot()).replace(/</g, '\\u003c');
      res.end(PAGE.replace('<!--snapshot-->', () => `<script type="application/json" id="snapshot">${snap}</script>`));
      return;
    }
    if (req.method === 'GET' && url.pathname === '/events') return openStream(req, res);
    if (req.method === 'GET' && url.pathname === '/api/state') return reply(res, 200, view.snapshot());
    if (req.method === 'POST' && url.pathname === '/api/actions') {
      // a page of another origin cannot send the header, but a form could carry the token: refuse it
      const origin = header(req, 'origin');
      if (origin && new URL(origin).host !== req.headers.host) return reply(res, 403, { error: 'refused: another origin' });
      const body = await readJson(req);
      const action = body.action as DashboardAction;
      const service = String(body.service ?? '');
      if (!ACTIONS.includes(action)) return reply(res, 400, { error: `unknown action "${String(body.action)}"`, hint: ACTIONS.join(', ') });
      if (!handle.model.services[service]) return reply(res, 400, { error: `no such service: ${service}` });
      const id = runAction(action, service);
      return reply(res, 202, { id });
    }
    reply(res, 404, { error: 'not found' });
  }

  function openStream(req: IncomingMessage, res: ServerResponse): void {
    req.socket.setNoDelay(true);
    res.writeHead(200, { 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-store', Connection: 'keep-alive', 'X-Accel-Buffering': 'no' });
    const c: Client = { res, dropped: 0 };
    res.write(`retry: 1000\nevent: snapshot\ndata: ${JSON.stringify(view.snapshot())}\n\n`);
    clients.add(c);
    const gone = () => clients.delete(c);
    req.on('close', gone);
    res.on('error', gone);
  }

  /** Carries out an action; its progress and result are an activity every page shows. */
  function runAction(action: DashboardAction, service: string): number {
    const a = view.begin('action', `${action} ${service}`, service);
    const onEvent = (e: ProgressEvent) => a.progress(e);
    const done: Promise<unknown> =
      action === 'restart' ? handle.restart([service], { onEvent })
      : action === 'stop' ? handle.stop([service], { onEvent })
      : action === 'start' ? handle.start([service], { onEvent })
      : action === 'rebuild' ? handle.up({ services: [service], build: true, forceRecreate: true, noDeps: true, onEvent })
      : handle.run(service, undefined, { rm: true, onEvent }).then((r) => {
          for (const l of `${r.stdout}${r.stderr}`.split('\n').filter(Boolean).slice(-20)) a.note(l);
          if (r.exitCode !== 0) throw new Error(`${r.container} exited with code ${r.exitCode}`);
        });
    done.then(() => a.end(), (e: unknown) => a.end(e ?? 'failed'));
    return a.id;
  }

  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(o.port ?? 0, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (e) {
    // nothing of it stays open (its engine subscription would keep the process alive)
    clearInterval(keepAlive);
    view.close();
    throw listenError(e, host, o.port ?? 0);
  }
  port = (server.address() as AddressInfo).port;
  const shown = host.includes(':') ? `[${host}]` : host === '0.0.0.0' ? '127.0.0.1' : host;
  return {
    url: `http://${shown}:${port}/?token=${token}`,
    host,
    port,
    token,
    view,
    get clients() {
      return clients.size;
    },
    activity: (title, kind = 'up') => view.begin(kind, title),
    setTimeline: (t) => view.setTimeline(t),
    watchAction: (w) => view.watchAction(w),
    close: async () => {
      clearInterval(keepAlive);
      view.close();
      for (const c of clients) c.res.end();
      clients.clear();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

const frame = (m: DashboardMessage) => `event: ${m.type}\ndata: ${JSON.stringify(m)}\n\n`;

/** One message to one page; a page that falls behind loses log lines (it is told how many), never state. */
function sendTo(c: Client, m: DashboardMessage, text: string, maxBacklog: number): void {
  if (m.type === 'logs' && c.res.writableLength > maxBacklog) {
    c.dropped += m.lines.length;
    return;
  }
  if (m.type === 'logs' && c.dropped) {
    text = frame({ ...m, dropped: c.dropped });
    c.dropped = 0;
  }
  c.res.write(text);
}

/** Why the page could not listen, said for the user (a bad address or port is bad input). */
function listenError(e: unknown, host: string, port: number): DockyardError {
  const code = (e as NodeJS.ErrnoException).code;
  const where = `${host.includes(':') ? `[${host}]` : host}${port ? `:${port}` : ''}`;
  const why =
    code === 'EADDRINUSE' ? `port ${port} is in use`
    : code === 'EACCES' ? `port ${port} needs privileges this process has not`
    : code === 'EADDRNOTAVAIL' ? `${host} is not an address of this machine`
    : code === 'ENOTFOUND' || code === 'EAI_AGAIN' ? `${host} is not a known host name`
    : e instanceof Error ? e.message : String(e);
  const hint = code === 'EADDRINUSE' || code === 'EACCES' ? 'choose another port, or none for a free one' : 'listen on 127.0.0.1 (the default), 0.0.0.0, or an address of this machine';
  return new DockyardError('INVALID_VALUE', `the dashboard cannot listen on ${where}: ${why}`, { hint, cause: e });
}

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** On a loopback address, only the loopback names are accepted as Host (a rebound DNS name is not). */
function hostAllowed(hostHeader: string | undefined, bound: string, port: number): boolean {
  if (!['127.0.0.1', 'localhost', '::1'].includes(bound)) return true;
  if (!hostHeader) return false;
  return [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`].includes(hostHeader.toLowerCase());
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store' });
  res.end(JSON.stringify(body));
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req as AsyncIterable<Buffer>) {
    size += c.length;
    if (size > 64 * 1024) throw new Error('request too large');
    chunks.push(c);
  }
  try {
    const v: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
    return v && typeof v === 'object' ? (v as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}
