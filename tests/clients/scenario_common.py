"""What every Python client scenario shares: its arguments, the records it writes, and
the check of what it read back.

The records are a pure function of their index i (and the partition count P), so a
producer in one client and a consumer in another agree without passing files around;
kafkajs_scenario.js computes the same bytes. Record i goes to partition i % P, chosen
by the producer, so the expected order inside each partition is known exactly and no
client's partitioner (murmur2, crc32, ...) is being tested here.

    key        b"key-<i>"
    value      a small JSON object whose length varies with i; every 2,500th record
               carries a 64 KiB blob (a record bigger than the producers' default batch
               size), every 11th a non-ASCII character; every 1,000th is a tombstone
               (a null value, length -1 on the wire)
    headers    [("trace-id", b"t-<i as 8 hex digits>"),
                ("bytes", bytes([i % 256, 0x00, 0xff, (7 * i) % 256]))]  # NUL and 0xff
    timestamp  base + i milliseconds, set by the producer (CreateTime), where base is the
               producer's clock when it starts, to the second; a reader learns base from
               record 0 and checks every other timestamp against it exactly

The check: each partition holds exactly its records, in order, at offsets 0, 1, 2, ...
(a fresh topic, no transactions), with keys, values, headers and timestamps identical,
and nothing else. Before that, right after producing, check_codec_on_disk proves the
codec: every batch of the topic in the broker's segments carries the one asked for.
"""

import argparse
import os
import subprocess
import sys
import time
import traceback

CODECS = ("none", "gzip", "snappy", "lz4", "zstd")
# How many mismatches a failed check prints before it stops listing them.
MISMATCHES_SHOWN_MAX = 10


def parse_args(description):
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--bootstrap", required=True, help="host:port of the broker")
    parser.add_argument("--topic", required=True)
    parser.add_argument("--partitions", type=int, default=3)
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--compression", choices=CODECS, default="none")
    only = parser.add_mutually_exclusive_group()
    only.add_argument(
        "--consume-only",
        action="store_true",
        help="skip creating and producing: only read the topic back and check it "
        "(to check what another client, kafkajs, or another broker process wrote)",
    )
    only.add_argument(
        "--produce-only",
        action="store_true",
        help="only create the topic and produce (the first half of run.sh's restart case)",
    )
    parser.add_argument(
        "--deadline-s",
        type=float,
        default=120.0,
        help="give up on any wait (create, produce, consume) after this long in total",
    )
    args = parser.parse_args()
    if args.partitions < 1 or args.records < 1:
        parser.error("--partitions and --records must be at least 1")
    return args


def key(i):
    return f"key-{i}".encode()


def value(i):
    if i % 1000 == 500:
        return None
    note = "crème brûlée" if i % 11 == 0 else "plain"
    blob = "x" * 65536 if i % 2500 == 1234 else ""
    text = (
        f'{{"order":{i},"customer":"c-{i % 97}","qty":{i % 13},'
        f'"note":"{note}","pad":"{"ab" * (i % 29)}","blob":"{blob}"}}'
    )
    return text.encode("utf-8")


def headers(i):
    return [
        ("trace-id", f"t-{i:08x}".encode()),
        ("bytes", bytes([i % 256, 0x00, 0xFF, (7 * i) % 256])),
    ]


def partition(i, partitions):
    return i % partitions


def timestamp_base_ms():
    """The producer's timestamp base: now, to the second. Near now, so that no retention
    rule of the broker's takes the records for old."""
    return int(time.time()) * 1000


def timestamp(base_ms, i):
    return base_ms + i


def send_kwargs(i, partitions, base_ms, timestamp_name="timestamp_ms"):
    """Record i as the keyword arguments of a client's send: key, value, headers, its
    partition and its CreateTime timestamp, the last under the client's own name for it
    (kafka-python and aiokafka: timestamp_ms; confluent-kafka: timestamp)."""
    return {
        "key": key(i),
        "value": value(i),
        "headers": headers(i),
        "partition": partition(i, partitions),
        timestamp_name: timestamp(base_ms, i),
    }


class Step:
    """Prints one line per scenario step with its duration, so a failure's output says
    how far the client got."""

    def __init__(self, client):
        self.client = client
        self.started = time.monotonic()

    def log(self, message):
        elapsed = time.monotonic() - self.started
        print(f"[{self.client} {elapsed:6.2f}s] {message}", file=sys.stderr, flush=True)


class ScenarioFailed(Exception):
    """A check failed; `run` prints its message as the one `FAIL:` line."""


def fail(message):
    raise ScenarioFailed(message)


def run(main):
    """Runs a scenario's main(): an exception the scenario did not expect still ends in
    one `FAIL:` line (run.sh quotes it), after its traceback."""
    try:
        main()
    except ScenarioFailed as e:
        print(f"FAIL: {e}", file=sys.stderr, flush=True)
        sys.exit(1)
    except Exception as e:  # noqa: BLE001 - anything at all is a failed scenario
        traceback.print_exc()
        print(f"FAIL: {type(e).__name__}: {e}", file=sys.stderr, flush=True)
        sys.exit(1)


