//! Chapter 1's optimisations, each measured with and without it in one run.
//!
//! ```text
//! cargo bench --bench log            # the numbers (benches/RESULTS-log.md)
//! cargo bench --bench log -- --test  # CI smoke-run: every bench once
//! ```
//!
//! | group | with | without |
//! |---|---|---|
//! | `log/append` | batches of 10, 100, 1000 records | one record per batch |
//! | `log/offset_lookup` | `translate_offset` (sparse index) | `translate_offset_by_scan` |
//! | `log/flush` | `GroupCommit::append` (shared fsyncs) | `append_durable` (one fsync each); page cache only for scale |
//!
//! Every log lives in a tempdir on the machine's real file system, so the
//! fsync numbers are that disk's, and page-cache numbers include the
//! `pwrite` syscalls. Records are ~100 bytes (`RECORD_VALUE_BYTES` of value plus
//! key and framing), encoded outside the timed loops.

use std::hint::black_box;
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use criterion::measurement::WallTime;
use criterion::{criterion_group, criterion_main, BenchmarkGroup, BenchmarkId, Criterion, Throughput};
use spool::format::BatchBuilder;
use spool::log::{DiskStorage, GroupCommit, Log, LogConfig, OpenOptions};

#[allow(dead_code)]
#[path = "../tests/it/common/batches.rs"]
mod batches;
use batches::batch_of;

/// A fixed clock: rolling by age and retention by time must not kick in mid-run.
const NOW_MS: i64 = 1_700_000_000_000;
/// Value bytes per record: with a 10-byte key and the record framing, ~100 bytes.
const RECORD_VALUE_BYTES: usize = 82;
/// Segment size for the append benches, and how much log to keep: the log is
/// trimmed by retention between timed appends, so a long run neither fills the
/// disk nor measures dirty-page writeback of gigabytes.
const SEGMENT_BYTES: u64 = 16 * 1024 * 1024;
const RETENTION_BYTES: i64 = 64 * 1024 * 1024;
/// Batches in the segment the lookup bench searches.
const LOOKUP_BATCHES: i64 = 20_000;
/// Records per batch in the lookup segment and in the flush benches.
const RECORDS_PER_BATCH: usize = 10;

/// One encoded batch of `records` records of ~100 bytes, base offset 0; the log
/// assigns real offsets when it appends.
fn batch(records: usize) -> Bytes {
    let value = [b'v'; RECORD_VALUE_BYTES];
    let records = (0..records).map(|i| (NOW_MS + i as i64, format!("key-{:06}", i % 1_000_000), &value));
    batch_of(BatchBuilder::default(), records)
}

fn open_log(dir: &Path, config: LogConfig) -> Log<DiskStorage> {
    let storage = DiskStorage::open(dir.join("bench-0")).expect("tempdir is writable");
    Log::open(storage, config, OpenOptions::default(), NOW_MS).expect("open an empty log").0
}

fn page_cache_config() -> LogConfig {
    LogConfig { segment_bytes: SEGMENT_BYTES, retention_bytes: RETENTION_BYTES, ..LogConfig::default() }
}

/// Appends one copy of `batch`, timing only the append (the copy stands for the
/// request buffer a broker receives, and is not the log's work).
fn timed_append(log: &mut Log<DiskStorage>, batch: &Bytes) -> Duration {
    let request = BytesMut::from(&batch[..]);
    let start = Instant::now();
    black_box(log.append(request, 0, NOW_MS).expect("append"));
    start.elapsed()
}

// ANCHOR: bench_append
/// Append throughput by batch size: the same ~100-byte records, 1 to 1000 per
/// batch. Each append pays a fixed cost (validation, a `pwrite`, index upkeep,
/// publishing the end); batching spreads it over more bytes.
fn append_batch_size(c: &mut Criterion) {
    let mut group = c.benchmark_group("log/append");
    group.warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3));
    for records in [1, 10, 100, 1000] {
        let batch = batch(records);
        let dir = tempfile::tempdir().expect("tempdir");
        let mut log = open_log(dir.path(), page_cache_config());
        group.throughput(Throughput::Bytes(batch.len() as u64));
        group.bench_with_input(BenchmarkId::new("records_per_batch", records), &batch, |b, batch| {
            b.iter_custom(|iters| {
                let mut elapsed = Duration::ZERO;
                for _ in 0..iters {
                    elapsed += timed_append(&mut log, batch);
                    if log.size_in_bytes() > RETENTION_BYTES as u64 + SEGMENT_BYTES {
                        log.delete_old_segments(NOW_MS).expect("retention");
                    }
                }
                elapsed
            })
        });
    }
    group.finish();
}
// ANCHOR_END: bench_append

/// Offsets to look up: a fixed pseudo-random sequence (xorshift), the same for
/// both lookups, so neither gets a friendlier access pattern.
fn random_offsets(count: usize, end_offset: i64) -> Vec<i64> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..count)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x % end_offset as u64) as i64
        })
        .collect()
}

