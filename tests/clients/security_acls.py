"""ACLs judged by confluent-kafka (chapter 11, issue 19). Run by
tests/it/security_clients.rs, whose broker runs StandardAuthorizer with
super.users=User:admin (and no allow.everyone.if.no.acl.found).

  security_acls.py bob  --sasl H:P
  security_acls.py mtls --sasl H:P --mtls H:P --ca F --cert F --key F

bob   admin (a super user, SASL PLAIN) creates, describes and deletes an ACL
      with AdminClient; then bob, named by no ACL, is refused on each API he
      tries, with the error Kafka gives: produce TOPIC_AUTHORIZATION_FAILED,
      group consume GROUP_AUTHORIZATION_FAILED, create topic
      TOPIC_AUTHORIZATION_FAILED (or CLUSTER_AUTHORIZATION_FAILED), a
      transactional producer TRANSACTIONAL_ID_AUTHORIZATION_FAILED, and
      metadata lists no topic. After admin allows Write, Read and Describe on
      the PREFIXED pattern `bob-` and Read on group `bob-g`, bob produces to
      and consumes `bob-topic`, and produce to `other` still fails.
mtls  carol connects with a client certificate (subject CN=carol,OU=eng):
      with no ACL her produce is TOPIC_AUTHORIZATION_FAILED; once admin allows
      `User:CN=carol,OU=eng` Write on the topic it succeeds, which proves the
      authorizer sees the certificate's principal. Without a certificate the
      handshake fails.

Prints OK when every check passed.
"""

import argparse
import sys
import time

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import (
    AclBinding,
    AclBindingFilter,
    AclOperation,
    AclPermissionType,
    AdminClient,
    NewTopic,
    ResourcePatternType,
    ResourceType,
)

DEADLINE_S = 15


def fail(message):
    print(f"FAIL: {message}", file=sys.stderr)
    sys.exit(1)


def log(message):
    print(message, file=sys.stderr, flush=True)


def sasl(addr, user, password):
    return {
        "bootstrap.servers": addr,
        "security.protocol": "SASL_PLAINTEXT",
        "sasl.mechanism": "PLAIN",
        "sasl.username": user,
        "sasl.password": password,
    }


def allow(principal, resource_type, name, operation, pattern=ResourcePatternType.LITERAL):
    return AclBinding(resource_type, name, pattern, principal, "*", operation, AclPermissionType.ALLOW)


def create_acls(admin, bindings):
    for binding, future in admin.create_acls(bindings).items():
        future.result(timeout=DEADLINE_S)
    log(f"created {len(bindings)} ACLs")


def produce_error(conf, topic):
    """Produces one record; the error code its delivery report names, or None."""
    reports = []
    producer = Producer({**conf, "message.timeout.ms": 10_000})
    producer.produce(topic, value=b"v", key=b"k", on_delivery=lambda err, msg: reports.append(err))
    producer.flush(DEADLINE_S)
    if not reports:
        fail(f"no delivery report for {topic}")
    return reports[0].code() if reports[0] else None


def expect_code(what, got, *names):
    wanted = [getattr(KafkaError, n) for n in names]
    if got not in wanted:
        fail(f"{what}: {got}, expected one of {names}")
    log(f"{what}: refused with {KafkaError(got).name()}")


def acl_crud(admin):
    """create_acls, describe_acls and delete_acls round trip on a throwaway ACL."""
    binding = allow("User:zed", ResourceType.TOPIC, "zed-topic", AclOperation.READ)
    create_acls(admin, [binding])
    described = admin.describe_acls(AclBindingFilter(ResourceType.TOPIC, "zed-topic", ResourcePatternType.ANY,
                                                     None, None, AclOperation.ANY, AclPermissionType.ANY))
    found = described.result(timeout=DEADLINE_S)
    if found != [binding]:
        fail(f"describe_acls: {found}")
    deleted = admin.delete_acls([AclBindingFilter(ResourceType.TOPIC, "zed-topic", ResourcePatternType.LITERAL,
                                                  "User:zed", None, AclOperation.ANY, AclPermissionType.ANY)])
    gone = list(deleted.values())[0].result(timeout=DEADLINE_S)
    if gone != [binding]:
        fail(f"delete_acls: {gone}")
    log("create_acls, describe_acls, delete_acls round trip")


