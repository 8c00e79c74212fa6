"""Chapter 8 with real clients and injected faults: a producer's retries write each
record once only if the broker checks sequence numbers.

    broker  <──  fault proxy  <──  producer (confluent-kafka or kafka-python)
    (spool serve, advertising the proxy's address, so every connection the client
     makes after bootstrap goes through the proxy too)

The proxy forwards bytes both ways, reading Kafka's frames to know which response
answers which request. Every k-th Produce *response* it never delivers: it closes
both connections instead. The broker has written that batch; the client only sees a
dead connection with a request in flight, so it must send the batch again — the
retry-after-write that duplicates records without idempotence.

The producer sends N keyed records, record i to partition i % P, in order. When it has
flushed, the proxy stops injecting faults and a consumer reads every partition from
the start (through the proxy, which now only forwards). The check: every record is
there (at-least-once holds either way), and

    --idempotence on:   no record twice, and each partition in send order
    --idempotence off:  some record twice (proving the faults really caused
                        retries of written batches; otherwise "on" proves nothing)

With --kill-broker-at F the broker is also killed (SIGKILL: no clean shutdown, no
final snapshot) once F faults have been injected, and restarted on the same port and
log directory while the producer keeps retrying: the restarted broker must rebuild
every producer's state from its snapshots and the recovered log, or a retry that
crosses the restart is written twice.

Prints one summary line, `faults=F records=N duplicates=D missing=M out_of_order=O`,
and exits non-zero when the check fails. tests/it/idempotence_clients.rs runs it.
"""

import argparse
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

from ports import free_port

PRODUCE = 0


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--spool", required=True, help="the spool binary")
    p.add_argument("--client", required=True, choices=["confluent-kafka", "kafka-python", "spool"])
    p.add_argument("--idempotence", required=True, choices=["on", "off"])
    p.add_argument("--records", type=int, default=3000)
    p.add_argument("--partitions", type=int, default=3)
    p.add_argument("--drop-every", type=int, default=4, help="drop every k-th Produce response")
    p.add_argument("--kill-broker-at", type=int, default=0, help="SIGKILL and restart the broker after F faults")
    p.add_argument("--deadline-s", type=float, default=90.0, help="a bound for a loaded machine, not a speed target")
    return p.parse_args()


def read_exact(sock, n):
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("closed")
        buf += chunk
    return bytes(buf)


def read_frame(sock):
    size = struct.unpack(">i", read_exact(sock, 4))[0]
    return struct.pack(">i", size) + read_exact(sock, size)


class FaultProxy:
    """Forwards 127.0.0.1:listen_port to the broker; drops every k-th Produce response
    by closing both sides while `faulty` is set."""

    def __init__(self, listen_port, broker_port, drop_every):
        self.broker_port = broker_port
        self.drop_every = drop_every
        self.faulty = True
        self.produce_responses = 0
        self.faults = 0
        self.lock = threading.Lock()
        self.server = socket.create_server(("127.0.0.1", listen_port))
        threading.Thread(target=self.accept_loop, daemon=True).start()

    def accept_loop(self):
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.broker_port))
            except OSError:  # the broker is down (being restarted): the client retries
                self.close(client)
                continue
            for s in (client, upstream):
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            api_keys = {}  # correlation id -> api key, for the requests in flight
            threading.Thread(target=self.requests, args=(client, upstream, api_keys), daemon=True).start()
            threading.Thread(target=self.responses, args=(client, upstream, api_keys), daemon=True).start()

    @staticmethod
    def close(*socks):
        for s in socks:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def requests(self, client, upstream, api_keys):
        try:
            while True:
                frame = read_frame(client)
                api_key, _version, correlation_id = struct.unpack(">hhi", frame[4:12])
                api_keys[correlation_id] = api_key
                upstream.sendall(frame)
        except OSError:
            self.close(client, upstream)

    def responses(self, client, upstream, api_keys):
        try:
            while True:
                frame = read_frame(upstream)
                correlation_id = struct.unpack(">i", frame[4:8])[0]
                if api_keys.pop(correlation_id, None) == PRODUCE:
                    with self.lock:
                        self.produce_responses += 1
                        drop = self.faulty and self.produce_responses % self.drop_every == 0
                        self.faults += drop
                    if drop:
                        # The broker wrote the batch; the client never hears so.
                        self.close(client, upstream)
                        return
                client.sendall(frame)
        except OSError:
            self.close(client, upstream)


