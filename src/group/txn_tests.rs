//! Chapter 9's tests of the coordinator: transactional offset commits
//! (KIP-98 TxnOffsetCommit, KIP-447 fencing and `require_stable`), live and
//! replayed from the log.

use std::collections::BTreeMap;

use proptest::prelude::*;
use uuid::Uuid;

use super::*;
use crate::TopicPartition;

const PID: i64 = 7;

fn tp(partition: i32) -> TopicPartition {
    TopicPartition::new("t", partition)
}

fn partition(p: i32, offset: i64) -> OffsetCommitPartition {
    OffsetCommitPartition { partition: tp(p), offset, leader_epoch: -1, metadata: None }
}

/// A TxnOffsetCommit as a v0–v2 client sends it: no member, no generation.
fn txn_commit(producer_id: i64, offsets: &[(i32, i64)]) -> TxnOffsetCommitRequest {
    TxnOffsetCommitRequest {
        group_id: "g".into(),
        producer_id,
        producer_epoch: 0,
        generation_id: NO_GENERATION,
        member_id: String::new(),
        group_instance_id: None,
        partitions: offsets.iter().map(|&(p, o)| partition(p, o)).collect(),
    }
}

/// An OffsetCommit of a consumer that assigns itself partitions (generation -1).
fn plain_commit(offsets: &[(i32, i64)]) -> OffsetCommitRequest {
    OffsetCommitRequest {
        group_id: "g".into(),
        generation_id: NO_GENERATION,
        member_id: String::new(),
        group_instance_id: None,
        partitions: offsets.iter().map(|&(p, o)| partition(p, o)).collect(),
    }
}

/// The committed offset of t-`p` (-1 for none).
fn fetched(c: &GroupCoordinator, p: i32) -> i64 {
    c.offset_fetch("g", Some(&[tp(p)]))[0].offset
}

fn everywhere(_: &str) -> bool {
    true
}

// KIP-98: a transaction's offsets are invisible while it is open — even once
// their records are stored — and become the group's offsets when its COMMIT
// marker is written; the records go out as a transactional batch of the
// producer (Kafka's `storeOffsets` with a producer id).
#[test]
fn a_transactions_offsets_show_only_once_its_commit_marker_is_written() {
    let mut c = GroupCoordinator::new(GroupCoordinatorConfig::default());
    let (results, out) = c.txn_offset_commit(1, &txn_commit(PID, &[(0, 10), (1, 20)]), 0);
    assert_eq!(results, vec![(tp(0), None), (tp(1), None)]);
    assert_eq!(out.transactional, Some((PID, 0)), "appended as the producer's transactional batch");
    assert_eq!((out.store, out.records.len()), (Some(1), 2));
    c.store_completed(1, Ok(()), 0);
    assert_eq!((fetched(&c, 0), fetched(&c, 1)), (-1, -1), "stored, but the transaction is open");
    assert!(c.group("g").expect("created by the commit").has_pending_txn_offsets(PID));

    assert_eq!(c.complete_txn(PID, true, everywhere), vec!["g".to_string()]);
    assert_eq!((fetched(&c, 0), fetched(&c, 1)), (10, 20));
    assert!(!c.group("g").unwrap().has_pending_txn_offsets(PID));
    c.check_invariants();
}

// KIP-98: an aborted transaction's offsets never show; the previous ones stay.
// A marker of another partition's groups touches nothing here.
#[test]
fn an_aborted_transactions_offsets_are_dropped() {
    let mut c = GroupCoordinator::new(GroupCoordinatorConfig::default());
    c.offset_commit(1, &plain_commit(&[(0, 5)]), 0);
    c.store_completed(1, Ok(()), 0);
    c.txn_offset_commit(2, &txn_commit(PID, &[(0, 10)]), 0);
    c.store_completed(2, Ok(()), 0);
    assert!(c.complete_txn(PID, true, |_| false).is_empty(), "not this partition's group");
    assert_eq!(fetched(&c, 0), 5);
    c.complete_txn(PID, false, everywhere);
    assert_eq!(fetched(&c, 0), 5);
    assert!(c.complete_txn(PID, true, everywhere).is_empty(), "nothing left to commit");
    assert_eq!(fetched(&c, 0), 5);
    c.check_invariants();
}

