"""kafka-python's KafkaAdminClient against spool's DescribeTopicPartitions
(API 75, KIP-966) and DescribeProducers (KIP-664). Run by
tests/it/describetp_clients.rs, which starts the broker.

Two topics of 5 and 2 partitions are described with a page limit of 2: the
script follows next_cursor page by page and must see all 7 partitions once
each, every page within the limit, each with a leader among its replicas. An
unknown topic answers UNKNOWN_TOPIC_OR_PARTITION (3). After an idempotent
producer writes 3 records to partition 0, describe_producers lists one
producer there whose last sequence is 2.
"""

import argparse
import sys

from kafka import KafkaAdminClient, KafkaProducer, TopicPartition
from kafka.admin import NewTopic

LIMIT = 2


def fail(why):
    print(f"FAIL: {why}", flush=True)
    sys.exit(1)


def walk(admin, topics):
    seen, cursor, pages = [], None, 0
    while True:
        page = admin.describe_topic_partitions(topics, response_partition_limit=LIMIT, cursor=cursor)
        pages += 1
        count = sum(len(t["partitions"]) for t in page["topics"])
        if count > LIMIT:
            fail(f"page {pages} holds {count} partitions, over the limit {LIMIT}")
        for topic in page["topics"]:
            if topic["error_code"] != 0:
                fail(f"{topic['name']}: error {topic['error_code']}")
            for p in topic["partitions"]:
                if p["leader_id"] not in p["replica_nodes"]:
                    fail(f"{topic['name']}-{p['partition_index']}: leader {p['leader_id']} not a replica")
                seen.append((topic["name"], p["partition_index"]))
        cursor = page["next_cursor"]
        if cursor is None:
            return seen, pages
        if pages > 20:
            fail("the cursor walk does not end")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bootstrap", required=True)
    args = parser.parse_args()
    admin = KafkaAdminClient(bootstrap_servers=args.bootstrap)
    admin.create_topics([NewTopic("dtp-a", 5, 1), NewTopic("dtp-b", 2, 1)])

    seen, pages = walk(admin, ["dtp-b", "dtp-a"])
    expected = [("dtp-a", i) for i in range(5)] + [("dtp-b", i) for i in range(2)]
    if seen != expected:
        fail(f"walked {seen}, expected {expected}")
    print(f"describe_topic_partitions: 7 partitions in {pages} pages of at most {LIMIT}", flush=True)

    unknown = admin.describe_topic_partitions(["dtp-none"])
    codes = [t["error_code"] for t in unknown["topics"]]
    if codes != [3]:
        fail(f"unknown topic answered {codes}, expected [3]")
    print("describe_topic_partitions: unknown topic is UNKNOWN_TOPIC_OR_PARTITION", flush=True)

    producer = KafkaProducer(bootstrap_servers=args.bootstrap, enable_idempotence=True, acks="all")
    for i in range(3):
        producer.send("dtp-a", key=b"k", value=f"v{i}".encode(), partition=0).get(timeout=30)
    producer.close()
    tp = TopicPartition("dtp-a", 0)
    states = admin.describe_producers([tp])
    active = states[tp].active_producers
    if len(active) != 1 or active[0].last_sequence != 2:
        fail(f"describe_producers answered {active}")
    print(f"describe_producers: producer {active[0].producer_id}, last sequence 2", flush=True)
    admin.close()
    print("OK", flush=True)


if __name__ == "__main__":
    main()
