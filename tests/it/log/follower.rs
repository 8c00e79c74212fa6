//! The log side of a follower (chapter 6): `Log::append_as_follower`, Kafka's
//! `UnifiedLog.appendAsFollower`, copies the leader's batches as they are —
//! their offsets, partition leader epochs and timestamps — after checking
//! their framing and CRC and that their offsets continue the log; and
//! `Log::truncate_fully_and_start_at`, what a follower does when its fetch
//! offset fell below the leader's log start.

use spool::format::batch::LOG_OVERHEAD;
use spool::log::ReadOptions;
use spool::replication::LEADER_EPOCH_CHECKPOINT_FILE;

use super::*;

fn mem_log(config: &LogConfig) -> Log<MemStorage> {
    Log::open(MemStorage::new(), config.clone(), OpenOptions::default(), T0).expect("open").0
}

/// Every byte of `log` from `offset` to its end, as a fetch would carry it.
fn bytes_from<S: Storage>(log: &Log<S>, mut offset: i64) -> BytesMut {
    let mut out = BytesMut::new();
    let options =
        ReadOptions { max_bytes: u32::MAX, max_offset: None, min_one_batch: true, skip_emptied_tail: false };
    while let Some(region) = log.read_with(offset, options).expect("read") {
        let bytes = region.read_bytes().expect("region");
        let mut rest = bytes.clone();
        while !rest.is_empty() {
            let (batch, tail) = RecordBatch::parse(&rest).expect("whole batches");
            offset = batch.next_offset();
            rest = tail;
        }
        out.extend_from_slice(&bytes);
    }
    out
}

/// A leader with three batches: epochs 0, 0 and 3, on a `LogAppendTime` topic
/// so the leader's stamp is part of what the follower must copy.
fn leader() -> Log<MemStorage> {
    let config = LogConfig { timestamp_type: TimestampType::LogAppendTime, ..LogConfig::default() };
    let mut a = mem_log(&config);
    for (i, epoch) in [0, 0, 3].into_iter().enumerate() {
        a.append(bytes_of(&simple(2 + i, T0, "a").build()), epoch, T0 + 1000 * i as i64).unwrap();
    }
    a
}

fn file_data(storage: &MemStorage) -> BTreeMap<String, Vec<u8>> {
    storage.files.iter().map(|(name, f)| (name.clone(), f.data.clone())).collect()
}

/// The follower's log holds the leader's batches byte for byte: base offsets,
/// partition leader epochs and the leader's LogAppendTime stamp kept, not
/// reassigned (`appendAsFollower`: no offset assignment, no epoch stamping);
/// the epoch cache learns each epoch at its batch's base offset.
#[test]
fn a_follower_copies_the_leaders_batches_as_they_are() {
    let a = leader();
    let mut b = mem_log(&LogConfig::default());
    let info = b.append_as_follower(bytes_from(&a, 0)).unwrap();
    assert_eq!((info.first_offset, info.last_offset, info.records), (0, 8, 9));
    assert_eq!(info.log_append_time, -1, "the follower stamps nothing");
    assert_eq!(b.log_end_offset(), 9);
    assert_eq!(bytes_from(&b, 0), bytes_from(&a, 0));
    assert_eq!(b.leader_epoch_cache(), a.leader_epoch_cache());
    assert_eq!(
        b.storage().read_file(LEADER_EPOCH_CHECKPOINT_FILE).unwrap(),
        Some(b"0\n2\n0 0\n3 5\n".to_vec())
    );
}

/// An append that starts below the log end is Kafka's
/// `UnexpectedAppendOffsetException`, and writes nothing.
#[test]
fn an_append_below_the_log_end_is_refused() {
    let a = leader();
    let mut b = mem_log(&LogConfig::default());
    b.append_as_follower(bytes_from(&a, 0)).unwrap();
    let before = file_data(b.storage());
    let err = b.append_as_follower(bytes_from(&a, 2)).unwrap_err();
    assert!(
        matches!(err, LogError::UnexpectedAppendOffset { first_offset: 2, log_end_offset: 9 }),
        "{err:?}"
    );
    assert_eq!(file_data(b.storage()), before);
    assert_eq!(b.log_end_offset(), 9);
}

