# Chapter 10's model run: the unsafe swap, stopped at its first failure.
model check-compaction-delete-before-durable fail check compaction --bug delete-before-durable --first-failure
# Chapter 10's "Try it": a compacted topic with tiny segments, cleaned by the
# broker's cleaner thread. So that what the page shows does not depend on
# when the cleaner wakes, the writes are made with the cleaner off
# (log.cleaner.enable=false) and each cleaning by a restart with it on, which
# is stopped once the cleaning is checkpointed. The page shows port 9092 and
# /tmp/spool-compaction.
port=$(free_port)
dir="$WORK/spool-compaction"
mask "127\.0\.0\.1:$port" "127.0.0.1:9092"
mask "$dir" "/tmp/spool-compaction"
mask "deleteHorizonMs: OptionalLong\\[[0-9]+\\]" "deleteHorizonMs: OptionalLong[<ms>]"
B=(--bootstrap-server "127.0.0.1:$port")
writing() { start_broker "$WORK/broker-$1.log" "$dir" "$port" --override log.cleaner.enable=false; }
# `cleaning N`: a broker that cleans until the checkpoint names offset N or more.
cleaning() {
  local log="$WORK/broker-clean-$1.log" i
  start_broker "$log" "$dir" "$port" \
    --override log.cleaner.backoff.ms=100 --override log.cleaner.min.cleanable.ratio=0.01
  for i in $(seq 100); do
    awk -v n="$1" 'NR > 2 && $3 >= n { found = 1 } END { exit !found }' \
      "$dir/cleaner-offset-checkpoint" 2>/dev/null && break
    sleep 0.1
  done
  stop_brokers
}
strip_dump() {
  sed -E 's/ position: [0-9]+//; s/ CreateTime: [0-9]+//; s/ size: [0-9]+//; s/ magic: [0-9]+//; s/ compresscodec: [A-Za-z]+//; s/ crc: [0-9]+//; s/ isvalid: [a-z]+//'
}
segments() { (cd "$dir/colors-0" && stat -c '%s %n' -- *.log) | awk '{ printf "%6d %s\n", $1, $2 }'; }

writing 1
"$SPOOL" topics "${B[@]}" --create --topic colors --partitions 1 \
  --config cleanup.policy=compact --config segment.bytes=1024 --config delete.retention.ms=60000 >/dev/null
for i in $(seq 1 200); do echo "k$((i % 5)):v$i"; done |
  "$SPOOL" produce "${B[@]}" --topic colors --key-separator : --producer-property batch.size=200
echo 'k0:<null>' |
  "$SPOOL" produce "${B[@]}" --topic colors --key-separator : --property 'null.marker=<null>'
echo "no key here" | "$SPOOL" produce "${B[@]}" --topic colors 2>&1 | emit keyless || true
stop_brokers
segments | emit segments-before
"$SPOOL" dump-log --print-data-log --files "$dir/colors-0/00000000000000000000.log" |
  strip_dump | sed -n 1,4p | emit dump-log-before

last=$(ls "$dir/colors-0/" | grep '\.log$' | tail -1)
cleaning "$((10#${last%.log}))"
segments | emit segments-cleaned
cat "$dir/cleaner-offset-checkpoint" | emit checkpoint

writing 2
for i in $(seq 1 100); do echo "k$((i % 4 + 1)):w$i"; done |
  "$SPOOL" produce "${B[@]}" --topic colors --key-separator : --producer-property batch.size=200
stop_brokers
last=$(ls "$dir/colors-0/" | grep '\.log$' | tail -1)
cleaning "$((10#${last%.log}))"
segments | emit segments-cleaned-again
# Every sealed segment, as cleaned (the active one, last, is never touched).
sealed=$(ls "$dir/colors-0/"*.log | head -n -1)
# shellcheck disable=SC2086
"$SPOOL" dump-log --print-data-log --files $(tr '\n' ',' <<<"$sealed" | sed 's/,$//') |
  strip_dump | sed -E 's/ partitionLeaderEpoch: 0| isTransactional: false| isControl: false//g' |
  emit dump-log-cleaned
# What a consumer reads from the start: the first lines and the count.
writing 3
"$SPOOL" consume "${B[@]}" --topic colors --from-beginning --print-key --timeout-ms 500 2>&1 |
  awk 'NR <= 6 { print; next } /^Processed/ { print "…"; print }' | emit consume
stop_brokers
