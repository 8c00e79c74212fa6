//! The last stable offset and the aborted-transaction index inside the log:
//! appends, markers, truncation, reopening and recovery after a crash,
//! checked on [`MemStorage`] so a crash keeps exactly what was synced.

use bytes::BytesMut;
use proptest::prelude::*;

use crate::format::BatchBuilder;
use crate::idempotence::producer_state::txn::EndTxnMarker;
use crate::log::storage::{CrashMode, MemStorage, Storage};
use crate::log::txn_index::{txn_index_file_name, AbortedTxn};
use crate::log::{Log, LogConfig, LogError, OpenOptions};

const NOW_MS: i64 = 1_000;

fn config() -> LogConfig {
    LogConfig { segment_bytes: 400, ..LogConfig::default() }
}

fn open(storage: MemStorage, options: OpenOptions) -> Log<MemStorage> {
    Log::open(storage, config(), options, NOW_MS).expect("open").0
}

/// One record of producer `pid` at sequence `seq`, transactional or not.
fn data(pid: i64, seq: i32, transactional: bool) -> BytesMut {
    let mut builder = BatchBuilder::default().producer(pid, 0, seq).transactional(transactional);
    builder.append(NOW_MS, None, Some(format!("{pid}-{seq}").as_bytes()), &[]);
    BytesMut::from(&builder.build().as_bytes()[..])
}

/// The control batch a coordinator of `coordinator_epoch` writes to end `pid`'s transaction.
fn marker(pid: i64, abort: bool, coordinator_epoch: i32) -> BytesMut {
    let (key, value) = EndTxnMarker { is_abort: abort, coordinator_epoch }.encode();
    let mut builder = BatchBuilder::default().producer(pid, 0, -1).transactional(true).control(true);
    builder.append(NOW_MS, Some(&key), Some(&value), &[]);
    BytesMut::from(&builder.build().as_bytes()[..])
}

fn aborted(pid: i64, first: i64, last: i64, lso: i64) -> AbortedTxn {
    AbortedTxn { producer_id: pid, first_offset: first, last_offset: last, last_stable_offset: lso }
}

/// Every segment's index entries, in offset order.
fn all_aborted(log: &Log<MemStorage>) -> Vec<AbortedTxn> {
    log.segments().flat_map(|s| s.txn_index().entries().to_vec()).collect()
}

// An ABORT marker puts the transaction in the `.txnindex` of the segment it
// lands in, with the LSO at that moment (another producer's open
// transaction); a COMMIT marker indexes nothing (Kafka's `updateTxnIndex`).
#[test]
fn an_abort_marker_indexes_its_transaction() {
    let mut log = open(MemStorage::new(), OpenOptions::default());
    log.append(data(1, 0, true), 0, NOW_MS).unwrap(); // 0
    log.append(data(2, 0, true), 0, NOW_MS).unwrap(); // 1
    log.append(data(1, 1, true), 0, NOW_MS).unwrap(); // 2
    log.append(marker(1, true, 0), 0, NOW_MS).unwrap(); // 3
    log.append(marker(2, false, 0), 0, NOW_MS).unwrap(); // 4
    assert_eq!(all_aborted(&log), [aborted(1, 0, 3, 1)]);
    let file = log.storage().read_file(&txn_index_file_name(0)).unwrap().unwrap();
    assert_eq!(file, aborted(1, 0, 3, 1).encode());
    assert_eq!(log.collect_aborted_transactions(0, 5), [aborted(1, 0, 3, 1)]);
    assert_eq!(log.collect_aborted_transactions(4, 5), []);
}

