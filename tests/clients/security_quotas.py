"""Client quotas judged by real clients (chapter 11, KIP-219). Run by
tests/it/security_clients.rs against the broker's PLAINTEXT listener.

  security_quotas.py --bootstrap H:P --topic T

None of the installed admin clients has a quota API (kafka-python 3.0.12
ships only the AlterClientQuotas/DescribeClientQuotas protocol classes,
confluent-kafka 2.16 and kafkajs 2.2.4 nothing), so the quota is set and
described with kafka-python's own request classes sent over its admin
client's connection:

  alter     producer_byte_rate=QUOTA for client id `slow`: no error
  describe  the entity client-id=slow reads back producer_byte_rate=QUOTA
  throttle  two confluent-kafka producers, client ids `slow` and `fast`, with
            statistics.interval.ms: each produces RECORDS records of 2 KB (10 s at the quota) and waits
            until its statistics show a throttle or DEADLINE_S passed; `slow`'s stats
            show brokers.*.throttle > 0 (the broker's throttle_time_ms, as
            librdkafka averages it), `fast`'s stay 0

Prints OK when every check passed.
"""

import argparse
import json
import sys
import time

from confluent_kafka import Producer
from kafka import KafkaAdminClient
from kafka.protocol.admin.client_quotas import AlterClientQuotasRequest, DescribeClientQuotasRequest

QUOTA = 50_000.0
# How long a producer waits for its statistics to show a throttle.
DEADLINE_S = 10
# 500 KB: ten seconds of `slow`'s quota.
RECORDS = 250
VALUE = b"x" * 2_000


def fail(message):
    print(f"FAIL: {message}", file=sys.stderr)
    sys.exit(1)


def log(message):
    print(message, file=sys.stderr, flush=True)


def set_and_describe(bootstrap):
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    entry = AlterClientQuotasRequest.EntryData
    request = AlterClientQuotasRequest(
        entries=[
            entry(
                entity=[entry.EntityData(entity_type="client-id", entity_name="slow")],
                ops=[entry.OpData(key="producer_byte_rate", value=QUOTA, remove=False)],
            )
        ],
        validate_only=False,
    )
    response = admin._manager.run(admin._manager.send, request)
    codes = [e.error_code for e in response.entries]
    if codes != [0]:
        fail(f"AlterClientQuotas: {response}")
    component = DescribeClientQuotasRequest.ComponentData
    request = DescribeClientQuotasRequest(
        components=[component(entity_type="client-id", match_type=0, match="slow")], strict=False
    )
    response = admin._manager.run(admin._manager.send, request)
    found = {
        (tuple((e.entity_type, e.entity_name) for e in entry.entity), v.key, v.value)
        for entry in response.entries
        for v in entry.values
    }
    if response.error_code != 0 or found != {((("client-id", "slow"),), "producer_byte_rate", QUOTA)}:
        fail(f"DescribeClientQuotas: {response}")
    log(f"producer_byte_rate={QUOTA:.0f} set for client-id slow and described back")
    admin.close()


def load(bootstrap, topic, client_id):
    """Produces RECORDS records as `client_id`; the largest brokers.*.throttle its stats showed."""
    throttles = []

    def stats(text):
        for broker in json.loads(text)["brokers"].values():
            if broker.get("nodeid", -1) >= 0:
                throttles.append(broker["throttle"]["max"])

    producer = Producer(
        {
            "bootstrap.servers": bootstrap,
            "client.id": client_id,
            "statistics.interval.ms": 500,
            "stats_cb": stats,
            "linger.ms": 5,
        }
    )
    for _ in range(RECORDS):
        producer.produce(topic, value=VALUE, partition=0)
        producer.poll(0)
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline and not any(throttles) and len(producer):
        producer.poll(0.1)
    producer.poll(0.6)  # one more statistics interval
    producer.purge()  # what is left would take the quota's time to deliver
    producer.flush(5)
    return max(throttles, default=0)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--topic", required=True)
    args = parser.parse_args()
    set_and_describe(args.bootstrap)
    slow = load(args.bootstrap, args.topic, "slow")
    fast = load(args.bootstrap, args.topic, "fast")
    log(f"throttle max (ms): slow {slow}, fast {fast}")
    if slow <= 0:
        fail("the producer over its quota saw no throttle in its statistics")
    if fast != 0:
        fail(f"the producer without a quota was throttled ({fast} ms)")
    print("OK")


if __name__ == "__main__":
    main()
