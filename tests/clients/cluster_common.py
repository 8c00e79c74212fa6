"""What the cluster scenarios (tests/it/cluster_clients.rs, chapter 6) share on top of
scenario_common.py: their arguments, a deadline, and the check of a replicated topic's
layout as a client's own metadata call reports it.

The records, the produce order (record i into partition i % P) and the check of what is
read back are scenario_common.py's, so a topic written by one client (kafkajs) can be
read back and checked by another (confluent-kafka).

The layout a topic of replication factor R must have on a cluster of B brokers, with
P >= B partitions placed by the controller's striped placer:

    every partition  R replicas, all of them in the ISR, its leader one of them
    the leaders      every broker leads at least one partition, so a client bootstrapped
                     from one broker must follow Metadata to the others to produce
"""

import argparse
import time

import scenario_common as sc


def parse_args(description):
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--bootstrap", required=True, help="host:port of ONE broker of the cluster")
    parser.add_argument("--topic", required=True)
    parser.add_argument("--partitions", type=int, default=6)
    parser.add_argument("--replication-factor", type=int, default=3)
    parser.add_argument("--brokers", required=True, help="the node ids of the brokers, comma-separated")
    parser.add_argument("--records", type=int, default=2_000)
    parser.add_argument("--deadline-s", type=float, default=60.0)
    parser.add_argument(
        "--consume-only",
        action="store_true",
        help="only read the topic back and check it (what kafkajs wrote)",
    )
    args = parser.parse_args()
    args.brokers = sorted(int(b) for b in args.brokers.split(","))
    if args.partitions < len(args.brokers) or args.records < args.partitions:
        parser.error("--partitions must be at least the broker count, --records at least the partitions")
    return args


class Deadline:
    """One deadline for the whole scenario: `remaining()` fails the scenario once it passed."""

    def __init__(self, seconds):
        self.seconds = seconds
        self.at = time.monotonic() + seconds

    def remaining(self):
        left = self.at - time.monotonic()
        if left <= 0:
            sc.fail(f"deadline of {self.seconds}s passed")
        return left


def check_brokers(api, node_ids, args):
    """`node_ids`: the brokers a client's Metadata or DescribeCluster listed."""
    if sorted(node_ids) != args.brokers:
        sc.fail(f"{api} lists brokers {sorted(node_ids)}, expected {args.brokers}")


def layout_problems(layout, args):
    """`layout` maps partition -> (leader, replicas, isr). Returns what is wrong with it
    (empty when the topic is fully replicated and its leaders cover every broker)."""
    problems = []
    if sorted(layout) != list(range(args.partitions)):
        problems.append(f"partitions {sorted(layout)}, expected 0..{args.partitions - 1}")
    for p, (leader, replicas, isr) in sorted(layout.items()):
        if len(set(replicas)) != args.replication_factor or not set(replicas) <= set(args.brokers):
            problems.append(f"partition {p}: replicas {replicas}, expected {args.replication_factor} of {args.brokers}")
        if sorted(isr) != sorted(replicas):
            problems.append(f"partition {p}: ISR {isr}, expected every replica {replicas}")
        if leader not in replicas:
            problems.append(f"partition {p}: leader {leader} is not a replica {replicas}")
    leaders = {leader for leader, _, _ in layout.values()}
    if leaders != set(args.brokers):
        problems.append(f"leaders {sorted(leaders)}: not every broker of {args.brokers} leads a partition")
    return problems


def wait_for_layout(api, describe, args, deadline, step):
    """Polls `describe()` (a client's metadata call returning a layout) until the layout
    is right: right after CreateTopics a broker may not have the topic in its image yet.
    Fails with the last layout seen when the deadline passes."""
    while True:
        layout = describe()
        problems = layout_problems(layout, args)
        if not problems:
            step.log(f"{api}: {args.partitions} partitions, RF {args.replication_factor}, leaders "
                     f"{[layout[p][0] for p in sorted(layout)]}, every ISR full")
            return layout
        if deadline.at - time.monotonic() < 1:
            sc.fail(f"{api} of {args.topic}: " + "; ".join(problems))
        time.sleep(0.2)
