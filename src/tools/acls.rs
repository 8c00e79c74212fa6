//! `spool acls`, as kafka-acls.sh does it (chapter 11): `--add`, `--list`
//! and `--remove` ACLs through CreateAcls/DescribeAcls/DeleteAcls, with
//! kafka-acls.sh's flags and output lines:
//!
//! ```text
//! (the entry lines start with a space and a tab, as Kafka's do)
//! $ spool acls --bootstrap-server 127.0.0.1:9092 --add --allow-principal User:alice --operation Read --topic t
//! Adding ACLs for resource `ResourcePattern(resourceType=TOPIC, name=t, patternType=LITERAL)`:
//!     (principal=User:alice, host=*, operation=READ, permissionType=ALLOW)
//!
//! $ spool acls --bootstrap-server 127.0.0.1:9092 --list --topic t
//! Current ACLs for resource `ResourcePattern(resourceType=TOPIC, name=t, patternType=LITERAL)`:
//!     (principal=User:alice, host=*, operation=READ, permissionType=ALLOW)
//! ```
//!
//! Each principal × host × operation becomes one ACL on each resource
//! (`--topic`, `--group`, `--transactional-id`, `--cluster`); a principal
//! without `--allow-host`/`--deny-host` gets host `*`. `--producer` stands
//! for Write, Describe and Create on the topics (Write and Describe on the
//! transactional ids, IdempotentWrite on the cluster with `--idempotent`),
//! `--consumer` for Read and Describe on the topics and Read on the groups.
//!
//! Simplifications: no `--principal` for `--list`, no `--delegation-token`
//! or `--user-principal` resources (spool keeps neither kind of ACL).

use std::collections::BTreeMap;
use std::io::BufRead;

use super::client_properties::{AdminSettings, CommandConfigArg};
use crate::client::{Client, ClientError};
use crate::security::acl::{AclFilter, PatternFilter};
use crate::security::{Acl, Operation, PatternType, Permission, ResourcePattern, ResourceType};

/// `spool acls`' flags: kafka-acls.sh's.
#[derive(Debug, Clone, clap::Args)]
#[command(group(clap::ArgGroup::new("action").required(true).args(["add", "list", "remove"])))]
pub struct AclsArgs {
    /// Where to connect (default 127.0.0.1:9092).
    #[arg(long, value_name = "HOST:PORT")]
    pub bootstrap_server: Option<String>,
    #[command(flatten)]
    pub command_config: CommandConfigArg,
    /// Add the ACLs the other flags describe.
    #[arg(long)]
    pub add: bool,
    /// List the ACLs of the resources named (or all).
    #[arg(long)]
    pub list: bool,
    /// Remove the ACLs the other flags describe (all of a resource's without principals).
    #[arg(long)]
    pub remove: bool,
    #[arg(long, value_name = "PRINCIPAL")]
    pub allow_principal: Vec<String>,
    #[arg(long, value_name = "PRINCIPAL")]
    pub deny_principal: Vec<String>,
    #[arg(long, value_name = "HOST")]
    pub allow_host: Vec<String>,
    #[arg(long, value_name = "HOST")]
    pub deny_host: Vec<String>,
    /// Read, Write, Create, Delete, Alter, Describe, ClusterAction,
    /// DescribeConfigs, AlterConfigs, IdempotentWrite or All (the default).
    #[arg(long, value_name = "OPERATION")]
    pub operation: Vec<String>,
    #[arg(long, value_name = "TOPIC")]
    pub topic: Vec<String>,
    #[arg(long, value_name = "GROUP")]
    pub group: Vec<String>,
    #[arg(long, value_name = "TRANSACTIONAL_ID")]
    pub transactional_id: Vec<String>,
    /// The cluster resource.
    #[arg(long)]
    pub cluster: bool,
    /// literal (default), prefixed, match or any (the last two only to list or remove).
    #[arg(long, value_name = "TYPE", default_value = "literal")]
    pub resource_pattern_type: String,
    /// Do not ask before removing.
    #[arg(long)]
    pub force: bool,
    /// The ACLs a producer needs.
    #[arg(long)]
    pub producer: bool,
    /// The ACLs a consumer needs.
    #[arg(long)]
    pub consumer: bool,
    /// With `--producer`: IdempotentWrite on the cluster too.
    #[arg(long)]
    pub idempotent: bool,
}

fn invalid(message: impl Into<String>) -> ClientError {
    ClientError::InvalidArgument(message.into())
}

/// Kafka's `ResourcePattern` as it prints.
pub fn show_pattern(p: &ResourcePattern) -> String {
    format!(
        "ResourcePattern(resourceType={}, name={}, patternType={})",
        p.resource_type.kafka_name(),
        p.name,
        p.pattern_type.kafka_name()
    )
}

