#!/usr/bin/env bash
# kcat (Debian's, librdkafka 2.0.2) against spool: list the cluster, produce keyed lines
# into each partition, read each partition back from the beginning and compare.
#
# Covers: ApiVersions, Metadata (-L), topic auto-creation on Metadata (kcat has no admin
# commands, so run.sh starts this case's broker with auto.create.topics.enable=true and
# num.partitions=P), Produce (acks=all, -z codec, -H headers), ListOffsets (-o beginning),
# Fetch until end of partition (-e); and, from the segments on disk, that every batch
# carries the codec asked for (check_codec.sh).
#
# Records: line i is `key-<i>:order=<i>;customer=c-<i % 97>;pad=<"ab" x (i % 29)>`, into
# partition i % P; kcat's -H gives every record of one produce call the same two
# headers, so each record carries `source=kcat` and `partition=<p>`. Values hold no
# ':' (kcat's -K: key delimiter) and no newline (its record delimiter).
set -euo pipefail

usage() {
  echo "usage: $0 --bootstrap HOST:PORT --topic T [--partitions P] [--records N]" \
    "[--compression none|gzip|snappy|lz4|zstd] [--deadline-s S]" >&2
  exit 2
}

bootstrap="" topic="" partitions=3 records=10000 compression=none deadline_s=120
while (($#)); do
  [[ $# -ge 2 ]] || usage
  case "$1" in
    --bootstrap) bootstrap="$2" ;;
    --topic) topic="$2" ;;
    --partitions) partitions="$2" ;;
    --records) records="$2" ;;
    --compression) compression="$2" ;;
    --deadline-s) deadline_s="$2" ;;
    *) usage ;;
  esac
  shift 2
done
[[ -n "$bootstrap" && -n "$topic" ]] || usage
case "$compression" in none | gzip | snappy | lz4 | zstd) ;; *) usage ;; esac

# Every kcat call is bounded: a third of the whole deadline each, at least 10 s.
call_timeout_s=$(((${deadline_s%.*} / 3) > 10 ? (${deadline_s%.*} / 3) : 10))
started=$SECONDS
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

log() { printf '[kcat %5ds] %s\n' "$((SECONDS - started))" "$*" >&2; }
fail() {
  printf 'FAIL: %s\n' "$*" >&2
  exit 1
}
kcat_() { timeout --kill-after=5 "$call_timeout_s" kcat -b "$bootstrap" -X socket.timeout.ms=10000 "$@"; }

# The lines of partition $1, as produced (key:value).
lines_of() {
  awk -v n="$records" -v P="$partitions" -v p="$1" 'BEGIN {
    for (i = p; i < n; i += P) {
      pad = ""; for (j = 0; j < i % 29; j++) pad = pad "ab"
      printf "key-%d:order=%d;customer=c-%d;pad=%s\n", i, i, i % 97, pad
    }
  }'
}

# 1. Metadata: the broker lists itself at the address we dialled.
kcat_ -L >"$work/metadata" 2>"$work/metadata.err" ||
  fail "kcat -L exited $?: $(cat "$work/metadata.err")"
grep -q "^ 1 brokers:" "$work/metadata" || fail "kcat -L does not list exactly 1 broker: $(cat "$work/metadata")"
grep -q "at ${bootstrap}" "$work/metadata" || fail "kcat -L does not list a broker at ${bootstrap}: $(cat "$work/metadata")"
log "kcat -L: $(grep -m1 'broker .* at ' "$work/metadata" | sed 's/^ *//')"

# 2. Produce each partition's lines with one kcat call (the first auto-creates the topic).
for ((p = 0; p < partitions; p++)); do
  if ! lines_of "$p" | kcat_ -P -t "$topic" -p "$p" -K: -z "$compression" \
    -H source=kcat -H "partition=$p" -X acks=all -X message.timeout.ms=30000 \
    2>"$work/produce-$p.err"; then
    fail "kcat -P partition $p exited non-zero: $(head -c 2000 "$work/produce-$p.err")"
  fi
  if grep -qE "ERROR|[Dd]elivery failed" "$work/produce-$p.err"; then
    fail "kcat -P partition $p reported: $(head -c 2000 "$work/produce-$p.err")"
  fi
done
log "produced $records lines into $partitions partitions ($compression)"

# 2b. Every batch on disk carries the codec asked for (run.sh sets SPOOL_LOG_DIR).
if [[ -n "${SPOOL_LOG_DIR:-}" ]]; then
  bash "$(dirname "$0")/check_codec.sh" "$topic" "$compression"
else
  log "codec on the wire not checked: SPOOL_LOG_DIR is not set (run.sh sets it)"
fi

# 3. Metadata of the topic: P partitions.
kcat_ -L -t "$topic" >"$work/topic" 2>"$work/topic.err" || fail "kcat -L -t $topic: $(cat "$work/topic.err")"
grep -q "topic \"$topic\" with $partitions partitions:" "$work/topic" ||
  fail "kcat -L -t $topic does not show $partitions partitions: $(cat "$work/topic")"

# 4. Consume each partition from the beginning to its end: records, offsets and headers.
for ((p = 0; p < partitions; p++)); do
  lines_of "$p" | awk -v p="$p" -F: '{ k = $1; sub(/^[^:]*:/, ""); printf "%d|%d|%s|%s|source=kcat,partition=%d\n", p, NR - 1, k, $0, p }' \
    >"$work/expected-$p"
  kcat_ -C -t "$topic" -p "$p" -o beginning -e -q -f '%p|%o|%k|%s|%h\n' \
    >"$work/got-$p" 2>"$work/consume-$p.err" ||
    fail "kcat -C partition $p exited non-zero: $(head -c 2000 "$work/consume-$p.err")"
  if ! cmp -s "$work/expected-$p" "$work/got-$p"; then
    fail "partition $p read back differs ($(wc -l <"$work/got-$p") lines, expected" \
      "$(wc -l <"$work/expected-$p")); first differences (< expected, > got):
$(diff "$work/expected-$p" "$work/got-$p" | head -20 | cut -c1-200)"
  fi
done
log "consumed every partition: offsets, keys, values and headers as produced"

# 5. All partitions at once (librdkafka assigns every partition): the count is N.
count="$(kcat_ -C -t "$topic" -o beginning -e -q -f '%o\n' 2>"$work/all.err" | wc -l)" ||
  fail "kcat -C all partitions: $(cat "$work/all.err")"
[[ "$count" -eq "$records" ]] || fail "kcat -C all partitions read $count records, expected $records"
log "consumed $count records across all partitions; PASS"
