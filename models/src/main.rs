//! `spool-models`: run a model check, or explore a model in stateright's web UI.
//!
//! ```text
//! cargo run --release -p spool-models -- check log [--bug <variant>] [--big]
//! cargo run --release -p spool-models -- explore log [--bug <variant>] [--big]
//! cargo run --release -p spool-models -- check idempotence [--bug <variant>] [--big]
//! cargo run --release -p spool-models -- explore idempotence [--bug <variant>] [--big]
//! cargo run --release -p spool-models -- check group [--bug <variant>] [--big]
//! cargo run --release -p spool-models -- explore group [--bug <variant>] [--big]
//! cargo run --release -p spool-models -- check replication [--bug <variant>] [--big]
//! cargo run --release -p spool-models -- explore replication [--bug <variant>] [--big]
//! cargo run --release -p spool-models -- check kraft [--bug <variant>] [--big | --snapshots | --liveness] [--first-failure]
//! cargo run --release -p spool-models -- explore kraft [--bug <variant>] [--big]
//! cargo run --release -p spool-models -- check transactions [--bug <variant>] [--big] [--first-failure]
//! cargo run --release -p spool-models -- explore transactions [--bug <variant>] [--big]
//! cargo run --release -p spool-models -- check compaction [--bug delete-before-durable] [--big] [--first-failure]
//! cargo run --release -p spool-models -- explore compaction [--bug <variant>] [--big]
//! cargo run --release -p spool-models -- check-trace DIR
//! ```
//!
//! `check` prints each property's verdict and, for a failed one, the
//! counterexample as one line per state; it exits non-zero if any `always`
//! property fails or any `sometimes` property is never reached.
//! `check-trace` replays the KRaft trace a cluster wrote with
//! `spool.quorum.trace.dir=DIR` against the Raft core
//! (`spool_models::kraft::trace`) and exits non-zero on any violation.

use std::process::ExitCode;
use std::time::Instant;

use clap::{Parser, Subcommand, ValueEnum};
use std::fmt::Debug;
use std::hash::Hash;

use spool_models::compaction::{self, CompactionModel};
use spool_models::group::{self, GroupModel};
use spool_models::idempotence::{self, IdempotenceModel};
use spool_models::kraft::{self, KraftModel};
use spool_models::log::{Bug, LogModel};
use spool_models::replication::{self, ReplicationModel};
use spool_models::transactions::{self, TransactionsModel};
use spool_models::Bound;
use stateright::{Checker, Expectation, Model};

#[derive(Parser)]
#[command(about = "Model-check spool's protocol cores with stateright")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check every reachable state and print the verdicts.
    Check(Args),
    /// Serve stateright's explorer on http://127.0.0.1:3000.
    Explore(Args),
    /// Replay the KRaft trace in DIR (one `node-<id>.jsonl` per controller,
    /// written with `spool.quorum.trace.dir`) against the Raft core and
    /// check the model's safety properties on it.
    CheckTrace {
        /// The trace directory.
        dir: std::path::PathBuf,
    },
}

#[derive(clap::Args)]
struct Args {
    /// Which model.
    model: ModelName,
    /// Plant a known bug; the check must then fail with a counterexample.
    #[arg(long)]
    bug: Option<BugArg>,
    /// A larger bound (more records): slower, for readers who want more assurance.
    #[arg(long)]
    big: bool,
    /// (kraft) The snapshot bound: a replica snapshots and a follower catches up by FetchSnapshot.
    #[arg(long)]
    snapshots: bool,
    /// (kraft) The liveness bound: after any faults, a stable phase in which a leader must be elected.
    #[arg(long)]
    liveness: bool,
    /// Stop at the first failing property instead of exploring every state
    /// (a `--bug` variant's space can be much larger than the fixed model's).
    #[arg(long)]
    first_failure: bool,
}

