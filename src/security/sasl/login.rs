//! The client's side of a SASL login: who to log in as, read from Kafka's
//! client keys (`sasl.mechanism` and `sasl.jaas.config`).
//!
//! A Kafka client names its mechanism (`sasl.mechanism=PLAIN`, the default
//! being GSSAPI) and its credentials in a JAAS line:
//!
//! ```text
//! sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required \
//!     username="alice" password="alice-secret";
//! ```
//!
//! (`…scram.ScramLoginModule` for SCRAM). A broker dialling another over a SASL
//! listener logs in the same way, with the `username`/`password` options of
//! that listener's own JAAS line (Kafka's rule for PLAIN inter-broker links).
//!
//! This module only reads settings; the exchange itself is the client's
//! (`client::connection::sasl`), with [`super::plain::client_token`] and
//! [`super::scram::ScramClient`] building the tokens.
//!
//! Simplifications: GSSAPI (Kerberos) and OAUTHBEARER are refused by name, as
//! is any login module other than PLAIN's and SCRAM's.

use super::jaas::JaasConfig;
use super::Mechanism;

/// Who a client logs in as, and how.
#[derive(Clone, PartialEq, Eq)]
pub struct SaslLogin {
    pub mechanism: Mechanism,
    pub username: String,
    pub password: String,
}

impl std::fmt::Debug for SaslLogin {
    /// The password is never printed.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SaslLogin")
            .field("mechanism", &self.mechanism.name())
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

impl SaslLogin {
    /// Reads `mechanism` (`sasl.mechanism`'s value, named `mechanism_key` in
    /// errors) and a JAAS line (named `jaas_key`). The error names the key to fix.
    pub fn from_jaas(
        mechanism_key: &str,
        mechanism: &str,
        jaas_key: &str,
        jaas: Option<&str>,
    ) -> Result<Self, String> {
        let mechanism = parse_mechanism(mechanism_key, mechanism)?;
        let jaas = jaas.ok_or_else(|| format!("{jaas_key} is required for SASL ({})", mechanism.name()))?;
        let jaas = JaasConfig::parse(jaas).map_err(|e| format!("{jaas_key}: {e}"))?;
        let module = match mechanism {
            Mechanism::Plain => "PlainLoginModule",
            Mechanism::Scram(_) => "ScramLoginModule",
        };
        if !jaas.module.ends_with(module) {
            return Err(format!("{jaas_key}: {} needs {module}, not {}", mechanism.name(), jaas.module));
        }
        let (username, password) = jaas
            .login()
            .ok_or_else(|| format!("{jaas_key}: username=\"…\" and password=\"…\" are required"))?;
        Ok(SaslLogin { mechanism, username, password })
    }
}

/// A mechanism spool's client speaks, or an error naming the key; GSSAPI
/// (Kafka's default) and OAUTHBEARER are refused by name.
pub fn parse_mechanism(key: &str, value: &str) -> Result<Mechanism, String> {
    let value = value.trim();
    Mechanism::from_name(value).ok_or_else(|| match value {
        "GSSAPI" | "OAUTHBEARER" => format!(
            "{key}={value}: spool has no {value} (Kerberos and OAuth are left out, chapter 11); \
             use PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512"
        ),
        _ => format!("{key}={value}: spool speaks PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::security::sasl::scram::ScramMechanism;

    /// Kafka's client JAAS lines for PLAIN and SCRAM give the login; the
    /// wrong module, a missing password and GSSAPI are refused by name.
    #[test]
    fn logins_are_read_from_kafkas_client_keys() {
        let plain = r#"org.apache.kafka.common.security.plain.PlainLoginModule required username="alice" password="a-secret";"#;
        let login = SaslLogin::from_jaas("sasl.mechanism", "PLAIN", "sasl.jaas.config", Some(plain)).unwrap();
        assert_eq!((login.username.as_str(), login.password.as_str()), ("alice", "a-secret"));
        assert!(!format!("{login:?}").contains("a-secret"));
        let scram = r#"org.apache.kafka.common.security.scram.ScramLoginModule required username="bob" password="b";"#;
        let login = SaslLogin::from_jaas("m", "SCRAM-SHA-512", "j", Some(scram)).unwrap();
        assert_eq!(login.mechanism, Mechanism::Scram(ScramMechanism::Sha512));
        assert!(SaslLogin::from_jaas("m", "PLAIN", "j", Some(scram))
            .unwrap_err()
            .contains("PlainLoginModule"));
        let no_password = "org.apache.kafka.common.security.plain.PlainLoginModule required username=\"a\";";
        assert!(SaslLogin::from_jaas("m", "PLAIN", "j", Some(no_password)).unwrap_err().contains("password"));
        assert!(SaslLogin::from_jaas("m", "PLAIN", "j", None).unwrap_err().contains("j is required"));
        for refused in ["GSSAPI", "OAUTHBEARER"] {
            let error = parse_mechanism("sasl.mechanism", refused).unwrap_err();
            assert!(error.contains(refused) && error.contains("spool has no"), "{error}");
        }
    }
}
