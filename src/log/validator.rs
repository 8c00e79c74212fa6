//! Chapter 4 — what the broker checks in a producer's batches, and when it
//! recompresses them (Kafka's `LogValidator`).
//!
//! Compression in Kafka is end to end: the producer compresses a whole batch,
//! the broker stores it compressed, the consumer decompresses it. The broker
//! still opens every batch once, on the way in:
//!
//! - it **validates** the records inside — a compressed batch is decompressed
//!   to do so — because a batch it accepts is served to every consumer for as
//!   long as the log keeps it: the record count matches the header, each
//!   record's offset delta is its position, a compacted topic's records have
//!   keys, and clients do not write control batches (only the transaction
//!   coordinator does, chapter 9);
//! - it **keeps the batch as sent** when the topic's `compression.type` is
//!   `producer` (the default) or names the codec the producer used — the common
//!   case, and the cheap one: the bytes go to the log unchanged;
//! - it **recompresses** when the topic names another codec (`uncompressed`,
//!   `gzip`, `snappy`, `lz4`, `zstd`): the records are re-encoded into a new
//!   batch with the topic's codec, keeping the producer id, epoch, base sequence
//!   and transactional flag, so idempotence (chapter 8) sees the same batch.
//!
//! ```text
//!   producer ── gzip batch ──▶ broker: decompress, check records
//!                                 │ topic compression.type = producer | gzip
//!                                 ├──────────────▶ append as sent
//!                                 │ topic compression.type = lz4
//!                                 └─ re-encode ──▶ append the lz4 batch
//! ```
//!
//! A batch refused because of some of its records names each of them
//! (KIP-467): [`ValidationError::RecordErrors`] holds every bad record's
//! index and why, as Kafka's `RecordValidationException` does, so Produce v8+
//! can answer `record_errors` and the client can say which record was at
//! fault. Kafka takes one batch per partition per Produce from a client; spool
//! takes several, and numbers the records across all of them (the same index
//! for the one-batch case every client sends).
//!
//! On a `CreateTime` topic each record's timestamp must lie within the
//! topic's bounds around the broker's clock (KIP-937):
//! `message.timestamp.before.max.ms` into the past and
//! `message.timestamp.after.max.ms` into the future — each, left at its
//! default, taken from the older symmetric `message.timestamp.difference.max.ms`
//! ([`super::LogConfig::timestamp_bounds`]). A batch with a record outside is
//! refused with `INVALID_TIMESTAMP`, every such record named. The clock is the
//! caller's: the broker passes its "now" in, so this module stays sans-IO and
//! its tests pick any instant. A `LogAppendTime` topic is not checked: the
//! broker overwrites the timestamps as it appends.
//!
//! ```text
//!        now - before.max.ms          now          now + after.max.ms
//!   ──────────────[━━━━━━━━━━━━━━━━━━━━┿━━━━━━━━━━━━━━━━━━━━━]──────────────▶
//!     refused            accepted (bounds included)              refused
//! ```
//!
//! Kafka also assigns offsets here; spool assigns them (in place) in
//! [`super::Log::append`].
//! zstd needs Produce v7 or later (KIP-110): an older client could not read it
//! back, so the broker refuses it with `UNSUPPORTED_COMPRESSION_TYPE`.

use bytes::BytesMut;

use super::validate_batches;
use crate::format::batch::{BatchError, RecordBatch, TimestampType};
use crate::format::builder::BatchBuilder;
use crate::format::compression::Compression;

/// A topic's `compression.type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum TopicCompression {
    /// `producer`: keep whatever codec the producer used.
    #[default]
    Producer,
    /// A codec every batch is stored with (`uncompressed` is `Compression::None`).
    Codec(Compression),
}

impl TopicCompression {
    /// Kafka's names: `producer`, `uncompressed` (or `none`), `gzip`, `snappy`,
    /// `lz4`, `zstd`.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "producer" => Some(TopicCompression::Producer),
            "uncompressed" | "none" => Some(TopicCompression::Codec(Compression::None)),
            other => Compression::from_name(other).map(TopicCompression::Codec),
        }
    }

    /// The name Kafka shows for it (DescribeConfigs).
    pub fn name(self) -> &'static str {
        match self {
            TopicCompression::Producer => "producer",
            TopicCompression::Codec(Compression::None) => "uncompressed",
            TopicCompression::Codec(codec) => codec.name(),
        }
    }
}

