//! Chapter 10's cleaner, measured: how fast it rewrites a log, what it saves
//! a broker that restarts with a long `__consumer_offsets` history, and what
//! its I/O throttle holds it to (issue 16 §4).
//!
//! ```text
//! cargo bench --bench compaction            # the numbers (benches/RESULTS-compaction.md)
//! cargo bench --bench compaction -- --test  # CI smoke-run: every bench once, small logs
//! ```
//!
//! | bench | what is timed | unit |
//! |---|---|---|
//! | `compaction/clean/{1,50,99}pct_dup` | one whole cleaning of a dirty log: `plan_clean`, `clean_with` on a second `DiskStorage` of the directory, `swap_cleaned` | MB/s of sealed log |
//! | `compaction/offset_map` | `OffsetMap::put` of every key of the 50% log, no I/O | keys/s |
//! | `compaction/restart/{off,on}/N` | a restart's load of `__consumer_offsets`: `Log::open`, read from the log start, decode each record, `GroupCoordinator::load_partition` | time |
//! | throttle (printed, not criterion) | a cleaning with `log.cleaner.io.max.bytes.per.second` set | achieved MB/s vs the limit |
//!
//! Every log lives in a tempdir on the machine's real file system, so the
//! numbers include `pread`/`pwrite`, the fsyncs of the `.cleaned` files and
//! the renames of the swap, as the broker's cleaner pays them. Each cleaning
//! gets a freshly built dirty log (`iter_batched`): cleaning a clean log is
//! a different, cheaper job. The restart bench reads a warm page cache, so
//! it measures the replay's CPU, not a cold disk.

use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use criterion::{criterion_group, BatchSize, BenchmarkId, Criterion, Throughput};
use spool::format::BatchBuilder;
use spool::group::{
    GroupCoordinator, GroupCoordinatorConfig, GroupMetadataValue, GroupRecord, OffsetCommitValue,
    OffsetsLogEntry,
};
use spool::log::cleaner::offset_map::{OffsetMap, DEFAULT_LOAD_FACTOR};
use spool::log::cleaner::{CleanOutcome, CleanParams, SwapOutcome};
use spool::log::throttler::{Throttler, CLEANER_CHECK_INTERVAL_MS};
use spool::log::{CleanerConfig, DiskStorage, Log, LogConfig, OpenOptions};
use spool::TopicPartition;
use tempfile::TempDir;

#[allow(dead_code)]
#[path = "../tests/it/common/batches.rs"]
mod batches;
use batches::batch_of;

/// A fixed clock: no roll by age, no tombstone past its horizon mid-run.
const NOW_MS: i64 = 1_700_000_000_000;
/// Kafka's default `delete.retention.ms` (a day).
const DELETE_RETENTION_MS: i64 = 24 * 60 * 60 * 1000;
/// Segment size of every bench log: small enough that most of the log is
/// sealed (the cleaner never touches the active segment), see the results.
const SEGMENT_BYTES: u64 = 1024 * 1024;
/// Value bytes per record of the throughput logs: with a 12-byte key and the
/// record framing, ~100 bytes.
const RECORD_VALUE_BYTES: usize = 80;
/// Records per batch of the throughput logs, as a batching producer sends.
const RECORDS_PER_BATCH: usize = 100;
/// Consumer groups of the `__consumer_offsets` history, and the partitions
/// each commits at once (one OffsetCommit = one batch of this many records).
const GROUPS: usize = 100;
const PARTITIONS_PER_COMMIT: i32 = 8;

/// The sizes of one run: full for the numbers, small for the smoke run.
struct Sizes {
    /// Records of each throughput log (~100 bytes each).
    records: usize,
    /// History lengths of the restart bench, in commits.
    commits: &'static [usize],
    /// Records of the throttle's log, and the limits tried, in MB/s.
    throttle_records: usize,
    throttle_limits_mb_per_s: &'static [f64],
}

