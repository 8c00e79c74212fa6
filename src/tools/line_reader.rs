//! The console producer's line reader: one line of text becomes one record,
//! as Kafka's `LineMessageReader` (the default `--line-reader` of
//! `kafka-console-producer.sh`) reads it.
//!
//! The reader is configured by the tool's `--property key=value` flags (and
//! `--reader-config FILE`), under Kafka's own names:
//!
//! ```text
//!  parse.headers=true  parse.key=true
//!  ┌──────────────┐ ┌──┐ ┌─────┐ ┌──┐ ┌───────┐
//!  h1:v1,h2:v2      \t    key     \t    value
//!  └ headers.separator=","  headers.key.separator=":"
//!                   └ headers.delimiter  └ key.separator
//! ```
//!
//! Headers come first, then the key, then the rest of the line is the value.
//! A field equal to `null.marker` (unset by default) is sent as null: a value
//! equal to it is a tombstone, which is how a compacted topic forgets a key
//! from the console. A header *key* cannot be null, so a header key equal to
//! the marker is an error. A line without the delimiter it needs is an
//! error naming its line number, unless `ignore.error=true`: then the field
//! is simply absent (a null key; a header pair without `:` gets a null value).
//!
//! Simplifications: Kafka splits the header list with `headers.separator` as
//! a Java regular expression; spool splits at the literal text (the default
//! `,` means the same in both). Lines are bytes, not decoded as UTF-8 first.

use bytes::Bytes;

use crate::client::ClientError;

/// Reader properties spool knows; any other is warned about and ignored.
const KEYS: &[&str] = &[
    "parse.key",
    "key.separator",
    "parse.headers",
    "headers.delimiter",
    "headers.separator",
    "headers.key.separator",
    "ignore.error",
    "null.marker",
];

/// How lines are split into records: `LineMessageReader`'s settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineReader {
    /// `parse.key` (false).
    pub parse_key: bool,
    /// `key.separator` (a tab).
    pub key_separator: String,
    /// `parse.headers` (false).
    pub parse_headers: bool,
    /// `headers.delimiter` (a tab): ends the header list.
    pub headers_delimiter: String,
    /// `headers.separator` (`,`): between header pairs.
    pub headers_separator: String,
    /// `headers.key.separator` (`:`): between a header's key and value.
    pub headers_key_separator: String,
    /// `ignore.error` (false): a missing delimiter leaves the field out
    /// instead of failing the tool.
    pub ignore_error: bool,
    /// `null.marker` (unset): a field equal to it is sent as null.
    pub null_marker: Option<String>,
}

impl Default for LineReader {
    fn default() -> Self {
        LineReader {
            parse_key: false,
            key_separator: "\t".into(),
            parse_headers: false,
            headers_delimiter: "\t".into(),
            headers_separator: ",".into(),
            headers_key_separator: ":".into(),
            ignore_error: false,
            null_marker: None,
        }
    }
}

/// One line, read: what the record will carry.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LineRecord {
    pub headers: Vec<(String, Option<Bytes>)>,
    pub key: Option<Bytes>,
    pub value: Option<Bytes>,
}

/// Kafka's booleans in tool properties: `true` in any case, else false.
pub(crate) fn is_true(value: &str) -> bool {
    value.trim().eq_ignore_ascii_case("true")
}

impl LineReader {
    /// The reader for `properties` (later ones win), checked as Kafka checks
    /// it: the delimiters must differ from each other and from `null.marker`.
    pub fn from_properties(properties: &[(String, String)]) -> Result<Self, ClientError> {
        let mut reader = LineReader::default();
        for (key, value) in properties {
            match key.as_str() {
                "parse.key" => reader.parse_key = is_true(value),
                "key.separator" => reader.key_separator = value.clone(),
                "parse.headers" => reader.parse_headers = is_true(value),
                "headers.delimiter" => reader.headers_delimiter = value.clone(),
                "headers.separator" => reader.headers_separator = value.clone(),
                "headers.key.separator" => reader.headers_key_separator = value.clone(),
                "ignore.error" => reader.ignore_error = is_true(value),
                "null.marker" => reader.null_marker = Some(value.clone()),
                _ => warn_unknown("line reader", key, KEYS),
            }
        }
        reader.validate()?;
        Ok(reader)
    }

