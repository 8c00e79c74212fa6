//! Chapter 1 — the log: integration tests of [`spool::log`].
//!
//! ```text
//! cargo test --release --test it log::
//! ```
//!
//! What is checked, section by section:
//!
//! - **Properties** (proptest): random batches — keys, values, headers,
//!   timestamps that go backwards, every codec — appended to a log with tiny
//!   segments and indexes, read back identically after a clean reopen and after
//!   a full recovery; the sparse index agrees with a linear scan, and
//!   `offset_for_timestamp` with a scan over every record.
//! - **Crashes**: a torn last batch cut at every byte, every byte of it flipped, a
//!   corrupt middle segment, and `MemStorage::crash` in every mode.
//! - **Retention, truncation, rolling, `LogAppendTime`, the log manager.**
//! - **Leader epochs** (`tests/it/log/epochs.rs`, chapter 6): the
//!   `leader-epoch-checkpoint` file and cache through appends, truncation,
//!   retention, reopen, a lost or corrupt file and crashes (a property test).
//! - **The follower's log** (`tests/it/log/follower.rs`, chapter 6):
//!   `append_as_follower` keeps the leader's offsets, epochs and stamps, refuses
//!   offsets that go back, drops a trailing partial batch; a copy in any
//!   chunking is byte-identical to its leader (a property test);
//!   `truncate_fully_and_start_at`.
//! - **The high watermark** (`tests/it/log/high_watermark.rs`, chapter 6): clamped
//!   to the log, cut by truncation, bounding reads as `LocalLog.read` does, and
//!   `replication-offset-checkpoint` through the log manager.
//! - **A golden test** against batches built by a real Kafka client
//!   (kafka-python, see `tests/fixtures/make_kafka_python_batches.py`).
//!
//! Kafka behaviour is cited by class: `LogSegment.recover`, `UnifiedLog.truncateTo`,
//! `LogSegment.findOffsetByTimestamp`, `DefaultRecordBatch` (KIP-98's v2 format).

use std::collections::BTreeMap;
use std::path::Path;

use bytes::{Bytes, BytesMut};
use proptest::prelude::*;
use spool::format::batch::HEADER_SIZE;
use spool::format::Compression;
use spool::format::{BatchBuilder, RecordBatch, TimestampType};
use spool::log::manager::{
    lock, CLEAN_SHUTDOWN_FILE, LOG_START_OFFSET_CHECKPOINT, RECOVERY_POINT_CHECKPOINT,
};
use spool::log::{
    CrashMode, DiskStorage, Log, LogConfig, LogError, LogManager, MemStorage, OpenOptions, Storage,
};
use spool::TopicPartition;

mod epochs;
mod follower;
mod high_watermark;

const T0: i64 = 1_700_000_000_000;
const CODECS: [Compression; 5] =
    [Compression::None, Compression::Gzip, Compression::Snappy, Compression::Lz4, Compression::Zstd];

// ---------------------------------------------------------------------------
// Batches the tests know the contents of
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Eq)]
struct RecordSpec {
    timestamp: i64,
    key: Option<Vec<u8>>,
    value: Option<Vec<u8>>,
    headers: Vec<(String, Option<Vec<u8>>)>,
}

#[derive(Debug, Clone)]
struct BatchSpec {
    compression: Compression,
    records: Vec<RecordSpec>,
}

impl BatchSpec {
    fn build(&self) -> RecordBatch {
        let mut builder = BatchBuilder::new(self.compression);
        for r in &self.records {
            let headers: Vec<(&str, Option<&[u8]>)> =
                r.headers.iter().map(|(k, v)| (k.as_str(), v.as_deref())).collect();
            builder.append(r.timestamp, r.key.as_deref(), r.value.as_deref(), &headers);
        }
        builder.build()
    }
}

/// A small batch of `n` uncompressed records with timestamps from `ts`.
fn simple(n: usize, ts: i64, tag: &str) -> BatchSpec {
    let records = (0..n)
        .map(|i| RecordSpec {
            timestamp: ts + i as i64,
            key: Some(format!("{tag}-k{i}").into_bytes()),
            value: Some(format!("{tag}-value-{i}-{}", "x".repeat(20)).into_bytes()),
            headers: vec![],
        })
        .collect();
    BatchSpec { compression: Compression::None, records }
}

fn bytes_of(batch: &RecordBatch) -> BytesMut {
    BytesMut::from(&batch.as_bytes()[..])
}

/// What the log must hold: each appended batch as built, and where it went.
#[derive(Debug, Clone, Default)]
struct Model {
    batches: Vec<(i64, BatchSpec, RecordBatch)>,
}

impl Model {
    fn append<S: Storage>(&mut self, log: &mut Log<S>, spec: BatchSpec, now_ms: i64) {
        let built = spec.build();
        let info = log.append(bytes_of(&built), 0, now_ms).expect("append");
        assert_eq!(info.first_offset, self.end(), "offsets are contiguous");
        assert_eq!(info.last_offset, info.first_offset + spec.records.len() as i64 - 1);
        self.batches.push((info.first_offset, spec, built));
    }
    fn end(&self) -> i64 {
        self.batches.last().map_or(0, |(base, spec, _)| base + spec.records.len() as i64)
    }
    fn prefix(&self, n: usize) -> Model {
        Model { batches: self.batches[..n].to_vec() }
    }
    /// Every record as (offset, spec), in offset order.
    fn records(&self) -> Vec<(i64, &RecordSpec)> {
        self.batches
            .iter()
            .flat_map(|(base, spec, _)| {
                spec.records.iter().enumerate().map(move |(i, r)| (base + i as i64, r))
            })
            .collect()
    }
}

/// Whether `stored` is `built` as appended: the same bytes except the two
/// fields the broker owns and the CRC does not cover (baseOffset, leader epoch).
fn assert_same_batch(stored: &RecordBatch, built: &RecordBatch, base_offset: i64) {
    let (s, b) = (stored.as_bytes(), built.as_bytes());
    assert_eq!(s.len(), b.len(), "batch size");
    assert_eq!(stored.base_offset(), base_offset);
    assert_eq!(&s[8..12], &b[8..12], "batchLength");
    assert_eq!(&s[16..], &b[16..], "magic, crc and everything it covers");
    stored.validate().expect("stored batch validates");
}

fn assert_records(batch: &RecordBatch, spec: &BatchSpec) {
    let records = batch.decode_records().expect("records decode");
    assert_eq!(records.len(), spec.records.len());
    for (i, (got, want)) in records.iter().zip(&spec.records).enumerate() {
        assert_eq!(got.offset, batch.base_offset() + i as i64);
        assert_eq!(got.timestamp, want.timestamp);
        assert_eq!(got.key.as_deref(), want.key.as_deref());
        assert_eq!(got.value.as_deref(), want.value.as_deref());
        let headers: Vec<(String, Option<Vec<u8>>)> =
            got.headers.iter().map(|h| (h.key.clone(), h.value.as_ref().map(|v| v.to_vec()))).collect();
        assert_eq!(headers, want.headers);
    }
}

/// The whole read side against the model: `read_batches`, `read` at every
/// offset, index lookups against a scan, and timestamp lookups against a scan.
fn check_log<S: Storage>(log: &Log<S>, model: &Model) {
    assert_eq!(log.log_end_offset(), model.end(), "log end offset");
    let start = log.log_start_offset();
    let kept: Vec<_> =
        model.batches.iter().filter(|(base, spec, _)| base + spec.records.len() as i64 > start).collect();
    let read = log.read_batches(start).expect("read_batches");
    assert_eq!(read.len(), kept.len(), "batch count");
    for (stored, (base, spec, built)) in read.iter().zip(&kept) {
        assert_same_batch(stored, built, *base);
        assert_records(stored, spec);
    }
    check_reads(log, model);
    check_index(log);
    check_timestamps(log, model);
}

