//! A spool process, by its `process.roles` (Kafka's `KafkaRaftServer`):
//!
//! ```text
//!  (no process.roles)   standalone: one broker that is its own controller, in process
//!  controller           the metadata log and the CONTROLLER listener   (controller.rs)
//!  broker               partitions, clients, and the lifecycle tasks    (lifecycle.rs)
//!                       that register with the controller and fetch the metadata
//!  broker,controller    both in one process (Kafka's combined mode)
//! ```
//!
//! Every listener in `listeners` is bound: the controller listeners
//! (`controller.listener.names`) serve the controller's APIs, the others the
//! broker's. SIGTERM or Ctrl-C stops the process cleanly: a broker in a
//! cluster first hands its leaderships over (controlled shutdown).

pub mod controller;
pub mod lifecycle;
#[cfg(test)]
mod lifecycle_tests;
pub mod quorum;

use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use kafka_protocol::messages::AlterUserScramCredentialsRequest;

use crate::broker::{meta_properties, Broker};
use crate::config::{BrokerConfig, ProcessRoles};
use crate::controller::scram::bootstrap::{self, AddScram};
use crate::metadata::{QuorumLog, METADATA_TOPIC};
use crate::wire::server::Endpoint;
use controller::ControllerNode;
use quorum::{MetadataQuorum, QuorumTimeouts};

/// How long a stopping broker waits for the controller to move its
/// leaderships away before it stops anyway.
const CONTROLLED_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(10);

