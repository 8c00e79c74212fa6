//! Choosing a partition for a record, as the Java client's default
//! partitioner does.
//!
//! A keyed record goes to `toPositive(murmur2(key)) % partitions`: the same key
//! always lands in the same partition (while the partition count stays the
//! same), which is what gives Kafka per-key ordering. Every Kafka client that
//! wants to agree with the Java one on where a key lives uses this exact hash —
//! librdkafka calls it `murmur2_random`, kafkajs its `JavaCompatiblePartitioner`.
//!
//! A record without a key has no home. Before Kafka 2.4 the `DefaultPartitioner`
//! spread them round-robin ([`RoundRobin`], still used by `spool produce`'s
//! console-producer behaviour): each record to the next partition, so with
//! many partitions every batch holds one record and `linger.ms` buys nothing.
//! KIP-480 made the partitioner *sticky*: stay on one partition until its batch
//! is sent, so records pile up into full batches. That skewed load (a partition
//! on a fast broker drains sooner, so it gets new batches more often); KIP-794
//! (Kafka 3.3, the *uniform sticky* partitioner) instead switches after
//! `batch.size` bytes were produced to a partition, so every partition gets the
//! same number of bytes over time. [`StickyPartitioner`] is KIP-794's rule,
//! used by chapter 4's producer.
//!
//! ```text
//!  batch.size = 16 KiB, 3 partitions, 1 KiB records
//!  records  1–16 ─▶ p1   (16 KiB produced: switch)
//!  records 17–32 ─▶ p2   (switch)
//!  records 33–48 ─▶ p0   …  each partition gets 16 KiB per round
//! ```

/// MurmurHash2, 32-bit, with the seed and the byte order of Kafka's
/// `Utils.murmur2`. The result is an `i32` because Java has no unsigned ints,
/// and the partitioner's `toPositive` depends on its sign bit.
// ANCHOR: murmur2
pub fn murmur2(data: &[u8]) -> i32 {
    const SEED: u32 = 0x9747_b28c;
    const M: u32 = 0x5bd1_e995;
    const R: u32 = 24;
    let mut h = SEED ^ data.len() as u32;
    let mut chunks = data.chunks_exact(4);
    for chunk in &mut chunks {
        // Little-endian words, whatever the platform.
        let mut k = u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M);
        h ^= k;
    }
    // The last one to three bytes, mixed in as Java's fall-through switch does.
    let tail = chunks.remainder();
    if tail.len() >= 3 {
        h ^= u32::from(tail[2]) << 16;
    }
    if tail.len() >= 2 {
        h ^= u32::from(tail[1]) << 8;
    }
    if !tail.is_empty() {
        h ^= u32::from(tail[0]);
        h = h.wrapping_mul(M);
    }
    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^= h >> 15;
    h as i32
}
// ANCHOR_END: murmur2

/// Kafka's `Utils.toPositive`: clears the sign bit (not `abs`, which overflows
/// on `i32::MIN`).
pub fn to_positive(n: i32) -> i32 {
    n & 0x7fff_ffff
}

/// The partition of a keyed record among `partitions` (which must be > 0).
pub fn partition_for_key(key: &[u8], partitions: i32) -> i32 {
    assert!(partitions > 0, "a topic has at least one partition");
    to_positive(murmur2(key)) % partitions
}

/// Round-robin over partitions for records without a key.
#[derive(Debug, Clone, Default)]
pub struct RoundRobin {
    next: u32,
}

impl RoundRobin {
    /// Starts at `first`, so that several producers do not all begin on
    /// partition 0.
    pub fn starting_at(first: u32) -> Self {
        RoundRobin { next: first }
    }

    /// The next partition among `partitions` (which must be > 0).
    pub fn next(&mut self, partitions: i32) -> i32 {
        assert!(partitions > 0, "a topic has at least one partition");
        let p = (self.next % partitions as u32) as i32;
        self.next = self.next.wrapping_add(1);
        p
    }
}

// ANCHOR: sticky
/// KIP-794's uniform sticky partitioner for records without a key: every such
/// record of a topic goes to the topic's current partition until `batch.size`
/// bytes have been produced to it, then the topic moves on.
///
/// Differences from Kafka's `BuiltInPartitioner`: the next partition is the
/// following one (round-robin from a per-producer start), not a random one, so
/// the load is exactly even and tests are deterministic; and there is no
/// *adaptive* part (`partitioner.adaptive.partitioning.enable`, which weighs
/// partitions by their leader's queue length, and `partitioner.availability.timeout.ms`).
#[derive(Debug, Clone)]
pub struct StickyPartitioner {
    batch_size: usize,
    start: u32,
    topics: std::collections::BTreeMap<String, Sticky>,
}

#[derive(Debug, Clone, Copy)]
struct Sticky {
    partition: i32,
    produced_bytes: usize,
}

impl StickyPartitioner {
    /// Switches partitions after `batch_size` bytes; each topic's first
    /// partition is derived from `start`, so producers do not all begin on 0.
    pub fn new(batch_size: usize, start: u32) -> Self {
        StickyPartitioner { batch_size: batch_size.max(1), start, topics: Default::default() }
    }

    /// The partition for the next unkeyed record of `topic` (among `partitions`, > 0).
    pub fn partition(&mut self, topic: &str, partitions: i32) -> i32 {
        assert!(partitions > 0, "a topic has at least one partition");
        let start = (self.start % partitions as u32) as i32;
        let sticky =
            self.topics.entry(topic.to_string()).or_insert(Sticky { partition: start, produced_bytes: 0 });
        if sticky.partition >= partitions {
            // The topic shrank under us (a recreated topic): start over.
            *sticky = Sticky { partition: start, produced_bytes: 0 };
        }
        sticky.partition
    }

