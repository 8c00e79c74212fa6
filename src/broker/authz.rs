//! Enforcement (chapter 11): before a request is handled, the authorizer is
//! asked about each resource it touches, in one table
//! (`Broker::authorize_request`, a match over the request) after Kafka's
//! `KafkaApis` and `AuthHelper`:
//!
//! ```text
//!  API                          operation         resource                 refused with
//!  Produce                      Write             each topic               29 per partition
//!    (transactional)            Write             transactional id         53, whole
//!  Fetch (consumer)             Read              each topic               29 per partition
//!  Fetch (follower)             ClusterAction     cluster                  29 per partition
//!  ListOffsets                  Describe          each topic               29 per partition
//!  OffsetForLeaderEpoch         Describe          each topic               29 per partition
//!    (follower)                 ClusterAction     cluster                  31 per partition
//!  Metadata                     Describe          each topic               omitted (all) or 29 (named)
//!    (auto-creation)            Create            cluster, else topic      29
//!  CreateTopics                 Create            cluster, else topic      29 per topic
//!  DeleteTopics                 Delete            each topic               29 per topic
//!  CreatePartitions             Alter             each topic               29 per topic
//!  DeleteRecords                Delete            each topic               29 per partition
//!  DescribeProducers            Read              each topic               29 per partition
//!  DescribeTopicPartitions      Describe          each topic               omitted (all) or 29 (named)
//!  Join/Sync/Heartbeat/Leave    Read              group                    30
//!  OffsetCommit                 Read              group; each topic        30 whole; 29 per partition
//!  OffsetFetch                  Describe          group; each topic        30; 29 (named) or omitted
//!  OffsetDelete                 Delete            group; Read each topic   30 whole; 29 per partition
//!  DescribeGroups               Describe          each group               30 per group
//!  DeleteGroups                 Delete            each group               30 per group
//!  ListGroups                   Describe          cluster, else each group omitted
//!  FindCoordinator              Describe          group / transactional id 30 / 53
//!  InitProducerId               Write             transactional id         53
//!    (idempotent only)          IdempotentWrite   cluster, or Write a topic 31
//!  AddPartitionsToTxn (v0–3)    Write             txn id; each topic       53 whole; 29 per topic
//!  AddPartitionsToTxn (v4+)     ClusterAction     cluster                  31
//!  AddOffsetsToTxn              Write; Read       txn id; group            53; 30
//!  EndTxn                       Write             transactional id         53
//!  TxnOffsetCommit              Write; Read; Read txn id; group; topics    53; 30; 29 per partition
//!  DescribeTransactions         Describe          each transactional id    53 per id
//!  ListTransactions             Describe          each transactional id    omitted
//!  WriteTxnMarkers              ClusterAction     cluster                  31 per partition
//!  DescribeConfigs              DescribeConfigs   topic / cluster / group  29 / 31 / 30 per resource
//!  AlterConfigs, Incremental…   AlterConfigs      topic / cluster / group  29 / 31 / 30 per resource
//!  Alter/DescribeClientQuotas  AlterConfigs / DescribeConfigs  cluster   31
//!  DescribeLogDirs              Describe          cluster                  31
//!  DescribeCluster              Describe          cluster                  31
//!  ElectLeaders                 Alter             cluster                  31
//!  CreateAcls, DeleteAcls       Alter             cluster                  31
//!  DescribeAcls                 Describe          cluster                  31
//! ```
//!
//! Codes: TOPIC_AUTHORIZATION_FAILED 29, GROUP_AUTHORIZATION_FAILED 30,
//! CLUSTER_AUTHORIZATION_FAILED 31, TRANSACTIONAL_ID_AUTHORIZATION_FAILED 53.
//!
//! A request is either answered whole by the table (`Verdict::Answer`) or
//! narrowed to what the principal may do and handled; what was taken out is
//! kept as `Refused` and put back into the answer, beside the results of
//! the rest, as Kafka's `KafkaApis` does with its "unauthorized" maps
//! (`merge.rs`).
//!
//! Simplifications: the idempotent producer's "Write on any topic" asks
//! whether some ALLOW ACL names Write (or All) on a topic for the principal,
//! without Kafka's check that no DENY covers it (`authorizeByResourceType`);
//! DescribeGroups' and Metadata's `authorized_operations` are not filled
//! (DescribeTopicPartitions' are). A client on an SSL listener with a
//! certificate, or on a SASL listener, carries its own principal; one on
//! PLAINTEXT is `User:ANONYMOUS`, and so are the brokers' own connections
//! (they talk to each other over PLAINTEXT): a cluster with the authorizer
//! on needs `super.users=User:ANONYMOUS` on a PLAINTEXT listener only the
//! brokers can reach.

