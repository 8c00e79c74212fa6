//! The cleaner's segment mechanics with a stand-in filter ("drop a batch
//! whose every key appears again later"): the crash-safe swap, the abort on
//! a layout change, reads across the gaps cleaning leaves, and what a swap
//! must never touch.

use std::collections::BTreeMap;

use bytes::{Bytes, BytesMut};
use proptest::prelude::*;

use super::*;
use crate::format::builder::BatchBuilder;
use crate::format::{Compression, RecordBatch};
use crate::log::{CrashMode, Log, LogConfig, MemStorage, OpenOptions, ReadOptions, Result, Storage};

/// A [`MemStorage`] that takes `budget` more writes (create, append,
/// truncate, sync, remove, rename), then fails every one: the power cut
/// after the n-th storage operation of a clean and swap.
type Faulty = gated::Gated<MemStorage, gated::WriteBudget>;

/// (offset, key, value) of every record in the log.
type Content = Vec<(i64, Vec<u8>, Vec<u8>)>;

fn config(segment_bytes: u64) -> LogConfig {
    LogConfig { segment_bytes, index_interval_bytes: 100, ..LogConfig::default() }
}

fn batch(key: u8, value: u32) -> BytesMut {
    let mut builder = BatchBuilder::new(Compression::None);
    builder.append(1_000 + i64::from(value), Some(&[key]), Some(&value.to_be_bytes()), &[]);
    BytesMut::from(&builder.build().as_bytes()[..])
}

/// A flushed log of one-record batches with keys from `keys`, in segments
/// of `segment_bytes`.
fn keyed_log<S: Storage>(storage: S, keys: &[u8], segment_bytes: u64) -> Log<S> {
    let (mut log, _) = Log::open(storage, config(segment_bytes), OpenOptions::default(), 0).unwrap();
    for (i, key) in keys.iter().enumerate() {
        log.append(batch(*key, i as u32), 0, 0).unwrap();
    }
    log.flush().unwrap();
    log.update_high_watermark(log.log_end_offset());
    log
}

fn content<S: Storage>(log: &Log<S>) -> Content {
    let mut out = Vec::new();
    for batch in log.read_batches(log.log_start_offset()).unwrap() {
        for r in batch.records().unwrap() {
            let r = r.unwrap();
            out.push((r.offset, r.key.unwrap().to_vec(), r.value.unwrap().to_vec()));
        }
    }
    out
}

/// The stand-in filter: a map of each key's latest offset in the dirty
/// section, and a cleaner that drops a batch whose every record has a later
/// offset for its key.
#[derive(Default)]
struct LatestByKey {
    latest: BTreeMap<Vec<u8>, i64>,
}

impl LatestByKey {
    fn map(&mut self, batch: &RecordBatch) -> Result<MapProgress> {
        for r in batch.records()? {
            let r = r?;
            self.latest.insert(r.key.unwrap().to_vec(), r.offset);
        }
        Ok(MapProgress::Continue)
    }
    fn clean(&self, batch: &RecordBatch) -> Result<Option<Bytes>> {
        for r in batch.records()? {
            let r = r?;
            if self.latest.get(&r.key.unwrap()[..]).is_none_or(|&o| o <= r.offset) {
                return Ok(Some(batch.as_bytes().clone()));
            }
        }
        Ok(None)
    }
}

const PARAMS: CleanParams = CleanParams { delete_retention_ms: 0, now_ms: 0 };

/// Phases 1 and 2 on the log's own storage: the `.cleaned` files written.
fn plan_and_clean<S: Storage>(log: &mut Log<S>, variant: SwapVariant) -> Result<Option<Cleaned>> {
    let Some(mut plan) = log.plan_clean(0, i64::MAX, PARAMS)? else { return Ok(None) };
    plan.variant = variant;
    let mut filter = LatestByKey::default();
    plan.build_map(&mut |b| filter.map(b))?;
    let cleaned = plan.clean_into(log.storage_mut(), &mut |b| filter.clean(b), 400, 1024)?;
    Ok(Some(cleaned))
}

fn clean_and_swap<S: Storage>(log: &mut Log<S>, variant: SwapVariant) -> Result<Option<SwapOutcome>> {
    let Some(cleaned) = plan_and_clean(log, variant)? else { return Ok(None) };
    log.swap_cleaned(cleaned).map(Some)
}

