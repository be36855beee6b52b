import { execFileSync, spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import './setup.js';
import { BASE, docker, useProjects } from '../helpers/engine.js';
import { CLI } from '../helpers/fs.js';

const project = useProjects(afterEach);

const IMG = '${DOCKYARD_BASE_IMAGE}';

describe('logs, exec, run, port, top', () => {
  it('logs: prefixed lines, --tail, --no-log-prefix, -t, --since', () => {
    const p = project({ 'compose.yaml': `services:\n  talk:\n    image: ${IMG}\n    command: ["sh", "-c", "for i in 1 2 3 4 5; do echo line $$i; done; echo oops >&2"]\n` });
    p.ok(['up', '-d', '--wait']);
    const all = p.ok(['logs']).stdout;
    expect(all).toMatch(new RegExp(`^${p.name}-talk-1 \\| line 1\\n`));
    expect(all).toMatch(/\| oops\n/);
    expect(p.ok(['logs', '--tail', '2', '--no-log-prefix']).stdout.split('\n').filter(Boolean)).toHaveLength(2);
    expect(p.ok(['logs', '-t', '--tail', '1']).stdout).toMatch(/\| \d{4}-\d\d-\d\dT[\d:.]+Z /);
    expect(p.ok(['logs', '--since', '2099-01-01T00:00:00Z']).stdout).toBe('');
    expect(p.ok(['logs', '--index', '2']).stdout).toBe(''); // there is no replica 2
    expect(p.ok(['logs', '--index', '1']).stdout.split('\n').sort()).toEqual(all.split('\n').sort());
    expect(p.run(['logs', 'nope']).code).toBe(2);
  }, 60_000);

  it('exec: exit code, env, user, workdir, stdin', () => {
    const p = project({ 'compose.yaml': `services:\n  app:\n    image: ${IMG}\n    init: true\n    command: ["sleep", "600"]\n    environment: {FROM_COMPOSE: yes}\n` });
    p.ok(['up', '-d']);
    expect(p.run(['exec', '-T', 'app', 'sh', '-c', 'exit 5']).code).toBe(5);
    expect(p.ok(['exec', '-T', '-e', 'X=1', '-w', '/tmp', '-u', 'nobody', 'app', 'sh', '-c', 'echo $X $FROM_COMPOSE $(pwd) $(id -u)']).stdout).toBe('1 yes /tmp 65534\n');
    expect(p.ok(['exec', '-T', 'app', 'wc', '-l'], { input: 'a\nb\nc\n' }).stdout.trim()).toBe('3');
    // -d returns at once and leaves the command running
    const t0 = Date.now();
    expect(p.ok(['exec', '-d', 'app', 'sh', '-c', 'sleep 3; touch /tmp/detached-done']).stdout).toBe('');
    expect(Date.now() - t0).toBeLessThan(2500);
    expect(docker('exec', `${p.name}-app-1`, 'sh', '-c', 'sleep 4; ls /tmp/detached-done')).toBe('/tmp/detached-done');
    expect(p.run(['exec', '-T', 'missing', 'true']).code).toBe(2);
  }, 60_000);

  it('run: one-off containers with --rm, -e, --no-deps, exit codes, and dependencies started', () => {
    const p = project({
      'compose.yaml': `services:\n  db:\n    image: ${IMG}\n    init: true\n    command: ["sleep", "600"]\n  tool:\n    image: ${IMG}\n    command: ["echo", "default"]\n    depends_on: [db]\n`,
    });
    const r = p.ok(['run', '--rm', '-e', 'V=42', 'tool', 'sh', '-c', 'echo got $V; exit 0']);
    expect(r.stdout).toBe('got 42\n');
    expect(p.containers().map((c) => c.service)).toEqual(['db']); // removed (--rm), db started
    expect(p.run(['run', '--rm', '--no-deps', 'tool', 'sh', '-c', 'exit 9']).code).toBe(9);
    const named = p.ok(['run', '--rm', '--no-deps', '--name', `${p.name}-custom`, '-u', 'nobody', '-w', '/tmp', '--entrypoint', 'sh', 'tool', '-c', 'echo $(id -u) $(pwd) $(hostname)']);
    expect(named.stdout).toMatch(/^65534 \/tmp \S+\n$/);
    const kept = p.ok(['run', 'tool']);
    expect(kept.stdout).toBe('default\n');
    const oneoff = docker('ps', '-a', '--filter', `label=com.docker.compose.project=${p.name}`, '--filter', 'label=com.docker.compose.oneoff=True', '--format', '{{.Names}}');
    expect(oneoff).toMatch(new RegExp(`^${p.name}-tool-run-[0-9a-f]{12}$`));
  }, 60_000);

  it('run on a project never brought up creates what its service needs; --rm leaves nothing, even when the start fails', () => {
    const p = project({
      'compose.yaml': `services:\n  job:\n    image: ${IMG}\n    networks: [back]\n    volumes: ["data:/data"]\nnetworks:\n  back: {}\nvolumes:\n  data: {}\n`,
    });
    const r = p.ok(['run', '--rm', 'job', 'sh', '-c', 'echo kept > /data/f && cat /data/f']);
    expect(r.stdout).toBe('kept\n');
    expect(docker('network', 'ls', '-q', '--filter', `name=${p.name}_back`)).not.toBe('');
    expect(p.ok(['run', '--rm', 'job', 'cat', '/data/f']).stdout).toBe('kept\n');
    const bad = p.run(['run', '--rm', '--entrypoint', '/no/such/program', 'job']);
    expect(bad.code).toBe(4);
    expect(bad.stderr).toMatch(/no\/such\/program/);
    expect(p.containers()).toEqual([]);
  }, 60_000);

  it('port and top; ports short and long syntax, ranges, UDP, host IP, ephemeral (conformance: UDP port)', () => {
    const p = project({
      'compose.yaml': `services:
  web:
    image: ${IMG}
    init: true
    command: ["httpd", "-f", "-p", "80"]
    ports:
      - "127.0.0.1::80"
      - "53/udp"
      - target: 81
        published: "0"
        protocol: tcp
      - "127.0.0.1:0:82"
`,
    });
    p.ok(['up', '-d']);
    const ep = p.ok(['port', 'web', '80']).stdout.trim();
    expect(ep).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(p.ok(['port', '--protocol', 'udp', 'web', '53']).stdout).toMatch(/:\d+\n$/);
    const ports = p.inspect(`${p.name}-web-1`).HostConfig.PortBindings as Record<string, unknown>;
    expect(Object.keys(ports).sort()).toEqual(['53/udp', '80/tcp', '81/tcp', '82/tcp']);
    expect(p.run(['port', 'web', '9999']).code).toBe(2);
    expect(p.ok(['top', 'web']).stdout).toMatch(/httpd -f -p 80/);
  }, 60_000);
});

describe('UDP and TTYs', () => {
  it('a published UDP port carries datagrams both ways (conformance: UDP port)', async () => {
    // busybox has no UDP server: a 20-line static echo server, compiled here, is the service
    const p = project({
      'compose.yaml': `services:\n  echo:\n    build: ./echo\n    init: true\n    command: ["/udpecho", "5353"]\n    ports: ["127.0.0.1::5353/udp"]\n`,
      'echo/Dockerfile': `FROM ${BASE}\nCOPY udpecho /udpecho\n`,
      'echo/udpecho.c': `#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
int main(int argc, char **argv) {
  int s = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_port = htons(atoi(argv[1]));
  if (bind(s, (struct sockaddr *)&a, sizeof a)) return 1;
  char buf[2048] = "echo:";
  for (;;) {
    struct sockaddr_in peer;
    socklen_t len = sizeof peer;
    ssize_t n = recvfrom(s, buf + 5, sizeof buf - 5, 0, (struct sockaddr *)&peer, &len);
    if (n > 0) sendto(s, buf, n + 5, 0, (struct sockaddr *)&peer, len);
  }
}
`,
    });
    execFileSync('gcc', ['-static', '-O2', '-o', join(p.dir, 'echo', 'udpecho'), join(p.dir, 'echo', 'udpecho.c')]);
    p.ok(['up', '-d', '--wait']);
    const port = Number(p.ok(['port', '--protocol', 'udp', 'echo', '5353']).stdout.trim().split(':')[1]);
    const sock = createSocket('udp4');
    try {
      // the first datagrams can arrive before the server binds: ask until it answers
      const answer = await new Promise<string>((resolve, reject) => {
        const timer = setInterval(() => sock.send('ping', port, '127.0.0.1'), 200);
        const give = setTimeout(() => {
          clearInterval(timer);
          reject(new Error('no UDP answer in 10 s'));
        }, 10_000);
        sock.on('message', (m) => {
          clearInterval(timer);
          clearTimeout(give);
          resolve(m.toString());
        });
        sock.send('ping', port, '127.0.0.1');
      });
      expect(answer).toBe('echo:ping');
    } finally {
      sock.close();
    }
  }, 90_000);

  it('exec and run give a TTY of the terminal\'s size when stdin is one, none with -T or when piped; run reads stdin', () => {
    const p = project({ 'compose.yaml': `services:\n  web:\n    image: ${IMG}\n    init: true\n    command: ["sleep", "600"]\n` });
    p.ok(['up', '-d', '--wait']);
    // script(1) runs the command on a new pseudo-terminal (33 rows, 101 columns), as a user's shell would
    const inTerminal = (args: string) =>
      spawnSync('script', ['-qec', `stty rows 33 cols 101; ${process.execPath} ${CLI} -p ${p.name} ${args}`, '/dev/null'], {
        cwd: p.dir,
        encoding: 'utf8',
        env: { ...process.env, DOCKYARD_BASE_IMAGE: BASE },
      }).stdout.replace(/\^@/g, ''); // script echoes the end of its own (empty) input as ^@
    // one line ending: the container's TTY writes \r\n and the local terminal must not add a \r.
    // (Engines before API 1.42 take the size just after the start, as with docker: hence the sleep)
    expect(inTerminal('exec web sh -c "tty; sleep 1; stty size"')).toMatch(/\/dev\/pts\/\d+\r\n33 101\r\n/);
    expect(inTerminal('exec -T web tty')).toMatch(/not a tty/);
    expect(p.run(['exec', 'web', 'tty']).stdout).toMatch(/not a tty/);
    expect(inTerminal('run --rm web sh -c "tty; sleep 1; stty size"')).toMatch(/\/dev\/pts\/\d+\r\n33 101\r\n/);
    // an interactive shell in a one-off container: keys typed go in (Ctrl-C too: it interrupts
    // the sleep in the container, not dockyard), its exit code comes out
    const t0 = Date.now();
    const typed = execFileSync('sh', ['-c', `(sleep 2; printf 'sleep 60\\n'; sleep 1; printf '\\003'; sleep 0.5; printf 'echo typed-$((6*7))\\nexit 3\\n'; sleep 3) | script -qec "${process.execPath} ${CLI} -p ${p.name} run --rm web sh; echo exit=\\$?" /dev/null`], {
      cwd: p.dir,
      encoding: 'utf8',
      env: { ...process.env, DOCKYARD_BASE_IMAGE: BASE },
    });
    expect(Date.now() - t0).toBeLessThan(30_000);
    expect(typed).toMatch(/typed-42/);
    expect(typed).toMatch(/exit=3/);
    // without a TTY, stdin is piped through and stdout/stderr stay apart
    const piped = p.run(['run', '--rm', '-T', 'web', 'sh', '-c', 'cat; echo err >&2; exit 7'], { input: 'from stdin\n' });
    expect(piped).toMatchObject({ code: 7, stdout: 'from stdin\n', stderr: 'err\n' });
    expect(p.containers().map((c) => c.service)).toEqual(['web']);
  }, 90_000);
});

describe('attached up', () => {
  it('streams prefixed logs and returns when the containers exit; --exit-code-from', () => {
    const p = project({
      'compose.yaml': `services:\n  test:\n    image: ${IMG}\n    command: ["sh", "-c", "echo running tests; sleep 1; exit 3"]\n  db:\n    image: ${IMG}\n    init: true\n    command: ["sleep", "600"]\n`,
    });
    const r = p.run(['up', '--exit-code-from', 'test']);
    expect(r.code).toBe(3);
    expect(r.stdout).toMatch(new RegExp(`${p.name}-test-1 +\\| running tests`));
    expect(r.stderr).toMatch(/Aborting on container exit/);
    // --abort-on-container-exit stopped db as well
    expect(p.containers().find((c) => c.service === 'db')?.state).toBe('exited');
  }, 60_000);

  it('follows a container its restart policy brings back, into each run', () => {
    const p = project({ 'compose.yaml': `services:\n  flaky:\n    image: ${IMG}\n    restart: on-failure:2\n    command: ["sh", "-c", "echo run $$(cat /proc/uptime); sleep 0.3; exit 1"]\n` });
    const r = p.run(['up'], { timeoutMs: 60_000 });
    expect(r.code).toBe(0);
    expect(r.stdout.match(/flaky-1 +\| run /g)).toHaveLength(3);
    expect(r.stderr.match(/flaky-1 exited with code 1 \(restarting\)/g)).toHaveLength(2);
    expect(r.stderr).toMatch(/flaky-1 exited with code 1\n/);
    expect(p.inspect(`${p.name}-flaky-1`).RestartCount).toBe(2);
  }, 90_000);

  it('logs -f follows the containers an up elsewhere recreates, and ends when the project is down', async () => {
    const compose = (v: string) => `services:\n  a:\n    image: ${IMG}\n    init: true\n    command: ["sh", "-c", "echo ${v}; exec sleep 600"]\n`;
    const p = project({ 'compose.yaml': compose('first') });
    p.ok(['up', '-d', '--wait']);
    const logs = p.start(['logs', '-f']);
    try {
      await logs.until(/a-1 +\| first/);
      writeFileSync(join(p.dir, 'compose.yaml'), compose('second'));
      p.ok(['up', '-d']);
      await logs.until(/a-1 +\| second/);
      p.ok(['down']);
      expect(await logs.exited).toBe(0);
    } finally {
      logs.signal('SIGKILL');
    }
  }, 90_000);

  it('Ctrl-C stops the project cleanly', async () => {
    const p = project({ 'compose.yaml': `services:\n  a:\n    image: ${IMG}\n    init: true\n    command: ["sh", "-c", "echo started; exec sleep 600"]\n` });
    const up = p.start(['up']);
    await up.until(/\| started/);
    up.signal('SIGINT');
    expect(await up.exited).toBe(0);
    expect(up.err).toMatch(/Gracefully stopping/);
    expect(p.containers().map((c) => c.state)).toEqual(['exited']);
  }, 60_000);

  it('run without a TTY: Ctrl-C is passed to the container, a second one kills it', async () => {
    const p = project({ 'compose.yaml': `services:\n  a:\n    image: ${IMG}\n    init: true\n` });
    const runUntilSignals = async (cmd: string, signals: number) => {
      const run = p.start(['run', '--rm', '-T', 'a', 'sh', '-c', cmd]);
      await run.until(/ready/);
      for (let i = 0; i < signals; i++) {
        run.signal('SIGINT');
        await new Promise((r) => setTimeout(r, 1000));
      }
      return { code: await run.exited, out: run.out + run.err };
    };
    // the shell dies of SIGINT: 130, as in a terminal
    expect((await runUntilSignals('echo ready; sleep 30', 1)).code).toBe(130);
    // a program that ignores SIGINT is killed by the second Ctrl-C
    const stubborn = await runUntilSignals('trap "" INT; echo ready; while true; do sleep 1; done', 2);
    expect(stubborn.code).toBe(137);
    expect(stubborn.out).toMatch(/killing /);
    expect(p.containers()).toEqual([]);
  }, 90_000);
});
