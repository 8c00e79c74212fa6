//! `ProducerConfig`: the producer's knobs, under Kafka's own key names and
//! with Kafka 4.0's defaults, parsed from `key=value` pairs as a
//! `producer.properties` file or `--producer-property` flags give them.

use std::time::Duration;

use super::super::{Acks, ClientError};
use crate::format::Compression;

/// Every setting the producer reads. Names are Kafka's keys with `.` turned
/// into `_` and the unit last.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProducerConfig {
    /// `bootstrap.servers`: comma-separated `host:port`s; the first that answers is used.
    pub bootstrap_servers: String,
    /// `acks` (default `all`).
    pub acks: Acks,
    /// `batch.size` (16384): a batch is full when the next record would take it past this.
    pub batch_size: usize,
    /// `linger.ms` (5 since Kafka 4.0, KIP-1030): how long a batch that is not
    /// full waits for more records.
    pub linger_ms: u64,
    /// `buffer.memory` (32 MiB): bytes of batches the producer may hold before `send` waits.
    pub buffer_memory: usize,
    /// `compression.type` (`none`).
    pub compression: Compression,
    /// `max.in.flight.requests.per.connection` (5). With 1, batches of one
    /// partition are sent strictly one after another, so a retry cannot reorder them.
    pub max_in_flight_requests_per_connection: usize,
    /// `retries` (`i32::MAX`: retry until `delivery.timeout.ms`).
    pub retries: u32,
    /// `retry.backoff.ms` (100): the wait before a failed batch is sent again.
    pub retry_backoff_ms: u64,
    /// `delivery.timeout.ms` (120000): from `send` to a final answer, retries included.
    pub delivery_timeout_ms: u64,
    /// `request.timeout.ms` (30000): how long one Produce request may wait for its response.
    pub request_timeout_ms: u64,
    /// `max.block.ms` (60000): how long `send` and `flush`'s callers may wait for
    /// metadata or buffer memory before failing.
    pub max_block_ms: u64,
    /// `partitioner.ignore.keys` (false): when true, keyed records are spread by
    /// the sticky partitioner too, instead of by `murmur2(key)`.
    pub partitioner_ignore_keys: bool,
    /// `enable.idempotence` as set (`None`: not set): take a producer id and
    /// number each partition's batches, so the broker writes a retried batch
    /// once (chapter 8). It needs `acks=all`, `retries` > 0 and at most 5
    /// requests in flight. As in Kafka since 3.0 (KIP-679), a producer is
    /// idempotent unless told otherwise: not set, it is on when the other
    /// settings allow it and quietly off when they do not; set to true with
    /// a conflicting setting, [`validate`](Self::validate) refuses it. Read
    /// the outcome with [`idempotent`](Self::idempotent).
    pub enable_idempotence: Option<bool>,
    /// `client.id` (`None`: spool's own, [`crate::client::connection::CLIENT_ID`]).
    pub client_id: Option<String>,
}

impl Default for ProducerConfig {
    fn default() -> Self {
        ProducerConfig {
            bootstrap_servers: String::new(),
            acks: Acks::All,
            batch_size: 16_384,
            linger_ms: 5,
            buffer_memory: 32 * 1024 * 1024,
            compression: Compression::None,
            max_in_flight_requests_per_connection: 5,
            retries: i32::MAX as u32,
            retry_backoff_ms: 100,
            delivery_timeout_ms: 120_000,
            request_timeout_ms: 30_000,
            max_block_ms: 60_000,
            enable_idempotence: None,
            partitioner_ignore_keys: false,
            client_id: None,
        }
    }
}

impl ProducerConfig {
    /// The defaults with `bootstrap.servers` set.
    pub fn new(bootstrap_servers: impl Into<String>) -> Self {
        ProducerConfig { bootstrap_servers: bootstrap_servers.into(), ..Default::default() }
    }

