"""A confluent-kafka (librdkafka) consumer in a consumer group, for tests/group_consumer.rs.

    spool_group_member.py BOOTSTRAP GROUP TOPIC STRATEGY

Subscribes to TOPIC in GROUP with partition.assignment.strategy=STRATEGY and polls until
its stdin closes (or 120 s pass), printing a line for every change of its assignment:

    ASSIGNED orders:0,orders:1,orders:2      (the whole current assignment, sorted)

then closes the consumer (which leaves the group) and prints CLOSED. With the cooperative
protocol on_assign/on_revoke receive increments, so the script keeps the running set.
"""

import sys
import threading
import time

from confluent_kafka import Consumer

bootstrap, group, topic, strategy = sys.argv[1:5]
owned = set()


def show():
    print("ASSIGNED " + ",".join(f"{t}:{p}" for t, p in sorted(owned)), flush=True)


def on_assign(consumer, partitions):
    if strategy == "cooperative-sticky":
        owned.update((p.topic, p.partition) for p in partitions)
    else:
        owned.clear()
        owned.update((p.topic, p.partition) for p in partitions)
    show()


def on_revoke(consumer, partitions):
    owned.difference_update((p.topic, p.partition) for p in partitions)
    show()


stdin_closed = threading.Event()
threading.Thread(target=lambda: (sys.stdin.read(), stdin_closed.set()), daemon=True).start()

consumer = Consumer(
    {
        "bootstrap.servers": bootstrap,
        "group.id": group,
        "partition.assignment.strategy": strategy,
        "session.timeout.ms": 6000,
        "heartbeat.interval.ms": 200,
        "max.poll.interval.ms": 10000,
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
    }
)
consumer.subscribe([topic], on_assign=on_assign, on_revoke=on_revoke)
deadline = time.monotonic() + 120
while not stdin_closed.is_set() and time.monotonic() < deadline:
    message = consumer.poll(0.1)
    if message is not None and message.error():
        print(f"ERROR {message.error()}", flush=True)
consumer.close()
print("CLOSED", flush=True)
