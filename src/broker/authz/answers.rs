//! The answers to requests refused whole: every entry they name carries the
//! code, as Kafka's handlers answer them.

use kafka_protocol::messages as m;
use kafka_protocol::messages::{BrokerId, ProducerId, ResponseKind};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;

pub(super) fn produce(r: &m::ProduceRequest, code: ResponseError) -> ResponseKind {
    let topics = (r.topic_data.iter())
        .map(|t| {
            let partitions = (t.partition_data.iter())
                .map(|p| {
                    m::produce_response::PartitionProduceResponse::default()
                        .with_index(p.index)
                        .with_error_code(code.code())
                        .with_base_offset(-1)
                })
                .collect();
            m::produce_response::TopicProduceResponse::default()
                .with_name(t.name.clone())
                .with_partition_responses(partitions)
        })
        .collect();
    ResponseKind::Produce(m::ProduceResponse::default().with_responses(topics))
}

pub(super) fn fetch(r: &m::FetchRequest, code: ResponseError) -> ResponseKind {
    let topics = (r.topics.iter())
        .map(|t| {
            let partitions = (t.partitions.iter())
                .map(|p| {
                    m::fetch_response::PartitionData::default()
                        .with_partition_index(p.partition)
                        .with_error_code(code.code())
                        .with_high_watermark(-1)
                })
                .collect();
            m::fetch_response::FetchableTopicResponse::default()
                .with_topic(t.topic.clone())
                .with_partitions(partitions)
        })
        .collect();
    ResponseKind::Fetch(m::FetchResponse::default().with_responses(topics))
}

pub(super) fn offset_for_leader_epoch(
    r: &m::OffsetForLeaderEpochRequest,
    code: ResponseError,
) -> ResponseKind {
    let topics = (r.topics.iter())
        .map(|t| {
            let partitions = (t.partitions.iter())
                .map(|p| {
                    m::offset_for_leader_epoch_response::EpochEndOffset::default()
                        .with_partition(p.partition)
                        .with_error_code(code.code())
                        .with_leader_epoch(-1)
                        .with_end_offset(-1)
                })
                .collect();
            m::offset_for_leader_epoch_response::OffsetForLeaderTopicResult::default()
                .with_topic(t.topic.clone())
                .with_partitions(partitions)
        })
        .collect();
    ResponseKind::OffsetForLeaderEpoch(m::OffsetForLeaderEpochResponse::default().with_topics(topics))
}

pub(super) fn join_group(code: ResponseError) -> ResponseKind {
    ResponseKind::JoinGroup(m::JoinGroupResponse::default().with_error_code(code.code()))
}

pub(super) fn sync_group(code: ResponseError) -> ResponseKind {
    ResponseKind::SyncGroup(m::SyncGroupResponse::default().with_error_code(code.code()))
}

pub(super) fn heartbeat(code: ResponseError) -> ResponseKind {
    ResponseKind::Heartbeat(m::HeartbeatResponse::default().with_error_code(code.code()))
}

pub(super) fn leave_group(code: ResponseError) -> ResponseKind {
    ResponseKind::LeaveGroup(m::LeaveGroupResponse::default().with_error_code(code.code()))
}

pub(super) fn offset_commit(r: &m::OffsetCommitRequest, code: ResponseError) -> ResponseKind {
    use m::offset_commit_response::{OffsetCommitResponsePartition, OffsetCommitResponseTopic};
    let topics = (r.topics.iter())
        .map(|t| {
            let partitions = (t.partitions.iter())
                .map(|p| {
                    OffsetCommitResponsePartition::default()
                        .with_partition_index(p.partition_index)
                        .with_error_code(code.code())
                })
                .collect();
            OffsetCommitResponseTopic::default().with_name(t.name.clone()).with_partitions(partitions)
        })
        .collect();
    ResponseKind::OffsetCommit(m::OffsetCommitResponse::default().with_topics(topics))
}

/// OffsetFetch v0–v7's group refused (v8's groups are answered one by one).
pub(super) fn offset_fetch(code: ResponseError) -> ResponseKind {
    ResponseKind::OffsetFetch(m::OffsetFetchResponse::default().with_error_code(code.code()))
}

pub(super) fn offset_delete(code: ResponseError) -> ResponseKind {
    ResponseKind::OffsetDelete(m::OffsetDeleteResponse::default().with_error_code(code.code()))
}

/// FindCoordinator v0–v3's one key refused: 30 for a group, 53 for a
/// transactional id.
pub(super) fn find_coordinator(key_type: i8) -> ResponseKind {
    ResponseKind::FindCoordinator(
        m::FindCoordinatorResponse::default()
            .with_error_code(coordinator_denied(key_type).code())
            .with_node_id(BrokerId(-1))
            .with_port(-1),
    )
}

