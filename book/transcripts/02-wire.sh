# Chapter 2's "Run it": one broker, kcat against it, dump-log, ApiVersions by
# hand. The page shows port 19192 and /tmp/bookdemo; the broker here listens on
# a free port in a scratch directory, and `emit` writes the page's values back.
port=$(free_port)
dir="$WORK/bookdemo"
log="$WORK/broker.log"
mask "127\.0\.0\.1:$port" "127.0.0.1:19192"
mask "$dir" "/tmp/bookdemo"
mask "cluster [A-Za-z0-9_-]{22}" "cluster <cluster-id>"
mask "CreateTime: [0-9]{13}" "CreateTime: <ms>"
mask "crc: [0-9]+" "crc: <crc>"
mask "rtt [0-9.]+ms" "rtt <ms>"

start_broker "$log" "$dir" "$port" --override num.partitions=3
log_lines "$log" | grep 'listening on' | emit serve

kcat -b "127.0.0.1:$port" -L | emit metadata-empty

printf '%s\n' 'user-1:{"order":1,"amount":30}' 'user-2:{"order":2,"amount":12}' \
  'user-1:{"order":3,"amount":7}' 'user-3:{"order":4,"amount":99}' \
  'user-2:{"order":5,"amount":41}' 'user-1:{"order":6,"amount":5}' |
  kcat -b "127.0.0.1:$port" -t orders -P -K: -z gzip -X linger.ms=1000
log_lines "$log" | grep -o "created topic.*" | emit_inline created-topic
kcat -b "127.0.0.1:$port" -L | emit metadata-orders

kcat -b "127.0.0.1:$port" -t orders -C -e -o beginning \
  -f 'partition %p offset %o key %k: %s\n' 2>/dev/null | sort | emit consume

ls "$dir" | emit ls
"$SPOOL" dump-log --files "$dir/orders-2/00000000000000000000.log" --print-data-log |
  emit dump-log-orders-2
# A topic id is random: its 22 characters of base64 are masked.
mask '"topicId":"[A-Za-z0-9_-]{22}"' '"topicId":"<topic-id>"'
"$SPOOL" dump-log --cluster-metadata-decoder \
  --files "$dir/__cluster_metadata-0/00000000000000000000.log" | emit dump-log-metadata
# The size of partition 2's one gzip batch, which the prose quotes.
grep -o -m1 'size: [0-9]*' "$OUT/dump-log-orders-2.txt" | grep -o '[0-9]*' |
  emit_inline gzip-batch-bytes

# Long polling, live: a consumer at the end of partition 0 whose fetches may
# each be held 5 s; one second later a record is produced. Each line gets the
# clock in milliseconds, so the scenario can check that the held fetch was
# woken (the record arrives well before the 5 s run out; the bound is loose
# because a loaded machine is slow, not because a woken fetch is); the page
# shows the lines in time order with the clock masked. The consumer starts at
# the end offset read first, not at `-o end`, so a consumer slow to start on a
# busy machine still reads the record instead of waiting for ever.
end=$(kcat -b "127.0.0.1:$port" -t orders -p 0 -C -e -q -f '%o\n' | tail -1)
end=$((${end:--1} + 1))
polled="$WORK/longpoll.txt"
timeout 60 kcat -b "127.0.0.1:$port" -t orders -p 0 -C -o "$end" -c 1 -X fetch.wait.max.ms=5000 \
  -f 'consumer got offset %o key %k: %s\n' 2>&1 |
  while IFS= read -r l; do echo "$(date +%s%3N) $l" >>"$polled"; done &
consumer=$!
sleep 1
produced_ms=$(date +%s%3N)
echo "$produced_ms producing" >>"$polled"
echo 'user-3:{"order":7,"amount":18}' | kcat -b "127.0.0.1:$port" -t orders -p 0 -P -K:
wait "$consumer"
got_ms=$(grep -m1 'consumer got' "$polled" | cut -d' ' -f1)
if [[ -z $got_ms ]] || ((got_ms - produced_ms >= 3500)); then
  echo "long poll: the record arrived ${got_ms:+$((got_ms - produced_ms)) ms after the produce}${got_ms:-never}" >&2
  exit 1
fi
sort -n -s -k1,1 "$polled" | sed -E 's/^[0-9]+ /hh:mm:ss.mmm /' | emit long-poll

# librdkafka's own log of the negotiation, its prefixes cut to the message:
# the ApiVersions exchange, the features the prose names, and the next request.
kcat -b "127.0.0.1:$port" -L -X debug=protocol,feature 2>&1 >/dev/null |
  sed -E 's/^%7\|[0-9.]+\|[A-Z0-9_-]+\|[^|]*\| \[[^]]*\]: ([^ ]*: )?//' |
  grep -E 'ApiVersion(Request|Response)|ApiKey|Feature (MsgVer2|LZ4|ZSTD)|Sent MetadataRequest' |
  awk '/Sent MetadataRequest/ { print; exit } { print }' | emit kcat-debug

# KIP-511 by hand: ApiVersions v99 (key 18, version 99, correlation id 7).
# `raw_request BYTES FILE`: the broker's whole answer to one request, in FILE.
raw_request() {
  exec 3<>"/dev/tcp/127.0.0.1/$port"
  printf "$1" >&3
  timeout 1 cat <&3 >"$2" || true
  exec 3<&-
}
raw_request '\x00\x00\x00\x0a\x00\x12\x00\x63\x00\x00\x00\x07\xff\xff' "$WORK/v99.bin"
xxd "$WORK/v99.bin" | emit apiversions-v99
# The numbers the prose reads off that dump: the frame's size and the API count.
printf '%d' "0x$(head -c4 "$WORK/v99.bin" | xxd -p)" | emit_inline apiversions-v99-frame-bytes
printf '%d' "0x$(tail -c+11 "$WORK/v99.bin" | head -c4 | xxd -p)" | emit_inline apiversions-v99-api-count

# An API key that does not exist (999): no answer, a logged reason.
raw_request '\x00\x00\x00\x0a\x03\xe7\x00\x00\x00\x00\x00\x08\xff\xff' "$WORK/999.bin"
printf "%d" "$(wc -c <"$WORK/999.bin")" | emit_inline unknown-key-reply-bytes
sleep 0.2
log_lines "$log" | grep 'unknown api key' | emit unknown-key-log

stop_brokers
log_lines "$log" | grep -E 'shutting down|shut down cleanly' | emit shutdown