/// What a topic asks of incoming batches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ValidationPolicy {
    pub compression: TopicCompression,
    /// `cleanup.policy` includes `compact`: every record needs a key.
    pub compacted: bool,
    /// The Produce request's version allows zstd (v7+).
    pub zstd_allowed: bool,
    /// How far a record's timestamp may stray from the broker's clock.
    pub timestamps: TimestampBounds,
}

/// A topic's bounds on its records' timestamps (KIP-937), as the log config
/// resolves them ([`super::LogConfig::timestamp_bounds`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimestampBounds {
    /// `message.timestamp.type`: only `CreateTime` timestamps are checked.
    pub timestamp_type: TimestampType,
    /// How far before the broker's clock a record may be stamped.
    pub before_max_ms: i64,
    /// How far after the broker's clock a record may be stamped.
    pub after_max_ms: i64,
}

impl Default for TimestampBounds {
    /// Kafka's defaults: `CreateTime`, no bound either way (`Long.MAX_VALUE`).
    fn default() -> Self {
        TimestampBounds {
            timestamp_type: TimestampType::CreateTime,
            before_max_ms: i64::MAX,
            after_max_ms: i64::MAX,
        }
    }
}

impl TimestampBounds {
    /// Why a record stamped `timestamp` (at `offset`) is refused at broker
    /// time `now_ms`, in Kafka's words; `None` if it is within the bounds
    /// (they are inclusive) or not checked at all.
    pub fn refuse(&self, timestamp: i64, offset: i64, now_ms: i64) -> Option<String> {
        // -1 is "no timestamp" (Kafka's `RecordBatch.NO_TIMESTAMP`), never checked.
        if self.timestamp_type != TimestampType::CreateTime || timestamp == NO_TIMESTAMP {
            return None;
        }
        // In i128: a default bound (`i64::MAX`) or a wild timestamp cannot overflow.
        let past_ms = i128::from(now_ms) - i128::from(timestamp);
        if past_ms <= i128::from(self.before_max_ms) && -past_ms <= i128::from(self.after_max_ms) {
            return None;
        }
        Some(format!(
            "Timestamp {timestamp} of message with offset {offset} is out of range. \
             The timestamp should be within [{}, {}]",
            now_ms.saturating_sub(self.before_max_ms),
            now_ms.saturating_add(self.after_max_ms)
        ))
    }
}

/// A record's timestamp when its producer set none.
const NO_TIMESTAMP: i64 = -1;

/// Why the broker refuses a producer's batches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ValidationError {
    /// Framing, CRC or a body that does not decompress: `CORRUPT_MESSAGE`.
    Corrupt(String),
    /// Well-formed bytes holding records the log must not accept: `INVALID_RECORD`.
    InvalidRecord(String),
    /// zstd from a client too old to read it back: `UNSUPPORTED_COMPRESSION_TYPE`.
    UnsupportedCompression(String),
    /// Records of one batch the log must not accept, each named (KIP-467):
    /// `INVALID_RECORD`, with the indexes for `record_errors`. Never empty.
    RecordErrors(Vec<RecordError>),
    /// Records of one batch the log must not accept, at least one for a
    /// timestamp outside the topic's bounds: `INVALID_TIMESTAMP`, with every
    /// record at fault named (a keyless one too), as Kafka's
    /// `processRecordErrors` answers a mix. Never empty.
    InvalidTimestamp(Vec<RecordError>),
}

/// One record refused, as Produce v8+ names it (`BatchIndexAndErrorMessage`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordError {
    /// The record's position among the partition's records in the request.
    pub batch_index: i32,
    pub message: String,
}

impl std::fmt::Display for RecordError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "record {}: {}", self.batch_index, self.message)
    }
}

