//! `spool transactions`: list and describe transactions, the producers a
//! partition remembers, and find or abort hanging transactions, as
//! `kafka-transactions.sh` does (KIP-664) — through the requests in
//! [`crate::client::transactions`].
//!
//! ```text
//! $ spool transactions --bootstrap-server 127.0.0.1:9092 list
//! TransactionalId Coordinator     ProducerId      TransactionState
//! payments        1               3000            Ongoing
//! billing         1               3001            CompleteCommit
//!
//! $ spool transactions describe --transactional-id payments
//! CoordinatorId   TransactionalId ProducerId      ProducerEpoch   TransactionState  …  TopicPartitions
//! 1               payments        3000            0               Ongoing           …  orders-0,orders-1
//! ```
//!
//! Every table is Kafka's `ToolsUtils.prettyPrintTable`: each cell padded to
//! its column's widest value (header included) and followed by a tab (shown
//! above as a terminal expands the tabs).
//!
//! A *hanging* transaction (`find-hanging`) is one a partition's leader holds
//! open — it pins the last stable offset, so read_committed consumers stop
//! there — but whose coordinator will never finish: its producer id belongs
//! to no transactional id, or the id's current transaction does not name the
//! partition. Only transactions older than `--max-transaction-timeout` are
//! candidates (younger ones may still be finished). `abort` then writes the
//! ABORT marker the coordinator never sent.
//!
//! Simplifications: `find-hanging` searches the partitions `--broker-id`
//! *leads* (Kafka's asks every replica), and `abort` takes the transaction
//! by `--producer-id`/`--producer-epoch`/`--coordinator-epoch` or by
//! `--start-offset`, as Kafka's does. No `--command-config`.

use std::collections::BTreeMap;
use std::io::Write;

use super::bootstrap_servers;
use crate::client::{
    now_ms, AbortSpec, Client, ClientError, ProducerState, TransactionDescription, REQUEST_TIMEOUT_DEFAULT,
};
use crate::TopicPartition;

/// `spool transactions`' flags: kafka-transactions.sh's subcommands, and
/// `--list` / `--describe` for the issue's spelling.
#[derive(Debug, Clone, clap::Args)]
#[command(group(clap::ArgGroup::new("action").args(["list", "describe"])))]
pub struct TransactionsArgs {
    /// Where to connect (default 127.0.0.1:9092).
    #[arg(long, global = true, value_name = "HOST:PORT")]
    pub bootstrap_server: Option<String>,
    #[command(subcommand)]
    pub command: Option<TransactionsCommand>,
    /// The same as the `list` subcommand.
    #[arg(long)]
    pub list: bool,
    /// The same as the `describe` subcommand (with --transactional-id).
    #[arg(long, requires = "transactional_id")]
    pub describe: bool,
    /// With --describe: the transactional id.
    #[arg(long, requires = "describe")]
    pub transactional_id: Option<String>,
}

/// What `spool transactions` was asked to do.
#[derive(Debug, Clone, PartialEq, Eq, clap::Subcommand)]
pub enum TransactionsCommand {
    /// List transactions, from every broker.
    List {
        /// Only transactions running longer than this many milliseconds (< 0: all).
        #[arg(long, value_name = "MS")]
        duration_filter: Option<i64>,
    },
    /// Describe the state of an active transactional id, from its coordinator.
    Describe {
        #[arg(long)]
        transactional_id: String,
    },
    /// Describe the states of active producers for a topic partition, from its leader.
    DescribeProducers {
        #[arg(long)]
        topic: String,
        #[arg(long)]
        partition: i32,
    },
    /// Find hanging transactions on the partitions a broker leads.
    FindHanging {
        #[arg(long)]
        broker_id: i32,
        /// Only transactions older than this many minutes are candidates.
        #[arg(long, default_value_t = 15, value_name = "MINUTES")]
        max_transaction_timeout: i64,
    },
    /// Abort a hanging transaction: an ABORT marker to the partition's leader.
    Abort {
        #[arg(long)]
        topic: String,
        #[arg(long)]
        partition: i32,
        /// The transaction's first offset (looked up with DescribeProducers).
        #[arg(long, conflicts_with = "producer_id")]
        start_offset: Option<i64>,
        #[arg(long, requires_all = ["producer_epoch", "coordinator_epoch"])]
        producer_id: Option<i64>,
        #[arg(long)]
        producer_epoch: Option<i16>,
        #[arg(long)]
        coordinator_epoch: Option<i32>,
    },
}

