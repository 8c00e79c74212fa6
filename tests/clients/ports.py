"""Ports for the brokers a script starts, claimed as the Rust tests claim theirs.

The Rust harness (tests/it/common/cluster/ports.rs) takes ports from the band
just below the kernel's ephemeral range, where no outgoing connection and no
bind to port 0 ever lands, and claims each with flock on
$TMPDIR/spool-test-ports/<port>.lock for as long as its process lives. These
scripts do the same, so a port one test was given is never another's.
"""

import fcntl
import os
import random
import socket

BAND = 10_000
_held = []  # the claimed lock files: their locks last as long as this process


def _band(span):
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            first, last = (int(n) for n in f.read().split())
    except (OSError, ValueError):
        first, last = 32768, 60999
    room = BAND + span
    if first >= 1024 + room:
        return first - room, first - 1 - span
    if last + room <= 65535:
        return last + 1, last + BAND
    raise SystemExit(f"the ephemeral range {first}-{last} leaves no band of {BAND} ports")


def _claim(port):
    directory = os.path.join(os.environ.get("TMPDIR", "/tmp"), "spool-test-ports")
    os.makedirs(directory, exist_ok=True)
    f = open(os.path.join(directory, f"{port}.lock"), "a")
    try:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with socket.socket() as s:
            s.bind(("127.0.0.1", port))
    except OSError:
        f.close()
        return None
    return f


def free_ports(offsets):
    """A base port such that base + each offset is free and claimed."""
    low, high = _band(max(offsets))
    width = high - low + 1
    start = random.randrange(width)
    for step in range(width):
        base = low + (start + step) % width
        claims = []
        for offset in offsets:
            f = _claim(base + offset)
            if f is None:
                break
            claims.append(f)
        if len(claims) == len(offsets):
            _held.extend(claims)
            return base
        for f in claims:
            f.close()
    raise SystemExit(f"no free ports between {low} and {high}")


def free_port():
    """A port on 127.0.0.1 that no other test will be given."""
    return free_ports([0])