/// Each group's offsets: from its base to the next group's (the last to the
/// end of the cleaned range).
fn group_ranges(cleaned: &Cleaned, end: i64) -> Vec<std::ops::Range<i64>> {
    let bases: Vec<i64> = cleaned.groups.iter().map(|g| g.base_offset).collect();
    (0..bases.len()).map(|i| bases[i]..bases.get(i + 1).copied().unwrap_or(end)).collect()
}

/// Where the cleaned range ends: the active segment's base.
fn cleaned_end<S: Storage>(log: &Log<S>) -> i64 {
    log.segments().last().expect("active segment").base_offset()
}

fn within(content: &Content, range: &std::ops::Range<i64>) -> Content {
    content.iter().filter(|r| range.contains(&r.0)).cloned().collect()
}

/// Cleans and swaps with the power cut after every single storage operation,
/// in turn, and reopens what the crash left: each group holds exactly its
/// old records or exactly its new ones, and nothing outside the groups
/// changes. Returns the first violation.
fn crash_at_every_step(
    keys: &[u8],
    segment_bytes: u64,
    mode: CrashMode,
    variant: SwapVariant,
) -> Option<String> {
    let log = keyed_log(Faulty::default(), keys, segment_bytes);
    let before = content(&log);
    // Recovery point 0: the reopened log rescans every segment, cleaned or
    // not, as after a crash whose recovery-point checkpoint was stale.
    let options = OpenOptions { recovery_point: 0, log_start_offset: 0, clean_shutdown: false };
    let end = log.log_end_offset();
    let mut reference = log.clone();
    let writes_before = reference.storage().gate.writes;
    let cleaned = plan_and_clean(&mut reference, variant).unwrap().expect("sealed segments to clean");
    assert!(matches!(reference.swap_cleaned(cleaned.clone()).unwrap(), SwapOutcome::Swapped { .. }));
    let after = content(&reference);
    assert_ne!(before, after, "the stand-in filter dropped nothing: the test would prove nothing");
    let total = reference.storage().gate.writes - writes_before + 20;
    let ranges = group_ranges(&cleaned, cleaned_end(&log));
    for n in 0..total {
        let mut log = log.clone();
        log.storage_mut().gate.budget = Some(n);
        let _ = clean_and_swap(&mut log, variant); // fails at the cut, or finishes
        let disk = Faulty::new(log.storage().inner.crash(mode), gated::WriteBudget::default());
        let (reopened, _) = Log::open(disk, config(segment_bytes), options, 0).unwrap();
        let found = content(&reopened);
        for range in &ranges {
            let got = within(&found, range);
            if got != within(&before, range) && got != within(&after, range) {
                return Some(format!("cut after {n} writes: group {range:?} holds {got:?}"));
            }
        }
        let outside =
            |c: &Content| c.iter().filter(|r| r.0 >= cleaned_end(&log)).cloned().collect::<Content>();
        if reopened.log_end_offset() != end {
            return Some(format!("cut after {n} writes: the log end moved to {}", reopened.log_end_offset()));
        }
        if outside(&found) != outside(&before) {
            return Some(format!("cut after {n} writes: records past the cleaned range changed"));
        }
    }
    None
}

// ANCHOR: crash_proptest
proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// A power cut after any storage operation of a clean and swap leaves each
    /// group's old content or its new content, never a mix, never a kept
    /// record lost (Kafka's `replaceSegments` and `LogLoader` recovery of
    /// `.cleaned`/`.swap`/`.deleted` files).
    #[test]
    fn a_crash_anywhere_in_a_swap_leaves_old_or_new(
        keys in prop::collection::vec(0u8..4, 16..40),
        segment_bytes in 150u64..400,
        torn in 0usize..200,
    ) {
        for mode in [CrashMode::LoseUnsynced, CrashMode::TornPrefix(torn)] {
            let violation = crash_at_every_step(&keys, segment_bytes, mode, SwapVariant::Safe);
            prop_assert!(violation.is_none(), "{}", violation.unwrap());
        }
    }
}

/// The bug variant — old segments removed before the cleaned ones are
/// synced — loses records the cleaner kept: the crash test catches it.
#[test]
fn removing_old_segments_before_syncing_the_new_loses_records() {
    let keys: Vec<u8> = (0..30).map(|i| (i % 4) as u8).collect();
    let violation =
        crash_at_every_step(&keys, 200, CrashMode::LoseUnsynced, SwapVariant::RemoveOldBeforeSync);
    assert!(violation.is_some(), "the crash test must catch the unsafe order");
}
// ANCHOR_END: crash_proptest

