//! Golden scenarios, each a table of steps read top to bottom like a figure:
//! what was done, what the controller answered, and the partitions and
//! fenced brokers after its records were committed.

use kafka_protocol::ResponseError;

use super::*;

#[derive(Debug, Clone, Copy)]
pub(super) enum Step {
    /// The clock moves to this time (ms).
    At(i64),
    Register(i32),
    Heartbeat(i32),
    /// A heartbeat with want_shut_down.
    ShutDown(i32),
    Tick,
    /// A topic with this many partitions and this replication factor.
    Create(&'static str, i32, i16),
    /// AlterPartition from the partition's leader.
    Alter(&'static str, i32, &'static [i32]),
    /// A preferred leader election.
    Elect(&'static str, i32),
    /// An unclean leader election (ElectLeaders type 1).
    ElectUnclean(&'static str, i32),
    /// A heartbeat with want_fence.
    Fence(i32),
    /// The driver's timer for the automatic leader rebalance.
    Balance,
}

fn run(cluster: &mut Cluster, step: Step) -> String {
    let heartbeat = |a: Result<HeartbeatAnswer, Error>| match a {
        Err(e) => format!("{e}"),
        Ok(a) if a.should_shut_down => "shut down".into(),
        Ok(a) if a.in_controlled_shutdown => "controlled shutdown".into(),
        Ok(a) if a.is_fenced => "fenced".into(),
        Ok(_) => "unfenced".into(),
    };
    match step {
        Step::At(now_ms) => {
            cluster.now_ms = now_ms;
            String::new()
        }
        Step::Register(id) => format!("epoch {}", cluster.register(id).unwrap()),
        Step::Heartbeat(id) => heartbeat(cluster.heartbeat(id, false, false)),
        Step::ShutDown(id) => heartbeat(cluster.heartbeat(id, false, true)),
        Step::Tick => format!("fenced {:?}", cluster.tick()),
        Step::Create(name, partitions, rf) => match cluster.create_placed(name, partitions, rf) {
            Ok(t) => format!("created {}x{}", t.num_partitions, t.replication_factor),
            Err(e) => format!("{:?}: {}", e.code, e.message),
        },
        Step::Alter(topic, index, isr) => match cluster.alter_isr(topic, index, isr) {
            Ok(p) => format!("isr {:?} epochs {}/{}", p.isr, p.leader_epoch, p.partition_epoch),
            Err(e) => format!("{e:?}"),
        },
        Step::Elect(topic, index) => cluster.elect(ElectionType::Preferred, topic, index),
        Step::ElectUnclean(topic, index) => cluster.elect(ElectionType::Unclean, topic, index),
        Step::Fence(id) => heartbeat(cluster.heartbeat(id, true, false)),
        Step::Balance => {
            let result = cluster.controller.balance_leaders(&cluster.image, cluster.now_ms);
            cluster.commit(result.records);
            let moved: Vec<String> = result.answer.iter().map(ToString::to_string).collect();
            format!("moved {moved:?}")
        }
    }
}

/// Runs the table, checking after each step the answer, each watched
/// partition (or "-" before it exists) and the fenced brokers.
pub(super) fn check(cluster: &mut Cluster, watched: &[(&str, i32)], table: &[(Step, &str, &[&str], &[i32])]) {
    for (row, (step, answer, partitions, fenced)) in table.iter().enumerate() {
        let got = run(cluster, *step);
        let shown: Vec<String> = watched
            .iter()
            .map(|(t, p)| cluster.image.partition(t, *p).map_or("-".into(), |_| cluster.show(t, *p)))
            .collect();
        let context = format!("row {row}: {step:?}");
        assert_eq!(got, *answer, "{context}");
        assert_eq!(shown, *partitions, "{context}");
        assert_eq!(cluster.fenced(), *fenced, "{context}");
    }
}

use Step::*;

impl Cluster {
    /// An ElectLeaders of `election_type` for one partition, committed; its answer.
    fn elect(&mut self, election_type: ElectionType, topic: &str, index: i32) -> String {
        let asked = [TopicPartition::new(topic, index)];
        let result = self.controller.elect_leaders(&self.image, election_type, &asked);
        self.commit(result.records);
        result.answer[0].1.map_or("elected".into(), |e| format!("{e:?}"))
    }
}

/// KIP-631's lifecycle: brokers register fenced and are unfenced once caught
/// up; one that stops heartbeating is fenced after broker.session.timeout.ms
/// (9000 ms), leaves every ISR, and the partition it led elects the next ISR
/// replica in replica order (leader epoch and partition epoch bumped; an ISR
/// shrink alone bumps only the partition epoch, as since KAFKA-15021). It
/// comes back unfenced, the leader grows the ISR with AlterPartition
/// (KIP-497), and a preferred election gives it its leadership back.
#[test]
fn a_silent_broker_is_fenced_and_its_leaderships_move() {
    let mut cluster = Cluster::new();
    let none: &[&str] = &["-", "-"];
    check(
        &mut cluster,
        &[("t", 0), ("t", 1)],
        &[
            (Register(1), "epoch 0", none, &[1]),
            (Register(2), "epoch 1", none, &[1, 2]),
            (Register(3), "epoch 2", none, &[1, 2, 3]),
            (Heartbeat(1), "unfenced", none, &[2, 3]),
            (Heartbeat(2), "unfenced", none, &[3]),
            (Heartbeat(3), "unfenced", none, &[]),
            (
                Create("t", 2, 3),
                "created 2x3",
                &["leader 1 isr [1, 2, 3] epochs 0/0", "leader 2 isr [2, 3, 1] epochs 0/0"],
                &[],
            ),
            (At(5_000), "", &["leader 1 isr [1, 2, 3] epochs 0/0", "leader 2 isr [2, 3, 1] epochs 0/0"], &[]),
            (
                Heartbeat(1),
                "unfenced",
                &["leader 1 isr [1, 2, 3] epochs 0/0", "leader 2 isr [2, 3, 1] epochs 0/0"],
                &[],
            ),
            (
                Heartbeat(3),
                "unfenced",
                &["leader 1 isr [1, 2, 3] epochs 0/0", "leader 2 isr [2, 3, 1] epochs 0/0"],
                &[],
            ),
            (At(9_000), "", &["leader 1 isr [1, 2, 3] epochs 0/0", "leader 2 isr [2, 3, 1] epochs 0/0"], &[]),
            (
                Tick,
                "fenced []",
                &["leader 1 isr [1, 2, 3] epochs 0/0", "leader 2 isr [2, 3, 1] epochs 0/0"],
                &[],
            ),
            (At(9_001), "", &["leader 1 isr [1, 2, 3] epochs 0/0", "leader 2 isr [2, 3, 1] epochs 0/0"], &[]),
            (Tick, "fenced [2]", &["leader 1 isr [1, 3] epochs 0/1", "leader 3 isr [3, 1] epochs 1/1"], &[2]),
            (
                Heartbeat(2),
                "unfenced",
                &["leader 1 isr [1, 3] epochs 0/1", "leader 3 isr [3, 1] epochs 1/1"],
                &[],
            ),
            (
                Alter("t", 1, &[3, 1, 2]),
                "isr [3, 1, 2] epochs 1/2",
                &["leader 1 isr [1, 3] epochs 0/1", "leader 3 isr [3, 1, 2] epochs 1/2"],
                &[],
            ),
            (
                Elect("t", 1),
                "elected",
                &["leader 1 isr [1, 3] epochs 0/1", "leader 2 isr [3, 1, 2] epochs 2/3"],
                &[],
            ),
            (
                Elect("t", 0),
                "ElectionNotNeeded",
                &["leader 1 isr [1, 3] epochs 0/1", "leader 2 isr [3, 1, 2] epochs 2/3"],
                &[],
            ),
        ],
    );
}

/// When the fenced leader is the last ISR member, Kafka (ELR off) keeps it in
/// the ISR and leaves the partition without a leader (-1) rather than elect a
/// replica that may lack committed records; when it comes back it is elected
/// again. With `unclean.leader.election.enable` on the topic, the other
/// replica is elected instead, alone in the ISR, its leader recovering.
#[test]
fn the_last_isr_member_is_kept_unless_unclean_election_is_enabled() {
    let mut cluster = Cluster::new();
    for id in [1, 2] {
        cluster.register(id).unwrap();
        cluster.heartbeat(id, false, false).unwrap();
    }
    for (name, unclean) in [("clean", "false"), ("unclean", "true")] {
        let topic = CreatableTopic {
            name: name.into(),
            num_partitions: -1,
            replication_factor: -1,
            assignments: vec![(0, vec![1, 2])],
            configs: [("unclean.leader.election.enable".to_string(), unclean.to_string())].into(),
        };
        cluster.create(topic).unwrap();
    }
    check(
        &mut cluster,
        &[("clean", 0), ("unclean", 0)],
        &[
            (
                Alter("clean", 0, &[1]),
                "isr [1] epochs 0/1",
                &["leader 1 isr [1] epochs 0/1", "leader 1 isr [1, 2] epochs 0/0"],
                &[],
            ),
            (
                Alter("unclean", 0, &[1]),
                "isr [1] epochs 0/1",
                &["leader 1 isr [1] epochs 0/1", "leader 1 isr [1] epochs 0/1"],
                &[],
            ),
            (At(5_000), "", &["leader 1 isr [1] epochs 0/1", "leader 1 isr [1] epochs 0/1"], &[]),
            (Heartbeat(2), "unfenced", &["leader 1 isr [1] epochs 0/1", "leader 1 isr [1] epochs 0/1"], &[]),
            (At(9_001), "", &["leader 1 isr [1] epochs 0/1", "leader 1 isr [1] epochs 0/1"], &[]),
            (Tick, "fenced [1]", &["leader -1 isr [1] epochs 1/2", "leader 2 isr [2] epochs 1/2"], &[1]),
            (Heartbeat(1), "unfenced", &["leader 1 isr [1] epochs 2/3", "leader 2 isr [2] epochs 1/2"], &[]),
        ],
    );
    assert_eq!(cluster.image.partition("unclean", 0).unwrap().leader_recovery_state, 1, "recovering");
    assert_eq!(cluster.image.partition("clean", 0).unwrap().leader_recovery_state, 0);
}

/// Controlled shutdown: the broker asking to shut down is marked so, its
/// leaderships move to other ISR members and it leaves every ISR; it is told
/// to shut down (and fenced) once it leads nothing.
#[test]
fn controlled_shutdown_moves_leadership_first() {
    let mut cluster = Cluster::new();
    let none: &[&str] = &["-"];
    check(
        &mut cluster,
        &[("t", 0)],
        &[
            (Register(1), "epoch 0", none, &[1]),
            (Register(2), "epoch 1", none, &[1, 2]),
            (Register(3), "epoch 2", none, &[1, 2, 3]),
            (Heartbeat(1), "unfenced", none, &[2, 3]),
            (Heartbeat(2), "unfenced", none, &[3]),
            (Heartbeat(3), "unfenced", none, &[]),
            (Create("t", 1, 3), "created 1x3", &["leader 1 isr [1, 2, 3] epochs 0/0"], &[]),
            (ShutDown(1), "controlled shutdown", &["leader 2 isr [2, 3] epochs 1/1"], &[]),
            (ShutDown(1), "shut down", &["leader 2 isr [2, 3] epochs 1/1"], &[1]),
        ],
    );
    assert!(cluster.image.broker(1).unwrap().in_controlled_shutdown);
}

/// BrokerHeartbeat's and BrokerRegistration's refusals: an unregistered id
/// (BROKER_ID_NOT_REGISTERED), another incarnation's epoch
/// (STALE_BROKER_EPOCH), another cluster (INCONSISTENT_CLUSTER_ID), and a new
/// incarnation while the old, unfenced one's session lives
/// (DUPLICATE_BROKER_REGISTRATION).
#[test]
fn registrations_and_heartbeats_are_checked() {
    let mut cluster = Cluster::new();
    let unknown = BrokerHeartbeat {
        broker_id: 9,
        broker_epoch: 0,
        current_metadata_offset: 0,
        want_fence: false,
        want_shut_down: false,
    };
    let refused = cluster.controller.heartbeat(&cluster.image, &unknown, 0).unwrap_err();
    assert_eq!(
        (refused.clone(), refused.code()),
        (Error::BrokerIdNotRegistered(9), ResponseError::BrokerIdNotRegistered)
    );
    cluster.register(1).unwrap();
    let stale = BrokerHeartbeat { broker_id: 1, broker_epoch: 7, ..unknown };
    let refused = cluster.controller.heartbeat(&cluster.image, &stale, 0).unwrap_err();
    assert_eq!(refused.code(), ResponseError::StaleBrokerEpoch);
    let mut elsewhere = cluster.request(2, 1);
    elsewhere.cluster_id = "other".into();
    let refused = cluster.controller.register_broker(&cluster.image, &elsewhere, 1, 0).unwrap_err();
    assert_eq!(refused.code(), ResponseError::InconsistentClusterId);
    cluster.heartbeat(1, false, false).unwrap(); // unfenced: its session holds the id
    let refused = cluster.register(1).unwrap_err();
    assert_eq!(refused, Error::DuplicateBrokerRegistration(1));
    assert_eq!(refused.code(), ResponseError::DuplicateBrokerRegistration);
}

/// A new incarnation, once the old one's session has expired, replaces the
/// registration: the old one, still unfenced (no tick ran), is fenced first —
/// out of the ISR, its leadership moved — and the new broker epoch is the
/// offset its RegisterBrokerRecord takes after those records. The same
/// incarnation registering again keeps its epoch and state.
#[test]
fn a_new_incarnation_replaces_the_old_registration() {
    let mut cluster = Cluster::new();
    for id in [1, 2] {
        cluster.register(id).unwrap();
        cluster.heartbeat(id, false, false).unwrap();
    }
    cluster.create_placed("t", 1, 2).unwrap();
    assert_eq!(cluster.show("t", 0), "leader 1 isr [1, 2] epochs 0/0");

    let again = cluster.request(1, cluster.incarnations[&1]);
    let same = cluster.controller.register_broker(&cluster.image, &again, cluster.next_offset, 0).unwrap();
    assert_eq!(same.answer, cluster.epochs[&1], "the same incarnation keeps its epoch");
    assert!(matches!(&same.records[..], [MetadataRecord::RegisterBroker(r)] if !r.fenced));

    cluster.now_ms = 9_001;
    let before = cluster.next_offset;
    let epoch = cluster.register(1).unwrap();
    assert_eq!(epoch, cluster.next_offset - 1, "the epoch is the RegisterBrokerRecord's offset");
    assert_eq!(epoch, before + 2, "after the leader change and the fencing");
    assert_eq!(cluster.show("t", 0), "leader 2 isr [2] epochs 1/1");
    assert_eq!(cluster.fenced(), vec![1]);
}

fn three_brokers_and_topic_t() -> Cluster {
    let mut cluster = Cluster::new();
    for id in [1, 2, 3] {
        cluster.register(id).unwrap();
        cluster.heartbeat(id, false, false).unwrap();
    }
    cluster.create_placed("t", 1, 3).unwrap();
    cluster
}

/// AlterPartition's checks, each with Kafka's error code (KIP-497, KIP-903):
/// see the table in `alter_partition`'s module docs. A proposal that changes
/// nothing is answered with the current state and no record.
#[test]
fn alter_partition_refuses_what_kafka_refuses() {
    let mut cluster = three_brokers_and_topic_t();
    let topic_id = cluster.image.topic("t").unwrap().topic_id;
    let change = |leader_epoch, partition_epoch, isr: &[i32]| IsrChange {
        topic_id,
        partition_index: 0,
        leader_epoch,
        partition_epoch,
        new_isr: isr.iter().map(|id| (*id, -1)).collect(),
        leader_recovery_state: 0,
    };
    let ask = |cluster: &Cluster, broker_id: i32, change: IsrChange| {
        let request = AlterPartitionRequest {
            broker_id,
            broker_epoch: cluster.epochs[&broker_id],
            changes: vec![change],
        };
        cluster.controller.alter_partition(&cluster.image, &request)
    };
    let outcome =
        |cluster: &Cluster, broker_id, c| ask(cluster, broker_id, c).unwrap().answer[0].outcome.clone();

    let stale = AlterPartitionRequest { broker_id: 1, broker_epoch: 99, changes: vec![change(0, 0, &[1])] };
    assert_eq!(
        cluster.controller.alter_partition(&cluster.image, &stale).unwrap_err().code(),
        ResponseError::StaleBrokerEpoch
    );
    assert_eq!(outcome(&cluster, 1, change(1, 0, &[1])), Err(ResponseError::NotController));
    assert_eq!(outcome(&cluster, 1, change(-1, 0, &[1])), Err(ResponseError::FencedLeaderEpoch));
    assert_eq!(outcome(&cluster, 2, change(0, 0, &[2])), Err(ResponseError::InvalidRequest));
    assert_eq!(
        outcome(&cluster, 1, change(0, 0, &[2, 3])),
        Err(ResponseError::InvalidRequest),
        "without the leader"
    );
    assert_eq!(
        outcome(&cluster, 1, change(0, 0, &[1, 4])),
        Err(ResponseError::InvalidRequest),
        "not a replica"
    );
    assert_eq!(outcome(&cluster, 1, change(0, 0, &[1, 1])), Err(ResponseError::InvalidRequest), "twice");
    let unknown = IsrChange { topic_id: Uuid::from_u128(5), ..change(0, 0, &[1]) };
    assert_eq!(outcome(&cluster, 1, unknown), Err(ResponseError::UnknownTopicId));
    let wrong_epoch = IsrChange { new_isr: vec![(1, -1), (2, 77)], ..change(0, 0, &[]) };
    assert_eq!(outcome(&cluster, 1, wrong_epoch), Err(ResponseError::IneligibleReplica));

    let unchanged = ask(&cluster, 1, change(0, 0, &[1, 2, 3])).unwrap();
    assert!(unchanged.records.is_empty());
    assert_eq!(unchanged.answer[0].outcome.as_ref().unwrap().isr, vec![1, 2, 3]);

    assert_eq!(cluster.alter_isr("t", 0, &[1, 2]).unwrap().partition_epoch, 1);
    assert_eq!(outcome(&cluster, 1, change(0, 0, &[1])), Err(ResponseError::InvalidUpdateVersion));
    cluster.heartbeat(3, true, false).unwrap(); // broker 3 asks to be fenced
    assert_eq!(outcome(&cluster, 1, change(0, 1, &[1, 2, 3])), Err(ResponseError::IneligibleReplica));
}

/// CreateTopics on a cluster: -1 takes the defaults; a replication factor
/// above the registered brokers, bad explicit assignments, a name listed
/// twice or taken are refused with Kafka's codes and messages.
#[test]
fn create_topics_checks_placement_and_assignments() {
    let mut cluster = three_brokers_and_topic_t();
    let defaults = cluster.create_placed("d", -1, -1).unwrap();
    assert_eq!((defaults.num_partitions, defaults.replication_factor), (1, 1));
    let too_many = cluster.create_placed("x", 1, 4).unwrap_err();
    assert_eq!(too_many.code, ResponseError::InvalidReplicationFactor);
    assert_eq!(
        too_many.message,
        "Unable to replicate the partition 4 time(s): The target replication factor of 4 cannot be reached because only 3 broker(s) are registered."
    );
    assert_eq!(cluster.create_placed("t", 1, 1).unwrap_err().code, ResponseError::TopicAlreadyExists);
    let assigned = |assignments: Vec<(i32, Vec<i32>)>| CreatableTopic {
        name: "a".into(),
        num_partitions: -1,
        replication_factor: -1,
        assignments,
        ..CreatableTopic::default()
    };
    for (bad, why) in [
        (vec![(0, vec![1, 9])], "includes broker 9, but no such broker is registered"),
        (vec![(0, vec![1, 1])], "includes the broker 1 more than once"),
        (vec![(0, vec![1, 2]), (1, vec![3])], "not consistent with previous partitions"),
        (vec![(0, vec![1]), (2, vec![2])], "consecutive 0-based"),
        (vec![(0, vec![1]), (0, vec![2])], "multiple manual partition assignments"),
        (vec![(0, vec![])], "empty replica list"),
    ] {
        let refused = cluster.create(assigned(bad)).unwrap_err();
        assert_eq!(refused.code, ResponseError::InvalidReplicaAssignment);
        assert!(refused.message.contains(why), "{}", refused.message);
    }
    let created = cluster.create(assigned(vec![(1, vec![3, 1]), (0, vec![2, 3])])).unwrap();
    assert_eq!((created.num_partitions, created.replication_factor), (2, 2));
    assert_eq!(cluster.show("a", 1), "leader 3 isr [3, 1] epochs 0/0");
    assert_eq!(
        cluster.image.partition("a", 1).unwrap().directories,
        vec![Uuid::from_u128(503), Uuid::from_u128(501)]
    );

    let twice = CreatableTopic {
        name: "twice".into(),
        num_partitions: 1,
        replication_factor: 1,
        ..Default::default()
    };
    let result =
        cluster.controller.create_topics(&cluster.image, &[twice.clone(), twice], &mut cluster.random);
    assert!(result.records.is_empty());
    assert!(result.answer.iter().all(|a| a.as_ref().unwrap_err().code == ResponseError::InvalidRequest));

    for id in [1, 2, 3] {
        cluster.heartbeat(id, true, false).unwrap();
    }
    let fenced = cluster.create_placed("f", 1, 1).unwrap_err();
    assert_eq!(
        (fenced.code, fenced.message.as_str()),
        (
            ResponseError::InvalidReplicationFactor,
            "Unable to replicate the partition 1 time(s): All brokers are currently fenced."
        )
    );
}

/// AllocateProducerIds (KIP-730): consecutive blocks of 1000 to a registered
/// broker at its current epoch; another epoch is STALE_BROKER_EPOCH.
#[test]
fn producer_id_blocks_follow_each_other() {
    let mut cluster = three_brokers_and_topic_t();
    for first in [0, 1000] {
        let result = cluster.controller.allocate_producer_ids(&cluster.image, 2, cluster.epochs[&2]).unwrap();
        assert_eq!(result.answer, producer_ids::ProducerIdsBlock { first, end: first + 1000 });
        cluster.commit(result.records);
    }
    let stale = cluster.controller.allocate_producer_ids(&cluster.image, 2, 0).unwrap_err();
    assert_eq!(stale.code(), ResponseError::StaleBrokerEpoch);
}

/// A limit on everything: like Kafka's controller (MAX_RECORDS_PER_USER_OP,
/// 10 000), a topic whose records would not fit one batch is refused with
/// POLICY_VIOLATION before any replica is placed, instead of building a
/// batch of any size a request asks for.
#[test]
fn a_topic_too_large_for_one_batch_is_refused() {
    let mut cluster = three_brokers_and_topic_t();
    let refused = cluster.create_placed("huge", 10_000, 1).unwrap_err();
    assert_eq!(refused.code, ResponseError::PolicyViolation);
    assert_eq!(refused.message, "Unable to perform excessively large batch operation.");
    assert!(cluster.image.topic("huge").is_none());
    assert_eq!(cluster.create_placed("large", 9_999, 1).unwrap().num_partitions, 9_999);
}

/// A negative broker id is refused (INVALID_REQUEST): -1 means "no leader"
/// in every partition, so a broker registered as -1 could be placed as a
/// replica and its leadership read as none.
#[test]
fn a_negative_broker_id_cannot_register() {
    let mut cluster = Cluster::new();
    let refused = cluster.register(-1).unwrap_err();
    assert_eq!(refused.code(), ResponseError::InvalidRequest);
    assert!(cluster.image.brokers().is_empty());
}

/// Kafka's session rule (`BrokerHeartbeatManager.hasValidSession`): a fenced
/// broker has no live session, so a new incarnation of it registers at once;
/// an unfenced one this controller has not heard from yet (it just took
/// over) has a full session from now, so another incarnation must wait for it.
#[test]
fn only_an_unfenced_broker_holds_its_id() {
    let mut cluster = Cluster::new();
    cluster.register(1).unwrap();
    cluster.heartbeat(1, false, false).unwrap();
    cluster.heartbeat(1, true, false).unwrap(); // asks to be fenced
    cluster.now_ms = 100;
    assert!(cluster.register(1).is_ok(), "a fenced broker's id is free");

    cluster.heartbeat(1, false, false).unwrap();
    cluster.controller = Controller::new(cluster.controller.config.clone()); // a new controller
    cluster.now_ms = 50_000;
    assert_eq!(cluster.register(1).unwrap_err(), Error::DuplicateBrokerRegistration(1));
    cluster.now_ms = 59_001;
    assert!(cluster.register(1).is_ok(), "its session expired");
}
