# Chapter 8's model runs: the real table, explored to the end, and each bug
# stopped at its first failure (the same counterexample as a full run, found
# sooner). The prose quotes the real table's state count from its summary.
model check-idempotence pass check idempotence
sed -nE 's/^explored all ([0-9]+) unique states.*/\1/p' "$OUT/check-idempotence.txt" |
  sed -E ':a; s/([0-9])([0-9]{3})($|,)/\1,\2\3/; ta' | emit_inline check-idempotence-states
for bug in retain-four keep-batches-on-epoch-bump count-in-flight; do
  model "check-idempotence-$bug" fail check idempotence --bug "$bug" --first-failure
done
# Chapter 8's "Try it": idempotent batches from kcat (librdkafka) and from
# spool's own producer, their headers in the log, and the producer snapshot a
# clean shutdown leaves. The page shows port 9092 and /tmp/spool-idem.
port=$(free_port)
dir="$WORK/spool-idem"
log="$WORK/broker.log"
mask "127\.0\.0\.1:$port" "127.0.0.1:9092"
mask "$dir" "/tmp/spool-idem"
mask "imestamp: [0-9]+" "imestamp: <ms>"
start_broker "$log" "$dir" "$port"
"$SPOOL" topics --bootstrap-server "127.0.0.1:$port" --create --topic orders --partitions 1 >/dev/null
seq 5 | kcat -b "127.0.0.1:$port" -t orders -P -X enable.idempotence=true
seq 6 8 | "$SPOOL" produce --bootstrap-server "127.0.0.1:$port" --topic orders
seq 9 10 | "$SPOOL" produce --bootstrap-server "127.0.0.1:$port" --topic orders
stop_brokers
"$SPOOL" dump-log --files "$dir/orders-0/00000000000000000000.log" |
  sed -E 's/ position: [0-9]+//; s/ CreateTime: [0-9]+//; s/ size: [0-9]+//; s/ magic: [0-9]+//; s/ compresscodec: [A-Za-z]+//; s/ crc: [0-9]+//; s/ isvalid: [a-z]+//' |
  emit dump-log-orders
ls "$dir/orders-0" | emit ls-orders
"$SPOOL" dump-log --files "$dir/orders-0/"*.snapshot | emit dump-log-snapshot