def start_broker(spool, workdir, port, advertised_port, deadline):
    log = open(os.path.join(workdir, "broker.log"), "a")
    broker = subprocess.Popen(
        [
            spool,
            "serve",
            "--override", f"listeners=PLAINTEXT://127.0.0.1:{port}",
            "--override", f"advertised.listeners=PLAINTEXT://127.0.0.1:{advertised_port}",
            "--override", f"log.dirs={workdir}/logs",
            # Small segments: rolls, so producer snapshots, during the run.
            "--override", "log.segment.bytes=16384",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=dict(os.environ, NO_COLOR="1", RUST_LOG="warn"),
    )
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return broker
        except OSError:
            if broker.poll() is not None:
                sys.exit(f"the broker exited: {open(log.name).read()}")
            time.sleep(0.05)
    broker.kill()
    sys.exit("the broker did not listen in time")


def key(i):
    return f"key-{i}".encode()


def value(i):
    return f"record-{i}".encode()


def produce_confluent(bootstrap, topic, args, deadline):
    from confluent_kafka import Producer
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient({"bootstrap.servers": bootstrap})
    futures = admin.create_topics([NewTopic(topic, args.partitions, 1)])
    futures[topic].result(timeout=10)
    failures = []
    producer = Producer(
        {
            "bootstrap.servers": bootstrap,
            "enable.idempotence": args.idempotence == "on",
            "acks": "all",
            "linger.ms": 2,
            "batch.num.messages": 25,
            "max.in.flight.requests.per.connection": 5,
            "retries": 1_000_000,
            "retry.backoff.ms": 20,
            "message.timeout.ms": int((deadline - time.monotonic()) * 1000),
            "reconnect.backoff.ms": 10,
            "log_level": 3,  # the injected disconnects are expected: no notice per fault
        }
    )

    def report(err, msg):
        if err is not None:
            failures.append(err)

    for i in range(args.records):
        while True:
            try:
                producer.produce(topic, key=key(i), value=value(i), partition=i % args.partitions, on_delivery=report)
                break
            except BufferError:
                producer.poll(0.05)
        producer.poll(0)
    left = producer.flush(max(1.0, deadline - time.monotonic()))
    if left or failures:
        sys.exit(f"confluent-kafka: {left} undelivered, failures: {failures[:5]}")


def produce_kafka_python(bootstrap, topic, args, deadline):
    from kafka import KafkaAdminClient, KafkaProducer
    from kafka.admin import NewTopic

    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    admin.create_topics([NewTopic(topic, args.partitions, 1)])
    admin.close()
    producer = KafkaProducer(
        bootstrap_servers=bootstrap,
        enable_idempotence=args.idempotence == "on",
        acks="all",
        linger_ms=2,
        batch_size=400,
        max_in_flight_requests_per_connection=5,
        retries=1_000_000,
        retry_backoff_ms=20,
        reconnect_backoff_ms=10,
        request_timeout_ms=10_000,
        delivery_timeout_ms=int((deadline - time.monotonic()) * 1000),
    )
    futures = [
        producer.send(topic, key=key(i), value=value(i), partition=i % args.partitions) for i in range(args.records)
    ]
    producer.flush(timeout=max(1.0, deadline - time.monotonic()))
    failed = [f.exception for f in futures if not f.succeeded()]
    producer.close()
    if failed:
        sys.exit(f"kafka-python: {len(failed)} records failed: {failed[:5]}")


def produce_spool(bootstrap, topic, args, deadline):
    """spool's own producer (chapter 4, idempotent since chapter 8) through `spool
    produce`, one `key:value` line per record; it partitions by murmur2(key)."""
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(topic, args.partitions, 1)])[topic].result(timeout=10)
    lines = "".join(f"{key(i).decode()}:{value(i).decode()}\n" for i in range(args.records))
    props = {
        "enable.idempotence": "true" if args.idempotence == "on" else "false",
        "batch.size": "256",
        "retry.backoff.ms": "20",
        "delivery.timeout.ms": str(int((deadline - time.monotonic()) * 1000)),
    }
    command = [args.spool, "produce", "--bootstrap-server", bootstrap, "--topic", topic, "--key-separator", ":"]
    for k, v in props.items():
        command += ["--producer-property", f"{k}={v}"]
    done = subprocess.run(
        command, input=lines.encode(), capture_output=True, timeout=max(1.0, deadline - time.monotonic())
    )
    if done.returncode != 0:
        sys.exit(f"spool produce failed ({done.returncode}): {done.stderr.decode()[-2000:]}")


