//! stateright models of spool's protocol cores. Each model wraps the very code
//! the broker runs — not a copy of it — declares `always` (safety) and
//! `sometimes` (reachability) properties, and keeps plausible bugs as
//! switchable variants that the checker must catch.
//!
//! | chapter | model |
//! |---|---|
//! | 1 the log | [`log`]: append, flush, crash, recovery |
//! | 6 replication | [`replication`]: one partition's replicas, crashes and elections around the real core |
//! | 7 KRaft | [`kraft`]: three voters and an observer electing leaders over a lossy network, around the real Raft core |
//! | 8 idempotence | [`idempotence`]: producer retries over a lossy network |
//! | 5 consumer groups | [`group`]: cooperative rebalancing around the real coordinator |
//! | 9 transactions | [`transactions`]: a transaction across two partitions, a zombie and its successor, coordinator crashes, around the real coordinator and producer tables |
//! | 10 compaction | [`compaction`]: the real log cleaner's three phases against appends, a fetching reader, the clock and power cuts inside a swap |
//!
//! Every check here is exhaustive within the model's own bounds (how many
//! records it appends): [`check`] runs breadth-first over every reachable
//! state and asserts that its safety nets — a state budget and a timeout —
//! were never hit, so a pass means "no counterexample exists", not "none was
//! found in time".

use std::fmt::Debug;
use std::hash::Hash;
use std::time::{Duration, Instant};

use stateright::{Checker, HasDiscoveries, Model, Path};

pub mod compaction;
pub mod group;
pub mod idempotence;
pub mod kraft;
pub mod log;
pub mod replication;
pub mod transactions;

/// A check's safety nets. Reaching either means the model is larger than
/// intended, and the check fails instead of passing on a partial search.
#[derive(Debug, Clone, Copy)]
pub struct Bound {
    /// Generated states (repeats included) at which stateright stops.
    pub states_max: usize,
    pub timeout: Duration,
}

/// Checks `model` breadth-first on one thread (so each counterexample is a
/// shortest one, and the output is deterministic), and asserts the search was
/// exhaustive: it ended because no state was left, not because of `bound`.
pub fn check<M>(model: M, bound: Bound) -> impl Checker<M>
where
    M: Model + Send + Sync + 'static,
    M::State: Debug + Hash + Send + Sync + Clone + PartialEq + 'static,
    M::Action: Debug + Clone + PartialEq,
{
    check_with(model, bound, false)
}

/// [`check`], or with `stop_at_failure` (a `--bug` variant's run, where the
/// point is the counterexample, and a variant's space can be much larger
/// than the fixed model's) a search that ends at the first failing
/// property. Reaching `bound` before any failure is an error either way.
pub fn check_with<M>(model: M, bound: Bound, stop_at_failure: bool) -> impl Checker<M>
where
    M: Model + Send + Sync + 'static,
    M::State: Debug + Hash + Send + Sync + Clone + PartialEq + 'static,
    M::Action: Debug + Clone + PartialEq,
{
    let started = Instant::now();
    let builder = model.checker().target_state_count(bound.states_max).timeout(bound.timeout);
    let builder = if stop_at_failure { builder.finish_when(HasDiscoveries::AnyFailures) } else { builder };
    let checker = builder.spawn_bfs().join();
    let elapsed = started.elapsed();
    let failed = stop_at_failure
        && checker.model().properties().iter().any(|p| {
            !matches!(p.expectation, stateright::Expectation::Sometimes)
                && checker.discovery(p.name).is_some()
        });
    assert!(
        failed || checker.state_count() < bound.states_max,
        "the check reached its state budget ({} states): raise the bound or shrink the model",
        bound.states_max
    );
    assert!(
        failed || elapsed < bound.timeout,
        "the check ran into its timeout ({:?}): raise the bound or shrink the model",
        bound.timeout
    );
    checker
}

/// A shortest path to a state that breaks `property`, no longer than
/// `steps_max` steps. stateright's checker keeps the *last* violating state it
/// visits, not the first, so the path an exhaustive check reports can wander;
/// a breadth-first search cut at depth 1, 2, … (iterative deepening) returns
/// one of the shortest instead, which is what a reader wants to see.
pub fn shortest_counterexample<M>(
    model: &M,
    property: &'static str,
    steps_max: usize,
) -> Option<Path<M::State, M::Action>>
where
    M: Model + Clone + Send + Sync + 'static,
    M::State: Debug + Hash + Send + Sync + Clone + PartialEq + 'static,
    M::Action: Debug + Clone + PartialEq,
{
    (0..=steps_max).find_map(|steps| {
        let checker = model
            .clone()
            .checker()
            // Depth counts states: the initial state is depth 1, and states at
            // `target_max_depth` are not visited.
            .target_max_depth(steps + 2)
            .finish_when(HasDiscoveries::AnyOf([property].into()))
            .spawn_bfs()
            .join();
        checker.discovery(property)
    })
}
