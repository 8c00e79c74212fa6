"""One Python client over one secured listener (chapter 11, issue 19).
Run by tests/it/security_clients.rs, which starts the broker and creates TOPIC.

  security_scenario.py CLIENT MODE --bootstrap H:P --protocol P [--ca F]
      [--cert F --key F] [--user U --password P] [--topic T]

CLIENT is confluent (confluent-kafka/librdkafka), kafka-python or aiokafka;
--protocol is Kafka's security.protocol (SSL, SASL_PLAINTEXT, ...), and the
other flags are the settings it needs, so one script serves every listener.

  roundtrip   produce RECORDS records with keys and headers to partition 0
              of TOPIC, then consume them in a fresh group from the earliest
              offset: every key, value and header must come back, in order
  bad-login   the credentials are wrong: the client must report an
              authentication failure (SASL_AUTHENTICATION_FAILED, or the
              client's name for it) within DEADLINE_S
  no-cert     (confluent only) the listener requires a client certificate and
              none is given: the handshake fails within DEADLINE_S

Prints OK when every check passed.
"""

import argparse
import asyncio
import sys
import time
import uuid

DEADLINE_S = 15
RECORDS = 5


def fail(message):
    print(f"FAIL: {message}", file=sys.stderr)
    sys.exit(1)


def log(message):
    print(message, file=sys.stderr, flush=True)


def expected():
    """The (key, value, headers) of record i: bytes throughout."""
    return [
        (f"key-{i}".encode(), f"value-{i}".encode(), [("trace", f"t-{i}".encode()), ("bin", bytes([i, 0, 255]))])
        for i in range(RECORDS)
    ]


def check(read):
    want = expected()
    if read != want:
        fail(f"read back {read}, expected {want}")
    log(f"read back {len(read)} records with their keys and headers")


# --- confluent-kafka ------------------------------------------------------


def confluent_settings(args):
    conf = {"bootstrap.servers": args.bootstrap, "security.protocol": args.protocol}
    if args.ca:
        conf["ssl.ca.location"] = args.ca
    if args.cert:
        conf["ssl.certificate.location"] = args.cert
        conf["ssl.key.location"] = args.key
    if args.user:
        conf.update({"sasl.mechanism": args.mechanism, "sasl.username": args.user, "sasl.password": args.password})
    return conf


def confluent_roundtrip(args):
    from confluent_kafka import Consumer, Producer

    producer = Producer(confluent_settings(args))
    for key, value, headers in expected():
        producer.produce(args.topic, value=value, key=key, headers=headers, partition=0)
    left = producer.flush(DEADLINE_S)
    if left:
        fail(f"{left} records not delivered")
    conf = confluent_settings(args)
    conf.update({"group.id": f"g-{uuid.uuid4()}", "auto.offset.reset": "earliest"})
    consumer = Consumer(conf)
    consumer.subscribe([args.topic])
    read, deadline = [], time.monotonic() + DEADLINE_S
    while len(read) < RECORDS and time.monotonic() < deadline:
        message = consumer.poll(0.5)
        if message is None:
            continue
        if message.error():
            fail(f"consume: {message.error()}")
        read.append((message.key(), message.value(), [(k, bytes(v)) for k, v in message.headers() or []]))
    consumer.close()
    check(read)


def confluent_refused(args, codes):
    """A producer whose connection is refused: its error callback must name
    one of `codes` (KafkaError attribute names) within DEADLINE_S."""
    from confluent_kafka import KafkaError, Producer

    seen = []
    conf = confluent_settings(args)
    conf["error_cb"] = lambda error: seen.append(error)
    producer = Producer(conf)
    producer.produce(args.topic, value=b"never", partition=0)
    wanted = {getattr(KafkaError, code) for code in codes}
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline and not any(e.code() in wanted for e in seen):
        producer.poll(0.2)
    if not any(e.code() in wanted for e in seen):
        fail(f"no {codes} within {DEADLINE_S}s; errors seen: {seen}")
    log(f"refused as expected: {[e for e in seen if e.code() in wanted][0]}")
    producer.purge()


# --- kafka-python ---------------------------------------------------------


def kafka_python_settings(args):
    conf = {"bootstrap_servers": args.bootstrap, "security_protocol": args.protocol}
    if args.ca:
        conf.update({"ssl_cafile": args.ca, "ssl_check_hostname": True})
    if args.cert:
        conf.update({"ssl_certfile": args.cert, "ssl_keyfile": args.key})
    if args.user:
        conf.update(
            {"sasl_mechanism": args.mechanism, "sasl_plain_username": args.user, "sasl_plain_password": args.password}
        )
    return conf


def kafka_python_roundtrip(args):
    from kafka import KafkaConsumer, KafkaProducer

    producer = KafkaProducer(**kafka_python_settings(args))
    for key, value, headers in expected():
        producer.send(args.topic, value=value, key=key, headers=headers, partition=0).get(timeout=DEADLINE_S)
    producer.close()
    consumer = KafkaConsumer(
        args.topic,
        group_id=f"g-{uuid.uuid4()}",
        auto_offset_reset="earliest",
        consumer_timeout_ms=DEADLINE_S * 1000,
        **kafka_python_settings(args),
    )
    read = []
    for message in consumer:
        read.append((message.key, message.value, [(k, bytes(v)) for k, v in message.headers]))
        if len(read) == RECORDS:
            break
    consumer.close()
    check(read)


