// build: a no-op build of 20 unchanged services (vs docker-compose build), context hashing speed,
// and 4 independent builds in parallel vs one after another.
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { COMPOSE_V1, DOCKYARD, line, measure, report, run, tmpDir, ROOT } from './lib.mjs';

const IMAGE = process.env.DOCKYARD_TEST_IMAGE ?? 'dockyard-test/busybox:latest';

function docker(...args) {
  return execFileSync('docker', args, { encoding: 'utf8' }).trim();
}

function twentyServices(dir) {
  let compose = 'services:\n';
  for (let i = 0; i < 20; i++) {
    const ctx = join(dir, `svc${i}`);
    mkdirSync(join(ctx, 'src'), { recursive: true });
    writeFileSync(join(ctx, 'Dockerfile'), `FROM ${IMAGE}\nARG N=${i}\nCOPY src/ /app/\nRUN echo "service $N" > /app/id\n`);
    for (let f = 0; f < 20; f++) writeFileSync(join(ctx, 'src', `file${f}.txt`), `service ${i} file ${f}\n`.repeat(50));
    compose += `  svc${i}:\n    build: ./svc${i}\n    image: benchbuild-svc${i}\n`;
  }
  writeFileSync(join(dir, 'docker-compose.yml'), compose);
}

export async function benchBuild() {
  line('\n## build');
  let misses = 0;
  const dir = tmpDir('build-20');
  twentyServices(dir);
  // build once with each tool so both start from built, unchanged images
  run(DOCKYARD, ['-p', 'benchbuild', 'build'], { cwd: dir });
  run(COMPOSE_V1, ['-p', 'benchbuild', 'build'], { cwd: dir });
  run(DOCKYARD, ['-p', 'benchbuild', 'build'], { cwd: dir }); // v1 retagged the images: let dockyard label them again
  const N = Number(process.env.BENCH_RUNS ?? 3);
  const ours = measure(N, () => run(DOCKYARD, ['-p', 'benchbuild', 'build'], { cwd: dir }));
  const base = measure(N, () => run(COMPOSE_V1, ['-p', 'benchbuild', 'build'], { cwd: dir }));
  // v1 rebuilt nothing either (the classic builder's cache), but re-sent 20 contexts and ran 20 builds
  run(DOCKYARD, ['-p', 'benchbuild', 'build'], { cwd: dir });
  report('no-op build, 20 unchanged services', ours, base, 0.25);
  line(`  no-op build: ${ours.seconds.toFixed(2)}s (target <= 1s)${ours.seconds <= 1 ? '  ok' : '  MISSED'}`);
  if (ours.seconds > 1) misses++;
  for (let i = 0; i < 20; i++) docker('rmi', '-f', `benchbuild-svc${i}`);

  // hashing speed: a 256 MB context of 64 files
  const big = tmpDir('hash-256mb');
  for (let i = 0; i < 64; i++) writeFileSync(join(big, `blob${i}.bin`), randomBytes(4 * 1024 * 1024));
  writeFileSync(join(big, 'Dockerfile'), `FROM ${IMAGE}\n`);
  const { listContext, sourceHash } = await import(new URL('../dist/build/context.js', import.meta.url).href);
  sourceHash(listContext(big, 'Dockerfile'), { dockerfile: '' }); // warm the page cache
  const times = [];
  for (let i = 0; i < 3; i++) {
    const t0 = process.hrtime.bigint();
    sourceHash(listContext(big, 'Dockerfile'), { dockerfile: '' });
    times.push(Number(process.hrtime.bigint() - t0) / 1e9);
  }
  times.sort((a, b) => a - b);
  const mbps = 256 / times[1];
  line(`context hashing (256 MB, 64 files, warm cache)      ${mbps.toFixed(0)} MB/s (target >= 200 MB/s)${mbps >= 200 ? '  ok' : '  MISSED'}`);
  if (mbps < 200) misses++;

  // 4 independent builds: in parallel vs one after another (same tool, no cache)
  const four = tmpDir('build-4');
  let compose = 'services:\n';
  for (let i = 0; i < 4; i++) {
    mkdirSync(join(four, `b${i}`));
    writeFileSync(join(four, `b${i}`, 'Dockerfile'), `FROM ${IMAGE}\nRUN sleep 1 && dd if=/dev/zero of=/blob bs=1M count=8 2>/dev/null && echo ${i}\nRUN sleep 1 && rm /blob\n`);
    compose += `  b${i}:\n    build: ./b${i}\n    image: benchbuild-four${i}\n`;
  }
  writeFileSync(join(four, 'docker-compose.yml'), compose);
  const par = measure(N, () => run(DOCKYARD, ['-p', 'benchfour', 'build', '--no-cache', '--parallel', '4'], { cwd: four }));
  const seq = measure(N, () => run(DOCKYARD, ['-p', 'benchfour', 'build', '--no-cache', '--parallel', '1'], { cwd: four }));
  const speedup = seq.seconds / par.seconds;
  line(`4 independent builds: parallel ${par.seconds.toFixed(2)}s, one after another ${seq.seconds.toFixed(2)}s, speed-up ${speedup.toFixed(2)}x (target >= 1.5x)${speedup >= 1.5 ? '  ok' : '  MISSED'}`);
  if (speedup < 1.5) misses++;
  for (let i = 0; i < 4; i++) docker('rmi', '-f', `benchbuild-four${i}`);
  void ROOT;
  return misses;
}