/// Batches whose offsets do not increase are Kafka's
/// `OffsetsOutOfOrderException`: nothing of the append is written, not even
/// the batches before the bad one.
#[test]
fn offsets_that_do_not_increase_are_refused() {
    let a = leader();
    let mut b = mem_log(&LogConfig::default());
    let mut twice = bytes_from(&a, 0);
    twice.extend_from_slice(&bytes_from(&a, 2));
    let err = b.append_as_follower(twice).unwrap_err();
    assert!(matches!(err, LogError::OffsetsOutOfOrder { last_offset: 8, next_base_offset: 2 }), "{err:?}");
    assert_eq!(b.log_end_offset(), 0);
    assert_eq!(b.size_in_bytes(), 0);
    assert!(b.leader_epoch_cache().is_empty());
}

/// A first batch above the log end is taken, as Kafka's follower takes it: a
/// compacted leader's log has gaps, and the follower's must have the same.
#[test]
fn a_gap_above_the_log_end_is_kept() {
    let a = leader();
    let mut b = mem_log(&LogConfig::default());
    let info = b.append_as_follower(bytes_from(&a, 2)).unwrap();
    assert_eq!((info.first_offset, info.last_offset), (2, 8));
    assert_eq!(b.log_end_offset(), 9);
    assert_eq!(b.read_batches(0).unwrap().first().map(RecordBatch::base_offset), Some(2));
}

/// A gap wider than a segment's relative offsets (32 bits) on a new log: the
/// empty segment cannot index the batch, so the log starts its segment at
/// the batch instead (Kafka rolls there: `canConvertToRelativeOffset`).
#[test]
fn a_gap_past_the_empty_segments_reach_starts_a_segment_there() {
    let far = 1i64 << 40;
    let mut b = mem_log(&small_config(10 * 1024 * 1024, 0));
    for base in [far, far + 2] {
        let mut bytes = bytes_of(&simple(2, T0, "far").build());
        bytes[..8].copy_from_slice(&base.to_be_bytes());
        b.append_as_follower(bytes).unwrap();
    }
    let bases: Vec<i64> = b.segments().map(|s| s.base_offset()).collect();
    assert_eq!(bases, [far]);
    assert_eq!(b.log_end_offset(), far + 4);
    let read: Vec<i64> = b.read_batches(far).unwrap().iter().map(RecordBatch::base_offset).collect();
    assert_eq!(read, [far, far + 2]);
}

/// An empty fetch answer appends nothing and is not an error.
#[test]
fn an_empty_append_is_a_no_op() {
    let mut b = mem_log(&LogConfig::default());
    let info = b.append_as_follower(BytesMut::new()).unwrap();
    assert_eq!((info.first_offset, info.last_offset, info.records), (0, -1, 0));
    assert_eq!(b.log_end_offset(), 0);
}

/// A fetch answer cut by its byte limit ends in part of a batch: the whole
/// batches before it are appended, the part dropped, and the next fetch (from
/// the new log end) brings the batch whole.
#[test]
fn a_trailing_partial_batch_is_dropped() {
    let a = leader();
    let all = bytes_from(&a, 0);
    let last_batch_size = bytes_from(&a, 5).len();
    for cut in [1, LOG_OVERHEAD - 1, LOG_OVERHEAD + 1, last_batch_size - 1] {
        let mut b = mem_log(&LogConfig::default());
        let partial = BytesMut::from(&all[..all.len() - last_batch_size + cut]);
        let info = b.append_as_follower(partial).unwrap();
        assert_eq!((info.last_offset, b.log_end_offset()), (4, 5), "cut {cut}");
        b.append_as_follower(bytes_from(&a, 5)).unwrap();
        assert_eq!(bytes_from(&b, 0), all);
    }
    // Only a partial batch: nothing to append.
    let mut b = mem_log(&LogConfig::default());
    let info = b.append_as_follower(BytesMut::from(&all[..LOG_OVERHEAD + 3])).unwrap();
    assert_eq!((info.records, b.log_end_offset()), (0, 0));
}

/// A batch whose CRC does not match is refused whole, as on the leader
/// (`CORRUPT_MESSAGE`), and nothing of the append is written.
#[test]
fn a_corrupt_batch_is_refused() {
    let a = leader();
    let mut bytes = bytes_from(&a, 0);
    let last = bytes.len() - 1;
    bytes[last] ^= 0x40;
    let mut b = mem_log(&LogConfig::default());
    let err = b.append_as_follower(bytes).unwrap_err();
    assert!(matches!(err, LogError::CorruptBatch(_)), "{err:?}");
    assert_eq!((b.log_end_offset(), b.size_in_bytes()), (0, 0));
}

