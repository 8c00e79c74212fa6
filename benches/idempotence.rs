//! Chapter 8's cost on the broker: what checking an idempotent producer's
//! sequence numbers adds to an append, measured against the same append of a
//! batch without a producer id (which skips the check: the naive path).
//!
//! ```text
//! cargo bench --bench idempotence            # the numbers
//! cargo bench --bench idempotence -- --test  # CI smoke-run: every bench once
//! ```
//!
//! | group | with | without |
//! |---|---|---|
//! | `idempotence/append` | batches with a producer id, sequences checked and the table updated (1 and 1000 producers) | the same batches with producer id -1 |
//! | `idempotence/duplicate` | a retry answered from the table | — (a first append, for scale) |
//! | `idempotence/snapshot` | encoding the table at a segment roll, 1 to 10,000 producers | — |
//!
//! Logs live in a tempdir (page cache, no fsync), as `benches/log.rs`'s append
//! bench. Batches are encoded outside the timed loops; each iteration stamps
//! the next sequence into a copy of the bytes and fixes the CRC, untimed.

use std::hint::black_box;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use spool::format::batch::field;
use spool::format::BatchBuilder;
use spool::idempotence::{encode_snapshot, BatchInfo, ProducerStateConfig, ProducerStateManager};
use spool::log::{DiskStorage, Log, LogConfig, OpenOptions};

#[allow(dead_code)]
#[path = "../tests/it/common/batches.rs"]
mod batches;
use batches::batch_of;

const NOW_MS: i64 = 1_700_000_000_000;
const RECORD_VALUE_BYTES: usize = 82;
const SEGMENT_BYTES: u64 = 16 * 1024 * 1024;
const RETENTION_BYTES: i64 = 64 * 1024 * 1024;

/// One batch of `records` ~100-byte records, stamped with `producer_id`
/// (-1: none) at epoch 0 and sequence 0.
fn batch(records: usize, producer_id: i64) -> Bytes {
    let builder = if producer_id >= 0 {
        BatchBuilder::default().producer(producer_id, 0, 0)
    } else {
        BatchBuilder::default()
    };
    let value = [b'v'; RECORD_VALUE_BYTES];
    batch_of(builder, (0..records).map(|i| (NOW_MS + i as i64, format!("key-{i:06}"), &value)))
}

/// A copy of `batch` with `producer_id` and `base_sequence` written in, the
/// CRC recomputed: the request a producer would send next.
fn stamped(batch: &Bytes, producer_id: i64, base_sequence: i32) -> BytesMut {
    let mut bytes = BytesMut::from(&batch[..]);
    if producer_id >= 0 {
        bytes[field::PRODUCER_ID..field::PRODUCER_ID + 8].copy_from_slice(&producer_id.to_be_bytes());
        bytes[field::BASE_SEQUENCE..field::BASE_SEQUENCE + 4].copy_from_slice(&base_sequence.to_be_bytes());
        let crc = crc32c::crc32c(&bytes[field::ATTRIBUTES..]);
        bytes[field::CRC..field::CRC + 4].copy_from_slice(&crc.to_be_bytes());
    }
    bytes
}

fn open_log(dir: &std::path::Path) -> Log<DiskStorage> {
    let storage = DiskStorage::open(dir.join("bench-0")).expect("tempdir is writable");
    let config =
        LogConfig { segment_bytes: SEGMENT_BYTES, retention_bytes: RETENTION_BYTES, ..LogConfig::default() };
    Log::open(storage, config, OpenOptions::default(), NOW_MS).expect("open an empty log").0
}

// ANCHOR: bench_append
/// The append path with and without the check: `checked/<producers>` appends
/// batches of `producers` idempotent producers in turn (each at its next
/// sequence), `unchecked` the same bytes with producer id -1.
fn append(c: &mut Criterion) {
    let mut group = c.benchmark_group("idempotence/append");
    group.warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3));
    for records in [1, 10] {
        let checked = batch(records, 0);
        let unchecked = batch(records, -1);
        group.throughput(Throughput::Elements(1));
        for (name, producers, template) in
            [("unchecked", 0, &unchecked), ("checked/1", 1, &checked), ("checked/1000", 1000, &checked)]
        {
            let dir = tempfile::tempdir().expect("tempdir");
            let mut log = open_log(dir.path());
            let mut next_sequence = vec![0i32; producers.max(1)];
            let mut turn = 0usize;
            let id = BenchmarkId::new(name, format!("{records}_records"));
            group.bench_with_input(id, template, |b, template| {
                b.iter_custom(|iters| {
                    let mut elapsed = Duration::ZERO;
                    for _ in 0..iters {
                        let producer = turn % producers.max(1);
                        turn += 1;
                        let pid = if producers == 0 { -1 } else { producer as i64 };
                        let request = stamped(template, pid, next_sequence[producer]);
                        next_sequence[producer] += records as i32;
                        let start = Instant::now();
                        black_box(log.append(request, 0, NOW_MS).expect("append"));
                        elapsed += start.elapsed();
                        if log.size_in_bytes() > RETENTION_BYTES as u64 + SEGMENT_BYTES {
                            log.delete_old_segments(NOW_MS).expect("retention");
                        }
                    }
                    elapsed
                })
            });
        }
    }
    group.finish();
}
// ANCHOR_END: bench_append

/// A retry answered from the table (nothing written) next to a first append
/// of the same size: the duplicate is a lookup, not a write.
fn duplicate(c: &mut Criterion) {
    let mut group = c.benchmark_group("idempotence/duplicate");
    group.warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3));
    let template = batch(10, 0);
    let dir = tempfile::tempdir().expect("tempdir");
    let mut log = open_log(dir.path());
    log.append(stamped(&template, 7, 0), 0, NOW_MS).expect("the original");
    group.bench_function("retry", |b| {
        b.iter_custom(|iters| {
            let mut elapsed = Duration::ZERO;
            for _ in 0..iters {
                let request = stamped(&template, 7, 0);
                let start = Instant::now();
                let info = log.append(request, 0, NOW_MS).expect("append");
                elapsed += start.elapsed();
                assert!(info.duplicate);
            }
            elapsed
        })
    });
    group.finish();
}

/// Encoding the producer table, as each segment roll and a clean shutdown do.
fn snapshot(c: &mut Criterion) {
    let mut group = c.benchmark_group("idempotence/snapshot");
    group.warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(2));
    for producers in [1i64, 100, 10_000] {
        let mut state = ProducerStateManager::new(ProducerStateConfig::default());
        for (offset, producer_id) in (0..producers).enumerate() {
            let info = BatchInfo {
                producer_id,
                producer_epoch: 0,
                base_sequence: 0,
                last_offset_delta: 0,
                max_timestamp: NOW_MS,
                is_transactional: false,
            };
            state.update(&info, offset as i64);
        }
        group.throughput(Throughput::Elements(producers as u64));
        group.bench_with_input(BenchmarkId::new("encode", producers), &state, |b, state| {
            b.iter(|| black_box(encode_snapshot(state)))
        });
    }
    group.finish();
}

criterion_group!(benches, append, duplicate, snapshot);
criterion_main!(benches);
