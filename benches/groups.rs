//! Chapter 5's costs: what a rebalance of a consumer group costs, against the
//! number of members and partitions, eager against cooperative (KIP-429),
//! and a restart with static membership (KIP-345) against one without.
//!
//! ```text
//! cargo bench --bench groups            # the numbers, and the table of counts
//! cargo bench --bench groups -- --test  # CI smoke-run: every case once, counts checked
//! ```
//!
//! The group coordinator is a sans-IO core, so this bench drives it
//! directly: no sockets, no broker, no log. Around it are the clients' side
//! as small state machines, with the real assignors of
//! `src/client/assignor/` and Kafka's ConsumerProtocol bytes: each consumer
//! builds its subscription (with its owned partitions under
//! `cooperative-sticky`), the leader decodes every member's, runs the
//! assignor and encodes the assignments, and each member decodes its part
//! and revokes what it lost. The numbers are the protocol's, not the
//! network's.
//!
//! A *rebalance* here is one generation: every member's JoinGroup (after a
//! Heartbeat answered REBALANCE_IN_PROGRESS told it to rejoin), the
//! leader's SyncGroup with the assignment, the store of that generation
//! reported, every SyncGroup answered. Besides time, each case counts
//! coordinator steps (calls into `GroupCoordinator`), rebalances
//! (generations) and partitions *revoked* — a consumer stopped reading them
//! — and checks the counts the protocol promises, so the smoke-run fails
//! if the coordinator or an assignor stops keeping them.
//!
//! | group | scenario |
//! |---|---|
//! | `groups/join` | a Stable group of `m` members over one topic of `p` partitions; one more member joins |
//! | `groups/restart` | the same group; one member restarts, static (`group.instance.id`) or dynamic (LeaveGroup on close, a new member id) |
//!
//! Each iteration starts from a clone of the same Stable group (the clone is
//! not timed). Simplifications: one topic; members join and sync in order,
//! with no interleaving; every store succeeds; record encoding (the driver's
//! job) is not timed.

use std::collections::{BTreeMap, BTreeSet};
use std::hint::black_box;
use std::time::Duration;

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion};
use spool::client::assignor::protocol::{
    decode_assignment, decode_subscription, encode_assignment, encode_subscription,
};
use spool::client::assignor::{Assignment, Assignor, GroupMember, RebalanceProtocol, Subscription};
use spool::group::{
    GroupCoordinator, GroupCoordinatorConfig, GroupError, GroupState, HeartbeatRequest, JoinGroupRequest,
    JoinGroupResponse, LeavingMember, Output, Protocol, RequestToken, Response, SyncGroupRequest,
};
use spool::TopicPartition;
use uuid::Uuid;

const GROUP: &str = "bench-group";
const TOPIC: &str = "events";
const NOW_MS: i64 = 1_700_000_000_000;
/// The Java consumer's defaults (`session.timeout.ms`, `max.poll.interval.ms`).
const SESSION_TIMEOUT_MS: i32 = 45_000;
const REBALANCE_TIMEOUT_MS: i32 = 300_000;

const MEMBERS: [usize; 3] = [1, 10, 100];
const PARTITIONS: [i32; 2] = [10, 1000];

/// What a scenario cost, besides time.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Tally {
    /// Calls into the coordinator: JoinGroup, Heartbeat, SyncGroup, LeaveGroup,
    /// a store reported, a timer fired.
    steps: u64,
    /// Partitions some consumer stopped reading (revoked or lost at shutdown).
    revoked: u64,
}

/// One consumer, as much of it as the protocol needs.
#[derive(Debug, Clone)]
struct Consumer {
    client_id: String,
    /// `group.instance.id` of a static member.
    instance_id: Option<String>,
    /// Empty until the coordinator gives one (and again after a restart).
    member_id: String,
    generation_id: i32,
    owned: BTreeSet<TopicPartition>,
}