def kafka_python_bad_login(args):
    """kafka-python 3 retries a failed bootstrap until bootstrap_timeout_ms and
    then raises KafkaTimeoutError; the SaslAuthenticationFailedError carrying
    the broker's message is what it logs for each attempt."""
    import logging

    from kafka import KafkaProducer
    from kafka.errors import KafkaTimeoutError

    class Seen(logging.Handler):
        messages = []

        def emit(self, record):
            self.messages.append(record.getMessage())

    logging.getLogger("kafka").addHandler(Seen())
    started = time.monotonic()
    try:
        KafkaProducer(**kafka_python_settings(args), bootstrap_timeout_ms=5000)
    except KafkaTimeoutError as error:
        attempts = [m for m in Seen.messages if m.startswith("Bootstrap connection to")]
        if not attempts or "SaslAuthenticationFailedError" not in attempts[0]:
            fail(f"{error}, and the first attempt did not log SaslAuthenticationFailedError: {attempts}")
        # PLAIN's message, or SCRAM's (the final client proof did not verify).
        expected = "Invalid client credentials" if args.mechanism.startswith("SCRAM") else "Invalid username or password"
        if expected not in attempts[0]:
            fail(f"the broker's message is missing: {attempts[0]}")
        refusals = attempts
        log(f"refused as expected after {time.monotonic() - started:.1f}s: {refusals[0]}")
        return
    fail("a wrong password was accepted")


# --- aiokafka ---------------------------------------------------------------


def aiokafka_settings(args):
    from aiokafka.helpers import create_ssl_context

    conf = {"bootstrap_servers": args.bootstrap, "security_protocol": args.protocol}
    if args.ca:
        conf["ssl_context"] = create_ssl_context(cafile=args.ca, certfile=args.cert, keyfile=args.key)
    if args.user:
        conf.update(
            {"sasl_mechanism": args.mechanism, "sasl_plain_username": args.user, "sasl_plain_password": args.password}
        )
    return conf


async def aiokafka_roundtrip(args):
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

    producer = AIOKafkaProducer(**aiokafka_settings(args))
    await producer.start()
    try:
        for key, value, headers in expected():
            await producer.send_and_wait(args.topic, value=value, key=key, headers=headers, partition=0)
    finally:
        await producer.stop()
    consumer = AIOKafkaConsumer(
        args.topic, group_id=f"g-{uuid.uuid4()}", auto_offset_reset="earliest", **aiokafka_settings(args)
    )
    await consumer.start()
    read = []
    try:
        async with asyncio.timeout(DEADLINE_S):
            async for message in consumer:
                read.append((message.key, message.value, [(k, bytes(v)) for k, v in message.headers]))
                if len(read) == RECORDS:
                    break
    finally:
        await consumer.stop()
    check(read)


async def aiokafka_bad_login(args):
    from aiokafka import AIOKafkaProducer
    from aiokafka.errors import KafkaError

    producer = AIOKafkaProducer(**aiokafka_settings(args))
    try:
        async with asyncio.timeout(DEADLINE_S):
            await producer.start()
    except KafkaError as error:
        name = type(error).__name__
        if name not in ("AuthenticationFailedError", "SaslAuthenticationFailedError", "KafkaConnectionError"):
            fail(f"refused with {name}: {error}")
        log(f"refused as expected: {name}: {error}")
        return
    finally:
        await producer.stop()
    fail("a wrong password was accepted")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("client", choices=["confluent", "kafka-python", "aiokafka"])
    parser.add_argument("mode", choices=["roundtrip", "bad-login", "no-cert"])
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--protocol", required=True)
    parser.add_argument("--topic", default="secured")
    parser.add_argument("--ca")
    parser.add_argument("--cert")
    parser.add_argument("--key")
    parser.add_argument("--mechanism", default="PLAIN")
    parser.add_argument("--user")
    parser.add_argument("--password")
    args = parser.parse_args()
    log(f"{args.client} {args.mode} over {args.protocol} at {args.bootstrap}")
    if args.client == "confluent":
        if args.mode == "roundtrip":
            confluent_roundtrip(args)
        elif args.mode == "bad-login":
            confluent_refused(args, ["_AUTHENTICATION", "SASL_AUTHENTICATION_FAILED"])
        else:
            confluent_refused(args, ["_SSL", "_TRANSPORT", "_ALL_BROKERS_DOWN"])
    elif args.client == "kafka-python":
        {"roundtrip": kafka_python_roundtrip, "bad-login": kafka_python_bad_login}[args.mode](args)
    else:
        asyncio.run({"roundtrip": aiokafka_roundtrip, "bad-login": aiokafka_bad_login}[args.mode](args))
    print("OK")


if __name__ == "__main__":
    main()
