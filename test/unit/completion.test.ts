/** Shell completion: commands, flags, option values and the project's services (issue 28). */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildProgram } from '../../src/cli/program.js';
import { complete, completionScript } from '../../src/cli/completion.js';
import { CLI, cleanupTrees, tree } from '../helpers/fs.js';

afterAll(cleanupTrees);

const dir = tree({
  'compose.yaml': 'services:\n  web:\n    image: x\n  db:\n    image: x\n  job:\n    image: x\n    profiles: [tools]\n',
  'other/stack.yaml': 'services:\n  api:\n    image: x\n    profiles: [debug]\n',
  'notes.txt': '',
});
const values = (words: string[], cwd = dir) => complete(buildProgram(), words, { cwd }).candidates.map((c) => c.value);
const at = (words: string[]) => complete(buildProgram(), words, { cwd: dir });

describe('completion answers', () => {
  it('commands, with their descriptions; hidden ones left out', () => {
    const c = at(['lo']);
    expect(c.candidates).toEqual([{ value: 'logs', description: 'show the output of containers' }]);
    const all = values(['']);
    for (const cmd of ['up', 'down', 'ps', 'logs', 'exec', 'run', 'config', 'lint', 'completion', 'env']) expect(all).toContain(cmd);
    expect(all).not.toContain('__complete');
    // subcommands
    expect(values(['env', ''])).toEqual(expect.arrayContaining(['acquire', 'release', 'ls', 'gc']));
    expect(values(['registry', 'p'])).toEqual(['prune']);
  });

  it("flags: the command's own and the global ones", () => {
    const up = values(['up', '--']);
    for (const f of ['--detach', '--wait', '--wait-timeout', '--build', '--no-attach', '--file', '--profile', '--ansi', '--help']) expect(up).toContain(f);
    expect(up).not.toContain('--skip-attach');
    expect(values(['logs', '-'])).toEqual(expect.arrayContaining(['-f', '--follow', '-t', '--timestamps']));
    expect(values(['ps', '--fo'])).toEqual(['--format']);
    expect(values(['--pro'])).toEqual(['--project-name', '--project-directory', '--profile', '--progress']);
  });

  it("service names from the project, those under profiles too, for every command that takes services", () => {
    for (const cmd of ['logs', 'ps', 'stop', 'start', 'restart', 'rm', 'kill', 'pull', 'push', 'build', 'up', 'create', 'exec', 'run', 'port', 'top', 'wait', 'pause', 'images', 'events', 'watch']) {
      expect([cmd, values([cmd, ''])]).toEqual([cmd, ['db', 'job', 'web']]);
    }
    expect(values(['logs', '-f', 'w'])).toEqual(['web']);
    expect(values(['logs', 'web', ''])).toEqual(['db', 'job', 'web']);
    // exec: the service, then the command (the shell's files)
    expect(at(['exec', 'web', '']).directive).toBe('files');
    expect(values(['scale', ''])).toEqual(['db=', 'job=', 'web=']);
    expect(at(['scale', '']).directive).toBe('nospace');
    expect(values(['cp', ''])).toEqual(['db:', 'job:', 'web:']);
    expect(at(['cp', '']).directive).toBe('files');
  });

  it('the project the line names: -f, --project-directory (its services and profiles)', () => {
    expect(values(['-f', 'other/stack.yaml', 'logs', ''])).toEqual(['api']);
    expect(values(['logs', '--file=other/stack.yaml', ''])).toEqual(['api']);
    expect(values(['--project-directory', 'other', '-f', 'other/stack.yaml', 'stop', ''])).toEqual(['api']);
    expect(values(['--profile', ''])).toEqual(['tools']);
    expect(values(['-f', 'other/stack.yaml', '--profile', 'd'])).toEqual(['debug']);
    // no project here (nor above): no names, no error
    expect(values(['logs', ''], tree({ 'readme.txt': '' }))).toEqual([]);
  });

  it("option values: fixed lists, services, files", () => {
    expect(values(['--ansi', ''])).toEqual(['auto', 'always', 'never']);
    expect(values(['--ansi=al'])).toEqual(['--ansi=always']);
    expect(values(['up', '--pull', 'm'])).toEqual(['missing']);
    expect(values(['up', '--exit-code-from', ''])).toEqual(['db', 'job', 'web']);
    expect(values(['config', '--format', ''])).toEqual(['yaml', 'json']);
    expect(values(['lint', '--format', ''])).toEqual(['text', 'json', 'sarif']);
    expect(values(['kill', '-s', 'SIGT'])).toEqual(['SIGTERM']);
    expect(at(['-f', '']).directive).toBe('files');
    expect(at(['--project-directory', '']).directive).toBe('dirs');
    expect(values(['completion', ''])).toEqual(['bash', 'zsh', 'fish']);
  });

  it('scripts for bash, zsh and fish ask __complete; another shell is refused', () => {
    expect(completionScript('bash')).toMatch(/__complete .*\ncomplete -o bashdefault -F _dockyard dockyard\n$/s);
    expect(completionScript('zsh')).toMatch(/^#compdef dockyard\n[\s\S]*__complete[\s\S]*compdef _dockyard dockyard/);
    expect(completionScript('fish')).toMatch(/__complete[\s\S]*complete -c dockyard -f -a '\(__dockyard_complete\)'/);
    expect(() => completionScript('tcsh')).toThrow(/no completion for the shell "tcsh"/);
  });
});

describe('bash, for real', () => {
  // a `dockyard` on PATH that runs the built CLI, and bash running the script at a TAB
  const bin = tree({ dockyard: `#!/bin/sh\nexec '${process.execPath}' '${CLI}' "$@"\n` });
  chmodSync(join(bin, 'dockyard'), 0o755);
  const script = join(bin, 'dockyard.bash');
  writeFileSync(script, completionScript('bash'));
  /** COMP_WORDS as bash makes them: blanks separate words, = and : are words of their own */
  const bashWords = (line: string) => {
    const words = line.split(/\s+/).filter(Boolean).flatMap((w) => w.split(/([=:])/).filter((x) => x !== ''));
    if (/\s$/.test(line)) words.push('');
    return words.map((w) => `'${w}'`).join(' ');
  };
  /** COMPREPLY for each line typed so far, from one bash (asynchronously: the worker keeps answering vitest) */
  const tab = async (lines: string[]): Promise<string[][]> => {
    const calls = lines.map((l) => `COMP_LINE='${l}'; COMP_POINT=\${#COMP_LINE}; COMP_WORDS=(${bashWords(l)}); COMP_CWORD=$(( \${#COMP_WORDS[@]} - 1 )); _dockyard; printf '%s\\n' "\${COMPREPLY[@]}" '--'`);
    const { stdout } = await promisify(execFile)('bash', ['-c', `source '${script}'\n${calls.join('\n')}`], { cwd: dir, env: { PATH: `${bin}:${process.env.PATH}`, HOME: process.env.HOME ?? '/root' } });
    return stdout.split('--\n').slice(0, -1).map((block) => block.split('\n').filter(Boolean));
  };

  it('completes commands, services, flags and values after = and :', async () => {
    const lines = ['dockyard lo', 'dockyard stop w', 'dockyard --ansi=al', 'dockyard --ansi=', 'dockyard -f other/stack.yaml logs ', 'dockyard cp w', 'dockyard cp no'];
    expect(await tab(lines)).toEqual([['logs'], ['web'], ['always'], ['=auto', '=always', '=never'], ['api'], ['web:'], ['notes.txt']]);
  }, 120_000);
});
