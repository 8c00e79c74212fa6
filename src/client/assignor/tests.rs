//! The assignors' rules as properties over random groups, and the
//! ConsumerProtocol bytes against Kafka's layout.

use std::collections::{BTreeMap, BTreeSet};

use bytes::Bytes;
use proptest::prelude::*;

use super::protocol::{decode_assignment, decode_subscription, encode_assignment, encode_subscription};
use super::*;

fn member(id: &str, topics: &[&str]) -> GroupMember {
    GroupMember {
        member_id: id.into(),
        group_instance_id: None,
        subscription: Subscription::new(topics.iter().copied()),
    }
}

fn tp(topic: &str, partition: i32) -> TopicPartition {
    TopicPartition::new(topic, partition)
}

fn counts(topics: &[(&str, i32)]) -> BTreeMap<String, i32> {
    topics.iter().map(|&(t, n)| (t.to_string(), n)).collect()
}

/// A random group: topics with partition counts, members with subscriptions
/// (all equal when `equal`), each owning a random disjoint part of the
/// partitions, from one generation.
#[derive(Debug, Clone)]
struct Group {
    topics: BTreeMap<String, i32>,
    members: Vec<GroupMember>,
}

impl Group {
    fn equal_subscriptions(&self) -> bool {
        self.members.windows(2).all(|w| {
            let a: BTreeSet<&String> = w[0].subscription.topics.iter().collect();
            let b: BTreeSet<&String> = w[1].subscription.topics.iter().collect();
            a == b
        })
    }

    /// Every partition some member subscribes to.
    fn wanted(&self) -> BTreeSet<TopicPartition> {
        let mut wanted = BTreeSet::new();
        for (topic, &n) in &self.topics {
            if self.members.iter().any(|m| m.subscription.subscribes(topic)) {
                wanted.extend((0..n).map(|p| tp(topic, p)));
            }
        }
        wanted
    }

    fn subscriber(&self, member_id: &str, topic: &str) -> bool {
        self.members.iter().any(|m| m.member_id == member_id && m.subscription.subscribes(topic))
    }
}

fn group(equal: bool) -> impl Strategy<Value = Group> {
    let topics = prop::collection::vec(1..10i32, 1..4);
    (topics, 1..7usize).prop_flat_map(move |(partition_counts, member_count)| {
        let topic_count = partition_counts.len();
        let total: usize = partition_counts.iter().map(|&n| n as usize).sum();
        // A subscription per member (a non-empty subset of the topics), a
        // previous owner per partition (or none), and static or not.
        let subscriptions =
            prop::collection::vec(prop::collection::btree_set(0..topic_count, 1..=topic_count), member_count);
        let owners = prop::collection::vec(prop::option::of(0..member_count + 2), total);
        let statics = prop::collection::vec(any::<bool>(), member_count);
        (Just(partition_counts), subscriptions, owners, statics).prop_map(
            move |(partition_counts, subs, owners, statics)| {
                let topics: BTreeMap<String, i32> =
                    partition_counts.iter().enumerate().map(|(i, &n)| (format!("t{i}"), n)).collect();
                let mut members: Vec<GroupMember> = (0..subs.len())
                    .map(|i| {
                        let subscribed: Vec<String> = if equal {
                            topics.keys().cloned().collect()
                        } else {
                            subs[i].iter().map(|t| format!("t{t}")).collect()
                        };
                        GroupMember {
                            member_id: format!("m{i}"),
                            group_instance_id: statics[i].then(|| format!("i{}", subs.len() - i)),
                            subscription: Subscription { generation_id: 4, ..Subscription::new(subscribed) },
                        }
                    })
                    .collect();
                // Owners beyond the member count stand for members that left.
                let all: Vec<TopicPartition> =
                    topics.iter().flat_map(|(t, &n)| (0..n).map(move |p| tp(t, p))).collect();
                for (partition, owner) in all.into_iter().zip(owners) {
                    if let Some(m) = owner.filter(|&m| m < members.len()) {
                        members[m].subscription.owned_partitions.push(partition);
                    }
                }
                Group { topics, members }
            },
        )
    })
}

/// Every wanted partition is assigned exactly once, to a subscriber; nothing else is assigned.
fn assert_exactly_once(g: &Group, assignment: &GroupAssignment) {
    let mut seen = BTreeSet::new();
    for (member, partitions) in assignment {
        for p in partitions {
            assert!(seen.insert(p.clone()), "{p:?} assigned twice: {assignment:?}");
            assert!(g.subscriber(member, &p.topic), "{p:?} to {member}, not a subscriber");
        }
    }
    assert_eq!(seen, g.wanted(), "assigned ≠ wanted: {assignment:?}");
    assert_eq!(assignment.len(), g.members.len(), "every member has an entry");
}

