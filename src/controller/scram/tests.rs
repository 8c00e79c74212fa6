//! AlterUserScramCredentials and DescribeUserScramCredentials decided as
//! Kafka's ScramControlManager and ScramImage decide them: each error code
//! for its reason, and the stored credential derived from the salted password.

use kafka_protocol::messages::alter_user_scram_credentials_request::{
    ScramCredentialDeletion, ScramCredentialUpsertion,
};
use kafka_protocol::messages::describe_user_scram_credentials_request::UserName;
use kafka_protocol::protocol::StrBytes;

use super::*;
use crate::security::sasl::scram::salted_password;

fn upsert(user: &str, mechanism: i8, iterations: i32) -> ScramCredentialUpsertion {
    let salt = b"salt".to_vec();
    let salted = salted_password(ScramMechanism::Sha512, b"secret", &salt, iterations);
    ScramCredentialUpsertion::default()
        .with_name(StrBytes::from_string(user.into()))
        .with_mechanism(mechanism)
        .with_iterations(iterations)
        .with_salt(salt.into())
        .with_salted_password(salted.into())
}

fn delete(user: &str, mechanism: i8) -> ScramCredentialDeletion {
    ScramCredentialDeletion::default().with_name(StrBytes::from_string(user.into())).with_mechanism(mechanism)
}

fn alter(
    image: &MetadataImage,
    deletions: Vec<ScramCredentialDeletion>,
    upsertions: Vec<ScramCredentialUpsertion>,
) -> (Vec<MetadataRecord>, Vec<(String, i16)>) {
    let request =
        AlterUserScramCredentialsRequest::default().with_deletions(deletions).with_upsertions(upsertions);
    let (records, response) = alter_user_scram_credentials(image, &request);
    (records, response.results.iter().map(|r| (r.user.to_string(), r.error_code)).collect())
}

fn code(e: ResponseError) -> i16 {
    e.code()
}

/// An upsertion stores StoredKey and ServerKey computed from the salted
/// password — the same credential the password itself gives — and the
/// salted password appears nowhere in the record.
#[test]
fn upsertion_stores_keys_derived_from_the_salted_password() {
    let (records, results) = alter(&MetadataImage::default(), vec![], vec![upsert("alice", 2, 8192)]);
    assert_eq!(results, vec![("alice".to_string(), 0)]);
    let expected = ScramCredential::new(ScramMechanism::Sha512, b"secret", b"salt", 8192);
    assert_eq!(
        records,
        vec![MetadataRecord::UserScramCredential {
            name: "alice".into(),
            mechanism: ScramMechanism::Sha512,
            credential: expected,
        }]
    );
    let salted = salted_password(ScramMechanism::Sha512, b"secret", b"salt", 8192);
    let bytes = records[0].encode();
    assert!(!bytes.windows(salted.len()).any(|w| w == salted), "the salted password is not stored");
}

/// Iterations outside 4096..=16384 are UNACCEPTABLE_CREDENTIAL; the edges are accepted.
#[test]
fn iterations_outside_kafkas_bounds_are_unacceptable() {
    let image = MetadataImage::default();
    for (iterations, expected) in [
        (4095, code(ResponseError::UnacceptableCredential)),
        (4096, 0),
        (16384, 0),
        (16385, code(ResponseError::UnacceptableCredential)),
    ] {
        let (records, results) = alter(&image, vec![], vec![upsert("alice", 1, iterations)]);
        assert_eq!(results, vec![("alice".to_string(), expected)], "{iterations} iterations");
        assert_eq!(records.len(), usize::from(expected == 0));
    }
}

