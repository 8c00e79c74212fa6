//! The filter's rules as properties over random histories: keyed writes and
//! tombstones from plain, idempotent and transactional producers (committed
//! and aborted), some batches compressed, cleaned three times — with a map of
//! random size, again with a full map, and once more after the delete horizon.

use std::collections::{BTreeMap, HashMap};

use bytes::Bytes;
use proptest::prelude::*;

use super::*;
use crate::format::{BatchBuilder, Compression, RecordBatchMut};
use crate::idempotence::EndTxnMarker;
use crate::log::cleaner::offset_map::{MapBuilder, MapProgress, DEFAULT_LOAD_FACTOR, ENTRY_OVERHEAD_BYTES};

const NOW_MS: i64 = 1_000_000;
const RETENTION_MS: i64 = 86_400_000;

/// Who writes a batch: a plain producer, idempotent producer 1 or 2, or
/// transactional producer 10 or 11.
#[derive(Debug, Clone, Copy)]
enum Writer {
    Plain,
    Idempotent(i64),
    Transactional(i64),
}

#[derive(Debug, Clone)]
enum Op {
    Write {
        writer: Writer,
        codec: Compression,
        records: Vec<(u8, Option<u16>)>,
    },
    /// Ends producer `pid`'s open transaction, if any.
    End {
        pid: i64,
        abort: bool,
    },
}

fn op() -> impl Strategy<Value = Op> {
    let writer = prop_oneof![
        Just(Writer::Plain),
        (1i64..=2).prop_map(Writer::Idempotent),
        (10i64..=11).prop_map(Writer::Transactional),
    ];
    let codec = prop_oneof![
        3 => Just(Compression::None),
        1 => Just(Compression::Gzip),
        1 => Just(Compression::Lz4),
        1 => Just(Compression::Zstd),
    ];
    let record = (0u8..6, prop::option::weighted(0.8, any::<u16>()));
    prop_oneof![
        3 => (writer, codec, prop::collection::vec(record, 1..4))
            .prop_map(|(writer, codec, records)| Op::Write { writer, codec, records }),
        1 => (10i64..=11, any::<bool>()).prop_map(|(pid, abort)| Op::End { pid, abort }),
    ]
}

/// A record as the properties see it: its offset, one-byte key and value
/// (`None` for a tombstone).
type Written = (i64, (u8, Option<u16>));

/// A log written from the ops, with what the cleaner's context holds.
struct History {
    log: Vec<RecordBatch>,
    aborted: Vec<AbortedTxn>,
    producers: HashMap<i64, ProducerLastRecord>,
    /// Offset → (key, value) of every record a read_committed consumer sees.
    committed: BTreeMap<i64, (u8, Option<u16>)>,
}

fn at(base: i64, batch: RecordBatch) -> RecordBatch {
    let mut buf = batch.as_bytes().to_vec();
    RecordBatchMut::new(&mut buf).unwrap().set_base_offset(base);
    RecordBatch::from_bytes(Bytes::from(buf)).unwrap()
}

fn history(ops: Vec<Op>) -> History {
    let mut h =
        History { log: vec![], aborted: vec![], producers: HashMap::new(), committed: BTreeMap::new() };
    let mut next = 0i64;
    let mut sequences: HashMap<i64, i32> = HashMap::new();
    // pid → (first offset, that transaction's records by offset)
    let mut open: HashMap<i64, (i64, Vec<Written>)> = HashMap::new();
    let end_all = [Op::End { pid: 10, abort: false }, Op::End { pid: 11, abort: true }];
    for op in ops.into_iter().chain(end_all) {
        match op {
            Op::Write { writer, codec, records } => {
                let mut builder = BatchBuilder::new(codec);
                let pid = match writer {
                    Writer::Plain => None,
                    Writer::Idempotent(pid) | Writer::Transactional(pid) => Some(pid),
                };
                if let Some(pid) = pid {
                    let sequence = sequences.entry(pid).or_insert(0);
                    builder = builder
                        .producer(pid, 0, *sequence)
                        .transactional(matches!(writer, Writer::Transactional(_)));
                    *sequence += records.len() as i32;
                }
                for (i, (key, value)) in records.iter().enumerate() {
                    let value = value.map(|v| v.to_be_bytes());
                    builder.append(next + i as i64, Some(&[*key]), value.as_ref().map(|v| &v[..]), &[]);
                }
                let batch = at(next, builder.build());
                let offsets = (next..).zip(records.iter().copied());
                match writer {
                    Writer::Transactional(pid) => open.entry(pid).or_insert((next, vec![])).1.extend(offsets),
                    _ => h.committed.extend(offsets),
                }
                if let Some(pid) = pid {
                    h.producers.insert(
                        pid,
                        ProducerLastRecord { last_data_offset: Some(batch.last_offset()), producer_epoch: 0 },
                    );
                }
                next = batch.next_offset();
                h.log.push(batch);
            }
            Op::End { pid, abort } => {
                let Some((first_offset, records)) = open.remove(&pid) else { continue };
                let (key, value) = EndTxnMarker { is_abort: abort, coordinator_epoch: 0 }.encode();
                let mut builder =
                    BatchBuilder::default().producer(pid, 0, -1).transactional(true).control(true);
                builder.append(next, Some(&key), Some(&value), &[]);
                if abort {
                    h.aborted.push(AbortedTxn {
                        producer_id: pid,
                        first_offset,
                        last_offset: next,
                        last_stable_offset: first_offset,
                    });
                } else {
                    h.committed.extend(records);
                }
                h.log.push(at(next, builder.build()));
                next += 1;
            }
        }
    }
    h
}