const FULL: Sizes = Sizes {
    records: 100_000,
    commits: &[10_000, 100_000],
    // Long enough that the reads outlast several of the throttler's 300 ms
    // checks: a shorter cleaning is over before its rate is ever measured.
    throttle_records: 200_000,
    throttle_limits_mb_per_s: &[4.0, 8.0],
};
/// The smoke run's logs still span a few segments: a log within one
/// segment has nothing sealed, so nothing to clean.
const SMOKE: Sizes =
    Sizes { records: 25_000, commits: &[6_000], throttle_records: 25_000, throttle_limits_mb_per_s: &[50.0] };

fn sizes() -> &'static Sizes {
    match std::env::args().any(|a| a == "--test") {
        true => &SMOKE,
        false => &FULL,
    }
}

fn log_config() -> LogConfig {
    LogConfig { segment_bytes: SEGMENT_BYTES, ..LogConfig::default() }
}

fn clean_params() -> CleanParams {
    CleanParams { delete_retention_ms: DELETE_RETENTION_MS, now_ms: NOW_MS }
}

/// One cleaner thread's offset map at the broker's defaults
/// (`log.cleaner.dedupe.buffer.size` 128 MiB, load factor 0.9).
fn offset_map() -> OffsetMap {
    OffsetMap::new(CleanerConfig::default().dedupe_buffer_bytes as usize, DEFAULT_LOAD_FACTOR)
}

// ---------------------------------------------------------------------------
// Building the dirty logs
// ---------------------------------------------------------------------------

/// The keys of a log of `records` records of which `duplicate_pct` percent
/// repeat an earlier key: in every hundred records, the first
/// `duplicate_pct` reuse a key already written (picked by a fixed stride
/// over those, so hot and cold keys mix) and the rest are new. The repeats
/// are spread over the whole log, so the sealed part the cleaner reads has
/// the same share as the whole.
fn keys(records: usize, duplicate_pct: usize) -> Vec<String> {
    let mut fresh = 0usize;
    (0..records)
        .map(|i| {
            let key = match i % 100 < duplicate_pct && fresh > 0 {
                true => i.wrapping_mul(7_919) % fresh,
                false => {
                    fresh += 1;
                    fresh - 1
                }
            };
            format!("key-{key:08}")
        })
        .collect()
}

fn distinct_keys(records: usize, duplicate_pct: usize) -> usize {
    keys(records, duplicate_pct).into_iter().collect::<std::collections::HashSet<_>>().len()
}

/// The encoded batches of a throughput log (encoded once, appended per iteration).
fn dirty_batches(records: usize, duplicate_pct: usize) -> Vec<Bytes> {
    let value = [b'v'; RECORD_VALUE_BYTES];
    (keys(records, duplicate_pct).chunks(RECORDS_PER_BATCH))
        .map(|chunk| batch_of(BatchBuilder::default(), chunk.iter().map(|key| (NOW_MS, key, value))))
        .collect()
}

/// A flushed log of `batches` in a new tempdir, high watermark at its end.
fn write_log(batches: &[Bytes]) -> (TempDir, Log<DiskStorage>) {
    let dir = tempfile::tempdir().expect("a tempdir");
    let storage = DiskStorage::open(dir.path()).expect("tempdir is writable");
    let (mut log, _) = Log::open(storage, log_config(), OpenOptions::default(), NOW_MS).expect("open");
    for batch in batches {
        log.append(BytesMut::from(&batch[..]), 0, NOW_MS).expect("append");
    }
    log.flush().expect("flush");
    log.update_high_watermark(log.log_end_offset());
    (dir, log)
}

/// Bytes of the sealed segments: what a cleaning reads and rewrites.
fn sealed_bytes(log: &Log<DiskStorage>) -> u64 {
    let sizes: Vec<u64> = log.segments().map(|s| s.size()).collect();
    sizes[..sizes.len() - 1].iter().sum()
}

