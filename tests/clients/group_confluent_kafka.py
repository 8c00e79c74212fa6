"""confluent-kafka (librdkafka) consumer groups against spool's group coordinator
(chapter 5). Run by tests/it/group_clients.rs, which starts the broker; one scenario per
invocation:

    split        2, then 3 consumers of one group.id on a 6-partition topic split it
                 (disjoint and complete); one closes and the others take its partitions;
                 one is SIGKILLed and the survivor takes over after session.timeout.ms;
                 synchronous commits after every record, and records produced only
                 while the group is stable, so each is consumed exactly once
    cooperative  the same with partition.assignment.strategy=cooperative-sticky: the
                 callbacks are incremental (a third member takes partitions without the
                 others revoking everything), and no partition has two owners at once
    static       group.instance.id (KIP-345): a member closes and comes back within
                 session.timeout.ms; the other member sees no rebalance at all
    resume-1     consume part of a topic, committing; resume-2 (after the test restarts
                 the broker on the same log dir, or kills the group's coordinator in a
                 cluster) resumes exactly at the committed offsets
    first-record the time from subscribe() to the first record of a new group, with the
                 broker's group.initial.rebalance.delay.ms (3 s by default)

Each consumer of a scenario is a subprocess (`member` mode) so it can be SIGKILLed; it
prints one JSON line per event (assign, revoke, lost, record, commit error), stamped
with time.time(), and closes when it reads `close` on stdin. The scenario merges the
lines and checks them.
"""

import argparse
import json
import os
import subprocess
import sys
import threading
import time

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from scenario_common import Step, fail, run  # noqa: E402

PARTITIONS = 6
SESSION_TIMEOUT_MS = 3000


def emit(event, **fields):
    print(json.dumps({"t": time.time(), "event": event, **fields}), flush=True)


def member_config(args):
    config = {
        "bootstrap.servers": args.bootstrap,
        "group.id": args.group,
        "client.id": args.name,
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
        "session.timeout.ms": args.session_ms,
        "heartbeat.interval.ms": 300,
        "max.poll.interval.ms": 10_000,
        "partition.assignment.strategy": args.strategy,
        "topic.metadata.refresh.interval.ms": 1000,
    }
    if args.instance_id:
        config["group.instance.id"] = args.instance_id
    return config


def member(args):
    """One consumer: subscribe, report every callback and record, commit each record
    synchronously, close on `close`."""
    consumer = Consumer(member_config(args))
    closing = threading.Event()

    def read_stdin():
        for line in sys.stdin:
            if line.strip() == "close":
                break
        closing.set()

    threading.Thread(target=read_stdin, daemon=True).start()

    def names(partitions):
        return sorted(p.partition for p in partitions)

    consumer.subscribe(
        [args.topic],
        on_assign=lambda c, ps: emit("assign", partitions=names(ps)),
        on_revoke=lambda c, ps: emit("revoke", partitions=names(ps)),
        on_lost=lambda c, ps: emit("lost", partitions=names(ps)),
    )
    emit("subscribed")
    while not closing.is_set():
        msg = consumer.poll(0.1)
        if msg is None:
            continue
        if msg.error():
            emit("error", error=str(msg.error()))
            continue
        emit("record", partition=msg.partition(), offset=msg.offset(), key=msg.key().decode())
        try:
            consumer.commit(message=msg, asynchronous=False)
        except KafkaException as e:
            emit("commit_error", partition=msg.partition(), offset=msg.offset(), error=str(e))
    consumer.close()
    emit("closed")