// ANCHOR: bench_lookup
/// Finding the batch that holds an offset: through the sparse offset index
/// (binary search, then a scan of at most `log.index.interval.bytes`), or by
/// reading every batch header from the start of the segment.
fn offset_lookup(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut log = open_log(dir.path(), LogConfig::default());
    let one = batch(RECORDS_PER_BATCH);
    for _ in 0..LOOKUP_BATCHES {
        log.append(BytesMut::from(&one[..]), 0, NOW_MS).expect("append");
    }
    assert_eq!(log.segments().count(), 1, "the lookup segment must not roll");
    let segment = log.segments().next().expect("one segment");
    let targets = random_offsets(4096, log.log_end_offset());
    eprintln!(
        "log/offset_lookup: segment of {} batches, {} bytes, {} index entries",
        LOOKUP_BATCHES,
        segment.size(),
        segment.offset_index().len()
    );

    let mut group = c.benchmark_group("log/offset_lookup");
    group.warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3));
    // A scan takes milliseconds: criterion's default 100 samples would take minutes.
    group.sample_size(20);
    group.throughput(Throughput::Elements(1));
    group.bench_function("sparse_index", |b| {
        let mut next = targets.iter().cycle();
        b.iter(|| {
            let offset = *next.next().expect("cycle");
            segment.translate_offset(log.storage(), offset).expect("read").expect("offset in segment")
        })
    });
    group.bench_function("linear_scan", |b| {
        let mut next = targets.iter().cycle();
        b.iter(|| {
            let offset = *next.next().expect("cycle");
            segment.translate_offset_by_scan(log.storage(), offset).expect("read").expect("offset in segment")
        })
    });
    group.finish();
}
// ANCHOR_END: bench_lookup

/// Runs `iters` appends spread over `threads` threads, each through `append`,
/// and returns the wall-clock time for all of them.
fn run_threads(threads: u64, iters: u64, append: impl Fn() + Sync) -> Duration {
    let start = Instant::now();
    std::thread::scope(|s| {
        for t in 0..threads {
            let share = iters / threads + u64::from(t < iters % threads);
            let append = &append;
            s.spawn(move || (0..share).for_each(|_| append()));
        }
    });
    start.elapsed()
}

// ANCHOR: bench_flush
/// Flush policies, in appends per second: the page cache only (Kafka's
/// default: durability comes from replication), an fsync inside every append,
/// and group commit, where appends that arrive while an fsync runs share the
/// next one. With one thread group commit cannot share; with more it can, and
/// `fsync per append` behind the same mutex cannot.
fn flush_policies(c: &mut Criterion) {
    let batch = batch(RECORDS_PER_BATCH);
    let mut group = c.benchmark_group("log/flush");
    // An fsync takes milliseconds: few samples, short measurement.
    group.sample_size(10).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3));
    group.throughput(Throughput::Elements(1));

    // A block, so this log's files (and their dirty pages) are gone before the
    // fsync benches: on ext4 an fsync's journal commit can drag other files'
    // dirty data along, and writeback competes for the same disk.
    {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut log = open_log(dir.path(), page_cache_config());
        group.bench_function("page_cache", |b| {
            b.iter_custom(|iters| {
                let mut elapsed = Duration::ZERO;
                for _ in 0..iters {
                    elapsed += timed_append(&mut log, &batch);
                    if log.size_in_bytes() > RETENTION_BYTES as u64 + SEGMENT_BYTES {
                        log.delete_old_segments(NOW_MS).expect("retention");
                    }
                }
                elapsed
            })
        });
    }

    for threads in [1, 4, 16] {
        fsync_per_append(&mut group, &batch, threads);
        group_commit(&mut group, &batch, threads);
    }
    group.finish();
}
// ANCHOR_END: bench_flush

/// `Log::append_durable` behind a mutex: each append fsyncs while holding the
/// log, so more threads only queue up behind it.
fn fsync_per_append(group: &mut BenchmarkGroup<'_, WallTime>, batch: &Bytes, threads: u64) {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = Mutex::new(open_log(dir.path(), LogConfig::default()));
    group.bench_function(BenchmarkId::new("fsync_per_append/threads", threads), |b| {
        b.iter_custom(|iters| {
            run_threads(threads, iters, || {
                let request = BytesMut::from(&batch[..]);
                black_box(log.lock().unwrap().append_durable(request, 0, NOW_MS).expect("append"));
            })
        })
    });
}

/// `GroupCommit::append`: the fsync runs outside the log lock, and appends
/// that land meanwhile share the next one. Prints the sharing factor.
fn group_commit(group: &mut BenchmarkGroup<'_, WallTime>, batch: &Bytes, threads: u64) {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = Mutex::new(open_log(dir.path(), LogConfig::default()));
    let commit = GroupCommit::new();
    group.bench_function(BenchmarkId::new("group_commit/threads", threads), |b| {
        b.iter_custom(|iters| {
            run_threads(threads, iters, || {
                let request = BytesMut::from(&batch[..]);
                black_box(commit.append(&log, request, 0, NOW_MS).expect("append"));
            })
        })
    });
    // The sharing factor: how many appends one fsync acknowledged.
    let appends = log.lock().unwrap().log_end_offset() / RECORDS_PER_BATCH as i64;
    if commit.fsyncs() > 0 {
        eprintln!(
            "log/flush/group_commit/threads/{threads}: {appends} appends, {} fsyncs, {:.2} appends per fsync",
            commit.fsyncs(),
            appends as f64 / commit.fsyncs() as f64
        );
    }
}

criterion_group!(log, append_batch_size, offset_lookup, flush_policies);
criterion_main!(log);
