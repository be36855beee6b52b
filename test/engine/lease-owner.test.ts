/**
 * Whose a lease is, and when it counts as orphaned: the owner is a process identified by host,
 * boot, pid namespace, pid and start time, so a reused pid never keeps a dead owner's lease alive;
 * `env ls` says whose a lease is and whether its owner lives; leases acquired from the CLI have no
 * owner process (they live until their expiry) unless `--owner-pid` names one.
 *
 * Most leases here are made with the docker CLI (a marker volume and a container with the labels
 * dockyard writes), so the owner's identity can be forged; outcomes are observed with the docker CLI.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, readlinkSync } from 'node:fs';
import { hostname } from 'node:os';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import './setup.js';
import { BASE, docker } from '../helpers/engine.js';
import { cleanupTrees, cli, tree } from '../helpers/fs.js';

const L = {
  name: 'dev.dockyard.lease',
  owner: 'dev.dockyard.lease.owner',
  expires: 'dev.dockyard.lease.expires',
  created: 'dev.dockyard.lease.created',
  boot: 'dev.dockyard.lease.owner.boot',
  pidns: 'dev.dockyard.lease.owner.pidns',
  start: 'dev.dockyard.lease.owner.start',
  command: 'dev.dockyard.lease.owner.command',
  user: 'dev.dockyard.lease.owner.user',
};
const PROJECT = 'com.docker.compose.project';

/** Field 22 of /proc/<pid>/stat: the process's start time in clock ticks since boot. */
const startTicks = (pid: number | 'self') => {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]!;
};
const BOOT = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
const PIDNS = readlinkSync('/proc/self/ns/pid');
const HOST = hostname();

const made = new Set<string>();
/** Everything of a lease, removed with the docker CLI (whatever dockyard did or did not do). */
function removeLease(name: string): void {
  const label = `label=${PROJECT}=${name}`;
  const ids = docker('ps', '-aq', '--filter', label).split('\n').filter(Boolean);
  if (ids.length) docker('rm', '-f', '-v', ...ids);
  const nets = docker('network', 'ls', '-q', '--filter', label).split('\n').filter(Boolean);
  if (nets.length) docker('network', 'rm', ...nets);
  const vols = docker('volume', 'ls', '-q', '--filter', label).split('\n').filter(Boolean);
  if (vols.length) docker('volume', 'rm', '-f', ...vols);
}
const children: Array<{ kill(sig?: NodeJS.Signals): unknown }> = [];
afterEach(() => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
  for (const n of [...made]) {
    removeLease(n);
    made.delete(n);
  }
});
afterAll(() => cleanupTrees());

/** A lease as dockyard writes one: a marker volume with these owner labels, and a container. */
function fakeLease(owner: Record<string, string>, ttlMs = 3_600_000): string {
  const name = `dyt-lease-${randomBytes(4).toString('hex')}`;
  made.add(name);
  const expires = new Date(Date.now() + ttlMs);
  const labels = { [L.name]: name, [L.expires]: expires.toISOString(), [L.created]: new Date().toISOString(), [PROJECT]: name, ...owner };
  const flags = Object.entries(labels).flatMap(([k, v]) => ['--label', `${k}=${v}`]);
  docker('volume', 'create', ...flags, `dockyard-lease-${name}-${expires.getTime()}`);
  docker('run', '-d', '--name', `${name}-db-1`, '--label', `${L.name}=${name}`, '--label', `${PROJECT}=${name}`, '--label', `${L.owner}=${owner[L.owner]}`, BASE, 'sleep', '600');
  return name;
}
const present = (name: string) => ({
  containers: docker('ps', '-aq', '--filter', `label=${PROJECT}=${name}`) !== '',
  markers: docker('volume', 'ls', '-q', '--filter', `label=${L.name}=${name}`) !== '',
});
const KEPT = { containers: true, markers: true };
const GONE = { containers: false, markers: false };

/** A process that starts and ends: its pid and start time, recorded while it lived. */
async function deadProcess(): Promise<{ pid: number; start: string }> {
  const child = spawn('sleep', ['600'], { stdio: 'ignore' });
  await new Promise((r) => child.on('spawn', r));
  const rec = { pid: child.pid!, start: startTicks(child.pid!) };
  child.kill('SIGKILL');
  await new Promise((r) => child.on('exit', r));
  return rec;
}

interface Listed {
  name: string;
  owner: string;
  holder: { host: string; pid: number | null; user?: string; command?: string };
  ownerAlive: boolean | null;
  ownerState: string;
  orphaned: boolean;
}
const envLs = (): Listed[] => {
  const r = cli(['env', 'ls', '--format', 'json']);
  expect(r.stderr).toBe('');
  return JSON.parse(r.stdout) as Listed[];
};
const gc = () => {
  const r = cli(['env', 'gc']);
  expect(r.code, r.stderr).toBe(0);
  return r.stderr;
};

