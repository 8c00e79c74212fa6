//! Every message shape through real encode and decode at the version spool
//! sends; damaged bytes give errors, not panics. Bad fields: [`bad_input`].

use bytes::{Bytes, BytesMut};
use kafka_protocol::messages::{
    BeginQuorumEpochRequest, DescribeQuorumResponse, EndQuorumEpochRequest, FetchRequest,
    FetchSnapshotRequest, TopicName, VoteRequest,
};
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};
use kafka_protocol::ResponseError;
use proptest::prelude::*;

use super::*;
use crate::raft::{Entry, FetchResult, Record};

mod bad_input;
mod snapshot;

const LEADER: NodeId = 1;
const FOLLOWER: NodeId = 2;

fn ctx(local_id: NodeId) -> WireContext {
    WireContext {
        cluster_id: "q1VNBKrKQzaiVZkJ5vYrTg".into(),
        local_id,
        fetch_max_wait_ms: 500,
        fetch_max_bytes: 8 << 20,
    }
}

/// Through the bytes and back, as a peer would see it.
fn wire<T: Encodable + Decodable>(value: &T, version: i16) -> T {
    let mut buf = BytesMut::new();
    value.encode(&mut buf, version).expect("encodes");
    let mut bytes = buf.freeze();
    let decoded = T::decode(&mut bytes, version).expect("decodes");
    assert!(bytes.is_empty(), "the decoder read it all");
    decoded
}

fn wire_request(request: RaftRequest) -> RaftRequest {
    let v = request.version();
    match request {
        RaftRequest::Vote(r) => RaftRequest::Vote(wire(&r, v)),
        RaftRequest::BeginQuorumEpoch(r) => RaftRequest::BeginQuorumEpoch(wire(&r, v)),
        RaftRequest::EndQuorumEpoch(r) => RaftRequest::EndQuorumEpoch(wire(&r, v)),
        RaftRequest::Fetch(r) => RaftRequest::Fetch(wire(&r, v)),
        RaftRequest::FetchSnapshot(r) => RaftRequest::FetchSnapshot(wire(&r, v)),
    }
}

fn wire_response(response: RaftResponse, v: i16) -> RaftResponse {
    match response {
        RaftResponse::Vote(r) => RaftResponse::Vote(wire(&r, v)),
        RaftResponse::BeginQuorumEpoch(r) => RaftResponse::BeginQuorumEpoch(wire(&r, v)),
        RaftResponse::EndQuorumEpoch(r) => RaftResponse::EndQuorumEpoch(wire(&r, v)),
        RaftResponse::Fetch(r) => RaftResponse::Fetch(wire(&r, v)),
        RaftResponse::FetchSnapshot(r) => RaftResponse::FetchSnapshot(wire(&r, v)),
    }
}

/// A request from the follower to the leader, received by the leader.
fn round_trip_request(message: &Message) -> Result<Incoming, WireError> {
    let request = request(&ctx(FOLLOWER), LEADER, message).expect("a request");
    parse_request(&ctx(LEADER), &wire_request(request))
}

/// The leader's answer to `sent`, as the follower reads it.
fn round_trip_response(sent: &Message, answer: &Message, records: Bytes) -> Result<Reply, WireError> {
    let kind = request(&ctx(FOLLOWER), LEADER, sent).unwrap().kind();
    let response = response(kind.version(), answer, records).expect("a response");
    parse_response(sent, &wire_response(response, kind.version()))
}

fn request_strategy() -> impl Strategy<Value = Message> {
    prop_oneof![
        (1..1000i32, 0..1000i64, any::<bool>()).prop_flat_map(|(epoch, end_offset, pre_vote)| {
            // The core's epoch is the one it stands in: its log is older.
            (0..epoch).prop_map(move |last_epoch| Message::VoteRequest {
                epoch,
                last_epoch,
                end_offset,
                pre_vote,
            })
        }),
        (0..1000i32).prop_map(|epoch| Message::BeginQuorumEpoch { epoch }),
        (0..1000i32, proptest::collection::vec(0..100i32, 0..4)).prop_map(|(epoch, preferred_successors)| {
            Message::EndQuorumEpoch { epoch, preferred_successors }
        }),
        (0..1000i32, 0..1_000_000i64).prop_flat_map(|(epoch, fetch_offset)| {
            (0..=epoch).prop_map(move |last_fetched_epoch| Message::FetchRequest {
                epoch,
                fetch_offset,
                last_fetched_epoch,
            })
        }),
        (0..1000i32, 0..1_000_000i64, 0..1000i32, 0..1_000_000u64, 0..(i32::MAX as u32)).prop_map(
            |(epoch, end_offset, snapshot_epoch, position, max_bytes)| Message::FetchSnapshotRequest {
                epoch,
                snapshot_id: crate::raft::SnapshotId { end_offset, epoch: snapshot_epoch },
                position,
                max_bytes,
            }
        ),
    ]
}

