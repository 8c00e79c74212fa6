"""confluent-kafka (librdkafka) against spool's KIP-467 per-record Produce
errors. Run by tests/it/describetp_clients.rs, which starts the broker.

librdkafka 2.16 sends Produce v10, so spool's answer carries record_errors
and error_message. A record without a key is produced to a compacted topic:
librdkafka must read that answer, fail the record once with INVALID_RECORD
(a permanent error: not retried), and go on producing — a keyed record then
goes through.

What it does not do: confluent-kafka's delivery report (err.str() and
msg.error()) shows librdkafka's generic text for the code, "Broker failed to
validate record", not the broker's per-record message; the script prints it
so a future version that surfaces the message is noticed.
"""

import argparse
import sys

from confluent_kafka import KafkaError, Producer
from confluent_kafka.admin import AdminClient, NewTopic


def fail(why):
    print(f"FAIL: {why}", flush=True)
    sys.exit(1)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bootstrap", required=True)
    args = parser.parse_args()
    admin = AdminClient({"bootstrap.servers": args.bootstrap})
    topic = NewTopic("dtp-compacted", 1, 1, config={"cleanup.policy": "compact"})
    for future in admin.create_topics([topic]).values():
        future.result(30)

    reports = []
    producer = Producer({"bootstrap.servers": args.bootstrap, "linger.ms": 0, "retries": 0})
    producer.produce("dtp-compacted", value=b"no key", on_delivery=lambda err, msg: reports.append(err))
    producer.flush(30)
    if len(reports) != 1 or reports[0] is None:
        fail(f"the keyless record was not refused: {reports}")
    err = reports[0]
    print(f"keyless record: {err.code()} {err.str()!r}", flush=True)
    if err.code() != KafkaError.INVALID_RECORD:
        fail(f"expected INVALID_RECORD, got {err.code()}")
    if err.retriable():
        fail("INVALID_RECORD is reported as retriable")
    if "without key" in err.str():
        print("the delivery report carries the broker's per-record message", flush=True)

    reports.clear()
    producer.produce("dtp-compacted", key=b"k", value=b"keyed", on_delivery=lambda err, msg: reports.append(err))
    producer.flush(30)
    if reports != [None]:
        fail(f"the keyed record failed: {reports}")
    print("OK", flush=True)


if __name__ == "__main__":
    main()
