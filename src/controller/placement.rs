//! Where a new topic's replicas go: Kafka's `StripedReplicaPlacer`, with
//! every broker in one rack (spool reads no `broker.rack`).
//!
//! The unfenced brokers are a sorted list read round-robin from a random
//! starting offset; each partition starts one broker further on, so leaders
//! (the first replica) spread over the brokers and each partition's replicas
//! are the next ones along — the "striped" pattern:
//!
//! ```text
//!  unfenced [1 2 3 4], start offset 1 (random):
//!    partition 0: 2 3 4          (offset 1)
//!    partition 1: 3 4 1          (offset 2)
//!    partition 2: 4 1 2          (offset 3)
//!    partition 3: 1 2 3          (offset 0)
//!    partition 4: the lists are shuffled (every broker has led once), then on
//! ```
//!
//! Fenced brokers are used only once the unfenced ones run out, and never
//! as the first replica: a new partition's leader must be able to lead.

use super::Random;

/// A broker a replica may be placed on: registered, not shutting down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UsableBroker {
    pub id: i32,
    pub fenced: bool,
}

/// One list of brokers read round-robin (Kafka's `BrokerList`).
struct BrokerList {
    brokers: Vec<i32>,
    index: usize,
    offset: usize,
    epoch: usize,
}

impl BrokerList {
    fn new(mut brokers: Vec<i32>, random: &mut dyn Random) -> Self {
        brokers.sort_unstable();
        let offset = if brokers.is_empty() { 0 } else { random.below(brokers.len()) };
        BrokerList { brokers, index: 0, offset, epoch: 0 }
    }

    /// The next broker for the partition numbered `epoch` since the last
    /// shuffle; a new partition starts one further along.
    fn next(&mut self, epoch: usize) -> Option<i32> {
        if self.brokers.is_empty() {
            return None;
        }
        if self.epoch != epoch {
            self.epoch = epoch;
            self.index = 0;
            self.offset = (self.offset + 1) % self.brokers.len();
        }
        if self.index >= self.brokers.len() {
            return None;
        }
        let broker = self.brokers[(self.index + self.offset) % self.brokers.len()];
        self.index += 1;
        Some(broker)
    }

    fn shuffle(&mut self, random: &mut dyn Random) {
        for i in (1..self.brokers.len()).rev() {
            self.brokers.swap(i, random.below(i + 1));
        }
    }
}

// ANCHOR: place
/// The replicas of `partitions` new partitions, or the reason (Kafka's
/// message) none can be placed: INVALID_REPLICATION_FACTOR.
pub fn place(
    brokers: &[UsableBroker],
    partitions: i32,
    replication_factor: i16,
    random: &mut dyn Random,
) -> Result<Vec<Vec<i32>>, String> {
    let ids = |fenced: bool| brokers.iter().filter(|b| b.fenced == fenced).map(|b| b.id).collect();
    let mut fenced = BrokerList::new(ids(true), random);
    let mut unfenced = BrokerList::new(ids(false), random);
    if replication_factor <= 0 {
        return Err(format!(
            "Invalid replication factor {replication_factor}: the replication factor must be positive."
        ));
    }
    if unfenced.brokers.is_empty() {
        return Err("All brokers are currently fenced.".into());
    }
    if replication_factor as usize > brokers.len() {
        return Err(format!(
            "The target replication factor of {replication_factor} cannot be reached because only {} broker(s) are registered.",
            brokers.len()
        ));
    }
    let mut epoch = 0;
    let mut placements = Vec::new();
    for _ in 0..partitions {
        // Every unfenced broker has led one partition: reshuffle, so the
        // next round does not repeat the same replica sets.
        if epoch == unfenced.brokers.len() && unfenced.brokers.len() > 1 {
            fenced.shuffle(random);
            unfenced.shuffle(random);
            epoch = 0;
        }
        let mut replicas = vec![unfenced.next(epoch).expect("a fresh epoch has an unfenced broker")];
        for _ in 1..replication_factor {
            let next = unfenced.next(epoch).or_else(|| fenced.next(epoch));
            replicas.push(next.expect("no more replicas than brokers"));
        }
        placements.push(replicas);
        epoch += 1;
    }
    Ok(placements)
}
// ANCHOR_END: place

#[cfg(test)]
mod tests {
    use super::*;
    use crate::controller::SeededRandom;

    /// Always picks 0: offsets start at the first broker, shuffles swap nothing into place.
    struct Zero;
    impl Random for Zero {
        fn below(&mut self, _n: usize) -> usize {
            0
        }
        fn topic_id(&mut self) -> uuid::Uuid {
            uuid::Uuid::from_u128(1000)
        }
    }

    fn unfenced(ids: &[i32]) -> Vec<UsableBroker> {
        ids.iter().map(|&id| UsableBroker { id, fenced: false }).collect()
    }

    /// Kafka's striped pattern: the first partition starts at the random
    /// offset (here 0), each next one a broker further on.
    #[test]
    fn replicas_are_striped_over_the_brokers() {
        let placed = place(&unfenced(&[3, 1, 2]), 3, 3, &mut Zero).unwrap();
        assert_eq!(placed, vec![vec![1, 2, 3], vec![2, 3, 1], vec![3, 1, 2]]);
    }

    /// A fenced broker gets replicas only when the unfenced ones run out, and
    /// never leads; the three refusals carry Kafka's messages.
    #[test]
    fn fenced_brokers_come_last_and_never_lead() {
        let mut brokers = unfenced(&[1, 2]);
        brokers.push(UsableBroker { id: 3, fenced: true });
        for replicas in place(&brokers, 6, 3, &mut SeededRandom::new(7)).unwrap() {
            assert_ne!(replicas[0], 3);
            assert_eq!(replicas[2], 3, "{replicas:?}");
        }
        assert_eq!(
            place(&brokers, 1, 4, &mut Zero),
            Err("The target replication factor of 4 cannot be reached because only 3 broker(s) are registered.".into())
        );
        let all_fenced = [UsableBroker { id: 1, fenced: true }];
        assert_eq!(place(&all_fenced, 1, 1, &mut Zero), Err("All brokers are currently fenced.".into()));
        assert!(place(&brokers, 1, 0, &mut Zero).unwrap_err().contains("must be positive"));
    }

    /// Leaders spread evenly: over a multiple of the broker count, each
    /// broker leads the same number of partitions.
    #[test]
    fn leaders_spread_evenly() {
        let placed = place(&unfenced(&[1, 2, 3, 4]), 12, 2, &mut SeededRandom::new(42)).unwrap();
        for broker in 1..=4 {
            assert_eq!(placed.iter().filter(|r| r[0] == broker).count(), 3);
        }
    }
}
