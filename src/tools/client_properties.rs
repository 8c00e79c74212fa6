//! Client properties for the tools: the `key=value` settings Kafka's tools
//! take from a properties file (`--producer.config`, `--consumer.config`,
//! `--command-config`) and from repeated flags (`--producer-property`,
//! `--consumer-property`, `--property`).
//!
//! Each tool maps the keys it understands onto its own settings. As Kafka's
//! clients do, a key the tool does not use is warned about and ignored (a
//! file written for Kafka's Java client works here), but a *security* key
//! (`security.protocol` other than `PLAINTEXT`, `ssl.*`, `sasl.*`) is refused:
//! the tools do not speak TLS or SASL yet (spool's client library speaks
//! TLS; the tools' settings do not reach it), and a client that silently dropped them
//! would send in the clear what its user meant to protect.
//!
//! [`AdminSettings`] is `--command-config` for the admin tools (`spool
//! topics`, `groups`, `delete-records`, `log-dirs`; any admin tool can take it
//! the same way: a `--command-config FILE` flag and
//! [`AdminSettings::from_args`] then [`AdminSettings::connect`]).

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::client::{Client, ClientError, REQUEST_TIMEOUT_DEFAULT};
use crate::config::BrokerConfig;

/// Reads a Java-style properties file (`#` comments, `key=value` or `key:value`).
pub fn load_file(path: &Path) -> Result<Vec<(String, String)>, ClientError> {
    std::fs::read_to_string(path)
        .map_err(|e| e.to_string())
        .and_then(|text| BrokerConfig::parse_properties(&text))
        .map(|map| map.into_iter().collect())
        .map_err(|e| ClientError::InvalidArgument(format!("{}: {e}", path.display())))
}

/// Parses `key=value` flags as Kafka's `parseKeyValueArgs` does: split at the
/// first `=`, the value kept exactly (a separator may be a space).
pub fn parse_pairs(flag: &str, pairs: &[String]) -> Result<Vec<(String, String)>, ClientError> {
    pairs
        .iter()
        .map(|pair| match pair.split_once('=') {
            Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.to_string())),
            _ => Err(ClientError::InvalidArgument(format!("{flag} {pair:?}: expected key=value"))),
        })
        .collect()
}

/// A file's properties then the flags' (which win, coming later).
pub fn file_then_flags(
    flag: &str,
    file: Option<&Path>,
    pairs: &[String],
) -> Result<Vec<(String, String)>, ClientError> {
    let mut properties = match file {
        Some(path) => load_file(path)?,
        None => Vec::new(),
    };
    properties.extend(parse_pairs(flag, pairs)?);
    Ok(properties)
}

// ANCHOR: refuse_security
/// Refuses the settings that ask for TLS or SASL, which spool's clients lack.
pub fn refuse_security(properties: &[(String, String)]) -> Result<(), ClientError> {
    for (key, value) in properties {
        let plaintext = key == "security.protocol" && value.trim().eq_ignore_ascii_case("PLAINTEXT");
        let security = key == "security.protocol" || key.starts_with("ssl.") || key.starts_with("sasl.");
        if security && !plaintext {
            return Err(ClientError::InvalidArgument(format!(
                "{key}={value}: spool's tools speak no TLS or SASL yet (issue 19); \
                 remove it to connect in PLAINTEXT"
            )));
        }
    }
    Ok(())
}
// ANCHOR_END: refuse_security

/// Whether `key` is a security setting [`refuse_security`] let through
/// (`security.protocol=PLAINTEXT`): a tool takes it without a warning.
pub fn is_plaintext_security(key: &str) -> bool {
    key == "security.protocol"
}

/// An admin tool's connection settings: `--bootstrap-server` and
/// `--command-config FILE`'s `bootstrap.servers`, `client.id` and
/// `request.timeout.ms` (`default.api.timeout.ms` is taken too, as the
/// bound on each call, since spool's admin client has one timeout).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminSettings {
    pub bootstrap_servers: String,
    pub client_id: Option<String>,
    pub request_timeout: Duration,
}

/// The `--command-config` keys an admin tool uses.
const ADMIN_KEYS: &[&str] =
    &["bootstrap.servers", "client.id", "request.timeout.ms", "default.api.timeout.ms"];

