//! Chapter 8 over the wire: the broker checks idempotent producers' sequence
//! numbers (KIP-98), so a retried batch is written once, a gap is refused, a
//! zombie is fenced — and all of it survives a restart, an unclean stop and
//! retention, because the producer table is snapshotted beside the segments
//! and rebuilt from them.
//!
//! ```text
//! cargo test --release --test it idempotence::
//! ```
//!
//! Each test speaks raw Kafka requests to an in-process broker (the `wire`
//! tests' harness): the batches carry a producer id, epoch and base sequence
//! exactly as the Java client and librdkafka stamp them. Real clients behind
//! a fault-injecting proxy are `tests/it/idempotence_clients.rs`.

use crate::common::batches;
use crate::wire::harness;
use crate::wire::requests;

use std::collections::BTreeSet;

use bytes::Bytes;
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::{InitProducerIdRequest, ProduceRequest, ProducerId};
use kafka_protocol::ResponseError;
use spool::broker::now_ms;
use spool::config::BrokerConfig;
use spool::format::BatchBuilder;
use spool::idempotence::snapshot_file_name;
use spool::log::manager::lock;
use spool::TopicPartition;

use batches::batch_of;
use harness::{code, name, start, start_in, Client, TestBroker, PRODUCE_V};
use requests::{create_topic, fetch, fetched_values, produce, produce_request};

const INIT_PRODUCER_ID_V: i16 = 4;

/// One batch of an idempotent producer: `values` as records, stamped with the
/// producer's id, epoch and the sequence of its first record.
fn idempotent_batch(producer_id: i64, epoch: i16, base_sequence: i32, values: &[&str]) -> Bytes {
    let builder = BatchBuilder::default().producer(producer_id, epoch, base_sequence);
    batch_of(builder, values.iter().map(|v| (now_ms(), "key", v)))
}

/// InitProducerId without a transactional id: (error code, id, epoch).
async fn init_producer_id(client: &mut Client, current: Option<(i64, i16)>) -> (i16, i64, i16) {
    let (id, epoch) = current.unwrap_or((-1, -1));
    let request = InitProducerIdRequest::default()
        .with_transactional_id(None)
        .with_transaction_timeout_ms(60_000)
        .with_producer_id(ProducerId(id))
        .with_producer_epoch(epoch);
    let response = client.request(INIT_PRODUCER_ID_V, &request).await;
    (response.error_code, response.producer_id.0, response.producer_epoch)
}

/// A producer id from the broker, as a real client starts.
async fn new_producer(client: &mut Client) -> i64 {
    let (error, id, epoch) = init_producer_id(client, None).await;
    assert_eq!((error, epoch), (0, 0));
    id
}

/// Every (offset, value) of partition 0 of `topic`, from the log start.
async fn read_all(client: &mut Client, topic: &str, from: i64) -> Vec<(i64, String)> {
    let mut out: Vec<(i64, String)> = Vec::new();
    let mut offset = from;
    loop {
        let data = fetch(client, topic, 0, offset).await;
        assert_eq!(data.error_code, 0);
        let values = fetched_values(&data.records.unwrap_or_default());
        let new: Vec<_> = values.into_iter().filter(|(o, _)| *o >= offset).collect();
        let Some(last) = new.last() else { return out };
        offset = last.0 + 1;
        out.extend(new);
    }
}

fn log_of(broker: &TestBroker, topic: &str) -> spool::log::manager::SharedLog {
    broker.broker().partition(&TopicPartition::new(topic, 0)).expect("partition").log.clone()
}

/// The ids of the snapshot files in `topic`'s partition directory.
fn snapshots(broker: &TestBroker, topic: &str) -> Vec<i64> {
    lock(&log_of(broker, topic)).producer_snapshot_offsets().expect("list snapshots")
}

