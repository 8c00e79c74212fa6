//! Admin requests: CreateTopics, CreatePartitions, DeleteTopics, DescribeConfigs — what
//! `kafka-topics.sh` sends through Kafka's `Admin` client.
//!
//! Each answers per topic, so each returns one `Result` per topic inside the
//! `Result` for the request as a whole: creating three topics where one
//! already exists creates the other two.

use std::collections::BTreeMap;

use kafka_protocol::messages::create_topics_request::{CreatableTopic, CreatableTopicConfig};
use kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
use kafka_protocol::messages::{CreateTopicsRequest, DeleteTopicsRequest, DescribeConfigsRequest, TopicName};
use kafka_protocol::protocol::StrBytes;
use uuid::Uuid;

use super::{Client, ClientError};

/// A topic to create. `-1` partitions or replication factor means the
/// broker's default (`num.partitions`, `default.replication.factor`, KIP-464).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTopic {
    pub name: String,
    pub partitions: i32,
    pub replication_factor: i16,
    /// Topic-level overrides, with Kafka's keys (`retention.ms`, `segment.bytes`, …).
    pub configs: BTreeMap<String, String>,
}

impl NewTopic {
    /// A topic with the broker's defaults.
    pub fn new(name: impl Into<String>) -> Self {
        NewTopic { name: name.into(), partitions: -1, replication_factor: -1, configs: BTreeMap::new() }
    }
}

/// What the broker created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatedTopic {
    pub name: String,
    /// Nil before CreateTopics v7.
    pub topic_id: Uuid,
    /// -1 before CreateTopics v5, which did not say.
    pub partitions: i32,
    pub replication_factor: i16,
}

/// One entry of DescribeConfigs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigEntry {
    pub name: String,
    pub value: Option<String>,
    /// Kafka's `ConfigSource`: 1 = a topic override (`DYNAMIC_TOPIC_CONFIG`),
    /// 4 = `STATIC_BROKER_CONFIG`, 5 = `DEFAULT_CONFIG`, …
    pub source: i8,
    pub read_only: bool,
}

/// `ConfigSource.DYNAMIC_TOPIC_CONFIG`: set on the topic itself.
pub const CONFIG_SOURCE_TOPIC: i8 = 1;

/// DescribeConfigs' resource type for topics.
const RESOURCE_TOPIC: i8 = 2;

impl Client {
    /// CreateTopics, sent to the controller. `validate_only` checks without creating.
    pub async fn create_topics(
        &mut self,
        topics: &[NewTopic],
        validate_only: bool,
    ) -> Result<Vec<Result<CreatedTopic, ClientError>>, ClientError> {
        let creatable = topics
            .iter()
            .map(|t| {
                let configs = t
                    .configs
                    .iter()
                    .map(|(k, v)| {
                        CreatableTopicConfig::default()
                            .with_name(StrBytes::from_string(k.clone()))
                            .with_value(Some(StrBytes::from_string(v.clone())))
                    })
                    .collect();
                CreatableTopic::default()
                    .with_name(topic_name(&t.name))
                    .with_num_partitions(t.partitions)
                    .with_replication_factor(t.replication_factor)
                    .with_configs(configs)
            })
            .collect();
        let timeout_ms = self.request_timeout.as_millis().min(i32::MAX as u128) as i32;
        let request = CreateTopicsRequest::default()
            .with_topics(creatable)
            .with_timeout_ms(timeout_ms)
            .with_validate_only(validate_only);
        let response = self.controller_connection().await?.send(&request).await?;
        for t in topics {
            self.invalidate(&t.name);
        }
        Ok(response
            .topics
            .into_iter()
            .map(|t| {
                let name = t.name.0.to_string();
                let message = t.error_message.map(|m| m.to_string());
                ClientError::check(t.error_code, message, || format!("create topic {name}"))?;
                Ok(CreatedTopic {
                    name,
                    topic_id: t.topic_id,
                    partitions: t.num_partitions,
                    replication_factor: t.replication_factor,
                })
            })
            .collect())
    }

