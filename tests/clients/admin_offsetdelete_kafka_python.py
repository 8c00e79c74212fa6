"""kafka-python's KafkaAdminClient against spool's OffsetDelete (KIP-496) and
DescribeLogDirs (KIP-113). Run by tests/it/admin_offsetdelete_clients.rs, which starts
the broker.

A consumer of the group reads 5 records and commits offset 5. While it is still a
member, delete_group_offsets is refused with GroupSubscribedToTopicError and the
offset stays. Once it has left, the offset is deleted (NoError); a new consumer of
the group (auto_offset_reset=earliest) starts from its reset policy: it reads all 5
records again instead of nothing. describe_log_dirs reports the topic's partition
with a size in bytes.
"""

import argparse
import sys
import time

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic
from kafka.errors import GroupSubscribedToTopicError, NoError

RECORDS = 5


def fail(why):
    print(f"FAIL: {why}", flush=True)
    sys.exit(1)


def consumer(args):
    return KafkaConsumer(
        args.topic,
        bootstrap_servers=args.bootstrap,
        group_id=args.group,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        consumer_timeout_ms=10_000,
    )


def read_all(c, expected):
    values = []
    deadline = time.time() + 30
    while len(values) < expected and time.time() < deadline:
        for records in c.poll(timeout_ms=500).values():
            values.extend(r.value for r in records)
    return values


def offsets(admin, group):
    """The group's committed offsets (partition -> OffsetAndMetadata)."""
    return admin.list_group_offsets({group: None}).get(group, {})


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--group", required=True)
    args = parser.parse_args()
    tp = TopicPartition(args.topic, 0)

    admin = KafkaAdminClient(bootstrap_servers=args.bootstrap)
    admin.create_topics([NewTopic(args.topic, 1, 1)])
    producer = KafkaProducer(bootstrap_servers=args.bootstrap)
    for i in range(RECORDS):
        producer.send(args.topic, f"v{i}".encode(), partition=0)
    producer.flush()
    producer.close()

    first = consumer(args)
    if len(read_all(first, RECORDS)) != RECORDS:
        fail("the first consumer did not read every record")
    first.commit()
    committed = offsets(admin, args.group)
    if committed.get(tp) is None or committed[tp].offset != RECORDS:
        fail(f"commit not stored: {committed}")

    # A live member subscribed to the topic: refused, the offset stays.
    refused = admin.delete_group_offsets(args.group, [tp])
    if refused.get(tp) is not GroupSubscribedToTopicError:
        fail(f"delete under a live subscriber: {refused}")
    if offsets(admin, args.group)[tp].offset != RECORDS:
        fail("the refused delete changed the offset")
    print("live member: GROUP_SUBSCRIBED_TO_TOPIC, offset kept", flush=True)
    first.close()

    deleted = admin.delete_group_offsets(args.group, [tp])
    if deleted.get(tp) is not NoError:
        fail(f"delete of an empty group's offset: {deleted}")
    if tp in offsets(admin, args.group):
        fail("the offset is still listed")
    print("empty group: offset deleted", flush=True)

    again = consumer(args)
    values = read_all(again, RECORDS)
    again.close()
    if len(values) != RECORDS:
        fail(f"the restarted consumer read {len(values)} records, not all {RECORDS} from the reset point")
    print(f"restarted consumer read {len(values)} records from auto.offset.reset=earliest", flush=True)

    dirs = admin.describe_log_dirs()
    sizes = [
        p["partition_size"]
        for broker in dirs
        for d in broker["log_dirs"]
        for t in d["topics"]
        if t["name"] == args.topic
        for p in t["partitions"]
    ]
    if len(sizes) != 1 or sizes[0] <= 0:
        fail(f"describe_log_dirs: {dirs}")
    print(f"describe_log_dirs: {args.topic}-0 is {sizes[0]} bytes", flush=True)
    admin.close()
    print("OK", flush=True)


if __name__ == "__main__":
    main()