mod answers;
mod merge;
mod narrow;

use kafka_protocol::messages::{RequestKind, ResponseKind};
use kafka_protocol::ResponseError;

use super::Broker;
use crate::security::{
    authorize, AclSet, AuthorizerConfig, Decision, Operation, Permission, Principal, ResourcePattern,
    ResourceType,
};
use crate::wire::codec::Request;
pub(super) use merge::Refused;

/// The client's IP address as the authorizer compares hosts: without the `/`
/// Kafka prints before it.
fn host_of(request: &Request) -> &str {
    request.client_host.trim_start_matches('/')
}

/// One question about a request: may it do this?
#[derive(Clone, Copy)]
struct Ask<'a> {
    config: &'a AuthorizerConfig,
    principal: &'a Principal,
    host: &'a str,
    acls: &'a AclSet,
}

impl Ask<'_> {
    fn may(&self, operation: Operation, resource_type: ResourceType, name: &str) -> bool {
        let resource = ResourcePattern::literal(resource_type, name);
        authorize(self.config, self.principal, self.host, operation, &resource, self.acls)
            == Decision::Allowed
    }

    fn may_cluster(&self, operation: Operation) -> bool {
        self.may(operation, ResourceType::Cluster, &ResourcePattern::cluster().name)
    }

    /// Kafka's `authorizedOperations`: a bit (1 << code) for each of
    /// `operations` the principal may do on the resource.
    fn authorized_operations(
        &self,
        resource_type: ResourceType,
        name: &str,
        operations: &[Operation],
    ) -> i32 {
        (operations.iter())
            .filter(|&&op| self.may(op, resource_type, name))
            .fold(0, |bits, op| bits | (1 << op.code()))
    }

    /// Whether some ALLOW ACL gives the principal `operation` on some
    /// resource of the type (the idempotent producer's "Write on any topic").
    fn may_any(&self, operation: Operation, resource_type: ResourceType) -> bool {
        (self.acls.iter()).any(|(_, acl)| {
            acl.pattern.resource_type == resource_type
                && acl.permission == Permission::Allow
                && (acl.operation == Operation::All || acl.operation == operation)
                && (acl.principal == self.principal.0 || acl.principal == crate::security::WILDCARD_PRINCIPAL)
                && (acl.host == self.host || acl.host == crate::security::WILDCARD)
        })
    }
}

/// What the table decided about one request.
#[allow(clippy::large_enum_variant)] // one per request, moved once: boxing buys nothing
pub(super) enum Verdict {
    /// Handle this (perhaps narrowed) request, then put `Refused` back into its answer.
    Handle(Request, Refused),
    /// Answer this, the request not handled at all.
    Answer(ResponseKind),
}

const TOPIC_DENIED: ResponseError = ResponseError::TopicAuthorizationFailed;
const GROUP_DENIED: ResponseError = ResponseError::GroupAuthorizationFailed;
const CLUSTER_DENIED: ResponseError = ResponseError::ClusterAuthorizationFailed;
const TXN_DENIED: ResponseError = ResponseError::TransactionalIdAuthorizationFailed;

