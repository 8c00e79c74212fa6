//! DescribeTopicPartitions over hand-built metadata images: the page walk
//! (KIP-966's cursor) and Kafka's answers for unknown topics and bad cursors
//! (`DescribeTopicPartitionsRequestHandler`, `KRaftMetadataCache`).

use std::collections::BTreeMap;

use kafka_protocol::messages::describe_topic_partitions_request::{Cursor, TopicRequest};
use proptest::prelude::*;
use uuid::Uuid;

use super::*;
use crate::metadata::records::{PartitionRecord, RegisterBrokerRecord};
use crate::metadata::MetadataRecord;

/// An image of `layout` (topic name → partition count), every partition on
/// replicas [1, 2], led by 1 at leader epoch 3.
fn image(layout: &BTreeMap<String, i32>) -> MetadataImage {
    let mut image = MetadataImage::default();
    for (n, (name, &count)) in layout.iter().enumerate() {
        let topic_id = Uuid::from_u128(n as u128 + 1);
        image.apply(&MetadataRecord::Topic { name: name.clone(), topic_id }).unwrap();
        for partition_id in 0..count {
            let partition = PartitionRecord {
                partition_id,
                topic_id,
                replicas: vec![1, 2],
                isr: vec![1],
                removing_replicas: vec![],
                adding_replicas: vec![],
                leader: 1,
                leader_recovery_state: 0,
                leader_epoch: 3,
                partition_epoch: 0,
                directories: vec![],
            };
            image.apply(&MetadataRecord::Partition(partition)).unwrap();
        }
    }
    image
}

fn request(topics: &[&str], limit: i32, cursor: Option<(&str, i32)>) -> DescribeTopicPartitionsRequest {
    DescribeTopicPartitionsRequest::default()
        .with_topics(topics.iter().map(|t| TopicRequest::default().with_name(topic_name(t))).collect())
        .with_response_partition_limit(limit)
        .with_cursor(
            cursor.map(|(t, p)| Cursor::default().with_topic_name(topic_name(t)).with_partition_index(p)),
        )
}

/// What a walk met: every (topic, partition), each page's size, and the
/// topic-level errors.
type Walk = (Vec<(String, i32)>, Vec<usize>, Vec<(String, i16)>);

/// Every (topic, partition) of a walk from no cursor to none, page by page,
/// with each page's size; and the topic-level errors met on the way.
fn walk(image: &MetadataImage, topics: &[&str], limit: i32) -> Walk {
    let (mut seen, mut pages, mut errors) = (Vec::new(), Vec::new(), Vec::new());
    let mut cursor: Option<(String, i32)> = None;
    loop {
        let page = describe_topic_partitions(
            image,
            &request(topics, limit, cursor.as_ref().map(|(t, p)| (t.as_str(), *p))),
            PARTITION_LIMIT_MAX,
        );
        pages.push(page.topics.iter().map(|t| t.partitions.len()).sum());
        for topic in page.topics {
            let name = topic.name.expect("named").0.to_string();
            if topic.error_code != 0 {
                errors.push((name.clone(), topic.error_code));
            }
            seen.extend(topic.partitions.iter().map(|p| (name.clone(), p.partition_index)));
        }
        match page.next_cursor {
            Some(next) => cursor = Some((next.topic_name.0.to_string(), next.partition_index)),
            None => return (seen, pages, errors),
        }
        assert!(pages.len() < 1_000, "the walk ends");
    }
}

proptest! {
    /// KIP-966's pagination: whatever the layout, the limit and the topics
    /// asked for (all, or some with unknown names among them), walking the
    /// cursor visits every partition of the known topics exactly once, in
    /// topic name then partition order, never more than the limit per page,
    /// and names each unknown listed topic once.
    #[test]
    fn the_cursor_walk_visits_each_partition_once(
        layout in proptest::collection::btree_map("[a-e]{1,2}", 1..7i32, 0..6),
        asked in proptest::collection::btree_set("[a-e]{1,2}", 0..5),
        limit in 1..9i32,
    ) {
        let image = image(&layout);
        let topics: Vec<&str> = asked.iter().map(String::as_str).collect();
        let (seen, pages, errors) = walk(&image, &topics, limit);
        let wanted = |name: &String| topics.is_empty() || asked.contains(name);
        let expected: Vec<(String, i32)> = layout
            .iter()
            .filter(|(name, _)| wanted(name))
            .flat_map(|(name, &count)| (0..count).map(move |p| (name.clone(), p)))
            .collect();
        prop_assert_eq!(seen, expected);
        prop_assert!(pages.iter().all(|&n| n <= limit as usize), "{:?}", pages);
        let unknown: Vec<(String, i16)> = asked
            .iter()
            .filter(|name| !layout.contains_key(*name))
            .map(|name| (name.clone(), ResponseError::UnknownTopicOrPartition.code()))
            .collect();
        prop_assert_eq!(errors, unknown);
    }
}

