//! Bad input: Kafka's handlers' checks, answered with Kafka's errors.

use kafka_protocol::messages::{fetch_request, vote_request, BrokerId, FetchRequest, TopicName};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;

use super::*;
/// Kafka's handlers: another cluster's request is INCONSISTENT_CLUSTER_ID
/// (a request with no cluster id is accepted), another topic or partition
/// INVALID_REQUEST at top level; both come back to the sender as refusals.
#[test]
fn another_cluster_or_partition_is_refused_at_top_level() {
    let vote = Message::VoteRequest { epoch: 2, last_epoch: 1, end_offset: 5, pre_vote: false };
    let Some(RaftRequest::Vote(mut r)) = request(&ctx(FOLLOWER), LEADER, &vote) else { panic!() };
    let mut stranger = ctx(LEADER);
    stranger.cluster_id = "another".into();
    let error = parse_request(&stranger, &RaftRequest::Vote(r.clone())).unwrap_err();
    assert_eq!(error.code(), ResponseError::InconsistentClusterId.code());
    let answer = wire_response(error_response(RpcKind::Vote, 2, &error, 3, Some(1)), 2);
    assert_eq!(parse_response(&vote, &answer), Err(WireError::Refused(104)));

    r.cluster_id = None;
    assert!(parse_request(&stranger, &RaftRequest::Vote(r.clone())).is_ok());

    r.topics[0].partitions[0].partition_index = 1;
    assert_eq!(parse_request(&ctx(LEADER), &RaftRequest::Vote(r.clone())), Err(WireError::WrongPartition));
    r.topics[0].partitions[0].partition_index = 0;
    r.topics[0].topic_name = TopicName(StrBytes::from_static_str("orders"));
    let error = parse_request(&ctx(LEADER), &RaftRequest::Vote(r.clone())).unwrap_err();
    assert_eq!((error.code(), error.is_top_level()), (ResponseError::InvalidRequest.code(), true));
    r.topics.clear();
    assert_eq!(parse_request(&ctx(LEADER), &RaftRequest::Vote(r)), Err(WireError::WrongPartition));
}

/// A Fetch for two partitions, another topic id, or none is refused.
#[test]
fn a_fetch_of_anything_but_the_metadata_partition_is_refused() {
    let fetch = Message::FetchRequest { epoch: 2, fetch_offset: 0, last_fetched_epoch: 0 };
    let Some(RaftRequest::Fetch(r)) = request(&ctx(FOLLOWER), LEADER, &fetch) else { panic!() };
    let mut two = r.clone();
    two.topics[0].partitions.push(fetch_request::FetchPartition::default().with_partition(1));
    let mut other = r.clone();
    other.topics[0].topic_id = uuid::Uuid::from_u64_pair(7, 7);
    let mut none = r.clone();
    none.topics.clear();
    for bad in [two, other, none] {
        assert_eq!(parse_request(&ctx(LEADER), &RaftRequest::Fetch(bad)), Err(WireError::WrongPartition));
    }
}

