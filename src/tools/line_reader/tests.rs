use bytes::Bytes;
use proptest::prelude::*;

use super::*;
use crate::format::batch::TimestampType;
use crate::format::record::{Header, Record};
use crate::tools::formatter::{Formatter, RecordPlace};

fn reader(properties: &[(&str, &str)]) -> Result<LineReader, ClientError> {
    let owned: Vec<(String, String)> =
        properties.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    LineReader::from_properties(&owned)
}

fn bytes(s: &str) -> Option<Bytes> {
    Some(Bytes::copy_from_slice(s.as_bytes()))
}

/// Kafka's defaults: the whole line is the value, with no key and no headers.
#[test]
fn by_default_a_line_is_a_value() {
    let r = reader(&[]).unwrap();
    assert_eq!(
        r.read(b"a\tb:c", 1).unwrap(),
        LineRecord { headers: vec![], key: None, value: bytes("a\tb:c") }
    );
}

/// `parse.key=true` splits at the first `key.separator`; the value may hold
/// the separator again. A line without it is an error naming the line number.
#[test]
fn parse_key_splits_at_the_first_separator() {
    let r = reader(&[("parse.key", "true"), ("key.separator", "::")]).unwrap();
    assert_eq!(r.read(b"k::v::w", 1).unwrap().key, bytes("k"));
    assert_eq!(r.read(b"k::v::w", 1).unwrap().value, bytes("v::w"));
    let err = r.read(b"no separator", 7).unwrap_err().to_string();
    assert!(err.contains("no key separator") && err.contains("line number 7"), "{err}");
}

/// `parse.headers=true` reads `h1:v1,h2:v2` before `headers.delimiter`; a
/// header without a value separator is an error, or with `ignore.error` a
/// null value; with `ignore.error` a missing key separator leaves a null key
/// and the whole rest as value.
#[test]
fn headers_then_key_then_value() {
    let r = reader(&[("parse.headers", "true"), ("parse.key", "TRUE")]).unwrap();
    let read = r.read(b"h1:v1,h2:v:2\tkey\tvalue", 1).unwrap();
    assert_eq!(read.headers, vec![("h1".into(), bytes("v1")), ("h2".into(), bytes("v:2"))]);
    assert_eq!((read.key, read.value), (bytes("key"), bytes("value")));
    assert!(r.read(b"h1\tkey\tvalue", 1).is_err());
    let lenient =
        reader(&[("parse.headers", "true"), ("parse.key", "true"), ("ignore.error", "true")]).unwrap();
    let read = lenient.read(b"h1\tvalue only", 1).unwrap();
    assert_eq!(read.headers, vec![("h1".into(), None)]);
    assert_eq!((read.key, read.value), (None, bytes("value only")));
}

/// A field equal to `null.marker` is null: a null value is a tombstone; a
/// header key cannot be null, so a header key equal to it is an error.
#[test]
fn the_null_marker_makes_nulls() {
    let r = reader(&[("parse.headers", "true"), ("parse.key", "true"), ("null.marker", "<null>")]).unwrap();
    let read = r.read(b"h:<null>\t<null>\t<null>", 1).unwrap();
    assert_eq!(read, LineRecord { headers: vec![("h".into(), None)], key: None, value: None });
    assert!(r.read(b"h:v\tk\t<null>x", 1).unwrap().value.is_some());
    assert!(r.read(b"<null>:v\tk\tv", 1).unwrap_err().to_string().contains("null marker"));
    assert_eq!(r.read(b"<null>\tk\tv", 1).unwrap().headers, vec![]);
}

/// As Kafka's `configure`: the delimiters must differ from each other and
/// from `null.marker`.
#[test]
fn clashing_delimiters_are_refused() {
    assert!(reader(&[("headers.delimiter", ",")]).is_err());
    assert!(reader(&[("headers.key.separator", ",")]).is_err());
    let err = reader(&[("null.marker", "\t")]).unwrap_err().to_string();
    assert!(err.contains("null.marker and key.separator may not be equal"), "{err}");
}

/// Text without the separators, the delimiter, newlines or the null literal.
fn field() -> impl Strategy<Value = String> {
    "[^|,:\n\r]{0,12}".prop_filter("not the null literal", |s| s != "null")
}

fn header() -> impl Strategy<Value = (String, Option<String>)> {
    ("[^|,:\n\r]{1,8}".prop_filter("not null", |s| s != "null"), proptest::option::of(field()))
}

proptest! {
    /// Any headers, key and value free of the separators round-trip: the
    /// console consumer's line (print.headers, print.key, with `|` as
    /// key.separator and `null` as null.literal) read back by the console
    /// producer's reader (parse.headers, parse.key, `|` as key.separator and
    /// headers.delimiter, `null` as null.marker) is the same record.
    #[test]
    fn a_printed_line_reads_back_as_the_same_record(
        headers in proptest::collection::vec(header(), 1..4),
        key in proptest::option::of(field()),
        value in proptest::option::of(field()),
    ) {
        let record = Record {
            offset: 0,
            timestamp: 0,
            sequence: -1,
            key: key.as_deref().and_then(bytes),
            value: value.as_deref().and_then(bytes),
            headers: headers
                .iter()
                .map(|(k, v)| Header { key: k.clone(), value: v.as_deref().and_then(bytes) })
                .collect(),
            size_in_bytes: 0,
        };
        let formatter = Formatter {
            print_key: true,
            print_headers: true,
            key_separator: b"|".to_vec(),
            ..Formatter::default()
        };
        let mut line = Vec::new();
        let place = RecordPlace { partition: 0, timestamp_type: TimestampType::CreateTime };
        formatter.write(&record, place, &mut line);
        prop_assert_eq!(line.pop(), Some(b'\n'));
        let r = reader(&[
            ("parse.headers", "true"),
            ("parse.key", "true"),
            ("key.separator", "|"),
            ("headers.delimiter", "|"),
            ("null.marker", "null"),
        ]).unwrap();
        let read = r.read(&line, 1).unwrap();
        let want_headers: Vec<(String, Option<Bytes>)> =
            record.headers.iter().map(|h| (h.key.clone(), h.value.clone())).collect();
        prop_assert_eq!(read.headers, want_headers);
        prop_assert_eq!(read.key, record.key);
        prop_assert_eq!(read.value, record.value);
    }
}