fn check_reads<S: Storage>(log: &Log<S>, model: &Model) {
    let (start, end) = (log.log_start_offset(), log.log_end_offset());
    for offset in start..end {
        for max_bytes in [1, 100, u32::MAX] {
            let region = log.read(offset, max_bytes).expect("read").expect("data below the end");
            let bytes = region.read_bytes().expect("region bytes");
            assert!(bytes.len() >= HEADER_SIZE, "at least one whole batch (KIP-74)");
            let (first, _) = RecordBatch::parse(&bytes).expect("region starts at a batch");
            assert!(first.base_offset() <= offset && offset <= first.last_offset(), "batch holds {offset}");
            assert_eq!(region.first_batch_offset, first.base_offset());
            let (_, spec, _) =
                model.batches.iter().find(|(b, _, _)| *b == first.base_offset()).expect("known");
            assert_records(&first, spec);
        }
    }
    assert!(log.read(end, u32::MAX).expect("read at the end").is_none());
    assert!(matches!(log.read(end + 1, u32::MAX), Err(LogError::OffsetOutOfRange { .. })));
    if start > 0 {
        assert!(matches!(log.read(start - 1, u32::MAX), Err(LogError::OffsetOutOfRange { .. })));
    }
}

/// Every index entry maps a batch's last offset to that batch's position, and
/// the index-assisted lookup agrees with a scan for every offset.
fn check_index<S: Storage>(log: &Log<S>) {
    let storage = log.storage();
    for segment in log.segments() {
        for entry in segment.offset_index().entries() {
            assert!(u64::from(entry.position) < segment.size(), "index entry inside the file");
            let info = segment.read_batch_info(storage, entry.position).unwrap().expect("entry at a batch");
            assert_eq!(info.last_offset, entry.offset, "entry names the batch's last offset");
        }
        // Every offset, or around every batch boundary where a corrupt baseOffset
        // has opened a gap of millions.
        let (from, to) = (segment.base_offset() - 1, segment.next_offset() + 1);
        let mut probes: Vec<i64> = Vec::new();
        let mut pos = 0;
        while let Some(info) =
            segment.read_batch_info(storage, pos).unwrap().filter(|_| u64::from(pos) < segment.size())
        {
            probes.extend([info.base_offset - 1, info.base_offset, info.last_offset, info.last_offset + 1]);
            pos += info.size;
        }
        if to - from <= 5000 {
            probes.extend(from..=to);
        }
        probes.extend([from, to]);
        for offset in probes {
            let indexed = segment.translate_offset(storage, offset).unwrap();
            let scanned = segment.translate_offset_by_scan(storage, offset).unwrap();
            assert_eq!(indexed, scanned, "translate_offset({offset}) in segment {}", segment.base_offset());
        }
    }
}

/// Kafka's ListOffsets by time: the first record, in offset order, at or after
/// the log start, whose timestamp is at or after the target (`LogSegment.findOffsetByTimestamp`).
fn check_timestamps<S: Storage>(log: &Log<S>, model: &Model) {
    let records: Vec<_> = model.records().into_iter().filter(|(o, _)| *o >= log.log_start_offset()).collect();
    let mut targets: Vec<i64> =
        records.iter().flat_map(|(_, r)| [r.timestamp - 1, r.timestamp, r.timestamp + 1]).collect();
    targets.extend([i64::MIN + 1, -1, 0, i64::MAX]);
    for target in targets {
        let scan = records.iter().find(|(_, r)| r.timestamp >= target).map(|(o, r)| (r.timestamp, *o));
        assert_eq!(log.offset_for_timestamp(target).unwrap(), scan, "offset_for_timestamp({target})");
    }
}

// ---------------------------------------------------------------------------
// Files on disk
// ---------------------------------------------------------------------------

fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().unwrap().is_file())
        .map(|e| (e.file_name().to_string_lossy().into_owned(), std::fs::read(e.path()).unwrap()))
        .collect()
}

fn restore(files: &BTreeMap<String, Vec<u8>>) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, data) in files {
        std::fs::write(dir.path().join(name), data).unwrap();
    }
    dir
}

fn open_disk(
    dir: &Path,
    config: &LogConfig,
    options: OpenOptions,
) -> (Log<DiskStorage>, spool::log::RecoveryReport) {
    Log::open(DiskStorage::open(dir).unwrap(), config.clone(), options, T0).expect("open")
}

fn clean() -> OpenOptions {
    OpenOptions { clean_shutdown: true, ..OpenOptions::default() }
}

fn unclean(recovery_point: i64) -> OpenOptions {
    OpenOptions { clean_shutdown: false, recovery_point, log_start_offset: 0 }
}

fn small_config(segment_bytes: u64, index_interval_bytes: u64) -> LogConfig {
    LogConfig { segment_bytes, index_interval_bytes, retention_ms: -1, ..LogConfig::default() }
}

// ---------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------

fn record_strategy() -> impl Strategy<Value = RecordSpec> {
    let bytes = |max| proptest::option::weighted(0.85, proptest::collection::vec(any::<u8>(), 0..max));
    let header =
        ("[a-z-]{0,8}", proptest::option::weighted(0.8, proptest::collection::vec(any::<u8>(), 0..8)));
    (-300i64..300, bytes(12), bytes(60), proptest::collection::vec(header, 0..3))
        .prop_map(|(dt, key, value, headers)| RecordSpec { timestamp: dt, key, value, headers })
}

fn batches_strategy(max_batches: usize) -> impl Strategy<Value = Vec<BatchSpec>> {
    let batch =
        (proptest::sample::select(CODECS.to_vec()), proptest::collection::vec(record_strategy(), 1..6))
            .prop_map(|(compression, records)| BatchSpec { compression, records });
    // Timestamps drift upward batch by batch but jump back and forth inside and
    // across batches, as producers' clocks do.
    proptest::collection::vec(batch, 1..max_batches).prop_map(|mut batches| {
        for (i, b) in batches.iter_mut().enumerate() {
            for r in &mut b.records {
                r.timestamp += T0 + 100 * i as i64;
            }
        }
        batches
    })
}

fn config_strategy() -> impl Strategy<Value = LogConfig> {
    (300u64..1500, 0u64..400, prop_oneof![Just(10 * 1024 * 1024), 12usize..64]).prop_map(
        |(segment_bytes, index_interval_bytes, segment_index_bytes)| LogConfig {
            segment_index_bytes,
            ..small_config(segment_bytes, index_interval_bytes)
        },
    )
}