/// Kafka's `AccessControlEntry` as it prints.
pub fn show_entry(a: &Acl) -> String {
    format!(
        "(principal={}, host={}, operation={}, permissionType={})",
        a.principal,
        a.host,
        a.operation.kafka_name(),
        a.permission.kafka_name()
    )
}

/// kafka-acls.sh's block: a header line, then each entry after a tab.
fn block(header: &str, acls: &[Acl]) -> String {
    let entries: Vec<String> = acls.iter().map(|a| format!("\t{}", show_entry(a))).collect();
    format!("{header}: \n {} \n\n", entries.join("\n"))
}

fn pattern_filter(name: &str) -> Result<PatternFilter, ClientError> {
    match name.to_ascii_lowercase().as_str() {
        "literal" => Ok(PatternFilter::Exactly(PatternType::Literal)),
        "prefixed" => Ok(PatternFilter::Exactly(PatternType::Prefixed)),
        "match" => Ok(PatternFilter::Match),
        "any" => Ok(PatternFilter::Any),
        other => Err(invalid(format!("unknown --resource-pattern-type {other}"))),
    }
}

/// The resources the flags name, each with its type and name.
fn resources(args: &AclsArgs, literal: bool) -> Vec<(ResourceType, String)> {
    let mut out: Vec<(ResourceType, String)> = Vec::new();
    out.extend(args.topic.iter().map(|t| (ResourceType::Topic, t.trim().to_string())));
    if literal && (args.cluster || args.idempotent) {
        out.push((ResourceType::Cluster, ResourcePattern::cluster().name));
    }
    out.extend(args.group.iter().map(|g| (ResourceType::Group, g.trim().to_string())));
    out.extend(args.transactional_id.iter().map(|t| (ResourceType::TransactionalId, t.to_string())));
    out
}

/// The operations each resource gets: `--producer`/`--consumer`'s, else `--operation`'s.
fn operations_for(args: &AclsArgs, kind: ResourceType) -> Result<Vec<Operation>, ClientError> {
    use Operation::*;
    if !(args.producer || args.consumer) {
        if args.operation.is_empty() {
            return Ok(vec![All]);
        }
        let parse =
            |o: &String| Operation::parse(o.trim()).ok_or_else(|| invalid(format!("unknown operation {o}")));
        return args.operation.iter().map(parse).collect();
    }
    let mut ops = Vec::new();
    if args.producer {
        ops.extend(match kind {
            ResourceType::Topic => vec![Write, Describe, Create],
            ResourceType::TransactionalId => vec![Write, Describe],
            ResourceType::Cluster if args.idempotent => vec![IdempotentWrite],
            _ => vec![],
        });
    }
    if args.consumer {
        ops.extend(match kind {
            ResourceType::Topic => vec![Read, Describe],
            ResourceType::Group => vec![Read],
            _ => vec![],
        });
    }
    ops.dedup();
    Ok(ops)
}

/// Each principal × host × operation as an ACL entry on `pattern`.
fn entries(args: &AclsArgs, pattern: &ResourcePattern) -> Result<Vec<Acl>, ClientError> {
    let operations = operations_for(args, pattern.resource_type)?;
    let hosts = |given: &[String], principals: &[String]| -> Vec<String> {
        match (given.is_empty(), principals.is_empty()) {
            (false, _) => given.iter().map(|h| h.trim().to_string()).collect(),
            (true, false) => vec![crate::security::WILDCARD.to_string()],
            (true, true) => vec![],
        }
    };
    let mut acls = Vec::new();
    for (principals, given_hosts, permission) in [
        (&args.allow_principal, &args.allow_host, Permission::Allow),
        (&args.deny_principal, &args.deny_host, Permission::Deny),
    ] {
        for principal in principals {
            if !principal.contains(':') {
                return Err(invalid(format!("principal {principal} is not of the form Type:name")));
            }
            for host in hosts(given_hosts, principals) {
                for &operation in &operations {
                    let principal = principal.trim().to_string();
                    let (pattern, host) = (pattern.clone(), host.clone());
                    acls.push(Acl { pattern, principal, host, operation, permission });
                }
            }
        }
    }
    Ok(acls)
}

fn check(args: &AclsArgs) -> Result<(), ClientError> {
    if (args.producer || args.consumer) && !args.operation.is_empty() {
        return Err(invalid("--operation cannot be given with --producer or --consumer"));
    }
    if args.producer && args.topic.is_empty() {
        return Err(invalid("With --producer you must specify a --topic"));
    }
    if args.idempotent && !args.producer {
        return Err(invalid("The --idempotent option is only available if --producer is set"));
    }
    if args.consumer && (args.topic.is_empty() || args.group.is_empty()) {
        return Err(invalid("With --consumer you must specify a --topic and a --group"));
    }
    Ok(())
}

