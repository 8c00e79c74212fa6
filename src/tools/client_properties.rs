//! Client properties for the tools: the `key=value` settings Kafka's tools
//! take from a properties file (`--producer.config`, `--consumer.config`,
//! `--command-config`) and from repeated flags (`--producer-property`,
//! `--consumer-property`, `--property`).
//!
//! Each tool maps the keys it understands onto its own settings. As Kafka's
//! clients do, a key the tool does not use is warned about and ignored (a
//! file written for Kafka's Java client works here).
//!
//! The *security* keys are Kafka's client keys (chapter 11, issue 19), read by
//! [`client_security`] into the [`Security`] every connection of the tool's
//! client is opened with:
//!
//! ```text
//!  security.protocol  PLAINTEXT (default) | SSL | SASL_PLAINTEXT | SASL_SSL
//!  ssl.truststore.type=PEM, ssl.truststore.location | ssl.truststore.certificates
//!  ssl.keystore.type=PEM, ssl.keystore.location | ssl.keystore.key +
//!      ssl.keystore.certificate.chain                     (mTLS)
//!  ssl.endpoint.identification.algorithm  https (default) | empty
//!  sasl.mechanism     PLAIN | SCRAM-SHA-256 | SCRAM-SHA-512
//!  sasl.jaas.config   …PlainLoginModule / …ScramLoginModule required
//!                     username="…" password="…";
//! ```
//!
//! What spool cannot do is refused by name, never dropped: a client that
//! silently ignored a security key would send in the clear, or as nobody,
//! what its user meant to protect. So GSSAPI (Kafka's default mechanism) and
//! OAUTHBEARER, JKS and PKCS12 stores, and an unknown protocol are errors.
//! Simplifications: `ssl.*` keys under a PLAINTEXT or SASL_PLAINTEXT
//! protocol, and `sasl.*` keys without SASL, are warned about and ignored, as
//! Kafka's clients ignore them.
//!
//! [`AdminSettings`] is `--command-config` for the admin tools (`spool
//! topics`, `groups`, `delete-records`, `log-dirs`; any admin tool can take it
//! the same way: a `--command-config FILE` flag and
//! [`AdminSettings::from_args`] then [`AdminSettings::connect`]).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::client::{Client, ClientError, Security, REQUEST_TIMEOUT_DEFAULT};
use crate::config::BrokerConfig;
use crate::security::sasl::login::SaslLogin;
use crate::security::tls::{self, SslConfig};

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

// ANCHOR: client_security
/// Kafka's client security keys read into how every connection is secured:
/// `security.protocol` says whether TLS and a SASL login are wanted, the
/// `ssl.*` keys build the TLS configuration, `sasl.mechanism` and
/// `sasl.jaas.config` the login. A later pair wins over an earlier one (flags
/// over the file). What spool cannot do is refused by name.
pub fn client_security(properties: &[(String, String)]) -> Result<Security, ClientError> {
    let invalid = ClientError::InvalidArgument;
    let keys: BTreeMap<String, String> =
        properties.iter().filter(|(key, _)| is_security_key(key)).cloned().collect();
    let protocol =
        keys.get("security.protocol").map_or("PLAINTEXT".into(), |p| p.trim().to_ascii_uppercase());
    let (tls, sasl) = match protocol.as_str() {
        "PLAINTEXT" => (false, false),
        "SSL" => (true, false),
        "SASL_PLAINTEXT" => (false, true),
        "SASL_SSL" => (true, true),
        other => {
            return Err(invalid(format!(
                "security.protocol={other}: expected PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL"
            )))
        }
    };
    for key in keys.keys() {
        let used = key == "security.protocol"
            || (tls && tls::config::SSL_KEYS.contains(&key.as_str()))
            || (sasl && SASL_KEYS.contains(&key.as_str()));
        if !used {
            super::line_reader::warn_unknown(&format!("{protocol} client"), key, SASL_KEYS);
        }
    }
    let tls = match tls {
        true => {
            let ssl = SslConfig::for_listener(&keys, None).map_err(|e| invalid(e.to_string()))?;
            Some(tls::client_config(&ssl).map_err(|e| invalid(e.to_string()))?)
        }
        false => None,
    };
    let sasl = match sasl {
        true => {
            // Kafka's default mechanism is GSSAPI, which spool refuses by name.
            let mechanism = keys.get("sasl.mechanism").map_or("GSSAPI", String::as_str);
            let jaas = keys.get("sasl.jaas.config").map(String::as_str);
            let login = SaslLogin::from_jaas("sasl.mechanism", mechanism, "sasl.jaas.config", jaas);
            Some(Arc::new(login.map_err(invalid)?))
        }
        false => None,
    };
    Ok(Security { tls, sasl })
}
// ANCHOR_END: client_security

