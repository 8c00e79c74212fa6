//! SCRAM credentials on the broker (issue 19): AlterUserScramCredentials (API
//! 51) and DescribeUserScramCredentials (API 50), decided by
//! [`crate::controller::scram`], and the credential store a SASL listener
//! checks SCRAM logins against.
//!
//! ```text
//!  standalone: decide on this broker's image ─▶ commit the records ─▶ apply_image
//!  in a cluster: AlterUserScramCredentials forwarded to the active controller
//!  DescribeUserScramCredentials: answered from this broker's image
//!  SCRAM login: ImageScramCredentials ─▶ the image published now ─▶ (user, mechanism)
//! ```
//!
//! The store reads the image each login, so a credential added a moment ago
//! logs in without a restart and a deleted one is refused at the next login
//! (Kafka's brokers update their `CredentialCache` from each new image).
//! Connections already authenticated stay so until their session ends: with
//! `connections.max.reauth.ms` set, a client re-authenticates (KIP-368)
//! against the image of that moment, and a deleted credential fails it;
//! without it, a session outlives the credential it began with.

use std::sync::Weak;

use kafka_protocol::messages::{
    AlterUserScramCredentialsRequest, AlterUserScramCredentialsResponse, DescribeUserScramCredentialsRequest,
    DescribeUserScramCredentialsResponse,
};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;

use super::{now_ms, Broker, Error};
use crate::controller::scram::{alter_user_scram_credentials, describe_user_scram_credentials};
use crate::controller::TopicError;
use crate::security::sasl::scram::{ScramCredential, ScramMechanism};
use crate::security::sasl::ScramCredentials;

impl Broker {
    /// AlterUserScramCredentials on a standalone broker: decided on this
    /// broker's image, the records committed and the image applied before
    /// the answer.
    pub fn alter_user_scram_credentials(
        &self,
        request: &AlterUserScramCredentialsRequest,
    ) -> AlterUserScramCredentialsResponse {
        let mut metadata = self.metadata_writer();
        let (records, mut response) = alter_user_scram_credentials(metadata.image(), request);
        if records.is_empty() {
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

    /// DescribeUserScramCredentials, from the published image.
    pub fn describe_user_scram_credentials(
        &self,
        request: &DescribeUserScramCredentialsRequest,
    ) -> DescribeUserScramCredentialsResponse {
        describe_user_scram_credentials(&self.metadata_image(), request)
    }

    /// AlterUserScramCredentials in a cluster: forwarded to the active controller.
    pub async fn forward_alter_user_scram_credentials(
        &self,
        request: AlterUserScramCredentialsRequest,
    ) -> AlterUserScramCredentialsResponse {
        let link = self.controller_link().expect("a broker in a cluster");
        match link.send_within(&request, link.request_timeout()).await {
            Ok(response) => response,
            Err(e) => {
                tracing::warn!(error = %e, "AlterUserScramCredentials: cannot reach the controller");
                let (_, mut response) = alter_user_scram_credentials(&Default::default(), &request);
                refuse_all(&mut response, ResponseError::RequestTimedOut, &e.to_string());
                response
            }
        }
    }
}

/// Every user whose change was accepted is answered with `code` instead.
pub fn refuse_all(response: &mut AlterUserScramCredentialsResponse, code: ResponseError, why: &str) {
    for result in response.results.iter_mut().filter(|r| r.error_code == 0) {
        result.error_code = code.code();
        result.error_message = Some(StrBytes::from_string(why.to_string()));
    }
}

/// Logs each user whose credentials changed (never what they changed to).
pub fn log_altered(response: &AlterUserScramCredentialsResponse) {
    for result in response.results.iter().filter(|r| r.error_code == 0) {
        tracing::info!(user = %result.user, "altered SCRAM credentials");
    }
}

// ANCHOR: image_scram_credentials
/// A SASL listener's SCRAM credential store: the broker's current metadata
/// image. Weak, so a listener's sessions do not keep a stopped broker alive.
#[derive(Debug)]
pub struct ImageScramCredentials(pub Weak<Broker>);

impl ScramCredentials for ImageScramCredentials {
    fn scram_credential(&self, user: &str, mechanism: ScramMechanism) -> Option<ScramCredential> {
        self.0.upgrade()?.metadata_image().scram_credential(user, mechanism).cloned()
    }
}
// ANCHOR_END: image_scram_credentials
