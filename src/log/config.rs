//! Log configuration, under Kafka's own key names and defaults: the per-log
//! [`LogConfig`] (broker `log.*` keys, topic overrides) and, for chapter 10,
//! the broker-wide [`CleanerConfig`] of the log cleaner (`log.cleaner.*`).
//!
//! Values are checked against Kafka's ranges (`LogConfig.configDef`,
//! `CleanerConfig`) as they are set: a refused value leaves the config as it
//! was and names the key, which CreateTopics answers as `INVALID_CONFIG`.

use super::validator::TimestampBounds;
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
    /// `cleanup.policy` includes `compact`: the log cleaner (chapter 10) keeps
    /// only the latest record of each key. Both flags may be set
    /// (`compact,delete`): cleaned, and retention still applies.
    pub cleanup_compact: bool,
    /// `log.cleaner.delete.retention.ms` (`delete.retention.ms`): how long a
    /// cleaned tombstone (a null value) stays readable, so a consumer that
    /// started before the delete still sees it (KIP-534's delete horizon).
    pub delete_retention_ms: i64,
    /// `log.cleaner.min.compaction.lag.ms` (`min.compaction.lag.ms`): a record
    /// stays uncompacted at least this long (KIP-58).
    pub min_compaction_lag_ms: i64,
    /// `log.cleaner.max.compaction.lag.ms` (`max.compaction.lag.ms`): a dirty
    /// record this old makes the log cleanable whatever its dirty ratio (KIP-354).
    pub max_compaction_lag_ms: i64,
    /// `log.cleaner.min.cleanable.ratio` (`min.cleanable.dirty.ratio`): the
    /// share of the log that must be dirty before the cleaner picks it.
    pub min_cleanable_dirty_ratio: Ratio,
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
    /// `log.message.timestamp.before.max.ms` (`message.timestamp.before.max.ms`):
    /// how far in the past a CreateTime record may be stamped (KIP-937). As
    /// set; [`LogConfig::timestamp_bounds`] is what the produce checks use.
    pub timestamp_before_max_ms: i64,
    /// `log.message.timestamp.after.max.ms` (`message.timestamp.after.max.ms`):
    /// how far in the future. As set.
    pub timestamp_after_max_ms: i64,
    /// `log.message.timestamp.difference.max.ms`
    /// (`message.timestamp.difference.max.ms`): the deprecated symmetric
    /// bound, the value of whichever of the two above is left at its default.
    pub timestamp_difference_max_ms: i64,
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
            cleanup_compact: false,
            delete_retention_ms: 24 * 60 * 60 * 1000,
            min_compaction_lag_ms: 0,
            max_compaction_lag_ms: i64::MAX,
            min_cleanable_dirty_ratio: Ratio::new(0.5).expect("in range"),
            flush_interval_messages: u64::MAX,
            flush_interval_ms: i64::MAX,
            flush_before_ack: false,
            timestamp_type: TimestampType::CreateTime,
            timestamp_before_max_ms: i64::MAX,
            timestamp_after_max_ms: i64::MAX,
            timestamp_difference_max_ms: i64::MAX,
        }
    }
}

impl LogConfig {
    /// Applies one `key=value` setting, accepting both the broker key (`log.segment.bytes`)
    /// and the topic key (`segment.bytes`). Unknown keys are `Ok(false)`, so a
    /// caller holding a whole `server.properties` can pass every line through.
    /// A refused value leaves the config as it was.
    pub fn set(&mut self, key: &str, value: &str) -> Result<bool, String> {
        let mut next = self.clone();
        if !next.assign(key, value)? {
            return Ok(false);
        }
        next.check()?;
        *self = next;
        Ok(true)
    }