    /// Records that a record of `bytes` went to `partition`, as chosen by
    /// [`Self::partition`]; after `batch.size` bytes the topic switches to the
    /// next partition.
    pub fn on_append(&mut self, topic: &str, partition: i32, bytes: usize, partitions: i32) {
        let Some(sticky) = self.topics.get_mut(topic) else { return };
        if sticky.partition != partition {
            return; // a keyed record or another partition: not the sticky one
        }
        sticky.produced_bytes += bytes;
        if sticky.produced_bytes >= self.batch_size {
            sticky.partition = (sticky.partition + 1) % partitions.max(1);
            sticky.produced_bytes = 0;
        }
    }
}
// ANCHOR_END: sticky

#[cfg(test)]
mod tests {
    use super::*;

    /// murmur2 matches the Java client's own test vectors (`UtilsTest.testMurmur2`
    /// in apache/kafka), so spool and Java producers put a key in the same partition.
    #[test]
    fn murmur2_matches_the_java_client() {
        let cases: &[(&[u8], i32)] = &[
            (b"21", -973_932_308),
            (b"foobar", -790_332_482),
            (b"a-little-bit-long-string", -985_981_536),
            (b"a-little-bit-longer-string", -1_486_304_829),
            (b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58_897_971),
            (b"abc", 479_470_107),
        ];
        for &(data, expected) in cases {
            assert_eq!(murmur2(data), expected, "murmur2({:?})", String::from_utf8_lossy(data));
        }
    }

    /// More vectors, generated by kafkajs from the Java algorithm for its
    /// Java-compatible partitioner (`defaultJava/murmur2.spec.js`): keys of
    /// every tail length 0–3 and over several words. (kafkajs's *legacy*
    /// partitioner hashes differently: that is the bug it was renamed for.)
    #[test]
    fn murmur2_matches_java_generated_vectors() {
        let cases: &[(&str, i32)] = &[
            ("0", 971_027_396),
            ("1", -1_993_445_489),
            ("128", -326_012_175),
            ("2187", -1_508_407_203),
            ("16384", -325_739_742),
            ("78125", -1_654_490_814),
            ("279936", 1_462_227_128),
            ("10000000", -1_830_336_757),
            ("170859375", -1_658_323_481),
            ("100:48069", 1_009_543_857),
        ];
        for &(data, expected) in cases {
            assert_eq!(murmur2(data.as_bytes()), expected, "murmur2({data:?})");
        }
    }

    /// Keys map into range and never go negative, even when the hash is i32::MIN-like.
    #[test]
    fn partitions_are_in_range() {
        for i in 0..10_000 {
            let key = format!("key-{i}");
            let p = partition_for_key(key.as_bytes(), 7);
            assert!((0..7).contains(&p), "{key} -> {p}");
        }
        assert_eq!(to_positive(i32::MIN), 0);
        assert_eq!(to_positive(-1), i32::MAX);
        // The Java client puts "foobar" in partition toPositive(-790332482) % 4.
        assert_eq!(partition_for_key(b"foobar", 4), (-790_332_482i32 & 0x7fff_ffff) % 4);
    }

    /// Null-key records visit every partition in turn.
    #[test]
    fn round_robin_cycles() {
        let mut rr = RoundRobin::starting_at(2);
        let seen: Vec<i32> = (0..6).map(|_| rr.next(3)).collect();
        assert_eq!(seen, vec![2, 0, 1, 2, 0, 1]);
    }

    /// KIP-480: unkeyed records stay on one partition while less than
    /// `batch.size` bytes went there, so they fill one batch.
    #[test]
    fn sticky_stays_until_batch_size_bytes() {
        let mut sticky = StickyPartitioner::new(1000, 7);
        let first = sticky.partition("t", 4);
        assert_eq!(first, 3, "starts at 7 % 4");
        for _ in 0..9 {
            assert_eq!(sticky.partition("t", 4), first);
            sticky.on_append("t", first, 100, 4);
        }
        assert_eq!(sticky.partition("t", 4), first, "900 bytes: still under batch.size");
        sticky.on_append("t", first, 100, 4);
        assert_ne!(sticky.partition("t", 4), first, "1000 bytes: switched (KIP-794)");
        // Topics are independent.
        assert_eq!(sticky.partition("other", 4), 3);
    }

    /// KIP-794: over time every partition gets the same bytes, whatever the
    /// record sizes, because the switch is by bytes, not by batches.
    #[test]
    fn sticky_spreads_evenly_over_time() {
        let mut sticky = StickyPartitioner::new(16_384, 0);
        let mut bytes = [0usize; 5];
        for i in 0..50_000usize {
            let size = 50 + (i * 37) % 400; // 50–449 bytes
            let p = sticky.partition("t", 5);
            sticky.on_append("t", p, size, 5);
            bytes[p as usize] += size;
        }
        let (min, max) = (*bytes.iter().min().unwrap(), *bytes.iter().max().unwrap());
        // Each switch overshoots batch.size by less than one record, so the
        // partitions differ by at most one round (batch.size + a record).
        assert!(max - min <= 16_384 + 450, "{bytes:?}");
        assert!(min > 0, "{bytes:?}");
    }

    /// A partition count that shrank (topic recreated) never yields a partition
    /// out of range; appends to a partition other than the sticky one do not count.
    #[test]
    fn sticky_handles_fewer_partitions_and_other_appends() {
        let mut sticky = StickyPartitioner::new(10, 5);
        assert_eq!(sticky.partition("t", 8), 5);
        assert_eq!(sticky.partition("t", 2), 1);
        sticky.on_append("t", 0, 100, 2); // a keyed record elsewhere
        assert_eq!(sticky.partition("t", 2), 1);
    }
}
