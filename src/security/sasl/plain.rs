//! PLAIN (RFC 4616): the client sends `[authzid] NUL authcid NUL password`
//! in one token and the broker compares the password with the one its JAAS
//! configuration lists for the user (Kafka's `PlainSaslServer` with the
//! `user_<name>="<password>"` options of `PlainLoginModule`).
//!
//! The password crosses the wire as is: PLAIN belongs on a TLS transport
//! (SASL_SSL) outside a test bench.

use std::collections::BTreeMap;

use subtle::ConstantTimeEq;

/// Checks one PLAIN token against `users` (name → password) and returns the
/// authenticated user, or the message the client is told.
pub fn authenticate(token: &[u8], users: &BTreeMap<String, String>) -> Result<String, String> {
    let mut parts = token.split(|b| *b == 0);
    let (Some(authzid), Some(user), Some(password), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err("Invalid SASL/PLAIN response: expected 3 tokens".into());
    };
    let text = |bytes: &[u8]| {
        String::from_utf8(bytes.to_vec()).map_err(|_| "Invalid SASL/PLAIN response: not UTF-8".to_string())
    };
    let (authzid, user) = (text(authzid)?, text(user)?);
    if user.is_empty() {
        return Err("Authentication failed: username not specified".into());
    }
    if password.is_empty() {
        return Err("Authentication failed: password not specified".into());
    }
    // The comparison runs over the stored password whether or not the user
    // exists, so a wrong user and a wrong password cost the same.
    let expected = users.get(&user).map(String::as_bytes);
    let matches = bool::from(expected.unwrap_or(b"").ct_eq(password)) && expected.is_some();
    if !matches {
        return Err("Authentication failed: Invalid username or password".into());
    }
    if !authzid.is_empty() && authzid != user {
        return Err(
            "Authentication failed: Client requested an authorization id that is different from username"
                .into(),
        );
    }
    Ok(user)
}

/// The token a client sends: no authorization id.
pub fn client_token(user: &str, password: &str) -> Vec<u8> {
    format!("\0{user}\0{password}").into_bytes()
}