/// Runs the process until SIGTERM or Ctrl-C. Call from a multi-threaded runtime.
/// `add_scram` are the first SCRAM users, written only if the metadata log is
/// new ([`crate::controller::scram::bootstrap`]).
pub async fn run(config: BrokerConfig, add_scram: Vec<AddScram>) -> anyhow::Result<()> {
    let bootstrap = bootstrap::request(&add_scram);
    // Refused here, before anything starts, as the format tool would refuse it.
    bootstrap::records(&Default::default(), &bootstrap).map_err(anyhow::Error::msg)?;
    let (stop, stopped) = watch::channel(false);
    let mut tasks: Vec<JoinHandle<()>> = Vec::new();
    let mut servers: Vec<JoinHandle<()>> = Vec::new();
    let mut controller_node = None;
    if matches!(config.process_roles, ProcessRoles::Controller | ProcessRoles::Combined) {
        let node = Arc::new(tokio::task::block_in_place(|| open_controller(&config, bootstrap.clone()))?);
        for listener in config.listeners.iter().filter(|l| is_controller_listener(&config, &l.name)) {
            let endpoint = endpoint(&config, listener, None).map_err(anyhow::Error::msg)?;
            let socket = bind(&listener.bind_addr().map_err(anyhow::Error::msg)?).await?;
            tracing::info!(
                "controller listening on {} (node {}, cluster {})",
                socket.local_addr()?,
                config.node_id,
                node.cluster_id
            );
            let serve = crate::wire::server::serve_listener(node.clone(), socket, endpoint, stopped.clone());
            servers.push(tokio::spawn(serve));
        }
        let ticking = node.clone();
        tasks.push(tokio::spawn(async move {
            let mut every = tokio::time::interval(Duration::from_millis(250));
            loop {
                every.tick().await;
                let node = ticking.clone();
                let _ = tokio::task::spawn_blocking(move || node.tick()).await;
            }
        }));
        controller_node = Some(node);
    }
    let mut broker = None;
    if config.process_roles != ProcessRoles::Controller {
        let opened = Arc::new(
            tokio::task::block_in_place(|| Broker::open(config.clone())).map_err(anyhow::Error::msg)?,
        );
        if config.process_roles == ProcessRoles::Standalone {
            tokio::task::block_in_place(|| bootstrap_standalone(&opened, &bootstrap))?;
        }
        for listener in config.listeners.iter().filter(|l| !is_controller_listener(&config, &l.name)) {
            let socket = bind(&listener.bind_addr().map_err(anyhow::Error::msg)?).await?;
            // "PLAINTEXT" for a listener named after its protocol, else "CLIENT, SASL_SSL".
            let protocol = listener.protocol.to_string();
            let kind = match listener.name == protocol {
                true => protocol,
                false => format!("{}, {protocol}", listener.name),
            };
            tracing::info!(
                "listening on {} ({kind}; node {}, cluster {}, log.dirs {})",
                socket.local_addr()?,
                opened.config.node_id,
                opened.cluster_id,
                opened.config.log_dir.display()
            );
            let scram = Arc::new(crate::broker::scram::ImageScramCredentials(Arc::downgrade(&opened)));
            let endpoint = endpoint(&opened.config, listener, Some(scram)).map_err(anyhow::Error::msg)?;
            servers.push(tokio::spawn(crate::wire::server::serve_listener(
                opened.clone(),
                socket,
                endpoint,
                stopped.clone(),
            )));
        }
        tasks.push(spawn_ticker(opened.clone()));
        // Chapter 10: compacted topics keep each key's latest record.
        opened.start_cleaner()?;
        // Groups loaded from the log (at start, or when this broker becomes a
        // coordinator) expire their silent members without waiting for a request.
        opened.start_group_timer();
        // Transactions found prepared in the log get their markers, and
        // timed-out ones are aborted, without waiting for a request either.
        opened.start_transaction_timer();
        if config.process_roles != ProcessRoles::Standalone {
            tasks.extend(start_lifecycle(&opened).await?);
        }
        broker = Some(opened);
    }
    wait_for_signal().await?;
    tracing::info!("shutting down");
    if let Some(broker) = &broker {
        broker.controlled_shutdown(CONTROLLED_SHUTDOWN_TIMEOUT).await;
    }
    let _ = stop.send(true);
    for server in servers {
        let _ = server.await;
    }
    for task in &tasks {
        task.abort();
    }
    if let Some(broker) = broker {
        tokio::task::block_in_place(|| broker.shutdown())?;
    }
    if let Some(node) = controller_node {
        // Hand the leadership over at once rather than after a fetch timeout:
        // give the EndQuorumEpoch requests a moment to leave.
        node.quorum.resign();
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tracing::info!("shut down cleanly");
    Ok(())
}

/// What the wire server needs to know of a listener (chapter 11): its name;
/// its TLS configuration if it is SSL or SASL_SSL; where its connections' SASL
/// sessions come from if it is SASL_PLAINTEXT or SASL_SSL (each connection
/// authenticates before the broker answers it). SCRAM logins are checked
/// against `scram`: the broker's metadata image, read at each login
/// (issue 19); a controller listener has none yet, so it offers PLAIN only.
fn endpoint(
    config: &BrokerConfig,
    listener: &crate::config::Listener,
    scram: Option<Arc<dyn crate::security::sasl::ScramCredentials>>,
) -> Result<Endpoint, String> {
    use crate::security::sasl;
    let protocol = listener.protocol.as_str();
    let tls = match protocol {
        "SSL" | "SASL_SSL" => Some(config.tls_server_config(&listener.name)?),
        _ => None,
    };
    let sessions: Option<Arc<dyn crate::wire::handler::Sessions>> = match protocol {
        "SASL_PLAINTEXT" | "SASL_SSL" => {
            let sasl_listener = sasl::listener::from_settings(
                &config.sasl_enabled_mechanisms,
                &config.sasl_jaas_configs,
                &listener.name,
                scram,
                &config.sasl_reauth,
            )?;
            Some(Arc::new(crate::wire::sasl::SaslSessions(Arc::new(sasl_listener))))
        }
        _ => None,
    };
    Ok(Endpoint { listener: listener.name.clone(), tls, sessions })
}

fn is_controller_listener(config: &BrokerConfig, name: &str) -> bool {
    config.controller_listener_names.iter().any(|n| n == name)
}

async fn bind(addr: &std::net::SocketAddr) -> anyhow::Result<TcpListener> {
    TcpListener::bind(addr).await.map_err(|e| anyhow::anyhow!("cannot listen on {addr}: {e}"))
}

/// Opens the controller's log directory and metadata log, and starts its
/// member of the metadata quorum. In combined mode the controller keeps its
/// metadata log in a `controller` directory inside `log.dirs`, apart from
/// the broker's copy.
fn open_controller(
    config: &BrokerConfig,
    bootstrap: AlterUserScramCredentialsRequest,
) -> anyhow::Result<ControllerNode> {
    let dir = match config.process_roles {
        ProcessRoles::Combined => config.log_dir.join("controller"),
        _ => config.log_dir.clone(),
    };
    std::fs::create_dir_all(&dir)?;
    let meta = match config.process_roles {
        ProcessRoles::Combined => meta_properties::load_or_create(&config.log_dir, config.node_id),
        _ => meta_properties::load_or_create(&dir, config.node_id),
    }
    .map_err(anyhow::Error::msg)?;
    if config.controller_quorum_voters.is_empty() {
        anyhow::bail!(
            "a controller needs controller.quorum.voters (id@host:port,…): spool does not \
             support a dynamic quorum (KIP-853) yet"
        );
    }
    let voters = (config.controller_quorum_voters.iter())
        .map(|v| (v.node_id, format!("{}:{}", v.endpoint.host, v.endpoint.port)))
        .collect();
    let log_dir = dir.join(format!("{METADATA_TOPIC}-0"));
    let voter_ids: Vec<i32> = config.controller_quorum_voters.iter().map(|v| v.node_id).collect();
    let log = QuorumLog::open(&log_dir, voter_ids, crate::broker::now_ms())?;
    // A snapshot moves the log's start past 0, so an end at 0 is a new log.
    let created = log.log().log_end_offset() == 0;
    let quorum = MetadataQuorum::start(
        config.node_id,
        meta.cluster_id.clone(),
        voters,
        QuorumTimeouts {
            election_ms: config.quorum.election_timeout_ms,
            fetch_ms: config.quorum.fetch_timeout_ms,
            retry_backoff_ms: config.quorum.retry_backoff_ms,
            request_ms: config.quorum.request_timeout_ms,
            pre_vote: config.quorum.pre_vote,
            snapshot_record_bytes_max: config.quorum.snapshot_record_bytes_max,
            snapshot_interval_ms: config.quorum.snapshot_interval_ms,
        },
        log_dir,
        log,
        config.quorum.trace_dir.as_deref(),
        config.controller_security.clone(),
    )?;
    let node = ControllerNode::new(config.clone(), meta.cluster_id, quorum);
    if !bootstrap.upsertions.is_empty() {
        if created {
            node.bootstrap_scram(bootstrap);
        } else {
            tracing::info!("the metadata log already exists: --add-scram ignored");
        }
    }
    Ok(node)
}

/// A standalone broker is its own controller: the `--add-scram` credentials
/// are committed at once if its metadata log is new, by the Alter path.
fn bootstrap_standalone(broker: &Broker, bootstrap: &AlterUserScramCredentialsRequest) -> anyhow::Result<()> {
    if bootstrap.upsertions.is_empty() {
        return Ok(());
    }
    if broker.metadata_writer().end_offset() > 0 {
        tracing::info!("the metadata log already exists: --add-scram ignored");
        return Ok(());
    }
    let response = broker.alter_user_scram_credentials(bootstrap);
    if let Some(refused) = response.results.iter().find(|r| r.error_code != 0) {
        let message = refused.error_message.as_ref().map_or("", |m| m.as_str());
        anyhow::bail!("--add-scram for user {:?}: {message}", refused.user.as_str());
    }
    let users: Vec<&str> = response.results.iter().map(|r| r.user.as_str()).collect();
    tracing::info!(?users, "--add-scram: SCRAM credentials written with the new metadata log");
    Ok(())
}

/// Registers with the controller, then starts the heartbeat, metadata and
/// AlterPartition tasks.
async fn start_lifecycle(broker: &Arc<Broker>) -> anyhow::Result<Vec<JoinHandle<()>>> {
    let link = broker.controller_link().expect("a broker in a cluster has a controller link");
    // Registration and heartbeats have a link of their own (as Kafka's
    // BrokerLifecycleManager has its own channel): they never wait behind a
    // forwarded CreateTopics or an AlterPartition on the shared one.
    let lifecycle_link = Arc::new(
        crate::broker::controller_link::ControllerLink::from_config(&broker.config)
            .expect("a broker in a cluster has controller candidates"),
    );
    let incarnation_id = uuid::Uuid::new_v4();
    let metadata = tokio::spawn(lifecycle::metadata_loop(broker.clone(), link.clone()));
    let epoch = lifecycle::register(broker, &lifecycle_link, incarnation_id).await?;
    broker.set_broker_epoch(epoch);
    Ok(vec![
        metadata,
        tokio::spawn(lifecycle::heartbeat_loop(broker.clone(), lifecycle_link, incarnation_id)),
        tokio::spawn(lifecycle::alter_partition_loop(broker.clone(), link)),
    ])
}

/// Flush-by-time, retention, checkpoints and the leaders' ISR checks.
fn spawn_ticker(broker: Arc<Broker>) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(broker.config.tick_interval());
        loop {
            every.tick().await;
            let broker = broker.clone();
            if let Ok(Err(e)) = tokio::task::spawn_blocking(move || broker.tick()).await {
                tracing::error!(error = %e, "log maintenance failed");
            }
        }
    })
}

async fn wait_for_signal() -> std::io::Result<()> {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        r = tokio::signal::ctrl_c() => r,
        _ = term.recv() => Ok(()),
    }
}
