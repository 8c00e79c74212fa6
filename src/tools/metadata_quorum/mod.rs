//! `spool metadata-quorum`: how the KRaft quorum is doing, as
//! `kafka-metadata-quorum.sh describe` prints it — asked of a controller
//! with DescribeQuorum (KIP-595, KIP-836), which the quorum's leader answers.
//!
//! ```text
//! $ spool metadata-quorum --bootstrap-controller 127.0.0.1:9093 describe --status
//! ClusterId:              q1VNBKrKQzaiVZkJ5vYrTg
//! LeaderId:               1
//! LeaderEpoch:            3
//! HighWatermark:          42
//! MaxFollowerLag:         0
//! MaxFollowerLagTimeMs:   0
//! CurrentVoters:          [{"id": 1, "directoryId": null}, …]
//! CurrentObservers:       [{"id": 4, "directoryId": null}]
//! $ spool metadata-quorum --bootstrap-controller 127.0.0.1:9093 describe --replication
//! NodeId  DirectoryId             LogEndOffset  Lag  LastFetchTimestamp  LastCaughtUpTimestamp  Status
//! 1       AAAAAAAAAAAAAAAAAAAAAA  42            0    1765000000000       1765000000000          Leader
//! …
//! ```
//!
//! The cluster id comes from DescribeCluster, as Kafka's admin client asks
//! it. The text is a pure function of the responses ([`format_status`],
//! [`format_replication`]), so that it is tested against Kafka's layout
//! without a cluster.
//!
//! A bootstrap list is tried in order until one address answers, as Kafka's
//! admin client does.
//!
//! Simplifications: no `add-controller`/`remove-controller` (a static voter
//! set), no `--command-config`. Kafka's brokers forward DescribeQuorum to the
//! controllers; spool's brokers do not, so `--bootstrap-server` says so and
//! points at `--bootstrap-controller`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write;

use kafka_protocol::messages::describe_quorum_request::{PartitionData, TopicData};
use kafka_protocol::messages::describe_quorum_response::ReplicaState;
use kafka_protocol::messages::{
    DescribeClusterRequest, DescribeQuorumRequest, DescribeQuorumResponse, TopicName,
};
use kafka_protocol::protocol::StrBytes;

use super::topics::kafka_uuid;
use crate::client::{now_ms, ClientError, Connection, REQUEST_TIMEOUT_DEFAULT};
use crate::metadata::METADATA_TOPIC;

/// `spool metadata-quorum`'s flags: kafka-metadata-quorum.sh's.
#[derive(Debug, Clone, clap::Args)]
#[command(group(clap::ArgGroup::new("connection").required(true).args(["bootstrap_server", "bootstrap_controller"])))]
pub struct MetadataQuorumArgs {
    /// Brokers to ask, HOST:PORT[,HOST:PORT…] (Kafka's brokers forward to the
    /// controllers; spool's do not, and the tool says to use --bootstrap-controller).
    #[arg(long, value_name = "HOST:PORT")]
    pub bootstrap_server: Option<String>,
    /// Controllers to ask, HOST:PORT[,HOST:PORT…]: the first that answers.
    #[arg(long, value_name = "HOST:PORT")]
    pub bootstrap_controller: Option<String>,
    #[command(subcommand)]
    pub command: QuorumCommand,
}

/// The sub-commands.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum QuorumCommand {
    /// Describe the metadata quorum info.
    Describe {
        /// A short summary of the quorum status.
        #[arg(long)]
        status: bool,
        /// Detailed information about the status of replication.
        #[arg(long)]
        replication: bool,
        /// Timestamps as "N ms ago" (with --replication).
        #[arg(long)]
        human_readable: bool,
    },
}

/// What the flags ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Describe {
    Status,
    Replication { human_readable: bool },
}

