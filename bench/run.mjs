// npm run bench: every benchmark side by side with docker-compose v1, in one run.
import { benchConfig } from './config.mjs';
import { benchUp } from './up.mjs';
import { benchBuild } from './build.mjs';
import { benchEnvs } from './envs.mjs';
import { benchWatch } from './watch.mjs';
import { benchLint } from './lint.mjs';
import { benchConsolidate } from './consolidate.mjs';
import { line, summary } from './lib.mjs';

const only = process.argv[2];
line(`dockyard benchmarks (${new Date().toISOString()}), median of several runs, baseline docker-compose v1`);
let extraMisses = 0;
if (!only || only === 'config') benchConfig();
// `up` runs all of up/down; `up30` and `chain` one part of it
if (!only || ['up', 'up30', 'chain'].includes(only)) extraMisses += benchUp(only === 'up30' ? '30' : only === 'chain' ? 'chain' : 'all');
if (!only || only === 'build') extraMisses += await benchBuild();
if (!only || only === 'envs') extraMisses += benchEnvs();
if (!only || only === 'watch') extraMisses += await benchWatch();
if (!only || only === 'lint') extraMisses += benchLint();
if (!only || only === 'consolidate') extraMisses += benchConsolidate();
process.exitCode = summary() + extraMisses > 0 ? 1 : 0;
