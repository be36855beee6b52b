/**
 * Observing a container asynchronously: a watch (or a server) running in the test's own process
 * streams from this event loop, and the engine holds a container's lock while it extracts an
 * archive, so a synchronous `docker exec` here could wait for a transfer that waits for it.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** the docker CLI, awaited; undefined when it fails */
export async function dockerAsync(...args: string[]): Promise<string | undefined> {
  try {
    return (await run('docker', args, { encoding: 'utf8' })).stdout;
  } catch {
    return undefined;
  }
}

export const cat = (c: string, f: string) => dockerAsync('exec', c, 'cat', f);

/** Polls until `f` holds (every 100 ms), or fails naming what it waited for. */
export async function until(f: () => boolean | Promise<boolean>, what: string, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await f())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
