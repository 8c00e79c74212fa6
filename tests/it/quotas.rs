//! Issue 19's client quotas on one broker, end to end: AlterClientQuotas and
//! DescribeClientQuotas (KIP-546) through spool's admin client, the
//! ClientQuotaRecords kept across a restart, and Kafka's refusals.
//!
//! ```text
//! cargo test --test it quotas::
//! ```

use crate::wire::harness;

use std::time::Duration;

use kafka_protocol::ResponseError;
use spool::client::client_quotas::{EntityName, QuotaEntity, QuotaMatch};
use spool::client::ClientError;

use harness::{start, start_in, TestBroker};

async fn admin(broker: &TestBroker) -> spool::client::Client {
    spool::client::Client::connect(&broker.addr.to_string(), Duration::from_secs(10))
        .await
        .expect("admin client")
}

fn name(n: &str) -> Option<EntityName> {
    Some(EntityName::Name(n.to_string()))
}

fn kafka_code(result: Result<(), ClientError>) -> Option<ResponseError> {
    match result {
        Ok(()) => None,
        Err(ClientError::Kafka { code, .. }) => Some(code),
        Err(other) => panic!("expected a Kafka error, got {other}"),
    }
}

/// Quotas set for a user's client, a client id and the default client id are
/// described back exactly (strict and loose filters), a validate-only alter
/// changes nothing, a removal removes, and after a restart the broker still
/// holds them (they are ClientQuotaRecords in the metadata log).
#[tokio::test]
async fn quotas_round_trip_and_survive_a_restart() {
    let broker = start(|_| {}).await;
    let mut client = admin(&broker).await;
    let alice_slow = QuotaEntity::of(name("alice"), name("slow"));
    let slow = QuotaEntity::of(None, name("slow"));
    let default_client = QuotaEntity::of(None, Some(EntityName::Default));
    let set = |k: &str, v: f64| (k.to_string(), Some(v));
    client.alter_client_quotas(&alice_slow, &[set("producer_byte_rate", 1024.0)], false).await.unwrap();
    client
        .alter_client_quotas(
            &slow,
            &[set("producer_byte_rate", 2048.0), set("request_percentage", 12.5)],
            false,
        )
        .await
        .unwrap();
    client.alter_client_quotas(&default_client, &[set("consumer_byte_rate", 4096.0)], false).await.unwrap();
    client.alter_client_quotas(&default_client, &[set("producer_byte_rate", 1.0)], true).await.unwrap();

    let all = client.describe_client_quotas(&[], false).await.unwrap();
    assert_eq!(all.len(), 3);
    let clients_only = [("client-id".to_string(), QuotaMatch::Specified)];
    let strict = client.describe_client_quotas(&clients_only, true).await.unwrap();
    assert_eq!(
        strict.iter().map(|(e, _)| e.clone()).collect::<Vec<_>>(),
        [default_client.clone(), slow.clone()]
    );
    let exact = [("client-id".to_string(), QuotaMatch::Exact(EntityName::Default))];
    let described = client.describe_client_quotas(&exact, true).await.unwrap();
    assert_eq!(described, [(default_client.clone(), vec![("consumer_byte_rate".to_string(), 4096.0)])]);

    client.alter_client_quotas(&slow, &[("request_percentage".to_string(), None)], false).await.unwrap();
    drop(client);
    let dir = broker.stop().await;
    let broker = start_in(dir, |_| {}).await;
    let mut client = admin(&broker).await;
    let after = client.describe_client_quotas(&[], false).await.unwrap();
    assert_eq!(
        after,
        [
            (default_client, vec![("consumer_byte_rate".to_string(), 4096.0)]),
            (slow, vec![("producer_byte_rate".to_string(), 2048.0)]),
            (alice_slow, vec![("producer_byte_rate".to_string(), 1024.0)]),
        ]
    );
}

/// Kafka's validation (`ClientQuotaControlManager`): an unknown key, a
/// negative rate and a fractional byte rate are INVALID_REQUEST, and change
/// nothing.
#[tokio::test]
async fn bad_quotas_are_refused() {
    let broker = start(|_| {}).await;
    let mut client = admin(&broker).await;
    let slow = QuotaEntity::of(None, name("slow"));
    for (key, value) in
        [("producer_bytes_rate", 10.0), ("producer_byte_rate", -1.0), ("consumer_byte_rate", 0.5)]
    {
        let refused = client.alter_client_quotas(&slow, &[(key.to_string(), Some(value))], false).await;
        assert_eq!(kafka_code(refused), Some(ResponseError::InvalidRequest), "{key}={value}");
    }
    assert!(client.describe_client_quotas(&[], false).await.unwrap().is_empty());
}

/// `spool configs` speaks kafka-configs.sh for quotas: `--alter
/// --add-config 'producer_byte_rate=1024,consumer_byte_rate=2048'` for a
/// client id and for the default client, then `--describe` prints Kafka's
/// "Quota configs for … are …" lines, and `--delete-config` removes a key.
#[tokio::test]
async fn the_configs_tool_alters_and_describes_quotas() {
    use spool::tools::configs::{run, ConfigsArgs};
    let broker = start(|_| {}).await;
    let mut client = admin(&broker).await;
    let args = |name: Option<&str>, alter: bool, add: Option<&str>, delete: Option<&str>| ConfigsArgs {
        bootstrap_server: None,
        entity_type: "clients".into(),
        entity_name: name.map(Into::into),
        entity_default: name.is_none() && alter,
        describe: !alter,
        all: false,
        alter,
        add_config: add.map(Into::into),
        delete_config: delete.map(Into::into),
        command_config: Default::default(),
    };
    let text = |out: Vec<u8>| String::from_utf8(out).unwrap();
    let mut out = Vec::new();
    let add = Some("producer_byte_rate=1024,consumer_byte_rate=2048");
    run(&mut client, &args(Some("slow"), true, add, None), &mut out).await.expect("--alter");
    assert_eq!(text(out), "Completed updating config for client slow.\n");
    let mut out = Vec::new();
    run(&mut client, &args(None, true, Some("consumer_byte_rate=4096"), None), &mut out)
        .await
        .expect("default");
    assert_eq!(text(out), "Completed updating default config for clients in the cluster.\n");
    let mut out = Vec::new();
    run(&mut client, &args(None, false, None, None), &mut out).await.expect("--describe");
    assert_eq!(
        text(out),
        "Quota configs for the default client-id are consumer_byte_rate=4096.0\n\
         Quota configs for client-id 'slow' are consumer_byte_rate=2048.0, producer_byte_rate=1024.0\n"
    );
    run(&mut client, &args(Some("slow"), true, None, Some("consumer_byte_rate")), &mut Vec::new())
        .await
        .unwrap();
    let mut out = Vec::new();
    run(&mut client, &args(Some("slow"), false, None, None), &mut out).await.expect("--describe slow");
    assert_eq!(text(out), "Quota configs for client-id 'slow' are producer_byte_rate=1024.0\n");
}