def consume_error(conf, topic, group):
    """Subscribes in `group`; the first error code the consumer reports, or None after reading a record."""
    consumer = Consumer({**conf, "group.id": group, "auto.offset.reset": "earliest"})
    consumer.subscribe([topic])
    deadline = time.monotonic() + DEADLINE_S
    try:
        while time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is None:
                continue
            if message.error():
                return message.error().code()
            return None
        fail(f"neither a record nor an error from {topic} in {group}")
    finally:
        consumer.close()


def bob(args):
    admin = AdminClient(sasl(args.sasl, "admin", "admin-secret"))
    acl_crud(admin)
    bob_conf = sasl(args.sasl, "bob", "bob-secret")
    expect_code("bob produce other", produce_error(bob_conf, "other"), "TOPIC_AUTHORIZATION_FAILED")
    expect_code("bob consume other", consume_error(bob_conf, "other", "bob-g"),
                "GROUP_AUTHORIZATION_FAILED", "TOPIC_AUTHORIZATION_FAILED")
    bob_admin = AdminClient(bob_conf)
    created = bob_admin.create_topics([NewTopic("bob-new", 1, 1)])
    try:
        created["bob-new"].result(timeout=DEADLINE_S)
        fail("bob created a topic")
    except KafkaException as error:
        expect_code("bob create topic", error.args[0].code(),
                    "TOPIC_AUTHORIZATION_FAILED", "CLUSTER_AUTHORIZATION_FAILED")
    txn = Producer({**bob_conf, "transactional.id": "bob-txn"})
    try:
        txn.init_transactions(DEADLINE_S)
        fail("bob initialised a transactional producer")
    except KafkaException as error:
        expect_code("bob init_transactions", error.args[0].code(), "TRANSACTIONAL_ID_AUTHORIZATION_FAILED")
    topics = bob_admin.list_topics(timeout=DEADLINE_S).topics
    if topics:
        fail(f"bob's metadata lists topics he may not describe: {sorted(topics)}")
    log("bob's metadata lists no topic")

    create_acls(admin, [
        allow("User:bob", ResourceType.TOPIC, "bob-", op, ResourcePatternType.PREFIXED)
        for op in (AclOperation.WRITE, AclOperation.READ, AclOperation.DESCRIBE)
    ] + [allow("User:bob", ResourceType.GROUP, "bob-g", AclOperation.READ)])
    if produce_error(bob_conf, "bob-topic") is not None:
        fail("bob's produce to bob-topic was refused after the grant")
    if consume_error(bob_conf, "bob-topic", "bob-g") is not None:
        fail("bob's consume of bob-topic was refused after the grant")
    log("bob produces and consumes bob-topic after the grant")
    expect_code("bob produce other, after", produce_error(bob_conf, "other"), "TOPIC_AUTHORIZATION_FAILED")


def mtls(args):
    admin = AdminClient(sasl(args.sasl, "admin", "admin-secret"))
    carol = {
        "bootstrap.servers": args.mtls,
        "security.protocol": "SSL",
        "ssl.ca.location": args.ca,
        "ssl.certificate.location": args.cert,
        "ssl.key.location": args.key,
    }
    expect_code("carol produce", produce_error(carol, "other"), "TOPIC_AUTHORIZATION_FAILED")
    create_acls(admin, [allow(args.principal, ResourceType.TOPIC, "other", op)
                        for op in (AclOperation.WRITE, AclOperation.DESCRIBE)])
    if produce_error(carol, "other") is not None:
        fail(f"{args.principal}'s produce was refused after the grant")
    log(f"{args.principal} produces after the grant")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=["bob", "mtls"])
    parser.add_argument("--sasl", required=True, help="the SASL_PLAINTEXT listener")
    parser.add_argument("--mtls", help="the SSL listener requiring a client certificate")
    parser.add_argument("--principal", default="User:CN=carol,OU=eng")
    parser.add_argument("--ca")
    parser.add_argument("--cert")
    parser.add_argument("--key")
    args = parser.parse_args()
    {"bob": bob, "mtls": mtls}[args.mode](args)
    print("OK")


if __name__ == "__main__":
    main()
