//! Chapter 2's decoders against hostile bytes: whatever a client sends, the broker
//! answers, closes the connection, or refuses the batch — it never panics, and a
//! bad connection never stops it serving the others.
//!
//! ```text
//! cargo test --release --test it wire_fuzz::
//! ```
//!
//! Properties (proptest, modest case counts so CI runs them in seconds):
//!
//! - `parse_frame` on any bytes, in any chunking, never panics and agrees with
//!   itself;
//! - `decode_request` never panics on random bytes, or on valid frames of every
//!   API spool speaks, cut short anywhere;
//! - `validate_batches`, `RecordBatch::parse`, `validate` and `decode_records`
//!   never panic on random bytes or on valid batches (every codec) with bytes
//!   flipped or cut off, and a flipped bit under the CRC is always caught;
//! - a live broker fed random frames keeps serving.
//!
//! Two tests run in a child process, so that an abort is reported rather than
//! killing the test binary: `kafka-protocol` 0.18 as published decodes an array
//! by calling `Vec::with_capacity(count)` with the count read off the wire. A
//! 14-byte request declaring `i32::MAX` topics asked for ~150 GB, the
//! allocation failed, and Rust aborted the broker — a panic handler cannot catch
//! that. Random byte flips in valid frames hit the same path within a few
//! hundred cases. spool builds the crate from `vendor/kafka-protocol`, patched to
//! cap the capacity by the bytes remaining (see `SPOOL-PATCH.md` there); these
//! two tests are what fail if the patch is lost.

use std::process::{Command, Output};
use std::sync::Arc;
use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::create_topics_request::{CreatableTopic, CreatableTopicConfig};
use kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::join_group_request::JoinGroupRequestProtocol;
use kafka_protocol::messages::leave_group_request::MemberIdentity;
use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::offset_commit_request::{
    OffsetCommitRequestPartition, OffsetCommitRequestTopic,
};
use kafka_protocol::messages::offset_fetch_request::{
    OffsetFetchRequestGroup, OffsetFetchRequestTopic, OffsetFetchRequestTopics,
};
use kafka_protocol::messages::offset_for_leader_epoch_request::{
    OffsetForLeaderPartition, OffsetForLeaderTopic,
};
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::sync_group_request::SyncGroupRequestAssignment;
use kafka_protocol::messages::{
    ApiKey, ApiVersionsRequest, ApiVersionsResponse, BrokerId, CreateTopicsRequest, DeleteGroupsRequest,
    DeleteTopicsRequest, DescribeClusterRequest, DescribeConfigsRequest, DescribeGroupsRequest,
    ElectLeadersRequest, FetchRequest, FindCoordinatorRequest, GroupId, HeartbeatRequest,
    InitProducerIdRequest, JoinGroupRequest, LeaveGroupRequest, ListGroupsRequest, ListOffsetsRequest,
    MetadataRequest, OffsetCommitRequest, OffsetFetchRequest, OffsetForLeaderEpochRequest, ProduceRequest,
    RequestHeader, ResponseHeader, SyncGroupRequest, TopicName,
};
use kafka_protocol::protocol::{Decodable, Encodable, Request, StrBytes};
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::{RngAlgorithm, TestRng};
use spool::broker::Broker;
use spool::config::BrokerConfig;
use spool::format::batch::{field, HEADER_SIZE};
use spool::format::{BatchBuilder, Compression, RecordBatch};
use spool::log::validate_batches;
use spool::wire::codec::{decode_request, supported_versions, DecodeError, SUPPORTED};
use spool::wire::frame::parse_frame;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

// ---------------------------------------------------------------------------
// Valid inputs to mutate
// ---------------------------------------------------------------------------

fn name(s: &str) -> TopicName {
    TopicName(StrBytes::from_string(s.to_string()))
}

/// A request frame without its size prefix: header, then `body` already encoded
/// at `body_version` (which differs from `version` only for the old Produce and
/// Fetch versions, whose bodies spool rewrites).
fn frame_with_body(api_key: ApiKey, version: i16, body: &[u8]) -> Bytes {
    let header = RequestHeader::default()
        .with_request_api_key(api_key as i16)
        .with_request_api_version(version)
        .with_correlation_id(42)
        .with_client_id(Some(StrBytes::from_static_str("fuzz")));
    let mut buf = BytesMut::new();
    header.encode(&mut buf, api_key.request_header_version(version)).expect("header");
    buf.put_slice(body);
    buf.freeze()
}

fn frame<R: Request>(version: i16, body: &R) -> Bytes {
    let mut encoded = BytesMut::new();
    body.encode(&mut encoded, version).expect("body");
    let api_key = ApiKey::try_from(R::KEY).expect("a known key");
    assert_eq!(R::header_version(version), api_key.request_header_version(version));
    frame_with_body(api_key, version, &encoded)
}

