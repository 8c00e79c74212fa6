//! The cluster's own links: how a node dials another node.
//!
//! A Kafka broker reaches other brokers (replica fetchers, transaction
//! markers, AddPartitionsToTxn verification) on `inter.broker.listener.name`,
//! and the controller quorum (its own Raft, and each broker's registration,
//! heartbeats, metadata fetch and forwarded requests) on the first of
//! `controller.listener.names`. Each link speaks that listener's protocol
//! (`listener.security.protocol.map`) as a client: TLS with the listener's
//! own `ssl.*` keys (its truststore to check the other node, its keystore as
//! the client certificate), SASL with the mechanism
//! `sasl.mechanism.inter.broker.protocol` / `sasl.mechanism.controller.protocol`
//! names (Kafka's default for both is GSSAPI, which spool refuses by name),
//! logging in with the `username`/`password` options of the listener's own
//! JAAS line (`listener.name.<l>.<mechanism>.sasl.jaas.config`), Kafka's rule.
//!
//! `security.inter.broker.protocol`, Kafka's older key, names the listener
//! whose name is the protocol (`SSL` → the `SSL` listener); setting both it
//! and `inter.broker.listener.name` is refused, as Kafka refuses it.
//!
//! Both are worked out once, when the configuration is read
//! ([`BrokerConfig::inter_broker_security`], [`BrokerConfig::controller_security`]),
//! so a link that cannot be secured stops the node at start, not at its
//! first connection.

use std::sync::Arc;

use super::BrokerConfig;
use crate::security::sasl::login::SaslLogin;
use crate::security::ClientSecurity;

/// Kafka's default SASL mechanism for both links; spool has no Kerberos.
pub const GSSAPI: &str = "GSSAPI";

/// Resolves `security.inter.broker.protocol` into `inter.broker.listener.name`.
pub(super) fn resolve_inter_broker_listener(
    config: &mut BrokerConfig,
    inter_broker_protocol: Option<&str>,
    listener_name_set: bool,
) -> Result<(), String> {
    let Some(protocol) = inter_broker_protocol.map(str::trim).filter(|p| !p.is_empty()) else {
        return Ok(());
    };
    if listener_name_set {
        return Err("only one of inter.broker.listener.name and security.inter.broker.protocol \
                    may be set"
            .into());
    }
    let protocol = protocol.to_ascii_uppercase();
    if !super::SPOKEN_PROTOCOLS.contains(&protocol.as_str()) {
        return Err(format!("security.inter.broker.protocol={protocol}: not a security protocol"));
    }
    config.inter_broker_listener_name = protocol;
    Ok(())
}

/// How this node dials listener `name` of another node, SASL logins using
/// `mechanism` (the value of `mechanism_key`).
pub(super) fn link_security(
    config: &BrokerConfig,
    name: &str,
    mechanism_key: &str,
    mechanism: &str,
) -> Result<ClientSecurity, String> {
    let protocol = config.listener_security_protocol_map.get(name).map(String::as_str);
    let tls = match protocol {
        Some("SSL" | "SASL_SSL") => Some(config.tls_client_config(name)?),
        _ => None,
    };
    let sasl = match protocol {
        Some("SASL_PLAINTEXT" | "SASL_SSL") => {
            let lower = mechanism.trim().to_ascii_lowercase();
            let jaas_key = format!("listener.name.{}.{lower}.sasl.jaas.config", name.to_ascii_lowercase());
            let jaas = config.sasl_jaas_configs.get(&(name.to_string(), lower));
            let login = SaslLogin::from_jaas(mechanism_key, mechanism, &jaas_key, jaas.map(String::as_str))
                .map_err(|e| format!("listener {name} (dialled by the cluster's own links): {e}"))?;
            Some(Arc::new(login))
        }
        _ => None,
    };
    Ok(ClientSecurity { tls, sasl })
}