/// Fields out of range are INVALID_REQUEST (KafkaRaftClient's checks):
/// negative ids, offsets and epochs, a candidate whose log is of its own
/// epoch, a fetched epoch past the fetcher's, and a Vote meant for another
/// voter is INVALID_VOTER_KEY.
#[test]
fn fields_out_of_range_are_invalid_requests() {
    let invalid = |request: RaftRequest| match parse_request(&ctx(LEADER), &request) {
        Err(WireError::InvalidRequest(_)) => {}
        other => panic!("{request:?} gave {other:?}"),
    };
    let vote = |f: &dyn Fn(&mut vote_request::PartitionData)| {
        let message = Message::VoteRequest { epoch: 2, last_epoch: 1, end_offset: 5, pre_vote: false };
        let Some(RaftRequest::Vote(mut r)) = request(&ctx(FOLLOWER), LEADER, &message) else { panic!() };
        f(&mut r.topics[0].partitions[0]);
        RaftRequest::Vote(r)
    };
    invalid(vote(&|p| p.replica_id = BrokerId(-1)));
    invalid(vote(&|p| p.last_offset = -1));
    invalid(vote(&|p| p.last_offset_epoch = -1));
    invalid(vote(&|p| p.last_offset_epoch = 2));
    invalid(vote(&|p| {
        p.pre_vote = true;
        p.replica_epoch = i32::MAX;
        p.last_offset_epoch = 0;
    }));
    let mut elsewhere = vote(&|_| {});
    if let RaftRequest::Vote(r) = &mut elsewhere {
        r.voter_id = BrokerId(3);
    }
    assert_eq!(parse_request(&ctx(LEADER), &elsewhere), Err(WireError::InvalidVoterKey { voter_id: 3 }));

    let fetch = |f: &dyn Fn(&mut FetchRequest)| {
        let message = Message::FetchRequest { epoch: 2, fetch_offset: 4, last_fetched_epoch: 1 };
        let Some(RaftRequest::Fetch(mut r)) = request(&ctx(FOLLOWER), LEADER, &message) else { panic!() };
        f(&mut r);
        RaftRequest::Fetch(r)
    };
    invalid(fetch(&|r| r.max_wait_ms = -1));
    invalid(fetch(&|r| r.topics[0].partitions[0].fetch_offset = -1));
    invalid(fetch(&|r| r.topics[0].partitions[0].last_fetched_epoch = -1));
    invalid(fetch(&|r| r.topics[0].partitions[0].last_fetched_epoch = 3));

    let begin = Message::BeginQuorumEpoch { epoch: 2 };
    let Some(RaftRequest::BeginQuorumEpoch(mut r)) = request(&ctx(FOLLOWER), LEADER, &begin) else {
        panic!()
    };
    r.topics[0].partitions[0].leader_id = BrokerId(-5);
    invalid(RaftRequest::BeginQuorumEpoch(r));
    let end = Message::EndQuorumEpoch { epoch: 2, preferred_successors: vec![3] };
    let Some(RaftRequest::EndQuorumEpoch(mut r)) = request(&ctx(FOLLOWER), LEADER, &end) else { panic!() };
    r.topics[0].partitions[0].preferred_candidates[0].candidate_id = BrokerId(-1);
    invalid(RaftRequest::EndQuorumEpoch(r));
}

/// An observer that gives no replica id fetches anonymously: it reads, but
/// the leader does not count it. One that names itself in v15's
/// ReplicaState, or in ReplicaId before, is a replica.
#[test]
fn a_fetch_says_whether_its_sender_named_itself() {
    let message = Message::FetchRequest { epoch: 2, fetch_offset: 4, last_fetched_epoch: 1 };
    let Some(RaftRequest::Fetch(mut r)) = request(&ctx(FOLLOWER), LEADER, &message) else { panic!() };
    let params = |r: &FetchRequest| {
        let incoming = parse_request(&ctx(LEADER), &RaftRequest::Fetch(r.clone())).unwrap();
        (incoming.from, incoming.fetch.unwrap())
    };
    assert_eq!(params(&r), (FOLLOWER, FetchParams { max_wait_ms: 500, max_bytes: 8 << 20, replica: true }));
    r.replica_state.replica_id = BrokerId(-1);
    assert_eq!((params(&r).0, params(&r).1.replica), (-1, false));
    r.replica_id = BrokerId(4);
    assert_eq!((params(&r).0, params(&r).1.replica), (4, true));
}

/// Errors outside the protocol (INVALID_REQUEST at partition level, a
/// top-level error) are refusals for the driver, not messages for the core.
#[test]
fn errors_the_core_does_not_know_are_refusals() {
    let sent = Message::FetchRequest { epoch: 2, fetch_offset: 4, last_fetched_epoch: 1 };
    let invalid = WireError::InvalidRequest("test");
    let answer = wire_response(error_response(RpcKind::Fetch, 17, &invalid, 2, Some(1)), 17);
    assert_eq!(parse_response(&sent, &answer), Err(WireError::Refused(ResponseError::InvalidRequest.code())));
    let RaftResponse::Fetch(mut r) = answer else { panic!() };
    r.error_code = ResponseError::UnknownServerError.code();
    assert_eq!(parse_response(&sent, &RaftResponse::Fetch(r)), Err(WireError::Refused(-1)));
}
