//! Chapter 5 — the group APIs from the client side: FindCoordinator,
//! OffsetCommit and OffsetFetch, and the admin calls behind
//! `kafka-consumer-groups.sh` (ListGroups, DescribeGroups, DeleteGroups).
//!
//! Every group request goes to the group's *coordinator*, the broker leading
//! the group's partition of `__consumer_offsets`
//! ([`crate::group::partition_for`]). A client asks any broker which one that
//! is (FindCoordinator), then talks to it; `NOT_COORDINATOR` or
//! `COORDINATOR_NOT_AVAILABLE` (the offsets topic is still being created, or
//! moved) means: look it up again and retry. The membership calls (JoinGroup,
//! SyncGroup, Heartbeat, LeaveGroup) are in [`super::group_consumer`].

use std::collections::BTreeMap;
use std::time::Duration;

use kafka_protocol::messages::offset_commit_request::{
    OffsetCommitRequestPartition, OffsetCommitRequestTopic,
};
use kafka_protocol::messages::offset_fetch_request::OffsetFetchRequestTopic;
use kafka_protocol::messages::{
    ApiKey, DeleteGroupsRequest, DescribeGroupsRequest, FindCoordinatorRequest, GroupId, ListGroupsRequest,
    OffsetCommitRequest, OffsetFetchRequest,
};
use kafka_protocol::protocol::{Request, StrBytes};
use kafka_protocol::ResponseError;

use super::admin::topic_name;
use super::assignor::protocol::{decode_assignment, decode_subscription};
use super::{Client, ClientError};
use crate::TopicPartition;

/// FindCoordinator's key type for a consumer group (1 is a transactional id).
const KEY_TYPE_GROUP: i8 = 0;

/// One group, as ListGroups lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedGroup {
    pub group_id: String,
    /// `consumer` for consumer groups; empty for a group with offsets only.
    pub protocol_type: String,
    /// `Stable`, `Empty`, `PreparingRebalance`, … (ListGroups v4+; empty before).
    pub state: String,
}

/// One member, as DescribeGroups describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberDescription {
    pub member_id: String,
    pub group_instance_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    /// The topics of its subscription (empty if not a consumer protocol member).
    pub topics: Vec<String>,
    /// Its part of the current assignment, decoded.
    pub assignment: Vec<TopicPartition>,
}

/// One group, as DescribeGroups describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupDescription {
    pub group_id: String,
    pub state: String,
    pub protocol_type: String,
    /// The chosen assignor (`range`, `cooperative-sticky`, …).
    pub protocol: String,
    pub members: Vec<MemberDescription>,
}

impl Client {
    // ANCHOR: find_coordinator
    /// The `host:port` of `group_id`'s coordinator, from any broker.
    pub async fn find_coordinator(&mut self, group_id: &str) -> Result<String, ClientError> {
        self.coordinator(KEY_TYPE_GROUP, group_id).await.map(|(_, addr)| addr)
    }

    /// FindCoordinator for `key` of `key_type` (0: a group, 1: a transactional
    /// id), from any broker: the coordinator's node id and `host:port`.
    pub async fn coordinator(&mut self, key_type: i8, key: &str) -> Result<(i32, String), ClientError> {
        let connection = self.any_connection().await?;
        let version = connection.version_for(ApiKey::FindCoordinator)?;
        let context = || format!("find coordinator of {key}");
        let key = StrBytes::from_string(key.to_string());
        let mut request = FindCoordinatorRequest::default().with_key_type(key_type);
        request = if version >= 4 { request.with_coordinator_keys(vec![key]) } else { request.with_key(key) };
        let response = connection.send(&request).await?;
        let (error_code, message, node_id, host, port) = if version >= 4 {
            let Some(c) = response.coordinators.into_iter().next() else {
                return Err(ClientError::Protocol("FindCoordinator answered no coordinator".into()));
            };
            (c.error_code, c.error_message, c.node_id, c.host, c.port)
        } else {
            (response.error_code, response.error_message, response.node_id, response.host, response.port)
        };
        ClientError::check(error_code, message.map(|m| m.to_string()), context)?;
        Ok((node_id.0, format!("{host}:{port}")))
    }
    // ANCHOR_END: find_coordinator

