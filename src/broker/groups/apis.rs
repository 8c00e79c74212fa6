//! The group APIs on the wire: kafka-protocol's messages to the coordinator's
//! structs and back, version by version. Nothing here decides anything; the
//! rules are in [`crate::group`].
//!
//! | API            | versions | what a version changes here                                   |
//! |----------------|----------|---------------------------------------------------------------|
//! | JoinGroup      | 0–9      | v1 rebalance timeout, v4 KIP-394 member id first, v5 instance id, v7 protocol type |
//! | SyncGroup      | 0–5      | v3 instance id, v5 protocol type and name checked             |
//! | Heartbeat      | 0–4      | v3 instance id                                                |
//! | LeaveGroup     | 0–5      | v3 a batch of members, each with its own error                |
//! | OffsetCommit   | 2–8      | v6 leader epoch, v7 instance id                               |
//! | OffsetFetch    | 1–8      | v2 all partitions and a top-level error, v8 several groups    |
//! | ListGroups     | 0–4      | v4 state filter and states                                    |
//! | DescribeGroups | 0–5      | v4 instance ids                                               |
//! | DeleteGroups   | 0–2      |                                                               |
//! | TxnOffsetCommit| 0–4      | v2 leader epoch, v3 member, generation, instance id (KIP-447) |
//! | OffsetDelete   | 0        | (in `offset_delete.rs`)                                       |

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::Bytes;
use kafka_protocol::messages::delete_groups_response::DeletableGroupResult;
use kafka_protocol::messages::describe_groups_response::{DescribedGroup, DescribedGroupMember};
use kafka_protocol::messages::join_group_response::JoinGroupResponseMember;
use kafka_protocol::messages::leave_group_response::MemberResponse;
use kafka_protocol::messages::list_groups_response::ListedGroup;
use kafka_protocol::messages::offset_commit_response::{
    OffsetCommitResponsePartition, OffsetCommitResponseTopic,
};
use kafka_protocol::messages::offset_fetch_response::{
    OffsetFetchResponseGroup, OffsetFetchResponsePartition, OffsetFetchResponsePartitions,
    OffsetFetchResponseTopic, OffsetFetchResponseTopics,
};
use kafka_protocol::messages::txn_offset_commit_response::{
    TxnOffsetCommitResponsePartition, TxnOffsetCommitResponseTopic,
};
use kafka_protocol::messages::{self as msg, GroupId, RequestKind, ResponseKind, TopicName};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;
use uuid::Uuid;

use super::super::{Broker, Error};
use crate::group::{self, FetchedOffset, GroupError, LeavingMember, Output, Response};
use crate::TopicPartition;

fn str(s: impl Into<String>) -> StrBytes {
    StrBytes::from_string(s.into())
}

fn opt_str(s: Option<String>) -> Option<StrBytes> {
    s.map(str)
}

fn code(error: Option<GroupError>) -> i16 {
    error.map_or(0, GroupError::code)
}

/// `__consumer_offsets` records store strings with an `int16` length
/// (`records.rs`), but a flexible request's strings may be longer: such a
/// request is refused here, before the coordinator could be asked to store it.
fn storable<'a>(strings: impl IntoIterator<Item = &'a str>) -> bool {
    strings.into_iter().all(|s| s.len() <= i16::MAX as usize)
}

/// The error for a request whose strings cannot be stored: the group id's own
/// error if it is the culprit.
fn unstorable(group_id: &str) -> i16 {
    if storable([group_id]) {
        ResponseError::InvalidRequest.code()
    } else {
        ResponseError::InvalidGroupId.code()
    }
}

