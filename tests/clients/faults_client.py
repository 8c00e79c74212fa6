"""Chapter 6's fault harness, the client side: a real Kafka client (confluent-kafka,
i.e. librdkafka) that records everything it was told, for tests/it/cluster_faults.rs to
check against what the cluster kept.

    produce   an idempotent acks=all producer: values p<producer>-<n>, record n to
              partition n % partitions, until the stop file appears; then it flushes.
              Writes `ack <value> <partition> <offset>` for every acknowledgement,
              `error <value> <error>` for every record the client gave up on, and
              every second `stats <requests timed out> <mean round trip ms>` from
              librdkafka's statistics: its count of requests that hit
              request.timeout.ms so far, and the slowest broker's mean request
              round trip (Produce, acks=all included) over the last second.
    consume   assigns every partition from offset 0 and reads until the stop file
              appears. Writes `read <value> <partition> <offset>` for every record.
    read-all  reads every partition from offset 0 to its high watermark (the final
              read after the faults are healed). Writes `stored <value> <partition>
              <offset>`; exits non-zero if it cannot finish before its deadline.

Lines are tab-separated and flushed one by one, so the test can count them while the
client runs and a client killed mid-run loses nothing it wrote.
"""

import argparse
import json
import os
import sys
import time


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("mode", choices=["produce", "consume", "read-all"])
    p.add_argument("--bootstrap", required=True)
    p.add_argument("--topic", required=True)
    p.add_argument("--partitions", type=int, required=True)
    p.add_argument("--out", required=True, help="the file the lines go to")
    p.add_argument("--stop", help="produce/consume run until this file exists")
    p.add_argument("--producer", type=int, default=0, help="the producer's number, in its values")
    p.add_argument("--rate", type=float, default=100.0, help="records per second a producer sends")
    p.add_argument("--deadline-s", type=float, default=60.0, help="how long a flush or read-all may take")
    return p.parse_args()


def write(out, *fields):
    out.write("\t".join(str(f) for f in fields) + "\n")
    out.flush()


def stopped(args):
    return os.path.exists(args.stop)


def produce(args, out):
    from confluent_kafka import Producer

    producer = Producer(
        {
            "bootstrap.servers": args.bootstrap,
            "enable.idempotence": True,
            "acks": "all",
            "linger.ms": 5,
            "retry.backoff.ms": 50,
            "reconnect.backoff.ms": 50,
            "reconnect.backoff.max.ms": 1000,
            # Longer than any fault a schedule injects: a record waits the fault out.
            "message.timeout.ms": 120_000,
            "log_level": 3,  # broker restarts are expected: no notice per disconnect
            "statistics.interval.ms": 1000,
            "stats_cb": lambda text: write(out, "stats", *statistics(text)),
        }
    )

    def report(err, msg):
        value = msg.value().decode()
        if err is None:
            write(out, "ack", value, msg.partition(), msg.offset())
        else:
            write(out, "error", value, str(err).replace("\t", " "))

    n = 0
    started = time.monotonic()
    while not stopped(args):
        while n < (time.monotonic() - started) * args.rate:
            value = f"p{args.producer}-{n}".encode()
            try:
                producer.produce(args.topic, value=value, partition=n % args.partitions, on_delivery=report)
                n += 1
            except BufferError:
                break
        producer.poll(0.02)
    left = producer.flush(args.deadline_s)
    print(f"producer {args.producer}: sent={n} unflushed={left}", file=sys.stderr)


def statistics(text):
    """(requests timed out so far, the slowest broker's mean round trip in ms) from
    librdkafka's statistics JSON (`req_timeouts` and `rtt` of each broker; rtt is in µs
    over the last interval, 0 where a broker had no requests)."""
    brokers = json.loads(text).get("brokers", {}).values()
    timeouts = sum(b.get("req_timeouts", 0) for b in brokers)
    rtt_avg_us = max((b.get("rtt", {}).get("avg", 0) for b in brokers), default=0)
    return timeouts, rtt_avg_us // 1000


def consume(args, out):
    from confluent_kafka import Consumer, TopicPartition

    consumer = Consumer(
        {
            "bootstrap.servers": args.bootstrap,
            "group.id": "faults-reader",  # required by the client; assign() uses no group
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
            "log_level": 3,
        }
    )
    consumer.assign([TopicPartition(args.topic, p, 0) for p in range(args.partitions)])
    while not stopped(args):
        msg = consumer.poll(0.2)
        if msg is None:
            continue
        if msg.error():
            print(f"consumer: {msg.error()}", file=sys.stderr)
            continue
        write(out, "read", msg.value().decode(), msg.partition(), msg.offset())
    consumer.close()


def read_all(args, out):
    from confluent_kafka import Consumer, TopicPartition

    deadline = time.monotonic() + args.deadline_s
    consumer = Consumer(
        {
            "bootstrap.servers": args.bootstrap,
            "group.id": "faults-final-read",
            "enable.auto.commit": False,
            "log_level": 3,
        }
    )
    ends = {p: consumer.get_watermark_offsets(TopicPartition(args.topic, p), timeout=20)[1] for p in range(args.partitions)}
    consumer.assign([TopicPartition(args.topic, p, 0) for p in range(args.partitions)])
    positions = {p: 0 for p in range(args.partitions)}
    while any(positions[p] < ends[p] for p in ends):
        if time.monotonic() > deadline:
            sys.exit(f"read-all timed out at {positions} of {ends}")
        msg = consumer.poll(0.5)
        if msg is None:
            continue
        if msg.error():
            print(f"read-all: {msg.error()}", file=sys.stderr)
            continue
        write(out, "stored", msg.value().decode(), msg.partition(), msg.offset())
        positions[msg.partition()] = msg.offset() + 1
    consumer.close()
    print(f"read-all: ends={ends}", file=sys.stderr)


def main():
    args = parse_args()
    with open(args.out, "a") as out:
        {"produce": produce, "consume": consume, "read-all": read_all}[args.mode](args, out)


if __name__ == "__main__":
    main()
