//! Record traffic for the fetch and produce benches, through spool's
//! `Connection` (PLAINTEXT or TLS alike): a producer-sized batch, a produce
//! request carrying one batch per partition (acks=1), and a consumer's fetch
//! loop reading partitions from offset 0 to their ends.

use bytes::Bytes;
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::{BrokerId, FetchRequest, ProduceRequest, TopicName};
use kafka_protocol::protocol::StrBytes;
use spool::client::Connection;
use spool::format::{BatchBuilder, RecordBatch};

#[allow(dead_code)]
#[path = "../../tests/it/common/batches.rs"]
mod batches;

/// A consumer's defaults: `fetch.max.bytes`, `max.partition.fetch.bytes`.
pub const FETCH_MAX_BYTES: i32 = 50 << 20;
pub const PARTITION_MAX_BYTES: i32 = 1 << 20;

pub fn name(topic: &str) -> TopicName {
    TopicName(StrBytes::from_string(topic.to_string()))
}

/// One batch of about `batch_bytes` holding records of `value_bytes`-byte
/// values (keys `key-NNNNNN`), as a producer with that `batch.size` makes it.
pub fn batch(batch_bytes: usize, value_bytes: usize) -> Bytes {
    let value = vec![b'v'; value_bytes];
    let records = (batch_bytes / (value_bytes + 20)).max(1);
    batches::batch_of(
        BatchBuilder::default(),
        (0..records).map(|i| (1_700_000_000_000, format!("key-{i:06}"), &value)),
    )
}

/// Sends `batch` to each of `partitions` of `topic` in one produce request
/// (acks=1) and returns each partition's end offset after it.
pub async fn produce(connection: &mut Connection, topic: &str, partitions: i32, batch: &Bytes) -> Vec<i64> {
    let data = (0..partitions)
        .map(|p| PartitionProduceData::default().with_index(p).with_records(Some(batch.clone())))
        .collect();
    let request = ProduceRequest::default()
        .with_acks(1)
        .with_timeout_ms(30_000)
        .with_topic_data(vec![TopicProduceData::default().with_name(name(topic)).with_partition_data(data)]);
    let response = connection.send(&request).await.expect("produce");
    let records = i64::from(RecordBatch::from_bytes(batch.clone()).expect("a batch").records_count());
    let mut ends = vec![0; partitions as usize];
    for p in &response.responses[0].partition_responses {
        assert_eq!(p.error_code, 0, "produce to partition {} failed", p.index);
        ends[p.index as usize] = p.base_offset + records;
    }
    ends
}

/// Reads `topic` from offset 0 to `ends` (one end per partition), as a
/// consumer with default limits does; returns the record bytes read.
pub async fn consume_all(connection: &mut Connection, topic: &str, ends: &[i64]) -> u64 {
    let mut offsets = vec![0i64; ends.len()];
    let mut bytes = 0;
    while offsets.iter().zip(ends).any(|(o, e)| o < e) {
        let partitions = (0..ends.len())
            .filter(|&p| offsets[p] < ends[p])
            .map(|p| {
                FetchPartition::default()
                    .with_partition(p as i32)
                    .with_fetch_offset(offsets[p])
                    .with_partition_max_bytes(PARTITION_MAX_BYTES)
            })
            .collect();
        let request = FetchRequest::default()
            .with_replica_id(BrokerId(-1))
            .with_max_wait_ms(0)
            .with_min_bytes(1)
            .with_max_bytes(FETCH_MAX_BYTES)
            .with_session_epoch(-1)
            .with_topics(vec![FetchTopic::default().with_topic(name(topic)).with_partitions(partitions)]);
        let response = connection.send(&request).await.expect("fetch");
        let before = bytes;
        for p in response.responses.iter().flat_map(|t| &t.partitions) {
            assert_eq!(p.error_code, 0, "fetch of partition {} failed", p.partition_index);
            let mut rest = p.records.clone().unwrap_or_default();
            bytes += rest.len() as u64;
            // Step past each whole batch (a consumer's next offset).
            while let Ok((batch, tail)) = RecordBatch::parse(&rest) {
                offsets[p.partition_index as usize] = batch.next_offset();
                rest = tail;
            }
        }
        assert!(bytes > before, "a fetch returned no records before the partitions' ends");
    }
    bytes
}
