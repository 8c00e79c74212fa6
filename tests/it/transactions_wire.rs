//! Chapter 9 over the wire, the partition side (KIP-98): transactional
//! batches appended by hand as a transactional producer stamps them,
//! WriteTxnMarkers as the transaction coordinator sends it to a partition
//! leader, and what read_committed consumers are then told.
//!
//! ```text
//! cargo test --test it transactions_wire::
//! ```
//!
//! Each test speaks raw Kafka requests to an in-process broker (the `wire`
//! tests' harness); no real transactional client is needed, and no
//! coordinator verifies the batches (KIP-890's verification is off).

use crate::common::batches;
use crate::wire::harness;
use crate::wire::requests;

use std::time::Duration;

use bytes::Bytes;
use kafka_protocol::messages::fetch_response::PartitionData;
use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::write_txn_markers_request::{WritableTxnMarker, WritableTxnMarkerTopic};
use kafka_protocol::messages::{BrokerId, ListOffsetsRequest, ProducerId, WriteTxnMarkersRequest};
use kafka_protocol::ResponseError;
use spool::broker::now_ms;
use spool::format::{BatchBuilder, RecordBatch};

use batches::batch_of;
use harness::{code, name, start, Client, FETCH_V, LIST_OFFSETS_V};
use requests::{batch, create_topic, fetch_one, fetch_request, produce};

/// No transaction coordinator is asked here: the batches are appended as if
/// it had verified them, so KIP-890's verification is off
/// (`tests/it/transactions_verify.rs` checks it).
fn no_coordinator(config: &mut spool::config::BrokerConfig) {
    config.transactions.partition_verification_enable = false;
}

const READ_UNCOMMITTED: i8 = 0;
const READ_COMMITTED: i8 = 1;

const WRITE_TXN_MARKERS_V: i16 = 1;
const DESCRIBE_PRODUCERS_V: i16 = 0;
const PRODUCER_ID: i64 = 4_000;

/// One transactional batch of `values` from `PRODUCER_ID`.
fn txn_batch(epoch: i16, base_sequence: i32, values: &[&str]) -> Bytes {
    let builder = BatchBuilder::default().producer(PRODUCER_ID, epoch, base_sequence).transactional(true);
    batch_of(builder, values.iter().map(|v| (now_ms(), "key", v)))
}

/// Sends one marker for `PRODUCER_ID` on `topic`'s `partitions`: each
/// partition's error code.
async fn write_marker(client: &mut Client, commit: bool, topic: &str, partitions: &[i32]) -> Vec<(i32, i16)> {
    let marker = WritableTxnMarker::default()
        .with_producer_id(ProducerId(PRODUCER_ID))
        .with_producer_epoch(0)
        .with_transaction_result(commit)
        .with_coordinator_epoch(1)
        .with_topics(vec![WritableTxnMarkerTopic::default()
            .with_name(name(topic))
            .with_partition_indexes(partitions.to_vec())]);
    let request = WriteTxnMarkersRequest::default().with_markers(vec![marker]);
    let response = client.request(WRITE_TXN_MARKERS_V, &request).await;
    assert_eq!(response.markers.len(), 1);
    assert_eq!(response.markers[0].producer_id.0, PRODUCER_ID);
    response.markers[0].topics[0].partitions.iter().map(|p| (p.partition_index, p.error_code)).collect()
}

/// A leader serves WriteTxnMarkers v1 on its client listener, as Kafka's
/// brokers do for the coordinator: the marker ends the transaction it names
/// on each partition, and an unknown partition is answered on its own.
#[tokio::test]
async fn write_txn_markers_ends_a_transaction_over_tcp() {
    let broker = start(no_coordinator).await;
    let mut client = broker.client().await;
    create_topic(&mut client, "txn", 2, &[]).await;
    assert_eq!(produce(&mut client, "txn", 0, txn_batch(0, 0, &["a", "b"]), -1).await.error_code, 0);

    let unknown = code(ResponseError::UnknownTopicOrPartition);
    assert_eq!(write_marker(&mut client, false, "txn", &[0, 7]).await, vec![(0, 0), (7, unknown)]);

    let partition = broker.broker().partition(&spool::TopicPartition::new("txn", 0)).unwrap();
    let log = spool::log::manager::lock(&partition.log);
    assert_eq!(log.log_end_offset(), 3, "the abort marker takes offset 2");
    assert_eq!(log.last_stable_offset(), 3, "nothing is left open");
    assert_eq!(log.collect_aborted_transactions(0, 3).len(), 1, "the abort is indexed");
}

/// A Fetch of `topic-0` from `offset` at `isolation_level`.
async fn fetch_at(client: &mut Client, topic: &str, offset: i64, isolation_level: i8) -> PartitionData {
    let request = fetch_request(topic, 0, offset, 0, 0).with_isolation_level(isolation_level);
    fetch_one(client.request(FETCH_V, &request).await)
}

