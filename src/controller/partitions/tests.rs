//! CreatePartitions decided on a cluster of three brokers, checked against
//! Kafka's `ReplicationControlManagerTest` cases (testCreatePartitions,
//! testValidateBadManualPartitionAssignments).

use kafka_protocol::ResponseError;

use super::*;
use crate::controller::topics::{topic_records, validate_topic, ClusterBroker, CreatableTopic};
use crate::controller::{ControllerConfig, SeededRandom};
use crate::metadata::records::DIRECTORY_UNASSIGNED;

fn broker(id: i32, fenced: bool) -> ClusterBroker {
    ClusterBroker { id, fenced, in_controlled_shutdown: false, default_dir: DIRECTORY_UNASSIGNED }
}

fn three_brokers() -> ClusterView {
    ClusterView { brokers: vec![broker(1, false), broker(2, false), broker(3, false)] }
}

/// An image holding topic `name` with `partitions` partitions of two replicas.
fn image_with(name: &str, partitions: i32) -> MetadataImage {
    let mut image = MetadataImage::default();
    let topic = CreatableTopic {
        name: name.into(),
        num_partitions: partitions,
        replication_factor: 2,
        ..CreatableTopic::default()
    };
    let counts = validate_topic(&ControllerConfig::default(), &topic).unwrap();
    let (records, _) =
        topic_records(&image, &three_brokers(), &topic, counts, &mut SeededRandom::new(1)).unwrap();
    records.iter().for_each(|r| image.apply(r).unwrap());
    image
}

fn grow(name: &str, count: i32, assignments: Option<Vec<Vec<i32>>>) -> NewPartitions {
    NewPartitions { name: name.into(), count, assignments }
}

fn code(result: &Result<(), TopicError>) -> Option<ResponseError> {
    result.as_ref().err().map(|e| e.code)
}

/// Growing a topic from 2 to 5 partitions emits PartitionRecords 2, 3 and 4
/// of the topic's id, each with the topic's replication factor, every
/// replica in the ISR and the first one leading — and they apply.
#[test]
fn new_partitions_are_numbered_on_with_the_topics_replication_factor() {
    let mut image = image_with("orders", 2);
    let result =
        create_partitions(&image, &three_brokers(), &[grow("orders", 5, None)], &mut SeededRandom::new(7));
    assert_eq!(result.answer, vec![Ok(())]);
    let topic_id = image.topic("orders").unwrap().topic_id;
    let mut ids = Vec::new();
    for record in &result.records {
        let MetadataRecord::Partition(p) = record else { panic!("not a PartitionRecord: {record:?}") };
        assert_eq!((p.topic_id, p.replicas.len(), p.leader), (topic_id, 2, p.replicas[0]));
        assert_eq!(p.isr, p.replicas);
        ids.push(p.partition_id);
        image.apply(record).unwrap();
    }
    assert_eq!(ids, vec![2, 3, 4]);
    assert_eq!(image.topic("orders").unwrap().partitions.len(), 5);
}

/// Kafka's refusals, each with nothing to commit: an unknown topic, a count
/// equal to or below today's, and a topic named twice (both entries).
#[test]
fn refusals_commit_nothing() {
    let image = image_with("orders", 3);
    let cases = [
        (grow("nope", 4, None), ResponseError::UnknownTopicOrPartition),
        (grow("orders", 3, None), ResponseError::InvalidPartitions),
        (grow("orders", 2, None), ResponseError::InvalidPartitions),
    ];
    for (topic, expected) in cases {
        let result = create_partitions(
            &image,
            &three_brokers(),
            std::slice::from_ref(&topic),
            &mut SeededRandom::new(1),
        );
        assert_eq!(code(&result.answer[0]), Some(expected), "{topic:?}");
        assert!(result.records.is_empty());
    }
    let result = create_partitions(
        &image,
        &three_brokers(),
        &[grow("orders", 4, None), grow("orders", 5, None)],
        &mut SeededRandom::new(1),
    );
    assert_eq!(
        result.answer.iter().map(code).collect::<Vec<_>>(),
        vec![Some(ResponseError::InvalidRequest); 2]
    );
    assert!(result.records.is_empty());
    let message = &result.answer[0].as_ref().unwrap_err().message;
    assert_eq!(message, "Duplicate topic name.");
}

/// Explicit assignments are used as given, and refused as Kafka refuses
/// them: the wrong number of lists, an unregistered broker, a broker twice,
/// another replication factor than the topic's.
#[test]
fn explicit_assignments_are_checked() {
    let image = image_with("orders", 1);
    let ok = create_partitions(
        &image,
        &three_brokers(),
        &[grow("orders", 3, Some(vec![vec![3, 1], vec![2, 3]]))],
        &mut SeededRandom::new(1),
    );
    assert_eq!(ok.answer, vec![Ok(())]);
    let replicas: Vec<Vec<i32>> = (ok.records.iter())
        .map(|r| match r {
            MetadataRecord::Partition(p) => p.replicas.clone(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(replicas, vec![vec![3, 1], vec![2, 3]]);
    for bad in [
        vec![vec![1, 2]],
        vec![vec![1, 9], vec![1, 2]],
        vec![vec![1, 1], vec![1, 2]],
        vec![vec![1], vec![2]],
        vec![vec![], vec![1, 2]],
    ] {
        let result = create_partitions(
            &image,
            &three_brokers(),
            &[grow("orders", 3, Some(bad.clone()))],
            &mut SeededRandom::new(1),
        );
        assert_eq!(code(&result.answer[0]), Some(ResponseError::InvalidReplicaAssignment), "{bad:?}");
        assert!(result.records.is_empty());
    }
}

/// A fenced broker is registered, so an assignment may name it, but a
/// partition whose every replica is fenced has no one to lead it.
#[test]
fn an_assignment_of_fenced_brokers_only_is_refused() {
    let image = image_with("orders", 1);
    let cluster = ClusterView { brokers: vec![broker(1, false), broker(2, true), broker(3, true)] };
    let result = create_partitions(
        &image,
        &cluster,
        &[grow("orders", 2, Some(vec![vec![2, 3]]))],
        &mut SeededRandom::new(1),
    );
    assert_eq!(code(&result.answer[0]), Some(ResponseError::InvalidReplicaAssignment));
    let result = create_partitions(
        &image,
        &cluster,
        &[grow("orders", 2, Some(vec![vec![2, 1]]))],
        &mut SeededRandom::new(1),
    );
    let MetadataRecord::Partition(p) = &result.records[0] else { panic!() };
    assert_eq!((p.leader, p.isr.clone()), (1, vec![1]));
}

/// The internal topics keep their partition count: spool's coordinators
/// find a group's or transactional id's state by hashing over it.
#[test]
fn internal_topics_are_refused() {
    for name in [crate::group::CONSUMER_OFFSETS_TOPIC, crate::txn::TRANSACTION_STATE_TOPIC] {
        let image = image_with(name, 1);
        let result =
            create_partitions(&image, &three_brokers(), &[grow(name, 2, None)], &mut SeededRandom::new(1));
        assert_eq!(code(&result.answer[0]), Some(ResponseError::InvalidRequest), "{name}");
        assert!(result.records.is_empty());
    }
}
