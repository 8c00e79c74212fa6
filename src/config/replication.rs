//! The replication settings (chapter 6): how a follower fetches from its
//! leader, when the leader drops it from the ISR, how often a broker proves it
//! is alive to the controller, what `acks=all` waits for, and when the
//! controller moves leaderships back to their preferred replicas.
//!
//! Every key and default is Kafka's own (`ReplicationConfigs`,
//! `KRaftConfigs`, `ServerLogConfigs`), so a Kafka properties file tunes spool
//! the same way. The broker and the follower fetchers read these fields; this
//! file only parses and validates them.
//!
//! Kafka's two cross-key rules are kept, for the same reasons: a follower's
//! fetch must not wait longer than its socket timeout (or every idle fetch
//! times out), nor longer than the leader's ISR lag bound (or an idle, healthy
//! follower falls out of the ISR between two fetches).

use super::num;

/// The replication settings, with Kafka's defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplicationConfig {
    /// `broker.session.timeout.ms`: a broker whose heartbeats stop for this
    /// long is fenced by the controller.
    pub broker_session_timeout_ms: u64,
    /// `broker.heartbeat.interval.ms`: how often a broker sends BrokerHeartbeat.
    pub broker_heartbeat_interval_ms: u64,
    /// `replica.lag.time.max.ms`: a follower that has not caught up to the
    /// leader's log end within this long leaves the ISR.
    pub replica_lag_time_ms_max: u64,
    /// `replica.fetch.wait.max.ms`: the longest a follower's Fetch waits at the
    /// leader for `replica.fetch.min.bytes`.
    pub replica_fetch_wait_ms_max: u64,
    /// `replica.fetch.min.bytes`: what a follower's Fetch waits for.
    pub replica_fetch_bytes_min: u32,
    /// `replica.fetch.max.bytes`: the bytes a follower asks for per partition.
    pub replica_fetch_bytes_max: u32,
    /// `replica.fetch.response.max.bytes`: the bytes a follower asks for per Fetch.
    pub replica_fetch_response_bytes_max: u32,
    /// `replica.fetch.backoff.ms`: how long a follower sleeps after a failed fetch.
    pub replica_fetch_backoff_ms: u64,
    /// `replica.socket.timeout.ms`: how long a follower waits for a Fetch answer.
    pub replica_socket_timeout_ms: u64,
    /// `replica.high.watermark.checkpoint.interval.ms`: how often the high
    /// watermarks are written to `replication-offset-checkpoint`.
    pub high_watermark_checkpoint_interval_ms: u64,
    /// `min.insync.replicas`: the ISR size below which `acks=all` produces are
    /// refused (`NOT_ENOUGH_REPLICAS`); the default of every topic.
    pub min_insync_replicas: u32,
    /// `unclean.leader.election.enable`: may the controller elect a leader
    /// from outside the ISR (losing what only the ISR had) rather than none?
    pub unclean_leader_election: bool,
    /// `controlled.shutdown.enable`: a stopping broker asks the controller to
    /// move its leaderships first.
    pub controlled_shutdown: bool,
    /// `auto.leader.rebalance.enable`: the controller moves each partition's
    /// leadership back to its first replica by itself, every
    /// `leader.imbalance.check.interval.seconds`, once that replica is back
    /// in the ISR.
    pub auto_leader_rebalance: bool,
    /// `leader.imbalance.check.interval.seconds`: how long the controller
    /// waits, once some partition is led by another than its first replica,
    /// before it tries to move leaderships back. At least 1.
    pub leader_imbalance_check_interval_seconds: u64,
    /// `leader.imbalance.per.broker.percentage`: the ZooKeeper controller's
    /// threshold (rebalance a broker's partitions only past this share of
    /// them led elsewhere). Kafka still parses it, and KRaft's controller
    /// never reads it: any imbalanced partition is rebalanced. So here.
    pub leader_imbalance_per_broker_percentage: i32,
}

