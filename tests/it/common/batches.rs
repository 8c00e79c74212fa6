//! The record batches the tests (and benches) produce, built by one loop.
//!
//! A test that sends records needs a batch of them: a [`BatchBuilder`] (its
//! codec, and a producer id for an idempotent producer) filled with records.
//! Every test binary used to carry its own copy of that loop; this file is
//! the one copy: `crate::common::batches` in the tests, included with
//! `#[path]` by the benches.
//!
//! The batches have base offset 0: the log assigns the real offsets when it
//! appends them.

use bytes::Bytes;
use spool::format::BatchBuilder;

/// `records` as (timestamp in ms, key, value) appended to `builder`, without
/// headers: the batch's bytes.
pub fn batch_of<K: AsRef<[u8]>, V: AsRef<[u8]>>(
    mut builder: BatchBuilder,
    records: impl IntoIterator<Item = (i64, K, V)>,
) -> Bytes {
    for (timestamp_ms, key, value) in records {
        builder.append(timestamp_ms, Some(key.as_ref()), Some(value.as_ref()), &[]);
    }
    builder.build().as_bytes().clone()
}

/// `values` appended to `builder` as records keyed `k0`, `k1`, …, the `i`-th
/// stamped `timestamp_ms(i)`: the batch's bytes.
pub fn keyed_batch<V: AsRef<[u8]>>(
    builder: BatchBuilder,
    timestamp_ms: impl Fn(usize) -> i64,
    values: impl IntoIterator<Item = V>,
) -> Bytes {
    let records = values.into_iter().enumerate().map(|(i, v)| (timestamp_ms(i), format!("k{i}"), v));
    batch_of(builder, records)
}
