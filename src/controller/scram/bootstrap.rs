//! The first SCRAM users, written when the metadata log is created (issue 19,
//! KIP-554's bootstrap).
//!
//! A cluster whose only listeners are SCRAM listeners has a chicken-and-egg
//! problem: AlterUserScramCredentials needs a logged-in admin, and no one can
//! log in before a credential exists. Kafka's answer is
//! `kafka-storage.sh format --add-scram 'SCRAM-SHA-512=[name=alice,password=alice-secret]'`:
//! the format tool salts the password and puts UserScramCredentialRecords in
//! the `bootstrap.checkpoint` next to the metadata log; the first active
//! controller appends them with the other bootstrap records, so they
//! replicate and survive snapshots like any record.
//!
//! spool has no separate format step for a single node, so `spool serve`
//! takes the flag itself (and `spool cluster` hands it to its controllers):
//!
//! ```text
//!  --add-scram MECH=[name=N,password=P(,iterations=I)]   parse() — errors name the flag
//!     ─▶ AddScram ─▶ request(): a random salt, PBKDF2 (4096 iterations by default)
//!     ─▶ AlterUserScramCredentialsRequest, decided by the controller's own Alter path
//!  metadata log empty at open?  yes: the records are committed (standalone) or
//!                                    appended at the first activation (controller)
//!                               no:  ignored, with a log line
//! ```
//!
//! The records are decided by [`super::alter_user_scram_credentials`], so the
//! bootstrap obeys the same rules (mechanism, 4096 ≤ iterations ≤ 16384)
//! and stores only StoredKey and ServerKey, never the password.
//!
//! Simplifications: no `salt=`/`saltedpassword=` (Kafka's format tool
//! takes them for reproducible files; spool always draws a salt). A
//! controller keeps the pending records in memory, not in a
//! `bootstrap.checkpoint`: if it restarts before it ever becomes active,
//! the records it held are gone (another fresh voter's still apply). A
//! controller that becomes active later never replaces a credential the
//! image already has.

use kafka_protocol::messages::alter_user_scram_credentials_request::ScramCredentialUpsertion;
use kafka_protocol::messages::AlterUserScramCredentialsRequest;
use kafka_protocol::protocol::StrBytes;

use crate::metadata::{MetadataImage, MetadataRecord};
use crate::security::sasl::scram::{salted_password, ScramMechanism, ITERATIONS_MIN};

/// Bytes of random salt per credential (Kafka's `ScramFormatter` uses a
/// random big integer; its size does not matter to the exchange).
const SALT_BYTES: usize = 32;

/// One `--add-scram` argument.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddScram {
    pub mechanism: ScramMechanism,
    pub name: String,
    pub password: String,
    /// 4096 unless the argument says otherwise (Kafka's default).
    pub iterations: i32,
}

/// The syntax `kafka-storage.sh format --add-scram` takes, for error messages.
const SYNTAX: &str = "expected MECHANISM=[name=NAME,password=PASSWORD] with an optional ,iterations=N, \
     e.g. 'SCRAM-SHA-512=[name=alice,password=alice-secret]'";

