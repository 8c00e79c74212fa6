//! SCRAM credentials in the metadata log (issue 19, KIP-554):
//! AlterUserScramCredentials (API 51) decided as UserScramCredentialRecords
//! and their removals, DescribeUserScramCredentials (API 50) read from the
//! image. Both are pure functions of the image and the request, so the active
//! controller and a standalone broker run the same code (Kafka's
//! `ScramControlManager.alterCredentials` and `ScramImage.describe`).
//!
//! ```text
//!  upsertion: user, mechanism, iterations, salt, SaltedPassword (the client salted it)
//!     ─▶ user named once in the request          else DUPLICATE_RESOURCE
//!     ─▶ user not empty                          else UNACCEPTABLE_CREDENTIAL
//!     ─▶ mechanism SCRAM-SHA-256 or -512         else UNSUPPORTED_SASL_MECHANISM
//!     ─▶ 4096 ≤ iterations ≤ 16384               else UNACCEPTABLE_CREDENTIAL
//!     ─▶ UserScramCredentialRecord(salt, StoredKey, ServerKey, iterations)
//!  deletion: user, mechanism ─▶ the same checks, and the credential exists
//!     (else RESOURCE_NOT_FOUND) ─▶ RemoveUserScramCredentialRecord
//! ```
//!
//! The controller turns the salted password into StoredKey and ServerKey and
//! keeps only those: the metadata log never holds what a client logs in with.
//! Describe answers mechanisms and iterations, never a secret.
//!
//! Simplifications: no `metadata.version` gate (Kafka refuses SCRAM below
//! 3.5-IV2 with UNSUPPORTED_VERSION; spool's metadata log has no feature levels).
//! Answers come in the order the users are first named (Kafka's come in
//! hash-map order).

use kafka_protocol::messages::alter_user_scram_credentials_request::ScramCredentialUpsertion;
use kafka_protocol::messages::alter_user_scram_credentials_response::AlterUserScramCredentialsResult;
use kafka_protocol::messages::describe_user_scram_credentials_response::{
    CredentialInfo, DescribeUserScramCredentialsResult,
};
use kafka_protocol::messages::{
    AlterUserScramCredentialsRequest, AlterUserScramCredentialsResponse, DescribeUserScramCredentialsRequest,
    DescribeUserScramCredentialsResponse,
};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;

use super::topics::TopicError;
use crate::metadata::{MetadataImage, MetadataRecord};
use crate::security::sasl::scram::{ScramCredential, ScramMechanism, ITERATIONS_MAX, ITERATIONS_MIN};

/// One change the request asks for.
enum Change<'a> {
    Delete(i8),
    Upsert(&'a ScramCredentialUpsertion),
}

fn refused(code: ResponseError, message: &str) -> TopicError {
    TopicError::new(code, message)
}

/// The user and mechanism checks both changes share (Kafka's
/// `validateScramUsernameAndMechanism`).
fn user_and_mechanism(user: &str, mechanism: i8) -> Result<ScramMechanism, TopicError> {
    if user.is_empty() {
        return Err(refused(ResponseError::UnacceptableCredential, "Username must not be empty"));
    }
    ScramMechanism::from_type(mechanism)
        .ok_or_else(|| refused(ResponseError::UnsupportedSaslMechanism, "Unknown SCRAM mechanism"))
}

/// The record one change writes, or why it is refused.
fn decide(image: &MetadataImage, user: &str, change: &Change) -> Result<MetadataRecord, TopicError> {
    match change {
        Change::Delete(mechanism) => {
            let mechanism = user_and_mechanism(user, *mechanism)?;
            if image.scram_credential(user, mechanism).is_none() {
                return Err(refused(
                    ResponseError::ResourceNotFound,
                    "Attempt to delete a user credential that does not exist",
                ));
            }
            Ok(MetadataRecord::RemoveUserScramCredential { name: user.to_string(), mechanism })
        }
        Change::Upsert(u) => {
            let mechanism = user_and_mechanism(user, u.mechanism)?;
            if u.iterations < ITERATIONS_MIN {
                return Err(refused(ResponseError::UnacceptableCredential, "Too few iterations"));
            }
            if u.iterations > ITERATIONS_MAX {
                return Err(refused(ResponseError::UnacceptableCredential, "Too many iterations"));
            }
            let credential =
                ScramCredential::from_salted_password(mechanism, &u.salted_password, &u.salt, u.iterations);
            Ok(MetadataRecord::UserScramCredential { name: user.to_string(), mechanism, credential })
        }
    }
}

