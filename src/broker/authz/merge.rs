//! Putting back into an answer what the table took out of its request: the
//! refused entries answered with their code beside the results of the rest,
//! and the listings (all topics, all groups, all transactions) narrowed to
//! what the principal may describe.

use std::collections::BTreeSet;

use kafka_protocol::messages as m;
use kafka_protocol::messages::{BrokerId, GroupId, RequestKind, ResponseKind, TopicName, TransactionalId};
use kafka_protocol::protocol::StrBytes;

use super::narrow::{ConfigRefusal, TopicParts};
use super::{answers, Ask, Broker, GROUP_DENIED, TOPIC_DENIED, TXN_DENIED};
use crate::broker::Reply;
use crate::security::{Operation, Principal, ResourceType};
use crate::zero_copy::{FetchPartition, FetchTopic};

/// What the table took out of a request, to be answered after it.
#[derive(Debug, Default)]
pub(in crate::broker) enum Refused {
    #[default]
    Nothing,
    Produce(TopicParts),
    Fetch(TopicParts),
    ListOffsets(TopicParts),
    OffsetForLeaderEpoch(TopicParts),
    OffsetCommit(TopicParts),
    TxnOffsetCommit(TopicParts),
    OffsetDelete(TopicParts),
    DeleteRecords(TopicParts),
    DescribeProducers(TopicParts),
    CreateTopics(Vec<TopicName>),
    DeleteTopics(Vec<TopicName>),
    CreatePartitions(Vec<TopicName>),
    /// The named topics refused; unauthorized ones are also left out of the listing.
    DescribeTopicPartitions(Vec<TopicName>),
    /// The named topics refused (to Describe, or to auto-create).
    Metadata {
        named: Vec<String>,
    },
    DescribeGroups(Vec<GroupId>),
    DeleteGroups(Vec<GroupId>),
    /// v8's refused groups, and the groups that asked for all their topics.
    OffsetFetch {
        groups: Vec<GroupId>,
        all_topics: BTreeSet<String>,
    },
    ListGroups,
    /// A batched (v4) request's key type and refused keys.
    FindCoordinator(i8, Vec<StrBytes>),
    DescribeTransactions(Vec<TransactionalId>),
    ListTransactions,
    DescribeConfigs(Vec<ConfigRefusal>),
    AlterConfigs(Vec<ConfigRefusal>),
    IncrementalAlterConfigs(Vec<ConfigRefusal>),
}

impl Refused {
    /// Whether the table took out every entry of the request, which is then
    /// answered without handling (a handler may read an empty list as "all").
    pub(super) fn took_everything(&self, body: &RequestKind) -> bool {
        match (self, body) {
            (Refused::Produce(p), RequestKind::Produce(r)) => !p.is_empty() && r.topic_data.is_empty(),
            (Refused::Fetch(p), RequestKind::Fetch(r)) => !p.is_empty() && r.topics.is_empty(),
            (Refused::ListOffsets(p), RequestKind::ListOffsets(r)) => !p.is_empty() && r.topics.is_empty(),
            (Refused::OffsetForLeaderEpoch(p), RequestKind::OffsetForLeaderEpoch(r)) => {
                !p.is_empty() && r.topics.is_empty()
            }
            (Refused::OffsetCommit(p), RequestKind::OffsetCommit(r)) => !p.is_empty() && r.topics.is_empty(),
            (Refused::TxnOffsetCommit(p), RequestKind::TxnOffsetCommit(r)) => {
                !p.is_empty() && r.topics.is_empty()
            }
            (Refused::OffsetDelete(p), RequestKind::OffsetDelete(r)) => !p.is_empty() && r.topics.is_empty(),
            (Refused::DeleteRecords(p), RequestKind::DeleteRecords(r)) => {
                !p.is_empty() && r.topics.is_empty()
            }
            (Refused::DescribeProducers(p), RequestKind::DescribeProducers(r)) => {
                !p.is_empty() && r.topics.is_empty()
            }
            (Refused::CreateTopics(n), RequestKind::CreateTopics(r)) => !n.is_empty() && r.topics.is_empty(),
            (Refused::DeleteTopics(n), RequestKind::DeleteTopics(r)) => {
                !n.is_empty() && r.topics.is_empty() && r.topic_names.is_empty()
            }
            (Refused::CreatePartitions(n), RequestKind::CreatePartitions(r)) => {
                !n.is_empty() && r.topics.is_empty()
            }
            (Refused::DescribeGroups(g), RequestKind::DescribeGroups(r)) => {
                !g.is_empty() && r.groups.is_empty()
            }
            (Refused::DeleteGroups(g), RequestKind::DeleteGroups(r)) => {
                !g.is_empty() && r.groups_names.is_empty()
            }
            (Refused::OffsetFetch { groups, .. }, RequestKind::OffsetFetch(r)) => {
                !groups.is_empty() && r.groups.is_empty()
            }
            (Refused::FindCoordinator(_, k), RequestKind::FindCoordinator(r)) => {
                !k.is_empty() && r.coordinator_keys.is_empty()
            }
            (Refused::DescribeTransactions(t), RequestKind::DescribeTransactions(r)) => {
                !t.is_empty() && r.transactional_ids.is_empty()
            }
            (Refused::DescribeConfigs(c), RequestKind::DescribeConfigs(r)) => {
                !c.is_empty() && r.resources.is_empty()
            }
            (Refused::AlterConfigs(c), RequestKind::AlterConfigs(r)) => {
                !c.is_empty() && r.resources.is_empty()
            }
            (Refused::IncrementalAlterConfigs(c), RequestKind::IncrementalAlterConfigs(r)) => {
                !c.is_empty() && r.resources.is_empty()
            }
            _ => false,
        }
    }