/// Routes one group request.
pub(super) async fn handle(
    broker: &Arc<Broker>,
    body: RequestKind,
    version: i16,
    client_id: String,
    client_host: String,
) -> Result<ResponseKind, Error> {
    Ok(match body {
        RequestKind::JoinGroup(r) => {
            ResponseKind::JoinGroup(join_group(broker, r, version, client_id, client_host).await?)
        }
        RequestKind::SyncGroup(r) => ResponseKind::SyncGroup(sync_group(broker, r, version).await?),
        RequestKind::Heartbeat(r) => ResponseKind::Heartbeat(heartbeat(broker, r)),
        RequestKind::LeaveGroup(r) => ResponseKind::LeaveGroup(leave_group(broker, r, version).await),
        RequestKind::OffsetCommit(r) => ResponseKind::OffsetCommit(offset_commit(broker, r, version).await),
        RequestKind::OffsetFetch(r) => ResponseKind::OffsetFetch(offset_fetch(broker, r, version)),
        RequestKind::ListGroups(r) => ResponseKind::ListGroups(list_groups(broker, r)),
        RequestKind::DescribeGroups(r) => ResponseKind::DescribeGroups(describe_groups(broker, r)),
        RequestKind::DeleteGroups(r) => ResponseKind::DeleteGroups(delete_groups(broker, r).await),
        RequestKind::TxnOffsetCommit(r) => {
            ResponseKind::TxnOffsetCommit(txn_offset_commit(broker, r, version).await)
        }
        RequestKind::OffsetDelete(r) => {
            ResponseKind::OffsetDelete(super::offset_delete::offset_delete(broker, r).await)
        }
        other => return Err(Error::CloseConnection(format!("not a group API: {other:?}"))),
    })
}

// ANCHOR: join_group
async fn join_group(
    broker: &Arc<Broker>,
    r: msg::JoinGroupRequest,
    version: i16,
    client_id: String,
    client_host: String,
) -> Result<msg::JoinGroupResponse, Error> {
    // The member id the coordinator may make is `<group_instance_id or
    // client_id>-<uuid>`: 37 more bytes than its prefix.
    let member_id_bytes = r.group_instance_id.as_deref().map_or(client_id.len(), str::len) + 37;
    let strings = [r.group_id.0.as_str(), r.member_id.as_str(), r.protocol_type.as_str()]
        .into_iter()
        .chain(r.group_instance_id.as_deref())
        .chain(r.protocols.iter().map(|p| p.name.as_str()));
    if !storable(strings) || member_id_bytes > i16::MAX as usize {
        let name = if version < 7 { Some(str("")) } else { None };
        return Ok(msg::JoinGroupResponse::default()
            .with_error_code(unstorable(r.group_id.0.as_str()))
            .with_generation_id(group::NO_GENERATION)
            .with_protocol_name(name)
            .with_member_id(r.member_id));
    }
    let req = group::JoinGroupRequest {
        group_id: r.group_id.0.to_string(),
        member_id: r.member_id.to_string(),
        group_instance_id: r.group_instance_id.map(|s| s.to_string()),
        client_id,
        client_host,
        session_timeout_ms: r.session_timeout_ms,
        // v0 had one timeout for both.
        rebalance_timeout_ms: if version == 0 { r.session_timeout_ms } else { r.rebalance_timeout_ms },
        protocol_type: r.protocol_type.to_string(),
        protocols: r
            .protocols
            .into_iter()
            .map(|p| group::Protocol { name: p.name.to_string(), metadata: p.metadata.to_vec() })
            .collect(),
        require_known_member_id: version >= 4,
        new_member_uuid: Uuid::new_v4(),
    };
    let join = |c: &mut group::GroupCoordinator, token, now| match broker.coordinator_error(&req.group_id) {
        Some(error) => {
            let mut out = Output::default();
            out.join(token, group::JoinGroupResponse::error(&req.member_id, error));
            out
        }
        None => c.join_group(token, &req, now),
    };
    let Response::Join(j) = broker.parked_input(join).await? else {
        return Err(Error::CloseConnection("a JoinGroup answered with a SyncGroup response".into()));
    };
    let members = j
        .members
        .into_iter()
        .map(|m| {
            JoinGroupResponseMember::default()
                .with_member_id(str(m.member_id))
                .with_group_instance_id(if version >= 5 { opt_str(m.group_instance_id) } else { None })
                .with_metadata(Bytes::from(m.metadata))
        })
        .collect();
    // Before v7 the protocol name is not nullable: Kafka sends "" for none.
    let protocol_name = match j.protocol_name {
        None if version < 7 => Some(str("")),
        name => opt_str(name),
    };
    Ok(msg::JoinGroupResponse::default()
        .with_error_code(code(j.error))
        .with_generation_id(j.generation_id)
        .with_protocol_type(if version >= 7 { opt_str(j.protocol_type) } else { None })
        .with_protocol_name(protocol_name)
        .with_leader(str(j.leader))
        .with_member_id(str(j.member_id))
        .with_members(members))
}
// ANCHOR_END: join_group

