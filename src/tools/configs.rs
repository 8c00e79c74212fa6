//! `spool configs`, as kafka-configs.sh does it for topics and brokers:
//! `--describe` sends DescribeConfigs, `--alter` IncrementalAlterConfigs
//! (as kafka-configs.sh has since Kafka 2.3, KIP-339), with its flags and
//! output lines.
//!
//! ```text
//! $ spool configs --bootstrap-server 127.0.0.1:9092 --entity-type topics --entity-name orders \
//!       --alter --add-config retention.ms=60000,cleanup.policy=[compact,delete]
//! Completed updating config for topic orders.
//! $ spool configs --bootstrap-server 127.0.0.1:9092 --entity-type topics --entity-name orders --describe
//! Dynamic configs for topic orders are:
//!   cleanup.policy=compact,delete sensitive=false synonyms={DYNAMIC_TOPIC_CONFIG:cleanup.policy=compact,delete, DEFAULT_CONFIG:log.cleanup.policy=delete}
//!   retention.ms=60000 sensitive=false synonyms={DYNAMIC_TOPIC_CONFIG:retention.ms=60000, DEFAULT_CONFIG:log.retention.hours=168}
//! ```
//!
//! `--add-config` values in `[a,b]` are lists (the brackets keep their
//! commas from splitting the pairs). `--describe --entity-type brokers`
//! without `--entity-name` or `--entity-default` describes every broker the
//! cluster's Metadata lists, one after another, as kafka-configs.sh does; a
//! broker's own resource is sent to that broker (its dynamic values and
//! their sources, `DYNAMIC_BROKER_CONFIG` then `DYNAMIC_DEFAULT_BROKER_CONFIG`,
//! are in each line's synonyms). `--command-config` is the admin tools'
//! shared [`AdminSettings`]. Users' and clients' quotas are [`client_quotas`]'s,
//! users' SCRAM credentials [`scram`]'s.
//! Simplifications: no `--add-config-file`, no IPs or broker loggers.

use std::io::Write;

pub mod client_quotas;
pub mod scram;

use super::client_properties::{AdminSettings, CommandConfigArg};
use crate::client::configs::{AlterConfigOp, ConfigResource, DescribedConfig};
use crate::client::{Client, ClientError};

/// `spool configs`' flags: kafka-configs.sh's.
#[derive(Debug, Clone, clap::Args)]
pub struct ConfigsArgs {
    /// Where to connect (default 127.0.0.1:9092).
    #[arg(long, value_name = "HOST:PORT")]
    pub bootstrap_server: Option<String>,
    /// `topics`, `brokers`, or (client quotas) `users` or `clients`.
    #[arg(long, value_name = "TYPE")]
    pub entity_type: String,
    /// The topic's name, or the broker's id.
    #[arg(long, value_name = "NAME")]
    pub entity_name: Option<String>,
    /// The cluster-wide default of every broker (brokers only).
    #[arg(long)]
    pub entity_default: bool,
    /// Print the entity's dynamic configs.
    #[arg(long, conflicts_with = "alter")]
    pub describe: bool,
    /// With --describe: every config, not only the dynamic ones.
    #[arg(long)]
    pub all: bool,
    /// Change the entity's configs.
    #[arg(long)]
    pub alter: bool,
    /// With --alter: `k1=v1,k2=[v1,v2]`.
    #[arg(long, value_name = "CONFIGS")]
    pub add_config: Option<String>,
    /// With --alter: `k1,k2`, returned to their defaults.
    #[arg(long, value_name = "KEYS")]
    pub delete_config: Option<String>,
    #[command(flatten)]
    pub command_config: CommandConfigArg,
}

/// `spool configs`: connects, describes or alters, prints to stdout.
pub async fn main(args: ConfigsArgs) -> Result<(), ClientError> {
    let command_config = args.command_config.command_config.as_deref();
    let mut client =
        AdminSettings::from_args(args.bootstrap_server.as_deref(), command_config)?.connect().await?;
    let mut out = Vec::new();
    run(&mut client, &args, &mut out).await?;
    std::io::stdout().write_all(&out).map_err(|e| ClientError::Protocol(e.to_string()))?;
    Ok(())
}

/// The resource the flags name, and how kafka-configs.sh names it in its output.
fn resource(args: &ConfigsArgs) -> Result<(ConfigResource, String), ClientError> {
    let bad = |m: &str| Err(ClientError::InvalidArgument(m.to_string()));
    match (args.entity_type.as_str(), args.entity_name.as_deref(), args.entity_default) {
        ("topics", Some(name), false) => Ok((ConfigResource::topic(name), format!("topic {name}"))),
        ("topics", _, _) => bad("--entity-type topics needs --entity-name (and no --entity-default)"),
        ("brokers", None, true) => Ok((ConfigResource::broker(""), "default broker".into())),
        ("brokers", Some(id), false) => {
            if id.parse::<i32>().is_err() {
                return bad("The entity name for brokers must be a valid integer broker id");
            }
            Ok((ConfigResource::broker(id), format!("broker {id}")))
        }
        ("brokers", _, _) => bad("--entity-type brokers needs one of --entity-name and --entity-default"),
        (other, _, _) => bad(&format!("unsupported --entity-type {other}: topics or brokers")),
    }
}

