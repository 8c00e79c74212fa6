//! IncrementalAlterConfigs and AlterConfigs from the client side: what
//! `kafka-configs.sh --alter` and an admin client's `incrementalAlterConfigs`
//! / `alterConfigs` send. Any broker takes them: in a cluster it forwards
//! them to the active controller (issue 17).

use kafka_protocol::messages::{
    alter_configs_request, incremental_alter_configs_request, AlterConfigsRequest,
    IncrementalAlterConfigsRequest,
};
use kafka_protocol::protocol::StrBytes;

pub use crate::controller::configs::ConfigOp;
pub use crate::metadata::records::{RESOURCE_BROKER, RESOURCE_TOPIC};

use super::{Client, ClientError, Connection};

/// A config resource: a topic, or a broker ("" for the cluster-wide default).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigResource {
    /// [`RESOURCE_TOPIC`] or [`RESOURCE_BROKER`] (Kafka's `ConfigResource.Type`).
    pub resource_type: i8,
    pub name: String,
}

impl ConfigResource {
    pub fn topic(name: impl Into<String>) -> Self {
        ConfigResource { resource_type: RESOURCE_TOPIC, name: name.into() }
    }

    /// A broker's dynamic configs; `""` for every broker's default.
    pub fn broker(name: impl Into<String>) -> Self {
        ConfigResource { resource_type: RESOURCE_BROKER, name: name.into() }
    }

    fn describe(&self) -> String {
        match (self.resource_type, self.name.as_str()) {
            (RESOURCE_BROKER, "") => "the default broker".into(),
            (RESOURCE_BROKER, id) => format!("broker {id}"),
            (_, name) => format!("topic {name}"),
        }
    }
}

/// One key's change: the operation, and its value (none for DELETE).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlterConfigOp {
    pub name: String,
    pub op: ConfigOp,
    pub value: Option<String>,
}

impl AlterConfigOp {
    pub fn set(name: impl Into<String>, value: impl Into<String>) -> Self {
        AlterConfigOp { name: name.into(), op: ConfigOp::Set, value: Some(value.into()) }
    }

    pub fn delete(name: impl Into<String>) -> Self {
        AlterConfigOp { name: name.into(), op: ConfigOp::Delete, value: None }
    }
}

fn str(s: &str) -> StrBytes {
    StrBytes::from_string(s.to_string())
}

impl Client {
    // ANCHOR: incremental_alter_configs
    /// IncrementalAlterConfigs for one resource: its keys changed one by one
    /// (KIP-339); the keys the request does not name keep their values.
    pub async fn incremental_alter_configs(
        &mut self,
        resource: &ConfigResource,
        ops: &[AlterConfigOp],
        validate_only: bool,
    ) -> Result<(), ClientError> {
        let configs = (ops.iter())
            .map(|o| {
                incremental_alter_configs_request::AlterableConfig::default()
                    .with_name(str(&o.name))
                    .with_config_operation(o.op as i8)
                    .with_value(o.value.as_deref().map(str))
            })
            .collect();
        let resources = vec![incremental_alter_configs_request::AlterConfigsResource::default()
            .with_resource_type(resource.resource_type)
            .with_resource_name(str(&resource.name))
            .with_configs(configs)];
        let request = IncrementalAlterConfigsRequest::default()
            .with_resources(resources)
            .with_validate_only(validate_only);
        let response = self.resource_connection(resource).await?.send(&request).await?;
        for r in response.responses {
            let message = r.error_message.map(|m| m.to_string());
            ClientError::check(r.error_code, message, || {
                format!("alter configs of {}", resource.describe())
            })?;
        }
        Ok(())
    }
    // ANCHOR_END: incremental_alter_configs

    /// AlterConfigs for one resource: `configs` become its whole set of
    /// overrides; a key left out returns to its default.
    pub async fn alter_configs(
        &mut self,
        resource: &ConfigResource,
        configs: &[(String, String)],
        validate_only: bool,
    ) -> Result<(), ClientError> {
        let configs = (configs.iter())
            .map(|(k, v)| {
                alter_configs_request::AlterableConfig::default().with_name(str(k)).with_value(Some(str(v)))
            })
            .collect();
        let resources = vec![alter_configs_request::AlterConfigsResource::default()
            .with_resource_type(resource.resource_type)
            .with_resource_name(str(&resource.name))
            .with_configs(configs)];
        let request =
            AlterConfigsRequest::default().with_resources(resources).with_validate_only(validate_only);
        let response = self.resource_connection(resource).await?.send(&request).await?;
        for r in response.responses {
            let message = r.error_message.map(|m| m.to_string());
            ClientError::check(r.error_code, message, || {
                format!("alter configs of {}", resource.describe())
            })?;
        }
        Ok(())
    }
}

impl Client {
    /// Where a resource's config requests go: a broker's own resource
    /// (`BROKER "<id>"`) to that broker, which alone answers for it (Kafka's
    /// admin client does the same, and Kafka's broker refuses another's
    /// id); anything else to any broker.
    async fn resource_connection(
        &mut self,
        resource: &ConfigResource,
    ) -> Result<&mut Connection, ClientError> {
        let node = (resource.resource_type == RESOURCE_BROKER).then(|| resource.name.parse::<i32>().ok());
        match node.flatten() {
            Some(id) => {
                if !self.brokers.contains_key(&id) {
                    self.metadata(Some(&[]), false).await?;
                }
                self.node_connection(id).await
            }
            None => self.any_connection().await,
        }
    }
}

/// One config as DescribeConfigs reports it, with its synonyms (v1+): the
/// keys that could set it, in the order Kafka looks them up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DescribedConfig {
    pub name: String,
    pub value: Option<String>,
    /// Kafka's `ConfigSource` id (1 DYNAMIC_TOPIC_CONFIG … 5 DEFAULT_CONFIG).
    pub source: i8,
    pub sensitive: bool,
    /// (name, value, source) of each synonym.
    pub synonyms: Vec<(String, Option<String>, i8)>,
}

impl Client {
    /// DescribeConfigs for one resource, every key, with synonyms.
    pub async fn describe_configs(
        &mut self,
        resource: &ConfigResource,
    ) -> Result<Vec<DescribedConfig>, ClientError> {
        use kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
        use kafka_protocol::messages::DescribeConfigsRequest;
        let request = DescribeConfigsRequest::default()
            .with_resources(vec![DescribeConfigsResource::default()
                .with_resource_type(resource.resource_type)
                .with_resource_name(str(&resource.name))
                .with_configuration_keys(None)])
            .with_include_synonyms(true);
        let response = self.resource_connection(resource).await?.send(&request).await?;
        let Some(result) = response.results.into_iter().next() else {
            return Err(ClientError::Protocol(format!(
                "DescribeConfigs did not answer for {}",
                resource.describe()
            )));
        };
        let message = result.error_message.map(|m| m.to_string());
        ClientError::check(result.error_code, message, || {
            format!("describe configs of {}", resource.describe())
        })?;
        Ok((result.configs.into_iter())
            .map(|c| DescribedConfig {
                name: c.name.to_string(),
                value: c.value.map(|v| v.to_string()),
                source: c.config_source,
                sensitive: c.is_sensitive,
                synonyms: (c.synonyms.into_iter())
                    .map(|s| (s.name.to_string(), s.value.map(|v| v.to_string()), s.source))
                    .collect(),
            })
            .collect())
    }
}
