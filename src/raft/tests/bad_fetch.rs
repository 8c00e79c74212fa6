//! Bad Fetch requests at the leader, as KafkaRaftClient's
//! `handleFetchRequest` answers them: fields out of range are
//! INVALID_REQUEST, whatever the driver checked before, and the leader
//! never counts such a fetch as a follower's progress.

use super::*;

/// What leader 1 of [`Quorum::elected`] answers `request` from `from`, and
/// its voters' fetch offsets afterwards.
fn answer(quorum: &mut Quorum, from: NodeId, request: Message) -> (FetchResult, BTreeMap<NodeId, Offset>) {
    let r = quorum.replicas.get_mut(&1).unwrap();
    let out = r.node.step(&mut r.log, from, request);
    let Role::Leader(progress) = &r.node.role else { panic!("1 no longer leads: {:?}", r.node.role) };
    let end_offsets = progress.end_offsets.clone();
    let [Output::Send { to, message: Message::FetchResponse { result, .. } }] = &out[..] else {
        panic!("not one Fetch answer: {out:?}")
    };
    assert_eq!(*to, from);
    (result.clone(), end_offsets)
}

/// KafkaRaftClient refuses a fetch whose offset or last fetched epoch is
/// negative, or whose last fetched epoch is past the epoch it fetches in
/// (a log cannot hold an entry of an epoch its replica has not reached),
/// with INVALID_REQUEST before it looks at the log — from a voter, an
/// observer or an anonymous fetcher alike — and the voter's progress
/// (what the high watermark counts) stays where it was.
#[test]
fn a_fetch_with_fields_out_of_range_is_an_invalid_request() {
    let mut quorum = Quorum::elected();
    let epoch = quorum.node(1).epoch();
    let bad = [
        Message::FetchRequest { epoch, fetch_offset: -1, last_fetched_epoch: 0 },
        Message::FetchRequest { epoch, fetch_offset: 1, last_fetched_epoch: -1 },
        Message::FetchRequest { epoch, fetch_offset: 1, last_fetched_epoch: epoch + 1 },
    ];
    for from in [2, 4, -1] {
        for request in bad.clone() {
            let before = answer(
                &mut quorum,
                3,
                Message::FetchRequest { epoch, fetch_offset: 1, last_fetched_epoch: epoch },
            )
            .1;
            let (result, after) = answer(&mut quorum, from, request.clone());
            assert_eq!(result, FetchResult::Error(RaftError::InvalidRequest), "{from}: {request:?}");
            assert_eq!(after, before, "{from}: {request:?} moved a voter's progress");
        }
    }
    assert_eq!(RaftError::InvalidRequest.code(), 42);
}

/// A fetch under the leader's own id comes from another process
/// configured with the same `node.id`: KafkaRaftClient's LeaderState
/// throws on it ("Remote replica ID matches the local leader ID"); spool
/// answers INVALID_REQUEST instead of serving it as an observer.
#[test]
fn a_fetch_under_the_leaders_own_id_is_refused() {
    let mut quorum = Quorum::elected();
    let epoch = quorum.node(1).epoch();
    let request = Message::FetchRequest { epoch, fetch_offset: 0, last_fetched_epoch: 0 };
    let (result, _) = answer(&mut quorum, 1, request);
    assert_eq!(result, FetchResult::Error(RaftError::InvalidRequest));
}
