// `config` on a small 5-service project and on 1,000 services in two layered files.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { COMPOSE_V1, DOCKYARD, RUNS, figure, line, run, sideBySide, tmpDir } from './lib.mjs';

function services(n, override) {
  let base = 'services:\n';
  let over = 'services:\n';
  for (let i = 0; i < n; i++) {
    base += `  svc${i}:\n    image: "busybox:\${TAG:-1}"\n    command: ["sh", "-c", "echo ${i}"]\n    environment:\n      INDEX: "${i}"\n      MODE: base\n    ports:\n      - "${10000 + i}:80"\n    volumes:\n      - ./data/${i}:/data\n    labels:\n      team: shop\n`;
    if (i > 0) base += `    depends_on: [svc${i - 1}]\n`;
    if (override) over += `  svc${i}:\n    environment:\n      MODE: override\n    labels:\n      tier: "${i % 3}"\n`;
  }
  return { base, over };
}

export async function benchConfig() {
  line('\n## config');
  const small = tmpDir('config-small');
  writeFileSync(join(small, 'docker-compose.yml'), services(5, false).base);
  const big = tmpDir('config-1000');
  const s = services(1000, true);
  writeFileSync(join(big, 'docker-compose.yml'), s.base);
  writeFileSync(join(big, 'docker-compose.override.yml'), s.over);

  for (const [id, name, dir] of [['config.5', 'config, 5 services', small], ['config.1000', 'config, 1000 services in 2 layered files', big]]) {
    // interleaved, each side warmed once (the file cache, Python's and Node's compile caches)
    const r = await sideBySide({
      ours: () => run(DOCKYARD, ['config'], { cwd: dir }),
      base: () => run(COMPOSE_V1, ['config'], { cwd: dir }),
    });
    figure({ id, name, value: r.ours.seconds, baseline: r.base.seconds, unit: 's', runs: RUNS, mark: { max: 0.33, of: 'baseline' }, samples: { dockyard: r.ours.samples, baseline: r.base.samples } });
    if (dir === big) {
      figure({ id: 'config.1000.time', name: 'config, 1000 services (time)', value: r.ours.seconds, unit: 's', runs: RUNS, mark: { max: 1 } });
      figure({ id: 'config.1000.rss', name: 'config, 1000 services (peak memory)', value: r.ours.rssMb ?? NaN, unit: 'MB', runs: RUNS, mark: { max: 200 } });
    }
  }
}
