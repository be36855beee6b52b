// consolidate: 50 Compose files of 50 services each (environments built from a shared base and a
// few recurring changes, as real sprawl is: debug logging in half of them, hardening in a fifth,
// published ports in a seventh, a label of their own in a tenth), factored into three tiers and
// proven in one run. Checked: under 3 s, every original proven, at most 3 cross-cutting overlays,
// at most 4 files per original.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DOCKYARD, line, run, tmpDir } from './lib.mjs';

export function benchConsolidate() {
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
  const r = run(DOCKYARD, ['consolidate', dir], { cwd: dir });
  const proven = [...r.stdout.matchAll(/^proven: \S+ = (.*)$/gm)].map((m) => m[1].split(' --profile')[0].split(' + ').length);
  const cross = (r.stdout.match(/^ {2}cross-cutting: /gm) ?? []).length;
  const envs = (r.stdout.match(/^ {2}environment: /gm) ?? []).length;
  const summary = /^Compose: .*$/m.exec(r.stdout)?.[0] ?? r.stderr.trim();
  const most = Math.max(0, ...proven);
  const ok = r.seconds <= 3 && proven.length === 50 && cross <= 3 && most <= 4;
  line(`50 files x 50 services consolidated and proven in ${r.seconds.toFixed(2)} s (target <= 3 s) ${ok ? 'ok' : 'MISSED'}; ${proven.length}/50 proven; ${summary}; base + ${envs} environment and ${cross} cross-cutting overlays (<= 3), at most ${most} files per original (<= 4)`);
  return ok ? 0 : 1;
}
