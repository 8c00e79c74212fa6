//! Issue 19's SCRAM credentials on one broker, end to end: `spool configs
//! --entity-type users` adds a credential (AlterUserScramCredentials, KIP-554),
//! spool's own client logs in with it on a SASL_PLAINTEXT listener offering
//! SCRAM-SHA-256 and SCRAM-SHA-512 (RFC 5802 / 7677), a wrong password is
//! SASL_AUTHENTICATION_FAILED and the connection closed, a deleted credential
//! no longer logs in, and the credentials survive a restart (they are
//! UserScramCredentialRecords in the metadata log).
//!
//! ```text
//! cargo test --test it scram::
//! ```

use crate::wire::harness;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use kafka_protocol::messages::MetadataRequest;
use kafka_protocol::ResponseError;
use spool::broker::scram::ImageScramCredentials;
use spool::client::{ClientError, Connection};
use spool::security::sasl::login::SaslLogin;
use spool::security::sasl::scram::ScramMechanism;
use spool::security::sasl::{self, Mechanism};
use spool::tools::configs::{run, ConfigsArgs};
use spool::wire::sasl::SaslSessions;
use tokio::net::TcpListener;
use tokio::sync::watch;

use harness::{start, start_in, TestBroker};

/// A SASL_PLAINTEXT listener offering both SCRAM mechanisms, checking logins
/// against `broker`'s metadata image, beside its PLAINTEXT admin listener.
async fn scram_listener(broker: &TestBroker) -> (SocketAddr, watch::Sender<bool>) {
    let mechanisms = vec!["SCRAM-SHA-256".to_string(), "SCRAM-SHA-512".to_string()];
    let store = Arc::new(ImageScramCredentials(Arc::downgrade(broker.broker())));
    let listener = sasl::listener::from_settings(
        &mechanisms,
        &Default::default(),
        "SASL_PLAINTEXT",
        Some(store),
        &Default::default(),
    )
    .expect("a SCRAM listener");
    let socket = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = socket.local_addr().expect("addr");
    let (stop, stopped) = watch::channel(false);
    let sessions: Arc<dyn spool::wire::handler::Sessions> = Arc::new(SaslSessions(Arc::new(listener)));
    let endpoint = spool::wire::server::Endpoint {
        listener: "SASL_PLAINTEXT".into(),
        tls: None,
        sessions: Some(sessions),
    };
    tokio::spawn(spool::wire::server::serve_listener(broker.broker().clone(), socket, endpoint, stopped));
    (addr, stop)
}

async fn configs(broker: &TestBroker, alter: bool, add: Option<&str>, delete: Option<&str>) -> String {
    let args = ConfigsArgs {
        bootstrap_server: None,
        entity_type: "users".into(),
        entity_name: Some("alice".into()),
        entity_default: false,
        describe: !alter,
        all: false,
        alter,
        add_config: add.map(Into::into),
        delete_config: delete.map(Into::into),
        command_config: Default::default(),
    };
    let mut admin = spool::client::Client::connect(&broker.addr.to_string(), Duration::from_secs(10))
        .await
        .expect("admin");
    let mut out = Vec::new();
    run(&mut admin, &args, &mut out).await.expect("spool configs");
    String::from_utf8(out).expect("utf-8")
}

/// Logs in as alice with `password` over `mechanism`; on success the
/// connection serves Metadata.
async fn login(addr: SocketAddr, mechanism: ScramMechanism, password: &str) -> Result<(), ClientError> {
    let mut connection = Connection::connect(&addr.to_string(), Duration::from_secs(10)).await?;
    let login = SaslLogin {
        mechanism: Mechanism::Scram(mechanism),
        username: "alice".into(),
        password: password.into(),
    };
    match connection.authenticate(&login).await {
        Ok(()) => {
            let metadata = connection.send(&MetadataRequest::default()).await?;
            assert_eq!(metadata.brokers.len(), 1);
            Ok(())
        }
        Err(e) => {
            // The broker closed the connection after refusing: nothing more is answered.
            assert!(connection.send(&MetadataRequest::default()).await.is_err(), "closed after a refusal");
            Err(e)
        }
    }
}

fn refused_code(result: Result<(), ClientError>) -> ResponseError {
    match result {
        Err(ClientError::Kafka { code, .. }) => code,
        other => panic!("expected a Kafka error, got {other:?}"),
    }
}

/// The whole life of a credential: added by the tool and described with
/// Kafka's line, used to log in (right password) and refused (wrong one,
/// wrong mechanism), kept across a restart, deleted and then refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_credential_added_by_the_tool_logs_in_until_deleted() {
    let broker = start(|_| {}).await;
    let (addr, _stop) = scram_listener(&broker).await;
    assert_eq!(
        refused_code(login(addr, ScramMechanism::Sha512, "alice-secret").await),
        ResponseError::SaslAuthenticationFailed,
        "no credential yet"
    );
    let out =
        configs(&broker, true, Some("SCRAM-SHA-512=[iterations=8192,password=alice-secret]"), None).await;
    assert_eq!(out, "Completed updating config for user alice.\n");
    let out = configs(&broker, false, None, None).await;
    assert_eq!(
        out,
        "SCRAM credential configs for user-principal 'alice' are SCRAM-SHA-512=iterations=8192\n"
    );
    login(addr, ScramMechanism::Sha512, "alice-secret").await.expect("the right password logs in");
    assert_eq!(
        refused_code(login(addr, ScramMechanism::Sha512, "guess").await),
        ResponseError::SaslAuthenticationFailed
    );
    assert_eq!(
        refused_code(login(addr, ScramMechanism::Sha256, "alice-secret").await),
        ResponseError::SaslAuthenticationFailed,
        "a credential is per mechanism"
    );

    let dir = broker.stop().await;
    let broker = start_in(dir, |_| {}).await;
    let (addr, _stop) = scram_listener(&broker).await;
    login(addr, ScramMechanism::Sha512, "alice-secret").await.expect("kept across a restart");

    let out = configs(&broker, true, None, Some("SCRAM-SHA-512")).await;
    assert_eq!(out, "Completed updating config for user alice.\n");
    assert_eq!(
        refused_code(login(addr, ScramMechanism::Sha512, "alice-secret").await),
        ResponseError::SaslAuthenticationFailed,
        "a deleted credential no longer logs in"
    );
    assert_eq!(configs(&broker, false, None, None).await, "");
}
