//! A property test over random runs: producers (current and stale) send
//! random requests, the driver completes appends and markers in any order,
//! appends fail, the clock jumps, and the coordinator restarts keeping some of
//! its unacknowledged appends and losing others. After every step the
//! two-phase commit's invariants must hold:
//!
//! 1. a transaction never goes from PrepareCommit to an abort (in the durable log);
//! 2. the epoch of a producer id never decreases (in the durable log and in
//!    answers), and a transaction version 2 decision bumps it;
//! 3. markers are requested only once their Prepare record is durable;
//! 4. a fenced epoch never gets a successful answer: not one older than an
//!    epoch made durable or handed out, not the epoch of a transaction the
//!    coordinator aborted by fencing, and a new producer's InitProducerId
//!    never gets a producer id and epoch anyone had before.

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;

use super::*;

#[derive(Debug, Clone)]
enum Op {
    /// InitProducerId by a new producer, or (KIP-360) by client `client` with its ids.
    Init {
        id: usize,
        client: Option<usize>,
    },
    Add {
        client: usize,
        partition: i32,
    },
    AddOffsets {
        client: usize,
    },
    /// EndTxn; `version_2`: with KIP-890 part 2's epoch bump.
    End {
        client: usize,
        commit: bool,
        version_2: bool,
    },
    Verify {
        client: usize,
        partition: i32,
    },
    /// A client with made-up ids (bad input: a guessed producer id, a
    /// negative epoch, the fencing epoch).
    Forge {
        id: usize,
        producer_id: i64,
        producer_epoch: i16,
    },
    /// Append `index` (of those outstanding) completes, or fails.
    AppendDone {
        index: usize,
        fail: Option<bool>,
    },
    MarkersDone {
        index: usize,
    },
    Tick {
        advance_ms: i64,
    },
    /// Unload and reload; outstanding append `i` is durable iff bit `i` is set.
    Restart {
        durable_mask: u8,
    },
}

const IDS: [&str; 2] = ["tx-a", "tx-b"];

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        2 => (0..2usize, proptest::option::of(0..8usize)).prop_map(|(id, client)| Op::Init { id, client }),
        3 => (0..8usize, 0..3i32).prop_map(|(client, partition)| Op::Add { client, partition }),
        1 => (0..8usize).prop_map(|client| Op::AddOffsets { client }),
        3 => (0..8usize, any::<bool>(), any::<bool>()).prop_map(|(client, commit, version_2)| Op::End { client, commit, version_2 }),
        1 => (0..8usize, 0..3i32).prop_map(|(client, partition)| Op::Verify { client, partition }),
        6 => (0..4usize, proptest::option::weighted(0.15, any::<bool>())).prop_map(|(index, fail)| Op::AppendDone { index, fail }),
        3 => (0..4usize).prop_map(|index| Op::MarkersDone { index }),
        1 => (0..40_000i64).prop_map(|advance_ms| Op::Tick { advance_ms }),
        1 => any::<u8>().prop_map(|durable_mask| Op::Restart { durable_mask }),
        2 => (0..2usize, 99..103i64, prop_oneof![-2..3i16, Just(i16::MAX), Just(i16::MAX - 1)])
            .prop_map(|(id, producer_id, producer_epoch)| Op::Forge { id, producer_id, producer_epoch }),
    ]
}

/// The driver and the producers around one coordinator, and what they have seen.
struct World {
    c: TransactionCoordinator,
    coordinator_epoch: i32,
    now_ms: i64,
    /// The durable `__transaction_state` partition, in order.
    log: Vec<TransactionLogRecord>,
    outstanding: Vec<Append>,
    markers: Vec<WriteTxnMarkers>,
    /// Every (transactional id, ids) an InitProducerId ever answered: current and zombie producers.
    clients: Vec<(String, ProducerIdAndEpoch)>,
    /// What each request carried, to judge its answer.
    requests: BTreeMap<RequestToken, (String, ProducerIdAndEpoch)>,
    next_token: RequestToken,
    next_producer_id: i64,
    /// The highest epoch of each producer id made durable or handed out.
    epoch_max: BTreeMap<i64, i16>,
    /// Aborts the coordinator started by fencing (a timeout, a new producer),
    /// with the producer id and epoch of the transaction they end.
    fence_appends: BTreeMap<AppendId, (i64, i16)>,
    /// The highest epoch of each producer id whose transaction was aborted by
    /// a durable fence: that epoch and older ones must never succeed again.
    fenced: BTreeMap<i64, i16>,
    /// Every producer id and epoch InitProducerId answered.
    handed_out: BTreeSet<ProducerIdAndEpoch>,
}

