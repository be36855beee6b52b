/** logs -f (streamLogs): the project's containers that start while it follows, with a fake engine. */
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { ContainerInspect, ContainerSummary, Engine } from '../../src/engine/engine.js';
import { streamLogs, type LogItem } from '../../src/converge/logs.js';

describe('streamLogs with watch', () => {
  it('follows a container that started between the caller listing and the event subscription (no event will tell of it)', async () => {
    const late: ContainerSummary = { id: 'late', name: 'p-a-1', image: 'x', state: 'running', status: 'Up', labels: { 'com.docker.compose.project': 'p', 'com.docker.compose.service': 'a', 'com.docker.compose.container-number': '1', 'com.docker.compose.oneoff': 'False' }, ports: [] } as unknown as ContainerSummary;
    let listed = 0;
    const engine = {
      events: async () => ({ close: () => undefined }),
      listContainers: async () => {
        listed++;
        return [late];
      },
      inspectContainer: async () => ({ Config: { Tty: false }, State: { Running: false, Restarting: false, ExitCode: 0, StartedAt: '2026-01-01T00:00:00Z', FinishedAt: '' } }) as unknown as ContainerInspect,
      containerLogs: async () => {
        const stdout = new PassThrough();
        const stderr = new PassThrough();
        stdout.end('2026-01-01T00:00:00.000000001Z hello from the late one\n');
        stderr.end();
        return { stdout, stderr, done: Promise.resolve(), close: () => undefined };
      },
    } as unknown as Engine;
    const items: LogItem[] = [];
    for await (const item of streamLogs(engine, [], { follow: true, watch: { project: 'p', graceMs: 0 } })) items.push(item);
    expect(listed).toBe(1);
    expect(items.filter((i) => i.kind === 'line').map((i) => (i.kind === 'line' ? `${i.container} ${i.line}` : ''))).toEqual(['p-a-1 hello from the late one']);
  });
});
