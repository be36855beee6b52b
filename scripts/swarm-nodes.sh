#!/usr/bin/env bash
# A multi-node Docker Swarm on one machine, made of NEW dockerd instances (the engine at
# /var/run/docker.sock is never touched: not its Swarm, not its networks, not /etc/docker).
#
#   scripts/swarm-nodes.sh up [N]        N nodes (default 3): one manager, N-1 workers, a TLS registry
#   scripts/swarm-nodes.sh env           what up made, as shell variables (DOCKER_HOST=... for the manager)
#   scripts/swarm-nodes.sh kill NODE     SIGKILL that node's dockerd (its containers stay, as on a crash)
#   scripts/swarm-nodes.sh down          remove everything up made (processes, namespaces, files)
#
# Each node is a dockerd in its own network namespace (dys-<node>, entered with nsenter --net:
# `ip netns exec` remounts /sys, which hides the cgroup mounts dockerd needs), its own UTS
# namespace (so Swarm names the nodes dys-m, dys-w1, ...), and its own mount namespace, where a
# per-node folder is bind-mounted on /etc/docker: the node's key.json and certs.d (the
# registry's CA) never reach the host's /etc/docker. Own --data-root, --exec-root, --pidfile,
# unix socket, and --cgroup-parent (so `down` finds every process a node started).
# The nodes' veths meet on a bridge in a hub namespace (dys-hub), 192.168.213.0/24: the manager is
# .11, worker k is .(11+k). The registry (Debian's docker-registry, TLS from a CA made here)
# listens on the manager's address, port 5000, inside the manager's namespace; every node trusts
# it through /etc/docker/certs.d/192.168.213.11:5000/ca.crt of its own mount namespace.
# The base test image (dockyard-test/busybox) is loaded into every node from the main engine.
# Swarm's dispatcher heartbeat is 1 s here (default 5 s), so a dead node is seen as down in
# about 3 s.
set -euo pipefail

BASE_DIR="${DOCKYARD_SWARM_DIR:-/run/dockyard-swarm}"
DATA_DIR="${DOCKYARD_SWARM_DATA:-/var/lib/dockyard-swarm}"
SUBNET=192.168.213
REG_PORT=5000
BASE_IMAGE="${DOCKYARD_TEST_IMAGE:-dockyard-test/busybox:latest}"
HUB=dys-hub
log() { printf 'swarm-nodes: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

node_names() { # N -> m w1 w2 ...
  local n=$1 i
  printf 'm\n'
  for ((i = 1; i < n; i++)); do printf 'w%d\n' "$i"; done
}
addr_of() { case "$1" in m) echo "$SUBNET.11" ;; w*) echo "$SUBNET.$((11 + ${1#w}))" ;; esac; }
sock_of() { echo "$BASE_DIR/$1.sock"; }
dk() { local n=$1; shift; DOCKER_HOST="unix://$(sock_of "$n")" timeout 60 docker "$@"; }

# Why this machine cannot run extra engines (empty: it can).
cannot() {
  [ "$(id -u)" = 0 ] || { echo "not root (network namespaces and dockerd need root)"; return; }
  local c
  for c in dockerd docker ip nsenter unshare openssl docker-registry; do
    command -v "$c" >/dev/null || { echo "$c is missing"; return; }
  done
  ip netns add dys-probe$$ 2>/dev/null || { echo "cannot make a network namespace (ip netns add failed)"; return; }
  ip netns del dys-probe$$
  docker image inspect "$BASE_IMAGE" >/dev/null 2>&1 || echo "the main engine has no $BASE_IMAGE to load into the nodes (run scripts/engine.sh)"
}

