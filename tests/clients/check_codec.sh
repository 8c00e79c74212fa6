#!/usr/bin/env bash
# Proves which codec a client really put on the wire: reads the topic's segments in the
# broker's log dir with `spool dump-log --deep-iteration` (which also decompresses every
# batch, so the framing must be one spool reads) and requires the topic's batches to carry
# `compresscodec: CODEC` (the rule for small batches is below). A client that silently
# falls back to no compression, or to another codec, fails here, though its records would
# read back intact.
#
#   tests/clients/check_codec.sh TOPIC CODEC
#
# With SPOOL_TOPIC_CODEC set (run.sh --topic-compression), the broker re-encodes every
# batch with that codec (chapter 4), so every batch on disk must carry it, whatever the
# client sent and however small the batch.
# Needs SPOOL_BIN (the broker's binary) and SPOOL_LOG_DIR (its log.dirs), which run.sh
# exports to every scenario. The scenarios call it right after they produce (before a
# scenario deletes its topic). Prints one line; on failure a `FAIL:` line and exits 1.
# Spool writes straight to the segment file (no preallocation) before it acknowledges, so
# reading while the broker runs sees every acknowledged batch.
set -euo pipefail

[[ $# -eq 2 ]] || {
  echo "usage: $0 TOPIC CODEC (with SPOOL_BIN and SPOOL_LOG_DIR set)" >&2
  exit 2
}
topic="$1" codec="$2" strict=0
if [[ -n "${SPOOL_TOPIC_CODEC:-}" ]]; then
  codec="$SPOOL_TOPIC_CODEC" strict=1
fi
fail() {
  printf 'FAIL: codec check of %s: %s\n' "$topic" "$*" >&2
  exit 1
}
[[ -n "${SPOOL_BIN:-}" && -x "$SPOOL_BIN" ]] || fail "SPOOL_BIN '${SPOOL_BIN:-}' is not an executable"
[[ -n "${SPOOL_LOG_DIR:-}" && -d "$SPOOL_LOG_DIR" ]] || fail "SPOOL_LOG_DIR '${SPOOL_LOG_DIR:-}' is not a directory"

shopt -s nullglob
segments=()
partition_dirs=0
for dir in "$SPOOL_LOG_DIR/$topic"-*/; do
  # Only TOPIC-<partition>, not another topic whose name starts with TOPIC-.
  [[ "$(basename "$dir")" =~ ^"$topic"-[0-9]+$ ]] || continue
  partition_dirs=$((partition_dirs + 1))
  segments+=("$dir"*.log)
done
((${#segments[@]} > 0)) || fail "no segment files under $SPOOL_LOG_DIR/$topic-<partition>/"

dump="$(mktemp)"
trap 'rm -f "$dump"' EXIT
"$SPOOL_BIN" dump-log --deep-iteration --files "${segments[@]}" >"$dump" 2>&1 ||
  fail "spool dump-log exited non-zero: $(grep -v '^|' "$dump" | tail -n 3 | tr '\n' ' ' | cut -c1-400)"

# One `baseOffset: ... count: N ... size: N ... compresscodec: X ...` line per batch.
# With a codec, a small batch may still be uncompressed: kafka-python and librdkafka send
# a batch as it is when compressing it saves nothing (one ~200-byte record in an LZ4
# frame, say). So: no batch of another codec; no uncompressed batch over SMALL_BATCH_BYTES;
# and the codec's batches hold at least MIN_CODEC_RECORDS_PCT of the records.
SMALL_BATCH_BYTES=1024
MIN_CODEC_RECORDS_PCT=90
verdict="$(awk -v want="$codec" -v small="$SMALL_BATCH_BYTES" -v pct="$MIN_CODEC_RECORDS_PCT" -v strict="$strict" '
  /^baseOffset: / {
    for (i = 1; i < NF; i++) {
      if ($i == "count:") count = $(i + 1)
      else if ($i == "size:") size = $(i + 1)
      else if ($i == "compresscodec:") got = $(i + 1)
    }
    batches++; records += count; seen[got]++
    if (got == want) { codec_batches++; codec_records += count }
    else if (strict || want == "none" || got != "none") bad++
    else if (size > small) big++
    else { small_plain++; small_plain_records += count }
  }
  END {
    for (c in seen) { found = found sep c " x" seen[c]; sep = ", " }
    if (batches == 0) { print "FAIL dump-log found no batches"; exit }
    if (bad) { printf "FAIL %d of %d batches carry another codec than %s (found: %s)\n", bad, batches, want, found; exit }
    if (big) { printf "FAIL %d uncompressed batches over %d bytes, expected %s (found: %s)\n", big, small, want, found; exit }
    if (codec_records * 100 < records * pct) {
      printf "FAIL only %d of %d records are in %s batches, expected %d%% (found: %s)\n", codec_records, records, want, pct, found; exit
    }
    printf "OK %d of %d batches (%d of %d records) are compresscodec: %s", codec_batches, batches, codec_records, records, want
    if (small_plain) printf "; %d small %s (at most %d bytes, %d records) sent uncompressed, as a client may when compressing saves nothing", small_plain, small_plain == 1 ? "batch" : "batches", small, small_plain_records
    print ""
  }' "$dump")"
[[ "$verdict" == OK* ]] || fail "${verdict#FAIL }"
echo "codec check: $topic, $partition_dirs partitions: ${verdict#OK } (spool dump-log)" >&2
