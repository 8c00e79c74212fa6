//! AlterClientQuotas (API 49) and DescribeClientQuotas (API 48) on the
//! broker (issue 19): decided by [`crate::controller::client_quotas`].
//!
//! ```text
//!  standalone: decide on this broker's image ─▶ commit the ClientQuotaRecords ─▶ apply_image
//!  in a cluster: AlterClientQuotas forwarded to the active controller, which commits them
//!  DescribeClientQuotas: answered from this broker's image, as Kafka's brokers do
//! ```
//!
//! The quotas take effect at the next request of a client they govern: the
//! request paths read them from the published image ([`crate::quotas`]).

use kafka_protocol::messages::{
    AlterClientQuotasRequest, AlterClientQuotasResponse, DescribeClientQuotasRequest,
    DescribeClientQuotasResponse,
};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;

use super::{now_ms, Broker, Error};
use crate::controller::client_quotas::{alter_client_quotas, describe_client_quotas};
use crate::controller::TopicError;

impl Broker {
    // ANCHOR: alter_client_quotas
    /// AlterClientQuotas on a standalone broker: decided on this broker's
    /// image, the records committed and the image applied before the answer.
    pub fn alter_client_quotas(&self, request: &AlterClientQuotasRequest) -> AlterClientQuotasResponse {
        let mut metadata = self.metadata_writer();
        let (records, mut response) = alter_client_quotas(metadata.image(), request);
        if request.validate_only || records.is_empty() {
            return response;
        }
        let stored = metadata.commit(&records, now_ms()).map_err(|e| self.metadata_failed(e.into()));
        drop(metadata);
        let stored = stored.and_then(|()| {
            self.apply_image(now_ms()).map_err(|e| {
                let e = Error::from(e);
                TopicError::new(e.kafka_error(), e.to_string())
            })
        });
        match stored {
            Ok(()) => log_altered(&response),
            Err(e) => refuse_all(&mut response, e.code, &e.message),
        }
        response
    }
    // ANCHOR_END: alter_client_quotas

    /// DescribeClientQuotas, from the published image.
    pub fn describe_client_quotas(
        &self,
        request: &DescribeClientQuotasRequest,
    ) -> DescribeClientQuotasResponse {
        describe_client_quotas(&self.metadata_image(), request)
    }

    /// AlterClientQuotas in a cluster: forwarded to the active controller.
    pub async fn forward_alter_client_quotas(
        &self,
        request: AlterClientQuotasRequest,
    ) -> AlterClientQuotasResponse {
        let link = self.controller_link().expect("a broker in a cluster");
        match link.send_within(&request, link.request_timeout()).await {
            Ok(response) => response,
            Err(e) => {
                tracing::warn!(error = %e, "AlterClientQuotas: cannot reach the controller");
                let (_, mut response) = alter_client_quotas(&Default::default(), &request);
                refuse_all(&mut response, ResponseError::RequestTimedOut, &e.to_string());
                response
            }
        }
    }
}

/// Every entry that was accepted is answered with `code` instead.
pub fn refuse_all(response: &mut AlterClientQuotasResponse, code: ResponseError, why: &str) {
    for entry in response.entries.iter_mut().filter(|e| e.error_code == 0) {
        entry.error_code = code.code();
        entry.error_message = Some(StrBytes::from_string(why.to_string()));
    }
}

/// Logs each entity whose quotas changed.
pub fn log_altered(response: &AlterClientQuotasResponse) {
    for entry in response.entries.iter().filter(|e| e.error_code == 0) {
        let entity: Vec<String> = (entry.entity.iter())
            .map(|e| format!("{}={}", e.entity_type, e.entity_name.as_deref().unwrap_or("<default>")))
            .collect();
        tracing::info!(?entity, "altered client quotas");
    }
}