impl World {
    fn new() -> World {
        let config = TransactionCoordinatorConfig { transaction_state_partitions: 1, ..Default::default() };
        let mut c = TransactionCoordinator::new(config, 0);
        c.start_loading(0);
        c.finish_loading();
        World {
            c,
            coordinator_epoch: 0,
            now_ms: 0,
            log: vec![],
            outstanding: vec![],
            markers: vec![],
            clients: vec![],
            requests: BTreeMap::new(),
            next_token: 0,
            next_producer_id: 100,
            epoch_max: BTreeMap::new(),
            fence_appends: BTreeMap::new(),
            fenced: BTreeMap::new(),
            handed_out: BTreeSet::new(),
        }
    }

    fn token(&mut self, id: &str, ids: ProducerIdAndEpoch) -> RequestToken {
        self.next_token += 1;
        self.requests.insert(self.next_token, (id.to_owned(), ids));
        self.next_token
    }

    fn client(&self, index: usize) -> Option<(String, ProducerIdAndEpoch)> {
        (!self.clients.is_empty()).then(|| self.clients[index % self.clients.len()].clone())
    }

    fn step(&mut self, op: Op) -> Result<(), TestCaseError> {
        self.now_ms += 1;
        let now = self.now_ms;
        let fencing = matches!(op, Op::Init { .. } | Op::Tick { .. });
        let out = match op {
            Op::Init { id, client } => {
                let current = client.and_then(|i| self.client(i)).map(|(_, ids)| ids);
                let token = self.token(IDS[id], current.unwrap_or(ids(-1, -1)));
                self.c.init_producer_id(token, &init_request(IDS[id], 30_000, current), now)
            }
            Op::Add { client, partition } => {
                let Some((id, p)) = self.client(client) else { return Ok(()) };
                let token = self.token(&id, p);
                let partitions = parts(&[("t", partition)]);
                self.c.add_partitions(
                    token,
                    &add_request(&id, p.producer_id, p.producer_epoch, &partitions),
                    now,
                )
            }
            Op::AddOffsets { client } => {
                let Some((id, p)) = self.client(client) else { return Ok(()) };
                let token = self.token(&id, p);
                self.c.add_offsets(
                    token,
                    &offsets_request(&id, p.producer_id, p.producer_epoch, "group"),
                    now,
                )
            }
            Op::End { client, commit, version_2 } => {
                let Some((id, p)) = self.client(client) else { return Ok(()) };
                let token = self.token(&id, p);
                let version = if version_2 { 2 } else { 0 };
                self.c.end_txn(
                    token,
                    &end_request(&id, p.producer_id, p.producer_epoch, commit, version),
                    now,
                )
            }
            Op::Verify { client, partition } => {
                let Some((id, p)) = self.client(client) else { return Ok(()) };
                if let Ok(answers) = self.c.verify_partitions(&add_request(
                    &id,
                    p.producer_id,
                    p.producer_epoch,
                    &parts(&[("t", partition)]),
                )) {
                    if answers.values().any(|a| a.is_ok()) {
                        self.check_not_fenced(p)?;
                    }
                }
                Output::default()
            }
            Op::AppendDone { index, fail } => {
                if self.outstanding.is_empty() {
                    return Ok(());
                }
                let append = self.outstanding.remove(index % self.outstanding.len());
                let result = match fail {
                    None => {
                        self.make_durable(&append)?;
                        Ok(())
                    }
                    Some(true) => Err(AppendFailure::NotReplicated),
                    Some(false) => Err(AppendFailure::NotLeader),
                };
                self.c.append_completed(append.id, result, now)
            }
            Op::MarkersDone { index } => {
                if self.markers.is_empty() {
                    return Ok(());
                }
                let request = self.markers.remove(index % self.markers.len());
                self.c.markers_written(&request, now)
            }
            Op::Tick { advance_ms } => {
                self.now_ms += advance_ms;
                self.c.tick(self.now_ms)
            }
            Op::Forge { id, producer_id, producer_epoch } => {
                self.clients.push((IDS[id].to_owned(), ids(producer_id, producer_epoch)));
                Output::default()
            }
            Op::Restart { durable_mask } => {
                for (i, append) in std::mem::take(&mut self.outstanding).into_iter().enumerate() {
                    if durable_mask & (1 << (i % 8)) != 0 {
                        self.make_durable(&append)?;
                    }
                }
                let unloaded = self.c.unload();
                self.absorb(unloaded)?;
                self.coordinator_epoch += 1;
                self.c.start_loading(self.coordinator_epoch);
                for record in &self.log {
                    self.c.load_record(record).expect("the coordinator's own records load");
                }
                self.c.finish_loading()
            }
        };
        if fencing {
            for append in out.appends.iter().filter(|a| {
                a.record.value.as_ref().is_some_and(|v| v.state == TransactionState::PrepareAbort)
            }) {
                let id = &append.record.transactional_id;
                let open =
                    self.log.iter().rev().find(|r| &r.transactional_id == id).and_then(|r| r.value.as_ref());
                let open = open.expect("a fenced transaction was durable");
                self.fence_appends.insert(append.id, (open.producer_id, open.producer_epoch));
            }
        }
        self.absorb(out)
    }

