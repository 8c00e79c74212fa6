"""kafka-python (pure Python, 3.x) against spool: create a topic, produce keyed records
with headers, read every partition back from the beginning and check them byte for byte.

Covers: ApiVersions (kafka-python probes the broker's version with it), Metadata,
CreateTopics, InitProducerId and Produce (acks=all and, by kafka-python 3's default, an
idempotent producer: producer id, epoch and sequence numbers in every batch; the chosen
codec), ListOffsets (seek_to_beginning, end_offsets, and offsets_for_times: the time
index, checked exactly against the records' timestamps), Fetch with small limits
(max_partition_fetch_bytes below the 64 KiB record: the broker must still return whole
batches, KIP-74), DescribeCluster, DeleteTopics.

The consumer has group_id=None and uses assign() + seek_to_beginning(): no group, no
commits, since spool has no group coordinator before chapter 5.
"""

import time

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.errors import KafkaError

import scenario_common as sc


def main():
    args = sc.parse_args(__doc__)
    step = sc.Step("kafka-python")
    deadline = time.monotonic() + args.deadline_s

    def remaining():
        left = deadline - time.monotonic()
        if left <= 0:
            sc.fail(f"deadline of {args.deadline_s}s passed")
        return left

    admin = KafkaAdminClient(bootstrap_servers=args.bootstrap, request_timeout_ms=10_000)
    try:
        if not args.consume_only:
            create_topic(admin, args, step)
            produce(args, step, remaining)
        consumed, end_offsets = consume(args, step, remaining)
        sc.check(consumed, args.records, args.partitions)
        sc.check_end_offsets(end_offsets, args.records, args.partitions, "ListOffsets (end_offsets)")
        step.log(f"checked {args.records} records: all present once, in order, bytes identical")
        check_offsets_for_times(args, step, consumed)
        if not args.consume_only:
            admin_extras(admin, args, step, remaining)
    except KafkaError as e:
        sc.fail(f"{type(e).__name__}: {e}")
    admin.close()
    step.log("PASS")


def create_topic(admin, args, step):
    try:
        admin.create_topics(
            {args.topic: {"num_partitions": args.partitions, "replication_factor": 1}},
            timeout_ms=10_000,
            wait_for_metadata=True,
        )
    except KafkaError as e:
        sc.fail(f"CreateTopics {args.topic}: {type(e).__name__}: {e}")
    step.log(f"created {args.topic} with {args.partitions} partitions")


def produce(args, step, remaining):
    producer = KafkaProducer(
        bootstrap_servers=args.bootstrap,
        compression_type=None if args.compression == "none" else args.compression,
        acks="all",
        linger_ms=5,
        request_timeout_ms=10_000,
    )
    base_ms = sc.timestamp_base_ms()
    futures = [
        producer.send(args.topic, **sc.send_kwargs(i, args.partitions, base_ms))
        for i in range(args.records)
    ]
    producer.flush(timeout=remaining())
    delivered = {}
    for i, future in enumerate(futures):
        try:
            metadata = future.get(timeout=remaining())
        except KafkaError as e:
            sc.fail(f"record {i} failed delivery: {type(e).__name__}: {e}")
        delivered[i] = (metadata.partition, metadata.offset)
    producer.close(timeout=10)
    sc.check_delivered(delivered, args.records, args.partitions)
    step.log(f"produced {args.records} records ({args.compression}), all acknowledged at the expected offsets")
    sc.check_codec_on_disk(args.topic, args.compression, step)


def consume(args, step, remaining):
    consumer = KafkaConsumer(
        bootstrap_servers=args.bootstrap,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="none",
        request_timeout_ms=30_000,
        # Far below the 64 KiB records: each Fetch returns a few batches at most, and one
        # larger than the limit must come back whole (KIP-74), or the consumer is stuck.
        fetch_max_bytes=FETCH_BYTES_MAX,
        max_partition_fetch_bytes=FETCH_PARTITION_BYTES_MAX,
    )
    partitions = [TopicPartition(args.topic, p) for p in range(args.partitions)]
    consumer.assign(partitions)
    consumer.seek_to_beginning(*partitions)
    end_offsets = consumer.end_offsets(partitions)
    consumed = {}
    count = 0
    while count < args.records:
        if all(consumer.position(tp) >= end_offsets[tp] for tp in partitions):
            break  # every partition read to its end, records missing: check() says which
        remaining()
        count += sc.take_batches(consumer.poll(timeout_ms=1000), consumed)
    # Anything after the last record would be a duplicate or a stray: one more poll.
    count += sc.take_batches(consumer.poll(timeout_ms=500), consumed)
    consumer.close()
    step.log(f"consumed {count} records from {len(consumed)} partitions")
    return consumed, {tp.partition: offset for tp, offset in end_offsets.items()}


FETCH_BYTES_MAX = 16 * 1024
FETCH_PARTITION_BYTES_MAX = 4 * 1024


def check_offsets_for_times(args, step, consumed):
    """ListOffsets by timestamp: record i has timestamp base + i, so in partition p the
    earliest offset at or after base + t is that of the first record i >= t with
    i % P == p, and past the last record there is none."""
    base_ms = consumed[0][0][4]
    consumer = KafkaConsumer(bootstrap_servers=args.bootstrap, group_id=None, enable_auto_commit=False)
    targets = sorted({0, 1, args.records // 3, args.records // 2 + 1, args.records - 1, args.records + 10})
    problems = []
    for t in targets:
        tps = {TopicPartition(args.topic, p): base_ms + t for p in range(args.partitions)}
        found = consumer.offsets_for_times(tps, timeout_ms=10_000)
        for tp, got in found.items():
            p = tp.partition
            first = next((i for i in range(max(t, 0), args.records) if i % args.partitions == p), None)
            want = None if first is None else (first // args.partitions, base_ms + first)
            got_pair = None if got is None else (got.offset, got.timestamp)
            if got_pair != want:
                problems.append(f"partition {p}, timestamp base+{t}: (offset, timestamp) {got_pair}, expected {want}")
    consumer.close()
    if problems:
        sc.fail("ListOffsets by timestamp (offsets_for_times):\n  " + "\n  ".join(problems[: sc.MISMATCHES_SHOWN_MAX]))
    step.log(f"offsets_for_times: {len(targets)} timestamps x {args.partitions} partitions, each the expected offset")


def admin_extras(admin, args, step, remaining):
    """The other admin APIs chapter 2 serves, after the main check so that a failure here
    never hides the produce/consume result above."""
    cluster = admin.describe_cluster()
    step.log(f"DescribeCluster: {cluster}")
    admin.delete_topics([args.topic], timeout_ms=10_000)
    while args.topic in admin.list_topics():
        remaining()
        time.sleep(0.2)
    step.log(f"deleted {args.topic}; Metadata no longer lists it")


if __name__ == "__main__":
    sc.run(main)