async fn sync_group(
    broker: &Arc<Broker>,
    r: msg::SyncGroupRequest,
    version: i16,
) -> Result<msg::SyncGroupResponse, Error> {
    let req = group::SyncGroupRequest {
        group_id: r.group_id.0.to_string(),
        generation_id: r.generation_id,
        member_id: r.member_id.to_string(),
        group_instance_id: r.group_instance_id.map(|s| s.to_string()),
        protocol_type: r.protocol_type.map(|s| s.to_string()),
        protocol_name: r.protocol_name.map(|s| s.to_string()),
        assignments: r
            .assignments
            .into_iter()
            .map(|a| (a.member_id.to_string(), a.assignment.to_vec()))
            .collect(),
    };
    let sync = |c: &mut group::GroupCoordinator, token, now| match broker.coordinator_error(&req.group_id) {
        Some(error) => {
            let mut out = Output::default();
            out.sync(token, group::SyncGroupResponse::error(error));
            out
        }
        None => c.sync_group(token, &req, now),
    };
    let Response::Sync(s) = broker.parked_input(sync).await? else {
        return Err(Error::CloseConnection("a SyncGroup answered with a JoinGroup response".into()));
    };
    let mut response = msg::SyncGroupResponse::default()
        .with_error_code(code(s.error))
        .with_assignment(Bytes::from(s.assignment));
    if version >= 5 {
        response = response
            .with_protocol_type(opt_str(s.protocol_type))
            .with_protocol_name(opt_str(s.protocol_name));
    }
    Ok(response)
}

fn heartbeat(broker: &Arc<Broker>, r: msg::HeartbeatRequest) -> msg::HeartbeatResponse {
    let req = group::HeartbeatRequest {
        group_id: r.group_id.0.to_string(),
        generation_id: r.generation_id,
        member_id: r.member_id.to_string(),
        group_instance_id: r.group_instance_id.map(|s| s.to_string()),
    };
    // A heartbeat never completes a rebalance or writes a record: no output.
    let error = {
        let mut coordinator = broker.groups.lock();
        broker.coordinator_error(&req.group_id).or_else(|| coordinator.heartbeat(&req, super::now_ms()))
    };
    broker.groups.wake_timer.notify_one(); // the member's session moved
    msg::HeartbeatResponse::default().with_error_code(code(error))
}

async fn leave_group(
    broker: &Arc<Broker>,
    r: msg::LeaveGroupRequest,
    version: i16,
) -> msg::LeaveGroupResponse {
    let group_id = r.group_id.0.to_string();
    let members: Vec<LeavingMember> = if version < 3 {
        vec![LeavingMember { member_id: r.member_id.to_string(), group_instance_id: None }]
    } else {
        r.members
            .into_iter()
            .map(|m| LeavingMember {
                member_id: m.member_id.to_string(),
                group_instance_id: m.group_instance_id.map(|s| s.to_string()),
            })
            .collect()
    };
    let (response, stored_error) = broker
        .group_input(|c, now| match broker.coordinator_error(&group_id) {
            Some(error) => {
                (group::LeaveGroupResponse { error: Some(error), members: vec![] }, Output::default())
            }
            None => c.leave_group(&group_id, &members, now),
        })
        .await;
    if version < 3 {
        // One member, its error at the top level.
        let error =
            response.error.or_else(|| response.members.first().and_then(|(_, e)| *e)).or(stored_error);
        return msg::LeaveGroupResponse::default().with_error_code(code(error));
    }
    let members = response
        .members
        .into_iter()
        .map(|(m, error)| {
            MemberResponse::default()
                .with_member_id(str(m.member_id))
                .with_group_instance_id(opt_str(m.group_instance_id))
                .with_error_code(code(error))
        })
        .collect();
    msg::LeaveGroupResponse::default()
        .with_error_code(code(response.error.or(stored_error)))
        .with_members(members)
}

