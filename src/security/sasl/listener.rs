//! A SASL listener's settings, read as Kafka's broker reads them:
//! `sasl.enabled.mechanisms` and, per listener and mechanism,
//! `listener.name.<listener>.<mechanism>.sasl.jaas.config`.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::jaas::JaasConfig;
use super::{Mechanism, SaslListener, ScramCredentials};

/// Builds listener `name`'s [`SaslListener`] from `sasl.enabled.mechanisms`
/// and the JAAS lines by (listener, mechanism) — the broker configuration's
/// `sasl_enabled_mechanisms` and `sasl_jaas_configs` (the security layer reads
/// no configuration of its own, so `config` may depend on it). The error
/// names the setting to fix.
pub fn from_settings(
    enabled_mechanisms: &[String],
    jaas_configs: &BTreeMap<(String, String), String>,
    name: &str,
    scram: Option<Arc<dyn ScramCredentials>>,
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
    Ok(SaslListener { mechanisms, plain_users, scram })
}
