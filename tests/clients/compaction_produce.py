"""Fills a compacted topic for tests/it/compaction_clients.rs (chapter 10).

Creates TOPIC (one partition) with `cleanup.policy=compact`, 1 KiB segments,
`min.cleanable.dirty.ratio=0.01` and short `segment.ms` / `delete.retention.ms`, so
the broker's cleaner takes it at once; then writes ROUNDS rounds over KEYS keys, one
record per batch (a flush after each), some of them tombstones (a None value), and
then FILLER records under keys of their own, which push the rounds out of the active
segment, where the cleaner cannot reach.

Each round opens with a PIN_BYTES record under a key of its own (never overwritten),
so a round fills more than a segment and its cleaned remains (the pin, ~670 bytes)
cannot share a 1 KiB segment with the next round's: every round stays a segment of
its own, ending with the round's last batch, which a later round supersedes. The
cleaned log so keeps emptied batches at segment ends, cleaning after cleaning, as
well as offset gaps.

Prints one line per record written, `P <offset> <key> <value|NULL>`, then
`PRODUCED <count> end=<log end offset>`. The test derives what a reader must see.

    compaction_produce.py --bootstrap HOST:PORT --topic T
"""

import argparse
import sys
import time

from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic

KEYS = 12
ROUNDS = 6
FILLER = 30
PIN_BYTES = 600


def value_of(key, round_):
    """Round `round_`'s value for key `key`: a tombstone for about one in seven."""
    return None if (3 * key + round_) % 7 == 0 else f"k{key:02}-r{round_}"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--topic", required=True)
    args = parser.parse_args()

    admin = AdminClient({"bootstrap.servers": args.bootstrap})
    configs = {
        "cleanup.policy": "compact",
        "segment.bytes": "1024",
        "segment.ms": "100",
        "min.cleanable.dirty.ratio": "0.01",
        "delete.retention.ms": "100",
        "min.compaction.lag.ms": "0",
    }
    topic = NewTopic(args.topic, num_partitions=1, replication_factor=1, config=configs)
    admin.create_topics([topic], operation_timeout=10)[args.topic].result(timeout=15)

    producer = Producer({"bootstrap.servers": args.bootstrap, "linger.ms": 0, "acks": "all"})
    written = []

    def write(key, value):
        def delivered(err, msg):
            if err is not None:
                print(f"FAIL: {key}: {err}", file=sys.stderr)
                sys.exit(1)
            written.append((msg.offset(), key, value))

        producer.produce(args.topic, key=key, value=value, partition=0, on_delivery=delivered)
        if producer.flush(15) != 0:
            print(f"FAIL: {key} was not acknowledged within 15 s", file=sys.stderr)
            sys.exit(1)

    for round_ in range(ROUNDS):
        write(f"pin-r{round_}", f"pin-r{round_}-" + "x" * PIN_BYTES)
        for key in range(KEYS):
            write(f"key-{key:02}", value_of(key, round_))
        time.sleep(0.15)  # past segment.ms: the next append rolls a segment
    for n in range(FILLER):
        write(f"filler-{n:02}", f"filler-{n:02}")

    for offset, key, value in written:
        print(f"P {offset} {key} {'NULL' if value is None else value}")
    print(f"PRODUCED {len(written)} end={written[-1][0] + 1}")


if __name__ == "__main__":
    main()