/// A group: the coordinator, its consumers, and the requests in flight.
#[derive(Debug, Clone)]
struct Bench {
    coordinator: GroupCoordinator,
    consumers: Vec<Consumer>,
    assignor: Assignor,
    partitions_per_topic: BTreeMap<String, i32>,
    now_ms: i64,
    next_token: RequestToken,
    next_uuid: u128,
    /// JoinGroups sent this round and not yet answered: token → consumer.
    joining: BTreeMap<RequestToken, usize>,
    /// Answers the coordinator gave, by token.
    replies: BTreeMap<RequestToken, Response>,
    tally: Tally,
}

impl Bench {
    /// A Stable group of `members` consumers over `partitions` partitions, every one owned.
    fn stable(members: usize, partitions: i32, assignor: Assignor, static_members: bool) -> Bench {
        let mut bench = Bench {
            coordinator: GroupCoordinator::new(GroupCoordinatorConfig::default()),
            consumers: Vec::new(),
            assignor,
            partitions_per_topic: BTreeMap::from([(TOPIC.to_string(), partitions)]),
            now_ms: NOW_MS,
            next_token: 0,
            next_uuid: 0,
            joining: BTreeMap::new(),
            replies: BTreeMap::new(),
            tally: Tally::default(),
        };
        for i in 0..members {
            bench.consumers.push(Consumer::new(i, static_members));
            bench.join(i);
        }
        bench.settle();
        bench.tally = Tally::default();
        bench.check_owned_once();
        bench
    }

    fn generation_id(&self) -> i32 {
        self.coordinator.group(GROUP).expect("the group exists").generation_id()
    }

    fn state(&self) -> GroupState {
        self.coordinator.group(GROUP).expect("the group exists").state()
    }

    fn token(&mut self) -> RequestToken {
        self.next_token += 1;
        self.next_token
    }

    fn collect(&mut self, out: Output) {
        self.replies.extend(out.replies.into_iter().map(|r| (r.token, r.response)));
    }

    /// Consumer `i`'s subscription, as its JoinGroup metadata.
    fn subscription(&self, i: usize) -> Vec<u8> {
        let consumer = &self.consumers[i];
        let mut subscription = Subscription::new([TOPIC]);
        subscription.owned_partitions = consumer.owned.iter().cloned().collect();
        subscription.generation_id = consumer.generation_id;
        subscription.user_data = self.assignor.user_data(consumer.generation_id);
        encode_subscription(&subscription).to_vec()
    }

    /// Consumer `i` sends JoinGroup: an eager member revokes everything
    /// first; a new dynamic member is given its id first (KIP-394).
    fn join(&mut self, i: usize) {
        if self.assignor.protocol() == RebalanceProtocol::Eager {
            self.tally.revoked += self.consumers[i].owned.len() as u64;
            self.consumers[i].owned.clear();
        }
        loop {
            let token = self.token();
            let consumer = &self.consumers[i];
            let request = JoinGroupRequest {
                group_id: GROUP.to_string(),
                member_id: consumer.member_id.clone(),
                group_instance_id: consumer.instance_id.clone(),
                client_id: consumer.client_id.clone(),
                client_host: "/127.0.0.1".to_string(),
                session_timeout_ms: SESSION_TIMEOUT_MS,
                rebalance_timeout_ms: REBALANCE_TIMEOUT_MS,
                protocol_type: "consumer".to_string(),
                protocols: vec![Protocol {
                    name: self.assignor.name().to_string(),
                    metadata: self.subscription(i),
                }],
                require_known_member_id: true,
                new_member_uuid: Uuid::from_u128(self.next_uuid),
            };
            self.next_uuid += 1;
            let out = self.coordinator.join_group(token, &request, self.now_ms);
            self.tally.steps += 1;
            if let Some(Response::Join(r)) = out.reply(token) {
                if r.error == Some(GroupError::MemberIdRequired) {
                    self.consumers[i].member_id = r.member_id.clone();
                    continue;
                }
            }
            self.joining.insert(token, i);
            self.collect(out);
            return;
        }
    }

