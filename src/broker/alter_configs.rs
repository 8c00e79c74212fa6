//! IncrementalAlterConfigs (API key 44, KIP-339) and AlterConfigs (API key
//! 33) on the broker: the wire's resources turned into the controller's
//! [`ConfigResourceChange`]s, decided by [`crate::controller::configs`],
//! and answered per resource.
//!
//! ```text
//!  standalone: decide on this broker's image ─▶ commit the ConfigRecords ─▶ apply_image
//!  in a cluster: forward to the active controller, which commits them;
//!                every broker's apply_image gives its live logs the new config
//! ```
//!
//! Applying an image rebuilds each hosted log's config from the broker's
//! `log.*` settings, the dynamic broker configs and the topic's overrides
//! ([`Broker::topic_log_config`]), and each partition's produce checks
//! (`max.message.bytes`, `compression.type`, `cleanup.policy`) and
//! `min.insync.replicas` from the same image: an alter takes effect at once,
//! and a restart reopens the logs with the configs the metadata log holds.
//! `validate_only` decides and commits nothing.

use kafka_protocol::messages::{
    alter_configs_response, incremental_alter_configs_response, AlterConfigsRequest, AlterConfigsResponse,
    IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse,
};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;

use super::{now_ms, Broker, Error};
use crate::controller::configs::{alter_configs, ConfigChange, ConfigOp, ConfigResourceChange};
use crate::controller::TopicError;
use crate::metadata::records::RESOURCE_BROKER;

/// An IncrementalAlterConfigs request's resources as the controller reads them.
pub fn incremental_changes(request: &IncrementalAlterConfigsRequest) -> Vec<ConfigResourceChange> {
    (request.resources.iter())
        .map(|r| ConfigResourceChange {
            resource_type: r.resource_type,
            resource_name: r.resource_name.to_string(),
            changes: (r.configs.iter())
                .map(|c| ConfigChange {
                    name: c.name.to_string(),
                    op: ConfigOp::from_id(c.config_operation),
                    value: c.value.as_ref().map(ToString::to_string),
                })
                .collect(),
            replace: false,
        })
        .collect()
}

/// An AlterConfigs request's resources: each config a SET, the set replacing
/// the resource's overrides.
pub fn replacing_changes(request: &AlterConfigsRequest) -> Vec<ConfigResourceChange> {
    (request.resources.iter())
        .map(|r| ConfigResourceChange {
            resource_type: r.resource_type,
            resource_name: r.resource_name.to_string(),
            changes: (r.configs.iter())
                .map(|c| ConfigChange {
                    name: c.name.to_string(),
                    op: Some(ConfigOp::Set),
                    value: c.value.as_ref().map(ToString::to_string),
                })
                .collect(),
            replace: true,
        })
        .collect()
}

/// (error code, message) of one resource's answer.
fn outcome(answer: &Result<(), TopicError>) -> (i16, Option<StrBytes>) {
    match answer {
        Ok(()) => (0, None),
        Err(e) => (e.code.code(), Some(StrBytes::from_string(e.message.clone()))),
    }
}

/// IncrementalAlterConfigs' answer: one result per resource, in order.
pub fn incremental_response(
    resources: &[ConfigResourceChange],
    answers: &[Result<(), TopicError>],
) -> IncrementalAlterConfigsResponse {
    let responses = (resources.iter().zip(answers))
        .map(|(r, answer)| {
            let (code, message) = outcome(answer);
            incremental_alter_configs_response::AlterConfigsResourceResponse::default()
                .with_error_code(code)
                .with_error_message(message)
                .with_resource_type(r.resource_type)
                .with_resource_name(StrBytes::from_string(r.resource_name.clone()))
        })
        .collect();
    IncrementalAlterConfigsResponse::default().with_responses(responses)
}

/// AlterConfigs' answer: one result per resource, in order.
pub fn replacing_response(
    resources: &[ConfigResourceChange],
    answers: &[Result<(), TopicError>],
) -> AlterConfigsResponse {
    let responses = (resources.iter().zip(answers))
        .map(|(r, answer)| {
            let (code, message) = outcome(answer);
            alter_configs_response::AlterConfigsResourceResponse::default()
                .with_error_code(code)
                .with_error_message(message)
                .with_resource_type(r.resource_type)
                .with_resource_name(StrBytes::from_string(r.resource_name.clone()))
        })
        .collect();
    AlterConfigsResponse::default().with_responses(responses)
}

impl Broker {
    // ANCHOR: alter_configs
    /// The config APIs on a standalone broker: decided by the controller's
    /// code on this broker's image, the ConfigRecords committed, the image
    /// applied (so the live logs take the new configs before the answer).
    pub fn alter_configs(
        &self,
        resources: &[ConfigResourceChange],
        validate_only: bool,
    ) -> Vec<Result<(), TopicError>> {
        let refused = self.refuse_foreign_brokers(resources);
        let (resources, refused) = (&resources_left(resources, &refused)[..], refused);
        let mut metadata = self.metadata_writer();
        let mut decided = alter_configs(metadata.image(), resources);
        if validate_only || decided.records.is_empty() {
            return merge(refused, decided.answer);
        }
        let stored = metadata.commit(&decided.records, now_ms()).map_err(|e| self.metadata_failed(e.into()));
        drop(metadata);
        let stored = stored.and_then(|()| {
            self.apply_image(now_ms()).map_err(|e| {
                let e = Error::from(e);
                TopicError::new(e.kafka_error(), e.to_string())
            })
        });
        match stored {
            Err(e) => decided.answer.iter_mut().filter(|a| a.is_ok()).for_each(|a| *a = Err(e.clone())),
            Ok(()) => log_altered(resources, &decided.answer),
        }
        merge(refused, decided.answer)
    }