impl MetadataQuorumArgs {
    /// The one view asked for, with Kafka's messages for the wrong mixes.
    pub fn describe(&self) -> Result<Describe, ClientError> {
        let QuorumCommand::Describe { status, replication, human_readable } = self.command;
        let wrong = |m: &str| Err(ClientError::InvalidArgument(m.to_string()));
        match (status, replication) {
            (true, true) => {
                wrong("Only one of --status or --replication should be specified with describe sub-command")
            }
            (false, true) => Ok(Describe::Replication { human_readable }),
            (true, false) if human_readable => {
                wrong("The option --human-readable is only supported along with --replication")
            }
            (true, false) => Ok(Describe::Status),
            (false, false) => {
                wrong("One of --status or --replication must be specified with describe sub-command")
            }
        }
    }
}

/// A connection to the first address of a comma-separated list that
/// accepts one; every address refused → the last one's error.
async fn connect_first(addrs: &str) -> Result<Connection, ClientError> {
    let mut last = ClientError::InvalidArgument(format!("no address in {addrs:?}"));
    for addr in addrs.split(',').map(str::trim).filter(|a| !a.is_empty()) {
        match Connection::connect(addr, REQUEST_TIMEOUT_DEFAULT).await {
            Ok(connection) => return Ok(connection),
            Err(e) => last = e,
        }
    }
    Err(last)
}

/// Runs the tool against the addresses given, printing to stdout.
pub async fn main(args: MetadataQuorumArgs) -> Result<(), ClientError> {
    let describe = args.describe()?;
    let (addrs, controller) = match (&args.bootstrap_controller, &args.bootstrap_server) {
        (Some(c), _) => (c, true),
        (None, Some(s)) => (s, false),
        (None, None) => {
            return Err(ClientError::InvalidArgument("--bootstrap-controller is required".into()))
        }
    };
    let mut connection = connect_first(addrs).await?;
    let bootstrap = connection.addr().to_string();
    // KIP-919: a controller describes the controllers (endpoint type 2) and
    // names the active one, which alone answers DescribeQuorum.
    let cluster = if controller {
        let cluster = connection.send(&DescribeClusterRequest::default().with_endpoint_type(2)).await?;
        ClientError::check(cluster.error_code, cluster.error_message.clone().map(|m| m.to_string()), || {
            format!("DescribeCluster to {bootstrap}")
        })?;
        let active = cluster.brokers.iter().find(|b| b.broker_id == cluster.controller_id);
        if let Some(active) = active {
            let addr = format!("{}:{}", active.host, active.port);
            if addr != connection.addr() {
                connection = Connection::connect(&addr, REQUEST_TIMEOUT_DEFAULT).await?;
            }
        }
        Some(cluster)
    } else {
        None
    };
    let addr = connection.addr().to_string();
    let response = match connection.send(&describe_quorum_request()).await {
        Err(ClientError::UnsupportedVersion { .. }) if !controller => {
            return Err(ClientError::InvalidArgument(format!(
                "the broker at {addr} does not answer DescribeQuorum (spool's brokers do not forward it to \
                 the controllers); use --bootstrap-controller HOST:PORT with a controller's address"
            )))
        }
        Err(ClientError::UnsupportedVersion { .. }) => {
            return Err(ClientError::InvalidArgument(format!(
                "the node at {addr} does not answer DescribeQuorum: is it a controller (its CONTROLLER listener)?"
            )))
        }
        other => other?,
    };
    let text = match describe {
        Describe::Status => {
            let cluster = match cluster {
                Some(cluster) => cluster,
                None => {
                    let cluster =
                        connection.send(&DescribeClusterRequest::default().with_endpoint_type(1)).await?;
                    ClientError::check(
                        cluster.error_code,
                        cluster.error_message.clone().map(|m| m.to_string()),
                        || format!("DescribeCluster to {addr}"),
                    )?;
                    cluster
                }
            };
            format_status(&cluster.cluster_id, &response)?
        }
        Describe::Replication { human_readable } => {
            format_replication(&response, human_readable.then(now_ms))?
        }
    };
    std::io::stdout().lock().write_all(text.as_bytes())?;
    Ok(())
}

