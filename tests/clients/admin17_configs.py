"""Altering a topic's configs (issue 17 item 4) through real admin clients.
Run by tests/it/admin17_clients.rs, which starts the broker (retention checked
every few hundred milliseconds) and afterwards looks at the partition's files.

  admin17_configs.py confluent-incremental --bootstrap H:P --topic T
  admin17_configs.py confluent-alter       --bootstrap H:P --topic T
  admin17_configs.py kafka-python          --bootstrap H:P --topic T

Each scenario creates T with segment.bytes=1024, so every few records roll a
segment, and produces 10 records stamped an hour ago, then 10 stamped now
(explicit CreateTime timestamps: which segments expire depends on the records,
not on how fast this machine runs). Then, with the client's own calls:

  bad input     an unknown key, and retention.ms=-5 (below its minimum -1):
                each refused with INVALID_CONFIG; describe still shows
                retention.ms from the default and earliest is still 0
  alter         retention.ms=600000 (ten minutes): the retention pass deletes
                the segments holding only the hour-old records, so earliest
                moves above 0 but not past record 10
  describe      retention.ms=600000 with source DYNAMIC_TOPIC_CONFIG

confluent-incremental uses incremental_alter_configs (IncrementalAlterConfigs);
confluent-alter uses the deprecated alter_configs (AlterConfigs), whose set
replaces the topic's whole set: segment.bytes, not in it, is back to its
default afterwards; kafka-python runs alter_configs both ways (incremental=
True, then False). Prints `EARLIEST n` and OK.
"""

import argparse
import sys
import time
import warnings

DEADLINE_S = 60
RECORDS_OLD = 10
RECORDS_NEW = 10
HOUR_MS = 3_600_000
RETENTION_MS = "600000"
VALUE = b"v" * 200


def fail(message):
    print(f"FAIL: {message}", file=sys.stderr)
    sys.exit(1)


def log(message):
    print(message, file=sys.stderr, flush=True)


def wait_for_earliest_move(earliest):
    """Polls earliest until the retention pass has moved it; returns it."""
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        offset = earliest()
        if offset > 0:
            return offset
        time.sleep(0.2)
    fail(f"earliest still 0 {DEADLINE_S}s after retention.ms={RETENTION_MS}")


def check_moved(offset):
    if not 0 < offset <= RECORDS_OLD:
        fail(f"earliest {offset}: expected the hour-old segments (below {RECORDS_OLD}) gone, the rest kept")
    print(f"EARLIEST {offset}")


class Confluent:
    def __init__(self, args):
        from confluent_kafka import Producer
        from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic

        self.topic = args.topic
        self.admin = AdminClient({"bootstrap.servers": args.bootstrap})
        self.resource = lambda: ConfigResource("TOPIC", self.topic)
        config = {"segment.bytes": "1024"}
        self.admin.create_topics([NewTopic(self.topic, 1, 1, config=config)])[self.topic].result(15)
        producer = Producer({"bootstrap.servers": args.bootstrap, "linger.ms": 0})
        now = int(time.time() * 1000)
        for i in range(RECORDS_OLD + RECORDS_NEW):
            timestamp = now - HOUR_MS if i < RECORDS_OLD else now
            producer.produce(self.topic, value=VALUE, partition=0, timestamp=timestamp)
            if producer.flush(15) != 0:  # one batch per record: several segments
                fail(f"record {i} not delivered")

    def alter(self, configs, incremental):
        from confluent_kafka.admin import AlterConfigOpType, ConfigEntry

        resource = self.resource()
        if incremental:
            for name, value in configs.items():
                resource.add_incremental_config(ConfigEntry(name, value, incremental_operation=AlterConfigOpType.SET))
            futures = self.admin.incremental_alter_configs([resource])
        else:
            for name, value in configs.items():
                resource.set_config(name, value)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                futures = self.admin.alter_configs([resource])
        (future,) = futures.values()
        future.result(15)

    def refused(self, configs, incremental):
        """Returns the KafkaError code of a refused alter."""
        from confluent_kafka import KafkaException

        try:
            self.alter(configs, incremental)
        except KafkaException as e:
            log(f"confluent-kafka: {configs} refused: {e.args[0]}")
            return e.args[0].code()
        fail(f"{configs} was accepted")

    def describe(self):
        """{name: (value, source name)} of the topic's configs."""
        from confluent_kafka.admin import ConfigSource

        (future,) = self.admin.describe_configs([self.resource()]).values()
        return {n: (e.value, ConfigSource(e.source).name) for n, e in future.result(15).items()}

    def earliest(self):
        from confluent_kafka import TopicPartition as TP
        from confluent_kafka.admin import OffsetSpec

        futures = self.admin.list_offsets({TP(self.topic, 0): OffsetSpec.earliest()})
        (future,) = futures.values()
        return future.result(15).offset