impl TransactionsArgs {
    /// The one command the flags ask for: a subcommand, or its flag alias.
    pub fn command(&self) -> Result<TransactionsCommand, ClientError> {
        match (&self.command, self.list, &self.transactional_id) {
            (Some(_), true, _) | (Some(_), _, Some(_)) => Err(ClientError::InvalidArgument(
                "--list and --describe stand for the list and describe commands: give one or the other"
                    .into(),
            )),
            (Some(command), _, _) => Ok(command.clone()),
            (None, true, _) => Ok(TransactionsCommand::List { duration_filter: None }),
            (None, false, Some(id)) => Ok(TransactionsCommand::Describe { transactional_id: id.clone() }),
            (None, false, None) => Err(ClientError::InvalidArgument(
                "name a command: list, describe, describe-producers, find-hanging or abort".into(),
            )),
        }
    }
}

/// `spool transactions`: connects, runs the command, prints to stdout.
pub async fn main(args: TransactionsArgs) -> Result<(), ClientError> {
    let command = args.command()?;
    let bootstrap = bootstrap_servers(args.bootstrap_server.as_deref(), &[]);
    let mut client = Client::connect(&bootstrap, REQUEST_TIMEOUT_DEFAULT).await?;
    run(&mut client, command, &mut std::io::stdout().lock()).await
}

/// Runs one command, writing what kafka-transactions.sh would print to `out`.
pub async fn run(
    client: &mut Client,
    command: TransactionsCommand,
    out: &mut impl Write,
) -> Result<(), ClientError> {
    let table = match command {
        TransactionsCommand::List { duration_filter } => {
            let mut rows = Vec::new();
            for (broker, listings) in client.list_transactions(duration_filter).await? {
                for l in listings {
                    let row = [l.transactional_id, broker.to_string(), l.producer_id.to_string(), l.state];
                    rows.push(row.to_vec());
                }
            }
            format_table(&LIST_HEADERS, &rows)
        }
        TransactionsCommand::Describe { transactional_id } => {
            let description = client.describe_transaction(&transactional_id).await.map_err(|e| {
                failed(
                    format!("Failed to describe transaction state of transactional-id `{transactional_id}`"),
                    e,
                )
            })?;
            format_table(&DESCRIBE_HEADERS, &[describe_row(&description, now_ms())])
        }
        TransactionsCommand::DescribeProducers { topic, partition } => {
            let tp = TopicPartition::new(topic, partition);
            let producers = client.describe_producers(&tp).await.map_err(|e| {
                failed(format!("Failed to describe producers for partition {tp} on leader"), e)
            })?;
            let rows: Vec<Vec<String>> = producers.iter().map(producer_row).collect();
            format_table(&PRODUCER_HEADERS, &rows)
        }
        TransactionsCommand::FindHanging { broker_id, max_transaction_timeout } => {
            let hanging = find_hanging(client, broker_id, max_transaction_timeout * 60_000).await?;
            let now = now_ms();
            let rows: Vec<Vec<String>> = hanging.iter().map(|(tp, p)| hanging_row(tp, p, now)).collect();
            format_table(&HANGING_HEADERS, &rows)
        }
        TransactionsCommand::Abort {
            topic,
            partition,
            start_offset,
            producer_id,
            producer_epoch,
            coordinator_epoch,
        } => {
            let tp = TopicPartition::new(topic, partition);
            let spec = match (start_offset, producer_id, producer_epoch, coordinator_epoch) {
                (Some(offset), ..) => abort_spec_at(client, &tp, offset).await?,
                (None, Some(producer_id), Some(producer_epoch), Some(coordinator_epoch)) => AbortSpec {
                    partition: tp,
                    producer_id,
                    producer_epoch,
                    // A transaction hanging since before its producer's first
                    // marker shows -1; 0 is at or below any leader's.
                    coordinator_epoch: coordinator_epoch.max(0),
                },
                _ => {
                    return Err(ClientError::InvalidArgument(
                        "The transaction to abort must be identified either with --start-offset or with \
                         --producer-id, --producer-epoch, and --coordinator-epoch"
                            .into(),
                    ))
                }
            };
            client
                .abort_transaction(&spec)
                .await
                .map_err(|e| failed(format!("Failed to abort transaction {spec:?}"), e))?;
            String::new()
        }
    };
    write!(out, "{table}")?;
    Ok(())
}

/// Kafka's wording for a failed command, with the cause after it.
fn failed(what: String, cause: ClientError) -> ClientError {
    ClientError::InvalidArgument(format!("{what}: {cause}"))
}

/// `list`'s columns.
pub const LIST_HEADERS: [&str; 4] = ["TransactionalId", "Coordinator", "ProducerId", "TransactionState"];

/// `describe`'s columns.
pub const DESCRIBE_HEADERS: [&str; 9] = [
    "CoordinatorId",
    "TransactionalId",
    "ProducerId",
    "ProducerEpoch",
    "TransactionState",
    "TransactionTimeoutMs",
    "CurrentTransactionStartTimeMs",
    "TransactionDurationMs",
    "TopicPartitions",
];

