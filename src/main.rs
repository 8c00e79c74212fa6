//! The `spool` command: the broker, and tools in the spirit of Kafka's scripts.
//!
//! `spool` with no arguments is `spool serve`: a single-node broker on
//! 127.0.0.1:9092 with its data in `./data`. `spool topics`, `spool produce`,
//! `spool consume` and `spool groups` are clients of a running broker, as
//! `kafka-topics.sh`, `kafka-console-producer.sh`,
//! `kafka-console-consumer.sh` and `kafka-consumer-groups.sh` are; `spool dump-log` reads segment files
//! directly, as `kafka-dump-log.sh` does.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{Parser, Subcommand};

use spool::broker::Broker;
use spool::client::{Acks, Client, NewTopic, ProduceOptions, Producer, REQUEST_TIMEOUT_DEFAULT};
use spool::config::BrokerConfig;
use spool::format::Compression;
use spool::tools::consume::{ConsumeArgs, FormatOptions, StartOffset};
use spool::tools::dump_log::{dump_file, DumpOptions};
use spool::tools::groups::GroupsCommand;
use spool::tools::produce::{parse_header, ProduceArgs};
use spool::tools::topics::TopicsCommand;

/// Where the client tools look for a broker unless told otherwise.
const BOOTSTRAP_DEFAULT: &str = "127.0.0.1:9092";

#[derive(Parser)]
#[command(name = "spool", version, about = "Apache Kafka's design rebuilt in Rust, chapter by chapter")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run a single-node broker (the default), as kafka-server-start.sh does.
    Serve {
        /// A server.properties file, with Kafka's key names.
        properties: Option<PathBuf>,
        /// Override one setting: --override key=value (repeatable).
        #[arg(long = "override", value_name = "KEY=VALUE")]
        overrides: Vec<String>,
    },
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
    /// Create, list, describe or delete topics, as kafka-topics.sh does.
    Topics(TopicsCli),
    /// Produce lines from stdin as records, as kafka-console-producer.sh does.
    Produce(ProduceCli),
    /// Print records, as kafka-console-consumer.sh does.
    Consume(ConsumeCli),
    /// List, describe or delete consumer groups, as kafka-consumer-groups.sh does.
    Groups(GroupsCli),
    /// Measure a broker as kafka-producer-perf-test.sh / kafka-consumer-perf-test.sh do.
    #[command(subcommand)]
    Perf(PerfCommand),
}

#[derive(Subcommand)]
enum PerfCommand {
    /// Send generated records and print kafka-producer-perf-test's result lines.
    Produce(PerfProduceCli),
    /// Read a topic from the beginning and print Kafka's consumer-perf result line.
    Consume(PerfConsumeCli),
}

#[derive(clap::Args)]
struct PerfProduceCli {
    /// Where to connect; else `bootstrap.servers` from the client properties,
    /// else 127.0.0.1:9092 (as Kafka's perf tools take it from either).
    #[arg(long, value_name = "HOST:PORT")]
    bootstrap_server: Option<String>,
    #[arg(long)]
    topic: String,
    #[arg(long)]
    num_records: u64,
    /// Bytes per record value.
    #[arg(long)]
    record_size: usize,
    /// Records per second at most; -1 for no limit.
    #[arg(long, allow_negative_numbers = true)]
    throughput: f64,
    /// Producer settings: --producer-props acks=1 batch.size=16384 linger.ms=5 ...
    #[arg(long = "producer-props", num_args = 1.., value_name = "KEY=VALUE")]
    producer_props: Vec<String>,
    /// A properties file of producer settings.
    #[arg(long = "producer.config", value_name = "FILE")]
    producer_config: Option<PathBuf>,
    #[arg(long, default_value_t = 5_000, value_name = "MS")]
    reporting_interval: u64,
}

#[derive(clap::Args)]
struct PerfConsumeCli {
    /// Where to connect; else `bootstrap.servers` from the client properties,
    /// else 127.0.0.1:9092 (as Kafka's perf tools take it from either).
    #[arg(long, value_name = "HOST:PORT")]
    bootstrap_server: Option<String>,
    #[arg(long)]
    topic: String,
    /// How many records to read.
    #[arg(long)]
    messages: u64,
    /// Stop after this many ms without a record.
    #[arg(long, default_value_t = 10_000, value_name = "MS")]
    timeout: u64,
    /// max.partition.fetch.bytes.
    #[arg(long, default_value_t = 1024 * 1024, value_name = "BYTES")]
    fetch_size: i32,
    /// Start at the end of each partition rather than its beginning.
    #[arg(long)]
    from_latest: bool,
    /// Print a stats line every interval (Kafka's detailed format) instead of a summary.
    #[arg(long)]
    show_detailed_stats: bool,
    #[arg(long, default_value_t = 5_000, value_name = "MS")]
    reporting_interval: u64,
    #[arg(long)]
    hide_header: bool,
    /// Consumer settings: --consumer-props key=value ...
    #[arg(long = "consumer-props", num_args = 1.., value_name = "KEY=VALUE")]
    consumer_props: Vec<String>,
    /// A properties file of consumer settings.
    #[arg(long = "consumer.config", value_name = "FILE")]
    consumer_config: Option<PathBuf>,
}