/// A page holds what the image says of each partition: leader, leader
/// epoch, replicas, ISR, empty ELR lists, the replicas on fenced brokers as
/// offline, the topic's id and internal flag, and "not asked" for the
/// authorized operations.
#[test]
fn a_partition_is_described_from_the_image() {
    let mut image = image(&BTreeMap::from([("__consumer_offsets".to_string(), 1), ("t".to_string(), 1)]));
    for (id, fenced) in [(1, false), (2, true)] {
        let record = RegisterBrokerRecord {
            broker_id: id,
            is_migrating_zk_broker: false,
            incarnation_id: Uuid::from_u128(100),
            broker_epoch: 10,
            endpoints: vec![],
            features: vec![],
            rack: None,
            fenced,
            in_controlled_shutdown: false,
            log_dirs: vec![],
        };
        image.apply(&MetadataRecord::RegisterBroker(record)).unwrap();
    }
    let response = describe_topic_partitions(&image, &request(&[], 100, None), PARTITION_LIMIT_MAX);
    let [offsets, t] = &response.topics[..] else { panic!("two topics: {response:?}") };
    assert!(offsets.is_internal && !t.is_internal);
    assert_eq!(t.topic_id, Uuid::from_u128(2));
    assert_eq!(t.topic_authorized_operations, AUTHORIZED_OPERATIONS_OMITTED);
    let p = &t.partitions[0];
    assert_eq!((p.leader_id, p.leader_epoch), (BrokerId(1), 3));
    assert_eq!(
        (p.replica_nodes.clone(), p.isr_nodes.clone()),
        (vec![BrokerId(1), BrokerId(2)], vec![BrokerId(1)])
    );
    assert_eq!(p.offline_replicas, vec![BrokerId(2)]);
    assert_eq!((p.eligible_leader_replicas.clone(), p.last_known_elr.clone()), (Some(vec![]), Some(vec![])));
    assert!(response.next_cursor.is_none());
}

/// Kafka's bounds on a page: a limit above `max.request.partition.size.limit`
/// is cut to it, and one below 1 is taken as 1.
#[test]
fn the_page_size_is_bounded() {
    let image = image(&BTreeMap::from([("t".to_string(), 5)]));
    let count = |limit, max| {
        describe_topic_partitions(&image, &request(&["t"], limit, None), max).topics[0].partitions.len()
    };
    assert_eq!(count(100, 3), 3);
    assert_eq!(count(0, PARTITION_LIMIT_MAX), 1);
    assert_eq!(count(-5, PARTITION_LIMIT_MAX), 1);
}

/// A cursor must name a listed topic and a partition ≥ 0: otherwise every
/// listed topic answers INVALID_REQUEST, as Kafka's handler throws
/// `InvalidRequestException`. With no list (all topics) a cursor on a
/// deleted topic simply resumes after it.
#[test]
fn a_bad_cursor_is_an_invalid_request() {
    let image = image(&BTreeMap::from([("a".to_string(), 2), ("c".to_string(), 2)]));
    let invalid = ResponseError::InvalidRequest.code();
    for bad in [request(&["a", "c"], 10, Some(("b", 0))), request(&["a"], 10, Some(("a", -1)))] {
        let response = describe_topic_partitions(&image, &bad, PARTITION_LIMIT_MAX);
        assert!(!response.topics.is_empty());
        assert!(response.topics.iter().all(|t| t.error_code == invalid && t.partitions.is_empty()));
    }
    let resumed = describe_topic_partitions(&image, &request(&[], 10, Some(("b", 0))), PARTITION_LIMIT_MAX);
    let names: Vec<String> = resumed.topics.iter().map(|t| t.name.clone().unwrap().0.to_string()).collect();
    assert_eq!(names, vec!["c".to_string()]);
}

/// A listed topic no one created is UNKNOWN_TOPIC_OR_PARTITION; a name no
/// topic could have is INVALID_TOPIC_EXCEPTION.
#[test]
fn unknown_and_invalid_names_are_answered() {
    let image = image(&BTreeMap::from([("a".to_string(), 1)]));
    let response = describe_topic_partitions(&image, &request(&["a", "b", "bad name!"], 10, None), 10);
    let codes: Vec<(String, i16)> =
        response.topics.iter().map(|t| (t.name.clone().unwrap().0.to_string(), t.error_code)).collect();
    assert_eq!(
        codes,
        vec![
            ("a".into(), 0),
            ("b".into(), ResponseError::UnknownTopicOrPartition.code()),
            ("bad name!".into(), ResponseError::InvalidTopicException.code()),
        ]
    );
}
