//! OffsetDelete's rules, as Kafka's `GroupCoordinator.handleDeleteOffsets`
//! states them (KIP-496): which group states and protocols may lose which
//! offsets, and what reaches `__consumer_offsets`.

use bytes::BufMut;
use kafka_protocol::messages::ConsumerProtocolSubscription;
use kafka_protocol::protocol::{Encodable, StrBytes};
use uuid::Uuid;

use super::super::*;
use crate::TopicPartition;

fn tp(topic: &str, partition: i32) -> TopicPartition {
    TopicPartition::new(topic, partition)
}

/// A consumer subscription to `topics`, v1, as a Java client writes it.
fn subscription(topics: &[&str]) -> Vec<u8> {
    let body = ConsumerProtocolSubscription::default()
        .with_topics(topics.iter().map(|t| StrBytes::from_string(t.to_string())).collect());
    let mut bytes = bytes::BytesMut::new();
    bytes.put_i16(1);
    body.encode(&mut bytes, 1).expect("encodes");
    bytes.to_vec()
}

fn join(protocol_type: &str, metadata: Vec<u8>) -> JoinGroupRequest {
    JoinGroupRequest {
        group_id: "g".into(),
        member_id: String::new(),
        group_instance_id: None,
        client_id: "c".into(),
        client_host: "/127.0.0.1".into(),
        session_timeout_ms: 10_000,
        rebalance_timeout_ms: 30_000,
        protocol_type: protocol_type.into(),
        protocols: vec![Protocol { name: "range".into(), metadata }],
        require_known_member_id: false,
        new_member_uuid: Uuid::from_u128(1),
    }
}

/// A group with offsets in `a` and `b`, committed while it had no members.
fn empty_group_with_offsets() -> GroupCoordinator {
    let mut c = GroupCoordinator::new(GroupCoordinatorConfig::default());
    let partitions = [tp("a", 0), tp("a", 1), tp("b", 0)]
        .into_iter()
        .map(|partition| OffsetCommitPartition { partition, offset: 7, leader_epoch: -1, metadata: None })
        .collect();
    let commit = OffsetCommitRequest {
        group_id: "g".into(),
        generation_id: -1,
        member_id: String::new(),
        group_instance_id: None,
        partitions,
    };
    c.offset_commit(1, &commit, 0);
    c.store_completed(1, Ok(()), 0);
    assert_eq!(c.group("g").expect("created by the commit").offsets().len(), 3);
    c
}

/// The group above, then one member of `protocol_type` joins and its
/// generation forms (PreparingRebalance → CompletingRebalance).
fn with_member(protocol_type: &str, metadata: Vec<u8>) -> GroupCoordinator {
    let mut c = empty_group_with_offsets();
    c.join_group(2, &join(protocol_type, metadata), 0);
    c.tick(10_000);
    assert_eq!(c.group("g").expect("exists").state(), GroupState::CompletingRebalance);
    c
}

fn tombstones(out: &Output) -> Vec<TopicPartition> {
    out.records
        .iter()
        .filter_map(|r| match r {
            GroupRecord::Offset { partition, value: None, .. } => Some(partition.clone()),
            _ => None,
        })
        .collect()
}

// An Empty group loses any offset asked for, each as a tombstone; a
// partition it has no offset for is answered without error and without a
// record (Kafka writes a tombstone only where an offset exists).
#[test]
fn an_empty_group_loses_the_offsets_asked_for() {
    let mut c = empty_group_with_offsets();
    let (results, out) = c.delete_offsets("g", &[tp("a", 0), tp("a", 5)], 1);
    assert_eq!(results, Ok(vec![(tp("a", 0), None), (tp("a", 5), None)]));
    assert_eq!(tombstones(&out), [tp("a", 0)]);
    let left: Vec<_> = c.group("g").expect("still has offsets").offsets().keys().cloned().collect();
    assert_eq!(left, [tp("a", 1), tp("b", 0)]);
}

// The last offset of an Empty group takes the group with it (Kafka's
// cleanupGroupMetadata): a group tombstone follows the offset's.
#[test]
fn deleting_the_last_offset_of_an_empty_group_deletes_the_group() {
    let mut c = empty_group_with_offsets();
    let (_, out) = c.delete_offsets("g", &[tp("a", 0), tp("a", 1), tp("b", 0)], 1);
    assert_eq!(tombstones(&out).len(), 3);
    assert!(matches!(out.records.last(), Some(GroupRecord::Group { value: None, .. })));
    assert!(c.group("g").is_none());
    let (results, _) = c.delete_offsets("g", &[tp("a", 0)], 2);
    assert_eq!(results, Err(GroupError::GroupIdNotFound));
}

