# Chapter 1's "Run it" and "Check it": a log written by the example, dumped,
# torn and recovered; then the log model, correct and with each planted bug.
# The page shows /tmp/spool-demo; the scenario writes in a scratch directory.
demo="$WORK/spool-demo"
dir="$demo/orders-0"
seg="$dir/00000000000000000000"
mask "$demo" "/tmp/spool-demo"
# The records' timestamps are the clock's, and the batch CRCs cover them.
mask "CreateTime: [0-9]{13}" "CreateTime: <ms>"
mask "crc: [0-9]+" "crc: <crc>"

"$WRITE_LOG" "$dir" | emit write-log
(cd "$dir" && wc -c -- *) | emit files
"$SPOOL" dump-log --files "$seg.log" --print-data-log >"$WORK/dump.txt"
head -n 5 "$WORK/dump.txt" | emit dump-log-head
tail -n 11 "$WORK/dump.txt" | emit dump-log-tail
"$SPOOL" dump-log --files "$seg.index" | emit dump-index

truncate -s -7 "$seg.log"
status=0
"$SPOOL" dump-log --files "$seg.log" >"$WORK/torn.txt" 2>&1 || status=$?
[[ $status -eq 1 ]] || { echo "dump-log of a torn log exited $status, not 1" >&2; exit 1; }
tail -n 3 "$WORK/torn.txt" | emit dump-log-torn
"$WRITE_LOG" "$dir" 0 | emit write-log-recover

model check-log pass check log
model check-log-ack-before-fsync fail check log --bug ack-before-fsync
model check-log-marker-before-flush fail check log --bug marker-before-flush

# "What the admin operations do to the files": a broker, a topic of tiny
# segments, then DeleteRecords, a retention change, CreatePartitions and
# DescribeLogDirs, each session printed with its commands. The page shows
# /tmp/admin17-demo and port 19194.
admin="$WORK/admin17-demo"
port=$(free_port)
mask "$admin" "/tmp/admin17-demo"
mask "127\.0\.0\.1:$port" "127.0.0.1:19194"
mkdir -p "$admin"
start_broker "$WORK/admin-broker.log" "$admin/data" "$port" \
  --override log.retention.check.interval.ms=250 \
  --override replica.high.watermark.checkpoint.interval.ms=200
spool() { "$SPOOL" "$@"; }
B="--bootstrap-server 127.0.0.1:$port"
# `shown COMMAND…`: each command line after a "$ ", then what it printed when
# run in the demo directory, a blank line between two commands.
shown() {
  local command
  for command in "$@"; do
    printf '$ %s\n' "$command"
    (cd "$admin" && eval "$command") 2>&1
    echo
  done | sed '$d'
}

shown "spool topics $B --create --topic orders --partitions 1 --config segment.bytes=1024" \
  "seq -f 'order-%03g-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx' 1 60 | spool produce $B --topic orders --producer-property batch.size=900" |
  emit admin-create
ls "$admin/data/orders-0" | grep '\.log$' | emit admin-segments

shown "echo '{\"partitions\": [{\"topic\": \"orders\", \"partition\": 0, \"offset\": 30}], \"version\": 1}' > delete.json" \
  "spool delete-records $B --offset-json-file delete.json" \
  "ls data/orders-0" \
  "cat data/log-start-offset-checkpoint" | emit admin-delete-records

shown "spool configs $B --entity-type topics --entity-name orders --describe" \
  "spool configs $B --entity-type topics --entity-name orders --alter --add-config retention.ms=500" |
  emit admin-retention-alter
# The next retention pass (every 250 ms here) deletes every segment, file by
# file, rolls a new one at offset 60 and rewrites the leader epoch checkpoint
# (through a .tmp file): wait until that is all there is, twice in a row.
settled() {
  ! ls "$admin/data/orders-0" | grep -qv -e '^00000000000000000060\.' -e '^leader-epoch-checkpoint$'
}
for _ in $(seq 100); do
  if settled; then
    sleep 0.3
    settled && break
  fi
  sleep 0.1
done
shown "ls data/orders-0" \
  "spool configs $B --entity-type topics --entity-name orders --describe" | emit admin-retention-after

# The broker's checkpoint files are written on their own clocks; `ls data`
# shows them once the high-watermark one (every 200 ms here) exists.
for _ in $(seq 100); do
  [[ -e $admin/data/replication-offset-checkpoint && -e $admin/data/log-start-offset-checkpoint ]] && break
  sleep 0.1
done
shown "ls data" \
  "spool dump-log --cluster-metadata-decoder --files data/__cluster_metadata-0/00000000000000000000.log | grep CONFIG_RECORD" |
  emit admin-config-records

shown "spool topics $B --alter --topic orders --partitions 3" "ls data" | emit admin-create-partitions

shown "seq 1 5 | spool produce $B --topic orders --partition 2" \
  "spool log-dirs $B --describe --topic-list orders" | emit admin-log-dirs
stop_brokers