/// KIP-98's promise: a producer that retries a batch whose response it lost
/// gets the original batch's offset back, and the log holds one copy.
#[tokio::test]
async fn a_retried_batch_is_written_once_and_answered_with_its_offset() {
    let broker = start(|_| {}).await;
    let mut client = broker.client().await;
    create_topic(&mut client, "retry", 1, &[]).await;
    let pid = new_producer(&mut client).await;
    let first = produce(&mut client, "retry", 0, idempotent_batch(pid, 0, 0, &["a", "b"]), -1).await;
    assert_eq!((first.error_code, first.base_offset), (0, 0));
    let second = produce(&mut client, "retry", 0, idempotent_batch(pid, 0, 2, &["c"]), -1).await;
    assert_eq!((second.error_code, second.base_offset), (0, 2));
    // The retry of the first batch: same epoch and sequence range.
    let retry = produce(&mut client, "retry", 0, idempotent_batch(pid, 0, 0, &["a", "b"]), -1).await;
    assert_eq!((retry.error_code, retry.base_offset, retry.log_append_time_ms), (0, 0, -1));
    let values: Vec<String> = read_all(&mut client, "retry", 0).await.into_iter().map(|(_, v)| v).collect();
    assert_eq!(values, ["a", "b", "c"]);
    // A producer without an id (-1) is not checked: the same bytes twice are two copies.
    let plain = requests::batch(now_ms(), &["p"]);
    assert_eq!(produce(&mut client, "retry", 0, plain.clone(), -1).await.base_offset, 3);
    assert_eq!(produce(&mut client, "retry", 0, plain, -1).await.base_offset, 4);
    broker.stop().await;
}

/// A batch that does not follow the last one appended is refused with
/// OUT_OF_ORDER_SEQUENCE_NUMBER (45), and nothing is written: a batch never
/// lands after a gap (Kafka's `ProducerAppendInfo.checkSequence`).
#[tokio::test]
async fn a_sequence_gap_is_out_of_order_and_writes_nothing() {
    let broker = start(|_| {}).await;
    let mut client = broker.client().await;
    create_topic(&mut client, "gap", 1, &[]).await;
    let pid = new_producer(&mut client).await;
    assert_eq!(produce(&mut client, "gap", 0, idempotent_batch(pid, 0, 0, &["0"]), -1).await.error_code, 0);
    let gap = produce(&mut client, "gap", 0, idempotent_batch(pid, 0, 2, &["2"]), -1).await;
    assert_eq!(gap.error_code, code(ResponseError::OutOfOrderSequenceNumber));
    assert_eq!(gap.error_code, 45);
    assert_eq!(gap.base_offset, -1);
    // The next in sequence still goes in, right after the first.
    let next = produce(&mut client, "gap", 0, idempotent_batch(pid, 0, 1, &["1"]), -1).await;
    assert_eq!((next.error_code, next.base_offset), (0, 1));
    assert_eq!(read_all(&mut client, "gap", 0).await.len(), 2);
    broker.stop().await;
}

/// A batch from an older epoch than the producer's latest is a zombie:
/// INVALID_PRODUCER_EPOCH (47), not written. A new epoch starts at sequence 0
/// (KIP-360), and one that does not is out of order.
#[tokio::test]
async fn a_stale_epoch_is_fenced_and_a_new_epoch_starts_at_zero() {
    let broker = start(|_| {}).await;
    let mut client = broker.client().await;
    create_topic(&mut client, "epochs", 1, &[]).await;
    let pid = new_producer(&mut client).await;
    assert_eq!(
        produce(&mut client, "epochs", 0, idempotent_batch(pid, 0, 0, &["e0"]), -1).await.error_code,
        0
    );
    let bad_bump = produce(&mut client, "epochs", 0, idempotent_batch(pid, 1, 5, &["x"]), -1).await;
    assert_eq!(bad_bump.error_code, 45, "a new epoch must start at sequence 0");
    let bump = produce(&mut client, "epochs", 0, idempotent_batch(pid, 1, 0, &["e1"]), -1).await;
    assert_eq!((bump.error_code, bump.base_offset), (0, 1));
    let zombie = produce(&mut client, "epochs", 0, idempotent_batch(pid, 0, 1, &["zombie"]), -1).await;
    assert_eq!(zombie.error_code, code(ResponseError::InvalidProducerEpoch));
    assert_eq!(zombie.error_code, 47);
    let values: Vec<String> = read_all(&mut client, "epochs", 0).await.into_iter().map(|(_, v)| v).collect();
    assert_eq!(values, ["e0", "e1"]);
    broker.stop().await;
}