class Group:
    """The member subprocesses of one scenario and what they reported."""

    def __init__(self, args, step, strategy="range", session_ms=SESSION_TIMEOUT_MS):
        self.args, self.step, self.strategy, self.session_ms = args, step, strategy, session_ms
        self.procs = {}
        self.events = []  # (name, event dict), in arrival order
        self.lock = threading.Lock()

    def start(self, name, instance_id=None):
        cmd = [sys.executable, os.path.abspath(__file__), "member", "--bootstrap", self.args.bootstrap,
               "--topic", self.args.topic, "--group", self.args.group, "--name", name,
               "--strategy", self.strategy, "--session-ms", str(self.session_ms)]
        if instance_id:
            cmd += ["--instance-id", instance_id]
        proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.procs[name] = proc

        def read():
            for line in proc.stdout:
                try:
                    event = json.loads(line)
                except ValueError:
                    continue
                with self.lock:
                    self.events.append((name, event))

        threading.Thread(target=read, daemon=True).start()
        self.step.log(f"started {name}")

    def close(self, name):
        proc = self.procs.pop(name)
        proc.stdin.write("close\n")
        proc.stdin.flush()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            fail(f"{name} did not close within 20 s")
        self.step.log(f"closed {name}")

    def kill(self, name):
        proc = self.procs.pop(name)
        proc.kill()
        proc.wait()
        self.step.log(f"SIGKILLed {name}")

    def stop_all(self):
        for name in list(self.procs):
            self.close(name)

    def snapshot(self):
        with self.lock:
            return list(self.events)

    def owned(self):
        """Each live member's partitions, from its callbacks (incremental or not, the
        arithmetic is the same: assign adds, revoke and lost remove)."""
        owned = {name: set() for name in self.procs}
        for name, e in self.snapshot():
            if name not in owned:
                continue
            if e["event"] == "assign":
                owned[name] |= set(e["partitions"])
            elif e["event"] in ("revoke", "lost"):
                owned[name] -= set(e["partitions"])
        return owned

    def wait_split(self, deadline_s=30):
        """Waits until the live members split the topic: every partition owned by
        exactly one member, every member owning one. Returns the split."""
        started = time.monotonic()
        while time.monotonic() - started < deadline_s:
            owned = self.owned()
            every = [p for ps in owned.values() for p in ps]
            if sorted(every) == list(range(PARTITIONS)) and all(owned.values()):
                self.step.log(f"split after {time.monotonic() - started:.1f}s: {describe(owned)}")
                return owned
            self.check_no_errors()
            time.sleep(0.05)
        fail(f"no complete, disjoint split within {deadline_s}s: {describe(self.owned())}")

    def consumed(self):
        return [(e["partition"], e["offset"]) for _, e in self.snapshot() if e["event"] == "record"]

    def wait_consumed(self, expected, deadline_s=30):
        started = time.monotonic()
        while time.monotonic() - started < deadline_s:
            if set(expected) <= set(self.consumed()):
                return
            self.check_no_errors()
            time.sleep(0.05)
        missing = sorted(set(expected) - set(self.consumed()))
        fail(f"{len(missing)} records not consumed within {deadline_s}s, e.g. {missing[:5]}")

    def check_no_errors(self):
        for name, e in self.snapshot():
            if e["event"] in ("commit_error", "error"):
                fail(f"{name}: {e['event']}: {e['error']}")

    def check_exactly_once(self, produced):
        consumed = self.consumed()
        duplicates = sorted({r for r in consumed if consumed.count(r) > 1})
        if duplicates:
            fail(f"{len(duplicates)} records consumed more than once, e.g. {duplicates[:5]}")
        if sorted(consumed) != sorted(produced):
            extra = sorted(set(consumed) - set(produced))
            fail(f"consumed {len(consumed)} records, produced {len(produced)}; extra {extra[:5]}")


def describe(owned):
    return ", ".join(f"{n}={sorted(ps)}" for n, ps in sorted(owned.items()))


def create_topic(args, step, partitions=PARTITIONS):
    if args.topic_exists:
        step.log(f"{args.topic} created by the test")
        return
    admin = AdminClient({"bootstrap.servers": args.bootstrap})
    futures = admin.create_topics([NewTopic(args.topic, num_partitions=partitions, replication_factor=1)])
    futures[args.topic].result(timeout=15)
    step.log(f"created {args.topic} ({partitions} partitions)")


def produce(args, start, count, partitions=PARTITIONS):
    """Produces records start..start+count, record i to partition i % partitions; returns
    their (partition, offset)s."""
    producer = Producer({"bootstrap.servers": args.bootstrap, "linger.ms": 5})
    delivered, errors = [], []

    def on_delivery(err, msg):
        if err is not None:
            errors.append(str(err))
        else:
            delivered.append((msg.partition(), msg.offset()))

    for i in range(start, start + count):
        producer.produce(args.topic, key=f"key-{i}".encode(), value=f"value-{i}".encode(),
                         partition=i % partitions, on_delivery=on_delivery)
    if producer.flush(15) != 0 or errors:
        fail(f"produce failed: {errors[:3] or 'flush timed out'}")
    return delivered