fn encoded<R: Encodable>(version: i16, body: &R) -> Vec<u8> {
    let mut buf = BytesMut::new();
    body.encode(&mut buf, version).expect("body");
    buf.to_vec()
}

/// One batch of two records, compressed with `compression`.
fn valid_batch(compression: Compression) -> Bytes {
    let mut builder = BatchBuilder::new(compression);
    builder.append(1_700_000_000_000, Some(b"key-0"), Some(b"a value to squeeze"), &[("h", Some(b"v"))]);
    builder.append(1_700_000_000_005, None, Some(b"a value to squeeze, again"), &[]);
    builder.build().as_bytes().clone()
}

/// A valid frame for every API spool speaks, at its oldest, a middle and its
/// newest version (Produce v0–v2, which the codec crate cannot encode, by hand).
fn valid_frames() -> Vec<Bytes> {
    let records = valid_batch(Compression::None);
    let produce = ProduceRequest::default().with_acks(1).with_timeout_ms(1_000).with_topic_data(vec![
        TopicProduceData::default().with_name(name("t")).with_partition_data(vec![
            PartitionProduceData::default().with_index(0).with_records(Some(records)),
        ]),
    ]);
    let fetch = FetchRequest::default().with_max_wait_ms(100).with_min_bytes(1).with_topics(vec![
        FetchTopic::default().with_topic(name("t")).with_partitions(vec![FetchPartition::default()
            .with_fetch_offset(3)
            .with_partition_max_bytes(1 << 20)]),
    ]);
    let metadata = MetadataRequest::default()
        .with_topics(Some(vec![MetadataRequestTopic::default().with_name(Some(name("t")))]))
        .with_allow_auto_topic_creation(true);
    let create =
        CreateTopicsRequest::default().with_timeout_ms(1_000).with_topics(vec![CreatableTopic::default()
            .with_name(name("t"))
            .with_num_partitions(3)
            .with_replication_factor(-1)
            .with_configs(vec![CreatableTopicConfig::default()
                .with_name(StrBytes::from_static_str("retention.ms"))
                .with_value(Some(StrBytes::from_static_str("1000")))])]);
    let list_offsets = ListOffsetsRequest::default().with_topics(vec![ListOffsetsTopic::default()
        .with_name(name("t"))
        .with_partitions(vec![ListOffsetsPartition::default().with_timestamp(-2)])]);
    let describe = DescribeConfigsRequest::default().with_resources(vec![DescribeConfigsResource::default()
        .with_resource_type(2)
        .with_resource_name(StrBytes::from_static_str("t"))
        .with_configuration_keys(Some(vec![StrBytes::from_static_str("retention.ms")]))]);
    let find = |v: i16| {
        let r = FindCoordinatorRequest::default();
        if v >= 4 {
            r.with_coordinator_keys(vec![StrBytes::from_static_str("g")])
        } else {
            r.with_key(StrBytes::from_static_str("g"))
        }
    };
    let mut frames = Vec::new();
    for v in [0, 3, 4] {
        frames.push(frame(v, &ApiVersionsRequest::default()));
    }
    for v in [0, 4, 9, 12] {
        frames.push(frame(v, &metadata));
    }
    for v in [3, 7, 9, 11] {
        frames.push(frame(v, &produce));
    }
    // Produce v0–v2: v3's body without its leading null transactional id.
    let v3 = encoded(3, &produce);
    for v in 0..=2 {
        frames.push(frame_with_body(ApiKey::Produce, v, &v3[2..]));
    }
    for v in [4, 7, 11, 12] {
        frames.push(frame(v, &fetch));
    }
    for v in [1, 5, 6] {
        frames.push(frame(v, &list_offsets));
    }
    for v in [2, 5, 7] {
        frames.push(frame(v, &create));
    }
    for v in [1, 4, 5] {
        frames.push(frame(v, &DeleteTopicsRequest::default().with_topic_names(vec![name("t")])));
    }
    // Issue 17: CreatePartitions (t to 4 partitions, placed by the controller).
    let grow =
        kafka_protocol::messages::CreatePartitionsRequest::default().with_timeout_ms(1_000).with_topics(
            vec![kafka_protocol::messages::create_partitions_request::CreatePartitionsTopic::default()
                .with_name(name("t"))
                .with_count(4)
                .with_assignments(None)],
        );
    for v in [0, 2, 3] {
        frames.push(frame(v, &grow));
    }
    for v in [0, 2, 4] {
        frames.push(frame(v, &InitProducerIdRequest::default().with_transaction_timeout_ms(1_000)));
    }
    for v in [1, 4] {
        frames.push(frame(v, &describe));
    }
    for v in [0, 1] {
        frames.push(frame(v, &DescribeClusterRequest::default()));
    }
    for v in [0, 3, 4] {
        frames.push(frame(v, &find(v)));
    }
    let epochs = OffsetForLeaderEpochRequest::default().with_replica_id(BrokerId(-1)).with_topics(vec![
        OffsetForLeaderTopic::default().with_topic(name("t")).with_partitions(vec![
            OffsetForLeaderPartition::default()
                .with_partition(0)
                .with_current_leader_epoch(0)
                .with_leader_epoch(0),
        ]),
    ]);
    for v in [2, 3, 4] {
        frames.push(frame(v, &epochs));
    }
    group_frames(&mut frames);
    transaction_frames(&mut frames);
    // Only what spool speaks today, should SUPPORTED shrink.
    frames.retain(|f| {
        let key = ApiKey::try_from(i16::from_be_bytes([f[0], f[1]])).expect("a known key");
        let version = i16::from_be_bytes([f[2], f[3]]);
        supported_versions(key).is_some_and(|(min, max)| (min..=max).contains(&version))
    });
    assert!(frames.len() >= 30, "SUPPORTED shrank: {} frames left", frames.len());
    frames
}

