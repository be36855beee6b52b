// lint: 1,000 files (Dockerfiles and Compose files of the fixture corpus, copied) in one run.
import { copyFileSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { DOCKYARD, RUNS, figure, line, repeat, run, tmpDir } from './lib.mjs';

export async function benchLint() {
  line('\n## lint');
  const dir = tmpDir('lint');
  const src = new URL('../test/lint/fixtures/', import.meta.url).pathname;
  const files = readdirSync(src).filter((f) => f.endsWith('.Dockerfile') || f.endsWith('.compose.yaml'));
  let n = 0;
  for (let i = 0; n < 1000; i++) {
    const d = join(dir, `p${i}`);
    mkdirSync(d);
    for (const f of files) {
      if (n >= 1000) break;
      copyFileSync(join(src, f), join(d, f.endsWith('.yaml') ? `compose-${f}` : f));
      n++;
    }
  }
  let found;
  const r = await repeat(() => {
    const x = run(DOCKYARD, ['lint', '--fail-on', 'none', '--format', 'json', dir], { cwd: dir });
    found = JSON.parse(x.stdout).findings.length;
    return x;
  });
  figure({ id: 'lint.1000', name: '1,000 files linted', value: r.seconds, unit: 's', runs: RUNS, mark: { max: 1 }, detail: `${found} findings` });
}