    /// Invariants 1 and 2 on the durable log.
    fn make_durable(&mut self, append: &Append) -> Result<(), TestCaseError> {
        if let Some((producer_id, epoch)) = self.fence_appends.remove(&append.id) {
            let fenced = self.fenced.entry(producer_id).or_insert(epoch);
            *fenced = epoch.max(*fenced);
        }
        let record = append.record.clone();
        let previous = self.log.iter().rev().find(|r| r.transactional_id == record.transactional_id);
        if let (Some(Some(before)), Some(after)) = (previous.map(|r| r.value.as_ref()), record.value.as_ref())
        {
            if before.state == TransactionState::PrepareCommit {
                prop_assert_eq!(after.state, TransactionState::CompleteCommit, "PrepareCommit must complete");
            }
            let decision =
                matches!(after.state, TransactionState::PrepareCommit | TransactionState::PrepareAbort);
            if decision && after.client_transaction_version >= 2 {
                // KIP-890 part 2: a version 2 decision carries an epoch of its own.
                prop_assert!(
                    after.producer_epoch > before.producer_epoch,
                    "version 2 end without a bump: {:?}",
                    after
                );
            }
        }
        if let Some(v) = &record.value {
            let max = self.epoch_max.entry(v.producer_id).or_insert(v.producer_epoch);
            prop_assert!(
                v.producer_epoch >= *max,
                "epoch of {} went back: {} < {}",
                v.producer_id,
                v.producer_epoch,
                max
            );
            *max = v.producer_epoch;
        }
        self.log.push(record);
        Ok(())
    }

    /// Invariant 4: `p`'s epoch is not older than one made durable or handed out.
    fn check_not_fenced(&self, p: ProducerIdAndEpoch) -> Result<(), TestCaseError> {
        let max = self.epoch_max.get(&p.producer_id).copied().unwrap_or(i16::MIN);
        prop_assert!(
            p.producer_epoch >= max,
            "fenced epoch {} of {} succeeded (max {})",
            p.producer_epoch,
            p.producer_id,
            max
        );
        let fenced = self.fenced.get(&p.producer_id).copied().unwrap_or(i16::MIN);
        prop_assert!(
            p.producer_epoch > fenced,
            "epoch {} of {} succeeded after its fence",
            p.producer_epoch,
            p.producer_id
        );
        Ok(())
    }