    /// InitProducerId without a transactional id, to any broker: a new
    /// producer id and its epoch, for an idempotent producer (chapter 8).
    pub async fn init_producer_id(&mut self) -> Result<(i64, i16), ClientError> {
        let request = kafka_protocol::messages::InitProducerIdRequest::default()
            .with_transactional_id(None)
            .with_transaction_timeout_ms(i32::MAX);
        let response = self.any_connection().await?.send(&request).await?;
        ClientError::check(response.error_code, None, || "init producer id".to_string())?;
        Ok((response.producer_id.0, response.producer_epoch))
    }

    /// DeleteTopics by name, sent to the controller: one result per topic.
    pub async fn delete_topics(
        &mut self,
        names: &[&str],
    ) -> Result<Vec<(String, Result<(), ClientError>)>, ClientError> {
        let timeout_ms = self.request_timeout.as_millis().min(i32::MAX as u128) as i32;
        let request = DeleteTopicsRequest::default()
            .with_topic_names(names.iter().map(|n| topic_name(n)).collect())
            .with_timeout_ms(timeout_ms);
        let response = self.controller_connection().await?.send(&request).await?;
        for name in names {
            self.invalidate(name);
        }
        Ok(response
            .responses
            .into_iter()
            .map(|r| {
                let name = r.name.map_or_else(|| r.topic_id.to_string(), |n| n.0.to_string());
                let message = r.error_message.map(|m| m.to_string());
                let result = ClientError::check(r.error_code, message, || format!("delete topic {name}"));
                (name, result)
            })
            .collect())
    }

    /// CreatePartitions, sent to the controller: `topic` grows to `count`
    /// partitions, placed by the controller (Kafka's `NewPartitions.increaseTo`).
    pub async fn create_partitions(
        &mut self,
        topic: &str,
        count: i32,
        validate_only: bool,
    ) -> Result<(), ClientError> {
        use kafka_protocol::messages::create_partitions_request::CreatePartitionsTopic;
        let timeout_ms = self.request_timeout.as_millis().min(i32::MAX as u128) as i32;
        let grow = CreatePartitionsTopic::default()
            .with_name(topic_name(topic))
            .with_count(count)
            .with_assignments(None);
        let request = kafka_protocol::messages::CreatePartitionsRequest::default()
            .with_topics(vec![grow])
            .with_timeout_ms(timeout_ms)
            .with_validate_only(validate_only);
        let response = self.controller_connection().await?.send(&request).await?;
        self.invalidate(topic);
        for r in response.results {
            let message = r.error_message.map(|m| m.to_string());
            ClientError::check(r.error_code, message, || format!("add partitions to {topic}"))?;
        }
        Ok(())
    }

    /// DescribeConfigs for one topic: every config the broker reports, each
    /// with its source.
    pub async fn topic_configs(&mut self, topic: &str) -> Result<Vec<ConfigEntry>, ClientError> {
        let request =
            DescribeConfigsRequest::default().with_resources(vec![DescribeConfigsResource::default()
                .with_resource_type(RESOURCE_TOPIC)
                .with_resource_name(StrBytes::from_string(topic.to_string()))
                .with_configuration_keys(None)]);
        let response = self.any_connection().await?.send(&request).await?;
        let Some(result) = response.results.into_iter().find(|r| r.resource_name.as_str() == topic) else {
            return Err(ClientError::Protocol(format!("DescribeConfigs did not answer for topic {topic}")));
        };
        let message = result.error_message.map(|m| m.to_string());
        ClientError::check(result.error_code, message, || format!("describe configs of {topic}"))?;
        Ok(result
            .configs
            .into_iter()
            .map(|c| ConfigEntry {
                name: c.name.to_string(),
                value: c.value.map(|v| v.to_string()),
                source: c.config_source,
                read_only: c.read_only,
            })
            .collect())
    }
}

pub(crate) fn topic_name(name: &str) -> TopicName {
    TopicName(StrBytes::from_string(name.to_string()))
}