    /// Kafka's `ConfigAdminManager.preprocess`: a per-broker resource must
    /// name the broker that receives the request (an admin client sends it
    /// there); any other id is refused before the controller sees it.
    pub fn refuse_foreign_brokers(&self, resources: &[ConfigResourceChange]) -> Vec<Option<TopicError>> {
        let me = self.config.node_id;
        (resources.iter())
            .map(|r| {
                let named = r.resource_type == RESOURCE_BROKER && !r.resource_name.is_empty();
                let id = r.resource_name.parse::<i32>();
                let why = match id {
                    _ if !named => return None,
                    Err(_) => format!("Node id must be an integer, but it is: {}", r.resource_name),
                    Ok(id) if id == me => return None,
                    Ok(_) => format!("Unexpected broker id, expected {me}, but received {}", r.resource_name),
                };
                Some(TopicError::new(ResponseError::InvalidRequest, why))
            })
            .collect()
    }
    // ANCHOR_END: alter_configs

    /// IncrementalAlterConfigs in a cluster: forwarded to the active controller.
    pub async fn forward_incremental_alter_configs(
        &self,
        request: IncrementalAlterConfigsRequest,
    ) -> IncrementalAlterConfigsResponse {
        let all = incremental_changes(&request);
        let refused = self.refuse_foreign_brokers(&all);
        let mut request = request;
        request.resources = keep_unrefused(std::mem::take(&mut request.resources), &refused);
        let link = self.controller_link().expect("a broker in a cluster");
        let forwarded = if request.resources.is_empty() {
            Vec::new()
        } else {
            match link.send_within(&request, link.request_timeout()).await {
                Ok(response) => response.responses,
                Err(e) => {
                    tracing::warn!(error = %e, "IncrementalAlterConfigs: cannot reach the controller");
                    let resources = incremental_changes(&request);
                    incremental_response(&resources, &timed_out(&resources, &e.to_string())).responses
                }
            }
        };
        let refused_answers = incremental_response(&all, &refusals(&refused)).responses;
        IncrementalAlterConfigsResponse::default().with_responses(interleave(
            refused_answers,
            forwarded,
            &refused,
        ))
    }

    /// AlterConfigs in a cluster: forwarded to the active controller.
    pub async fn forward_alter_configs(&self, request: AlterConfigsRequest) -> AlterConfigsResponse {
        let all = replacing_changes(&request);
        let refused = self.refuse_foreign_brokers(&all);
        let mut request = request;
        request.resources = keep_unrefused(std::mem::take(&mut request.resources), &refused);
        let link = self.controller_link().expect("a broker in a cluster");
        let forwarded = if request.resources.is_empty() {
            Vec::new()
        } else {
            match link.send_within(&request, link.request_timeout()).await {
                Ok(response) => response.responses,
                Err(e) => {
                    tracing::warn!(error = %e, "AlterConfigs: cannot reach the controller");
                    let resources = replacing_changes(&request);
                    replacing_response(&resources, &timed_out(&resources, &e.to_string())).responses
                }
            }
        };
        let refused_answers = replacing_response(&all, &refusals(&refused)).responses;
        AlterConfigsResponse::default().with_responses(interleave(refused_answers, forwarded, &refused))
    }
}

/// The resources not refused by the broker itself, in order.
fn resources_left(
    resources: &[ConfigResourceChange],
    refused: &[Option<TopicError>],
) -> Vec<ConfigResourceChange> {
    keep_unrefused(resources.to_vec(), refused)
}

fn keep_unrefused<T>(items: Vec<T>, refused: &[Option<TopicError>]) -> Vec<T> {
    items.into_iter().zip(refused).filter(|(_, r)| r.is_none()).map(|(item, _)| item).collect()
}

/// Each resource's refusal, or success for those left to the controller
/// (only the refused entries of this are kept, by [`interleave`]).
fn refusals(refused: &[Option<TopicError>]) -> Vec<Result<(), TopicError>> {
    refused.iter().map(|r| r.clone().map_or(Ok(()), Err)).collect()
}

/// The answers in the request's order: the broker's own refusals where it
/// refused, the decided answers (in order) everywhere else.
fn merge(
    refused: Vec<Option<TopicError>>,
    decided: Vec<Result<(), TopicError>>,
) -> Vec<Result<(), TopicError>> {
    let mut decided = decided.into_iter();
    (refused.into_iter())
        .map(|r| match r {
            Some(e) => Err(e),
            None => decided.next().expect("one decided answer per resource left"),
        })
        .collect()
}

/// [`merge`] for responses already built.
fn interleave<T>(refused_answers: Vec<T>, forwarded: Vec<T>, refused: &[Option<TopicError>]) -> Vec<T> {
    let mut forwarded = forwarded.into_iter();
    (refused_answers.into_iter().zip(refused))
        .filter_map(|(own, r)| if r.is_some() { Some(own) } else { forwarded.next() })
        .collect()
}

fn timed_out(resources: &[ConfigResourceChange], why: &str) -> Vec<Result<(), TopicError>> {
    resources.iter().map(|_| Err(TopicError::new(ResponseError::RequestTimedOut, why))).collect()
}

/// Logs each resource whose configs changed.
pub fn log_altered(resources: &[ConfigResourceChange], answers: &[Result<(), TopicError>]) {
    for (r, _) in resources.iter().zip(answers).filter(|(_, a)| a.is_ok()) {
        let keys: Vec<&str> = r.changes.iter().map(|c| c.name.as_str()).collect();
        tracing::info!(resource_type = r.resource_type, resource = r.resource_name, ?keys, "altered configs");
    }
}