impl Broker {
    // ANCHOR: authorize_request
    // ANCHOR: authorize_head
    /// The table: the answer to a request the principal may not make, or the
    /// request narrowed to what it may, with what was taken out. `None`
    /// authorizer: everything passes.
    pub(super) fn authorize_request(&self, mut request: Request) -> Verdict {
        let Some(config) = &self.config.authorizer else { return Verdict::Handle(request, Refused::Nothing) };
        let image = self.metadata_image();
        let host = host_of(&request).to_string();
        let principal = request.principal.clone();
        let ask = Ask { config, principal: &principal, host: &host, acls: image.acls() };
        let version = request.header.request_api_version;
        use Operation::*;
        use ResourceType::{Group, Topic, TransactionalId as Txn};
        let topic = |op: Operation| move |name: &str| ask.may(op, Topic, name);
        let refused = match &mut request.body {
            RequestKind::Produce(r) => {
                let txn_ok = (r.transactional_id.as_ref()).is_none_or(|id| ask.may(Write, Txn, id));
                if !txn_ok {
                    return Verdict::Answer(answers::produce(r, TXN_DENIED));
                }
                Refused::Produce(narrow::partitions(&mut r.topic_data, topic(Write)))
            }
            RequestKind::Fetch(r) if r.replica_id.0 >= 0 || r.replica_state.replica_id.0 >= 0 => {
                if !ask.may_cluster(ClusterAction) {
                    return Verdict::Answer(answers::fetch(r, TOPIC_DENIED));
                }
                Refused::Nothing
            }
            RequestKind::Fetch(r) => Refused::Fetch(narrow::partitions(&mut r.topics, topic(Read))),
            // ANCHOR_END: authorize_head
            RequestKind::ListOffsets(r) => {
                Refused::ListOffsets(narrow::partitions(&mut r.topics, topic(Describe)))
            }
            RequestKind::OffsetForLeaderEpoch(r) if r.replica_id.0 >= 0 => {
                if !ask.may_cluster(ClusterAction) {
                    return Verdict::Answer(answers::offset_for_leader_epoch(r, CLUSTER_DENIED));
                }
                Refused::Nothing
            }
            RequestKind::OffsetForLeaderEpoch(r) => {
                Refused::OffsetForLeaderEpoch(narrow::partitions(&mut r.topics, topic(Describe)))
            }
            RequestKind::Metadata(r) => {
                let auto_create =
                    self.config.auto_create_topics && (version < 4 || r.allow_auto_topic_creation);
                let may_create = |name: &str| {
                    !auto_create
                        || image.topic(name).is_some()
                        || ask.may_cluster(Create)
                        || ask.may(Create, Topic, name)
                };
                // The refused ones are answered 29 after the handler (merge.rs).
                let named = narrow::metadata(r, |n| ask.may(Describe, Topic, n) && may_create(n));
                Refused::Metadata { named }
            }
            RequestKind::CreateTopics(r) if !ask.may_cluster(Create) => {
                let refused = narrow::names(&mut r.topics, |t| t.name.as_str(), topic(Create));
                Refused::CreateTopics(refused.into_iter().map(|t| t.name).collect())
            }
            RequestKind::DeleteTopics(r) => {
                let mut refused = narrow::names(&mut r.topic_names, |n| n.as_str(), topic(Delete));
                refused.extend(narrow::delete_topic_states(&mut r.topics, topic(Delete)));
                Refused::DeleteTopics(refused)
            }
            RequestKind::CreatePartitions(r) => {
                let refused = narrow::names(&mut r.topics, |t| t.name.as_str(), topic(Alter));
                Refused::CreatePartitions(refused.into_iter().map(|t| t.name).collect())
            }
            RequestKind::DeleteRecords(r) => {
                Refused::DeleteRecords(narrow::partitions(&mut r.topics, topic(Delete)))
            }
            RequestKind::DescribeProducers(r) => {
                Refused::DescribeProducers(narrow::partitions(&mut r.topics, topic(Read)))
            }
            RequestKind::DescribeTopicPartitions(r) => {
                let named: Vec<_> = (narrow::names(&mut r.topics, |t| t.name.as_str(), topic(Describe))
                    .into_iter())
                .map(|t| t.name)
                .collect();
                if !named.is_empty() && r.topics.is_empty() {
                    // Empty means "every topic": answer without handling.
                    return Verdict::Answer(self.merge_alone(&ask, Refused::DescribeTopicPartitions(named)));
                }
                Refused::DescribeTopicPartitions(named)
            }
            RequestKind::JoinGroup(r) if !ask.may(Read, Group, &r.group_id) => {
                return Verdict::Answer(answers::join_group(GROUP_DENIED))
            }
            RequestKind::SyncGroup(r) if !ask.may(Read, Group, &r.group_id) => {
                return Verdict::Answer(answers::sync_group(GROUP_DENIED))
            }
            RequestKind::Heartbeat(r) if !ask.may(Read, Group, &r.group_id) => {
                return Verdict::Answer(answers::heartbeat(GROUP_DENIED))
            }
            RequestKind::LeaveGroup(r) if !ask.may(Read, Group, &r.group_id) => {
                return Verdict::Answer(answers::leave_group(GROUP_DENIED))
            }
            RequestKind::OffsetCommit(r) => {
                if !ask.may(Read, Group, &r.group_id) {
                    return Verdict::Answer(answers::offset_commit(r, GROUP_DENIED));
                }
                Refused::OffsetCommit(narrow::partitions(&mut r.topics, topic(Read)))
            }
            RequestKind::OffsetFetch(r) => {
                if r.groups.is_empty() && !ask.may(Describe, Group, &r.group_id) {
                    return Verdict::Answer(answers::offset_fetch(GROUP_DENIED));
                }
                let groups =
                    narrow::names(&mut r.groups, |g| g.group_id.as_str(), |g| ask.may(Describe, Group, g));
                let groups = groups.into_iter().map(|g| g.group_id).collect();
                Refused::OffsetFetch { groups, all_topics: narrow::offset_fetch_all_topics(r) }
            }
            RequestKind::OffsetDelete(r) => {
                if !ask.may(Delete, Group, &r.group_id) {
                    return Verdict::Answer(answers::offset_delete(GROUP_DENIED));
                }
                Refused::OffsetDelete(narrow::partitions(&mut r.topics, topic(Read)))
            }
            RequestKind::DescribeGroups(r) => Refused::DescribeGroups(narrow::names(
                &mut r.groups,
                |g| g.as_str(),
                |g| ask.may(Describe, Group, g),
            )),
            RequestKind::DeleteGroups(r) => Refused::DeleteGroups(narrow::names(
                &mut r.groups_names,
                |g| g.as_str(),
                |g| ask.may(Delete, Group, g),
            )),
            RequestKind::ListGroups(_) if !ask.may_cluster(Describe) => Refused::ListGroups,
            RequestKind::FindCoordinator(r) => {
                let may = |key_type: i8, key: &str| match key_type {
                    1 => ask.may(Describe, Txn, key),
                    _ => ask.may(Describe, Group, key),
                };
                if r.coordinator_keys.is_empty() {
                    if !may(r.key_type, &r.key) {
                        return Verdict::Answer(answers::find_coordinator(r.key_type));
                    }
                    Refused::Nothing
                } else {
                    let key_type = r.key_type;
                    let keys = narrow::names(&mut r.coordinator_keys, |k| k.as_str(), |k| may(key_type, k));
                    Refused::FindCoordinator(key_type, keys)
                }
            }
            RequestKind::InitProducerId(r) => {
                let (ok, code) = match &r.transactional_id {
                    Some(id) => (ask.may(Write, Txn, id), TXN_DENIED),
                    None => (ask.may_cluster(IdempotentWrite) || ask.may_any(Write, Topic), CLUSTER_DENIED),
                };
                if !ok {
                    return Verdict::Answer(answers::init_producer_id(code));
                }
                Refused::Nothing
            }
            RequestKind::AddPartitionsToTxn(r) if !r.transactions.is_empty() => {
                if !ask.may_cluster(ClusterAction) {
                    return Verdict::Answer(answers::add_partitions_to_txn_batch(CLUSTER_DENIED));
                }
                Refused::Nothing
            }
            RequestKind::AddPartitionsToTxn(r) => {
                let txn_ok = ask.may(Write, Txn, &r.v3_and_below_transactional_id);
                let topics_ok = r.v3_and_below_topics.iter().all(|t| ask.may(Write, Topic, &t.name));
                if !(txn_ok && topics_ok) {
                    return Verdict::Answer(answers::add_partitions_to_txn(r, txn_ok, |n| {
                        ask.may(Write, Topic, n)
                    }));
                }
                Refused::Nothing
            }
            RequestKind::AddOffsetsToTxn(r) => {
                if !ask.may(Write, Txn, &r.transactional_id) {
                    return Verdict::Answer(answers::add_offsets_to_txn(TXN_DENIED));
                }
                if !ask.may(Read, Group, &r.group_id) {
                    return Verdict::Answer(answers::add_offsets_to_txn(GROUP_DENIED));
                }
                Refused::Nothing
            }
            RequestKind::EndTxn(r) if !ask.may(Write, Txn, &r.transactional_id) => {
                return Verdict::Answer(answers::end_txn(TXN_DENIED))
            }
            RequestKind::TxnOffsetCommit(r) => {
                if !ask.may(Write, Txn, &r.transactional_id) {
                    return Verdict::Answer(answers::txn_offset_commit(r, TXN_DENIED));
                }
                if !ask.may(Read, Group, &r.group_id) {
                    return Verdict::Answer(answers::txn_offset_commit(r, GROUP_DENIED));
                }
                Refused::TxnOffsetCommit(narrow::partitions(&mut r.topics, topic(Read)))
            }
            RequestKind::DescribeTransactions(r) => Refused::DescribeTransactions(narrow::names(
                &mut r.transactional_ids,
                |id| id.as_str(),
                |id| ask.may(Describe, Txn, id),
            )),
            RequestKind::ListTransactions(_) => Refused::ListTransactions,
            RequestKind::WriteTxnMarkers(r) if !ask.may_cluster(ClusterAction) => {
                return Verdict::Answer(answers::write_txn_markers(r, CLUSTER_DENIED))
            }
            RequestKind::DescribeConfigs(r) => Refused::DescribeConfigs(narrow::config_resources(
                &mut r.resources,
                |c| (c.resource_type, c.resource_name.as_str()),
                |kind, name| config_decision(&ask, DescribeConfigs, kind, name),
            )),
            RequestKind::AlterConfigs(r) => Refused::AlterConfigs(narrow::config_resources(
                &mut r.resources,
                |c| (c.resource_type, c.resource_name.as_str()),
                |kind, name| config_decision(&ask, AlterConfigs, kind, name),
            )),
            RequestKind::IncrementalAlterConfigs(r) => {
                Refused::IncrementalAlterConfigs(narrow::config_resources(
                    &mut r.resources,
                    |c| (c.resource_type, c.resource_name.as_str()),
                    |kind, name| config_decision(&ask, AlterConfigs, kind, name),
                ))
            }
            RequestKind::DescribeLogDirs(_) if !ask.may_cluster(Describe) => {
                return Verdict::Answer(answers::describe_log_dirs(CLUSTER_DENIED))
            }
            RequestKind::DescribeCluster(_) if !ask.may_cluster(Describe) => {
                return Verdict::Answer(answers::describe_cluster(CLUSTER_DENIED))
            }
            RequestKind::ElectLeaders(r) if !ask.may_cluster(Alter) => {
                return Verdict::Answer(answers::elect_leaders(r, CLUSTER_DENIED))
            }
            RequestKind::CreateAcls(r) if !ask.may_cluster(Alter) => {
                return Verdict::Answer(answers::create_acls(r, CLUSTER_DENIED))
            }
            RequestKind::DeleteAcls(r) if !ask.may_cluster(Alter) => {
                return Verdict::Answer(answers::delete_acls(r, CLUSTER_DENIED))
            }
            RequestKind::DescribeAcls(_) if !ask.may_cluster(Describe) => {
                return Verdict::Answer(answers::describe_acls(CLUSTER_DENIED))
            }
            // Client quotas are the cluster's configs (KafkaApis: ALTER_CONFIGS
            // and DESCRIBE_CONFIGS on the cluster).
            RequestKind::AlterClientQuotas(r) if !ask.may_cluster(AlterConfigs) => {
                return Verdict::Answer(answers::alter_client_quotas(r, CLUSTER_DENIED))
            }
            RequestKind::DescribeClientQuotas(_) if !ask.may_cluster(DescribeConfigs) => {
                return Verdict::Answer(answers::describe_client_quotas(CLUSTER_DENIED))
            }
            // SCRAM credentials (issue 19): Alter and Describe on the cluster,
            // as KafkaApis / ControllerApis ask.
            RequestKind::AlterUserScramCredentials(r) if !ask.may_cluster(Alter) => {
                return Verdict::Answer(answers::alter_user_scram_credentials(r, CLUSTER_DENIED))
            }
            RequestKind::DescribeUserScramCredentials(_) if !ask.may_cluster(Describe) => {
                return Verdict::Answer(answers::describe_user_scram_credentials(CLUSTER_DENIED))
            }
            _ => Refused::Nothing,
        };
        if refused.took_everything(&request.body) {
            return Verdict::Answer(self.merge_alone(&ask, refused));
        }
        Verdict::Handle(request, refused)
    }
    // ANCHOR_END: authorize_request
}

/// A config resource's check: topics (2) are Topic resources (29), groups
/// (32) Group ones (30), brokers and loggers the cluster (31).
fn config_decision(ask: &Ask, operation: Operation, resource_type: i8, name: &str) -> Option<ResponseError> {
    let (allowed, code) = match resource_type {
        2 => (ask.may(operation, ResourceType::Topic, name), TOPIC_DENIED),
        32 => (ask.may(operation, ResourceType::Group, name), GROUP_DENIED),
        _ => (ask.may_cluster(operation), CLUSTER_DENIED),
    };
    (!allowed).then_some(code)
}
