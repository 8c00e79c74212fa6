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
