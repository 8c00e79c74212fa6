"""Chapter 9 with a real transactional client: confluent-kafka (librdkafka)
against spool's transaction coordinator, unchanged.

    producer tx-1:  init_transactions()                 InitProducerId(transactional.id)
                    begin, 10 records to p0 and p1, commit   AddPartitionsToTxn, Produce, EndTxn(commit)
                    begin, 4 records, abort                   EndTxn(abort)
    read_committed consumer:   exactly the 10 committed records
    read_uncommitted consumer: all 14
    producer tx-1 again (a second process' producer): init_transactions() fences the first;
                    the first's next transaction fails with a fatal PRODUCER_FENCED

Each consumer reads every partition from the start to its end
(`enable.partition.eof`): for read_committed that end is the last stable offset,
which both markers have moved past. Exits non-zero, naming what differs,
when a check fails; prints `PASS ...` otherwise. tests/it/transactions_clients.rs runs it.
"""

import argparse
import sys
import time

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

PARTITIONS = 2


def fail(message):
    print(f"FAIL {message}", flush=True)
    sys.exit(1)


def producer(bootstrap, transactional_id):
    return Producer(
        {
            "bootstrap.servers": bootstrap,
            "transactional.id": transactional_id,
            "transaction.timeout.ms": 60000,
            "linger.ms": 5,
        }
    )


def send(p, topic, values):
    for i, v in enumerate(values):
        p.produce(topic, key=v.encode(), value=v.encode(), partition=i % PARTITIONS)
    p.flush(30)


def read_all(bootstrap, topic, isolation, deadline):
    """Every value in every partition, from the start to the partition's end."""
    c = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"reader-{isolation}",
            "enable.auto.commit": False,
            "enable.partition.eof": True,
            "isolation.level": isolation,
        }
    )
    c.assign([TopicPartition(topic, p, 0) for p in range(PARTITIONS)])
    values, at_end = [], set()
    while len(at_end) < PARTITIONS:
        if time.monotonic() > deadline:
            fail(f"{isolation}: no end of partitions {set(range(PARTITIONS)) - at_end} in time; read {values}")
        m = c.poll(0.5)
        if m is None:
            continue
        if m.error():
            if m.error().code() == KafkaError._PARTITION_EOF:
                at_end.add(m.partition())
                continue
            fail(f"{isolation}: {m.error()}")
        values.append(m.value().decode())
    c.close()
    return sorted(values)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bootstrap", required=True)
    ap.add_argument("--topic", default="txn")
    ap.add_argument("--replication", type=int, default=1)
    args = ap.parse_args()
    deadline = time.monotonic() + 90

    admin = AdminClient({"bootstrap.servers": args.bootstrap})
    for f in admin.create_topics([NewTopic(args.topic, PARTITIONS, args.replication)]).values():
        f.result(30)

    first = producer(args.bootstrap, "tx-1")
    first.init_transactions(30)
    committed = [f"committed-{i}" for i in range(10)]
    first.begin_transaction()
    send(first, args.topic, committed)
    first.commit_transaction(30)
    aborted = [f"aborted-{i}" for i in range(4)]
    first.begin_transaction()
    send(first, args.topic, aborted)
    first.abort_transaction(30)

    seen = read_all(args.bootstrap, args.topic, "read_committed", deadline)
    if seen != sorted(committed):
        fail(f"read_committed read {seen}, want the committed {sorted(committed)}")
    seen = read_all(args.bootstrap, args.topic, "read_uncommitted", deadline)
    if seen != sorted(committed + aborted):
        fail(f"read_uncommitted read {seen}, want all {sorted(committed + aborted)}")

    second = producer(args.bootstrap, "tx-1")
    second.init_transactions(30)
    fenced = None
    try:
        first.begin_transaction()
        send(first, args.topic, ["zombie"])
        first.commit_transaction(30)
    except KafkaException as e:
        fenced = e.args[0]
    if fenced is None:
        fail("the first producer committed after a second one with its transactional.id initialized")
    if not fenced.fatal():
        fail(f"the fenced producer's error is not fatal: {fenced}")
    second.begin_transaction()
    send(second, args.topic, ["successor"])
    second.commit_transaction(30)
    seen = read_all(args.bootstrap, args.topic, "read_committed", deadline)
    if "zombie" in seen or "successor" not in seen:
        fail(f"after fencing, read_committed read {seen}")
    print(f"PASS committed={len(committed)} aborted={len(aborted)} fenced={fenced.name()}", flush=True)


if __name__ == "__main__":
    main()
