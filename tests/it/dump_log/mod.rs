//! `spool dump-log` against Kafka's `kafka-dump-log.sh` (`DumpLogSegments`) format.
//!
//! ```text
//! cargo test --release --test it dump_log::
//! ```
//!
//! Each test writes a log with spool, runs the built `spool` binary on its files
//! and checks the exact lines Kafka's tool prints for them: `Dumping <file>`,
//! `Log starting offset: <base>`, one line per batch with Kafka's fields in
//! Kafka's order, `| offset: …` per record with `--deep-iteration`, ` key: …
//! payload: …` with `--print-data-log`, and `offset: … position: …` /
//! `timestamp: … offset: …` for the indexes. Damaged files must make the tool
//! exit non-zero and say where and why, without a panic. `metadata.rs` checks
//! `--cluster-metadata-decoder` on a controller's `__cluster_metadata-0`,
//! `quorum.rs` on the logs of a real three-controller quorum (multi-process:
//! `cargo build` first).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use bytes::BytesMut;
use spool::format::{BatchBuilder, Compression, RecordBatch};
use spool::log::{DiskStorage, Log, LogConfig, OpenOptions};
use spool::tools::dump_log::{dump_file, DumpOptions};

use crate::common::cluster;
mod metadata;
mod quorum;
mod snapshot;

const T0: i64 = 1_700_000_000_000;

fn spool(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_spool")).args(args).output().expect("run spool")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).expect("UTF-8 output")
}

/// A partition written by spool: three batches (plain with keys and a header,
/// an idempotent producer's with a null key, gzip with a tombstone), leader
/// epoch 4, and an index entry after every batch but the first.
struct Written {
    dir: tempfile::TempDir,
    batches: Vec<RecordBatch>,
}

impl Written {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let config = LogConfig { index_interval_bytes: 0, ..LogConfig::default() };
        let storage = DiskStorage::open(dir.path().join("orders-0")).unwrap();
        let (mut log, _) = Log::open(storage, config, OpenOptions::default(), T0).unwrap();
        let mut a = BatchBuilder::new(Compression::None);
        a.append(T0, Some(b"k0"), Some(b"hello"), &[("h1", Some(b"v")), ("h2", None)]);
        a.append(T0 + 7, Some(b"k1"), Some(b"world"), &[]);
        let mut b = BatchBuilder::new(Compression::None).producer(1000, 2, 5);
        b.append(T0 + 3, None, Some(b"v"), &[]);
        let mut c = BatchBuilder::new(Compression::Gzip);
        c.append(T0 + 20, Some(b"gone"), None, &[]);
        c.append(T0 + 10, Some(b"kept"), Some(b"zipped"), &[]);
        for builder in [a, b, c] {
            log.append(BytesMut::from(&builder.build().as_bytes()[..]), 4, T0).unwrap();
        }
        let batches = log.read_batches(0).unwrap();
        log.close().unwrap();
        Written { dir, batches }
    }

    fn file(&self, ext: &str) -> PathBuf {
        self.dir.path().join("orders-0").join(format!("{:020}.{ext}", 0))
    }

    fn positions(&self) -> Vec<usize> {
        self.batches.iter().scan(0, |pos, b| Some(std::mem::replace(pos, *pos + b.size_in_bytes()))).collect()
    }
}

/// Kafka's batch line for batch `i` of `Written`, with the fields that differ.
fn batch_line(w: &Written, i: usize, fields: (&str, &str, &str, &str, &str, &str)) -> String {
    let b = &w.batches[i];
    let (offsets, count_seq, producer, max_ts, codec, valid) = fields;
    format!(
        "{offsets} count: {count_seq} {producer} partitionLeaderEpoch: 4 isTransactional: false \
         isControl: false deleteHorizonMs: OptionalLong.empty position: {} CreateTime: {max_ts} size: {} \
         magic: 2 compresscodec: {codec} crc: {} isvalid: {valid}",
        w.positions()[i],
        b.size_in_bytes(),
        b.crc(),
    )
}