fn fitting(mut config: LogConfig, specs: &[BatchSpec]) -> LogConfig {
    let largest = specs.iter().map(|s| s.build().size_in_bytes() as u64).max().unwrap_or(0);
    config.segment_bytes = config.segment_bytes.max(largest);
    config
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// A log on disk reads back every batch exactly as appended — bytes, records,
    /// any offset through the sparse index, any timestamp — and so does it after a
    /// clean reopen and after a full recovery (`LogSegment.recover` from offset 0),
    /// which must also rebuild byte-identical index files.
    #[test]
    fn disk_log_reads_back_after_reopen_and_recovery(specs in batches_strategy(30), config in config_strategy()) {
        let config = fitting(config, &specs);
        let dir = tempfile::tempdir().unwrap();
        let (mut log, _) = open_disk(dir.path(), &config, OpenOptions::default());
        let mut model = Model::default();
        for spec in specs {
            model.append(&mut log, spec, T0);
        }
        check_log(&log, &model);
        let segments = log.segments().count();
        log.close().unwrap();
        let files = snapshot(dir.path());

        let (log, report) = open_disk(dir.path(), &config, clean());
        prop_assert_eq!(report.segments_recovered, 0);
        prop_assert_eq!(log.segments().count(), segments);
        check_log(&log, &model);
        drop(log);

        let (log, report) = open_disk(dir.path(), &config, unclean(0));
        prop_assert_eq!(report.segments_recovered, segments);
        prop_assert_eq!(report.batches_scanned, model.batches.len() as u64);
        prop_assert_eq!((report.bytes_truncated, report.segments_deleted), (0, 0));
        check_log(&log, &model);
        drop(log);
        prop_assert_eq!(snapshot(dir.path()), files, "recovery rebuilds the same index files");
    }

    /// The same property over `MemStorage`, the model checker's storage; closing
    /// flushes everything, so a crash right after `close` loses nothing.
    #[test]
    fn mem_log_reads_back_after_reopen_and_recovery(specs in batches_strategy(30), config in config_strategy()) {
        let config = fitting(config, &specs);
        let (mut log, _) = Log::open(MemStorage::new(), config.clone(), OpenOptions::default(), T0).unwrap();
        let mut model = Model::default();
        for spec in specs {
            model.append(&mut log, spec, T0);
        }
        check_log(&log, &model);
        let storage = log.close().unwrap();
        prop_assert_eq!(storage.crash(CrashMode::LoseUnsynced), storage.clone());
        let (log, _) = Log::open(storage.clone(), config.clone(), clean(), T0).unwrap();
        check_log(&log, &model);
        let (log, report) = Log::open(storage.clone(), config.clone(), unclean(0), T0).unwrap();
        prop_assert_eq!((report.bytes_truncated, report.segments_deleted), (0, 0));
        check_log(&log, &model);
        // The rebuilt indexes are not synced (the recovery point still covers
        // them), so compare the bytes, not what a crash would keep.
        for (name, file) in &storage.files {
            prop_assert_eq!(&log.storage().files[name].data, &file.data, "recovery rebuilds {} as it was", name);
        }
    }

    /// A power cut in any `CrashMode` keeps every flushed batch, and recovery
    /// leaves a prefix of what was appended — never a torn or zeroed batch — to
    /// which appends continue with the next offset (Kafka's recovery point contract).
    #[test]
    fn crash_keeps_everything_flushed(
        specs in batches_strategy(16),
        config in config_strategy(),
        flushed in 0usize..16,
        mode in prop_oneof![
            Just(CrashMode::LoseUnsynced),
            Just(CrashMode::ZeroedTail),
            (0usize..600).prop_map(CrashMode::TornPrefix),
        ],
        use_recovery_point in any::<bool>(),
    ) {
        let config = fitting(config, &specs);
        let flushed = flushed.min(specs.len());
        let (mut log, _) = Log::open(MemStorage::new(), config.clone(), OpenOptions::default(), T0).unwrap();
        let mut model = Model::default();
        for (i, spec) in specs.into_iter().enumerate() {
            if i == flushed {
                log.flush().unwrap();
            }
            model.append(&mut log, spec, T0);
        }
        if flushed == model.batches.len() {
            log.flush().unwrap();
        }
        let recovery_point = if use_recovery_point { log.recovery_point() } else { 0 };
        prop_assert_eq!(log.recovery_point(), model.prefix(flushed).end());
        let crashed = log.storage().crash(mode);
        let (mut log, _) = Log::open(crashed, config.clone(), unclean(recovery_point), T0).unwrap();
        let kept = model.batches.iter().position(|(b, _, _)| *b >= log.log_end_offset()).unwrap_or(model.batches.len());
        prop_assert!(kept >= flushed, "lost flushed batches: kept {} of {}", kept, flushed);
        if matches!(mode, CrashMode::LoseUnsynced | CrashMode::ZeroedTail) {
            prop_assert_eq!(kept, flushed, "nothing unsynced survives {:?}", mode);
        }
        let mut model = model.prefix(kept);
        check_log(&log, &model);
        model.append(&mut log, simple(2, T0, "after"), T0);
        check_log(&log, &model);
    }
}

// ---------------------------------------------------------------------------
// Crashes on disk
// ---------------------------------------------------------------------------

/// A log of 12 batches over several segments with the first 7 flushed, left as a
/// crash would leave it (no close): its files, model and recovery point.
fn crashed_disk_log(config: &LogConfig) -> (BTreeMap<String, Vec<u8>>, Model, i64) {
    let dir = tempfile::tempdir().unwrap();
    let (mut log, _) = open_disk(dir.path(), config, OpenOptions::default());
    let mut model = Model::default();
    for i in 0..12 {
        if i == 7 {
            log.flush().unwrap();
        }
        let codec = CODECS[i % CODECS.len()];
        let spec =
            BatchSpec { compression: codec, ..simple(1 + i % 4, T0 + 10 * i as i64, &format!("b{i}")) };
        model.append(&mut log, spec, T0);
    }
    let recovery_point = log.recovery_point();
    assert!(log.segments().count() >= 3, "the test wants several segments");
    drop(log);
    (snapshot(dir.path()), model, recovery_point)
}

fn last_log_file(files: &BTreeMap<String, Vec<u8>>) -> String {
    files.keys().rfind(|n| n.ends_with(".log")).unwrap().clone()
}

/// After recovery the log is `model`, and appending continues at its end.
fn check_recovered(dir: &Path, config: &LogConfig, mut log: Log<DiskStorage>, mut model: Model) {
    check_log(&log, &model);
    model.append(&mut log, simple(3, T0 + 1000, "after"), T0);
    check_log(&log, &model);
    log.close().unwrap();
    let (log, _) = open_disk(dir, config, clean());
    check_log(&log, &model);
}

/// A torn write of the last batch, cut at every byte inside it, is cut off by
/// recovery: the log is the prefix of whole batches, its indexes are rebuilt and
/// appends continue at the torn batch's offset (`LogSegment.recover` stops at
/// the first batch whose `batchLength` runs past the end of the file).
#[test]
fn torn_last_batch_is_cut_at_every_byte() {
    let config = small_config(400, 100);
    let (files, model, recovery_point) = crashed_disk_log(&config);
    let last = last_log_file(&files);
    let (_, _, last_batch) = model.batches.last().unwrap();
    let end = files[&last].len();
    let start = end - last_batch.size_in_bytes();
    for cut in start..end {
        for rp in [0, recovery_point] {
            let mut damaged = files.clone();
            damaged.get_mut(&last).unwrap().truncate(cut);
            let dir = restore(&damaged);
            let (log, report) = open_disk(dir.path(), &config, unclean(rp));
            assert_eq!(report.bytes_truncated, (cut - start) as u64, "cut at {cut}");
            assert_eq!(report.segments_deleted, 0);
            check_recovered(dir.path(), &config, log, model.prefix(model.batches.len() - 1));
        }
    }
}

