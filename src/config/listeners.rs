//! Listeners: where a node accepts connections, and what it tells others to dial.
//!
//! Kafka names every listener (`listeners=PLAINTEXT://:9092,CONTROLLER://:9093`)
//! and maps each name to a security protocol (`listener.security.protocol.map`).
//! The names say what a listener is for: `controller.listener.names` picks the
//! ones the KRaft controller serves, `inter.broker.listener.name` the one
//! followers fetch over, and the rest serve clients. `advertised.listeners`
//! gives, per name, the address others are told to use, defaulting to the
//! listeners themselves minus the controller's (Kafka registers those through
//! the quorum configuration instead).
//!
//! spool speaks all four of Kafka's protocols, PLAINTEXT, SSL, SASL_PLAINTEXT
//! and SASL_SSL ([`SPOKEN_PROTOCOLS`], the one place that says so); a
//! listener mapped to anything else refuses to start ([`refuse_security`]).
//! The links between nodes use the protocol of the listener they dial:
//! `inter.broker.listener.name` (or, Kafka's older key,
//! `security.inter.broker.protocol`, naming the listener of that protocol)
//! for brokers, the first of `controller.listener.names` for the controller
//! quorum, each SASL one with its mechanism
//! (`sasl.mechanism.inter.broker.protocol`, `sasl.mechanism.controller.protocol`).
//! An SSL listener's
//! keys (`ssl.*`, `listener.name.<name>.ssl.*`) are read by
//! [`crate::security::tls`], and checked when the configuration is read; a
//! SASL listener's logins (`listener.name.<name>.<mechanism>.sasl.jaas.config`)
//! by `security::sasl`.
//!
//! Simplifications: a listener binds an IP address (`localhost` is read as
//! 127.0.0.1, an empty host as 0.0.0.0), not a host name looked up in DNS.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;

/// Kafka's security protocols.
const SECURITY_PROTOCOLS: [&str; 4] = ["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"];

/// The security protocols spool's listeners speak: the one place a protocol
/// is allowed.
pub const SPOKEN_PROTOCOLS: [&str; 4] = ["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"];

/// One named listener: `NAME://host:port`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listener {
    /// The listener's name, upper-cased as Kafka normalises it (`PLAINTEXT`,
    /// `CONTROLLER`, `INTERNAL`, …); a bare `host:port` is `PLAINTEXT`.
    pub name: String,
    /// The host: an IP address in `listeners` (`0.0.0.0` for all interfaces),
    /// any name in `advertised.listeners`.
    pub host: String,
    pub port: u16,
    /// The security protocol the name maps to (`PLAINTEXT`, `SSL`, `SASL_PLAINTEXT` or `SASL_SSL`).
    pub protocol: String,
}

impl Listener {
    /// The socket address to bind: the host must be an IP address or `localhost`.
    pub fn bind_addr(&self) -> Result<SocketAddr, String> {
        let host = if self.host == "localhost" { "127.0.0.1" } else { self.host.as_str() };
        let ip = host.trim_start_matches('[').trim_end_matches(']');
        let ip = ip.parse().map_err(|_| format!("listeners: {:?} is not an IP address", self.host))?;
        Ok(SocketAddr::new(ip, self.port))
    }
}

impl fmt::Display for Listener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}:{}", self.name, self.host, self.port)
    }
}

/// Parses a listener list (`listeners` or `advertised.listeners`, named by
/// `key`), each name looked up in the security protocol map. Names must differ.
pub(super) fn parse_listeners(
    key: &str,
    value: &str,
    map: &BTreeMap<String, String>,
) -> Result<Vec<Listener>, String> {
    let mut listeners: Vec<Listener> = Vec::new();
    for entry in value.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let (name, addr) = entry.split_once("://").unwrap_or(("PLAINTEXT", entry));
        let name = name.trim().to_ascii_uppercase();
        let (host, port) =
            addr.rsplit_once(':').ok_or_else(|| format!("{key}: listener {entry:?} has no port"))?;
        let port = port.parse().map_err(|_| format!("{key}: listener {entry:?} has a bad port"))?;
        let protocol = map.get(&name).cloned().ok_or_else(|| {
            format!("{key}: listener {entry} is named {name}, which listener.security.protocol.map does not map to a security protocol")
        })?;
        if listeners.iter().any(|l| l.name == name) {
            return Err(format!("{key}: each listener must have a different name; {name} appears twice"));
        }
        let host = if host.is_empty() { "0.0.0.0" } else { host };
        listeners.push(Listener { name, host: host.to_string(), port, protocol });
    }
    Ok(listeners)
}

/// Refuses settings that ask for security spool does not provide, naming the
/// setting and what it asks for: every listener must speak one of
/// [`SPOKEN_PROTOCOLS`] (by its own name or through
/// `listener.security.protocol.map`) and no authorizer but StandardAuthorizer may
/// be configured.
pub(super) fn refuse_security(
    props: &BTreeMap<String, String>,
    map: &BTreeMap<String, String>,
) -> Result<(), String> {
    for key in ["listeners", "advertised.listeners"] {
        let listeners = props.get(key).map_or("", String::as_str);
        for entry in listeners.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let protocol = &parse_listeners(key, entry, map)?[0].protocol;
            if !SPOKEN_PROTOCOLS.contains(&protocol.as_str()) {
                return Err(format!(
                    "{key}: listener {entry} uses security protocol {protocol}, which spool does not \
                     speak (only {})",
                    SPOKEN_PROTOCOLS.join(", ")
                ));
            }
        }
    }
    let set = |key: &str| props.get(key).map(|v| v.trim()).filter(|v| !v.is_empty());
    let refused = |key: &str, value: &str, what: &str| {
        Err(format!("{key}={value}: spool has no {what} (chapter 11); remove the setting"))
    };
    if let Some(value) = set("authorizer.class.name").filter(|v| *v != super::authorizer::STANDARD_AUTHORIZER)
    {
        return refused("authorizer.class.name", value, "authorizer but StandardAuthorizer");
    }
    Ok(())
}

/// `listener.security.protocol.map` (`NAME:PROTOCOL,…`) over Kafka's default,
/// in which each protocol names itself, plus `CONTROLLER:PLAINTEXT` (as
/// KRaft's sample configurations have it) and, like Kafka in KRaft mode, every
/// name in `controller.listener.names` the map leaves out as PLAINTEXT.
pub(super) fn security_protocol_map(
    value: Option<&str>,
    controller_listener_names: &[String],
) -> Result<BTreeMap<String, String>, String> {
    let mut map: BTreeMap<String, String> =
        SECURITY_PROTOCOLS.iter().map(|p| (p.to_string(), p.to_string())).collect();
    map.insert("CONTROLLER".into(), "PLAINTEXT".into());
    for entry in value.unwrap_or("").split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let bad = || format!("listener.security.protocol.map: {entry:?} is not NAME:PROTOCOL");
        let (name, protocol) = entry.split_once(':').ok_or_else(bad)?;
        let protocol = protocol.trim().to_ascii_uppercase();
        if !SECURITY_PROTOCOLS.contains(&protocol.as_str()) {
            return Err(bad());
        }
        map.insert(name.trim().to_ascii_uppercase(), protocol);
    }
    for name in controller_listener_names {
        map.entry(name.clone()).or_insert_with(|| "PLAINTEXT".into());
    }
    Ok(map)
}

/// A comma-separated list of listener names, upper-cased, blanks dropped.
pub(super) fn parse_names(value: &str) -> Vec<String> {
    value.split(',').map(str::trim).filter(|n| !n.is_empty()).map(str::to_ascii_uppercase).collect()
}
