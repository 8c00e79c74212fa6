"""DescribeConfigs and CreateTopics' config checks (issue 17 item 1) through
confluent-kafka's AdminClient. Run by tests/it/configdef_clients.rs, which starts
a broker whose properties set log.retention.hours=2.

  configdef_describe.py --bootstrap H:P --topic T --topic-keys N --broker-keys M

A topic with a retention.ms override and one without are described: every topic
key (N of them) is listed; the override is DYNAMIC_TOPIC_CONFIG with itself first
among its synonyms; the other topic's retention.ms is 7200000 from the broker's
log.retention.hours (STATIC_BROKER_CONFIG); an unset key is DEFAULT_CONFIG. The
broker (id 1) lists M keys; node.id is read-only and log.retention.ms is not. A
topic created with preallocate=maybe fails with INVALID_CONFIG naming the key.
"""

import argparse
import sys


def fail(message):
    print(f"FAIL: {message}", file=sys.stderr)
    sys.exit(1)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--topic-keys", type=int, required=True)
    parser.add_argument("--broker-keys", type=int, required=True)
    args = parser.parse_args()

    from confluent_kafka import KafkaError, KafkaException
    from confluent_kafka.admin import AdminClient, ConfigResource, ConfigSource, NewTopic

    admin = AdminClient({"bootstrap.servers": args.bootstrap})
    own, plain = args.topic, args.topic + "-plain"
    futures = admin.create_topics(
        [NewTopic(own, 1, 1, config={"retention.ms": "60000"}), NewTopic(plain, 1, 1)]
    )
    for future in futures.values():
        future.result(15)

    def describe(kind, name):
        resource = ConfigResource(kind, name)
        return admin.describe_configs([resource])[resource].result(15)

    configs = describe(ConfigResource.Type.TOPIC, own)
    if len(configs) != args.topic_keys:
        fail(f"{len(configs)} topic configs, expected {args.topic_keys}: {sorted(configs)}")
    retention = configs["retention.ms"]
    if retention.value != "60000" or retention.source != ConfigSource.DYNAMIC_TOPIC_CONFIG.value:
        fail(f"override: {retention.value} {retention.source}")
    if list(retention.synonyms)[:1] != ["retention.ms"]:
        fail(f"override's synonyms: {list(retention.synonyms)}")
    unset = configs["preallocate"]
    if unset.value != "false" or unset.source != ConfigSource.DEFAULT_CONFIG.value:
        fail(f"preallocate: {unset.value} {unset.source}")

    inherited = describe(ConfigResource.Type.TOPIC, plain)["retention.ms"]
    if inherited.value != "7200000" or inherited.source != ConfigSource.STATIC_BROKER_CONFIG.value:
        fail(f"inherited retention.ms: {inherited.value} {inherited.source}")
    if "log.retention.hours" not in inherited.synonyms:
        fail(f"inherited retention.ms synonyms: {list(inherited.synonyms)}")

    broker = describe(ConfigResource.Type.BROKER, "1")
    if len(broker) != args.broker_keys:
        fail(f"{len(broker)} broker configs, expected {args.broker_keys}")
    if not broker["node.id"].is_read_only or broker["log.retention.ms"].is_read_only:
        fail("read_only: node.id must be, log.retention.ms must not be")

    bad = admin.create_topics([NewTopic(args.topic + "-bad", 1, 1, config={"preallocate": "maybe"})])
    try:
        bad[args.topic + "-bad"].result(15)
        fail("preallocate=maybe was accepted")
    except KafkaException as e:
        error = e.args[0]
        if error.code() != KafkaError.INVALID_CONFIG or "preallocate" not in error.str():
            fail(f"preallocate=maybe: {error}")
    print("OK")


if __name__ == "__main__":
    main()
