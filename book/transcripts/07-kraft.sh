# Chapter 7's model runs: each planted bug, stopped at its first failure.
# (The whole `check kraft` takes about ten seconds, too long for every test
# run; its state count is pinned in models/tests/kraft.rs instead.)
for bug in vote-not-persisted vote-without-log-check commit-old-epoch no-check-quorum \
  prospective-follows-dead-leader; do
  model "check-$bug" fail check kraft --bug "$bug" --first-failure
done

# The state counts of the whole runs, too slow for here (several seconds
# each), as models/tests/kraft.rs pins them: the page quotes them from there.
pinned() {
  grep -A12 "fn $1()" models/tests/kraft.rs | grep -oE 'unique_state_count\(\), [0-9_]+' | head -1 |
    sed -E 's/.*, //; s/_/,/g'
}
pinned the_real_core_is_safe_through_split_votes_and_a_crash | emit_inline states-small
pinned the_real_core_keeps_what_an_earlier_leader_committed | emit_inline states-leader-change
pinned the_real_core_is_safe_with_snapshots_and_catches_up_by_fetch_snapshot | emit_inline states-snapshots
pinned with_a_stable_majority_the_real_core_can_always_elect_a_leader | emit_inline states-liveness
for name in states-small states-leader-change states-snapshots states-liveness; do
  [[ -s $OUT/$name.txt ]] || { echo "transcripts: no pinned count for $name" >&2; exit 1; }
done

# Chapter 7's "Try it": `spool cluster` with three controllers and three
# brokers, the active controller killed and restarted, the quorum described
# and the metadata log's files printed. The page shows --port 29092 and
# /tmp/kraftbook-cluster; the cluster here listens on free ports in a scratch
# directory, and `emit` writes the page's values back. Which voter wins each
# election varies from run to run: the page names them by what they do, <A>
# the first leader (killed), <B> the next one, <C> the third voter.
base=$(kraft_cluster_port)
dir="$WORK/kraftbook-cluster"
raw="$WORK/raw"
# controller i (1..3) listens on base + 99 + i, as `spool cluster` plans it.
cport() { echo $((base + 99 + $1)); }
# The status of the quorum, asked of every live controller in turn.
leader_of() { awk '/^LeaderId:/ { print $2 }' "$1"; }
epoch_of() { awk '/^LeaderEpoch:/ { print $2 }' "$1"; }
all_observers='CurrentObservers: +\[\{"id": 4, [^]]*"id": 5, [^]]*"id": 6, '
# `caught_up PORT FILE END`: --replication asked of PORT into FILE; true once
# all six replicas are at log end END with no lag.
caught_up() {
  kraft_quorum "$1" replication "$2" &&
    awk -F'\t' -v end="$3" 'NR > 1 && $3 + 0 == end && $4 + 0 == 0 { n++ } END { exit n != 6 }' "$2"
}

