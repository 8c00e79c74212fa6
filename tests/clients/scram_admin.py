"""confluent-kafka's AdminClient makes and reads a SCRAM user (KIP-554), who then logs in.

alter_user_scram_credentials upserts bob's SCRAM-SHA-512 credential over the
admin's connection; describe_user_scram_credentials must then name exactly
that mechanism and iteration count (never the password); bob then lists the
cluster's topics over SASL_SSL with SCRAM-SHA-512, and a wrong password for
bob is refused with an authentication error. Prints OK.
"""

import argparse
import sys

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import (
    AdminClient,
    ScramCredentialInfo,
    ScramMechanism,
    UserScramCredentialUpsertion,
)


def settings(args, user, password):
    return {
        "bootstrap.servers": args.bootstrap,
        "security.protocol": "SASL_SSL",
        "ssl.ca.location": args.ca,
        "sasl.mechanism": "SCRAM-SHA-512",
        "sasl.username": user,
        "sasl.password": password,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--ca", required=True)
    parser.add_argument("--user", required=True)
    parser.add_argument("--password", required=True)
    args = parser.parse_args()

    admin = AdminClient(settings(args, args.user, args.password))
    info = ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, 8192)
    upsert = UserScramCredentialUpsertion("bob", info, b"bob-secret")
    for user, future in admin.alter_user_scram_credentials([upsert]).items():
        future.result(timeout=15)
        print(f"altered {user}")
    described = admin.describe_user_scram_credentials(["bob"])
    description = described["bob"].result(timeout=15)
    infos = [(i.mechanism, i.iterations) for i in description.scram_credential_infos]
    print(f"described bob: {infos}")
    assert infos == [(ScramMechanism.SCRAM_SHA_512, 8192)], infos

    bob = AdminClient(settings(args, "bob", "bob-secret"))
    topics = bob.list_topics(timeout=15).topics
    print(f"bob lists {sorted(topics)}")
    assert "secured" in topics, topics

    # librdkafka reports the refused login through error_cb (_AUTHENTICATION);
    # list_topics itself only sees that no broker could be reached.
    errors = []
    wrong = AdminClient({**settings(args, "bob", "guess"), "error_cb": errors.append, "log_level": 0})
    try:
        wrong.list_topics(timeout=5)
        sys.exit("a wrong password listed topics")
    except KafkaException as e:
        print(f"wrong password: {e.args[0]}; reported: {errors[:1]}")
    wrong.poll(1)
    assert any(e.code() == KafkaError._AUTHENTICATION for e in errors), errors
    print("OK")


if __name__ == "__main__":
    main()