fn raft_error_strategy() -> impl Strategy<Value = RaftError> {
    prop_oneof![
        Just(RaftError::FencedLeaderEpoch),
        Just(RaftError::UnknownLeaderEpoch),
        Just(RaftError::NotLeaderOrFollower),
        Just(RaftError::InconsistentVoterSet),
        Just(RaftError::SnapshotNotFound),
        Just(RaftError::PositionOutOfRange),
    ]
}

fn fetch_result_strategy() -> impl Strategy<Value = FetchResult> {
    prop_oneof![
        (0..1000i64).prop_map(|high_watermark| FetchResult::Records {
            fetch_offset: 7,
            entries: vec![],
            high_watermark
        }),
        (0..100i32, 0..1000i64).prop_map(|(epoch, end_offset)| FetchResult::Diverging {
            fetch_offset: 7,
            epoch,
            end_offset
        }),
        raft_error_strategy().prop_map(FetchResult::Error),
        (0..1_000_000i64, 0..1000i32).prop_map(|(end_offset, epoch)| FetchResult::Snapshot {
            fetch_offset: 7,
            snapshot_id: crate::raft::SnapshotId { end_offset, epoch },
        }),
    ]
}

proptest! {
    /// Every request the core sends arrives as the same message from the
    /// same sender, through Kafka's schema at the version spool sends (KIP-595).
    #[test]
    fn requests_survive_the_wire(message in request_strategy()) {
        let incoming = round_trip_request(&message).unwrap();
        prop_assert_eq!(incoming.from, FOLLOWER);
        prop_assert_eq!(&incoming.message, &message);
        prop_assert_eq!(incoming.fetch.is_some(), matches!(message, Message::FetchRequest { .. }));
    }

    /// Every Vote answer arrives as the same message, the epoch asked about
    /// and the pre-vote flag taken from the request it answers.
    #[test]
    fn vote_responses_survive_the_wire(
        epoch in 1..1000i32,
        pre_vote in any::<bool>(),
        granted in any::<bool>(),
        leader_id in proptest::option::of(0..10i32),
        error in proptest::option::of(raft_error_strategy()),
    ) {
        let sent = Message::VoteRequest { epoch, last_epoch: epoch - 1, end_offset: 3, pre_vote };
        let answer = Message::VoteResponse { epoch: epoch + 1, vote_epoch: epoch, pre_vote, granted, leader_id, error };
        let reply = round_trip_response(&sent, &answer, Bytes::new()).unwrap();
        prop_assert_eq!(reply, Reply::Message { message: answer, records: Bytes::new() });
    }

    /// Every Fetch answer arrives as the same result; the records travel
    /// beside the message, whose entries stay empty for the driver to fill.
    #[test]
    fn fetch_responses_survive_the_wire(
        epoch in 0..1000i32,
        leader_id in proptest::option::of(0..10i32),
        result in fetch_result_strategy(),
        records in proptest::collection::vec(any::<u8>(), 0..64),
    ) {
        let sent = Message::FetchRequest { epoch, fetch_offset: 7, last_fetched_epoch: 0 };
        let answer = Message::FetchResponse { epoch, leader_id, result: result.clone() };
        let records = Bytes::from(records);
        let reply = round_trip_response(&sent, &answer, records.clone()).unwrap();
        let records = if matches!(result, FetchResult::Records { .. }) { records } else { Bytes::new() };
        prop_assert_eq!(reply, Reply::Message { message: answer, records });
    }

    /// Whatever bytes arrive — here a valid request with bytes overwritten —
    /// decoding and mapping it never panics: the answer is a request or an error.
    #[test]
    fn damaged_requests_give_errors_not_panics(
        message in request_strategy(),
        damage in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
    ) {
        let sent = request(&ctx(FOLLOWER), LEADER, &message).unwrap();
        let (kind, v) = (sent.kind(), sent.version());
        let mut buf = BytesMut::new();
        match &sent {
            RaftRequest::Vote(r) => r.encode(&mut buf, v),
            RaftRequest::BeginQuorumEpoch(r) => r.encode(&mut buf, v),
            RaftRequest::EndQuorumEpoch(r) => r.encode(&mut buf, v),
            RaftRequest::Fetch(r) => r.encode(&mut buf, v),
            RaftRequest::FetchSnapshot(r) => r.encode(&mut buf, v),
        }
        .unwrap();
        for (at, byte) in damage {
            let i = at.index(buf.len());
            buf[i] = byte;
        }
        let mut b = buf.freeze();
        let decoded = match kind {
            RpcKind::Vote => VoteRequest::decode(&mut b, v).ok().map(RaftRequest::Vote),
            RpcKind::BeginQuorumEpoch => BeginQuorumEpochRequest::decode(&mut b, v).ok().map(RaftRequest::BeginQuorumEpoch),
            RpcKind::EndQuorumEpoch => EndQuorumEpochRequest::decode(&mut b, v).ok().map(RaftRequest::EndQuorumEpoch),
            RpcKind::Fetch => FetchRequest::decode(&mut b, v).ok().map(RaftRequest::Fetch),
            RpcKind::FetchSnapshot => FetchSnapshotRequest::decode(&mut b, v).ok().map(RaftRequest::FetchSnapshot),
        };
        if let Some(request) = decoded {
            let _ = parse_request(&ctx(LEADER), &request);
        }
    }
}