/// Chapter 9's transaction APIs, at their oldest, a middle and their newest
/// version (AddPartitionsToTxn v4 in its batched, verify-only form), and the
/// coordinator's WriteTxnMarkers to partition leaders.
fn transaction_frames(frames: &mut Vec<Bytes>) {
    use kafka_protocol::messages::add_partitions_to_txn_request::{
        AddPartitionsToTxnTopic, AddPartitionsToTxnTransaction,
    };
    use kafka_protocol::messages::write_txn_markers_request::{WritableTxnMarker, WritableTxnMarkerTopic};
    use kafka_protocol::messages::{
        AddOffsetsToTxnRequest, AddPartitionsToTxnRequest, DescribeTransactionsRequest, EndTxnRequest,
        ListTransactionsRequest, ProducerId, TransactionalId, WriteTxnMarkersRequest,
    };
    let id = || TransactionalId(StrBytes::from_static_str("tx"));
    let topics = vec![AddPartitionsToTxnTopic::default().with_name(name("t")).with_partitions(vec![0])];
    for v in [0, 2, 3] {
        let add = AddPartitionsToTxnRequest::default()
            .with_v3_and_below_transactional_id(id())
            .with_v3_and_below_producer_id(ProducerId(1))
            .with_v3_and_below_topics(topics.clone());
        frames.push(frame(v, &add));
        let offsets = AddOffsetsToTxnRequest::default()
            .with_transactional_id(id())
            .with_producer_id(ProducerId(1))
            .with_group_id(GroupId(StrBytes::from_static_str("g")));
        frames.push(frame(v, &offsets));
        let end = EndTxnRequest::default().with_transactional_id(id()).with_producer_id(ProducerId(1));
        frames.push(frame(v, &end.with_committed(true)));
    }
    let verify = AddPartitionsToTxnTransaction::default()
        .with_transactional_id(id())
        .with_producer_id(ProducerId(1))
        .with_verify_only(true)
        .with_topics(topics);
    frames.push(frame(4, &AddPartitionsToTxnRequest::default().with_transactions(vec![verify])));
    frames.push(frame(0, &DescribeTransactionsRequest::default().with_transactional_ids(vec![id()])));
    for v in [0, 1] {
        frames.push(frame(v, &ListTransactionsRequest::default()));
    }
    let marker = WritableTxnMarker::default()
        .with_producer_id(ProducerId(1))
        .with_transaction_result(true)
        .with_topics(vec![WritableTxnMarkerTopic::default()
            .with_name(name("t"))
            .with_partition_indexes(vec![0])]);
    // The codec crate knows v1 only (v0 is v1 without flexible versions).
    frames.push(frame(1, &WriteTxnMarkersRequest::default().with_markers(vec![marker])));
}