/// The log's layout changed between plan and swap (a follower truncated):
/// the swap deletes the `.cleaned` files and changes nothing, as Kafka
/// aborts a cleaning of a truncated log.
#[test]
fn a_layout_change_since_the_plan_aborts_the_swap() {
    let mut log = keyed_log(MemStorage::new(), &[0; 16], 150);
    let cleaned = plan_and_clean(&mut log, SwapVariant::Safe).unwrap().unwrap();
    log.truncate_to(15).unwrap();
    let before = (content(&log), log.storage().list().unwrap());
    assert!(before.1.iter().any(|n| n.ends_with(".cleaned")), "phase 2 wrote its files");
    assert_eq!(log.swap_cleaned(cleaned).unwrap(), SwapOutcome::Aborted);
    let names = log.storage().list().unwrap();
    assert!(!names.iter().any(|n| n.ends_with(".cleaned")), "left behind: {names:?}");
    assert_eq!(content(&log), before.0);
}

/// Cleaning leaves gaps: a fetch at an offset that no longer exists reads
/// from the next batch that does (Kafka's `LocalLog.read` does the same),
/// across empty segments too.
#[test]
fn a_read_at_a_cleaned_away_offset_returns_the_next_batch() {
    let mut log = keyed_log(MemStorage::new(), &[0, 1, 0, 1, 0, 1, 0, 1, 2, 2, 2, 2, 2, 2, 3, 3], 150);
    let end = log.log_end_offset();
    clean_and_swap(&mut log, SwapVariant::Safe).unwrap().unwrap();
    let offsets: Vec<i64> = content(&log).iter().map(|r| r.0).collect();
    assert_eq!(offsets, [6, 7, 13, 14, 15], "the latest of keys 0, 1 and 2, and the active segment");
    for (fetch, first) in [(0, 6), (3, 6), (7, 7), (8, 13), (12, 13)] {
        // The region may start with the emptied last batch of an old segment
        // (kept so segments end where they did): no record, then `first`.
        let region = log.read(fetch, u32::MAX).unwrap().expect("a batch to read");
        assert!(region.first_batch_offset <= first, "fetch at {fetch}");
        let batches = log.read_batches(fetch).unwrap();
        let records: Vec<i64> =
            batches.iter().flat_map(|b| b.records().unwrap().map(|r| r.unwrap().offset)).collect();
        assert_eq!(records.first(), Some(&first), "fetch at {fetch}");
    }
    assert_eq!(log.log_end_offset(), end, "offsets are kept");
}

/// The active segment is never planned, and its files are the same bytes
/// after the swap.
#[test]
fn the_active_segment_is_never_touched() {
    let mut log = keyed_log(MemStorage::new(), &[0; 16], 150);
    let active = log.segments().last().unwrap().base_offset();
    let plan = log.plan_clean(0, i64::MAX, PARAMS).unwrap().unwrap();
    assert!(plan.segments.iter().all(|s| s.base_offset < active && s.end_offset <= active));
    let files_of = |log: &Log<MemStorage>| {
        let prefix = format!("{active:020}.");
        log.storage()
            .files
            .iter()
            .filter(|(n, _)| n.starts_with(&prefix))
            .map(|(n, f)| (n.clone(), f.clone()))
            .collect::<Vec<_>>()
    };
    let before = files_of(&log);
    clean_and_swap(&mut log, SwapVariant::Safe).unwrap().unwrap();
    assert_eq!(files_of(&log), before);
}

/// A fetch that found its region before the swap still sends the old
/// segment's bytes after it: the handle keeps the unlinked file (unix),
/// as for a segment retention deletes (DiskStorage, cleaned through a
/// second storage on the same directory, as the cleaner thread will).
#[test]
fn a_region_of_an_old_segment_stays_readable_after_the_swap() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = keyed_log(crate::log::DiskStorage::open(dir.path()).unwrap(), &[0; 16], 150);
    let region = log.read(0, u32::MAX).unwrap().unwrap();
    let bytes = region.read_bytes().unwrap();
    let mut plan = log.plan_clean(0, i64::MAX, PARAMS).unwrap().unwrap();
    let mut filter = LatestByKey::default();
    plan.build_map(&mut |b| filter.map(b)).unwrap();
    let mut out = crate::log::DiskStorage::open(dir.path()).unwrap();
    let cleaned = plan.clean_into(&mut out, &mut |b| filter.clean(b), 400, 1024).unwrap();
    assert!(matches!(log.swap_cleaned(cleaned).unwrap(), SwapOutcome::Swapped { .. }));
    assert_eq!(region.read_bytes().unwrap(), bytes, "the old bytes, through the old handle");
    assert_eq!(content(&log).iter().map(|r| r.0).collect::<Vec<_>>(), [13, 14, 15]);
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert!(
        !names.iter().any(|n| n.ends_with(".cleaned") || n.ends_with(".swap") || n.ends_with(".deleted")),
        "{names:?}"
    );
}