/// The code for a coordinator key the principal may not describe.
pub(super) fn coordinator_denied(key_type: i8) -> ResponseError {
    match key_type {
        1 => ResponseError::TransactionalIdAuthorizationFailed,
        _ => ResponseError::GroupAuthorizationFailed,
    }
}

pub(super) fn init_producer_id(code: ResponseError) -> ResponseKind {
    ResponseKind::InitProducerId(
        m::InitProducerIdResponse::default()
            .with_error_code(code.code())
            .with_producer_id(ProducerId(-1))
            .with_producer_epoch(-1),
    )
}

/// AddPartitionsToTxn v4+ (a broker's verification) refused.
pub(super) fn add_partitions_to_txn_batch(code: ResponseError) -> ResponseKind {
    ResponseKind::AddPartitionsToTxn(m::AddPartitionsToTxnResponse::default().with_error_code(code.code()))
}

/// AddPartitionsToTxn v0–v3 refused: every partition 53 when the
/// transactional id is refused, else 29 for the refused topics and
/// OPERATION_NOT_ATTEMPTED for the rest, as Kafka does.
pub(super) fn add_partitions_to_txn(
    r: &m::AddPartitionsToTxnRequest,
    txn_ok: bool,
    may_write: impl Fn(&str) -> bool,
) -> ResponseKind {
    use m::add_partitions_to_txn_response::{
        AddPartitionsToTxnPartitionResult, AddPartitionsToTxnTopicResult,
    };
    let topics = (r.v3_and_below_topics.iter())
        .map(|t| {
            let code = if !txn_ok {
                ResponseError::TransactionalIdAuthorizationFailed
            } else if !may_write(t.name.as_str()) {
                ResponseError::TopicAuthorizationFailed
            } else {
                ResponseError::OperationNotAttempted
            };
            let partitions = (t.partitions.iter())
                .map(|&p| {
                    AddPartitionsToTxnPartitionResult::default()
                        .with_partition_index(p)
                        .with_partition_error_code(code.code())
                })
                .collect();
            AddPartitionsToTxnTopicResult::default()
                .with_name(t.name.clone())
                .with_results_by_partition(partitions)
        })
        .collect();
    ResponseKind::AddPartitionsToTxn(
        m::AddPartitionsToTxnResponse::default().with_results_by_topic_v3_and_below(topics),
    )
}

pub(super) fn add_offsets_to_txn(code: ResponseError) -> ResponseKind {
    ResponseKind::AddOffsetsToTxn(m::AddOffsetsToTxnResponse::default().with_error_code(code.code()))
}

pub(super) fn end_txn(code: ResponseError) -> ResponseKind {
    ResponseKind::EndTxn(
        m::EndTxnResponse::default()
            .with_error_code(code.code())
            .with_producer_id(ProducerId(-1))
            .with_producer_epoch(-1),
    )
}

pub(super) fn txn_offset_commit(r: &m::TxnOffsetCommitRequest, code: ResponseError) -> ResponseKind {
    use m::txn_offset_commit_response::{TxnOffsetCommitResponsePartition, TxnOffsetCommitResponseTopic};
    let topics = (r.topics.iter())
        .map(|t| {
            let partitions = (t.partitions.iter())
                .map(|p| {
                    TxnOffsetCommitResponsePartition::default()
                        .with_partition_index(p.partition_index)
                        .with_error_code(code.code())
                })
                .collect();
            TxnOffsetCommitResponseTopic::default().with_name(t.name.clone()).with_partitions(partitions)
        })
        .collect();
    ResponseKind::TxnOffsetCommit(m::TxnOffsetCommitResponse::default().with_topics(topics))
}

pub(super) fn write_txn_markers(r: &m::WriteTxnMarkersRequest, code: ResponseError) -> ResponseKind {
    use m::write_txn_markers_response::{
        WritableTxnMarkerPartitionResult, WritableTxnMarkerResult, WritableTxnMarkerTopicResult,
    };
    let markers = (r.markers.iter())
        .map(|marker| {
            let topics = (marker.topics.iter())
                .map(|t| {
                    let partitions = (t.partition_indexes.iter())
                        .map(|&p| {
                            WritableTxnMarkerPartitionResult::default()
                                .with_partition_index(p)
                                .with_error_code(code.code())
                        })
                        .collect();
                    WritableTxnMarkerTopicResult::default()
                        .with_name(t.name.clone())
                        .with_partitions(partitions)
                })
                .collect();
            WritableTxnMarkerResult::default().with_producer_id(marker.producer_id).with_topics(topics)
        })
        .collect();
    ResponseKind::WriteTxnMarkers(m::WriteTxnMarkersResponse::default().with_markers(markers))
}

