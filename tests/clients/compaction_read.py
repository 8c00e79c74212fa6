"""One Python client family reads a compacted topic (tests/it/compaction_clients.rs,
chapter 10): confluent-kafka (librdkafka), kafka-python or aiokafka.

`--from-start`: assigns the topic's one partition, seeks to the beginning and reads
until it has the record at END-1 (the last filler record, never cleaned), printing
`R <offset> <key> <value|NULL>` for each. The cleaned log has offset gaps and batches
emptied by the cleaner at segment ends; a client that cannot step over them stalls,
and fails here at the deadline with the position it stalled at.

`--group G`: joins group G (subscribe; `auto.offset.reset=earliest`, so offsets the
broker lost would show as a read from the start), prints `FIRST <offset>` for the
first record the group hands it, and leaves without committing.

    compaction_read.py --client C --bootstrap HOST:PORT --topic T (--from-start --end END | --group G)
"""

import argparse
import asyncio
import sys
import time

DEADLINE_S = 40


def line(offset, key, value):
    key = key.decode() if key is not None else "NULL"
    value = value.decode() if value is not None else "NULL"
    return f"R {offset} {key} {value}"


def confluent_kafka(args):
    from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

    group = args.group or "compaction-reader"
    consumer = Consumer(
        {
            "bootstrap.servers": args.bootstrap,
            "group.id": group,
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
        }
    )
    if args.group:
        consumer.subscribe([args.topic])
    else:
        consumer.assign([TopicPartition(args.topic, 0, OFFSET_BEGINNING)])
    deadline = time.monotonic() + DEADLINE_S
    try:
        while time.monotonic() < deadline:
            msg = consumer.poll(0.5)
            if msg is None:
                continue
            if msg.error():
                print(f"error: {msg.error()}", file=sys.stderr)
                continue
            if args.group:
                print(f"FIRST {msg.offset()}")
                return True
            print(line(msg.offset(), msg.key(), msg.value()))
            if msg.offset() >= args.end - 1:
                return True
        return False
    finally:
        consumer.close()


def kafka_python(args):
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(
        bootstrap_servers=args.bootstrap,
        group_id=args.group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    if args.group:
        consumer.subscribe([args.topic])
    else:
        tp = TopicPartition(args.topic, 0)
        consumer.assign([tp])
        consumer.seek_to_beginning(tp)
    deadline = time.monotonic() + DEADLINE_S
    try:
        while time.monotonic() < deadline:
            for records in consumer.poll(timeout_ms=500).values():
                for r in records:
                    if args.group:
                        print(f"FIRST {r.offset}")
                        return True
                    print(line(r.offset, r.key, r.value))
                    if r.offset >= args.end - 1:
                        return True
        return False
    finally:
        consumer.close(autocommit=False)


async def aiokafka_async(args):
    from aiokafka import AIOKafkaConsumer, TopicPartition

    consumer = AIOKafkaConsumer(
        bootstrap_servers=args.bootstrap,
        group_id=args.group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    try:
        if args.group:
            consumer.subscribe([args.topic])
        else:
            tp = TopicPartition(args.topic, 0)
            consumer.assign([tp])
            await consumer.seek_to_beginning(tp)
        deadline = time.monotonic() + DEADLINE_S
        while time.monotonic() < deadline:
            for records in (await consumer.getmany(timeout_ms=500)).values():
                for r in records:
                    if args.group:
                        print(f"FIRST {r.offset}")
                        return True
                    print(line(r.offset, r.key, r.value))
                    if r.offset >= args.end - 1:
                        return True
        return False
    finally:
        await consumer.stop()


def aiokafka(args):
    return asyncio.run(aiokafka_async(args))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--client", required=True, choices=["confluent-kafka", "kafka-python", "aiokafka"])
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--from-start", action="store_true")
    parser.add_argument("--end", type=int)
    parser.add_argument("--group")
    args = parser.parse_args()
    if args.from_start == bool(args.group) or (args.from_start and args.end is None):
        parser.error("one of --from-start --end END or --group G")
    run = {"confluent-kafka": confluent_kafka, "kafka-python": kafka_python, "aiokafka": aiokafka}[args.client]
    if not run(args):
        what = f"group {args.group} was handed no record" if args.group else f"no record at offset {args.end - 1}"
        print(f"FAIL: {args.client}: {what} within {DEADLINE_S} s", file=sys.stderr)
        sys.exit(1)
    print("DONE")


if __name__ == "__main__":
    main()