/// Fills [`BrokerConfig::inter_broker_security`] and
/// [`BrokerConfig::controller_security`] (a node that dials no controller
/// listener — a standalone node — keeps PLAINTEXT there).
pub(super) fn resolve(config: &mut BrokerConfig) -> Result<(), String> {
    let inter_broker = config.inter_broker_listener_name.clone();
    let mechanism = config.sasl_mechanism_inter_broker_protocol.clone();
    config.inter_broker_security =
        link_security(config, &inter_broker, "sasl.mechanism.inter.broker.protocol", &mechanism)?;
    if let Some(controller) = config.controller_listener_names.first().cloned() {
        let mechanism = config.sasl_mechanism_controller_protocol.clone();
        config.controller_security =
            link_security(config, &controller, "sasl.mechanism.controller.protocol", &mechanism)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(lines: &[&str]) -> Result<BrokerConfig, String> {
        let base = "process.roles=broker\nnode.id=1\ncontroller.quorum.voters=0@127.0.0.1:9093\n\
                    controller.listener.names=CONTROLLER\nlog.dirs=/tmp/links-test\n";
        let text = format!("{base}{}", lines.join("\n"));
        let props = BrokerConfig::parse_properties(&text).expect("properties syntax");
        BrokerConfig::from_properties(&props).map(|(config, _)| config)
    }

    const PLAIN_JAAS: &str = "org.apache.kafka.common.security.plain.PlainLoginModule required \
                              username=\"broker\" password=\"b-secret\" user_broker=\"b-secret\";";

    /// Kafka's inter-broker keys pick the link's protocol: a SASL_PLAINTEXT
    /// inter-broker listener with PLAIN logs in with the listener's own JAAS
    /// `username`/`password`; the controller link follows its own listener;
    /// GSSAPI (Kafka's default mechanism) is refused by name; an SSL link
    /// without a truststore refuses to start; and `security.inter.broker.protocol`
    /// names the listener of that protocol, but not together with
    /// `inter.broker.listener.name`.
    #[test]
    fn the_links_speak_their_listeners_protocol() {
        let sasl = [
            "listeners=INTERNAL://127.0.0.1:9092",
            "listener.security.protocol.map=INTERNAL:SASL_PLAINTEXT,CONTROLLER:PLAINTEXT",
            "inter.broker.listener.name=INTERNAL",
            "sasl.enabled.mechanisms=PLAIN",
        ];
        let jaas = format!("listener.name.internal.plain.sasl.jaas.config={PLAIN_JAAS}");
        let mechanism = "sasl.mechanism.inter.broker.protocol=PLAIN";
        let config = load(&[&sasl[..], &[&jaas, mechanism]].concat()).unwrap();
        assert_eq!(config.inter_broker_security.protocol(), "SASL_PLAINTEXT");
        let login = config.inter_broker_security.sasl.as_ref().unwrap();
        assert_eq!((login.username.as_str(), login.password.as_str()), ("broker", "b-secret"));
        assert_eq!(config.controller_security.protocol(), "PLAINTEXT");

        let gssapi = load(&[&sasl[..], &[&jaas]].concat()).unwrap_err();
        assert!(gssapi.contains("sasl.mechanism.inter.broker.protocol=GSSAPI"), "{gssapi}");
        let no_jaas = load(&[&sasl[..], &[mechanism]].concat()).unwrap_err();
        assert!(no_jaas.contains("listener.name.internal.plain.sasl.jaas.config"), "{no_jaas}");

        let ssl_controller = load(&[
            "listeners=PLAINTEXT://127.0.0.1:9092",
            "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:SSL",
        ])
        .unwrap_err();
        assert!(ssl_controller.contains("listener CONTROLLER") && ssl_controller.contains("truststore"));

        let by_protocol = load(&[
            "listeners=PLAINTEXT://127.0.0.1:9092,SASL_PLAINTEXT://127.0.0.1:9094",
            "security.inter.broker.protocol=SASL_PLAINTEXT",
            "sasl.enabled.mechanisms=PLAIN",
            "sasl.mechanism.inter.broker.protocol=PLAIN",
            &format!("listener.name.sasl_plaintext.plain.sasl.jaas.config={PLAIN_JAAS}"),
        ])
        .unwrap();
        assert_eq!(by_protocol.inter_broker_listener_name, "SASL_PLAINTEXT");
        assert_eq!(by_protocol.inter_broker_security.protocol(), "SASL_PLAINTEXT");
        let both = load(&[
            "listeners=PLAINTEXT://127.0.0.1:9092",
            "security.inter.broker.protocol=PLAINTEXT",
            "inter.broker.listener.name=PLAINTEXT",
        ])
        .unwrap_err();
        assert!(both.contains("only one of"), "{both}");
    }
}