def scenario_split(args, step):
    create_topic(args, step)
    group = Group(args, step)
    produced = []
    try:
        group.start("m1")
        group.start("m2")
        group.wait_split()
        batch = produce(args, 0, 120)
        produced += batch
        group.wait_consumed(batch)
        step.log("two members consumed the first 120 records")

        group.start("m3")
        owned = group.wait_split()
        if len(owned) != 3:
            fail(f"expected three owners: {describe(owned)}")
        batch = produce(args, 120, 120)
        produced += batch
        group.wait_consumed(batch)
        step.log("three members consumed the next 120 records")

        group.close("m3")
        group.wait_split()
        batch = produce(args, 240, 120)
        produced += batch
        group.wait_consumed(batch)
        step.log("after m3 closed, m1 and m2 consumed the next 120 records")

        killed_at = time.monotonic()
        group.kill("m2")
        owned = group.wait_split(deadline_s=SESSION_TIMEOUT_MS / 1000 + 20)
        took = time.monotonic() - killed_at
        step.log(f"m1 took over {took:.1f}s after m2's SIGKILL (session.timeout.ms={SESSION_TIMEOUT_MS})")
        print(f"MEASURED takeover_after_sigkill_s={took:.2f} session_timeout_ms={SESSION_TIMEOUT_MS}")
        if took < SESSION_TIMEOUT_MS / 1000 * 0.5:
            fail(f"takeover after {took:.1f}s: sooner than the session timeout could expire")
        batch = produce(args, 360, 120)
        produced += batch
        group.wait_consumed(batch)
        group.check_no_errors()
        group.check_exactly_once(produced)
        step.log(f"all {len(produced)} records consumed exactly once")
    finally:
        for proc in group.procs.values():
            proc.kill()


def scenario_cooperative(args, step):
    create_topic(args, step)
    group = Group(args, step, strategy="cooperative-sticky")
    produced = []
    try:
        group.start("m1")
        group.start("m2")
        group.wait_split()
        before = group.owned()
        mark = len(group.snapshot())
        group.start("m3")
        group.wait_split()
        after_join = group.snapshot()[mark:]
        for name in ("m1", "m2"):
            revoked = [set(e["partitions"]) for n, e in after_join if n == name and e["event"] == "revoke"]
            if any(r == before[name] for r in revoked):
                fail(f"{name} revoked everything it owned ({sorted(before[name])}): not incremental")
        if not any(e["event"] == "revoke" and e["partitions"] for _, e in after_join):
            fail("m3 got partitions without anyone revoking one")
        step.log("m3 joined: the others revoked only what moved")
        batch = produce(args, 0, 120)
        produced += batch
        group.wait_consumed(batch)
        group.close("m1")
        group.wait_split()
        batch = produce(args, 120, 120)
        produced += batch
        group.wait_consumed(batch)
        check_single_owner(group.snapshot())
        group.check_no_errors()
        group.check_exactly_once(produced)
        step.log("no partition ever had two owners; every record consumed exactly once")
    finally:
        for proc in group.procs.values():
            proc.kill()


def check_single_owner(events):
    """Replays every callback in time order: a partition is assigned to a member only
    while no other member owns it. (Cooperative rebalancing guarantees that causally:
    the old owner revokes before it rejoins, the new one is assigned a generation later.)"""
    owner = {}
    for name, e in sorted(events, key=lambda ne: ne[1]["t"]):
        if e["event"] == "assign":
            for p in e["partitions"]:
                if owner.get(p, name) != name:
                    fail(f"partition {p} assigned to {name} while {owner[p]} owned it")
                owner[p] = name
        elif e["event"] in ("revoke", "lost"):
            for p in e["partitions"]:
                owner.pop(p, None)


def scenario_static(args, step):
    create_topic(args, step)
    group = Group(args, step, session_ms=10_000)
    try:
        group.start("a", instance_id="static-a")
        group.start("b", instance_id="static-b")
        owned = group.wait_split()
        time.sleep(1.0)  # let any rebalance still under way show itself
        owned = group.wait_split()
        mark = len(group.snapshot())
        group.close("a")
        group.start("a2", instance_id="static-a")
        started = time.monotonic()
        while time.monotonic() - started < 20:
            got = group.owned().get("a2")
            if got:
                break
            time.sleep(0.05)
        else:
            fail("the restarted static member got no assignment within 20 s")
        if got != owned["a"]:
            fail(f"the restarted static member got {sorted(got)}, it had {sorted(owned['a'])}")
        time.sleep(2.0)  # a rebalance would reach b within a heartbeat or two
        seen_by_b = [e["event"] for n, e in group.snapshot()[mark:] if n == "b" and e["event"] != "record"]
        if seen_by_b:
            fail(f"the other member saw a rebalance: {seen_by_b}")
        step.log(f"static member came back with {sorted(got)}; the other saw no callback")
        batch = produce(args, 0, 60)
        group.wait_consumed(batch)
        group.check_no_errors()
    finally:
        for proc in group.procs.values():
            proc.kill()


