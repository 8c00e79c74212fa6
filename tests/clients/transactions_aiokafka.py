"""Chapter 9 with aiokafka (0.14): its own transaction manager (AIOKafkaProducer's
transactional_id, `async with producer.transaction()`) against spool's transaction
coordinator, and its own read_committed fetcher reading what it wrote.

    producer aio-tx: start()                                 InitProducerId(transactional id)
                     transaction(): 10 records to p0 and p1  AddPartitionsToTxn, Produce, EndTxn(commit)
                     transaction(): 4 records, then raise    the context aborts: EndTxn(abort)
    read_committed consumer:   exactly the 10 committed records
    read_uncommitted consumer: all 14
    consume-transform-produce: a group member reads `in`, the producer writes `out` and
                     send_offsets_to_transaction(the member's positions, the group id)
                     AddOffsetsToTxn, TxnOffsetCommit (aiokafka sends the group id only:
                     no generation or member id, so no KIP-447 zombie check by the group)
                     the group's committed offset is unchanged until the commit, then is the
                     end of `in`; a second such transaction, aborted, leaves it there
    producer aio-tx again: start() fences the first; the first's next transaction fails
                     with ProducerFenced, a fatal error

Each consumer reads every partition from the start until its position reaches the end
offset the consumer itself asks for (ListOffsets with its isolation level: the last
stable offset for read_committed), so it must step over the aborted records and the
control batches. Exits non-zero with one `FAIL:` line naming what differs; prints
`PASS ...` otherwise. tests/it/transactions_clients.rs runs it.
"""

import argparse
import asyncio
import os
import sys
import time

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, ProducerFenced
from aiokafka.structs import OffsetAndMetadata

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from scenario_common import Step, fail, run  # noqa: E402

PARTITIONS = 2
TXN, IN, OUT = "txn", "in", "out"
GROUP = "aio-ctp"
INPUTS = 6


class Abort(Exception):
    """Raised inside `producer.transaction()` to make the context abort."""


async def producer(args, transactional_id=None):
    config = {"bootstrap_servers": args.bootstrap, "linger_ms": 5, "request_timeout_ms": 15_000}
    if transactional_id:
        config.update(transactional_id=transactional_id, transaction_timeout_ms=60_000)
    p = AIOKafkaProducer(**config)
    await p.start()
    return p


async def send(p, topic, values):
    sent = [await p.send(topic, key=v.encode(), value=v.encode(), partition=i % PARTITIONS) for i, v in enumerate(values)]
    await asyncio.gather(*sent)


async def read_all(args, topic, isolation, deadline):
    """Every value in every partition, from the start to the end offset this consumer's
    isolation level gives."""
    c = AIOKafkaConsumer(bootstrap_servers=args.bootstrap, isolation_level=isolation, enable_auto_commit=False)
    await c.start()
    tps = [TopicPartition(topic, p) for p in range(PARTITIONS)]
    c.assign(tps)
    await c.seek_to_beginning()
    ends = await c.end_offsets(tps)
    values = []
    while any([await c.position(tp) < ends[tp] for tp in tps]):
        if time.monotonic() > deadline:
            at = {tp.partition: (await c.position(tp), ends[tp]) for tp in tps}
            fail(f"{isolation}: (position, end) per partition {at} in time; read {values}")
        for records in (await c.getmany(timeout_ms=500)).values():
            values.extend(r.value.decode() for r in records)
    await c.stop()
    return sorted(values)


async def committed_offset(admin, tp):
    """The group's committed offset of `tp` as OffsetFetch reports it, None if none."""
    found = (await admin.list_consumer_group_offsets(GROUP, partitions=[tp])).get(tp)
    return None if found is None or found.offset < 0 else found.offset


async def settle(p):
    """One more transaction of `p` (a record to `txn`'s partition 0, which only the fencing
    check reads, and it only looks for its own records): its AddPartitionsToTxn is refused
    with CONCURRENT_TRANSACTIONS, and retried by the client, until the previous
    transaction's markers are all written, the group's included. EndTxn answers before
    them, in Kafka as in spool, so the group's offsets are final only after this."""
    async with p.transaction():
        await (await p.send(TXN, value=b"settle", partition=0))


async def commit_and_abort(args, step, first, deadline):
    committed = [f"committed-{i}" for i in range(10)]
    async with first.transaction():
        await send(first, TXN, committed)
    aborted = [f"aborted-{i}" for i in range(4)]
    try:
        async with first.transaction():
            await send(first, TXN, aborted)
            raise Abort()
    except Abort:
        pass
    step.log("one transaction committed, one aborted")

    seen = await read_all(args, TXN, "read_committed", deadline)
    if seen != sorted(committed):
        fail(f"read_committed read {seen}, want the committed {sorted(committed)}")
    seen = await read_all(args, TXN, "read_uncommitted", deadline)
    if seen != sorted(committed + aborted):
        fail(f"read_uncommitted read {seen}, want all {sorted(committed + aborted)}")
    step.log("read_committed read the 10 committed records, read_uncommitted all 14")
    return len(committed), len(aborted)


