#!/usr/bin/env bash
# Runs real Kafka clients against spool's broker: for each client x codec, a fresh
# broker (free port, fresh log dir), the client's scenario, then SIGTERM and a check
# that the broker exited 0 without a panic. Prints one line per case and ends with
# `N passed, M failed`; exits non-zero if any case failed.
#
#   tests/clients/run.sh SPOOL_BIN [--clients a,b] [--codecs c,d] [--records N]
#                        [--partitions P] [--budget-s S] [--verbose]
#                        [--broker-override key=value]... [--topic-compression C]
#
# Clients: confluent-kafka kafka-python aiokafka kafkajs kcat (default: all).
# Codecs: none gzip snappy lz4 zstd (default: all, for every client; kafkajs's snappy,
# lz4 and zstd are codecs registered by kafkajs_scenario.js), plus `restart` and `kill9`
# cases for confluent-kafka (produce, SIGTERM or SIGKILL, a new broker on the same log
# dir, read back). Every scenario checks, right after it produces, that each batch it
# wrote carries the codec asked for (check_codec.sh reads the segments with
# `spool dump-log`): a client that silently fell back to no compression fails its case.
# --broker-override passes a setting to every broker the matrix starts (e.g.
# spool.fetch.zero.copy=false, chapter 3's copying path). --topic-compression C sets the
# brokers' compression.type to C (uncompressed gzip snappy lz4 zstd), so topics re-encode
# what clients send (chapter 4), and the codec check expects C on disk.
# Install the clients first with tests/clients/setup.sh.
# It builds nothing: pass the binary (cargo's CARGO_BIN_EXE_spool in
# tests/it/wire_clients.rs, or target/release/spool).
#
# Sizes and limits, for the whole matrix to stay within ~5 minutes on 2 cores (its 27
# cases take ~90 s here): N = 10,000 records into P = 3 partitions for every client, none
# reduced; each scenario gives up after SCENARIO_DEADLINE_S with its reason and is killed after
# SCENARIO_TIMEOUT_S; once the budget (--budget-s) is spent, the remaining cases fail as
# not run rather than stretch a broken broker's run to an hour.
set -euo pipefail

CLIENTS_ALL=(confluent-kafka kafka-python aiokafka kafkajs kcat)
CODECS_ALL=(none gzip snappy lz4 zstd)
SCENARIO_DEADLINE_S=60  # the scenario's own deadline: it fails with its reason
SCENARIO_TIMEOUT_S=75   # then `timeout` kills it
BROKER_START_S=30       # from spawn to `listening on`
BROKER_STOP_S=20        # from SIGTERM to exit
LOCK_WAIT_S=1200        # runs are serialized (nextest runs the tests in parallel)

usage() {
  sed -n '2,/^# Sizes/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//' >&2
  exit 2
}

[[ $# -ge 1 ]] || usage
spool="$1"
shift
clients=("${CLIENTS_ALL[@]}") codecs=("${CODECS_ALL[@]}") records=10000 partitions=3
budget_s=900 verbose=0 broker_overrides=()
while (($#)); do
  case "$1" in
    --clients) IFS=, read -ra clients <<<"${2:?}" && shift ;;
    --codecs) IFS=, read -ra codecs <<<"${2:?}" && shift ;;
    --records) records="${2:?}" && shift ;;
    --partitions) partitions="${2:?}" && shift ;;
    --budget-s) budget_s="${2:?}" && shift ;;
    --verbose) verbose=1 ;;
    --broker-override) broker_overrides+=(--override "${2:?}") && shift ;;
    --topic-compression)
      broker_overrides+=(--override "compression.type=${2:?}")
      export SPOOL_TOPIC_CODEC="${2/uncompressed/none}" && shift
      ;;
    *) usage ;;
  esac
  shift
done

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
python="$repo/.venv-clients/bin/python"
[[ -x "$spool" ]] || {
  echo "run.sh: spool binary '$spool' not found or not executable (build it: cargo build --release)" >&2
  exit 2
}
spool="$(cd "$(dirname "$spool")" && pwd)/$(basename "$spool")"

