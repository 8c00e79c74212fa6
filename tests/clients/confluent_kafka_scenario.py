"""confluent-kafka (librdkafka 2.x) against spool: create a topic, produce keyed records
with headers, read every partition back from the beginning and check them byte for byte.

Covers: ApiVersions, Metadata, CreateTopics, Produce (acks=all, the chosen codec),
ListOffsets (OFFSET_BEGINNING and the watermarks), Fetch, DescribeCluster,
DescribeConfigs, DeleteTopics. Then, on a second topic: Produce with acks=0 (the broker
must not answer), an idempotent producer (InitProducerId, producer id and sequence
numbers in the batches), Fetch past the log end (OFFSET_OUT_OF_RANGE), Fetch long
polling (a consumer waiting at the end of the log gets a new record well before its
fetch.wait.max.ms), and four producers on four connections appending to one partition
at once (every record once, each producer's in its order, offsets 0..n-1 without gaps).

librdkafka's consumer requires a group.id even when it only uses assign(); no group is
joined and nothing is committed (enable.auto.commit=false, explicit start offsets), since
spool has no group coordinator before chapter 5.

With --consume-only it only reads the topic back and checks it: run.sh uses that to check
the bytes kafkajs wrote (kafkajs cannot consume without a group), and, after
--produce-only and a broker restart, that a clean shutdown kept every record.
"""

import time

from confluent_kafka import (
    OFFSET_BEGINNING,
    TIMESTAMP_CREATE_TIME,
    Consumer,
    KafkaError,
    KafkaException,
    Producer,
    TopicPartition,
)
from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic

import scenario_common as sc

# How many records the producer may have in flight before the loop waits for reports.
PRODUCE_POLL_EVERY = 1000


def main():
    args = sc.parse_args(__doc__)
    step = sc.Step("confluent-kafka")
    deadline = time.monotonic() + args.deadline_s
    errors = []  # client-level errors (error_cb): printed, fatal ones fail the run
    base = {
        "bootstrap.servers": args.bootstrap,
        "error_cb": lambda err: errors.append(err),
        "socket.timeout.ms": 10_000,
    }

    def remaining():
        left = deadline - time.monotonic()
        if left <= 0:
            sc.fail(f"deadline of {args.deadline_s}s passed; client errors seen: {errors}")
        return left

    admin = AdminClient(dict(base))
    if not args.consume_only:
        create_topic(admin, args, step, remaining)
        produce(base, args, step, remaining, errors)
    if args.produce_only:
        step.log("PASS (produce only)")
        return
    consumed, highs = consume(base, args, step, remaining, errors)
    sc.check(consumed, args.records, args.partitions)
    sc.check_end_offsets(highs, args.records, args.partitions, "ListOffsets (watermarks)")
    step.log(f"checked {args.records} records: all present once, in order, bytes identical")
    if not (args.consume_only or args.produce_only):
        protocol_extras(admin, base, args, step, remaining)
        check_concurrent_producers(admin, base, args, step, remaining)
        admin_extras(admin, args, step, remaining)
    fatal = [e for e in errors if e.fatal()]
    if fatal:
        sc.fail(f"fatal client errors: {fatal}")
    if errors:
        step.log(f"non-fatal client errors (logged, not failures): {errors[:5]}")
    step.log("PASS")


def create_topic(admin, args, step, remaining):
    futures = admin.create_topics(
        [NewTopic(args.topic, num_partitions=args.partitions, replication_factor=1)],
        operation_timeout=10,
    )
    try:
        futures[args.topic].result(timeout=remaining())
    except KafkaException as e:
        sc.fail(f"CreateTopics {args.topic}: {e}")
    # The topic must show up in Metadata with a leader for every partition.
    while True:
        md = admin.list_topics(topic=args.topic, timeout=min(10, remaining()))
        topic = md.topics.get(args.topic)
        if topic is not None and topic.error is None and len(topic.partitions) == args.partitions:
            leaders = {p.leader for p in topic.partitions.values()}
            if all(leader >= 0 for leader in leaders):
                break
        step.log(f"waiting for metadata of {args.topic}: {topic and topic.error}")
        time.sleep(0.2)
    step.log(f"created {args.topic} with {args.partitions} partitions, leaders {sorted(leaders)}")