    fn absorb(&mut self, out: Output) -> Result<(), TestCaseError> {
        for m in &out.markers {
            // Invariant 3: the last durable record of the id is the decision the markers carry.
            let last = self
                .log
                .iter()
                .rev()
                .find(|r| r.transactional_id == m.transactional_id)
                .and_then(|r| r.value.as_ref());
            let decided =
                if m.commit { TransactionState::PrepareCommit } else { TransactionState::PrepareAbort };
            prop_assert!(
                last.is_some_and(|v| v.state == decided
                    && (v.producer_id, v.producer_epoch) == (m.producer_id, m.producer_epoch)),
                "markers {:?} before their decision was durable (last durable: {:?})",
                m,
                last
            );
        }
        for reply in &out.replies {
            let (id, sent) = self.requests[&reply.token].clone();
            match &reply.body {
                ReplyBody::InitProducerId(Ok(p)) => {
                    // A new producer (no current ids) gets ids nobody had: that is what fences the others.
                    let fresh = self.handed_out.insert(*p);
                    prop_assert!(fresh || sent.producer_id != -1, "a new producer got {:?} again", p);
                    let max = self.epoch_max.entry(p.producer_id).or_insert(p.producer_epoch);
                    prop_assert!(p.producer_epoch >= *max, "InitProducerId answered an old epoch");
                    *max = p.producer_epoch;
                    self.clients.push((id, *p));
                }
                ReplyBody::EndTxn(Ok(next)) if *next != sent => {
                    // Transaction version 2: the end bumped the epoch (or, on
                    // overflow, moved to a new producer id); the request may be
                    // a retry carrying the epoch before the bump.
                    let bump = next.producer_id == sent.producer_id
                        && next.producer_epoch == sent.producer_epoch + 1;
                    prop_assert!(bump || next.producer_epoch == 0, "EndTxn moved {:?} to {:?}", sent, next);
                    let fenced = self.fenced.get(&sent.producer_id).copied().unwrap_or(i16::MIN);
                    prop_assert!(
                        sent.producer_epoch > fenced,
                        "epoch {:?} ended a transaction after its fence",
                        sent
                    );
                    let max = self.epoch_max.get(&next.producer_id).copied().unwrap_or(i16::MIN);
                    prop_assert!(next.producer_epoch >= max, "EndTxn answered an old epoch {:?}", next);
                    self.clients.push((id, *next));
                }
                ReplyBody::AddPartitionsToTxn(Ok(()))
                | ReplyBody::AddOffsetsToTxn(Ok(()))
                | ReplyBody::EndTxn(Ok(_)) => self.check_not_fenced(sent)?,
                _ => {}
            }
        }
        self.outstanding.extend(out.appends);
        self.markers.extend(out.markers);
        if out.wants_producer_ids {
            self.c.add_producer_ids(self.next_producer_id, 3);
            self.next_producer_id += 3;
        }
        self.check_metadata()
    }

    /// The coordinator's own bookkeeping: one append at most per id, matching its pending transit.
    fn check_metadata(&self) -> Result<(), TestCaseError> {
        self.c.check_invariants();
        for (id, m) in self.c.transactions() {
            let appends = self.outstanding.iter().filter(|a| &a.record.transactional_id == id).count();
            prop_assert!(appends <= 1, "{} appends in flight for {}", appends, id);
            prop_assert!(
                m.partitions.is_empty() || m.state.is_open(),
                "{} has partitions in {}",
                id,
                m.state
            );
        }
        Ok(())
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    // The four invariants of the module docs hold on every prefix of every run.
    #[test]
    fn random_runs_keep_the_invariants(ops in proptest::collection::vec(op(), 1..80)) {
        let mut world = World::new();
        for op in ops {
            world.step(op)?;
        }
    }
}