def confluent(args, incremental):
    from confluent_kafka import KafkaError

    client = Confluent(args)
    for bad in ({"no.such.config": "1"}, {"retention.ms": "-5"}):
        if client.refused(bad, incremental) != KafkaError.INVALID_CONFIG:
            fail(f"{bad}: not INVALID_CONFIG")
    before = client.describe()
    if before["retention.ms"][1] != "DEFAULT_CONFIG" or client.earliest() != 0:
        fail(f"a refused alter changed something: {before['retention.ms']}, earliest {client.earliest()}")
    if before["segment.bytes"] != ("1024", "DYNAMIC_TOPIC_CONFIG"):
        fail(f"segment.bytes at create: {before['segment.bytes']}")
    client.alter({"retention.ms": RETENTION_MS}, incremental)
    check_moved(wait_for_earliest_move(client.earliest))
    after = client.describe()
    if after["retention.ms"] != (RETENTION_MS, "DYNAMIC_TOPIC_CONFIG"):
        fail(f"retention.ms after the alter: {after['retention.ms']}")
    # AlterConfigs replaces the set; IncrementalAlterConfigs leaves the rest.
    expected = ("1024", "DYNAMIC_TOPIC_CONFIG") if incremental else ("1073741824", "DEFAULT_CONFIG")
    if after["segment.bytes"] != expected:
        fail(f"segment.bytes after the alter: {after['segment.bytes']}, expected {expected}")
    log(f"confluent-kafka ({'incremental' if incremental else 'alter'}): bad input refused, retention applied, described")


def kafka_python(args):
    from kafka import KafkaAdminClient, KafkaProducer, TopicPartition
    from kafka.admin import ConfigResource, ConfigResourceType, NewTopic, OffsetSpec

    admin = KafkaAdminClient(bootstrap_servers=args.bootstrap, request_timeout_ms=10_000)
    producer = KafkaProducer(bootstrap_servers=args.bootstrap, linger_ms=0)
    resource = lambda configs=None: ConfigResource(ConfigResourceType.TOPIC, topic, configs)

    def describe():
        configs = admin.describe_configs([resource()], config_filter="all")["topic"][topic]
        return {n: (c["value"], c["config_source"]) for n, c in configs.items()}

    def earliest():
        tp = TopicPartition(topic, 0)
        return admin.list_partition_offsets({tp: OffsetSpec.EARLIEST})[tp].offset

    for incremental in (True, False):
        topic = f"{args.topic}-{'incremental' if incremental else 'alter'}"
        admin.create_topics([NewTopic(topic, 1, 1, topic_configs={"segment.bytes": "1024"})])
        now = int(time.time() * 1000)
        for i in range(RECORDS_OLD + RECORDS_NEW):
            timestamp = now - HOUR_MS if i < RECORDS_OLD else now
            producer.send(topic, value=VALUE, partition=0, timestamp_ms=timestamp).get(15)
            producer.flush()
        for bad in ({"no.such.config": "1"}, {"retention.ms": "-5"}):
            # raise_on_unknown=False: let the broker judge, not the client's describe.
            result = admin.alter_configs([resource(bad)], raise_on_unknown=False, incremental=incremental)
            outcome = result["topic"][topic]
            log(f"kafka-python: {bad} -> {outcome}")
            if "InvalidConfigurationError" not in outcome:
                fail(f"{bad}: {outcome}, not INVALID_CONFIG")
        if describe()["retention.ms"][1] != "DEFAULT_CONFIG" or earliest() != 0:
            fail(f"a refused alter changed something: {describe()['retention.ms']}, earliest {earliest()}")
        result = admin.alter_configs([resource({"retention.ms": RETENTION_MS})], incremental=incremental)
        if result["topic"][topic] != "OK":
            fail(f"alter retention.ms: {result}")
        offset = wait_for_earliest_move(earliest)
        if not 0 < offset <= RECORDS_OLD:
            fail(f"{topic}: earliest {offset}")
        if describe()["retention.ms"] != (RETENTION_MS, "DYNAMIC_TOPIC_CONFIG"):
            fail(f"retention.ms after the alter: {describe()['retention.ms']}")
        log(f"kafka-python ({'incremental' if incremental else 'alter'}): earliest {offset}")
    print(f"EARLIEST {offset}")  # of the last topic, T-alter
    admin.close()
    producer.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("scenario", choices=["confluent-incremental", "confluent-alter", "kafka-python"])
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--topic", required=True)
    args = parser.parse_args()
    if args.scenario == "kafka-python":
        kafka_python(args)
    else:
        confluent(args, incremental=args.scenario == "confluent-incremental")
    print("OK")