// ANCHOR: alter_user_scram_credentials
/// Decides an AlterUserScramCredentials against `image`: the records of the
/// accepted changes and one answer per user named.
pub fn alter_user_scram_credentials(
    image: &MetadataImage,
    request: &AlterUserScramCredentialsRequest,
) -> (Vec<MetadataRecord>, AlterUserScramCredentialsResponse) {
    // Each user's changes, in the order the users are first named.
    let mut users: Vec<(&str, Vec<Change>)> = Vec::new();
    let deletions = request.deletions.iter().map(|d| (d.name.as_str(), Change::Delete(d.mechanism)));
    let upsertions = request.upsertions.iter().map(|u| (u.name.as_str(), Change::Upsert(u)));
    for (user, change) in deletions.chain(upsertions) {
        match users.iter_mut().find(|(name, _)| *name == user) {
            Some((_, changes)) => changes.push(change),
            None => users.push((user, vec![change])),
        }
    }
    let mut records = Vec::new();
    let mut results = Vec::new();
    for (user, changes) in users {
        let decided = match &changes[..] {
            [change] => decide(image, user, change),
            _ => Err(refused(
                ResponseError::DuplicateResource,
                "A user credential cannot be altered twice in the same request",
            )),
        };
        let mut result =
            AlterUserScramCredentialsResult::default().with_user(StrBytes::from_string(user.to_string()));
        match decided {
            Ok(record) => records.push(record),
            Err(e) => {
                result.error_code = e.code.code();
                result.error_message = Some(StrBytes::from_string(e.message));
            }
        }
        results.push(result);
    }
    (records, AlterUserScramCredentialsResponse::default().with_results(results))
}
// ANCHOR_END: alter_user_scram_credentials

/// DescribeUserScramCredentials from the image: each user's mechanisms and
/// iterations (every user's when the request names none).
pub fn describe_user_scram_credentials(
    image: &MetadataImage,
    request: &DescribeUserScramCredentialsRequest,
) -> DescribeUserScramCredentialsResponse {
    let credentials = image.scram_credentials();
    let named: Vec<String> = (request.users.iter().flatten()).map(|u| u.name.to_string()).collect();
    let users: Vec<String> = if named.is_empty() {
        let mut all: Vec<String> = credentials.keys().map(|(user, _)| user.clone()).collect();
        all.dedup();
        all
    } else {
        // Each once, in the order they were named.
        let mut ordered: Vec<String> = Vec::new();
        for user in &named {
            if !ordered.contains(user) {
                ordered.push(user.clone());
            }
        }
        ordered
    };
    let results = users.into_iter().map(|user| {
        let mut result =
            DescribeUserScramCredentialsResult::default().with_user(StrBytes::from_string(user.clone()));
        let infos: Vec<CredentialInfo> = (credentials.iter())
            .filter(|((name, _), _)| *name == user)
            .map(|((_, mechanism), c)| {
                CredentialInfo::default().with_mechanism(mechanism.as_type()).with_iterations(c.iterations)
            })
            .collect();
        let error = if named.iter().filter(|n| **n == user).count() > 1 {
            Some((
                ResponseError::DuplicateResource,
                "Cannot describe SCRAM credentials for the same user twice in a single request: ",
            ))
        } else if infos.is_empty() {
            Some((
                ResponseError::ResourceNotFound,
                "Attempt to describe a user credential that does not exist: ",
            ))
        } else {
            None
        };
        match error {
            Some((code, message)) => {
                result.error_code = code.code();
                result.error_message = Some(StrBytes::from_string(format!("{message}{user}")));
            }
            None => result.credential_infos = infos,
        }
        result
    });
    DescribeUserScramCredentialsResponse::default().with_results(results.collect())
}

pub mod bootstrap;
#[cfg(test)]
mod tests;