    /// Sends `request` to the broker at `addr` (a coordinator), waiting up to `timeout`.
    pub async fn send_to<R: Request>(
        &mut self,
        addr: &str,
        request: &R,
        timeout: Duration,
    ) -> Result<R::Response, ClientError> {
        self.connection_to(addr).await?.send_within(request, timeout).await
    }

    /// OffsetCommit of `offsets` (the next offset to read in each partition)
    /// as member `member_id` of `generation_id` (-1 and "" for a commit from
    /// outside the group, which only an Empty group accepts). Every
    /// partition's error is checked; the first is returned.
    pub async fn commit_offsets(
        &mut self,
        coordinator: &str,
        group: &GroupIdentity<'_>,
        offsets: &BTreeMap<TopicPartition, i64>,
    ) -> Result<(), ClientError> {
        let mut topics: BTreeMap<&str, Vec<OffsetCommitRequestPartition>> = BTreeMap::new();
        for (tp, &offset) in offsets {
            topics.entry(&tp.topic).or_default().push(
                OffsetCommitRequestPartition::default()
                    .with_partition_index(tp.partition)
                    .with_committed_offset(offset)
                    .with_committed_leader_epoch(-1)
                    .with_committed_metadata(Some(StrBytes::from_static_str(""))),
            );
        }
        let request = OffsetCommitRequest::default()
            .with_group_id(group_id(group.group_id))
            .with_generation_id_or_member_epoch(group.generation_id)
            .with_member_id(StrBytes::from_string(group.member_id.to_string()))
            .with_group_instance_id(group.group_instance_id.map(|i| StrBytes::from_string(i.to_string())))
            .with_retention_time_ms(-1)
            .with_topics(
                topics
                    .into_iter()
                    .map(|(t, ps)| {
                        OffsetCommitRequestTopic::default().with_name(topic_name(t)).with_partitions(ps)
                    })
                    .collect(),
            );
        let timeout = self.request_timeout;
        let response = self.send_to(coordinator, &request, timeout).await?;
        for t in response.topics {
            for p in t.partitions {
                ClientError::check(p.error_code, None, || {
                    format!(
                        "commit offset of {}-{} for group {}",
                        t.name.0, p.partition_index, group.group_id
                    )
                })?;
            }
        }
        Ok(())
    }

    /// OffsetFetch: the committed offset of each of `partitions` (all the
    /// group's when `None`); partitions without one are left out.
    pub async fn committed_offsets(
        &mut self,
        coordinator: &str,
        group: &str,
        partitions: Option<&[TopicPartition]>,
    ) -> Result<BTreeMap<TopicPartition, i64>, ClientError> {
        let topics = partitions.map(|partitions| {
            let mut by_topic: BTreeMap<&str, Vec<i32>> = BTreeMap::new();
            for tp in partitions {
                by_topic.entry(&tp.topic).or_default().push(tp.partition);
            }
            by_topic
                .into_iter()
                .map(|(t, ps)| {
                    OffsetFetchRequestTopic::default().with_name(topic_name(t)).with_partition_indexes(ps)
                })
                .collect()
        });
        let request = OffsetFetchRequest::default().with_group_id(group_id(group)).with_topics(topics);
        let timeout = self.request_timeout;
        let response = self.send_to(coordinator, &request, timeout).await?;
        ClientError::check(response.error_code, None, || format!("fetch offsets of group {group}"))?;
        let mut committed = BTreeMap::new();
        for t in response.topics {
            for p in t.partitions {
                let tp = TopicPartition::new(t.name.0.to_string(), p.partition_index);
                ClientError::check(p.error_code, None, || format!("fetch offset of {tp} for {group}"))?;
                if p.committed_offset >= 0 {
                    committed.insert(tp, p.committed_offset);
                }
            }
        }
        Ok(committed)
    }

    /// ListGroups on every broker of the cluster, sorted by group id.
    pub async fn list_groups(&mut self) -> Result<Vec<ListedGroup>, ClientError> {
        let metadata = self.metadata(Some(&[]), false).await?;
        let mut groups = Vec::new();
        for broker in &metadata.brokers {
            let response =
                self.node_connection(broker.node_id).await?.send(&ListGroupsRequest::default()).await?;
            ClientError::check(response.error_code, None, || {
                format!("list groups on node {}", broker.node_id)
            })?;
            groups.extend(response.groups.into_iter().map(|g| ListedGroup {
                group_id: g.group_id.0.to_string(),
                protocol_type: g.protocol_type.to_string(),
                state: g.group_state.to_string(),
            }));
        }
        groups.sort_by(|a, b| a.group_id.cmp(&b.group_id));
        Ok(groups)
    }

