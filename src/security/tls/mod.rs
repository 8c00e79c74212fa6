//! TLS: Kafka's `SSL` security protocol, with rustls.
//!
//! A listener mapped to `SSL` (`listener.security.protocol.map=SSL:SSL`, or a
//! listener simply named `SSL`) wraps each accepted socket in a TLS session
//! before the first Kafka frame: the wire protocol inside is unchanged. The
//! broker proves who it is with the certificate in its keystore; with
//! `ssl.client.auth=required` (or `requested`) the client proves who it is
//! too (mutual TLS), and its certificate's subject becomes the principal of
//! every request on that connection ([`principal()`]).
//!
//! ```text
//!   properties (ssl.*, listener.name.<l>.ssl.*)
//!        │ SslConfig::for_listener                (config.rs)
//!        ▼
//!   server_config ──▶ rustls::ServerConfig ──▶ the wire server's TLS accept
//!   client_config ──▶ rustls::ClientConfig ──▶ spool's client (tools, and a
//!                                              broker dialling another)
//! ```
//!
//! The cost is chapter 3's optimisation: `sendfile` moves file pages to a
//! socket inside the kernel, but TLS must encrypt every byte in user space,
//! so a fetch over TLS reads its records into memory first — Kafka loses
//! zero-copy under SSL for the same reason. `benches/security.rs` measures
//! what it costs a fetch, a produce and a new connection
//! (`benches/RESULTS-security.md`).
//!
//! Simplifications: PEM stores only (no JKS/PKCS12), unencrypted private keys
//! only (`ssl.key.password` is refused rather than ignored), the `DEFAULT`
//! principal mapping rule only, no certificate revocation lists, no
//! reloading of certificates while running. The crypto provider is `ring`.

pub mod config;
pub mod principal;

use std::io;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::server::WebPkiClientVerifier;
use rustls::{ClientConfig, RootCertStore, ServerConfig, SupportedProtocolVersion};

pub use config::{ClientAuth, SslConfig};

/// What can go wrong setting TLS up. A broker refuses to start on any of
/// them; a client refuses to connect.
#[derive(Debug)]
pub enum TlsError {
    /// A setting is missing, malformed or asks for what spool cannot do.
    Config(String),
    /// A key or certificate file could not be read.
    Io { path: String, error: io::Error },
    /// rustls refused the keys or certificates.
    Rustls(String),
}

impl std::fmt::Display for TlsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TlsError::Config(why) => f.write_str(why),
            TlsError::Io { path, error } => write!(f, "cannot read {path}: {error}"),
            TlsError::Rustls(why) => write!(f, "TLS: {why}"),
        }
    }
}

impl std::error::Error for TlsError {}

/// `ring`, not rustls' default aws-lc-rs: it builds without cmake or a C
/// toolchain beyond cc, and keeps the dependency tree small. rustls 0.23.48
/// deprecates it for lacking post-quantum key exchange, which Kafka's clients
/// do not offer either.
#[allow(deprecated)]
fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn versions(ssl: &SslConfig) -> Vec<&'static SupportedProtocolVersion> {
    let mut v = Vec::new();
    if ssl.tls13 {
        v.push(&rustls::version::TLS13);
    }
    if ssl.tls12 {
        v.push(&rustls::version::TLS12);
    }
    v
}

/// The PEM text of a store: inline, else read from its file.
fn pem_text(
    inline: &Option<String>,
    location: &Option<std::path::PathBuf>,
) -> Result<Option<Vec<u8>>, TlsError> {
    if let Some(text) = inline {
        return Ok(Some(text.clone().into_bytes()));
    }
    let Some(path) = location else { return Ok(None) };
    std::fs::read(path).map(Some).map_err(|error| TlsError::Io { path: path.display().to_string(), error })
}

/// The keystore: a certificate chain and its private key, if configured.
fn keystore(
    ssl: &SslConfig,
) -> Result<Option<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)>, TlsError> {
    let chain_pem = pem_text(&ssl.keystore_certificate_chain, &ssl.keystore_location)?;
    let key_pem = pem_text(&ssl.keystore_key, &ssl.keystore_location)?;
    let (Some(chain_pem), Some(key_pem)) = (chain_pem, key_pem) else {
        return Ok(None);
    };
    if String::from_utf8_lossy(&key_pem).contains("ENCRYPTED PRIVATE KEY") || ssl.key_password.is_some() {
        return Err(TlsError::Config(
            "ssl.key.password: spool reads only unencrypted private keys; decrypt the key \
             (openssl pkcs8 -topk8 -nocrypt) and remove ssl.key.password"
                .into(),
        ));
    }
    let chain = CertificateDer::pem_slice_iter(&chain_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::Config(format!("ssl.keystore: bad certificate PEM: {e}")))?;
    if chain.is_empty() {
        return Err(TlsError::Config("ssl.keystore: no CERTIFICATE in the keystore PEM".into()));
    }
    let key = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| {
        TlsError::Config(format!("ssl.keystore: no usable PRIVATE KEY in the keystore PEM: {e}"))
    })?;
    Ok(Some((chain, key)))
}