/// Chapter 5's group APIs, each at its oldest, a middle and its newest version.
fn group_frames(frames: &mut Vec<Bytes>) {
    let s = |v: &str| StrBytes::from_string(v.to_string());
    let group = || GroupId(s("g"));
    let join = JoinGroupRequest::default()
        .with_group_id(group())
        .with_session_timeout_ms(10_000)
        .with_rebalance_timeout_ms(10_000)
        .with_protocol_type(s("consumer"))
        .with_protocols(vec![JoinGroupRequestProtocol::default()
            .with_name(s("range"))
            .with_metadata(Bytes::from_static(b"sub"))]);
    let sync =
        SyncGroupRequest::default().with_group_id(group()).with_generation_id(1).with_member_id(s("m"));
    let sync = |v: i16| {
        let assignment =
            SyncGroupRequestAssignment::default().with_member_id(s("m")).with_assignment(Bytes::new());
        let r = sync.clone().with_assignments(vec![assignment]);
        if v >= 5 {
            r.with_protocol_type(Some(s("consumer"))).with_protocol_name(Some(s("range")))
        } else {
            r
        }
    };
    let heartbeat =
        HeartbeatRequest::default().with_group_id(group()).with_generation_id(1).with_member_id(s("m"));
    let leave = |v: i16| {
        let r = LeaveGroupRequest::default().with_group_id(group());
        if v >= 3 {
            r.with_members(vec![MemberIdentity::default().with_member_id(s("m"))])
        } else {
            r.with_member_id(s("m"))
        }
    };
    let commit = OffsetCommitRequest::default()
        .with_group_id(group())
        .with_generation_id_or_member_epoch(1)
        .with_topics(vec![OffsetCommitRequestTopic::default()
            .with_name(name("t"))
            .with_partitions(vec![OffsetCommitRequestPartition::default().with_committed_offset(5)])]);
    let fetch = |v: i16| {
        if v >= 8 {
            OffsetFetchRequest::default().with_groups(vec![OffsetFetchRequestGroup::default()
                .with_group_id(group())
                .with_topics(Some(vec![OffsetFetchRequestTopics::default()
                    .with_name(name("t"))
                    .with_partition_indexes(vec![0])]))])
        } else {
            OffsetFetchRequest::default().with_group_id(group()).with_topics(Some(vec![
                OffsetFetchRequestTopic::default().with_name(name("t")).with_partition_indexes(vec![0]),
            ]))
        }
    };
    for v in [0, 4, 9] {
        frames.push(frame(v, &join));
    }
    for v in [0, 3, 5] {
        frames.push(frame(v, &sync(v)));
    }
    for v in [0, 3, 4] {
        frames.push(frame(v, &heartbeat));
    }
    for v in [0, 3, 5] {
        frames.push(frame(v, &leave(v)));
    }
    for v in [2, 6, 8] {
        frames.push(frame(v, &commit));
    }
    for v in [1, 6, 8] {
        frames.push(frame(v, &fetch(v)));
    }
    for v in [0, 4] {
        frames.push(frame(v, &ListGroupsRequest::default()));
    }
    for v in [0, 5] {
        frames.push(frame(v, &DescribeGroupsRequest::default().with_groups(vec![group()])));
    }
    for v in [0, 2] {
        frames.push(frame(v, &DeleteGroupsRequest::default().with_groups_names(vec![group()])));
    }
    // Chapter 9: a transaction's offsets (v3 adds the member, KIP-447).
    let txn_commit = kafka_protocol::messages::TxnOffsetCommitRequest::default()
        .with_group_id(group())
        .with_producer_id(kafka_protocol::messages::ProducerId(7))
        .with_topics(vec![kafka_protocol::messages::txn_offset_commit_request::TxnOffsetCommitRequestTopic::default()
            .with_name(name("t"))
            .with_partitions(vec![
                kafka_protocol::messages::txn_offset_commit_request::TxnOffsetCommitRequestPartition::default()
                    .with_committed_offset(5),
            ])]);
    for v in [0, 3, 4] {
        frames.push(frame(v, &txn_commit));
    }
    // KIP-664: a partition's producer table.
    let describe_producers = kafka_protocol::messages::DescribeProducersRequest::default().with_topics(vec![
        kafka_protocol::messages::describe_producers_request::TopicRequest::default()
            .with_name(name("t"))
            .with_partition_indexes(vec![0]),
    ]);
    frames.push(frame(0, &describe_producers));
    // Issue 17: records deleted below an offset.
    let delete_records = kafka_protocol::messages::DeleteRecordsRequest::default()
        .with_timeout_ms(1_000)
        .with_topics(vec![kafka_protocol::messages::delete_records_request::DeleteRecordsTopic::default()
            .with_name(name("t"))
            .with_partitions(vec![
                kafka_protocol::messages::delete_records_request::DeleteRecordsPartition::default()
                    .with_offset(3),
            ])]);
    for v in [0, 2] {
        frames.push(frame(v, &delete_records));
    }
    // KIP-496: delete a group's offsets.
    let offset_delete =
        kafka_protocol::messages::OffsetDeleteRequest::default().with_group_id(group()).with_topics(vec![
            kafka_protocol::messages::offset_delete_request::OffsetDeleteRequestTopic::default()
                .with_name(name("t"))
                .with_partitions(vec![
                    kafka_protocol::messages::offset_delete_request::OffsetDeleteRequestPartition::default(),
                ]),
        ]);
    frames.push(frame(0, &offset_delete));
    // Chapter 11: the ACL APIs (answered SECURITY_DISABLED without an authorizer).
    for v in [1, 3] {
        let creation = kafka_protocol::messages::create_acls_request::AclCreation::default()
            .with_resource_type(2)
            .with_resource_name(name("t").0)
            .with_resource_pattern_type(3)
            .with_principal(kafka_protocol::protocol::StrBytes::from_static_str("User:a"))
            .with_host(kafka_protocol::protocol::StrBytes::from_static_str("*"))
            .with_operation(3)
            .with_permission_type(3);
        let create = kafka_protocol::messages::CreateAclsRequest::default().with_creations(vec![creation]);
        frames.push(frame(v, &create));
        let describe = kafka_protocol::messages::DescribeAclsRequest::default()
            .with_resource_type_filter(1)
            .with_pattern_type_filter(1)
            .with_operation(1)
            .with_permission_type(1);
        frames.push(frame(v, &describe));
        let filter = kafka_protocol::messages::delete_acls_request::DeleteAclsFilter::default()
            .with_resource_type_filter(1)
            .with_pattern_type_filter(1)
            .with_operation(1)
            .with_permission_type(1);
        frames.push(frame(
            v,
            &kafka_protocol::messages::DeleteAclsRequest::default().with_filters(vec![filter]),
        ));
    }
    // KIP-113: the log directories (all partitions, then one topic's).
    for v in [1, 4] {
        frames.push(frame(v, &kafka_protocol::messages::DescribeLogDirsRequest::default().with_topics(None)));
        let topic = kafka_protocol::messages::describe_log_dirs_request::DescribableLogDirTopic::default()
            .with_topic(name("t"))
            .with_partitions(vec![0]);
        frames.push(frame(
            v,
            &kafka_protocol::messages::DescribeLogDirsRequest::default().with_topics(Some(vec![topic])),
        ));
    }
    // Issue 17: a topic's configs altered, incrementally and whole.
    let incremental =
        kafka_protocol::messages::IncrementalAlterConfigsRequest::default().with_resources(vec![
            kafka_protocol::messages::incremental_alter_configs_request::AlterConfigsResource::default()
                .with_resource_type(2)
                .with_resource_name(StrBytes::from_static_str("t"))
                .with_configs(vec![
                    kafka_protocol::messages::incremental_alter_configs_request::AlterableConfig::default()
                        .with_name(StrBytes::from_static_str("retention.ms"))
                        .with_value(Some(StrBytes::from_static_str("1000"))),
                ]),
        ]);
    for v in [0, 1] {
        frames.push(frame(v, &incremental));
    }
    let whole = kafka_protocol::messages::AlterConfigsRequest::default().with_resources(vec![
        kafka_protocol::messages::alter_configs_request::AlterConfigsResource::default()
            .with_resource_type(2)
            .with_resource_name(StrBytes::from_static_str("t"))
            .with_configs(vec![kafka_protocol::messages::alter_configs_request::AlterableConfig::default()
                .with_name(StrBytes::from_static_str("segment.ms"))
                .with_value(Some(StrBytes::from_static_str("60000")))]),
    ]);
    for v in [0, 2] {
        frames.push(frame(v, &whole));
    }
    // KIP-966: one page of partitions, from a cursor.
    let describe_topic_partitions = kafka_protocol::messages::DescribeTopicPartitionsRequest::default()
        .with_topics(vec![
            kafka_protocol::messages::describe_topic_partitions_request::TopicRequest::default()
                .with_name(name("t")),
        ])
        .with_response_partition_limit(2)
        .with_cursor(Some(
            kafka_protocol::messages::describe_topic_partitions_request::Cursor::default()
                .with_topic_name(name("t"))
                .with_partition_index(1),
        ));
    frames.push(frame(0, &describe_topic_partitions));
    // Chapter 11: SASL's two requests (on PLAINTEXT, ILLEGAL_SASL_STATE).
    let handshake = kafka_protocol::messages::SaslHandshakeRequest::default()
        .with_mechanism(StrBytes::from_static_str("PLAIN"));
    for v in [0, 1] {
        frames.push(frame(v, &handshake));
    }
    let authenticate = kafka_protocol::messages::SaslAuthenticateRequest::default()
        .with_auth_bytes(bytes::Bytes::from_static(b"\0alice\0alice-secret"));
    for v in [0, 2] {
        frames.push(frame(v, &authenticate));
    }
    // Issue 19: a client quota set (validate only) and described, each version.
    for v in [0, 1] {
        use kafka_protocol::messages::{
            alter_client_quotas_request as alter, describe_client_quotas_request as describe,
        };
        let name = kafka_protocol::protocol::StrBytes::from_static_str;
        let entity = alter::EntityData::default().with_entity_type(name("client-id")).with_entity_name(None);
        let op = alter::OpData::default().with_key(name("producer_byte_rate")).with_value(1024.0);
        let entry = alter::EntryData::default().with_entity(vec![entity]).with_ops(vec![op]);
        let request = kafka_protocol::messages::AlterClientQuotasRequest::default()
            .with_entries(vec![entry])
            .with_validate_only(true);
        frames.push(frame(v, &request));
        let component = describe::ComponentData::default()
            .with_entity_type(name("user"))
            .with_match_type(2)
            .with_match(None);
        let request =
            kafka_protocol::messages::DescribeClientQuotasRequest::default().with_components(vec![component]);
        frames.push(frame(v, &request));
    }
    for v in [0, 2] {
        let partitions = kafka_protocol::messages::elect_leaders_request::TopicPartitions::default()
            .with_topic(name("t"))
            .with_partitions(vec![0]);
        // v0 has no election type (preferred is implied).
        let request = ElectLeadersRequest::default()
            .with_topic_partitions(Some(vec![partitions]))
            .with_timeout_ms(1_000);
        frames.push(frame(v, &request));
    }
    // Chapter 11: SCRAM credentials (v0 only): a describe of one user, an
    // upsertion with a salt and salted password, and a deletion.
    {
        use kafka_protocol::messages::{
            alter_user_scram_credentials_request as alter,
            describe_user_scram_credentials_request as describe,
        };
        let name = kafka_protocol::protocol::StrBytes::from_static_str;
        let user = describe::UserName::default().with_name(name("alice"));
        let request = kafka_protocol::messages::DescribeUserScramCredentialsRequest::default()
            .with_users(Some(vec![user]));
        frames.push(frame(0, &request));
        let upsert = alter::ScramCredentialUpsertion::default()
            .with_name(name("alice"))
            .with_mechanism(2)
            .with_iterations(8192)
            .with_salt(Bytes::from_static(&[7; 32]))
            .with_salted_password(Bytes::from_static(&[9; 64]));
        let delete = alter::ScramCredentialDeletion::default().with_name(name("bob")).with_mechanism(1);
        let request = kafka_protocol::messages::AlterUserScramCredentialsRequest::default()
            .with_upsertions(vec![upsert])
            .with_deletions(vec![delete]);
        frames.push(frame(0, &request));
    }
}