/// KIP-996: a prospective sends its own epoch with PreVote set, not the
/// bumped one the core names; a real vote sends the bumped epoch.
#[test]
fn a_pre_vote_carries_the_current_epoch_on_the_wire() {
    let replica_epoch = |pre_vote| match request(
        &ctx(FOLLOWER),
        LEADER,
        &Message::VoteRequest { epoch: 5, last_epoch: 4, end_offset: 10, pre_vote },
    ) {
        Some(RaftRequest::Vote(r)) => (r.topics[0].partitions[0].replica_epoch, r.voter_id.0),
        other => panic!("not a vote: {other:?}"),
    };
    assert_eq!(replica_epoch(true), (4, LEADER));
    assert_eq!(replica_epoch(false), (5, LEADER));
}

/// Responses are not requests: `request` and `response` each refuse the other kind.
#[test]
fn requests_and_responses_do_not_mix() {
    let answer = Message::FetchResponse {
        epoch: 1,
        leader_id: None,
        result: FetchResult::Error(RaftError::FencedLeaderEpoch),
    };
    assert_eq!(request(&ctx(1), 2, &answer), None);
    assert_eq!(response(17, &Message::BeginQuorumEpoch { epoch: 1 }, Bytes::new()), None);
    let sent = Message::BeginQuorumEpoch { epoch: 1 };
    let fetch_answer = response(17, &answer, Bytes::new()).unwrap();
    assert!(matches!(parse_response(&sent, &fetch_answer), Err(WireError::InvalidResponse(_))));
}

/// A Fetch answer's entries are the caller's to encode as batches: the
/// ones in the core's message are not what goes out, `records` is.
#[test]
fn fetch_records_are_the_callers_bytes() {
    let entries = vec![Entry { epoch: 1, record: Record::LeaderChange { leader_id: 1 } }];
    let answer = Message::FetchResponse {
        epoch: 1,
        leader_id: Some(1),
        result: FetchResult::Records { fetch_offset: 0, entries, high_watermark: 1 },
    };
    let Some(RaftResponse::Fetch(r)) = response(17, &answer, Bytes::from_static(b"batch")) else { panic!() };
    assert_eq!(r.responses[0].partitions[0].records.as_deref(), Some(&b"batch"[..]));
    assert_eq!(r.responses[0].topic_id, METADATA_TOPIC_ID);
}

/// BeginQuorumEpoch and EndQuorumEpoch are acknowledged with the
/// responder's epoch and leader, which the sender sees as an [`Reply::Ack`].
#[test]
fn begin_and_end_are_acknowledged_with_the_responders_epoch() {
    for (sent, kind) in [
        (Message::BeginQuorumEpoch { epoch: 3 }, RpcKind::BeginQuorumEpoch),
        (Message::EndQuorumEpoch { epoch: 3, preferred_successors: vec![2] }, RpcKind::EndQuorumEpoch),
    ] {
        let answer = wire_response(ack(kind, 4, Some(2)).unwrap(), kind.version());
        assert_eq!(parse_response(&sent, &answer), Ok(Reply::Ack { epoch: 4, leader_id: Some(2) }));
        let fenced = error_response(kind, kind.version(), &RaftError::FencedLeaderEpoch.into(), 5, None);
        let fenced = wire_response(fenced, kind.version());
        assert_eq!(parse_response(&sent, &fenced), Ok(Reply::Ack { epoch: 5, leader_id: None }));
    }
    assert_eq!(ack(RpcKind::Vote, 1, None), None);
}

