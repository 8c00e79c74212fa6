//! Chapter 2 — a minimal client: the wire protocol from the other side.
//!
//! The broker in [`crate::broker`] answers requests; this module asks them.
//! Every Kafka client, whatever its language, does the same few things, and
//! spool's command-line tools (`spool topics`, `spool produce`, `spool
//! consume`, in [`crate::tools`]) are built on exactly these:
//!
//! 1. **Bootstrap.** Connect to any broker in `bootstrap.servers` and ask
//!    *ApiVersions* first: each API (Produce, Fetch, …) has a range of versions,
//!    and a request is sent at the highest version both sides speak
//!    ([`connection`]). A client never sends a version the broker did not list.
//! 2. **Metadata.** Ask which brokers exist and, for each partition, which one
//!    leads it. Produce and Fetch go to the leader; admin requests go to the
//!    controller. With one broker these are all the same node, but the routing
//!    is done anyway, since chapter 6 adds more brokers.
//! 3. **Requests.** Each is framed with a 4-byte size and a header carrying a
//!    correlation id, which the response repeats. One [`Connection`] type
//!    does this for every caller, waiting for each answer in turn or keeping
//!    several requests in flight (the producer).
//!
//! ```text
//!   Client ── bootstrap ──▶ Connection(127.0.0.1:9092) ── ApiVersions, Metadata
//!      │                        brokers: {1: 127.0.0.1:9092}
//!      │                        orders-0 led by 1, orders-1 led by 1
//!      └── produce(orders-0) ──▶ Connection(leader 1) ── Produce v11
//! ```
//!
//! A produce call turns each partition's records into one v2 record batch with
//! [`crate::format::BatchBuilder`] — the same bytes the broker will store and a
//! consumer will receive. A fetch decodes the batches it gets back with
//! [`crate::format::RecordBatch`].
//!
//! Chapter 4 builds a real producer on top of this: [`producer`] (an
//! accumulator with `batch.size`, `linger.ms` and `buffer.memory`, a sender
//! task with pipelined requests and retries, on the same [`Connection`]) and
//! the sticky partitioner in
//! [`partitioner`].
//!
//! Chapter 5 adds consumer groups: the assignors in [`assignor`], the group
//! and offset APIs in [`group`], and [`group_consumer`], which `subscribe`s
//! and lets the group decide what it reads.
//!
//! Chapter 9 adds the admin side of transactions in [`transactions`]
//! (`spool transactions`, KIP-664).
//!
//! Simplifications of the [`Client`] calls themselves: one request in flight
//! per connection, no retries, no accumulator or `linger.ms` (the caller
//! decides what goes in a batch: see [`producer`] for all three), no idempotence
//! (chapter 8), no fetch sessions (KIP-227), and partitions led by different
//! brokers are fetched one broker after another rather than in parallel.

pub mod acls;
pub mod admin;
pub mod assignor;
pub mod client_quotas;
pub mod configs;
pub mod connection;
pub mod consumer;
pub mod delete_records;
pub mod error;
pub mod fetch;
pub mod group;
pub mod group_consumer;
pub mod log_dirs;
pub mod offset_delete;
pub mod partitioner;
pub mod produce;
pub mod producer;
pub mod scram;
pub mod topic_partitions;
pub mod transactions;

use std::collections::BTreeMap;
use std::time::Duration;

use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::{MetadataRequest, TopicName};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;
use uuid::Uuid;

pub use admin::{ConfigEntry, CreatedTopic, NewTopic};
pub use connection::{Connection, Security, Tls};
pub use consumer::{Consumer, ConsumerConfig, ConsumerRecord, OffsetReset};
pub use error::ClientError;
pub use fetch::{FetchOptions, OffsetSpec};
pub use group::{GroupDescription, ListedGroup, MemberDescription};
pub use group_consumer::{GroupConfig, GroupConsumer};
pub use produce::{Acks, ProduceOptions, ProducerRecord};
pub use producer::{DeliveryFuture, Producer, ProducerConfig, RecordMetadata};
pub use transactions::{AbortSpec, ProducerState, TransactionDescription, TransactionListing};

/// The client's wall clock, in Kafka's unit: milliseconds since the Unix
/// epoch, for record timestamps and the tools' reports. (The broker keeps its
/// own; a client never reads the broker's clock.)
pub fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

/// `request.timeout.ms`'s default in Kafka's clients.
pub const REQUEST_TIMEOUT_DEFAULT: Duration = Duration::from_secs(30);

/// A broker, as Metadata describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerMetadata {
    pub node_id: i32,
    pub host: String,
    pub port: i32,
}

/// One partition: who leads it and who holds copies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionMetadata {
    pub partition: i32,
    /// The leader's node id, or -1 while there is none.
    pub leader: i32,
    pub leader_epoch: i32,
    pub replicas: Vec<i32>,
    pub isr: Vec<i32>,
    /// A Kafka error code for this partition (0: none).
    pub error_code: i16,
}