    /// Whether anything was taken out (a produce with `acks=0` then closes
    /// the connection: its client reads no answer to learn it).
    pub(in crate::broker) fn took_any(&self) -> bool {
        match self {
            Refused::Produce(p) => !p.is_empty(),
            _ => false,
        }
    }

    /// The empty answer of the request's kind, for the refusals to go in.
    fn empty_response(&self) -> Option<ResponseKind> {
        Some(match self {
            Refused::Nothing | Refused::ListGroups | Refused::ListTransactions | Refused::Metadata { .. } => {
                return None
            }
            Refused::Produce(_) => ResponseKind::Produce(Default::default()),
            Refused::Fetch(_) => ResponseKind::Fetch(Default::default()),
            Refused::ListOffsets(_) => ResponseKind::ListOffsets(Default::default()),
            Refused::OffsetForLeaderEpoch(_) => ResponseKind::OffsetForLeaderEpoch(Default::default()),
            Refused::OffsetCommit(_) => ResponseKind::OffsetCommit(Default::default()),
            Refused::TxnOffsetCommit(_) => ResponseKind::TxnOffsetCommit(Default::default()),
            Refused::OffsetDelete(_) => ResponseKind::OffsetDelete(Default::default()),
            Refused::DeleteRecords(_) => ResponseKind::DeleteRecords(Default::default()),
            Refused::DescribeProducers(_) => ResponseKind::DescribeProducers(Default::default()),
            Refused::CreateTopics(_) => ResponseKind::CreateTopics(Default::default()),
            Refused::DeleteTopics(_) => ResponseKind::DeleteTopics(Default::default()),
            Refused::CreatePartitions(_) => ResponseKind::CreatePartitions(Default::default()),
            Refused::DescribeTopicPartitions(_) => ResponseKind::DescribeTopicPartitions(Default::default()),
            Refused::DescribeGroups(_) => ResponseKind::DescribeGroups(Default::default()),
            Refused::DeleteGroups(_) => ResponseKind::DeleteGroups(Default::default()),
            Refused::OffsetFetch { .. } => ResponseKind::OffsetFetch(Default::default()),
            Refused::FindCoordinator(..) => ResponseKind::FindCoordinator(Default::default()),
            Refused::DescribeTransactions(_) => ResponseKind::DescribeTransactions(Default::default()),
            Refused::DescribeConfigs(_) => ResponseKind::DescribeConfigs(Default::default()),
            Refused::AlterConfigs(_) => ResponseKind::AlterConfigs(Default::default()),
            Refused::IncrementalAlterConfigs(_) => ResponseKind::IncrementalAlterConfigs(Default::default()),
        })
    }
}

