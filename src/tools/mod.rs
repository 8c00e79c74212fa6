//! Command-line tools in the spirit of Kafka's scripts: `dump_log` works on
//! spool's files; `topics`, `produce`, `consume`, `groups`, `log_dirs`, `transactions` and `delete_records` speak the wire protocol to
//! a running broker through [`crate::client`], like any other client, and
//! `metadata_quorum` to a controller.
//!
//! Each tool owns its flags: its argument struct derives [`clap::Args`], and
//! `main.rs` only picks the tool. The tools that take client properties find
//! the broker the way Kafka's tools do ([`bootstrap_servers`]).

pub mod acls;
pub mod client_properties;
pub mod cluster;
pub mod configs;
pub mod consume;
pub mod delete_records;
pub mod dump_log;
pub mod formatter;
pub mod groups;
pub mod line_reader;
pub mod log_dirs;
pub mod metadata_quorum;
pub mod perf;
pub mod produce;
pub mod topics;
pub mod transactions;

use std::path::Path;

use crate::client::ClientError;
use crate::config::BrokerConfig;

/// Where the client tools look for a broker unless told otherwise.
pub const BOOTSTRAP_DEFAULT: &str = "127.0.0.1:9092";

/// A client tool's settings: the broker to bootstrap from and every other
/// client property, in the order given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientSettings {
    pub bootstrap_servers: String,
    /// `key=value` settings other than `bootstrap.servers`.
    pub properties: Vec<(String, String)>,
}

impl ClientSettings {
    /// Reads a tool's `--bootstrap-server`, its properties file
    /// (`--consumer.config`, `--producer.config`) and its `key=value`
    /// properties (`--consumer-property`, `--producer-props`, …), which win
    /// over the file's.
    pub fn from_args(flag: Option<&str>, file: Option<&Path>, pairs: &[String]) -> Result<Self, ClientError> {
        let mut properties: Vec<(String, String)> = match file {
            Some(path) => std::fs::read_to_string(path)
                .map_err(|e| e.to_string())
                .and_then(|text| BrokerConfig::parse_properties(&text))
                .map_err(|e| ClientError::InvalidArgument(format!("{}: {e}", path.display())))?
                .into_iter()
                .collect(),
            None => Vec::new(),
        };
        for pair in pairs {
            let Some((k, v)) = pair.split_once('=') else {
                return Err(ClientError::InvalidArgument(format!("{pair:?}: expected key=value")));
            };
            properties.push((k.trim().to_string(), v.trim().to_string()));
        }
        let bootstrap_servers = bootstrap_servers(flag, &properties);
        properties.retain(|(k, _)| k != "bootstrap.servers");
        Ok(ClientSettings { bootstrap_servers, properties })
    }
}

// ANCHOR: bootstrap_servers
/// `bootstrap.servers` as Kafka's tools decide it: the `--bootstrap-server`
/// flag, else the last `bootstrap.servers` among the client properties, else
/// [`BOOTSTRAP_DEFAULT`].
pub fn bootstrap_servers(flag: Option<&str>, properties: &[(String, String)]) -> String {
    let from_properties = properties.iter().rev().find(|(k, _)| k == "bootstrap.servers").map(|(_, v)| v);
    flag.or(from_properties.map(String::as_str)).unwrap_or(BOOTSTRAP_DEFAULT).to_string()
}
// ANCHOR_END: bootstrap_servers

/// `\t` and `\n` typed on a command line mean a tab and a newline, as in
/// Kafka's `key.separator` (a clap value parser: it never fails).
pub fn unescape(s: &str) -> Result<String, std::convert::Infallible> {
    Ok(s.replace("\\t", "\t").replace("\\n", "\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Kafka's tools take the broker from `--bootstrap-server`, else from
    /// `bootstrap.servers` in the client properties (the last one given),
    /// else 127.0.0.1:9092; the property never reaches the client's config.
    #[test]
    fn the_flag_beats_the_properties_which_beat_the_default() {
        let props = |pairs: &[&str]| pairs.iter().map(|p| p.to_string()).collect::<Vec<_>>();
        let both = props(&["bootstrap.servers=b:1", "acks=1", "bootstrap.servers=c:1"]);
        let flag = ClientSettings::from_args(Some("a:1"), None, &both).unwrap();
        assert_eq!(flag.bootstrap_servers, "a:1");
        assert_eq!(flag.properties, vec![("acks".to_string(), "1".to_string())]);
        assert_eq!(ClientSettings::from_args(None, None, &both).unwrap().bootstrap_servers, "c:1");
        let neither = ClientSettings::from_args(None, None, &props(&["acks=1"])).unwrap();
        assert_eq!(neither.bootstrap_servers, BOOTSTRAP_DEFAULT);
        assert!(ClientSettings::from_args(None, None, &props(&["acks"])).is_err());
    }
}