/// One topic, as Metadata describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicMetadata {
    pub name: String,
    pub topic_id: Uuid,
    pub is_internal: bool,
    /// Sorted by partition number.
    pub partitions: Vec<PartitionMetadata>,
    /// A Kafka error code for this topic (0: none), e.g. `UNKNOWN_TOPIC_OR_PARTITION`.
    pub error_code: i16,
}

/// A Metadata answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterMetadata {
    pub cluster_id: Option<String>,
    pub controller_id: i32,
    pub brokers: Vec<BrokerMetadata>,
    pub topics: Vec<TopicMetadata>,
}

/// A client of one cluster: connections by broker address, and what the last
/// Metadata said about brokers and topics.
#[derive(Debug)]
pub struct Client {
    /// The bootstrap address that answered: used for requests any broker can serve.
    bootstrap: String,
    request_timeout: Duration,
    /// Open connections, by `host:port`.
    connections: BTreeMap<String, Connection>,
    /// Broker addresses by node id, from the last Metadata.
    brokers: BTreeMap<i32, String>,
    controller_id: Option<i32>,
    /// Topics from the last Metadata that named them.
    topics: BTreeMap<String, TopicMetadata>,
    /// `client.id` for every connection ([`connection::CLIENT_ID`] unless set).
    client_id: String,
    /// `security.protocol`: every connection's TLS and SASL login (chapter 11).
    security: Security,
}

impl Client {
    /// Connects to the first of the comma-separated `bootstrap` addresses that
    /// answers ApiVersions, as `bootstrap.servers` works.
    pub async fn connect(bootstrap: &str, request_timeout: Duration) -> Result<Self, ClientError> {
        Self::open(bootstrap, request_timeout, None, Security::default()).await
    }

    /// As [`connect`](Self::connect), with `client.id` set (`None`: spool's own).
    pub async fn connect_as(
        bootstrap: &str,
        request_timeout: Duration,
        client_id: Option<&str>,
    ) -> Result<Self, ClientError> {
        Self::open(bootstrap, request_timeout, client_id, Security::default()).await
    }

    /// [`Client::connect`], every connection secured as `security` says (a
    /// [`Tls`] alone is SSL).
    pub async fn connect_with(
        bootstrap: &str,
        request_timeout: Duration,
        security: impl Into<Security>,
    ) -> Result<Self, ClientError> {
        Self::open(bootstrap, request_timeout, None, security).await
    }

    /// [`Client::connect`] as `client_id` (`None`: spool's own), every
    /// connection secured as `security` says.
    pub async fn open(
        bootstrap: &str,
        request_timeout: Duration,
        client_id: Option<&str>,
        security: impl Into<Security>,
    ) -> Result<Self, ClientError> {
        let security = security.into();
        let client_id = client_id.unwrap_or(connection::CLIENT_ID).to_string();
        let mut last_error = ClientError::InvalidArgument("no bootstrap server given".into());
        for addr in bootstrap.split(',').map(str::trim).filter(|a| !a.is_empty()) {
            match Connection::open(addr, request_timeout, &client_id, &security).await {
                Ok(connection) => {
                    let mut client = Client {
                        bootstrap: addr.to_string(),
                        request_timeout,
                        connections: BTreeMap::new(),
                        brokers: BTreeMap::new(),
                        controller_id: None,
                        topics: BTreeMap::new(),
                        client_id,
                        security: security.clone(),
                    };
                    client.connections.insert(addr.to_string(), connection);
                    return Ok(client);
                }
                Err(e) => last_error = e,
            }
        }
        Err(last_error)
    }

    /// How every connection is secured (the default: PLAINTEXT).
    pub fn security(&self) -> &Security {
        &self.security
    }

    /// The request timeout every call uses.
    pub fn request_timeout(&self) -> Duration {
        self.request_timeout
    }

    /// The open connection to `addr`, opening (or reopening a broken) one.
    async fn connection_to(&mut self, addr: &str) -> Result<&mut Connection, ClientError> {
        if self.connections.get(addr).is_none_or(Connection::is_broken) {
            let connection =
                Connection::open(addr, self.request_timeout, &self.client_id, &self.security).await?;
            self.connections.insert(addr.to_string(), connection);
        }
        Ok(self.connections.get_mut(addr).expect("inserted above"))
    }

    /// A connection to any broker: the bootstrap one.
    async fn any_connection(&mut self) -> Result<&mut Connection, ClientError> {
        let addr = self.bootstrap.clone();
        self.connection_to(&addr).await
    }

    /// A connection to broker `node_id`, whose address the last Metadata gave.
    async fn node_connection(&mut self, node_id: i32) -> Result<&mut Connection, ClientError> {
        let Some(addr) = self.brokers.get(&node_id).cloned() else {
            return Err(ClientError::kafka(
                ResponseError::BrokerNotAvailable.code(),
                None,
                format!("node {node_id} is not in the cluster metadata"),
            ));
        };
        self.connection_to(&addr).await
    }

    /// A connection to the controller, for admin requests (any broker when it
    /// is not known yet; a KRaft broker forwards them to the controller).
    async fn controller_connection(&mut self) -> Result<&mut Connection, ClientError> {
        if self.controller_id.is_none() {
            self.metadata(Some(&[]), false).await?;
        }
        match self.controller_id {
            Some(id) if self.brokers.contains_key(&id) => self.node_connection(id).await,
            _ => self.any_connection().await,
        }
    }

