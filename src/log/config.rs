//! Log configuration, under Kafka's own key names and defaults.

use crate::format::batch::TimestampType;

/// How one partition's log behaves. Broker keys are `log.*`; the per-topic
/// overrides (chapter 2) use the topic names in brackets.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LogConfig {
    /// `log.segment.bytes` (`segment.bytes`): roll to a new segment past this size.
    pub segment_bytes: u64,
    /// `log.roll.ms` (`segment.ms`): roll a segment whose first batch is this old.
    pub segment_ms: i64,
    /// `log.index.interval.bytes` (`index.interval.bytes`): bytes of log between
    /// two offset index entries.
    pub index_interval_bytes: u64,
    /// `log.index.size.max.bytes` (`segment.index.bytes`): roll when an index is full.
    pub segment_index_bytes: usize,
    /// `log.retention.ms` (`retention.ms`): delete segments older than this; -1 never.
    pub retention_ms: i64,
    /// `log.retention.bytes` (`retention.bytes`): delete old segments while the
    /// log is larger than this; -1 never.
    pub retention_bytes: i64,
    /// `log.cleanup.policy` (`cleanup.policy`) includes `delete`: retention by
    /// time and size applies. A topic that is only `compact` keeps its segments
    /// until the log cleaner (chapter 10) rewrites them — Kafka's `LogConfig.delete`.
    pub cleanup_delete: bool,
    /// `log.flush.interval.messages` (`flush.messages`): fsync after this many
    /// records. Kafka's default never does: replication, not fsync, is what
    /// makes Kafka durable (chapter 6).
    pub flush_interval_messages: u64,
    /// `log.flush.interval.ms` (`flush.ms`): fsync data this old.
    pub flush_interval_ms: i64,
    /// `spool.log.flush.before.ack` (spool's own key): an append is acknowledged
    /// only once an fsync covers it. Concurrent appends share fsyncs (group
    /// commit, [`super::GroupCommit`]).
    pub flush_before_ack: bool,
    /// `log.message.timestamp.type` (`message.timestamp.type`).
    pub timestamp_type: TimestampType,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            segment_bytes: 1024 * 1024 * 1024,
            segment_ms: 7 * 24 * 60 * 60 * 1000,
            index_interval_bytes: 4096,
            segment_index_bytes: 10 * 1024 * 1024,
            retention_ms: 7 * 24 * 60 * 60 * 1000,
            retention_bytes: -1,
            cleanup_delete: true,
            flush_interval_messages: u64::MAX,
            flush_interval_ms: i64::MAX,
            flush_before_ack: false,
            timestamp_type: TimestampType::CreateTime,
        }
    }
}

impl LogConfig {
    /// Applies one `key=value` setting, accepting both the broker key (`log.segment.bytes`)
    /// and the topic key (`segment.bytes`). Unknown keys are `Ok(false)`, so a
    /// caller holding a whole `server.properties` can pass every line through.
    pub fn set(&mut self, key: &str, value: &str) -> Result<bool, String> {
        fn num<T: std::str::FromStr>(key: &str, v: &str) -> Result<T, String> {
            v.trim().parse().map_err(|_| format!("invalid value {v:?} for {key}"))
        }
        match key {
            "log.segment.bytes" | "segment.bytes" => self.segment_bytes = num(key, value)?,
            "log.roll.ms" | "segment.ms" => self.segment_ms = num(key, value)?,
            "log.roll.hours" => self.segment_ms = num::<i64>(key, value)? * 3_600_000,
            "log.index.interval.bytes" | "index.interval.bytes" => {
                self.index_interval_bytes = num(key, value)?
            }
            "log.index.size.max.bytes" | "segment.index.bytes" => self.segment_index_bytes = num(key, value)?,
            "log.retention.ms" | "retention.ms" => self.retention_ms = num(key, value)?,
            "log.retention.minutes" => self.retention_ms = num::<i64>(key, value)? * 60_000,
            "log.retention.hours" => self.retention_ms = num::<i64>(key, value)? * 3_600_000,
            "log.retention.bytes" | "retention.bytes" => self.retention_bytes = num(key, value)?,
            "log.cleanup.policy" | "cleanup.policy" => {
                let mut delete = false;
                for policy in value.split(',').map(str::trim) {
                    match policy {
                        "delete" => delete = true,
                        "compact" => {}
                        other => return Err(format!("invalid value {other:?} for {key}")),
                    }
                }
                self.cleanup_delete = delete;
            }
            "log.flush.interval.messages" | "flush.messages" => {
                self.flush_interval_messages = num(key, value)?
            }
            "log.flush.interval.ms" | "flush.ms" => self.flush_interval_ms = num(key, value)?,
            "spool.log.flush.before.ack" => self.flush_before_ack = num(key, value)?,
            "log.message.timestamp.type" | "message.timestamp.type" => {
                self.timestamp_type = match value.trim() {
                    "CreateTime" => TimestampType::CreateTime,
                    "LogAppendTime" => TimestampType::LogAppendTime,
                    other => return Err(format!("invalid value {other:?} for {key}")),
                }
            }
            _ => return Ok(false),
        }
        self.check()?;
        Ok(true)
    }

    fn check(&self) -> Result<(), String> {
        if self.segment_bytes < 14 {
            return Err("segment.bytes must be at least 14".into());
        }
        if self.segment_index_bytes < 12 {
            return Err("segment.index.bytes must be at least 12".into());
        }
        if self.flush_interval_messages == 0 {
            return Err("flush.messages must be at least 1".into());
        }
        Ok(())
    }
}