impl AdminSettings {
    /// Reads `--bootstrap-server` and `--command-config`; security keys are
    /// refused, keys an admin client does not use are warned about.
    pub fn from_args(
        bootstrap_flag: Option<&str>,
        command_config: Option<&Path>,
    ) -> Result<Self, ClientError> {
        let properties = file_then_flags("--command-config", command_config, &[])?;
        refuse_security(&properties)?;
        let mut settings = AdminSettings {
            bootstrap_servers: super::bootstrap_servers(bootstrap_flag, &properties),
            client_id: None,
            request_timeout: REQUEST_TIMEOUT_DEFAULT,
        };
        for (key, value) in &properties {
            match key.as_str() {
                "bootstrap.servers" => {}
                "client.id" => settings.client_id = Some(value.clone()),
                "request.timeout.ms" | "default.api.timeout.ms" => {
                    let ms: u64 = value.trim().parse().ok().filter(|&ms| ms > 0).ok_or_else(|| {
                        ClientError::InvalidArgument(format!(
                            "{key}={value}: expected a positive number of ms"
                        ))
                    })?;
                    settings.request_timeout = Duration::from_millis(ms);
                }
                _ if is_plaintext_security(key) => {}
                _ => super::line_reader::warn_unknown("admin client", key, ADMIN_KEYS),
            }
        }
        Ok(settings)
    }

    /// Connects as these settings say.
    pub async fn connect(&self) -> Result<Client, ClientError> {
        Client::connect_as(&self.bootstrap_servers, self.request_timeout, self.client_id.as_deref()).await
    }
}

/// The `--command-config FILE` flag, for an admin tool's args to `#[command(flatten)]`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct CommandConfigArg {
    /// A properties file of admin client settings (client.id,
    /// request.timeout.ms, bootstrap.servers); security settings are refused.
    #[arg(long = "command-config", value_name = "FILE")]
    pub command_config: Option<PathBuf>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    /// TLS and SASL settings are refused by name; PLAINTEXT is what spool
    /// speaks, so `security.protocol=PLAINTEXT` passes.
    #[test]
    fn security_settings_are_refused_but_plaintext_passes() {
        for (key, value) in
            [("security.protocol", "SSL"), ("ssl.truststore.location", "/x"), ("sasl.mechanism", "PLAIN")]
        {
            let err = refuse_security(&props(&[(key, value)])).unwrap_err().to_string();
            assert!(err.contains(key) && err.contains("no TLS or SASL"), "{err}");
        }
        refuse_security(&props(&[("security.protocol", "plaintext"), ("acks", "all")])).unwrap();
    }

    /// `--property` values are kept exactly (a space is a valid separator);
    /// a pair without `=` or without a key is refused.
    #[test]
    fn pairs_keep_their_values_exactly() {
        let parsed = parse_pairs("--property", &["key.separator= ".into(), "a=b=c".into()]).unwrap();
        assert_eq!(parsed, props(&[("key.separator", " "), ("a", "b=c")]));
        assert!(parse_pairs("--property", &["parse.key".into()]).is_err());
        assert!(parse_pairs("--property", &["=x".into()]).is_err());
    }

    /// The key lists the tools check before `set` name only keys `set`
    /// knows, so no key a client understands is ever warned away as unknown.
    #[test]
    fn the_known_key_lists_match_what_the_configs_set() {
        use crate::client::{ConsumerConfig, GroupConfig, ProducerConfig};
        let unknown = |e: ClientError| {
            let why = e.to_string();
            why.contains("unknown producer config") || why.contains("unknown consumer property")
        };
        for key in ProducerConfig::KEYS {
            let mut config = ProducerConfig::default();
            assert!(config.set(key, "?!").map_or_else(|e| !unknown(e), |()| true), "{key}");
        }
        for key in ConsumerConfig::KEYS.iter().chain(GroupConfig::KEYS) {
            let mut config = ConsumerConfig::default();
            assert!(config.set(key, "?!").map_or_else(|e| !unknown(e), |()| true), "{key}");
        }
        assert!(unknown(ProducerConfig::default().set("max.request.size", "1").unwrap_err()));
    }

    /// `--command-config` gives an admin tool its client.id and timeout, its
    /// broker when there is no flag, and refuses security settings.
    #[test]
    fn command_config_sets_the_admin_client() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("admin.properties");
        std::fs::write(
            &file,
            "# admin\nclient.id=ops\nrequest.timeout.ms=1234\nbootstrap.servers=b:1\nretries=3\n",
        )
        .unwrap();
        let settings = AdminSettings::from_args(None, Some(&file)).unwrap();
        assert_eq!(settings.client_id.as_deref(), Some("ops"));
        assert_eq!(settings.request_timeout, Duration::from_millis(1234));
        assert_eq!(settings.bootstrap_servers, "b:1");
        assert_eq!(AdminSettings::from_args(Some("a:1"), Some(&file)).unwrap().bootstrap_servers, "a:1");
        std::fs::write(&file, "security.protocol=SASL_SSL\n").unwrap();
        assert!(AdminSettings::from_args(None, Some(&file))
            .unwrap_err()
            .to_string()
            .contains("security.protocol"));
        std::fs::write(&file, "request.timeout.ms=soon\n").unwrap();
        assert!(AdminSettings::from_args(None, Some(&file)).is_err());
    }
}
