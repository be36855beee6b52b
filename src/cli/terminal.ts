/** The local terminal while a container's TTY is attached to it (exec and run, as docker does). */
import { spawnSync } from 'node:child_process';

export interface Terminal {
  /** Calls `apply` with the terminal's size now and whenever it changes; returns the unsubscribe. */
  follow(apply: (rows: number, cols: number) => void): () => void;
  /** Gives the terminal back as it was. */
  restore(): void;
}

/** The local terminal's rows and columns, if stdout is one. */
export function terminalSize(): [number, number] | undefined {
  return process.stdout.isTTY && process.stdout.rows ? [process.stdout.rows, process.stdout.columns] : undefined;
}

/**
 * Raw input (keys, Ctrl-C included, go to the container) and no output processing: the
 * container's TTY already turns \n into \r\n, and Node's raw mode would add a second \r.
 * Restoring goes back to the settings saved before raw mode, output processing included.
 */
export function takeTerminal(): Terminal {
  process.stdin.setRawMode?.(true);
  spawnSync('stty', ['-opost'], { stdio: [0, 'ignore', 'ignore'] });
  return {
    follow(apply) {
      const send = () => {
        const size = terminalSize();
        if (size) apply(...size);
      };
      send();
      process.stdout.on('resize', send);
      return () => process.stdout.off('resize', send);
    },
    restore() {
      process.stdin.setRawMode?.(false);
    },
  };
}