// Kafka's ordering rule (`CommitRecordMetadataAndOffset.olderThan`): the
// later record of a partition in `__consumer_offsets` wins, not the later
// completion. A plain commit appended after the transaction's record beats
// it although the transaction commits later; one appended before it loses
// although its store is reported after the marker.
#[test]
fn the_later_record_wins_between_plain_and_transactional_commits() {
    let mut c = GroupCoordinator::new(GroupCoordinatorConfig::default());
    c.txn_offset_commit(1, &txn_commit(PID, &[(0, 10), (1, 10)]), 0);
    c.store_completed(1, Ok(()), 0);
    c.offset_commit(2, &plain_commit(&[(0, 30)]), 0);
    c.store_completed(2, Ok(()), 0);
    c.complete_txn(PID, true, everywhere);
    assert_eq!(fetched(&c, 0), 30, "the plain commit was appended last");
    assert_eq!(fetched(&c, 1), 10, "nothing later for t-1");

    c.offset_commit(3, &plain_commit(&[(0, 40)]), 0);
    c.txn_offset_commit(4, &txn_commit(PID, &[(0, 50)]), 0);
    c.store_completed(4, Ok(()), 0);
    c.complete_txn(PID, true, everywhere);
    assert_eq!(fetched(&c, 0), 50);
    c.store_completed(3, Ok(()), 0);
    assert_eq!(fetched(&c, 0), 50, "the earlier plain commit's late store must not undo the transaction");
    c.check_invariants();
}

// Kafka's `failPendingTxnOffsetCommit`: a TxnOffsetCommit whose records were
// not stored is forgotten, so its transaction's COMMIT does not apply it.
#[test]
fn a_transactional_commit_whose_store_failed_is_never_applied() {
    let mut c = GroupCoordinator::new(GroupCoordinatorConfig::default());
    c.txn_offset_commit(1, &txn_commit(PID, &[(0, 10)]), 0);
    c.store_completed(1, Err(GroupError::CoordinatorNotAvailable), 0);
    assert!(!c.group("g").unwrap().has_pending_txn_offsets(PID));
    c.complete_txn(PID, true, everywhere);
    assert_eq!(fetched(&c, 0), -1);
    c.check_invariants();
}

// KIP-447: OffsetFetch with `require_stable` answers UNSTABLE_OFFSET_COMMIT
// (and offset -1) for a partition with a pending transactional commit, and
// the committed offset for the others; without it, the committed offset.
#[test]
fn require_stable_waits_out_a_pending_transaction() {
    let mut c = GroupCoordinator::new(GroupCoordinatorConfig::default());
    c.offset_commit(1, &plain_commit(&[(0, 5), (1, 6)]), 0);
    c.store_completed(1, Ok(()), 0);
    c.txn_offset_commit(2, &txn_commit(PID, &[(0, 10)]), 0);
    c.store_completed(2, Ok(()), 0);
    let stable = c.offset_fetch_stable("g", Some(&[tp(0), tp(1)]), true);
    assert_eq!((stable[0].offset, stable[0].error), (-1, Some(GroupError::UnstableOffsetCommit)));
    assert_eq!((stable[1].offset, stable[1].error), (6, None));
    let unstable = c.offset_fetch_stable("g", Some(&[tp(0)]), false);
    assert_eq!((unstable[0].offset, unstable[0].error), (5, None));
    c.complete_txn(PID, true, everywhere);
    let stable = c.offset_fetch_stable("g", None, true);
    assert_eq!(stable.iter().map(|f| (f.offset, f.error)).collect::<Vec<_>>(), [(10, None), (6, None)]);
}

// KIP-447 (TxnOffsetCommit v3+): a producer whose consumer left the group or
// missed a rebalance is fenced like an OffsetCommit (UNKNOWN_MEMBER_ID,
// ILLEGAL_GENERATION); an old client's anonymous commit (generation -1, no
// member) is taken even by a group with members, as in Kafka's
// `validateOffsetCommit(isTransactional = true)`; and a group completing
// its rebalance does not refuse a current member.
#[test]
fn transactional_commits_are_fenced_by_member_and_generation() {
    let mut c = GroupCoordinator::new(GroupCoordinatorConfig::default());
    let j = |client: &str, uuid| JoinGroupRequest {
        group_id: "g".into(),
        member_id: String::new(),
        group_instance_id: None,
        client_id: client.into(),
        client_host: "/127.0.0.1".into(),
        session_timeout_ms: 10_000,
        rebalance_timeout_ms: 30_000,
        protocol_type: "consumer".into(),
        protocols: vec![Protocol { name: "range".into(), metadata: vec![] }],
        require_known_member_id: false,
        new_member_uuid: Uuid::from_u128(uuid),
    };
    c.join_group(1, &j("a", 1), 0);
    let out = c.tick(3_000);
    let Some(Response::Join(joined)) = out.reply(1) else { panic!("no join answer") };
    let member = joined.member_id.clone();
    assert_eq!(c.group("g").unwrap().state(), GroupState::CompletingRebalance);
    let member_commit = |generation_id, member_id: &str| TxnOffsetCommitRequest {
        generation_id,
        member_id: member_id.into(),
        ..txn_commit(PID, &[(0, 1)])
    };
    let error = |c: &mut GroupCoordinator, token, req| c.txn_offset_commit(token, &req, 3_000).0[0].1;
    assert_eq!(error(&mut c, 10, member_commit(1, &member)), None, "CompletingRebalance takes it");
    assert_eq!(error(&mut c, 11, member_commit(0, &member)), Some(GroupError::IllegalGeneration));
    assert_eq!(error(&mut c, 12, member_commit(1, "gone")), Some(GroupError::UnknownMemberId));
    assert_eq!(error(&mut c, 13, txn_commit(PID, &[(0, 1)])), None, "an anonymous v0-v2 commit");

    // A refused commit does not create the group it names.
    let stranger = TxnOffsetCommitRequest { group_id: "h".into(), ..member_commit(1, "m") };
    assert_eq!(error(&mut c, 14, stranger), Some(GroupError::UnknownMemberId));
    assert!(c.group("h").is_none());
    c.check_invariants();
}