    // ANCHOR: metadata
    /// Metadata for `topics` (every topic when `None`). `allow_auto_create`
    /// lets the broker create missing topics if `auto.create.topics.enable` is
    /// set, as a producer's first Metadata does. Topic-level errors are in each
    /// [`TopicMetadata::error_code`], not an `Err`: asking about a missing topic
    /// is a normal question.
    pub async fn metadata(
        &mut self,
        topics: Option<&[&str]>,
        allow_auto_create: bool,
    ) -> Result<ClusterMetadata, ClientError> {
        let request = MetadataRequest::default()
            .with_topics(topics.map(|names| {
                names
                    .iter()
                    .map(|n| {
                        MetadataRequestTopic::default()
                            .with_name(Some(TopicName(StrBytes::from_string(n.to_string()))))
                    })
                    .collect()
            }))
            .with_allow_auto_topic_creation(allow_auto_create);
        let response = self.any_connection().await?.send(&request).await?;
        let brokers: Vec<BrokerMetadata> = response
            .brokers
            .iter()
            .map(|b| BrokerMetadata { node_id: b.node_id.0, host: b.host.to_string(), port: b.port })
            .collect();
        let mut topics = Vec::with_capacity(response.topics.len());
        for t in response.topics {
            let Some(name) = t.name else {
                return Err(ClientError::Protocol("Metadata answered a topic without a name".into()));
            };
            let mut partitions: Vec<PartitionMetadata> = t
                .partitions
                .iter()
                .map(|p| PartitionMetadata {
                    partition: p.partition_index,
                    leader: p.leader_id.0,
                    leader_epoch: p.leader_epoch,
                    replicas: p.replica_nodes.iter().map(|r| r.0).collect(),
                    isr: p.isr_nodes.iter().map(|r| r.0).collect(),
                    error_code: p.error_code,
                })
                .collect();
            partitions.sort_by_key(|p| p.partition);
            topics.push(TopicMetadata {
                name: name.0.to_string(),
                topic_id: t.topic_id,
                is_internal: t.is_internal,
                partitions,
                error_code: t.error_code,
            });
        }
        topics.sort_by(|a, b| a.name.cmp(&b.name));
        // Remember what was learned: addresses for routing, topics for partitioning.
        self.brokers = brokers.iter().map(|b| (b.node_id, format!("{}:{}", b.host, b.port))).collect();
        self.controller_id = Some(response.controller_id.0).filter(|&id| id >= 0);
        for t in topics.iter().filter(|t| t.error_code == 0) {
            self.topics.insert(t.name.clone(), t.clone());
        }
        Ok(ClusterMetadata {
            cluster_id: response.cluster_id.map(|c| c.to_string()),
            controller_id: response.controller_id.0,
            brokers,
            topics,
        })
    }
    // ANCHOR_END: metadata

    /// One topic's metadata, from the cache or a fresh Metadata request. A
    /// topic that does not exist is an `UNKNOWN_TOPIC_OR_PARTITION` error.
    pub async fn topic(&mut self, name: &str, allow_auto_create: bool) -> Result<TopicMetadata, ClientError> {
        if let Some(topic) = self.topics.get(name) {
            return Ok(topic.clone());
        }
        let metadata = self.metadata(Some(&[name]), allow_auto_create).await?;
        let Some(topic) = metadata.topics.into_iter().find(|t| t.name == name) else {
            return Err(ClientError::Protocol(format!("Metadata did not answer for topic {name}")));
        };
        ClientError::check(topic.error_code, None, || format!("topic {name}"))?;
        Ok(topic)
    }

    /// Forgets cached topic metadata, so the next call asks again (after a
    /// topic is created or deleted, or a leader moved).
    pub fn invalidate(&mut self, topic: &str) {
        self.topics.remove(topic);
    }

    /// Groups `partitions` of `topic` by their leader's node id.
    async fn by_leader<T>(
        &mut self,
        topic: &str,
        partitions: impl IntoIterator<Item = (i32, T)>,
        allow_auto_create: bool,
    ) -> Result<BTreeMap<i32, Vec<(i32, T)>>, ClientError> {
        let metadata = self.topic(topic, allow_auto_create).await?;
        let mut by_leader: BTreeMap<i32, Vec<(i32, T)>> = BTreeMap::new();
        for (partition, item) in partitions {
            let Some(p) = metadata.partitions.iter().find(|p| p.partition == partition) else {
                return Err(ClientError::InvalidArgument(format!(
                    "topic {topic} has no partition {partition} (it has {})",
                    metadata.partitions.len()
                )));
            };
            if p.leader < 0 {
                self.invalidate(topic);
                return Err(ClientError::kafka(
                    ResponseError::LeaderNotAvailable.code(),
                    None,
                    format!("{topic}-{partition}"),
                ));
            }
            by_leader.entry(p.leader).or_default().push((partition, item));
        }
        Ok(by_leader)
    }
}
