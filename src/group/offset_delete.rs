//! OffsetDelete (KIP-496): forget a group's committed offsets for some
//! partitions, so the group's next consumer of them starts from its
//! `auto.offset.reset` instead of a stale position.
//!
//! The danger is a group still reading a partition: deleting its offset
//! under a live consumer would be undone by the next commit, or worse, send
//! a restarted member back to the reset point while the others carry on.
//! Kafka therefore lets an *Empty* group lose any offset, and a group with
//! members (of the `consumer` protocol, whose subscriptions the coordinator
//! can read) lose only the offsets of topics none of its members subscribe
//! to; those are answered GROUP_SUBSCRIBED_TO_TOPIC. A group of another
//! protocol (Connect, Schema Registry) with members keeps everything:
//! NON_EMPTY_GROUP. These are `GroupCoordinator.handleDeleteOffsets` and
//! `GroupMetadata.isSubscribedToTopic` in Kafka 3.x, which the newer
//! coordinator (`OffsetMetadataManager.deleteOffsets`) keeps.
//!
//! A deleted offset becomes a tombstone in `__consumer_offsets`: a reload
//! replays it as a removal, and the log cleaner (chapter 10) drops the key.
//! A group left Empty without offsets goes too, with a tombstone of its own
//! (Kafka's `cleanupGroupMetadata`).
//!
//! Simplifications: the subscribed topics are read from the members' current
//! metadata when asked, where Kafka caches them at each new generation; the
//! two differ only while a member rejoins with a changed subscription.

use std::collections::BTreeSet;

use bytes::Buf;
use kafka_protocol::messages::ConsumerProtocolSubscription;
use kafka_protocol::protocol::Decodable;

use super::coordinator::GroupCoordinator;
use super::offsets::CommitResult;
use super::records::GroupRecord;
use super::state::Group;
use super::types::*;
use crate::TopicPartition;

/// The protocol type whose member metadata is a consumer subscription.
const CONSUMER_PROTOCOL_TYPE: &str = "consumer";

impl GroupCoordinator {
    // ANCHOR: delete_offsets
    /// OffsetDelete: each partition's result, or the group's error
    /// (GROUP_ID_NOT_FOUND, NON_EMPTY_GROUP) with nothing deleted. The
    /// output carries a tombstone per deleted offset; a partition without
    /// an offset is answered without error, as in Kafka.
    pub fn delete_offsets(
        &mut self,
        group_id: &str,
        partitions: &[TopicPartition],
        now_ms: i64,
    ) -> (Result<Vec<CommitResult>, GroupError>, Output) {
        let mut out = Output::default();
        let Some(group) = self.groups.get_mut(group_id) else {
            return (Err(GroupError::GroupIdNotFound), out);
        };
        let subscribed = match group.state() {
            GroupState::Dead => return (Err(GroupError::GroupIdNotFound), out),
            GroupState::Empty => BTreeSet::new(),
            _ if group.protocol_type() == Some(CONSUMER_PROTOCOL_TYPE) => match group.subscribed_topics() {
                Some(topics) => topics,
                // Unreadable subscriptions: every topic counts as subscribed, to be safe.
                None => partitions.iter().map(|p| p.topic.clone()).collect(),
            },
            _ => return (Err(GroupError::NonEmptyGroup), out),
        };
        let mut results = Vec::with_capacity(partitions.len());
        for partition in partitions {
            if subscribed.contains(&partition.topic) {
                results.push((partition.clone(), Some(GroupError::GroupSubscribedToTopic)));
                continue;
            }
            if group.remove_offset(partition) {
                out.records.push(GroupRecord::Offset {
                    group_id: group_id.to_string(),
                    partition: partition.clone(),
                    value: None,
                });
            }
            results.push((partition.clone(), None));
        }
        if group.state() == GroupState::Empty && group.is_forgettable() {
            let mut group = self.groups.remove(group_id).expect("found above");
            group.transition(GroupState::Dead, now_ms);
            out.records.push(GroupRecord::Group { group_id: group_id.to_string(), value: None });
        }
        (Ok(results), out)
    }
    // ANCHOR_END: delete_offsets
}

impl Group {
    /// Drops a partition's committed offset and any commit of it still
    /// pending (stored later, it must not bring the offset back); `true` if
    /// there was either, so a tombstone is due.
    fn remove_offset(&mut self, partition: &TopicPartition) -> bool {
        let mut found = self.offsets.remove(partition).is_some();
        for pending in &mut self.pending_commits {
            found |= pending.offsets.remove(partition).is_some();
        }
        self.pending_commits.retain(|p| !p.offsets.is_empty());
        found
    }

    /// Nothing left to keep: no offsets, nothing pending, no member on its way in.
    fn is_forgettable(&self) -> bool {
        self.offsets.is_empty() && self.pending_commits.is_empty() && self.pending_members.is_empty()
    }

    /// The union of the members' subscribed topics under the chosen
    /// protocol (Kafka's `computeSubscribedTopics`), or `None` if the group
    /// has not chosen one or a subscription does not parse.
    pub fn subscribed_topics(&self) -> Option<BTreeSet<String>> {
        let protocol = self.protocol_name.as_deref()?;
        let mut topics = BTreeSet::new();
        for member in self.members.values() {
            let metadata = &member.protocols.iter().find(|p| p.name == protocol)?.metadata;
            topics.extend(subscription_topics(metadata)?);
        }
        Some(topics)
    }
}

/// The topics of a consumer subscription of any version, read as v0 (every
/// later version starts with v0's fields, which is how Kafka reads them too).
fn subscription_topics(mut metadata: &[u8]) -> Option<Vec<String>> {
    if metadata.remaining() < 2 {
        return None;
    }
    let _version = metadata.get_i16();
    let mut bytes = bytes::Bytes::copy_from_slice(metadata);
    let body = ConsumerProtocolSubscription::decode(&mut bytes, 0).ok()?;
    Some(body.topics.iter().map(|t| t.to_string()).collect())
}

#[cfg(test)]
mod tests;