// ANCHOR: offset_commit
async fn offset_commit(
    broker: &Arc<Broker>,
    r: msg::OffsetCommitRequest,
    version: i16,
) -> msg::OffsetCommitResponse {
    if !storable([r.group_id.0.as_str()]) {
        // Every partition gets the error, as Kafka answers a bad group id.
        let error = ResponseError::InvalidGroupId.code();
        let topics = r
            .topics
            .into_iter()
            .map(|t| {
                let partitions = t.partitions.iter().map(|p| {
                    OffsetCommitResponsePartition::default()
                        .with_partition_index(p.partition_index)
                        .with_error_code(error)
                });
                OffsetCommitResponseTopic::default().with_name(t.name).with_partitions(partitions.collect())
            })
            .collect();
        return msg::OffsetCommitResponse::default().with_topics(topics);
    }
    let mut req = group::OffsetCommitRequest {
        group_id: r.group_id.0.to_string(),
        generation_id: r.generation_id_or_member_epoch,
        member_id: r.member_id.to_string(),
        group_instance_id: if version >= 7 { r.group_instance_id.map(|s| s.to_string()) } else { None },
        partitions: vec![],
    };
    // Kafka refuses commits for partitions that do not exist before asking
    // the group: the metadata image says, not this broker's replicas.
    let mut errors: BTreeMap<TopicPartition, i16> = BTreeMap::new();
    let mut order = Vec::new();
    let image = broker.metadata_image();
    for topic in &r.topics {
        let known = image.topic(topic.name.0.as_str());
        for p in &topic.partitions {
            let tp = TopicPartition::new(topic.name.0.to_string(), p.partition_index);
            order.push(tp.clone());
            if !known.is_some_and(|t| t.partitions.contains_key(&p.partition_index)) {
                errors.insert(tp, ResponseError::UnknownTopicOrPartition.code());
                continue;
            }
            req.partitions.push(group::OffsetCommitPartition {
                partition: tp,
                offset: p.committed_offset,
                leader_epoch: if version >= 6 { p.committed_leader_epoch } else { -1 },
                metadata: p.committed_metadata.as_ref().map(|m| m.to_string()),
            });
        }
    }
    if !req.partitions.is_empty() {
        let token = broker.groups.token();
        let commit = |c: &mut group::GroupCoordinator, now| match broker.coordinator_error(&req.group_id) {
            Some(error) => (
                req.partitions.iter().map(|p| (p.partition.clone(), Some(error))).collect(),
                Output::default(),
            ),
            None => c.offset_commit(token, &req, now),
        };
        let (results, stored_error) = broker.group_input(commit).await;
        for (tp, error) in results {
            let error = error.or(stored_error);
            errors.insert(tp, code(error));
        }
    }
    let topics = codes_by_topic(order, &errors)
        .into_iter()
        .map(|(name, codes)| {
            let partitions = codes.into_iter().map(|(index, code)| {
                OffsetCommitResponsePartition::default().with_partition_index(index).with_error_code(code)
            });
            OffsetCommitResponseTopic::default()
                .with_name(TopicName(str(name)))
                .with_partitions(partitions.collect())
        })
        .collect();
    msg::OffsetCommitResponse::default().with_topics(topics)
}
// ANCHOR_END: offset_commit