/// The truststore's CA certificates, if configured.
fn truststore(ssl: &SslConfig) -> Result<Option<RootCertStore>, TlsError> {
    let Some(pem) = pem_text(&ssl.truststore_certificates, &ssl.truststore_location)? else {
        return Ok(None);
    };
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(&pem) {
        let cert = cert.map_err(|e| TlsError::Config(format!("ssl.truststore: bad certificate PEM: {e}")))?;
        roots.add(cert).map_err(|e| TlsError::Config(format!("ssl.truststore: {e}")))?;
    }
    if roots.is_empty() {
        return Err(TlsError::Config("ssl.truststore: no CERTIFICATE in the truststore PEM".into()));
    }
    Ok(Some(roots))
}

// ANCHOR: server_config
/// The rustls configuration of an SSL listener: its keystore, and, when
/// `ssl.client.auth` asks for client certificates, the truststore they must
/// chain to.
pub fn server_config(ssl: &SslConfig) -> Result<Arc<ServerConfig>, TlsError> {
    let (chain, key) = keystore(ssl)?.ok_or_else(|| {
        TlsError::Config(
            "an SSL listener needs ssl.keystore.location (or ssl.keystore.certificate.chain and \
             ssl.keystore.key)"
                .into(),
        )
    })?;
    let builder = ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&versions(ssl))
        .map_err(|e| TlsError::Rustls(e.to_string()))?;
    let builder = match ssl.client_auth {
        ClientAuth::None => builder.with_no_client_auth(),
        auth => {
            let roots = truststore(ssl)?.ok_or_else(|| {
                TlsError::Config(
                    "ssl.client.auth asks for client certificates: set ssl.truststore.location".into(),
                )
            })?;
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider());
            let verifier =
                if auth == ClientAuth::Requested { verifier.allow_unauthenticated() } else { verifier };
            builder.with_client_cert_verifier(verifier.build().map_err(|e| TlsError::Rustls(e.to_string()))?)
        }
    };
    let config = builder.with_single_cert(chain, key).map_err(|e| TlsError::Rustls(e.to_string()))?;
    Ok(Arc::new(config))
}
// ANCHOR_END: server_config

/// The rustls configuration of a client: the truststore that must vouch for
/// the broker, and the keystore's certificate if the broker asks for one.
/// Hostname checking follows `ssl.endpoint.identification.algorithm`.
pub fn client_config(ssl: &SslConfig) -> Result<Arc<ClientConfig>, TlsError> {
    let roots = truststore(ssl)?.ok_or_else(|| {
        TlsError::Config(
            "security.protocol=SSL needs ssl.truststore.location (or ssl.truststore.certificates)".into(),
        )
    })?;
    let builder = ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(&versions(ssl))
        .map_err(|e| TlsError::Rustls(e.to_string()))?;
    let builder = if ssl.verify_hostname {
        builder.with_root_certificates(roots)
    } else {
        let verifier =
            rustls::client::WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider())
                .build()
                .map_err(|e| TlsError::Rustls(e.to_string()))?;
        builder.dangerous().with_custom_certificate_verifier(Arc::new(NoHostnameCheck(verifier)))
    };
    let config = match keystore(ssl)? {
        Some((chain, key)) => {
            builder.with_client_auth_cert(chain, key).map_err(|e| TlsError::Rustls(e.to_string()))?
        }
        None => builder.with_no_client_auth(),
    };
    Ok(Arc::new(config))
}

/// The name a client checks the broker's certificate against: the host of
/// the address dialled (an IP address or a DNS name).
pub fn server_name(addr: &str) -> Result<ServerName<'static>, TlsError> {
    let host = addr.rsplit_once(':').map_or(addr, |(host, _)| host);
    let host = host.trim_start_matches('[').trim_end_matches(']');
    ServerName::try_from(host.to_string()).map_err(|e| TlsError::Config(format!("{addr}: {e}")))
}

/// The principal of a TLS connection: `User:<subject DN>` of the client's
/// certificate, or `User:ANONYMOUS` without one.
pub fn principal(peer_certificates: Option<&[CertificateDer<'_>]>) -> String {
    match peer_certificates.and_then(|certs| certs.first()).and_then(|c| principal::subject_dn(c)) {
        Some(dn) => format!("User:{dn}"),
        None => super::ANONYMOUS.to_string(),
    }
}

/// `ssl.endpoint.identification.algorithm=` (empty): the chain is still
/// checked against the truststore, but not the name in it.
#[derive(Debug)]
struct NoHostnameCheck(Arc<rustls::client::WebPkiServerVerifier>);

impl rustls::client::danger::ServerCertVerifier for NoHostnameCheck {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        match self.0.verify_server_cert(end_entity, intermediates, server_name, ocsp, now) {
            Err(rustls::Error::InvalidCertificate(rustls::CertificateError::NotValidForName))
            | Err(rustls::Error::InvalidCertificate(rustls::CertificateError::NotValidForNameContext {
                ..
            })) => Ok(rustls::client::danger::ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}