/// An empty user is UNACCEPTABLE_CREDENTIAL, an unknown mechanism (0 is
/// UNKNOWN) UNSUPPORTED_SASL_MECHANISM, for upsertions and deletions alike.
#[test]
fn empty_user_and_unknown_mechanism_are_refused() {
    let image = MetadataImage::default();
    let (records, results) =
        alter(&image, vec![delete("", 1), delete("bob", 0)], vec![upsert("carol", 3, 4096)]);
    assert!(records.is_empty());
    assert_eq!(
        results,
        vec![
            ("".to_string(), code(ResponseError::UnacceptableCredential)),
            ("bob".to_string(), code(ResponseError::UnsupportedSaslMechanism)),
            ("carol".to_string(), code(ResponseError::UnsupportedSaslMechanism)),
        ]
    );
}

/// Deleting a credential that is not set is RESOURCE_NOT_FOUND; deleting
/// one that is writes its removal, and only for that mechanism.
#[test]
fn deleting_a_missing_credential_is_resource_not_found() {
    let mut image = MetadataImage::default();
    let (records, _) = alter(&image, vec![], vec![upsert("alice", 2, 4096)]);
    records.iter().for_each(|r| image.apply(r).unwrap());
    let (records, results) = alter(&image, vec![delete("alice", 1)], vec![]);
    assert!(records.is_empty());
    assert_eq!(results, vec![("alice".to_string(), code(ResponseError::ResourceNotFound))]);
    let (records, results) = alter(&image, vec![delete("alice", 2)], vec![]);
    assert_eq!(results, vec![("alice".to_string(), 0)]);
    assert_eq!(
        records,
        vec![MetadataRecord::RemoveUserScramCredential {
            name: "alice".into(),
            mechanism: ScramMechanism::Sha512
        }]
    );
}

/// A user named twice in one request (two upsertions, or a deletion and an
/// upsertion) is DUPLICATE_RESOURCE and nothing is written for them; the
/// request's other users go on.
#[test]
fn a_user_named_twice_is_duplicate_resource() {
    let image = MetadataImage::default();
    let (records, results) = alter(
        &image,
        vec![delete("alice", 1)],
        vec![
            upsert("alice", 2, 4096),
            upsert("bob", 1, 4096),
            upsert("bob", 2, 4096),
            upsert("carol", 1, 4096),
        ],
    );
    let duplicate = code(ResponseError::DuplicateResource);
    assert_eq!(
        results,
        vec![("alice".to_string(), duplicate), ("bob".to_string(), duplicate), ("carol".to_string(), 0)]
    );
    assert_eq!(records.len(), 1);
}

/// Describe lists each user's mechanisms and iterations and nothing secret;
/// an unknown user is RESOURCE_NOT_FOUND, a user asked twice
/// DUPLICATE_RESOURCE, and no users asked means every user.
#[test]
fn describe_answers_mechanisms_and_iterations_only() {
    let mut image = MetadataImage::default();
    let (records, _) = alter(&image, vec![], vec![upsert("alice", 2, 8192), upsert("bob", 1, 4096)]);
    records.iter().for_each(|r| image.apply(r).unwrap());
    let describe = |users: Option<Vec<&str>>| {
        let users = users.map(|u| {
            u.into_iter().map(|n| UserName::default().with_name(StrBytes::from_string(n.into()))).collect()
        });
        let response = describe_user_scram_credentials(
            &image,
            &DescribeUserScramCredentialsRequest::default().with_users(users),
        );
        (response.results.iter())
            .map(|r| {
                let infos: Vec<(i8, i32)> =
                    r.credential_infos.iter().map(|c| (c.mechanism, c.iterations)).collect();
                (r.user.to_string(), r.error_code, infos)
            })
            .collect::<Vec<_>>()
    };
    let all = vec![("alice".to_string(), 0, vec![(2, 8192)]), ("bob".to_string(), 0, vec![(1, 4096)])];
    assert_eq!(describe(None), all);
    assert_eq!(describe(Some(vec![])), all);
    assert_eq!(
        describe(Some(vec!["zed", "alice", "alice"])),
        vec![
            ("zed".to_string(), code(ResponseError::ResourceNotFound), vec![]),
            ("alice".to_string(), code(ResponseError::DuplicateResource), vec![]),
        ]
    );
}