impl Broker {
    /// The answer to a request the table took everything out of.
    pub(super) fn merge_alone(&self, ask: &Ask, refused: Refused) -> ResponseKind {
        let empty = refused.empty_response().expect("only per-entry refusals take everything");
        merge(ask, refused, empty)
    }

    /// Puts `refused` back into the handler's reply.
    pub(in crate::broker) fn merge_refused(
        &self,
        principal: &Principal,
        host: &str,
        refused: Refused,
        reply: Option<Reply>,
    ) -> Option<Reply> {
        let Some(config) = &self.config.authorizer else { return reply };
        let image = self.metadata_image();
        let ask = Ask { config, principal, host, acls: image.acls() };
        Some(match (refused, reply?) {
            (Refused::Produce(parts), Reply::Later(mut waiting)) => {
                for (name, partitions) in parts {
                    waiting.refuse(name, &partitions, TOPIC_DENIED);
                }
                Reply::Later(waiting)
            }
            (Refused::Fetch(parts), Reply::Fetch(mut fetch)) => {
                fetch.topics.extend(parts.into_iter().map(|(name, partitions)| {
                    FetchTopic {
                        name,
                        partitions: (partitions.into_iter())
                            .map(|p| FetchPartition { data: refused_fetch_partition(p), region: None })
                            .collect(),
                    }
                }));
                Reply::Fetch(fetch)
            }
            (refused, Reply::Message(response)) => Reply::Message(merge(&ask, refused, response)),
            (_, reply) => reply,
        })
    }
}

fn refused_fetch_partition(partition: i32) -> m::fetch_response::PartitionData {
    m::fetch_response::PartitionData::default()
        .with_partition_index(partition)
        .with_error_code(TOPIC_DENIED.code())
        .with_high_watermark(-1)
}

/// Each partition of `parts` as the API's partition answer, under its topic's.
fn per_partition<T, P>(
    parts: TopicParts,
    partition: impl Fn(i32) -> P,
    topic: impl Fn(TopicName, Vec<P>) -> T,
) -> impl Iterator<Item = T> {
    parts.into_iter().map(move |(name, ps)| topic(name, ps.into_iter().map(&partition).collect()))
}