fn expected_batch_lines(w: &Written) -> [String; 3] {
    [
        batch_line(
            w,
            0,
            (
                "baseOffset: 0 lastOffset: 1",
                "2 baseSequence: -1 lastSequence: -1",
                "producerId: -1 producerEpoch: -1",
                &(T0 + 7).to_string(),
                "none",
                "true",
            ),
        ),
        batch_line(
            w,
            1,
            (
                "baseOffset: 2 lastOffset: 2",
                "1 baseSequence: 5 lastSequence: 5",
                "producerId: 1000 producerEpoch: 2",
                &(T0 + 3).to_string(),
                "none",
                "true",
            ),
        ),
        batch_line(
            w,
            2,
            (
                "baseOffset: 3 lastOffset: 4",
                "2 baseSequence: -1 lastSequence: -1",
                "producerId: -1 producerEpoch: -1",
                &(T0 + 20).to_string(),
                "gzip",
                "true",
            ),
        ),
    ]
}

fn record_lines(data: bool) -> Vec<String> {
    let with = |line: String, kv: &str| if data { format!("{line}{kv}") } else { line };
    vec![
        with(
            format!("| offset: 0 CreateTime: {T0} keySize: 2 valueSize: 5 sequence: -1 headerKeys: [h1,h2]"),
            " key: k0 payload: hello",
        ),
        with(
            format!("| offset: 1 CreateTime: {} keySize: 2 valueSize: 5 sequence: -1 headerKeys: []", T0 + 7),
            " key: k1 payload: world",
        ),
        with(
            format!("| offset: 2 CreateTime: {} keySize: -1 valueSize: 1 sequence: 5 headerKeys: []", T0 + 3),
            " payload: v",
        ),
        with(
            format!(
                "| offset: 3 CreateTime: {} keySize: 4 valueSize: -1 sequence: -1 headerKeys: []",
                T0 + 20
            ),
            " key: gone",
        ),
        with(
            format!(
                "| offset: 4 CreateTime: {} keySize: 4 valueSize: 6 sequence: -1 headerKeys: []",
                T0 + 10
            ),
            " key: kept payload: zipped",
        ),
    ]
}

fn header(path: &Path) -> Vec<String> {
    vec![format!("Dumping {}", path.display()), "Log starting offset: 0".to_string()]
}

fn lines(out: &Output) -> Vec<String> {
    text(&out.stdout).lines().map(str::to_string).collect()
}

fn assert_ok(out: &Output) {
    assert!(out.status.success(), "exit {:?}, stderr: {}", out.status, text(&out.stderr));
    assert!(out.stderr.is_empty(), "stderr: {}", text(&out.stderr));
}

/// Without options only batch headers are printed, each with Kafka's fields in
/// Kafka's order (`DumpLogSegments.dumpLog` for magic v2 batches).
#[test]
fn batch_lines_match_kafka() {
    let w = Written::new();
    let log = w.file("log");
    let out = spool(&["dump-log", "--files", log.to_str().unwrap()]);
    assert_ok(&out);
    let mut want = header(&log);
    want.extend(expected_batch_lines(&w));
    assert_eq!(lines(&out), want);
}

/// `--deep-iteration` adds one `| offset: …` line per record after its batch:
/// the record's timestamp under the batch's timestamp type, key and value sizes
/// (-1 for null), its sequence, and its header keys.
#[test]
fn deep_iteration_prints_every_record() {
    let w = Written::new();
    let log = w.file("log");
    let out = spool(&["dump-log", "--deep-iteration", "--files", log.to_str().unwrap()]);
    assert_ok(&out);
    let [a, b, c] = expected_batch_lines(&w);
    let r = record_lines(false);
    let mut want = header(&log);
    want.extend([a, r[0].clone(), r[1].clone(), b, r[2].clone(), c, r[3].clone(), r[4].clone()]);
    assert_eq!(lines(&out), want);
}

/// `--print-data-log` implies deep iteration and appends ` key: …` and
/// ` payload: …` as UTF-8, each left out when null, as Kafka's parser does.
#[test]
fn print_data_log_prints_keys_and_payloads() {
    let w = Written::new();
    let log = w.file("log");
    let out = spool(&["dump-log", "--files", log.to_str().unwrap(), "--print-data-log"]);
    assert_ok(&out);
    let [a, b, c] = expected_batch_lines(&w);
    let r = record_lines(true);
    let mut want = header(&log);
    want.extend([a, r[0].clone(), r[1].clone(), b, r[2].clone(), c, r[3].clone(), r[4].clone()]);
    assert_eq!(lines(&out), want);
}