def produce(base, args, step, remaining, errors):
    delivered = {}
    failed = []

    def on_delivery(err, msg):
        i = int(msg.key().decode().removeprefix("key-"))
        if err is not None:
            failed.append((i, err))
        elif i in delivered:
            failed.append((i, f"acknowledged twice: {delivered[i]} and {(msg.partition(), msg.offset())}"))
        else:
            delivered[i] = (msg.partition(), msg.offset())

    producer = Producer(
        {**base, "compression.type": args.compression, "acks": "all", "linger.ms": 5}
    )
    base_ms = sc.timestamp_base_ms()
    for i in range(args.records):
        while True:
            try:
                producer.produce(
                    args.topic,
                    **sc.send_kwargs(i, args.partitions, base_ms, timestamp_name="timestamp"),
                    on_delivery=on_delivery,
                )
                break
            except BufferError:  # local queue full: serve delivery reports, retry
                producer.poll(0.1)
                remaining()
        if i % PRODUCE_POLL_EVERY == 0:
            producer.poll(0)
    left = producer.flush(timeout=remaining())
    if left:
        sc.fail(f"flush timed out with {left} records undelivered; client errors: {errors[:5]}")
    if failed:
        sc.fail(f"{len(failed)} records failed delivery, first: {failed[:5]}")
    sc.check_delivered(delivered, args.records, args.partitions)
    step.log(f"produced {args.records} records ({args.compression}), all acknowledged at the expected offsets")
    sc.check_codec_on_disk(args.topic, args.compression, step)


def consume(base, args, step, remaining, errors):
    consumer = Consumer(
        {
            **base,
            # Required by librdkafka; never joined (assign, not subscribe) nor committed to.
            "group.id": "spool-clients-unused",
            "enable.auto.commit": False,
            "enable.auto.offset.store": False,
            "auto.offset.reset": "error",
            "enable.partition.eof": True,
        }
    )
    partitions = [TopicPartition(args.topic, p, OFFSET_BEGINNING) for p in range(args.partitions)]
    consumer.assign(partitions)
    consumed = {}
    count = 0
    at_eof = set()
    while count < args.records or len(at_eof) < args.partitions:
        if len(at_eof) == args.partitions:
            break  # every partition at its end, records missing: check() says which
        remaining()
        msg = consumer.poll(1.0)
        if msg is None:
            continue
        if msg.error():
            if msg.error().code() == KafkaError._PARTITION_EOF:
                at_eof.add(msg.partition())
                continue
            sc.fail(f"consume error on partition {msg.partition()}: {msg.error()}")
        at_eof.discard(msg.partition())
        ts_type, ts = msg.timestamp()
        consumed.setdefault(msg.partition(), []).append(
            (msg.offset(), msg.key(), msg.value(), msg.headers(), ts if ts_type == TIMESTAMP_CREATE_TIME else f"{ts} of type {ts_type}")
        )
        count += 1
    step.log(f"consumed {count} records from {len(consumed)} partitions, every partition at its end")
    # ListOffsets: the high watermark of every partition is its record count.
    highs = {}
    for p in range(args.partitions):
        low, high = consumer.get_watermark_offsets(TopicPartition(args.topic, p), timeout=min(10, remaining()))
        if low != 0:
            sc.fail(f"partition {p}: log start offset {low}, expected 0")
        highs[p] = high
    consumer.close()
    return consumed, highs


# The second topic's records per producer, and the long poll's limits.
EXTRAS_RECORDS = 100
LONG_POLL_WAIT_MS = 8000  # the consumer's fetch.wait.max.ms
LONG_POLL_WAKE_S_MAX = 2.5  # a new record must arrive this soon, far below the wait


