# Chapter 3's "Run it": five records read back, then the broker's system
# calls while a consumer fetches them, on the zero-copy path and on the
# copying one. The page shows port 19193 and /tmp/zerocopy-demo.
port=$(free_port)
dir="$WORK/zerocopy-demo"
mask "127\.0\.0\.1:$port" "127.0.0.1:19193"
mask "$dir" "/tmp/zerocopy-demo"
# strace's thread ids and descriptor numbers vary; name them by their role.
mask "^[0-9]+ +" "<tid> "
mask "sendfile\([0-9]+, [0-9]+," "sendfile(<socket>, <segment>,"
mask "sendto\([0-9]+," "sendto(<socket>,"
mask "pread64\([0-9]+," "pread64(<segment>,"

bootstrap="127.0.0.1:$port"
start_broker "$WORK/broker.log" "$dir" "$port"
{
  "$SPOOL" topics --bootstrap-server "$bootstrap" --create --topic orders --partitions 1
  seq 1 5 | sed 's/.*/user-&:{"order":&}/' |
    "$SPOOL" produce --bootstrap-server "$bootstrap" --topic orders --key-separator :
  "$SPOOL" consume --bootstrap-server "$bootstrap" --topic orders \
    --from-beginning --print-key --timeout-ms 1000
} 2>&1 | emit produce-consume

# `traced_consume NAME`: the broker's byte-moving system calls while one
# consumer reads the five records; only the first 8 bytes of each buffer
# (`-s 8`: the frame size and the correlation id), so that nothing that
# varies (the port in Metadata, timestamps in a batch) shows.
traced_consume() {
  local trace="$WORK/$1.strace" i
  strace -f -s 8 -p "${BROKER_PIDS[-1]}" -e trace=sendfile,sendto,pread64 -o "$trace" \
    2>"$WORK/$1.strace-log" &
  local strace_pid=$!
  for i in $(seq 50); do
    grep -qs attached "$WORK/$1.strace-log" && break
    sleep 0.1
  done
  sleep 0.3
  "$SPOOL" consume --bootstrap-server "$bootstrap" --topic orders \
    --from-beginning --max-messages 5 >/dev/null 2>&1
  sleep 0.3
  kill -INT "$strace_pid"
  wait "$strace_pid" || true
  grep -E '^[0-9]+ +(sendfile|sendto|pread64)\(' "$trace" | emit "$1"
}
traced_consume strace-zero-copy

stop_brokers
start_broker "$WORK/broker-copy.log" "$dir" "$port" --override spool.fetch.zero.copy=false
traced_consume strace-copy

# The numbers the prose reads off the two traces: the fetch response's three
# parts on the zero-copy path, and the one write of the copying path, which
# must be the same size (both paths put the same bytes on the wire).
zc="$OUT/strace-zero-copy.txt"
returned() { sed -E 's/.*= ([0-9]+)$/\1/'; }
batch_bytes=$(grep -m1 'sendfile(' "$zc" | returned)
head_bytes=$(grep -B1 -m1 'sendfile(' "$zc" | head -n1 | returned)
tail_bytes=$(grep -A1 -m1 'sendfile(' "$zc" | tail -n1 | returned)
copied_bytes=$(tail -n1 "$OUT/strace-copy.txt" | returned)
total=$((head_bytes + batch_bytes + tail_bytes))
[[ $total -eq $copied_bytes ]] ||
  { echo "zero-copy response $total bytes, copying one $copied_bytes" >&2; exit 1; }
printf '%d' "$head_bytes" | emit_inline fetch-head-bytes
printf '%d' "$batch_bytes" | emit_inline fetch-batch-bytes
printf '%d' "$tail_bytes" | emit_inline fetch-tail-bytes
printf '%d' "$total" | emit_inline fetch-response-bytes
printf '%d' "$((total - 4))" | emit_inline fetch-frame-size
