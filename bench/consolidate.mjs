// consolidate: 50 Compose files of 50 services each (environments built from a shared base and a
// few recurring changes, as real sprawl is: debug logging in half of them, hardening in a fifth,
// published ports in a seventh, a label of their own in a tenth), factored into three tiers and
// proven in one run. Checked: under 3 s, every original proven, at most 3 cross-cutting overlays,
// at most 4 files per original.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DOCKYARD, RUNS, figure, line, repeat, run, tmpDir } from './lib.mjs';

export async function benchConsolidate() {
  line('\n## consolidate');
  const dir = tmpDir('consolidate');
  for (let e = 0; e < 50; e++) {
    const lines = ['services:'];
    for (let s = 0; s < 50; s++) {
      lines.push(`  svc${s}:`, `    image: example/svc${s}:1.${s}`, '    environment:', '      COMMON: "yes"', `      ROLE: svc${s}`);
      if (e % 2 === 0) lines.push('      LOG_LEVEL: debug');
      if (e % 5 === 0) lines.push('    read_only: true', '    cap_drop: [ALL]');
      if (e % 7 === 0 && s % 3 === 0) lines.push(`    ports: ["${10000 + s}:80"]`);
      if (e % 10 === 3) lines.push(`    labels: { env: "e${e}" }`);
    }
    writeFileSync(join(dir, `compose.e${e}.yaml`), `${lines.join('\n')}\n`);
  }
  let out;
  const r = await repeat(() => (out = run(DOCKYARD, ['consolidate', dir], { cwd: dir })));
  const proven = [...out.stdout.matchAll(/^proven: \S+ = (.*)$/gm)].map((m) => m[1].split(' --profile')[0].split(' + ').length);
  const cross = (out.stdout.match(/^ {2}cross-cutting: /gm) ?? []).length;
  const envs = (out.stdout.match(/^ {2}environment: /gm) ?? []).length;
  const summary = /^Compose: .*$/m.exec(out.stdout)?.[0] ?? out.stderr.trim();
  const most = Math.max(0, ...proven);
  figure({ id: 'consolidate.50x50', name: '50 files x 50 services consolidated and proven', value: r.seconds, unit: 's', runs: RUNS, mark: { max: 1.5 }, detail: `${summary}; base + ${envs} environment overlays` });
  figure({ id: 'consolidate.50x50.proven', name: 'consolidate 50 x 50: originals proven', value: proven.length, unit: 'count', mark: { min: 50 } });
  figure({ id: 'consolidate.50x50.cross', name: 'consolidate 50 x 50: cross-cutting overlays', value: cross, unit: 'count', mark: { max: 3 } });
  figure({ id: 'consolidate.50x50.files', name: 'consolidate 50 x 50: most files per original', value: most, unit: 'count', mark: { max: 4 } });
}
