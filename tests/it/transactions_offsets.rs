//! Chapter 9, the group coordinator's part of a transaction: TxnOffsetCommit
//! (KIP-98, KIP-447) over real TCP, spoken by the raw client of `tests/it/wire/`.
//! The transaction coordinator is played by the test: it sends the
//! transaction's COMMIT or ABORT marker to the group's `__consumer_offsets`
//! partition with WriteTxnMarkers, whose handler appends it and tells the
//! group coordinator (`Broker::complete_txn`). With no transaction
//! coordinator to ask, KIP-890's verification of the group's offsets
//! partition is switched off here (as in Kafka before 3.6);
//! `tests/it/transactions_verify.rs` has the verified path.
//!
//! ```text
//! cargo test --test it transactions_offsets::
//! ```

use crate::wire::harness;
use crate::wire::requests;

use kafka_protocol::messages::offset_commit_request::{
    OffsetCommitRequestPartition, OffsetCommitRequestTopic,
};
use kafka_protocol::messages::offset_fetch_request::OffsetFetchRequestTopic;
use kafka_protocol::messages::txn_offset_commit_request::{
    TxnOffsetCommitRequestPartition, TxnOffsetCommitRequestTopic,
};
use kafka_protocol::messages::write_txn_markers_request::{WritableTxnMarker, WritableTxnMarkerTopic};
use kafka_protocol::messages::{
    GroupId, OffsetCommitRequest, OffsetFetchRequest, ProducerId, TransactionalId, TxnOffsetCommitRequest,
    WriteTxnMarkersRequest,
};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;
use spool::group::{partition_for, CONSUMER_OFFSETS_TOPIC};

use harness::{code, name, start, Client};
use requests::create_topic;

const TXN_COMMIT_V: i16 = 3;
const OFFSETS_PARTITIONS: i32 = 3;

fn s(v: &str) -> StrBytes {
    StrBytes::from_string(v.to_string())
}

fn config(c: &mut spool::config::BrokerConfig) {
    c.offsets_topic_num_partitions = OFFSETS_PARTITIONS;
    // The test plays the transaction coordinator: nobody could verify.
    c.transactions.partition_verification_enable = false;
}

/// A TxnOffsetCommit of producer `pid` at `epoch` with no member (what a
/// producer sends for a consumer that assigns itself partitions).
fn txn_commit_request(group: &str, pid: i64, epoch: i16, offsets: &[(i32, i64)]) -> TxnOffsetCommitRequest {
    TxnOffsetCommitRequest::default()
        .with_transactional_id(TransactionalId(s("tx")))
        .with_group_id(GroupId(s(group)))
        .with_producer_id(ProducerId(pid))
        .with_producer_epoch(epoch)
        .with_generation_id(-1)
        .with_topics(vec![TxnOffsetCommitRequestTopic::default().with_name(name("in")).with_partitions(
            offsets
                .iter()
                .map(|&(p, o)| {
                    TxnOffsetCommitRequestPartition::default()
                        .with_partition_index(p)
                        .with_committed_offset(o)
                        .with_committed_metadata(Some(s("txn")))
                })
                .collect(),
        )])
}

/// Each partition's error code.
async fn txn_commit(client: &mut Client, v: i16, request: &TxnOffsetCommitRequest) -> Vec<i16> {
    let response = client.request(v, request).await;
    response.topics.iter().flat_map(|t| t.partitions.iter().map(|p| p.error_code)).collect()
}

/// A plain OffsetCommit (generation -1), each partition's error code.
async fn commit(client: &mut Client, group: &str, offsets: &[(i32, i64)]) -> Vec<i16> {
    let request = OffsetCommitRequest::default()
        .with_group_id(GroupId(s(group)))
        .with_generation_id_or_member_epoch(-1)
        .with_topics(vec![OffsetCommitRequestTopic::default().with_name(name("in")).with_partitions(
            offsets
                .iter()
                .map(|&(p, o)| {
                    OffsetCommitRequestPartition::default().with_partition_index(p).with_committed_offset(o)
                })
                .collect(),
        )]);
    let response = client.request(8, &request).await;
    response.topics.iter().flat_map(|t| t.partitions.iter().map(|p| p.error_code)).collect()
}