/// Every byte of the last batch flipped in turn. Where the byte is framing
/// (batchLength, magic) or covered by the CRC-32C, recovery must drop the batch.
/// `baseOffset` and `partitionLeaderEpoch` lie outside the CRC by design (the
/// broker rewrites them in place), so as in Kafka a flip there can survive: the
/// batch is then kept with its CRC-covered bytes intact and offsets still
/// increasing, and the log stays readable and appendable.
#[test]
fn corrupt_last_batch_is_never_served() {
    let config = small_config(400, 100);
    let (files, model, recovery_point) = crashed_disk_log(&config);
    let last = last_log_file(&files);
    let (_, _, last_batch) = model.batches.last().unwrap();
    let end = files[&last].len();
    let start = end - last_batch.size_in_bytes();
    let prefix = model.prefix(model.batches.len() - 1);
    for at in start..end {
        let field = at - start;
        let mut damaged = files.clone();
        damaged.get_mut(&last).unwrap()[at] ^= 0xff;
        let dir = restore(&damaged);
        let (log, report) = open_disk(dir.path(), &config, unclean(recovery_point));
        let outside_crc = (0..8).contains(&field) || (12..16).contains(&field);
        if !outside_crc || log.log_end_offset() == prefix.end() {
            assert_eq!(report.bytes_truncated, last_batch.size_in_bytes() as u64, "byte {field}");
            check_recovered(dir.path(), &config, log, prefix.clone());
            continue;
        }
        // Kept: only a field outside the CRC changed.
        let batches = log.read_batches(0).unwrap();
        assert_eq!(batches.len(), model.batches.len(), "byte {field}");
        let kept = batches.last().unwrap();
        assert_eq!(&kept.as_bytes()[16..], &last_batch.as_bytes()[16..]);
        assert!(kept.base_offset() >= prefix.end(), "offsets still increase (byte {field})");
        check_index(&log);
    }
}

/// A corrupt batch in a middle segment past the recovery point cuts the log
/// there, and every later segment is deleted: their offsets would follow a gap
/// (Kafka's `LogLoader` deletes the segments after a truncated one).
#[test]
fn corrupt_middle_segment_deletes_later_segments() {
    let config = small_config(400, 100);
    let (files, model, _) = crashed_disk_log(&config);
    let logs: Vec<&String> = files.keys().filter(|n| n.ends_with(".log")).collect();
    let middle = logs[1].clone();
    let middle_base: i64 = middle.trim_end_matches(".log").parse().unwrap();
    let next_base: i64 = logs[2].trim_end_matches(".log").parse().unwrap();
    // The second batch of the middle segment (or its first if it has one).
    let in_middle: Vec<usize> = (0..model.batches.len())
        .filter(|&i| (middle_base..next_base).contains(&model.batches[i].0))
        .collect();
    let victim = in_middle[in_middle.len().min(2) - 1];
    let position: usize = model.batches[..victim]
        .iter()
        .filter(|(b, _, _)| *b >= middle_base)
        .map(|(_, _, built)| built.size_in_bytes())
        .sum();
    let mut damaged = files.clone();
    damaged.get_mut(&middle).unwrap()[position + HEADER_SIZE + 1] ^= 0x01; // inside the records: CRC fails
    let dir = restore(&damaged);
    let (log, report) = open_disk(dir.path(), &config, unclean(0));
    assert_eq!(report.segments_deleted, logs.len() - 2);
    let left: Vec<String> = snapshot(dir.path()).into_keys().filter(|n| n.ends_with(".log")).collect();
    assert_eq!(left, vec![logs[0].clone(), middle.clone()], "later segments deleted");
    // Files named by offset only: `leader-epoch-checkpoint` stays (and sorts after them).
    let by_offset = |n: &&String| n.starts_with(|c: char| c.is_ascii_digit());
    for name in files.keys().filter(by_offset).filter(|n| *n > &middle && !n.starts_with(&middle[..20])) {
        assert!(!dir.path().join(name).exists(), "{name} should be gone");
    }
    check_recovered(dir.path(), &config, log, model.prefix(victim));
}

/// Segments wholly below the recovery point are trusted, not scanned (Kafka
/// recovers only from the recovery point on): the same corruption there is not
/// looked at on open.
#[test]
fn segments_below_the_recovery_point_are_not_scanned() {
    let config = small_config(400, 100);
    let (files, model, recovery_point) = crashed_disk_log(&config);
    let dir = restore(&files);
    let (log, report) = open_disk(dir.path(), &config, unclean(recovery_point));
    let below = log.segments().filter(|s| s.next_offset() <= recovery_point).count();
    assert!(below >= 1);
    assert_eq!(report.segments_recovered, log.segments().count() - below);
    check_log(&log, &model);
}

/// An index file that fails its sanity check (a torn entry) in a segment below
/// the recovery point is rebuilt from the log (Kafka's `sanityCheck` then
/// `rebuildIndex`), with the same entries.
#[test]
fn torn_index_of_a_trusted_segment_is_rebuilt() {
    let config = small_config(400, 40);
    let (files, model, recovery_point) = crashed_disk_log(&config);
    let first_index = files.keys().find(|n| n.ends_with(".index")).unwrap().clone();
    assert!(files[&first_index].len() >= 16, "the test wants index entries");
    let mut damaged = files.clone();
    damaged.get_mut(&first_index).unwrap().pop();
    let dir = restore(&damaged);
    let (log, _) = open_disk(dir.path(), &config, unclean(recovery_point));
    check_log(&log, &model);
    let entries: Vec<_> = log.segments().next().unwrap().offset_index().entries().collect();
    assert_eq!(entries.len() * 8, files[&first_index].len());
}

/// An offset index entry of a closed segment that names one batch but points at
/// a later one (entries still increasing, so the sanity check at a clean open
/// passes) must not make a read skip records. Kafka's `translateOffset` scans
/// forward from the indexed position and so trusts it; spool checks that the
/// batch found there is the one the entry names (the entry's offset lies in
/// it), and scans from the segment start when it is not.
#[test]
fn an_index_entry_pointing_at_a_later_batch_skips_no_record() {
    let size = simple(3, T0, "b0").build().size_in_bytes() as u64;
    // An index entry every third batch, about ten batches a segment.
    let config = small_config(10 * size, 2 * size + 1);
    let dir = tempfile::tempdir().unwrap();
    let (mut log, _) = open_disk(dir.path(), &config, clean());
    let mut model = Model::default();
    for i in 0..25 {
        model.append(&mut log, simple(3, T0 + 100 * i, &format!("b{i}")), T0);
    }
    log.flush().unwrap();
    let first = log.segments().next().unwrap();
    assert!(log.segments().count() >= 3, "the first segment is closed");
    let entries: Vec<_> = first.offset_index().entries().collect();
    assert!(entries.len() >= 2, "the test wants index entries");
    let mut positions = Vec::new();
    while let Some(info) =
        first.read_batch_info(log.storage(), positions.last().map_or(0, |&(p, s)| p + s)).unwrap()
    {
        positions.push((info.position, info.size));
    }
    let named = positions.iter().position(|&(p, _)| p == entries[0].position).expect("entry at a batch");
    let later = positions[named + 2].0;
    assert!(later < entries[1].position, "entries stay increasing");
    drop(log);

    let name = dir.path().join(format!("{:020}.index", 0));
    let mut index = std::fs::read(&name).unwrap();
    index[4..8].copy_from_slice(&later.to_be_bytes());
    std::fs::write(&name, index).unwrap();
    let (log, report) = open_disk(dir.path(), &config, clean());
    assert_eq!(report.segments_recovered, 0, "a clean open trusts the index");
    let first_entry = log.segments().next().unwrap().offset_index().entries().next().unwrap();
    assert_eq!(first_entry.position, later, "the wrong entry is in use");
    check_reads(&log, &model);
}

// ---------------------------------------------------------------------------
// Truncation
// ---------------------------------------------------------------------------

