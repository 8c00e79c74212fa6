//! The checkpoint codec on its own, with a two-field entry: what every
//! checkpoint file of Kafka's shares (`CheckpointFile`'s version line, count
//! line and entry lines), and that a damaged file is a typed error.

use proptest::prelude::*;

use super::*;

/// A `name offset` line, the shape of the log directory's files minus the partition.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry(String, i64);

impl CheckpointEntry for Entry {
    fn to_line(&self) -> String {
        format!("{} {}", self.0, self.1)
    }
    fn from_line(line: &str) -> Option<Self> {
        let [name, offset] = fields(line)?;
        Some(Entry(name.to_string(), offset.parse().ok()?))
    }
}

fn entries() -> impl Strategy<Value = Vec<Entry>> {
    prop::collection::vec(("[a-z._-]{1,12}", any::<i64>()).prop_map(|(n, o)| Entry(n, o)), 0..8)
}

// Kafka's layout, byte for byte: version, count, one line per entry, each
// ended by a newline (`CheckpointFile.write`).
#[test]
fn encodes_kafkas_layout() {
    let list = [Entry("a".into(), 5), Entry("b".into(), -1)];
    assert_eq!(encode(0, list.iter()), "0\n2\na 5\nb -1\n");
    assert_eq!(encode::<Entry>(0, [].iter()), "0\n0\n");
}

// A zero-byte file is empty, as Kafka reads the files it creates empty;
// Kafka's whitespace split accepts runs of spaces and tabs between fields.
#[test]
fn reads_kafkas_empty_file_and_whitespace() {
    assert_eq!(decode::<Entry>(0, b""), Ok(vec![]));
    assert_eq!(decode::<Entry>(0, b"0\n0\n"), Ok(vec![]));
    assert_eq!(decode(0, b"0\n1\na \t 5\n"), Ok(vec![Entry("a".into(), 5)]));
}

// Each way a file can be wrong has its own error.
#[test]
fn each_damage_has_its_error() {
    let d = |bytes: &[u8]| decode::<Entry>(0, bytes);
    assert_eq!(d(&[0xff, b'\n']), Err(CheckpointError::NotText));
    assert_eq!(d(b"1\n0\n"), Err(CheckpointError::UnsupportedVersion("1".into())));
    assert_eq!(d(b"x\n0\n"), Err(CheckpointError::UnsupportedVersion("x".into())));
    assert_eq!(d(b"0\n"), Err(CheckpointError::Truncated));
    assert_eq!(d(b"0\n1\na 5"), Err(CheckpointError::Truncated));
    assert_eq!(d(b"0\n-1\n"), Err(CheckpointError::BadCount("-1".into())));
    assert_eq!(d(b"0\n2\na 5\n"), Err(CheckpointError::WrongCount { expected: 2, found: 1 }));
    assert_eq!(d(b"0\n1\na 5\nb 6\n"), Err(CheckpointError::WrongCount { expected: 1, found: 2 }));
    assert_eq!(d(b"0\n1\n\n"), Err(CheckpointError::MalformedLine { line_number: 3, line: String::new() }));
    assert_eq!(
        d(b"0\n1\na 5 6\n"),
        Err(CheckpointError::MalformedLine { line_number: 3, line: "a 5 6".into() })
    );
    assert_eq!(d(b"0\n1\na x\n"), Err(CheckpointError::MalformedLine { line_number: 3, line: "a x".into() }));
}

// A huge count is a wrong count, not an allocation.
#[test]
fn a_huge_count_allocates_nothing() {
    let text = format!("0\n{}\na 1\n", usize::MAX);
    assert_eq!(
        decode::<Entry>(0, text.as_bytes()),
        Err(CheckpointError::WrongCount { expected: usize::MAX, found: 1 })
    );
}

proptest! {
    // Every list of entries reads back as written.
    #[test]
    fn round_trips(list in entries(), version in 0..3i32) {
        let text = encode(version, list.iter());
        prop_assert_eq!(decode::<Entry>(version, text.as_bytes()), Ok(list));
    }

    // Every file cut short (but not to nothing) is an error: a crash that
    // tore a checkpoint is never read as a shorter one.
    #[test]
    fn every_cut_is_an_error(list in entries(), cut in any::<prop::sample::Index>()) {
        let text = encode(0, list.iter());
        let len = 1 + cut.index(text.len() - 1);
        prop_assert!(decode::<Entry>(0, &text.as_bytes()[..len]).is_err(), "{:?}", &text[..len]);
    }

    // Garbled bytes — one byte of a good file changed, or any bytes at all —
    // give entries or an error, never a panic.
    #[test]
    fn garbled_never_panics(list in entries(), at in any::<prop::sample::Index>(), byte in any::<u8>(),
                            noise in prop::collection::vec(any::<u8>(), 0..64)) {
        let mut bytes = encode(0, list.iter()).into_bytes();
        let i = at.index(bytes.len());
        bytes[i] = byte;
        let _ = decode::<Entry>(0, &bytes);
        let _ = decode::<Entry>(0, &noise);
    }
}