/// `.index` prints `offset: <absolute> position: <bytes>` per entry and
/// `.timeindex` prints `timestamp: … offset: …`; several files go in one
/// comma-separated `--files`, as with Kafka's tool.
#[test]
fn index_files_match_kafka() {
    let w = Written::new();
    let (index, time_index) = (w.file("index"), w.file("timeindex"));
    let files = format!("{},{}", index.display(), time_index.display());
    let out = spool(&["dump-log", "--files", &files]);
    assert_ok(&out);
    let p = w.positions();
    // An entry for every batch after the first; the time index only when the
    // segment's max timestamp grew (batch 1, at T0 + 3, is older than T0 + 7).
    let want = vec![
        format!("Dumping {}", index.display()),
        format!("offset: 2 position: {}", p[1]),
        format!("offset: 4 position: {}", p[2]),
        format!("Dumping {}", time_index.display()),
        format!("timestamp: {} offset: 1", T0 + 7),
        format!("timestamp: {} offset: 4", T0 + 20),
    ];
    assert_eq!(lines(&out), want);
}

/// A producer-state snapshot (chapter 8; the log writes one at close, named
/// after the log end) prints one line per producer with Kafka 3.x's fields:
/// the producer's epoch and last timestamp, then its last batch.
#[test]
fn snapshot_files_match_kafka() {
    let w = Written::new();
    let snapshot = w.dir.path().join("orders-0").join(format!("{:020}.snapshot", 5));
    let out = spool(&["dump-log", "--files", snapshot.to_str().unwrap()]);
    assert_ok(&out);
    let want = vec![
        format!("Dumping {}", snapshot.display()),
        format!(
            "producerId: 1000 producerEpoch: 2 coordinatorEpoch: -1 currentTxnFirstOffset: OptionalLong.empty \
             lastTimestamp: {t} firstSequence: 5 lastSequence: 5 lastOffset: 2 offsetDelta: 0 timestamp: {t}",
            t = T0 + 3
        ),
    ];
    assert_eq!(lines(&out), want);
    // A damaged snapshot fails the tool, as a damaged segment does.
    let mut bytes = std::fs::read(&snapshot).unwrap();
    bytes[10] ^= 1;
    std::fs::write(&snapshot, bytes).unwrap();
    let out = spool(&["dump-log", "--files", snapshot.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("corrupt producer snapshot"), "{}", text(&out.stderr));
}

/// The partition's `leader-epoch-checkpoint` (chapter 6; `Written` appended
/// at leader epoch 4) prints one line per epoch and where it starts; a
/// damaged one fails the tool, as a damaged segment does. (Kafka's tool
/// ignores this file; spool prints it so that a reader can see the cache.)
#[test]
fn leader_epoch_checkpoint_prints_each_epoch() {
    let w = Written::new();
    let checkpoint = w.dir.path().join("orders-0").join("leader-epoch-checkpoint");
    let out = spool(&["dump-log", "--files", checkpoint.to_str().unwrap()]);
    assert_ok(&out);
    let want = vec![format!("Dumping {}", checkpoint.display()), "leaderEpoch: 4 startOffset: 0".to_string()];
    assert_eq!(lines(&out), want);
    std::fs::write(&checkpoint, "0\n2\n4 0\n").unwrap();
    let out = spool(&["dump-log", "--files", checkpoint.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("corrupt leader-epoch-checkpoint"), "{}", text(&out.stderr));
}

/// A segment cut inside its last batch (a torn write): the whole batches are
/// printed, then Kafka's `Found N invalid bytes at the end of <file>`; the tool
/// exits non-zero and says on stderr at which position the torn batch starts.
#[test]
fn truncated_file_fails_and_says_where() {
    let w = Written::new();
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join(format!("{:020}.log", 0));
    let bytes = std::fs::read(w.file("log")).unwrap();
    let last = w.positions()[2];
    std::fs::write(&log, &bytes[..last + 30]).unwrap();
    let out = spool(&["dump-log", "--files", log.to_str().unwrap(), "--print-data-log"]);
    assert!(!out.status.success());
    let stdout = lines(&out);
    assert_eq!(stdout.last().unwrap(), &format!("Found 30 invalid bytes at the end of {:020}.log", 0));
    assert_eq!(stdout.iter().filter(|l| l.starts_with("baseOffset:")).count(), 2);
    let stderr = text(&out.stderr);
    assert!(stderr.contains(&format!("position {last}")), "stderr: {stderr}");
    assert!(stderr.contains("truncated"), "stderr: {stderr}");
    assert!(!stderr.contains("panicked"), "stderr: {stderr}");
}

/// A flipped byte inside a batch's records fails its CRC: the batch line says
/// `isvalid: false` (as Kafka's does), its records are not decoded, the tool
/// goes on to the next batch, exits non-zero, and stderr names the position and
/// the CRC mismatch.
#[test]
fn corrupt_file_fails_and_says_where_and_why() {
    let w = Written::new();
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join(format!("{:020}.log", 0));
    let mut bytes = std::fs::read(w.file("log")).unwrap();
    let second = w.positions()[1];
    bytes[second + 63] ^= 0x20; // inside its one record
    std::fs::write(&log, &bytes).unwrap();
    let out = spool(&["dump-log", "--files", log.to_str().unwrap(), "--deep-iteration"]);
    assert!(!out.status.success());
    let stdout = lines(&out);
    let bad: Vec<&String> = stdout.iter().filter(|l| l.contains("isvalid: false")).collect();
    assert_eq!(bad.len(), 1);
    assert!(bad[0].starts_with("baseOffset: 2 ") && bad[0].contains(&format!("position: {second} ")));
    assert!(
        !stdout.iter().any(|l| l.starts_with("| offset: 2 ")),
        "a corrupt batch's records are not printed"
    );
    assert!(stdout.iter().any(|l| l.starts_with("| offset: 4 ")), "the next batch is still dumped");
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains(&format!("position {second}")) && stderr.contains("crc mismatch"),
        "stderr: {stderr}"
    );
    assert!(!stderr.contains("panicked"));
}

/// A garbage `batchLength` and a torn index entry are errors with a position or
/// a reason, and a non-zero exit, never a panic.
#[test]
fn bad_length_and_bad_index_fail_cleanly() {
    let w = Written::new();
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join(format!("{:020}.log", 0));
    let mut bytes = std::fs::read(w.file("log")).unwrap();
    let second = w.positions()[1];
    bytes[second + 8..second + 12].copy_from_slice(&(-5i32).to_be_bytes());
    std::fs::write(&log, &bytes).unwrap();
    let index = dir.path().join(format!("{:020}.index", 0));
    let mut idx = std::fs::read(w.file("index")).unwrap();
    idx.pop();
    std::fs::write(&index, &idx).unwrap();
    let files = format!("{},{}", log.display(), index.display());
    let out = spool(&["dump-log", "--files", &files]);
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert!(stderr.contains(&format!("position {second}: invalid batchLength -5")), "stderr: {stderr}");
    assert!(stderr.contains("corrupt offset index"), "stderr: {stderr}");
    assert!(!stderr.contains("panicked"));
}

/// Every truncation and every single-byte flip of a segment gives a dump with
/// an error or a clean result — never a panic — and a damaged file is never
/// reported clean unless the damage left it a valid log (a cut at a batch
/// boundary).
#[test]
fn no_damage_panics_the_dumper() {
    let w = Written::new();
    let bytes = std::fs::read(w.file("log")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join(format!("{:020}.log", 0));
    let options = DumpOptions { deep_iteration: true, print_data_log: true, ..DumpOptions::default() };
    let boundaries: Vec<usize> = w.positions().into_iter().chain([bytes.len()]).collect();
    for len in 0..bytes.len() {
        std::fs::write(&log, &bytes[..len]).unwrap();
        let dump = dump_file(&log, options);
        assert_eq!(dump.errors.is_empty(), boundaries.contains(&len), "cut at {len}: {:?}", dump.errors);
    }
    for at in 0..bytes.len() {
        let mut damaged = bytes.clone();
        damaged[at] ^= 0xff;
        std::fs::write(&log, &damaged).unwrap();
        let dump = dump_file(&log, options);
        // baseOffset and partitionLeaderEpoch are outside the CRC: a flip there
        // is not detectable, in Kafka's tool either.
        let field = at - boundaries.iter().filter(|&&b| b <= at).max().unwrap();
        let undetectable = (0..8).contains(&field) || (12..16).contains(&field);
        assert!(undetectable || !dump.errors.is_empty(), "flip at {at} went unnoticed");
    }
}