// ---------------------------------------------------------------------------
// 1. Cleaner throughput
// ---------------------------------------------------------------------------

// ANCHOR: bench_clean
/// One cleaning as the broker's cleaner thread runs it: the plan under the
/// log's lock, the map and the rewrite on a second storage of the same
/// directory, the swap under the lock again.
fn clean_as_the_broker_does(dir: &Path, log: &mut Log<DiskStorage>, map: &mut OffsetMap) -> SwapOutcome {
    let end = log.log_end_offset();
    let mut plan = log.plan_clean(0, end, clean_params()).expect("plan").expect("sealed dirty segments");
    let mut out = DiskStorage::open(dir).expect("a second storage");
    let cleaned =
        plan.clean_with(&mut out, map, &mut |_| {}).expect("clean").expect("the map holds the keys");
    log.swap_cleaned(cleaned).expect("swap")
}

/// Cleaner throughput in MB/s of sealed log, by the share of records whose
/// key appears again later: 1% (little to drop), 50%, 99% (a changelog of a
/// few hot keys).
fn clean_throughput(c: &mut Criterion) {
    let records = sizes().records;
    let mut group = c.benchmark_group("compaction/clean");
    group.sample_size(10);
    for duplicate_pct in [1, 50, 99] {
        let batches = dirty_batches(records, duplicate_pct);
        let (_dir, log) = write_log(&batches);
        report_clean(&batches, duplicate_pct);
        group.throughput(Throughput::Bytes(sealed_bytes(&log)));
        group.bench_function(BenchmarkId::from_parameter(format!("{duplicate_pct}pct_dup")), |b| {
            b.iter_batched(
                || (write_log(&batches), offset_map()),
                |((dir, mut log), mut map)| {
                    let outcome = clean_as_the_broker_does(dir.path(), &mut log, &mut map);
                    black_box(outcome);
                    (dir, log, map) // dropped (files removed) outside the timing
                },
                BatchSize::PerIteration,
            )
        });
    }
    group.finish();
}
// ANCHOR_END: bench_clean

/// Once per log, untimed: the cleaning swapped and kept at least one record
/// per distinct key; prints what it did to the sealed bytes.
fn report_clean(batches: &[Bytes], duplicate_pct: usize) {
    let (dir, mut log) = write_log(batches);
    let (before_bytes, records_before) = (sealed_bytes(&log), count_records(&log));
    let outcome = clean_as_the_broker_does(dir.path(), &mut log, &mut offset_map());
    assert!(matches!(outcome, SwapOutcome::Swapped { .. }), "{outcome:?}");
    let records_after = count_records(&log);
    // Every key keeps its latest record; some earlier ones went.
    let distinct = distinct_keys(sizes().records, duplicate_pct);
    assert!(
        records_after >= distinct && records_after < records_before,
        "{records_after} of {records_before}"
    );
    println!(
        "clean {duplicate_pct}% duplicates: sealed {before_bytes} → {} bytes, records {records_before} → {records_after}",
        sealed_bytes(&log)
    );
}

fn count_records(log: &Log<DiskStorage>) -> usize {
    let batches = log.read_batches(log.log_start_offset()).expect("read");
    batches.iter().map(|b| b.records().expect("records").count()).sum()
}

