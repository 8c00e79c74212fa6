//! The topic keys: what `CreateTopics` (and the alter APIs) accept as a
//! per-topic override, each with the broker keys that set its default, in
//! Kafka's order (`ServerTopicConfigSynonyms`). Sorted by name, as Kafka's
//! documentation lists them. A key with no `value` reader is accepted and
//! described, and spool's log does not act on it (yet).

use super::ConfigKey as K;
use super::ConfigType::{Boolean, Double, Int, List, Long, String};
use super::Valid::{AtLeast, Between, DoubleBetween, ListOf, OneOf};
use crate::config::def::java_double;

/// Kafka's `Long.MAX_VALUE` default, written out as DescribeConfigs shows it.
const LONG_MAX: Option<&str> = Some("9223372036854775807");

/// Every topic key, sorted by name.
pub static TOPIC_KEYS: &[K] = &[
    K::new("cleanup.policy", List, Some("delete"), "delete: old segments go by retention.ms and retention.bytes; compact: the cleaner keeps each key's latest record; both together do both.")
        .valid(ListOf(&["compact", "delete"]))
        .synonyms(&["log.cleanup.policy"])
        .topic("LogConfig::cleanup_delete, cleanup_compact", |log, _| log.cleanup_policy().to_string()),
    K::new("compression.gzip.level", Int, Some("-1"), "The gzip level when the topic recompresses with gzip; -1 is the codec's default.")
        .valid(Between(-1, 9))
        .synonyms(&["compression.gzip.level"]),
    K::new("compression.lz4.level", Int, Some("9"), "The lz4 level when the topic recompresses with lz4.")
        .valid(Between(1, 17))
        .synonyms(&["compression.lz4.level"]),
    K::new("compression.type", String, Some("producer"), "The codec batches are stored with; producer keeps whatever codec the producer used.")
        .valid(OneOf(&["uncompressed", "zstd", "lz4", "snappy", "gzip", "producer"]))
        .synonyms(&["compression.type"])
        .topic("ValidationPolicy::compression", |_, c| c.compression_type.name().to_string()),
    K::new("compression.zstd.level", Int, Some("3"), "The zstd level when the topic recompresses with zstd.")
        .valid(Between(-131072, 22))
        .synonyms(&["compression.zstd.level"]),
    K::new("delete.retention.ms", Long, Some("86400000"), "How long a compacted topic keeps a tombstone readable after cleaning, so slow consumers still see the delete.")
        .valid(AtLeast(0))
        .synonyms(&["log.cleaner.delete.retention.ms"])
        .topic("LogConfig::delete_retention_ms", |log, _| log.delete_retention_ms.to_string()),
    K::new("file.delete.delay.ms", Long, Some("60000"), "How long a deleted segment's files wait before they are removed from disk.")
        .valid(AtLeast(0))
        .synonyms(&["log.segment.delete.delay.ms"]),
    K::new("flush.messages", Long, LONG_MAX, "fsync the log after this many records; by default never, since replication is what makes data durable.")
        .valid(AtLeast(1))
        .synonyms(&["log.flush.interval.messages"])
        .topic("LogConfig::flush_interval_messages", |log, _| log.flush_interval_messages.min(i64::MAX as u64).to_string()),
    K::new("flush.ms", Long, LONG_MAX, "fsync data that has waited this long; by default never.")
        .valid(AtLeast(0))
        .synonyms(&["log.flush.interval.ms", "log.flush.scheduler.interval.ms"])
        .topic("LogConfig::flush_interval_ms", |log, _| log.flush_interval_ms.to_string()),
    K::new("follower.replication.throttled.replicas", List, Some(""), "Replicas whose follower fetches are throttled (partition:broker pairs, or *).")
        .synonyms(&[]),
    K::new("index.interval.bytes", Int, Some("4096"), "Bytes of log between two offset index entries: smaller is a denser index and shorter scans.")
        .valid(AtLeast(0))
        .synonyms(&["log.index.interval.bytes"])
        .topic("LogConfig::index_interval_bytes", |log, _| log.index_interval_bytes.to_string()),
    K::new("leader.replication.throttled.replicas", List, Some(""), "Replicas whose leader-side reads for followers are throttled (partition:broker pairs, or *).")
        .synonyms(&[]),
    K::new("local.retention.bytes", Long, Some("-2"), "With tiered storage, how much log stays on local disk; -2 means retention.bytes.")
        .valid(AtLeast(-2))
        .synonyms(&["log.local.retention.bytes"]),
    K::new("local.retention.ms", Long, Some("-2"), "With tiered storage, how long log stays on local disk; -2 means retention.ms.")
        .valid(AtLeast(-2))
        .synonyms(&["log.local.retention.ms"]),
    K::new("max.compaction.lag.ms", Long, LONG_MAX, "A record left uncompacted this long makes its log cleanable whatever its dirty ratio (KIP-354).")
        .valid(AtLeast(1))
        .synonyms(&["log.cleaner.max.compaction.lag.ms"])
        .topic("LogConfig::max_compaction_lag_ms", |log, _| log.max_compaction_lag_ms.to_string()),
    K::new("max.message.bytes", Int, Some("1048588"), "The largest record batch the topic accepts, after compression.")
        .valid(AtLeast(0))
        .synonyms(&["message.max.bytes"])
        .topic("BrokerConfig::message_max_bytes", |_, c| c.message_max_bytes.to_string()),
    K::new("message.downconversion.enable", Boolean, Some("true"), "May the broker convert batches down for old consumers (spool serves only v2 batches).")
        .synonyms(&["log.message.downconversion.enable"]),
    K::new("message.timestamp.after.max.ms", Long, LONG_MAX, "How far in the future a CreateTime timestamp may be before the batch is refused (INVALID_TIMESTAMP).")
        .valid(AtLeast(0))
        .synonyms(&["log.message.timestamp.after.max.ms"])
        .topic("LogConfig::timestamp_after_max_ms", |log, _| log.timestamp_after_max_ms.to_string()),
    K::new("message.timestamp.before.max.ms", Long, LONG_MAX, "How far in the past a CreateTime timestamp may be before the batch is refused (INVALID_TIMESTAMP).")
        .valid(AtLeast(0))
        .synonyms(&["log.message.timestamp.before.max.ms"])
        .topic("LogConfig::timestamp_before_max_ms", |log, _| log.timestamp_before_max_ms.to_string()),
    K::new("message.timestamp.difference.max.ms", Long, LONG_MAX, "Deprecated (KIP-937): the symmetric bound used for whichever of the two above is left at its default.")
        .valid(AtLeast(0))
        .synonyms(&["log.message.timestamp.difference.max.ms"])
        .topic("LogConfig::timestamp_difference_max_ms", |log, _| log.timestamp_difference_max_ms.to_string()),
    K::new("message.timestamp.type", String, Some("CreateTime"), "Whose clock stamps records: the producer's (CreateTime) or the broker's at append (LogAppendTime).")
        .valid(OneOf(&["CreateTime", "LogAppendTime"]))
        .synonyms(&["log.message.timestamp.type"])
        .topic("LogConfig::timestamp_type", |log, _| log.timestamp_type.name().to_string()),
    K::new("min.cleanable.dirty.ratio", Double, Some("0.5"), "The share of a compacted log that must be dirty (not yet cleaned) before the cleaner picks it.")
        .valid(DoubleBetween(0.0, 1.0))
        .synonyms(&["log.cleaner.min.cleanable.ratio"])
        .topic("LogConfig::min_cleanable_dirty_ratio", |log, _| java_double(log.min_cleanable_dirty_ratio.get())),
    K::new("min.compaction.lag.ms", Long, Some("0"), "A record stays uncompacted at least this long (KIP-58).")
        .valid(AtLeast(0))
        .synonyms(&["log.cleaner.min.compaction.lag.ms"])
        .topic("LogConfig::min_compaction_lag_ms", |log, _| log.min_compaction_lag_ms.to_string()),
    K::new("min.insync.replicas", Int, Some("1"), "With acks=all, the fewest in-sync replicas a write needs; fewer and it fails with NOT_ENOUGH_REPLICAS.")
        .valid(AtLeast(1))
        .synonyms(&["min.insync.replicas"])
        .topic("ReplicationConfig::min_insync_replicas", |_, c| c.replication.min_insync_replicas.to_string()),
    K::new("preallocate", Boolean, Some("false"), "Allocate a new segment's file at its full size up front.")
        .synonyms(&["log.preallocate"]),
    K::new("remote.storage.enable", Boolean, Some("false"), "Tier old segments to remote storage (spool has no tiered storage).")
        .synonyms(&[]),
    K::new("retention.bytes", Long, Some("-1"), "Delete the oldest segments while a partition's log is larger than this; -1 for no limit.")
        .synonyms(&["log.retention.bytes"])
        .topic("LogConfig::retention_bytes", |log, _| log.retention_bytes.to_string()),
    K::new("retention.ms", Long, Some("604800000"), "Delete segments whose newest record is older than this; -1 keeps them forever.")
        .valid(AtLeast(-1))
        .synonyms(&["log.retention.ms", "log.retention.minutes", "log.retention.hours"])
        .topic("LogConfig::retention_ms", |log, _| log.retention_ms.to_string()),
    K::new("segment.bytes", Int, Some("1073741824"), "Roll to a new segment file when the active one reaches this size.")
        .valid(AtLeast(14))
        .synonyms(&["log.segment.bytes"])
        .topic("LogConfig::segment_bytes", |log, _| log.segment_bytes.to_string()),
    K::new("segment.index.bytes", Int, Some("10485760"), "The size of a segment's offset and time indexes; a full index rolls the segment. At least 12, one time-index entry.")
        .valid(AtLeast(12))
        .synonyms(&["log.index.size.max.bytes"])
        .topic("LogConfig::segment_index_bytes", |log, _| log.segment_index_bytes.to_string()),
    K::new("segment.jitter.ms", Long, Some("0"), "A random amount up to this is taken off segment.ms, so segments of many partitions do not roll at once.")
        .valid(AtLeast(0))
        .synonyms(&["log.roll.jitter.ms", "log.roll.jitter.hours"]),
    K::new("segment.ms", Long, Some("604800000"), "Roll to a new segment when the active one's first record is this old, so retention can delete it.")
        .valid(AtLeast(1))
        .synonyms(&["log.roll.ms", "log.roll.hours"])
        .topic("LogConfig::segment_ms", |log, _| log.segment_ms.to_string()),
    K::new("unclean.leader.election.enable", Boolean, Some("false"), "May a replica outside the ISR become leader when none inside is alive, losing acknowledged writes.")
        .synonyms(&["unclean.leader.election.enable"])
        .topic("ReplicationConfig::unclean_leader_election", |_, c| c.replication.unclean_leader_election.to_string()),
];
