//! The SCRAM credential records (issue 19): UserScramCredentialRecord (api
//! key 11) and RemoveUserScramCredentialRecord (22), version 0 of each,
//! flexible, no tagged fields of their own — the records Kafka's
//! `ScramControlManager` writes since 3.5 (KIP-554 in KRaft).
//!
//! ```text
//!  UserScramCredentialRecord v0:        Name string, Mechanism int8, Salt bytes,
//!                                       StoredKey bytes, ServerKey bytes, Iterations int32
//!  RemoveUserScramCredentialRecord v0:  Name string, Mechanism int8
//! ```
//!
//! Mechanism is Kafka's `ScramMechanism` type: 1 SCRAM-SHA-256, 2
//! SCRAM-SHA-512; any other byte (0 is UNKNOWN) is a decode error, since the
//! controller never writes one. The record holds what the broker needs to
//! check a proof and prove itself — never the password, nor the salted
//! password it is derived from.

use super::codec::{Reader, Writer};
use super::{DecodeError, MetadataRecord};
use crate::security::sasl::scram::{ScramCredential, ScramMechanism};

/// UserScramCredentialRecord's api key.
pub const USER_SCRAM_CREDENTIAL: u32 = 11;
/// RemoveUserScramCredentialRecord's api key (22: 12 is FeatureLevelRecord).
pub const REMOVE_USER_SCRAM_CREDENTIAL: u32 = 22;

// ANCHOR: encode_scram
pub(super) fn encode_credential(
    w: &mut Writer,
    name: &str,
    mechanism: ScramMechanism,
    credential: &ScramCredential,
) {
    w.string(Some(name));
    w.i8(mechanism.as_type());
    w.bytes(&credential.salt);
    w.bytes(&credential.stored_key);
    w.bytes(&credential.server_key);
    w.i32(credential.iterations);
}
// ANCHOR_END: encode_scram

pub(super) fn encode_removal(w: &mut Writer, name: &str, mechanism: ScramMechanism) {
    w.string(Some(name));
    w.i8(mechanism.as_type());
}

fn mechanism(r: &mut Reader) -> Result<ScramMechanism, DecodeError> {
    let value = r.i8()?;
    ScramMechanism::from_type(value).ok_or(DecodeError::InvalidValue { field: "mechanism", value })
}

pub(super) fn decode_credential(r: &mut Reader) -> Result<MetadataRecord, DecodeError> {
    let name = r.string("name")?;
    let mechanism = mechanism(r)?;
    let salt = r.bytes("salt")?;
    let stored_key = r.bytes("storedKey")?;
    let server_key = r.bytes("serverKey")?;
    let iterations = r.i32()?;
    let credential = ScramCredential { salt, stored_key, server_key, iterations };
    Ok(MetadataRecord::UserScramCredential { name, mechanism, credential })
}

pub(super) fn decode_removal(r: &mut Reader) -> Result<MetadataRecord, DecodeError> {
    Ok(MetadataRecord::RemoveUserScramCredential { name: r.string("name")?, mechanism: mechanism(r)? })
}
