# Chapter 4's "Run it": `spool perf produce` against one broker, with batching
# off, the defaults and lz4, then an idle producer with and without a linger.
# The page shows port 19194 and /tmp/batching-demo. The runs here are small
# (20,000 and 500 records, about a second in all) and their rates and
# latencies are masked: they change with every run and every machine. The
# full-size numbers the prose reads are a dated run in
# benches/RESULTS-batching.md.
port=$(free_port)
dir="$WORK/batching-demo"
log="$WORK/broker.log"
mask "127\.0\.0\.1:$port" "127.0.0.1:19194"
mask "$dir" "/tmp/batching-demo"
mask "[0-9.]+ records/sec \([0-9.]+ MB/sec\)" "<n> records/sec (<n> MB/sec)"
mask "[0-9.]+ ms " "<n> ms "

start_broker "$log" "$dir" "$port"
"$SPOOL" topics --bootstrap-server "127.0.0.1:$port" --create --topic events --partitions 3 |
  emit topics-create

# `perf NAME RECORDS THROUGHPUT PROPS…`: one run, its final line emitted (a
# window line appears only in a run longer than --reporting-interval).
perf() {
  local name=$1 records=$2 throughput=$3
  shift 3
  "$SPOOL" perf produce --bootstrap-server "127.0.0.1:$port" --topic events \
    --num-records "$records" --record-size 100 --throughput "$throughput" \
    --producer-props "$@" enable.idempotence=false >"$WORK/$name.out"
  grep -E ' records sent, .*99\.9th\.$' "$WORK/$name.out" | emit "$name"
}
perf perf-no-batching 20000 -1 linger.ms=0 batch.size=100
perf perf-defaults 20000 -1 linger.ms=5
perf perf-lz4 20000 -1 linger.ms=5 compression.type=lz4
perf perf-idle-linger-0 500 1000 linger.ms=0
perf perf-idle-linger-50 500 1000 linger.ms=50

# The masked numbers still back one claim of the page, checked here: an idle
# producer's records wait for their linger. A lower bound only (a loaded
# machine makes waits longer, never shorter); throughput ratios belong in
# benches, never in a check that runs on a shared machine.
# `field FILE WORD`: the number in front of WORD on the run's final line.
field() { grep -E '99\.9th\.$' "$WORK/$1.out" | grep -oE "[0-9.]+ $2" | cut -d' ' -f1; }
awk -v lingered="$(field perf-idle-linger-50 'ms avg')" \
  'BEGIN { if (lingered < 10) { print "transcripts: linger.ms=50 waited " lingered " ms on average" > "/dev/stderr"; exit 1 } }'

stop_brokers
