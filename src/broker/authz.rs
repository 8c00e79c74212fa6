//! Enforcement (chapter 11): before a request is handled, the authorizer is
//! asked about each resource it touches, in one table (`Broker::authorize_request`, a match over the request) after
//! Kafka's `KafkaApis`:
//!
//! ```text
//!  API                               operation        resource            refused with
//!  Produce                           Write            each topic          TOPIC_AUTHORIZATION_FAILED (29)
//!    (transactional)                 Write            transactional id    TRANSACTIONAL_ID_AUTHORIZATION_FAILED (53)
//!  Fetch (consumer)                  Read             each topic          29
//!  Fetch (follower)                  ClusterAction    cluster             29 per partition (Kafka: 31)
//!  ListOffsets                       Describe         each topic          29
//!  Metadata                          Describe         each topic          omitted (all topics) or 29 (named)
//!  CreateTopics                      Create           cluster, else topic 29 per topic
//!  DeleteTopics                      Delete           each topic          29 per topic
//!  JoinGroup, SyncGroup, Heartbeat,  Read             group               GROUP_AUTHORIZATION_FAILED (30)
//!    LeaveGroup
//!  CreateAcls, DeleteAcls            Alter            cluster             CLUSTER_AUTHORIZATION_FAILED (31)
//!  DescribeAcls                      Describe         cluster             31
//! ```
//!
//! Simplifications (this round): a Produce or Fetch naming any topic the
//! principal may not use is refused whole, every partition answered 29, where
//! Kafka serves the allowed partitions beside the refused ones; the
//! transactional APIs, OffsetCommit/OffsetFetch, configs and the
//! broker-to-broker APIs are not checked yet; Metadata's auto-creation is not
//! checked for Create. Until authentication exists every connection is
//! `User:ANONYMOUS`, brokers' own connections included: a cluster with the
//! authorizer on needs `super.users=User:ANONYMOUS`, which lets everyone in —
//! honest enforcement needs chapter 11's next part (TLS/SASL principals).

use kafka_protocol::messages::create_topics_response::CreatableTopicResult;
use kafka_protocol::messages::fetch_response::{FetchableTopicResponse, PartitionData};
use kafka_protocol::messages::produce_response::{PartitionProduceResponse, TopicProduceResponse};
use kafka_protocol::messages::{
    CreateAclsResponse, CreateTopicsResponse, DeleteAclsResponse, DescribeAclsResponse, FetchResponse,
    HeartbeatResponse, JoinGroupResponse, LeaveGroupResponse, ProduceResponse, RequestKind, ResponseKind,
    SyncGroupResponse,
};
use kafka_protocol::ResponseError;

use super::Broker;
use crate::security::{
    authorize, AuthorizerConfig, Decision, Operation, Principal, ResourcePattern, ResourceType,
};
use crate::wire::codec::Request;

/// The client's IP address as the authorizer compares hosts: without the `/`
/// Kafka prints before it.
fn host_of(request: &Request) -> &str {
    request.client_host.trim_start_matches('/')
}

/// One question about a request: may it do this?
struct Ask<'a> {
    config: &'a AuthorizerConfig,
    principal: &'a Principal,
    host: &'a str,
    acls: &'a crate::security::AclSet,
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
}