#[derive(clap::Args)]
#[command(group(clap::ArgGroup::new("action").required(true).args(["create", "list", "describe", "delete"])))]
struct TopicsCli {
    #[arg(long, default_value = BOOTSTRAP_DEFAULT, value_name = "HOST:PORT")]
    bootstrap_server: String,
    /// Create --topic.
    #[arg(long, requires = "topic")]
    create: bool,
    /// List every topic's name.
    #[arg(long)]
    list: bool,
    /// Describe --topic, or every topic.
    #[arg(long)]
    describe: bool,
    /// Delete --topic.
    #[arg(long, requires = "topic")]
    delete: bool,
    #[arg(long)]
    topic: Option<String>,
    /// Partitions of a new topic (default: the broker's num.partitions).
    #[arg(long)]
    partitions: Option<i32>,
    /// Replication factor of a new topic (default: the broker's default.replication.factor).
    #[arg(long)]
    replication_factor: Option<i16>,
    /// A topic config override for --create: --config key=value (repeatable).
    #[arg(long = "config", value_name = "KEY=VALUE")]
    configs: Vec<String>,
}

#[derive(clap::Args)]
#[command(group(clap::ArgGroup::new("action").required(true).args(["list", "describe", "delete"])))]
struct GroupsCli {
    #[arg(long, default_value = BOOTSTRAP_DEFAULT, value_name = "HOST:PORT")]
    bootstrap_server: String,
    /// List every group's id.
    #[arg(long)]
    list: bool,
    /// Describe --group: its partitions' offsets and lag (or, with --members, its members).
    #[arg(long, requires = "group")]
    describe: bool,
    /// Delete --group (only a group without members).
    #[arg(long, requires = "group")]
    delete: bool,
    /// A group (repeatable).
    #[arg(long)]
    group: Vec<String>,
    /// With --describe: one line per member instead of per partition.
    #[arg(long, requires = "describe")]
    members: bool,
    /// With --describe --members: each member's partitions too.
    #[arg(long, requires = "members")]
    verbose: bool,
}

#[derive(clap::Args)]
struct ProduceCli {
    #[arg(long, default_value = BOOTSTRAP_DEFAULT, value_name = "HOST:PORT")]
    bootstrap_server: String,
    #[arg(long)]
    topic: String,
    /// Split each line into key and value at the first SEP (parse.key=true).
    #[arg(long, value_name = "SEP")]
    key_separator: Option<String>,
    /// A header on every record: --header key=value (repeatable).
    #[arg(long = "header", value_name = "KEY=VALUE")]
    headers: Vec<String>,
    /// Send every record to this partition instead of partitioning by key.
    #[arg(long)]
    partition: Option<i32>,
    #[arg(long, default_value = "none", value_parser = ["none", "gzip", "snappy", "lz4", "zstd"])]
    compression: String,
    /// 0 (no response), 1 (the leader) or -1/all (every in-sync replica).
    #[arg(long, default_value = "-1", allow_hyphen_values = true, value_parser = ["0", "1", "-1", "all"])]
    acks: String,
    /// A producer setting: --producer-property enable.idempotence=true (repeatable).
    #[arg(long = "producer-property", value_name = "KEY=VALUE")]
    producer_properties: Vec<String>,
}

