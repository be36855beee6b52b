// `config` on a small 5-service project and on 1,000 services in two layered files.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { COMPOSE_V1, DOCKYARD, line, measure, report, run, tmpDir } from './lib.mjs';

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

export function benchConfig() {
  line('\n## config');
  const small = tmpDir('config-small');
  writeFileSync(join(small, 'docker-compose.yml'), services(5, false).base);
  const big = tmpDir('config-1000');
  const s = services(1000, true);
  writeFileSync(join(big, 'docker-compose.yml'), s.base);
  writeFileSync(join(big, 'docker-compose.override.yml'), s.over);

  for (const [name, dir, n] of [['config, 5 services', small, 7], ['config, 1000 services in 2 layered files', big, 3]]) {
    run(DOCKYARD, ['config', '-q'], { cwd: dir }); // warm the file cache
    const ours = measure(n, () => run(DOCKYARD, ['config'], { cwd: dir }));
    const base = measure(n, () => run(COMPOSE_V1, ['config'], { cwd: dir }));
    report(name, ours, base, 0.33);
    if (dir === big) line(`  1000-service config: ${ours.seconds.toFixed(2)}s (target < 1s), peak ${ours.rssMb?.toFixed(0) ?? '?'}MB (target < 200MB)`);
  }
}