    fn assign(&mut self, key: &str, value: &str) -> Result<bool, String> {
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
                let (mut delete, mut compact) = (false, false);
                for policy in value.split(',').map(str::trim) {
                    match policy {
                        "delete" => delete = true,
                        "compact" => compact = true,
                        other => return Err(format!("invalid value {other:?} for {key}")),
                    }
                }
                (self.cleanup_delete, self.cleanup_compact) = (delete, compact);
            }
            "log.cleaner.delete.retention.ms" | "delete.retention.ms" => {
                self.delete_retention_ms = at_least(key, value, 0)?
            }
            "log.cleaner.min.compaction.lag.ms" | "min.compaction.lag.ms" => {
                self.min_compaction_lag_ms = at_least(key, value, 0)?
            }
            "log.cleaner.max.compaction.lag.ms" | "max.compaction.lag.ms" => {
                self.max_compaction_lag_ms = at_least(key, value, 1)?
            }
            "log.cleaner.min.cleanable.ratio" | "min.cleanable.dirty.ratio" => {
                let ratio = num::<f64>(key, value)?;
                self.min_cleanable_dirty_ratio = Ratio::new(ratio)
                    .ok_or_else(|| format!("invalid value {value:?} for {key}: must be between 0 and 1"))?;
            }
            "log.flush.interval.messages" | "flush.messages" => {
                self.flush_interval_messages = num(key, value)?
            }
            "log.flush.interval.ms" | "flush.ms" => self.flush_interval_ms = num(key, value)?,
            "spool.log.flush.before.ack" => self.flush_before_ack = flag(key, value)?,
            "log.message.timestamp.type" | "message.timestamp.type" => {
                self.timestamp_type = match value.trim() {
                    "CreateTime" => TimestampType::CreateTime,
                    "LogAppendTime" => TimestampType::LogAppendTime,
                    other => return Err(format!("invalid value {other:?} for {key}")),
                }
            }
            "log.message.timestamp.before.max.ms" | "message.timestamp.before.max.ms" => {
                self.timestamp_before_max_ms = at_least(key, value, 0)?
            }
            "log.message.timestamp.after.max.ms" | "message.timestamp.after.max.ms" => {
                self.timestamp_after_max_ms = at_least(key, value, 0)?
            }
            "log.message.timestamp.difference.max.ms" | "message.timestamp.difference.max.ms" => {
                self.timestamp_difference_max_ms = at_least(key, value, 0)?
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    // ANCHOR: timestamp_bounds
    /// The bounds the produce checks hold CreateTime records to, as Kafka's
    /// `LogConfig` resolves them while `difference.max.ms` is deprecated
    /// (KIP-937): `before.max.ms` and `after.max.ms` each as set, or, left at
    /// the default (`Long.MAX_VALUE`), `difference.max.ms` in its place.
    pub fn timestamp_bounds(&self) -> TimestampBounds {
        let or_difference =
            |bound: i64| if bound == i64::MAX { self.timestamp_difference_max_ms } else { bound };
        TimestampBounds {
            timestamp_type: self.timestamp_type,
            before_max_ms: or_difference(self.timestamp_before_max_ms),
            after_max_ms: or_difference(self.timestamp_after_max_ms),
        }
    }
    // ANCHOR_END: timestamp_bounds

    /// `cleanup.policy` as Kafka lists it: `delete`, `compact` or `compact,delete`.
    pub fn cleanup_policy(&self) -> &'static str {
        match (self.cleanup_compact, self.cleanup_delete) {
            (true, true) => "compact,delete",
            (true, false) => "compact",
            // Kafka's list may be empty; spool's parser refuses that, so a
            // log is never neither.
            _ => "delete",
        }
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
        if self.min_compaction_lag_ms > self.max_compaction_lag_ms {
            return Err(format!(
                "conflict topic config setting min.compaction.lag.ms ({}) > max.compaction.lag.ms ({})",
                self.min_compaction_lag_ms, self.max_compaction_lag_ms
            ));
        }
        Ok(())
    }
}

