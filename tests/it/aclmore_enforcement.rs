//! Chapter 11's enforcement table, API by API (after Kafka's `KafkaApis`):
//! a PLAINTEXT client (User:ANONYMOUS) without ACLs is refused each API
//! with Kafka's code — TOPIC_AUTHORIZATION_FAILED 29, GROUP_AUTHORIZATION_FAILED
//! 30, CLUSTER_AUTHORIZATION_FAILED 31, TRANSACTIONAL_ID_AUTHORIZATION_FAILED
//! 53 — and nothing changes; with the ACLs the API needs it works. And
//! Produce/Fetch are refused per partition: the allowed topic is served
//! beside the refused one, as `handleProduceRequest`/`handleFetchRequest` do.
//!
//! ACLs are added while ANONYMOUS is a super user, then the broker is
//! restarted without one (ACLs are metadata records and survive).
//!
//! ```text
//! cargo test --test it aclmore_enforcement::
//! ```

use crate::common::acl;
use crate::wire::harness;
use crate::wire::requests;

use acl::{allow_anonymous as allow, enforcing, s, with_super_user};
use harness::{name, start, start_in, Client, PRODUCE_V};
use kafka_protocol::messages::create_acls_request::AclCreation;
use kafka_protocol::messages::*;
use requests::{batch, create_topic, fetch_request, metadata, produce_request};

// Kafka's resource types and operations, by code.
const TOPIC: i8 = 2;
const GROUP: i8 = 3;
const CLUSTER: i8 = 4;
const TXN: i8 = 5;
const READ: i8 = 3;
const WRITE: i8 = 4;
const CREATE: i8 = 5;
const DELETE: i8 = 6;
const ALTER: i8 = 7;
const DESCRIBE: i8 = 8;
const CLUSTER_ACTION: i8 = 9;
const DESCRIBE_CONFIGS: i8 = 10;
const ALTER_CONFIGS: i8 = 11;
const IDEMPOTENT_WRITE: i8 = 12;

/// One API of the table: how to call it and read its code, the code
/// without ACLs, the ACLs that let it through and the code then.
struct Case {
    api: &'static str,
    refused: i16,
    acls: &'static [(i8, &'static str, i8)],
    allowed: i16,
}

