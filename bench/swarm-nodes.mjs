// Swarm deploy over 3 nodes (scripts/swarm-nodes.sh: a manager and two workers, new dockerd
// instances in their own network namespaces, a TLS registry on the manager's address): 10
// services, 2 replicas each, from an image in that registry, deployed until converged (every
// task running), then removed; side by side with `docker stack deploy --detach=false` of the same
// file (the docker CLI waits for convergence too) and `docker stack rm --detach=false`.
// `node bench/swarm-nodes.mjs` alone, or `node bench/run.mjs swarm-nodes`.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DOCKYARD, ROOT, RUNS, figure, line, note, run, sideBySide, tmpDir } from './lib.mjs';

const SCRIPT = join(ROOT, 'scripts', 'swarm-nodes.sh');
const IMAGE = process.env.DOCKYARD_TEST_IMAGE ?? 'dockyard-test/busybox:latest';
const SERVICES = 10;

function compose(image) {
  let s = 'services:\n';
  for (let i = 1; i <= SERVICES; i++) {
    s += `  s${i}:\n    image: ${image}\n    command: ["sleep", "3600"]\n    stop_grace_period: 1s\n    deploy: { replicas: 2, endpoint_mode: dnsrr }\n`;
  }
  return s;
}

export async function benchSwarmNodes() {
  line(`\n## Swarm deploy over 3 nodes (${SERVICES} services x 2 replicas, converged), baseline docker stack deploy`);
  const up = spawnSync('bash', [SCRIPT, 'up', '3'], { encoding: 'utf8' });
  if (up.status !== 0) {
    line(`cannot run the 3-node Swarm here: ${up.stderr.trim().split('\n').at(-1)}`);
    return 1;
  }
  try {
    const env = Object.fromEntries(up.stdout.split('\n').filter(Boolean).map((l) => l.replace(/"/g, '').split(/=(.*)/).slice(0, 2)));
    const host = { DOCKER_HOST: env.DOCKER_HOST };
    // the image both tools deploy, in the registry every node pulls from (both pin its digest)
    const image = `${env.SWARM_REGISTRY}/bench/busybox:1`;
    run(['docker'], ['tag', IMAGE, image], { env: host });
    run(['docker'], ['push', '-q', image], { env: host });
    const dir = tmpDir('swarm-nodes');
    writeFileSync(join(dir, 'compose.yaml'), compose(image));
    let n = 0;
    const converged = (stack) => {
      // every one of the 20 tasks running, seen by the manager
      const out = run(['docker'], ['stack', 'ps', stack, '--filter', 'desired-state=running', '--format', '{{.CurrentState}}'], { env: host }).stdout;
      return out.split('\n').filter((l) => l.startsWith('Running')).length;
    };
    const r = await sideBySide({
      dockyard: async () => {
        const stack = `bd${++n}`;
        const d = run(DOCKYARD, ['-p', stack, 'deploy', '-q'], { cwd: dir, env: host });
        const tasks = converged(stack);
        if (tasks !== SERVICES * 2) throw new Error(`dockyard deploy returned with ${tasks} tasks running`);
        const rm = run(DOCKYARD, ['deploy', 'rm', '-q', stack], { cwd: dir, env: host });
        return { deploy: d, rm };
      },
      docker: async () => {
        const stack = `bs${++n}`;
        const d = run(['docker'], ['stack', 'deploy', '--detach=false', '-q', '-c', 'compose.yaml', stack], { cwd: dir, env: host });
        const tasks = converged(stack);
        if (tasks !== SERVICES * 2) throw new Error(`docker stack deploy returned with ${tasks} tasks running`);
        const rm = run(['docker'], ['stack', 'rm', '--detach=false', stack], { cwd: dir, env: host });
        return { deploy: d, rm };
      },
    });
    const detail = 'baseline: docker stack deploy --detach=false (docker CLI, same file, same nodes, same run; not docker-compose v1)';
    let misses = 0;
    const f1 = figure({ id: 'swarm-nodes.deploy', name: `deploy ${SERVICES} services over 3 nodes, converged`, value: r.dockyard.deploy.seconds, baseline: r.docker.deploy.seconds, baselineName: 'docker stack', unit: 's', runs: RUNS, mark: { max: 1.0, of: 'baseline' }, detail, samples: { dockyard: r.dockyard.deploy.samples, baseline: r.docker.deploy.samples } });
    const f2 = figure({ id: 'swarm-nodes.rm', name: 'rm of that stack (every task gone)', value: r.dockyard.rm.seconds, baseline: r.docker.rm.seconds, baselineName: 'docker stack', unit: 's', runs: RUNS, detail: 'baseline: docker stack rm --detach=false (no pass mark: the issue sets one for deploy only)', samples: { dockyard: r.dockyard.rm.samples, baseline: r.docker.rm.samples } });
    for (const f of [f1, f2]) if (f.ok === false) misses++;
    note('each round deploys a new stack (new networks, new services) and removes it; both tools pin the image to its registry digest and wait until every task runs');
    return misses;
  } finally {
    spawnSync('bash', [SCRIPT, 'down'], { stdio: 'ignore' });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  line(`dockyard benchmarks (${new Date().toISOString()}): Swarm over 3 nodes`);
  process.exitCode = (await benchSwarmNodes()) > 0 ? 1 : 0;
}
