//! AlterUserScramCredentials and DescribeUserScramCredentials from the client
//! side (issue 19, KIP-554): what `kafka-configs.sh --entity-type users` and
//! an admin client's `alterUserScramCredentials` send.
//!
//! The password never leaves the client: it draws a random salt and sends
//! `SaltedPassword = Hi(password, salt, iterations)`, from which the
//! controller derives the StoredKey and ServerKey it keeps.

use kafka_protocol::messages::alter_user_scram_credentials_request::{
    ScramCredentialDeletion, ScramCredentialUpsertion,
};
use kafka_protocol::messages::describe_user_scram_credentials_request::UserName;
use kafka_protocol::messages::{AlterUserScramCredentialsRequest, DescribeUserScramCredentialsRequest};
use kafka_protocol::protocol::StrBytes;

use super::{Client, ClientError};
use crate::security::sasl::scram::{salted_password, ScramMechanism};

/// Kafka's default iterations for a new credential (kafka-configs.sh's).
pub const DEFAULT_ITERATIONS: i32 = 4096;
/// Bytes of random salt per credential.
const SALT_BYTES: usize = 32;

/// One change to a user's SCRAM credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScramChange {
    /// Set (or replace) the credential for `mechanism`.
    Upsert { user: String, mechanism: ScramMechanism, iterations: i32, password: String },
    /// Remove the credential for `mechanism`.
    Delete { user: String, mechanism: ScramMechanism },
}

/// A described user: each mechanism it has a credential for, with its iterations.
pub type UserScramCredentials = Vec<(ScramMechanism, i32)>;

fn str(s: &str) -> StrBytes {
    StrBytes::from_string(s.to_string())
}

impl Client {
    /// AlterUserScramCredentials: the changes as one request; the first
    /// user refused is the error.
    pub async fn alter_user_scram_credentials(&mut self, changes: &[ScramChange]) -> Result<(), ClientError> {
        let mut request = AlterUserScramCredentialsRequest::default();
        for change in changes {
            match change {
                ScramChange::Upsert { user, mechanism, iterations, password } => {
                    let mut salt = vec![0u8; SALT_BYTES];
                    getrandom::fill(&mut salt).expect("the OS random source is available");
                    let salted = salted_password(*mechanism, password.as_bytes(), &salt, *iterations);
                    request.upsertions.push(
                        ScramCredentialUpsertion::default()
                            .with_name(str(user))
                            .with_mechanism(mechanism.as_type())
                            .with_iterations(*iterations)
                            .with_salt(salt.into())
                            .with_salted_password(salted.into()),
                    );
                }
                ScramChange::Delete { user, mechanism } => request.deletions.push(
                    ScramCredentialDeletion::default()
                        .with_name(str(user))
                        .with_mechanism(mechanism.as_type()),
                ),
            }
        }
        let response = self.any_connection().await?.send(&request).await?;
        for r in response.results {
            let message = r.error_message.map(|m| m.to_string());
            ClientError::check(r.error_code, message, || format!("alter SCRAM credentials of {}", r.user))?;
        }
        Ok(())
    }

    /// DescribeUserScramCredentials of `users` (every user if empty): each
    /// user's mechanisms and iterations, or why it was not described.
    pub async fn describe_user_scram_credentials(
        &mut self,
        users: &[String],
    ) -> Result<Vec<(String, Result<UserScramCredentials, ClientError>)>, ClientError> {
        let names = users.iter().map(|u| UserName::default().with_name(str(u))).collect();
        let request = DescribeUserScramCredentialsRequest::default().with_users(Some(names));
        let response = self.any_connection().await?.send(&request).await?;
        let message = response.error_message.map(|m| m.to_string());
        ClientError::check(response.error_code, message, || "describe SCRAM credentials".to_string())?;
        Ok((response.results.into_iter())
            .map(|r| {
                let user = r.user.to_string();
                let message = r.error_message.map(|m| m.to_string());
                let described =
                    ClientError::check(r.error_code, message, || format!("describe {user}")).map(|()| {
                        (r.credential_infos.iter())
                            .filter_map(|c| Some((ScramMechanism::from_type(c.mechanism)?, c.iterations)))
                            .collect()
                    });
                (user, described)
            })
            .collect())
    }
}
