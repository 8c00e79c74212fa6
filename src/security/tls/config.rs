//! Kafka's `ssl.*` keys, for one listener or one client.
//!
//! A broker reads `listener.name.<name>.ssl.keystore.location` before the bare
//! `ssl.keystore.location`, so each listener can carry its own certificate
//! (Kafka's per-listener prefix, KIP-103). A client (`--command-config`, or a
//! broker dialling another over its inter-broker listener) reads the same keys.
//!
//! Only `PEM` stores are read (KIP-651's form): a file holding the private key
//! and the certificate chain, or the PEM text inline in
//! `ssl.keystore.key` / `ssl.keystore.certificate.chain`. JKS and PKCS12 are
//! Java's formats; spool refuses them by name rather than guessing.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::TlsError;

/// `ssl.client.auth`: whether a listener asks the client for a certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ClientAuth {
    /// No client certificate is asked for (Kafka's default).
    #[default]
    None,
    /// Asked for; a client without one is `User:ANONYMOUS`.
    Requested,
    /// Asked for; a client without one is refused during the handshake.
    Required,
}

/// The `ssl.*` settings that apply to one listener (or one client).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SslConfig {
    /// `ssl.keystore.location`: a PEM file with the private key and the chain.
    pub keystore_location: Option<PathBuf>,
    /// `ssl.keystore.certificate.chain`: the chain as inline PEM text.
    pub keystore_certificate_chain: Option<String>,
    /// `ssl.keystore.key`: the private key as inline PEM text.
    pub keystore_key: Option<String>,
    /// `ssl.key.password`: only unencrypted keys are read, so setting it is refused.
    pub key_password: Option<String>,
    /// `ssl.truststore.location`: a PEM file of CA certificates.
    pub truststore_location: Option<PathBuf>,
    /// `ssl.truststore.certificates`: CA certificates as inline PEM text.
    pub truststore_certificates: Option<String>,
    pub client_auth: ClientAuth,
    /// `ssl.enabled.protocols`: TLSv1.2 and/or TLSv1.3 (both by default).
    pub tls12: bool,
    pub tls13: bool,
    /// `ssl.endpoint.identification.algorithm`: `https` (the default) checks
    /// that the server's certificate names the host dialled; empty skips it.
    pub verify_hostname: bool,
}

/// Every key this module reads, without a listener prefix.
pub const SSL_KEYS: &[&str] = &[
    "ssl.keystore.type",
    "ssl.keystore.location",
    "ssl.keystore.certificate.chain",
    "ssl.keystore.key",
    "ssl.key.password",
    "ssl.keystore.password",
    "ssl.truststore.type",
    "ssl.truststore.location",
    "ssl.truststore.certificates",
    "ssl.truststore.password",
    "ssl.client.auth",
    "ssl.enabled.protocols",
    "ssl.protocol",
    "ssl.endpoint.identification.algorithm",
    "ssl.principal.mapping.rules",
];

/// Whether `key` is one of [`SSL_KEYS`], bare or behind `listener.name.<name>.`.
pub fn is_ssl_key(key: &str) -> bool {
    let bare = match key.strip_prefix("listener.name.") {
        Some(rest) => rest.split_once('.').map_or("", |(_, k)| k),
        None => key,
    };
    SSL_KEYS.contains(&bare)
}

