"""kafka-python's KafkaConsumer in a group against spool's group coordinator (chapter 5).
Run by tests/it/group_clients.rs, which starts the broker.

Two consumers of one group_id read a 4-partition topic at once (kafka-python's own
JoinGroup, SyncGroup and Heartbeat encoders, the range assignor), committing after each
poll; together they read every record exactly once. A third consumer of the same group,
started after both closed, finds nothing left: it resumes at the committed offsets, which
OffsetFetch (v8, two groups in one request) reports as the end of every partition.
"""

import argparse
import os
import sys
import threading
import time

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from scenario_common import Step, fail, run  # noqa: E402

PARTITIONS = 4
RECORDS = 200


def consumer(args, name):
    return KafkaConsumer(
        args.topic,
        bootstrap_servers=args.bootstrap,
        group_id=args.group,
        client_id=name,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        session_timeout_ms=6000,
        heartbeat_interval_ms=500,
        max_poll_interval_ms=10_000,
    )


def main(args, step):
    admin = KafkaAdminClient(bootstrap_servers=args.bootstrap, request_timeout_ms=10_000)
    admin.create_topics([NewTopic(args.topic, num_partitions=PARTITIONS, replication_factor=1)])
    producer = KafkaProducer(bootstrap_servers=args.bootstrap, linger_ms=5)
    for i in range(RECORDS):
        producer.send(args.topic, key=f"key-{i}".encode(), value=b"v", partition=i % PARTITIONS)
    producer.flush(timeout=15)
    producer.close()
    step.log(f"produced {RECORDS} records into {PARTITIONS} partitions")

    consumed, lock, done = [], threading.Lock(), threading.Event()
    errors = []

    def member(name):
        try:
            c = consumer(args, name)
            while not done.is_set():
                for tp, records in c.poll(timeout_ms=200).items():
                    with lock:
                        consumed.extend((tp.partition, r.offset, name) for r in records)
                c.commit()
            c.close()
        except Exception as e:  # noqa: BLE001 - reported as the scenario's failure
            errors.append(f"{name}: {type(e).__name__}: {e}")

    threads = [threading.Thread(target=member, args=(f"kp-{n}",)) for n in (1, 2)]
    for t in threads:
        t.start()
    started = time.monotonic()
    while time.monotonic() - started < 40 and not errors:
        with lock:
            if len({(p, o) for p, o, _ in consumed}) >= RECORDS:
                break
        time.sleep(0.1)
    time.sleep(0.5)  # a last poll's commit
    done.set()
    for t in threads:
        t.join(timeout=20)
    if errors:
        fail(errors[0])
    keys = [(p, o) for p, o, _ in consumed]
    if len(keys) != RECORDS or len(set(keys)) != RECORDS:
        fail(f"consumed {len(keys)} records ({len(set(keys))} distinct), produced {RECORDS}")
    by_member = {}
    for p, _, name in consumed:
        by_member.setdefault(name, set()).add(p)
    step.log(f"consumed all {RECORDS} once; partitions by member: {by_member}")

    # The group's position is the end of every partition. kafka-python asks for two
    # groups in one OffsetFetch v8 (KIP-709); the second has committed nothing.
    offsets = admin.list_group_offsets([args.group, f"{args.group}-never"])
    ends = {p: RECORDS // PARTITIONS for p in range(PARTITIONS)}
    got = {tp.partition: meta.offset for tp, meta in offsets[args.group].items() if tp.topic == args.topic}
    if got != ends:
        fail(f"committed {got}, expected {ends}")
    if offsets[f"{args.group}-never"]:
        fail(f"a group that never committed has offsets: {offsets[f'{args.group}-never']}")
    late = consumer(args, "kp-late")
    leftovers = []
    started = time.monotonic()
    while time.monotonic() - started < 8:
        for _, records in late.poll(timeout_ms=200).items():
            leftovers.extend(records)
        if late.assignment() and all(late.position(tp) == ends[tp.partition] for tp in late.assignment()):
            break
    assignment = sorted(tp.partition for tp in late.assignment())
    late.close()
    if leftovers:
        fail(f"a consumer of the same group re-read {len(leftovers)} committed records")
    if assignment != list(range(PARTITIONS)):
        fail(f"the late consumer was assigned {assignment}")
    step.log("a later member of the group resumed at the committed end offsets")
    admin.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--group", required=True)
    parsed = parser.parse_args()
    run(lambda: main(parsed, Step("kafka-python group")))