// ANCHOR: txn_offset_commit
/// TxnOffsetCommit (chapter 9): as OffsetCommit, but the offsets are
/// appended in the producer's transaction and wait for its marker. First,
/// KIP-890 part 1: the transaction coordinator must confirm that the
/// group's offsets partition is in the transaction (AddOffsetsToTxn), else
/// every partition gets its error and the group coordinator never sees the
/// commit ([`Broker::verify_txn_offset_commit`]).
async fn txn_offset_commit(
    broker: &Arc<Broker>,
    r: msg::TxnOffsetCommitRequest,
    version: i16,
) -> msg::TxnOffsetCommitResponse {
    let member = version >= 3;
    let mut req = group::TxnOffsetCommitRequest {
        group_id: r.group_id.0.to_string(),
        producer_id: r.producer_id.0,
        producer_epoch: r.producer_epoch,
        generation_id: if member { r.generation_id } else { group::NO_GENERATION },
        member_id: if member { r.member_id.to_string() } else { String::new() },
        group_instance_id: if member { r.group_instance_id.map(|s| s.to_string()) } else { None },
        partitions: vec![],
    };
    let mut errors: BTreeMap<TopicPartition, i16> = BTreeMap::new();
    let mut order = Vec::new();
    let image = broker.metadata_image();
    for topic in &r.topics {
        let known = image.topic(topic.name.0.as_str());
        for p in &topic.partitions {
            let tp = TopicPartition::new(topic.name.0.to_string(), p.partition_index);
            order.push(tp.clone());
            if !storable([req.group_id.as_str()]) {
                errors.insert(tp, ResponseError::InvalidGroupId.code());
            } else if !known.is_some_and(|t| t.partitions.contains_key(&p.partition_index)) {
                errors.insert(tp, ResponseError::UnknownTopicOrPartition.code());
            } else {
                req.partitions.push(group::OffsetCommitPartition {
                    partition: tp,
                    offset: p.committed_offset,
                    leader_epoch: if version >= 2 { p.committed_leader_epoch } else { -1 },
                    metadata: p.committed_metadata.as_ref().map(|m| m.to_string()),
                });
            }
        }
    }
    let verified = match broker.coordinator_error(&req.group_id) {
        _ if req.partitions.is_empty() => Ok(None),
        Some(_) => Ok(None), // the group coordinator answers that error
        None => {
            let transactional_id = r.transactional_id.0.as_str();
            let (producer_id, epoch) = (req.producer_id, req.producer_epoch);
            broker
                .verify_txn_offset_commit(&req.group_id, transactional_id, producer_id, epoch, version)
                .await
        }
    };
    let guard = match verified {
        Ok(guard) => guard,
        Err(error) => {
            for p in req.partitions.drain(..) {
                errors.insert(p.partition, error.code());
            }
            None
        }
    };
    if !req.partitions.is_empty() {
        let token = broker.groups.token();
        let commit = |c: &mut group::GroupCoordinator, now| match broker.coordinator_error(&req.group_id) {
            Some(error) => (
                req.partitions.iter().map(|p| (p.partition.clone(), Some(error))).collect(),
                Output::default(),
            ),
            None => c.txn_offset_commit(token, &req, now),
        };
        let (results, stored_error) = broker.verified_group_input(guard, commit).await;
        for (tp, error) in results {
            errors.insert(tp, code(error.or(stored_error)));
        }
    }
    let topics = codes_by_topic(order, &errors)
        .into_iter()
        .map(|(name, codes)| {
            let partitions = codes.into_iter().map(|(index, code)| {
                TxnOffsetCommitResponsePartition::default().with_partition_index(index).with_error_code(code)
            });
            TxnOffsetCommitResponseTopic::default()
                .with_name(TopicName(str(name)))
                .with_partitions(partitions.collect())
        })
        .collect();
    msg::TxnOffsetCommitResponse::default().with_topics(topics)
}
// ANCHOR_END: txn_offset_commit

/// The committed offsets of one group, or why this broker cannot say.
fn fetch_offsets(
    broker: &Broker,
    group_id: &str,
    partitions: Option<Vec<TopicPartition>>,
    require_stable: bool,
) -> Result<Vec<FetchedOffset>, GroupError> {
    let coordinator = broker.groups.lock();
    match broker.coordinator_error(group_id) {
        Some(error) => Err(error),
        None => Ok(coordinator.offset_fetch_stable(group_id, partitions.as_deref(), require_stable)),
    }
}

