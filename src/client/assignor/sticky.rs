//! `cooperative-sticky`: Kafka's `CooperativeStickyAssignor`, by the rules of
//! its `AbstractStickyAssignor`:
//!
//! 1. **Only subscribers.** A partition goes only to a member subscribed to its topic.
//! 2. **Once.** No partition goes to two members.
//! 3. **Balanced.** With equal subscriptions, member counts differ by at most
//!    one; with unequal ones, no single move would make the counts more even.
//! 4. **Sticky.** A member keeps the partitions it owned, as many as balance
//!    allows: with equal subscriptions, at least `min(owned, ⌊partitions /
//!    members⌋)` of them.
//! 5. **Cooperative.** A partition that another member still lists as owned
//!    goes to nobody in this generation (KIP-429).
//!
//! ```text
//!  owned:    A {0 1 2 3 4 5}   B {}          (B just joined)
//!  sticky:   A {0 1 2}         B {3 4 5}     ── eager would hand these out now
//!  cooperative, generation n:    A {0 1 2}   B {}         A revokes 3 4 5, rejoins
//!  cooperative, generation n+1:  A {0 1 2}   B {3 4 5}    nobody else lists them
//! ```
//!
//! The algorithm: keep every valid claim (a member's owned partitions that
//! still exist and that it still subscribes to; if two members claim one
//! partition, the claim from the newer generation wins and a tie voids both,
//! as in Kafka); give each unclaimed partition to the subscriber with the
//! fewest; then, while the fullest member holds a partition that a member with
//! at least two fewer could take, move one (new ones before owned ones). Each
//! move lowers the sum of squared counts, so the loop ends.

use std::collections::{BTreeMap, BTreeSet};

use super::{sorted_members, GroupAssignment, GroupMember};
use crate::TopicPartition;

/// Which member each partition goes to, before the cooperative step.
pub fn assign_sticky(
    partitions_per_topic: &BTreeMap<String, i32>,
    members: &[GroupMember],
) -> GroupAssignment {
    let sorted = sorted_members(members);
    let claims = valid_claims(partitions_per_topic, members);
    let mut held: BTreeMap<&str, BTreeSet<TopicPartition>> =
        sorted.iter().map(|m| (m.member_id.as_str(), BTreeSet::new())).collect();
    for (tp, owner) in &claims {
        held.get_mut(owner).expect("claims come from members").insert(tp.clone());
    }
    // Unclaimed partitions, each to the subscriber holding the fewest.
    for (topic, &count) in partitions_per_topic {
        for partition in 0..count {
            let tp = TopicPartition::new(topic.clone(), partition);
            if claims.contains_key(&tp) {
                continue;
            }
            let fewest = sorted
                .iter()
                .filter(|m| m.subscription.subscribes(topic))
                .min_by_key(|m| held[m.member_id.as_str()].len());
            if let Some(member) = fewest {
                held.get_mut(member.member_id.as_str()).expect("a member").insert(tp);
            }
        }
    }
    balance(&sorted, &claims, &mut held);
    held.into_iter().map(|(m, tps)| (m.to_string(), tps.into_iter().collect())).collect()
}

// ANCHOR: cooperative
/// The sticky assignment without the partitions that would change hands
/// while their previous owner still lists them: those wait a generation.
pub fn assign_cooperative(
    partitions_per_topic: &BTreeMap<String, i32>,
    members: &[GroupMember],
) -> GroupAssignment {
    let mut listed_by: BTreeMap<&TopicPartition, BTreeSet<&str>> = BTreeMap::new();
    for m in members {
        for tp in &m.subscription.owned_partitions {
            listed_by.entry(tp).or_default().insert(&m.member_id);
        }
    }
    let mut assignment = assign_sticky(partitions_per_topic, members);
    for (member, partitions) in assignment.iter_mut() {
        partitions.retain(|tp| listed_by.get(tp).is_none_or(|owners| owners.iter().all(|o| o == member)));
    }
    assignment
}
// ANCHOR_END: cooperative