def consume_one_by_one(args, stop_after, deadline_s=30):
    """A group consumer that commits each record synchronously; returns the records
    ((partition, offset, key)) it consumed, stopping after `stop_after` (or the end)."""
    consumer = Consumer({"bootstrap.servers": args.bootstrap, "group.id": args.group,
                         "auto.offset.reset": "earliest", "enable.auto.commit": False})
    consumer.subscribe([args.topic])
    got = []
    started = time.monotonic()
    while len(got) < stop_after and time.monotonic() - started < deadline_s:
        msg = consumer.poll(0.2)
        if msg is None or msg.error():
            continue
        got.append((msg.partition(), msg.offset(), msg.key().decode()))
        consumer.commit(message=msg, asynchronous=False)
    committed = consumer.committed([TopicPartition(args.topic, p) for p in range(3)], timeout=10)
    consumer.close()
    return got, {tp.partition: tp.offset for tp in committed}


def scenario_resume_1(args, step):
    create_topic(args, step, partitions=3)
    produce(args, 0, 90, partitions=3)
    got, committed = consume_one_by_one(args, stop_after=40)
    if len(got) != 40:
        fail(f"consumed {len(got)} records, wanted 40")
    next_offsets = {}
    for p, o, _ in got:
        next_offsets[p] = max(next_offsets.get(p, 0), o + 1)
    for p in range(3):
        # A partition this consumer never read has no commit (librdkafka: -1001).
        if committed[p] != next_offsets.get(p, committed[p] if committed[p] < 0 else None):
            fail(f"committed {committed}, but consumed up to {next_offsets}")
    next_offsets = {p: next_offsets.get(p, 0) for p in range(3)}
    with open(args.state, "w") as f:
        json.dump({"committed": next_offsets, "keys": [k for _, _, k in got]}, f)
    step.log(f"consumed 40 of 90, committed {committed}")


def scenario_resume_2(args, step):
    with open(args.state) as f:
        state = json.load(f)
    committed = {int(p): o for p, o in state["committed"].items()}
    got, _ = consume_one_by_one(args, stop_after=90 - len(state["keys"]))
    firsts = {}
    for p, o, _ in got:
        firsts.setdefault(p, o)
    for p in range(3):
        if committed[p] < 30 and firsts.get(p) != committed[p]:
            fail(f"partition {p} resumed at {firsts.get(p)}, committed {committed[p]}")
    keys = state["keys"] + [k for _, _, k in got]
    if sorted(keys) != sorted(f"key-{i}" for i in range(90)):
        fail(f"across the restart: {len(keys)} records, {len(set(keys))} distinct, wanted the 90 once each")
    step.log(f"resumed at {firsts} after the restart; all 90 records consumed once")


def scenario_first_record(args, step):
    create_topic(args, step, partitions=1)
    produce(args, 0, 10, partitions=1)
    consumer = Consumer({"bootstrap.servers": args.bootstrap, "group.id": args.group,
                         "auto.offset.reset": "earliest"})
    started = time.monotonic()
    consumer.subscribe([args.topic])
    msg = None
    while time.monotonic() - started < 30:
        msg = consumer.poll(0.1)
        if msg is not None and not msg.error():
            break
    took = time.monotonic() - started
    consumer.close()
    if msg is None or msg.error():
        fail("no record within 30 s of subscribe()")
    print(f"MEASURED first_record_after_subscribe_s={took:.2f}")
    step.log(f"first record {took:.2f}s after subscribe()")
    if took > 15:
        fail(f"first record after {took:.1f}s (group.initial.rebalance.delay.ms is 3 s)")


SCENARIOS = {
    "split": scenario_split,
    "cooperative": scenario_cooperative,
    "static": scenario_static,
    "resume-1": scenario_resume_1,
    "resume-2": scenario_resume_2,
    "first-record": scenario_first_record,
}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("mode", choices=["member", *SCENARIOS])
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--group", required=True)
    parser.add_argument("--name", default="member")
    parser.add_argument("--strategy", default="range")
    parser.add_argument("--session-ms", type=int, default=SESSION_TIMEOUT_MS)
    parser.add_argument("--instance-id")
    parser.add_argument("--state", help="resume-1/resume-2: where the first half leaves its results")
    parser.add_argument("--topic-exists", action="store_true",
                        help="the test created the topic (tests/it/group_cluster.rs: replicated)")
    args = parser.parse_args()
    if args.mode == "member":
        member(args)
        return
    step = Step(f"confluent-kafka {args.mode}")
    run(lambda: SCENARIOS[args.mode](args, step))


if __name__ == "__main__":
    main()