/// Why five: with `max.in.flight.requests.per.connection=5` all five batches
/// may be written before any response comes back, and then the oldest is
/// retried. The broker remembers five batches per producer, so that retry is
/// a duplicate; the oldest of six is no longer remembered and is refused (45)
/// rather than written twice.
#[tokio::test]
async fn five_in_flight_then_the_oldest_retried_is_a_duplicate() {
    let broker = start(|_| {}).await;
    let mut client = broker.client().await;
    create_topic(&mut client, "inflight", 1, &[]).await;
    let pid = new_producer(&mut client).await;
    let batch = |seq: i32| idempotent_batch(pid, 0, seq, &[&format!("v{seq}")]);
    let mut sent = Vec::new();
    for seq in 0..5 {
        sent.push(client.send(PRODUCE_V, &produce_request("inflight", 0, batch(seq), -1)).await);
    }
    for (seq, correlation_id) in sent.into_iter().enumerate() {
        let response = client.receive::<ProduceRequest>(PRODUCE_V, correlation_id).await;
        let p = &response.responses[0].partition_responses[0];
        assert_eq!((p.error_code, p.base_offset), (0, seq as i64));
    }
    for seq in 0..5 {
        let retry = produce(&mut client, "inflight", 0, batch(seq), -1).await;
        assert_eq!((retry.error_code, retry.base_offset), (0, i64::from(seq)), "retry of batch {seq}");
    }
    assert_eq!(produce(&mut client, "inflight", 0, batch(5), -1).await.base_offset, 5);
    let too_old = produce(&mut client, "inflight", 0, batch(0), -1).await;
    assert_eq!(too_old.error_code, 45, "the sixth-newest batch is forgotten, never rewritten");
    assert_eq!(read_all(&mut client, "inflight", 0).await.len(), 6);
    broker.stop().await;
}

/// Several batches for one partition in one request are checked in order, the
/// second against the first as appended; the retry of the request is answered
/// with the first batch's offset, like Kafka (the first duplicate answers for
/// all), and writes nothing.
#[tokio::test]
async fn several_batches_in_one_request_are_checked_in_order() {
    let broker = start(|_| {}).await;
    let mut client = broker.client().await;
    create_topic(&mut client, "multi", 1, &[]).await;
    let pid = new_producer(&mut client).await;
    let mut two = idempotent_batch(pid, 0, 0, &["a", "b"]).to_vec();
    two.extend_from_slice(&idempotent_batch(pid, 0, 2, &["c"]));
    let two = Bytes::from(two);
    let first = produce(&mut client, "multi", 0, two.clone(), -1).await;
    assert_eq!((first.error_code, first.base_offset), (0, 0));
    let retry = produce(&mut client, "multi", 0, two, -1).await;
    assert_eq!((retry.error_code, retry.base_offset), (0, 0));
    // A request whose second batch leaves a gap fails whole: its first is not written either.
    let mut gapped = idempotent_batch(pid, 0, 3, &["d"]).to_vec();
    gapped.extend_from_slice(&idempotent_batch(pid, 0, 9, &["z"]));
    let refused = produce(&mut client, "multi", 0, Bytes::from(gapped), -1).await;
    assert_eq!(refused.error_code, 45);
    let values: Vec<String> = read_all(&mut client, "multi", 0).await.into_iter().map(|(_, v)| v).collect();
    assert_eq!(values, ["a", "b", "c"]);
    broker.stop().await;
}