    /// Every member that has not rejoined learns of the rebalance from its
    /// next Heartbeat, and rejoins. Nothing to do if no rebalance is under way.
    fn rejoin_others(&mut self) {
        if self.state() != GroupState::PreparingRebalance {
            return;
        }
        let joined: BTreeSet<usize> = self.joining.values().copied().collect();
        for i in 0..self.consumers.len() {
            if joined.contains(&i) {
                continue;
            }
            let consumer = &self.consumers[i];
            let heartbeat = HeartbeatRequest {
                group_id: GROUP.to_string(),
                generation_id: consumer.generation_id,
                member_id: consumer.member_id.clone(),
                group_instance_id: consumer.instance_id.clone(),
            };
            let error = self.coordinator.heartbeat(&heartbeat, self.now_ms);
            self.tally.steps += 1;
            assert_eq!(error, Some(GroupError::RebalanceInProgress), "a member must learn of the rebalance");
            self.join(i);
        }
    }

    /// Rebalances until no member must rejoin: one round under an eager
    /// protocol, two when cooperative members revoked partitions (KIP-429).
    fn settle(&mut self) {
        loop {
            self.rejoin_others();
            let revokers = self.finish_round();
            match revokers.first() {
                None => return,
                Some(&i) => self.join(i),
            }
        }
    }

    /// Completes the joins sent (firing the join timer if it still runs),
    /// syncs every joined member, and applies the assignments. Returns the
    /// members that revoked partitions and must rejoin.
    fn finish_round(&mut self) -> Vec<usize> {
        while self.state() == GroupState::PreparingRebalance {
            self.now_ms = self.coordinator.next_deadline_ms().expect("a rebalance has a join timer");
            let out = self.coordinator.tick(self.now_ms);
            self.tally.steps += 1;
            self.collect(out);
        }
        let mut leader = None;
        let mut followers = Vec::new();
        for (token, i) in std::mem::take(&mut self.joining) {
            let Some(Response::Join(r)) = self.replies.remove(&token) else {
                panic!("JoinGroup {token} unanswered")
            };
            assert_eq!(r.error, None, "JoinGroup of consumer {i}");
            self.consumers[i].member_id = r.member_id.clone();
            self.consumers[i].generation_id = r.generation_id;
            match r.members.is_empty() {
                true => followers.push(i),
                false => leader = Some((i, r)),
            }
        }
        let mut syncs: Vec<(RequestToken, usize)> =
            followers.iter().map(|&i| (self.sync(i, vec![]), i)).collect();
        if let Some((i, joined)) = leader {
            let assignments = self.assign(&joined);
            syncs.push((self.sync(i, assignments), i));
        }
        syncs.into_iter().filter_map(|(token, i)| self.apply(token, i)).collect()
    }

    /// The leader's work: decode every subscription, run the assignor, encode the result.
    fn assign(&self, joined: &JoinGroupResponse) -> Vec<(String, Vec<u8>)> {
        let members: Vec<GroupMember> = joined
            .members
            .iter()
            .map(|m| GroupMember {
                member_id: m.member_id.clone(),
                group_instance_id: m.group_instance_id.clone(),
                subscription: decode_subscription(Bytes::from(m.metadata.clone())).expect("we encoded it"),
            })
            .collect();
        self.assignor
            .assign(&self.partitions_per_topic, &members)
            .into_iter()
            .map(|(member_id, partitions)| {
                let bytes = encode_assignment(&Assignment { partitions, user_data: None });
                (member_id, bytes.to_vec())
            })
            .collect()
    }

    /// Consumer `i` sends SyncGroup (the leader with `assignments`); the
    /// leader's generation is reported stored. Returns the request's token.
    fn sync(&mut self, i: usize, assignments: Vec<(String, Vec<u8>)>) -> RequestToken {
        let token = self.token();
        let consumer = &self.consumers[i];
        let request = SyncGroupRequest {
            group_id: GROUP.to_string(),
            generation_id: consumer.generation_id,
            member_id: consumer.member_id.clone(),
            group_instance_id: consumer.instance_id.clone(),
            protocol_type: Some("consumer".to_string()),
            protocol_name: Some(self.assignor.name().to_string()),
            assignments,
        };
        let out = self.coordinator.sync_group(token, &request, self.now_ms);
        self.tally.steps += 1;
        let store = out.store;
        self.collect(out);
        if let Some(store) = store {
            let out = self.coordinator.store_completed(store, Ok(()), self.now_ms);
            self.tally.steps += 1;
            self.collect(out);
        }
        token
    }