/// A log of 10 three-record batches, 2 batches to a segment, on disk.
fn ten_batches(dir: &Path, config: &LogConfig) -> (Log<DiskStorage>, Model) {
    let (mut log, _) = open_disk(dir, config, OpenOptions::default());
    let mut model = Model::default();
    for i in 0..10 {
        model.append(&mut log, simple(3, T0 + 100 * i, &format!("b{i}")), T0);
    }
    // One replica: everything is committed (retention deletes only below it).
    log.update_high_watermark(log.log_end_offset());
    (log, model)
}

fn two_batches_a_segment() -> LogConfig {
    let size = simple(3, T0, "b0").build().size_in_bytes() as u64;
    small_config(2 * size, 0)
}

/// `truncate_to` mid-segment, inside a batch, across segments and to 0 leaves
/// exactly the whole batches below the offset (Kafka's `UnifiedLog.truncateTo`,
/// which a follower runs to match its leader), deletes later segments' files,
/// survives a crash (the cut is flushed) and accepts appends at the new end.
#[test]
fn truncate_to_mid_segment_across_segments_and_to_zero() {
    let config = two_batches_a_segment();
    // (target offset, batches kept): a batch boundary inside a segment, the middle
    // of a batch, a segment boundary, and everything.
    for (target, kept) in [(27, 9), (22, 7), (13, 4), (12, 4), (6, 2), (1, 0), (0, 0)] {
        let dir = tempfile::tempdir().unwrap();
        let (mut log, model) = ten_batches(dir.path(), &config);
        log.flush().unwrap();
        log.truncate_to(target).unwrap();
        let mut expected = model.prefix(kept);
        assert_eq!(log.log_end_offset(), expected.end(), "truncate_to({target})");
        assert!(log.recovery_point() <= expected.end());
        check_log(&log, &expected);
        let last_base = log.segments().last().unwrap().base_offset();
        // Segment files and producer snapshots, named by offset (not the
        // directory's `leader-epoch-checkpoint`).
        for name in snapshot(dir.path()).keys().filter(|n| n.starts_with(|c: char| c.is_ascii_digit())) {
            let base: i64 = name[..20].parse().unwrap();
            assert!(base <= last_base, "{name} outlived truncate_to({target})");
        }
        // A crash now brings nothing back.
        drop(log);
        let (log, _) = open_disk(dir.path(), &config, unclean(0));
        check_log(&log, &expected);
        let mut log = log;
        expected.append(&mut log, simple(2, T0 + 5000, "new"), T0);
        check_log(&log, &expected);
    }
}

/// The same on `MemStorage` with a power cut right after the truncation: the
/// removed batches must not come back (the cut is made durable before
/// `truncate_to` returns).
#[test]
fn truncation_survives_a_crash() {
    let config = two_batches_a_segment();
    for target in [27, 22, 13, 6, 0] {
        let (mut log, _) = Log::open(MemStorage::new(), config.clone(), OpenOptions::default(), T0).unwrap();
        let mut model = Model::default();
        for i in 0..10 {
            model.append(&mut log, simple(3, T0 + 100 * i, &format!("b{i}")), T0);
        }
        log.flush().unwrap();
        log.truncate_to(target).unwrap();
        let end = log.log_end_offset();
        let crashed = log.storage().crash(CrashMode::LoseUnsynced);
        let (log, _) = Log::open(crashed, config.clone(), unclean(0), T0).unwrap();
        assert_eq!(log.log_end_offset(), end, "truncate_to({target}) undone by a crash");
        let kept = model.batches.iter().filter(|(b, _, _)| *b < end).count();
        check_log(&log, &model.prefix(kept));
    }
}

/// Truncating a segment whose offset index was full, then appending until it is
/// full again, leaves a segment that recovery can rebuild: the index is a hint,
/// so a rebuild must never fail on how many entries it would like to write.
/// (Truncation restarts the index-interval count at zero, so the refilled
/// segment's entries are spaced wider than a rebuild from scratch spaces them.)
#[test]
fn recovery_after_truncate_and_refill_of_a_full_index() {
    let batch = simple(1, T0, "000").build().size_in_bytes() as u64;
    // Three offset index entries at most, one every second batch; one timestamp
    // for all, so the time index never fills.
    let config = LogConfig { segment_index_bytes: 24, ..small_config(1 << 20, batch + 1) };
    let dir = tempfile::tempdir().unwrap();
    let (mut log, _) = open_disk(dir.path(), &config, OpenOptions::default());
    let mut model = Model::default();
    let mut i = 0;
    let mut fill = |log: &mut Log<DiskStorage>, model: &mut Model| {
        while log.segments().count() == 1 {
            model.append(log, simple(1, T0, &format!("{i:03}")), T0);
            i += 1;
        }
    };
    fill(&mut log, &mut model);
    assert_eq!(log.segments().next().unwrap().next_offset(), 7, "rolled when the index filled");
    // Back into the first segment, then fill it again until it rolls.
    log.truncate_to(2).unwrap();
    model = model.prefix(2);
    fill(&mut log, &mut model);
    check_log(&log, &model);
    drop(log);
    let (log, report) = open_disk(dir.path(), &config, unclean(0));
    assert_eq!((report.bytes_truncated, report.segments_deleted), (0, 0));
    check_log(&log, &model);
}

// ---------------------------------------------------------------------------
// Retention
// ---------------------------------------------------------------------------

/// `log.retention.ms` deletes the oldest segments whose largest timestamp is
/// older than the limit, moves the log start offset to the first segment left,
/// and reads below it are `OFFSET_OUT_OF_RANGE` (Kafka's `deleteRetentionMsBreachedSegments`).
#[test]
fn retention_by_time_deletes_old_segments() {
    let config = LogConfig { retention_ms: 1000, ..two_batches_a_segment() };
    let dir = tempfile::tempdir().unwrap();
    let (mut log, model) = ten_batches(dir.path(), &config); // batch i at T0 + 100 i
    assert_eq!(log.delete_old_segments(T0 + 1000).unwrap(), 0);
    // At T0 + 1450, segments whose max timestamp is before T0 + 450 expire: the
    // first two (batches 0..3, max T0 + 302).
    assert_eq!(log.delete_old_segments(T0 + 1450).unwrap(), 2);
    assert_eq!(log.log_start_offset(), 12);
    assert_eq!(log.segments().next().unwrap().base_offset(), 12);
    assert!(!dir.path().join(format!("{:020}.log", 0)).exists());
    assert!(!dir.path().join(format!("{:020}.index", 6)).exists());
    let err = log.read(11, u32::MAX).unwrap_err();
    assert!(matches!(err, LogError::OffsetOutOfRange { offset: 11, log_start_offset: 12, .. }), "{err}");
    assert_eq!(err.kafka_error_code(), 1);
    check_log(&log, &model);
    // Everything expires, the active segment too: the log rolls and keeps an empty
    // segment at its end, so appends continue with the next offset.
    assert_eq!(log.delete_old_segments(T0 + 100_000).unwrap(), 3);
    assert_eq!(log.log_start_offset(), 30);
    assert_eq!(log.log_end_offset(), 30);
    assert!(log.read(30, u32::MAX).unwrap().is_none());
    let mut model = model;
    model.append(&mut log, simple(2, T0 + 100_000, "late"), T0 + 100_000);
    check_log(&log, &model);
    drop(log);
    // The start offset is not persisted by the log itself (the log manager's
    // checkpoint does that), but the files are gone for good.
    let (log, _) = open_disk(dir.path(), &config, unclean(0));
    assert_eq!(log.log_start_offset(), 30);
    check_log(&log, &model);
}