/// The broker-wide settings of the log cleaner (chapter 10), Kafka's
/// `CleanerConfig`: how many cleaner threads, how much memory each one's
/// key → offset map may use, and how fast they may read and write. The
/// per-log ones (`min.cleanable.dirty.ratio`, the compaction lags,
/// `delete.retention.ms`) are in [`LogConfig`].
#[derive(Debug, Clone, PartialEq)]
pub struct CleanerConfig {
    /// `log.cleaner.enable`: run the cleaner at all. Off, compacted topics
    /// (`__consumer_offsets` among them) grow without bound.
    pub enable: bool,
    /// `log.cleaner.threads`: logs cleaned at the same time.
    pub threads: usize,
    /// `log.cleaner.dedupe.buffer.size`: the key → offset map's memory, shared
    /// by all threads (Kafka divides it among them).
    pub dedupe_buffer_bytes: u64,
    /// `log.cleaner.io.buffer.size`: the read and write buffers, shared by all threads.
    pub io_buffer_bytes: usize,
    /// `log.cleaner.io.buffer.load.factor`: how full the key → offset map may
    /// get before it says "full" (more is more collisions).
    pub io_buffer_load_factor: Ratio,
    /// `log.cleaner.io.max.bytes.per.second`: the cleaners' combined read and
    /// write rate (Kafka's `Throttler`, [`super::throttler`]). Unlimited by default.
    pub io_max_bytes_per_second: f64,
    /// `log.cleaner.backoff.ms`: how long a thread sleeps when no log is cleanable.
    pub backoff_ms: i64,
}

impl Default for CleanerConfig {
    fn default() -> Self {
        CleanerConfig {
            enable: true,
            threads: 1,
            dedupe_buffer_bytes: 128 * 1024 * 1024,
            io_buffer_bytes: 512 * 1024,
            io_buffer_load_factor: Ratio::new(0.9).expect("in range"),
            io_max_bytes_per_second: f64::MAX,
            backoff_ms: 15_000,
        }
    }
}

impl CleanerConfig {
    /// Applies one `log.cleaner.*` broker key; other keys are `Ok(false)`. The
    /// per-log cleaner keys (`log.cleaner.min.cleanable.ratio`, …) are
    /// [`LogConfig::set`]'s. A refused value leaves the config as it was.
    pub fn set(&mut self, key: &str, value: &str) -> Result<bool, String> {
        match key {
            "log.cleaner.enable" => self.enable = flag(key, value)?,
            "log.cleaner.threads" => self.threads = num(key, value)?,
            "log.cleaner.dedupe.buffer.size" => self.dedupe_buffer_bytes = num(key, value)?,
            "log.cleaner.io.buffer.size" => self.io_buffer_bytes = num(key, value)?,
            "log.cleaner.io.buffer.load.factor" => {
                // Zero would be a map that is full before its first key.
                self.io_buffer_load_factor = Ratio::new(num(key, value)?)
                    .filter(|r| r.get() > 0.0)
                    .ok_or_else(|| format!("invalid value {value:?} for {key}: must be in (0, 1]"))?;
            }
            "log.cleaner.io.max.bytes.per.second" => {
                let rate: f64 = num(key, value)?;
                if rate.is_nan() || rate <= 0.0 {
                    return Err(format!("invalid value {value:?} for {key}: must be positive"));
                }
                self.io_max_bytes_per_second = rate;
            }
            "log.cleaner.backoff.ms" => self.backoff_ms = at_least(key, value, 0)?,
            _ => return Ok(false),
        }
        Ok(true)
    }
}

/// A fraction in `[0, 1]` (`min.cleanable.dirty.ratio`,
/// `log.cleaner.io.buffer.load.factor`). Compared and hashed by its bits, so
/// the configs holding one stay `Eq` and `Hash`; NaN is refused at the door.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ratio(f64);

impl Ratio {
    /// The ratio, if `value` is within `[0, 1]`.
    pub fn new(value: f64) -> Option<Self> {
        (0.0..=1.0).contains(&value).then_some(Ratio(value))
    }
    pub fn get(self) -> f64 {
        self.0
    }
}

impl Eq for Ratio {}

impl std::hash::Hash for Ratio {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.0.to_bits().hash(state);
    }
}

/// Parses one number for `key`, naming both in the error.
pub(crate) fn num<T: std::str::FromStr>(key: &str, v: &str) -> Result<T, String> {
    v.trim().parse().map_err(|_| format!("invalid value {v:?} for {key}"))
}