// A consumer group with members keeps the offsets of the topics they
// subscribe to (GROUP_SUBSCRIBED_TO_TOPIC) and loses the others.
#[test]
fn a_consumer_group_keeps_the_offsets_of_subscribed_topics() {
    let mut c = with_member("consumer", subscription(&["a"]));
    let (results, out) = c.delete_offsets("g", &[tp("a", 0), tp("b", 0)], 1);
    let expected = vec![(tp("a", 0), Some(GroupError::GroupSubscribedToTopic)), (tp("b", 0), None)];
    assert_eq!(results, Ok(expected));
    assert_eq!(tombstones(&out), [tp("b", 0)]);
    assert!(c.group("g").expect("has members").offsets().contains_key(&tp("a", 0)));
}

// A consumer whose subscription cannot be read counts as subscribed to
// everything: nothing is deleted (Kafka's "to be safe").
#[test]
fn an_unreadable_subscription_protects_every_topic() {
    let mut c = with_member("consumer", b"junk".to_vec());
    let (results, out) = c.delete_offsets("g", &[tp("b", 0)], 1);
    assert_eq!(results, Ok(vec![(tp("b", 0), Some(GroupError::GroupSubscribedToTopic))]));
    assert!(out.records.is_empty());
}

// A group of another protocol with members refuses the whole request.
#[test]
fn a_non_consumer_group_with_members_refuses() {
    let mut c = with_member("connect", vec![]);
    let (results, out) = c.delete_offsets("g", &[tp("b", 0)], 1);
    assert_eq!(results, Err(GroupError::NonEmptyGroup));
    assert!(out.records.is_empty());
}

// A commit still waiting for its store when its offset is deleted must not
// bring the offset back once stored; a reload of the log replays the
// tombstone as a removal.
#[test]
fn a_pending_commit_does_not_revive_a_deleted_offset_and_a_reload_agrees() {
    let mut c = empty_group_with_offsets();
    let commit = OffsetCommitRequest {
        group_id: "g".into(),
        generation_id: -1,
        member_id: String::new(),
        group_instance_id: None,
        partitions: vec![OffsetCommitPartition {
            partition: tp("b", 0),
            offset: 9,
            leader_epoch: -1,
            metadata: None,
        }],
    };
    let (_, committed) = c.offset_commit(5, &commit, 1);
    let (_, deleted) = c.delete_offsets("g", &[tp("b", 0)], 2);
    assert_eq!(tombstones(&deleted), [tp("b", 0)]);
    c.store_completed(5, Ok(()), 3);
    assert!(!c.group("g").expect("exists").offsets().contains_key(&tp("b", 0)));

    let log = committed.records.into_iter().chain(deleted.records);
    let mut first = empty_group_with_offsets_records();
    first.extend(log);
    let reloaded = GroupCoordinator::load(GroupCoordinatorConfig::default(), first, 4);
    let offsets: Vec<_> = reloaded.group("g").expect("loaded").offsets().keys().cloned().collect();
    assert_eq!(offsets, [tp("a", 0), tp("a", 1)]);
}

/// The records `empty_group_with_offsets` appended.
fn empty_group_with_offsets_records() -> Vec<GroupRecord> {
    ["a", "a", "b"]
        .iter()
        .zip([0, 1, 0])
        .map(|(topic, p)| GroupRecord::Offset {
            group_id: "g".into(),
            partition: tp(topic, p),
            value: Some(OffsetCommitValue {
                offset: 7,
                leader_epoch: -1,
                metadata: String::new(),
                commit_timestamp_ms: 0,
            }),
        })
        .collect()
}

// No such group: GROUP_ID_NOT_FOUND.
#[test]
fn an_unknown_group_is_not_found() {
    let mut c = GroupCoordinator::new(GroupCoordinatorConfig::default());
    assert_eq!(c.delete_offsets("nope", &[tp("a", 0)], 0).0, Err(GroupError::GroupIdNotFound));
}