/// A compacted topic (`cleanup.policy=compact`, no `delete`) is not subject to
/// retention: its old segments hold the latest value of keys that may never be
/// written again (Kafka's `LogConfig.delete` is false, so neither time nor size
/// deletes a segment). `compact,delete` is both.
#[test]
fn retention_leaves_compact_only_logs_alone() {
    let mut config = LogConfig { retention_ms: 1000, retention_bytes: 1, ..two_batches_a_segment() };
    assert!(config.set("cleanup.policy", "compact").unwrap());
    assert!(!config.cleanup_delete);
    let dir = tempfile::tempdir().unwrap();
    let (mut log, model) = ten_batches(dir.path(), &config);
    assert_eq!(log.delete_old_segments(T0 + 100_000).unwrap(), 0);
    assert_eq!(log.log_start_offset(), 0);
    check_log(&log, &model);
    assert!(config.set("cleanup.policy", "compact,delete").unwrap());
    assert!(config.cleanup_delete);
    assert!(config.set("cleanup.policy", "shred").is_err());
    drop(log);
    let (mut log, _) = open_disk(dir.path(), &config, unclean(0));
    log.update_high_watermark(log.log_end_offset());
    assert_eq!(log.delete_old_segments(T0 + 100_000).unwrap(), 5);
}

/// `log.retention.bytes` deletes the oldest segments while the log without them
/// is still at least the limit (Kafka's `deleteRetentionSizeBreachedSegments`).
#[test]
fn retention_by_size_deletes_oldest_segments() {
    let config = two_batches_a_segment();
    let segment_bytes = config.segment_bytes as i64;
    let dir = tempfile::tempdir().unwrap();
    let (mut log, model) = ten_batches(dir.path(), &config);
    assert_eq!(log.size_in_bytes() as i64, 5 * segment_bytes);
    log.flush().unwrap();
    let mut log = {
        drop(log);
        let config = LogConfig { retention_bytes: 3 * segment_bytes - 1, ..config.clone() };
        open_disk(dir.path(), &config, clean()).0
    };
    log.update_high_watermark(log.log_end_offset());
    // 5 segments; keep the fewest newest whose total is still >= 3 segments - 1 byte.
    assert_eq!(log.delete_old_segments(T0).unwrap(), 2);
    assert_eq!(log.log_start_offset(), 12);
    assert_eq!(log.size_in_bytes() as i64, 3 * segment_bytes);
    check_log(&log, &model);
    assert_eq!(log.delete_old_segments(T0).unwrap(), 0, "idempotent");
}

// ---------------------------------------------------------------------------
// Rolling
// ---------------------------------------------------------------------------

/// `segment.ms` rolls a segment once a new batch's timestamp is more than
/// `segment.ms` past the timestamp of the segment's first batch — the records'
/// own clock, not the broker's (Kafka's `LogSegment.shouldRoll` and
/// `timeWaitedForRoll(now, maxTimestampInMessages)`).
#[test]
fn segment_rolls_by_age() {
    let config = LogConfig { segment_ms: 1000, ..small_config(1 << 20, 4096) };
    let (mut log, _) = Log::open(MemStorage::new(), config.clone(), OpenOptions::default(), T0).unwrap();
    let mut model = Model::default();
    model.append(&mut log, simple(1, T0, "a"), T0);
    model.append(&mut log, simple(1, T0 + 1000, "b"), T0 + 5000);
    assert_eq!(log.segments().count(), 1, "exactly segment.ms apart is not too old");
    model.append(&mut log, simple(1, T0 + 1001, "c"), T0 + 5000);
    let bases: Vec<i64> = log.segments().map(|s| s.base_offset()).collect();
    assert_eq!(bases, vec![0, 2]);
    check_log(&log, &model);

    // Replaying old data (timestamps a day behind the broker's clock, all within
    // one segment.ms of each other) must not roll a segment per append.
    let (mut log, _) = Log::open(MemStorage::new(), config, OpenOptions::default(), T0).unwrap();
    let mut model = Model::default();
    for i in 0..5 {
        model.append(&mut log, simple(1, T0 - 86_400_000 + i, &format!("old{i}")), T0 + i);
    }
    assert_eq!(log.segments().count(), 1, "one segment for five batches a few ms apart");
    check_log(&log, &model);
}

/// A segment rolls when its offset index (`segment.index.bytes`) is full, so no
/// index ever holds more entries than it may (Kafka's `offsetIndex.isFull`).
#[test]
fn segment_rolls_when_its_index_is_full() {
    // 4 offset entries (32 bytes), 2 time entries; an entry after every batch.
    let config = LogConfig { segment_index_bytes: 32, ..small_config(1 << 20, 0) };
    let (mut log, _) = Log::open(MemStorage::new(), config, OpenOptions::default(), T0).unwrap();
    let mut model = Model::default();
    for i in 0..20 {
        model.append(&mut log, simple(1, T0 + i, &format!("{i}")), T0);
    }
    assert!(log.segments().count() > 2);
    for segment in log.segments() {
        assert!(segment.offset_index().len() <= 4);
        assert!(segment.time_index().entries().count() <= 2);
    }
    let full: Vec<bool> =
        log.segments().map(|s| s.offset_index().is_full() || s.time_index().is_full()).collect();
    assert!(full[..full.len() - 1].iter().all(|&f| f), "every closed segment rolled because an index filled");
    check_log(&log, &model);
}

// ---------------------------------------------------------------------------
// LogAppendTime
// ---------------------------------------------------------------------------

/// On a `LogAppendTime` topic the broker stamps each batch with its clock: the
/// attributes bit and `maxTimestamp` change, the CRC is recomputed and valid,
/// every record reads the broker's time, and time lookups use it
/// (`message.timestamp.type`, Kafka's `LogValidator`).
#[test]
fn log_append_time_stamps_batches_with_the_broker_clock() {
    let config = LogConfig { timestamp_type: TimestampType::LogAppendTime, ..small_config(1 << 20, 0) };
    let (mut log, _) = Log::open(MemStorage::new(), config, OpenOptions::default(), T0).unwrap();
    let now = T0 + 777_000;
    for (i, codec) in CODECS.iter().enumerate() {
        let built = BatchSpec { compression: *codec, ..simple(3, T0 + i as i64, "lat") }.build();
        let info = log.append(bytes_of(&built), 3, now + i as i64).unwrap();
        assert_eq!(info.log_append_time, now + i as i64);
        assert_eq!(info.max_timestamp, now + i as i64);
    }
    let batches = log.read_batches(0).unwrap();
    assert_eq!(batches.len(), CODECS.len());
    for (i, batch) in batches.iter().enumerate() {
        let now = now + i as i64;
        batch.validate().expect("CRC recomputed over the new attributes and maxTimestamp");
        assert_eq!(batch.timestamp_type(), TimestampType::LogAppendTime);
        assert_eq!(batch.attributes() & 0x08, 0x08);
        assert_eq!(batch.max_timestamp(), now);
        assert_eq!(batch.base_timestamp(), T0 + i as i64, "baseTimestamp is left as produced");
        assert_eq!(batch.partition_leader_epoch(), 3);
        assert!(batch.decode_records().unwrap().iter().all(|r| r.timestamp == now));
    }
    assert_eq!(log.offset_for_timestamp(now + 2).unwrap(), Some((now + 2, 6)));
    assert_eq!(log.offset_for_timestamp(T0).unwrap(), Some((now, 0)));
}

// ---------------------------------------------------------------------------
// The log manager
// ---------------------------------------------------------------------------