#[derive(Clone, Copy, ValueEnum)]
enum ModelName {
    /// Chapter 1: append, flush, crash and recovery of one partition log.
    Log,
    /// Chapter 8: an idempotent producer over a lossy network, and the leader's producer table.
    Idempotence,
    /// Chapter 5: a consumer group rebalancing cooperatively around the real coordinator.
    Group,
    /// Chapter 6: three replicas of one partition, crashes and elections, around the real replication core.
    Replication,
    /// Chapter 7: three voters and an observer electing leaders over a lossy network, around the real Raft core.
    Kraft,
    /// Chapter 9: a transaction across two partitions, a zombie producer and its successor, coordinator crashes.
    Transactions,
    /// Chapter 10: the log cleaner's three phases against appends, a reader, the clock and power cuts inside a swap.
    Compaction,
}

#[derive(Clone, Copy, ValueEnum)]
enum BugArg {
    /// Durable mode acknowledges an append before the flush.
    AckBeforeFsync,
    /// Clean shutdown writes the clean-shutdown marker before flushing.
    MarkerBeforeFlush,
    /// (idempotence) The leader remembers 4 batches per producer while 5 are in flight.
    RetainFour,
    /// (idempotence) An epoch bump keeps the old epoch's batches for duplicate detection.
    KeepBatchesOnEpochBump,
    /// (idempotence) The producer counts unacknowledged batches instead of bounding its sequence window.
    CountInFlight,
    /// (group) The assignor hands a partition over without the revoke phase.
    SkipRevoke,
    /// (group) The coordinator accepts commits from any generation.
    CommitIgnoresGeneration,
    /// (group) A consumer keeps reading after its lease ran out.
    NoLease,
    /// (group) The coordinator takes every commit as stored, even one whose append failed.
    StoreAssumed,
    /// (replication) acks=all is answered at the leader's append, before the high watermark covers it.
    AckBeforeHw,
    /// (replication) Before KIP-101: truncate to the high watermark on restart and on becoming follower.
    TruncateToHw,
    /// (replication) Before KIP-279: the diverging answer carries the end offset without its epoch.
    EpochWithoutOffset,
    /// (replication) Elect a replica outside the ISR when no ISR member is left.
    UncleanElection,
    /// (replication) A replica restarts with an empty disk while still in the ISR (KIP-966's case).
    LostDisk,
    /// (replication) KAFKA-7128: a follower rejoins the ISR without reaching the leader's epoch start.
    ExpandBelowEpochStart,
    /// (replication) Before KIP-320: followers fetch without the leader epoch they believe in.
    FetchWithoutEpoch,
    /// (kraft) A vote granted without comparing the candidate's log with the voter's.
    VoteWithoutLogCheck,
    /// (kraft) The leader commits an earlier epoch's entry by counting replicas (Raft's figure 8).
    CommitOldEpoch,
    /// (kraft) The vote is sent before it is persisted to quorum-state.
    VoteNotPersisted,
    /// (kraft) Before KAFKA-15489's fix: a leader never resigns for want of fetches from a majority.
    NoCheckQuorum,
    /// (kraft) A prospective refused by a follower of the leader it timed out on follows that dead leader again: a livelock.
    ProspectiveFollowsDeadLeader,
    /// (transactions) KAFKA-14402: a partition appends a late transactional produce without KIP-890's verification.
    HangingTransaction,
    /// (transactions) The coordinator sends the markers before the PrepareCommit record is durable.
    MarkersBeforePrepare,
    /// (transactions) InitProducerId does not bump the epoch: the zombie is not fenced.
    NoEpochBump,
    /// (compaction) The swap removes the old segments before the cleaned ones are synced.
    DeleteBeforeDurable,
}

impl BugArg {
    fn log(self) -> Option<Bug> {
        match self {
            BugArg::AckBeforeFsync => Some(Bug::AckBeforeFsync),
            BugArg::MarkerBeforeFlush => Some(Bug::MarkerBeforeFlush),
            _ => None,
        }
    }

    fn group(self) -> Option<group::Bug> {
        match self {
            BugArg::SkipRevoke => Some(group::Bug::SkipRevoke),
            BugArg::CommitIgnoresGeneration => Some(group::Bug::CommitIgnoresGeneration),
            BugArg::NoLease => Some(group::Bug::NoLease),
            BugArg::StoreAssumed => Some(group::Bug::StoreAssumed),
            _ => None,
        }
    }

