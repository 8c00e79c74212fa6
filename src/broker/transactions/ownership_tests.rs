//! The transaction coordinators follow `__transaction_state`'s leadership
//! (Kafka's `TransactionCoordinator.onElection` / `onResignation`), checked
//! in one broker of a cluster whose metadata image the test writes: leading
//! the partition loads its transactional ids from the log, losing it unloads
//! them (NOT_COORDINATOR), and leading it again in a newer epoch loads them
//! back, with what the previous leadership appended.
//! While led, a record the ISR does not confirm waits for its transaction's
//! own timeout before its request gets COORDINATOR_NOT_AVAILABLE.

use std::collections::BTreeSet;
use std::sync::Arc;

use bytes::BytesMut;
use kafka_protocol::messages::add_partitions_to_txn_request::AddPartitionsToTxnTopic;
use kafka_protocol::messages::{
    AddPartitionsToTxnRequest, ApiKey, ProducerId, RequestHeader, RequestKind, ResponseKind, TopicName,
    TransactionalId,
};
use kafka_protocol::protocol::StrBytes;
use uuid::Uuid;

use super::super::Broker;
use crate::config::{BrokerConfig, HostPort, ProcessRoles, QuorumVoter};
use crate::format::BatchBuilder;
use crate::log::manager::lock;
use crate::metadata::records::{PartitionChangeRecord, PartitionRecord};
use crate::metadata::MetadataRecord;
use crate::txn::{
    TransactionLogRecord, TransactionLogValue, TransactionState, TxnError, TRANSACTION_STATE_TOPIC,
};
use crate::wire::codec::Request;
use crate::TopicPartition;

fn str(s: &'static str) -> StrBytes {
    StrBytes::from_static_str(s)
}

/// Broker 1 of a cluster (its controller is never contacted here), with
/// `__transaction_state` (one partition, replicas 1 and 2, led by broker 1
/// in epoch 3) and a topic `t`. Returns the state topic's id.
fn broker() -> (tempfile::TempDir, Arc<Broker>, Uuid) {
    let dir = tempfile::tempdir().unwrap();
    let controller = QuorumVoter { node_id: 9, endpoint: HostPort { host: "127.0.0.1".into(), port: 9 } };
    let config = BrokerConfig {
        log_dir: dir.path().to_path_buf(),
        process_roles: ProcessRoles::Broker,
        controller_quorum_voters: vec![controller],
        ..BrokerConfig::default()
    };
    let broker = Broker::open(config).unwrap();
    let (state_id, topic_id) = (Uuid::new_v4(), Uuid::new_v4());
    let partition = |topic_id| {
        MetadataRecord::Partition(PartitionRecord {
            partition_id: 0,
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
        })
    };
    let records = [
        MetadataRecord::Topic { name: TRANSACTION_STATE_TOPIC.into(), topic_id: state_id },
        partition(state_id),
        MetadataRecord::Topic { name: "t".into(), topic_id },
        partition(topic_id),
    ];
    broker.metadata_writer().commit(&records, 0).unwrap();
    broker.apply_image(0).unwrap();
    (dir, Arc::new(broker), state_id)
}

/// The controller moves the state partition's leadership to `leader`.
fn move_leadership(broker: &Broker, state_id: Uuid, leader: i32) {
    let change = PartitionChangeRecord { leader, ..PartitionChangeRecord::new(state_id, 0) };
    broker.metadata_writer().commit(&[MetadataRecord::PartitionChange(change)], 0).unwrap();
    broker.apply_image(0).unwrap();
}

/// "tx" as the coordinator of partition 0 describes it: (state, partitions).
fn describe(broker: &Broker) -> Result<(TransactionState, BTreeSet<TopicPartition>), TxnError> {
    let coordinators = broker.transactions().lock();
    let c = coordinators.get(&0).ok_or(TxnError::NotCoordinator)?;
    c.describe_transaction("tx").map(|d| (d.state, d.partitions))
}

/// Appends "tx"'s Empty record (producer 7, epoch 0) to the state partition,
/// as the coordinator of an earlier leadership wrote it.
fn write_empty_transaction(broker: &Broker) {
    let record = TransactionLogRecord {
        transactional_id: "tx".into(),
        value: Some(TransactionLogValue {
            producer_id: 7,
            previous_producer_id: -1,
            next_producer_id: -1,
            producer_epoch: 0,
            transaction_timeout_ms: 60_000,
            state: TransactionState::Empty,
            partitions: BTreeSet::new(),
            last_update_timestamp_ms: crate::broker::now_ms(),
            start_timestamp_ms: -1,
            client_transaction_version: 0,
        }),
    };
    let mut builder = BatchBuilder::default();
    builder.append(0, Some(&record.key_bytes()), record.value_bytes(0).as_deref(), &[]);
    let partition = broker.partition(&TopicPartition::new(TRANSACTION_STATE_TOPIC, 0)).unwrap();
    let batch = BytesMut::from(&builder.build().as_bytes()[..]);
    let epoch = partition.check_append(false).unwrap();
    lock(&partition.log).append(batch, epoch, 0).unwrap();
}

