"""aiokafka (asyncio) against spool: create a topic, produce keyed records with headers,
read every partition back from the beginning and check them byte for byte.

Covers: ApiVersions v0 (aiokafka probes the broker's version with the oldest request
version, a path the other clients do not take), Metadata, CreateTopics, Produce
(acks=1, aiokafka's default, where the other clients use all; the chosen codec,
compressed with cramjam), ListOffsets (seek_to_beginning, end_offsets), Fetch.

The consumer has group_id=None and uses assign() + seek_to_beginning(): no group, no
commits, since spool has no group coordinator before chapter 5.
"""

import asyncio

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError

import scenario_common as sc


async def main():
    args = sc.parse_args(__doc__)
    step = sc.Step("aiokafka")
    try:
        await asyncio.wait_for(run(args, step), timeout=args.deadline_s)
    except asyncio.TimeoutError:
        sc.fail(f"deadline of {args.deadline_s}s passed")
    except KafkaError as e:
        sc.fail(f"{type(e).__name__}: {e}")
    step.log("PASS")


async def run(args, step):
    if not args.consume_only:
        await create_topic(args, step)
        await produce(args, step)
    consumed, end_offsets = await consume(args, step)
    sc.check(consumed, args.records, args.partitions)
    sc.check_end_offsets(end_offsets, args.records, args.partitions, "ListOffsets (end_offsets)")
    step.log(f"checked {args.records} records: all present once, in order, bytes identical")


async def create_topic(args, step):
    admin = AIOKafkaAdminClient(bootstrap_servers=args.bootstrap, request_timeout_ms=10_000)
    await admin.start()
    try:
        response = await admin.create_topics(
            [NewTopic(args.topic, num_partitions=args.partitions, replication_factor=1)],
            timeout_ms=10_000,
        )
        # aiokafka returns the raw response: look at each topic's error code ourselves.
        for topic_error in response.topic_errors:
            if topic_error[1] != 0:
                sc.fail(f"CreateTopics {args.topic}: error {topic_error[1:]}")
        while True:
            topics = {t["topic"]: t for t in await admin.describe_topics([args.topic])}
            topic = topics.get(args.topic)
            if topic is not None and topic["error_code"] == 0 and len(topic["partitions"]) == args.partitions:
                break
            step.log(f"waiting for metadata of {args.topic}: {topic}")
            await asyncio.sleep(0.2)
    finally:
        await admin.close()
    step.log(f"created {args.topic} with {args.partitions} partitions")


async def produce(args, step):
    producer = AIOKafkaProducer(
        bootstrap_servers=args.bootstrap,
        compression_type=None if args.compression == "none" else args.compression,
        acks=1,
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
        await producer.flush()
        delivered = {}
        for i, result in enumerate(await asyncio.gather(*futures, return_exceptions=True)):
            if isinstance(result, BaseException):
                sc.fail(f"record {i} failed delivery: {type(result).__name__}: {result}")
            delivered[i] = (result.partition, result.offset)
    finally:
        await producer.stop()
    sc.check_delivered(delivered, args.records, args.partitions)
    step.log(f"produced {args.records} records ({args.compression}), all acknowledged at the expected offsets")
    sc.check_codec_on_disk(args.topic, args.compression, step)


async def consume(args, step):
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
        end_offsets = await consumer.end_offsets(partitions)
        consumed = {}
        count = 0

        while count < args.records:
            positions = [await consumer.position(tp) for tp in partitions]
            if all(position >= end_offsets[tp] for tp, position in zip(partitions, positions)):
                break  # every partition read to its end, records missing: check() says which
            count += sc.take_batches(await consumer.getmany(timeout_ms=1000), consumed)
        # Anything after the last record would be a duplicate or a stray: one more poll.
        count += sc.take_batches(await consumer.getmany(timeout_ms=500), consumed)
    finally:
        await consumer.stop()
    step.log(f"consumed {count} records from {len(consumed)} partitions")
    return consumed, {tp.partition: offset for tp, offset in end_offsets.items()}


if __name__ == "__main__":
    sc.run(lambda: asyncio.run(main()))