    fn replication(self) -> Option<replication::Bug> {
        match self {
            BugArg::AckBeforeHw => Some(replication::Bug::AckBeforeHw),
            BugArg::TruncateToHw => Some(replication::Bug::TruncateToHw),
            BugArg::EpochWithoutOffset => Some(replication::Bug::EpochWithoutOffset),
            BugArg::UncleanElection => Some(replication::Bug::UncleanElection),
            BugArg::LostDisk => Some(replication::Bug::LostDisk),
            BugArg::ExpandBelowEpochStart => Some(replication::Bug::ExpandBelowEpochStart),
            BugArg::FetchWithoutEpoch => Some(replication::Bug::FetchWithoutEpoch),
            _ => None,
        }
    }

    fn kraft(self) -> Option<kraft::Bug> {
        match self {
            BugArg::VoteWithoutLogCheck => Some(kraft::Bug::VoteWithoutLogCheck),
            BugArg::CommitOldEpoch => Some(kraft::Bug::CommitOldEpoch),
            BugArg::VoteNotPersisted => Some(kraft::Bug::VoteNotPersisted),
            BugArg::NoCheckQuorum => Some(kraft::Bug::NoCheckQuorum),
            BugArg::ProspectiveFollowsDeadLeader => Some(kraft::Bug::ProspectiveFollowsDeadLeader),
            _ => None,
        }
    }

    fn transactions(self) -> Option<transactions::Bug> {
        match self {
            BugArg::HangingTransaction => Some(transactions::Bug::HangingTransaction),
            BugArg::MarkersBeforePrepare => Some(transactions::Bug::MarkersBeforePrepare),
            BugArg::NoEpochBump => Some(transactions::Bug::NoEpochBump),
            _ => None,
        }
    }

    fn compaction(self) -> Option<compaction::Bug> {
        match self {
            BugArg::DeleteBeforeDurable => Some(compaction::Bug::DeleteBeforeDurable),
            _ => None,
        }
    }

    fn idempotence(self) -> Option<idempotence::Bug> {
        match self {
            BugArg::RetainFour => Some(idempotence::Bug::RetainFour),
            BugArg::KeepBatchesOnEpochBump => Some(idempotence::Bug::KeepBatchesOnEpochBump),
            BugArg::CountInFlight => Some(idempotence::Bug::CountInFlight),
            _ => None,
        }
    }
}

const EXPLORER_ADDRESS: &str = "127.0.0.1:3000";

