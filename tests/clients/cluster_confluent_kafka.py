"""confluent-kafka (librdkafka) against a spool cluster (chapter 6): bootstrapped from one
broker, it creates a topic of replication factor 3 with its AdminClient, produces to every
partition with an idempotent acks=all producer, and reads everything back with assign().

Checks: DescribeCluster lists every broker; Metadata (list_topics) shows each partition
with all its replicas in the ISR and leaders on every broker; every record is acknowledged
once at the offset expected, and read back once, in order per partition, byte for byte.

With --consume-only it only reads the topic back and checks it: run after
cluster_kafkajs.js, whose client has no consumer outside a group.
"""

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

import cluster_common as cc
import scenario_common as sc


def main():
    args = cc.parse_args(__doc__)
    step = sc.Step("confluent-kafka")
    deadline = cc.Deadline(args.deadline_s)
    base = {"bootstrap.servers": args.bootstrap}
    admin = AdminClient(base)
    if not args.consume_only:
        create_topic(admin, args, step, deadline)
    describe(admin, args, step, deadline)
    if not args.consume_only:
        produce(base, args, step, deadline)
    sc.check(consume(base, args, step, deadline), args.records, args.partitions)
    step.log(f"checked {args.records} records: each once, in order per partition, bytes identical; PASS")


def create_topic(admin, args, step, deadline):
    topic = NewTopic(args.topic, num_partitions=args.partitions, replication_factor=args.replication_factor)
    try:
        admin.create_topics([topic], operation_timeout=10)[args.topic].result(timeout=deadline.remaining())
    except KafkaException as e:
        sc.fail(f"CreateTopics {args.topic}: {e}")
    step.log(f"created {args.topic}: {args.partitions} partitions, replication factor {args.replication_factor}")


def describe(admin, args, step, deadline):
    try:
        cluster = admin.describe_cluster(request_timeout=10).result(timeout=deadline.remaining())
    except KafkaException as e:
        sc.fail(f"DescribeCluster: {e}")
    cc.check_brokers("DescribeCluster", [n.id for n in cluster.nodes], args)
    # Clients send CreateTopics to the "controller": it must be a broker they can reach.
    if cluster.controller is None or cluster.controller.id not in args.brokers:
        sc.fail(f"DescribeCluster names controller {cluster.controller}, not one of the brokers {args.brokers}")
    step.log(f"DescribeCluster: cluster {cluster.cluster_id}, brokers {sorted(n.id for n in cluster.nodes)}")

    def layout():
        metadata = admin.list_topics(args.topic, timeout=min(10, deadline.remaining()))
        cc.check_brokers("Metadata", list(metadata.brokers), args)
        topic = metadata.topics[args.topic]
        if topic.error is not None:
            return {}
        return {p.id: (p.leader, list(p.replicas), list(p.isrs)) for p in topic.partitions.values()}

    cc.wait_for_layout("Metadata", layout, args, deadline, step)


def produce(base, args, step, deadline):
    producer = Producer({**base, "acks": "all", "enable.idempotence": True, "linger.ms": 5})
    delivered, failed = {}, []

    def on_delivery(i):
        def report(err, msg):
            if err is not None:
                failed.append((i, err))
            else:
                delivered[i] = (msg.partition(), msg.offset())

        return report

    base_ms = sc.timestamp_base_ms()
    for i in range(args.records):
        while True:
            try:
                producer.produce(
                    args.topic,
                    **sc.send_kwargs(i, args.partitions, base_ms, timestamp_name="timestamp"),
                    on_delivery=on_delivery(i),
                )
                break
            except BufferError:  # the local queue is full: serve delivery reports first
                producer.poll(0.1)
        producer.poll(0)
    if producer.flush(timeout=deadline.remaining()):
        sc.fail("flush timed out")
    if failed:
        sc.fail(f"{len(failed)} records failed delivery, first: {failed[:3]}")
    sc.check_delivered(delivered, args.records, args.partitions)
    step.log(f"produced {args.records} records idempotently with acks=all, each acknowledged at its expected offset")


def consume(base, args, step, deadline):
    consumer = Consumer({**base, "group.id": "spool-cluster-unused", "enable.auto.commit": False})
    consumer.assign([TopicPartition(args.topic, p, OFFSET_BEGINNING) for p in range(args.partitions)])
    consumed, count = {}, 0
    # Read until every record is in, then one more poll: a duplicate would show there.
    while count < args.records:
        deadline.remaining()
        count += take(consumer.consume(500, 1.0), consumed)
    count += take(consumer.consume(500, 0.5), consumed)
    consumer.close()
    step.log(f"consumed {count} records from {len(consumed)} partitions with assign()")
    return consumed


def take(messages, consumed):
    for msg in messages:
        if msg.error():
            sc.fail(f"consume: {msg.error()}")
        _, ts = msg.timestamp()
        consumed.setdefault(msg.partition(), []).append((msg.offset(), msg.key(), msg.value(), msg.headers(), ts))
    return len(messages)


if __name__ == "__main__":
    sc.run(main)