start_node() {
  local n=$1 addr; addr=$(addr_of "$n")
  local ns=dys-$n dir=$BASE_DIR/$n
  mkdir -p "$dir/etc/certs.d/$SUBNET.11:$REG_PORT" "$DATA_DIR/$n"
  cp "$BASE_DIR/ca/ca.crt" "$dir/etc/certs.d/$SUBNET.11:$REG_PORT/ca.crt"
  printf '{}\n' > "$dir/etc/daemon.json"
  ip netns add "$ns"
  ip link add "dys-$n-h" type veth peer name "dys-$n-n"
  ip link set "dys-$n-h" netns "$HUB"
  ip link set "dys-$n-n" netns "$ns"
  ip -n "$HUB" link set "dys-$n-h" master dys-br0 up
  ip -n "$ns" link set "dys-$n-n" name eth0
  ip -n "$ns" addr add "$addr/24" dev eth0
  ip -n "$ns" link set eth0 up
  ip -n "$ns" link set lo up
  # net: the node's namespace; mount + uts: its own /etc/docker and host name
  setsid nsenter --net="/var/run/netns/$ns" unshare --mount --uts --propagation private sh -c '
    hostname "$1" && mount --bind "$2/etc" /etc/docker && shift 2 && exec "$@"' sh "dys-$n" "$dir" \
    dockerd --data-root "$DATA_DIR/$n" --exec-root "$dir/x" --pidfile "$dir/dockerd.pid" \
      -H "unix://$(sock_of "$n")" --config-file /etc/docker/daemon.json --cgroup-parent "/dys-$n" \
      --shutdown-timeout 2 --log-level warn >"$dir/dockerd.log" 2>&1 </dev/null &
}

wait_node() {
  local n=$1 i
  for i in $(seq 1 60); do
    dk "$n" version >/dev/null 2>&1 && return 0
    sleep 0.5
  done
  log "node $n: dockerd did not answer in 30 s; its log:"; tail -20 "$BASE_DIR/$n/dockerd.log" >&2; return 1
}

make_ca() {
  local d=$BASE_DIR/ca
  mkdir -p "$d"
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$d/ca.key" -out "$d/ca.crt" -days 2 -subj /CN=dockyard-swarm-test-ca >/dev/null 2>&1
  openssl req -newkey rsa:2048 -nodes -keyout "$d/registry.key" -out "$d/registry.csr" -subj "/CN=$SUBNET.11" >/dev/null 2>&1
  printf 'subjectAltName=IP:%s.11\n' "$SUBNET" > "$d/ext.cnf"
  openssl x509 -req -in "$d/registry.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" -CAcreateserial -out "$d/registry.crt" -days 2 -extfile "$d/ext.cnf" >/dev/null 2>&1
}

start_registry() {
  local d=$BASE_DIR/registry
  mkdir -p "$d/data"
  cat >"$d/config.yml" <<EOF
version: 0.1
log: {level: error}
storage:
  filesystem: {rootdirectory: $d/data}
  delete: {enabled: true}
http:
  addr: $SUBNET.11:$REG_PORT
  tls: {certificate: $BASE_DIR/ca/registry.crt, key: $BASE_DIR/ca/registry.key}
EOF
  setsid nsenter --net=/var/run/netns/dys-m docker-registry serve "$d/config.yml" >"$d/log" 2>&1 </dev/null &
  echo $! >"$d/pid"
  local i
  for i in $(seq 1 50); do
    nsenter --net=/var/run/netns/dys-m curl -fsS --cacert "$BASE_DIR/ca/ca.crt" "https://$SUBNET.11:$REG_PORT/v2/" >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  die "the registry did not answer; its log: $(tail -5 "$d/log")"
}

up() {
  local n=${1:-3}
  [ "$n" -ge 1 ] || die "up N: N is the number of nodes (1 manager + N-1 workers)"
  local why; why=$(cannot)
  [ -z "$why" ] || die "this machine cannot run extra engines: $why"
  down quiet
  mkdir -p "$BASE_DIR" "$DATA_DIR"
  echo "$n" >"$BASE_DIR/nodes"
  make_ca
  ip netns add "$HUB"
  ip -n "$HUB" link add dys-br0 type bridge
  ip -n "$HUB" link set dys-br0 up
  ip -n "$HUB" link set lo up
  local names; names=$(node_names "$n")
  for node in $names; do start_node "$node"; done
  for node in $names; do wait_node "$node"; done
  # the base image, from the main engine, into every node (in parallel)
  docker save "$BASE_IMAGE" >"$BASE_DIR/base.tar"
  local pids=()
  for node in $names; do dk "$node" load -q -i "$BASE_DIR/base.tar" >/dev/null & pids+=($!); done
  for p in "${pids[@]}"; do wait "$p"; done
  rm -f "$BASE_DIR/base.tar"
  start_registry
  dk m swarm init --advertise-addr "$SUBNET.11" --listen-addr "$SUBNET.11:2377" --dispatcher-heartbeat 1s >/dev/null
  local token; token=$(dk m swarm join-token -q worker)
  pids=()
  for node in $names; do
    [ "$node" = m ] && continue
    dk "$node" swarm join --token "$token" --advertise-addr "$(addr_of "$node")" --listen-addr "$(addr_of "$node"):2377" "$SUBNET.11:2377" >/dev/null & pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p"; done
  # every node ready
  local i
  for i in $(seq 1 60); do
    [ "$(dk m node ls --format '{{.Status}}' | grep -c Ready)" = "$n" ] && break
    sleep 0.5
  done
  [ "$(dk m node ls --format '{{.Status}}' | grep -c Ready)" = "$n" ] || die "not every node became ready: $(dk m node ls)"
  env_vars
  log "up: $n node(s), manager $(sock_of m), registry $SUBNET.11:$REG_PORT"
}

