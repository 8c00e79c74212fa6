//! `spool-models`: run a model check, or explore a model in stateright's web UI.
//!
//! ```text
//! cargo run --release -p spool-models -- check log [--bug <variant>] [--big]
//! cargo run --release -p spool-models -- explore log [--bug <variant>] [--big]
//! cargo run --release -p spool-models -- check group [--bug <variant>] [--big]
//! cargo run --release -p spool-models -- explore group [--bug <variant>] [--big]
//! ```
//!
//! `check` prints each property's verdict and, for a failed one, the
//! counterexample as one line per state; it exits non-zero if any `always`
//! property fails or any `sometimes` property is never reached.

use std::fmt::Debug;
use std::hash::Hash;
use std::process::ExitCode;
use std::time::Instant;

use clap::{Parser, Subcommand, ValueEnum};
use spool_models::group::{self, GroupModel};
use spool_models::log::{Bug, LogModel};
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
}

#[derive(Clone, Copy, ValueEnum)]
enum ModelName {
    /// Chapter 1: append, flush, crash and recovery of one partition log.
    Log,
    /// Chapter 5: a consumer group rebalancing cooperatively around the real coordinator.
    Group,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum BugArg {
    /// Durable mode acknowledges an append before the flush.
    AckBeforeFsync,
    /// Clean shutdown writes the clean-shutdown marker before flushing.
    MarkerBeforeFlush,
    /// Group: the assignor hands a partition over without the revoke phase.
    SkipRevoke,
    /// Group: the coordinator accepts commits from any generation.
    CommitIgnoresGeneration,
    /// Group: a consumer keeps reading after its lease ran out.
    NoLease,
}

impl BugArg {
    fn log(self) -> Result<Bug, String> {
        match self {
            BugArg::AckBeforeFsync => Ok(Bug::AckBeforeFsync),
            BugArg::MarkerBeforeFlush => Ok(Bug::MarkerBeforeFlush),
            _ => Err(format!("{self:?} is not a bug of the log model")),
        }
    }

    fn group(self) -> Result<group::Bug, String> {
        match self {
            BugArg::SkipRevoke => Ok(group::Bug::SkipRevoke),
            BugArg::CommitIgnoresGeneration => Ok(group::Bug::CommitIgnoresGeneration),
            BugArg::NoLease => Ok(group::Bug::NoLease),
            _ => Err(format!("{self:?} is not a bug of the group model")),
        }
    }
}

const EXPLORER_ADDRESS: &str = "127.0.0.1:3000";

fn main() -> ExitCode {
    let cli = Cli::parse();
    let (Command::Check(args) | Command::Explore(args)) = &cli.command;
    let explore = matches!(cli.command, Command::Explore(_));
    let result = match args.model {
        ModelName::Log => log_model(args).map(|model| {
            let bound = model.bound();
            let header = format!(
                "model log: {} records, bug: {}",
                model.records_max,
                model.bug.map_or("none", Bug::name)
            );
            run(model, bound, &header, explore)
        }),
        ModelName::Group => group_model(args).map(|model| {
            let bound = model.bound();
            let header = format!(
                "model group: {} consumers, {} partitions, {} ticks, bug: {}",
                model.consumers,
                model.partitions,
                model.time_max_ms,
                model.bug.map_or("none", group::Bug::name)
            );
            run(model, bound, &header, explore)
        }),
    };
    result.unwrap_or_else(|error| {
        eprintln!("{error}");
        ExitCode::FAILURE
    })
}

fn run<M>(model: M, bound: Bound, header: &str, explore: bool) -> ExitCode
where
    M: Model + Clone + Send + Sync + 'static,
    M::State: Debug + Hash + Send + Sync + Clone + PartialEq + 'static,
    M::Action: Debug + Clone + PartialEq + Hash + Send + Sync + 'static,
{
    if explore {
        println!("explorer on http://{EXPLORER_ADDRESS} (Ctrl-C to stop)");
        // Serves until the process is stopped.
        model.checker().serve(EXPLORER_ADDRESS);
        return ExitCode::SUCCESS;
    }
    println!("{header}");
    check(model, bound)
}

fn log_model(args: &Args) -> Result<LogModel, String> {
    let records_max = if args.big { LogModel::RECORDS_MAX_BIG } else { LogModel::RECORDS_MAX };
    Ok(LogModel::new(args.bug.map(BugArg::log).transpose()?, records_max))
}

fn group_model(args: &Args) -> Result<GroupModel, String> {
    let bug = args.bug.map(BugArg::group).transpose()?;
    Ok(if args.big { GroupModel::big(bug) } else { GroupModel::small(bug) })
}

fn check<M>(model: M, bound: Bound) -> ExitCode
where
    M: Model + Clone + Send + Sync + 'static,
    M::State: Debug + Hash + Send + Sync + Clone + PartialEq + 'static,
    M::Action: Debug + Clone + PartialEq,
{
    let started = Instant::now();
    let checker = spool_models::check(model.clone(), bound);
    println!(
        "explored all {} unique states ({} generated, depth {}) in {:.1?}",
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
                    println!("    {i:>2}. {state:?}");
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