def record_tuple(r):
    """(offset, key, value, headers, timestamp) of a kafka-python or aiokafka record, for
    check(); a timestamp that is not CreateTime (type 0) is returned as text, so that it
    shows as a mismatch."""
    ts = r.timestamp if r.timestamp_type == 0 else f"{r.timestamp} of type {r.timestamp_type}"
    return (r.offset, r.key, r.value, r.headers, ts)


def take_batches(batches, consumed):
    """Adds what a kafka-python poll() or aiokafka getmany() returned (TopicPartition ->
    records) to `consumed` (partition -> record tuples, check()'s shape); returns how many
    records that was."""
    count = 0
    for tp, records in batches.items():
        for r in records:
            consumed.setdefault(tp.partition, []).append(record_tuple(r))
        count += len(records)
    return count


def normalize_headers(raw):
    """Clients return headers as None, a list or a tuple of (str, bytes); compare lists."""
    if not raw:
        return []
    return [(k, bytes(v) if v is not None else None) for k, v in raw]


def check(consumed, records, partitions):
    """`consumed` maps partition -> list of (offset, key, value, headers, timestamp_ms) in
    the order the client returned them. Fails with the first mismatches if anything is
    missing, extra, out of order or changed."""
    problems = []
    base_ms = _timestamp_base_seen(consumed, problems)
    for p in range(partitions):
        expected = list(range(p, records, partitions))
        got = consumed.get(p, [])
        if len(got) != len(expected):
            problems.append(f"partition {p}: {len(got)} records, expected {len(expected)}")
        for position, (i, record) in enumerate(zip(expected, got)):
            offset, k, v, h, ts = record
            where = f"partition {p} position {position} (record {i})"
            if offset != position:
                problems.append(f"{where}: offset {offset}, expected {position}")
            if k != key(i):
                problems.append(f"{where}: key {k!r}, expected {key(i)!r}")
            if v != value(i):
                problems.append(f"{where}: value {_short(v)}, expected {_short(value(i))}")
            if normalize_headers(h) != headers(i):
                problems.append(f"{where}: headers {h!r}, expected {headers(i)!r}")
            if base_ms is not None and ts != timestamp(base_ms, i):
                problems.append(f"{where}: timestamp {ts}, expected {timestamp(base_ms, i)} (record 0's + {i})")
            if len(problems) >= MISMATCHES_SHOWN_MAX:
                break
        if len(problems) >= MISMATCHES_SHOWN_MAX:
            break
    unknown = sorted(set(consumed) - set(range(partitions)))
    if unknown:
        problems.append(f"records from partitions {unknown}, which should not exist")
    if problems:
        fail("records read back differ from those written:\n  " + "\n  ".join(problems))


def _timestamp_base_seen(consumed, problems):
    """The base the producer used, read off record 0 (partition 0, offset 0), if it looks
    like one: within a day of now and on a whole second."""
    first = consumed.get(0, [])
    if not first:
        return None
    base_ms = first[0][4]
    if not isinstance(base_ms, int) or abs(base_ms - time.time() * 1000) > 86_400_000 or base_ms % 1000:
        problems.append(f"record 0's timestamp {base_ms!r} is not the producer's (now, to the second)")
        return None
    return base_ms


def check_delivered(delivered, records, partitions):
    """`delivered` maps record index -> (partition, offset) from the producer's delivery
    reports: each record must have been acknowledged once, at the offset the check above
    expects (partition p's records at 0, 1, 2, ... in index order)."""
    problems = []
    for i in range(records):
        want = (partition(i, partitions), i // partitions)
        got = delivered.get(i)
        if got != want:
            problems.append(f"record {i}: acknowledged at {got}, expected (partition, offset) {want}")
            if len(problems) >= MISMATCHES_SHOWN_MAX:
                break
    if problems:
        fail("produce acknowledgements differ:\n  " + "\n  ".join(problems))


def check_end_offsets(end_offsets, records, partitions, api):
    """`end_offsets` maps partition -> the log end offset (high watermark) the client's
    ListOffsets call returned: partition p holds exactly its share of the records."""
    want = {p: len(range(p, records, partitions)) for p in range(partitions)}
    if dict(end_offsets) != want:
        fail(f"{api} end offsets {dict(end_offsets)}, expected {want}")


def check_codec_on_disk(topic, codec, step):
    """Proves the codec the producer really used: check_codec.sh reads the topic's
    segments with `spool dump-log` and requires every batch to carry `compresscodec:
    <codec>`, so a client that silently fell back to no compression fails even though its
    records read back intact. Call it right after producing (before deleting the topic).
    Needs SPOOL_BIN and SPOOL_LOG_DIR, which run.sh sets; without them (a scenario run by
    hand against some broker) it says so and checks nothing."""
    if not os.environ.get("SPOOL_LOG_DIR"):
        step.log("codec on the wire not checked: SPOOL_LOG_DIR is not set (run.sh sets it)")
        return
    script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "check_codec.sh")
    result = subprocess.run(["bash", script, topic, codec], capture_output=True, text=True, timeout=60)
    said = (result.stdout + result.stderr).strip().splitlines() or [f"exited {result.returncode}"]
    if result.returncode != 0:
        fail(said[-1].removeprefix("FAIL: "))
    step.log(said[-1])


def _short(b):
    return repr(b) if b is None or len(b) <= 80 else f"{b[:60]!r}... ({len(b)} bytes)"