/// The (offset, is control) of every batch in a fetch's records.
fn batches_of(data: &PartitionData) -> Vec<(i64, bool)> {
    let mut out = Vec::new();
    let mut rest = data.records.clone().unwrap_or_default();
    while !rest.is_empty() {
        let (batch, tail) = RecordBatch::parse(&rest).expect("whole batches");
        out.push((batch.base_offset(), batch.is_control()));
        rest = tail;
    }
    out
}

/// The aborted transactions of a fetch answer as (producer id, first offset).
fn aborted_of(data: &PartitionData) -> Option<Vec<(i64, i64)>> {
    let list = data.aborted_transactions.as_ref()?;
    Some(list.iter().map(|t| (t.producer_id.0, t.first_offset)).collect())
}

/// A read_committed consumer reads only below the last stable offset: an
/// open transaction's records stay hidden from it, while read_uncommitted
/// reads to the high watermark. Both are told the LSO (Fetch v4+, KIP-98);
/// only read_committed gets an aborted-transaction list, read_uncommitted
/// gets null, as Kafka answers.
#[tokio::test]
async fn read_committed_stops_at_the_last_stable_offset() {
    let broker = start(no_coordinator).await;
    let mut client = broker.client().await;
    create_topic(&mut client, "open", 1, &[]).await;
    assert_eq!(produce(&mut client, "open", 0, batch(now_ms(), &["x"]), -1).await.error_code, 0);
    assert_eq!(produce(&mut client, "open", 0, txn_batch(0, 0, &["a", "b"]), -1).await.error_code, 0);

    let committed = fetch_at(&mut client, "open", 0, READ_COMMITTED).await;
    assert_eq!((committed.high_watermark, committed.last_stable_offset), (3, 1));
    assert_eq!(batches_of(&committed), vec![(0, false)], "the open transaction was read");
    assert_eq!(aborted_of(&committed), Some(vec![]));

    let uncommitted = fetch_at(&mut client, "open", 0, READ_UNCOMMITTED).await;
    assert_eq!((uncommitted.high_watermark, uncommitted.last_stable_offset), (3, 1));
    assert_eq!(batches_of(&uncommitted), vec![(0, false), (1, false)]);
    assert_eq!(aborted_of(&uncommitted), None);

    // At the LSO, read_committed has nothing to read yet.
    assert_eq!(batches_of(&fetch_at(&mut client, "open", 1, READ_COMMITTED).await), vec![]);
}

/// Once an ABORT marker decides the transaction, read_committed reads past
/// it and is told which producer's records from which offset to drop: the
/// consumer filters them out (KIP-98's aborted-transaction index).
#[tokio::test]
async fn read_committed_is_told_the_aborted_transactions() {
    let broker = start(no_coordinator).await;
    let mut client = broker.client().await;
    create_topic(&mut client, "aborts", 1, &[]).await;
    assert_eq!(produce(&mut client, "aborts", 0, batch(now_ms(), &["x"]), -1).await.error_code, 0);
    assert_eq!(produce(&mut client, "aborts", 0, txn_batch(0, 0, &["a", "b"]), -1).await.error_code, 0);
    assert_eq!(write_marker(&mut client, false, "aborts", &[0]).await, vec![(0, 0)]);
    assert_eq!(produce(&mut client, "aborts", 0, batch(now_ms(), &["y"]), -1).await.error_code, 0);

    let committed = fetch_at(&mut client, "aborts", 0, READ_COMMITTED).await;
    assert_eq!(committed.last_stable_offset, 5);
    assert_eq!(batches_of(&committed), vec![(0, false), (1, false), (3, true), (4, false)]);
    assert_eq!(aborted_of(&committed), Some(vec![(PRODUCER_ID, 1)]));
    // A fetch that starts after the marker needs no list entry.
    assert_eq!(aborted_of(&fetch_at(&mut client, "aborts", 4, READ_COMMITTED).await), Some(vec![]));
}

/// A read_committed fetch parked at the LSO (long polling) wakes when the
/// COMMIT marker moves the LSO past the transaction, and then reads it.
#[tokio::test]
async fn a_parked_read_committed_fetch_wakes_when_the_marker_lands() {
    let broker = start(no_coordinator).await;
    let mut client = broker.client().await;
    create_topic(&mut client, "parked", 1, &[]).await;
    assert_eq!(produce(&mut client, "parked", 0, txn_batch(0, 0, &["a", "b"]), -1).await.error_code, 0);

    let mut consumer = broker.client().await;
    let request = fetch_request("parked", 0, 0, 60_000, 1).with_isolation_level(READ_COMMITTED);
    let parked = tokio::spawn(async move { fetch_one(consumer.request(FETCH_V, &request).await) });
    // Let the fetch reach the broker and park (its result does not depend on it).
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!parked.is_finished(), "a read_committed fetch returned an open transaction");
    assert_eq!(write_marker(&mut client, true, "parked", &[0]).await, vec![(0, 0)]);

    let woken = tokio::time::timeout(Duration::from_secs(20), parked)
        .await
        .expect("the parked fetch did not wake when the LSO moved")
        .unwrap();
    assert_eq!(woken.last_stable_offset, 3);
    assert_eq!(batches_of(&woken), vec![(0, false), (2, true)]);
}