    /// Parses `key=value` pairs over the defaults. An unknown key or a bad value
    /// is an error naming it; blank entries are skipped.
    pub fn parse<'a>(pairs: impl IntoIterator<Item = &'a str>) -> Result<Self, ClientError> {
        let mut config = ProducerConfig::default();
        for pair in pairs.into_iter().map(str::trim).filter(|p| !p.is_empty()) {
            let Some((key, value)) = pair.split_once('=') else {
                return Err(invalid(format!("{pair:?}: expected key=value")));
            };
            config.set(key.trim(), value.trim())?;
        }
        config.validate()?;
        Ok(config)
    }

    /// The keys [`set`](Self::set) knows.
    pub const KEYS: &'static [&'static str] = &[
        "bootstrap.servers",
        "acks",
        "batch.size",
        "linger.ms",
        "buffer.memory",
        "compression.type",
        "max.in.flight.requests.per.connection",
        "retries",
        "retry.backoff.ms",
        "delivery.timeout.ms",
        "request.timeout.ms",
        "max.block.ms",
        "partitioner.ignore.keys",
        "enable.idempotence",
        "client.id",
    ];

    /// Sets one key.
    pub fn set(&mut self, key: &str, value: &str) -> Result<(), ClientError> {
        match key {
            "bootstrap.servers" => self.bootstrap_servers = value.to_string(),
            "acks" => {
                self.acks = Acks::parse(value)
                    .ok_or_else(|| invalid(format!("acks={value}: expected 0, 1, -1 or all")))?
            }
            "batch.size" => self.batch_size = number(key, value)?,
            "linger.ms" => self.linger_ms = number(key, value)?,
            "buffer.memory" => self.buffer_memory = number(key, value)?,
            "compression.type" => {
                self.compression = Compression::from_name(value).ok_or_else(|| {
                    invalid(format!("compression.type={value}: expected none, gzip, snappy, lz4 or zstd"))
                })?
            }
            "max.in.flight.requests.per.connection" => {
                self.max_in_flight_requests_per_connection = number(key, value)?
            }
            "retries" => self.retries = number(key, value)?,
            "retry.backoff.ms" => self.retry_backoff_ms = number(key, value)?,
            "delivery.timeout.ms" => self.delivery_timeout_ms = number(key, value)?,
            "request.timeout.ms" => self.request_timeout_ms = number(key, value)?,
            "max.block.ms" => self.max_block_ms = number(key, value)?,
            "partitioner.ignore.keys" => self.partitioner_ignore_keys = boolean(key, value)?,
            "enable.idempotence" => self.enable_idempotence = Some(boolean(key, value)?),
            "client.id" => self.client_id = Some(value.to_string()).filter(|id| !id.is_empty()),
            _ => return Err(invalid(format!("unknown producer config {key:?}"))),
        }
        Ok(())
    }

    /// Checks the settings against each other, as Kafka's `ProducerConfig` does.
    pub fn validate(&self) -> Result<(), ClientError> {
        if self.max_in_flight_requests_per_connection == 0 {
            return Err(invalid("max.in.flight.requests.per.connection must be at least 1".into()));
        }
        if self.batch_size == 0 || self.buffer_memory == 0 {
            return Err(invalid("batch.size and buffer.memory must be positive".into()));
        }
        if self.request_timeout_ms == 0 || self.request_timeout_ms > i32::MAX as u64 {
            return Err(invalid(format!("request.timeout.ms={} is out of range", self.request_timeout_ms)));
        }
        // Kafka's checks for idempotence: with more than five requests in
        // flight a retried batch may be older than the five the broker
        // remembers; without acks=all or retries there is nothing to dedupe.
        // Only an explicit enable.idempotence=true is held to them; the
        // default gives way (see `idempotent`).
        if self.enable_idempotence == Some(true) {
            if let Some(why) = self.idempotence_conflict() {
                return Err(invalid(why.into()));
            }
        }
        // Kafka refuses a delivery timeout shorter than one linger plus one
        // request: a batch could never be given a fair try.
        if self.delivery_timeout_ms < self.linger_ms.saturating_add(self.request_timeout_ms) {
            return Err(invalid(format!(
                "delivery.timeout.ms ({}) should be at least linger.ms ({}) + request.timeout.ms ({})",
                self.delivery_timeout_ms, self.linger_ms, self.request_timeout_ms
            )));
        }
        Ok(())
    }

    /// Whether the producer is idempotent: `enable.idempotence` if set, else
    /// whether the other settings allow it (Kafka 3.0's default, KIP-679).
    pub fn idempotent(&self) -> bool {
        self.enable_idempotence.unwrap_or_else(|| self.idempotence_conflict().is_none())
    }

    /// The first setting that rules idempotence out, in Kafka's words.
    fn idempotence_conflict(&self) -> Option<&'static str> {
        if self.max_in_flight_requests_per_connection > crate::idempotence::NUM_BATCHES_TO_RETAIN {
            Some("must set max.in.flight.requests.per.connection to at most 5 to use the idempotent producer")
        } else if self.acks != Acks::All {
            Some("must set acks to all in order to use the idempotent producer")
        } else if self.retries == 0 {
            Some("must set retries to non-zero when using the idempotent producer")
        } else {
            None
        }
    }

    pub(crate) fn request_timeout(&self) -> Duration {
        Duration::from_millis(self.request_timeout_ms)
    }
}

fn invalid(why: String) -> ClientError {
    ClientError::InvalidArgument(why)
}

/// A boolean as Kafka's `ConfigDef` reads one: `true` or `false` in any
/// case (`TRUE` is true, not an error); anything else is refused, naming the key.
pub(crate) fn boolean(key: &str, value: &str) -> Result<bool, ClientError> {
    match value.trim() {
        v if v.eq_ignore_ascii_case("true") => Ok(true),
        v if v.eq_ignore_ascii_case("false") => Ok(false),
        _ => Err(invalid(format!("{key}={value}: expected true or false"))),
    }
}

