//! `spool acls` (kafka-acls.sh) against a broker in the test's process: its
//! flags parsed by clap as the binary parses them, its commands run through
//! [`spool::tools::acls::run`], and its output compared line by line with
//! what Kafka's AclCommand prints; then the ACLs it added let an
//! enforcing broker serve what they name.
//!
//! ```text
//! cargo test --test it aclmore_tool::
//! ```

use crate::wire::harness;
use crate::wire::requests;

use clap::Parser;
use harness::{start, start_in, PRODUCE_V};
use requests::{batch, create_topic, produce_request};
use spool::client::Client;
use spool::config::BrokerConfig;
use spool::security::AuthorizerConfig;
use spool::tools::acls::{run, AclsArgs};
use spool::tools::client_properties::AdminSettings;

#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    args: AclsArgs,
}

fn with_super_user(config: &mut BrokerConfig) {
    config.authorizer =
        Some(AuthorizerConfig { super_users: vec!["User:ANONYMOUS".into()], allow_if_no_acl: false });
}

async fn acls(client: &mut Client, flags: &str) -> Result<String, String> {
    let argv = std::iter::once("acls").chain(flags.split_whitespace());
    let cli = Cli::try_parse_from(argv).map_err(|e| e.to_string())?;
    run(client, &cli.args, |_| false).await.map_err(|e| e.to_string())
}

/// --add prints "Adding ACLs for resource …" with each entry, --list
/// "Current ACLs for resource …", --remove --force deletes them; the
/// `--producer` ACLs let ANONYMOUS produce once the broker enforces.
#[tokio::test]
async fn add_list_remove_print_as_kafka_acls_does() {
    let broker = start(with_super_user).await;
    create_topic(&mut broker.client().await, "t", 1, &[]).await;
    let addr = broker.addr.to_string();
    let mut client = AdminSettings::from_args(Some(&addr), None).unwrap().connect().await.unwrap();

    let added = acls(
        &mut client,
        "--add --allow-principal User:alice --operation Read --operation Describe --topic t",
    )
    .await
    .unwrap();
    assert_eq!(
        added,
        "Adding ACLs for resource `ResourcePattern(resourceType=TOPIC, name=t, patternType=LITERAL)`: \n \
         \t(principal=User:alice, host=*, operation=READ, permissionType=ALLOW)\n\
         \t(principal=User:alice, host=*, operation=DESCRIBE, permissionType=ALLOW) \n\n"
    );
    acls(
        &mut client,
        "--add --deny-principal User:mallory --deny-host 10.0.0.1 --group g --resource-pattern-type prefixed",
    )
    .await
    .unwrap();
    acls(&mut client, "--add --allow-principal User:ANONYMOUS --producer --topic t").await.unwrap();

    let listed = acls(&mut client, "--list").await.unwrap();
    assert_eq!(
        listed,
        "Current ACLs for resource `ResourcePattern(resourceType=TOPIC, name=t, patternType=LITERAL)`: \n \
         \t(principal=User:ANONYMOUS, host=*, operation=WRITE, permissionType=ALLOW)\n\
         \t(principal=User:ANONYMOUS, host=*, operation=CREATE, permissionType=ALLOW)\n\
         \t(principal=User:ANONYMOUS, host=*, operation=DESCRIBE, permissionType=ALLOW)\n\
         \t(principal=User:alice, host=*, operation=READ, permissionType=ALLOW)\n\
         \t(principal=User:alice, host=*, operation=DESCRIBE, permissionType=ALLOW) \n\n\
         Current ACLs for resource `ResourcePattern(resourceType=GROUP, name=g, patternType=PREFIXED)`: \n \
         \t(principal=User:mallory, host=10.0.0.1, operation=ALL, permissionType=DENY) \n\n"
    );

    // Removing one principal's ACLs leaves the others.
    acls(
        &mut client,
        "--remove --force --allow-principal User:alice --operation Read --operation Describe --topic t",
    )
    .await
    .unwrap();
    let listed = acls(&mut client, "--list --topic t").await.unwrap();
    assert!(!listed.contains("User:alice"), "{listed}");
    assert!(listed.contains("principal=User:ANONYMOUS, host=*, operation=WRITE"), "{listed}");
    // Without --force, the answer to the question decides: "no" keeps them.
    acls(&mut client, "--remove --group g --resource-pattern-type prefixed").await.unwrap();
    assert!(acls(&mut client, "--list --group g --resource-pattern-type prefixed")
        .await
        .unwrap()
        .contains("mallory"));

    let refused =
        acls(&mut client, "--add --allow-principal User:bob --topic t --resource-pattern-type match").await;
    assert!(refused.unwrap_err().contains("literal or prefixed"));
    assert!(acls(&mut client, "--list --add").await.is_err(), "one action at a time");
    drop(client);

    // The producer ACLs at work: the broker restarted without super users.
    let dir = broker.stop().await;
    let broker = start_in(dir, |c| c.authorizer = Some(AuthorizerConfig::default())).await;
    let mut wire = broker.client().await;
    let produced = wire.request(PRODUCE_V, &produce_request("t", 0, batch(1, &["v"]), 1)).await;
    assert_eq!(produced.responses[0].partition_responses[0].error_code, 0);
    let mut client =
        AdminSettings::from_args(Some(&broker.addr.to_string()), None).unwrap().connect().await.unwrap();
    let err = acls(&mut client, "--list").await.unwrap_err();
    assert!(err.contains("luster"), "listing needs Describe on the cluster: {err}");
    broker.stop().await;
}
