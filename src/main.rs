//! The `spool` command: the broker, and tools in the spirit of Kafka's scripts.
//!
//! `spool` with no arguments is `spool serve`: a single-node broker on
//! 127.0.0.1:9092 with its data in `./data`. `spool cluster` starts a local
//! cluster of such processes (chapter 6). `spool topics`, `spool produce`,
//! `spool consume`, `spool groups` and `spool transactions` are clients of a
//! running broker, as `kafka-topics.sh`, `kafka-console-producer.sh`,
//! `kafka-console-consumer.sh`, `kafka-consumer-groups.sh` and
//! `kafka-transactions.sh` are; `spool dump-log` reads segment files
//! directly, as `kafka-dump-log.sh` does.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use spool::config::BrokerConfig;
use spool::tools::acls::AclsArgs;
use spool::tools::cluster::ClusterArgs;
use spool::tools::configs::ConfigsArgs;
use spool::tools::consume::ConsumeArgs;
use spool::tools::delete_records::DeleteRecordsArgs;
use spool::tools::dump_log::{dump_file, DumpOptions};
use spool::tools::groups::GroupsArgs;
use spool::tools::log_dirs::LogDirsArgs;
use spool::tools::metadata_quorum::MetadataQuorumArgs;
use spool::tools::perf::consume::ConsumePerfArgs;
use spool::tools::perf::produce::ProducePerfArgs;
use spool::tools::produce::ProduceArgs;
use spool::tools::topics::TopicsArgs;
use spool::tools::transactions::TransactionsArgs;

#[derive(Parser)]
#[command(name = "spool", version, about = "Apache Kafka's design rebuilt in Rust, chapter by chapter")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

/// Each client tool's flags are its own argument struct, in `spool::tools`.
#[derive(Subcommand)]
enum Command {
    /// Run a single-node broker (the default), as kafka-server-start.sh does.
    Serve {
        /// A server.properties file, with Kafka's key names.
        properties: Option<PathBuf>,
        /// Override one setting: --override key=value (repeatable).
        #[arg(long = "override", value_name = "KEY=VALUE")]
        overrides: Vec<String>,
        /// A first SCRAM user, written only when the metadata log is created,
        /// as kafka-storage.sh format --add-scram does (repeatable):
        /// 'SCRAM-SHA-512=[name=alice,password=alice-secret]' (iterations=N optional, 4096 by default).
        #[arg(long = "add-scram", value_name = "CREDENTIAL")]
        add_scram: Vec<String>,
    },
    /// Print the configuration reference (every broker and topic key, from
    /// the config table) as the book's `reference/configs.md`.
    ConfigDocs,
    /// Start a local cluster: N controllers (a KRaft quorum; 1 by default) and M brokers, each a `spool serve`.
    Cluster(ClusterArgs),
    /// Print segment, index and time index files as kafka-dump-log.sh does.
    DumpLog {
        /// The .log, .index, .timeindex, .txnindex, .snapshot or leader-epoch-checkpoint files to dump.
        #[arg(long, num_args = 1.., required = true, value_delimiter = ',')]
        files: Vec<PathBuf>,
        /// Print every record, not only batch headers.
        #[arg(long)]
        deep_iteration: bool,
        /// Print record keys and values (implies --deep-iteration).
        #[arg(long)]
        print_data_log: bool,
        /// Print values as KRaft metadata records in Kafka's JSON (implies --print-data-log).
        #[arg(long)]
        cluster_metadata_decoder: bool,
    },
    /// Create, list, describe or delete topics, as kafka-topics.sh does.
    Topics(TopicsArgs),
    /// Produce lines from stdin as records, as kafka-console-producer.sh does.
    Produce(ProduceArgs),
    /// Print records, as kafka-console-consumer.sh does.
    Consume(ConsumeArgs),
    /// List, describe or delete consumer groups, as kafka-consumer-groups.sh does.
    Groups(GroupsArgs),
    /// Describe the brokers' log directories, as kafka-log-dirs.sh does.
    LogDirs(LogDirsArgs),
    /// Add, list or remove ACLs, as kafka-acls.sh does.
    Acls(AclsArgs),
    /// Describe or alter topic and broker configs, as kafka-configs.sh does.
    Configs(ConfigsArgs),
    /// Describe the KRaft quorum, as kafka-metadata-quorum.sh does.
    MetadataQuorum(MetadataQuorumArgs),
    /// List, describe and abort transactions, as kafka-transactions.sh does.
    Transactions(TransactionsArgs),
    /// Delete records before offsets, as kafka-delete-records.sh does.
    DeleteRecords(DeleteRecordsArgs),
    /// Measure a broker as kafka-producer-perf-test.sh / kafka-consumer-perf-test.sh do.
    #[command(subcommand)]
    Perf(PerfCommand),
}