/// DescribeQuorum of `__cluster_metadata-0`.
pub fn describe_quorum_request() -> DescribeQuorumRequest {
    DescribeQuorumRequest::default().with_topics(vec![TopicData::default()
        .with_topic_name(TopicName(StrBytes::from_static_str(METADATA_TOPIC)))
        .with_partitions(vec![PartitionData::default().with_partition_index(0)])])
}

/// What the admin client makes of a DescribeQuorum answer (Kafka's `QuorumInfo`).
struct QuorumInfo<'a> {
    leader_id: i32,
    leader_epoch: i32,
    high_watermark: i64,
    voters: &'a [ReplicaState],
    observers: &'a [ReplicaState],
    /// Each node's endpoints, `NAME://host:port` (v2).
    endpoints: BTreeMap<i32, Vec<String>>,
}

impl<'a> QuorumInfo<'a> {
    /// The answer's one partition, after the admin client's checks.
    fn from_response(response: &'a DescribeQuorumResponse) -> Result<Self, ClientError> {
        let message = |m: &Option<StrBytes>| m.as_ref().map(|m| m.to_string());
        ClientError::check(response.error_code, message(&response.error_message), || {
            "DescribeQuorum".into()
        })?;
        let [topic] = response.topics.as_slice() else {
            return Err(ClientError::Protocol("DescribeQuorum: expected one topic in the answer".into()));
        };
        let [partition] = topic.partitions.as_slice() else {
            return Err(ClientError::Protocol("DescribeQuorum: expected one partition in the answer".into()));
        };
        if topic.topic_name.0.as_str() != METADATA_TOPIC || partition.partition_index != 0 {
            return Err(ClientError::Protocol(format!(
                "DescribeQuorum: the answer is about {}-{}",
                topic.topic_name.0.as_str(),
                partition.partition_index
            )));
        }
        ClientError::check(partition.error_code, message(&partition.error_message), || {
            "DescribeQuorum".into()
        })?;
        let endpoints = response.nodes.iter().map(|n| {
            let listeners = n.listeners.iter().map(|l| {
                // Kafka's RaftVoterEndpoint: IPv6 hosts in brackets.
                let host = l.host.as_str();
                let host = if host.contains(':') { format!("[{host}]") } else { host.to_string() };
                format!("{}://{host}:{}", l.name.as_str(), l.port)
            });
            (n.node_id.0, listeners.collect())
        });
        Ok(QuorumInfo {
            leader_id: partition.leader_id.0,
            leader_epoch: partition.leader_epoch,
            high_watermark: partition.high_watermark,
            voters: &partition.current_voters,
            observers: &partition.observers,
            endpoints: endpoints.collect(),
        })
    }

    fn leader(&self) -> Result<&'a ReplicaState, ClientError> {
        self.voters.iter().find(|v| v.replica_id.0 == self.leader_id).ok_or_else(|| {
            ClientError::Protocol(format!(
                "DescribeQuorum: the leader {} is not among the voters",
                self.leader_id
            ))
        })
    }

    /// `[{"id": 1, "directoryId": null, "endpoints": ["CONTROLLER://…"]}, …]`
    fn replicas(&self, replicas: &[ReplicaState]) -> String {
        let one = |r: &ReplicaState| {
            let dir = r.replica_directory_id;
            let dir = if dir.is_nil() { "null".to_string() } else { format!("\"{}\"", kafka_uuid(dir)) };
            let mut s = format!("{{\"id\": {}, \"directoryId\": {dir}", r.replica_id.0);
            match self.endpoints.get(&r.replica_id.0) {
                Some(endpoints) if !endpoints.is_empty() => {
                    let quoted: Vec<String> = endpoints.iter().map(|e| format!("\"{e}\"")).collect();
                    write!(s, ", \"endpoints\": [{}]", quoted.join(", ")).expect("a String takes any write");
                }
                _ => {}
            }
            s + "}"
        };
        format!("[{}]", replicas.iter().map(one).collect::<Vec<_>>().join(", "))
    }
}