fn number<T: std::str::FromStr>(key: &str, value: &str) -> Result<T, ClientError> {
    value.parse().map_err(|_| invalid(format!("{key}={value}: expected a non-negative integer in range")))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Booleans in any case, as Kafka reads them; anything else is refused
    /// naming the key (the same function reads the group consumer's).
    #[test]
    fn booleans_in_any_case() {
        let mut config = ProducerConfig::default();
        config.set("enable.idempotence", "FALSE").unwrap();
        assert_eq!(config.enable_idempotence, Some(false));
        config.set("partitioner.ignore.keys", " True").unwrap();
        assert!(config.partitioner_ignore_keys);
        let refused = config.set("enable.idempotence", "yes").unwrap_err().to_string();
        assert!(refused.contains("enable.idempotence=yes"), "{refused}");
    }

    /// Kafka's key names parse over Kafka 4.0's defaults.
    #[test]
    fn keys_parse_over_the_defaults() {
        let config = ProducerConfig::parse([
            "bootstrap.servers=127.0.0.1:9092",
            "acks=1",
            "linger.ms=20",
            "compression.type=zstd",
            " batch.size = 1024 ",
            "partitioner.ignore.keys=true",
            "",
        ])
        .unwrap();
        assert_eq!(config.bootstrap_servers, "127.0.0.1:9092");
        assert_eq!(config.acks, Acks::Leader);
        assert_eq!(config.linger_ms, 20);
        assert_eq!(config.batch_size, 1024);
        assert_eq!(config.compression, Compression::Zstd);
        assert!(config.partitioner_ignore_keys);
        assert_eq!(config.buffer_memory, 32 * 1024 * 1024);
        assert_eq!(config.max_in_flight_requests_per_connection, 5);
        assert_eq!(ProducerConfig::default().linger_ms, 5);
    }

    /// Unknown keys and bad values are errors that name them, never panics.
    #[test]
    fn bad_input_is_a_clear_error() {
        let cases = [
            ("lingerms=5", "unknown producer config \"lingerms\""),
            ("linger.ms=-1", "linger.ms=-1"),
            ("acks=2", "acks=2"),
            ("compression.type=brotli", "compression.type=brotli"),
            ("batch.size", "expected key=value"),
            ("max.in.flight.requests.per.connection=0", "at least 1"),
            ("delivery.timeout.ms=1000", "delivery.timeout.ms (1000)"),
            ("partitioner.ignore.keys=yes", "expected true or false"),
        ];
        for (pair, expected) in cases {
            let error = ProducerConfig::parse([pair]).unwrap_err().to_string();
            assert!(error.contains(expected), "{pair}: {error}");
        }
    }
    /// The idempotent producer's preconditions, with Kafka's messages: at most
    /// five requests in flight (the broker remembers five batches), acks=all,
    /// and retries.
    #[test]
    fn idempotence_needs_acks_all_retries_and_at_most_five_in_flight() {
        let on = "enable.idempotence=true";
        let cases = [
            ([on, "max.in.flight.requests.per.connection=6"], "at most 5"),
            ([on, "acks=1"], "acks to all"),
            ([on, "retries=0"], "retries to non-zero"),
            (["enable.idempotence=yes", ""], "expected true or false"),
        ];
        for (pairs, expected) in cases {
            let error = ProducerConfig::parse(pairs).unwrap_err().to_string();
            assert!(error.contains(expected), "{pairs:?}: {error}");
        }
        let config = ProducerConfig::parse([on, "max.in.flight.requests.per.connection=5"]).unwrap();
        assert!(config.idempotent());
    }

    /// Kafka 3.0's default (KIP-679): a producer is idempotent unless its
    /// other settings rule it out — acks other than all, retries=0 or more
    /// than five requests in flight — in which case idempotence is quietly
    /// off, as long as it was not asked for by name.
    #[test]
    fn idempotence_is_on_by_default_unless_settings_rule_it_out() {
        let idempotent = |pairs: &[&str]| ProducerConfig::parse(pairs.iter().copied()).unwrap().idempotent();
        assert!(idempotent(&[]), "on by default");
        assert!(!idempotent(&["acks=1"]), "acks=1 turns it off");
        assert!(!idempotent(&["acks=0"]), "acks=0 turns it off");
        assert!(!idempotent(&["retries=0"]), "retries=0 turns it off");
        assert!(!idempotent(&["max.in.flight.requests.per.connection=6"]), "six in flight turn it off");
        assert!(idempotent(&["max.in.flight.requests.per.connection=5", "acks=all"]));
        assert!(!idempotent(&["enable.idempotence=false"]), "off when asked");
        assert!(idempotent(&["enable.idempotence=true"]));
    }
}