/// OffsetFetch v7 of partitions 0 and 1 of `in`: (offset, error) of each.
async fn fetch(client: &mut Client, group: &str, require_stable: bool) -> Vec<(i64, i16)> {
    let request = OffsetFetchRequest::default()
        .with_group_id(GroupId(s(group)))
        .with_require_stable(require_stable)
        .with_topics(Some(vec![OffsetFetchRequestTopic::default()
            .with_name(name("in"))
            .with_partition_indexes(vec![0, 1])]));
    let response = client.request(7, &request).await;
    assert_eq!(response.error_code, 0);
    response
        .topics
        .iter()
        .flat_map(|t| t.partitions.iter().map(|p| (p.committed_offset, p.error_code)))
        .collect()
}

/// The transaction coordinator's second phase on the group's
/// `__consumer_offsets` partition: a WriteTxnMarkers v1 for producer `pid`,
/// which appends its COMMIT or ABORT control batch there and tells the group
/// coordinator (`Broker::complete_txn`) before it answers.
async fn write_marker(client: &mut Client, group: &str, pid: i64, epoch: i16, commit: bool) {
    let marker = WritableTxnMarker::default()
        .with_producer_id(ProducerId(pid))
        .with_producer_epoch(epoch)
        .with_transaction_result(commit)
        .with_coordinator_epoch(0)
        .with_topics(vec![WritableTxnMarkerTopic::default()
            .with_name(name(CONSUMER_OFFSETS_TOPIC))
            .with_partition_indexes(vec![partition_for(group, OFFSETS_PARTITIONS)])]);
    let request = WriteTxnMarkersRequest::default().with_markers(vec![marker]);
    let response = client.request(1, &request).await;
    let codes: Vec<i16> = response.markers[0].topics[0].partitions.iter().map(|p| p.error_code).collect();
    assert_eq!(codes, [0], "the marker is written to the group's offsets partition");
}

const UNSTABLE: i16 = 88;

/// KIP-98 end to end on one broker: a transaction's offsets are invisible
/// (UNSTABLE_OFFSET_COMMIT under KIP-447's `require_stable`) until its COMMIT
/// marker, an aborted one's never show, and a plain commit appended after the
/// transaction's record wins over it. After a restart the log replays to the
/// same answers, and a transaction still without its marker is pending again
/// until the marker comes.
#[tokio::test]
async fn transactional_offsets_follow_their_markers_across_a_restart() {
    let broker = start(config).await;
    let mut client = broker.client().await;
    create_topic(&mut client, "in", 2, &[]).await;

    let request = txn_commit_request("g-commit", 1000, 0, &[(0, 10), (1, 20)]);
    assert_eq!(txn_commit(&mut client, TXN_COMMIT_V, &request).await, [0, 0]);
    assert_eq!(fetch(&mut client, "g-commit", false).await, [(-1, 0), (-1, 0)]);
    assert_eq!(fetch(&mut client, "g-commit", true).await, [(-1, UNSTABLE), (-1, UNSTABLE)]);
    assert_eq!(commit(&mut client, "g-commit", &[(1, 25)]).await, [0], "a plain commit, appended later");
    write_marker(&mut client, "g-commit", 1000, 0, true).await;
    assert_eq!(fetch(&mut client, "g-commit", true).await, [(10, 0), (25, 0)]);

    let request = txn_commit_request("g-abort", 1001, 0, &[(0, 30)]);
    assert_eq!(txn_commit(&mut client, TXN_COMMIT_V, &request).await, [0]);
    write_marker(&mut client, "g-abort", 1001, 0, false).await;
    assert_eq!(fetch(&mut client, "g-abort", true).await, [(-1, 0), (-1, 0)]);

    let request = txn_commit_request("g-open", 1002, 0, &[(1, 40)]);
    assert_eq!(txn_commit(&mut client, TXN_COMMIT_V, &request).await, [0]);

    let addr = broker.addr;
    let dir = broker.stop().await;
    let broker = harness::start_on(addr, dir, config).await;
    let mut client = broker.client().await;
    assert_eq!(fetch(&mut client, "g-commit", true).await, [(10, 0), (25, 0)]);
    assert_eq!(fetch(&mut client, "g-abort", true).await, [(-1, 0), (-1, 0)]);
    assert_eq!(fetch(&mut client, "g-open", false).await, [(-1, 0), (-1, 0)]);
    assert_eq!(fetch(&mut client, "g-open", true).await, [(-1, 0), (-1, UNSTABLE)]);
    write_marker(&mut client, "g-open", 1002, 0, true).await;
    assert_eq!(fetch(&mut client, "g-open", true).await, [(-1, 0), (40, 0)]);
}

