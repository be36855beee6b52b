// npm run bench: every benchmark side by side with docker-compose v1, in one run.
import { benchConfig } from './config.mjs';
import { benchUp } from './up.mjs';
import { benchBuild } from './build.mjs';
import { line, summary } from './lib.mjs';

const only = process.argv[2];
line(`dockyard benchmarks (${new Date().toISOString()}), median of several runs, baseline docker-compose v1`);
let extraMisses = 0;
if (!only || only === 'config') benchConfig();
if (!only || only === 'up') extraMisses += benchUp();
if (!only || only === 'build') extraMisses += await benchBuild();
process.exitCode = summary() + extraMisses > 0 ? 1 : 0;