/// A batch whose offset range goes backwards (a negative lastOffsetDelta) or
/// past the largest offset is refused as corrupt, never written: it would
/// move the log end back, or overflow it.
#[test]
fn a_batch_with_an_impossible_offset_range_is_refused() {
    for (base, delta) in [(0i64, -1i32), (i64::MAX - 1, 3)] {
        let mut bytes = bytes_of(&simple(2, T0, "x").build());
        bytes[..8].copy_from_slice(&base.to_be_bytes());
        // lastOffsetDelta is under the CRC: recompute it as a leader would have.
        bytes[23..27].copy_from_slice(&delta.to_be_bytes());
        let crc = crc32c::crc32c(&bytes[21..]);
        bytes[17..21].copy_from_slice(&crc.to_be_bytes());
        let mut b = mem_log(&LogConfig::default());
        let err = b.append_as_follower(bytes).unwrap_err();
        assert!(matches!(err, LogError::CorruptBatch(_)), "base {base} delta {delta}: {err:?}");
        assert_eq!((b.log_end_offset(), b.size_in_bytes()), (0, 0));
    }
}

/// The follower's producer table follows the leader's batches, but never
/// refuses one (Kafka's `ProducerAppendInfo` with origin REPLICATION: no
/// sequence check, an older producer epoch only warned about): here a batch of
/// producer 7 at epoch 1 after one at epoch 2, and a sequence gap, are copied.
#[test]
fn producer_state_follows_without_refusing() {
    let mut b = mem_log(&LogConfig::default());
    let idempotent = |base: i64, epoch: i16, seq: i32| {
        let mut builder = BatchBuilder::new(Compression::None).producer(7, epoch, seq);
        builder.append(T0, None, Some(b"v"), &[]);
        let mut bytes = bytes_of(&builder.build());
        bytes[..8].copy_from_slice(&base.to_be_bytes());
        bytes
    };
    b.append_as_follower(idempotent(0, 2, 0)).unwrap();
    b.append_as_follower(idempotent(1, 1, 5)).unwrap();
    b.append_as_follower(idempotent(2, 2, 40)).unwrap();
    assert_eq!(b.log_end_offset(), 3);
    let entry = b.producer_state().entry(7).expect("producer 7 known");
    assert_eq!(entry.producer_epoch, 2);
    // A leader appending the next batch in sequence would accept it.
    let mut leader_view = b.clone();
    let mut next = BatchBuilder::new(Compression::None).producer(7, 2, 41);
    next.append(T0, None, Some(b"w"), &[]);
    assert!(!leader_view.append(bytes_of(&next.build()), 0, T0).unwrap().duplicate);
}

/// `log.flush.interval.messages` holds for a follower as for a leader.
#[test]
fn flush_messages_is_honoured() {
    let a = leader();
    let config = LogConfig { flush_interval_messages: 4, ..LogConfig::default() };
    let mut b = mem_log(&config);
    b.append_as_follower(bytes_from(&a, 0).split_to(first_batch_len(&a))).unwrap();
    assert_eq!(b.recovery_point(), 0, "2 records: below the interval");
    b.append_as_follower(bytes_from(&a, 2)).unwrap();
    assert_eq!(b.recovery_point(), 9, "9 records: flushed");
}

fn first_batch_len<S: Storage>(log: &Log<S>) -> usize {
    log.read_batches(0).unwrap()[0].size_in_bytes()
}

/// A follower whose fetch offset is below the leader's log start deletes its
/// whole log and starts empty there (Kafka's `truncateFullyAndStartAt`): log
/// start, log end, recovery point and high watermark all at the new offset,
/// no epochs, no producers, one empty segment named by the offset.
#[test]
fn truncate_fully_and_start_at_empties_the_log() {
    let a = leader();
    let mut b = mem_log(&small_config(300, 0));
    b.append_as_follower(bytes_from(&a, 0)).unwrap();
    assert!(b.segments().count() > 1);
    b.update_high_watermark(5);
    b.truncate_fully_and_start_at(40).unwrap();
    assert_eq!((b.log_start_offset(), b.log_end_offset(), b.recovery_point()), (40, 40, 40));
    assert_eq!(b.high_watermark(), 40);
    assert!(b.leader_epoch_cache().is_empty());
    assert_eq!(b.producer_state().producers().len(), 0);
    let bases: Vec<i64> = b.segments().map(|s| s.base_offset()).collect();
    assert_eq!(bases, [40]);
    assert_eq!(b.size_in_bytes(), 0);
    assert_eq!(b.storage().read_file(LEADER_EPOCH_CHECKPOINT_FILE).unwrap(), Some(b"0\n0\n".to_vec()));
    // It is a log again: the leader's batches from 40 on would follow.
    let mut shifted = bytes_of(&simple(2, T0, "s").build());
    shifted[..8].copy_from_slice(&40i64.to_be_bytes());
    b.append_as_follower(shifted).unwrap();
    assert_eq!(b.log_end_offset(), 42);
    // And it stays so across a clean reopen.
    let storage = b.close().unwrap();
    let options = OpenOptions { log_start_offset: 40, clean_shutdown: true, ..OpenOptions::default() };
    let (b, _) = Log::open(storage, LogConfig::default(), options, T0).unwrap();
    assert_eq!((b.log_start_offset(), b.log_end_offset()), (40, 42));
}

