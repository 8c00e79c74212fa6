//! `roundrobin`: Kafka's `RoundRobinAssignor`.
//!
//! Every partition of every subscribed topic, sorted by topic then partition,
//! is dealt to the sorted members in a circle; a member not subscribed to the
//! partition's topic is skipped. With equal subscriptions the counts differ by
//! at most one, across topics as well as within them (unlike `range`).

use std::collections::BTreeMap;

use super::{empty, sorted_members, GroupAssignment, GroupMember};
use crate::TopicPartition;

// ANCHOR: roundrobin
/// Deals the sorted partitions to the sorted members in turn.
pub fn assign(partitions_per_topic: &BTreeMap<String, i32>, members: &[GroupMember]) -> GroupAssignment {
    let mut assignment = empty(members);
    let sorted = sorted_members(members);
    let mut next = 0usize; // the circle's position, kept across topics
    for (topic, &count) in partitions_per_topic {
        if !sorted.iter().any(|m| m.subscription.subscribes(topic)) {
            continue; // nobody would take it: the loop below would never end
        }
        for partition in 0..count {
            let member = loop {
                let candidate = sorted[next % sorted.len()];
                next += 1;
                if candidate.subscription.subscribes(topic) {
                    break candidate;
                }
            };
            let partitions = assignment.get_mut(&member.member_id).expect("every member has an entry");
            partitions.push(TopicPartition::new(topic.clone(), partition));
        }
    }
    assignment
}
// ANCHOR_END: roundrobin