impl Broker {
    // ANCHOR: authorize_request
    /// The answer to a request the principal may not make, or the request
    /// narrowed to what it may (Metadata, CreateTopics), or `Ok` as it came.
    /// `None` authorizer: everything passes.
    #[allow(clippy::result_large_err)] // one per request, moved once: boxing buys nothing
    pub(super) fn authorize_request(&self, mut request: Request) -> Result<Request, ResponseKind> {
        let Some(config) = &self.config.authorizer else { return Ok(request) };
        let image = self.metadata_image();
        let host = host_of(&request).to_string();
        let ask = Ask { config, principal: &request.principal, host: &host, acls: image.acls() };
        let group = |id: &str| ask.may(Operation::Read, ResourceType::Group, id);
        let group_denied = ResponseError::GroupAuthorizationFailed.code();
        let cluster_denied = ResponseError::ClusterAuthorizationFailed.code();
        match &mut request.body {
            RequestKind::Produce(r) => {
                let txn_ok = (r.transactional_id.as_ref())
                    .is_none_or(|id| ask.may(Operation::Write, ResourceType::TransactionalId, id));
                let topics_ok =
                    r.topic_data.iter().all(|t| ask.may(Operation::Write, ResourceType::Topic, &t.name));
                if !(txn_ok && topics_ok) {
                    let code = if txn_ok {
                        ResponseError::TopicAuthorizationFailed
                    } else {
                        ResponseError::TransactionalIdAuthorizationFailed
                    };
                    return Err(ResponseKind::Produce(refuse_produce(r, code)));
                }
            }
            RequestKind::Fetch(r) => {
                let follower = r.replica_id.0 >= 0 || r.replica_state.replica_id.0 >= 0;
                let ok = if follower {
                    ask.may_cluster(Operation::ClusterAction)
                } else {
                    r.topics.iter().all(|t| ask.may(Operation::Read, ResourceType::Topic, &t.topic))
                };
                if !ok {
                    return Err(ResponseKind::Fetch(refuse_fetch(r)));
                }
            }
            RequestKind::Metadata(r) => {
                // Named topics the principal may not describe are answered
                // 29 by `narrow_metadata`; all-topics requests omit them.
                if let Some(topics) = &mut r.topics {
                    topics.retain(|t| {
                        t.name.as_ref().is_none_or(|n| ask.may(Operation::Describe, ResourceType::Topic, n))
                    });
                }
            }
            RequestKind::CreateTopics(r) if !ask.may_cluster(Operation::Create) => {
                // The refused ones are answered 29 by `refused_creations`, beside the others' results.
                r.topics.retain(|t| ask.may(Operation::Create, ResourceType::Topic, &t.name));
                if r.topics.is_empty() {
                    return Err(ResponseKind::CreateTopics(CreateTopicsResponse::default()));
                }
            }
            RequestKind::JoinGroup(r) if !group(&r.group_id) => {
                return Err(ResponseKind::JoinGroup(
                    JoinGroupResponse::default().with_error_code(group_denied),
                ))
            }
            RequestKind::SyncGroup(r) if !group(&r.group_id) => {
                return Err(ResponseKind::SyncGroup(
                    SyncGroupResponse::default().with_error_code(group_denied),
                ))
            }
            RequestKind::Heartbeat(r) if !group(&r.group_id) => {
                return Err(ResponseKind::Heartbeat(
                    HeartbeatResponse::default().with_error_code(group_denied),
                ))
            }
            RequestKind::LeaveGroup(r) if !group(&r.group_id) => {
                return Err(ResponseKind::LeaveGroup(
                    LeaveGroupResponse::default().with_error_code(group_denied),
                ))
            }
            RequestKind::CreateAcls(r) if !ask.may_cluster(Operation::Alter) => {
                let results = r.creations.iter().map(|_| {
                    kafka_protocol::messages::create_acls_response::AclCreationResult::default()
                        .with_error_code(cluster_denied)
                });
                return Err(ResponseKind::CreateAcls(
                    CreateAclsResponse::default().with_results(results.collect()),
                ));
            }
            RequestKind::DeleteAcls(r) if !ask.may_cluster(Operation::Alter) => {
                let results = r.filters.iter().map(|_| {
                    kafka_protocol::messages::delete_acls_response::DeleteAclsFilterResult::default()
                        .with_error_code(cluster_denied)
                });
                return Err(ResponseKind::DeleteAcls(
                    DeleteAclsResponse::default().with_filter_results(results.collect()),
                ));
            }
            RequestKind::DescribeAcls(_) if !ask.may_cluster(Operation::Describe) => {
                return Err(ResponseKind::DescribeAcls(
                    DescribeAclsResponse::default().with_error_code(cluster_denied),
                ))
            }
            _ => {}
        }
        Ok(request)
    }
    // ANCHOR_END: authorize_request

    /// The topics of a CreateTopics the principal may not create (neither
    /// Create on the cluster nor on the topic), answered 29 after the rest.
    pub(super) fn refused_creations(&self, request: &Request) -> Vec<CreatableTopicResult> {
        let (Some(config), RequestKind::CreateTopics(r)) = (&self.config.authorizer, &request.body) else {
            return Vec::new();
        };
        let image = self.metadata_image();
        let ask = Ask { config, principal: &request.principal, host: host_of(request), acls: image.acls() };
        if ask.may_cluster(Operation::Create) {
            return Vec::new();
        }
        (r.topics.iter())
            .filter(|t| !ask.may(Operation::Create, ResourceType::Topic, &t.name))
            .map(|t| {
                CreatableTopicResult::default()
                    .with_name(t.name.clone())
                    .with_error_code(ResponseError::TopicAuthorizationFailed.code())
            })
            .collect()
    }

    /// A Metadata answer with the topics the principal may not describe
    /// taken out, and each one it named but may not describe answered 29.
    pub(super) fn narrow_metadata(
        &self,
        principal: &Principal,
        host: &str,
        named: &[String],
        mut response: kafka_protocol::messages::MetadataResponse,
    ) -> kafka_protocol::messages::MetadataResponse {
        let Some(config) = &self.config.authorizer else { return response };
        let image = self.metadata_image();
        let ask = Ask { config, principal, host, acls: image.acls() };
        let may = |name: &str| ask.may(Operation::Describe, ResourceType::Topic, name);
        response.topics.retain(|t| t.name.as_ref().is_some_and(|n| may(n)));
        for name in named.iter().filter(|n| !may(n)) {
            response.topics.push(
                kafka_protocol::messages::metadata_response::MetadataResponseTopic::default()
                    .with_name(Some(kafka_protocol::messages::TopicName(
                        kafka_protocol::protocol::StrBytes::from_string(name.clone()),
                    )))
                    .with_error_code(ResponseError::TopicAuthorizationFailed.code()),
            );
        }
        response
    }
}

fn refuse_produce(r: &kafka_protocol::messages::ProduceRequest, code: ResponseError) -> ProduceResponse {
    let topics = (r.topic_data.iter())
        .map(|t| {
            let partitions = (t.partition_data.iter())
                .map(|p| PartitionProduceResponse::default().with_index(p.index).with_error_code(code.code()))
                .collect();
            TopicProduceResponse::default().with_name(t.name.clone()).with_partition_responses(partitions)
        })
        .collect();
    ProduceResponse::default().with_responses(topics)
}

fn refuse_fetch(r: &kafka_protocol::messages::FetchRequest) -> FetchResponse {
    let code = ResponseError::TopicAuthorizationFailed.code();
    let topics = (r.topics.iter())
        .map(|t| {
            let partitions = (t.partitions.iter())
                .map(|p| PartitionData::default().with_partition_index(p.partition).with_error_code(code))
                .collect();
            FetchableTopicResponse::default().with_topic(t.topic.clone()).with_partitions(partitions)
        })
        .collect();
    FetchResponse::default().with_responses(topics)
}
