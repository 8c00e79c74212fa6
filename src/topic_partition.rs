//! The name of a partition: a topic and a partition number.
//!
//! Every layer speaks of partitions — the log names its directories after
//! them (`orders-0/`), the checkpoint files list them, the group coordinator
//! keys committed offsets by them, the producer's accumulator batches per
//! partition and the assignor hands them out — so the one type sits at the
//! bottom of the crate, beside the record format, and is re-exported as
//! `crate::TopicPartition` (Kafka's `org.apache.kafka.common.TopicPartition`).

/// A topic name and partition number. Ordered by topic, then partition, so
/// a sorted set of them lists each topic's partitions together, in order (the
/// order assignments and checkpoint files are written in).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TopicPartition {
    pub topic: String,
    pub partition: i32,
}

impl TopicPartition {
    /// Partition `partition` of `topic`.
    pub fn new(topic: impl Into<String>, partition: i32) -> Self {
        TopicPartition { topic: topic.into(), partition }
    }

    /// The partition's directory name, `<topic>-<partition>`.
    pub fn dir_name(&self) -> String {
        format!("{}-{}", self.topic, self.partition)
    }

    /// Parses a directory name; the partition is after the *last* dash, since
    /// topic names may contain dashes.
    pub fn from_dir_name(name: &str) -> Option<Self> {
        let (topic, partition) = name.rsplit_once('-')?;
        if topic.is_empty() {
            return None;
        }
        Some(TopicPartition::new(topic, partition.parse().ok()?))
    }
}

impl std::fmt::Display for TopicPartition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}-{}", self.topic, self.partition)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// A log directory's name gives back its partition, even when the topic
    /// has dashes of its own; a name without a topic is not a partition's.
    #[test]
    fn dir_names_split_at_the_last_dash() {
        let tp = TopicPartition::from_dir_name("my-topic-12").unwrap();
        assert_eq!(tp, TopicPartition::new("my-topic", 12));
        assert_eq!(tp.dir_name(), "my-topic-12");
        assert_eq!(TopicPartition::from_dir_name("nodash"), None);
        assert_eq!(TopicPartition::from_dir_name("-3"), None);
    }

    proptest! {
        /// Partitions sort by topic, then partition number, as the
        /// `(topic, partition)` pairs the assignors once sorted did, so the
        /// assignments they hand out and the order of checkpoint lines stay
        /// the same.
        #[test]
        fn sorts_by_topic_then_partition(
            a in ("[a-c]{0,3}", -2..3i32),
            b in ("[a-c]{0,3}", -2..3i32),
        ) {
            let (ta, tb) = (TopicPartition::new(a.0.clone(), a.1), TopicPartition::new(b.0.clone(), b.1));
            prop_assert_eq!(ta.cmp(&tb), a.cmp(&b));
        }
    }
}
