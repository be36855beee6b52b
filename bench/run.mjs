// npm run bench: every benchmark side by side with docker-compose v1, in one run.
import { benchConfig } from './config.mjs';
import { line, summary } from './lib.mjs';

const only = process.argv[2];
line(`dockyard benchmarks (${new Date().toISOString()}), median of several runs, baseline docker-compose v1`);
if (!only || only === 'config') benchConfig();
process.exitCode = summary() > 0 ? 1 : 0;