/// ListOffsets of `listed-0` for `timestamp` at `isolation_level`: (error code, offset).
async fn list_offset_at(client: &mut Client, timestamp: i64, isolation_level: i8) -> (i16, i64) {
    let request = ListOffsetsRequest::default()
        .with_replica_id(BrokerId(-1))
        .with_isolation_level(isolation_level)
        .with_topics(vec![ListOffsetsTopic::default().with_name(name("listed")).with_partitions(vec![
            ListOffsetsPartition::default().with_partition_index(0).with_timestamp(timestamp),
        ])]);
    let response = client.request(LIST_OFFSETS_V, &request).await;
    let p = &response.topics[0].partitions[0];
    (p.error_code, p.offset)
}

/// ListOffsets at read_committed answers LATEST with the LSO, and a
/// timestamp lookup never points into an undecided transaction (Kafka's
/// `fetchOffsetForTimestamp` with `IsolationLevel.READ_COMMITTED`).
#[tokio::test]
async fn list_offsets_read_committed_answers_the_last_stable_offset() {
    let broker = start(no_coordinator).await;
    let mut client = broker.client().await;
    create_topic(&mut client, "listed", 1, &[]).await;
    assert_eq!(produce(&mut client, "listed", 0, batch(1_000, &["x"]), -1).await.error_code, 0);
    let builder = BatchBuilder::default().producer(PRODUCER_ID, 0, 0).transactional(true);
    let open = batch_of(builder, [(2_000, "key", "a")]);
    assert_eq!(produce(&mut client, "listed", 0, open, -1).await.error_code, 0);

    assert_eq!(
        list_offset_at(&mut client, -1, READ_UNCOMMITTED).await,
        (0, 2),
        "read_uncommitted: the high watermark"
    );
    assert_eq!(list_offset_at(&mut client, -1, READ_COMMITTED).await, (0, 1), "read_committed: the LSO");
    assert_eq!(list_offset_at(&mut client, 1_500, READ_UNCOMMITTED).await, (0, 1));
    assert_eq!(
        list_offset_at(&mut client, 1_500, READ_COMMITTED).await,
        (0, -1),
        "pointed into the open transaction"
    );
}

/// The log end of `topic-0`, as ListOffsets LATEST at read_uncommitted says.
async fn log_end(client: &mut Client, topic: &str) -> i64 {
    let request = ListOffsetsRequest::default().with_replica_id(BrokerId(-1)).with_topics(vec![
        ListOffsetsTopic::default().with_name(name(topic)).with_partitions(vec![
            ListOffsetsPartition::default().with_partition_index(0).with_timestamp(-1),
        ]),
    ]);
    client.request(LIST_OFFSETS_V, &request).await.topics[0].partitions[0].offset
}

/// Only the transaction coordinator writes markers: a client's control
/// batch is refused INVALID_RECORD and writes nothing (Kafka's
/// `LogValidator`: "Clients are not allowed to write control records").
#[tokio::test]
async fn a_control_batch_from_a_client_is_refused() {
    let broker = start(no_coordinator).await;
    let mut client = broker.client().await;
    create_topic(&mut client, "forged", 1, &[]).await;
    assert_eq!(produce(&mut client, "forged", 0, txn_batch(0, 0, &["a"]), -1).await.error_code, 0);
    let mut forged = BatchBuilder::default().producer(PRODUCER_ID, 0, -1).transactional(true).control(true);
    // A COMMIT marker, coordinator epoch 0.
    forged.append(now_ms(), Some(&[0, 0, 0, 1]), Some(&[0, 0, 0, 0, 0, 0]), &[]);
    let forged = forged.build().as_bytes().clone();

    let answer = produce(&mut client, "forged", 0, forged, -1).await;
    assert_eq!(answer.error_code, code(ResponseError::InvalidRecord));
    assert_eq!(log_end(&mut client, "forged").await, 1, "the forged marker was appended");
    let committed = fetch_at(&mut client, "forged", 0, READ_COMMITTED).await;
    assert_eq!(committed.last_stable_offset, 0, "the forged marker ended the transaction");
}