/// Every valid frame above decodes, and every API spool speaks has one: the
/// mutations start from real requests of every kind.
#[test]
fn the_valid_frames_are_valid() {
    let frames = valid_frames();
    for &(api_key, _, _) in SUPPORTED {
        let key = (api_key as i16).to_be_bytes();
        assert!(frames.iter().any(|f| f[..2] == key), "no valid frame for {api_key:?}: add one");
    }
    for (i, f) in frames.into_iter().enumerate() {
        let key = i16::from_be_bytes([f[0], f[1]]);
        let version = i16::from_be_bytes([f[2], f[3]]);
        let request = decode_request(f).unwrap_or_else(|e| panic!("frame {i} (key {key} v{version}): {e:?}"));
        assert_eq!((request.api_key as i16, request.header.correlation_id), (key, 42));
    }
}

/// Decodes `bytes` and checks the outcome is one the server knows how to act on.
fn decode_never_panics(bytes: Bytes) {
    match decode_request(bytes) {
        Ok(_) | Err(DecodeError::Close(_)) | Err(DecodeError::ApiVersionsUnsupported { .. }) => {}
    }
}

// ---------------------------------------------------------------------------
// Frames and requests
// ---------------------------------------------------------------------------

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// `parse_frame` never panics, and frames come out the same whether the
    /// bytes arrive at once or in arbitrary pieces (TCP promises no boundaries).
    #[test]
    fn parse_frame_never_panics_and_ignores_chunking(
        bytes in proptest::collection::vec(any::<u8>(), 0..256),
        cuts in proptest::collection::vec(any::<usize>(), 0..8),
        max in 0usize..300,
    ) {
        let mut whole = BytesMut::from(&bytes[..]);
        let mut expected = Vec::new();
        let expected_end = loop {
            match parse_frame(&mut whole, max) {
                Ok(Some(f)) => expected.push(f),
                other => break other.map(|_| ()),
            }
        };
        let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c % (bytes.len() + 1)).collect();
        cuts.push(bytes.len());
        cuts.sort();
        let (mut buf, mut got, mut from) = (BytesMut::new(), Vec::new(), 0);
        let mut got_end = Ok(());
        'feed: for cut in cuts {
            buf.extend_from_slice(&bytes[from..cut]);
            from = cut;
            loop {
                match parse_frame(&mut buf, max) {
                    Ok(Some(f)) => got.push(f),
                    Ok(None) => break,
                    Err(e) => {
                        got_end = Err(e);
                        break 'feed;
                    }
                }
            }
        }
        prop_assert_eq!(got, expected);
        prop_assert_eq!(got_end, expected_end);
    }

    /// `decode_request` never panics on random bytes (which almost never carry a
    /// known API key and version: they test the header checks).
    #[test]
    fn decode_request_never_panics_on_random_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..128)) {
        decode_never_panics(Bytes::from(bytes));
    }

    /// `decode_request` never panics on a valid request of any API and version
    /// cut short anywhere: a truncated body is a closed connection, not a crash.
    #[test]
    fn decode_request_never_panics_on_truncated_frames(which in any::<Index>(), cut in any::<Index>()) {
        let frames = valid_frames();
        let f = which.get(&frames).clone();
        let len = cut.index(f.len());
        decode_never_panics(f.slice(..len));
    }
}