const CASES: &[Case] = &[
    Case { api: "OffsetCommit", refused: 30, acls: &[(GROUP, "g", READ), (TOPIC, "t", READ)], allowed: 0 },
    Case {
        api: "OffsetFetch",
        refused: 30,
        acls: &[(GROUP, "g", DESCRIBE), (TOPIC, "t", DESCRIBE)],
        allowed: 0,
    },
    Case { api: "OffsetFetch v8", refused: 30, acls: &[], allowed: 0 },
    Case { api: "FindCoordinator group", refused: 30, acls: &[], allowed: 0 },
    Case { api: "FindCoordinator txn", refused: 53, acls: &[(TXN, "tx", DESCRIBE)], allowed: 0 },
    Case { api: "FindCoordinator v4", refused: 30, acls: &[], allowed: 0 },
    Case { api: "DescribeGroups", refused: 30, acls: &[], allowed: 0 },
    Case { api: "DeleteGroups", refused: 30, acls: &[(GROUP, "gone", DELETE)], allowed: 0 },
    Case { api: "OffsetDelete", refused: 30, acls: &[(GROUP, "g", DELETE)], allowed: 0 },
    Case { api: "ListOffsets", refused: 29, acls: &[], allowed: 0 },
    Case { api: "OffsetForLeaderEpoch", refused: 29, acls: &[], allowed: 0 },
    Case {
        api: "OffsetForLeaderEpoch follower",
        refused: 31,
        acls: &[(CLUSTER, "kafka-cluster", CLUSTER_ACTION)],
        allowed: 0,
    },
    Case { api: "DeleteTopics", refused: 29, acls: &[(TOPIC, "doomed", DELETE)], allowed: 0 },
    Case { api: "CreatePartitions", refused: 29, acls: &[(TOPIC, "grow", ALTER)], allowed: 0 },
    Case { api: "DeleteRecords", refused: 29, acls: &[(TOPIC, "t", DELETE)], allowed: 0 },
    Case { api: "DescribeConfigs topic", refused: 29, acls: &[(TOPIC, "t", DESCRIBE_CONFIGS)], allowed: 0 },
    Case {
        api: "DescribeConfigs broker",
        refused: 31,
        acls: &[(CLUSTER, "kafka-cluster", DESCRIBE_CONFIGS)],
        allowed: 0,
    },
    Case { api: "AlterConfigs topic", refused: 29, acls: &[(TOPIC, "t", ALTER_CONFIGS)], allowed: 0 },
    Case { api: "IncrementalAlterConfigs topic", refused: 29, acls: &[], allowed: 0 },
    Case { api: "DescribeLogDirs", refused: 31, acls: &[(CLUSTER, "kafka-cluster", DESCRIBE)], allowed: 0 },
    Case { api: "DescribeCluster", refused: 31, acls: &[], allowed: 0 },
    // Allowed, a one-broker cluster's preferred leader already leads: ELECTION_NOT_NEEDED.
    Case { api: "ElectLeaders", refused: 31, acls: &[(CLUSTER, "kafka-cluster", ALTER)], allowed: 84 },
    Case { api: "DescribeProducers", refused: 29, acls: &[], allowed: 0 },
    Case { api: "DescribeTopicPartitions", refused: 29, acls: &[], allowed: 0 },
    Case {
        api: "InitProducerId idempotent",
        refused: 31,
        acls: &[(CLUSTER, "kafka-cluster", IDEMPOTENT_WRITE)],
        allowed: 0,
    },
    Case { api: "InitProducerId txn", refused: 53, acls: &[(TXN, "tx", WRITE)], allowed: 0 },
    Case { api: "AddPartitionsToTxn", refused: 53, acls: &[(TOPIC, "t", WRITE)], allowed: 0 },
    Case { api: "AddOffsetsToTxn", refused: 53, acls: &[(GROUP, "g", READ)], allowed: 0 },
    Case { api: "TxnOffsetCommit", refused: 53, acls: &[], allowed: 0 },
    Case { api: "EndTxn", refused: 53, acls: &[], allowed: 0 },
    Case { api: "DescribeTransactions", refused: 53, acls: &[], allowed: 0 },
    Case { api: "WriteTxnMarkers", refused: 31, acls: &[], allowed: 0 },
    Case {
        api: "Metadata auto-create",
        refused: 29,
        acls: &[(TOPIC, "auto", DESCRIBE), (TOPIC, "auto", CREATE)],
        allowed: 0,
    },
];