# Refuse to start, rather than pass or half-run, when a client is not installed.
missing() {
  echo "run.sh: $1 is not installed ($2): run tests/clients/setup.sh" >&2
  exit 2
}
for client in "${clients[@]}"; do
  case "$client" in
    confluent-kafka | kafka-python | aiokafka | kafkajs)
      [[ -x "$python" ]] || missing "$client" "no $python"
      "$python" -c 'import confluent_kafka' 2>/dev/null || missing confluent-kafka "import failed in .venv-clients"
      ;;&
    kafka-python) "$python" -c 'import kafka' 2>/dev/null || missing kafka-python "import failed in .venv-clients" ;;
    aiokafka) "$python" -c 'import aiokafka' 2>/dev/null || missing aiokafka "import failed in .venv-clients" ;;
    kafkajs)
      command -v node >/dev/null || missing node "no node on PATH"
      [[ -f "$here/node_modules/kafkajs/package.json" ]] || missing kafkajs "no tests/clients/node_modules/kafkajs"
      (cd "$here" && node -e 'require("snappyjs"); require("lz4-napi"); require("@bokuweb/zstd-wasm")') 2>/dev/null ||
        missing "kafkajs's codecs" "snappyjs, lz4-napi or @bokuweb/zstd-wasm do not load from tests/clients/node_modules"
      ;;
    kcat) command -v kcat >/dev/null || missing kcat "no kcat on PATH" ;;
    confluent-kafka) ;;
    *) echo "run.sh: unknown client '$client' (one of: ${CLIENTS_ALL[*]})" >&2 && exit 2 ;;
  esac
done
for codec in "${codecs[@]}"; do
  [[ " ${CODECS_ALL[*]} " == *" $codec "* ]] || { echo "run.sh: unknown codec '$codec'" >&2 && exit 2; }
done

# One matrix at a time on this machine: brokers and clients compete for 2 cores.
exec 9>"${TMPDIR:-/tmp}/spool-clients.lock"
flock -w "$LOCK_WAIT_S" 9 || {
  echo "run.sh: another run held the lock for ${LOCK_WAIT_S}s" >&2
  exit 1
}