/// Runs the test `name` of this binary in a child process and returns its
/// output; `None` when already in the child, which then runs the body.
fn in_child_process(name: &str) -> Option<Output> {
    if std::env::var_os("SPOOL_WIRE_FUZZ_CHILD").is_some() {
        return None;
    }
    // The harness names a test by its module path without the crate's name
    // (`wire_fuzz::…` in the `it` binary), and `--exact` wants all of it.
    let module = module_path!().split_once("::").map_or("", |(_, module)| module);
    let test = format!("{module}::{name}");
    let exe = std::env::current_exe().expect("test binary");
    let output = Command::new(exe)
        .args([test.as_str(), "--exact", "--nocapture", "--test-threads=1"])
        .env("SPOOL_WIRE_FUZZ_CHILD", "1")
        .output()
        .expect("run the test binary");
    Some(output)
}

fn assert_child_passed(output: Output) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "child process failed ({}):\n{stdout}\n{stderr}", output.status);
    // The child must have run the test, not filtered it away.
    assert!(stdout.contains("test result: ok. 1 passed"), "child ran no test:\n{stdout}\n{stderr}");
}

/// `decode_request` never panics — or aborts — on valid frames with random
/// bytes overwritten.
///
/// Runs in a child so an abort (the codec crate pre-allocating arrays by their
/// wire count, see the module docs) is a failure message, not a dead test binary.
#[test]
fn decode_request_survives_byte_flips_in_valid_frames() {
    if let Some(output) = in_child_process("decode_request_survives_byte_flips_in_valid_frames") {
        return assert_child_passed(output);
    }
    let frames = valid_frames();
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig::with_cases(2_000));
    let strategy = (any::<Index>(), proptest::collection::vec((any::<usize>(), any::<u8>()), 1..4));
    runner
        .run(&strategy, |(which, flips)| {
            let mut f = BytesMut::from(&which.get(&frames)[..]);
            let len = f.len();
            for (at, byte) in flips {
                f[at % len] = byte;
            }
            decode_never_panics(f.freeze());
            Ok(())
        })
        .unwrap();
}

