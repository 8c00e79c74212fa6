#!/usr/bin/env bash
# kcat (Debian's, librdkafka 2.0.2) against a spool cluster (chapter 6), bootstrapped from
# one broker. kcat has no admin commands: tests/it/cluster_clients.rs creates the topic (P
# partitions, replication factor R) with spool's client before this runs.
#
# 1. kcat -L lists every broker, and each partition of the topic with R replicas, all in
#    its ISR, a leader among them, and leaders on every broker.
# 2. Produce line i (`key-<i>:value-<i>`) into partition i % P, one kcat call per
#    partition, idempotent with acks=all: kcat must follow Metadata to each leader.
# 3. Read each partition from the beginning to its end: every line once, in order, at
#    offsets 0, 1, 2, ...
# 4. Auto-creation: produce to a topic nobody created (Metadata answers
#    LEADER_NOT_AVAILABLE while the controller creates it, then the topic; librdkafka
#    retries), read it back, and kcat -L shows it replicated R times.
set -euo pipefail

usage() {
  echo "usage: $0 --bootstrap HOST:PORT --topic T --brokers ID,ID,... [--partitions P]" \
    "[--replication-factor R] [--records N] [--deadline-s S]" >&2
  exit 2
}

bootstrap="" topic="" brokers="" partitions=6 rf=3 records=2000 deadline_s=60
while (($#)); do
  [[ $# -ge 2 ]] || usage
  case "$1" in
    --bootstrap) bootstrap="$2" ;;
    --topic) topic="$2" ;;
    --brokers) brokers="$2" ;;
    --partitions) partitions="$2" ;;
    --replication-factor) rf="$2" ;;
    --records) records="$2" ;;
    --deadline-s) deadline_s="$2" ;;
    *) usage ;;
  esac
  shift 2
done
[[ -n "$bootstrap" && -n "$topic" && -n "$brokers" ]] || usage

started=$SECONDS
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
log() { printf '[kcat %5ds] %s\n' "$((SECONDS - started))" "$*" >&2; }
fail() {
  printf 'FAIL: %s\n' "$*" >&2
  exit 1
}
kcat_() { timeout --kill-after=5 20 kcat -b "$bootstrap" -X socket.timeout.ms=10000 "$@"; }
deadline_passed() { ((SECONDS - started >= ${deadline_s%.*})); }

# What is wrong with `kcat -L -t $1`'s listing (nothing when the layout is right).
# Its lines: ` 3 brokers:`, `  broker 2 at 127.0.0.1:port (controller)`, and per partition
# `    partition 0, leader 2, replicas: 2,3,4, isrs: 3,2,4`.
layout_problems() {
  local listing="$1" want_partitions="$2"
  awk -v brokers="$brokers" -v rf="$rf" -v want="$want_partitions" '
    function sorted_csv(csv,   n, a, i, j, t, out) {
      n = split(csv, a, ",")
      for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
      out = a[1]; for (i = 2; i <= n; i++) out = out "," a[i]
      return out
    }
    /^ [0-9]+ brokers:/ { listed_count = $1 }
    /^  broker [0-9]+ at / { listed = listed (listed == "" ? "" : ",") $2 }
    /^    partition [0-9]+, leader/ {
      line = $0; gsub(/[,:]/, " ", line); n = split(line, f, " ")
      p = f[2]; leader = f[4]; replicas = ""; isrs = ""; field = ""
      for (i = 5; i <= n; i++) {
        if (f[i] == "replicas" || f[i] == "isrs") { field = f[i]; continue }
        if (field == "replicas") replicas = replicas (replicas == "" ? "" : ",") f[i]
        if (field == "isrs") isrs = isrs (isrs == "" ? "" : ",") f[i]
      }
      partitions++
      leaders[leader] = 1
      if (split(replicas, r, ",") != rf) print "partition " p ": replicas " replicas ", expected " rf
      if (sorted_csv(isrs) != sorted_csv(replicas)) print "partition " p ": ISR " isrs ", replicas " replicas
      if (index("," replicas ",", "," leader ",") == 0) print "partition " p ": leader " leader " not a replica"
    }
    END {
      if (sorted_csv(listed) != sorted_csv(brokers)) print "brokers listed: " listed " (" listed_count "), expected " brokers
      if (partitions != want) print partitions + 0 " partitions, expected " want
      if (want >= split(brokers, b, ",")) for (i in b) if (!(b[i] in leaders)) print "broker " b[i] " leads no partition"
    }' <<<"$listing"
}