#[derive(Subcommand)]
enum PerfCommand {
    /// Send generated records and print kafka-producer-perf-test's result lines.
    Produce(ProducePerfArgs),
    /// Read a topic from the beginning and print Kafka's consumer-perf result line.
    Consume(ConsumePerfArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command.unwrap_or(Command::Serve {
        properties: None,
        overrides: Vec::new(),
        add_scram: Vec::new(),
    }) {
        Command::Serve { properties, overrides, add_scram } => {
            match serve(properties, overrides, add_scram) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("error: {e:#}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::Cluster(args) => match spool::tools::cluster::main(
            args,
            &format_log_dir,
            &spool::broker::meta_properties::random_id,
        ) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e:#}");
                ExitCode::FAILURE
            }
        },
        Command::ConfigDocs => {
            print!("{}", spool::config::def::reference_page());
            ExitCode::SUCCESS
        }
        Command::DumpLog { files, deep_iteration, print_data_log, cluster_metadata_decoder } => {
            let options = DumpOptions { deep_iteration, print_data_log, cluster_metadata_decoder };
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
        command => match client_tool(command) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e:#}");
                ExitCode::FAILURE
            }
        },
    }
}

/// Runs a client tool of a running broker: `topics`, `produce`, `consume`,
/// `groups` or `perf`.
fn client_tool(command: Command) -> anyhow::Result<()> {
    // perf produce sends while the producer's sender and the acknowledgements
    // run on other workers, so a latency is measured when the ack arrives, not
    // when the sending loop next yields.
    let runtime = match command {
        Command::Perf(_) => {
            tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?
        }
        _ => tokio::runtime::Builder::new_current_thread().enable_all().build()?,
    };
    runtime.block_on(async move {
        match command {
            Command::Topics(args) => spool::tools::topics::main(args).await?,
            Command::Produce(args) => spool::tools::produce::main(args).await?,
            Command::Consume(args) => spool::tools::consume::main(args).await?,
            Command::Groups(args) => spool::tools::groups::main(args).await?,
            Command::LogDirs(args) => spool::tools::log_dirs::main(args).await?,
            Command::Acls(args) => spool::tools::acls::main(args).await?,
            Command::Configs(args) => spool::tools::configs::main(args).await?,
            Command::MetadataQuorum(args) => spool::tools::metadata_quorum::main(args).await?,
            Command::Transactions(args) => spool::tools::transactions::main(args).await?,
            Command::DeleteRecords(args) => spool::tools::delete_records::main(args).await?,
            Command::Perf(PerfCommand::Produce(args)) => {
                spool::tools::perf::produce::run(&args, &mut std::io::stdout()).await.map(drop)?
            }
            Command::Perf(PerfCommand::Consume(args)) => {
                let (mut out, mut err) = (std::io::stdout(), std::io::stderr());
                spool::tools::perf::consume::run(&args, &mut out, &mut err).await.map(drop)?
            }
            Command::Serve { .. } | Command::Cluster(_) | Command::DumpLog { .. } | Command::ConfigDocs => {
                unreachable!("handled in main")
            }
        }
        Ok(())
    })
}

fn serve(properties: Option<PathBuf>, overrides: Vec<String>, add_scram: Vec<String>) -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let mut props = match &properties {
        Some(path) => BrokerConfig::parse_properties(&std::fs::read_to_string(path)?)
            .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?,
        None => Default::default(),
    };
    for o in overrides {
        let (k, v) =
            o.split_once('=').ok_or_else(|| anyhow::anyhow!("--override {o:?}: expected key=value"))?;
        props.insert(k.trim().to_string(), v.trim().to_string());
    }
    let (config, ignored) = BrokerConfig::from_properties(&props).map_err(anyhow::Error::msg)?;
    let add_scram: Vec<_> = (add_scram.iter())
        .map(|a| spool::controller::scram::bootstrap::parse(a))
        .collect::<Result<_, _>>()
        .map_err(anyhow::Error::msg)?;
    for key in ignored {
        tracing::warn!(key, "ignoring a setting spool does not use");
    }
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(spool::node::run(config, add_scram))
}

/// `kafka-storage.sh format` for `spool cluster`: every node's log directory
/// gets the cluster's id before its first start (a directory that already
/// has one keeps it).
fn format_log_dir(dir: &std::path::Path, node_id: i32, cluster_id: &str) -> std::io::Result<()> {
    if dir.join(spool::broker::meta_properties::FILE).exists() {
        return Ok(());
    }
    spool::broker::meta_properties::format(dir, node_id, cluster_id).map(drop)
}
