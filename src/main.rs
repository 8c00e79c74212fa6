//! The `spool` command: the broker (from chapter 2) and its tools.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use spool::tools::dump_log::{dump_file, DumpOptions};

#[derive(Parser)]
#[command(name = "spool", version, about = "Apache Kafka's design rebuilt in Rust, chapter by chapter")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print segment, index and time index files as kafka-dump-log.sh does.
    DumpLog {
        /// The .log, .index or .timeindex files to dump.
        #[arg(long, num_args = 1.., required = true, value_delimiter = ',')]
        files: Vec<PathBuf>,
        /// Print every record, not only batch headers.
        #[arg(long)]
        deep_iteration: bool,
        /// Print record keys and values (implies --deep-iteration).
        #[arg(long)]
        print_data_log: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::DumpLog { files, deep_iteration, print_data_log } => {
            let options = DumpOptions { deep_iteration, print_data_log };
            let mut failed = false;
            for file in files {
                let dump = dump_file(&file, options);
                print!("{}", dump.output);
                for error in &dump.errors {
                    eprintln!("error: {error}");
                }
                failed |= !dump.errors.is_empty();
            }
            if failed {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            }
        }
    }
}