fn merge(ask: &Ask, refused: Refused, response: ResponseKind) -> ResponseKind {
    let denied = TOPIC_DENIED.code();
    match (refused, response) {
        (Refused::Produce(parts), ResponseKind::Produce(mut r)) => {
            use m::produce_response::{PartitionProduceResponse, TopicProduceResponse};
            r.responses.extend(per_partition(
                parts,
                |p| {
                    PartitionProduceResponse::default()
                        .with_index(p)
                        .with_error_code(denied)
                        .with_base_offset(-1)
                },
                |name, ps| TopicProduceResponse::default().with_name(name).with_partition_responses(ps),
            ));
            ResponseKind::Produce(r)
        }
        (Refused::Fetch(parts), ResponseKind::Fetch(mut r)) => {
            use m::fetch_response::FetchableTopicResponse;
            r.responses.extend(per_partition(parts, refused_fetch_partition, |name, ps| {
                FetchableTopicResponse::default().with_topic(name).with_partitions(ps)
            }));
            ResponseKind::Fetch(r)
        }
        (Refused::ListOffsets(parts), ResponseKind::ListOffsets(mut r)) => {
            use m::list_offsets_response::{ListOffsetsPartitionResponse, ListOffsetsTopicResponse};
            r.topics.extend(per_partition(
                parts,
                |p| {
                    (ListOffsetsPartitionResponse::default().with_partition_index(p).with_error_code(denied))
                        .with_timestamp(-1)
                        .with_offset(-1)
                        .with_leader_epoch(-1)
                },
                |name, ps| ListOffsetsTopicResponse::default().with_name(name).with_partitions(ps),
            ));
            ResponseKind::ListOffsets(r)
        }
        (Refused::OffsetForLeaderEpoch(parts), ResponseKind::OffsetForLeaderEpoch(mut r)) => {
            use m::offset_for_leader_epoch_response::{EpochEndOffset, OffsetForLeaderTopicResult};
            r.topics.extend(per_partition(
                parts,
                |p| {
                    (EpochEndOffset::default().with_partition(p).with_error_code(denied))
                        .with_leader_epoch(-1)
                        .with_end_offset(-1)
                },
                |name, ps| OffsetForLeaderTopicResult::default().with_topic(name).with_partitions(ps),
            ));
            ResponseKind::OffsetForLeaderEpoch(r)
        }
        (Refused::OffsetCommit(parts), ResponseKind::OffsetCommit(mut r)) => {
            use m::offset_commit_response::{OffsetCommitResponsePartition, OffsetCommitResponseTopic};
            r.topics.extend(per_partition(
                parts,
                |p| OffsetCommitResponsePartition::default().with_partition_index(p).with_error_code(denied),
                |name, ps| OffsetCommitResponseTopic::default().with_name(name).with_partitions(ps),
            ));
            ResponseKind::OffsetCommit(r)
        }
        (Refused::TxnOffsetCommit(parts), ResponseKind::TxnOffsetCommit(mut r)) => {
            use m::txn_offset_commit_response::{
                TxnOffsetCommitResponsePartition, TxnOffsetCommitResponseTopic,
            };
            r.topics.extend(per_partition(
                parts,
                |p| {
                    TxnOffsetCommitResponsePartition::default()
                        .with_partition_index(p)
                        .with_error_code(denied)
                },
                |name, ps| TxnOffsetCommitResponseTopic::default().with_name(name).with_partitions(ps),
            ));
            ResponseKind::TxnOffsetCommit(r)
        }
        (Refused::OffsetDelete(parts), ResponseKind::OffsetDelete(mut r)) => {
            use m::offset_delete_response::{OffsetDeleteResponsePartition, OffsetDeleteResponseTopic};
            r.topics.extend(per_partition(
                parts,
                |p| OffsetDeleteResponsePartition::default().with_partition_index(p).with_error_code(denied),
                |name, ps| OffsetDeleteResponseTopic::default().with_name(name).with_partitions(ps),
            ));
            ResponseKind::OffsetDelete(r)
        }
        (Refused::DeleteRecords(parts), ResponseKind::DeleteRecords(mut r)) => {
            use m::delete_records_response::{DeleteRecordsPartitionResult, DeleteRecordsTopicResult};
            r.topics.extend(per_partition(
                parts,
                |p| {
                    (DeleteRecordsPartitionResult::default().with_partition_index(p).with_error_code(denied))
                        .with_low_watermark(-1)
                },
                |name, ps| DeleteRecordsTopicResult::default().with_name(name).with_partitions(ps),
            ));
            ResponseKind::DeleteRecords(r)
        }
        (Refused::DescribeProducers(parts), ResponseKind::DescribeProducers(mut r)) => {
            use m::describe_producers_response::{PartitionResponse, TopicResponse};
            r.topics.extend(per_partition(
                parts,
                |p| PartitionResponse::default().with_partition_index(p).with_error_code(denied),
                |name, ps| TopicResponse::default().with_name(name).with_partitions(ps),
            ));
            ResponseKind::DescribeProducers(r)
        }
        (Refused::CreateTopics(names), ResponseKind::CreateTopics(mut r)) => {
            use m::create_topics_response::CreatableTopicResult;
            r.topics.extend(names.into_iter().map(|n| {
                (CreatableTopicResult::default().with_name(n).with_error_code(denied))
                    .with_num_partitions(-1)
                    .with_replication_factor(-1)
            }));
            ResponseKind::CreateTopics(r)
        }
        (Refused::DeleteTopics(names), ResponseKind::DeleteTopics(mut r)) => {
            use m::delete_topics_response::DeletableTopicResult;
            r.responses.extend(
                names
                    .into_iter()
                    .map(|n| DeletableTopicResult::default().with_name(Some(n)).with_error_code(denied)),
            );
            ResponseKind::DeleteTopics(r)
        }
        (Refused::CreatePartitions(names), ResponseKind::CreatePartitions(mut r)) => {
            use m::create_partitions_response::CreatePartitionsTopicResult;
            r.results.extend(
                names
                    .into_iter()
                    .map(|n| CreatePartitionsTopicResult::default().with_name(n).with_error_code(denied)),
            );
            ResponseKind::CreatePartitions(r)
        }
        (Refused::DescribeTopicPartitions(names), ResponseKind::DescribeTopicPartitions(r)) => {
            ResponseKind::DescribeTopicPartitions(describe_topic_partitions(ask, names, r))
        }
        (Refused::Metadata { named }, ResponseKind::Metadata(r)) => {
            ResponseKind::Metadata(metadata(ask, named, r))
        }
        (Refused::DescribeGroups(groups), ResponseKind::DescribeGroups(mut r)) => {
            use m::describe_groups_response::DescribedGroup;
            r.groups.extend(groups.into_iter().map(|g| {
                (DescribedGroup::default().with_group_id(g).with_error_code(GROUP_DENIED.code()))
                    .with_authorized_operations(i32::MIN)
            }));
            ResponseKind::DescribeGroups(r)
        }
        (Refused::DeleteGroups(groups), ResponseKind::DeleteGroups(mut r)) => {
            use m::delete_groups_response::DeletableGroupResult;
            r.results.extend(groups.into_iter().map(|g| {
                DeletableGroupResult::default().with_group_id(g).with_error_code(GROUP_DENIED.code())
            }));
            ResponseKind::DeleteGroups(r)
        }
        (Refused::OffsetFetch { groups, all_topics }, ResponseKind::OffsetFetch(r)) => {
            ResponseKind::OffsetFetch(offset_fetch(ask, groups, &all_topics, r))
        }
        (Refused::ListGroups, ResponseKind::ListGroups(mut r)) => {
            r.groups.retain(|g| ask.may(Operation::Describe, ResourceType::Group, &g.group_id));
            ResponseKind::ListGroups(r)
        }
        (Refused::FindCoordinator(key_type, keys), ResponseKind::FindCoordinator(mut r)) => {
            use m::find_coordinator_response::Coordinator;
            let code = answers::coordinator_denied(key_type).code();
            r.coordinators.extend(keys.into_iter().map(|key| {
                Coordinator::default()
                    .with_key(key)
                    .with_node_id(BrokerId(-1))
                    .with_port(-1)
                    .with_error_code(code)
            }));
            ResponseKind::FindCoordinator(r)
        }
        (Refused::DescribeTransactions(ids), ResponseKind::DescribeTransactions(mut r)) => {
            use m::describe_transactions_response::TransactionState;
            r.transaction_states.extend(ids.into_iter().map(|id| {
                TransactionState::default().with_transactional_id(id).with_error_code(TXN_DENIED.code())
            }));
            ResponseKind::DescribeTransactions(r)
        }
        (Refused::ListTransactions, ResponseKind::ListTransactions(mut r)) => {
            (r.transaction_states)
                .retain(|t| ask.may(Operation::Describe, ResourceType::TransactionalId, &t.transactional_id));
            ResponseKind::ListTransactions(r)
        }
        (Refused::DescribeConfigs(resources), ResponseKind::DescribeConfigs(mut r)) => {
            use m::describe_configs_response::DescribeConfigsResult;
            r.results.extend(resources.into_iter().map(|(kind, name, code)| {
                (DescribeConfigsResult::default().with_resource_type(kind).with_resource_name(name))
                    .with_error_code(code.code())
                    .with_error_message(Some(StrBytes::from_static_str("not authorized")))
            }));
            ResponseKind::DescribeConfigs(r)
        }
        (Refused::AlterConfigs(resources), ResponseKind::AlterConfigs(mut r)) => {
            use m::alter_configs_response::AlterConfigsResourceResponse;
            r.responses.extend(resources.into_iter().map(|(kind, name, code)| {
                (AlterConfigsResourceResponse::default().with_resource_type(kind).with_resource_name(name))
                    .with_error_code(code.code())
            }));
            ResponseKind::AlterConfigs(r)
        }
        (Refused::IncrementalAlterConfigs(resources), ResponseKind::IncrementalAlterConfigs(mut r)) => {
            use m::incremental_alter_configs_response::AlterConfigsResourceResponse;
            r.responses.extend(resources.into_iter().map(|(kind, name, code)| {
                (AlterConfigsResourceResponse::default().with_resource_type(kind).with_resource_name(name))
                    .with_error_code(code.code())
            }));
            ResponseKind::IncrementalAlterConfigs(r)
        }
        (_, response) => response,
    }
}