// ---------------------------------------------------------------------------
// Record batches
// ---------------------------------------------------------------------------

const CODECS: [Compression; 5] =
    [Compression::None, Compression::Gzip, Compression::Snappy, Compression::Lz4, Compression::Zstd];

/// Every batch check a produce request's records go through, on any bytes.
fn batch_checks_never_panic(bytes: &Bytes) {
    let _ = validate_batches(bytes, 1 << 20);
    let mut rest = bytes.clone();
    while let Ok((batch, tail)) = RecordBatch::parse(&rest) {
        let _ = batch.validate();
        let _ = batch.decode_records();
        let _ = (batch.last_offset(), batch.next_offset(), batch.last_sequence(), batch.compression());
        rest = tail;
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Random bytes: every batch check returns an error (or, by luck, a batch)
    /// without panicking.
    #[test]
    fn batch_checks_never_panic_on_random_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        batch_checks_never_panic(&Bytes::from(bytes));
    }

    /// Valid batches of every codec with bytes overwritten or cut off: no panic,
    /// even where the damaged bytes are a compressed stream or a varint. The
    /// base offset, outside the CRC, may be anything and still validate.
    #[test]
    fn batch_checks_never_panic_on_mutated_batches(
        codec in 0..CODECS.len(),
        base_offset in prop::option::of(
            prop_oneof![any::<i64>(), Just(i64::MAX), Just(i64::MAX - 1), Just(i64::MIN)],
        ),
        flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 0..4),
        cut in any::<Index>(),
        twice in any::<bool>(),
    ) {
        let good = valid_batch(CODECS[codec]);
        let mut bytes = BytesMut::from(&good[..]);
        if twice {
            bytes.extend_from_slice(&good); // a produce request may carry several
        }
        if let Some(base_offset) = base_offset {
            bytes[..8].copy_from_slice(&base_offset.to_be_bytes());
        }
        let len = bytes.len();
        for (at, byte) in flips {
            bytes[at % len] = byte;
        }
        let keep = cut.index(len + 1);
        bytes.truncate(keep.max(1));
        batch_checks_never_panic(&bytes.freeze());
    }

    /// The CRC covers what Kafka says it covers: flipping any one bit from
    /// `attributes` to the end (or in the CRC itself) makes `validate` fail —
    /// CRC-32C catches every single-bit error — while flipping a bit of
    /// `baseOffset` or `partitionLeaderEpoch`, which the broker rewrites, does not.
    #[test]
    fn one_flipped_bit_is_caught_exactly_where_the_crc_covers(
        codec in 0..CODECS.len(),
        bit in any::<Index>(),
    ) {
        let good = valid_batch(CODECS[codec]);
        let mut bytes = BytesMut::from(&good[..]);
        let bit = bit.index(bytes.len() * 8);
        let byte = bit / 8;
        // Skip batchLength and magic: flipping those is a different error (framing).
        prop_assume!(!(field::BATCH_LENGTH..field::BATCH_LENGTH + 4).contains(&byte) && byte != field::MAGIC);
        bytes[byte] ^= 1 << (bit % 8);
        let (batch, rest) = RecordBatch::parse(&bytes.freeze()).expect("framing untouched");
        prop_assert!(rest.is_empty());
        let outside_crc = byte < field::CRC;
        prop_assert_eq!(batch.validate().is_ok(), outside_crc, "byte {} of {}", byte, HEADER_SIZE);
    }
}