impl std::fmt::Display for ValidationError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ValidationError::Corrupt(why) => write!(f, "corrupt batch: {why}"),
            ValidationError::InvalidRecord(why) => write!(f, "invalid record: {why}"),
            ValidationError::UnsupportedCompression(why) => write!(f, "unsupported compression: {why}"),
            // Kafka's `LogValidator.processRecordErrors` wording.
            ValidationError::RecordErrors(errors) => {
                let first: Vec<String> = errors.iter().take(3).map(ToString::to_string).collect();
                write!(
                    f,
                    "One or more records have been rejected due to {} record errors in total, \
                     and only showing the first three errors at most: [{}]",
                    errors.len(),
                    first.join(", ")
                )
            }
            ValidationError::InvalidTimestamp(_) => {
                write!(f, "One or more records have been rejected due to invalid timestamp")
            }
        }
    }
}

impl From<BatchError> for ValidationError {
    fn from(e: BatchError) -> Self {
        ValidationError::Corrupt(e.to_string())
    }
}

/// The batches to append, and how many the broker re-encoded.
#[derive(Debug)]
pub struct Validated {
    pub batches: BytesMut,
    pub recompressed: usize,
}

// ANCHOR: validate
/// Checks every record of every batch in `batches` and converts the batches to
/// the topic's codec where it names one the producer did not use. `now_ms`
/// is the broker's clock, which the timestamp bounds are measured from.
pub fn validate_records(
    batches: BytesMut,
    policy: ValidationPolicy,
    now_ms: i64,
) -> Result<Validated, ValidationError> {
    validate_partition_records(batches, policy, "", now_ms)
}

/// [`validate_records`] for the records of partition `tp` (named in the
/// messages of [`ValidationError::RecordErrors`], as Kafka names it).
pub fn validate_partition_records(
    batches: BytesMut,
    policy: ValidationPolicy,
    tp: &str,
    now_ms: i64,
) -> Result<Validated, ValidationError> {
    let sizes = validate_batches(&batches, u64::MAX).map_err(|e| ValidationError::Corrupt(e.to_string()))?;
    let input = batches.freeze();
    let mut out: Option<BytesMut> = None; // a new buffer only once a batch changes
    let mut recompressed = 0;
    let mut at = 0;
    let mut first_index = 0; // the batch's first record among the partition's
    for size in sizes {
        let (batch, _) = RecordBatch::parse(&input.slice(at..at + size))?;
        let checked = check_batch(&batch, policy, Records { first_index, tp, now_ms })?;
        first_index = first_index.saturating_add(batch.records_count().max(0)); // checked against its records
        match checked {
            Some(rebuilt) => {
                let out = out.get_or_insert_with(|| BytesMut::from(&input[..at]));
                out.extend_from_slice(rebuilt.as_bytes());
                recompressed += 1;
            }
            None => {
                if let Some(out) = out.as_mut() {
                    out.extend_from_slice(batch.as_bytes());
                }
            }
        }
        at += size;
    }
    let batches = match out {
        Some(out) => out,
        // Nothing changed: the producer's bytes, back in the buffer the log
        // rewrites offsets in (no copy once every slice of them is dropped).
        None => input.try_into_mut().unwrap_or_else(|shared| BytesMut::from(&shared[..])),
    };
    Ok(Validated { batches, recompressed })
}
// ANCHOR_END: validate

/// Where a batch's records stand among the partition's, for the indexes
/// and messages of its record errors.
#[derive(Clone, Copy)]
struct Records<'a> {
    first_index: i32,
    tp: &'a str,
    /// The broker's clock, for the timestamp bounds.
    now_ms: i64,
}