/// The durable path (`spool.log.flush.before.ack`, group commit) checks the
/// same way: a retry is answered with the original offset once that is durable.
#[tokio::test]
async fn durable_mode_deduplicates_too() {
    let broker = start(|c| c.log.flush_before_ack = true).await;
    let mut client = broker.client().await;
    create_topic(&mut client, "durable", 1, &[]).await;
    let pid = new_producer(&mut client).await;
    let first = produce(&mut client, "durable", 0, idempotent_batch(pid, 0, 0, &["once"]), -1).await;
    let retry = produce(&mut client, "durable", 0, idempotent_batch(pid, 0, 0, &["once"]), -1).await;
    assert_eq!((first.error_code, first.base_offset), (0, 0));
    assert_eq!((retry.error_code, retry.base_offset), (0, 0));
    let gap = produce(&mut client, "durable", 0, idempotent_batch(pid, 0, 3, &["gap"]), -1).await;
    assert_eq!(gap.error_code, 45);
    assert_eq!(read_all(&mut client, "durable", 0).await.len(), 1);
    broker.stop().await;
}

/// On a `LogAppendTime` topic a duplicate is answered with the original's
/// append time, not the retry's.
#[tokio::test]
async fn a_duplicate_on_a_log_append_time_topic_carries_the_original_time() {
    let broker = start(|_| {}).await;
    let mut client = broker.client().await;
    create_topic(&mut client, "lat", 1, &[("message.timestamp.type", "LogAppendTime")]).await;
    let pid = new_producer(&mut client).await;
    let first = produce(&mut client, "lat", 0, idempotent_batch(pid, 0, 0, &["t"]), -1).await;
    assert!(first.log_append_time_ms > 0);
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let retry = produce(&mut client, "lat", 0, idempotent_batch(pid, 0, 0, &["t"]), -1).await;
    assert_eq!((retry.base_offset, retry.log_append_time_ms), (0, first.log_append_time_ms));
    broker.stop().await;
}

/// Writes `batches` one-record batches of `pid` from sequence 0 and returns
/// the offsets they got.
async fn write_sequence(client: &mut Client, topic: &str, pid: i64, batches: i32) -> Vec<i64> {
    let mut offsets = Vec::new();
    for seq in 0..batches {
        let value = format!("{seq:0>100}"); // a few batches per small segment
        let r = produce(client, topic, 0, idempotent_batch(pid, 0, seq, &[&value]), -1).await;
        assert_eq!(r.error_code, 0, "batch {seq}");
        offsets.push(r.base_offset);
    }
    offsets
}

/// After a restart the producer table comes back — from the snapshot written
/// at clean shutdown (`<log end>.snapshot`), or, after an unclean stop, from the
/// last roll's snapshot plus the batches after it — so a retry that crosses the
/// restart is still recognised and the next sequence still follows.
async fn state_survives_a_restart(clean: bool) {
    let tweak = |c: &mut BrokerConfig| c.log.segment_bytes = 1_024;
    let broker = start(tweak).await;
    let mut client = broker.client().await;
    create_topic(&mut client, "restart", 1, &[]).await;
    let pid = new_producer(&mut client).await;
    let offsets = write_sequence(&mut client, "restart", pid, 40).await;
    let end = offsets.last().unwrap() + 1;
    let rolled = snapshots(&broker, "restart");
    assert!(rolled.len() >= 3, "segment rolls wrote snapshots: {rolled:?}");
    drop(client);
    let dir = if clean { broker.stop().await } else { broker.crash().await };

    let broker = start_in(dir, tweak).await;
    let after = snapshots(&broker, "restart");
    assert_eq!(
        after.contains(&end),
        clean,
        "a clean shutdown, and only it, snapshots the log end: {after:?}"
    );
    let mut client = broker.client().await;
    let last = idempotent_batch(pid, 0, 39, &[&format!("{:0>100}", 39)]);
    let retry = produce(&mut client, "restart", 0, last, -1).await;
    assert_eq!((retry.error_code, retry.base_offset), (0, end - 1), "the last batch is a duplicate");
    let gap = produce(&mut client, "restart", 0, idempotent_batch(pid, 0, 41, &["gap"]), -1).await;
    assert_eq!(gap.error_code, 45, "the sequence is remembered, not reset");
    let next = produce(&mut client, "restart", 0, idempotent_batch(pid, 0, 40, &["next"]), -1).await;
    assert_eq!((next.error_code, next.base_offset), (0, end));
    assert_eq!(read_all(&mut client, "restart", 0).await.len() as i64, end + 1);
    broker.stop().await;
}