work="$(mktemp -d "${TMPDIR:-/tmp}/spool-clients.XXXXXX")"
broker_pid=""
passed=0 failed=0
cleanup() {
  if [[ -n "$broker_pid" ]] && kill -0 "$broker_pid" 2>/dev/null; then
    kill -KILL "$broker_pid" 2>/dev/null || true
  fi
  if ((failed == 0)); then rm -rf "$work"; else echo "run.sh: logs of failed cases kept in $work" >&2; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
  "${python}" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' 2>/dev/null ||
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# start_broker DIR AUTO_CREATE [keep]: sets broker_pid and port, or returns 1 with the
# reason in DIR/reason. A fresh DIR/logs unless `keep` (a restart on the same log dir).
# Retries with another port if the first one was taken in between.
start_broker() {
  local dir="$1" auto_create="$2" keep="${3:-}" attempt waited
  [[ "$keep" == keep ]] || rm -rf "$dir/logs"
  mkdir -p "$dir/logs"
  touch "$dir/broker.log"
  # The log is appended to across a restart: read only this start's lines.
  broker_log_from=$(($(wc -l <"$dir/broker.log") + 1))
  for attempt in 1 2 3; do
    port="$(free_port)"
    NO_COLOR=1 RUST_LOG="${SPOOL_BROKER_LOG:-info}" "$spool" serve \
      --override "listeners=PLAINTEXT://127.0.0.1:$port" \
      --override "log.dirs=$dir/logs" \
      --override "num.partitions=$partitions" \
      --override "auto.create.topics.enable=$auto_create" \
      ${broker_overrides[@]+"${broker_overrides[@]}"} \
      </dev/null >>"$dir/broker.log" 2>&1 &
    broker_pid=$!
    for ((waited = 0; waited < BROKER_START_S * 10; waited++)); do
      if tail -n "+$broker_log_from" "$dir/broker.log" | sed 's/\x1b\[[0-9;]*m//g' |
        grep -q "listening on 127.0.0.1:$port\b"; then
        return 0
      fi
      kill -0 "$broker_pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$broker_pid" 2>/dev/null; then
      kill -KILL "$broker_pid" 2>/dev/null || true
      wait "$broker_pid" 2>/dev/null || true
      broker_pid=""
      echo "broker printed no 'listening on 127.0.0.1:$port' within ${BROKER_START_S}s" >"$dir/reason"
      return 1
    fi
    local rc=0
    wait "$broker_pid" || rc=$?
    broker_pid=""
    if ! grep -qi "address already in use\|addrinuse" "$dir/broker.log"; then
      echo "broker exited with $rc before listening" >"$dir/reason"
      return 1
    fi
  done
  echo "no free port after 3 attempts" >"$dir/reason"
  return 1
}

# stop_broker DIR: SIGTERM, then the broker must exit 0 within BROKER_STOP_S, unpanicked.
stop_broker() {
  local dir="$1" waited rc=0
  kill -TERM "$broker_pid" 2>/dev/null || true
  for ((waited = 0; waited < BROKER_STOP_S * 10; waited++)); do
    kill -0 "$broker_pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$broker_pid" 2>/dev/null; then
    kill -KILL "$broker_pid" 2>/dev/null || true
    wait "$broker_pid" 2>/dev/null || true
    broker_pid=""
    echo "broker still running ${BROKER_STOP_S}s after SIGTERM (killed)" >"$dir/stop_reason"
    return 1
  fi
  wait "$broker_pid" || rc=$?
  broker_pid=""
  if ((rc != 0)); then
    echo "broker exited with $rc after SIGTERM, expected 0" >"$dir/stop_reason"
    return 1
  fi
  if tail -n "+$broker_log_from" "$dir/broker.log" | grep -q "panicked at"; then
    echo "broker panicked: $(grep -m1 -A1 'panicked at' "$dir/broker.log" | tr '\n' ' ')" >"$dir/stop_reason"
    return 1
  fi
}

# scenario CLIENT CODEC TOPIC PORT [FLAG]: the command line of one case; FLAG is
# --produce-only or --consume-only (confluent-kafka) for the restart case.
scenario() {
  local client="$1" codec="$2" topic="$3" port_="$4"
  local args=(--bootstrap "127.0.0.1:$port_" --topic "$topic" --partitions "$partitions"
    --records "$records" --compression "$codec" --deadline-s "$SCENARIO_DEADLINE_S" "${@:5}")
  case "$client" in
    confluent-kafka) "$python" "$here/confluent_kafka_scenario.py" "${args[@]}" ;;
    kafka-python) "$python" "$here/kafka_python_scenario.py" "${args[@]}" ;;
    aiokafka) "$python" "$here/aiokafka_scenario.py" "${args[@]}" ;;
    # kafkajs writes; confluent-kafka reads back and checks the bytes (see the script).
    kafkajs) node "$here/kafkajs_scenario.js" "${args[@]}" &&
      "$python" "$here/confluent_kafka_scenario.py" "${args[@]}" --consume-only ;;
    kcat) bash "$here/kcat_scenario.sh" "${args[@]}" ;;
  esac
}
export -f scenario
# check_codec.sh, which every scenario runs after producing, reads the segments with this
# binary; run_phase sets SPOOL_LOG_DIR to the case's log dir.
export SPOOL_BIN="$spool"
export here python partitions records SCENARIO_DEADLINE_S

# The scenario's own `FAIL:` line, else its last line (a crash's last words).
first_failure() {
  { grep -m1 '^FAIL:' "$1" || grep -v '^[[:space:]]*$' "$1" | tail -n 1; } | cut -c1-300
}

report() {
  local status="$1" client="$2" codec="$3" seconds="$4" reason="${5:-}"
  printf '%-4s %-16s %-15s %5ss%s\n' "$status" "$client" "$codec" "$seconds" "${reason:+  $reason}"
}

show_logs() {
  local dir="$1"
  if [[ -s "$dir/client.log" ]]; then
    echo "    --- client output (last 40 lines) ---"
    tail -n 40 "$dir/client.log" | cut -c1-400 | sed 's/^/    /'
  fi
  if [[ -s "$dir/broker.log" ]]; then
    echo "    --- broker log (last 25 lines; whole log in $dir/broker.log) ---"
    tail -n 25 "$dir/broker.log" | cut -c1-400 | sed 's/^/    /'
  fi
}

