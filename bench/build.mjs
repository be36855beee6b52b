// build: a no-op build of 20 unchanged services (vs docker-compose build), context hashing speed,
// and 4 independent builds in parallel vs one after another.
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { COMPOSE_V1, DOCKYARD, RUNS, figure, line, repeat, run, sideBySide, tmpDir, ROOT } from './lib.mjs';

const IMAGE = process.env.DOCKYARD_TEST_IMAGE ?? 'dockyard-test/busybox:latest';

function docker(...args) {
  return execFileSync('docker', args, { encoding: 'utf8' }).trim();
}

function twentyServices(dir) {
  // one set of contexts; each tool its own image names (docker-compose.yml for dockyard, v1.yml for
  // v1), so that neither retags the other's images and both runs are no-ops, interleaved
  let dy = 'services:\n';
  let v1 = 'services:\n';
  for (let i = 0; i < 20; i++) {
    const ctx = join(dir, `svc${i}`);
    mkdirSync(join(ctx, 'src'), { recursive: true });
    writeFileSync(join(ctx, 'Dockerfile'), `FROM ${IMAGE}\nARG N=${i}\nCOPY src/ /app/\nRUN echo "service $N" > /app/id\n`);
    for (let f = 0; f < 20; f++) writeFileSync(join(ctx, 'src', `file${f}.txt`), `service ${i} file ${f}\n`.repeat(50));
    dy += `  svc${i}:\n    build: ./svc${i}\n    image: benchbuild-dy-svc${i}\n`;
    v1 += `  svc${i}:\n    build: ./svc${i}\n    image: benchbuild-v1-svc${i}\n`;
  }
  writeFileSync(join(dir, 'docker-compose.yml'), dy);
  writeFileSync(join(dir, 'v1.yml'), v1);
}

export async function benchBuild() {
  line('\n## build');
  const dir = tmpDir('build-20');
  twentyServices(dir);
  // build once with each tool so both start from built, unchanged images (then each side's warm-up)
  run(DOCKYARD, ['-p', 'benchbuild', 'build'], { cwd: dir });
  run(COMPOSE_V1, ['-p', 'benchbuild', '-f', 'v1.yml', 'build'], { cwd: dir });
  try {
    const r = await sideBySide({
      ours: () => run(DOCKYARD, ['-p', 'benchbuild', 'build'], { cwd: dir }),
      // v1 rebuilds nothing either (the classic builder's cache), but sends 20 contexts and runs 20 builds
      base: () => run(COMPOSE_V1, ['-p', 'benchbuild', '-f', 'v1.yml', 'build'], { cwd: dir }),
    });
    figure({ id: 'build.noop20', name: 'no-op build, 20 unchanged services', value: r.ours.seconds, baseline: r.base.seconds, unit: 's', runs: RUNS, mark: { max: 0.25, of: 'baseline' }, samples: { dockyard: r.ours.samples, baseline: r.base.samples } });
    figure({ id: 'build.noop20.time', name: 'no-op build, 20 unchanged services (time)', value: r.ours.seconds, unit: 's', runs: RUNS, mark: { max: 0.5 } });
  } finally {
    for (let i = 0; i < 20; i++) docker('rmi', '-f', `benchbuild-dy-svc${i}`, `benchbuild-v1-svc${i}`);
  }

  // hashing speed: a 256 MB context of 64 files
  const big = tmpDir('hash-256mb');
  for (let i = 0; i < 64; i++) writeFileSync(join(big, `blob${i}.bin`), randomBytes(4 * 1024 * 1024));
  writeFileSync(join(big, 'Dockerfile'), `FROM ${IMAGE}\n`);
  const { listContext, sourceHash } = await import(new URL('../dist/build/context.js', import.meta.url).href);
  // the warm-up also fills the page cache
  const hash = await repeat(() => {
    const t0 = process.hrtime.bigint();
    sourceHash(listContext(big, 'Dockerfile'), { dockerfile: '' });
    return Number(process.hrtime.bigint() - t0) / 1e9;
  });
  figure({ id: 'build.hash', name: 'context hashing (256 MB, 64 files, warm cache)', value: 256 / hash.seconds, unit: 'MB/s', runs: RUNS, mark: { min: 200 } });

  // 4 independent builds: in parallel vs one after another (same tool, no cache), interleaved
  const four = tmpDir('build-4');
  let compose = 'services:\n';
  for (let i = 0; i < 4; i++) {
    mkdirSync(join(four, `b${i}`));
    writeFileSync(join(four, `b${i}`, 'Dockerfile'), `FROM ${IMAGE}\nRUN sleep 1 && dd if=/dev/zero of=/blob bs=1M count=8 2>/dev/null && echo ${i}\nRUN sleep 1 && rm /blob\n`);
    compose += `  b${i}:\n    build: ./b${i}\n    image: benchbuild-four${i}\n`;
  }
  writeFileSync(join(four, 'docker-compose.yml'), compose);
  try {
    const r = await sideBySide({
      par: () => run(DOCKYARD, ['-p', 'benchfour', 'build', '--no-cache', '--parallel', '4'], { cwd: four }),
      seq: () => run(DOCKYARD, ['-p', 'benchfour', 'build', '--no-cache', '--parallel', '1'], { cwd: four }),
    });
    figure({
      id: 'build.parallel4',
      name: '4 independent builds: speed-up in parallel',
      value: r.seq.seconds / r.par.seconds,
      unit: 'x',
      runs: RUNS,
      mark: { min: 1.5 },
      samples: { parallel: r.par.samples, sequential: r.seq.samples },
      detail: `parallel ${r.par.seconds.toFixed(2)} s, one after another ${r.seq.seconds.toFixed(2)} s`,
    });
  } finally {
    for (let i = 0; i < 4; i++) docker('rmi', '-f', `benchbuild-four${i}`);
  }
  void ROOT;
}
