# Helpers for the book's transcript scenarios (book/transcripts/NN-chapter.sh),
# sourced by scripts/book-transcripts.sh before each scenario runs in a bash of
# its own. A scenario runs the commands a chapter shows and pipes each output
# through `emit NAME`, which masks what changes from run to run and writes
# "$OUT/NAME.txt" for the page to `{{#include}}`.
#
# Set by the runner: SPOOL, SPOOL_MODELS and WRITE_LOG (release binaries),
# OUT (this chapter's directory of generated files), WORK (a scratch
# directory removed at the end).

# What `emit` replaces, in order: pairs of (extended regex, replacement),
# added by scenarios with `mask` (the port a broker really listened on, say).
MASKS=()

# `mask REGEX REPLACEMENT`: from now on, `emit` writes REPLACEMENT for REGEX.
mask() { MASKS+=("$1" "$2"); }

# `… | emit NAME`: the masked output, written to "$OUT/NAME.txt".
emit() {
  local args=() i
  for ((i = 0; i < ${#MASKS[@]}; i += 2)); do
    args+=(-e "s#${MASKS[i]}#${MASKS[i + 1]}#g")
  done
  if ((${#args[@]})); then sed -E "${args[@]}"; else cat; fi >"$OUT/$1.txt"
}

# `… | emit_inline NAME`: as emit, without the final newline, for a number
# that prose includes mid-sentence.
emit_inline() {
  emit "$1"
  printf '%s' "$(cat "$OUT/$1.txt")" >"$OUT/$1.txt"
}

# A TCP port nobody listens on now.
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

BROKER_PIDS=()
stop_brokers() {
  local pid
  for pid in "${BROKER_PIDS[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  BROKER_PIDS=()
}
trap stop_brokers EXIT

# `start_broker LOG DIR PORT [--override k=v …]`: `spool serve` in the
# background, its log in LOG, until it listens (10 s at most).
start_broker() {
  local log=$1 dir=$2 port=$3 i
  shift 3
  "$SPOOL" serve --override "log.dirs=$dir" \
    --override "listeners=PLAINTEXT://127.0.0.1:$port" "$@" 2>"$log" &
  BROKER_PIDS+=($!)
  for i in $(seq 100); do
    grep -qs 'listening on' "$log" && return 0
    sleep 0.1
  done
  echo "transcripts: the broker did not start; its log:" >&2
  cat "$log" >&2
  return 1
}

# The log lines a broker wrote, without the timestamp and level padding
# tracing puts in front: "INFO spool: listening on …".
log_lines() {
  sed -E 's/^[0-9T:.-]+Z +//; s/^(INFO|WARN|ERROR|DEBUG) +/\1 /' "$1"
}

# `model NAME pass|fail ARGS…`: `spool-models ARGS`, its output emitted as
# NAME with the run's duration masked. The check must end as the book says:
# `fail` for a planted bug, which the checker must catch.
model() {
  local name=$1 want=$2 status=0
  shift 2
  "$SPOOL_MODELS" "$@" >"$WORK/$name.out" || status=$?
  if [[ $want == pass && $status -ne 0 || $want == fail && $status -eq 0 ]]; then
    echo "transcripts: spool-models $* exited $status, expected it to $want" >&2
    cat "$WORK/$name.out" >&2
    return 1
  fi
  sed -E 's/ in [0-9.]+[^ ]*s$/ in <time>/' "$WORK/$name.out" | emit "$name"
}

# Chapter 6's cluster: the shape `spool cluster --brokers 3` starts —
# controller 1 on PORT+100, brokers 2, 3, 4 on PORT, PORT+1, PORT+2 — as
# `spool serve` processes of this shell, so a scenario can give the
# controller and the brokers different settings and kill one node by its
# pid. Each node keeps its data and its log in
# DIR/node-N; the pids are in CLUSTER_06_PIDS by node id, and in BROKER_PIDS
# so that `stop_brokers` stops every node at the end.
declare -A CLUSTER_06_PIDS=()
CLUSTER_06_ID=c3Bvb2wtYm9vay1jaGFwNg # one 22-character id every node agrees on

# `start_node_06 DIR PORT ID [--override k=v …]`: node ID (1 the controller,
# 2..4 brokers) of the cluster at PORT, formatted on first start, returning
# once it listens (10 s at most).
start_node_06() {
  local dir=$1 port=$2 id=$3 i
  shift 3
  local data="$dir/node-$id/data" log="$dir/node-$id/server.log"
  local voters="1@127.0.0.1:$((port + 100))" roles=(--override process.roles=broker
    --override "listeners=PLAINTEXT://127.0.0.1:$((port + id - 2))")
  if ((id == 1)); then
    roles=(--override process.roles=controller --override "listeners=CONTROLLER://127.0.0.1:$((port + 100))")
  fi
  if [[ ! -f $data/meta.properties ]]; then
    mkdir -p "$data"
    printf 'cluster.id=%s\nnode.id=%s\nversion=1\n' "$CLUSTER_06_ID" "$id" >"$data/meta.properties"
  fi
  "$SPOOL" serve --override "node.id=$id" "${roles[@]}" --override controller.listener.names=CONTROLLER \
    --override "controller.quorum.voters=$voters" --override "log.dirs=$data" "$@" 2>>"$log" &
  CLUSTER_06_PIDS[$id]=$!
  BROKER_PIDS+=($!)
  for i in $(seq 100); do
    grep -qs 'listening on' "$log" && return 0
    sleep 0.1
  done
  echo "transcripts: node $id did not start; its log:" >&2
  cat "$log" >&2
  return 1
}

# `start_cluster_06 DIR PORT [--override k=v …]`: the controller, then the
# three brokers, each with the overrides; returns once the controller has
# unfenced all three (20 s at most), so that a topic created next is placed
# over all of them.
start_cluster_06() {
  local dir=$1 port=$2 id i
  shift 2
  for id in 1 2 3 4; do
    start_node_06 "$dir" "$port" "$id" "$@"
  done
  for i in $(seq 200); do
    if grep -qs 'fenced=false' "$dir"/node-{2,3,4}/server.log &&
      [[ $(grep -ls 'fenced=false' "$dir"/node-{2,3,4}/server.log | wc -l) == 3 ]]; then
      return 0
    fi
    sleep 0.1
  done
  echo "transcripts: the controller did not unfence every broker" >&2
  return 1
}

# `forget_node_06 ID`: node ID has exited and been waited for; its pid is
# no longer ours to signal, so it leaves CLUSTER_06_PIDS and BROKER_PIDS.
forget_node_06() {
  local pid=${CLUSTER_06_PIDS[$1]} kept=() p
  for p in "${BROKER_PIDS[@]}"; do [[ $p == "$pid" ]] || kept+=("$p"); done
  BROKER_PIDS=("${kept[@]}")
  unset "CLUSTER_06_PIDS[$1]"
}

# `kill_node_06 ID`: SIGKILL to node ID, by its pid: no controlled
# shutdown, its heartbeats just stop.
kill_node_06() {
  kill -KILL "${CLUSTER_06_PIDS[$1]}"
  wait "${CLUSTER_06_PIDS[$1]}" 2>/dev/null || true
  forget_node_06 "$1"
}

# `stop_cluster_06`: SIGTERM to the brokers first, all at once, while the
# controller is there to release them (controlled shutdown), then to the
# controller; each waited for by its pid.
stop_cluster_06() {
  local id
  for id in 2 3 4; do
    [[ -n ${CLUSTER_06_PIDS[$id]:-} ]] && kill -TERM "${CLUSTER_06_PIDS[$id]}"
  done
  for id in 2 3 4 1; do
    [[ -n ${CLUSTER_06_PIDS[$id]:-} ]] || continue
    ((id == 1)) && kill -TERM "${CLUSTER_06_PIDS[1]}"
    wait "${CLUSTER_06_PIDS[$id]}" 2>/dev/null || true
    forget_node_06 "$id"
  done
}

# Chapter 7's cluster helpers (kraft_*), for a scenario that runs
# `spool cluster` and waits on what its processes report, never a fixed time.

# `kraft_cluster_port`: a first broker port P for `spool cluster --port P`
# such that P..P+2 (three brokers) and P+100..P+102 (three controllers) are
# all free now.
kraft_cluster_port() {
  python3 - <<'PY'
import socket
def free(port):
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()
for _ in range(100):
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close()
    if p + 102 <= 65535 and all(free(q) for q in (p, p + 1, p + 2, p + 100, p + 101, p + 102)):
        print(p)
        break
else:
    raise SystemExit("transcripts: no free block of ports for a cluster")
PY
}

# `kraft_wait SECONDS COMMAND…`: COMMAND every 0.1 s until it succeeds; after
# SECONDS, fail, naming what it waited for.
kraft_wait() {
  local seconds=$1 i
  shift
  for ((i = 0; i < seconds * 10; i++)); do
    "$@" && return 0
    sleep 0.1
  done
  echo "transcripts: waited ${seconds}s in vain for: $*" >&2
  return 1
}

# `kraft_quorum PORT WHAT FILE PATTERN…`: `spool metadata-quorum describe
# --WHAT` asked of the controller on PORT, written to FILE; true once the
# answer matches every extended regex PATTERN.
kraft_quorum() {
  local port=$1 what=$2 file=$3 pattern
  shift 3
  "$SPOOL" metadata-quorum --bootstrap-controller "127.0.0.1:$port" describe "--$what" >"$file" 2>/dev/null ||
    return 1
  for pattern in "$@"; do
    grep -Eq -- "$pattern" "$file" || return 1
  done
}

# `kraft_kill_nodes CLUSTER_OUTPUT`: SIGKILL every node a `spool cluster`
# started (the pids its "started … (pid N)" lines name), then wait until
# they are gone. For a scenario whose output is complete: `spool cluster`'s
# own SIGTERM stops brokers one after another, each handing over its
# partitions first, seconds that show nothing. The `spool cluster` process
# itself is then stopped by `stop_brokers`, by its pid.
kraft_kill_nodes() {
  local pid pids
  pids=$(sed -nE 's/^started [a-z]+-[0-9]+ \(pid ([0-9]+)\).*/\1/p' "$1")
  for pid in $pids; do kill -KILL "$pid" 2>/dev/null || true; done
  for pid in $pids; do kraft_wait 5 eval "! kill -0 $pid 2>/dev/null"; done
}