impl Default for ReplicationConfig {
    fn default() -> Self {
        ReplicationConfig {
            broker_session_timeout_ms: 9_000,
            broker_heartbeat_interval_ms: 2_000,
            replica_lag_time_ms_max: 30_000,
            replica_fetch_wait_ms_max: 500,
            replica_fetch_bytes_min: 1,
            replica_fetch_bytes_max: 1_048_576,
            replica_fetch_response_bytes_max: 10_485_760,
            replica_fetch_backoff_ms: 1_000,
            replica_socket_timeout_ms: 30_000,
            high_watermark_checkpoint_interval_ms: 5_000,
            min_insync_replicas: 1,
            unclean_leader_election: false,
            controlled_shutdown: true,
            auto_leader_rebalance: true,
            leader_imbalance_check_interval_seconds: 300,
            leader_imbalance_per_broker_percentage: 10,
        }
    }
}

impl ReplicationConfig {
    /// Applies one setting; `Ok(false)` for a key that is not a replication one.
    pub(super) fn set(&mut self, key: &str, value: &str) -> Result<bool, String> {
        match key {
            "broker.session.timeout.ms" => self.broker_session_timeout_ms = num(key, value)?,
            "broker.heartbeat.interval.ms" => self.broker_heartbeat_interval_ms = num(key, value)?,
            "replica.lag.time.max.ms" => self.replica_lag_time_ms_max = num(key, value)?,
            "replica.fetch.wait.max.ms" => self.replica_fetch_wait_ms_max = num(key, value)?,
            "replica.fetch.min.bytes" => self.replica_fetch_bytes_min = num(key, value)?,
            "replica.fetch.max.bytes" => self.replica_fetch_bytes_max = num(key, value)?,
            "replica.fetch.response.max.bytes" => self.replica_fetch_response_bytes_max = num(key, value)?,
            "replica.fetch.backoff.ms" => self.replica_fetch_backoff_ms = num(key, value)?,
            "replica.socket.timeout.ms" => self.replica_socket_timeout_ms = num(key, value)?,
            "replica.high.watermark.checkpoint.interval.ms" => {
                self.high_watermark_checkpoint_interval_ms = num(key, value)?
            }
            "min.insync.replicas" => self.min_insync_replicas = num(key, value)?,
            "unclean.leader.election.enable" => self.unclean_leader_election = super::flag(key, value)?,
            "controlled.shutdown.enable" => self.controlled_shutdown = super::flag(key, value)?,
            "auto.leader.rebalance.enable" => self.auto_leader_rebalance = super::flag(key, value)?,
            "leader.imbalance.check.interval.seconds" => {
                self.leader_imbalance_check_interval_seconds = num(key, value)?
            }
            "leader.imbalance.per.broker.percentage" => {
                self.leader_imbalance_per_broker_percentage = num(key, value)?
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// Kafka's rules between these keys, each error naming the key to change.
    pub(super) fn validate(&self) -> Result<(), String> {
        if self.min_insync_replicas < 1 {
            return Err("min.insync.replicas must be at least 1".into());
        }
        if self.replica_fetch_wait_ms_max > self.replica_socket_timeout_ms {
            return Err(format!(
                "replica.socket.timeout.ms ({}) must be at least replica.fetch.wait.max.ms ({}), \
                 or every idle follower fetch times out",
                self.replica_socket_timeout_ms, self.replica_fetch_wait_ms_max
            ));
        }
        if self.replica_fetch_wait_ms_max > self.replica_lag_time_ms_max {
            return Err(format!(
                "replica.fetch.wait.max.ms ({}) must be at most replica.lag.time.max.ms ({}), \
                 or idle followers fall out of the ISR",
                self.replica_fetch_wait_ms_max, self.replica_lag_time_ms_max
            ));
        }
        if self.broker_heartbeat_interval_ms == 0 {
            return Err("broker.heartbeat.interval.ms must be at least 1".into());
        }
        if self.leader_imbalance_check_interval_seconds == 0 {
            return Err("leader.imbalance.check.interval.seconds must be at least 1".into());
        }
        Ok(())
    }
}
