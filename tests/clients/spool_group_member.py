"""A consumer of another Kafka client in a consumer group, for tests/it/group_consumer.rs.

    spool_group_member.py CLIENT BOOTSTRAP GROUP TOPIC STRATEGY

CLIENT is confluent-kafka (librdkafka) or kafka-python (pure Python: its own encoding of
the ConsumerProtocol bytes). It subscribes to TOPIC in GROUP with the assignor STRATEGY
(range, roundrobin or cooperative-sticky) and polls until its stdin closes (or 120 s pass),
printing a line for every change of its assignment:

    ASSIGNED orders:0,orders:1,orders:2      (the whole current assignment, sorted)

then closes the consumer (which leaves the group) and prints CLOSED. With the cooperative
protocol the rebalance callbacks receive increments, so the script keeps the running set.
"""

import sys
import threading
import time

client, bootstrap, group, topic, strategy = sys.argv[1:6]
owned = set()


def show():
    print("ASSIGNED " + ",".join(f"{t}:{p}" for t, p in sorted(owned)), flush=True)


def assigned(partitions):
    if strategy != "cooperative-sticky":
        owned.clear()
    owned.update((p.topic, p.partition) for p in partitions)
    show()


def revoked(partitions):
    owned.difference_update((p.topic, p.partition) for p in partitions)
    show()


stdin_closed = threading.Event()
threading.Thread(target=lambda: (sys.stdin.read(), stdin_closed.set()), daemon=True).start()
deadline = time.monotonic() + 120

if client == "confluent-kafka":
    from confluent_kafka import Consumer

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
    consumer.subscribe(
        [topic], on_assign=lambda _, ps: assigned(ps), on_revoke=lambda _, ps: revoked(ps)
    )
    while not stdin_closed.is_set() and time.monotonic() < deadline:
        message = consumer.poll(0.1)
        if message is not None and message.error():
            print(f"ERROR {message.error()}", flush=True)
    consumer.close()
elif client == "kafka-python":
    from kafka import ConsumerRebalanceListener, KafkaConsumer
    from kafka.coordinator.assignors.range import RangePartitionAssignor
    from kafka.coordinator.assignors.roundrobin import RoundRobinPartitionAssignor

    assignors = {"range": RangePartitionAssignor, "roundrobin": RoundRobinPartitionAssignor}

    class Listener(ConsumerRebalanceListener):
        def on_partitions_revoked(self, partitions):
            revoked(partitions)

        def on_partitions_assigned(self, partitions):
            assigned(partitions)

    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=group,
        partition_assignment_strategy=[assignors[strategy]],
        session_timeout_ms=6000,
        heartbeat_interval_ms=200,
        max_poll_interval_ms=10000,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    consumer.subscribe([topic], listener=Listener())
    while not stdin_closed.is_set() and time.monotonic() < deadline:
        consumer.poll(timeout_ms=100)
    consumer.close()
else:
    sys.exit(f"unknown client {client}")
print("CLOSED", flush=True)
