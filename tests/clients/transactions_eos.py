"""Chapter 9's "done when" with a real client: confluent-kafka's (librdkafka's)
consume-transform-produce loop delivers every input record to the output exactly once,
across a SIGKILL of the loop in the middle of a transaction and a SIGKILL of the broker.

    input topic `in` ──▶ worker (consumer, read_committed) ──▶ transactional producer ──▶ `out`
                          each transaction: the transformed records of one batch
                          + the consumer's positions (send_offsets_to_transaction)

The harness (this script without --worker):

 1. starts `spool serve` on a fresh log directory, creates `in` and `out`, and writes
    --records input records `v-<i>` (idempotent producer, not transactional);
 2. starts worker 1, which stops in its --hang-at-th transaction after its output
    records are written (flushed) but before the commit, and says so: SIGKILL. Its open
    transaction's records are in `out`, undecided;
 3. starts worker 2 with the same transactional.id: its InitProducerId must abort the
    open transaction (the zombie is fenced) before it begins;
 4. once worker 2 has committed a few transactions, SIGKILLs the broker and restarts it
    on the same port and directory; worker 2 must carry on (a worker that hits a fatal
    error is replaced by a new one with the same transactional.id, up to a limit);
 5. when a worker has consumed and committed all of `in`, reads `out` twice from the
    start: read_committed must hold every `out-v-<i>` exactly once; read_uncommitted
    must hold more (the aborted transaction's records), proving the fault hit an open
    transaction — otherwise the exactly-once check proves little.

With --cluster, the same loop runs on chapter 6's cluster (`spool cluster --controllers 1
--brokers 3`; `in` and `out` with 3 replicas and min.insync.replicas=2) and the broker of
step 4 is the one that coordinates the transactional id — the leader of its
`__transaction_state` partition, asked with `spool transactions describe`. The harness
waits until another replica has taken the coordinator over (the controller fences the
dead broker after its session timeout), then restarts the dead one. Markers now travel
over the network to the leaders of `out` and `__consumer_offsets`. The summary adds
`coordinator_before=X coordinator_after=Y`, and the check fails unless they differ.

librdkafka can hang there for good: when the dead broker was also the group's
coordinator and the fenced broker drops out of the metadata, the producer decommissions
it but keeps it cached as the group coordinator, and send_offsets_to_transaction waits
past its own timeout for a broker that will never come up (librdkafka issues #5511 and
#5456, open; Kafka leaves fenced brokers out of its metadata too). So on a cluster the
harness is the watchdog an application would need: a worker silent for --stall-s after
the kill is SIGKILLed and replaced — one more zombie for its successor to fence — and
counted as `stalled_workers=S`.

Prints one summary line, `inputs=N committed_outputs=C duplicates=D missing=M
uncommitted_outputs=U worker_kills=K broker_kills=B workers=W`, and exits non-zero when
the check fails. tests/it/transactions_clients.rs runs it.
"""

import argparse
import os
import queue
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

from ports import free_port, free_ports

IN, OUT = "in", "out"
GROUP, TXN_ID = "eos-loop", "eos-loop-txn"


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--spool", help="the spool binary (harness)")
    p.add_argument("--records", type=int, default=600)
    p.add_argument("--partitions", type=int, default=3)
    p.add_argument("--batch", type=int, default=20, help="input records per transaction at most")
    p.add_argument("--hang-at", type=int, default=3, help="worker 1 hangs in this transaction")
    p.add_argument("--kill-broker-after", type=int, default=4, help="transactions of worker 2 before the kill")
    p.add_argument("--deadline-s", type=float, default=120.0)
    p.add_argument("--cluster", action="store_true", help="three brokers; kill the transaction coordinator's")
    p.add_argument("--stall-s", type=float, default=20.0,
                   help="--cluster: a worker silent this long after the kill is replaced")
    p.add_argument("--worker", action="store_true", help="run as the loop (internal)")
    p.add_argument("--bootstrap", help="worker: the broker")
    return p.parse_args()


def coordinator_moving():
    from confluent_kafka import KafkaError

    return {KafkaError.NOT_COORDINATOR, KafkaError.COORDINATOR_NOT_AVAILABLE, KafkaError.COORDINATOR_LOAD_IN_PROGRESS}


def say(*words):
    print(*words, flush=True)