/// `describe-producers`' columns.
pub const PRODUCER_HEADERS: [&str; 6] = [
    "ProducerId",
    "ProducerEpoch",
    "LatestCoordinatorEpoch",
    "LastSequence",
    "LastTimestamp",
    "CurrentTransactionStartOffset",
];

/// `find-hanging`'s columns.
pub const HANGING_HEADERS: [&str; 8] = [
    "Topic",
    "Partition",
    "ProducerId",
    "ProducerEpoch",
    "CoordinatorEpoch",
    "StartOffset",
    "LastTimestamp",
    "Duration(min)",
];

/// A `describe` row at `now_ms`: the duration is how long the open
/// transaction has run; `None` when none is open.
pub fn describe_row(d: &TransactionDescription, now_ms: i64) -> Vec<String> {
    let none = || "None".to_string();
    let partitions: Vec<String> = d.partitions.iter().map(TopicPartition::to_string).collect();
    vec![
        d.coordinator_id.to_string(),
        d.transactional_id.clone(),
        d.producer_id.to_string(),
        d.producer_epoch.to_string(),
        d.state.clone(),
        d.transaction_timeout_ms.to_string(),
        d.transaction_start_time_ms.map_or_else(none, |t| t.to_string()),
        d.transaction_start_time_ms.map_or_else(none, |t| (now_ms - t).to_string()),
        partitions.join(","),
    ]
}

/// A `describe-producers` row.
pub fn producer_row(p: &ProducerState) -> Vec<String> {
    vec![
        p.producer_id.to_string(),
        p.producer_epoch.to_string(),
        p.coordinator_epoch.to_string(),
        p.last_sequence.to_string(),
        p.last_timestamp_ms.to_string(),
        p.current_txn_start_offset.map_or_else(|| "None".to_string(), |o| o.to_string()),
    ]
}

fn hanging_row(tp: &TopicPartition, p: &ProducerState, now_ms: i64) -> Vec<String> {
    vec![
        tp.topic.clone(),
        tp.partition.to_string(),
        p.producer_id.to_string(),
        p.producer_epoch.to_string(),
        p.coordinator_epoch.to_string(),
        p.current_txn_start_offset.unwrap_or(-1).to_string(),
        p.last_timestamp_ms.to_string(),
        ((now_ms - p.last_timestamp_ms) / 60_000).to_string(),
    ]
}

// ANCHOR: format_table
/// Kafka's `ToolsUtils.prettyPrintTable`: every cell padded to its column's
/// widest value (the header included), each followed by a tab.
pub fn format_table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.len()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.len());
        }
    }
    let line = |cells: &mut dyn Iterator<Item = &str>| {
        let mut line: String = cells.zip(&widths).map(|(cell, &w)| format!("{cell:w$}\t")).collect();
        line.push('\n');
        line
    };
    let mut out = line(&mut headers.iter().copied());
    for row in rows {
        out.push_str(&line(&mut row.iter().map(String::as_str)));
    }
    out
}
// ANCHOR_END: format_table

/// `abort --start-offset`: the producer whose open transaction on `tp`
/// starts there, as DescribeProducers reports it.
async fn abort_spec_at(
    client: &mut Client,
    tp: &TopicPartition,
    offset: i64,
) -> Result<AbortSpec, ClientError> {
    let producers = client
        .describe_producers(tp)
        .await
        .map_err(|e| failed(format!("Failed to validate producer state for partition {tp}"), e))?;
    let Some(p) = producers.iter().find(|p| p.current_txn_start_offset == Some(offset)) else {
        return Err(ClientError::InvalidArgument(format!(
            "Could not find any open transactions starting at offset {offset} on partition {tp}"
        )));
    };
    Ok(AbortSpec {
        partition: tp.clone(),
        producer_id: p.producer_id,
        producer_epoch: p.producer_epoch as i16,
        coordinator_epoch: p.coordinator_epoch.max(0),
    })
}