#[tokio::test]
async fn producer_state_survives_a_clean_restart() {
    state_survives_a_restart(true).await;
}

#[tokio::test]
async fn producer_state_survives_an_unclean_stop() {
    state_survives_a_restart(false).await;
}

/// Retention deletes a producer's old segments but keeps the producer
/// (KAFKA-7190): a retry of its last batch is still a duplicate, while
/// running, after a clean restart and after an unclean one; the snapshots
/// below the new log start are deleted with the segments.
#[tokio::test]
async fn retention_keeps_producers() {
    let tweak = |c: &mut BrokerConfig| {
        c.log.segment_bytes = 1_024;
        c.log.retention_bytes = 1_024;
    };
    let broker = start(tweak).await;
    let mut client = broker.client().await;
    create_topic(&mut client, "retained", 1, &[]).await;
    let pid = new_producer(&mut client).await;
    let offsets = write_sequence(&mut client, "retained", pid, 30).await;
    let last_offset = *offsets.last().unwrap();
    // Another producer writes after it, so its last batch is in a deleted segment.
    let other = new_producer(&mut client).await;
    write_sequence(&mut client, "retained", other, 30).await;
    broker.broker().tick().expect("retention");
    let log_start = lock(&log_of(&broker, "retained")).log_start_offset();
    assert!(log_start > last_offset, "retention deleted the first producer's segments ({log_start})");
    let kept = snapshots(&broker, "retained");
    assert!(kept.iter().all(|&s| s >= log_start) && !kept.is_empty(), "{kept:?} below {log_start}");
    let last = || idempotent_batch(pid, 0, 29, &[&format!("{:0>100}", 29)]);
    let r = produce(&mut client, "retained", 0, last(), -1).await;
    assert_eq!((r.error_code, r.base_offset), (0, last_offset), "while running");
    drop(client);
    let broker = start_in(broker.stop().await, tweak).await;
    let mut client = broker.client().await;
    let r = produce(&mut client, "retained", 0, last(), -1).await;
    assert_eq!((r.error_code, r.base_offset), (0, last_offset), "after a clean restart");
    drop(client);
    let broker = start_in(broker.crash().await, tweak).await;
    let mut client = broker.client().await;
    let r = produce(&mut client, "retained", 0, last(), -1).await;
    assert_eq!((r.error_code, r.base_offset), (0, last_offset), "after an unclean stop");
    broker.stop().await;
}

/// A snapshot file is Kafka's format, named like Kafka's, in the partition
/// directory: a 20-digit offset and `.snapshot`.
#[tokio::test]
async fn snapshots_are_kafka_named_files_beside_the_segments() {
    let broker = start(|_| {}).await;
    let mut client = broker.client().await;
    create_topic(&mut client, "files", 1, &[]).await;
    let pid = new_producer(&mut client).await;
    write_sequence(&mut client, "files", pid, 3).await;
    drop(client);
    let dir = broker.stop().await;
    let partition_dir = dir.path().join("logs").join("files-0");
    let bytes =
        std::fs::read(partition_dir.join(snapshot_file_name(3))).expect("00000000000000000003.snapshot");
    assert_eq!(snapshot_file_name(3), "00000000000000000003.snapshot");
    let entries = spool::idempotence::decode_snapshot(&bytes).expect("a valid snapshot");
    assert_eq!(entries.len(), 1);
    assert_eq!((entries[0].producer_id, entries[0].last_seq(), entries[0].last_data_offset()), (pid, 2, 2));
}