/// Each partition's error code in request order, grouped by topic as a
/// commit's answer lists them (OffsetCommit and TxnOffsetCommit alike).
fn codes_by_topic(
    order: Vec<TopicPartition>,
    errors: &BTreeMap<TopicPartition, i16>,
) -> Vec<(String, Vec<(i32, i16)>)> {
    let mut topics: Vec<(String, Vec<(i32, i16)>)> = Vec::new();
    for tp in order {
        let code = (tp.partition, errors.get(&tp).copied().unwrap_or_default());
        match topics.last_mut() {
            Some((t, codes)) if *t == tp.topic => codes.push(code),
            _ => topics.push((tp.topic, vec![code])),
        }
    }
    topics
}

fn by_topic<P>(
    fetched: Vec<FetchedOffset>,
    mut partition: impl FnMut(FetchedOffset) -> P,
) -> Vec<(String, Vec<P>)> {
    let mut topics: Vec<(String, Vec<P>)> = Vec::new();
    for f in fetched {
        let topic = f.partition.topic.clone();
        match topics.last_mut() {
            Some((t, ps)) if *t == topic => ps.push(partition(f)),
            _ => topics.push((topic, vec![partition(f)])),
        }
    }
    topics
}

// ANCHOR: offset_fetch
fn offset_fetch(broker: &Broker, r: msg::OffsetFetchRequest, version: i16) -> msg::OffsetFetchResponse {
    // `require_stable` (v7+, KIP-447): a partition with a transaction's
    // offsets pending is answered UNSTABLE_OFFSET_COMMIT, and the consumer retries.
    let require_stable = version >= 7 && r.require_stable;
    if version >= 8 {
        let groups = r
            .groups
            .into_iter()
            .map(|g| {
                let partitions = g.topics.map(|ts| {
                    ts.into_iter()
                        .flat_map(|t| {
                            let name = t.name.0.to_string();
                            t.partition_indexes.into_iter().map(move |p| TopicPartition::new(name.clone(), p))
                        })
                        .collect()
                });
                let (fetched, error) =
                    match fetch_offsets(broker, g.group_id.0.as_str(), partitions, require_stable) {
                        Ok(fetched) => (fetched, None),
                        Err(error) => (vec![], Some(error)),
                    };
                let topics = by_topic(fetched, |f| {
                    OffsetFetchResponsePartitions::default()
                        .with_partition_index(f.partition.partition)
                        .with_committed_offset(f.offset)
                        .with_committed_leader_epoch(f.leader_epoch)
                        .with_metadata(Some(str(f.metadata)))
                        .with_error_code(code(f.error))
                })
                .into_iter()
                .map(|(name, partitions)| {
                    OffsetFetchResponseTopics::default()
                        .with_name(TopicName(str(name)))
                        .with_partitions(partitions)
                })
                .collect();
                OffsetFetchResponseGroup::default()
                    .with_group_id(g.group_id)
                    .with_topics(topics)
                    .with_error_code(code(error))
            })
            .collect();
        return msg::OffsetFetchResponse::default().with_groups(groups);
    }
    let partitions = r.topics.map(|ts| {
        ts.into_iter()
            .flat_map(|t| {
                let name = t.name.0.to_string();
                t.partition_indexes.into_iter().map(move |p| TopicPartition::new(name.clone(), p))
            })
            .collect()
    });
    let (fetched, error) =
        match fetch_offsets(broker, r.group_id.0.as_str(), partitions.clone(), require_stable) {
            Ok(fetched) => (fetched, None),
            // v1 has no top-level error: each partition asked for carries it.
            Err(error) if version < 2 => {
                let asked = partitions.unwrap_or_default().into_iter();
                (asked.map(FetchedOffset::none).collect(), Some(error))
            }
            Err(error) => (vec![], Some(error)),
        };
    let topics = by_topic(fetched, |f| {
        OffsetFetchResponsePartition::default()
            .with_partition_index(f.partition.partition)
            .with_committed_offset(f.offset)
            .with_committed_leader_epoch(if version >= 5 { f.leader_epoch } else { -1 })
            .with_metadata(Some(str(f.metadata)))
            .with_error_code(code(f.error.or(if version < 2 { error } else { None })))
    })
    .into_iter()
    .map(|(name, partitions)| {
        OffsetFetchResponseTopic::default().with_name(TopicName(str(name))).with_partitions(partitions)
    })
    .collect();
    let top_level = if version >= 2 { code(error) } else { 0 };
    msg::OffsetFetchResponse::default().with_topics(topics).with_error_code(top_level)
}
// ANCHOR_END: offset_fetch