// ANCHOR: format_status
/// `describe --status`: Kafka's eight labelled lines. The most lagging
/// voter is the one with the smallest log end offset; its lag in time is how
/// long after the leader it last caught up (-1 if either is unknown).
pub fn format_status(cluster_id: &str, response: &DescribeQuorumResponse) -> Result<String, ClientError> {
    let info = QuorumInfo::from_response(response)?;
    let leader = info.leader()?;
    let laggard = info.voters.iter().min_by_key(|v| v.log_end_offset).unwrap_or(leader);
    let lag = leader.log_end_offset - laggard.log_end_offset;
    let lag_time_ms = if std::ptr::eq(laggard, leader) {
        0
    } else if leader.last_caught_up_timestamp != -1 && laggard.last_caught_up_timestamp != -1 {
        leader.last_caught_up_timestamp - laggard.last_caught_up_timestamp
    } else {
        -1
    };
    Ok(format!(
        "ClusterId:              {cluster_id}\n\
         LeaderId:               {}\n\
         LeaderEpoch:            {}\n\
         HighWatermark:          {}\n\
         MaxFollowerLag:         {lag}\n\
         MaxFollowerLagTimeMs:   {lag_time_ms}\n\
         CurrentVoters:          {}\n\
         CurrentObservers:       {}\n",
        info.leader_id,
        info.leader_epoch,
        info.high_watermark,
        info.replicas(info.voters),
        info.replicas(info.observers),
    ))
}
// ANCHOR_END: format_status

/// `describe --replication`: one row per replica — the leader, the other
/// voters, then the observers — in Kafka's padded, tab-separated table.
/// With `human_readable_now_ms`, timestamps print as "N ms ago" from then.
pub fn format_replication(
    response: &DescribeQuorumResponse,
    human_readable_now_ms: Option<i64>,
) -> Result<String, ClientError> {
    let info = QuorumInfo::from_response(response)?;
    let leader = info.leader()?;
    let followers = info.voters.iter().filter(|v| v.replica_id.0 != info.leader_id);
    let stamp = |ms: i64, what: &str| match human_readable_now_ms {
        _ if ms == -1 => Ok("-1".to_string()),
        None => Ok(ms.to_string()),
        Some(now_ms) if ms > 0 && ms <= now_ms => Ok(format!("{} ms ago", now_ms - ms)),
        Some(now_ms) => Err(ClientError::Protocol(format!(
            "Error while computing relative time, possible drift in system clock.\n\
             Current timestamp is {now_ms}, {what} timestamp is {ms}"
        ))),
    };
    let row = |r: &ReplicaState, status: &str| -> Result<Vec<String>, ClientError> {
        Ok(vec![
            r.replica_id.0.to_string(),
            kafka_uuid(r.replica_directory_id),
            r.log_end_offset.to_string(),
            (leader.log_end_offset - r.log_end_offset).to_string(),
            stamp(r.last_fetch_timestamp, "last fetch")?,
            stamp(r.last_caught_up_timestamp, "last caught up")?,
            status.to_string(),
        ])
    };
    let mut rows = vec![row(leader, "Leader")?];
    for r in followers {
        rows.push(row(r, "Follower")?);
    }
    for r in info.observers {
        rows.push(row(r, "Observer")?);
    }
    let headers = [
        "NodeId",
        "DirectoryId",
        "LogEndOffset",
        "Lag",
        "LastFetchTimestamp",
        "LastCaughtUpTimestamp",
        "Status",
    ];
    Ok(pretty_table(&headers, &rows))
}

/// Kafka's `ToolsUtils.prettyPrintTable`: each cell padded to its column's
/// widest, each followed by a tab.
fn pretty_table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.len()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.len());
        }
    }
    let mut out = String::new();
    let header: Vec<String> = headers.iter().map(|h| h.to_string()).collect();
    for row in std::iter::once(&header).chain(rows) {
        for (cell, w) in row.iter().zip(&widths) {
            write!(out, "{cell:<w$}\t").expect("a String takes any write");
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests;