#[derive(clap::Args)]
struct ConsumeCli {
    #[arg(long, default_value = BOOTSTRAP_DEFAULT, value_name = "HOST:PORT")]
    bootstrap_server: String,
    #[arg(long)]
    topic: String,
    /// Start at each partition's first offset rather than its end.
    #[arg(long, conflicts_with = "offset")]
    from_beginning: bool,
    /// Read only this partition.
    #[arg(long)]
    partition: Option<i32>,
    /// Start at this offset (a number, earliest or latest); needs --partition.
    #[arg(long, requires = "partition")]
    offset: Option<String>,
    /// Consume as a member of this consumer group, committing what is printed.
    #[arg(long, conflicts_with_all = ["partition", "offset"])]
    group: Option<String>,
    /// A consumer setting: --consumer-property key=value (repeatable).
    #[arg(long = "consumer-property", value_name = "KEY=VALUE")]
    consumer_properties: Vec<String>,
    /// A properties file of consumer settings.
    #[arg(long = "consumer.config", value_name = "FILE")]
    consumer_config: Option<PathBuf>,
    /// Exit after printing this many records.
    #[arg(long)]
    max_messages: Option<u64>,
    /// Exit after this long without a new record.
    #[arg(long)]
    timeout_ms: Option<u64>,
    /// Print each record's key before its value.
    #[arg(long)]
    print_key: bool,
    /// Between headers, key and value (`\t` is a tab).
    #[arg(long, default_value = "\\t", value_name = "SEP")]
    key_separator: String,
    /// Print each record's headers first (k:v,k2:v2, or NO_HEADERS).
    #[arg(long)]
    print_headers: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command.unwrap_or(Command::Serve { properties: None, overrides: Vec::new() }) {
        Command::Serve { properties, overrides } => match serve(properties, overrides) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e:#}");
                ExitCode::FAILURE
            }
        },
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
        command => match client_tool(command) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e:#}");
                ExitCode::FAILURE
            }
        },
    }
}

/// Runs `topics`, `produce` or `consume`: a client of a running broker.
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
            Command::Topics(cli) => topics(cli).await,
            Command::Produce(cli) => produce(cli).await,
            Command::Consume(cli) if cli.group.is_some() => consume_group(cli).await,
            Command::Consume(cli) => consume(cli).await,
            Command::Groups(cli) => groups(cli).await,
            Command::Perf(PerfCommand::Consume(cli)) => perf_consume(cli).await,
            Command::Perf(PerfCommand::Produce(cli)) => perf_produce(cli).await,
            Command::Serve { .. } | Command::DumpLog { .. } => unreachable!("handled in main"),
        }
    })
}

async fn topics(cli: TopicsCli) -> anyhow::Result<()> {
    let command = if cli.create {
        let mut new_topic = NewTopic::new(cli.topic.unwrap_or_default());
        new_topic.partitions = cli.partitions.unwrap_or(-1);
        new_topic.replication_factor = cli.replication_factor.unwrap_or(-1);
        for config in cli.configs {
            let (k, v) = config
                .split_once('=')
                .ok_or_else(|| anyhow::anyhow!("--config {config:?}: expected key=value"))?;
            new_topic.configs.insert(k.trim().to_string(), v.trim().to_string());
        }
        TopicsCommand::Create(new_topic)
    } else if cli.list {
        TopicsCommand::List
    } else if cli.describe {
        TopicsCommand::Describe(cli.topic)
    } else {
        TopicsCommand::Delete(cli.topic.unwrap_or_default())
    };
    let mut client = Client::connect(&cli.bootstrap_server, REQUEST_TIMEOUT_DEFAULT).await?;
    spool::tools::topics::run(&mut client, command, &mut std::io::stdout().lock()).await?;
    Ok(())
}

async fn produce(cli: ProduceCli) -> anyhow::Result<()> {
    let headers =
        cli.headers.iter().map(|h| parse_header(h)).collect::<Result<_, _>>().map_err(anyhow::Error::msg)?;
    let options = ProduceOptions {
        acks: Acks::parse(&cli.acks).expect("clap checked the value"),
        compression: Compression::from_name(&cli.compression).expect("clap checked the value"),
    };
    let args = ProduceArgs {
        topic: cli.topic,
        key_separator: cli.key_separator.map(unescape),
        headers,
        partition: cli.partition,
        options,
    };
    let mut config = spool::tools::produce::producer_config(&cli.bootstrap_server, args.options);
    // As in Kafka's console tools, --bootstrap-server wins over bootstrap.servers.
    for (key, value) in without_bootstrap(client_properties(None, &cli.producer_properties)?) {
        config.set(&key, &value)?;
    }
    config.validate()?;
    let producer = Producer::connect(config).await?;
    let lines = spool::tools::produce::spawn_line_reader(std::io::BufReader::new(std::io::stdin()));
    spool::tools::produce::run(&producer, &args, lines).await?;
    Ok(())
}