    fn validate(&self) -> Result<(), ClientError> {
        let named = [
            ("headers.delimiter", &self.headers_delimiter),
            ("headers.separator", &self.headers_separator),
            ("headers.key.separator", &self.headers_key_separator),
        ];
        for (i, (a, a_value)) in named.iter().enumerate() {
            if a_value.is_empty() {
                return Err(invalid(format!("{a} may not be empty")));
            }
            for (b, b_value) in &named[i + 1..] {
                if a_value == b_value {
                    return Err(invalid(format!("{a} and {b} may not be equal")));
                }
            }
        }
        if self.key_separator.is_empty() {
            return Err(invalid("key.separator may not be empty".into()));
        }
        if let Some(marker) = &self.null_marker {
            let all = [("key.separator", &self.key_separator)].into_iter().chain(named);
            for (name, value) in all {
                if value == marker {
                    return Err(invalid(format!("null.marker and {name} may not be equal")));
                }
            }
        }
        Ok(())
    }

    // ANCHOR: read_line
    /// Reads line number `line_number` (from 1): headers, then key, then value.
    pub fn read(&self, line: &[u8], line_number: u64) -> Result<LineRecord, ClientError> {
        let mut rest = line;
        let mut record = LineRecord::default();
        if self.parse_headers {
            if let Some(headers) =
                self.field(&mut rest, &self.headers_delimiter, "headers delimiter", line, line_number)?
            {
                if !self.is_null(headers) {
                    record.headers = self.headers(headers, line_number)?;
                }
            }
        }
        if self.parse_key {
            let key = self.field(&mut rest, &self.key_separator, "key separator", line, line_number)?;
            record.key = key.filter(|k| !self.is_null(k)).map(Bytes::copy_from_slice);
        }
        record.value = Some(rest).filter(|v| !self.is_null(v)).map(Bytes::copy_from_slice);
        Ok(record)
    }
    // ANCHOR_END: read_line

    /// Takes the text before `delimiter` off the front of `rest`; `None` when
    /// the delimiter is missing and `ignore.error` is on.
    fn field<'a>(
        &self,
        rest: &mut &'a [u8],
        delimiter: &str,
        name: &str,
        line: &[u8],
        line_number: u64,
    ) -> Result<Option<&'a [u8]>, ClientError> {
        match find(rest, delimiter.as_bytes()) {
            Some(at) => {
                let field = &rest[..at];
                *rest = &rest[at + delimiter.len()..];
                Ok(Some(field))
            }
            None if self.ignore_error => Ok(None),
            None => Err(invalid(format!(
                "no {name} {delimiter:?} found on line number {line_number}: '{}'",
                String::from_utf8_lossy(line)
            ))),
        }
    }

    /// `h1:v1,h2:v2` as header pairs.
    fn headers(&self, text: &[u8], line_number: u64) -> Result<Vec<(String, Option<Bytes>)>, ClientError> {
        let mut pairs = split(text, self.headers_separator.as_bytes());
        // As Java's String.split: trailing empty pieces are dropped (but an
        // empty list is one empty pair).
        while pairs.len() > 1 && pairs.last().is_some_and(|p| p.is_empty()) {
            pairs.pop();
        }
        let mut headers = Vec::with_capacity(pairs.len());
        for pair in pairs {
            let (key, value) = match find(pair, self.headers_key_separator.as_bytes()) {
                Some(at) => (&pair[..at], Some(&pair[at + self.headers_key_separator.len()..])),
                None if self.ignore_error => (pair, None),
                None => {
                    return Err(invalid(format!(
                        "no header key separator found in pair '{}' on line number {line_number}",
                        String::from_utf8_lossy(pair)
                    )))
                }
            };
            if self.is_null(key) {
                return Err(invalid(format!(
                    "header keys should not be equal to the null marker {:?} as they can't be null",
                    self.null_marker.as_deref().unwrap_or_default()
                )));
            }
            let key = String::from_utf8(key.to_vec())
                .map_err(|_| invalid(format!("line number {line_number}: a header key is not UTF-8")))?;
            let value = value.filter(|v| !self.is_null(v)).map(Bytes::copy_from_slice);
            headers.push((key, value));
        }
        Ok(headers)
    }

    fn is_null(&self, field: &[u8]) -> bool {
        self.null_marker.as_deref().is_some_and(|m| m.as_bytes() == field)
    }
}

/// Where `needle` (not empty) first occurs in `haystack`.
fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// `text` split at every `separator` (not empty).
fn split<'a>(mut text: &'a [u8], separator: &[u8]) -> Vec<&'a [u8]> {
    let mut pieces = Vec::new();
    while let Some(at) = find(text, separator) {
        pieces.push(&text[..at]);
        text = &text[at + separator.len()..];
    }
    pieces.push(text);
    pieces
}

/// Kafka's clients log unused settings and go on; so does spool.
pub(crate) fn warn_unknown(whose: &str, key: &str, known: &[&str]) {
    eprintln!(
        "WARN: {whose} property {key:?} is not known to spool and is ignored (known: {})",
        known.join(", ")
    );
}

fn invalid(why: String) -> ClientError {
    ClientError::InvalidArgument(why)
}

#[cfg(test)]
mod tests;