/// `check-trace DIR`: the report, and failure on any violation.
fn check_trace(dir: &std::path::Path) -> ExitCode {
    match kraft::trace::check_dir(dir) {
        Ok(report) => {
            println!("{report}");
            if report.passed() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(e) => {
            eprintln!("cannot read the traces in {}: {e}", dir.display());
            ExitCode::FAILURE
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let args = match &cli.command {
        Command::Check(args) | Command::Explore(args) => args,
        Command::CheckTrace { dir } => return check_trace(dir),
    };
    let explore = matches!(cli.command, Command::Explore(_));
    match args.model {
        ModelName::Log => {
            let Some(model) = log_model(args) else { return wrong_bug("log") };
            let bug = model.bug.map_or("none", Bug::name);
            let header = format!("model log: {} records, bug: {bug}", model.records_max);
            let bound = model.bound();
            run(model, bound, &header, explore, args.first_failure, |s| format!("{s:?}"))
        }
        ModelName::Idempotence => {
            let Some(model) = idempotence_model(args) else { return wrong_bug("idempotence") };
            let bug = model.bug.map_or("none", idempotence::Bug::name);
            let header = format!(
                "model idempotence: {} records, {} in flight, {} loss(es), {} duplication(s), {} epoch bump(s), bug: {bug}",
                model.records_max, model.in_flight_max, model.losses_max, model.duplicates_max, model.bumps_max
            );
            let bound = model.bound();
            run(model, bound, &header, explore, args.first_failure, |s| format!("{s:?}"))
        }
        ModelName::Group => {
            let Some(model) = group_model(args) else { return wrong_bug("group") };
            let header = format!(
                "model group: {} consumers, {} partitions, {} ticks, bug: {}",
                model.consumers,
                model.partitions,
                model.time_max_ms,
                model.bug.map_or("none", group::Bug::name)
            );
            let bound = model.bound();
            run(model, bound, &header, explore, args.first_failure, |s| format!("{s:?}"))
        }
        ModelName::Replication => {
            let Some(model) = replication_model(args) else { return wrong_bug("replication") };
            let header = format!(
                "model replication: RF {}, min.insync.replicas {}, {} values, {} crashes, bug: {}",
                model.replication_factor,
                model.min_insync_replicas,
                model.values_max,
                model.crashes_max,
                model.bug.map_or("none", replication::Bug::name)
            );
            let bound = model.bound();
            run(model, bound, &header, explore, args.first_failure, |s| format!("{s:?}"))
        }
        ModelName::Kraft => {
            let Some(model) = kraft_model(args) else { return wrong_bug("kraft") };
            let header = format!(
                "model kraft: {} voters, {} observer(s), epochs up to {}, {} append(s), {} crash(es), {} snapshot(s), pre-vote {}, stable phase {}, bug: {}",
                model.voters,
                model.observers,
                model.epochs_max,
                model.appends_max,
                model.crashes_max,
                model.snapshots_max,
                model.pre_vote,
                model.stable,
                model.bug.map_or("none", kraft::Bug::name)
            );
            let bound = model.bound();
            run(model, bound, &header, explore, args.first_failure, |s| s.to_string())
        }
        ModelName::Transactions => {
            let Some(model) = transactions_model(args) else { return wrong_bug("transactions") };
            let header = format!(
                "model transactions: successor runs a transaction: {}, {} request timeout(s), {} coordinator crash(es), \
                 {} producer death(s), {} transaction timeout(s), bug: {}",
                model.successor_transaction,
                model.give_ups_max,
                model.crashes_max,
                model.producer_crashes_max,
                model.timeouts_max,
                model.bug.map_or("none", transactions::Bug::name)
            );
            let bound = model.bound();
            run(model, bound, &header, explore, args.first_failure, |s| s.to_string())
        }
        ModelName::Compaction => {
            let Some(model) = compaction_model(args) else { return wrong_bug("compaction") };
            let header = format!(
                "model compaction: {} records, {} tick(s) of delete.retention.ms, {} crash mode(s), bug: {}",
                model.records_max,
                model.ticks_max,
                model.crash_modes.len(),
                model.bug.map_or("none", compaction::Bug::name)
            );
            let bound = model.bound();
            run(model, bound, &header, explore, args.first_failure, |s| format!("{s:?}"))
        }
    }
}

fn compaction_model(args: &Args) -> Option<CompactionModel> {
    let bug = match args.bug {
        None => None,
        Some(bug) => Some(bug.compaction()?),
    };
    Some(if args.big { CompactionModel::big(bug) } else { CompactionModel::small(bug) })
}

fn transactions_model(args: &Args) -> Option<TransactionsModel> {
    let bug = match args.bug {
        None => None,
        Some(bug) => Some(bug.transactions()?),
    };
    Some(if args.big { TransactionsModel::big(bug) } else { TransactionsModel::small(bug) })
}

fn kraft_model(args: &Args) -> Option<KraftModel> {
    let bug = match args.bug {
        None => None,
        Some(bug) => Some(bug.kraft()?),
    };
    Some(match (args.big, args.snapshots, args.liveness) {
        (true, _, _) => KraftModel::big(bug),
        (false, true, _) => KraftModel::snapshots(bug),
        (false, false, true) => KraftModel::liveness(bug),
        (false, false, false) => KraftModel::small(bug),
    })
}

fn replication_model(args: &Args) -> Option<ReplicationModel> {
    let bug = match args.bug {
        None => None,
        Some(bug) => Some(bug.replication()?),
    };
    Some(if args.big { ReplicationModel::big(bug) } else { ReplicationModel::small(bug) })
}

fn group_model(args: &Args) -> Option<GroupModel> {
    let bug = match args.bug {
        None => None,
        Some(bug) => Some(bug.group()?),
    };
    Some(if args.big { GroupModel::big(bug) } else { GroupModel::small(bug) })
}

fn wrong_bug(model: &str) -> ExitCode {
    eprintln!("that bug is not a variant of the {model} model");
    ExitCode::FAILURE
}

fn log_model(args: &Args) -> Option<LogModel> {
    let bug = match args.bug {
        None => None,
        Some(bug) => Some(bug.log()?),
    };
    let records_max = if args.big { LogModel::RECORDS_MAX_BIG } else { LogModel::RECORDS_MAX };
    Some(LogModel::new(bug, records_max))
}

fn idempotence_model(args: &Args) -> Option<IdempotenceModel> {
    let bug = match args.bug {
        None => None,
        Some(bug) => Some(bug.idempotence()?),
    };
    Some(IdempotenceModel::new(bug, args.big))
}

/// Serves the explorer, or checks and prints the verdicts, each state of a
/// counterexample as `show` writes it (it may take several lines).
/// With `first_failure`, the search stops at the first failing property.
fn run<M>(
    model: M,
    bound: Bound,
    header: &str,
    explore: bool,
    first_failure: bool,
    show: impl Fn(&M::State) -> String,
) -> ExitCode
where
    M: Model + Clone + Send + Sync + 'static,
    M::State: Debug + Hash + Send + Sync + Clone + PartialEq + 'static,
    M::Action: Debug + Clone + PartialEq + Hash + Send + Sync + 'static,
{
    println!("{header}");
    if explore {
        println!("explorer on http://{EXPLORER_ADDRESS} (Ctrl-C to stop)");
        // Serves until the process is stopped.
        model.checker().serve(EXPLORER_ADDRESS);
        return ExitCode::SUCCESS;
    }
    let started = Instant::now();
    let checker = spool_models::check_with(model.clone(), bound, first_failure);
    let how = if first_failure { "stopped at the first failure after" } else { "explored all" };
    println!(
        "{how} {} unique states ({} generated, depth {}) in {:.1?}",
        checker.unique_state_count(),
        checker.state_count(),
        checker.max_depth(),
        started.elapsed()
    );
    let mut ok = true;
    for property in model.properties() {
        let discovery = checker.discovery(property.name);
        match (property.expectation, discovery) {
            (Expectation::Sometimes, Some(_)) => println!("  reached   {}", property.name),
            (Expectation::Sometimes, None) if first_failure => {
                println!("  unreached {} (the search stopped first)", property.name)
            }
            (Expectation::Always | Expectation::Eventually, None) if first_failure => {
                println!("  not yet   {} (the search stopped first)", property.name)
            }
            (Expectation::Sometimes, None) => {
                ok = false;
                println!("  UNREACHED {} (the bound is too small to show it)", property.name);
            }
            (_, None) => println!("  holds     {}", property.name),
            (_, Some(path)) => {
                ok = false;
                println!("  FAILS     {}", property.name);
                let steps_max = path.into_vec().len() - 1;
                let path = spool_models::shortest_counterexample(&model, property.name, steps_max)
                    .expect("a counterexample no longer than the one found");
                let steps = path.into_vec();
                println!("  counterexample, {} steps:", steps.len() - 1);
                for (i, (state, action)) in steps.into_iter().enumerate() {
                    let shown = show(&state);
                    let mut lines = shown.lines();
                    println!("    {i:>2}. {}", lines.next().unwrap_or_default());
                    for line in lines {
                        println!("        {line}");
                    }
                    if let Some(action) = action {
                        println!("        --{}-->", model.format_action(&action));
                    }
                }
            }
        }
    }
    if ok {
        println!("PASS");
        ExitCode::SUCCESS
    } else {
        println!("FAIL");
        ExitCode::FAILURE
    }
}