// ---------------------------------------------------------------------------
// A live broker
// ---------------------------------------------------------------------------

struct LiveBroker {
    addr: std::net::SocketAddr,
    _dir: tempfile::TempDir,
}

async fn start_broker() -> LiveBroker {
    let dir = tempfile::tempdir().expect("tempdir");
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let config = BrokerConfig {
        listener: addr,
        advertised_port: addr.port(),
        log_dir: dir.path().join("logs"),
        socket_request_max_bytes: 64 * 1024,
        ..Default::default()
    };
    let broker = Arc::new(Broker::open(config).expect("open"));
    let (shutdown, rx) = tokio::sync::watch::channel(false);
    std::mem::forget(shutdown); // serve until the runtime ends with the test
    tokio::spawn(spool::wire::server::serve(broker, listener, rx));
    LiveBroker { addr, _dir: dir }
}

/// ApiVersions on a fresh connection, answered in time.
async fn assert_serves(addr: std::net::SocketAddr) {
    let check = async {
        let mut stream = TcpStream::connect(addr).await.expect("connect");
        let request = frame(3, &ApiVersionsRequest::default());
        stream.write_i32(request.len() as i32).await.unwrap();
        stream.write_all(&request).await.unwrap();
        let size = stream.read_i32().await.expect("a response");
        let mut body = vec![0; size as usize];
        stream.read_exact(&mut body).await.unwrap();
        let mut body = Bytes::from(body);
        let header = ResponseHeader::decode(&mut body, 0).unwrap();
        assert_eq!(header.correlation_id, 42);
        let response = ApiVersionsResponse::decode(&mut body, 3).unwrap();
        assert_eq!(response.error_code, 0);
    };
    tokio::time::timeout(Duration::from_secs(10), check).await.expect("the broker stopped answering");
}

/// Sends `bytes` on a new connection and reads until the broker answers,
/// closes, or a short while passes (a frame may be incomplete: the broker then
/// rightly waits for the rest).
async fn send_garbage(addr: std::net::SocketAddr, bytes: &[u8]) {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let _ = stream.write_all(bytes).await;
    let mut sink = [0u8; 4096];
    let _ = tokio::time::timeout(Duration::from_millis(20), async {
        while let Ok(n) = stream.read(&mut sink).await {
            if n == 0 {
                break;
            }
        }
    })
    .await;
}

/// A live broker fed random bytes — raw, as size-prefixed frames, and as valid
/// requests cut short — on many connections keeps serving a well-behaved client.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_broker_keeps_serving_through_garbage() {
    let broker = start_broker().await;
    let mut rng = TestRng::deterministic_rng(RngAlgorithm::ChaCha);
    let frames = valid_frames();
    for round in 0..150 {
        let mut bytes = vec![0u8; (rng.next_u32() % 200) as usize];
        rng.fill_bytes(&mut bytes);
        let garbage = match round % 3 {
            0 => bytes,
            1 => [&(bytes.len() as i32).to_be_bytes()[..], &bytes].concat(),
            _ => {
                let f = &frames[rng.next_u32() as usize % frames.len()];
                let cut = rng.next_u32() as usize % f.len();
                [&(cut as i32).to_be_bytes()[..], &f[..cut]].concat()
            }
        };
        send_garbage(broker.addr, &garbage).await;
        if round % 50 == 0 {
            assert_serves(broker.addr).await;
        }
    }
    assert_serves(broker.addr).await;
}

/// The deterministic reproducer: a 14-byte Metadata v0 request declaring
/// `i32::MAX` topics. The broker must close the connection and keep serving;
/// with the unpatched codec crate, `Vec::with_capacity(i32::MAX)` of ~72-byte
/// topics failed to allocate and the whole broker process aborted.
#[test]
fn a_huge_array_count_does_not_kill_the_broker() {
    if let Some(output) = in_child_process("a_huge_array_count_does_not_kill_the_broker") {
        return assert_child_passed(output);
    }
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let broker = start_broker().await;
        let mut request = BytesMut::new();
        request.put_i32(14); // size: the 14 bytes below
        request.put_i16(ApiKey::Metadata as i16);
        request.put_i16(0); // version
        request.put_i32(1); // correlation id
        request.put_i16(-1); // null client id
        request.put_i32(i32::MAX); // topic count, and no topics
        send_garbage(broker.addr, &request).await;
        assert_serves(broker.addr).await;
    });
}
