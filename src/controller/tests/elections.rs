//! The elections an operator asks for or the controller's timer makes:
//! ElectLeaders of type UNCLEAN, and the automatic leader rebalance
//! (`auto.leader.rebalance.enable`), each a table of steps as in
//! [`super::scenarios`].

use super::scenarios::{check, Step::*};
use super::*;

/// A cluster of brokers 1, 2 and 3, all unfenced, whose controller checks
/// for imbalance every second.
fn three_brokers() -> Cluster {
    let mut cluster = Cluster::new();
    cluster.controller.config.leader_imbalance_check_interval_ms = 1_000;
    for id in [1, 2, 3] {
        cluster.register(id).unwrap();
        cluster.heartbeat(id, false, false).unwrap();
    }
    cluster
}

/// A topic `name` with the given replica assignments.
fn assigned(name: &str, assignments: &[&[i32]]) -> CreatableTopic {
    CreatableTopic {
        name: name.into(),
        num_partitions: -1,
        replication_factor: -1,
        assignments: (0..).zip(assignments.iter().map(|a| a.to_vec())).collect(),
        configs: BTreeMap::new(),
    }
}

/// Kafka's automatic leader rebalance (QuorumController's
/// `maybeBalancePartitionLeaders`): once a partition is led by another than
/// its first replica, the controller waits
/// `leader.imbalance.check.interval.seconds`, then elects the preferred
/// replica of every such partition where it is in the ISR and active (leader
/// and partition epochs bumped, as a preferred ElectLeaders); while it is
/// not, the check comes back every interval, and nothing moves before one.
#[test]
fn leadership_returns_to_the_preferred_replica_after_the_check_interval() {
    let mut cluster = three_brokers();
    cluster.create(assigned("t", &[&[1, 2, 3]])).unwrap();
    check(
        &mut cluster,
        &[("t", 0)],
        &[
            (Balance, "moved []", &["leader 1 isr [1, 2, 3] epochs 0/0"], &[]),
            (Fence(1), "fenced", &["leader 2 isr [2, 3] epochs 1/1"], &[1]),
            (At(100), "", &["leader 2 isr [2, 3] epochs 1/1"], &[1]),
            (Balance, "moved []", &["leader 2 isr [2, 3] epochs 1/1"], &[1]),
            (Heartbeat(1), "unfenced", &["leader 2 isr [2, 3] epochs 1/1"], &[]),
            // Due, but the preferred replica is not in the ISR yet.
            (At(1_100), "", &["leader 2 isr [2, 3] epochs 1/1"], &[]),
            (Balance, "moved []", &["leader 2 isr [2, 3] epochs 1/1"], &[]),
            (
                Alter("t", 0, &[2, 3, 1]),
                "isr [2, 3, 1] epochs 1/2",
                &["leader 2 isr [2, 3, 1] epochs 1/2"],
                &[],
            ),
            (At(2_099), "", &["leader 2 isr [2, 3, 1] epochs 1/2"], &[]),
            (Balance, "moved []", &["leader 2 isr [2, 3, 1] epochs 1/2"], &[]),
            (At(2_100), "", &["leader 2 isr [2, 3, 1] epochs 1/2"], &[]),
            (Balance, "moved [\"t-0\"]", &["leader 1 isr [2, 3, 1] epochs 2/3"], &[]),
            (At(10_000), "", &["leader 1 isr [2, 3, 1] epochs 2/3"], &[]),
            (Balance, "moved []", &["leader 1 isr [2, 3, 1] epochs 2/3"], &[]),
        ],
    );
}

/// With `auto.leader.rebalance.enable=false` the controller never moves a
/// leadership back by itself: only ElectLeaders does.
#[test]
fn no_automatic_rebalance_when_disabled() {
    let mut cluster = three_brokers();
    cluster.controller.config.auto_leader_rebalance_enable = false;
    cluster.create(assigned("t", &[&[1, 2, 3]])).unwrap();
    check(
        &mut cluster,
        &[("t", 0)],
        &[
            (Fence(1), "fenced", &["leader 2 isr [2, 3] epochs 1/1"], &[1]),
            (Balance, "moved []", &["leader 2 isr [2, 3] epochs 1/1"], &[1]),
            (Heartbeat(1), "unfenced", &["leader 2 isr [2, 3] epochs 1/1"], &[]),
            (
                Alter("t", 0, &[2, 3, 1]),
                "isr [2, 3, 1] epochs 1/2",
                &["leader 2 isr [2, 3, 1] epochs 1/2"],
                &[],
            ),
            (At(1_000_000), "", &["leader 2 isr [2, 3, 1] epochs 1/2"], &[]),
            (Balance, "moved []", &["leader 2 isr [2, 3, 1] epochs 1/2"], &[]),
            (Elect("t", 0), "elected", &["leader 1 isr [2, 3, 1] epochs 2/3"], &[]),
        ],
    );
}