/// Parses a boolean for `key` as Kafka's `ConfigDef` does: `true` or `false`
/// in any case, around spaces (`TRUE` is a valid `log.cleaner.enable`).
pub(crate) fn flag(key: &str, v: &str) -> Result<bool, String> {
    match v.trim() {
        t if t.eq_ignore_ascii_case("true") => Ok(true),
        f if f.eq_ignore_ascii_case("false") => Ok(false),
        _ => Err(format!("invalid value {v:?} for {key}: expected true or false")),
    }
}

/// Parses an `i64` for `key` that must be at least `min` (Kafka's `atLeast`).
fn at_least(key: &str, v: &str, min: i64) -> Result<i64, String> {
    let n: i64 = num(key, v)?;
    if n < min {
        return Err(format!("invalid value {v:?} for {key}: must be at least {min}"));
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Chapter 10's per-log keys load under both names with Kafka's defaults
    /// (`LogConfig.DEFAULT_*`), and `cleanup.policy` sets both flags.
    #[test]
    fn compaction_keys_load_with_kafka_defaults() {
        let mut config = LogConfig::default();
        assert_eq!(
            (config.cleanup_compact, config.cleanup_delete, config.delete_retention_ms),
            (false, true, 86_400_000)
        );
        assert_eq!((config.min_compaction_lag_ms, config.max_compaction_lag_ms), (0, i64::MAX));
        assert_eq!(config.min_cleanable_dirty_ratio.get(), 0.5);
        for (key, value) in [
            ("log.cleaner.delete.retention.ms", "1000"),
            ("min.compaction.lag.ms", "5"),
            ("log.cleaner.max.compaction.lag.ms", "60000"),
            ("min.cleanable.dirty.ratio", "0.25"),
            ("cleanup.policy", "compact,delete"),
        ] {
            assert_eq!(config.set(key, value), Ok(true), "{key}");
        }
        assert_eq!((config.cleanup_compact, config.cleanup_delete), (true, true));
        assert_eq!((config.delete_retention_ms, config.min_compaction_lag_ms), (1000, 5));
        assert_eq!((config.max_compaction_lag_ms, config.min_cleanable_dirty_ratio.get()), (60_000, 0.25));
        config.set("log.cleaner.min.cleanable.ratio", "1").unwrap();
        assert_eq!(config.min_cleanable_dirty_ratio.get(), 1.0);
        config.set("log.cleanup.policy", "compact").unwrap();
        assert_eq!((config.cleanup_compact, config.cleanup_delete), (true, false));
    }

    /// Kafka's ranges: a ratio in [0, 1], retention and the minimum lag at
    /// least 0, the maximum lag at least 1 and never below the minimum
    /// (`LogConfig.validateValues`). Each error names its key, and a refused
    /// value leaves the config as it was.
    #[test]
    fn compaction_keys_out_of_range_are_refused() {
        for (key, value) in [
            ("min.cleanable.dirty.ratio", "1.5"),
            ("log.cleaner.min.cleanable.ratio", "-0.1"),
            ("min.cleanable.dirty.ratio", "NaN"),
            ("max.compaction.lag.ms", "-7"),
            ("delete.retention.ms", "-1"),
            ("min.compaction.lag.ms", "-1"),
            ("max.compaction.lag.ms", "0"),
            ("max.compaction.lag.ms", "soon"),
        ] {
            let mut config = LogConfig::default();
            let error = config.set(key, value).expect_err(key);
            assert!(error.contains(key), "{error}");
            assert_eq!(config, LogConfig::default(), "{key}={value} left a trace");
        }
        let mut config = LogConfig::default();
        config.set("max.compaction.lag.ms", "100").unwrap();
        let error = config.set("min.compaction.lag.ms", "200").unwrap_err();
        assert!(
            error.contains("min.compaction.lag.ms") && error.contains("max.compaction.lag.ms"),
            "{error}"
        );
        assert_eq!(config.min_compaction_lag_ms, 0);
    }

    /// KIP-937: the timestamp bounds load under both names, refuse a
    /// negative value naming the key, and the deprecated
    /// `difference.max.ms` stands in for whichever of `before.max.ms` and
    /// `after.max.ms` is left at its default (Kafka's `LogConfig`).
    #[test]
    fn timestamp_bounds_fall_back_to_the_difference() {
        let mut config = LogConfig::default();
        let unbounded = config.timestamp_bounds();
        assert_eq!((unbounded.before_max_ms, unbounded.after_max_ms), (i64::MAX, i64::MAX));
        assert_eq!(unbounded.timestamp_type, TimestampType::CreateTime);
        config.set("log.message.timestamp.difference.max.ms", "1000").unwrap();
        let bounds = config.timestamp_bounds();
        assert_eq!((bounds.before_max_ms, bounds.after_max_ms), (1000, 1000));
        config.set("message.timestamp.before.max.ms", "3600000").unwrap();
        let bounds = config.timestamp_bounds();
        assert_eq!((bounds.before_max_ms, bounds.after_max_ms), (3_600_000, 1000));
        config.set("log.message.timestamp.after.max.ms", "0").unwrap();
        config.set("message.timestamp.type", "LogAppendTime").unwrap();
        let bounds = config.timestamp_bounds();
        assert_eq!((bounds.before_max_ms, bounds.after_max_ms), (3_600_000, 0));
        assert_eq!(bounds.timestamp_type, TimestampType::LogAppendTime);
        for key in [
            "message.timestamp.before.max.ms",
            "log.message.timestamp.after.max.ms",
            "message.timestamp.difference.max.ms",
        ] {
            let before = config.clone();
            let error = config.set(key, "-1").expect_err(key);
            assert!(error.contains(key), "{error}");
            assert_eq!(config, before);
        }
    }

    /// The broker's cleaner keys load with Kafka's defaults (`CleanerConfig`)
    /// and refuse what Kafka's ranges refuse, naming the key; a key that is
    /// not the cleaner's is not claimed.
    #[test]
    fn cleaner_keys_load_and_are_checked() {
        let mut config = CleanerConfig::default();
        assert_eq!((config.enable, config.threads, config.dedupe_buffer_bytes), (true, 1, 134_217_728));
        assert_eq!((config.io_buffer_load_factor.get(), config.backoff_ms), (0.9, 15_000));
        assert_eq!(config.io_max_bytes_per_second, f64::MAX);
        for (key, value) in [
            ("log.cleaner.enable", "false"),
            ("log.cleaner.threads", "2"),
            ("log.cleaner.dedupe.buffer.size", "1048576"),
            ("log.cleaner.io.buffer.size", "65536"),
            ("log.cleaner.io.buffer.load.factor", "0.75"),
            ("log.cleaner.io.max.bytes.per.second", "1e6"),
            ("log.cleaner.backoff.ms", "100"),
        ] {
            assert_eq!(config.set(key, value), Ok(true), "{key}");
        }
        assert_eq!((config.enable, config.threads, config.dedupe_buffer_bytes), (false, 2, 1_048_576));
        assert_eq!((config.io_buffer_bytes, config.io_buffer_load_factor.get()), (65_536, 0.75));
        assert_eq!((config.io_max_bytes_per_second, config.backoff_ms), (1e6, 100));
        assert_eq!(config.set("log.retention.ms", "1"), Ok(false));
        for (key, value) in [
            ("log.cleaner.threads", "-1"),
            ("log.cleaner.enable", "maybe"),
            ("log.cleaner.dedupe.buffer.size", "-1"),
            ("log.cleaner.io.buffer.load.factor", "0"),
            ("log.cleaner.io.buffer.load.factor", "1.1"),
            ("log.cleaner.io.max.bytes.per.second", "0"),
            ("log.cleaner.io.max.bytes.per.second", "NaN"),
            ("log.cleaner.backoff.ms", "-1"),
        ] {
            let before = config.clone();
            let error = config.set(key, value).expect_err(key);
            assert!(error.contains(key), "{error}");
            assert_eq!(config, before);
        }
    }
}
