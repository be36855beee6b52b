/**
 * Shell completion: `dockyard completion bash|zsh|fish` prints a script; the script asks
 * `dockyard __complete WORDS... CURRENT` at each TAB, which answers from the program itself (its
 * commands and flags, so completion never goes stale) and from the project the line names (-f, -p,
 * --project-directory, --env-file, --profile; services, profiles): one candidate a line, `value<TAB>
 * description`, then a directive line: `:files` (also file names), `:dirs`, `:nospace` or `:none`.
 */
import type { Command, Option } from 'commander';
import { DockyardError } from '../errors.js';
import { loadProject } from '../load/index.js';
import { loadOptionsFrom } from './common.js';
import type { GlobalOptions } from './common.js';

export type Directive = 'none' | 'files' | 'dirs' | 'nospace';
export interface Completions {
  candidates: Array<{ value: string; description?: string }>;
  directive: Directive;
}

/** The project's services (those under profiles too: naming one enables its profiles) and profiles; none if it does not load. */
export interface ProjectNames {
  services: string[];
  profiles: string[];
}

function projectNames(g: GlobalOptions, cwd?: string): ProjectNames {
  try {
    // no consistency checks, no engine: only the names, as quickly as the files load
    const p = loadProject(loadOptionsFrom(g, { consistency: false, onWarning: () => undefined, ...(cwd ? { workingDir: cwd } : {}) }));
    const all = { ...p.services, ...p.disabledServices };
    return { services: Object.keys(all).sort(), profiles: [...new Set(Object.values(all).flatMap((s) => s.profiles ?? []))].sort() };
  } catch {
    return { services: [], profiles: [] };
  }
}

const isHidden = (c: Command) => c.name().startsWith('__') || (c as unknown as { _hidden?: boolean })._hidden === true;
const visibleOptions = (c: Command) => c.options.filter((o) => !o.hidden);

