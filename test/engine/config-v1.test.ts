/**
 * An oracle that is not dockyard: docker-compose v1 (Debian's, installed by scripts/engine.sh)
 * resolves the same layered project (two files, .env, env_file, defaults, merges of environment,
 * labels, ports, volumes, command, depends_on) and both outputs are compared where their features
 * overlap, after a normalization written here by hand (v1 prints short and long syntax mixed).
 * test/compose-config's expected files are snapshots printed by dockyard; this is the check that
 * does not go through it.
 */
import { execFileSync } from 'node:child_process';
import jsyaml from 'js-yaml';
import { afterAll, describe, expect, it } from 'vitest';
import './setup.js';
import { cleanupTrees, cli, tree } from '../helpers/fs.js';

afterAll(cleanupTrees);

type Rec = Record<string, any>;

const BASE = `version: "3.8"
services:
  web:
    image: nginx:1.25
    command: ["nginx", "-g", "daemon off;"]
    environment:
      A: "1"
      B: \${B_VAL:-two}
    env_file: web.env
    ports:
      - "8080:80"
      - "127.0.0.1:9090:90/udp"
    volumes:
      - data:/var/lib/data
      - ./conf:/etc/conf:ro
    depends_on:
      - db
    labels:
      x.y: z
    networks: [front, back]
    healthcheck:
      test: ["CMD", "true"]
      interval: 30s
    restart: unless-stopped
  db:
    image: postgres:16
    networks: [back]
    stop_grace_period: 1m30s
volumes:
  data: {}
networks:
  front: {}
  back: {}
`;
const OVERRIDE = `services:
  web:
    environment:
      A: "override"
      D: \${D_VAL}
    ports:
      - "8443:443"
    volumes:
      - ./other:/etc/conf
    command: ["nginx", "-V"]
    labels:
      x.y: changed
      new: "1"
  worker:
    image: busybox
    depends_on:
      db:
        condition: service_healthy
    networks: [back]
`;

/** a port as (host ip, published, target, protocol), from either tool's form */
function port(p: string | Rec): string {
  if (typeof p === 'string') {
    const m = /^(?:(\d+\.\d+\.\d+\.\d+):)?(?:(\d+):)?(\d+)(?:\/(\w+))?$/.exec(p)!;
    return `${m[1] ?? ''}:${m[2] ?? ''}:${m[3]}/${m[4] ?? 'tcp'}`;
  }
  return `${p.host_ip ?? ''}:${p.published ?? ''}:${p.target}/${p.protocol ?? 'tcp'}`;
}

/** a volume as source:target:ro|rw, from either tool's form */
function volume(v: string | Rec): string {
  if (typeof v === 'string') {
    const [source, target, mode] = v.split(':');
    return `${source}:${target}:${mode === 'ro' ? 'ro' : 'rw'}`;
  }
  return `${v.source}:${v.target}:${v.read_only ? 'ro' : 'rw'}`;
}

/** what both tools resolve: per service, the fields compared */
function normalize(doc: Rec): Rec {
  const out: Rec = {};
  for (const [name, s] of Object.entries<Rec>(doc.services)) {
    out[name] = {
      image: s.image,
      command: s.command,
      environment: s.environment ?? {},
      labels: s.labels ?? {},
      depends_on: Object.fromEntries(Object.entries<Rec>(s.depends_on ?? {}).map(([k, v]) => [k, v.condition])),
      networks: Object.keys(s.networks ?? {}).sort(),
      ports: (s.ports ?? []).map(port).sort(),
      volumes: (s.volumes ?? []).map(volume).sort(),
      healthcheck: s.healthcheck ? { test: s.healthcheck.test, interval: s.healthcheck.interval } : undefined,
      restart: s.restart,
      stop_grace_period: s.stop_grace_period,
    };
  }
  return { services: out, networks: Object.keys(doc.networks ?? {}).sort(), volumes: Object.keys(doc.volumes ?? {}).sort() };
}

describe('config against docker-compose v1 (an oracle that is not dockyard)', () => {
  it('a layered project with .env, env_file and defaults: both tools resolve the same services', () => {
    const dir = tree({ 'docker-compose.yml': BASE, 'docker-compose.override.yml': OVERRIDE, 'web.env': 'C=3\n', '.env': 'D_VAL=from-dotenv\n' });
    const env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/root' };
    const v1 = jsyaml.load(execFileSync('docker-compose', ['-p', 'oracle', 'config'], { cwd: dir, env, encoding: 'utf8' })) as Rec;
    const r = cli(['-p', 'oracle', 'config', '--format', 'json'], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    const ours = normalize(JSON.parse(r.stdout) as Rec);
    expect(ours).toEqual(normalize(v1));
    // and what both must say, written by hand: the override's values win, the lists merge
    expect(ours.services.web.environment).toEqual({ A: 'override', B: 'two', C: '3', D: 'from-dotenv' });
    expect(ours.services.web.volumes).toEqual([`${dir}/other:/etc/conf:rw`, 'data:/var/lib/data:rw']);
    expect(ours.services.worker.depends_on).toEqual({ db: 'service_healthy' });
  });

  it('a variable from the shell overrides .env in both', () => {
    const dir = tree({ 'docker-compose.yml': BASE, 'docker-compose.override.yml': OVERRIDE, 'web.env': 'C=3\n', '.env': 'D_VAL=from-dotenv\n' });
    const env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/root', D_VAL: 'from-shell', B_VAL: 'bee' };
    const v1 = jsyaml.load(execFileSync('docker-compose', ['-p', 'oracle', 'config'], { cwd: dir, env, encoding: 'utf8' })) as Rec;
    const r = cli(['-p', 'oracle', 'config', '--format', 'json'], { cwd: dir, env: { D_VAL: 'from-shell', B_VAL: 'bee' } });
    expect(r.code, r.stderr).toBe(0);
    expect(normalize(JSON.parse(r.stdout) as Rec)).toEqual(normalize(v1));
    expect(normalize(v1).services.web.environment).toMatchObject({ B: 'bee', D: 'from-shell' });
  });
});
