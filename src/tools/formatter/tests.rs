use bytes::Bytes;

use super::*;
use crate::format::record::Header;

fn record(key: Option<&'static [u8]>, value: Option<&'static [u8]>, headers: Vec<Header>) -> Record {
    Record {
        offset: 5,
        timestamp: 1_700_000_000_000,
        sequence: -1,
        key: key.map(Bytes::from_static),
        value: value.map(Bytes::from_static),
        headers,
        size_in_bytes: 0,
    }
}

fn formatter(properties: &[(&str, &str)]) -> Formatter {
    let owned: Vec<(String, String)> =
        properties.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    Formatter::from_properties(&owned).unwrap()
}

fn line(formatter: &Formatter, record: &Record, timestamp_type: TimestampType) -> String {
    let mut out = Vec::new();
    formatter.write(record, RecordPlace { partition: 2, timestamp_type }, &mut out);
    String::from_utf8(out).unwrap()
}

/// Every field on prints in DefaultMessageFormatter's order — timestamp,
/// partition, offset, headers, key, value — with `null` and `NO_HEADERS`.
#[test]
fn all_fields_print_in_kafkas_order() {
    let all = formatter(&[
        ("print.timestamp", "true"),
        ("print.partition", "true"),
        ("print.offset", "true"),
        ("print.headers", "true"),
        ("print.key", "true"),
    ]);
    let headers = vec![
        Header { key: "a".into(), value: Some(Bytes::from_static(b"1")) },
        Header { key: "b".into(), value: None },
    ];
    let r = record(Some(b"k"), Some(b"v"), headers);
    assert_eq!(
        line(&all, &r, TimestampType::CreateTime),
        "CreateTime:1700000000000\tPartition:2\tOffset:5\ta:1,b:null\tk\tv\n"
    );
    let bare = record(None, None, vec![]);
    assert_eq!(
        line(&all, &bare, TimestampType::LogAppendTime),
        "LogAppendTime:1700000000000\tPartition:2\tOffset:5\tNO_HEADERS\tnull\tnull\n"
    );
    assert_eq!(line(&Formatter::default(), &r, TimestampType::CreateTime), "v\n");
}

/// With `print.value=false` the last printed field ends the line; the
/// separators and the null literal are the properties'.
#[test]
fn separators_null_literal_and_no_value() {
    let f = formatter(&[
        ("print.key", "true"),
        ("print.offset", "true"),
        ("print.value", "false"),
        ("key.separator", " => "),
        ("line.separator", ";"),
        ("null.literal", "<nil>"),
    ]);
    assert_eq!(line(&f, &record(None, Some(b"v"), vec![]), TimestampType::CreateTime), "Offset:5 => <nil>;");
    let headers = vec![
        Header { key: "a".into(), value: Some(Bytes::from_static(b"1")) },
        Header { key: "b".into(), value: Some(Bytes::from_static(b"2")) },
    ];
    let h = formatter(&[("print.headers", "true"), ("headers.separator", "|"), ("print.value", "false")]);
    assert_eq!(line(&h, &record(None, None, headers), TimestampType::CreateTime), "a:1|b:2\n");
}

/// String and byte-array deserializers print the bytes as they are, so they
/// are accepted; any other class, and the fields spool cannot print, are refused.
#[test]
fn deserializers_and_unsupported_fields() {
    let props = |k: &str, v: &str| vec![(k.to_string(), v.to_string())];
    let string = "org.apache.kafka.common.serialization.StringDeserializer";
    assert!(Formatter::from_properties(&props("key.deserializer", string)).is_ok());
    let long = "org.apache.kafka.common.serialization.LongDeserializer";
    assert!(Formatter::from_properties(&props("value.deserializer", long)).is_err());
    assert!(Formatter::from_properties(&props("print.epoch", "true")).is_err());
    assert!(Formatter::from_properties(&props("print.epoch", "false")).is_ok());
}
