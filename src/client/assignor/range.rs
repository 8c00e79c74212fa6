//! `range`: Kafka's `RangeAssignor`, one topic at a time.
//!
//! ```text
//!  t0 has 7 partitions, subscribers A B C (sorted): 7 / 3 = 2, 7 % 3 = 1
//!  A: t0-0 t0-1 t0-2    B: t0-3 t0-4    C: t0-5 t0-6
//! ```

use std::collections::BTreeMap;

use super::{empty, sorted_members, GroupAssignment, GroupMember};
use crate::TopicPartition;

// ANCHOR: range
/// Each topic's subscribers, sorted, take contiguous ranges of its
/// partitions; the first `partitions % subscribers` take one more.
pub fn assign(partitions_per_topic: &BTreeMap<String, i32>, members: &[GroupMember]) -> GroupAssignment {
    let mut assignment = empty(members);
    let sorted = sorted_members(members);
    for (topic, &count) in partitions_per_topic {
        let subscribers: Vec<&GroupMember> =
            sorted.iter().copied().filter(|m| m.subscription.subscribes(topic)).collect();
        if subscribers.is_empty() || count <= 0 {
            continue;
        }
        let (count, consumers) = (count as usize, subscribers.len());
        let (per_consumer, extra) = (count / consumers, count % consumers);
        for (i, member) in subscribers.iter().enumerate() {
            let start = per_consumer * i + i.min(extra);
            let length = per_consumer + usize::from(i < extra);
            let partitions = assignment.get_mut(&member.member_id).expect("every member has an entry");
            partitions.extend((start..start + length).map(|p| TopicPartition::new(topic.clone(), p as i32)));
        }
    }
    assignment
}
// ANCHOR_END: range
