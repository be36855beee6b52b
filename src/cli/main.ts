#!/usr/bin/env node
/** The dockyard command line: docker compose's verbs and flags. */
import { CommanderError } from 'commander';
import { reportError } from './common.js';
import { finishProgress } from './render.js';
import { buildProgram } from './program.js';
import { complete, printCompletions } from './completion.js';

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  // the shells' completion scripts ask `dockyard __complete WORDS... CURRENT` (before any parsing)
  if (argv[2] === '__complete') {
    printCompletions(complete(program, argv.slice(3)));
    return 0;
  }
  try {
    // `up --no-attach SERVICE` takes a value: commander would read it as the negation of --attach
    await program.parseAsync(argv.map((a) => (a === '--no-attach' ? '--skip-attach' : a.startsWith('--no-attach=') ? `--skip-attach=${a.slice(12)}` : a)));
    finishProgress();
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return 0;
      return 2;
    }
    return reportError(e);
  }
}

// a reader that stops early (dockyard ... | head) is not an error
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw e;
  });
}

main(process.argv).then(
  (code) => {
    // a command may have set its own exit code (exec, run, up --exit-code-from)
    if (code !== 0 || process.exitCode === undefined) process.exitCode = code;
  },
  (e) => {
    process.exitCode = reportError(e);
  },
);