/// The topic operations Kafka reports in `topic_authorized_operations`.
const TOPIC_OPERATIONS: &[Operation] = &[
    Operation::Read,
    Operation::Write,
    Operation::Create,
    Operation::Delete,
    Operation::Alter,
    Operation::Describe,
    Operation::DescribeConfigs,
    Operation::AlterConfigs,
];

fn describe_topic_partitions(
    ask: &Ask,
    named: Vec<TopicName>,
    mut r: m::DescribeTopicPartitionsResponse,
) -> m::DescribeTopicPartitionsResponse {
    use m::describe_topic_partitions_response::DescribeTopicPartitionsResponseTopic;
    let name_of =
        |t: &DescribeTopicPartitionsResponseTopic| t.name.as_ref().map(|n| n.to_string()).unwrap_or_default();
    r.topics.retain(|t| ask.may(Operation::Describe, ResourceType::Topic, &name_of(t)));
    for topic in &mut r.topics {
        let name = name_of(topic);
        topic.topic_authorized_operations =
            ask.authorized_operations(ResourceType::Topic, &name, TOPIC_OPERATIONS);
    }
    r.topics.extend(named.into_iter().map(|n| {
        DescribeTopicPartitionsResponseTopic::default()
            .with_name(Some(n))
            .with_error_code(TOPIC_DENIED.code())
    }));
    r
}