/// The producer's epoch is checked by `__consumer_offsets`' log, as for its
/// data: a TxnOffsetCommit from an epoch older than one the partition has
/// seen is a zombie's, refused with INVALID_PRODUCER_EPOCH; and the same
/// producer's second commit in one transaction (a batch with sequence 0
/// again, as Kafka writes them) is appended, not taken for a retry — which
/// only a restart, reading the log back, can tell.
#[tokio::test]
async fn a_fenced_producer_cannot_commit_offsets() {
    let broker = start(config).await;
    let mut client = broker.client().await;
    create_topic(&mut client, "in", 2, &[]).await;
    assert_eq!(
        txn_commit(&mut client, TXN_COMMIT_V, &txn_commit_request("g", 2000, 3, &[(0, 1)])).await,
        [0]
    );
    assert_eq!(
        txn_commit(&mut client, TXN_COMMIT_V, &txn_commit_request("g", 2000, 3, &[(0, 2)])).await,
        [0]
    );
    let zombie = txn_commit_request("g", 2000, 2, &[(0, 99)]);
    assert_eq!(
        txn_commit(&mut client, TXN_COMMIT_V, &zombie).await,
        [code(ResponseError::InvalidProducerEpoch)]
    );
    write_marker(&mut client, "g", 2000, 3, true).await;
    assert_eq!(fetch(&mut client, "g", true).await, [(2, 0), (-1, 0)]);
    // The log holds both commits: a restart answers the same.
    let addr = broker.addr;
    let broker = harness::start_on(addr, broker.stop().await, config).await;
    assert_eq!(fetch(&mut broker.client().await, "g", true).await, [(2, 0), (-1, 0)]);
}

/// Every listed version of TxnOffsetCommit decodes, is answered at its
/// version, and commits with its transaction; an unknown partition is
/// UNKNOWN_TOPIC_OR_PARTITION and a v3+ commit naming a member the group
/// does not have is UNKNOWN_MEMBER_ID (KIP-447).
#[tokio::test]
async fn every_listed_txn_offset_commit_version_works() {
    let broker = start(config).await;
    let mut client = broker.client().await;
    create_topic(&mut client, "in", 2, &[]).await;
    for v in 0..=4i16 {
        let group = format!("g-v{v}");
        let pid = 3000 + i64::from(v);
        let request = txn_commit_request(&group, pid, 0, &[(0, i64::from(v)), (7, 1)]);
        let unknown = code(ResponseError::UnknownTopicOrPartition);
        assert_eq!(txn_commit(&mut client, v, &request).await, [0, unknown], "v{v}");
        write_marker(&mut client, &group, pid, 0, true).await;
        assert_eq!(fetch(&mut client, &group, true).await, [(i64::from(v), 0), (-1, 0)], "v{v}");
    }
    let stranger =
        txn_commit_request("g-v3", 3003, 0, &[(0, 5)]).with_generation_id(1).with_member_id(s("nobody"));
    assert_eq!(txn_commit(&mut client, 3, &stranger).await, [code(ResponseError::UnknownMemberId)]);
}