// ANCHOR: find_hanging
/// The open transactions on the partitions `broker_id` leads that are older
/// than `max_timeout_ms` and that no coordinator will finish: their producer
/// id is no transactional id's (ListTransactions), or the id's current
/// transaction (DescribeTransactions) does not name the partition.
async fn find_hanging(
    client: &mut Client,
    broker_id: i32,
    max_timeout_ms: i64,
) -> Result<Vec<(TopicPartition, ProducerState)>, ClientError> {
    let metadata = client.metadata(None, false).await?;
    let now = now_ms();
    let mut candidates = Vec::new();
    for topic in &metadata.topics {
        for p in topic.partitions.iter().filter(|p| p.leader == broker_id) {
            let tp = TopicPartition::new(topic.name.as_str(), p.partition);
            for producer in client.describe_producers(&tp).await? {
                let open = producer.current_txn_start_offset.is_some();
                if open && now - producer.last_timestamp_ms >= max_timeout_ms {
                    candidates.push((tp.clone(), producer));
                }
            }
        }
    }
    if candidates.is_empty() {
        return Ok(candidates);
    }
    let ids: BTreeMap<i64, String> = (client.list_transactions(None).await?.into_values())
        .flatten()
        .map(|l| (l.producer_id, l.transactional_id))
        .collect();
    let mut hanging = Vec::new();
    for (tp, producer) in candidates {
        let finishing = match ids.get(&producer.producer_id) {
            Some(id) => client.describe_transaction(id).await.is_ok_and(|d| d.partitions.contains(&tp)),
            None => false,
        };
        if !finishing {
            hanging.push((tp, producer));
        }
    }
    Ok(hanging)
}
// ANCHOR_END: find_hanging

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    /// kafka-transactions.sh prints every cell padded to its column's widest
    /// value — the header counts — and a tab after each, the last included
    /// (`ToolsUtils.prettyPrintTable`).
    #[test]
    fn tables_pad_each_column_and_end_cells_with_a_tab() {
        let rows = vec![
            vec!["a-long-transactional-id".to_string(), "1".into(), "7".into(), "Ongoing".into()],
            vec!["b".to_string(), "12".into(), "8".into(), "CompleteCommit".into()],
        ];
        let text = format_table(&LIST_HEADERS, &rows);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "TransactionalId        \tCoordinator\tProducerId\tTransactionState\t");
        assert_eq!(lines[1], "a-long-transactional-id\t1          \t7         \tOngoing         \t");
        assert_eq!(lines[2], "b                      \t12         \t8         \tCompleteCommit  \t");
        assert_eq!(
            format_table(&LIST_HEADERS, &[]),
            "TransactionalId\tCoordinator\tProducerId\tTransactionState\t\n"
        );
    }

    /// `describe` says `None` for the start time and duration when no
    /// transaction is open, and the duration is now − start when one is.
    #[test]
    fn describe_rows_show_the_open_transactions_age() {
        let mut d = TransactionDescription {
            coordinator_id: 1,
            transactional_id: "tx".into(),
            producer_id: 5,
            producer_epoch: 2,
            state: "Ongoing".into(),
            transaction_timeout_ms: 60_000,
            transaction_start_time_ms: Some(1_000),
            partitions: vec![TopicPartition::new("t", 0), TopicPartition::new("t", 1)],
        };
        assert_eq!(
            describe_row(&d, 1_250),
            ["1", "tx", "5", "2", "Ongoing", "60000", "1000", "250", "t-0,t-1"]
        );
        d.transaction_start_time_ms = None;
        d.partitions.clear();
        assert_eq!(describe_row(&d, 1_250)[6..], ["None", "None", ""]);
    }

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: TransactionsArgs,
    }

    fn parse(args: &[&str]) -> Result<TransactionsCommand, String> {
        let cli = Cli::try_parse_from([&["spool"], args].concat()).map_err(|e| e.to_string())?;
        cli.args.command().map_err(|e| e.to_string())
    }

    /// Kafka's subcommand form and the `--list` / `--describe` aliases name
    /// the same commands; `--bootstrap-server` goes before or after the
    /// subcommand; a half-named abort is refused.
    #[test]
    fn subcommands_and_their_flag_aliases_parse_alike() {
        let list = TransactionsCommand::List { duration_filter: None };
        assert_eq!(parse(&["--bootstrap-server", "h:1", "list"]), Ok(list.clone()));
        assert_eq!(parse(&["list", "--bootstrap-server", "h:1"]), Ok(list.clone()));
        assert_eq!(parse(&["--list"]), Ok(list));
        let describe = TransactionsCommand::Describe { transactional_id: "tx".into() };
        assert_eq!(parse(&["describe", "--transactional-id", "tx"]), Ok(describe.clone()));
        assert_eq!(parse(&["--describe", "--transactional-id", "tx"]), Ok(describe));
        assert!(parse(&["--describe"]).is_err());
        assert!(parse(&[]).is_err());
        assert!(parse(&["--list", "list"]).is_err());
        assert!(parse(&["abort", "--topic", "t", "--partition", "0", "--producer-id", "3"]).is_err());
        let by_offset = parse(&["abort", "--topic", "t", "--partition", "0", "--start-offset", "4"]).unwrap();
        assert!(matches!(by_offset, TransactionsCommand::Abort { start_offset: Some(4), .. }));
    }
}
