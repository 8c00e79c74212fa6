//! Durability across a clean restart: what was acknowledged is still there.

use spool::broker::now_ms;

use crate::harness::{start, start_in};
use crate::requests::{batch, create_topic, fetch, fetched_values, produce};

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