def protocol_extras(admin, base, args, step, remaining):
    """acks=0, idempotence and long polling on a one-partition topic of their own."""
    topic = f"{args.topic}-extras"
    futures = admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)], operation_timeout=10)
    try:
        futures[topic].result(timeout=remaining())
    except KafkaException as e:
        sc.fail(f"CreateTopics {topic}: {e}")
    failed = []

    def on_delivery(err, msg):
        if err is not None:
            failed.append((msg.key(), err))

    for name, config in [
        ("acks0", {"acks": 0}),
        ("idempotent", {"enable.idempotence": True}),
    ]:
        producer = Producer({**base, "compression.type": args.compression, "linger.ms": 5, **config})
        for j in range(EXTRAS_RECORDS):
            producer.produce(topic, key=f"{name}-{j}".encode(), value=b"v" * j, partition=0, on_delivery=on_delivery)
        if producer.flush(timeout=remaining()):
            sc.fail(f"{name} producer: flush timed out")
        if failed:
            sc.fail(f"{name} producer: {len(failed)} records failed delivery, first: {failed[:3]}")
    step.log(f"{topic}: produced {EXTRAS_RECORDS} records with acks=0 and {EXTRAS_RECORDS} idempotently")

    consumer = Consumer(
        {
            **base,
            "group.id": "spool-clients-unused",
            "enable.auto.commit": False,
            "fetch.wait.max.ms": LONG_POLL_WAIT_MS,
        }
    )
    consumer.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
    keys = []
    while len(keys) < 2 * EXTRAS_RECORDS:
        remaining()
        msg = consumer.poll(1.0)
        if msg is None:
            continue
        if msg.error():
            sc.fail(f"consume {topic}: {msg.error()}")
        keys.append(msg.key().decode())
    for name in ("acks0", "idempotent"):
        got = [k for k in keys if k.startswith(f"{name}-")]
        want = [f"{name}-{j}" for j in range(EXTRAS_RECORDS)]
        if got != want:
            sc.fail(f"{topic}: the {name} producer's records read back as {len(got)} records, first {got[:5]}; expected {len(want)} in order")
    step.log(f"{topic}: read back both producers' records, each exactly once and in order")
    check_out_of_range(base, topic, step, remaining)

    # The consumer is at the end now, its fetches parked in the broker for up to
    # LONG_POLL_WAIT_MS. Let it settle into one, then produce a record: the parked fetch
    # must complete as soon as the record is appended.
    settle_until = time.monotonic() + 1.5
    while time.monotonic() < settle_until:
        msg = consumer.poll(0.2)
        if msg is not None and not msg.error():
            sc.fail(f"consume {topic}: unexpected record {msg.key()!r} at offset {msg.offset()}")
    producer = Producer({**base, "acks": "all", "linger.ms": 0})
    produced_at = time.monotonic()
    producer.produce(topic, key=b"wake-up", value=b"now", partition=0)
    if producer.flush(timeout=remaining()):
        sc.fail("long poll: flush of the wake-up record timed out")
    while True:
        remaining()
        msg = consumer.poll(0.05)
        if msg is not None and not msg.error():
            waited_s = time.monotonic() - produced_at
            break
        if time.monotonic() - produced_at > LONG_POLL_WAIT_MS / 1000 * 2:
            sc.fail(f"long poll: the wake-up record never arrived ({LONG_POLL_WAIT_MS * 2} ms)")
    consumer.close()
    if msg.key() != b"wake-up":
        sc.fail(f"long poll: read {msg.key()!r}, expected b'wake-up'")
    if waited_s > LONG_POLL_WAKE_S_MAX:
        sc.fail(
            f"long poll: the record arrived {waited_s:.2f}s after it was produced, expected under "
            f"{LONG_POLL_WAKE_S_MAX}s: a Fetch parked for fetch.wait.max.ms={LONG_POLL_WAIT_MS} was not woken "
            "by the append"
        )
    step.log(f"long poll: a parked Fetch returned the new record {waited_s * 1000:.0f} ms after it was produced")


CONCURRENT_PRODUCERS = 4
CONCURRENT_RECORDS_EACH = 2500


