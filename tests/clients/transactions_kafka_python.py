"""Chapter 9 with kafka-python (3.0.12): its own transaction manager (KafkaProducer's
transactional_id) against spool's transaction coordinator, and its own read_committed
fetcher reading what it wrote.

    producer kp-tx:  init_transactions()                     InitProducerId(transactional id)
                     begin, 10 records to p0 and p1, commit  AddPartitionsToTxn, Produce, EndTxn(commit)
                     begin, 4 records, abort                 EndTxn(abort)
    read_committed consumer:   exactly the 10 committed records
    read_uncommitted consumer: all 14
    consume-transform-produce: a group member reads `in`, the producer writes `out` and
                     send_offsets_to_transaction(the member's positions, its group metadata)
                     AddOffsetsToTxn, TxnOffsetCommit (KIP-447: generation, member id)
                     the group's committed offset is unchanged until the commit, then is the
                     end of `in`; a second such transaction, aborted, leaves it there
    producer kp-tx again: init_transactions() fences the first; the first's next commit
                     fails, its transaction manager holding ProducerFencedError (fatal)

Each consumer reads every partition from the start until its position reaches the end
offset the consumer itself asks for (ListOffsets with its isolation level: the last
stable offset for read_committed), so it must step over the aborted records and the
control batches. Exits non-zero with one `FAIL:` line naming what differs; prints
`PASS ...` otherwise. tests/it/transactions_clients.rs runs it.
"""

import argparse
import os
import sys
import time

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic
from kafka.errors import InvalidProducerEpochError, KafkaError, ProducerFencedError
from kafka.structs import OffsetAndMetadata

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from scenario_common import Step, fail, run  # noqa: E402

PARTITIONS = 2
TXN, IN, OUT = "txn", "in", "out"
GROUP = "kp-ctp"
INPUTS = 6


def producer(args, transactional_id=None):
    config = {"bootstrap_servers": args.bootstrap, "linger_ms": 5, "request_timeout_ms": 15_000}
    if transactional_id:
        config.update(transactional_id=transactional_id, transaction_timeout_ms=60_000)
    return KafkaProducer(**config)


def send(p, topic, values):
    for i, v in enumerate(values):
        p.send(topic, key=v.encode(), value=v.encode(), partition=i % PARTITIONS)
    p.flush(timeout=30)


def read_all(args, topic, isolation, deadline):
    """Every value in every partition, from the start to the end offset this consumer's
    isolation level gives."""
    c = KafkaConsumer(bootstrap_servers=args.bootstrap, isolation_level=isolation, enable_auto_commit=False)
    tps = [TopicPartition(topic, p) for p in range(PARTITIONS)]
    c.assign(tps)
    c.seek_to_beginning()
    ends = c.end_offsets(tps)
    values = []
    while any(c.position(tp) < ends[tp] for tp in tps):
        if time.monotonic() > deadline:
            at = {tp.partition: (c.position(tp), ends[tp]) for tp in tps}
            fail(f"{isolation}: (position, end) per partition {at} in time; read {values}")
        for records in c.poll(timeout_ms=500).values():
            values.extend(r.value.decode() for r in records)
    c.close()
    return sorted(values)


def committed_offset(admin, tp):
    """The group's committed offset of `tp` as OffsetFetch reports it, None if none."""
    offsets = admin.list_group_offsets({GROUP: [tp]})[GROUP]
    found = offsets.get(tp)
    return None if found is None or found.offset < 0 else found.offset


def settle(p):
    """One more transaction of `p` (a record to `txn`'s partition 0, which only the fencing
    check reads, and it only looks for its own records): its AddPartitionsToTxn is refused
    with CONCURRENT_TRANSACTIONS, and retried by the client, until the previous
    transaction's markers are all written, the group's included. EndTxn answers before
    them, in Kafka as in spool, so the group's offsets are final only after this."""
    p.begin_transaction()
    p.send(TXN, value=b"settle", partition=0)
    p.flush(timeout=30)
    p.commit_transaction()


def commit_and_abort(args, step, first, deadline):
    committed = [f"committed-{i}" for i in range(10)]
    first.begin_transaction()
    send(first, TXN, committed)
    first.commit_transaction()
    aborted = [f"aborted-{i}" for i in range(4)]
    first.begin_transaction()
    send(first, TXN, aborted)
    first.abort_transaction()
    step.log("one transaction committed, one aborted")

    seen = read_all(args, TXN, "read_committed", deadline)
    if seen != sorted(committed):
        fail(f"read_committed read {seen}, want the committed {sorted(committed)}")
    seen = read_all(args, TXN, "read_uncommitted", deadline)
    if seen != sorted(committed + aborted):
        fail(f"read_uncommitted read {seen}, want all {sorted(committed + aborted)}")
    step.log("read_committed read the 10 committed records, read_uncommitted all 14")
    return len(committed), len(aborted)