async fn consume(cli: ConsumeCli) -> anyhow::Result<()> {
    let start = match cli.offset {
        Some(offset) => StartOffset::parse(&offset).map_err(anyhow::Error::msg)?,
        None if cli.from_beginning => StartOffset::Earliest,
        None => StartOffset::Latest,
    };
    let format = FormatOptions {
        print_key: cli.print_key,
        print_headers: cli.print_headers,
        key_separator: unescape(cli.key_separator),
    };
    let args = ConsumeArgs {
        topic: cli.topic,
        start,
        partition: cli.partition,
        max_messages: cli.max_messages,
        timeout: cli.timeout_ms.map(Duration::from_millis),
        format,
    };
    // Listen for Ctrl-C (SIGINT) from the start, so an early one still ends
    // the tool cleanly with its summary line.
    let mut interrupt = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())?;
    let stop = async move {
        interrupt.recv().await;
    };
    let mut config = spool::client::ConsumerConfig::default();
    if cli.from_beginning {
        config.set("auto.offset.reset", "earliest")?;
    }
    for (key, value) in
        without_bootstrap(client_properties(cli.consumer_config.as_deref(), &cli.consumer_properties)?)
    {
        config.set(&key, &value)?;
    }
    let mut consumer = spool::client::Consumer::connect(&cli.bootstrap_server, config).await?;
    let consumed =
        spool::tools::consume::run(&mut consumer, &args, &mut std::io::stdout().lock(), stop).await?;
    eprintln!("Processed a total of {consumed} messages");
    Ok(())
}

async fn groups(cli: GroupsCli) -> anyhow::Result<()> {
    let command = if cli.list {
        GroupsCommand::List
    } else if cli.describe && cli.members {
        GroupsCommand::DescribeMembers { groups: cli.group, verbose: cli.verbose }
    } else if cli.describe {
        GroupsCommand::DescribeOffsets(cli.group)
    } else {
        GroupsCommand::Delete(cli.group)
    };
    let mut client = Client::connect(&cli.bootstrap_server, REQUEST_TIMEOUT_DEFAULT).await?;
    spool::tools::groups::run(&mut client, command, &mut std::io::stdout().lock()).await?;
    Ok(())
}

/// `spool consume --group`: a group member that commits what it prints.
async fn consume_group(cli: ConsumeCli) -> anyhow::Result<()> {
    let mut config = spool::client::ConsumerConfig::default();
    // The tool commits exactly what it printed; auto commit would commit
    // positions past records a --max-messages stop never printed.
    config.set("enable.auto.commit", "false")?;
    if cli.from_beginning {
        config.set("auto.offset.reset", "earliest")?;
    }
    for (key, value) in
        without_bootstrap(client_properties(cli.consumer_config.as_deref(), &cli.consumer_properties)?)
    {
        config.set(&key, &value)?;
    }
    config.set("group.id", cli.group.as_deref().unwrap_or_default())?;
    let args = ConsumeArgs {
        topic: cli.topic,
        start: StartOffset::Latest,
        partition: None,
        max_messages: cli.max_messages,
        timeout: cli.timeout_ms.map(Duration::from_millis),
        format: FormatOptions {
            print_key: cli.print_key,
            print_headers: cli.print_headers,
            key_separator: unescape(cli.key_separator),
        },
    };
    let mut interrupt = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())?;
    let stop = async move {
        interrupt.recv().await;
    };
    let mut consumer = spool::client::GroupConsumer::connect(&cli.bootstrap_server, config).await?;
    let result =
        spool::tools::consume::run_group(&mut consumer, &args, &mut std::io::stdout().lock(), stop).await;
    let closed = consumer.close().await;
    let consumed = result?;
    closed?;
    eprintln!("Processed a total of {consumed} messages");
    Ok(())
}

async fn perf_produce(cli: PerfProduceCli) -> anyhow::Result<()> {
    let mut props = client_properties(cli.producer_config.as_deref(), &cli.producer_props)?;
    let bootstrap = perf_bootstrap(cli.bootstrap_server, &mut props);
    let mut producer = spool::client::producer::ProducerConfig::new(bootstrap);
    for (key, value) in props {
        producer.set(&key, &value)?;
    }
    producer.validate()?;
    let args = spool::tools::perf::produce::ProducePerfArgs {
        topic: cli.topic,
        num_records: cli.num_records,
        record_size: cli.record_size,
        throughput: cli.throughput,
        reporting_interval: Duration::from_millis(cli.reporting_interval.max(1)),
        producer,
    };
    spool::tools::perf::produce::run(&args, &mut std::io::stdout()).await?;
    Ok(())
}

