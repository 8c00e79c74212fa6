# Chapter 9's model runs: the real coordinator, and KAFKA-14402's hanging
# transaction stopped at its first failure.
model check-transactions pass check transactions
model check-transactions-hanging-transaction fail check transactions --bug hanging-transaction --first-failure
# Chapter 9's "Try it" in miniature, with confluent-kafka: a transaction
# committed, a second left open by a producer that stops answering (a crash),
# and a successor with the same transactional.id that fences it. Then the
# output partition's log and its index of aborted transactions, what each
# isolation level reads, and the coordinator's view. The page shows port 9092
# and /tmp/spool-txn; the broker here listens on a free port in a scratch
# directory.
port=$(free_port)
dir="$WORK/spool-txn"
log="$WORK/broker.log"
mask "127\.0\.0\.1:$port" "127.0.0.1:9092"
mask "$dir" "/tmp/spool-txn"
start_broker "$log" "$dir" "$port"
"$SPOOL" topics --bootstrap-server "127.0.0.1:$port" --create --topic out --partitions 1 >/dev/null

.venv-clients/bin/python - "127.0.0.1:$port" <<'PY' 2>"$WORK/python.err" | emit txn-producers
import os, sys
from confluent_kafka import Producer

def producer():
    return Producer({"bootstrap.servers": sys.argv[1], "transactional.id": "scorer"})

first = producer()
first.init_transactions()
for n, commit in ((1, True), (2, False)):
    first.begin_transaction()
    for i in range(20):
        first.produce("out", key=f"k{i % 4}", value=f"t{n}-{i}")
    first.flush()
    if commit:
        first.commit_transaction()
        print(f"first producer: transaction {n} committed (20 records)")
    else:
        print(f"first producer: transaction {n} written (20 records), then it stops answering")

successor = producer()
successor.init_transactions()  # fences `first`: its open transaction is aborted
print("successor: init_transactions() returned; the open transaction was aborted")
successor.begin_transaction()
for i in range(20):
    successor.produce("out", key=f"k{i % 4}", value=f"t3-{i}")
successor.commit_transaction()
print("successor: transaction 3 committed (20 records)")
sys.stdout.flush()
os._exit(0)  # `first` is a zombie: no goodbye from it
PY

"$SPOOL" dump-log --files "$dir/out-0/00000000000000000000.log" |
  sed -E 's/ position: [0-9]+//; s/ CreateTime: [0-9]+//; s/ size: [0-9]+//; s/ magic: [0-9]+//; s/ compresscodec: [A-Za-z]+//; s/ crc: [0-9]+//; s/ isvalid: [a-z]+//' |
  emit dump-log-out
"$SPOOL" dump-log --files "$dir/out-0/00000000000000000000.txnindex" | emit dump-log-txnindex
for level in read_committed read_uncommitted; do
  printf '%s: %s records\n' "$level" \
    "$(kcat -b "127.0.0.1:$port" -C -t out -e -q -X isolation.level=$level | wc -l)"
done | emit isolation-levels
# The coordinator's view; the start time and the duration of the last
# transaction vary, so their columns are masked (padded as the tool pads).
"$SPOOL" transactions --bootstrap-server "127.0.0.1:$port" describe --transactional-id scorer |
  awk -F'\t' -v OFS='\t' 'NR > 1 { for (i = 7; i <= 8; i++) $i = sprintf("%-*s", length($i), "<ms>") } { print }' |
  emit describe-scorer
stop_brokers