def consume_all(bootstrap, topic, args, deadline):
    """Every partition from offset 0 to its end: {partition: [record index, ...]}."""
    from confluent_kafka import Consumer, TopicPartition

    consumer = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": "unused", "enable.auto.commit": False}
    )
    ends = {}
    for p in range(args.partitions):
        _, high = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
        ends[p] = high
    consumer.assign([TopicPartition(topic, p, 0) for p in range(args.partitions)])
    got = {p: [] for p in range(args.partitions)}
    positions = {p: 0 for p in range(args.partitions)}
    while any(positions[p] < ends[p] for p in ends):
        if time.monotonic() > deadline:
            sys.exit(f"consume timed out at {positions} of {ends}")
        msg = consumer.poll(1.0)
        if msg is None:
            continue
        if msg.error():
            sys.exit(f"consume error: {msg.error()}")
        i = int(msg.value().decode().removeprefix("record-"))
        # spool produce partitions by murmur2(key); the Python producers choose i % P.
        chosen = args.client == "spool" or msg.partition() == i % args.partitions
        if msg.key() != key(i) or not chosen:
            sys.exit(f"record {i} has key {msg.key()} on partition {msg.partition()}")
        got[msg.partition()].append(i)
        positions[msg.partition()] = msg.offset() + 1
    consumer.close()
    return got


def main():
    args = parse_args()
    deadline = time.monotonic() + args.deadline_s
    workdir = tempfile.mkdtemp(prefix="spool-idem-")
    broker_port, proxy_port = free_port(), free_port()
    proxy = FaultProxy(proxy_port, broker_port, args.drop_every)
    broker = start_broker(args.spool, workdir, broker_port, proxy_port, deadline)
    ok = False
    restarts = []
    try:
        bootstrap = f"127.0.0.1:{proxy_port}"
        topic = f"idem-{args.client}-{args.idempotence}"
        produce = {
            "confluent-kafka": produce_confluent,
            "kafka-python": produce_kafka_python,
            "spool": produce_spool,
        }[args.client]
        if args.kill_broker_at:

            def kill_and_restart():
                while proxy.faults < args.kill_broker_at and time.monotonic() < deadline:
                    time.sleep(0.01)
                broker.kill()  # SIGKILL: the page cache survives, the clean shutdown does not run
                broker.wait()
                restarts.append(start_broker(args.spool, workdir, broker_port, proxy_port, deadline))

            killer = threading.Thread(target=kill_and_restart, daemon=True)
            killer.start()
        produce(bootstrap, topic, args, deadline)
        if args.kill_broker_at:
            killer.join(timeout=max(0.0, deadline - time.monotonic()))
            if not restarts:
                sys.exit("FAIL: the broker was not killed and restarted before the producer finished")
            broker = restarts[0]
        proxy.faulty = False
        got = consume_all(bootstrap, topic, args, deadline)
        seen = [i for records in got.values() for i in records]
        duplicates = len(seen) - len(set(seen))
        missing = args.records - len(set(seen))
        out_of_order = sum(
            1 for records in got.values() for a, b in zip(records, records[1:]) if b <= a
        )
        print(
            f"client={args.client} idempotence={args.idempotence} faults={proxy.faults} restarts={len(restarts)} "
            f"records={args.records} duplicates={duplicates} missing={missing} out_of_order={out_of_order}"
        )
        problems = []
        if proxy.faults == 0:
            problems.append("no fault was injected")
        if missing:
            problems.append(f"{missing} records missing")
        if args.idempotence == "on" and (duplicates or out_of_order):
            problems.append(f"{duplicates} duplicates, {out_of_order} out of order with idempotence on")
        if args.idempotence == "off" and duplicates == 0:
            problems.append("no duplicates with idempotence off: the faults did not cause retries of written batches")
        if problems:
            sys.exit("FAIL: " + "; ".join(problems))
        ok = True
    finally:
        for process in [broker, *restarts]:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
        if ok:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            print(f"broker log and data kept in {workdir}", file=sys.stderr)


if __name__ == "__main__":
    main()
