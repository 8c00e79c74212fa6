//! Random operation sequences against the controller, checking after every
//! committed step the invariants replication rests on (issue 13 §3): a leader
//! is in its ISR, the ISR is among the replicas and never empty, no fenced
//! broker leads, epochs never go back, and every record the controller emits
//! applies to the image (the harness's commit panics otherwise).

use std::collections::BTreeMap;

use proptest::prelude::*;

use super::*;

#[derive(Debug, Clone)]
enum Op {
    Register(i32),
    Heartbeat {
        id: i32,
        want_fence: bool,
        want_shut_down: bool,
    },
    Advance(i64),
    Tick,
    /// A topic, with unclean leader election on if `unclean`.
    Create {
        partitions: i32,
        replication_factor: i16,
        unclean: bool,
    },
    /// AlterPartition on the `pick`-th partition, keeping the replicas whose
    /// bit is set in `mask` (plus the leader), at stale epochs if `stale`.
    Alter {
        pick: usize,
        mask: u8,
        stale: bool,
    },
    /// ElectLeaders on the `pick`-th partition, unclean if `unclean`.
    Elect {
        pick: usize,
        unclean: bool,
    },
    /// The automatic leader rebalance's timer.
    Balance,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        1 => (1..=4i32).prop_map(Op::Register),
        4 => (1..=4i32, proptest::bool::weighted(0.1), proptest::bool::weighted(0.1))
            .prop_map(|(id, want_fence, want_shut_down)| Op::Heartbeat { id, want_fence, want_shut_down }),
        2 => (1_000..6_000i64).prop_map(Op::Advance),
        2 => Just(Op::Tick),
        1 => (1..4i32, 1..4i16, any::<bool>())
            .prop_map(|(partitions, replication_factor, unclean)| Op::Create { partitions, replication_factor, unclean }),
        3 => (any::<usize>(), any::<u8>(), proptest::bool::weighted(0.2))
            .prop_map(|(pick, mask, stale)| Op::Alter { pick, mask, stale }),
        1 => (any::<usize>(), any::<bool>()).prop_map(|(pick, unclean)| Op::Elect { pick, unclean }),
        1 => Just(Op::Balance),
    ]
}

impl Cluster {
    fn apply_op(&mut self, op: &Op, topics: &mut usize) {
        match *op {
            Op::Register(id) => {
                let _ = self.register(id);
            }
            Op::Heartbeat { id, want_fence, want_shut_down } => {
                if self.image.broker(id).is_some() {
                    self.heartbeat(id, want_fence, want_shut_down).unwrap();
                }
            }
            Op::Advance(ms) => self.now_ms += ms,
            Op::Tick => {
                self.tick();
            }
            Op::Create { partitions, replication_factor, unclean } => {
                *topics += 1;
                let _ = self.create(CreatableTopic {
                    name: format!("t{topics}"),
                    num_partitions: partitions,
                    replication_factor,
                    configs: [("unclean.leader.election.enable".to_string(), unclean.to_string())].into(),
                    ..CreatableTopic::default()
                });
            }
            Op::Alter { pick, mask, stale } => self.random_alter(pick, mask, stale),
            Op::Elect { pick, unclean } => {
                let all: Vec<TopicPartition> =
                    self.image.partitions().map(|(t, i, _)| TopicPartition::new(t.name.clone(), i)).collect();
                let election = if unclean { ElectionType::Unclean } else { ElectionType::Preferred };
                if let Some(tp) = all.get(pick % all.len().max(1)) {
                    let result =
                        self.controller.elect_leaders(&self.image, election, std::slice::from_ref(tp));
                    self.commit(result.records);
                }
            }
            Op::Balance => {
                let result = self.controller.balance_leaders(&self.image, self.now_ms);
                self.commit(result.records);
            }
        }
    }

    fn random_alter(&mut self, pick: usize, mask: u8, stale: bool) {
        let all: Vec<(Uuid, i32, PartitionImage)> =
            self.image.partitions().map(|(t, i, p)| (t.topic_id, i, p.clone())).collect();
        let Some((topic_id, index, p)) = all.get(pick % all.len().max(1)).cloned() else { return };
        if p.leader < 0 {
            return;
        }
        let isr = p.replicas.iter().enumerate().filter(|(i, r)| mask & (1 << i) != 0 || **r == p.leader);
        let change = IsrChange {
            topic_id,
            partition_index: index,
            leader_epoch: p.leader_epoch - i32::from(stale),
            partition_epoch: p.partition_epoch,
            new_isr: isr.map(|(_, r)| (*r, -1)).collect(),
            leader_recovery_state: 0,
        };
        let request = AlterPartitionRequest {
            broker_id: p.leader,
            broker_epoch: self.epochs[&p.leader],
            changes: vec![change],
        };
        if let Ok(result) = self.controller.alter_partition(&self.image, &request) {
            self.commit(result.records);
        }
    }

    /// The invariants, with the epochs seen so far to check they never go back.
    fn check_invariants(
        &self,
        epochs: &mut BTreeMap<(String, i32), (i32, i32)>,
    ) -> Result<(), TestCaseError> {
        for (topic, index, p) in self.image.partitions() {
            let at = format!("{}-{index}: {p:?}", topic.name);
            prop_assert!(!p.isr.is_empty(), "empty ISR {}", at);
            prop_assert!(p.isr.iter().all(|r| p.replicas.contains(r)), "ISR outside the replicas {}", at);
            if p.leader != -1 {
                prop_assert!(p.isr.contains(&p.leader), "leader outside the ISR {}", at);
                let leader = self.image.broker(p.leader);
                prop_assert!(leader.is_some_and(|b| !b.fenced), "a fenced or unknown broker leads {}", at);
            }
            for r in &p.isr {
                if self.image.broker(*r).is_some_and(|b| b.fenced) {
                    prop_assert!(p.isr.len() == 1 && p.leader == -1, "a fenced broker shares an ISR {}", at);
                }
            }
            let seen =
                epochs.entry((topic.name.clone(), index)).or_insert((p.leader_epoch, p.partition_epoch));
            prop_assert!(
                p.leader_epoch >= seen.0 && p.partition_epoch >= seen.1,
                "an epoch went back {}",
                at
            );
            *seen = (p.leader_epoch, p.partition_epoch);
        }
        Ok(())
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Any sequence of registrations, heartbeats (wanting fencing or
    /// shutdown), clock moves, ticks, topic creations (clean or unclean), AlterPartitions,
    /// preferred and unclean elections and automatic rebalances keeps the replication invariants after every step.
    #[test]
    fn invariants_hold_after_every_step(ops in proptest::collection::vec(op(), 1..60)) {
        let mut cluster = Cluster::new();
        let mut epochs = BTreeMap::new();
        let mut topics = 0;
        for op in &ops {
            cluster.apply_op(op, &mut topics);
            cluster.check_invariants(&mut epochs)?;
        }
    }
}