// The LSO is the first offset of the earliest undecided transaction, bounded
// by the high watermark; a decided transaction stops holding it back only
// once its marker is below the high watermark (Kafka's `lastStableOffset`).
#[test]
fn the_lso_waits_for_open_transactions_and_for_the_high_watermark() {
    let mut log = open(MemStorage::new(), OpenOptions::default());
    log.append(data(9, 0, false), 0, NOW_MS).unwrap(); // 0
    log.append(data(1, 0, true), 0, NOW_MS).unwrap(); // 1
    log.append(data(9, 1, false), 0, NOW_MS).unwrap(); // 2
    assert_eq!(log.last_stable_offset(), 0, "bounded by the high watermark");
    log.update_high_watermark(3);
    assert_eq!(log.last_stable_offset(), 1, "p1's transaction is open from 1");
    log.append(marker(1, false, 0), 0, NOW_MS).unwrap(); // 3
    log.update_high_watermark(4);
    assert_eq!(log.last_stable_offset(), 4, "the marker is below the high watermark");
    log.append(data(2, 0, true), 0, NOW_MS).unwrap(); // 4
    log.append(marker(2, true, 0), 0, NOW_MS).unwrap(); // 5
    log.update_high_watermark(5);
    assert_eq!(log.last_stable_offset(), 4, "p2's marker at 5 is not yet committed");
    log.update_high_watermark(6);
    assert_eq!(log.last_stable_offset(), 6);
}

// Truncating below a marker removes its index entry (in the file too) and
// reopens its transaction: the LSO goes back to the transaction's start.
#[test]
fn truncation_cuts_the_index_and_reopens_the_transaction() {
    let mut log = open(MemStorage::new(), OpenOptions::default());
    log.append(data(1, 0, true), 0, NOW_MS).unwrap(); // 0
    log.append(marker(1, true, 0), 0, NOW_MS).unwrap(); // 1
    log.append(data(2, 0, false), 0, NOW_MS).unwrap(); // 2
    log.update_high_watermark(3);
    assert_eq!((log.last_stable_offset(), all_aborted(&log).len()), (3, 1));
    log.truncate_to(2).unwrap();
    assert_eq!(all_aborted(&log), [aborted(1, 0, 1, 2)], "the marker at 1 stays");
    log.truncate_to(1).unwrap();
    assert_eq!(all_aborted(&log), []);
    assert_eq!(log.storage().len(&txn_index_file_name(0)).unwrap(), 0);
    log.update_high_watermark(1);
    assert_eq!(log.last_stable_offset(), 0, "p1's transaction is open again");
}

/// A log of many segments: p1's transaction starts in the first and is
/// aborted several segments later, p2's starts and is aborted in between,
/// and p3's is still open at the end.
fn a_log_with_transactions_across_segments() -> Log<MemStorage> {
    let mut log = open(MemStorage::new(), OpenOptions::default());
    log.append(data(1, 0, true), 0, NOW_MS).unwrap();
    for seq in 0..6 {
        log.append(data(9, seq, false), 0, NOW_MS).unwrap();
    }
    log.append(data(2, 0, true), 0, NOW_MS).unwrap();
    log.append(marker(2, true, 0), 0, NOW_MS).unwrap();
    for seq in 6..12 {
        log.append(data(9, seq, false), 0, NOW_MS).unwrap();
    }
    log.append(marker(1, true, 0), 0, NOW_MS).unwrap();
    log.append(data(3, 0, true), 0, NOW_MS).unwrap();
    assert!(log.segments().count() >= 4, "the markers are segments apart");
    log
}

// A read_committed fetch that read from one segment searches the aborted
// transactions up to the next segment's base (or its read bound, if
// sooner): p1's transaction, which starts in the first segment, is found
// from there; p2's, which starts later, is left for the fetch that reads it.
#[test]
fn the_aborted_search_stops_at_the_next_segment() {
    let mut log = a_log_with_transactions_across_segments();
    log.update_high_watermark(log.log_end_offset());
    let bases: Vec<i64> = log.segments().map(|s| s.base_offset()).collect();
    for pair in bases.windows(2) {
        assert_eq!(log.aborted_search_bound(pair[0], i64::MAX), pair[1]);
        assert_eq!(log.aborted_search_bound(pair[0], pair[0] + 1), pair[0] + 1, "past the read's bound");
    }
    let last = *bases.last().unwrap();
    assert_eq!(log.aborted_search_bound(last, 1_000), 1_000, "the active segment: the read's bound");

    let first_segment = log.collect_aborted_transactions(0, log.aborted_search_bound(0, i64::MAX));
    assert_eq!(first_segment.iter().map(|t| t.producer_id).collect::<Vec<_>>(), [1]);
}