/// A clean shutdown flushes every log, writes both checkpoint files in Kafka's
/// `OffsetCheckpointFile` format and then `.kafka_cleanshutdown`; the next open
/// trusts every segment and deletes the marker, and a later crash (no marker) is
/// recovered from the checkpointed recovery points.
#[test]
fn log_manager_clean_shutdown_and_crash() {
    let dir = tempfile::tempdir().unwrap();
    let config = LogConfig { retention_ms: 1000, ..two_batches_a_segment() };
    let (a, b) = (TopicPartition::new("orders", 0), TopicPartition::new("orders", 1));
    let mut models = BTreeMap::new();
    {
        let (mut manager, reports) = LogManager::open(dir.path(), config.clone(), T0).unwrap();
        assert!(reports.is_empty() && !manager.had_clean_shutdown());
        for (tp, n) in [(&a, 5), (&b, 2)] {
            let log = manager.get_or_create(tp, None, T0).unwrap();
            let log = &mut *lock(&log);
            let mut model = Model::default();
            for i in 0..n {
                model.append(log, simple(3, T0 + 100 * i, &format!("{}{i}", tp.partition)), T0);
            }
            models.insert(tp.clone(), model);
        }
        manager.shutdown().unwrap();
    }
    let read = |name: &str| std::fs::read_to_string(dir.path().join(name)).unwrap();
    assert!(dir.path().join(CLEAN_SHUTDOWN_FILE).exists());
    assert_eq!(read(RECOVERY_POINT_CHECKPOINT), "0\n2\norders 0 15\norders 1 6\n");
    assert_eq!(read(LOG_START_OFFSET_CHECKPOINT), "0\n2\norders 0 0\norders 1 0\n");

    let (mut manager, reports) = LogManager::open(dir.path(), config.clone(), T0).unwrap();
    assert!(manager.had_clean_shutdown());
    assert!(!dir.path().join(CLEAN_SHUTDOWN_FILE).exists(), "marker deleted once the logs are open");
    assert!(reports.values().all(|r| r.segments_recovered == 0), "{reports:?}");
    for (tp, model) in &models {
        check_log(&lock(&manager.get(tp).unwrap()), model);
    }
    // Retention moves orders-0's start; the checkpoint records it.
    let (log_a, log_b) = (manager.get(&a).unwrap(), manager.get(&b).unwrap());
    let end = lock(&log_a).log_end_offset();
    lock(&log_a).update_high_watermark(end);
    let dropped = lock(&log_a).delete_old_segments(T0 + 1103).unwrap();
    assert_eq!(dropped, 1);
    models.get_mut(&a).unwrap().append(&mut lock(&log_a), simple(1, T0 + 999, "more"), T0);
    lock(&log_a).flush().unwrap();
    manager.checkpoint().unwrap();
    assert_eq!(read(RECOVERY_POINT_CHECKPOINT), "0\n2\norders 0 16\norders 1 6\n");
    assert_eq!(read(LOG_START_OFFSET_CHECKPOINT), "0\n2\norders 0 6\norders 1 0\n");
    // Unflushed appends, then a crash: no marker, so each log is recovered from
    // its checkpointed recovery point; the start offset comes from its checkpoint.
    models.get_mut(&b).unwrap().append(&mut lock(&log_b), simple(2, T0, "unflushed"), T0);
    drop((manager, log_a, log_b));

    let (manager, reports) = LogManager::open(dir.path(), config, T0).unwrap();
    assert!(!manager.had_clean_shutdown());
    assert_eq!(reports[&a].segments_recovered, 1, "only the segment past the recovery point");
    assert!(reports[&b].segments_recovered >= 1);
    assert_eq!(lock(&manager.get(&a).unwrap()).log_start_offset(), 6);
    for (tp, model) in &models {
        check_log(&lock(&manager.get(tp).unwrap()), model);
    }
}

/// `log.retention.check.interval.ms` paces retention, apart from the tick:
/// the manager deletes expired segments on its first tick, then only once the
/// interval has passed since the last run, however often it is ticked (Kafka
/// schedules its retention check the same way, apart from the flusher and the
/// checkpoints).
#[test]
fn retention_runs_once_per_retention_check_interval() {
    let dir = tempfile::tempdir().unwrap();
    let config = LogConfig { retention_ms: 1000, ..two_batches_a_segment() };
    let (mut manager, _) = LogManager::open(dir.path(), config, T0).unwrap();
    manager.retention_check_interval_ms = 300_000;
    let tp = TopicPartition::new("paced", 0);
    let log = manager.get_or_create(&tp, None, T0).unwrap();
    let mut model = Model::default();
    let mut append = |n: i64, at: i64| {
        for i in 0..n {
            model.append(&mut lock(&log), simple(3, at, &format!("{at}-{i}")), at);
        }
        let end = lock(&log).log_end_offset();
        lock(&log).update_high_watermark(end); // one replica: all committed
    };
    append(5, T0);
    manager.tick(T0 + 2_000).unwrap();
    let start_after_first = lock(&log).log_start_offset();
    assert!(start_after_first > 0, "the first tick applies retention");
    append(4, T0 + 2_000);
    manager.tick(T0 + 10_000).unwrap();
    assert_eq!(lock(&log).log_start_offset(), start_after_first, "not due: 8 s after the last run");
    manager.tick(T0 + 302_000).unwrap();
    assert!(lock(&log).log_start_offset() > start_after_first, "due again 300 s after the last run");
}

// ---------------------------------------------------------------------------
// Golden: batches from a real Kafka client
// ---------------------------------------------------------------------------