impl SslConfig {
    /// The settings for `listener` (a name such as `SSL` or `INTERNAL`; `None`
    /// for a client): each key's `listener.name.<name>.` form first, then the bare key.
    pub fn for_listener(props: &BTreeMap<String, String>, listener: Option<&str>) -> Result<Self, TlsError> {
        let get = |key: &str| -> Option<String> {
            let prefixed = listener.and_then(|name| {
                let want = format!("listener.name.{}.{key}", name.to_ascii_lowercase());
                props.iter().find(|(k, _)| k.eq_ignore_ascii_case(&want)).map(|(_, v)| v)
            });
            prefixed.or_else(|| props.get(key)).map(|v| v.trim().to_string()).filter(|v| !v.is_empty())
        };
        for key in ["ssl.keystore.type", "ssl.truststore.type"] {
            if let Some(kind) = get(key).filter(|t| !t.eq_ignore_ascii_case("PEM")) {
                return Err(TlsError::Config(format!(
                    "{key}={kind}: spool reads only PEM stores (set {key}=PEM and give PEM files or text)"
                )));
            }
        }
        let rules = get("ssl.principal.mapping.rules");
        if let Some(rules) = rules.filter(|r| r != "DEFAULT") {
            return Err(TlsError::Config(format!(
                "ssl.principal.mapping.rules={rules}: spool knows only DEFAULT (the whole subject DN)"
            )));
        }
        let client_auth = match get("ssl.client.auth").map(|v| v.to_ascii_lowercase()).as_deref() {
            None | Some("none") => ClientAuth::None,
            Some("requested") => ClientAuth::Requested,
            Some("required") => ClientAuth::Required,
            Some(other) => {
                return Err(TlsError::Config(format!(
                    "ssl.client.auth={other}: expected none, requested or required"
                )))
            }
        };
        let (mut tls12, mut tls13) = (true, true);
        if let Some(protocols) = get("ssl.enabled.protocols") {
            (tls12, tls13) = (false, false);
            for p in protocols.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                match p {
                    "TLSv1.2" => tls12 = true,
                    "TLSv1.3" => tls13 = true,
                    other => {
                        return Err(TlsError::Config(format!(
                            "ssl.enabled.protocols: {other} is not spoken (TLSv1.2 and TLSv1.3 are)"
                        )))
                    }
                }
            }
            if !tls12 && !tls13 {
                return Err(TlsError::Config("ssl.enabled.protocols names no protocol".into()));
            }
        }
        let verify_hostname = match get("ssl.endpoint.identification.algorithm") {
            None => !props.contains_key("ssl.endpoint.identification.algorithm"),
            Some(v) => v.eq_ignore_ascii_case("https"),
        };
        Ok(SslConfig {
            keystore_location: get("ssl.keystore.location").map(PathBuf::from),
            keystore_certificate_chain: get("ssl.keystore.certificate.chain"),
            keystore_key: get("ssl.keystore.key"),
            key_password: get("ssl.key.password"),
            truststore_location: get("ssl.truststore.location").map(PathBuf::from),
            truststore_certificates: get("ssl.truststore.certificates"),
            client_auth,
            tls12,
            tls13,
            verify_hostname,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    /// A `listener.name.<name>.` key overrides the bare one for that listener
    /// only, as Kafka's per-listener configs do (KIP-103).
    #[test]
    fn the_listener_prefix_overrides_the_bare_key() {
        let p = props(&[
            ("ssl.keystore.location", "/bare.pem"),
            ("listener.name.internal.ssl.keystore.location", "/internal.pem"),
            ("listener.name.internal.ssl.client.auth", "required"),
        ]);
        let internal = SslConfig::for_listener(&p, Some("INTERNAL")).unwrap();
        assert_eq!(internal.keystore_location, Some(PathBuf::from("/internal.pem")));
        assert_eq!(internal.client_auth, ClientAuth::Required);
        let ssl = SslConfig::for_listener(&p, Some("SSL")).unwrap();
        assert_eq!(ssl.keystore_location, Some(PathBuf::from("/bare.pem")));
        assert_eq!(ssl.client_auth, ClientAuth::None);
        assert!(is_ssl_key("listener.name.internal.ssl.keystore.location"));
        assert!(!is_ssl_key("listener.name.internal.sasl.enabled.mechanisms"));
    }

    /// Java's store formats, unknown protocols and mapping rules spool does
    /// not implement are refused by name, never read as something else.
    #[test]
    fn what_spool_cannot_read_is_refused_by_name() {
        for (key, value, says) in [
            ("ssl.keystore.type", "JKS", "ssl.keystore.type=JKS"),
            ("ssl.truststore.type", "PKCS12", "ssl.truststore.type=PKCS12"),
            ("ssl.enabled.protocols", "TLSv1.1", "TLSv1.1"),
            ("ssl.client.auth", "maybe", "ssl.client.auth=maybe"),
            ("ssl.principal.mapping.rules", "RULE:^CN=(.*?),.*$/$1/", "DEFAULT"),
        ] {
            let err = SslConfig::for_listener(&props(&[(key, value)]), None).unwrap_err().to_string();
            assert!(err.contains(says), "{key}={value}: {err}");
        }
        let only13 = SslConfig::for_listener(&props(&[("ssl.enabled.protocols", "TLSv1.3")]), None).unwrap();
        assert!(only13.tls13 && !only13.tls12);
    }
}