// Reopening after a clean shutdown reads each segment's `.txnindex` as
// written, and the snapshot brings back p3's open transaction. (Like
// Kafka's, the snapshot does not keep decided transactions whose marker was
// above the high watermark: the test commits everything first.)
#[test]
fn a_clean_reopen_reads_the_index_files() {
    let mut log = a_log_with_transactions_across_segments();
    let end = log.log_end_offset();
    log.update_high_watermark(end);
    let (before, lso) = (all_aborted(&log), log.last_stable_offset());
    assert_eq!((before.len(), lso), (2, end - 1), "p3's transaction is open at the last offset");
    let storage = log.close().unwrap();
    let mut log = open(storage, OpenOptions { clean_shutdown: true, ..OpenOptions::default() });
    log.update_high_watermark(end);
    assert_eq!(all_aborted(&log), before);
    assert_eq!(log.last_stable_offset(), lso);
    assert_eq!(log.collect_aborted_transactions(0, log.log_end_offset()), before);
}

// After an unclean stop, recovery rebuilds the `.txnindex` of every segment it
// rescans, even one whose transaction began in a trusted segment below the
// recovery point: the producer table is rebuilt to the first rescanned
// segment from the snapshot there (which keeps `currentTxnFirstOffset`).
#[test]
fn recovery_rebuilds_the_index_from_the_recovery_point() {
    let mut log = a_log_with_transactions_across_segments();
    log.flush().unwrap();
    let before = all_aborted(&log);
    let bases: Vec<i64> = log.segments().map(|s| s.base_offset()).collect();
    let mut storage = log.storage().crash(CrashMode::LoseUnsynced);
    for &base in &bases {
        if storage.exists(&txn_index_file_name(base)) {
            storage.remove(&txn_index_file_name(base)).unwrap();
        }
    }
    for recovery_point in [0, bases[1], bases[2]] {
        let options = OpenOptions { recovery_point, ..OpenOptions::default() };
        let log = open(storage.clone(), options);
        let rebuilt: Vec<AbortedTxn> =
            all_aborted(&log).into_iter().filter(|t| t.last_offset >= recovery_point).collect();
        let expected: Vec<AbortedTxn> =
            before.iter().copied().filter(|t| t.last_offset >= recovery_point).collect();
        assert_eq!(rebuilt, expected, "recovery from {recovery_point}");
    }
}

// A marker lost in a crash (written, not synced) leaves its transaction open
// after recovery, with no index entry: the LSO stays at its start.
#[test]
fn a_marker_lost_in_a_crash_leaves_the_transaction_open() {
    let mut log = open(MemStorage::new(), OpenOptions::default());
    log.append(data(1, 0, true), 0, NOW_MS).unwrap();
    log.flush().unwrap();
    log.append(marker(1, true, 0), 0, NOW_MS).unwrap();
    assert_eq!(all_aborted(&log).len(), 1);
    let storage = log.storage().crash(CrashMode::LoseUnsynced);
    let mut log = open(storage, OpenOptions { recovery_point: 1, ..OpenOptions::default() });
    log.update_high_watermark(1);
    assert_eq!((log.log_end_offset(), log.last_stable_offset()), (1, 0));
    assert_eq!(all_aborted(&log), []);
}

// A marker from an older coordinator epoch is fenced, and a plain batch from
// a producer inside its transaction is refused; neither writes anything.
#[test]
fn zombie_markers_and_plain_batches_inside_a_transaction_are_refused() {
    let mut log = open(MemStorage::new(), OpenOptions::default());
    log.append(data(1, 0, true), 0, NOW_MS).unwrap();
    log.append(marker(1, false, 5), 0, NOW_MS).unwrap();
    log.append(data(1, 1, true), 0, NOW_MS).unwrap();
    let fenced = log.append(marker(1, true, 4), 0, NOW_MS).unwrap_err();
    assert!(matches!(&fenced, LogError::Producer(e) if e.kafka_error_code() == 52), "{fenced}");
    let plain = log.append(data(1, 2, false), 0, NOW_MS).unwrap_err();
    assert!(matches!(&plain, LogError::Producer(e) if e.kafka_error_code() == 48), "{plain}");
    assert_eq!(log.log_end_offset(), 3);
}

/// A step of the property test.
#[derive(Debug, Clone)]
enum Step {
    Data { pid: i64, transactional: bool },
    Marker { pid: i64, abort: bool },
    Truncate { back: i64 },
    Flush,
    Crash,
    CleanRestart,
}