/// The offset map alone: every key of the 50% log put in offset order, no I/O.
fn offset_map_keys(c: &mut Criterion) {
    let records = sizes().records;
    let keys = keys(records, 50);
    let mut group = c.benchmark_group("compaction");
    group.throughput(Throughput::Elements(records as u64));
    group.bench_function("offset_map", |b| {
        b.iter_batched(
            offset_map,
            |mut map| {
                for (offset, key) in keys.iter().enumerate() {
                    black_box(map.put(key.as_bytes(), offset as i64));
                }
                map
            },
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

// ---------------------------------------------------------------------------
// 2. Restart with a long __consumer_offsets history
// ---------------------------------------------------------------------------

fn group_id(g: usize) -> String {
    format!("group-{g:03}")
}

/// The history the group coordinator writes: each group's metadata once, then
/// `commits` OffsetCommits round-robin over the groups, each a batch of
/// [`PARTITIONS_PER_COMMIT`] offset records in the coordinator's own encoding
/// ([`GroupRecord::key_bytes`], [`GroupRecord::value_bytes`]).
fn offsets_history(commits: usize) -> Vec<Bytes> {
    let metadata = (0..GROUPS).map(|g| GroupRecord::Group {
        group_id: group_id(g),
        value: Some(GroupMetadataValue {
            protocol_type: "consumer".into(),
            generation: 1,
            protocol: None,
            leader: None,
            current_state_timestamp_ms: NOW_MS,
            members: vec![],
        }),
    });
    let mut batches = vec![encode(metadata)];
    for commit in 0..commits {
        let offsets = (0..PARTITIONS_PER_COMMIT).map(|p| GroupRecord::Offset {
            group_id: group_id(commit % GROUPS),
            partition: TopicPartition::new("events", p),
            value: Some(OffsetCommitValue {
                offset: commit as i64,
                leader_epoch: 0,
                metadata: String::new(),
                commit_timestamp_ms: NOW_MS,
            }),
        });
        batches.push(encode(offsets));
    }
    batches
}

fn encode(records: impl Iterator<Item = GroupRecord>) -> Bytes {
    let mut builder = BatchBuilder::default();
    for record in records {
        builder.append(NOW_MS, Some(&record.key_bytes()), record.value_bytes().as_deref(), &[]);
    }
    builder.build().as_bytes().clone()
}

// ANCHOR: bench_restart
/// What a restarted broker does with its `__consumer_offsets` partition
/// before it answers a group request: open the log after a clean shutdown,
/// read it from the log start, decode every record, replay them into a new
/// coordinator (the loop of `Broker::read_offsets_partition`, then
/// [`GroupCoordinator::load_partition`]).
fn restart_load(dir: &Path, end: i64) -> GroupCoordinator {
    let storage = DiskStorage::open(dir).expect("the log's directory");
    let options = OpenOptions { recovery_point: end, log_start_offset: 0, clean_shutdown: true };
    let (log, _) = Log::open(storage, log_config(), options, NOW_MS).expect("reopen");
    let mut entries = Vec::new();
    for batch in log.read_batches(log.log_start_offset()).expect("read") {
        for record in batch.records().expect("records") {
            let record = record.expect("a record");
            let key = record.key.expect("group records are keyed");
            let decoded = GroupRecord::decode(&key, record.value.as_deref()).expect("decodes");
            entries.push(OffsetsLogEntry::Record(decoded));
        }
    }
    let mut coordinator = GroupCoordinator::new(GroupCoordinatorConfig::default());
    coordinator.load_partition(entries, NOW_MS);
    coordinator
}
// ANCHOR_END: bench_restart

/// The restart's load, compaction off (the whole history) against on (the
/// same log after one `Log::clean`), by history length.
fn restart(c: &mut Criterion) {
    let mut group = c.benchmark_group("compaction/restart");
    group.sample_size(10);
    for &commits in sizes().commits {
        let batches = offsets_history(commits);
        let (raw_dir, raw) = write_log(&batches);
        let (compacted_dir, mut compacted) = write_log(&batches);
        let end = compacted.log_end_offset();
        let outcome = compacted.clean(0, end, clean_params(), &mut offset_map()).expect("clean");
        assert!(matches!(outcome, CleanOutcome::Swapped { .. }), "{outcome:?}");
        same_groups(&restart_load(raw_dir.path(), end), &restart_load(compacted_dir.path(), end));
        println!(
            "restart {commits} commits: {} bytes off, {} bytes after cleaning",
            raw.size_in_bytes(),
            compacted.size_in_bytes()
        );
        drop((raw, compacted)); // a restart opens the log afresh
        for (name, dir) in [("off", &raw_dir), ("on", &compacted_dir)] {
            group.bench_function(BenchmarkId::new(name, commits), |b| {
                b.iter(|| black_box(restart_load(dir.path(), end)))
            });
        }
    }
    group.finish();
}

/// Untimed: compaction changed nothing a group can see.
fn same_groups(raw: &GroupCoordinator, compacted: &GroupCoordinator) {
    assert_eq!(raw.list_groups(&[]).len(), GROUPS);
    for g in 0..GROUPS {
        let id = group_id(g);
        assert_eq!(raw.offset_fetch(&id, None), compacted.offset_fetch(&id, None), "{id}");
        let ids = std::slice::from_ref(&id);
        assert_eq!(raw.describe_groups(ids), compacted.describe_groups(ids));
    }
}

// ---------------------------------------------------------------------------
// 3. The throttle
// ---------------------------------------------------------------------------

/// `log.cleaner.io.max.bytes.per.second` at work: one cleaning of a 50% log
/// through a [`Throttler`] that the cleaning's `on_read` hook feeds, sleeping
/// as it says; prints the bytes read per second of the whole cleaning against
/// the limit. Not criterion: each run sleeps for seconds by design.
fn throttle() {
    let sizes = sizes();
    let batches = dirty_batches(sizes.throttle_records, 50);
    println!("throttle: one cleaning of a 50%-duplicate log, {} records", sizes.throttle_records);
    let (read_bytes, elapsed) = throttled_clean(&batches, f64::MAX);
    print_rate("unlimited", read_bytes, elapsed);
    for &limit_mb_per_s in sizes.throttle_limits_mb_per_s {
        let (read_bytes, elapsed) = throttled_clean(&batches, limit_mb_per_s * 1e6);
        print_rate(&format!("limit {limit_mb_per_s} MB/s"), read_bytes, elapsed);
    }
}

// ANCHOR: bench_throttle
/// One cleaning whose reads go through a throttler at `bytes_per_second_max`:
/// (bytes read, time from the plan to the swap).
fn throttled_clean(batches: &[Bytes], bytes_per_second_max: f64) -> (u64, Duration) {
    let (dir, mut log) = write_log(batches);
    let started = Instant::now();
    let now_ns = || i64::try_from(started.elapsed().as_nanos()).unwrap_or(i64::MAX);
    let mut throttler = Throttler::new(bytes_per_second_max, CLEANER_CHECK_INTERVAL_MS, now_ns());
    let mut read_bytes = 0u64;
    let mut on_read = |bytes: usize| {
        read_bytes += bytes as u64;
        std::thread::sleep(throttler.maybe_throttle(bytes as u64, now_ns()));
    };
    let end = log.log_end_offset();
    let mut plan = log.plan_clean(0, end, clean_params()).expect("plan").expect("sealed dirty segments");
    let mut out = DiskStorage::open(dir.path()).expect("a second storage");
    let cleaned = plan.clean_with(&mut out, &mut offset_map(), &mut on_read).expect("clean").expect("fits");
    let outcome = log.swap_cleaned(cleaned).expect("swap");
    assert!(matches!(outcome, SwapOutcome::Swapped { .. }), "{outcome:?}");
    (read_bytes, started.elapsed())
}
// ANCHOR_END: bench_throttle

fn print_rate(name: &str, bytes: u64, elapsed: Duration) {
    let mb_per_s = bytes as f64 / 1e6 / elapsed.as_secs_f64();
    println!(
        "  {name:<20} read {bytes:>10} bytes in {:>8.1} ms: {mb_per_s:>8.1} MB/s",
        elapsed.as_secs_f64() * 1e3
    );
}

criterion_group!(benches, clean_throughput, offset_map_keys, restart);

fn main() {
    benches();
    throttle();
    Criterion::default().configure_from_args().final_summary();
}