/** Values some options take, by long name (and command where it matters). */
function optionValues(cmd: Command, long: string, names: () => ProjectNames): Completions | undefined {
  const list = (xs: string[], directive: Directive = 'none'): Completions => ({ candidates: xs.map((value) => ({ value })), directive });
  switch (long) {
    case '--file':
    case '--env-file':
    case '--output':
    case '--timeline-svg':
    case '--env-from-file':
      return list([], 'files');
    case '--project-directory':
    case '--out':
      return list([], 'dirs');
    case '--profile':
      return list(names().profiles);
    case '--ansi':
      return list(['auto', 'always', 'never']);
    case '--progress':
      return list(['auto', 'tty', 'plain', 'json', 'quiet']);
    case '--pull':
      return list(['always', 'missing', 'never', 'build']);
    case '--policy':
      return list(['always', 'missing']);
    case '--rmi':
      return list(['local', 'all']);
    case '--fail-on':
      return list(['error', 'warning', 'info', 'none']);
    case '--resolve-image':
      return list(['always', 'changed', 'never']);
    case '--signal':
      return list(['SIGTERM', 'SIGKILL', 'SIGINT', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2']);
    case '--status':
      return list(['paused', 'restarting', 'removing', 'running', 'dead', 'created', 'exited']);
    case '--attach':
    case '--skip-attach':
    case '--exit-code-from':
      return list(names().services);
    case '--scale':
      return list(names().services.map((s) => `${s}=`), 'nospace');
    case '--format': {
      const byCommand: Record<string, string[]> = { config: ['yaml', 'json'], lint: ['text', 'json', 'sarif'], version: ['pretty', 'json'], ls: ['table', 'json'] };
      return list(byCommand[cmd.name()] ?? ['table', 'json']);
    }
    default:
      return undefined;
  }
}

/** What the current word can be, given the words before it (everything after `dockyard`). */
export function complete(program: Command, words: string[], o: { cwd?: string } = {}): Completions {
  const cur = words.length ? words[words.length - 1]! : '';
  const before = words.slice(0, -1);
  let cmd = program;
  let positional = 0;
  let pendingValue: Option | undefined;
  let dashdash = false;
  // the project the line names: -f, -p, --project-directory, --env-file, --profile
  const g: GlobalOptions = {};
  const record = (opt: Option, value: string) => {
    const key = opt.attributeName();
    if (key === 'file' || key === 'envFile' || key === 'profile') (g[key] ??= []).push(value);
    else if (key === 'projectName' || key === 'projectDirectory') g[key] = value;
  };
  const findOption = (flag: string) => cmd.options.find((x) => x.long === flag || x.short === flag) ?? program.options.find((x) => x.long === flag || x.short === flag);
  for (const w of before) {
    if (pendingValue) {
      record(pendingValue, w);
      pendingValue = undefined;
      continue;
    }
    if (!dashdash && w === '--') {
      dashdash = true;
      continue;
    }
    if (!dashdash && w.startsWith('-') && w.length > 1) {
      const eq = w.indexOf('=');
      const opt = findOption(eq > 0 ? w.slice(0, eq) : w);
      if (opt && eq > 0) record(opt, w.slice(eq + 1));
      else if (opt?.required) pendingValue = opt;
      continue;
    }
    const sub = positional === 0 ? cmd.commands.find((c) => !isHidden(c) && (c.name() === w || c.aliases().includes(w))) : undefined;
    if (sub) cmd = sub;
    else positional++;
  }
  let names: ProjectNames | undefined;
  const project = () => (names ??= projectNames(g, o.cwd));
  const filter = (c: Completions): Completions => ({ ...c, candidates: c.candidates.filter((x) => x.value.startsWith(cur)) });

  // the value of an option: --ansi al, or --ansi=al
  if (pendingValue) return filter(optionValues(cmd, pendingValue.long ?? '', project) ?? { candidates: [], directive: 'files' });
  if (!dashdash && /^--[^=]+=/.test(cur)) {
    const flag = cur.slice(0, cur.indexOf('='));
    const opt = findOption(flag);
    const values = opt ? optionValues(cmd, opt.long ?? '', project) : undefined;
    const prefixed = { candidates: (values?.candidates ?? []).map((c) => ({ ...c, value: `${flag}=${c.value}` })), directive: values?.directive ?? 'none' };
    return filter(prefixed);
  }
  // flags
  if (!dashdash && cur.startsWith('-')) {
    const opts = [...visibleOptions(cmd), ...(cmd === program ? [] : visibleOptions(program).filter((p) => !cmd.options.some((x) => x.long === p.long)))];
    const candidates = opts.flatMap((x) => {
      const long = x.long?.replace(/^--skip-attach$/, '--no-attach');
      return [...(long ? [{ value: long, description: x.description }] : []), ...(x.short && cur.length <= 2 && !cur.startsWith('--') ? [{ value: x.short, description: x.description }] : [])];
    });
    if (cmd === program) candidates.push({ value: '--help', description: 'show help' }, { value: '--version', description: 'show the version' });
    else candidates.push({ value: '--help', description: 'show help' });
    return filter({ candidates, directive: 'none' });
  }
  // subcommands
  const subs = cmd.commands.filter((c) => !isHidden(c));
  if (subs.length && positional === 0) {
    return filter({ candidates: subs.map((c) => ({ value: c.name(), description: c.description() })), directive: 'none' });
  }
  // arguments
  return filter(argumentValues(cmd, positional, cur, project));
}

function argumentValues(cmd: Command, positional: number, cur: string, project: () => ProjectNames): Completions {
  const args = cmd.registeredArguments;
  const arg = args[Math.min(positional, args.length - 1)];
  const none: Completions = { candidates: [], directive: 'none' };
  if (!arg || (positional >= args.length && !arg.variadic)) return none;
  const name = arg.name();
  const services = () => project().services.map((value) => ({ value }));
  switch (cmd.name()) {
    case 'cp':
      // SERVICE:PATH or a local path
      return cur.includes(':') ? none : { candidates: project().services.map((s) => ({ value: `${s}:` })), directive: 'files' };
    case 'scale':
      return { candidates: project().services.map((s) => ({ value: `${s}=` })), directive: 'nospace' };
    case 'convert':
      return { candidates: [{ value: 'k8s', description: 'Kubernetes manifests' }], directive: 'none' };
    case 'completion':
      return { candidates: ['bash', 'zsh', 'fish'].map((value) => ({ value })), directive: 'none' };
    case 'deploy':
      return positional === 0 ? { candidates: [{ value: 'ls' }, { value: 'ps' }, { value: 'rm' }], directive: 'none' } : none;
    case 'lint':
      return { candidates: [], directive: 'files' };
  }
  if (/^services?\b/.test(name)) return { candidates: services(), directive: 'none' };
  // exec's and run's command, commit's repository...: the shell's own
  return { candidates: [], directive: 'files' };
}

/** The answer to `__complete`, as the scripts read it. */
export function printCompletions(c: Completions): void {
  process.stdout.write(`${c.candidates.map((x) => (x.description ? `${x.value}\t${x.description.replace(/\s+/g, ' ')}` : x.value)).join('\n')}${c.candidates.length ? '\n' : ''}:${c.directive}\n`);
}

const BASH = `# dockyard completion for bash: source <(dockyard completion bash)
_dockyard() {
  local line="\${COMP_LINE:0:COMP_POINT}" cur="\${COMP_WORDS[COMP_CWORD]}"
  local -a words out
  # words as the shell splits them on blanks (bash's own COMP_WORDS also splits on : and =)
  read -ra words <<< "$line"
  [[ "$line" =~ [[:space:]]$ ]] && words+=("")
  local IFS=$'\\n'
  out=($("\${words[0]}" __complete "\${words[@]:1}" 2>/dev/null))
  local directive="\${out[\${#out[@]}-1]}"
  unset "out[\${#out[@]}-1]"
  COMPREPLY=()
  local c full="\${words[\${#words[@]}-1]}"
  for c in "\${out[@]}"; do COMPREPLY+=("\${c%%$'\\t'*}"); done
  # web: (cp) and web= (scale) go on with no space
  [[ "\${COMPREPLY[*]}" =~ [:=]($|[[:space:]]) ]] && compopt -o nospace 2>/dev/null
  case "$directive" in
    :files) COMPREPLY+=($(compgen -f -- "$cur")) ;;
    :dirs) COMPREPLY+=($(compgen -d -- "$cur")) ;;
    :nospace) compopt -o nospace 2>/dev/null ;;
  esac
  # bash completes the part after the last : or = of the word: drop what comes before it
  local pre="\${full%"\${full##*[:=]}"}"
  if [[ -n "$pre" && "$cur" != "$full" ]]; then
    local i
    for i in "\${!COMPREPLY[@]}"; do COMPREPLY[i]="\${COMPREPLY[i]#"$pre"}"; done
    # right after the = or :, bash's word is that character itself
    if [[ "$cur" == [:=] ]]; then for i in "\${!COMPREPLY[@]}"; do COMPREPLY[i]="$cur\${COMPREPLY[i]}"; done; fi
  fi
}
complete -o bashdefault -F _dockyard dockyard
`;

const ZSH = `#compdef dockyard
# dockyard completion for zsh: source <(dockyard completion zsh), or save as _dockyard in your $fpath
_dockyard() {
  local -a lines described plain
  local line directive
  lines=("\${(@f)$("\${words[1]}" __complete "\${(@)words[2,CURRENT]}" 2>/dev/null)}")
  directive="\${lines[-1]}"
  lines=("\${(@)lines[1,-2]}")
  for line in "\${lines[@]}"; do
    [[ -z "$line" ]] && continue
    if [[ "$line" == *$'\\t'* ]]; then
      described+=("\${\${line%%$'\\t'*}//:/\\\\:}:\${line#*$'\\t'}")
    else
      [[ "$line" == *[:=] ]] && compadd -S '' -- "$line" || plain+=("$line")
    fi
  done
  local -a nospace
  [[ "$directive" == :nospace ]] && nospace=(-S '')
  (( \${#described} )) && _describe -t dockyard 'dockyard' described "\${nospace[@]}"
  (( \${#plain} )) && compadd "\${nospace[@]}" -- "\${plain[@]}"
  case "$directive" in
    :files) _files ;;
    :dirs) _files -/ ;;
  esac
}
if [[ "$funcstack[1]" == _dockyard ]]; then _dockyard "$@"; else compdef _dockyard dockyard; fi
`;

const FISH = `# dockyard completion for fish: dockyard completion fish | source
function __dockyard_complete
    set -l words (commandline -opc)
    # the word being typed, also when it is empty (a quoted empty list is one empty string)
    set -l cur (commandline -ct)
    set -l cmd $words[1]
    set -e words[1]
    set -l out (command $cmd __complete $words "$cur" 2>/dev/null)
    set -l directive $out[-1]
    set -e out[-1]
    for line in $out
        echo $line
    end
    switch $directive
        case :files
            __fish_complete_path (commandline -ct)
        case :dirs
            __fish_complete_directories (commandline -ct)
    end
end
complete -c dockyard -f -a '(__dockyard_complete)'
`;

/** The completion script of a shell. */
export function completionScript(shell: string): string {
  const s = { bash: BASH, zsh: ZSH, fish: FISH }[shell];
  if (!s) throw new DockyardError('USAGE', `no completion for the shell "${shell}"`, { hint: 'bash, zsh or fish' });
  return s;
}

export function registerCompletion(program: Command): void {
  program
    .command('completion')
    .description('print the shell completion script: bash (source <(dockyard completion bash)), zsh, fish (dockyard completion fish | source)')
    .argument('<shell>', 'bash, zsh or fish')
    .action((shell: string) => void process.stdout.write(completionScript(shell)));
}