fn any_step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => (1..=3i64, any::<bool>()).prop_map(|(pid, transactional)| Step::Data { pid, transactional }),
        2 => (1..=3i64, any::<bool>()).prop_map(|(pid, abort)| Step::Marker { pid, abort }),
        1 => (1..4i64).prop_map(|back| Step::Truncate { back }),
        1 => Just(Step::Flush),
        1 => Just(Step::Crash),
        1 => Just(Step::CleanRestart),
    ]
}

/// What the log should hold: each offset's (producer, kind), and from it the
/// open transactions and the aborted ones, by a plain scan (Kafka's rules).
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Data { transactional: bool },
    Marker { abort: bool },
}

fn scan(log: &[(i64, Kind)]) -> (Vec<(i64, i64)>, Vec<AbortedTxn>) {
    let mut open: std::collections::BTreeMap<i64, i64> = Default::default();
    let mut aborted = Vec::new();
    for (offset, &(pid, kind)) in log.iter().enumerate() {
        let offset = offset as i64;
        match kind {
            Kind::Data { transactional: true } => {
                open.entry(pid).or_insert(offset);
            }
            Kind::Data { transactional: false } => {}
            Kind::Marker { abort } => {
                let others = open.iter().filter(|(&p, _)| p != pid).map(|(_, &f)| f).min();
                if let Some(first) = open.remove(&pid) {
                    if abort {
                        aborted.push(AbortedTxn {
                            producer_id: pid,
                            first_offset: first,
                            last_offset: offset,
                            last_stable_offset: others.unwrap_or(offset + 1),
                        });
                    }
                }
            }
        }
    }
    let mut open: Vec<(i64, i64)> = open.into_iter().map(|(pid, first)| (first, pid)).collect();
    open.sort_unstable();
    (open, aborted)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]
    // Through appends across segments, markers, truncations, crashes that
    // lose what was not flushed and clean restarts, the `.txnindex` files
    // hold exactly the aborted transactions of what the log holds, the
    // producer table exactly its open transactions, and the LSO never passes
    // an open transaction.
    #[test]
    fn the_index_and_the_open_transactions_follow_the_log(steps in prop::collection::vec(any_step(), 1..50)) {
        let mut log = open(MemStorage::new(), OpenOptions::default());
        let mut reference: Vec<(i64, Kind)> = Vec::new();
        for step in &steps {
            match *step {
                Step::Data { pid, transactional } => {
                    let state = log.producer_state().entry(pid);
                    let seq = state.map_or(0, |e| e.last_seq() + 1);
                    let inside = state.is_some_and(|e| e.current_txn_first_offset.is_some());
                    let result = log.append(data(pid, seq, transactional), 0, NOW_MS);
                    if inside && !transactional {
                        prop_assert!(matches!(result, Err(LogError::Producer(_))), "{result:?}");
                    } else {
                        result.unwrap();
                        reference.push((pid, Kind::Data { transactional }));
                    }
                }
                Step::Marker { pid, abort } => {
                    log.append(marker(pid, abort, 0), 0, NOW_MS).unwrap();
                    reference.push((pid, Kind::Marker { abort }));
                }
                Step::Truncate { back } => {
                    let to = (log.log_end_offset() - back).max(0);
                    log.truncate_to(to).unwrap();
                    reference.truncate(to as usize);
                }
                Step::Flush => log.flush().unwrap(),
                Step::Crash => {
                    let storage = log.storage().crash(CrashMode::LoseUnsynced);
                    let options = OpenOptions { recovery_point: log.recovery_point(), ..OpenOptions::default() };
                    log = open(storage, options);
                    reference.truncate(log.log_end_offset() as usize);
                }
                Step::CleanRestart => {
                    let storage = log.close().unwrap();
                    log = open(storage, OpenOptions { clean_shutdown: true, ..OpenOptions::default() });
                }
            }
            prop_assert_eq!(log.log_end_offset(), reference.len() as i64);
            let (open_txns, aborted_txns) = scan(&reference);
            prop_assert_eq!(all_aborted(&log), aborted_txns.clone());
            prop_assert_eq!(log.producer_state().ongoing_txns().collect::<Vec<_>>(), open_txns.clone());
            prop_assert_eq!(log.collect_aborted_transactions(0, log.log_end_offset()), aborted_txns);
            log.update_high_watermark(log.log_end_offset());
            if let Some(&(first, _)) = open_txns.first() {
                prop_assert!(log.last_stable_offset() <= first);
            }
        }
    }
}

