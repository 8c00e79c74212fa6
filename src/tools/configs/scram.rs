//! `spool configs --entity-type users`: SCRAM credentials beside the users'
//! quotas (issue 19), as kafka-configs.sh mixes them in one command:
//!
//! ```text
//! $ spool configs --entity-type users --entity-name alice --alter \
//!       --add-config 'SCRAM-SHA-512=[iterations=8192,password=alice-secret]'
//! Completed updating config for user alice.
//! $ spool configs --entity-type users --entity-name alice --describe
//! SCRAM credential configs for user-principal 'alice' are SCRAM-SHA-512=iterations=8192
//! $ spool configs --entity-type users --entity-name alice --alter --delete-config SCRAM-SHA-512
//! ```
//!
//! A key that names a SCRAM mechanism is a credential (AlterUserScramCredentials:
//! the tool draws the salt and salts the password itself, so the password
//! never reaches the broker); every other key is a quota, left to
//! [`super::client_quotas`]. `iterations` defaults to 4096.

use super::{client_quotas, parse_add_config, ConfigsArgs};
use crate::client::scram::{ScramChange, DEFAULT_ITERATIONS};
use crate::client::{Client, ClientError};
use crate::security::sasl::scram::ScramMechanism;

/// `[iterations=8192,password=secret]`'s fields (brackets already stripped).
fn upsertion(user: &str, mechanism: ScramMechanism, value: &str) -> Result<ScramChange, ClientError> {
    let (mut iterations, mut password) = (DEFAULT_ITERATIONS, None);
    for field in value.split(',').map(str::trim).filter(|f| !f.is_empty()) {
        match field.split_once('=') {
            Some(("iterations", n)) => {
                iterations = n.parse().map_err(|_| {
                    ClientError::InvalidArgument(format!("Invalid iterations {n} for {}", mechanism.name()))
                })?
            }
            Some(("password", p)) => password = Some(p.to_string()),
            _ => {
                return Err(ClientError::InvalidArgument(format!(
                    "Invalid credential property {field} for {}: expected iterations=<n>,password=<p>",
                    mechanism.name()
                )))
            }
        }
    }
    let password = password
        .ok_or_else(|| ClientError::InvalidArgument(format!("{}: password is required", mechanism.name())))?;
    Ok(ScramChange::Upsert { user: user.to_string(), mechanism, iterations, password })
}

/// The SCRAM changes in `--add-config` / `--delete-config`, and the flags
/// left for the quotas (`None` when none is left).
fn split(args: &ConfigsArgs, user: &str) -> Result<(Vec<ScramChange>, Option<ConfigsArgs>), ClientError> {
    let mut changes = Vec::new();
    let mut quotas = Vec::new();
    for (k, v) in parse_add_config(args.add_config.as_deref().unwrap_or(""))? {
        match ScramMechanism::from_name(&k) {
            Some(m) => changes.push(upsertion(user, m, &v)?),
            None => quotas.push(format!("{k}={v}")),
        }
    }
    let mut deleted = Vec::new();
    for k in args.delete_config.as_deref().unwrap_or("").split(',').map(str::trim).filter(|k| !k.is_empty()) {
        match ScramMechanism::from_name(k) {
            Some(mechanism) => changes.push(ScramChange::Delete { user: user.to_string(), mechanism }),
            None => deleted.push(k.to_string()),
        }
    }
    let rest = (!quotas.is_empty() || !deleted.is_empty()).then(|| {
        let mut rest = args.clone();
        rest.add_config = (!quotas.is_empty()).then(|| quotas.join(","));
        rest.delete_config = (!deleted.is_empty()).then(|| deleted.join(","));
        rest
    });
    Ok((changes, rest))
}

// ANCHOR: scram_tool
/// What kafka-configs.sh prints for `--entity-type users`.
pub async fn run(client: &mut Client, args: &ConfigsArgs, out: &mut Vec<u8>) -> Result<(), ClientError> {
    let user = args.entity_name.clone();
    if args.alter {
        let Some(user) = user.filter(|_| !args.entity_default) else {
            return client_quotas::run(client, args, out).await; // the default user has no credentials
        };
        let (changes, quotas) = split(args, &user)?;
        if !changes.is_empty() {
            client.alter_user_scram_credentials(&changes).await?;
        }
        match quotas {
            Some(quotas) => client_quotas::run(client, &quotas, out).await?,
            None => out.extend_from_slice(format!("Completed updating config for user {user}.\n").as_bytes()),
        }
        return Ok(());
    }
    client_quotas::run(client, args, out).await?;
    if args.entity_default {
        return Ok(());
    }
    let users: Vec<String> = user.into_iter().collect();
    for (user, described) in client.describe_user_scram_credentials(&users).await? {
        // A user with quotas but no credentials is RESOURCE_NOT_FOUND: nothing to print.
        let Ok(credentials) = described else { continue };
        let each: Vec<String> = credentials
            .iter()
            .map(|(m, iterations)| format!("{}=iterations={iterations}", m.name()))
            .collect();
        let line = format!("SCRAM credential configs for user-principal '{user}' are {}\n", each.join(", "));
        out.extend_from_slice(line.as_bytes());
    }
    Ok(())
}
// ANCHOR_END: scram_tool