/// A rebalance makes at most `MAX_ELECTIONS_PER_IMBALANCE` elections (1000
/// in Kafka, one here); when it hits the bound the next runs at once, not an
/// interval later.
#[test]
fn a_rebalance_is_bounded_and_the_rest_follows_at_once() {
    let mut cluster = three_brokers();
    cluster.controller.config.leader_elections_per_rebalance_max = 1;
    cluster.create(assigned("t", &[&[1, 2], &[1, 2]])).unwrap();
    let led_by_2 = &["leader 2 isr [2, 1] epochs 1/2", "leader 2 isr [2, 1] epochs 1/2"][..];
    check(
        &mut cluster,
        &[("t", 0), ("t", 1)],
        &[
            (Fence(1), "fenced", &["leader 2 isr [2] epochs 1/1", "leader 2 isr [2] epochs 1/1"], &[1]),
            (Balance, "moved []", &["leader 2 isr [2] epochs 1/1", "leader 2 isr [2] epochs 1/1"], &[1]),
            (Heartbeat(1), "unfenced", &["leader 2 isr [2] epochs 1/1", "leader 2 isr [2] epochs 1/1"], &[]),
            (
                Alter("t", 0, &[2, 1]),
                "isr [2, 1] epochs 1/2",
                &[led_by_2[0], "leader 2 isr [2] epochs 1/1"],
                &[],
            ),
            (Alter("t", 1, &[2, 1]), "isr [2, 1] epochs 1/2", led_by_2, &[]),
            (At(1_000), "", led_by_2, &[]),
            (Balance, "moved [\"t-0\"]", &["leader 1 isr [2, 1] epochs 2/3", led_by_2[1]], &[]),
            (
                Balance,
                "moved [\"t-1\"]",
                &["leader 1 isr [2, 1] epochs 2/3", "leader 1 isr [2, 1] epochs 2/3"],
                &[],
            ),
            (Balance, "moved []", &["leader 1 isr [2, 1] epochs 2/3", "leader 1 isr [2, 1] epochs 2/3"], &[]),
        ],
    );
}

/// ElectLeaders UNCLEAN (Kafka's `electLeader` with `ElectionType.UNCLEAN`,
/// whatever `unclean.leader.election.enable` says: the operator chose to
/// lose what only the ISR had): a partition with no leader and no live ISR
/// member elects a live replica outside the ISR, alone in the ISR, its
/// leader recovering. No live replica: ELIGIBLE_LEADERS_NOT_AVAILABLE (a
/// preferred election: PREFERRED_LEADER_NOT_AVAILABLE); a partition with a
/// leader: ELECTION_NOT_NEEDED; no such partition: UNKNOWN_TOPIC_OR_PARTITION.
#[test]
fn an_unclean_election_elects_a_live_replica_outside_the_isr() {
    let mut cluster = three_brokers();
    cluster.create(assigned("t", &[&[1, 2]])).unwrap();
    check(
        &mut cluster,
        &[("t", 0)],
        &[
            (ElectUnclean("t", 0), "ElectionNotNeeded", &["leader 1 isr [1, 2] epochs 0/0"], &[]),
            (Fence(2), "fenced", &["leader 1 isr [1] epochs 0/1"], &[2]),
            (Fence(1), "fenced", &["leader -1 isr [1] epochs 1/2"], &[1, 2]),
            (ElectUnclean("t", 0), "EligibleLeadersNotAvailable", &["leader -1 isr [1] epochs 1/2"], &[1, 2]),
            (Elect("t", 0), "PreferredLeaderNotAvailable", &["leader -1 isr [1] epochs 1/2"], &[1, 2]),
            // Back, but outside the ISR: a clean election cannot pick it.
            (Heartbeat(2), "unfenced", &["leader -1 isr [1] epochs 1/2"], &[1]),
            (ElectUnclean("t", 0), "elected", &["leader 2 isr [2] epochs 2/3"], &[1]),
            (ElectUnclean("t", 0), "ElectionNotNeeded", &["leader 2 isr [2] epochs 2/3"], &[1]),
            (ElectUnclean("t", 1), "UnknownTopicOrPartition", &["leader 2 isr [2] epochs 2/3"], &[1]),
            (ElectUnclean("u", 0), "UnknownTopicOrPartition", &["leader 2 isr [2] epochs 2/3"], &[1]),
        ],
    );
    let recovering = cluster.image.partition("t", 0).unwrap().leader_recovery_state;
    assert_eq!(recovering, partition_change::RECOVERING, "the new leader may lack committed records");
}