# wait_for_layout TOPIC PARTITIONS: polls kcat -L until the layout is right.
wait_for_layout() {
  local t="$1" want="$2" listing problems
  while :; do
    listing="$(kcat_ -L -t "$t" 2>&1)" || true
    problems="$(layout_problems "$listing" "$want")"
    [[ -z "$problems" ]] && break
    deadline_passed && fail "kcat -L -t $t: $(tr '\n' ';' <<<"$problems") -- listing: $listing"
    sleep 0.3
  done
  log "kcat -L -t $t: $(grep -c '^  broker ' <<<"$listing") brokers;" \
    "$(grep '^    partition' <<<"$listing" | sed 's/^ *//' | tr '\n' ';')"
}

# 1. The cluster and the topic's layout.
wait_for_layout "$topic" "$partitions"

# 2. Produce each partition's lines, idempotently, acks=all.
lines_of() { awk -v n="$records" -v P="$partitions" -v p="$1" 'BEGIN { for (i = p; i < n; i += P) printf "key-%d:value-%d\n", i, i }'; }
for ((p = 0; p < partitions; p++)); do
  lines_of "$p" | kcat_ -P -t "$topic" -p "$p" -K: -X acks=all -X enable.idempotence=true \
    -X message.timeout.ms=15000 2>"$work/produce-$p.err" ||
    fail "kcat -P partition $p exited non-zero: $(head -c 2000 "$work/produce-$p.err")"
  if grep -qE "ERROR|[Dd]elivery failed" "$work/produce-$p.err"; then
    fail "kcat -P partition $p reported: $(head -c 2000 "$work/produce-$p.err")"
  fi
done
log "produced $records lines into $partitions partitions, idempotent, acks=all"

# 3. Read each partition back: offsets, keys and values, each once and in order.
for ((p = 0; p < partitions; p++)); do
  lines_of "$p" | awk -F: -v p="$p" '{ printf "%d|%d|%s|%s\n", p, NR - 1, $1, $2 }' >"$work/expected-$p"
  kcat_ -C -t "$topic" -p "$p" -o beginning -e -q -f '%p|%o|%k|%s\n' >"$work/got-$p" 2>"$work/consume-$p.err" ||
    fail "kcat -C partition $p exited non-zero: $(head -c 2000 "$work/consume-$p.err")"
  cmp -s "$work/expected-$p" "$work/got-$p" ||
    fail "partition $p read back differs ($(wc -l <"$work/got-$p") lines, expected $(wc -l <"$work/expected-$p")):
$(diff "$work/expected-$p" "$work/got-$p" | head -20)"
done
log "consumed every partition: each line once, in order, at offsets 0, 1, 2, ..."

# 4. An auto-created topic: produced to, read back, replicated.
auto="$topic-auto"
seq 1 100 | sed 's/^/auto-/' >"$work/auto-expected"
kcat_ -P -t "$auto" -X acks=all -X enable.idempotence=true -X message.timeout.ms=15000 \
  <"$work/auto-expected" 2>"$work/auto.err" || fail "kcat -P $auto: $(head -c 2000 "$work/auto.err")"
grep -qE "ERROR|[Dd]elivery failed" "$work/auto.err" && fail "kcat -P $auto reported: $(head -c 2000 "$work/auto.err")"
auto_partitions="$(kcat_ -L -t "$auto" | grep -c "^    partition " || true)"
kcat_ -C -t "$auto" -o beginning -e -q -f '%s\n' 2>"$work/auto-consume.err" | sort >"$work/auto-got"
sort "$work/auto-expected" | cmp -s - "$work/auto-got" ||
  fail "$auto read back $(wc -l <"$work/auto-got") lines, expected the 100 produced: $(head -c 500 "$work/auto-got")"
wait_for_layout "$auto" "$auto_partitions"
log "auto-created $auto ($auto_partitions partition(s)): 100 lines produced and read back; PASS"