// ANCHOR: parse_add_scram
/// Parses one `--add-scram` argument in Kafka's syntax:
/// `SCRAM-SHA-256=[name=alice,password=alice-secret,iterations=8192]`. A
/// value may be double-quoted to hold a comma.
pub fn parse(arg: &str) -> Result<AddScram, String> {
    let fail = |why: &str| format!("--add-scram {arg:?}: {why}; {SYNTAX}");
    let (mechanism, rest) = arg.split_once('=').ok_or_else(|| fail("no '='"))?;
    let mechanism = ScramMechanism::from_name(mechanism.trim())
        .ok_or_else(|| fail("the mechanism must be SCRAM-SHA-256 or SCRAM-SHA-512"))?;
    let inner = (rest.trim().strip_prefix('['))
        .and_then(|r| r.strip_suffix(']'))
        .ok_or_else(|| fail("the credential must be in [ ]"))?;
    let (mut name, mut password, mut iterations) = (None, None, ITERATIONS_MIN);
    for field in split_fields(inner).map_err(|e| fail(&e))? {
        let (key, value) = field.split_once('=').ok_or_else(|| fail(&format!("{field:?} has no '='")))?;
        let value = unquote(value.trim());
        match key.trim() {
            "name" => name = Some(value),
            "password" => password = Some(value),
            "iterations" => {
                iterations =
                    value.parse().map_err(|_| fail(&format!("iterations {value:?} is not a number")))?
            }
            "salt" | "saltedpassword" => {
                return Err(fail(&format!("spool draws the salt itself; drop {key}")))
            }
            other => return Err(fail(&format!("unknown field {other:?}"))),
        }
    }
    let name = name.filter(|n| !n.is_empty()).ok_or_else(|| fail("name is missing"))?;
    let password = password.ok_or_else(|| fail("password is missing"))?;
    Ok(AddScram { mechanism, name, password, iterations })
}
// ANCHOR_END: parse_add_scram

/// Splits `a=1,b="x,y"` at the commas outside double quotes.
fn split_fields(inner: &str) -> Result<Vec<String>, String> {
    let (mut fields, mut field, mut quoted) = (Vec::new(), String::new(), false);
    for c in inner.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                field.push(c);
            }
            ',' if !quoted => fields.push(std::mem::take(&mut field)),
            _ => field.push(c),
        }
    }
    if quoted {
        return Err("a quote is not closed".into());
    }
    fields.push(field);
    Ok(fields.into_iter().filter(|f| !f.trim().is_empty()).collect())
}

fn unquote(value: &str) -> String {
    let unquoted = value.strip_prefix('"').and_then(|v| v.strip_suffix('"'));
    unquoted.unwrap_or(value).to_string()
}

/// The credentials as the AlterUserScramCredentials a client would send: each
/// password salted with a fresh random salt (PBKDF2, as the client side of
/// the Alter path salts it).
pub fn request(credentials: &[AddScram]) -> AlterUserScramCredentialsRequest {
    let mut request = AlterUserScramCredentialsRequest::default();
    for c in credentials {
        let mut salt = vec![0u8; SALT_BYTES];
        getrandom::fill(&mut salt).expect("the OS random source is available");
        let salted = salted_password(c.mechanism, c.password.as_bytes(), &salt, c.iterations);
        request.upsertions.push(
            ScramCredentialUpsertion::default()
                .with_name(StrBytes::from_string(c.name.clone()))
                .with_mechanism(c.mechanism.as_type())
                .with_iterations(c.iterations)
                .with_salt(salt.into())
                .with_salted_password(salted.into()),
        );
    }
    request
}

// ANCHOR: bootstrap_records
/// The records the bootstrap adds to `image`: decided by the controller's
/// Alter path, leaving out every credential the image already has (a voter
/// that becomes active after another wrote them changes nothing). An error
/// names the first credential the Alter path refuses.
pub fn records(
    image: &MetadataImage,
    request: &AlterUserScramCredentialsRequest,
) -> Result<Vec<MetadataRecord>, String> {
    let mut missing = request.clone();
    missing.upsertions.retain(|u| {
        let mechanism = ScramMechanism::from_type(u.mechanism);
        mechanism.is_none_or(|m| image.scram_credential(u.name.as_str(), m).is_none())
    });
    let (records, response) = super::alter_user_scram_credentials(image, &missing);
    if let Some(refused) = response.results.iter().find(|r| r.error_code != 0) {
        let message = refused.error_message.as_ref().map_or("", |m| m.as_str());
        return Err(format!("--add-scram for user {:?}: {message}", refused.user.as_str()));
    }
    Ok(records)
}
// ANCHOR_END: bootstrap_records

#[cfg(test)]
mod tests;