/// Calls the case's API and returns the code that decides it.
async fn observe(api: &str, c: &mut Client, state: &mut TxnState) -> i16 {
    match api {
        "OffsetCommit" => {
            use offset_commit_request::{OffsetCommitRequestPartition as P, OffsetCommitRequestTopic as T};
            let r = OffsetCommitRequest::default()
                .with_group_id(GroupId(s("g")))
                .with_generation_id_or_member_epoch(-1)
                .with_retention_time_ms(-1)
                .with_topics(vec![T::default()
                    .with_name(name("t"))
                    .with_partitions(vec![P::default().with_partition_index(0).with_committed_offset(1)])]);
            c.request(8, &r).await.topics[0].partitions[0].error_code
        }
        "OffsetFetch" => {
            let r = OffsetFetchRequest::default().with_group_id(GroupId(s("g"))).with_topics(Some(vec![
                offset_fetch_request::OffsetFetchRequestTopic::default()
                    .with_name(name("t"))
                    .with_partition_indexes(vec![0]),
            ]));
            let response = c.request(7, &r).await;
            if response.error_code != 0 {
                return response.error_code;
            }
            response.topics[0].partitions[0].error_code
        }
        "OffsetFetch v8" => {
            let r = OffsetFetchRequest::default().with_groups(vec![
                offset_fetch_request::OffsetFetchRequestGroup::default()
                    .with_group_id(GroupId(s("g")))
                    .with_topics(None),
            ]);
            c.request(8, &r).await.groups[0].error_code
        }
        "FindCoordinator group" | "FindCoordinator txn" => {
            let (key, key_type) = if api.ends_with("group") { ("g", 0) } else { ("tx", 1) };
            let r = FindCoordinatorRequest::default().with_key(s(key)).with_key_type(key_type);
            c.request(3, &r).await.error_code
        }
        "FindCoordinator v4" => {
            let r = FindCoordinatorRequest::default().with_coordinator_keys(vec![s("g")]);
            c.request(4, &r).await.coordinators[0].error_code
        }
        "DescribeGroups" => {
            let r = DescribeGroupsRequest::default().with_groups(vec![GroupId(s("g"))]);
            c.request(5, &r).await.groups[0].error_code
        }
        "DeleteGroups" => {
            let r = DeleteGroupsRequest::default().with_groups_names(vec![GroupId(s("gone"))]);
            c.request(2, &r).await.results[0].error_code
        }
        "OffsetDelete" => {
            use offset_delete_request::{OffsetDeleteRequestPartition as P, OffsetDeleteRequestTopic as T};
            let r =
                OffsetDeleteRequest::default().with_group_id(GroupId(s("g"))).with_topics(vec![T::default()
                    .with_name(name("t"))
                    .with_partitions(vec![P::default().with_partition_index(0)])]);
            c.request(0, &r).await.error_code
        }
        "ListOffsets" => {
            use list_offsets_request::{ListOffsetsPartition as P, ListOffsetsTopic as T};
            let r =
                ListOffsetsRequest::default().with_replica_id(BrokerId(-1)).with_topics(vec![T::default()
                    .with_name(name("t"))
                    .with_partitions(vec![P::default().with_partition_index(0).with_timestamp(-1)])]);
            c.request(6, &r).await.topics[0].partitions[0].error_code
        }
        "OffsetForLeaderEpoch" | "OffsetForLeaderEpoch follower" => {
            use offset_for_leader_epoch_request::{OffsetForLeaderPartition as P, OffsetForLeaderTopic as T};
            let replica = if api.ends_with("follower") { 1 } else { -1 };
            let r =
                OffsetForLeaderEpochRequest::default().with_replica_id(BrokerId(replica)).with_topics(vec![
                    T::default().with_topic(name("t")).with_partitions(vec![P::default()
                        .with_partition(0)
                        .with_current_leader_epoch(-1)
                        .with_leader_epoch(0)]),
                ]);
            c.request(4, &r).await.topics[0].partitions[0].error_code
        }
        "DeleteTopics" => {
            let r =
                DeleteTopicsRequest::default().with_topic_names(vec![name("doomed")]).with_timeout_ms(5_000);
            c.request(5, &r).await.responses[0].error_code
        }
        "CreatePartitions" => {
            let r = CreatePartitionsRequest::default().with_timeout_ms(5_000).with_topics(vec![
                create_partitions_request::CreatePartitionsTopic::default()
                    .with_name(name("grow"))
                    .with_count(2)
                    .with_assignments(None),
            ]);
            c.request(3, &r).await.results[0].error_code
        }
        "DeleteRecords" => {
            use delete_records_request::{DeleteRecordsPartition as P, DeleteRecordsTopic as T};
            let r = DeleteRecordsRequest::default().with_timeout_ms(5_000).with_topics(vec![T::default()
                .with_name(name("t"))
                .with_partitions(vec![P::default().with_partition_index(0).with_offset(0)])]);
            c.request(2, &r).await.topics[0].partitions[0].error_code
        }
        "DescribeConfigs topic" | "DescribeConfigs broker" => {
            let (kind, resource) = if api.ends_with("topic") { (2, "t") } else { (4, "1") };
            let r = DescribeConfigsRequest::default().with_resources(vec![
                describe_configs_request::DescribeConfigsResource::default()
                    .with_resource_type(kind)
                    .with_resource_name(s(resource)),
            ]);
            c.request(4, &r).await.results[0].error_code
        }
        "AlterConfigs topic" => {
            let r = AlterConfigsRequest::default().with_resources(vec![
                alter_configs_request::AlterConfigsResource::default()
                    .with_resource_type(2)
                    .with_resource_name(s("t"))
                    .with_configs(vec![alter_configs_request::AlterableConfig::default()
                        .with_name(s("retention.ms"))
                        .with_value(Some(s("86400000")))]),
            ]);
            c.request(2, &r).await.responses[0].error_code
        }
        "IncrementalAlterConfigs topic" => {
            let r = IncrementalAlterConfigsRequest::default().with_resources(vec![
                incremental_alter_configs_request::AlterConfigsResource::default()
                    .with_resource_type(2)
                    .with_resource_name(s("t"))
                    .with_configs(vec![incremental_alter_configs_request::AlterableConfig::default()
                        .with_name(s("retention.ms"))
                        .with_value(Some(s("86400000")))]),
            ]);
            c.request(1, &r).await.responses[0].error_code
        }
        "DescribeLogDirs" => c.request(4, &DescribeLogDirsRequest::default()).await.error_code,
        "DescribeCluster" => c.request(1, &DescribeClusterRequest::default()).await.error_code,
        "ElectLeaders" => {
            let r = ElectLeadersRequest::default().with_timeout_ms(5_000).with_topic_partitions(Some(vec![
                elect_leaders_request::TopicPartitions::default()
                    .with_topic(name("t"))
                    .with_partitions(vec![0]),
            ]));
            let response = c.request(2, &r).await;
            match response.error_code {
                0 => response.replica_election_results[0].partition_result[0].error_code,
                code => code,
            }
        }
        "DescribeProducers" => {
            let r = DescribeProducersRequest::default().with_topics(vec![
                describe_producers_request::TopicRequest::default()
                    .with_name(name("t"))
                    .with_partition_indexes(vec![0]),
            ]);
            c.request(0, &r).await.topics[0].partitions[0].error_code
        }
        "DescribeTopicPartitions" => {
            let r = DescribeTopicPartitionsRequest::default().with_response_partition_limit(100).with_topics(
                vec![describe_topic_partitions_request::TopicRequest::default().with_name(name("t"))],
            );
            let topic = c.request(0, &r).await.topics.remove(0);
            if topic.error_code == 0 {
                assert_ne!(topic.topic_authorized_operations & (1 << DESCRIBE), 0, "Describe is reported");
                assert_eq!(topic.topic_authorized_operations & (1 << CREATE), 0, "Create is not granted");
            }
            topic.error_code
        }
        "InitProducerId idempotent" | "InitProducerId txn" => {
            let txn = api.ends_with("txn").then(|| TransactionalId(s("tx")));
            let r = InitProducerIdRequest::default()
                .with_transactional_id(txn.clone())
                .with_transaction_timeout_ms(60_000)
                .with_producer_id(ProducerId(-1))
                .with_producer_epoch(-1);
            let response = c.request(4, &r).await;
            if txn.is_some() && response.error_code == 0 {
                *state = TxnState { producer_id: response.producer_id.0, epoch: response.producer_epoch };
            }
            response.error_code
        }
        "AddPartitionsToTxn" => {
            let r = AddPartitionsToTxnRequest::default()
                .with_v3_and_below_transactional_id(TransactionalId(s("tx")))
                .with_v3_and_below_producer_id(ProducerId(state.producer_id))
                .with_v3_and_below_producer_epoch(state.epoch)
                .with_v3_and_below_topics(vec![
                    add_partitions_to_txn_request::AddPartitionsToTxnTopic::default()
                        .with_name(name("t"))
                        .with_partitions(vec![0]),
                ]);
            let response = c.request(3, &r).await;
            response.results_by_topic_v3_and_below[0].results_by_partition[0].partition_error_code
        }
        "AddOffsetsToTxn" => {
            let r = AddOffsetsToTxnRequest::default()
                .with_transactional_id(TransactionalId(s("tx")))
                .with_producer_id(ProducerId(state.producer_id))
                .with_producer_epoch(state.epoch)
                .with_group_id(GroupId(s("g")));
            c.request(3, &r).await.error_code
        }
        "TxnOffsetCommit" => {
            use txn_offset_commit_request::{
                TxnOffsetCommitRequestPartition as P, TxnOffsetCommitRequestTopic as T,
            };
            let r = TxnOffsetCommitRequest::default()
                .with_transactional_id(TransactionalId(s("tx")))
                .with_group_id(GroupId(s("g")))
                .with_producer_id(ProducerId(state.producer_id))
                .with_producer_epoch(state.epoch)
                .with_generation_id(-1)
                .with_topics(vec![T::default()
                    .with_name(name("t"))
                    .with_partitions(vec![P::default().with_partition_index(0).with_committed_offset(1)])]);
            c.request(3, &r).await.topics[0].partitions[0].error_code
        }
        "EndTxn" => {
            let r = EndTxnRequest::default()
                .with_transactional_id(TransactionalId(s("tx")))
                .with_producer_id(ProducerId(state.producer_id))
                .with_producer_epoch(state.epoch)
                .with_committed(false);
            c.request(3, &r).await.error_code
        }
        "DescribeTransactions" => {
            let r =
                DescribeTransactionsRequest::default().with_transactional_ids(vec![TransactionalId(s("tx"))]);
            c.request(0, &r).await.transaction_states[0].error_code
        }
        "WriteTxnMarkers" => {
            let r = WriteTxnMarkersRequest::default().with_markers(vec![
                write_txn_markers_request::WritableTxnMarker::default()
                    .with_producer_id(ProducerId(12_345))
                    .with_producer_epoch(0)
                    .with_coordinator_epoch(0)
                    .with_topics(vec![write_txn_markers_request::WritableTxnMarkerTopic::default()
                        .with_name(name("t"))
                        .with_partition_indexes(vec![0])]),
            ]);
            c.request(1, &r).await.markers[0].topics[0].partitions[0].error_code
        }
        "Metadata auto-create" => {
            let r = MetadataRequest::default().with_allow_auto_topic_creation(true).with_topics(Some(vec![
                metadata_request::MetadataRequestTopic::default().with_name(Some(name("auto"))),
            ]));
            let topics = c.request(12, &r).await.topics;
            topics.iter().find(|t| t.name.as_deref().map(|n| n.as_str()) == Some("auto")).unwrap().error_code
        }
        other => panic!("no case {other}"),
    }
}

