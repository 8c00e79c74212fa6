//! `spool configs --entity-type users|clients`: client quotas (issue 19), as
//! kafka-configs.sh alters and describes them with `--bootstrap-server`
//! (AlterClientQuotas and DescribeClientQuotas, KIP-546).
//!
//! ```text
//! $ spool configs --entity-type clients --entity-name slow --alter --add-config producer_byte_rate=1024,consumer_byte_rate=2048
//! Completed updating config for client slow.
//! $ spool configs --entity-type clients --entity-default --describe
//! Quota configs for the default client-id are consumer_byte_rate=4096.0
//! ```
//!
//! Simplification: one entity type per run (Kafka also takes `--entity-type
//! users --entity-name u --entity-type clients --entity-name c` for a
//! user's client).

use super::{parse_add_config, ConfigsArgs};
use crate::client::client_quotas::{EntityName, QuotaEntity, QuotaMatch};
use crate::client::{Client, ClientError};
use crate::quotas::{CLIENT_ID, USER};

/// The entity type the flags name, and the entity's name part.
fn entity(args: &ConfigsArgs) -> Result<(&'static str, Option<EntityName>), ClientError> {
    let entity_type = if args.entity_type == "users" { USER } else { CLIENT_ID };
    let name = match (args.entity_name.as_deref(), args.entity_default) {
        (Some(name), false) => Some(EntityName::Name(name.to_string())),
        (None, true) => Some(EntityName::Default),
        (None, false) if args.describe => None,
        _ => {
            return Err(ClientError::InvalidArgument(format!(
                "--entity-type {} needs one of --entity-name and --entity-default",
                args.entity_type
            )))
        }
    };
    Ok((entity_type, name))
}

// ANCHOR: quotas_tool
/// What kafka-configs.sh prints for a quota `--alter` or `--describe`.
pub async fn run(client: &mut Client, args: &ConfigsArgs, out: &mut Vec<u8>) -> Result<(), ClientError> {
    let (entity_type, name) = entity(args)?;
    if args.alter {
        let name = name.expect("checked by entity()");
        let mut ops = Vec::new();
        for (k, v) in parse_add_config(args.add_config.as_deref().unwrap_or(""))? {
            let value = v.parse::<f64>().map_err(|_| {
                ClientError::InvalidArgument(format!("Cannot parse quota configuration value for {k}: {v}"))
            })?;
            ops.push((k, Some(value)));
        }
        let deletes = args.delete_config.as_deref().unwrap_or("").split(',').map(str::trim);
        ops.extend(deletes.filter(|k| !k.is_empty()).map(|k| (k.to_string(), None)));
        if ops.is_empty() {
            return Err(ClientError::InvalidArgument("--alter needs --add-config or --delete-config".into()));
        }
        let entity = match entity_type {
            USER => QuotaEntity::of(Some(name.clone()), None),
            _ => QuotaEntity::of(None, Some(name.clone())),
        };
        client.alter_client_quotas(&entity, &ops, false).await?;
        let line = match name {
            EntityName::Name(n) => {
                format!("Completed updating config for {} {n}.\n", args.entity_type.trim_end_matches('s'))
            }
            EntityName::Default => {
                format!("Completed updating default config for {} in the cluster.\n", args.entity_type)
            }
        };
        out.extend_from_slice(line.as_bytes());
        return Ok(());
    }
    let filter = [(entity_type.to_string(), name.map_or(QuotaMatch::Specified, QuotaMatch::Exact))];
    for (entity, values) in client.describe_client_quotas(&filter, true).await? {
        let part = |t: &str, label: &str| {
            entity.get(t).map(|n| match n {
                EntityName::Name(n) => format!("{label} '{n}'"),
                EntityName::Default => format!("the default {label}"),
            })
        };
        let who: Vec<String> =
            [part(USER, "user-principal"), part(CLIENT_ID, "client-id")].into_iter().flatten().collect();
        // `{:?}` writes a float64 as Java's Double.toString does for quota values (1024.0).
        let values: Vec<String> = values.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
        out.extend_from_slice(
            format!("Quota configs for {} are {}\n", who.join(", "), values.join(", ")).as_bytes(),
        );
    }
    Ok(())
}
// ANCHOR_END: quotas_tool