    /// Consumer `i` reads its SyncGroup answer: it keeps what is still its
    /// own and revokes the rest. `Some(i)` if it revoked under KIP-429 and
    /// must rejoin.
    fn apply(&mut self, token: RequestToken, i: usize) -> Option<usize> {
        let Some(Response::Sync(r)) = self.replies.remove(&token) else {
            panic!("SyncGroup {token} unanswered")
        };
        assert_eq!(r.error, None, "SyncGroup of consumer {i}");
        let assigned: BTreeSet<TopicPartition> = decode_assignment(Bytes::from(r.assignment))
            .expect("we encoded it")
            .partitions
            .into_iter()
            .collect();
        let consumer = &mut self.consumers[i];
        let revoked = consumer.owned.difference(&assigned).count();
        self.tally.revoked += revoked as u64;
        consumer.owned = assigned;
        (self.assignor.protocol() == RebalanceProtocol::Cooperative && revoked > 0).then_some(i)
    }

    /// Scenario `groups/join`: one more (dynamic) member joins, the group settles.
    fn member_joins(&mut self) {
        let i = self.consumers.len();
        self.consumers.push(Consumer::new(i, false));
        self.join(i);
        self.settle();
    }

    /// Scenario `groups/restart`: the last member stops and starts again.
    /// Static: no LeaveGroup, and the new process takes its instance id back.
    /// Dynamic: LeaveGroup on close, the others rebalance, then it joins anew.
    fn member_restarts(&mut self) {
        let i = self.consumers.len() - 1;
        let mut restarted = self.consumers[i].clone();
        self.tally.revoked += restarted.owned.len() as u64;
        restarted.owned.clear();
        restarted.member_id.clear();
        restarted.generation_id = -1;
        if restarted.instance_id.is_none() {
            let leaving =
                LeavingMember { member_id: self.consumers[i].member_id.clone(), group_instance_id: None };
            let (response, out) = self.coordinator.leave_group(GROUP, &[leaving], self.now_ms);
            self.tally.steps += 1;
            assert_eq!(response.error, None);
            self.collect(out);
            self.consumers.pop();
            self.settle();
            self.consumers.push(restarted);
        } else {
            self.consumers[i] = restarted;
        }
        self.join(i);
        self.settle();
    }

    /// Every partition is read by exactly one member: what the protocol is for.
    fn check_owned_once(&self) {
        let owned: Vec<&TopicPartition> = self.consumers.iter().flat_map(|c| &c.owned).collect();
        let distinct: BTreeSet<&TopicPartition> = owned.iter().copied().collect();
        assert_eq!(owned.len(), distinct.len(), "a partition with two owners");
        assert_eq!(distinct.len() as i32, self.partitions_per_topic[TOPIC], "a partition with no owner");
    }
}

impl Consumer {
    fn new(i: usize, static_member: bool) -> Consumer {
        Consumer {
            client_id: format!("consumer-{i}"),
            instance_id: static_member.then(|| format!("instance-{i:03}")),
            member_id: String::new(),
            generation_id: -1,
            owned: BTreeSet::new(),
        }
    }
}

/// What a scenario did, counted once outside the timed loop.
struct Counted {
    tally: Tally,
    rebalances: i32,
}

fn count(base: &Bench, scenario: fn(&mut Bench)) -> Counted {
    let mut bench = base.clone();
    let generation_before = bench.generation_id();
    scenario(&mut bench);
    bench.check_owned_once();
    Counted { tally: bench.tally, rebalances: bench.generation_id() - generation_before }
}

