#!/usr/bin/env bash
# Make sure a Docker engine answers, and that the local test images exist.
# Where no engine answers and we are root on Debian: install docker.io, start dockerd in the
# background, wait until it answers. No image can be pulled on these machines, so the base image
# (a busybox root filesystem from Debian's busybox-static) is imported locally.
# Also installs Debian's docker-compose v1 (interop tests, benchmark baseline); --bench adds `time`;
# --swarm makes the engine a single-node Swarm (the deploy tests), before any test runs.
set -euo pipefail

want_bench=0
want_swarm=0
for arg in "$@"; do
  [ "$arg" = "--bench" ] && want_bench=1
  [ "$arg" = "--swarm" ] && want_swarm=1
done
BASE_IMAGE="${DOCKYARD_TEST_IMAGE:-dockyard-test/busybox:latest}"
log() { printf 'engine: %s\n' "$*" >&2; }

engine_answers() { timeout 10 docker info >/dev/null 2>&1; }

is_debian_root() { [ "$(id -u)" = 0 ] && [ -f /etc/debian_version ] && command -v apt-get >/dev/null; }

apt_install() {
  log "installing $* (apt-get)"
  if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/tmp/dockyard-apt.log 2>&1; then
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >>/tmp/dockyard-apt.log 2>&1
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >>/tmp/dockyard-apt.log 2>&1 \
      || { log "apt-get install $* failed; see /tmp/dockyard-apt.log"; exit 1; }
  fi
}

# What is missing, and only that: the engine itself only when none answers (any engine will do:
# DOCKER_HOST, rootless, Docker Desktop); busybox only to build the base image when it is missing
need_pkgs=()
command -v docker >/dev/null || need_pkgs+=(docker.io)
# docker-compose v1: the engine tests check that it sees dockyard's containers; the benchmarks
# use it as the baseline
command -v docker-compose >/dev/null || need_pkgs+=(docker-compose)
# a registry server: the pull/push tests run one on 127.0.0.1
command -v docker-registry >/dev/null || need_pkgs+=(docker-registry)
# htpasswd (bcrypt entries): the registry-credential tests run one with authentication
command -v htpasswd >/dev/null || need_pkgs+=(apache2-utils)
# a browser: the dashboard tests and bench drive Debian's chromium with playwright-core
command -v chromium >/dev/null || need_pkgs+=(chromium)
[ $want_bench = 1 ] && { [ -x /usr/bin/time ] || need_pkgs+=(time); }
need_busybox() { ! { [ -x /bin/busybox ] && /bin/busybox --list 2>/dev/null | grep -q '^wget$'; }; }

if ! engine_answers; then
  if ! is_debian_root; then
    log "no Docker engine answers (DOCKER_HOST=${DOCKER_HOST:-unset}), and this is not root on Debian, so I cannot start one."
    log "start one yourself (e.g. 'sudo systemctl start docker', 'dockerd-rootless.sh', Docker Desktop), or set DOCKER_HOST, then run again."
    exit 3
  fi
  command -v dockerd >/dev/null || need_pkgs+=(docker.io)
  if [ ${#need_pkgs[@]} -gt 0 ]; then apt_install $(printf '%s\n' "${need_pkgs[@]}" | sort -u); need_pkgs=(); fi
  log "starting dockerd in the background (log: /var/log/dockyard-dockerd.log)"
  start_dockerd() {
    setsid dockerd >/var/log/dockyard-dockerd.log 2>&1 < /dev/null &
    for i in $(seq 1 60); do engine_answers && return 0; kill -0 $! 2>/dev/null || return 1; sleep 1; done
    return 1
  }
  if ! start_dockerd; then
    # Docker 20.10 can die at start in libnetwork's reservePools on a network store that an earlier
    # crash or a network it held with phantom endpoints left inconsistent: set the store aside
    # (the networks it described are gone; containers keep their data) and start once more
    store=/var/lib/docker/network/files/local-kv.db
    if grep -q 'reservePools' /var/log/dockyard-dockerd.log && [[ -f $store ]]; then
      log "dockerd died reading its network store (a Docker 20.10 fault); moving $store aside and starting again"
      mv "$store" "$store.broken-$(date +%s)"
      start_dockerd || true
    fi
  fi
  engine_answers || { log "dockerd did not answer within 60 s; its log:"; tail -20 /var/log/dockyard-dockerd.log >&2; exit 3; }
  log "engine is up"
fi
if ! docker image inspect "$BASE_IMAGE" >/dev/null 2>&1 && need_busybox; then need_pkgs+=(busybox-static); fi
if [ ${#need_pkgs[@]} -gt 0 ]; then
  if is_debian_root; then apt_install $(printf '%s\n' "${need_pkgs[@]}" | sort -u)
  else
    log "missing: ${need_pkgs[*]} (install them with apt-get as root)"
    # the engine answers; docker-compose, docker-registry, apache2-utils, chromium and time only serve tests and the bench
    for p in "${need_pkgs[@]}"; do case "$p" in docker-compose|docker-registry|apache2-utils|chromium|time) ;; *) exit 1 ;; esac; done
  fi
fi

# The base image: busybox with every applet linked, imported (no registry needed).
if ! docker image inspect "$BASE_IMAGE" >/dev/null 2>&1; then
  log "building $BASE_IMAGE from /bin/busybox"
  root=$(mktemp -d)
  trap 'rm -rf "$root"' EXIT
  mkdir -p "$root"/{bin,etc,tmp,var,root,proc,sys,dev,usr/bin,usr/sbin,sbin}
  cp /bin/busybox "$root/bin/busybox"
  for a in $("$root/bin/busybox" --list-full); do
    [ -e "$root/$a" ] || ln -s /bin/busybox "$root/$a"
  done
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' > "$root/etc/passwd"
  printf 'root:x:0:\nnobody:x:65534:\n' > "$root/etc/group"
  chmod 1777 "$root/tmp"
  tar -C "$root" -c . | docker import \
    -c 'CMD ["/bin/sh"]' -c 'ENV PATH=/usr/sbin:/usr/bin:/sbin:/bin' - "$BASE_IMAGE" >/dev/null
  log "built $BASE_IMAGE"
fi

# A single-node Swarm for the deploy tests, made before the tests start (not while others run).
if [ "$want_swarm" = 1 ] && [ "$(docker info --format '{{.Swarm.LocalNodeState}}')" = inactive ]; then
  docker swarm init --advertise-addr 127.0.0.1 >/dev/null
  log "made the engine a single-node Swarm"
fi
