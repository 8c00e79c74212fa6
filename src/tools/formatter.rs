//! The console consumer's record formatter: one record becomes one line of
//! text, as Kafka's `DefaultMessageFormatter` (the default `--formatter` of
//! `kafka-console-consumer.sh`) prints it.
//!
//! It is configured by the tool's `--property key=value` flags (and
//! `--formatter-config FILE`), under Kafka's names. Fields come in Kafka's
//! order, each followed by `key.separator` when another field follows, the
//! last by `line.separator`:
//!
//! ```text
//!  print.timestamp  print.partition  print.offset  print.headers   print.key  print.value
//!  CreateTime:1700000000000  Partition:0  Offset:5  h1:v1,h2:v2  key  value
//!                                                   (NO_HEADERS when none)
//! ```
//!
//! A null key, value or header value prints as `null.literal` (`null`).
//! `print.value` is the only field on by default.
//!
//! Simplifications: spool prints bytes as they are. The deserializer
//! settings (`key.deserializer`, `value.deserializer`, `headers.deserializer`)
//! accept Kafka's `StringDeserializer` and `ByteArrayDeserializer` (which
//! print the same bytes here) and refuse any other class. `print.epoch` and
//! `print.delivery` (share groups) are not supported and are refused.

use std::io::Write;

use super::line_reader::{is_true, warn_unknown};
use crate::client::ClientError;
use crate::format::batch::TimestampType;
use crate::format::record::Record;

/// Formatter properties spool knows; any other is warned about and ignored.
const KEYS: &[&str] = &[
    "print.timestamp",
    "print.key",
    "print.offset",
    "print.partition",
    "print.headers",
    "print.value",
    "key.separator",
    "line.separator",
    "headers.separator",
    "null.literal",
    "key.deserializer",
    "value.deserializer",
    "headers.deserializer",
];

/// The deserializers whose output is the record's bytes unchanged.
const BYTE_DESERIALIZERS: &[&str] = &[
    "org.apache.kafka.common.serialization.StringDeserializer",
    "org.apache.kafka.common.serialization.ByteArrayDeserializer",
];

/// How records are printed: `DefaultMessageFormatter`'s settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Formatter {
    pub print_timestamp: bool,
    pub print_partition: bool,
    pub print_offset: bool,
    pub print_headers: bool,
    pub print_key: bool,
    /// `print.value` (true).
    pub print_value: bool,
    /// `key.separator` (a tab): between fields.
    pub key_separator: Vec<u8>,
    /// `line.separator` (a newline): after the last field.
    pub line_separator: Vec<u8>,
    /// `headers.separator` (`,`): between headers.
    pub headers_separator: Vec<u8>,
    /// `null.literal` (`null`): printed for a null key, value or header value.
    pub null_literal: Vec<u8>,
}

impl Default for Formatter {
    fn default() -> Self {
        Formatter {
            print_timestamp: false,
            print_partition: false,
            print_offset: false,
            print_headers: false,
            print_key: false,
            print_value: true,
            key_separator: b"\t".to_vec(),
            line_separator: b"\n".to_vec(),
            headers_separator: b",".to_vec(),
            null_literal: b"null".to_vec(),
        }
    }
}

/// What the formatter needs to know about a record beyond the record itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordPlace {
    pub partition: i32,
    pub timestamp_type: TimestampType,
}

impl Formatter {
    /// The formatter for `properties` (later ones win).
    pub fn from_properties(properties: &[(String, String)]) -> Result<Self, ClientError> {
        let mut formatter = Formatter::default();
        for (key, value) in properties {
            let bytes = || value.as_bytes().to_vec();
            match key.as_str() {
                "print.timestamp" => formatter.print_timestamp = is_true(value),
                "print.partition" => formatter.print_partition = is_true(value),
                "print.offset" => formatter.print_offset = is_true(value),
                "print.headers" => formatter.print_headers = is_true(value),
                "print.key" => formatter.print_key = is_true(value),
                "print.value" => formatter.print_value = is_true(value),
                "key.separator" => formatter.key_separator = bytes(),
                "line.separator" => formatter.line_separator = bytes(),
                "headers.separator" => formatter.headers_separator = bytes(),
                "null.literal" => formatter.null_literal = bytes(),
                "key.deserializer" | "value.deserializer" | "headers.deserializer" => {
                    check_deserializer(key, value)?
                }
                "print.epoch" | "print.delivery" if is_true(value) => {
                    return Err(ClientError::InvalidArgument(format!(
                        "{key}=true: spool's console consumer does not print this field"
                    )))
                }
                "print.epoch" | "print.delivery" => {}
                _ if key.starts_with("key.deserializer.")
                    || key.starts_with("value.deserializer.")
                    || key.starts_with("headers.deserializer.") => {}
                _ => warn_unknown("formatter", key, KEYS),
            }
        }
        Ok(formatter)
    }

    // ANCHOR: format_record
    /// Appends one record's line to `out`, in `DefaultMessageFormatter`'s layout.
    pub fn write(&self, record: &Record, place: RecordPlace, out: &mut Vec<u8>) {
        let fields = [
            self.print_timestamp,
            self.print_partition,
            self.print_offset,
            self.print_headers,
            self.print_key,
            self.print_value,
        ];
        // After each printed field: key.separator if another follows, else line.separator.
        let separator_after = |field: usize, out: &mut Vec<u8>| {
            let more = fields[field + 1..].iter().any(|&on| on);
            out.extend_from_slice(if more { &self.key_separator } else { &self.line_separator });
        };
        if self.print_timestamp {
            let _ = write!(out, "{}:{}", place.timestamp_type.name(), record.timestamp);
            separator_after(0, out);
        }
        if self.print_partition {
            let _ = write!(out, "Partition:{}", place.partition);
            separator_after(1, out);
        }
        if self.print_offset {
            let _ = write!(out, "Offset:{}", record.offset);
            separator_after(2, out);
        }
        if self.print_headers {
            self.write_headers(record, out);
            separator_after(3, out);
        }
        if self.print_key {
            out.extend_from_slice(record.key.as_deref().unwrap_or(&self.null_literal));
            separator_after(4, out);
        }
        if self.print_value {
            out.extend_from_slice(record.value.as_deref().unwrap_or(&self.null_literal));
            out.extend_from_slice(&self.line_separator);
        }
    }
    // ANCHOR_END: format_record

    fn write_headers(&self, record: &Record, out: &mut Vec<u8>) {
        if record.headers.is_empty() {
            out.extend_from_slice(b"NO_HEADERS");
        }
        for (i, header) in record.headers.iter().enumerate() {
            if i > 0 {
                out.extend_from_slice(&self.headers_separator);
            }
            out.extend_from_slice(header.key.as_bytes());
            out.push(b':');
            out.extend_from_slice(header.value.as_deref().unwrap_or(&self.null_literal));
        }
    }
}

fn check_deserializer(key: &str, class: &str) -> Result<(), ClientError> {
    if BYTE_DESERIALIZERS.contains(&class.trim()) {
        return Ok(());
    }
    Err(ClientError::InvalidArgument(format!(
        "{key}={class}: spool's console consumer prints bytes as they are; \
         it takes only StringDeserializer or ByteArrayDeserializer"
    )))
}

#[cfg(test)]
mod tests;