fn print_counts(case: &str, counted: &Counted) {
    println!(
        "groups/{case}: {} rebalances, {} coordinator steps, {} partitions revoked",
        counted.rebalances, counted.tally.steps, counted.tally.revoked
    );
}

/// Each case's time, counted: the base group is built once, each iteration
/// runs the scenario on a fresh clone of it.
fn bench_case(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    id: BenchmarkId,
    base: &Bench,
    scenario: fn(&mut Bench),
) {
    group.bench_with_input(id, base, |b, base| {
        b.iter_batched(
            || base.clone(),
            |mut bench| {
                scenario(&mut bench);
                black_box(bench)
            },
            BatchSize::LargeInput,
        )
    });
}

// ANCHOR: bench_join
/// `groups/join`: a member joins a Stable group of `m`. Eager assignors
/// revoke every partition and rebalance once; `cooperative-sticky` revokes
/// only the newcomer's share and rebalances twice (once if it gets nothing).
fn join(c: &mut Criterion) {
    let mut group = c.benchmark_group("groups/join");
    group.warm_up_time(Duration::from_millis(300)).measurement_time(Duration::from_secs(1)).sample_size(10);
    for assignor in [Assignor::Range, Assignor::RoundRobin, Assignor::CooperativeSticky] {
        for m in MEMBERS {
            for p in PARTITIONS {
                let base = Bench::stable(m, p, assignor, false);
                let counted = count(&base, Bench::member_joins);
                let case = format!("{}/{m}m_{p}p", assignor.name());
                print_counts(&format!("join/{case}"), &counted);
                let share = p as u64 / (m as u64 + 1);
                match assignor.protocol() {
                    RebalanceProtocol::Eager => {
                        assert_eq!((counted.rebalances, counted.tally.revoked), (1, p as u64), "{case}")
                    }
                    RebalanceProtocol::Cooperative => {
                        assert!(
                            counted.tally.revoked.abs_diff(share) <= 1,
                            "{case}: only the newcomer's share moves"
                        );
                        assert_eq!(
                            counted.rebalances,
                            if counted.tally.revoked > 0 { 2 } else { 1 },
                            "{case}"
                        );
                    }
                }
                bench_case(&mut group, BenchmarkId::from_parameter(case), &base, Bench::member_joins);
            }
        }
    }
    group.finish();
}
// ANCHOR_END: bench_join

// ANCHOR: bench_restart
/// `groups/restart`: the last of `m` members restarts. A static member
/// (KIP-345) takes its instance id back with no rebalance and only its own
/// partitions paused; a dynamic one leaves and joins again: two rebalances
/// or more, and under an eager assignor every partition revoked twice.
fn restart(c: &mut Criterion) {
    let mut group = c.benchmark_group("groups/restart");
    group.warm_up_time(Duration::from_millis(300)).measurement_time(Duration::from_secs(1)).sample_size(10);
    for assignor in [Assignor::Range, Assignor::CooperativeSticky] {
        for static_members in [true, false] {
            for m in MEMBERS {
                for p in PARTITIONS {
                    let base = Bench::stable(m, p, assignor, static_members);
                    let own_share = base.consumers[m - 1].owned.len() as u64;
                    let counted = count(&base, Bench::member_restarts);
                    let membership = if static_members { "static" } else { "dynamic" };
                    let case = format!("{}/{membership}/{m}m_{p}p", assignor.name());
                    print_counts(&format!("restart/{case}"), &counted);
                    if static_members {
                        assert_eq!((counted.rebalances, counted.tally.revoked), (0, own_share), "{case}");
                    } else {
                        assert!(
                            counted.rebalances >= 2,
                            "{case}: a dynamic restart rebalances twice or more"
                        );
                    }
                    bench_case(&mut group, BenchmarkId::from_parameter(case), &base, Bench::member_restarts);
                }
            }
        }
    }
    group.finish();
}
// ANCHOR_END: bench_restart

criterion_group!(benches, join, restart);
criterion_main!(benches);
