//! `spool-models`: run a model check, or explore a model in stateright's web UI.
//!
//! ```text
//! cargo run --release -p spool-models -- check log [--bug <variant>] [--big]
//! cargo run --release -p spool-models -- explore log [--bug <variant>] [--big]
//! ```
//!
//! `check` prints each property's verdict and, for a failed one, the
//! counterexample as one line per state; it exits non-zero if any `always`
//! property fails or any `sometimes` property is never reached.

use std::process::ExitCode;
use std::time::Instant;

use clap::{Parser, Subcommand, ValueEnum};
use spool_models::log::{Bug, LogModel};
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
}

#[derive(Clone, Copy, ValueEnum)]
enum BugArg {
    /// Durable mode acknowledges an append before the flush.
    AckBeforeFsync,
    /// Clean shutdown writes the clean-shutdown marker before flushing.
    MarkerBeforeFlush,
}

impl From<BugArg> for Bug {
    fn from(bug: BugArg) -> Bug {
        match bug {
            BugArg::AckBeforeFsync => Bug::AckBeforeFsync,
            BugArg::MarkerBeforeFlush => Bug::MarkerBeforeFlush,
        }
    }
}

const EXPLORER_ADDRESS: &str = "127.0.0.1:3000";

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Check(args) => match args.model {
            ModelName::Log => check_log(&args),
        },
        Command::Explore(args) => match args.model {
            ModelName::Log => {
                let model = log_model(&args);
                println!("explorer on http://{EXPLORER_ADDRESS} (Ctrl-C to stop)");
                // Serves until the process is stopped.
                model.checker().serve(EXPLORER_ADDRESS);
                ExitCode::SUCCESS
            }
        },
    }
}

fn log_model(args: &Args) -> LogModel {
    let records_max = if args.big { LogModel::RECORDS_MAX_BIG } else { LogModel::RECORDS_MAX };
    LogModel::new(args.bug.map(Bug::from), records_max)
}

fn check_log(args: &Args) -> ExitCode {
    let model = log_model(args);
    let bug = model.bug.map_or("none", Bug::name);
    println!("model log: {} records, bug: {bug}", model.records_max);
    let started = Instant::now();
    let checker = spool_models::check(model.clone(), model.bound());
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