/// Every Fetch answer encodes at every version spool decodes requests at,
/// down to v4 (the schema drops what an old version cannot carry).
#[test]
fn fetch_answers_encode_at_every_version() {
    let results = [
        FetchResult::Records { fetch_offset: 0, entries: vec![], high_watermark: 3 },
        FetchResult::Diverging { fetch_offset: 5, epoch: 1, end_offset: 2 },
        FetchResult::Error(RaftError::NotLeaderOrFollower),
    ];
    for version in 4..=17 {
        for result in results.clone() {
            let answer = Message::FetchResponse { epoch: 2, leader_id: Some(1), result };
            let response = response(version, &answer, Bytes::from_static(b"x")).unwrap();
            wire_response(response, version);
        }
    }
}

/// `from_code` is `code`'s inverse, and knows nothing else.
#[test]
fn raft_errors_come_back_from_their_codes() {
    for e in [
        RaftError::FencedLeaderEpoch,
        RaftError::UnknownLeaderEpoch,
        RaftError::NotLeaderOrFollower,
        RaftError::InconsistentVoterSet,
    ] {
        assert_eq!(RaftError::from_code(e.code()), Some(e));
    }
    assert_eq!(RaftError::from_code(0), None);
    assert_eq!(RaftError::from_code(ResponseError::InvalidRequest.code()), None);
}

/// DescribeQuorum at each version: v0 has no timestamps, v1 adds them, v2
/// the voters' endpoints.
#[test]
fn describe_quorum_writes_what_each_version_holds() {
    let status = QuorumStatus {
        leader_id: Some(1),
        leader_epoch: 3,
        high_watermark: Some(10),
        voters: vec![
            ReplicaStatus {
                replica_id: 1,
                log_end_offset: Some(10),
                last_fetch_timestamp_ms: None,
                last_caught_up_timestamp_ms: Some(99),
            },
            ReplicaStatus {
                replica_id: 2,
                log_end_offset: None,
                last_fetch_timestamp_ms: None,
                last_caught_up_timestamp_ms: None,
            },
        ],
        observers: vec![ReplicaStatus {
            replica_id: 4,
            log_end_offset: Some(8),
            last_fetch_timestamp_ms: Some(98),
            last_caught_up_timestamp_ms: Some(97),
        }],
        endpoints: vec![(
            1,
            vec![Endpoint { name: "CONTROLLER".into(), host: "127.0.0.1".into(), port: 9093 }],
        )],
    };
    for version in 0..=2 {
        let r: DescribeQuorumResponse = wire(&describe_quorum_response(version, &status), version);
        let p = &r.topics[0].partitions[0];
        assert_eq!((r.topics[0].topic_name.0.as_str(), p.partition_index), (METADATA_TOPIC, 0));
        assert_eq!((p.leader_id.0, p.leader_epoch, p.high_watermark), (1, 3, 10));
        assert_eq!(p.current_voters[1].log_end_offset, -1);
        let stamp = if version >= 1 { 97 } else { -1 };
        assert_eq!(p.observers[0].last_caught_up_timestamp, stamp);
        assert_eq!(r.nodes.len(), usize::from(version >= 2));
    }
}

/// DescribeQuorum of anything but `__cluster_metadata-0` is refused, and the
/// refusal names the partition asked about with the error.
#[test]
fn describe_quorum_of_another_partition_is_unknown() {
    use kafka_protocol::messages::describe_quorum_request::{PartitionData, TopicData};
    use kafka_protocol::messages::DescribeQuorumRequest;
    let ask = |name: &'static str, index| {
        DescribeQuorumRequest::default().with_topics(vec![TopicData::default()
            .with_topic_name(TopicName(StrBytes::from_static_str(name)))
            .with_partitions(vec![PartitionData::default().with_partition_index(index)])])
    };
    assert_eq!(check_describe_quorum(&ask(METADATA_TOPIC, 0)), Ok(()));
    for bad in [ask(METADATA_TOPIC, 1), ask("orders", 0), DescribeQuorumRequest::default()] {
        assert_eq!(check_describe_quorum(&bad), Err(WireError::WrongPartition));
    }
    let r = wire(&describe_quorum_error(2, &ask("orders", 0), ResponseError::UnknownTopicOrPartition), 2);
    assert_eq!(r.topics[0].partitions[0].error_code, ResponseError::UnknownTopicOrPartition.code());
    assert!(r.topics[0].partitions[0].error_message.is_some());
}