pub(super) fn describe_log_dirs(code: ResponseError) -> ResponseKind {
    ResponseKind::DescribeLogDirs(m::DescribeLogDirsResponse::default().with_error_code(code.code()))
}

pub(super) fn describe_cluster(code: ResponseError) -> ResponseKind {
    ResponseKind::DescribeCluster(
        m::DescribeClusterResponse::default()
            .with_error_code(code.code())
            .with_error_message(Some(StrBytes::from_static_str("not authorized to describe the cluster"))),
    )
}

/// ElectLeaders refused: the top-level code, and each named partition's.
pub(super) fn elect_leaders(r: &m::ElectLeadersRequest, code: ResponseError) -> ResponseKind {
    use m::elect_leaders_response::{PartitionResult, ReplicaElectionResult};
    let results = (r.topic_partitions.iter().flatten())
        .map(|t| {
            let partitions = (t.partitions.iter())
                .map(|&p| PartitionResult::default().with_partition_id(p).with_error_code(code.code()))
                .collect();
            ReplicaElectionResult::default().with_topic(t.topic.clone()).with_partition_result(partitions)
        })
        .collect();
    ResponseKind::ElectLeaders(
        m::ElectLeadersResponse::default()
            .with_error_code(code.code())
            .with_replica_election_results(results),
    )
}

pub(super) fn create_acls(r: &m::CreateAclsRequest, code: ResponseError) -> ResponseKind {
    let results = (r.creations.iter())
        .map(|_| m::create_acls_response::AclCreationResult::default().with_error_code(code.code()));
    ResponseKind::CreateAcls(m::CreateAclsResponse::default().with_results(results.collect()))
}

pub(super) fn delete_acls(r: &m::DeleteAclsRequest, code: ResponseError) -> ResponseKind {
    let results = (r.filters.iter())
        .map(|_| m::delete_acls_response::DeleteAclsFilterResult::default().with_error_code(code.code()));
    ResponseKind::DeleteAcls(m::DeleteAclsResponse::default().with_filter_results(results.collect()))
}

pub(super) fn describe_acls(code: ResponseError) -> ResponseKind {
    ResponseKind::DescribeAcls(m::DescribeAclsResponse::default().with_error_code(code.code()))
}

/// AlterClientQuotas refused (AlterConfigs on the cluster): every entry's code.
pub(super) fn alter_client_quotas(r: &m::AlterClientQuotasRequest, code: ResponseError) -> ResponseKind {
    use m::alter_client_quotas_response::{EntityData, EntryData};
    let entries = (r.entries.iter())
        .map(|e| {
            let entity = (e.entity.iter())
                .map(|d| {
                    EntityData::default()
                        .with_entity_type(d.entity_type.clone())
                        .with_entity_name(d.entity_name.clone())
                })
                .collect();
            EntryData::default().with_error_code(code.code()).with_entity(entity)
        })
        .collect();
    ResponseKind::AlterClientQuotas(m::AlterClientQuotasResponse::default().with_entries(entries))
}

/// DescribeClientQuotas refused (DescribeConfigs on the cluster).
pub(super) fn describe_client_quotas(code: ResponseError) -> ResponseKind {
    ResponseKind::DescribeClientQuotas(
        m::DescribeClientQuotasResponse::default()
            .with_error_code(code.code())
            .with_entries(None)
            .with_error_message(Some(StrBytes::from_static_str(
                "not authorized to describe the cluster's configs",
            ))),
    )
}

/// AlterUserScramCredentials refused (Alter on the cluster): every user's code.
pub(super) fn alter_user_scram_credentials(
    r: &m::AlterUserScramCredentialsRequest,
    code: ResponseError,
) -> ResponseKind {
    use m::alter_user_scram_credentials_response::AlterUserScramCredentialsResult;
    let users = (r.deletions.iter().map(|d| &d.name)).chain(r.upsertions.iter().map(|u| &u.name));
    let mut results: Vec<AlterUserScramCredentialsResult> = Vec::new();
    for user in users {
        if !results.iter().any(|r| &r.user == user) {
            results.push(
                AlterUserScramCredentialsResult::default()
                    .with_user(user.clone())
                    .with_error_code(code.code()),
            );
        }
    }
    ResponseKind::AlterUserScramCredentials(
        m::AlterUserScramCredentialsResponse::default().with_results(results),
    )
}

/// DescribeUserScramCredentials refused (Describe on the cluster).
pub(super) fn describe_user_scram_credentials(code: ResponseError) -> ResponseKind {
    ResponseKind::DescribeUserScramCredentials(
        m::DescribeUserScramCredentialsResponse::default().with_error_code(code.code()),
    )
}