/// The `sasl.*` keys a SASL client reads.
const SASL_KEYS: &[&str] = &["sasl.mechanism", "sasl.jaas.config"];

/// Whether `key` is a security setting, [`client_security`]'s to read (a
/// tool's own key loop skips it).
pub fn is_security_key(key: &str) -> bool {
    key == "security.protocol" || key.starts_with("ssl.") || key.starts_with("sasl.")
}

/// An admin tool's connection settings: `--bootstrap-server` and
/// `--command-config FILE`'s `bootstrap.servers`, `client.id` and
/// `request.timeout.ms` (`default.api.timeout.ms` is taken too, as the
/// bound on each call, since spool's admin client has one timeout), and
/// the security keys ([`client_security`]).
#[derive(Debug, Clone)]
pub struct AdminSettings {
    pub bootstrap_servers: String,
    pub client_id: Option<String>,
    pub request_timeout: Duration,
    /// `security.protocol` and its `ssl.*` / `sasl.*` keys.
    pub security: Security,
}

/// The `--command-config` keys an admin tool uses.
const ADMIN_KEYS: &[&str] =
    &["bootstrap.servers", "client.id", "request.timeout.ms", "default.api.timeout.ms"];

impl AdminSettings {
    /// Reads `--bootstrap-server` and `--command-config`; security keys are
    /// read by [`client_security`], keys an admin client does not use are
    /// warned about.
    pub fn from_args(
        bootstrap_flag: Option<&str>,
        command_config: Option<&Path>,
    ) -> Result<Self, ClientError> {
        let properties = file_then_flags("--command-config", command_config, &[])?;
        let mut settings = AdminSettings {
            bootstrap_servers: super::bootstrap_servers(bootstrap_flag, &properties),
            client_id: None,
            request_timeout: REQUEST_TIMEOUT_DEFAULT,
            security: client_security(&properties)?,
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
                _ if is_security_key(key) => {}
                _ => super::line_reader::warn_unknown("admin client", key, ADMIN_KEYS),
            }
        }
        Ok(settings)
    }

    /// Connects as these settings say.
    pub async fn connect(&self) -> Result<Client, ClientError> {
        let (bootstrap, timeout) = (&self.bootstrap_servers, self.request_timeout);
        Client::open(bootstrap, timeout, self.client_id.as_deref(), self.security.clone()).await
    }
}

