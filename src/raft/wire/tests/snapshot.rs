//! FetchSnapshot and a Fetch answer's snapshot id through real encode and
//! decode at the versions spool sends, and FetchSnapshot's bad input.

use kafka_protocol::ResponseError;

use super::*;
use crate::raft::{SnapshotId, SnapshotResult};

const ID: SnapshotId = SnapshotId { end_offset: 120, epoch: 3 };

/// A FetchSnapshot request arrives as it was sent, from its sender (v1).
#[test]
fn a_fetch_snapshot_request_round_trips() {
    let sent =
        Message::FetchSnapshotRequest { epoch: 4, snapshot_id: ID, position: 4096, max_bytes: 1 << 20 };
    let incoming = round_trip_request(&sent).unwrap();
    assert_eq!((incoming.from, incoming.message), (FOLLOWER, sent));
    assert_eq!(RpcKind::FetchSnapshot.version(), 1);
}

/// A chunk and each refusal come back to the follower as the core's
/// answer: the bytes, size and position; or the error with epoch and leader.
#[test]
fn fetch_snapshot_answers_round_trip() {
    let sent = Message::FetchSnapshotRequest { epoch: 4, snapshot_id: ID, position: 3, max_bytes: 3 };
    let chunk = SnapshotResult::Chunk { snapshot_id: ID, size: 9, position: 3, bytes: b"def".to_vec() };
    for result in [
        chunk,
        SnapshotResult::Error(RaftError::SnapshotNotFound),
        SnapshotResult::Error(RaftError::PositionOutOfRange),
        SnapshotResult::Error(RaftError::FencedLeaderEpoch),
    ] {
        let answer = Message::FetchSnapshotResponse { epoch: 4, leader_id: Some(LEADER), result };
        let reply = round_trip_response(&sent, &answer, Bytes::new()).unwrap();
        assert_eq!(reply, Reply::Message { message: answer, records: Bytes::new() });
    }
}

/// KIP-630: a Fetch below the leader's log start is answered with the
/// latest snapshot's id in the partition's `SnapshotId`.
#[test]
fn a_fetch_answer_naming_a_snapshot_round_trips() {
    let sent = Message::FetchRequest { epoch: 4, fetch_offset: 7, last_fetched_epoch: 2 };
    let result = FetchResult::Snapshot { fetch_offset: 7, snapshot_id: ID };
    let answer = Message::FetchResponse { epoch: 4, leader_id: Some(LEADER), result };
    let reply = round_trip_response(&sent, &answer, Bytes::new()).unwrap();
    assert_eq!(reply, Reply::Message { message: answer, records: Bytes::new() });
}

/// handleFetchSnapshotRequest's checks: another partition is INVALID_REQUEST
/// at top level; a negative position or snapshot id INVALID_REQUEST at
/// partition level, beside this replica's epoch and leader.
#[test]
fn bad_fetch_snapshot_requests_are_refused() {
    let sent = Message::FetchSnapshotRequest { epoch: 4, snapshot_id: ID, position: 0, max_bytes: 10 };
    let Some(RaftRequest::FetchSnapshot(r)) = request(&ctx(FOLLOWER), LEADER, &sent) else { panic!() };
    let mut other = r.clone();
    other.topics[0].partitions[0].partition = 1;
    let error = parse_request(&ctx(LEADER), &RaftRequest::FetchSnapshot(other)).unwrap_err();
    assert_eq!(error, WireError::WrongPartition);
    let RaftResponse::FetchSnapshot(answer) = error_response(RpcKind::FetchSnapshot, 1, &error, 4, Some(1))
    else {
        panic!()
    };
    assert_eq!(answer.error_code, ResponseError::InvalidRequest.code());
    assert!(answer.topics.is_empty());

    let mut negative = r.clone();
    negative.topics[0].partitions[0].position = -1;
    let error = parse_request(&ctx(LEADER), &RaftRequest::FetchSnapshot(negative)).unwrap_err();
    let RaftResponse::FetchSnapshot(answer) = error_response(RpcKind::FetchSnapshot, 1, &error, 4, Some(1))
    else {
        panic!()
    };
    let p = &answer.topics[0].partitions[0];
    assert_eq!((answer.error_code, p.error_code), (0, ResponseError::InvalidRequest.code()));
    assert_eq!((p.current_leader.leader_id.0, p.current_leader.leader_epoch), (1, 4));

    let mut negative_id = r;
    negative_id.topics[0].partitions[0].snapshot_id.epoch = -1;
    assert!(parse_request(&ctx(LEADER), &RaftRequest::FetchSnapshot(negative_id)).is_err());
}