/// A failed fsync of the metadata log while InitProducerId commits a new
/// block of producer ids takes the whole log directory offline, as a failed
/// topic creation does (Kafka's LogDirFailureChannel: the metadata log lives
/// in the same directory): no id from the failed block is handed out, and
/// the next produce to a healthy partition is refused with
/// KAFKA_STORAGE_ERROR instead of being acknowledged from a failing disk.
#[tokio::test]
async fn a_failed_producer_id_block_commit_takes_the_log_directory_offline() {
    let broker = start(|_| {}).await;
    let mut client = broker.client().await;
    create_topic(&mut client, "healthy", 1, &[]).await;
    broker.broker().metadata_writer().storage_mut().fail_next_syncs(1);
    let (error, _, _) = init_producer_id(&mut client, None).await;
    assert_ne!(error, 0, "no id from a block that was not committed");
    let r = produce(&mut client, "healthy", 0, batch_of(BatchBuilder::default(), [(now_ms(), "k", "x")]), -1)
        .await;
    assert_eq!(r.error_code, code(ResponseError::KafkaStorageError), "the directory is offline");
}

/// InitProducerId never hands out an id twice: not within a run, not after a
/// clean restart, not after an unclean one (the block is committed to the
/// metadata log before its ids are used, as Kafka's ProducerIdsRecord).
#[tokio::test]
async fn producer_ids_are_unique_across_restarts() {
    let broker = start(|_| {}).await;
    let mut seen = BTreeSet::new();
    let mut client = broker.client().await;
    for _ in 0..5 {
        assert!(seen.insert(new_producer(&mut client).await));
    }
    drop(client);
    let broker = start_in(broker.stop().await, |_| {}).await;
    let mut client = broker.client().await;
    for _ in 0..5 {
        assert!(seen.insert(new_producer(&mut client).await), "reused after a clean restart: {seen:?}");
    }
    drop(client);
    let broker = start_in(broker.crash().await, |_| {}).await;
    let mut client = broker.client().await;
    for _ in 0..5 {
        assert!(seen.insert(new_producer(&mut client).await), "reused after an unclean stop: {seen:?}");
    }
    broker.stop().await;
}

/// KIP-360's form of the request, naming the current id and epoch: for a
/// producer without a transactional id Kafka answers a new id at epoch 0, and
/// so does spool. Half a pair is INVALID_REQUEST. (A transactional id goes
/// to the transaction coordinator: `tests/it/transactions.rs`.)
#[tokio::test]
async fn init_producer_id_with_a_current_id_gets_a_new_one() {
    let broker = start(|_| {}).await;
    let mut client = broker.client().await;
    let pid = new_producer(&mut client).await;
    let (error, again, epoch) = init_producer_id(&mut client, Some((pid, 0))).await;
    assert_eq!((error, epoch), (0, 0));
    assert_ne!(again, pid);
    let (error, _, _) = init_producer_id(&mut client, Some((pid, -1))).await;
    assert_eq!(error, code(ResponseError::InvalidRequest));
    broker.stop().await;
}

/// Two partitions in one request are checked independently: a gap on one does
/// not stop the other.
#[tokio::test]
async fn partitions_are_checked_independently() {
    let broker = start(|_| {}).await;
    let mut client = broker.client().await;
    create_topic(&mut client, "two", 2, &[]).await;
    let pid = new_producer(&mut client).await;
    let data = |p: i32, seq: i32| {
        PartitionProduceData::default().with_index(p).with_records(Some(idempotent_batch(
            pid,
            0,
            seq,
            &["v"],
        )))
    };
    let request = ProduceRequest::default().with_acks(-1).with_timeout_ms(5_000).with_topic_data(vec![
        TopicProduceData::default().with_name(name("two")).with_partition_data(vec![data(0, 0), data(1, 7)]),
    ]);
    let response = client.request(PRODUCE_V, &request).await;
    let codes: Vec<i16> = response.responses[0].partition_responses.iter().map(|p| p.error_code).collect();
    assert_eq!(codes, [0, 0], "an unknown producer is accepted at any sequence on each partition");
    let request = request.with_topic_data(vec![TopicProduceData::default()
        .with_name(name("two"))
        .with_partition_data(vec![data(0, 1), data(1, 9)])]);
    let response = client.request(PRODUCE_V, &request).await;
    let codes: Vec<i16> = response.responses[0].partition_responses.iter().map(|p| p.error_code).collect();
    assert_eq!(codes, [0, 45]);
    broker.stop().await;
}