fn spread(assignment: &GroupAssignment) -> usize {
    let sizes = assignment.values().map(Vec::len);
    sizes.clone().max().unwrap_or(0) - sizes.min().unwrap_or(0)
}

/// No partition could move from one member to another holding two fewer.
fn assert_no_improving_move(g: &Group, assignment: &GroupAssignment) {
    for (donor, given) in assignment {
        for (receiver, taken) in assignment {
            if given.len() >= taken.len() + 2 {
                assert!(
                    !given.iter().any(|p| g.subscriber(receiver, &p.topic)),
                    "{donor} ({}) could give to {receiver} ({}): {assignment:?}",
                    given.len(),
                    taken.len()
                );
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// Eager assignors hand out every subscribed partition exactly once,
    /// only to subscribers (Kafka's `AbstractPartitionAssignor` contract).
    #[test]
    fn eager_assignors_assign_every_partition_once(g in group(false)) {
        for assignor in [Assignor::Range, Assignor::RoundRobin] {
            assert_exactly_once(&g, &assignor.assign(&g.topics, &g.members));
        }
        assert_exactly_once(&g, &sticky::assign_sticky(&g.topics, &g.members));
    }

    /// With equal subscriptions, roundrobin and sticky counts differ by at
    /// most one overall, range's within each topic.
    #[test]
    fn equal_subscriptions_are_balanced(g in group(true)) {
        prop_assert!(g.equal_subscriptions());
        prop_assert!(spread(&Assignor::RoundRobin.assign(&g.topics, &g.members)) <= 1);
        prop_assert!(spread(&sticky::assign_sticky(&g.topics, &g.members)) <= 1);
        let range = Assignor::Range.assign(&g.topics, &g.members);
        for topic in g.topics.keys() {
            let per_topic: GroupAssignment = range
                .iter()
                .map(|(m, ps)| (m.clone(), ps.iter().filter(|p| &p.topic == topic).cloned().collect()))
                .collect();
            prop_assert!(spread(&per_topic) <= 1, "{topic}: {range:?}");
        }
    }

    /// Sticky: with equal subscriptions each member keeps at least
    /// min(what it owned, ⌊partitions / members⌋) of its partitions — balance
    /// never needs to take more (AbstractStickyAssignor's minQuota).
    #[test]
    fn sticky_keeps_what_balance_permits(g in group(true)) {
        let assignment = sticky::assign_sticky(&g.topics, &g.members);
        let quota = g.wanted().len() / g.members.len();
        for m in &g.members {
            let kept = m.subscription.owned_partitions.iter().filter(|p| assignment[&m.member_id].contains(p)).count();
            let owned = m.subscription.owned_partitions.len();
            prop_assert!(kept >= owned.min(quota), "{} kept {kept} of {owned}, quota {quota}: {assignment:?}", m.member_id);
        }
    }

    /// Sticky with unequal subscriptions: no single move would even out the counts.
    #[test]
    fn sticky_unequal_subscriptions_admit_no_improving_move(g in group(false)) {
        assert_no_improving_move(&g, &sticky::assign_sticky(&g.topics, &g.members));
    }

    /// Cooperative (KIP-429): no partition goes to a member while another
    /// member still lists it as owned; nothing is assigned twice; and what
    /// is held back is exactly what the sticky assignment would move.
    #[test]
    fn cooperative_never_gives_a_partition_its_owner_still_lists(g in group(false)) {
        let eager = sticky::assign_sticky(&g.topics, &g.members);
        let cooperative = Assignor::CooperativeSticky.assign(&g.topics, &g.members);
        let mut seen = BTreeSet::new();
        for (member, partitions) in &cooperative {
            for p in partitions {
                prop_assert!(seen.insert(p.clone()), "{p:?} twice");
                for other in g.members.iter().filter(|o| &o.member_id != member) {
                    prop_assert!(!other.subscription.owned_partitions.contains(p), "{p:?} to {member} while {} lists it", other.member_id);
                }
            }
            let held_back: Vec<&TopicPartition> = eager[member].iter().filter(|p| !partitions.contains(p)).collect();
            for p in held_back {
                prop_assert!(g.members.iter().any(|o| &o.member_id != member && o.subscription.owned_partitions.contains(p)));
            }
        }
    }

    /// Cooperative rebalancing converges: after the owners revoke what the
    /// first generation left out and rejoin, the second generation assigns
    /// every partition exactly once, balanced, and moves nothing a member kept.
    #[test]
    fn cooperative_second_generation_completes_the_move(g in group(true)) {
        let first = Assignor::CooperativeSticky.assign(&g.topics, &g.members);
        let rejoined: Vec<GroupMember> = g.members.iter().map(|m| {
            let mut m = m.clone();
            m.subscription.owned_partitions = first[&m.member_id].clone();
            m.subscription.generation_id += 1;
            m
        }).collect();
        let second_group = Group { topics: g.topics.clone(), members: rejoined };
        let second = Assignor::CooperativeSticky.assign(&second_group.topics, &second_group.members);
        assert_exactly_once(&second_group, &second);
        prop_assert!(spread(&second) <= 1, "{second:?}");
        for (member, partitions) in &first {
            for p in partitions {
                prop_assert!(second[member].contains(p), "{member} lost {p:?}, which it kept in the first generation");
            }
        }
    }

    /// A subscription and an assignment survive their bytes.
    #[test]
    fn protocol_round_trips(g in group(false), rack in prop::option::of("[a-z]{1,8}")) {
        for m in &g.members {
            let mut subscription = m.subscription.clone();
            subscription.owned_partitions.sort();
            subscription.rack_id = rack.clone();
            subscription.user_data = Assignor::CooperativeSticky.user_data(7);
            prop_assert_eq!(decode_subscription(encode_subscription(&subscription)).unwrap(), subscription.clone());
            let assignment = Assignment { partitions: subscription.owned_partitions.clone(), user_data: None };
            prop_assert_eq!(decode_assignment(encode_assignment(&assignment)).unwrap(), assignment);
        }
    }

    /// Garbage never panics the decoders: it is an error or some value.
    #[test]
    fn protocol_decoders_do_not_panic(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
        let _ = decode_subscription(Bytes::from(bytes.clone()));
        let _ = decode_assignment(Bytes::from(bytes));
    }
}

/// Kafka's RangeAssignor javadoc example: two consumers, two topics of three
/// partitions each — C0 gets t0p0, t0p1, t1p0, t1p1 and C1 gets t0p2, t1p2.
#[test]
fn range_matches_the_kafka_javadoc() {
    let members = [member("C1", &["t0", "t1"]), member("C0", &["t0", "t1"])];
    let assignment = Assignor::Range.assign(&counts(&[("t0", 3), ("t1", 3)]), &members);
    assert_eq!(assignment["C0"], vec![tp("t0", 0), tp("t0", 1), tp("t1", 0), tp("t1", 1)]);
    assert_eq!(assignment["C1"], vec![tp("t0", 2), tp("t1", 2)]);
}

/// Kafka's RoundRobinAssignor javadoc example: C0 gets t0p0, t0p2, t1p1 and
/// C1 gets t0p1, t1p0, t1p2; and with unequal subscriptions (C0: t0; C1: t0,
/// t1; C2: t0, t1, t2 of 1, 2, 3 partitions) C0 t0p0, C1 t1p0, C2 t1p1 t2p0 t2p1 t2p2.
#[test]
fn roundrobin_matches_the_kafka_javadoc() {
    let members = [member("C0", &["t0", "t1"]), member("C1", &["t0", "t1"])];
    let assignment = Assignor::RoundRobin.assign(&counts(&[("t0", 3), ("t1", 3)]), &members);
    assert_eq!(assignment["C0"], vec![tp("t0", 0), tp("t0", 2), tp("t1", 1)]);
    assert_eq!(assignment["C1"], vec![tp("t0", 1), tp("t1", 0), tp("t1", 2)]);
    let members = [member("C0", &["t0"]), member("C1", &["t0", "t1"]), member("C2", &["t0", "t1", "t2"])];
    let assignment = Assignor::RoundRobin.assign(&counts(&[("t0", 1), ("t1", 2), ("t2", 3)]), &members);
    assert_eq!(assignment["C0"], vec![tp("t0", 0)]);
    assert_eq!(assignment["C1"], vec![tp("t1", 0)]);
    assert_eq!(assignment["C2"], vec![tp("t1", 1), tp("t2", 0), tp("t2", 1), tp("t2", 2)]);
}

/// Static members sort first, by instance id (Kafka's MemberInfo): a
/// restarted static member gets a new member id but the same range.
#[test]
fn static_members_sort_by_instance_id() {
    let mut a = member("zzz-new-id", &["t"]);
    a.group_instance_id = Some("instance-a".into());
    let b = member("aaa", &["t"]);
    let assignment = Assignor::Range.assign(&counts(&[("t", 4)]), &[b, a]);
    assert_eq!(assignment["zzz-new-id"], vec![tp("t", 0), tp("t", 1)]);
    assert_eq!(assignment["aaa"], vec![tp("t", 2), tp("t", 3)]);
}

/// The figure in `sticky.rs`: B joins a group where A owns all six
/// partitions; generation n gives B nothing and leaves A three, generation
/// n+1 gives B the three A revoked.
#[test]
fn cooperative_sticky_moves_in_two_generations() {
    let topics = counts(&[("t", 6)]);
    let mut a = member("A", &["t"]);
    a.subscription.owned_partitions = (0..6).map(|p| tp("t", p)).collect();
    a.subscription.generation_id = 1;
    let b = member("B", &["t"]);
    let first = Assignor::CooperativeSticky.assign(&topics, &[a.clone(), b.clone()]);
    assert_eq!(first["A"].len(), 3);
    assert!(first["B"].is_empty());
    a.subscription.owned_partitions = first["A"].clone();
    let second = Assignor::CooperativeSticky.assign(&topics, &[a, b]);
    assert_eq!(second["A"], first["A"]);
    let moved: Vec<TopicPartition> = (0..6).map(|p| tp("t", p)).filter(|p| !first["A"].contains(p)).collect();
    assert_eq!(second["B"], moved);
}

/// Two members claiming one partition from the same generation both lose
/// the claim; from different generations, the newer wins (AbstractStickyAssignor).
#[test]
fn conflicting_claims_follow_the_generation() {
    let topics = counts(&[("t", 2)]);
    let mut a = member("A", &["t"]);
    let mut b = member("B", &["t"]);
    a.subscription.owned_partitions = vec![tp("t", 1)];
    b.subscription.owned_partitions = vec![tp("t", 1)];
    a.subscription.generation_id = 3;
    b.subscription.generation_id = 5;
    let newer_wins = sticky::assign_sticky(&topics, &[a.clone(), b.clone()]);
    assert_eq!(newer_wins["B"], vec![tp("t", 1)]);
    // Cooperative: A still lists t-1, so B may not have it yet.
    let cooperative = Assignor::CooperativeSticky.assign(&topics, &[a.clone(), b.clone()]);
    assert!(!cooperative.values().flatten().any(|p| p == &tp("t", 1)));
    // Generation from user data when the subscription is older than v2.
    b.subscription.generation_id = -1;
    b.subscription.user_data = Assignor::CooperativeSticky.user_data(9);
    assert_eq!(sticky::assign_sticky(&topics, &[a, b])["B"], vec![tp("t", 1)]);
}

/// The bytes Kafka's Java client writes for a v0 subscription to ["orders"]
/// with no user data decode here, and a v3 assignment this code writes has
/// Kafka's layout byte for byte.
#[test]
fn protocol_bytes_match_kafkas_layout() {
    let v0: &[u8] = &[0, 0, 0, 0, 0, 1, 0, 6, b'o', b'r', b'd', b'e', b'r', b's', 0xff, 0xff, 0xff, 0xff];
    let subscription = decode_subscription(Bytes::from_static(v0)).unwrap();
    assert_eq!(subscription, Subscription::new(["orders"]));
    let assignment = Assignment { partitions: vec![tp("t", 2), tp("t", 0)], user_data: None };
    let expected: &[u8] = &[
        0, 3, // version
        0, 0, 0, 1, 0, 1, b't', // one topic, "t"
        0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 2, // partitions [0, 2]
        0xff, 0xff, 0xff, 0xff, // null user data
    ];
    assert_eq!(&encode_assignment(&assignment)[..], expected);
    // A newer version than this code knows is read as v3; a negative one is refused.
    let mut v9 = encode_assignment(&assignment).to_vec();
    v9[1] = 9;
    v9.extend_from_slice(b"future fields");
    assert_eq!(decode_assignment(Bytes::from(v9)).unwrap().partitions, vec![tp("t", 0), tp("t", 2)]);
    assert!(decode_subscription(Bytes::from_static(&[0xff, 0xff, 0, 0])).is_err());
    assert_eq!(decode_assignment(Bytes::new()).unwrap(), Assignment::default());
}