    /// DescribeGroups for one group, from its coordinator. A group that does
    /// not exist is described as state `Dead` with no members, as Kafka does.
    pub async fn describe_group(&mut self, group: &str) -> Result<GroupDescription, ClientError> {
        let coordinator = self.find_coordinator(group).await?;
        let request = DescribeGroupsRequest::default().with_groups(vec![group_id(group)]);
        let timeout = self.request_timeout;
        let response = self.send_to(&coordinator, &request, timeout).await?;
        let Some(described) = response.groups.into_iter().find(|g| g.group_id.0.as_str() == group) else {
            return Err(ClientError::Protocol(format!("DescribeGroups did not answer for group {group}")));
        };
        let message = described.error_message.map(|m| m.to_string());
        ClientError::check(described.error_code, message, || format!("describe group {group}"))?;
        let consumer = described.protocol_type.as_str() == "consumer";
        let members = described
            .members
            .into_iter()
            .map(|m| {
                // Bytes that do not decode (another protocol) describe as empty.
                let topics = if consumer {
                    decode_subscription(m.member_metadata.clone()).map(|s| s.topics).unwrap_or_default()
                } else {
                    Vec::new()
                };
                let assignment = if consumer {
                    decode_assignment(m.member_assignment.clone()).map(|a| a.partitions).unwrap_or_default()
                } else {
                    Vec::new()
                };
                MemberDescription {
                    member_id: m.member_id.to_string(),
                    group_instance_id: m.group_instance_id.map(|i| i.to_string()),
                    client_id: m.client_id.to_string(),
                    client_host: m.client_host.to_string(),
                    topics,
                    assignment,
                }
            })
            .collect();
        Ok(GroupDescription {
            group_id: group.to_string(),
            state: described.group_state.to_string(),
            protocol_type: described.protocol_type.to_string(),
            protocol: described.protocol_data.to_string(),
            members,
        })
    }

    /// DeleteGroups, each group at its coordinator: one result per group.
    /// Only a group without members can be deleted (`NON_EMPTY_GROUP`).
    pub async fn delete_groups(
        &mut self,
        groups: &[&str],
    ) -> Result<Vec<(String, Result<(), ClientError>)>, ClientError> {
        let mut results = Vec::new();
        for group in groups {
            let coordinator = self.find_coordinator(group).await?;
            let request = DeleteGroupsRequest::default().with_groups_names(vec![group_id(group)]);
            let timeout = self.request_timeout;
            let response = self.send_to(&coordinator, &request, timeout).await?;
            for r in response.results {
                let name = r.group_id.0.to_string();
                let result = ClientError::check(r.error_code, None, || format!("delete group {name}"));
                results.push((name, result));
            }
        }
        Ok(results)
    }
}

/// Who commits: the group, and the member and generation when it is a member.
#[derive(Debug, Clone, Copy)]
pub struct GroupIdentity<'a> {
    pub group_id: &'a str,
    pub generation_id: i32,
    pub member_id: &'a str,
    pub group_instance_id: Option<&'a str>,
}

impl<'a> GroupIdentity<'a> {
    /// A commit from outside the group (the admin path: an Empty group only).
    pub fn outsider(group_id: &'a str) -> Self {
        GroupIdentity { group_id, generation_id: -1, member_id: "", group_instance_id: None }
    }
}

pub(crate) fn group_id(group: &str) -> GroupId {
    GroupId(StrBytes::from_string(group.to_string()))
}

/// Whether `error` means: look the coordinator up again and retry.
pub(crate) fn is_coordinator_error(error: &ClientError) -> bool {
    matches!(error, ClientError::Io(_) | ClientError::Timeout { .. })
        || matches!(
            error.code(),
            Some(
                ResponseError::NotCoordinator
                    | ResponseError::CoordinatorNotAvailable
                    | ResponseError::CoordinatorLoadInProgress
            )
        )
}