/// The whole cleaning with the real record rules ([`Log::clean`]): every
/// sealed segment keeps only the latest record of each key, the active
/// segment is untouched, offsets and the log end are kept, and a second
/// cleaning from the returned checkpoint finds nothing new to clean.
#[test]
fn a_whole_cleaning_keeps_the_latest_record_of_each_key() {
    let keys = [0, 1, 0, 1, 2, 0, 1, 2, 0, 3, 3, 3, 1, 0, 2, 2];
    let mut log = keyed_log(MemStorage::new(), &keys, 150);
    let (before, end) = (content(&log), log.log_end_offset());
    let active = cleaned_end(&log);
    let mut map = offset_map::OffsetMap::new(1 << 20, offset_map::DEFAULT_LOAD_FACTOR);
    let outcome = log.clean(0, i64::MAX, PARAMS, &mut map).unwrap();
    assert!(matches!(outcome, CleanOutcome::Swapped { cleaned_up_to, .. } if cleaned_up_to == active));
    let after = content(&log);
    // The map covers the cleaned range only: a key's later record in the
    // active segment does not remove its latest one below it.
    let latest: BTreeMap<Vec<u8>, i64> =
        before.iter().filter(|r| r.0 < active).map(|r| (r.1.clone(), r.0)).collect();
    let expected: Content = before.iter().filter(|r| r.0 >= active || latest[&r.1] == r.0).cloned().collect();
    assert_eq!(after, expected);
    assert_eq!(log.log_end_offset(), end);
    assert_eq!(log.clean(active, i64::MAX, PARAMS, &mut map).unwrap(), CleanOutcome::NothingToClean);
}

/// A consumer's fetch never gets only emptied batches while records follow: when the
/// rest of a segment from the fetch offset holds no record (the emptied last
/// batch a cleaning keeps), the read goes on in the next segment. A client
/// that advances only past records it was given (kafkajs) would otherwise
/// fetch the same offset for ever.
#[test]
fn a_fetch_is_never_only_emptied_batches_while_records_follow() {
    let keys = [0, 1, 0, 1, 0, 1, 0, 1, 2, 2, 2, 2, 2, 2, 3, 3, 0, 1, 0, 1, 3];
    let mut log = keyed_log(MemStorage::new(), &keys, 150);
    let mut map = offset_map::OffsetMap::new(1 << 20, offset_map::DEFAULT_LOAD_FACTOR);
    let outcome = log.clean(0, i64::MAX, PARAMS, &mut map).unwrap();
    assert!(matches!(outcome, CleanOutcome::Swapped { .. }));
    let records: Vec<i64> = content(&log).iter().map(|r| r.0).collect();
    let mut emptied = 0;
    for segment in log.segments() {
        let mut position = 0;
        while let Some(info) = segment.read_batch_info(log.storage(), position).unwrap() {
            emptied += usize::from(segment.read_batch(log.storage(), &info).unwrap().records_count() == 0);
            position += info.size;
        }
    }
    assert!(emptied > 0, "the cleaning must leave emptied batches for this test to mean anything");
    let copied = log.read_batches(0).unwrap();
    assert_eq!(
        copied.iter().filter(|b| b.records_count() == 0).count(),
        emptied,
        "a follower's read copies them"
    );
    for fetch in 0..log.log_end_offset() {
        let Some(next_record) = records.iter().find(|&&o| o >= fetch) else { break };
        let consumer = ReadOptions {
            max_bytes: u32::MAX,
            max_offset: Some(log.high_watermark()),
            min_one_batch: true,
            skip_emptied_tail: true,
        };
        let region = log.read_with(fetch, consumer).unwrap().expect("records follow");
        let mut rest = region.read_bytes().unwrap();
        let mut first_record = None;
        while !rest.is_empty() && first_record.is_none() {
            let (batch, tail) = RecordBatch::parse(&rest).unwrap();
            first_record = batch.records().unwrap().map(|r| r.unwrap().offset).find(|&o| o >= fetch);
            rest = tail;
        }
        assert_eq!(first_record, Some(*next_record), "fetch at {fetch}");
    }
}
