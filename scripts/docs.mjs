// npm run docs: writes the generated documentation pages (after npm run build).
import { writeFileSync } from 'node:fs';
import { rulesPage } from '../dist/lint/docs.js';

writeFileSync(new URL('../docs/lint-rules.md', import.meta.url), rulesPage());
console.log('wrote docs/lint-rules.md');