#[derive(Debug, Default)]
struct Expected {
    name: String,
    fields: BTreeMap<String, i64>,
    /// (offset, record) as kafka-python read it back.
    records: Vec<(i64, RecordSpec)>,
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    match s {
        "null" => None,
        "-" => Some(Vec::new()),
        _ => Some((0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()),
    }
}

fn parse_expected(text: &str) -> Vec<Expected> {
    let mut out = Vec::new();
    let mut current = Expected::default();
    for line in text.lines().filter(|l| !l.starts_with('#') && !l.is_empty()) {
        let words: Vec<&str> = line.split(' ').collect();
        match words[0] {
            "batch" => current = Expected { name: words[1].to_string(), ..Expected::default() },
            "end" => out.push(std::mem::take(&mut current)),
            "record" => {
                let n: usize = words[5].parse().unwrap();
                let headers = (0..n)
                    .map(|i| {
                        let key = String::from_utf8(unhex(words[6 + 2 * i]).unwrap()).unwrap();
                        (key, unhex(words[7 + 2 * i]))
                    })
                    .collect();
                let record = RecordSpec {
                    timestamp: words[2].parse().unwrap(),
                    key: unhex(words[3]),
                    value: unhex(words[4]),
                    headers,
                };
                current.records.push((words[1].parse().unwrap(), record));
            }
            field => {
                current.fields.insert(field.to_string(), words[1].parse().unwrap());
            }
        }
    }
    out
}

/// Batches built by kafka-python's `DefaultRecordBatchBuilder` — uncompressed with
/// and without keys, values and headers, out-of-order timestamps, idempotent and
/// transactional producers, gzip, snappy (xerial framing), lz4 and zstd — decode
/// field by field and record by record as that client reads them, their CRC-32C
/// validates, and appending one to a log stores it byte for byte except the two
/// broker-owned fields (the v2 format of KIP-98, `DefaultRecordBatch`).
#[test]
fn kafka_python_batches_decode_byte_for_byte() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/kafka_python");
    let expected = parse_expected(&std::fs::read_to_string(fixtures.join("expected.txt")).unwrap());
    assert_eq!(expected.len(), 12, "every fixture batch is described");
    let (mut log, _) =
        Log::open(MemStorage::new(), small_config(1 << 20, 0), OpenOptions::default(), T0).unwrap();
    for want in &expected {
        let name = &want.name;
        let raw = Bytes::from(std::fs::read(fixtures.join(format!("{name}.bin"))).unwrap());
        let batch = RecordBatch::from_bytes(raw.clone()).unwrap_or_else(|e| panic!("{name}: {e}"));
        let f = |k: &str| want.fields[k];
        let header = [
            ("baseOffset", batch.base_offset()),
            ("batchLength", i64::from(batch.batch_length())),
            ("partitionLeaderEpoch", i64::from(batch.partition_leader_epoch())),
            ("magic", i64::from(batch.magic())),
            ("crc", i64::from(batch.crc())),
            ("attributes", i64::from(batch.attributes())),
            ("lastOffsetDelta", i64::from(batch.last_offset_delta())),
            ("baseTimestamp", batch.base_timestamp()),
            ("maxTimestamp", batch.max_timestamp()),
            ("producerId", batch.producer_id()),
            ("producerEpoch", i64::from(batch.producer_epoch())),
            ("baseSequence", i64::from(batch.base_sequence())),
            ("count", i64::from(batch.records_count())),
            ("size", batch.size_in_bytes() as i64),
        ];
        for (field, got) in header {
            assert_eq!(got, f(field), "{name}: {field}");
        }
        assert_eq!(i64::from(batch.compute_crc()), f("crc"), "{name}: CRC-32C over attributes..end");
        assert_eq!(i64::from(batch.compression().unwrap().code()), f("attributes") & 7, "{name}: codec");
        assert_eq!(batch.is_transactional(), f("attributes") & 0x10 != 0);
        assert_eq!(batch.timestamp_type(), TimestampType::CreateTime);
        let records = batch.decode_records().unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(records.len(), want.records.len(), "{name}: records");
        for (i, (got, (offset, r))) in records.iter().zip(&want.records).enumerate() {
            assert_eq!(got.offset, *offset, "{name}[{i}]: offset");
            assert_eq!(got.timestamp, r.timestamp, "{name}[{i}]: timestamp");
            assert_eq!(got.key.as_deref(), r.key.as_deref(), "{name}[{i}]: key");
            assert_eq!(got.value.as_deref(), r.value.as_deref(), "{name}[{i}]: value");
            let got_headers: Vec<_> =
                got.headers.iter().map(|h| (h.key.clone(), h.value.as_ref().map(|v| v.to_vec()))).collect();
            assert_eq!(got_headers, r.headers, "{name}[{i}]: headers");
            let base_sequence = f("baseSequence") as i32;
            let sequence = if base_sequence < 0 { -1 } else { base_sequence + i as i32 };
            assert_eq!(got.sequence, sequence, "{name}[{i}]: sequence");
        }
        // spool's own encoder writes the same bytes for an uncompressed batch, but
        // for partitionLeaderEpoch, which kafka-python sets to 0 and Kafka's
        // producer to -1 (the broker overwrites it either way).
        if f("attributes") == 0 && f("producerId") == -1 {
            let mut builder = BatchBuilder::default();
            for (_, r) in &want.records {
                let hs: Vec<(&str, Option<&[u8]>)> =
                    r.headers.iter().map(|(k, v)| (k.as_str(), v.as_deref())).collect();
                builder.append(r.timestamp, r.key.as_deref(), r.value.as_deref(), &hs);
            }
            let ours = builder.build();
            assert_eq!(&ours.as_bytes()[..12], &raw[..12], "{name}: spool's encoder");
            assert_eq!(&ours.as_bytes()[16..], &raw[16..], "{name}: spool's encoder");
        }
        // Appended, it is stored as sent but for baseOffset and the leader epoch.
        let info = log.append(BytesMut::from(&raw[..]), 7, T0).unwrap();
        let region = log.read(info.first_offset, 1).unwrap().unwrap();
        let stored = region.read_bytes().unwrap();
        assert_eq!(stored.len(), raw.len(), "{name}: stored size");
        assert_eq!(&stored[..8], &info.first_offset.to_be_bytes(), "{name}: baseOffset");
        assert_eq!(&stored[8..12], &raw[8..12], "{name}: batchLength");
        assert_eq!(&stored[12..16], &7i32.to_be_bytes(), "{name}: partitionLeaderEpoch");
        assert_eq!(&stored[16..], &raw[16..], "{name}: everything else byte for byte");
        RecordBatch::from_bytes(stored).unwrap().validate().unwrap();
    }
    let total: usize = expected.iter().map(|e| e.records.len()).sum();
    assert_eq!(log.log_end_offset(), total as i64);
}

/// Kafka's `LogValidator` rejects a v2 batch whose record count disagrees with
/// its offset range, or that holds no records, even when its CRC is right: the
/// log answers `CORRUPT_MESSAGE` and appends nothing.
#[test]
fn append_rejects_inconsistent_record_counts() {
    use spool::format::batch::field;
    let dir = tempfile::tempdir().unwrap();
    let (mut log, _) = open_disk(dir.path(), &small_config(1 << 20, 4096), clean());
    let mut builder = BatchBuilder::default();
    builder.append(1, None, Some(b"a"), &[]).append(2, None, Some(b"b"), &[]);
    for (count, last_offset_delta) in [(1, 1), (3, 1), (0, -1)] {
        let mut bytes = BytesMut::from(&builder.build().as_bytes()[..]);
        bytes[field::RECORDS_COUNT..field::RECORDS_COUNT + 4].copy_from_slice(&i32::to_be_bytes(count));
        bytes[field::LAST_OFFSET_DELTA..field::LAST_OFFSET_DELTA + 4]
            .copy_from_slice(&i32::to_be_bytes(last_offset_delta));
        let crc = crc32c::crc32c(&bytes[field::ATTRIBUTES..]);
        bytes[field::CRC..field::CRC + 4].copy_from_slice(&crc.to_be_bytes());
        let err = log.append(bytes, 0, 0).unwrap_err();
        assert_eq!(err.kafka_error_code(), 2, "count {count}, delta {last_offset_delta}: {err}");
    }
    assert_eq!(log.log_end_offset(), 0);
}

/// KIP-74: only the first partition of a fetch may exceed its byte limit, and
/// then by exactly one whole batch; for the others a first batch that does not
/// fit reads as nothing — never as the front half of a batch, which a client
/// cannot use (kafka-python reports "no complete records" and stalls).
#[test]
fn a_batch_that_does_not_fit_is_whole_or_absent() {
    use spool::log::ReadOptions;
    let dir = tempfile::tempdir().unwrap();
    let (mut log, _) = open_disk(dir.path(), &small_config(1 << 20, 4096), clean());
    let big = vec![7u8; 5000];
    for _ in 0..2 {
        let mut builder = BatchBuilder::default();
        builder.append(1, None, Some(&big), &[]);
        log.append(BytesMut::from(&builder.build().as_bytes()[..]), 0, T0).unwrap();
    }
    let size = log.read_batches(0).unwrap()[0].size_in_bytes() as u32;
    let read = |max_bytes, min_one_batch| {
        log.read_with(0, ReadOptions { max_bytes, max_offset: None, min_one_batch, skip_emptied_tail: false })
            .unwrap()
            .map(|r| r.length)
    };
    assert_eq!(read(4096, true), Some(size), "the first partition gets one whole batch");
    assert_eq!(read(4096, false), None, "the others get nothing rather than a partial batch");
    assert_eq!(read(size + 10, false), Some(size + 10), "past one whole batch, a partial tail is fine");
}