// ANCHOR: check_batch
/// Checks one batch's records; returns the batch re-encoded with the topic's
/// codec if it must change, `None` if it is stored as sent. Every bad record
/// of the batch is named before it is refused (KIP-467).
fn check_batch(
    batch: &RecordBatch,
    policy: ValidationPolicy,
    at: Records,
) -> Result<Option<RecordBatch>, ValidationError> {
    if batch.is_control() {
        return Err(ValidationError::InvalidRecord("clients may not write control batches".into()));
    }
    let source = batch.compression()?;
    if source == Compression::Zstd && !policy.zstd_allowed {
        return Err(ValidationError::UnsupportedCompression("zstd needs Produce v7 or later".into()));
    }
    // Decompresses a compressed batch, and checks the count against the header.
    let records = batch.decode_records()?;
    let mut errors = Vec::new();
    let mut bad_timestamp = false;
    for (i, record) in records.iter().enumerate() {
        let refuse = |message: String| RecordError { batch_index: at.first_index + i as i32, message };
        let delta = record.offset - batch.base_offset();
        // One error per record, the first found, in Kafka's order: key, then timestamp.
        if delta != i as i64 {
            errors.push(refuse(format!("Record at position {i} has offset delta {delta}, not {i}")));
        } else if policy.compacted && record.key.is_none() {
            errors.push(refuse(format!(
                "Compacted topic cannot accept message without key in topic partition {}.",
                at.tp
            )));
        } else if let Some(why) = policy.timestamps.refuse(record.timestamp, record.offset, at.now_ms) {
            errors.push(refuse(why));
            bad_timestamp = true;
        }
    }
    match (errors.is_empty(), bad_timestamp) {
        (true, _) => {}
        (false, true) => return Err(ValidationError::InvalidTimestamp(errors)),
        (false, false) => return Err(ValidationError::RecordErrors(errors)),
    }
    let target = match policy.compression {
        TopicCompression::Producer => return Ok(None),
        TopicCompression::Codec(codec) if codec == source => return Ok(None),
        TopicCompression::Codec(codec) => codec,
    };
    let mut builder = BatchBuilder::new(target)
        .producer(batch.producer_id(), batch.producer_epoch(), batch.base_sequence())
        .transactional(batch.is_transactional());
    for record in &records {
        let headers: Vec<(&str, Option<&[u8]>)> =
            record.headers.iter().map(|h| (h.key.as_str(), h.value.as_deref())).collect();
        builder.append(record.timestamp, record.key.as_deref(), record.value.as_deref(), &headers);
    }
    Ok(Some(builder.build()))
}
// ANCHOR_END: check_batch

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use proptest::prelude::*;

    use super::*;
    use crate::format::record::Record;

    /// The broker's clock in these tests: any instant will do.
    const NOW: i64 = 1_700_000_000_000;

    fn batch(compression: Compression, keys: &[Option<&str>]) -> RecordBatch {
        let mut builder = BatchBuilder::new(compression).producer(42, 3, 7);
        for (i, key) in keys.iter().enumerate() {
            let value = format!("value-{i}");
            let headers = [("h", Some(&b"x"[..]))];
            builder.append(1_000 + i as i64, key.map(str::as_bytes), Some(value.as_bytes()), &headers);
        }
        builder.build()
    }

    fn concat(batches: &[RecordBatch]) -> BytesMut {
        let mut out = BytesMut::new();
        for b in batches {
            out.extend_from_slice(b.as_bytes());
        }
        out
    }

    fn policy(compression: TopicCompression) -> ValidationPolicy {
        ValidationPolicy { compression, zstd_allowed: true, ..ValidationPolicy::default() }
    }

    fn parse_all(bytes: &[u8]) -> Vec<RecordBatch> {
        let mut rest = Bytes::copy_from_slice(bytes);
        let mut out = Vec::new();
        while !rest.is_empty() {
            let (batch, tail) = RecordBatch::parse(&rest).unwrap();
            out.push(batch);
            rest = tail;
        }
        out
    }

    /// One record as a consumer sees it: key, value, timestamp, headers.
    type Seen = (Option<Bytes>, Option<Bytes>, i64, Vec<(String, Option<Bytes>)>);

    /// What a consumer would see, record by record.
    fn contents(batches: &[RecordBatch]) -> Vec<Seen> {
        let record = |r: Record| {
            (r.key, r.value, r.timestamp, r.headers.into_iter().map(|h| (h.key, h.value)).collect())
        };
        batches.iter().flat_map(|b| b.decode_records().unwrap()).map(record).collect()
    }

    /// `compression.type=producer` (Kafka's default) stores the producer's bytes
    /// unchanged, whatever codec it used.
    #[test]
    fn producer_compression_keeps_the_batches_as_sent() {
        for codec in
            [Compression::None, Compression::Gzip, Compression::Snappy, Compression::Lz4, Compression::Zstd]
        {
            let input = concat(&[batch(codec, &[Some("a"), None]), batch(codec, &[Some("b")])]);
            let out = validate_records(input.clone(), policy(TopicCompression::Producer), NOW).unwrap();
            assert_eq!((out.batches, out.recompressed), (input.clone(), 0), "{codec:?}");
            let same = validate_records(input.clone(), policy(TopicCompression::Codec(codec)), NOW).unwrap();
            assert_eq!(same.batches, input, "{codec:?} onto a {codec:?} topic");
        }
    }

    /// A topic that names another codec gets every batch re-encoded with it:
    /// same records, same producer id, epoch and base sequence.
    #[test]
    fn another_codec_is_recompressed() {
        let sent = [batch(Compression::Gzip, &[Some("a"), Some("b")]), batch(Compression::None, &[None])];
        let out =
            validate_records(concat(&sent), policy(TopicCompression::Codec(Compression::Lz4)), NOW).unwrap();
        assert_eq!(out.recompressed, 2);
        let stored = parse_all(&out.batches);
        assert_eq!(stored.len(), 2);
        for b in &stored {
            b.validate().unwrap();
            assert_eq!(b.compression().unwrap(), Compression::Lz4);
            assert_eq!((b.producer_id(), b.producer_epoch(), b.base_sequence()), (42, 3, 7));
        }
        assert_eq!(contents(&stored), contents(&sent));
        let plain =
            validate_records(concat(&sent), policy(TopicCompression::parse("uncompressed").unwrap()), NOW)
                .unwrap();
        assert_eq!(plain.recompressed, 1, "only the gzip batch changes");
        assert_eq!(contents(&parse_all(&plain.batches)), contents(&sent));
    }

    /// Records a log must not accept are INVALID_RECORD; bytes that are not a
    /// batch, or do not decompress, are CORRUPT_MESSAGE; zstd from a pre-v7
    /// Produce is UNSUPPORTED_COMPRESSION_TYPE.
    #[test]
    fn bad_batches_are_refused_with_kafkas_reasons() {
        let compacted = ValidationPolicy { compacted: true, ..policy(TopicCompression::Producer) };
        let keyless = concat(&[batch(Compression::Gzip, &[Some("a"), None])]);
        let Err(ValidationError::RecordErrors(errors)) = validate_records(keyless, compacted, NOW) else {
            panic!("a keyless record on a compacted topic is named")
        };
        assert_eq!(errors.iter().map(|e| e.batch_index).collect::<Vec<_>>(), vec![1]);
        let keyed = concat(&[batch(Compression::Gzip, &[Some("a")])]);
        assert!(validate_records(keyed, compacted, NOW).is_ok());

        let control = BatchBuilder::new(Compression::None).control(true);
        let mut control = control;
        control.append(1, Some(b"\0\0\0\0"), Some(b"\0\0\0\0\0\0"), &[]);
        let control = concat(&[control.build()]);
        let refused = validate_records(control, policy(TopicCompression::Producer), NOW);
        assert!(matches!(refused, Err(ValidationError::InvalidRecord(_))));

        let zstd = concat(&[batch(Compression::Zstd, &[Some("a")])]);
        let old_client = ValidationPolicy { zstd_allowed: false, ..policy(TopicCompression::Producer) };
        assert!(matches!(
            validate_records(zstd, old_client, NOW),
            Err(ValidationError::UnsupportedCompression(_))
        ));

        // A gzip batch whose body is not gzip, with a CRC that matches it.
        let mut bad = BytesMut::from(batch(Compression::Gzip, &[Some("a")]).as_bytes().as_ref());
        let body = crate::format::batch::HEADER_SIZE;
        bad[body + 2] ^= 0xff;
        let crc = crc32c::crc32c(&bad[crate::format::batch::field::ATTRIBUTES..]);
        bad[crate::format::batch::field::CRC..crate::format::batch::field::CRC + 4]
            .copy_from_slice(&crc.to_be_bytes());
        assert!(matches!(
            validate_records(bad, policy(TopicCompression::Producer), NOW),
            Err(ValidationError::Corrupt(_))
        ));
        assert!(matches!(
            validate_records(BytesMut::from(&b"garbage"[..]), policy(TopicCompression::Producer), NOW),
            Err(ValidationError::Corrupt(_))
        ));
    }

    /// KIP-467: a record whose offset delta is not its position is named by
    /// its index, and the records of later batches are numbered after the
    /// earlier batches' (one index space per partition).
    #[test]
    fn a_record_out_of_place_is_named_by_its_index() {
        let mut bad =
            BytesMut::from(batch(Compression::None, &[Some("a"), Some("b"), Some("c")]).as_bytes().as_ref());
        // Each record: length, attributes, timestamp delta, offset delta (one byte each here).
        let mut at = crate::format::batch::HEADER_SIZE;
        for _ in 0..2 {
            at += 1 + usize::from(bad[at] >> 1); // zigzag length, under 64
        }
        assert_eq!(bad[at + 3], 4, "record 2's offset delta, zigzag");
        bad[at + 3] = 10; // 5
        let crc = crc32c::crc32c(&bad[crate::format::batch::field::ATTRIBUTES..]);
        bad[crate::format::batch::field::CRC..crate::format::batch::field::CRC + 4]
            .copy_from_slice(&crc.to_be_bytes());
        let mut input = concat(&[batch(Compression::None, &[Some("x"), Some("y")])]);
        input.extend_from_slice(&bad);
        let Err(ValidationError::RecordErrors(errors)) =
            validate_partition_records(input, policy(TopicCompression::Producer), "t-0", NOW)
        else {
            panic!("the record out of place is named")
        };
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].batch_index, 4, "two records before this batch, third in it");
        assert!(errors[0].message.contains("offset delta 5"), "{}", errors[0].message);
    }

    /// A batch of uncompressed records stamped `timestamps`, keyed.
    fn stamped(timestamps: &[i64]) -> BytesMut {
        let mut builder = BatchBuilder::new(Compression::None);
        for &timestamp in timestamps {
            builder.append(timestamp, Some(b"k"), Some(b"v"), &[]);
        }
        concat(&[builder.build()])
    }

    /// A CreateTime topic bounded `before` ms into the past and `after` ms into the future.
    fn bounded(before_max_ms: i64, after_max_ms: i64) -> ValidationPolicy {
        let timestamps = TimestampBounds { before_max_ms, after_max_ms, ..TimestampBounds::default() };
        ValidationPolicy { timestamps, ..policy(TopicCompression::Producer) }
    }

    /// The indexes a refusal for timestamps names; panics on any other answer.
    fn refused_indexes(result: Result<Validated, ValidationError>) -> Vec<i32> {
        match result {
            Err(ValidationError::InvalidTimestamp(errors)) => errors.iter().map(|e| e.batch_index).collect(),
            other => panic!("expected INVALID_TIMESTAMP, got {other:?}"),
        }
    }

    /// KIP-937, Kafka's `LogValidator.validateTimestamp`: on a CreateTime
    /// topic a record stamped more than `before.max.ms` before the broker's
    /// clock, or more than `after.max.ms` after it, is INVALID_TIMESTAMP and
    /// named by its index with Kafka's message; a record exactly at either
    /// bound, and one with no timestamp (-1), is accepted.
    #[test]
    fn timestamps_outside_the_bounds_are_named() {
        let (before, after) = (3_600_000, 60_000);
        let sent = stamped(&[NOW, NOW - before, NOW - before - 1, NOW + after, NOW + after + 1, -1]);
        let result = validate_partition_records(sent, bounded(before, after), "t-0", NOW);
        let Err(ValidationError::InvalidTimestamp(errors)) = &result else { panic!("{result:?}") };
        assert_eq!(errors.iter().map(|e| e.batch_index).collect::<Vec<_>>(), vec![2, 4]);
        let expected = format!(
            "Timestamp {} of message with offset 2 is out of range. The timestamp should be within [{}, {}]",
            NOW - before - 1,
            NOW - before,
            NOW + after
        );
        assert_eq!(errors[0].message, expected);
        assert_eq!(
            result.unwrap_err().to_string(),
            "One or more records have been rejected due to invalid timestamp"
        );
        let at_the_bounds = stamped(&[NOW - before, NOW + after, -1]);
        assert!(validate_records(at_the_bounds, bounded(before, after), NOW).is_ok());
    }

    /// A LogAppendTime topic is never refused for its records' timestamps:
    /// the broker stamps them itself as it appends (Kafka checks CreateTime only).
    #[test]
    fn log_append_time_topics_are_not_bounded() {
        let mut policy = bounded(0, 0);
        policy.timestamps.timestamp_type = TimestampType::LogAppendTime;
        assert!(validate_records(stamped(&[0, NOW - 1, NOW + 1, i64::MAX, i64::MIN]), policy, NOW).is_ok());
    }

    /// Kafka's `processRecordErrors`: a batch with a keyless record on a
    /// compacted topic and a record out of bounds is INVALID_TIMESTAMP, and
    /// both records are named.
    #[test]
    fn a_bad_timestamp_among_other_record_errors_makes_the_batch_invalid_timestamp() {
        let mut builder = BatchBuilder::new(Compression::Gzip);
        builder.append(NOW, None, Some(b"keyless"), &[]);
        builder.append(NOW - 10, Some(b"k"), Some(b"old"), &[]);
        let policy = ValidationPolicy { compacted: true, ..bounded(5, 5) };
        assert_eq!(refused_indexes(validate_records(concat(&[builder.build()]), policy, NOW)), vec![0, 1]);
    }

    proptest! {
        /// Whatever the producer's codec and the topic's, the stored batches
        /// hold the same records, every one valid, in the topic's codec (or the
        /// producer's, for `producer`).
        #[test]
        fn conversion_keeps_every_record(
            source in 0usize..5,
            target in 0usize..6,
            keys in proptest::collection::vec(proptest::option::of("[a-z]{0,8}"), 1..20),
        ) {
            let codecs = [Compression::None, Compression::Gzip, Compression::Snappy, Compression::Lz4, Compression::Zstd];
            let keys: Vec<Option<&str>> = keys.iter().map(|k| k.as_deref()).collect();
            let sent = [batch(codecs[source], &keys)];
            let topic = if target == 5 { TopicCompression::Producer } else { TopicCompression::Codec(codecs[target]) };
            let out = validate_records(concat(&sent), policy(topic), NOW).unwrap();
            let stored = parse_all(&out.batches);
            let expected = if target == 5 { codecs[source] } else { codecs[target] };
            for b in &stored {
                prop_assert!(b.validate().is_ok());
                prop_assert_eq!(b.compression().unwrap(), expected);
            }
            prop_assert_eq!(contents(&stored), contents(&sent));
        }

        /// For any bounds and any clock, a CreateTime record is accepted
        /// exactly when `now - before <= timestamp <= now + after`, and is
        /// otherwise named by its index among the partition's records.
        #[test]
        fn only_timestamps_within_the_bounds_pass(
            before in 0i64..10_000_000,
            after in 0i64..10_000_000,
            now in 0i64..4_000_000_000_000,
            offsets in proptest::collection::vec(-20_000_000i64..20_000_000, 1..10),
        ) {
            let timestamps: Vec<i64> = offsets.iter().map(|o| (now + o).max(0)).collect();
            let expected: Vec<i32> = (0..timestamps.len() as i32)
                .filter(|&i| !(now - before..=now + after).contains(&timestamps[i as usize]))
                .collect();
            let mut input = stamped(&[now]); // one good record first: indexes run across batches
            input.extend_from_slice(&stamped(&timestamps));
            let result = validate_records(input, bounded(before, after), now);
            if expected.is_empty() {
                prop_assert!(result.is_ok());
            } else {
                prop_assert_eq!(refused_indexes(result), expected.iter().map(|i| i + 1).collect::<Vec<_>>());
            }
        }
    }
}
