# Chapter 6: the model's counterexamples and a three-broker cluster failing
# over. The bugs' runs stop at the first failing property
# (`--first-failure`), except truncate-to-hw, whose whole run (a second or
# two) prints the acknowledged-record trace the page reads. Together they
# take about 3.5 s of CPU, fetch-without-epoch 2.3 s of it. The whole model
# and the whole runs of most bugs (15 to 25 s each) are commands the page
# gives without their output; their state counts are pinned in
# models/tests/replication.rs.
model check-replication-ack-before-hw fail check replication --bug ack-before-hw --first-failure
model check-replication-truncate-to-hw fail check replication --bug truncate-to-hw
model check-replication-epoch-without-offset fail check replication --bug epoch-without-offset --first-failure
model check-replication-fetch-without-epoch fail check replication --bug fetch-without-epoch --first-failure
model check-replication-unclean-election fail check replication --bug unclean-election --first-failure
model check-replication-lost-disk fail check replication --bug lost-disk --first-failure

# "Try it": `spool cluster --brokers 3`'s shape (controller 1, brokers 2..4),
# one RF3 topic, and the SIGKILL of a partition leader. The page shows
# `spool cluster`'s ports (9092.. for brokers, 9192 for the controller); the
# nodes here listen on free ports, and `emit` writes the page's back. The
# session timeout is cut from 9 s to 1 s so that the controller fences the
# killed broker in a second, and the election timeout to 200 ms so that the
# lone controller takes the lead at once: the cluster's part takes 4 to 5 s.
base=$(python3 -c '
import socket
while True:
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close()
    if p + 100 > 65535: continue
    try:
        for q in (p + 1, p + 2, p + 100):
            t = socket.socket(); t.bind(("127.0.0.1", q)); t.close()
    except OSError:
        continue
    print(p); break')
for i in 0 1 2; do mask "127\.0\.0\.1:$((base + i))" "127.0.0.1:$((9092 + i))"; done
mask "127\.0\.0\.1:$((base + 100))" "127.0.0.1:9192"
mask "TopicId: [A-Za-z0-9_-]{22}" "TopicId: <topic-id>"
dir="$WORK/cluster"
bootstrap="127.0.0.1:$base"
start_cluster_06 "$dir" "$base" --override broker.session.timeout.ms=1000 \
  --override broker.heartbeat.interval.ms=200 --override controller.quorum.election.timeout.ms=200

# The topic, once all three brokers are registered and unfenced.
create_t3() {
  local i
  for i in $(seq 100); do
    "$SPOOL" topics --bootstrap-server "$bootstrap" --create --topic t3 --partitions 3 \
      --replication-factor 3 >"$WORK/create.out" 2>&1 && return 0
    sleep 0.1
  done
  cat "$WORK/create.out" >&2
  return 1
}
# `describe_until CONDITION`: describe t3 (into $WORK/describe.out) until
# the shell CONDITION holds of it, 10 s at most.
describe_until() {
  local i
  for i in $(seq 100); do
    "$SPOOL" topics --bootstrap-server "$bootstrap" --describe --topic t3 >"$WORK/describe.out" 2>&1 &&
      eval "$1" && return 0
    sleep 0.1
  done
  echo "transcripts: the cluster never reached: $1" >&2
  cat "$WORK/describe.out" >&2
  return 1
}
isr_count() { grep -cE "Isr: $1\$" "$WORK/describe.out" || true; }
# The placer starts its round-robin at a random broker, so which broker
# leads partition 0 changes from run to run; the page's run is the one
# where it is broker 2 (Replicas: 2,3,4): the topic is deleted and created
# again until it is, a few tries at most.
for try in $(seq 30); do
  create_t3
  describe_until '[[ $(isr_count "[0-9],[0-9],[0-9]") == 3 ]]'
  grep -qP 'Partition: 0\tLeader: 2\tReplicas: 2,3,4\t' "$WORK/describe.out" && break
  "$SPOOL" topics --bootstrap-server "$bootstrap" --delete --topic t3 >/dev/null
  for i in $(seq 50); do
    "$SPOOL" topics --bootstrap-server "$bootstrap" --describe --topic t3 2>/dev/null |
      grep -q "Partition: 0" || break
    sleep 0.1
  done
done
grep -qP 'Partition: 0\tLeader: 2\tReplicas: 2,3,4\t' "$WORK/describe.out" ||
  { echo "transcripts: broker 2 never led partition 0 of t3" >&2; exit 1; }
emit create <"$WORK/create.out"
emit describe-before <"$WORK/describe.out"

# SIGKILL the leader of partition 0: no controlled shutdown, its heartbeats
# just stop. A second later the controller fences it, removes it from every
# ISR, and each partition it led is led by the next live replica of its ISR.
leader=2
kill_node_06 "$leader"
bootstrap="127.0.0.1:$((base + 1))" # broker 3: broker 2 is gone
describe_until '[[ $(isr_count "[0-9],[0-9]") == 3 ]] && ! grep -q "Leader: $leader" "$WORK/describe.out"'
emit describe-after <"$WORK/describe.out"

stop_cluster_06
