//! Chapter 9 over the wire, the partition side (KIP-98): transactional
//! batches appended by hand as a transactional producer stamps them,
//! WriteTxnMarkers as the transaction coordinator sends it to a partition
//! leader, and what read_committed consumers are then told.
//!
//! ```text
//! cargo test --test transactions_wire
//! ```
//!
//! Each test speaks raw Kafka requests to an in-process broker (the `wire`
//! tests' harness); no real transactional client is needed.

#[allow(dead_code)]
#[path = "common/batches.rs"]
mod batches;
#[allow(dead_code)]
#[path = "wire/harness.rs"]
mod harness;
#[allow(dead_code)]
#[path = "wire/requests.rs"]
mod requests;

use bytes::Bytes;
use kafka_protocol::messages::write_txn_markers_request::{WritableTxnMarker, WritableTxnMarkerTopic};
use kafka_protocol::messages::{ProducerId, WriteTxnMarkersRequest};
use kafka_protocol::ResponseError;
use spool::broker::now_ms;
use spool::format::BatchBuilder;

use batches::batch_of;
use harness::{code, name, start, Client};
use requests::{create_topic, produce};

const WRITE_TXN_MARKERS_V: i16 = 1;
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
    let broker = start(|_| {}).await;
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