/// Transactional produce goes through the producer table (KIP-98): a
/// batch from an older epoch than the partition has seen is fenced
/// INVALID_PRODUCER_EPOCH (Kafka answers that, not PRODUCER_FENCED, since
/// 2.7), and a non-transactional batch while the producer's transaction is
/// open here is INVALID_TXN_STATE; neither is appended.
#[tokio::test]
async fn transactional_produce_is_checked_against_the_producer_table() {
    let broker = start(no_coordinator).await;
    let mut client = broker.client().await;
    create_topic(&mut client, "fenced", 1, &[]).await;
    assert_eq!(produce(&mut client, "fenced", 0, txn_batch(3, 0, &["a"]), -1).await.error_code, 0);
    assert_eq!(produce(&mut client, "fenced", 0, txn_batch(3, 1, &["b"]), -1).await.error_code, 0);

    let zombie = produce(&mut client, "fenced", 0, txn_batch(2, 0, &["zombie"]), -1).await;
    assert_eq!(zombie.error_code, code(ResponseError::InvalidProducerEpoch));
    let plain = BatchBuilder::default().producer(PRODUCER_ID, 3, 2);
    let plain = batch_of(plain, [(now_ms(), "key", "outside")]);
    let outside = produce(&mut client, "fenced", 0, plain, -1).await;
    assert_eq!(outside.error_code, code(ResponseError::InvalidTxnState));
    assert_eq!(log_end(&mut client, "fenced").await, 2);
    let open = fetch_at(&mut client, "fenced", 0, READ_COMMITTED).await;
    assert_eq!(open.last_stable_offset, 0, "the transaction opened by the first batch");
}

/// DescribeProducers (KIP-664) lists the partition's producer table: each
/// producer's epoch, last sequence and timestamp, the epoch of the last
/// coordinator that wrote it a marker, and where its open transaction
/// starts (-1 for none); a partition nobody knows is UNKNOWN_TOPIC_OR_PARTITION.
#[tokio::test]
async fn describe_producers_lists_the_producer_table() {
    use kafka_protocol::messages::describe_producers_request::TopicRequest;
    use kafka_protocol::messages::DescribeProducersRequest;
    let broker = start(no_coordinator).await;
    let mut client = broker.client().await;
    create_topic(&mut client, "described", 1, &[]).await;
    assert_eq!(produce(&mut client, "described", 0, txn_batch(0, 0, &["a"]), -1).await.error_code, 0);
    assert_eq!(write_marker(&mut client, true, "described", &[0]).await, vec![(0, 0)]);
    assert_eq!(produce(&mut client, "described", 0, txn_batch(0, 1, &["b", "c"]), -1).await.error_code, 0);
    let idempotent = BatchBuilder::default().producer(9, 1, 0);
    let idempotent = batch_of(idempotent, [(5_000, "k", "x"), (5_000, "k", "y"), (5_000, "k", "z")]);
    assert_eq!(produce(&mut client, "described", 0, idempotent, -1).await.error_code, 0);

    let request = DescribeProducersRequest::default().with_topics(vec![TopicRequest::default()
        .with_name(name("described"))
        .with_partition_indexes(vec![0, 3])]);
    let response = client.request(DESCRIBE_PRODUCERS_V, &request).await;
    let partitions = &response.topics[0].partitions;
    assert_eq!((partitions[0].partition_index, partitions[0].error_code), (0, 0));
    assert_eq!(
        (partitions[1].partition_index, partitions[1].error_code),
        (3, code(ResponseError::UnknownTopicOrPartition))
    );
    let mut producers: Vec<_> = partitions[0]
        .active_producers
        .iter()
        .map(|p| {
            (
                p.producer_id.0,
                p.producer_epoch,
                p.last_sequence,
                p.coordinator_epoch,
                p.current_txn_start_offset,
            )
        })
        .collect();
    producers.sort();
    assert_eq!(producers, vec![(9, 1, 2, -1, -1), (PRODUCER_ID, 0, 2, 1, 2)]);
    let idempotent = partitions[0].active_producers.iter().find(|p| p.producer_id.0 == 9).unwrap();
    assert_eq!(idempotent.last_timestamp, 5_000);
}

/// Only the transaction coordinator writes `__transaction_state`: a client's
/// produce to it is INVALID_TOPIC_EXCEPTION and writes nothing, as Kafka
/// refuses client appends to internal topics.
#[tokio::test]
async fn clients_may_not_produce_to_the_transaction_log() {
    let broker = start(no_coordinator).await;
    let mut client = broker.client().await;
    create_topic(&mut client, "__transaction_state", 1, &[]).await;
    let answer = produce(&mut client, "__transaction_state", 0, batch(now_ms(), &["forged"]), -1).await;
    assert_eq!(answer.error_code, code(ResponseError::InvalidTopicException));
    assert_eq!(log_end(&mut client, "__transaction_state").await, 0);
}