env_vars() {
  [ -f "$BASE_DIR/nodes" ] || die "no nodes are up (scripts/swarm-nodes.sh up N)"
  local n; n=$(cat "$BASE_DIR/nodes")
  echo "DOCKER_HOST=unix://$(sock_of m)"
  echo "SWARM_REGISTRY=$SUBNET.11:$REG_PORT"
  echo "SWARM_CA=$BASE_DIR/ca/ca.crt"
  echo "SWARM_NODES=\"$(node_names "$n" | tr '\n' ' ' | sed 's/ $//')\""
  for node in $(node_names "$n"); do echo "SWARM_SOCK_$node=unix://$(sock_of "$node")"; done
}

kill_node() {
  local n=${1:?kill NODE}
  local pid; pid=$(cat "$BASE_DIR/$n/dockerd.pid" 2>/dev/null) || die "no node $n"
  kill -KILL "$pid"
  log "killed dockerd of node $n (pid $pid)"
}

# every process of a namespace's node: what runs in its network namespace (dockerd, containerd,
# shims, docker-proxy) and what runs in its cgroup (the containers)
node_pids() {
  local n=$1
  ip netns pids "dys-$n" 2>/dev/null || true
  cat /sys/fs/cgroup/pids/dys-"$n"/*/cgroup.procs /sys/fs/cgroup/memory/dys-"$n"/*/cgroup.procs /sys/fs/cgroup/dys-"$n"/*/cgroup.procs 2>/dev/null || true
}

down() {
  local quiet=${1:-}
  local node pid
  # the registry
  if [ -f "$BASE_DIR/registry/pid" ]; then kill -KILL "$(cat "$BASE_DIR/registry/pid")" 2>/dev/null || true; fi
  # ask every dockerd to stop (its containers with it), then kill whatever is left
  for f in "$BASE_DIR"/*/dockerd.pid; do [ -f "$f" ] && { kill -TERM "$(cat "$f")" 2>/dev/null || true; }; done
  local nodes; nodes=$(for ns in $(ip netns list 2>/dev/null | awk '{print $1}'); do case "$ns" in dys-hub) ;; dys-*) echo "${ns#dys-}" ;; esac; done)
  for i in $(seq 1 20); do
    local alive=0
    for f in "$BASE_DIR"/*/dockerd.pid; do [ -f "$f" ] && kill -0 "$(cat "$f")" 2>/dev/null && alive=1; done
    [ $alive = 0 ] && break
    sleep 0.25
  done
  for node in $nodes; do
    for pid in $(node_pids "$node"); do kill -KILL "$pid" 2>/dev/null || true; done
  done
  sleep 0.2
  for node in $nodes; do
    for pid in $(node_pids "$node"); do kill -KILL "$pid" 2>/dev/null || true; done
    for c in /sys/fs/cgroup/*/dys-"$node" /sys/fs/cgroup/dys-"$node"; do
      [ -d "$c" ] || continue
      find "$c" -mindepth 1 -depth -type d -exec rmdir {} \; 2>/dev/null || true
      rmdir "$c" 2>/dev/null || true
    done
    ip netns del "dys-$node" 2>/dev/null || true
  done
  ip netns del "$HUB" 2>/dev/null || true
  # the nodes' mounts lived in their own mount namespaces, gone with their processes
  rm -rf "$BASE_DIR" "$DATA_DIR" 2>/dev/null || { sleep 1; rm -rf "$BASE_DIR" "$DATA_DIR"; }
  [ -n "$quiet" ] || log "down: removed every node, namespace and file"
}

case "${1:-}" in
  up) up "${2:-3}" ;;
  down) down ;;
  env) env_vars ;;
  kill) kill_node "${2:-}" ;;
  can) why=$(cannot); [ -z "$why" ] && echo yes || { echo "no: $why"; exit 1; } ;;
  *) echo "usage: $0 up [N] | env | kill NODE | down | can" >&2; exit 2 ;;
esac