async def consume_transform_produce(args, step, first, admin, deadline):
    """One transaction of the exactly-once loop: the output records and the group's
    offsets commit together, and not before."""
    plain = await producer(args)
    await asyncio.gather(*[await plain.send(IN, value=f"v-{i}".encode(), partition=0) for i in range(INPUTS)])
    await plain.stop()

    member = AIOKafkaConsumer(
        IN,
        bootstrap_servers=args.bootstrap,
        group_id=GROUP,
        isolation_level="read_committed",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        session_timeout_ms=6_000,
        heartbeat_interval_ms=500,
    )
    await member.start()
    inputs = []
    while len(inputs) < INPUTS:
        if time.monotonic() > deadline:
            fail(f"the group member read {inputs} of `in` in time, want {INPUTS} records")
        for records in (await member.getmany(timeout_ms=500)).values():
            inputs.extend(r.value.decode() for r in records)
    tp = TopicPartition(IN, 0)
    position = await member.position(tp)

    async with first.transaction():
        await send(first, OUT, [f"out-{v}" for v in inputs])
        await first.send_offsets_to_transaction({tp: OffsetAndMetadata(position, "")}, GROUP)
        before = await committed_offset(admin, tp)
        if before is not None:
            fail(f"the group's offset of {tp} is {before} before the transaction committed, want none")
    await settle(first)
    after = await committed_offset(admin, tp)
    if after != position:
        fail(f"the group's offset of {tp} is {after} after the commit, want {position}")
    step.log(f"send_offsets_to_transaction: the group's offset appeared with the commit ({after})")

    try:
        async with first.transaction():
            await send(first, OUT, ["out-aborted"])
            await first.send_offsets_to_transaction({tp: OffsetAndMetadata(1, "")}, GROUP)
            raise Abort()
    except Abort:
        pass
    await settle(first)
    kept = await committed_offset(admin, tp)
    if kept != position:
        fail(f"the group's offset of {tp} is {kept} after an aborted transaction sent 1, want {position}")
    await member.stop()

    seen = await read_all(args, OUT, "read_committed", deadline)
    want = sorted(f"out-{v}" for v in inputs)
    if seen != want:
        fail(f"read_committed read {seen} from `out`, want {want}")
    step.log("an aborted transaction's offsets and records stayed invisible")
    return position


async def fencing(args, step, first, deadline):
    second = await producer(args, "aio-tx")
    fenced = None
    try:
        async with first.transaction():
            await send(first, TXN, ["zombie"])
    except ProducerFenced as e:
        fenced = e
    except KafkaError as e:
        fail(f"the fenced producer failed with {type(e).__name__}: {e}, want ProducerFenced")
    if fenced is None:
        fail("the first producer committed after a second one with its transactional_id started")
    if not first._txn_manager.is_fatal_error():  # noqa: SLF001 - aiokafka's only way to ask
        fail(f"the fenced producer's error {fenced!r} is not fatal")
    async with second.transaction():
        await send(second, TXN, ["successor"])
    seen = await read_all(args, TXN, "read_committed", deadline)
    if "zombie" in seen or "successor" not in seen:
        fail(f"after fencing, read_committed read {seen}")
    step.log(f"the first producer was fenced: {fenced!r}")
    await second.stop()
    return type(fenced).__name__


async def scenario(args):
    deadline = time.monotonic() + 100
    step = Step("aiokafka txn")
    admin = AIOKafkaAdminClient(bootstrap_servers=args.bootstrap, request_timeout_ms=15_000)
    await admin.start()
    await admin.create_topics([NewTopic(t, num_partitions=PARTITIONS, replication_factor=1) for t in (TXN, IN, OUT)])

    first = await producer(args, "aio-tx")
    committed, aborted = await commit_and_abort(args, step, first, deadline)
    offset = await consume_transform_produce(args, step, first, admin, deadline)
    fenced = await fencing(args, step, first, deadline)
    try:
        await first.stop()
    except KafkaError:
        pass  # a fenced producer may say so again on the way out
    await admin.close()
    print(f"PASS committed={committed} aborted={aborted} group_offset={offset} fenced={fenced}", flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bootstrap", required=True)
    asyncio.run(scenario(ap.parse_args()))


if __name__ == "__main__":
    run(main)
