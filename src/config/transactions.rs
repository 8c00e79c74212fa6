//! The transaction coordinator's settings (chapter 9): the shape of
//! `__transaction_state`, the limits on a transaction, and how often the
//! coordinator looks for transactions that ran out of time.
//!
//! Every key and default is Kafka's own (`TransactionStateManagerConfigs`,
//! `TransactionLogConfigs`), so a Kafka properties file tunes spool the same
//! way. The coordinator's own limits live in [`TransactionCoordinatorConfig`]
//! (the sans-IO core reads them); the topic's shape and the timer are the
//! driver's.

use super::num;
use crate::txn::{TransactionCoordinatorConfig, TRANSACTION_STATE_PARTITIONS, TRANSACTION_VERSION_MAX};

/// The transaction settings, with Kafka's defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransactionConfig {
    /// `transaction.state.log.num.partitions`: partitions of
    /// `__transaction_state` when it is created. As for `__consumer_offsets`,
    /// the existing topic's count is what places transactional ids.
    pub state_log_num_partitions: i32,
    /// `transaction.state.log.replication.factor`: replicas of each partition
    /// in a cluster, capped by the live brokers when the topic is created
    /// (Kafka waits for enough brokers instead; spool does as it does for
    /// `offsets.topic.replication.factor`).
    pub state_log_replication_factor: i16,
    /// `transaction.state.log.min.isr`: the topic's `min.insync.replicas`
    /// (capped by its replication factor, so a capped topic stays writable).
    pub state_log_min_isr: u32,
    /// `transaction.state.log.segment.bytes`: the topic's `segment.bytes`.
    pub state_log_segment_bytes: u64,
    /// `transaction.abort.timed.out.transaction.cleanup.interval.ms`: how often
    /// the coordinator aborts transactions older than their timeout (and
    /// forgets ids idle for `transactional.id.expiration.ms`).
    pub abort_timed_out_cleanup_interval_ms: u64,
    /// `transaction.max.timeout.ms`, `transactional.id.expiration.ms`.
    pub coordinator: TransactionCoordinatorConfig,
    /// `transaction.partition.verification.enable` (KIP-890 part 1, default
    /// true): a partition leader asks the transaction coordinator before it
    /// appends a producer's first transactional batch, so a late batch of
    /// an ended transaction cannot open one nobody will end
    /// (`broker::produce::verify`). Off, the hanging transaction of
    /// KAFKA-14402 is possible again, as before Kafka 3.6.
    pub partition_verification_enable: bool,
    /// `spool.transaction.version` (default 2): the level at which this
    /// broker finalizes the feature `transaction.version` (KIP-890, KIP-584)
    /// and advertises it in ApiVersions. At 2 a client may run transaction
    /// version 2 (part 2): EndTxn v5 bumps the epoch at every end, Produce
    /// v12 and TxnOffsetCommit v5 add their partition to the transaction
    /// while it is verified. Kafka finalizes features in the cluster's
    /// metadata (`kafka-features.sh`, `kafka-storage.sh format --feature`);
    /// spool has no feature records yet, so every broker of a cluster must
    /// be started with the same value — a static setting, read once.
    pub transaction_version: i16,
}

impl Default for TransactionConfig {
    fn default() -> Self {
        TransactionConfig {
            state_log_num_partitions: TRANSACTION_STATE_PARTITIONS,
            state_log_replication_factor: 3,
            state_log_min_isr: 2,
            state_log_segment_bytes: 100 * 1024 * 1024,
            abort_timed_out_cleanup_interval_ms: 10_000,
            coordinator: TransactionCoordinatorConfig::default(),
            partition_verification_enable: true,
            transaction_version: TRANSACTION_VERSION_MAX,
        }
    }
}

impl TransactionConfig {
    /// Sets `key` if it is a transaction key: `Ok(false)` if it is not.
    pub fn set(&mut self, key: &str, value: &str) -> Result<bool, String> {
        let at_least_1 = |n: i64| if n < 1 { Err(format!("{key} must be at least 1")) } else { Ok(()) };
        match key {
            "transaction.state.log.num.partitions" => {
                self.state_log_num_partitions = num(key, value)?;
                at_least_1(self.state_log_num_partitions.into())?;
            }
            "transaction.state.log.replication.factor" => {
                self.state_log_replication_factor = num(key, value)?;
                at_least_1(self.state_log_replication_factor.into())?;
            }
            "transaction.state.log.min.isr" => {
                self.state_log_min_isr = num(key, value)?;
                at_least_1(self.state_log_min_isr.into())?;
            }
            "transaction.state.log.segment.bytes" => {
                self.state_log_segment_bytes = num(key, value)?;
                at_least_1(self.state_log_segment_bytes as i64)?;
            }
            "transaction.abort.timed.out.transaction.cleanup.interval.ms" => {
                self.abort_timed_out_cleanup_interval_ms = num(key, value)?;
                at_least_1(self.abort_timed_out_cleanup_interval_ms as i64)?;
            }
            "transaction.max.timeout.ms" => {
                self.coordinator.transaction_timeout_ms_max = num(key, value)?;
                at_least_1(self.coordinator.transaction_timeout_ms_max.into())?;
            }
            "transactional.id.expiration.ms" => {
                self.coordinator.transactional_id_expiration_ms = num(key, value)?;
                at_least_1(self.coordinator.transactional_id_expiration_ms)?;
            }
            "transaction.partition.verification.enable" => {
                self.partition_verification_enable = super::flag(key, value)?;
            }
            "spool.transaction.version" => {
                self.transaction_version = num(key, value)?;
                if !(0..=TRANSACTION_VERSION_MAX).contains(&self.transaction_version) {
                    return Err(format!("{key} must be 0, 1 or {TRANSACTION_VERSION_MAX}"));
                }
            }
            _ => return Ok(false),
        }
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Kafka's keys set the fields, and a value Kafka would refuse is refused.
    #[test]
    fn kafka_keys_and_their_limits() {
        let mut c = TransactionConfig::default();
        assert_eq!(c.set("transaction.state.log.num.partitions", "3"), Ok(true));
        assert_eq!(c.set("transaction.max.timeout.ms", "60000"), Ok(true));
        assert_eq!(c.set("transaction.abort.timed.out.transaction.cleanup.interval.ms", "500"), Ok(true));
        assert_eq!(c.set("log.segment.bytes", "1"), Ok(false));
        assert!(c.partition_verification_enable, "on by default, as since Kafka 3.6");
        assert_eq!(c.set("transaction.partition.verification.enable", "false"), Ok(true));
        assert!(!c.partition_verification_enable);
        assert!(c.set("transaction.partition.verification.enable", "no").is_err());
        assert_eq!((c.state_log_num_partitions, c.coordinator.transaction_timeout_ms_max), (3, 60_000));
        assert_eq!(c.abort_timed_out_cleanup_interval_ms, 500);
        assert!(c.set("transaction.state.log.num.partitions", "0").is_err());
        assert!(c.set("transaction.state.log.min.isr", "x").is_err());
        assert_eq!(c.transaction_version, 2, "KIP-890 part 2 on by default");
        assert_eq!(c.set("spool.transaction.version", "0"), Ok(true));
        assert_eq!(c.transaction_version, 0);
        assert!(c.set("spool.transaction.version", "3").is_err());
    }
}
