// lint: 1,000 files (Dockerfiles and Compose files of the fixture corpus, copied) in one run.
import { copyFileSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { DOCKYARD, line, run, tmpDir } from './lib.mjs';

export function benchLint() {
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
  const r = run(DOCKYARD, ['lint', '--fail-on', 'none', '--format', 'json', dir], { cwd: dir });
  const found = JSON.parse(r.stdout).findings.length;
  const ok = r.seconds <= 2;
  line(`1,000 files linted in ${r.seconds.toFixed(2)} s (target <= 2 s) ${ok ? 'ok' : 'MISSED'}; ${found} findings`);
  return ok ? 0 : 1;
}