/// AddPartitionsToTxn(t-0) for producer 7 through the broker: the error code.
async fn add_t0(broker: &Arc<Broker>) -> i16 {
    let body = AddPartitionsToTxnRequest::default()
        .with_v3_and_below_transactional_id(TransactionalId(str("tx")))
        .with_v3_and_below_producer_id(ProducerId(7))
        .with_v3_and_below_topics(vec![AddPartitionsToTxnTopic::default()
            .with_name(TopicName(str("t")))
            .with_partitions(vec![0])]);
    let api_key = ApiKey::AddPartitionsToTxn;
    let header = RequestHeader::default().with_request_api_key(api_key as i16).with_request_api_version(3);
    let body = RequestKind::AddPartitionsToTxn(body);
    let request = Request {
        header,
        api_key,
        body,
        client_host: "/127.0.0.1".into(),
        listener: String::new(),
        principal: crate::security::Principal::anonymous(),
    };
    let ResponseKind::AddPartitionsToTxn(r) = broker.handle_transactions(request).await.expect("an answer")
    else {
        unreachable!()
    };
    r.results_by_topic_v3_and_below[0].results_by_partition[0].partition_error_code
}

/// Leading loads, losing unloads, leading again (a newer epoch) loads back
/// from the log — including the record the previous leadership appended.
#[tokio::test]
async fn coordinators_follow_the_state_partitions_leadership() {
    let (_dir, broker, state_id) = broker();
    assert_eq!(describe(&broker), Err(TxnError::TransactionalIdNotFound), "led and loaded, empty");
    write_empty_transaction(&broker);
    assert_eq!(describe(&broker), Err(TxnError::TransactionalIdNotFound), "written behind its back");

    move_leadership(&broker, state_id, 2);
    assert_eq!(describe(&broker), Err(TxnError::NotCoordinator));
    assert_eq!(add_t0(&broker).await, TxnError::NotCoordinator.code());

    move_leadership(&broker, state_id, 1);
    assert_eq!(describe(&broker), Ok((TransactionState::Empty, BTreeSet::new())), "loaded from the log");
    assert_eq!(add_t0(&broker).await, 0);
    let t0 = BTreeSet::from([TopicPartition::new("t", 0)]);
    assert_eq!(describe(&broker), Ok((TransactionState::Ongoing, t0.clone())));

    move_leadership(&broker, state_id, 2);
    move_leadership(&broker, state_id, 1);
    assert_eq!(describe(&broker), Ok((TransactionState::Ongoing, t0)), "the Ongoing record was stored");
    broker.shutdown().unwrap();
}

/// A `__transaction_state` record waits for the ISR as long as its
/// transaction's own timeout, as Kafka's `TransactionStateManager` does (not
/// a fixed bound): with broker 2 added to the ISR and never fetching,
/// AddPartitionsToTxn for a transaction whose timeout is 60 s is still
/// waiting after 59 s and gets COORDINATOR_NOT_AVAILABLE at 60 s; the
/// transaction is still Empty.
#[tokio::test(start_paused = true)]
async fn an_unreplicated_record_waits_for_the_transactions_timeout() {
    let (_dir, broker, state_id) = broker();
    write_empty_transaction(&broker);
    move_leadership(&broker, state_id, 2);
    move_leadership(&broker, state_id, 1);
    let isr = PartitionChangeRecord { isr: Some(vec![1, 2]), ..PartitionChangeRecord::new(state_id, 0) };
    broker.metadata_writer().commit(&[MetadataRecord::PartitionChange(isr)], 0).unwrap();
    broker.apply_image(0).unwrap();
    assert_eq!(describe(&broker), Ok((TransactionState::Empty, BTreeSet::new())));

    let start = tokio::time::Instant::now();
    let waiting = tokio::spawn({
        let broker = broker.clone();
        async move { add_t0(&broker).await }
    });
    tokio::time::sleep(std::time::Duration::from_millis(59_000)).await;
    assert!(!waiting.is_finished(), "answered before the transaction's timeout");
    assert_eq!(waiting.await.unwrap(), TxnError::CoordinatorNotAvailable.code());
    let waited = start.elapsed();
    assert!(waited >= std::time::Duration::from_millis(60_000), "{waited:?}");
    assert!(waited < std::time::Duration::from_millis(61_000), "{waited:?}");
    assert_eq!(describe(&broker), Ok((TransactionState::Empty, BTreeSet::new())), "not stored, not applied");
    broker.shutdown().unwrap();
}
