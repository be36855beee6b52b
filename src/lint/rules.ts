/** The rule catalogue: stable ids, category, default severity, one-line message, explanation. */

export type Severity = 'error' | 'warning' | 'info';
export type Category = 'security' | 'cache' | 'reliability' | 'hygiene';

export interface Rule {
  id: string;
  category: Category;
  severity: Severity;
  /** what a finding says */
  message: string;
  /** why, and what to do instead */
  explain: string;
  /** hadolint / Docker build check / dclint rules it covers */
  covers?: string;
}

const r = (id: string, category: Category, severity: Severity, message: string, explain: string, covers?: string): Rule => ({ id, category, severity, message, explain, covers });

export const RULES: Rule[] = [
  // --- Dockerfiles ---------------------------------------------------------------------------
  r('DY101', 'reliability', 'warning', 'the base image has no tag, or the tag latest', 'A base image without a pinned tag changes under you: builds stop being reproducible and can break without a change of yours. Pin a version (node:20.11-bookworm), or a digest.', 'hadolint DL3006, DL3007; Docker build check (none); dclint no-unbound-image-tag (images)'),
  r('DY102', 'hygiene', 'warning', 'MAINTAINER is deprecated', 'MAINTAINER was replaced by a label: LABEL org.opencontainers.image.authors="..."', 'hadolint DL4000; Docker MaintainerDeprecated'),
  r('DY103', 'security', 'warning', 'ADD of a local file: use COPY', 'ADD also fetches URLs and unpacks archives, which makes what it does depend on its argument. For local files and folders COPY does exactly that and nothing more.', 'hadolint DL3020'),
  r('DY104', 'reliability', 'warning', 'CMD / ENTRYPOINT in shell form', 'In shell form the process runs under /bin/sh -c: it is not PID 1 and does not receive SIGTERM, so stops wait for the kill timeout. Use the JSON form: CMD ["node", "server.js"].', 'Docker JSONArgsRecommended; hadolint DL3025'),
  r('DY105', 'reliability', 'warning', 'WORKDIR with a relative path', 'A relative WORKDIR depends on every WORKDIR before it. Use an absolute path.', 'hadolint DL3000; Docker WorkdirRelativePath'),
  r('DY106', 'hygiene', 'warning', 'cd in RUN: use WORKDIR', 'A cd lasts for one RUN only and hides where later instructions run. WORKDIR sets it for what follows, visibly.', 'hadolint DL3003'),
  r('DY107', 'reliability', 'error', 'COPY --from names no earlier stage', 'COPY --from must name a stage defined above (FROM ... AS name), a stage index, or an image reference. A typo here pulls an image of that name instead.', 'hadolint DL3022, DL3023; Docker UndefinedVar (stages)'),
  r('DY108', 'cache', 'info', 'apt-get install without --no-install-recommends', 'Recommended packages make images larger and slower to build; name what you need.', 'hadolint DL3015'),
  r('DY109', 'cache', 'info', 'apt-get install leaves /var/lib/apt/lists', 'Remove the package lists in the same RUN (&& rm -rf /var/lib/apt/lists/*): in a later RUN they are already in a layer.', 'hadolint DL3009'),
  r('DY110', 'cache', 'warning', 'apt-get update in a RUN of its own', 'A cached "apt-get update" layer makes a later install use stale lists. Update and install in the same RUN.', 'hadolint DL3009 (cache), Docker best practices'),
  r('DY111', 'reliability', 'warning', 'apt-get install without -y', 'Without -y (or --yes) the build stops at the prompt.', 'hadolint DL3014'),
  r('DY112', 'cache', 'info', 'pip install without --no-cache-dir', "pip's download cache ends up in the image.", 'hadolint DL3042'),
  r('DY113', 'reliability', 'info', 'npm install in an image: use npm ci', 'npm ci installs exactly the lockfile, fails when it is out of date, and is faster.', 'hadolint DL3016 (pinning)'),
  r('DY114', 'security', 'warning', 'sudo in RUN', 'RUN already runs as the image user; sudo adds a setuid binary and TTY behaviour for nothing. Switch with USER.', 'hadolint DL3004'),
  r('DY115', 'security', 'warning', 'the image runs as root', 'No USER in the final stage (or USER root): a process that escapes the container is root on the host side of the mapping. Add a user and switch to it.', 'hadolint DL3002; seed checklist (non-root users)'),
  r('DY116', 'reliability', 'info', 'no HEALTHCHECK in the final stage', 'Without a health check, nothing can wait for the service to be ready (depends_on: service_healthy, --wait).', 'seed checklist (health checks)'),
  r('DY117', 'security', 'error', 'a secret in ENV or ARG', 'ENV and ARG values are kept in the image and its history. Pass secrets at run time, or use build secrets.', 'Docker SecretsUsedInArgOrEnv'),
  r('DY118', 'cache', 'warning', 'the whole context is copied before dependencies are installed', 'COPY . before npm ci / pip install -r / go mod download invalidates the dependency layer on every source change. Copy the manifests first, install, then copy the rest.', 'seed checklist (cache-friendly layer order)'),
  r('DY119', 'reliability', 'warning', 'a pipe in RUN without pipefail', 'Without set -o pipefail (or SHELL ["/bin/bash", "-o", "pipefail", "-c"]) a failing command before | goes unnoticed.', 'hadolint DL4006'),
  r('DY120', 'reliability', 'warning', 'more than one CMD or ENTRYPOINT in a stage', 'Only the last one counts.', 'hadolint DL4003, DL4004; Docker MultipleInstructionsDisallowed'),
  r('DY121', 'reliability', 'error', 'EXPOSE of an invalid port', 'Ports are 1 to 65535, with an optional /tcp or /udp.', 'hadolint DL3011; Docker ExposeInvalidFormat'),
  r('DY122', 'cache', 'info', 'apk add without --no-cache', "apk's index stays in the image.", 'hadolint DL3019'),
  r('DY123', 'hygiene', 'warning', 'FROM stage names should be lower case and unique', 'Stage names are case-insensitive in places and duplicates make COPY --from ambiguous.', 'Docker StageNameCasing, DuplicateStageName; hadolint DL3024'),
  r('DY124', 'reliability', 'warning', 'apt-get upgrade in an image', 'Upgrading every package makes the image depend on the day it was built. Use a newer base image, or install the versions you need.', 'hadolint DL3005'),
  r('DY125', 'reliability', 'warning', 'more than one HEALTHCHECK in a stage', 'Only the last one counts.', 'hadolint DL3012'),
  r('DY126', 'reliability', 'warning', 'apt in a script: use apt-get', 'apt is meant for people: its output and interface are not stable for scripts.', 'hadolint DL3027'),
  r('DY127', 'reliability', 'warning', 'yum / dnf / zypper install without -y', 'Without -y (zypper: -n) the build stops at the prompt.', 'hadolint DL3030, DL3038, DL3034'),
  r('DY128', 'cache', 'info', 'yum / dnf install without clean all', 'Run yum clean all (dnf clean all) in the same RUN: the package cache stays in the layer otherwise.', 'hadolint DL3032, DL3040'),
  r('DY129', 'cache', 'info', 'yarn install without yarn cache clean', "yarn's cache ends up in the image.", 'hadolint DL3060'),
  r('DY130', 'reliability', 'error', 'an instruction before the first FROM', 'Only ARG (and parser directives) may come before FROM.', 'hadolint DL3061'),
  r('DY131', 'reliability', 'error', 'ONBUILD FROM or ONBUILD MAINTAINER', 'ONBUILD cannot trigger FROM or MAINTAINER.', 'hadolint DL3043'),
  r('DY132', 'hygiene', 'info', 'both wget and curl', 'One download tool is enough; two is more to install and patch.', 'hadolint DL4001'),
  r('DY133', 'reliability', 'error', 'COPY of several sources into a destination without a trailing /', 'With more than one source the destination must be a folder, written with a trailing slash (COPY a b /app/); the build fails otherwise.', 'hadolint DL3021'),
  r('DY134', 'reliability', 'warning', 'ENV refers to a variable set in the same ENV', 'Within one ENV instruction the variables it sets are not yet defined: ${X} reads the old value. Split it in two ENV instructions.', 'hadolint DL3044'),
  r('DY135', 'reliability', 'warning', 'COPY to a relative destination without WORKDIR', 'A relative destination is relative to the working folder, which the base image decides when the stage sets no WORKDIR. Set WORKDIR or use an absolute path.', 'hadolint DL3045'),
  r('DY136', 'reliability', 'warning', 'RUN replaces /bin/sh: use SHELL', 'Linking another shell over /bin/sh changes it for every later RUN and for the image\'s users, invisibly. SHELL ["/bin/bash", "-c"] says it where it applies.', 'hadolint DL4005'),
  r('DY137', 'cache', 'warning', 'useradd with a high UID without -l', 'Without -l (--no-log-init) useradd with a large UID writes a huge sparse /var/log/faillog and lastlog into the layer.', 'hadolint DL3046'),
  r('DY138', 'hygiene', 'warning', 'an invalid LABEL key', 'Label keys are lower-case alphanumerics with . and - (reverse DNS, e.g. org.opencontainers.image.source); other keys are rejected by tools that read them.', 'hadolint DL3048'),
  r('DY139', 'reliability', 'warning', 'zypper dist-upgrade in an image', 'Upgrading the whole distribution inside a build makes the image depend on the day it was built. Use a newer base image.', 'hadolint DL3035'),
  r('DY140', 'cache', 'info', 'zypper install without zypper clean', 'Run zypper clean in the same RUN, or the package cache stays in the layer.', 'hadolint DL3036'),
  // --- Compose files -------------------------------------------------------------------------
  r('DY200', 'reliability', 'error', 'the Compose file does not load', 'The loader reported an error (file, line, column and key path): nothing else of the project can be checked until it loads. A layer (an override, a file of COMPOSE_FILE, a file in overrides/) is loaded on top of its base, and a variable that is not set gets a placeholder: neither is an error here (see "Layers and variables" in docs/lint-rules.md).'),
  r('DY201', 'hygiene', 'warning', 'the top-level version is obsolete', 'Compose ignores version:; remove it.', 'dclint no-version-field'),
  r('DY202', 'reliability', 'warning', 'a fixed container_name', 'A fixed name prevents scaling and parallel copies of the project (tests, branches). Let the project name the container.', 'dclint no-explicit-container-name... (require-project-name-field)'),
  r('DY203', 'security', 'error', 'privileged: true', 'A privileged container has every capability and the host devices: it is root on the host. Grant the capability it needs instead (cap_add).', 'seed checklist (privileged)'),
  r('DY204', 'security', 'error', 'the Docker socket is mounted', 'Access to /var/run/docker.sock is root on the host. Avoid it, or use a socket proxy that allows only what is needed.', 'seed checklist (docker socket mounts)'),
  r('DY205', 'security', 'warning', 'network_mode: host', 'The container shares the host network: no isolation, and its ports collide with the host\'s and other projects\'.', 'seed checklist (host network)'),
  r('DY206', 'security', 'warning', 'pid: host', 'The container sees and can signal every process of the host.', 'seed checklist (host pid)'),
  r('DY207', 'security', 'error', 'cap_add: ALL', 'Every capability: as good as privileged. Add the ones the service needs.', 'seed checklist (cap_add: ALL)'),
  r('DY208', 'reliability', 'warning', 'an image without a tag, or latest', 'Pin the image version so that every environment runs the same thing.', 'dclint no-unbound-image-tag; hadolint DL3006 (images)'),
  r('DY209', 'security', 'error', 'a secret written in environment', 'A literal password, token or key in the Compose file ends up in version control and in docker inspect. Use ${VARIABLES} from a .env that is not committed, or secrets:.', 'seed checklist (secrets in environment)'),
  r('DY210', 'reliability', 'warning', 'an environment variable is set twice', 'Only one value counts; the other is a mistake waiting to happen.', 'dclint no-duplicate-... (environment)'),
  r('DY211', 'reliability', 'error', 'depends_on service_healthy on a service without a health check', 'The dependent waits forever (or until the timeout) for a health status that never comes. Give the dependency a healthcheck.', 'seed checklist (health checks)'),
  r('DY212', 'reliability', 'info', 'no log rotation', 'The json-file driver keeps logs without limit unless logging.options.max-size is set.', 'seed checklist (log rotation)'),
  r('DY213', 'reliability', 'info', 'no resource limits', 'Without deploy.resources.limits (or mem_limit), one service can starve the others.', 'seed checklist (resource limits)'),
  r('DY214', 'security', 'warning', 'a production service without hardening', 'In a production file, drop capabilities (cap_drop: [ALL]), make the root filesystem read-only (read_only: true) and forbid privilege escalation (security_opt: [no-new-privileges:true]).', 'seed checklist (cap_drop, read_only, no-new-privileges)'),
  r('DY215', 'hygiene', 'warning', 'a network no service uses', 'Remove it, or attach the service that should use it.', 'dclint (unused resources)'),
  r('DY216', 'hygiene', 'warning', 'a volume no service uses', 'Remove it, or mount it where it belongs.', 'dclint (unused resources)'),
  r('DY217', 'cache', 'warning', 'a build context without .dockerignore', 'Everything in the folder is sent to the engine (node_modules, .git...) and can end up in the image. Add a .dockerignore.', 'seed checklist (.dockerignore)'),
  r('DY218', 'security', 'warning', 'the service runs as root', 'user: root (or 0): run as an unprivileged user.', 'seed checklist (non-root users)'),
  r('DY219', 'reliability', 'error', 'a host port published twice', 'Two services (or two entries) publish the same host port: the second one fails to start with "port is already allocated".', 'dclint no-duplicate-exported-ports'),
  r('DY220', 'security', 'info', 'a port published on every interface', 'Without a host IP the port is open on every network the host is on (and Docker\'s rules bypass most host firewalls). Bind it to 127.0.0.1 unless others must reach it.', 'dclint no-unbound-port-interfaces'),
];

export const RULE = Object.fromEntries(RULES.map((x) => [x.id, x])) as Record<string, Rule>;

/** Secret-looking names: passwords, tokens, keys. */
export const SECRET_NAME = /(pass(word|wd)?|secret|token|api[_-]?key|private[_-]?key|access[_-]?key|credentials?)$/i;
