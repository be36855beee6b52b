import { describe, expect, it } from 'vitest';
import { substitute } from '../../src/load/interpolate.js';
import { parseDotenv } from '../../src/load/dotenv.js';

const env: Record<string, string> = { A: 'a', EMPTY: '', N: '3' };
const look = (k: string) => env[k];

describe('interpolation', () => {
  it.each([
    ['$A', 'a'],
    ['${A}', 'a'],
    ['x${A}y$A', 'xaya'],
    ['${MISSING}', ''],
    ['${MISSING:-def}', 'def'],
    ['${EMPTY:-def}', 'def'],
    ['${EMPTY-def}', ''],
    ['${MISSING-def}', 'def'],
    ['${A:+rep}', 'rep'],
    ['${EMPTY:+rep}', ''],
    ['${EMPTY+rep}', 'rep'],
    ['${MISSING+rep}', ''],
    ['${MISSING:-${A}}', 'a'],
    ['${MISSING:-${ALSO:-deep-$N}}', 'deep-3'],
    ['$$A', '$A'],
    ['$${A}', '${A}'],
    ['cost $ 5', 'cost $ 5'],
    ['${A:?must}', 'a'],
  ])('%s -> %s', (tpl, want) => {
    expect(substitute(tpl, look)).toBe(want);
  });

  it('fails on required variables with their message', () => {
    expect(() => substitute('${MISSING:?set it please}', look)).toThrow('required variable MISSING is missing a value: set it please');
    expect(() => substitute('${EMPTY:?}', look)).toThrow('required variable EMPTY is missing a value');
    expect(substitute('${EMPTY?}', look)).toBe('');
    expect(() => substitute('${MISSING?x}', look)).toThrow(/MISSING/);
  });

  it.each(['${}', '${ A}', '${A', '${A:x}', '${1A}', '${A:-x'])('rejects the invalid template %s', (tpl) => {
    expect(() => substitute(tpl, look)).toThrow(/invalid|missing closing/);
  });
});

describe('dotenv', () => {
  it('follows the Compose rules', () => {
    const text = [
      '# comment',
      'PLAIN=value',
      'export EXPORTED=yes',
      'SPACED =  padded value  ',
      "SINGLE='literal $A \\n'",
      'DOUBLE="line1\\nline2 \\"q\\" $A"',
      'MULTI="first',
      'second"',
      'INLINE=val # comment',
      'HASH=val#notcomment',
      'EMPTY=',
      'REF=${PLAIN}-x',
      'DEFAULTED=${NOPE:-dflt}',
      'COLON: colon',
      'DOLLAR="\\$A"',
      'INHERIT',
      'QUOTED_COMMENT="v" # trailing',
    ].join('\n');
    const out = parseDotenv(text, '.env', (k) => ({ A: 'shell', INHERIT: 'from-shell' })[k]);
    expect(out).toEqual({
      PLAIN: 'value',
      EXPORTED: 'yes',
      SPACED: 'padded value',
      SINGLE: 'literal $A \\n',
      DOUBLE: 'line1\nline2 "q" shell',
      MULTI: 'first\nsecond',
      INLINE: 'val',
      HASH: 'val#notcomment',
      EMPTY: '',
      REF: 'value-x',
      DEFAULTED: 'dflt',
      COLON: 'colon',
      DOLLAR: '$A',
      INHERIT: 'from-shell',
      QUOTED_COMMENT: 'v',
    });
  });

  it('lets the environment win over earlier lines when interpolating', () => {
    expect(parseDotenv('X=file\nY=$X', '.env', (k) => (k === 'X' ? 'shell' : undefined))).toEqual({ X: 'file', Y: 'shell' });
  });

  it('reports an unterminated quote with its line', () => {
    expect(() => parseDotenv('A=1\nB="open', '/p/.env')).toThrow(/unterminated double-quoted value for B/);
  });
});