/// A Metadata answer with the topics the principal may not describe taken
/// out, and each one it named but may not describe (or auto-create)
/// answered 29.
fn metadata(ask: &Ask, named: Vec<String>, mut r: m::MetadataResponse) -> m::MetadataResponse {
    use m::metadata_response::MetadataResponseTopic;
    r.topics
        .retain(|t| t.name.as_ref().is_some_and(|n| ask.may(Operation::Describe, ResourceType::Topic, n)));
    r.topics.extend(named.into_iter().map(|name| {
        MetadataResponseTopic::default()
            .with_name(Some(TopicName(StrBytes::from_string(name))))
            .with_error_code(TOPIC_DENIED.code())
    }));
    r
}

/// An OffsetFetch answer: refused groups answered 30; in each group's
/// topics, an unauthorized topic left out when the group asked for all,
/// else its partitions answered 29.
fn offset_fetch(
    ask: &Ask,
    refused_groups: Vec<GroupId>,
    all_topics: &BTreeSet<String>,
    mut r: m::OffsetFetchResponse,
) -> m::OffsetFetchResponse {
    use m::offset_fetch_response::OffsetFetchResponseGroup;
    let may = |n: &TopicName| ask.may(Operation::Describe, ResourceType::Topic, n);
    if all_topics.contains("") {
        r.topics.retain(|t| may(&t.name));
    }
    for topic in r.topics.iter_mut().filter(|t| !may(&t.name)) {
        for p in &mut topic.partitions {
            (p.error_code, p.committed_offset, p.metadata) = (TOPIC_DENIED.code(), -1, None);
        }
    }
    for group in &mut r.groups {
        if all_topics.contains(group.group_id.as_str()) {
            group.topics.retain(|t| may(&t.name));
        }
        for topic in group.topics.iter_mut().filter(|t| !may(&t.name)) {
            for p in &mut topic.partitions {
                (p.error_code, p.committed_offset, p.metadata) = (TOPIC_DENIED.code(), -1, None);
            }
        }
    }
    r.groups.extend(
        refused_groups.into_iter().map(|g| {
            OffsetFetchResponseGroup::default().with_group_id(g).with_error_code(GROUP_DENIED.code())
        }),
    );
    r
}