/// The producer of transactional id `tx`, once InitProducerId has given one.
#[derive(Default)]
struct TxnState {
    producer_id: i64,
    epoch: i16,
}

async fn add_acls(client: &mut Client, acls: Vec<AclCreation>) {
    for chunk in acls.chunks(20) {
        let request = CreateAclsRequest::default().with_creations(chunk.to_vec());
        assert!(client.request(3, &request).await.results.iter().all(|r| r.error_code == 0));
    }
}

/// Every API of the table: refused with its code and nothing changed
/// without ACLs; served once the ACLs it needs exist.
#[tokio::test]
async fn each_api_is_refused_with_its_code_until_its_acls_exist() {
    // Setup, as a super user: the topics and a group with an offset.
    let broker = start(with_super_user).await;
    let mut client = broker.client().await;
    for topic in ["t", "doomed", "grow"] {
        create_topic(&mut client, topic, 1, &[]).await;
    }
    let produced = client.request(PRODUCE_V, &produce_request("t", 0, batch(1, &["v"]), 1)).await;
    assert_eq!(produced.responses[0].partition_responses[0].error_code, 0);
    let mut none = TxnState::default();
    assert_eq!(observe("OffsetCommit", &mut client, &mut none).await, 0);
    let dir = broker.stop().await;

    // Without ACLs: each API refused with its code.
    let broker = start_in(dir, enforcing).await;
    let mut client = broker.client().await;
    let mut failures = Vec::new();
    for case in CASES {
        let got = observe(case.api, &mut client, &mut none).await;
        if got != case.refused {
            failures.push(format!("{}: refused with {got}, expected {}", case.api, case.refused));
        }
    }
    let listed = client.request(4, &ListGroupsRequest::default()).await.groups;
    assert!(listed.is_empty(), "ListGroups omits groups the principal may not describe: {listed:?}");
    let dir = broker.stop().await;

    // Nothing changed: as a super user, the topics and the offset are as they were.
    let broker = start_in(dir, with_super_user).await;
    let mut client = broker.client().await;
    let topics = metadata(&mut client, None, false).await;
    let mut names: Vec<(String, usize)> = topics
        .iter()
        .map(|t| (t.name.as_ref().unwrap().to_string(), t.partitions.len()))
        .filter(|(n, _)| !n.starts_with("__"))
        .collect();
    names.sort();
    assert_eq!(
        names,
        [("doomed".into(), 1), ("grow".into(), 1), ("t".into(), 1)],
        "no topic deleted, grown or auto-created"
    );
    // Then every ACL the cases need, plus the shared ones.
    let mut acls: Vec<AclCreation> =
        CASES.iter().flat_map(|c| c.acls).map(|&(k, n, o)| allow(k, n, o)).collect();
    acls.push(allow(GROUP, "gone", READ));
    add_acls(&mut client, acls).await;
    observe("OffsetCommit", &mut client, &mut none).await;
    let commit = OffsetCommitRequest::default()
        .with_group_id(GroupId(s("gone")))
        .with_generation_id_or_member_epoch(-1)
        .with_retention_time_ms(-1)
        .with_topics(vec![offset_commit_request::OffsetCommitRequestTopic::default()
            .with_name(name("t"))
            .with_partitions(vec![offset_commit_request::OffsetCommitRequestPartition::default()
                .with_partition_index(0)
                .with_committed_offset(1)])]);
    assert_eq!(client.request(8, &commit).await.topics[0].partitions[0].error_code, 0);
    let dir = broker.stop().await;

    // With the ACLs: each API served.
    let broker = start_in(dir, enforcing).await;
    let mut client = broker.client().await;
    let mut txn = TxnState::default();
    for case in CASES {
        let got = observe(case.api, &mut client, &mut txn).await;
        if got != case.allowed {
            failures.push(format!("{}: allowed answered {got}, expected {}", case.api, case.allowed));
        }
    }
    let listed = client.request(4, &ListGroupsRequest::default()).await.groups;
    assert!(listed.iter().any(|g| g.group_id.as_str() == "g"), "g is listed once it may be described");
    assert!(failures.is_empty(), "{failures:#?}");
    broker.stop().await;
}

