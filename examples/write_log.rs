//! Writes a small log in Kafka's format, for `spool dump-log` and for poking at
//! the files: `cargo run --example write_log -- DIR [RECORDS]`.

use bytes::BytesMut;
use spool::format::BatchBuilder;
use spool::log::{DiskStorage, Log, LogConfig, OpenOptions};

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let dir = args.next().unwrap_or_else(|| "/tmp/spool-demo/orders-0".into());
    let records: i64 = args.next().map(|n| n.parse()).transpose()?.unwrap_or(1000);
    let config = LogConfig { segment_bytes: 64 * 1024, ..LogConfig::default() };
    let now_ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_millis() as i64;
    let (mut log, _) = Log::open(DiskStorage::open(&dir)?, config, OpenOptions::default(), now_ms)?;
    let mut i = 0;
    while i < records {
        let mut batch = BatchBuilder::default();
        for _ in 0..10.min(records - i) {
            let key = format!("user-{}", i % 7);
            let value = format!(r#"{{"order":{i},"amount":{}}}"#, i * 3 % 100);
            batch.append(
                now_ms + i,
                Some(key.as_bytes()),
                Some(value.as_bytes()),
                &[("source", Some(b"example"))],
            );
            i += 1;
        }
        log.append(BytesMut::from(&batch.build().as_bytes()[..]), 0, now_ms)?;
    }
    let segments = log.segments().count();
    let end = log.log_end_offset();
    log.close()?;
    println!("wrote offsets 0..{end} in {segments} segments to {dir}");
    Ok(())
}