describe('lease owners', () => {
  it('a pid reused by another process does not keep a dead owner\'s lease: gc reclaims it; the same pid with its own start time is kept', async () => {
    const dead = await deadProcess();
    // the dead owner's pid now names a live process (this one) that started at another time
    const reused = fakeLease({ [L.owner]: `${HOST}:${process.pid}`, [L.boot]: BOOT, [L.pidns]: PIDNS, [L.start]: dead.start });
    const own = fakeLease({ [L.owner]: `${HOST}:${process.pid}`, [L.boot]: BOOT, [L.pidns]: PIDNS, [L.start]: startTicks('self') });
    const ls = envLs();
    expect(ls.find((l) => l.name === reused)).toMatchObject({ orphaned: true, holder: { host: HOST, pid: process.pid }, ownerAlive: false, ownerState: 'gone' });
    expect(ls.find((l) => l.name === own)).toMatchObject({ orphaned: false, holder: { host: HOST, pid: process.pid }, ownerAlive: true, ownerState: 'alive' });
    expect(gc()).toContain(reused);
    expect(present(reused)).toEqual(GONE);
    expect(present(own)).toEqual(KEPT);
  });

  it('a lease from an earlier boot of this host is reclaimed; one from another host or pid namespace, or with no owner process, lives until its expiry', () => {
    const earlierBoot = fakeLease({ [L.owner]: `${HOST}:${process.pid}`, [L.boot]: '00000000-0000-0000-0000-000000000000', [L.pidns]: PIDNS, [L.start]: startTicks('self') });
    // pids of another host or pid namespace say nothing here, even one that does not exist here
    const otherHost = fakeLease({ [L.owner]: `elsewhere-${randomBytes(3).toString('hex')}:999999999`, [L.boot]: BOOT, [L.pidns]: PIDNS, [L.start]: '1' });
    const otherNs = fakeLease({ [L.owner]: `${HOST}:999999999`, [L.boot]: BOOT, [L.pidns]: 'pid:[1]', [L.start]: '1' });
    const noOwner = fakeLease({ [L.owner]: `${HOST}:-`, [L.user]: 'someone', [L.command]: 'dockyard env acquire' });
    const ls = envLs();
    expect(ls.find((l) => l.name === earlierBoot)).toMatchObject({ orphaned: true, ownerAlive: false, ownerState: 'gone' });
    expect(ls.find((l) => l.name === otherHost)).toMatchObject({ orphaned: false, holder: { pid: 999999999 }, ownerAlive: null, ownerState: 'unknown' });
    expect(ls.find((l) => l.name === otherNs)).toMatchObject({ orphaned: false, ownerAlive: null, ownerState: 'unknown' });
    expect(ls.find((l) => l.name === noOwner)).toMatchObject({ orphaned: false, holder: { host: HOST, pid: null, user: 'someone', command: 'dockyard env acquire' }, ownerAlive: null, ownerState: 'none' });
    gc();
    expect(present(earlierBoot)).toEqual(GONE);
    expect(present(otherHost)).toEqual(KEPT);
    expect(present(otherNs)).toEqual(KEPT);
    expect(present(noOwner)).toEqual(KEPT);
  });

  it('old markers (host:pid) are still read: a live pid keeps its lease, a gone one does not', async () => {
    const dead = await deadProcess();
    const alive = fakeLease({ [L.owner]: `${HOST}:${process.pid}` });
    const gone = fakeLease({ [L.owner]: `${HOST}:${dead.pid}` });
    const ls = envLs();
    expect(ls.find((l) => l.name === alive)).toMatchObject({ orphaned: false, holder: { host: HOST, pid: process.pid }, ownerAlive: true });
    expect(ls.find((l) => l.name === gone)).toMatchObject({ orphaned: true, holder: { host: HOST, pid: dead.pid }, ownerAlive: false });
    gc();
    expect(present(alive)).toEqual(KEPT);
    expect(present(gone)).toEqual(GONE);
  });

  it('env ls says whose a lease is (host, pid, user, command) and that its owner is alive; renew keeps the owner; gc keeps the lease until the owner is killed', async () => {
    const dir = tree({ 'compose.yaml': 'services:\n  db:\n    image: ${DOCKYARD_BASE_IMAGE}\n    init: true\n    command: ["sleep", "600"]\n' });
    const script = `
      const { acquireEnvironment } = await import('dockyard');
      const l = await acquireEnvironment({ workingDir: ${JSON.stringify(dir)} });
      console.log(l.name);
      setInterval(() => {}, 1000);`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { cwd: process.cwd(), env: { ...process.env, DOCKYARD_BASE_IMAGE: BASE }, stdio: ['ignore', 'pipe', 'inherit'] });
    children.push(child);
    const name = await new Promise<string>((resolve, reject) => {
      child.stdout.on('data', (b: Buffer) => resolve(b.toString().trim()));
      child.on('exit', (c) => reject(new Error(`the lease holder exited (${c}) before acquiring`)));
    });
    made.add(name);
    // the marker, seen from outside, names the owner process by its start time
    const marker = docker('volume', 'ls', '-q', '--filter', `label=${L.name}=${name}`);
    const labels = JSON.parse(docker('volume', 'inspect', '--format', '{{json .Labels}}', marker)) as Record<string, string>;
    expect(labels).toMatchObject({ [L.owner]: `${HOST}:${child.pid}`, [L.start]: startTicks(child.pid!), [L.boot]: BOOT, [L.pidns]: PIDNS });
    const mine = envLs().find((l) => l.name === name)!;
    expect(mine).toMatchObject({ orphaned: false, holder: { host: HOST, pid: child.pid }, ownerAlive: true, ownerState: 'alive' });
    expect(mine.holder.command).toMatch(/^\S*node --input-type=module -e /);
    expect(mine.holder.user).toBeTruthy();
    const row = cli(['env', 'ls']).stdout.split('\n').find((l) => l.startsWith(name))!;
    expect(row).toContain(`${mine.holder.user}@${HOST}`);
    expect(row).toMatch(new RegExp(`\\b${child.pid}\\b`));
    expect(row).toMatch(/\balive\b/);
    // renewing (from another process) keeps whose it is
    expect(cli(['env', 'renew', name, '--ttl', '20m']).code).toBe(0);
    const renewed = docker('volume', 'ls', '-q', '--filter', `label=${L.name}=${name}`);
    expect(renewed).not.toBe(marker);
    expect(JSON.parse(docker('volume', 'inspect', '--format', '{{json .Labels}}', renewed))).toMatchObject({ [L.owner]: labels[L.owner], [L.start]: labels[L.start], [L.command]: labels[L.command], [L.user]: labels[L.user] });
    gc();
    expect(present(name)).toEqual(KEPT);
    child.kill('SIGKILL');
    await new Promise((r) => (child.exitCode !== null || child.signalCode !== null ? r(null) : child.on('exit', r)));
    expect(cli(['env', 'ls']).stdout.split('\n').find((l) => l.startsWith(name))).toMatch(/owner gone/);
    expect(gc()).toContain(name);
    expect(present(name)).toEqual(GONE);
  }, 120_000);

  it('env acquire from the CLI: no owner process unless --owner-pid names one (env ls says so); with one, the lease ends with it', async () => {
    const dir = tree({ 'compose.yaml': 'services:\n  db:\n    image: ${DOCKYARD_BASE_IMAGE}\n    init: true\n    command: ["sleep", "600"]\n' });
    const env = { DOCKYARD_BASE_IMAGE: BASE };
    const acquire = (...args: string[]) => {
      const r = cli(['env', 'acquire', '--format', 'json', '--ttl', '10m', ...args], { cwd: dir, env, timeoutMs: 60_000 });
      expect(r.code, r.stderr).toBe(0);
      const name = (JSON.parse(r.stdout) as { name: string }).name;
      made.add(name);
      return name;
    };
    // no owner: it lives until its expiry or release, and says so
    const free = acquire();
    const listed = envLs().find((l) => l.name === free)!;
    expect(listed).toMatchObject({ orphaned: false, holder: { host: HOST, pid: null }, ownerAlive: null, ownerState: 'none' });
    expect(listed.holder.command).toMatch(/env acquire/);
    expect(cli(['env', 'ls']).stdout.split('\n').find((l) => l.startsWith(free))).toMatch(/until expiry/);
    gc();
    expect(present(free)).toEqual(KEPT);

    // --owner-pid: the lease is that process's
    const holder = spawn('sleep', ['600'], { stdio: 'ignore' });
    children.push(holder);
    await new Promise((r) => holder.on('spawn', r));
    const held = acquire('--owner-pid', String(holder.pid));
    expect(envLs().find((l) => l.name === held)).toMatchObject({ orphaned: false, holder: { pid: holder.pid, command: 'sleep 600' }, ownerAlive: true, ownerState: 'alive' });
    gc();
    expect(present(held)).toEqual(KEPT);
    holder.kill('SIGKILL');
    await new Promise((r) => (holder.exitCode !== null || holder.signalCode !== null ? r(null) : holder.on('exit', r)));
    expect(gc()).toContain(held);
    expect(present(held)).toEqual(GONE);
    expect(present(free)).toEqual(KEPT);

    // a pid that names no process is refused before anything is created
    const bad = cli(['env', 'acquire', '--owner-pid', '999999999'], { cwd: dir, env });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/999999999/);
    // only the first lease of this directory remains
    expect(docker('volume', 'ls', '-q', '--filter', `label=dev.dockyard.lease.working_dir=${dir}`).split('\n').filter(Boolean)).toHaveLength(1);
    expect(docker('ps', '-aq', '--filter', `label=com.docker.compose.project.working_dir=${dir}`).split('\n').filter(Boolean)).toHaveLength(1);
  }, 120_000);
});
