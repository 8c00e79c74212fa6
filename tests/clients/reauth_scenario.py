"""One Python client kept busy across several SASL session lifetimes
(chapter 11, KIP-368). Run by tests/it/reauth_clients.rs, which starts the
broker with a short connections.max.reauth.ms and creates TOPIC.

  reauth_scenario.py CLIENT --bootstrap H:P --user U --password P
      [--topic T] [--seconds S]

CLIENT is confluent (confluent-kafka/librdkafka) or kafka-python. For S
seconds one producer and one consumer (assigned partition 0 of TOPIC, no
group) keep their connections: each round produces a record, waits for its
delivery, and reads it back. Every record must come back, in order, and no
client error may be reported. The broker's log says whether the connections
re-authenticated; this script only keeps them in use.

Prints OK when every check passed.
"""

import argparse
import sys
import time

ROUND_PAUSE_S = 0.3
READ_DEADLINE_S = 15


def fail(message):
    print(f"FAIL: {message}", file=sys.stderr)
    sys.exit(1)


def log(message):
    print(message, file=sys.stderr, flush=True)


def confluent(args):
    from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition

    errors = []
    security = {
        "bootstrap.servers": args.bootstrap,
        "security.protocol": "SASL_PLAINTEXT",
        "sasl.mechanism": "PLAIN",
        "sasl.username": args.user,
        "sasl.password": args.password,
        "error_cb": lambda e: errors.append(str(e)),
    }
    producer = Producer({**security, "linger.ms": 0})
    consumer = Consumer({**security, "group.id": "reauth", "enable.auto.commit": False, "fetch.wait.max.ms": 200})
    consumer.assign([TopicPartition(args.topic, 0, 0)])

    def produce(value):
        delivered = []
        producer.produce(args.topic, value=value, partition=0, on_delivery=lambda e, m: delivered.append(e))
        producer.flush(READ_DEADLINE_S)
        if delivered != [None]:
            fail(f"delivery of {value!r}: {delivered}")

    def read():
        deadline = time.time() + READ_DEADLINE_S
        while time.time() < deadline:
            message = consumer.poll(0.5)
            if message is None:
                continue
            if message.error():
                raise KafkaException(message.error())
            return message.value()
        fail("no record within the deadline")

    rounds = run_rounds(args, produce, read)
    consumer.close()
    if errors:
        fail(f"client errors: {errors}")
    return rounds


def kafka_python(args):
    from kafka import KafkaConsumer, KafkaProducer, TopicPartition

    security = {
        "bootstrap_servers": args.bootstrap,
        "security_protocol": "SASL_PLAINTEXT",
        "sasl_mechanism": "PLAIN",
        "sasl_plain_username": args.user,
        "sasl_plain_password": args.password,
    }
    producer = KafkaProducer(**security, linger_ms=0)
    consumer = KafkaConsumer(**security, enable_auto_commit=False, fetch_max_wait_ms=200)
    partition = TopicPartition(args.topic, 0)
    consumer.assign([partition])
    consumer.seek(partition, 0)

    def produce(value):
        producer.send(args.topic, value=value, partition=0).get(timeout=READ_DEADLINE_S)

    def read():
        deadline = time.time() + READ_DEADLINE_S
        while time.time() < deadline:
            for records in consumer.poll(timeout_ms=500, max_records=1).values():
                for record in records:
                    return record.value
        fail("no record within the deadline")

    rounds = run_rounds(args, produce, read)
    producer.close()
    consumer.close()
    return rounds


def run_rounds(args, produce, read):
    """Produce and read back one record a round until the time is up."""
    end = time.time() + args.seconds
    rounds = 0
    while time.time() < end:
        value = f"{args.user}-{rounds}".encode()
        produce(value)
        got = read()
        if got != value:
            fail(f"round {rounds}: read {got!r}, expected {value!r}")
        rounds += 1
        time.sleep(ROUND_PAUSE_S)
    return rounds


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("client", choices=["confluent", "kafka-python"])
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--user", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--topic", default="reauth")
    parser.add_argument("--seconds", type=float, default=10)
    args = parser.parse_args()
    rounds = confluent(args) if args.client == "confluent" else kafka_python(args)
    log(f"{rounds} rounds in {args.seconds} s, every record read back")
    print("OK")


main()