# run_phase DIR CLIENT CODEC AUTO_CREATE [keep] [FLAG] [kill]: start a broker (on the
# same log dir if `keep`), run the scenario, stop the broker (SIGTERM and a clean exit, or
# with `kill` a SIGKILL: a crash). Returns 1 with DIR/reason on failure.
run_phase() {
  local dir="$1" client="$2" codec="$3" auto_create="$4" keep="${5:-}" flag="${6:-}" stop="${7:-}"
  local rc=0 ok=1 gone
  start_broker "$dir" "$auto_create" "$keep" || return 1
  echo "--- $client $codec ${flag:-} (broker on 127.0.0.1:$port) ---" >>"$dir/client.log"
  SPOOL_LOG_DIR="$dir/logs" timeout --kill-after=5 "$SCENARIO_TIMEOUT_S" bash -c 'scenario "$@"' _ \
    "$client" "$codec" "spool-$client-$codec" "$port" $flag </dev/null >>"$dir/client.log" 2>&1 || rc=$?
  if ((rc == 124 || rc == 137)); then
    echo "scenario ${flag:-}killed after ${SCENARIO_TIMEOUT_S}s" >"$dir/reason"
    ok=0
  elif ((rc != 0)); then
    echo "scenario ${flag:+$flag }exited $rc: $(first_failure "$dir/client.log")" >"$dir/reason"
    ok=0
  fi
  if ! kill -0 "$broker_pid" 2>/dev/null || tail -n "+$broker_log_from" "$dir/broker.log" | grep -q "shutting down"; then
    gone="the broker exited or began shutting down during the scenario (it crashed, or a signal"
    gone="$gone not from run.sh reached it: a 'pkill spool' elsewhere?)"
    if ((ok == 1)); then echo "$gone" >"$dir/reason"; else echo "; and $gone" >>"$dir/reason"; fi
    ok=0
  fi
  if [[ "$stop" == kill ]]; then
    kill -KILL "$broker_pid" 2>/dev/null || true
    wait "$broker_pid" 2>/dev/null || true
    broker_pid=""
    echo "--- broker killed with SIGKILL ---" >>"$dir/broker.log"
  elif ! stop_broker "$dir"; then
    if ((ok == 1)); then
      mv "$dir/stop_reason" "$dir/reason"
    else
      echo "; and then: $(cat "$dir/stop_reason")" >>"$dir/reason"
    fi
    ok=0
  fi
  ((ok == 1))
}

# The cases: every client x codec, and for confluent-kafka two more: `restart` (produce,
# SIGTERM, a new broker on the same log dir, then read everything back: the topic and its
# records survive a clean shutdown) and `kill9` (the same with SIGKILL: every record the
# broker acknowledged was in the page cache, so it survives the process's crash, and
# recovery must keep it).
cases=()
for client in "${clients[@]}"; do
  for codec in "${codecs[@]}"; do
    cases+=("$client $codec")
  done
  if [[ "$client" == confluent-kafka ]]; then
    cases+=("$client ${codecs[-1]} restart" "$client ${codecs[-1]} kill9")
  fi
done

matrix_started=$SECONDS
echo "spool client matrix: ${clients[*]} x ${codecs[*]}; $records records into $partitions partitions; broker $spool"
for case_ in "${cases[@]}"; do
  read -r client codec restart <<<"$case_"
  label="$codec${restart:+ +$restart}"
  dir="$work/$client-$codec${restart:+-$restart}"
  mkdir -p "$dir"
  case_started=$EPOCHREALTIME
  if ((SECONDS - matrix_started > budget_s)); then
    report FAIL "$client" "$label" 0 "not run: the matrix's budget of ${budget_s}s is spent"
    failed=$((failed + 1))
    continue
  fi
  auto_create=false
  [[ "$client" == kcat ]] && auto_create=true # kcat cannot create topics
  if [[ -z "$restart" ]]; then
    run_phase "$dir" "$client" "$codec" "$auto_create" && ok=1 || ok=0
  else
    stop=""
    [[ "$restart" == kill9 ]] && stop=kill
    run_phase "$dir" "$client" "$codec" "$auto_create" "" --produce-only "$stop" &&
      run_phase "$dir" "$client" "$codec" "$auto_create" keep --consume-only && ok=1 || ok=0
  fi
  seconds="$(awk -v a="$case_started" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')"
  if [[ $ok == 1 ]]; then
    report PASS "$client" "$label" "$seconds"
    passed=$((passed + 1))
    ((verbose)) && show_logs "$dir"
  else
    report FAIL "$client" "$label" "$seconds" "$(head -c 400 "$dir/reason")"
    show_logs "$dir"
    failed=$((failed + 1))
  fi
done

echo "matrix took $((SECONDS - matrix_started))s"
echo "$passed passed, $failed failed"
((failed == 0))