/// `spool acls`: connects, acts, prints to stdout.
pub async fn main(args: AclsArgs) -> Result<(), ClientError> {
    check(&args)?;
    let command_config = args.command_config.command_config.as_deref();
    let mut client =
        AdminSettings::from_args(args.bootstrap_server.as_deref(), command_config)?.connect().await?;
    let confirm = |question: &str| {
        println!("{question}");
        let mut answer = String::new();
        std::io::stdin().lock().read_line(&mut answer).is_ok() && answer.trim().eq_ignore_ascii_case("y")
    };
    let out = run(&mut client, &args, confirm).await?;
    print!("{out}");
    Ok(())
}

// ANCHOR: acls_tool
/// What kafka-acls.sh prints for these flags; `confirm` asks before a
/// removal without `--force`.
pub async fn run(
    client: &mut Client,
    args: &AclsArgs,
    confirm: impl Fn(&str) -> bool,
) -> Result<String, ClientError> {
    let filter = pattern_filter(&args.resource_pattern_type)?;
    let literal = filter == PatternFilter::Exactly(PatternType::Literal);
    let resources = resources(args, literal);
    let mut out = String::new();
    if args.add {
        let PatternFilter::Exactly(pattern_type) = filter else {
            return Err(invalid("ACLs can only be added with --resource-pattern-type literal or prefixed"));
        };
        if resources.is_empty() {
            return Err(invalid(
                "You must provide at least one resource: --topic <topic> or --cluster or --group <group>",
            ));
        }
        for (kind, name) in &resources {
            let pattern = ResourcePattern::new(*kind, name.clone(), pattern_type);
            let acls = entries(args, &pattern)?;
            out += &block(&format!("Adding ACLs for resource `{}`", show_pattern(&pattern)), &acls);
            client.create_acls(&acls).await?;
        }
    } else if args.remove {
        for (kind, name) in &resources {
            let shown = format!(
                "ResourcePatternFilter(resourceType={}, name={name}, patternType={})",
                kind.kafka_name(),
                args.resource_pattern_type.to_ascii_uppercase()
            );
            let resource_filter = AclFilter {
                resource_type: Some(*kind),
                name: Some(name.clone()),
                pattern_type: filter,
                principal: None,
                host: None,
                operation: None,
                permission: None,
            };
            let pattern = ResourcePattern::new(*kind, name.clone(), PatternType::Literal);
            let acls = entries(args, &pattern)?;
            let filters: Vec<AclFilter> = if acls.is_empty() {
                if !(args.force
                    || confirm(&format!(
                        "Are you sure you want to delete all ACLs for resource filter `{shown}`? (y/n)"
                    )))
                {
                    continue;
                }
                vec![resource_filter]
            } else {
                let entries: Vec<String> = acls.iter().map(|a| format!("\t{}", show_entry(a))).collect();
                let question = format!(
                    "Are you sure you want to remove ACLs: \n {} \n from resource filter `{shown}`? (y/n)",
                    entries.join("\n")
                );
                if !(args.force || confirm(&question)) {
                    continue;
                }
                (acls.iter())
                    .map(|a| AclFilter {
                        principal: Some(a.principal.clone()),
                        host: Some(a.host.clone()),
                        operation: Some(a.operation),
                        permission: Some(a.permission),
                        ..resource_filter.clone()
                    })
                    .collect()
            };
            client.delete_acls(&filters).await?;
        }
    }
    if args.list {
        out += &list(client, &resources, filter).await?;
    }
    Ok(out)
}
// ANCHOR_END: acls_tool

/// "Current ACLs for resource …" for each resource named (or every one).
async fn list(
    client: &mut Client,
    resources: &[(ResourceType, String)],
    pattern_type: PatternFilter,
) -> Result<String, ClientError> {
    let any = AclFilter {
        resource_type: None,
        name: None,
        pattern_type: PatternFilter::Any,
        principal: None,
        host: None,
        operation: None,
        permission: None,
    };
    let mut found = Vec::new();
    if resources.is_empty() {
        found = client.describe_acls(&any).await?;
    }
    for (kind, name) in resources {
        let filter =
            AclFilter { resource_type: Some(*kind), name: Some(name.clone()), pattern_type, ..any.clone() };
        found.extend(client.describe_acls(&filter).await?);
    }
    let mut by_resource: BTreeMap<ResourcePattern, Vec<Acl>> = BTreeMap::new();
    for acl in found {
        by_resource.entry(acl.pattern.clone()).or_default().push(acl);
    }
    let mut out = String::new();
    for (pattern, mut acls) in by_resource {
        acls.sort();
        acls.dedup();
        out += &block(&format!("Current ACLs for resource `{}`", show_pattern(&pattern)), &acls);
    }
    Ok(out)
}