def check_concurrent_producers(admin, base, args, step, remaining):
    """Four producers, each its own connection, append to one partition at the same time:
    the broker must serialize their batches so that the acknowledged offsets are exactly
    0..n-1, each producer's ascending in its send order, and the log holds what was
    acknowledged at each offset."""
    topic = f"{args.topic}-concurrent"
    futures = admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)], operation_timeout=10)
    try:
        futures[topic].result(timeout=remaining())
    except KafkaException as e:
        sc.fail(f"CreateTopics {topic}: {e}")
    acked = {}  # key -> offset
    failed = []

    def on_delivery(err, msg):
        if err is not None:
            failed.append((msg.key(), err))
        else:
            acked[msg.key()] = msg.offset()

    producers = [
        Producer({**base, "compression.type": args.compression, "acks": "all", "linger.ms": 2, "batch.num.messages": 50})
        for _ in range(CONCURRENT_PRODUCERS)
    ]
    for j in range(CONCURRENT_RECORDS_EACH):
        for k, producer in enumerate(producers):
            producer.produce(topic, key=f"p{k}-{j}".encode(), value=f"{k}:{j}".encode(), partition=0, on_delivery=on_delivery)
            producer.poll(0)
    for producer in producers:
        if producer.flush(timeout=remaining()):
            sc.fail(f"{topic}: a concurrent producer's flush timed out")
    total = CONCURRENT_PRODUCERS * CONCURRENT_RECORDS_EACH
    if failed:
        sc.fail(f"{topic}: {len(failed)} records failed delivery, first: {failed[:3]}")
    if sorted(acked.values()) != list(range(total)):
        sc.fail(f"{topic}: acknowledged offsets are not exactly 0..{total - 1} ({len(set(acked.values()))} distinct)")
    for k in range(CONCURRENT_PRODUCERS):
        offsets = [acked[f"p{k}-{j}".encode()] for j in range(CONCURRENT_RECORDS_EACH)]
        if offsets != sorted(offsets):
            sc.fail(f"{topic}: producer {k}'s records were acknowledged out of its send order")
    consumer = Consumer({**base, "group.id": "spool-clients-unused", "enable.auto.commit": False})
    consumer.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
    read = 0
    while read < total:
        remaining()
        msg = consumer.poll(1.0)
        if msg is None:
            continue
        if msg.error():
            sc.fail(f"consume {topic}: {msg.error()}")
        if acked.get(msg.key()) != msg.offset():
            sc.fail(f"{topic}: offset {msg.offset()} holds {msg.key()!r}, acknowledged at {acked.get(msg.key())}")
        read += 1
    consumer.close()
    step.log(f"{topic}: {CONCURRENT_PRODUCERS} producers at once, {total} records at offsets 0..{total - 1}, each where it was acknowledged")


def check_out_of_range(base, topic, step, remaining):
    """A Fetch past the log end gets OFFSET_OUT_OF_RANGE: with auto.offset.reset=error the
    consumer reports it, with earliest it starts again at offset 0."""
    far = 2 * EXTRAS_RECORDS + 1_000_000
    for reset, want in [("error", "an out-of-range error"), ("earliest", "offset 0 after the reset")]:
        consumer = Consumer({**base, "group.id": "spool-clients-unused", "enable.auto.commit": False, "auto.offset.reset": reset})
        consumer.assign([TopicPartition(topic, 0, far)])
        seen = None
        while seen is None:
            remaining()
            msg = consumer.poll(1.0)
            if msg is not None:
                seen = msg
        consumer.close()
        if reset == "error":
            ok = seen.error() is not None and seen.error().code() == KafkaError._AUTO_OFFSET_RESET
            got = seen.error() if seen.error() else f"a record at offset {seen.offset()}"
        else:
            ok = seen.error() is None and seen.offset() == 0
            got = seen.error() if seen.error() else f"a record at offset {seen.offset()}"
        if not ok:
            sc.fail(f"Fetch at offset {far} of {topic} (log end {2 * EXTRAS_RECORDS}), auto.offset.reset={reset}: got {got}, expected {want}")
    step.log(f"{topic}: a Fetch past the log end is out of range (reset=error reports it, reset=earliest restarts at 0)")


def admin_extras(admin, args, step, remaining):
    """The other admin APIs chapter 2 serves, after the main check so that a failure here
    never hides the produce/consume result above."""
    try:
        cluster = admin.describe_cluster(request_timeout=10).result(timeout=remaining())
        step.log(f"DescribeCluster: cluster id {cluster.cluster_id}, {len(cluster.nodes)} node(s), controller {cluster.controller}")
    except KafkaException as e:
        sc.fail(f"DescribeCluster: {e}")
    resource = ConfigResource(ConfigResource.Type.TOPIC, args.topic)
    try:
        configs = admin.describe_configs([resource])[resource].result(timeout=remaining())
    except KafkaException as e:
        sc.fail(f"DescribeConfigs topic {args.topic}: {e}")
    step.log(f"DescribeConfigs: {len(configs)} topic configs, e.g. {sorted(configs)[:3]}")
    try:
        admin.delete_topics([args.topic], operation_timeout=10)[args.topic].result(timeout=remaining())
    except KafkaException as e:
        sc.fail(f"DeleteTopics {args.topic}: {e}")
    while args.topic in admin.list_topics(timeout=min(10, remaining())).topics:
        time.sleep(0.2)
    step.log(f"deleted {args.topic}; Metadata no longer lists it")


if __name__ == "__main__":
    sc.run(main)
