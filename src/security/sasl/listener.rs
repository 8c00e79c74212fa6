//! A SASL listener's settings, read as Kafka's broker reads them:
//! `sasl.enabled.mechanisms` and, per listener and mechanism,
//! `listener.name.<listener>.<mechanism>.sasl.jaas.config`, and the session
//! lifetime `connections.max.reauth.ms` (KIP-368), bare or per listener and
//! mechanism.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::jaas::JaasConfig;
use super::{Mechanism, SaslListener, ScramCredentials};

/// `connections.max.reauth.ms` as the broker configuration holds it: the
/// bare key, and the per-listener, per-mechanism overrides keyed by the
/// upper-cased listener name and the lower-cased mechanism.
#[derive(Debug, Clone, Default)]
pub struct ReauthSettings {
    pub max_reauth_ms: u64,
    pub by_listener_mechanism: BTreeMap<(String, String), u64>,
}

impl ReauthSettings {
    /// Kafka's lookup: `listener.name.<name>.<mechanism>.connections.max.reauth.ms`
    /// if set, else `connections.max.reauth.ms`.
    pub fn for_mechanism(&self, listener: &str, mechanism: Mechanism) -> u64 {
        let at = (listener.to_ascii_uppercase(), mechanism.name().to_ascii_lowercase());
        self.by_listener_mechanism.get(&at).copied().unwrap_or(self.max_reauth_ms)
    }
}

/// Builds listener `name`'s [`SaslListener`] from `sasl.enabled.mechanisms`
/// and the JAAS lines by (listener, mechanism) — the broker configuration's
/// `sasl_enabled_mechanisms` and `sasl_jaas_configs` (the security layer reads
/// no configuration of its own, so `config` may depend on it). The error
/// names the setting to fix. `reauth` gives each mechanism its session
/// lifetime.
pub fn from_settings(
    enabled_mechanisms: &[String],
    jaas_configs: &BTreeMap<(String, String), String>,
    name: &str,
    scram: Option<Arc<dyn ScramCredentials>>,
    reauth: &ReauthSettings,
) -> Result<SaslListener, String> {
    let mut mechanisms = Vec::new();
    for m in enabled_mechanisms {
        let mechanism = Mechanism::from_name(m).ok_or_else(|| {
            format!("sasl.enabled.mechanisms={m}: spool speaks PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512")
        })?;
        if matches!(mechanism, Mechanism::Scram(_)) && scram.is_none() {
            return Err(format!(
                "sasl.enabled.mechanisms={m}: listener {name} has no SCRAM credential store \
                 (a controller listener offers PLAIN only)"
            ));
        }
        mechanisms.push(mechanism);
    }
    if mechanisms.is_empty() {
        return Err(format!("listener {name} speaks SASL but sasl.enabled.mechanisms is empty"));
    }
    let mut plain_users = Default::default();
    if mechanisms.contains(&Mechanism::Plain) {
        let key = format!("listener.name.{}.plain.sasl.jaas.config", name.to_ascii_lowercase());
        let line = jaas_configs
            .get(&(name.to_ascii_uppercase(), "plain".to_string()))
            .ok_or_else(|| format!("{key} is required: PLAIN is enabled on listener {name}"))?;
        let jaas = JaasConfig::parse(line).map_err(|e| format!("{key}: {e}"))?;
        if !jaas.module.ends_with("PlainLoginModule") {
            return Err(format!("{key}: expected PlainLoginModule, got {}", jaas.module));
        }
        plain_users = jaas.plain_users();
    }
    let max_reauth_ms = mechanisms.iter().map(|&m| (m, reauth.for_mechanism(name, m))).collect();
    Ok(SaslListener { mechanisms, plain_users, scram, max_reauth_ms })
}