def progress(*words):
    """What the harness is doing, on stderr (stdout carries the summary)."""
    print(f"[{time.strftime('%H:%M:%S')}]", *words, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- the worker


def worker(args):
    """The consume-transform-produce loop. Prints `COMMITTED <n>` after each commit,
    `HANG` when it stops inside transaction --hang-at, `DONE` when all input is consumed."""
    from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition

    consumer = Consumer(
        {
            "bootstrap.servers": args.bootstrap,
            "group.id": GROUP,
            "enable.auto.commit": False,
            "isolation.level": "read_committed",
            "auto.offset.reset": "earliest",
            **({"debug": os.environ["SPOOL_EOS_CONSUMER_DEBUG"]} if os.environ.get("SPOOL_EOS_CONSUMER_DEBUG") else {}),
        }
    )
    producer = Producer(
        {
            "bootstrap.servers": args.bootstrap,
            "transactional.id": TXN_ID,
            "transaction.timeout.ms": 60000,
            "linger.ms": 5,
            # With its only broker down, librdkafka re-bootstraps (KIP-899) and
            # decommissions the broker it knew, which can stay cached as the
            # group coordinator: send_offsets_to_transaction then waits for ever,
            # past its timeout (librdkafka issues #5511 and #5456, open). A
            # client-side bug a one-broker restart triggers, whatever the
            # broker; without re-bootstrap the client reconnects to broker 1.
            "metadata.recovery.strategy": "none",
            **({"debug": os.environ["SPOOL_EOS_DEBUG"]} if os.environ.get("SPOOL_EOS_DEBUG") else {}),
        }
    )
    producer.init_transactions(60)
    COORDINATOR_MOVING = coordinator_moving()
    partitions = [TopicPartition(IN, p) for p in range(args.partitions)]

    def rewind():
        # After an abort the consumer must start again from what was committed.
        # On a new cluster, the broker FindCoordinator names may not have taken
        # its __consumer_offsets partition over yet: committed() returns the
        # NOT_COORDINATOR it gets rather than asking again.
        for attempt in range(50):
            try:
                committed = consumer.committed(partitions, timeout=30)
                break
            except KafkaException as e:
                if e.args[0].code() not in COORDINATOR_MOVING or attempt == 49:
                    raise
                time.sleep(0.2)
        for tp in committed:
            if tp.offset < 0:
                tp.offset = 0
        consumer.assign(committed)
        return committed

    rewind()
    ends = {p: consumer.get_watermark_offsets(TopicPartition(IN, p), timeout=30)[1] for p in range(args.partitions)}
    transactions = 0
    while True:
        positions = {tp.partition: tp.offset for tp in consumer.position(partitions)}
        if all(positions.get(p, -1) >= end for p, end in ends.items()):
            say("DONE")
            return 0
        msgs = [m for m in consumer.consume(num_messages=args.batch, timeout=1.0) if m.error() is None]
        if not msgs:
            continue
        producer.begin_transaction()
        for m in msgs:
            producer.produce(OUT, key=m.key(), value=b"out-" + m.value(), partition=m.partition())
        transactions += 1
        if transactions == args.hang_at:
            producer.flush(30)
            say("HANG")
            time.sleep(3600)  # the harness kills us here
        try:
            offsets = consumer.position(consumer.assignment())
            print(f"{time.time():.3f} send_offsets {transactions}", file=sys.stderr, flush=True)
            producer.send_offsets_to_transaction(offsets, consumer.consumer_group_metadata(), 60)
            print(f"{time.time():.3f} commit {transactions}", file=sys.stderr, flush=True)
            producer.commit_transaction(60)
        except KafkaException as e:
            error = e.args[0]
            if error.fatal():
                say(f"FATAL {error}")
                return 3
            if error.txn_requires_abort():
                say(f"ABORT {error}")
                producer.abort_transaction(60)
                rewind()
                continue
            say(f"FATAL (unhandled) {error}")
            return 4
        say(f"COMMITTED {transactions}")


# ---------------------------------------------------------------- the harness


def start_broker(spool, workdir, port, deadline):
    log = open(os.path.join(workdir, "broker.log"), "a")
    broker = subprocess.Popen(
        [
            spool,
            "serve",
            "--override", f"listeners=PLAINTEXT://127.0.0.1:{port}",
            "--override", f"log.dirs={workdir}/logs",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=dict(os.environ, NO_COLOR="1", RUST_LOG=os.environ.get("SPOOL_EOS_BROKER_LOG", "warn")),
    )
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return broker
        except OSError:
            if broker.poll() is not None:
                sys.exit(f"the broker exited: {open(log.name).read()}")
            time.sleep(0.05)
    broker.kill()
    sys.exit("the broker did not listen in time")


class OneBroker:
    """Step 4's victim on one broker: `spool serve`, killed and restarted on its port."""

    replicas, topic_config = 1, {}

    def __init__(self, args, workdir, deadline):
        self.args, self.workdir = args, workdir
        self.port = free_port()
        self.bootstrap = f"127.0.0.1:{self.port}"
        self.proc = start_broker(args.spool, workdir, self.port, deadline)

    def kill_and_restart(self, deadline):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.proc = start_broker(self.args.spool, self.workdir, self.port, deadline)
        return "broker killed and restarted"

    def summary(self):
        return ""

    def moved(self):
        return True

    def stop(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()


class Cluster:
    """Step 4's victim on chapter 6's cluster: `spool cluster --controllers 1 --brokers 3`
    runs the nodes; the harness SIGKILLs the transaction coordinator's broker by the pid
    the cluster printed, waits for another broker to coordinate, and restarts the dead
    one itself (`spool serve` on the properties file the cluster wrote)."""

    replicas, topic_config = 3, {"min.insync.replicas": "2"}

    def __init__(self, args, workdir, deadline):
        self.args, self.dir = args, os.path.join(workdir, "cluster")
        base = free_ports([0, 1, 2, 100])
        self.output = os.path.join(workdir, "cluster.out")
        self.proc = subprocess.Popen(
            [
                args.spool, "cluster", "--controllers", "1", "--brokers", "3",
                "--dir", self.dir, "--port", str(base),
                # Five __transaction_state and __consumer_offsets partitions (every
                # broker leads some); a dead follower leaves the ISR within 3 s.
                "--override", "transaction.state.log.num.partitions=5",
                "--override", "offsets.topic.num.partitions=5",
                "--override", "replica.lag.time.max.ms=3000",
            ],
            stdout=open(self.output, "w"),
            stderr=subprocess.STDOUT,
            env=dict(os.environ, NO_COLOR="1", RUST_LOG=os.environ.get("SPOOL_EOS_BROKER_LOG", "warn")),
        )
        self.nodes = {}  # node id -> (pid, port), brokers only
        self.restarted, self.killed = None, None
        self.before = self.after = None
        try:
            self.wait_until_up(deadline)
        except BaseException:
            self.stop()
            raise

    def wait_until_up(self, deadline):
        # `started broker-2 (pid 1234) on 127.0.0.1:20000`, one line a node.
        while time.monotonic() < deadline and len(self.nodes) < 3:
            if self.proc.poll() is not None:
                sys.exit(f"spool cluster exited: {open(self.output).read()}")
            for line in open(self.output):
                words = line.split()
                if len(words) == 6 and words[0] == "started" and words[1].startswith("broker-"):
                    self.nodes[int(words[1][len("broker-"):])] = (int(words[3].rstrip(")")), int(words[5].rsplit(":", 1)[1]))
            time.sleep(0.1)
        self.bootstrap = ",".join(f"127.0.0.1:{port}" for _, port in self.nodes.values())
        self.wait_for_brokers(deadline)

    def wait_for_brokers(self, deadline):
        from confluent_kafka import KafkaException
        from confluent_kafka.admin import AdminClient

        admin = AdminClient({"bootstrap.servers": self.bootstrap})
        while time.monotonic() < deadline:
            try:
                if len(admin.list_topics(timeout=5).brokers) == 3:
                    return
            except KafkaException:
                pass  # no broker answers yet
            time.sleep(0.2)
        sys.exit("the cluster did not have three brokers in time")

    def coordinator(self, port):
        """The transactional id's coordinator as broker `port` finds it, or None."""
        done = subprocess.run(
            [self.args.spool, "transactions", "--bootstrap-server", f"127.0.0.1:{port}",
             "describe", "--transactional-id", TXN_ID],
            capture_output=True, text=True, timeout=30,
        )
        rows = done.stdout.splitlines()
        return int(rows[1].split()[0]) if done.returncode == 0 and len(rows) >= 2 else None

    def kill_and_restart(self, deadline):
        live_port = next(port for _, port in self.nodes.values())
        while (before := self.coordinator(live_port)) is None:
            if time.monotonic() > deadline:
                sys.exit("no transaction coordinator in time")
            time.sleep(0.2)
        pid, port = self.nodes[before]
        os.kill(pid, signal.SIGKILL)  # the cluster's child, alive: the pid is still its
        self.killed, self.before = before, before
        progress(f"killed broker {before}, the coordinator of {TXN_ID} (pid {pid})")
        live_port = next(p for node, (_, p) in self.nodes.items() if node != before)
        while (after := self.coordinator(live_port)) in (None, before):
            if time.monotonic() > deadline:
                sys.exit(f"broker {before} still coordinates {TXN_ID} after its death")
            time.sleep(0.2)
        self.after = after
        progress(f"broker {after} coordinates {TXN_ID} now; restarting broker {before}")
        properties = os.path.join(self.dir, f"broker-{before}", "server.properties")
        log = open(os.path.join(self.dir, f"broker-{before}", "server.log"), "a")
        self.restarted = subprocess.Popen(
            [self.args.spool, "serve", properties], stdout=log, stderr=subprocess.STDOUT,
            env=dict(os.environ, NO_COLOR="1", RUST_LOG=os.environ.get("SPOOL_EOS_BROKER_LOG", "warn")),
        )
        self.wait_for_brokers(deadline)
        return f"coordinator broker {before} killed, broker {after} took over, broker {before} restarted"

    def summary(self):
        return f" coordinator_before={self.before} coordinator_after={self.after}"

    def moved(self):
        return self.before is not None and self.after not in (None, self.before)

    def stop(self):
        # SIGKILL every node still running (spool cluster's own SIGTERM waits for each
        # to shut down cleanly, which a test need not), then the cluster process.
        if self.restarted is not None:
            self.restarted.kill()
            self.restarted.wait()
        for node, (pid, _) in self.nodes.items():
            if node != self.killed and parent_of(pid) == self.proc.pid:
                os.kill(pid, signal.SIGKILL)
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def parent_of(pid):
    """`pid`'s parent, or None once it is gone (so a reused pid is never signalled)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return int(f.read().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return None


class Stalled(Exception):
    """A worker said nothing for --stall-s seconds."""


class Worker:
    """One loop process; its lines are read by the harness."""

    def __init__(self, args, bootstrap, workdir, number, hang_at):
        self.log_path = os.path.join(workdir, f"worker-{number}.log")
        self.proc = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "--worker", "--bootstrap", bootstrap,
             "--partitions", str(args.partitions), "--batch", str(args.batch), "--hang-at", str(hang_at)],
            stdout=subprocess.PIPE,
            stderr=open(self.log_path, "w"),
            text=True,
        )
        self.committed = 0
        self.lines = []
        # A thread reads the worker's lines so that the harness can notice silence.
        self.queue = queue.Queue()
        threading.Thread(target=self.read_lines, daemon=True).start()

    def read_lines(self):
        for line in self.proc.stdout:
            self.queue.put(line)
        self.queue.put(None)

    def wait_for(self, predicate, deadline, stall_s=None):
        """Reads lines until one satisfies `predicate` (True) or the worker exits
        (False); raises Stalled after `stall_s` seconds without a line."""
        while time.monotonic() < deadline:
            wait_s = deadline - time.monotonic() if stall_s is None else min(stall_s, deadline - time.monotonic())
            try:
                line = self.queue.get(timeout=max(wait_s, 0.01))
            except queue.Empty:
                if stall_s is not None and time.monotonic() < deadline:
                    raise Stalled(f"no line for {stall_s} s; last lines {self.lines[-3:]}")
                continue
            if line is None:
                return False
            line = line.strip()
            self.lines.append(line)
            if line.startswith("COMMITTED"):
                self.committed += 1
            else:
                progress(f"worker: {line}")
            if predicate(line):
                return True
        raise TimeoutError(f"worker: no progress in time; last lines {self.lines[-5:]}")

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()


def read_all(bootstrap, isolation, deadline):
    from confluent_kafka import Consumer

    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"check-{isolation}",
            "enable.auto.commit": False,
            "isolation.level": isolation,
            "auto.offset.reset": "earliest",
        }
    )
    consumer.subscribe([OUT])
    values, idle_since = [], time.monotonic()
    while time.monotonic() < deadline and time.monotonic() - idle_since < 5.0:
        msgs = consumer.consume(num_messages=500, timeout=0.5)
        for m in msgs:
            if m.error() is None:
                values.append(m.value().decode())
        if msgs:
            idle_since = time.monotonic()
    consumer.close()
    return values


def harness(args):
    from confluent_kafka import Producer
    from confluent_kafka.admin import AdminClient, NewTopic

    deadline = time.monotonic() + args.deadline_s
    # `timeout` ends a scenario with SIGTERM: run the `finally` that stops the brokers.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("terminated"))
    workdir = tempfile.mkdtemp(prefix="spool-eos-")
    brokers = (Cluster if args.cluster else OneBroker)(args, workdir, deadline)
    bootstrap = brokers.bootstrap
    workers, worker_kills, broker_kills, stalled_workers = [], 0, 0, 0
    try:
        admin = AdminClient({"bootstrap.servers": bootstrap})
        topics = [NewTopic(t, args.partitions, brokers.replicas, config=brokers.topic_config) for t in (IN, OUT)]
        for topic, future in admin.create_topics(topics).items():
            future.result(timeout=10)
        producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True, "linger.ms": 5})
        for i in range(args.records):
            producer.produce(IN, key=str(i).encode(), value=f"v-{i}".encode(), partition=i % args.partitions)
        assert producer.flush(30) == 0, "the input was not all written"

        progress(f"input written: {args.records} records")
        # Worker 1 stops inside a transaction whose records are written: kill it.
        first = Worker(args, bootstrap, workdir, 1, args.hang_at)
        workers.append(first)
        if not first.wait_for(lambda line: line == "HANG", deadline):
            sys.exit(f"worker 1 exited before hanging: {first.lines} {open(first.log_path).read()}")
        first.kill()
        worker_kills += 1
        progress(f"worker 1 killed inside transaction {args.hang_at}")

        # Worker 2 (same transactional.id) fences it; after a few commits the broker
        # (on a cluster: the transaction coordinator's) dies.
        current = Worker(args, bootstrap, workdir, 2, 0)
        workers.append(current)
        if current.wait_for(lambda _: current.committed >= args.kill_broker_after, deadline):
            what = brokers.kill_and_restart(deadline)
            broker_kills += 1
            progress(f"{what} after {current.committed} commits of worker 2")
        # Run to the end, replacing a worker that hit a fatal error (at most 3 more)
        # or, on a cluster, one that stalled (see --stall-s).
        while True:
            try:
                if current.wait_for(lambda line: line == "DONE", deadline, args.stall_s if args.cluster else None):
                    break
                code = current.proc.wait()
            except Stalled as e:
                progress(f"worker {len(workers)} stalled ({e}): killed, as a watchdog would (librdkafka #5511)")
                current.kill()
                stalled_workers += 1
                code = "SIGKILL"
            if len(workers) >= 5:
                sys.exit(f"worker {len(workers)} exited with {code}: {current.lines[-5:]} "
                         f"{open(current.log_path).read()[-2000:]}")
            current = Worker(args, bootstrap, workdir, len(workers) + 1, 0)
            workers.append(current)
        current.proc.wait()
        progress(f"the loop is done ({len(workers)} workers)")

        committed = read_all(bootstrap, "read_committed", deadline)
        uncommitted = read_all(bootstrap, "read_uncommitted", deadline)
        expected = {f"out-v-{i}" for i in range(args.records)}
        duplicates = len(committed) - len(set(committed))
        missing = len(expected - set(committed))
        strangers = set(committed) - expected
        say(
            f"inputs={args.records} committed_outputs={len(committed)} duplicates={duplicates} "
            f"missing={missing} uncommitted_outputs={len(uncommitted)} worker_kills={worker_kills} "
            f"broker_kills={broker_kills} workers={len(workers)}{brokers.summary()}"
            + (f" stalled_workers={stalled_workers}" if args.cluster else "")
        )
        ok = duplicates == 0 and missing == 0 and not strangers
        if len(uncommitted) <= len(committed):
            say("read_uncommitted saw no more than read_committed: either no aborted records are in the log (the fault proved nothing) or read_committed did not skip them")
            ok = False
        if broker_kills == 0:
            say("the broker was never killed")
            ok = False
        if not brokers.moved():
            say("the transaction coordinator did not move to another broker")
            ok = False
        return 0 if ok else 1
    finally:
        for w in workers:
            if w.proc.poll() is None:
                w.kill()
        brokers.stop()
        if os.environ.get("SPOOL_KEEP_WORKDIR"):
            say(f"workdir kept: {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def main():
    args = parse_args()
    if args.worker:
        return worker(args)
    if not args.spool:
        sys.exit("--spool is required")
    return harness(args)


if __name__ == "__main__":
    sys.exit(main())