/// The `--command-config FILE` flag, for an admin tool's args to `#[command(flatten)]`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct CommandConfigArg {
    /// A properties file of admin client settings (client.id,
    /// request.timeout.ms, bootstrap.servers, security.protocol, ssl.*, sasl.*).
    #[arg(long = "command-config", value_name = "FILE")]
    pub command_config: Option<PathBuf>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    /// Kafka's four protocols give TLS and/or a SASL login, each from its
    /// keys: SASL_SSL with a PEM truststore and a SCRAM-SHA-512 JAAS line is
    /// both, PLAINTEXT (the default, any case) neither.
    #[test]
    fn security_keys_build_the_clients_security() {
        let ca = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap().cert.pem();
        let scram = r#"org.apache.kafka.common.security.scram.ScramLoginModule required username="alice" password="s";"#;
        let sasl_ssl = client_security(&props(&[
            ("security.protocol", "SASL_SSL"),
            ("ssl.truststore.type", "PEM"),
            ("ssl.truststore.certificates", &ca),
            ("ssl.endpoint.identification.algorithm", ""),
            ("sasl.mechanism", "SCRAM-SHA-512"),
            ("sasl.jaas.config", scram),
        ]))
        .unwrap();
        assert_eq!(sasl_ssl.protocol(), "SASL_SSL");
        let login = sasl_ssl.sasl.unwrap();
        assert_eq!((login.mechanism.name(), login.username.as_str()), ("SCRAM-SHA-512", "alice"));
        let plain =
            r#"org.apache.kafka.common.security.plain.PlainLoginModule required username="a" password="p";"#;
        let sasl_plaintext = client_security(&props(&[
            ("security.protocol", "sasl_plaintext"),
            ("sasl.mechanism", "PLAIN"),
            ("sasl.jaas.config", plain),
        ]));
        assert_eq!(sasl_plaintext.unwrap().protocol(), "SASL_PLAINTEXT");
        let ssl =
            client_security(&props(&[("security.protocol", "SSL"), ("ssl.truststore.certificates", &ca)]));
        assert_eq!(ssl.unwrap().protocol(), "SSL");
        assert_eq!(client_security(&props(&[("acks", "all")])).unwrap().protocol(), "PLAINTEXT");
        let flags_win = props(&[("security.protocol", "SSL"), ("security.protocol", "PLAINTEXT")]);
        assert_eq!(client_security(&flags_win).unwrap().protocol(), "PLAINTEXT");
    }

    /// What spool cannot do is refused by name: GSSAPI (also Kafka's default
    /// when `sasl.mechanism` is unset), OAUTHBEARER, JKS and PKCS12 stores,
    /// an unknown protocol, SSL without a truststore, SASL without a JAAS line.
    #[test]
    fn security_spool_cannot_do_is_refused_by_name() {
        let jaas =
            r#"org.apache.kafka.common.security.plain.PlainLoginModule required username="a" password="p";"#;
        for (pairs, says) in [
            (vec![("security.protocol", "SASL_PLAINTEXT"), ("sasl.mechanism", "GSSAPI")], "GSSAPI"),
            (vec![("security.protocol", "SASL_PLAINTEXT"), ("sasl.jaas.config", jaas)], "GSSAPI"),
            (vec![("security.protocol", "SASL_PLAINTEXT"), ("sasl.mechanism", "OAUTHBEARER")], "OAUTHBEARER"),
            (vec![("security.protocol", "SASL_PLAINTEXT"), ("sasl.mechanism", "PLAIN")], "sasl.jaas.config"),
            (vec![("security.protocol", "SSL"), ("ssl.truststore.type", "JKS")], "ssl.truststore.type=JKS"),
            (vec![("security.protocol", "SSL"), ("ssl.keystore.type", "PKCS12")], "ssl.keystore.type=PKCS12"),
            (vec![("security.protocol", "SSL")], "ssl.truststore.location"),
            (vec![("security.protocol", "KERBEROS")], "security.protocol=KERBEROS"),
        ] {
            let err = client_security(&props(&pairs)).unwrap_err().to_string();
            assert!(err.contains(says), "{pairs:?}: {err}");
        }
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
    /// broker when there is no flag, and its security (a mechanism spool
    /// lacks refused).
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
        let jaas =
            r#"org.apache.kafka.common.security.plain.PlainLoginModule required username="a" password="p";"#;
        std::fs::write(
            &file,
            format!("security.protocol=SASL_PLAINTEXT\nsasl.mechanism=PLAIN\nsasl.jaas.config={jaas}\n"),
        )
        .unwrap();
        let settings = AdminSettings::from_args(None, Some(&file)).unwrap();
        assert_eq!(settings.security.protocol(), "SASL_PLAINTEXT");
        std::fs::write(&file, "security.protocol=SASL_PLAINTEXT\nsasl.mechanism=GSSAPI\n").unwrap();
        assert!(AdminSettings::from_args(None, Some(&file)).unwrap_err().to_string().contains("GSSAPI"));
        std::fs::write(&file, "request.timeout.ms=soon\n").unwrap();
        assert!(AdminSettings::from_args(None, Some(&file)).is_err());
    }
}