/// The records of a TxnOffsetCommit as the loader reads them back.
fn txn_records(out: &Output) -> Vec<OffsetsLogEntry> {
    let (producer_id, _) = out.transactional.expect("a transactional output");
    out.records.iter().map(|r| OffsetsLogEntry::Transactional { producer_id, record: r.clone() }).collect()
}

// Loading replays the partition in log order (Kafka's `doLoadGroupsAndOffsets`):
// a committed transaction's offsets count, an aborted one's do not, a plain
// record later than a transaction's wins over it, and a transaction without
// its marker yet stays pending — invisible, UNSTABLE under require_stable —
// until the coordinator hears the marker.
#[test]
fn load_replays_transactions_and_their_markers_in_log_order() {
    let mut c = GroupCoordinator::new(GroupCoordinatorConfig::default());
    let mut log: Vec<OffsetsLogEntry> = vec![];
    let (_, out) = c.txn_offset_commit(1, &txn_commit(1, &[(0, 10), (1, 10)]), 0);
    log.extend(txn_records(&out));
    let (_, out) = c.txn_offset_commit(2, &txn_commit(2, &[(2, 20)]), 0);
    log.extend(txn_records(&out));
    let (_, out) = c.offset_commit(3, &plain_commit(&[(1, 15)]), 0);
    log.extend(out.records.into_iter().map(OffsetsLogEntry::from));
    log.push(OffsetsLogEntry::Marker { producer_id: 1, commit: true });
    log.push(OffsetsLogEntry::Marker { producer_id: 2, commit: false });
    let (_, out) = c.txn_offset_commit(4, &txn_commit(3, &[(3, 30)]), 0);
    log.extend(txn_records(&out));

    let mut loaded = GroupCoordinator::load(GroupCoordinatorConfig::default(), log, 0);
    loaded.check_invariants();
    let offsets = |c: &GroupCoordinator| (0..4).map(|p| fetched(c, p)).collect::<Vec<_>>();
    assert_eq!(offsets(&loaded), [10, 15, -1, -1]);
    let unstable = loaded.offset_fetch_stable("g", Some(&[tp(3)]), true);
    assert_eq!(unstable[0].error, Some(GroupError::UnstableOffsetCommit), "producer 3 is undecided");
    loaded.complete_txn(3, true, everywhere);
    assert_eq!(offsets(&loaded), [10, 15, -1, 30]);
}

// A plain tombstone (a deleted topic) after a transaction's record wins over
// it at load, as it would live; and a group whose only record is a pending
// transaction's is loaded, so its marker finds it.
#[test]
fn load_keeps_a_group_that_only_has_a_pending_transaction() {
    let record = |p, offset: Option<i64>| GroupRecord::Offset {
        group_id: "g".into(),
        partition: tp(p),
        value: offset.map(|offset| OffsetCommitValue {
            offset,
            leader_epoch: -1,
            metadata: String::new(),
            commit_timestamp_ms: 0,
        }),
    };
    let log = vec![
        OffsetsLogEntry::Transactional { producer_id: PID, record: record(0, Some(1)) },
        OffsetsLogEntry::Record(record(0, None)),
        OffsetsLogEntry::Marker { producer_id: PID, commit: true },
        OffsetsLogEntry::Transactional { producer_id: PID, record: record(1, Some(2)) },
    ];
    let mut loaded = GroupCoordinator::load(GroupCoordinatorConfig::default(), log, 0);
    assert!(loaded.group("g").is_some_and(|g| g.has_pending_txn_offsets(PID)));
    loaded.complete_txn(PID, true, everywhere);
    assert_eq!((fetched(&loaded, 0), fetched(&loaded, 1)), (-1, 2));
}

