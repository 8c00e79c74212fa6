//! Durability across a clean restart: what was acknowledged is still there.

use spool::broker::now_ms;
use spool::TopicPartition;

use kafka_protocol::ResponseError;

use crate::wire::harness::{code, start, start_in};
use crate::wire::requests::{batch, create_topic, fetch, fetched_values, list_offset, metadata, produce};

/// Nothing acknowledged is lost: every batch produced with acks=1 before a clean
/// shutdown is fetched back, in order and byte for byte, from a broker reopened
/// on the same log directory — topics, partitions and offsets included.
#[tokio::test]
async fn acknowledged_records_survive_a_clean_restart() {
    const BATCHES: i64 = 50;
    let broker = start(|c| c.log.segment_bytes = 2_048).await; // several segments
    let mut client = broker.client().await;
    create_topic(&mut client, "durable", 2, &[]).await;
    let mut expected: [Vec<(i64, String)>; 2] = Default::default();
    for i in 0..BATCHES {
        let partition = (i % 2) as usize;
        let values = [format!("batch {i} record 0"), format!("batch {i} record 1")];
        let records = batch(now_ms(), &[&values[0], &values[1]]);
        let acked = produce(&mut client, "durable", partition as i32, records, 1).await;
        assert_eq!(acked.error_code, 0);
        let next = expected[partition].len() as i64;
        assert_eq!(acked.base_offset, next);
        expected[partition].extend(values.into_iter().enumerate().map(|(j, v)| (next + j as i64, v)));
    }
    drop(client);
    let dir = broker.stop().await;

    let broker = start_in(dir, |c| c.log.segment_bytes = 2_048).await;
    let mut client = broker.client().await;
    for (partition, expected) in expected.iter().enumerate() {
        let mut got = Vec::new();
        let mut offset = 0;
        while offset < expected.len() as i64 {
            let data = fetch(&mut client, "durable", partition as i32, offset).await;
            assert_eq!(data.error_code, 0);
            assert_eq!(data.high_watermark, expected.len() as i64);
            let values = fetched_values(&data.records.expect("records"));
            assert!(!values.is_empty(), "no progress at offset {offset}");
            got.extend(values.into_iter().filter(|(o, _)| *o >= offset));
            offset = got.last().unwrap().0 + 1;
        }
        assert_eq!(&got, expected, "partition {partition}");
    }
    // And the log continues where it stopped.
    let next = produce(&mut client, "durable", 0, batch(now_ms(), &["after restart"]), 1).await;
    assert_eq!(next.base_offset, expected[0].len() as i64);
    broker.stop().await;
}

/// In durable mode an acknowledgement means fsynced, for a topic re-created
/// under an old name too: after delete + create, the new log's recovery point
/// covers every offset produce acknowledged. (The old log's group-commit
/// watermark once outlived it, so the new topic's first records were
/// acknowledged with no fsync: "offset 0 acknowledged, recovery point 0".)
#[tokio::test]
async fn a_recreated_topic_acknowledges_only_flushed_records() {
    let broker = start(|c| c.log.flush_before_ack = true).await;
    let mut client = broker.client().await;
    create_topic(&mut client, "reborn", 1, &[]).await;
    for i in 0..3 {
        let acked = produce(&mut client, "reborn", 0, batch(now_ms(), &[&format!("old {i}")]), -1).await;
        assert_eq!(acked.error_code, 0);
    }
    broker.broker().delete_topic("reborn").expect("delete");
    create_topic(&mut client, "reborn", 1, &[]).await;
    let acked = produce(&mut client, "reborn", 0, batch(now_ms(), &["new"]), -1).await;
    assert_eq!((acked.error_code, acked.base_offset), (0, 0));
    let tp = TopicPartition::new("reborn", 0);
    let log = broker.broker().partition(&tp).expect("re-created").log.clone();
    let recovery_point = log.lock().unwrap().recovery_point();
    assert!(recovery_point > acked.base_offset, "offset 0 acknowledged, recovery point {recovery_point}");
    broker.stop().await;
}

