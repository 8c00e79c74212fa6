//! CreatePartitions on a standalone broker: the new partitions get logs, a
//! leader (this broker) and a place in Metadata; refusals and dry runs
//! change nothing.

use std::collections::BTreeMap;

use kafka_protocol::messages::create_partitions_request::{
    CreatePartitionsAssignment, CreatePartitionsTopic,
};
use kafka_protocol::messages::{BrokerId, TopicName};

use super::*;
use crate::config::BrokerConfig;

fn broker() -> (tempfile::TempDir, Broker) {
    let dir = tempfile::tempdir().unwrap();
    let config = BrokerConfig { log_dir: dir.path().to_path_buf(), ..BrokerConfig::default() };
    (dir, Broker::open(config).unwrap())
}

fn grow(name: &'static str, count: i32) -> CreatePartitionsTopic {
    CreatePartitionsTopic::default()
        .with_name(TopicName(StrBytes::from_static_str(name)))
        .with_count(count)
        // The codec's default is an empty list; clients send null to let the controller place.
        .with_assignments(None)
}

fn codes(response: &CreatePartitionsResponse) -> Vec<i16> {
    response.results.iter().map(|r| r.error_code).collect()
}

fn partitions(broker: &Broker, name: &str) -> usize {
    broker.metadata_image().topic(name).map_or(0, |t| t.partitions.len())
}

/// A topic grown from 1 to 3 partitions has 3 in the image, and this broker
/// leads the new ones with a log on disk (KIP-195).
#[test]
fn new_partitions_get_logs_and_a_leader() {
    let (dir, broker) = broker();
    broker.create_topic("orders", 1, 1, &BTreeMap::new(), false).unwrap();
    let request = CreatePartitionsRequest::default().with_topics(vec![grow("orders", 3)]);
    let response = broker.create_partitions(request);
    assert_eq!(codes(&response), vec![0], "{response:?}");
    assert_eq!(partitions(&broker, "orders"), 3);
    for p in 1..3 {
        let tp = TopicPartition::new("orders", p);
        assert!(broker.partition(&tp).is_some_and(|p| p.is_leader()), "{tp}");
        assert!(dir.path().join(format!("orders-{p}")).is_dir(), "{tp}");
    }
}

/// validate_only answers as the real request would and changes nothing;
/// shrinking, an unknown topic, a wrong assignment and a duplicate are
/// refused with Kafka's codes, also changing nothing.
#[test]
fn dry_runs_and_refusals_change_nothing() {
    let (dir, broker) = broker();
    broker.create_topic("orders", 2, 1, &BTreeMap::new(), false).unwrap();
    broker.create_topic("other", 2, 1, &BTreeMap::new(), false).unwrap();
    let dry =
        CreatePartitionsRequest::default().with_topics(vec![grow("orders", 4)]).with_validate_only(true);
    assert_eq!(codes(&broker.create_partitions(dry)), vec![0]);
    let on = |ids: Vec<i32>| {
        CreatePartitionsAssignment::default().with_broker_ids(ids.into_iter().map(BrokerId).collect())
    };
    let request = CreatePartitionsRequest::default().with_topics(vec![
        grow("orders", 1),
        grow("nope", 3),
        grow("other", 3).with_assignments(Some(vec![on(vec![2])])),
        grow("twice", 3),
        grow("twice", 4),
    ]);
    let code = |e: ResponseError| e.code();
    assert_eq!(
        codes(&broker.create_partitions(request)),
        vec![
            code(ResponseError::InvalidPartitions),
            code(ResponseError::UnknownTopicOrPartition),
            code(ResponseError::InvalidReplicaAssignment),
            code(ResponseError::InvalidRequest),
            code(ResponseError::InvalidRequest),
        ]
    );
    assert_eq!((partitions(&broker, "orders"), partitions(&broker, "other")), (2, 2));
    assert!(!dir.path().join("other-2").exists());
    assert!(!dir.path().join("orders-2").exists());
}