#[derive(Debug, Clone)]
enum Op {
    Plain { partition: i32, stored: bool },
    Txn { producer: i64, partition: i32, stored: bool },
    Marker { producer: i64, commit: bool },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0..2i32, any::<bool>()).prop_map(|(partition, stored)| Op::Plain { partition, stored }),
        (0..2i64, 0..2i32, any::<bool>()).prop_map(|(producer, partition, stored)| Op::Txn {
            producer,
            partition,
            stored
        }),
        (0..2i64, any::<bool>()).prop_map(|(producer, commit)| Op::Marker { producer, commit }),
    ]
}

/// What the log says the offsets are, computed directly from it: for each
/// partition, the value of the last record that counts — a plain one, or a
/// transaction's whose producer's next marker is a COMMIT.
fn offsets_by_the_log(log: &[OffsetsLogEntry]) -> BTreeMap<TopicPartition, i64> {
    let mut offsets = BTreeMap::new();
    for (i, entry) in log.iter().enumerate() {
        let (record, counts) = match entry {
            OffsetsLogEntry::Record(r) => (r, true),
            OffsetsLogEntry::Transactional { producer_id, record } => {
                let marker = log[i..].iter().find_map(|e| match e {
                    OffsetsLogEntry::Marker { producer_id: p, commit } if p == producer_id => Some(*commit),
                    _ => None,
                });
                (record, marker == Some(true))
            }
            OffsetsLogEntry::Marker { .. } => continue,
        };
        if let (true, GroupRecord::Offset { partition, value: Some(v), .. }) = (counts, record) {
            offsets.insert(partition.clone(), v.offset);
        }
    }
    offsets
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    // Any interleaving of plain commits, two producers' transactional commits
    // (each stored or not) and their markers: the live coordinator's
    // committed offsets are what the log says (the later counting record
    // wins, `offsets_by_the_log`), a reload of the log agrees with it on the
    // committed offsets and on what is still pending, and the invariants hold.
    #[test]
    fn live_reloaded_and_the_log_agree(ops in proptest::collection::vec(op(), 1..40)) {
        let mut c = GroupCoordinator::new(GroupCoordinatorConfig::default());
        let mut log: Vec<OffsetsLogEntry> = vec![];
        for (i, op) in ops.into_iter().enumerate() {
            let token = i as u64;
            let offset = i as i64;
            let (out, stored) = match op {
                Op::Plain { partition, stored } => {
                    (c.offset_commit(token, &plain_commit(&[(partition, offset)]), 0).1, stored)
                }
                Op::Txn { producer, partition, stored } => {
                    (c.txn_offset_commit(token, &txn_commit(producer, &[(partition, offset)]), 0).1, stored)
                }
                Op::Marker { producer, commit } => {
                    c.complete_txn(producer, commit, everywhere);
                    log.push(OffsetsLogEntry::Marker { producer_id: producer, commit });
                    continue;
                }
            };
            if stored {
                log.extend(match out.transactional {
                    Some(_) => txn_records(&out),
                    None => out.records.iter().cloned().map(OffsetsLogEntry::from).collect(),
                });
            }
            let outcome = if stored { Ok(()) } else { Err(GroupError::CoordinatorNotAvailable) };
            prop_assert_eq!(c.store_completed(token, outcome, 0), Output::default());
            c.check_invariants();
        }
        let live: BTreeMap<TopicPartition, i64> =
            c.group("g").map(|g| g.offsets().iter().map(|(p, v)| (p.clone(), v.offset)).collect()).unwrap_or_default();
        prop_assert_eq!(&live, &offsets_by_the_log(&log));
        let loaded = GroupCoordinator::load(GroupCoordinatorConfig::default(), log, 0);
        loaded.check_invariants();
        let back = loaded.group("g").map(|g| g.offsets().iter().map(|(p, v)| (p.clone(), v.offset)).collect());
        prop_assert_eq!(&live, &back.unwrap_or_default());
        for producer in 0..2 {
            let pending = |c: &GroupCoordinator| c.group("g").is_some_and(|g| g.has_pending_txn_offsets(producer));
            prop_assert_eq!(pending(&c), pending(&loaded), "producer {}", producer);
        }
        let everything = [tp(0), tp(1)];
        prop_assert_eq!(
            c.offset_fetch_stable("g", Some(&everything), true),
            loaded.offset_fetch_stable("g", Some(&everything), true)
        );
    }
}