/// A failed fsync takes the log directory offline, as Kafka's
/// `LogDirFailureChannel` does: the produce whose fsync failed answers
/// KAFKA_STORAGE_ERROR (56), and so does every later produce, fetch and
/// ListOffsets, on that partition and on any other, while Metadata is still
/// served. Nothing is acknowledged after the failure, although the disk's
/// next fsync would succeed.
#[tokio::test]
async fn a_failed_fsync_takes_the_log_directory_offline() {
    let broker = start(|c| c.log.flush_before_ack = true).await;
    let mut client = broker.client().await;
    create_topic(&mut client, "failing", 1, &[]).await;
    create_topic(&mut client, "bystander", 1, &[]).await;
    assert_eq!(produce(&mut client, "failing", 0, batch(now_ms(), &["kept"]), -1).await.error_code, 0);
    let tp = TopicPartition::new("failing", 0);
    let log = broker.broker().partition(&tp).expect("created").log.clone();
    log.lock().unwrap().storage_mut().fail_next_syncs(1);

    let storage_error = code(ResponseError::KafkaStorageError);
    let failed = produce(&mut client, "failing", 0, batch(now_ms(), &["lost"]), -1).await;
    assert_eq!(failed.error_code, storage_error, "the produce whose fsync failed");
    for topic in ["failing", "bystander"] {
        let later = produce(&mut client, topic, 0, batch(now_ms(), &["later"]), -1).await;
        assert_eq!(later.error_code, storage_error, "a later produce to {topic} was acknowledged");
        assert_eq!(fetch(&mut client, topic, 0, 0).await.error_code, storage_error, "fetch {topic}");
        assert_eq!(list_offset(&mut client, topic, 0, -1).await.error_code, storage_error);
    }
    let topics = metadata(&mut client, Some(&["failing", "bystander"]), false).await;
    assert!(topics.iter().all(|t| t.error_code == 0), "Metadata is still served");
    assert_eq!(log.lock().unwrap().recovery_point(), 1, "only the first record was acknowledged");
    broker.crash().await; // a clean shutdown cannot flush an offline log
}

/// Lines the broker logs while a test runs, captured from `tracing`.
#[derive(Clone, Default)]
struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn lines(&self, level: &str) -> Vec<String> {
        let text = String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned();
        text.lines().filter(|l| l.contains(&format!(" {level} "))).map(str::to_string).collect()
    }
}

/// Storage errors are not silent: the fsync failure that takes the log
/// directory offline is logged once at ERROR with its partition and cause, and
/// the requests then refused with KAFKA_STORAGE_ERROR are logged at WARN with
/// their partition, at most one line per partition per interval however many
/// there are.
#[tokio::test]
async fn storage_errors_are_logged_once_per_partition_per_interval() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::WARN)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber); // this test's thread only
    let broker = start(|c| c.log.flush_before_ack = true).await;
    let mut client = broker.client().await;
    create_topic(&mut client, "noisy", 1, &[]).await;
    let log = broker.broker().partition(&TopicPartition::new("noisy", 0)).expect("created").log.clone();
    log.lock().unwrap().storage_mut().fail_next_syncs(1);
    for i in 0..5 {
        let refused = produce(&mut client, "noisy", 0, batch(now_ms(), &[&format!("r{i}")]), -1).await;
        assert_eq!(refused.error_code, code(ResponseError::KafkaStorageError));
    }
    let errors = captured.lines("ERROR");
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].contains("noisy-0") && errors[0].contains("os error 5"), "{errors:?}");
    let warnings = captured.lines("WARN");
    assert_eq!(warnings.len(), 1, "four refusals, one line: {warnings:?}");
    assert!(warnings[0].contains("noisy-0"), "{warnings:?}");
    broker.crash().await;
}