/// One step of the leader's life in the property below.
#[derive(Debug, Clone)]
struct LeaderAppend {
    spec: BatchSpec,
    epoch: i32,
    /// Producer 11's epoch, for an idempotent batch.
    producer: Option<i16>,
}

fn leader_appends() -> impl Strategy<Value = Vec<LeaderAppend>> {
    let step = (0..3i32, proptest::option::weighted(0.3, 0..2i16));
    (batches_strategy(16), proptest::collection::vec(step, 16)).prop_map(|(specs, steps)| {
        let mut epoch = 0;
        specs
            .into_iter()
            .zip(steps)
            .map(|(spec, (bump, producer))| {
                epoch += bump;
                LeaderAppend { spec, epoch, producer }
            })
            .collect()
    })
}

/// The batch of one step; an idempotent one continues producer 11's
/// sequence, from 0 again when its epoch changes.
fn build(step: &LeaderAppend, producer: &mut (i16, i32)) -> BytesMut {
    let mut builder = BatchBuilder::new(step.spec.compression);
    if let Some(epoch) = step.producer {
        if epoch != producer.0 {
            *producer = (epoch, 0);
        }
        builder = builder.producer(11, epoch, producer.1);
        producer.1 += step.spec.records.len() as i32;
    }
    for r in &step.spec.records {
        let headers: Vec<(&str, Option<&[u8]>)> =
            r.headers.iter().map(|(k, v)| (k.as_str(), v.as_deref())).collect();
        builder.append(r.timestamp, r.key.as_deref(), r.value.as_deref(), &headers);
    }
    bytes_of(&builder.build())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// For any leader appends on log A — rising epochs, some idempotent,
    /// `LogAppendTime` or not, tiny segments and indexes — a follower B that
    /// copies A with `append_as_follower`, in chunks cut anywhere (a fetch cut
    /// by its byte limit), ends with byte-identical files (segments, indexes,
    /// producer snapshots, `leader-epoch-checkpoint`) and the same epoch cache.
    #[test]
    fn a_follower_copy_is_byte_identical(
        steps in leader_appends(),
        config in config_strategy(),
        append_time in any::<bool>(),
        cuts in proptest::collection::vec(1usize..900, 0..24),
    ) {
        let mut config = config;
        config.timestamp_type = if append_time { TimestampType::LogAppendTime } else { TimestampType::CreateTime };
        let mut producer = (0, 0);
        let batches: Vec<BytesMut> = steps.iter().map(|s| build(s, &mut producer)).collect();
        let largest = batches.iter().map(BytesMut::len).max().unwrap_or(0) as u64;
        config.segment_bytes = config.segment_bytes.max(largest);
        let mut a = mem_log(&config);
        for (i, (step, bytes)) in steps.iter().zip(batches).enumerate() {
            // A fenced producer epoch is refused by the leader, as it should be.
            let _ = a.append(bytes, step.epoch, T0 + 10 * i as i64);
        }
        let mut b = mem_log(&config);
        for cut in cuts {
            let chunk = bytes_from(&a, b.log_end_offset());
            let len = cut.min(chunk.len());
            b.append_as_follower(BytesMut::from(&chunk[..len])).unwrap();
        }
        b.append_as_follower(bytes_from(&a, b.log_end_offset())).unwrap();
        prop_assert_eq!(b.log_end_offset(), a.log_end_offset());
        prop_assert_eq!(b.leader_epoch_cache(), a.leader_epoch_cache());
        prop_assert_eq!(file_data(b.storage()), file_data(a.storage()));
    }
}
