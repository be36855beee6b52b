/** Issue 24: hostile or unusual input never writes outside where asked, never hangs, never hides an error. */
import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pack } from 'tar-stream';
import { afterEach, describe, expect, it } from 'vitest';
import './setup.js';
import { unpackTo } from '../../src/converge/copy.js';
import { CLI, dockerEnv } from '../helpers/fs.js';
import { DockerEngine } from '../../src/engine/docker.js';
import { EventHub } from '../../src/converge/waits.js';
import { BASE, docker, useProjects } from '../helpers/engine.js';

const project = useProjects(afterEach);

const IMG = '${DOCKYARD_BASE_IMAGE}';

/** A host folder the tests watch: nothing may ever appear in it. */
function outside(): string {
  const d = mkdtempSync(join(tmpdir(), 'dockyard-outside-'));
  afterEach(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

describe('cp: nothing written outside the destination, whatever the archive holds', () => {
  it('a link left on the host by one cp is never written through by the next (real container, two steps)', () => {
    const host = outside();
    // /data/x is a link to the host folder; /later/data/x is a real folder with a file in it:
    // copying /data then /later/data onto the same destination puts x/f through the link with a text-only check
    const p = project({
      'compose.yaml': `services:\n  app:\n    image: ${IMG}\n    init: true\n    command: ["sh", "-c", "mkdir -p /data /later/data/x && ln -s ${host} /data/x && echo pwned > /later/data/x/f && sleep 600"]\n`,
    });
    p.ok(['up', '-d']);
    const dest = join(p.dir, 'out');
    mkdirSync(dest);
    p.ok(['cp', 'app:/data', 'out']);
    expect(readlinkSync(join(dest, 'data', 'x'))).toBe(host); // the link itself is copied, as docker cp does
    const r = p.run(['cp', 'app:/later/data', 'out']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/refusing the archive's entry "data\/x\/?": .*out\/data\/x is a symbolic link/);
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
    expect(existsSync(join(host, 'f'))).toBe(false);
    expect(lstatSync(join(dest, 'data', 'x')).isSymbolicLink()).toBe(true);
  });

  it('a crafted archive (a link, then a file under it; .. names; an absolute link target) writes nothing outside', async () => {
    const host = outside();
    const dest = mkdtempSync(join(tmpdir(), 'dockyard-dest-'));
    afterEach(() => rmSync(dest, { recursive: true, force: true }));
    const tarOf = (entries: Array<{ name: string; type?: 'symlink' | 'file' | 'link'; linkname?: string; body?: string }>) => {
      const t = pack();
      for (const e of entries) t.entry({ name: e.name, type: e.type ?? 'file', linkname: e.linkname }, e.body ?? '');
      t.finalize();
      return t as unknown as Readable;
    };
    await expect(unpackTo(tarOf([{ name: 'x', type: 'symlink', linkname: host }, { name: 'x/f', body: 'pwned' }]), dest)).rejects.toThrow(/refusing the archive's entry "x\/f": .* is a symbolic link/);
    await expect(unpackTo(tarOf([{ name: '../escaped', body: 'pwned' }]), dest)).rejects.toThrow(/climbs out/);
    await expect(unpackTo(tarOf([{ name: 'a/../../escaped2', body: 'pwned' }]), dest)).rejects.toThrow(/climbs out/);
    await expect(unpackTo(tarOf([{ name: 'h', type: 'link', linkname: join(host, 'secret') }]), dest)).rejects.toThrow(/hard link target/);
    // a file over an existing link replaces the link, never writes through it
    writeFileSync(join(host, 'keep'), 'original');
    await unpackTo(tarOf([{ name: 'y', type: 'symlink', linkname: join(host, 'keep') }]), dest);
    await unpackTo(tarOf([{ name: 'y', body: 'new' }]), dest);
    expect(readFileSync(join(host, 'keep'), 'utf8')).toBe('original');
    expect(readFileSync(join(dest, 'y'), 'utf8')).toBe('new');
    expect(spawnSync('ls', ['-A', host], { encoding: 'utf8' }).stdout.trim()).toBe('keep');
    expect(existsSync(join(dest, '..', 'escaped'))).toBe(false);
  });

  it('a large file streams to disk: copying 300 MB out stays far below 300 MB of memory', () => {
    const p = project({ 'compose.yaml': `services:\n  app:\n    image: ${IMG}\n    init: true\n    command: ["sh", "-c", "dd if=/dev/zero of=/big bs=1048576 count=300 2>/dev/null && touch /ready && sleep 600"]\n` });
    p.ok(['up', '-d']);
    for (let i = 0; i < 100 && spawnSync('docker', ['exec', `${p.name}-app-1`, 'test', '-e', '/ready']).status !== 0; i++) spawnSync('sleep', ['0.2']);
    // the CLI in a node that reports its peak memory (resident set) as it exits
    const preload = join(p.dir, 'rss.cjs');
    writeFileSync(preload, "process.on('exit', () => process.stderr.write('maxrss-kb=' + process.resourceUsage().maxRSS + '\\n'));\n");
    const r = spawnSync(process.execPath, ['--require', preload, CLI, '-p', p.name, 'cp', 'app:/big', 'big'], { cwd: p.dir, encoding: 'utf8', env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/root', DOCKYARD_BASE_IMAGE: BASE, ...dockerEnv() } });
    expect(r.status, r.stderr).toBe(0);
    expect(lstatSync(join(p.dir, 'big')).size).toBe(300 * 1048576);
    const kb = Number(/maxrss-kb=(\d+)/.exec(r.stderr)?.[1]);
    expect(kb).toBeGreaterThan(0);
    expect(kb / 1024).toBeLessThan(200); // held whole, it took more than twice the file
  });
});

describe('bad input: one located error, nothing created, no hang', () => {
  it('two services with one container_name: refused at load, nothing created', () => {
    const p = project({ 'compose.yaml': `services:\n  a:\n    image: ${IMG}\n    container_name: same-\${P}\n    command: ["sleep", "600"]\n  b:\n    image: ${IMG}\n    container_name: same-\${P}\n    command: ["sleep", "600"]\n` });
    const r = p.run(['up', '-d'], { env: { P: p.name } });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`compose.yaml:8:5: services.b.container_name: services "a" and "b" both set container_name "same-${p.name}"`));
    expect(r.stderr).toMatch(/hint: /);
    expect(docker('ps', '-a', '--filter', `name=same-${p.name}`, '--format', '{{.Names}}')).toBe('');
    expect(p.containers()).toEqual([]);
    expect(p.run(['config'], { env: { P: p.name } }).code).toBe(1);
  });

  it('env_file: /dev/zero, a FIFO, or a file over the cap: a located error within a second (hung for ever before)', () => {
    const p = project({ 'compose.yaml': `services:\n  a:\n    image: ${IMG}\n    env_file: \${ENVF}\n` });
    const fifo = join(p.dir, 'pipe.env');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    const big = join(p.dir, 'big.env');
    spawnSync('truncate', ['-s', '2G', big]); // sparse: 2 GB that take no disk
    for (const [path, says] of [['/dev/zero', 'is a character device, not a regular file'], [fifo, 'is a FIFO \\(named pipe\\), not a regular file'], [big, 'is larger than 8 MB']] as const) {
      for (const verb of [['config'], ['up', '-d']]) {
        const t0 = Date.now();
        const r = p.run(verb, { env: { ENVF: path }, timeoutMs: 10_000 });
        expect(Date.now() - t0).toBeLessThan(verb[0] === 'config' ? 1500 : 5000);
        expect(r.code, r.stderr).toBe(1);
        expect(r.stderr).toMatch(new RegExp(`compose.yaml:4:15: services.a.env_file\\[0\\]: env file ${path.replace(/[/.]/g, '\\$&')} ${says}`));
        expect(r.stderr).not.toMatch(/\n\s+at /);
      }
    }
    expect(p.containers()).toEqual([]);
  });

  it('a Compose file or env file that is not valid UTF-8: a located error naming line and column', () => {
    const p = project({ 'compose.yaml': '' });
    writeFileSync(join(p.dir, 'compose.yaml'), Buffer.concat([Buffer.from(`services:\n  a:\n    image: ${IMG}\n    environment:\n      NAME: caf`), Buffer.from([0xe9]), Buffer.from('\n')]));
    const r = p.run(['up', '-d']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/compose.yaml:5:16: Compose file .*compose.yaml is not valid UTF-8 \(line 5, column 16\)/);
    expect(p.containers()).toEqual([]);
    writeFileSync(join(p.dir, 'compose.yaml'), `services:\n  a:\n    image: ${IMG}\n    env_file: latin1.env\n`);
    writeFileSync(join(p.dir, 'latin1.env'), Buffer.concat([Buffer.from('A=1\nB=na'), Buffer.from([0xef, 0x76]), Buffer.from('\n')]));
    const r2 = p.run(['config']);
    expect(r2.code).toBe(1);
    expect(r2.stderr).toMatch(/latin1.env:2:5: env file .*latin1.env is not valid UTF-8 \(line 2, column 5\)/);
    // valid UTF-8 (and a byte-order mark) still loads
    writeFileSync(join(p.dir, 'latin1.env'), '\uFEFFA=café\n');
    expect(p.ok(['config', '--format', 'json']).stdout).toContain('"A": "café"');
  });
});

describe('security and data safety', () => {
  it('an error thrown by a consumer of the event stream reaches the waiting caller (was swallowed: the wait hung)', async () => {
    const p = project({ 'compose.yaml': 'services: {}\n' });
    const hub = new EventHub(new DockerEngine());
    await hub.open(p.name);
    hub.onEvent((_id, action) => {
      if (action === 'start') throw new Error('listener broke on start');
    });
    const id = docker('create', '--label', `com.docker.compose.project=${p.name}`, BASE, 'sleep', '30');
    try {
      const t0 = Date.now();
      const waiting = hub.wait(id, () => ({ done: false }), 20_000, 'something that never happens');
      docker('start', id);
      await expect(waiting).rejects.toThrow('listener broke on start');
      expect(Date.now() - t0).toBeLessThan(10_000);
      // a later wait on the broken hub fails at once with the same error, not by timing out
      await expect(hub.wait(id, () => ({ done: false }), 20_000, 'x')).rejects.toThrow('listener broke on start');
    } finally {
      hub.close();
      docker('rm', '-f', id);
    }
  });
});