/// Produce and Fetch are refused per partition: with Write and Read on `t`
/// only, one request for `t` and `secret` serves `t` and answers `secret` 29.
#[tokio::test]
async fn produce_and_fetch_serve_allowed_topics_beside_refused_ones() {
    let broker = start(with_super_user).await;
    let mut client = broker.client().await;
    create_topic(&mut client, "t", 1, &[]).await;
    create_topic(&mut client, "secret", 1, &[]).await;
    add_acls(&mut client, vec![allow(TOPIC, "t", WRITE), allow(TOPIC, "t", READ)]).await;
    let dir = broker.stop().await;

    let broker = start_in(dir, enforcing).await;
    let mut client = broker.client().await;
    let mut produce = produce_request("t", 0, batch(1, &["v"]), 1);
    produce.topic_data.extend(produce_request("secret", 0, batch(1, &["w"]), 1).topic_data);
    let answered = client.request(PRODUCE_V, &produce).await.responses;
    let mut codes: Vec<(String, i16)> =
        answered.iter().map(|t| (t.name.to_string(), t.partition_responses[0].error_code)).collect();
    codes.sort();
    assert_eq!(codes, [("secret".into(), 29), ("t".into(), 0)]);

    let mut fetch = fetch_request("t", 0, 0, 0, 0);
    fetch.topics.extend(fetch_request("secret", 0, 0, 0, 0).topics);
    let answered = client.request(harness::FETCH_V, &fetch).await.responses;
    let mut codes: Vec<(String, i16, bool)> = (answered.iter())
        .map(|t| {
            let p = &t.partitions[0];
            (t.topic.to_string(), p.error_code, p.records.as_ref().is_some_and(|r| !r.is_empty()))
        })
        .collect();
    codes.sort();
    assert_eq!(
        codes,
        [("secret".into(), 29, false), ("t".into(), 0, true)],
        "t's record is served beside the refusal"
    );
    broker.stop().await;
}
