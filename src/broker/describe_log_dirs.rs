//! DescribeLogDirs (KIP-113): what each of this broker's log directories
//! holds — every hosted partition with its size on disk — and, from v4
//! (KIP-827), the volume's total and usable bytes. `kafka-log-dirs.sh` and
//! an admin client's `describe_log_dirs` read it to see where space goes.
//!
//! ```text
//!  DescribeLogDirs{topics: null | [t: [0, 1]]} ──▶
//!    [{log_dir: /data/spool, error: 0, total_bytes, usable_bytes,
//!      topics: [{t, [{0, size 1048576, offset_lag 0, is_future false}]}]}]
//! ```
//!
//! The offset lag is Kafka's `getLogEndOffsetLag` for a current (not
//! future) log: how far the log end is behind the high watermark, never
//! negative — 0 for a leader, and for a follower that has what the leader
//! says is committed. A partition asked for but not hosted here is left
//! out, as Kafka leaves it out; a log directory gone offline answers
//! KAFKA_STORAGE_ERROR with no topics.
//!
//! Simplifications: spool has one log directory (`log.dir`) and no future
//! logs (no AlterReplicaLogDirs), so `is_future_key` is always false; the
//! volume's bytes come from `statvfs` (-1, Kafka's "unknown", where it fails).

use std::collections::BTreeMap;
use std::path::Path;

use kafka_protocol::messages::describe_log_dirs_response::{
    DescribeLogDirsPartition, DescribeLogDirsResult, DescribeLogDirsTopic,
};
use kafka_protocol::messages::{DescribeLogDirsRequest, DescribeLogDirsResponse, TopicName};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;

use super::Broker;
use crate::log::manager::lock;
use crate::TopicPartition;

/// Kafka's `UNKNOWN_VOLUME_BYTES`: the volume's size could not be read.
const UNKNOWN_VOLUME_BYTES: i64 = -1;

impl Broker {
    // ANCHOR: describe_log_dirs
    /// DescribeLogDirs: the one log directory, its hosted partitions (all,
    /// or those asked for) and their sizes in bytes.
    pub fn describe_log_dirs(&self, request: DescribeLogDirsRequest) -> DescribeLogDirsResponse {
        let dir = self.lock_logs().dir().to_path_buf();
        let dir_name = std::fs::canonicalize(&dir).unwrap_or(dir.clone()).display().to_string();
        let result = DescribeLogDirsResult::default().with_log_dir(StrBytes::from_string(dir_name));
        if self.log_dir.is_offline() {
            let error = ResponseError::KafkaStorageError.code();
            return DescribeLogDirsResponse::default().with_results(vec![result.with_error_code(error)]);
        }
        let wanted = request.topics.map(|topics| {
            topics
                .into_iter()
                .flat_map(|t| {
                    let name = t.topic.0.to_string();
                    t.partitions.into_iter().map(move |p| TopicPartition::new(name.clone(), p))
                })
                .collect::<Vec<_>>()
        });
        let mut topics: BTreeMap<String, Vec<DescribeLogDirsPartition>> = BTreeMap::new();
        let hosted = self.read_partitions().clone();
        for (tp, partition) in hosted {
            if wanted.as_ref().is_some_and(|w| !w.contains(&tp)) {
                continue;
            }
            let (size_bytes, log_end_offset) = {
                let log = lock(&partition.log);
                (log.size_in_bytes(), log.log_end_offset())
            };
            let offset_lag = (partition.high_watermark() - log_end_offset).max(0);
            topics.entry(tp.topic).or_default().push(
                DescribeLogDirsPartition::default()
                    .with_partition_index(tp.partition)
                    .with_partition_size(i64::try_from(size_bytes).unwrap_or(i64::MAX))
                    .with_offset_lag(offset_lag)
                    .with_is_future_key(false),
            );
        }
        let topics = topics
            .into_iter()
            .map(|(name, partitions)| {
                DescribeLogDirsTopic::default()
                    .with_name(TopicName(StrBytes::from_string(name)))
                    .with_partitions(partitions)
            })
            .collect();
        let (total_bytes, usable_bytes) = volume_bytes(&dir);
        let result = result.with_topics(topics).with_total_bytes(total_bytes).with_usable_bytes(usable_bytes);
        DescribeLogDirsResponse::default().with_results(vec![result])
    }
    // ANCHOR_END: describe_log_dirs
}

/// The volume holding `dir`: its total and usable (free to an unprivileged
/// writer) bytes, or Kafka's "unknown" for both.
#[cfg(target_os = "linux")]
fn volume_bytes(dir: &Path) -> (i64, i64) {
    let Ok(stat) = rustix::fs::statvfs(dir) else {
        return (UNKNOWN_VOLUME_BYTES, UNKNOWN_VOLUME_BYTES);
    };
    let bytes = |blocks: u64| i64::try_from(blocks.saturating_mul(stat.f_frsize)).unwrap_or(i64::MAX);
    (bytes(stat.f_blocks), bytes(stat.f_bavail))
}

/// Elsewhere spool does not ask the volume.
#[cfg(not(target_os = "linux"))]
fn volume_bytes(_dir: &Path) -> (i64, i64) {
    (UNKNOWN_VOLUME_BYTES, UNKNOWN_VOLUME_BYTES)
}