/// `k1=v1,k2=[a,b]` as pairs; a bracketed list keeps its commas.
pub fn parse_add_config(text: &str) -> Result<Vec<(String, String)>, ClientError> {
    let mut pairs = Vec::new();
    let (mut depth, mut start) = (0, 0);
    let mut pieces = Vec::new();
    for (i, c) in text.char_indices() {
        match c {
            '[' => depth += 1,
            ']' => depth -= 1,
            ',' if depth == 0 => {
                pieces.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    pieces.push(&text[start..]);
    for piece in pieces.into_iter().map(str::trim).filter(|p| !p.is_empty()) {
        let Some((k, v)) = piece.split_once('=') else {
            return Err(ClientError::InvalidArgument(format!(
                "Invalid entity config: all configs to be added must be in the format \"key=val\": {piece}"
            )));
        };
        let v = v.trim();
        let v = v.strip_prefix('[').and_then(|v| v.strip_suffix(']')).unwrap_or(v);
        pairs.push((k.trim().to_string(), v.to_string()));
    }
    Ok(pairs)
}

// ANCHOR: configs_tool
/// What kafka-configs.sh prints for `--describe` or `--alter`.
pub async fn run(client: &mut Client, args: &ConfigsArgs, out: &mut Vec<u8>) -> Result<(), ClientError> {
    if args.entity_type == "users" {
        return scram::run(client, args, out).await; // issue 19's quotas and SCRAM credentials
    }
    if args.entity_type == "clients" {
        return client_quotas::run(client, args, out).await; // issue 19's quotas
    }
    if args.alter {
        let (resource, label) = resource(args)?;
        let mut ops: Vec<AlterConfigOp> = Vec::new();
        for (k, v) in parse_add_config(args.add_config.as_deref().unwrap_or(""))? {
            ops.push(AlterConfigOp::set(k, v));
        }
        let deletes = args.delete_config.as_deref().unwrap_or("").split(',').map(str::trim);
        ops.extend(deletes.filter(|k| !k.is_empty()).map(AlterConfigOp::delete));
        if ops.is_empty() {
            return Err(ClientError::InvalidArgument("--alter needs --add-config or --delete-config".into()));
        }
        client.incremental_alter_configs(&resource, &ops, false).await?;
        let line = match label.as_str() {
            "default broker" => "Completed updating default config for brokers in the cluster.".to_string(),
            _ => format!("Completed updating config for {label}."),
        };
        let _ = writeln!(out, "{line}");
        return Ok(());
    }
    if !args.describe {
        return Err(ClientError::InvalidArgument(
            "Command must include exactly one action: --describe, --alter".into(),
        ));
    }
    if args.entity_type == "brokers" && args.entity_name.is_none() && !args.entity_default {
        // Every broker, as kafka-configs.sh's `--describe` without a name.
        let mut ids: Vec<i32> =
            client.metadata(Some(&[]), false).await?.brokers.iter().map(|b| b.node_id).collect();
        ids.sort_unstable();
        for id in ids {
            let one = ConfigsArgs { entity_name: Some(id.to_string()), ..args.clone() };
            describe(client, &one, out).await?;
        }
        return Ok(());
    }
    describe(client, args, out).await
}
// ANCHOR_END: configs_tool

/// `--describe` of one entity: its heading, then a line per config.
async fn describe(client: &mut Client, args: &ConfigsArgs, out: &mut Vec<u8>) -> Result<(), ClientError> {
    let (resource, label) = resource(args)?;
    let configs = client.describe_configs(&resource).await?;
    // Without --all, only what is set on this entity itself.
    let own_source = match (resource.resource_type, resource.name.as_str()) {
        (crate::client::configs::RESOURCE_BROKER, "") => 3,
        (crate::client::configs::RESOURCE_BROKER, _) => 2,
        _ => 1,
    };
    let heading = match (args.all, label.as_str()) {
        (_, "default broker") => "Default configs for brokers in the cluster are:".to_string(),
        (true, _) => format!("All configs for {label} are:"),
        (false, _) => format!("Dynamic configs for {label} are:"),
    };
    let _ = writeln!(out, "{heading}");
    for c in configs.iter().filter(|c| args.all || c.source == own_source) {
        let _ = writeln!(out, "  {}", describe_line(c));
    }
    Ok(())
}

/// `k=v sensitive=false synonyms={SOURCE:k=v, …}`, as kafka-configs.sh prints a config.
pub fn describe_line(c: &DescribedConfig) -> String {
    let shown = |v: &Option<String>| {
        if c.sensitive {
            "null".into()
        } else {
            v.clone().unwrap_or_else(|| "null".into())
        }
    };
    let synonyms: Vec<String> =
        c.synonyms.iter().map(|(k, v, s)| format!("{}:{k}={}", source_name(*s), shown(v))).collect();
    format!("{}={} sensitive={} synonyms={{{}}}", c.name, shown(&c.value), c.sensitive, synonyms.join(", "))
}

/// Kafka's `ConfigSource` names.
fn source_name(source: i8) -> &'static str {
    match source {
        1 => "DYNAMIC_TOPIC_CONFIG",
        2 => "DYNAMIC_BROKER_CONFIG",
        3 => "DYNAMIC_DEFAULT_BROKER_CONFIG",
        4 => "STATIC_BROKER_CONFIG",
        5 => "DEFAULT_CONFIG",
        6 => "DYNAMIC_BROKER_LOGGER_CONFIG",
        _ => "UNKNOWN",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// kafka-configs.sh's `--add-config` grammar: pairs split on commas
    /// outside brackets, a bracketed list's commas kept.
    #[test]
    fn add_config_keeps_bracketed_lists() {
        let pairs = parse_add_config("retention.ms=1000,cleanup.policy=[compact,delete]").unwrap();
        let expected =
            vec![("retention.ms".into(), "1000".into()), ("cleanup.policy".into(), "compact,delete".into())];
        assert_eq!(pairs, expected);
        assert!(parse_add_config("retention.ms").is_err());
    }
}