fn list_groups(broker: &Broker, r: msg::ListGroupsRequest) -> msg::ListGroupsResponse {
    // v4+ filters by state name (Kafka compares them case-insensitively).
    let wanted = |state: &str| {
        r.states_filter.is_empty() || r.states_filter.iter().any(|s| s.eq_ignore_ascii_case(state))
    };
    let groups = broker
        .groups
        .lock()
        .list_groups(&[])
        .into_iter()
        .filter(|g| wanted(g.state.name()))
        .map(|g| {
            ListedGroup::default()
                .with_group_id(GroupId(str(g.group_id)))
                .with_protocol_type(str(g.protocol_type))
                .with_group_state(str(g.state.name()))
        })
        .collect();
    msg::ListGroupsResponse::default().with_groups(groups)
}

fn describe_groups(broker: &Broker, r: msg::DescribeGroupsRequest) -> msg::DescribeGroupsResponse {
    let ids: Vec<String> = r.groups.iter().map(|g| g.0.to_string()).collect();
    let (described, errors): (Vec<_>, Vec<_>) = {
        let coordinator = broker.groups.lock();
        let errors: Vec<_> = ids.iter().map(|id| broker.coordinator_error(id)).collect();
        (coordinator.describe_groups(&ids), errors)
    };
    let groups = described
        .into_iter()
        .zip(errors)
        .map(|(g, error)| {
            if error.is_some() {
                return DescribedGroup::default()
                    .with_group_id(GroupId(str(g.group_id)))
                    .with_error_code(code(error));
            }
            let members = g
                .members
                .into_iter()
                .map(|m| {
                    DescribedGroupMember::default()
                        .with_member_id(str(m.member_id))
                        .with_group_instance_id(opt_str(m.group_instance_id))
                        .with_client_id(str(m.client_id))
                        .with_client_host(str(m.client_host))
                        .with_member_metadata(Bytes::from(m.metadata))
                        .with_member_assignment(Bytes::from(m.assignment))
                })
                .collect();
            DescribedGroup::default()
                .with_group_id(GroupId(str(g.group_id)))
                .with_group_state(str(g.state.name()))
                .with_protocol_type(str(g.protocol_type))
                .with_protocol_data(str(g.protocol))
                .with_members(members)
        })
        .collect();
    msg::DescribeGroupsResponse::default().with_groups(groups)
}

async fn delete_groups(broker: &Arc<Broker>, r: msg::DeleteGroupsRequest) -> msg::DeleteGroupsResponse {
    let ids: Vec<String> = r.groups_names.iter().map(|g| g.0.to_string()).collect();
    let delete = |c: &mut group::GroupCoordinator, _| {
        let (refused, ours): (Vec<_>, Vec<_>) =
            ids.iter().map(|id| (id.clone(), broker.coordinator_error(id))).partition(|(_, e)| e.is_some());
        let ours: Vec<String> = ours.into_iter().map(|(id, _)| id).collect();
        let (mut results, out) = c.delete_groups(&ours);
        results.extend(refused);
        (results, out)
    };
    let (results, stored_error) = broker.group_input(delete).await;
    let results = results
        .into_iter()
        .map(|(id, error)| {
            // Deleted in memory but the tombstones are not stored: say so.
            let error = error.or(stored_error);
            DeletableGroupResult::default().with_group_id(GroupId(str(id))).with_error_code(code(error))
        })
        .collect();
    msg::DeleteGroupsResponse::default().with_results(results)
}
