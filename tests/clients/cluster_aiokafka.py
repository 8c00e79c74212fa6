"""aiokafka (asyncio) against a spool cluster (chapter 6): bootstrapped from one broker, it
creates a topic of replication factor 3 with AIOKafkaAdminClient, produces to every
partition with an idempotent acks=all producer, and reads everything back with assign()
and seek_to_beginning() (no group).

Checks: the cluster's brokers (describe_cluster) and each partition's replicas, ISR and
leader (describe_topics); every record acknowledged once at its expected offset, and read
back once, in order per partition, byte for byte.
"""

import asyncio
import time

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError

import cluster_common as cc
import scenario_common as sc


async def main():
    args = cc.parse_args(__doc__)
    step = sc.Step("aiokafka")
    deadline = cc.Deadline(args.deadline_s)
    try:
        admin = AIOKafkaAdminClient(bootstrap_servers=args.bootstrap, request_timeout_ms=10_000)
        await admin.start()
        try:
            await create_topic(admin, args, step)
            await describe(admin, args, step, deadline)
        finally:
            await admin.close()
        await produce(args, step, deadline)
        sc.check(await consume(args, step, deadline), args.records, args.partitions)
    except KafkaError as e:
        sc.fail(f"{type(e).__name__}: {e}")
    step.log(f"checked {args.records} records: each once, in order per partition, bytes identical; PASS")


async def create_topic(admin, args, step):
    topic = NewTopic(args.topic, num_partitions=args.partitions, replication_factor=args.replication_factor)
    response = await admin.create_topics([topic], timeout_ms=10_000)
    # aiokafka returns the raw response: look at each topic's error code ourselves.
    for topic_error in response.topic_errors:
        if topic_error[1] != 0:
            sc.fail(f"CreateTopics {args.topic}: error {topic_error[1:]}")
    step.log(f"created {args.topic}: {args.partitions} partitions, replication factor {args.replication_factor}")


async def describe(admin, args, step, deadline):
    cluster = await admin.describe_cluster()
    cc.check_brokers("describe_cluster", [b["node_id"] for b in cluster["brokers"]], args)
    step.log(f"describe_cluster: brokers {sorted(b['node_id'] for b in cluster['brokers'])}")
    while True:
        topics = [t for t in await admin.describe_topics([args.topic]) if t["topic"] == args.topic]
        layout = {}
        if len(topics) == 1 and topics[0]["error_code"] == 0:
            layout = {p["partition"]: (p["leader"], list(p["replicas"]), list(p["isr"])) for p in topics[0]["partitions"]}
        problems = cc.layout_problems(layout, args)
        if not problems:
            step.log(f"describe_topics: leaders {[layout[p][0] for p in sorted(layout)]}, every ISR full")
            return
        if deadline.at - time.monotonic() < 1:
            sc.fail(f"describe_topics of {args.topic}: " + "; ".join(problems))
        await asyncio.sleep(0.2)


async def produce(args, step, deadline):
    producer = AIOKafkaProducer(
        bootstrap_servers=args.bootstrap,
        acks="all",
        enable_idempotence=True,
        linger_ms=5,
        request_timeout_ms=10_000,
    )
    await producer.start()
    try:
        futures = []
        base_ms = sc.timestamp_base_ms()
        for i in range(args.records):
            futures.append(
                await producer.send(args.topic, **sc.send_kwargs(i, args.partitions, base_ms))
            )
        await asyncio.wait_for(producer.flush(), deadline.remaining())
        delivered = {}
        for i, result in enumerate(await asyncio.gather(*futures, return_exceptions=True)):
            if isinstance(result, BaseException):
                sc.fail(f"record {i} failed delivery: {type(result).__name__}: {result}")
            delivered[i] = (result.partition, result.offset)
    finally:
        await producer.stop()
    sc.check_delivered(delivered, args.records, args.partitions)
    step.log(f"produced {args.records} records idempotently with acks=all, each acknowledged at its expected offset")


async def consume(args, step, deadline):
    consumer = AIOKafkaConsumer(
        bootstrap_servers=args.bootstrap,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="none",
        request_timeout_ms=30_000,
    )
    await consumer.start()
    try:
        partitions = [TopicPartition(args.topic, p) for p in range(args.partitions)]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        consumed, count = {}, 0
        # Read until every record is in, then one more poll: a duplicate would show there.
        while count < args.records:
            deadline.remaining()
            count += sc.take_batches(await consumer.getmany(timeout_ms=1000), consumed)
        count += sc.take_batches(await consumer.getmany(timeout_ms=500), consumed)
    finally:
        await consumer.stop()
    step.log(f"consumed {count} records from {len(consumed)} partitions with assign() + seek_to_beginning()")
    return consumed


if __name__ == "__main__":
    sc.run(lambda: asyncio.run(main()))
