"""Issue 17's DeleteRecords with a real admin client: confluent-kafka's
AdminClient.delete_records (librdkafka) or kafka-python's KafkaAdminClient.delete_records.

The test (tests/it/admin_deleterecords_clients.rs) has produced 10 records to TOPIC-0 and
created __consumer_offsets. This script, with --client confluent-kafka | kafka-python:

    delete before 4          low watermark 4; the consumer's earliest is 4
    delete before 99         OFFSET_OUT_OF_RANGE (beyond the high watermark); earliest still 4
    __consumer_offsets-0     INVALID_TOPIC_EXCEPTION (an internal topic)
    delete before -1         low watermark 10 (the high watermark); earliest is 10

Exits non-zero with one `FAIL:` line naming what differs; prints `PASS ...` otherwise.
"""

import argparse
import sys


def fail(why):
    print(f"FAIL: {why}")
    sys.exit(1)


class Confluent:
    def __init__(self, bootstrap):
        from confluent_kafka import Consumer
        from confluent_kafka.admin import AdminClient

        self.admin = AdminClient({"bootstrap.servers": bootstrap})
        self.consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "dr-probe"})

    def delete(self, topic, offset):
        """(low watermark, None) or (None, the error's name)."""
        from confluent_kafka import KafkaException, TopicPartition

        futures = self.admin.delete_records([TopicPartition(topic, 0, offset)], operation_timeout=10)
        try:
            return next(iter(futures.values())).result().low_watermark, None
        except KafkaException as e:
            return None, e.args[0].name()

    def earliest(self, topic):
        from confluent_kafka import TopicPartition

        low, _high = self.consumer.get_watermark_offsets(TopicPartition(topic, 0), timeout=10, cached=False)
        return low


class KafkaPython:
    def __init__(self, bootstrap):
        from kafka import KafkaAdminClient, KafkaConsumer

        self.admin = KafkaAdminClient(bootstrap_servers=bootstrap)
        self.consumer = KafkaConsumer(bootstrap_servers=bootstrap)

    def delete(self, topic, offset):
        from kafka import TopicPartition
        from kafka.errors import KafkaError

        tp = TopicPartition(topic, 0)
        try:
            result = self.admin.delete_records({tp: offset}, timeout_ms=10_000)
            return result[tp]["low_watermark"], None
        except KafkaError as e:
            return None, type(e).__name__

    def earliest(self, topic):
        from kafka import TopicPartition

        tp = TopicPartition(topic, 0)
        return self.consumer.beginning_offsets([tp])[tp]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--client", choices=["confluent-kafka", "kafka-python"], required=True)
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--topic", required=True)
    args = parser.parse_args()
    client = Confluent(args.bootstrap) if args.client == "confluent-kafka" else KafkaPython(args.bootstrap)
    # Each client names Kafka's errors its own way.
    out_of_range = {"confluent-kafka": "OFFSET_OUT_OF_RANGE", "kafka-python": "OffsetOutOfRangeError"}
    invalid_topic = {"confluent-kafka": "TOPIC_EXCEPTION", "kafka-python": "InvalidTopicError"}
    topic = args.topic

    got = client.delete(topic, 4)
    if got != (4, None):
        fail(f"delete before 4: {got}")
    if client.earliest(topic) != 4:
        fail(f"earliest after deleting before 4: {client.earliest(topic)}")
    got = client.delete(topic, 99)
    if got != (None, out_of_range[args.client]):
        fail(f"delete before 99 (beyond the high watermark): {got}")
    if client.earliest(topic) != 4:
        fail(f"earliest moved on a refused delete: {client.earliest(topic)}")
    got = client.delete("__consumer_offsets", 0)
    if got != (None, invalid_topic[args.client]):
        fail(f"delete on __consumer_offsets: {got}")
    got = client.delete(topic, -1)
    if got != (10, None):
        fail(f"delete before -1 (the high watermark): {got}")
    if client.earliest(topic) != 10:
        fail(f"earliest after deleting everything: {client.earliest(topic)}")
    print(f"PASS {args.client}: low watermarks 4 then 10, OFFSET_OUT_OF_RANGE and INVALID_TOPIC refused")


if __name__ == "__main__":
    main()