def consume_transform_produce(args, step, first, admin, deadline):
    """One transaction of the exactly-once loop: the output records and the group's
    offsets commit together, and not before."""
    plain = producer(args)
    for i in range(INPUTS):
        plain.send(IN, value=f"v-{i}".encode(), partition=0)
    plain.flush(timeout=30)
    plain.close()

    member = KafkaConsumer(
        IN,
        bootstrap_servers=args.bootstrap,
        group_id=GROUP,
        isolation_level="read_committed",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        session_timeout_ms=6_000,
        heartbeat_interval_ms=500,
    )
    inputs = []
    while len(inputs) < INPUTS:
        if time.monotonic() > deadline:
            fail(f"the group member read {inputs} of `in` in time, want {INPUTS} records")
        for records in member.poll(timeout_ms=500).values():
            inputs.extend(r.value.decode() for r in records)
    tp = TopicPartition(IN, 0)
    position = member.position(tp)

    first.begin_transaction()
    send(first, OUT, [f"out-{v}" for v in inputs])
    first.send_offsets_to_transaction({tp: OffsetAndMetadata(position, "", -1)}, member.group_metadata())
    before = committed_offset(admin, tp)
    if before is not None:
        fail(f"the group's offset of {tp} is {before} before the transaction committed, want none")
    first.commit_transaction()
    settle(first)
    after = committed_offset(admin, tp)
    if after != position:
        fail(f"the group's offset of {tp} is {after} after the commit, want {position}")
    step.log(f"send_offsets_to_transaction: the group's offset appeared with the commit ({after})")

    first.begin_transaction()
    send(first, OUT, ["out-aborted"])
    first.send_offsets_to_transaction({tp: OffsetAndMetadata(1, "", -1)}, member.group_metadata())
    first.abort_transaction()
    settle(first)
    kept = committed_offset(admin, tp)
    if kept != position:
        fail(f"the group's offset of {tp} is {kept} after an aborted transaction sent 1, want {position}")
    member.close()

    seen = read_all(args, OUT, "read_committed", deadline)
    want = sorted(f"out-{v}" for v in inputs)
    if seen != want:
        fail(f"read_committed read {seen} from `out`, want {want}")
    step.log("an aborted transaction's offsets and records stayed invisible")
    return position


def fencing(args, step, first, deadline):
    """kafka-python raises the fencing as a plain KafkaError ("... in an error state:
    ProducerFencedError") from the transactional call after the one that met it; the
    error itself is the transaction manager's last_error, which must be fatal."""
    second = producer(args, "kp-tx")
    second.init_transactions()
    raised = None
    try:
        first.begin_transaction()
        send(first, TXN, ["zombie"])
        first.commit_transaction()
    except KafkaError as e:
        raised = e
    if raised is None:
        fail("the first producer committed after a second one with its transactional_id initialized")
    manager = first._transaction_manager  # noqa: SLF001 - where kafka-python keeps the cause
    fenced = manager.last_error
    if not isinstance(fenced, (ProducerFencedError, InvalidProducerEpochError)):
        fail(f"the fenced producer failed with {type(raised).__name__}: {raised}; its cause {fenced!r}")
    if fenced.retriable or not manager.has_error():
        fail(f"the fenced producer's error {fenced!r} leaves it usable")
    second.begin_transaction()
    send(second, TXN, ["successor"])
    second.commit_transaction()
    seen = read_all(args, TXN, "read_committed", deadline)
    if "zombie" in seen or "successor" not in seen:
        fail(f"after fencing, read_committed read {seen}")
    step.log(f"the first producer was fenced: {raised}")
    second.close()
    return type(fenced).__name__


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bootstrap", required=True)
    args = ap.parse_args()
    deadline = time.monotonic() + 100
    step = Step("kafka-python txn")

    admin = KafkaAdminClient(bootstrap_servers=args.bootstrap, request_timeout_ms=15_000)
    admin.create_topics([NewTopic(t, num_partitions=PARTITIONS, replication_factor=1) for t in (TXN, IN, OUT)])

    first = producer(args, "kp-tx")
    first.init_transactions()
    committed, aborted = commit_and_abort(args, step, first, deadline)
    offset = consume_transform_produce(args, step, first, admin, deadline)
    fenced = fencing(args, step, first, deadline)
    first.close(timeout=5)
    admin.close()
    print(f"PASS committed={committed} aborted={aborted} group_offset={offset} fenced={fenced}", flush=True)


if __name__ == "__main__":
    run(main)
