//! Taking out of a request what the principal may not touch: each helper
//! removes the refused entries and returns them, for `merge.rs` to answer
//! beside the results of the rest.

use std::collections::BTreeSet;

use kafka_protocol::messages::delete_topics_request::DeleteTopicState;
use kafka_protocol::messages::{MetadataRequest, OffsetFetchRequest, TopicName};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;

/// A topic of a request, as a name and the partitions it names.
pub(super) trait TopicEntry {
    fn name(&self) -> &TopicName;
    fn partitions(&self) -> Vec<i32>;
}

macro_rules! topic_entry {
    ($($ty:path => |$t:ident| $name:expr, $parts:expr;)+) => {$(
        impl TopicEntry for $ty {
            fn name(&self) -> &TopicName {
                let $t = self;
                &$name
            }
            fn partitions(&self) -> Vec<i32> {
                let $t = self;
                $parts
            }
        }
    )+};
}

use kafka_protocol::messages as m;
topic_entry! {
    m::produce_request::TopicProduceData => |t| t.name, t.partition_data.iter().map(|p| p.index).collect();
    m::fetch_request::FetchTopic => |t| t.topic, t.partitions.iter().map(|p| p.partition).collect();
    m::list_offsets_request::ListOffsetsTopic => |t| t.name, t.partitions.iter().map(|p| p.partition_index).collect();
    m::offset_for_leader_epoch_request::OffsetForLeaderTopic => |t| t.topic, t.partitions.iter().map(|p| p.partition).collect();
    m::delete_records_request::DeleteRecordsTopic => |t| t.name, t.partitions.iter().map(|p| p.partition_index).collect();
    m::describe_producers_request::TopicRequest => |t| t.name, t.partition_indexes.clone();
    m::offset_commit_request::OffsetCommitRequestTopic => |t| t.name, t.partitions.iter().map(|p| p.partition_index).collect();
    m::offset_delete_request::OffsetDeleteRequestTopic => |t| t.name, t.partitions.iter().map(|p| p.partition_index).collect();
    m::txn_offset_commit_request::TxnOffsetCommitRequestTopic => |t| t.name, t.partitions.iter().map(|p| p.partition_index).collect();
}

/// A topic taken out of a request: its name and the partitions it named.
pub(in crate::broker) type TopicParts = Vec<(TopicName, Vec<i32>)>;

/// Takes out the topics `allowed` refuses, with their partitions.
pub(super) fn partitions<T: TopicEntry>(topics: &mut Vec<T>, allowed: impl Fn(&str) -> bool) -> TopicParts {
    let mut refused = Vec::new();
    topics.retain(|t| {
        let ok = allowed(t.name().as_str());
        if !ok {
            refused.push((t.name().clone(), t.partitions()));
        }
        ok
    });
    refused
}

/// Takes out the entries whose `key` `allowed` refuses, and returns them.
pub(super) fn names<T>(
    items: &mut Vec<T>,
    key: impl Fn(&T) -> &str,
    allowed: impl Fn(&str) -> bool,
) -> Vec<T> {
    let (kept, refused): (Vec<T>, Vec<T>) = std::mem::take(items).into_iter().partition(|i| allowed(key(i)));
    *items = kept;
    refused
}

/// DeleteTopics v6's entries by name (an entry by id alone is left to the
/// handler, which answers it UNKNOWN_TOPIC_ID: spool serves v1–v5).
pub(super) fn delete_topic_states(
    topics: &mut Vec<DeleteTopicState>,
    allowed: impl Fn(&str) -> bool,
) -> Vec<TopicName> {
    let refused =
        names(topics, |t| t.name.as_ref().map_or("", |n| n.as_str()), |n| n.is_empty() || allowed(n));
    refused.into_iter().filter_map(|t| t.name).collect()
}

/// A Metadata request's named topics the principal may not see (or not
/// auto-create), taken out; an all-topics request is narrowed after the
/// handler instead.
pub(super) fn metadata(request: &mut MetadataRequest, allowed: impl Fn(&str) -> bool) -> Vec<String> {
    let Some(topics) = &mut request.topics else { return Vec::new() };
    let refused = names(topics, metadata_topic_name, |n| n.is_empty() || allowed(n));
    refused.iter().map(|t| metadata_topic_name(t).to_string()).collect()
}

fn metadata_topic_name(topic: &m::metadata_request::MetadataRequestTopic) -> &str {
    topic.name.as_ref().map_or("", |n| n.as_str())
}

/// The groups of an OffsetFetch that asked for all their topics ("" for the
/// single group of v0–v7): an unauthorized topic is omitted from their
/// answer, where a named one is answered 29.
pub(super) fn offset_fetch_all_topics(request: &OffsetFetchRequest) -> BTreeSet<String> {
    if request.groups.is_empty() {
        return request.topics.is_none().then(String::new).into_iter().collect();
    }
    (request.groups.iter()).filter(|g| g.topics.is_none()).map(|g| g.group_id.to_string()).collect()
}

/// A config resource refused, with its code.
pub(in crate::broker) type ConfigRefusal = (i8, StrBytes, ResponseError);

/// Takes out the config resources `decide` refuses (it answers the code).
pub(super) fn config_resources<T>(
    resources: &mut Vec<T>,
    key: impl Fn(&T) -> (i8, &str),
    decide: impl Fn(i8, &str) -> Option<ResponseError>,
) -> Vec<ConfigRefusal> {
    let mut refused = Vec::new();
    resources.retain(|r| {
        let (kind, name) = key(r);
        match decide(kind, name) {
            Some(code) => {
                refused.push((kind, StrBytes::from_string(name.to_string()), code));
                false
            }
            None => true,
        }
    });
    refused
}
