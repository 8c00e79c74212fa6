"""CreatePartitions (issue 17) through real admin clients. Run by
tests/it/admin_createpartitions_clients.rs, which starts the broker.

  admin_createpartitions.py confluent    --bootstrap H:P --topic T
  admin_createpartitions.py kafka-python --bootstrap H:P --topic T
  admin_createpartitions.py group        --bootstrap H:P --topic T --group G

confluent / kafka-python: the client's own create_partitions grows a 1-partition
topic to 3 (the topic's metadata then lists 3), a validate_only request to 5
succeeds and changes nothing, and shrinking to 2 fails with INVALID_PARTITIONS.

group: a confluent-kafka consumer subscribed to a 1-partition topic (metadata
refreshed every second) reads a first record; the topic grows to 2 partitions;
the consumer notices on its own, the group rebalances, the consumer is assigned
partition 1 and reads the record produced there after the growth.
"""

import argparse
import sys
import time

DEADLINE_S = 60


def fail(message):
    print(f"FAIL: {message}", file=sys.stderr)
    sys.exit(1)


def log(message):
    print(message, file=sys.stderr, flush=True)


def confluent(args):
    from confluent_kafka import KafkaError, KafkaException
    from confluent_kafka.admin import AdminClient, NewPartitions, NewTopic

    admin = AdminClient({"bootstrap.servers": args.bootstrap})
    admin.create_topics([NewTopic(args.topic, 1, 1)])[args.topic].result(15)

    def partitions():
        return len(admin.list_topics(args.topic, timeout=10).topics[args.topic].partitions)

    admin.create_partitions([NewPartitions(args.topic, 3)])[args.topic].result(15)
    if partitions() != 3:
        fail(f"after create_partitions to 3, the topic has {partitions()}")
    admin.create_partitions([NewPartitions(args.topic, 5)], validate_only=True)[args.topic].result(15)
    if partitions() != 3:
        fail(f"validate_only changed the topic: {partitions()} partitions")
    try:
        admin.create_partitions([NewPartitions(args.topic, 2)])[args.topic].result(15)
        fail("shrinking to 2 partitions succeeded")
    except KafkaException as e:
        if e.args[0].code() != KafkaError.INVALID_PARTITIONS:
            fail(f"shrinking failed with {e.args[0]}, not INVALID_PARTITIONS")
    log("confluent-kafka: grew to 3, dry run to 5 left 3, shrink refused with INVALID_PARTITIONS")


def kafka_python(args):
    from kafka import KafkaAdminClient
    from kafka.admin import NewPartitions, NewTopic
    from kafka.errors import InvalidPartitionsError

    admin = KafkaAdminClient(bootstrap_servers=args.bootstrap, request_timeout_ms=10_000)
    admin.create_topics([NewTopic(args.topic, num_partitions=1, replication_factor=1)])

    def partitions():
        (topic,) = admin.describe_topics([args.topic])
        return len(topic["partitions"])

    admin.create_partitions({args.topic: NewPartitions(total_count=3)})
    if partitions() != 3:
        fail(f"after create_partitions to 3, the topic has {partitions()}")
    admin.create_partitions({args.topic: NewPartitions(total_count=5)}, validate_only=True)
    if partitions() != 3:
        fail(f"validate_only changed the topic: {partitions()} partitions")
    try:
        admin.create_partitions({args.topic: NewPartitions(total_count=2)})
        fail("shrinking to 2 partitions succeeded")
    except InvalidPartitionsError:
        pass
    admin.close()
    log("kafka-python: grew to 3, dry run to 5 left 3, shrink refused with InvalidPartitionsError")


def group(args):
    from confluent_kafka import Consumer, Producer
    from confluent_kafka.admin import AdminClient, NewPartitions, NewTopic

    admin = AdminClient({"bootstrap.servers": args.bootstrap})
    admin.create_topics([NewTopic(args.topic, 1, 1)])[args.topic].result(15)
    def produce(partition, value):
        # A fresh producer: one made before the growth knows one partition
        # until its next metadata refresh (topic.metadata.refresh.interval.ms).
        producer = Producer({"bootstrap.servers": args.bootstrap})
        producer.produce(args.topic, value=value.encode(), partition=partition)
        if producer.flush(15) != 0:
            fail(f"{value} not delivered")

    assigned = []
    consumer = Consumer(
        {
            "bootstrap.servers": args.bootstrap,
            "group.id": args.group,
            "auto.offset.reset": "earliest",
            "topic.metadata.refresh.interval.ms": 1000,
            "session.timeout.ms": 6000,
            "heartbeat.interval.ms": 500,
        }
    )
    consumer.subscribe([args.topic], on_assign=lambda c, ps: assigned.append(sorted(p.partition for p in ps)))

    def read_until(value):
        deadline = time.monotonic() + DEADLINE_S
        while time.monotonic() < deadline:
            m = consumer.poll(0.2)
            if m is None:
                continue
            if m.error():
                fail(f"consumer error: {m.error()}")
            log(f"read {m.value().decode()} from partition {m.partition()}")
            if m.value().decode() == value:
                return m.partition()
        fail(f"{value} not read within {DEADLINE_S}s; assignments {assigned}")

    produce(0, "before")
    read_until("before")
    admin.create_partitions([NewPartitions(args.topic, 2)])[args.topic].result(15)
    deadline = time.monotonic() + DEADLINE_S
    while not (assigned and 1 in assigned[-1]):
        if time.monotonic() > deadline:
            fail(f"the group never assigned partition 1: assignments {assigned}")
        consumer.poll(0.2)
    produce(1, "after")
    if read_until("after") != 1:
        fail("'after' came from another partition than 1")
    consumer.close()
    log(f"group: assignments {assigned}; the new partition's record was read after the rebalance")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("scenario", choices=["confluent", "kafka-python", "group"])
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--group", default="g-createpartitions")
    args = parser.parse_args()
    {"confluent": confluent, "kafka-python": kafka_python, "group": group}[args.scenario](args)
    print("OK")
