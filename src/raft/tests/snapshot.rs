//! Snapshots in the core (KIP-630): a leader serves its snapshot to a
//! follower behind its log start, in chunks; bad FetchSnapshot requests get
//! Kafka's errors.

use super::*;

/// The elected quorum with small chunks, so a snapshot takes several.
fn small_chunks() -> Quorum {
    let mut quorum = Quorum::elected();
    for r in quorum.replicas.values_mut() {
        r.node.config.snapshot_chunk_bytes_max = 3;
    }
    quorum
}

/// Voter 1 appends `data`, and the voters not cut fetch it.
fn replicate(quorum: &mut Quorum, data: &[u8]) {
    for &d in data {
        quorum.append(1, d).unwrap();
        quorum.run(100);
        quorum.resend(2);
        quorum.resend(3);
        quorum.run(100);
    }
}

/// The leader snapshots its log at its high watermark (the "state machine"
/// is the data bytes so far) and deletes what is below.
fn leader_snapshots(quorum: &mut Quorum, leader: NodeId) -> SnapshotId {
    let r = quorum.replicas.get_mut(&leader).unwrap();
    let end = r.node.high_watermark;
    let id = r.node.snapshot_id(&r.log, end).expect("a snapshot at the high watermark");
    let image: Vec<u8> = r
        .log
        .entries
        .iter()
        .take((end - r.log.start) as usize)
        .filter_map(|e| if let Record::Data(d) = &e.record { Some(d[0]) } else { None })
        .collect();
    r.log.create_snapshot(id, image);
    r.log.delete_before(id.end_offset);
    id
}

#[test]
fn a_follower_behind_the_log_start_catches_up_from_the_snapshot_in_chunks() {
    // KIP-630: voter 3 misses five records; the leader snapshots and deletes
    // its log below the snapshot, so voter 3's Fetch is answered with the
    // snapshot id; it pulls the snapshot three bytes at a time, installs it,
    // and fetches what follows from the snapshot's end.
    let mut quorum = small_chunks();
    quorum.cut.insert(3);
    replicate(&mut quorum, b"abcde");
    assert_eq!(quorum.node(1).high_watermark, 6, "voters 1 and 2 commit without 3");
    let id = leader_snapshots(&mut quorum, 1);
    assert_eq!(id, SnapshotId { end_offset: 6, epoch: 1 });
    assert_eq!(quorum.replicas[&1].log.start_offset(), 6);
    replicate(&mut quorum, b"f");

    quorum.cut.remove(&3);
    quorum.resend(3);
    quorum.run(100);
    let follower = &quorum.replicas[&3];
    assert_eq!(follower.log.latest_snapshot(), Some(id));
    assert_eq!(follower.log.snapshot, Some((id, b"abcde".to_vec())), "the bytes arrive whole, in order");
    assert_eq!(follower.log.start_offset(), 6);
    assert_eq!(quorum.log(3), [entry(1, b'f')], "what follows the snapshot, fetched after it");
    assert_eq!(quorum.node(3).high_watermark, 7);
    assert!(matches!(quorum.node(3).role, Role::Follower { fetching_snapshot: None, .. }));
}

#[test]
fn a_snapshot_is_taken_only_at_or_below_the_high_watermark() {
    // Kafka's createNewSnapshot: a snapshot holds committed records only,
    // and never repeats or goes behind the latest one.
    let mut quorum = Quorum::elected();
    quorum.cut.insert(2);
    quorum.cut.insert(3);
    quorum.append(1, b'a').unwrap();
    let r = &quorum.replicas[&1];
    assert_eq!(r.node.high_watermark, 1);
    assert_eq!(r.node.snapshot_id(&r.log, 2), None, "offset 1 is not committed");
    assert_eq!(r.node.snapshot_id(&r.log, 1), Some(SnapshotId { end_offset: 1, epoch: 1 }));
    assert_eq!(r.node.snapshot_id(&r.log, 0), None, "nothing to snapshot");
}

#[test]
fn fetch_snapshot_refusals_are_kafkas_errors() {
    // handleFetchSnapshotRequest: an id the leader does not hold is
    // SNAPSHOT_NOT_FOUND, a position at or past the end POSITION_OUT_OF_RANGE,
    // an old epoch FENCED_LEADER_EPOCH, and a non-leader NOT_LEADER_OR_FOLLOWER.
    let mut quorum = small_chunks();
    replicate(&mut quorum, b"a");
    let id = leader_snapshots(&mut quorum, 1);
    let ask = |quorum: &mut Quorum, to: NodeId, epoch, snapshot_id, position| {
        let r = quorum.replicas.get_mut(&to).unwrap();
        let request = Message::FetchSnapshotRequest { epoch, snapshot_id, position, max_bytes: 10 };
        match &r.node.step(&mut r.log, 2, request)[..] {
            [Output::Send { message: Message::FetchSnapshotResponse { result, .. }, .. }] => result.clone(),
            other => panic!("{other:?}"),
        }
    };
    let unknown = SnapshotId { end_offset: 99, epoch: 1 };
    assert_eq!(ask(&mut quorum, 1, 1, unknown, 0), SnapshotResult::Error(RaftError::SnapshotNotFound));
    assert_eq!(ask(&mut quorum, 1, 1, id, 1), SnapshotResult::Error(RaftError::PositionOutOfRange));
    assert_eq!(ask(&mut quorum, 1, 0, id, 0), SnapshotResult::Error(RaftError::FencedLeaderEpoch));
    assert_eq!(ask(&mut quorum, 3, 1, id, 0), SnapshotResult::Error(RaftError::NotLeaderOrFollower));
    let chunk = SnapshotResult::Chunk { snapshot_id: id, size: 1, position: 0, bytes: b"a".to_vec() };
    assert_eq!(ask(&mut quorum, 1, 1, id, 0), chunk);
    assert_eq!(RaftError::SnapshotNotFound.code(), 98);
    assert_eq!(RaftError::PositionOutOfRange.code(), 99);
}

#[test]
fn a_follower_whose_snapshot_vanished_fetches_again_and_gets_the_newer_one() {
    // The leader took a newer snapshot (and deleted the one being fetched):
    // SNAPSHOT_NOT_FOUND sends the follower back to Fetch, whose answer
    // names the newest snapshot, which it then installs.
    let mut quorum = small_chunks();
    quorum.cut.insert(3);
    replicate(&mut quorum, b"abcdefgh");
    let first = leader_snapshots(&mut quorum, 1);
    quorum.cut.remove(&3);
    quorum.resend(3); // Fetch → snapshot id → the first chunk request goes out
    quorum.run(2);
    assert!(
        matches!(quorum.node(3).role, Role::Follower { fetching_snapshot: Some((id, _)), .. } if id == first)
    );
    quorum.cut.insert(3);
    replicate(&mut quorum, b"i");
    let newer = leader_snapshots(&mut quorum, 1);
    assert!(newer > first);
    quorum.cut.remove(&3);
    quorum.run(100);
    quorum.resend(3);
    quorum.run(200);
    assert_eq!(quorum.replicas[&3].log.latest_snapshot(), Some(newer));
    assert_eq!(quorum.replicas[&3].log.start_offset(), newer.end_offset);
}
