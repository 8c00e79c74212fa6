"""Commits many offsets for a few groups (tests/it/compaction_clients.rs, chapter 10), so
their `__consumer_offsets` partition holds a long history for the cleaner to compact.

For each `--commit G=OFFSET`: COMMITS commits of offsets 0, 1, 2, ... for group G's
partition 0 of TOPIC, then a last commit of OFFSET.
Then a filler group commits FILLER times, pushing the real groups' last commits out of
the active segment (the test sets offsets.topic.segment.bytes small), where the cleaner
can reach them. confluent-kafka commits as a simple consumer (no group membership,
generation -1), as Kafka allows for an empty group. Prints `COMMITTED <n>` at the end.

    compaction_commit.py --bootstrap HOST:PORT --topic T --commit G=OFFSET ...
"""

import argparse
import sys

from confluent_kafka import Consumer, TopicPartition

COMMITS = 60
FILLER = 40


def commit(bootstrap, group, topic, offsets):
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False})
    try:
        for offset in offsets:
            for result in consumer.commit(offsets=[TopicPartition(topic, 0, offset)], asynchronous=False):
                if result.error:
                    print(f"FAIL: {group} commit of {offset}: {result.error}", file=sys.stderr)
                    sys.exit(1)
    finally:
        consumer.close()
    return len(offsets)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--commit", action="append", required=True, metavar="G=OFFSET")
    args = parser.parse_args()
    targets = [(g, int(o)) for g, o in (c.split("=", 1) for c in args.commit)]
    count = 0
    for group, offset in targets:
        count += commit(args.bootstrap, group, args.topic, [*range(COMMITS), offset])
    count += commit(args.bootstrap, "compaction-filler", args.topic, list(range(FILLER)))
    print(f"COMMITTED {count}")


if __name__ == "__main__":
    main()