async fn perf_consume(cli: PerfConsumeCli) -> anyhow::Result<()> {
    let mut consumer = spool::client::ConsumerConfig::default();
    consumer.fetch.partition_max_bytes = cli.fetch_size;
    let mut props = client_properties(cli.consumer_config.as_deref(), &cli.consumer_props)?;
    let bootstrap = perf_bootstrap(cli.bootstrap_server, &mut props);
    for (key, value) in props {
        consumer.set(&key, &value)?;
    }
    let args = spool::tools::perf::consume::ConsumePerfArgs {
        bootstrap,
        topic: cli.topic,
        messages: cli.messages,
        timeout: Duration::from_millis(cli.timeout),
        from_latest: cli.from_latest,
        reporting_interval: Duration::from_millis(cli.reporting_interval.max(1)),
        show_detailed_stats: cli.show_detailed_stats,
        hide_header: cli.hide_header,
        consumer,
    };
    let (mut out, mut err) = (std::io::stdout(), std::io::stderr());
    spool::tools::perf::consume::run(&args, &mut out, &mut err).await?;
    Ok(())
}

/// The perf tools' broker: `--bootstrap-server`, else the last
/// `bootstrap.servers` in the client properties (taken out of them), else the
/// default. Several comma-separated servers: the first.
fn perf_bootstrap(flag: Option<String>, props: &mut Vec<(String, String)>) -> String {
    let from_props = props.iter().rev().find(|(k, _)| k == "bootstrap.servers").map(|(_, v)| v.clone());
    props.retain(|(k, _)| k != "bootstrap.servers");
    let servers = flag.or(from_props).unwrap_or_else(|| BOOTSTRAP_DEFAULT.to_string());
    servers.split(',').map(str::trim).find(|s| !s.is_empty()).unwrap_or(BOOTSTRAP_DEFAULT).to_string()
}

/// Client properties less `bootstrap.servers`, for tools whose
/// `--bootstrap-server` always decides.
fn without_bootstrap(mut props: Vec<(String, String)>) -> Vec<(String, String)> {
    props.retain(|(k, _)| k != "bootstrap.servers");
    props
}

/// Client settings from a properties file, then `key=value` arguments (which win).
fn client_properties(
    file: Option<&std::path::Path>,
    pairs: &[String],
) -> anyhow::Result<Vec<(String, String)>> {
    let mut props: Vec<(String, String)> = match file {
        Some(path) => BrokerConfig::parse_properties(&std::fs::read_to_string(path)?)
            .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?
            .into_iter()
            .collect(),
        None => Vec::new(),
    };
    for pair in pairs {
        let (k, v) = pair.split_once('=').ok_or_else(|| anyhow::anyhow!("{pair:?}: expected key=value"))?;
        props.push((k.trim().to_string(), v.trim().to_string()));
    }
    Ok(props)
}

/// `\t` and `\n` typed on a command line mean a tab and a newline, as in
/// Kafka's `key.separator`.
fn unescape(s: String) -> String {
    s.replace("\\t", "\t").replace("\\n", "\n")
}

fn serve(properties: Option<PathBuf>, overrides: Vec<String>) -> anyhow::Result<()> {
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
    for key in ignored {
        tracing::warn!(key, "ignoring a setting spool does not use");
    }
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(config.listener).await?;
        let broker =
            Arc::new(tokio::task::block_in_place(|| Broker::open(config)).map_err(anyhow::Error::msg)?);
        tracing::info!(
            "listening on {} (node {}, cluster {}, log.dirs {})",
            listener.local_addr()?,
            broker.config.node_id,
            broker.cluster_id,
            broker.config.log_dir.display()
        );
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let ticker = {
            let broker = broker.clone();
            tokio::spawn(async move {
                let mut every = tokio::time::interval(Duration::from_secs(1));
                loop {
                    every.tick().await;
                    let broker = broker.clone();
                    if let Ok(Err(e)) = tokio::task::spawn_blocking(move || broker.tick()).await {
                        tracing::error!(error = %e, "log maintenance failed");
                    }
                }
            })
        };
        let server = tokio::spawn(spool::wire::server::serve(broker.clone(), listener, stopped));
        wait_for_signal().await?;
        tracing::info!("shutting down");
        let _ = stop.send(true);
        let _ = server.await;
        ticker.abort();
        tokio::task::block_in_place(|| broker.shutdown())?;
        tracing::info!("shut down cleanly");
        Ok(())
    })
}

async fn wait_for_signal() -> std::io::Result<()> {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        r = tokio::signal::ctrl_c() => r,
        _ = term.recv() => Ok(()),
    }
}
