//! Issue 19, part 2: the cluster's own links speak the protocol of the
//! listener they dial. Three combined nodes (broker and controller in one
//! process) whose broker listener (`inter.broker.listener.name`) and
//! controller listener are both mapped to SSL, or both to SASL_SSL with PLAIN
//! (`sasl.mechanism.inter.broker.protocol`, `sasl.mechanism.controller.protocol`):
//! the Raft quorum elects a leader, the brokers register and heartbeat, a
//! topic with replication factor 3 gets all three replicas in its ISR, and an
//! acks=all record is read back from a new leader after the first is
//! SIGKILLed. A link still dialled in the clear never gets past the TLS
//! listener, and the cluster never forms.
//!
//! ```text
//! cargo test --test it saslssl_cluster::
//! ```

use crate::common::cluster;
use crate::common::turn;
use crate::tls::certs;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use cluster::{eventually, CombinedCluster};
use spool::client::{Client, Consumer, ConsumerConfig, NewTopic, Producer, ProducerConfig, ProducerRecord};
use spool::security::sasl::login::SaslLogin;
use spool::security::sasl::Mechanism;
use spool::security::tls::{client_config, SslConfig};
use spool::security::ClientSecurity;
use spool::TopicPartition;

const TOPIC: &str = "secured";
const TIMEOUT: Duration = Duration::from_secs(5);

const JAAS: &str = "org.apache.kafka.common.security.plain.PlainLoginModule required \
                    username=\"broker\" password=\"broker-secret\" user_broker=\"broker-secret\" \
                    user_alice=\"alice-secret\";";

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

/// The properties every node adds: both listeners mapped to `protocol`, one
/// keystore (valid for 127.0.0.1) and the CA as truststore for every listener
/// and link; with SASL, PLAIN on both listeners and on both links.
fn secured(pki: &certs::Pki, keystore: &std::path::Path, protocol: &str) -> String {
    let mut extra = format!(
        "listener.security.protocol.map=PLAINTEXT:{protocol},CONTROLLER:{protocol}\n\
         ssl.keystore.location={}\nssl.truststore.location={}\nreplica.lag.time.max.ms=3000\n",
        keystore.display(),
        pki.ca.display()
    );
    if protocol.starts_with("SASL") {
        extra += &format!(
            "sasl.enabled.mechanisms=PLAIN\nsasl.mechanism.inter.broker.protocol=PLAIN\n\
             sasl.mechanism.controller.protocol=PLAIN\n\
             listener.name.plaintext.plain.sasl.jaas.config={JAAS}\n\
             listener.name.controller.plain.sasl.jaas.config={JAAS}\n"
        );
    }
    extra
}

/// How the test's own client reaches the brokers: TLS with the CA, and
/// alice's PLAIN login on SASL_SSL.
fn client_security(pki: &certs::Pki, sasl: bool) -> ClientSecurity {
    let props = BTreeMap::from([("ssl.truststore.location".to_string(), pki.ca.display().to_string())]);
    let tls = client_config(&SslConfig::for_listener(&props, None).unwrap()).unwrap();
    let login =
        SaslLogin { mechanism: Mechanism::Plain, username: "alice".into(), password: "alice-secret".into() };
    ClientSecurity { tls: Some(tls), sasl: sasl.then(|| Arc::new(login)) }
}

/// (leader, ISR) of the topic's partition, as a broker's Metadata says.
async fn leadership(bootstrap: &str, security: &ClientSecurity) -> Option<(i32, Vec<i32>)> {
    let mut client = Client::connect_with(bootstrap, TIMEOUT, security.clone()).await.ok()?;
    let metadata = client.metadata(Some(&[TOPIC]), false).await.ok()?;
    let p = metadata.topics.first()?.partitions.first()?.clone();
    (p.leader >= 0).then(|| (p.leader, p.isr.to_vec()))
}

/// The scenario of the module docs, over `protocol` (SSL or SASL_SSL).
fn replicates_over(protocol: &str) {
    let _turn = turn::take_turn();
    let dir = tempfile::tempdir().unwrap();
    let pki = certs::Pki::new(dir.path());
    let keystore = pki.broker("node");
    let security = client_security(&pki, protocol == "SASL_SSL");
    let mut cluster = CombinedCluster::start(3, &secured(&pki, &keystore, protocol));
    let bootstrap = cluster.bootstrap();
    runtime().block_on(async {
        eventually("three registered brokers (links over the secured listeners)", async || {
            let mut client = Client::connect_with(&bootstrap, TIMEOUT, security.clone()).await.ok()?;
            let metadata = client.metadata(Some(&[]), false).await.ok()?;
            (metadata.brokers.len() == 3).then_some(())
        })
        .await;
        let mut client = Client::connect_with(&bootstrap, TIMEOUT, security.clone()).await.expect("client");
        let topic = NewTopic { partitions: 1, replication_factor: 3, ..NewTopic::new(TOPIC) };
        let created = client.create_topics(&[topic], false).await.expect("CreateTopics");
        assert!(created[0].is_ok(), "{created:?}");
        let (leader, _) = eventually("all three replicas in the ISR", async || {
            leadership(&bootstrap, &security).await.filter(|(_, isr)| isr.len() == 3)
        })
        .await;
        let producer =
            Producer::connect_with(ProducerConfig::new(&bootstrap), security.clone()).await.unwrap();
        let record = ProducerRecord { value: Some(b"kept".to_vec().into()), ..Default::default() };
        producer.send_to_partition(TOPIC, 0, record).await.unwrap().await.expect("acks=all");
        producer.close().await.unwrap();

        cluster.node(leader).kill();
        let survivors = cluster.running_bootstrap();
        eventually("a new leader", async || {
            leadership(&survivors, &security).await.filter(|(l, _)| *l != leader)
        })
        .await;
        let mut consumer =
            Consumer::connect_with(&survivors, ConsumerConfig::default(), security.clone()).await.unwrap();
        consumer.assign([TopicPartition::new(TOPIC, 0)]);
        consumer.seek(TOPIC, 0, 0).unwrap();
        let read = eventually("the record from the new leader", async || {
            let records = consumer.poll(Duration::from_millis(200)).await.ok()?;
            records.first().map(|r| r.record.value.clone().unwrap())
        })
        .await;
        assert_eq!(&read[..], b"kept");
    });
}

/// Broker and controller links over SSL (module docs).
#[test]
fn a_cluster_replicates_over_ssl_links() {
    replicates_over("SSL");
}

/// Broker and controller links over SASL_SSL with PLAIN (module docs).
#[test]
fn a_cluster_replicates_over_sasl_ssl_links() {
    replicates_over("SASL_SSL");
}