/// One cleaning of the whole log with a map of `budget_bytes`.
fn clean(h: &History, log: &[RecordBatch], budget_bytes: usize, now_ms: i64) -> Vec<RecordBatch> {
    let context = FilterContext {
        aborted_txns: h.aborted.clone(),
        producers: h.producers.clone(),
        delete_retention_ms: RETENTION_MS,
        now_ms,
        round_end_offset: log.last().map_or(0, RecordBatch::next_offset),
    };
    let mut map = OffsetMap::new(budget_bytes, DEFAULT_LOAD_FACTOR);
    let mut builder = MapBuilder::new(&mut map, &context, 0);
    for batch in log {
        if builder.add(batch).unwrap() == MapProgress::Full {
            break;
        }
    }
    let mut filter = BatchFilter::new(&map, &context);
    let out = log.iter().filter_map(|b| filter.filter(b).unwrap());
    out.map(|bytes| RecordBatch::from_bytes(bytes).expect("every output batch is framed and its CRC right"))
        .collect()
}

/// Key → (offset, value) of its latest record among `records`.
fn latest(records: impl IntoIterator<Item = Written>) -> BTreeMap<u8, (i64, Option<u16>)> {
    records.into_iter().map(|(offset, (key, value))| (key, (offset, value))).collect()
}

/// Every data record of the cleaned log (aborted ones must be gone already).
fn data_records(log: &[RecordBatch]) -> Vec<Written> {
    let data = log.iter().filter(|b| !b.is_control());
    let records = data.flat_map(|b| b.decode_records().expect("our reader decodes every output batch"));
    let value = |v: Option<Bytes>| v.map(|v| u16::from_be_bytes([v[0], v[1]]));
    records.map(|r| (r.offset, (r.key.unwrap()[0], value(r.value)))).collect()
}

/// What holds after any cleaning: batches are the input's, same offsets and
/// producer fields, in order; producers' last batches and the markers of
/// every transaction with a batch left are still there.
fn check_structure(h: &History, input: &[RecordBatch], out: &[RecordBatch]) -> Result<(), TestCaseError> {
    let by_base: HashMap<i64, &RecordBatch> = input.iter().map(|b| (b.base_offset(), b)).collect();
    let header = |b: &RecordBatch| {
        (
            b.last_offset(),
            b.producer_id(),
            b.producer_epoch(),
            b.base_sequence(),
            b.is_transactional(),
            b.is_control(),
        )
    };
    for pair in out.windows(2) {
        prop_assert!(pair[0].last_offset() < pair[1].base_offset(), "offsets increase");
    }
    for batch in out {
        let original = by_base[&batch.base_offset()];
        prop_assert_eq!(header(batch), header(original));
        if batch.records_count() > 0 {
            prop_assert_eq!(batch.compression().unwrap(), original.compression().unwrap());
        }
    }
    for (pid, last) in &h.producers {
        let kept =
            out.iter().any(|b| b.producer_id() == *pid && Some(b.last_offset()) == last.last_data_offset);
        prop_assert!(kept, "producer {}'s last batch is kept", pid);
    }
    let marker_after = |pid: i64, offset: i64| {
        h.log
            .iter()
            .find(|b| b.is_control() && b.producer_id() == pid && b.base_offset() > offset)
            .unwrap()
            .base_offset()
    };
    for batch in out.iter().filter(|b| b.is_transactional() && !b.is_control()) {
        let marker = marker_after(batch.producer_id(), batch.last_offset());
        prop_assert!(out.iter().any(|b| b.base_offset() == marker), "marker at {} of a batch left", marker);
    }
    Ok(())
}

// ANCHOR: filter_proptest
proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    // For any history, cleaning keeps for each key exactly its latest
    // read_committed value (a tombstone until its delete horizon, then
    // nothing), at its original offset, whatever the map's size; aborted
    // records never survive; every batch stays valid and readable.
    #[test]
    fn cleaning_keeps_each_keys_latest_value(ops in prop::collection::vec(op(), 1..40), keys_fitting in 1usize..8) {
        let h = history(ops);
        let expected = latest(h.committed.clone());

        let budget_bytes = ((1 + ENTRY_OVERHEAD_BYTES) * keys_fitting) as f64 / DEFAULT_LOAD_FACTOR;
        let first = clean(&h, &h.log, budget_bytes.ceil() as usize, NOW_MS);
        check_structure(&h, &h.log, &first)?;
        prop_assert_eq!(latest(data_records(&first)), expected.clone(), "after a round with a small map");

        let second = clean(&h, &first, 1 << 16, NOW_MS);
        check_structure(&h, &first, &second)?;
        let records = data_records(&second);
        prop_assert_eq!(records.len(), expected.len(), "one record per key");
        prop_assert_eq!(latest(records), expected.clone());

        let third = clean(&h, &second, 1 << 16, NOW_MS + RETENTION_MS);
        check_structure(&h, &second, &third)?;
        let live: BTreeMap<_, _> = expected.into_iter().filter(|(_, (_, value))| value.is_some()).collect();
        prop_assert_eq!(latest(data_records(&third)), live, "tombstones gone after the horizon");
    }
}
// ANCHOR_END: filter_proptest
