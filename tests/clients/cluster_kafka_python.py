"""kafka-python (pure Python) against a spool cluster (chapter 6): bootstrapped from one
broker, it creates a topic of replication factor 3 with KafkaAdminClient, produces to every
partition with an idempotent acks=all producer, and reads everything back with assign()
and seek_to_beginning() (no group).

Checks: the cluster's brokers (describe_cluster) and each partition's replicas, ISR and
leader (describe_topics); every record acknowledged once at its expected offset, and read
back once, in order per partition, byte for byte. kafka-python encodes every request and
record batch itself, so this is a second, independent encoder against the cluster.
"""


from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.errors import KafkaError

import cluster_common as cc
import scenario_common as sc


def main():
    args = cc.parse_args(__doc__)
    step = sc.Step("kafka-python")
    deadline = cc.Deadline(args.deadline_s)
    admin = KafkaAdminClient(bootstrap_servers=args.bootstrap, request_timeout_ms=10_000)
    try:
        create_topic(admin, args, step)
        describe(admin, args, step, deadline)
        produce(args, step, deadline)
        sc.check(consume(args, step, deadline), args.records, args.partitions)
    except KafkaError as e:
        sc.fail(f"{type(e).__name__}: {e}")
    admin.close()
    step.log(f"checked {args.records} records: each once, in order per partition, bytes identical; PASS")


def create_topic(admin, args, step):
    admin.create_topics(
        {args.topic: {"num_partitions": args.partitions, "replication_factor": args.replication_factor}},
        timeout_ms=10_000,
    )
    step.log(f"created {args.topic}: {args.partitions} partitions, replication factor {args.replication_factor}")


def describe(admin, args, step, deadline):
    cluster = admin.describe_cluster()
    cc.check_brokers("describe_cluster", [b["broker_id"] for b in cluster["brokers"]], args)
    step.log(f"describe_cluster: brokers {sorted(b['broker_id'] for b in cluster['brokers'])}")

    def layout():
        topics = [t for t in admin.describe_topics([args.topic]) if t["name"] == args.topic]
        if len(topics) != 1 or topics[0]["error_code"] != 0:
            return {}
        return {
            p["partition_index"]: (p["leader_id"], list(p["replica_nodes"]), list(p["isr_nodes"]))
            for p in topics[0]["partitions"]
        }

    cc.wait_for_layout("describe_topics", layout, args, deadline, step)


def produce(args, step, deadline):
    producer = KafkaProducer(
        bootstrap_servers=args.bootstrap,
        acks="all",
        enable_idempotence=True,
        linger_ms=5,
        request_timeout_ms=10_000,
    )
    base_ms = sc.timestamp_base_ms()
    futures = [
        producer.send(args.topic, **sc.send_kwargs(i, args.partitions, base_ms))
        for i in range(args.records)
    ]
    producer.flush(timeout=deadline.remaining())
    delivered = {}
    for i, future in enumerate(futures):
        try:
            metadata = future.get(timeout=deadline.remaining())
        except KafkaError as e:
            sc.fail(f"record {i} failed delivery: {type(e).__name__}: {e}")
        delivered[i] = (metadata.partition, metadata.offset)
    producer.close(timeout=10)
    sc.check_delivered(delivered, args.records, args.partitions)
    step.log(f"produced {args.records} records idempotently with acks=all, each acknowledged at its expected offset")


def consume(args, step, deadline):
    consumer = KafkaConsumer(
        bootstrap_servers=args.bootstrap,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="none",
        request_timeout_ms=30_000,
    )
    partitions = [TopicPartition(args.topic, p) for p in range(args.partitions)]
    consumer.assign(partitions)
    consumer.seek_to_beginning(*partitions)
    consumed, count = {}, 0
    # Read until every record is in, then one more poll: a duplicate would show there.
    while count < args.records:
        deadline.remaining()
        count += sc.take_batches(consumer.poll(timeout_ms=1000), consumed)
    count += sc.take_batches(consumer.poll(timeout_ms=500), consumed)
    consumer.close()
    step.log(f"consumed {count} records from {len(consumed)} partitions with assign() + seek_to_beginning()")
    return consumed


if __name__ == "__main__":
    sc.run(main)