/// Each partition's valid previous owner: it exists, the owner subscribes to
/// its topic, and no other member claims it from the same or a newer
/// generation.
fn valid_claims<'a>(
    partitions_per_topic: &BTreeMap<String, i32>,
    members: &'a [GroupMember],
) -> BTreeMap<TopicPartition, &'a str> {
    // partition → (newest generation, its claimants)
    let mut newest: BTreeMap<TopicPartition, (i32, Vec<&'a str>)> = BTreeMap::new();
    for m in members {
        let generation = generation_of(m);
        let owned: BTreeSet<&TopicPartition> = m.subscription.owned_partitions.iter().collect();
        for tp in owned {
            let exists = partitions_per_topic.get(&tp.topic).is_some_and(|&n| (0..n).contains(&tp.partition));
            if !exists || !m.subscription.subscribes(&tp.topic) {
                continue;
            }
            let entry = newest.entry(tp.clone()).or_insert((generation, Vec::new()));
            if generation > entry.0 {
                *entry = (generation, Vec::new());
            }
            if generation == entry.0 {
                entry.1.push(&m.member_id);
            }
        }
    }
    newest
        .into_iter()
        .filter(|(_, (_, owners))| owners.len() == 1)
        .map(|(tp, (_, owners))| (tp, owners[0]))
        .collect()
}

/// The generation a member's owned partitions are from: the subscription's
/// (v2+), else the 4 bytes of cooperative-sticky user data, else -1.
fn generation_of(member: &GroupMember) -> i32 {
    let subscription = &member.subscription;
    if subscription.generation_id >= 0 {
        return subscription.generation_id;
    }
    match subscription.user_data.as_deref() {
        Some(&[a, b, c, d]) => i32::from_be_bytes([a, b, c, d]),
        _ => -1,
    }
}

/// Moves one partition at a time from a fuller member to one holding at
/// least two fewer that subscribes to its topic, until no such move exists.
fn balance(
    sorted: &[&GroupMember],
    claims: &BTreeMap<TopicPartition, &str>,
    held: &mut BTreeMap<&str, BTreeSet<TopicPartition>>,
) {
    loop {
        let Some((from, to, tp)) = best_move(sorted, claims, held) else { return };
        held.get_mut(from).expect("a member").remove(&tp);
        held.get_mut(to).expect("a member").insert(tp);
    }
}

/// The move from the fullest possible donor to the emptiest possible
/// receiver; the donor gives a partition it did not own before if it can.
fn best_move<'a>(
    sorted: &[&'a GroupMember],
    claims: &BTreeMap<TopicPartition, &str>,
    held: &BTreeMap<&str, BTreeSet<TopicPartition>>,
) -> Option<(&'a str, &'a str, TopicPartition)> {
    let count = |m: &GroupMember| held[m.member_id.as_str()].len();
    let mut donors: Vec<&GroupMember> = sorted.to_vec();
    donors.sort_by_key(|m| std::cmp::Reverse(count(m))); // stable: ties keep member order
    let mut receivers: Vec<&GroupMember> = sorted.to_vec();
    receivers.sort_by_key(|m| count(m));
    for donor in &donors {
        for receiver in receivers.iter().take_while(|r| count(r) + 2 <= count(donor)) {
            let movable = held[donor.member_id.as_str()]
                .iter()
                .filter(|tp| receiver.subscription.subscribes(&tp.topic));
            let was_owned = |tp: &&TopicPartition| claims.get(*tp) == Some(&donor.member_id.as_str());
            let mut candidates: Vec<&TopicPartition> = movable.collect();
            candidates.sort_by_key(|tp| was_owned(tp)); // new ones first
            if let Some(tp) = candidates.first() {
                return Some((donor.member_id.as_str(), receiver.member_id.as_str(), (*tp).clone()));
            }
        }
    }
    None
}