// Kafka's `AppendOrigin.COORDINATOR`: the group coordinator writes each
// TxnOffsetCommit as a transactional batch of the producer with sequence 0
// and never retries one, so its batches are checked for the producer's epoch
// only. As a client's they would be taken for retries of one another and
// silently dropped; as a coordinator's each is written, opens (or extends)
// the producer's transaction like any transactional batch, and an older
// epoch — a fenced producer — is still refused.
#[test]
fn a_coordinators_transactional_batches_skip_the_sequence_check() {
    use crate::log::producers::AppendOrigin::Coordinator;
    let mut client = open(MemStorage::new(), OpenOptions::default());
    client.append(data(1, 0, true), 0, NOW_MS).unwrap();
    assert!(client.append(data(1, 0, true), 0, NOW_MS).unwrap().duplicate, "a client's retry");

    let mut log = open(MemStorage::new(), OpenOptions::default());
    let first = log.append_from(data(1, 0, true), 0, NOW_MS, Coordinator).unwrap();
    let second = log.append_from(data(1, 0, true), 0, NOW_MS, Coordinator).unwrap();
    assert_eq!((first.first_offset, second.first_offset, second.duplicate), (0, 1, false));
    assert_eq!(log.producer_state().first_unstable_offset(), Some(0), "one open transaction from 0");
    log.append(marker(1, false, 0), 0, NOW_MS).unwrap();
    log.update_high_watermark(3);
    assert_eq!(log.last_stable_offset(), 3, "the marker decided it");

    let mut bumped = BatchBuilder::default().producer(1, 1, 0).transactional(true);
    bumped.append(NOW_MS, None, Some(b"epoch 1"), &[]);
    log.append_from(BytesMut::from(&bumped.build().as_bytes()[..]), 0, NOW_MS, Coordinator).unwrap();
    let fenced = log.append_from(data(1, 0, true), 0, NOW_MS, Coordinator).unwrap_err();
    assert!(matches!(fenced, LogError::Producer(e) if e.kafka_error_code() == 47), "INVALID_PRODUCER_EPOCH");
}

// KIP-890 part 1 for the group coordinator (Kafka's `storeOffsets` with a
// `verificationGuard`): a TxnOffsetCommit batch that would open its
// producer's transaction is appended only with the guard its verification
// started with. A guard made stale by the transaction ending in between (the
// marker spends it) or none at all is INVALID_TXN_STATE, nothing written;
// once the transaction is open here, the next commit needs no guard.
#[test]
fn a_verified_coordinators_batch_needs_the_current_guard() {
    use crate::idempotence::VerificationGuard;
    use crate::log::producers::AppendOrigin::VerifiedCoordinator;
    let mut log = open(MemStorage::new(), OpenOptions::default());
    let stale = log.maybe_start_txn_verification(1, -1, 0, NOW_MS);
    log.append(marker(1, true, 0), 0, NOW_MS).unwrap(); // 0: the transaction ended meanwhile
    let current = log.maybe_start_txn_verification(1, -1, 0, NOW_MS);
    assert_ne!(stale, current);
    for refused in [stale, VerificationGuard::SENTINEL] {
        let e = log.append_from(data(1, 0, true), 0, NOW_MS, VerifiedCoordinator(refused)).unwrap_err();
        assert!(matches!(e, LogError::Producer(e) if e.kafka_error_code() == 48), "INVALID_TXN_STATE");
    }
    assert_eq!(log.log_end_offset(), 1, "nothing written");
    log.append_from(data(1, 0, true), 0, NOW_MS, VerifiedCoordinator(current)).unwrap(); // 1
    let open = log.append_from(data(1, 0, true), 0, NOW_MS, VerifiedCoordinator(VerificationGuard::SENTINEL));
    assert_eq!(open.unwrap().first_offset, 2, "the transaction is open here: no guard needed");
    assert_eq!(log.producer_state().first_unstable_offset(), Some(1));
}
