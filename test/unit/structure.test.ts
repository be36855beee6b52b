/**
 * The code's shape, as issue 31 asks it to stay: no import circles among src/ modules (static or
 * dynamic imports), and no function over 80 lines in converge/, api/ and cli/ (a CLI command's
 * option declarations aside: the register* functions themselves, not the actions inside them).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'src');
const files = (dir: string): string[] => readdirSync(dir).flatMap((f) => (statSync(join(dir, f)).isDirectory() ? files(join(dir, f)) : f.endsWith('.ts') ? [join(dir, f)] : []));
const parse = (f: string) => ts.createSourceFile(f, readFileSync(f, 'utf8'), ts.ScriptTarget.Latest, true);

/** a module's imports of other src/ modules: import/export ... from, and import() */
function importsOf(file: string): string[] {
  const out: string[] = [];
  const visit = (n: ts.Node) => {
    let spec: string | undefined;
    if ((ts.isImportDeclaration(n) || ts.isExportDeclaration(n)) && n.moduleSpecifier && ts.isStringLiteral(n.moduleSpecifier)) {
      // type-only imports vanish at run time: no circle
      const typeOnly = ts.isImportDeclaration(n) ? n.importClause?.isTypeOnly : n.isTypeOnly;
      void typeOnly;
      spec = n.moduleSpecifier.text;
    } else if (ts.isCallExpression(n) && n.expression.kind === ts.SyntaxKind.ImportKeyword && n.arguments[0] && ts.isStringLiteral(n.arguments[0])) spec = n.arguments[0].text;
    if (spec?.startsWith('.')) out.push(resolve(dirname(file), spec.replace(/\.js$/, '.ts')));
    ts.forEachChild(n, visit);
  };
  visit(parse(file));
  return out;
}

describe('the code\'s shape', () => {
  it('no import circles among src/ modules', () => {
    const graph = new Map(files(SRC).map((f) => [f, importsOf(f)]));
    const circles: string[] = [];
    const state = new Map<string, 'open' | 'done'>();
    const stack: string[] = [];
    const walk = (f: string) => {
      state.set(f, 'open');
      stack.push(f);
      for (const g of graph.get(f) ?? []) {
        if (state.get(g) === 'open') circles.push([...stack.slice(stack.indexOf(g)), g].map((x) => relative(SRC, x)).join(' -> '));
        else if (!state.has(g)) walk(g);
      }
      stack.pop();
      state.set(f, 'done');
    };
    for (const f of graph.keys()) if (!state.has(f)) walk(f);
    expect(circles).toEqual([]);
  });

  it('no function over 80 lines in converge/, api/, cli/', () => {
    const long: string[] = [];
    for (const f of ['converge', 'api', 'cli'].flatMap((d) => files(join(SRC, d)))) {
      const src = parse(f);
      const visit = (n: ts.Node) => {
        if (ts.isFunctionLike(n) && (n as ts.FunctionLikeDeclarationBase).body) {
          const name = (n as ts.FunctionDeclaration).name?.getText() ?? '(anonymous)';
          const lines = src.getLineAndCharacterOfPosition(n.getEnd()).line - src.getLineAndCharacterOfPosition(n.getStart()).line + 1;
          if (lines > 80 && !/^register[A-Z]/.test(name)) long.push(`${relative(SRC, f)}:${src.getLineAndCharacterOfPosition(n.getStart()).line + 1} ${name} (${lines} lines)`);
        }
        ts.forEachChild(n, visit);
      };
      visit(src);
    }
    expect(long).toEqual([]);
  });
});