# One run of the walkthrough. A vote split between two candidates costs an
# epoch (a pre-vote round keeps that rare, not impossible), and on a busy
# machine a broker may miss its session and be fenced, which adds records; the
# page's story has epochs 1 and 2 and no such record, so a run that strays
# from it says so in "$WORK/split" and the scenario starts the cluster again.
# `again`: this run strayed; stop its processes.
again() {
  touch "$WORK/split"
  kraft_kill_nodes "$WORK/cluster.out"
  stop_brokers
}
walkthrough() {
  rm -rf "$dir" "$raw" "$WORK/split"
  mkdir -p "$raw"
  "$SPOOL" cluster --controllers 3 --brokers 3 --port "$base" --dir "$dir" >"$WORK/cluster.out" 2>&1 &
  BROKER_PIDS+=($!)
  kraft_wait 10 grep -qs 'Ctrl-C stops the cluster' "$WORK/cluster.out"
  cp "$WORK/cluster.out" "$raw/cluster-start"

  # The first election, the brokers registered and unfenced: 7 records.
  kraft_wait 20 kraft_quorum "$(cport 1)" status "$raw/status-first" 'HighWatermark: +7$' "$all_observers" ||
    { again; return 0; }
  if [[ $(epoch_of "$raw/status-first") != 1 ]]; then again; return 0; fi
  A=$(leader_of "$raw/status-first")
  kraft_wait 10 caught_up "$(cport 1)" "$raw/replication-first" 7 || { again; return 0; }

  # Kill the active controller; the other two elect a leader of epoch 2.
  local others=() i lines=() pid
  for i in 1 2 3; do ((i == A)) || others+=("$i"); done
  for i in "${others[@]}"; do lines[i]=$(wc -l <"$dir/controller-$i/server.log"); done
  pid=$(sed -nE "s/^started controller-$A \(pid ([0-9]+)\).*/\1/p" "$WORK/cluster.out")
  kill -KILL "$pid"
  kraft_wait 10 grep -qs "^controller-$A exited" "$WORK/cluster.out"
  grep "^controller-$A exited" "$WORK/cluster.out" >"$raw/cluster-killed"
  kraft_wait 20 kraft_quorum "$(cport $((A % 3 + 1)))" status "$raw/status-after" \
    'HighWatermark: +8$' "$all_observers" || { again; return 0; }
  if [[ $(epoch_of "$raw/status-after") != 2 ]]; then again; return 0; fi
  B=$(leader_of "$raw/status-after")
  for i in "${others[@]}"; do ((i == B)) || C=$i; done
  tail -n +$((lines[B] + 1)) "$dir/controller-$B/server.log" >"$WORK/b.log"
  log_lines "$WORK/b.log" | grep -E 'epoch or leader|active controller' >"$raw/election-new-leader"
  log_lines "$dir/controller-$C/server.log" | grep 'epoch or leader' | tail -1 >"$raw/election-other"

  # A topic through a broker, forwarded to the new active controller.
  # The broker answers the create once the controller has committed it, and
  # learns of the topic a fetch later: a describe can come too soon.
  "$SPOOL" topics --bootstrap-server "127.0.0.1:$base" --create --topic after-failover \
    --partitions 3 --replication-factor 3 >"$raw/topic" 2>&1
  kraft_wait 10 eval '"$SPOOL" topics --bootstrap-server "127.0.0.1:$base" --describe \
    --topic after-failover >"$WORK/describe" 2>/dev/null'
  cat "$WORK/describe" >>"$raw/topic"

  # Restart the killed controller by hand; it catches up as a follower.
  lines[A]=$(wc -l <"$dir/controller-$A/server.log")
  "$SPOOL" serve "$dir/controller-$A/server.properties" 2>>"$dir/controller-$A/server.log" &
  BROKER_PIDS+=($!)
  kraft_wait 20 caught_up "$(cport "$A")" "$raw/replication-restarted" 12 || { again; return 0; }
  tail -n +$((lines[A] + 1)) "$dir/controller-$A/server.log" >"$WORK/a.log"
  log_lines "$WORK/a.log" | grep 'epoch or leader' >"$raw/restart-log"

  # The files of the restarted controller's metadata log.
  local meta="$dir/controller-$A/data/__cluster_metadata-0"
  { ls "$meta"; cat "$meta/quorum-state"; echo; cat "$meta/leader-epoch-checkpoint"; } >"$raw/files"
  "$SPOOL" dump-log --files "$meta/00000000000000000000.log" >"$raw/dump-log"
  kraft_kill_nodes "$WORK/cluster.out"
  stop_brokers
}
for attempt in 1 2 3; do
  walkthrough
  [[ -e $WORK/split ]] || break
  echo "transcripts: 07-kraft: the run strayed from the page's story (attempt $attempt), starting the cluster again" >&2
done
[[ ! -e $WORK/split ]] || { echo "transcripts: 07-kraft: three runs in a row strayed from the page's story" >&2; exit 1; }

# What varies from run to run, then the page's values.
for i in 0 1 2; do
  mask "127\.0\.0\.1:$((base + i))\b" "127.0.0.1:$((29092 + i))"
  mask "127\.0\.0\.1:$((base + 100 + i))\b" "127.0.0.1:$((29192 + i))"
done
mask "$dir" "/tmp/kraftbook-cluster"
mask "pid [0-9]+" "pid <pid>"
emit cluster-start <"$raw/cluster-start"
mask "(ClusterId: +)[A-Za-z0-9_-]{22}" "\1<cluster-id>"
mask "TopicId: [A-Za-z0-9_-]{22}" "TopicId: <topic-id>"
mask "(Leader: )[0-9]+" "\1<broker>"
mask "(Replicas|Isr): [0-9]+,[0-9]+,[0-9]+" "\1: <three brokers>"
mask "(MaxFollowerLagTimeMs: +)[0-9]+$" "\1<ms>"
mask "\b[0-9]{13}\b" "<ms>"
mask "crc: [0-9]+" "crc: <crc>"
# Batches 1-6 of the metadata log are the brokers' three registrations and
# three unfencings, in whatever order the brokers' timing gave them: their
# sizes and positions are masked, the offsets and the epochs are not.
mask "^(baseOffset: [1-6] .* position: )[0-9]+ " "\1<pos> "
mask "^(baseOffset: [1-6] .* size: )[0-9]+ " "\1<size> "
for pair in "$A:<A>" "$B:<B>" "$C:<C>"; do
  id=${pair%%:*} name=${pair#*:}
  mask "controller-$id\b" "controller-$name"
  mask "node=$id\b" "node=$name"
  mask "Some\($id\)" "Some($name)"
  mask "(LeaderId: +)$id$" "\1$name"
  mask "\"(leaderId|votedId)\":$id," "\"\1\":$name,"
  mask "^$id {5}	" "$name   	"
done
for file in "$raw"/*; do
  name=$(basename "$file")
  [[ $name == cluster-start ]] || emit "$name" <"$file"
done
# The voters' rows of a --replication answer, leader first, the followers
# by name (their order by node id varies with the names).
for name in replication-first replication-restarted; do
  { head -2 "$OUT/$name.txt"; sed -n 3,4p "$OUT/$name.txt" | sort; tail -n +5 "$OUT/$name.txt"; } >"$WORK/sorted"
  mv "$WORK/sorted" "$OUT/$name.txt"
done
