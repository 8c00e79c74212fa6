//! SCRAM (RFC 5802, with SHA-256 and SHA-512 as RFC 7677 and Kafka's KIP-84 use
//! them): a password check in which the password never crosses the wire and the
//! broker never stores it.
//!
//! ```text
//!   client                                          server (knows salt, i, StoredKey, ServerKey)
//!   client-first   n,,n=alice,r=<cnonce>      ──▶
//!                                             ◀──   server-first  r=<cnonce><snonce>,s=<salt>,i=4096
//!   client-final   c=biws,r=<both>,p=<proof>  ──▶   checks H(proof ⊕ HMAC(StoredKey, AuthMessage)) = StoredKey
//!                                             ◀──   server-final  v=HMAC(ServerKey, AuthMessage)
//! ```
//!
//! `SaltedPassword = Hi(password, salt, i)` (PBKDF2 with HMAC), `ClientKey =
//! HMAC(SaltedPassword, "Client Key")`, `StoredKey = H(ClientKey)`, `ServerKey =
//! HMAC(SaltedPassword, "Server Key")`; `AuthMessage` is the client-first
//! message without its GS2 header, the server-first and the client-final
//! without its proof, joined by commas. The server proves it knew `ServerKey`
//! too, so the client learns it reached the right broker.
//!
//! [`ScramServer`] and [`ScramClient`] are sans-IO: messages in, messages out;
//! the nonce is given to them, not drawn inside, so a test replays RFC 7677's
//! exchange byte for byte.
//!
//! Simplifications (Kafka's too): no channel binding (`n,,` only), and the
//! `tokenauth` extension (delegation tokens) is refused.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256, Sha512};
use subtle::ConstantTimeEq;

/// The fewest iterations Kafka accepts for a SCRAM credential (and a client
/// accepts from a server): fewer makes a stolen salted hash cheap to crack.
pub const ITERATIONS_MIN: i32 = 4096;
/// The most iterations Kafka's AlterUserScramCredentials accepts.
pub const ITERATIONS_MAX: i32 = 16384;

/// The two SCRAM mechanisms Kafka speaks; the numbers are Kafka's
/// `ScramMechanism` types in UserScramCredentialRecord and the admin APIs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ScramMechanism {
    Sha256,
    Sha512,
}

impl ScramMechanism {
    /// Kafka's mechanism type: 1 for SHA-256, 2 for SHA-512 (0 is UNKNOWN).
    pub fn from_type(value: i8) -> Option<Self> {
        match value {
            1 => Some(Self::Sha256),
            2 => Some(Self::Sha512),
            _ => None,
        }
    }

    pub fn as_type(self) -> i8 {
        match self {
            Self::Sha256 => 1,
            Self::Sha512 => 2,
        }
    }

    /// The SASL mechanism name (`SCRAM-SHA-256`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Sha256 => "SCRAM-SHA-256",
            Self::Sha512 => "SCRAM-SHA-512",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        [Self::Sha256, Self::Sha512].into_iter().find(|m| m.name() == name)
    }

    fn hash(self, data: &[u8]) -> Vec<u8> {
        match self {
            Self::Sha256 => Sha256::digest(data).to_vec(),
            Self::Sha512 => Sha512::digest(data).to_vec(),
        }
    }

    fn hmac(self, key: &[u8], data: &[u8]) -> Vec<u8> {
        fn mac<M: Mac + hmac::digest::KeyInit>(key: &[u8], data: &[u8]) -> Vec<u8> {
            let mut mac = <M as Mac>::new_from_slice(key).expect("HMAC takes a key of any length");
            mac.update(data);
            mac.finalize().into_bytes().to_vec()
        }
        match self {
            Self::Sha256 => mac::<Hmac<Sha256>>(key, data),
            Self::Sha512 => mac::<Hmac<Sha512>>(key, data),
        }
    }

    /// `Hi(password, salt, i)`: PBKDF2 with this mechanism's HMAC.
    fn salted_password(self, password: &[u8], salt: &[u8], iterations: u32) -> Vec<u8> {
        match self {
            Self::Sha256 => pbkdf2::pbkdf2_hmac_array::<Sha256, 32>(password, salt, iterations).to_vec(),
            Self::Sha512 => pbkdf2::pbkdf2_hmac_array::<Sha512, 64>(password, salt, iterations).to_vec(),
        }
    }
}

// ANCHOR: credential
/// What the broker keeps of a SCRAM password (Kafka's `ScramCredential`, a
/// UserScramCredentialRecord in the metadata log): enough to check a proof,
/// not enough to log in as the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScramCredential {
    pub salt: Vec<u8>,
    pub stored_key: Vec<u8>,
    pub server_key: Vec<u8>,
    pub iterations: i32,
}

impl ScramCredential {
    /// The credential for `password` with `salt` (Kafka's `ScramFormatter`).
    pub fn new(mechanism: ScramMechanism, password: &[u8], salt: &[u8], iterations: i32) -> Self {
        let salted = mechanism.salted_password(password, salt, iterations.max(1) as u32);
        Self::from_salted_password(mechanism, &salted, salt, iterations)
    }

    /// The credential from a password already salted by the client
    /// (AlterUserScramCredentials carries `SaltedPassword`, not the password).
    pub fn from_salted_password(
        mechanism: ScramMechanism,
        salted: &[u8],
        salt: &[u8],
        iterations: i32,
    ) -> Self {
        let client_key = mechanism.hmac(salted, b"Client Key");
        ScramCredential {
            salt: salt.to_vec(),
            stored_key: mechanism.hash(&client_key),
            server_key: mechanism.hmac(salted, b"Server Key"),
            iterations,
        }
    }
}
// ANCHOR_END: credential

/// `SaltedPassword`, as a client sends it in AlterUserScramCredentials.
pub fn salted_password(mechanism: ScramMechanism, password: &[u8], salt: &[u8], iterations: i32) -> Vec<u8> {
    mechanism.salted_password(password, salt, iterations.max(1) as u32)
}

/// Why a SCRAM exchange failed; the message is what the client is told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScramError {
    /// A message that is not what the exchange expects at this step.
    Malformed(String),
    /// No credential for the user, or a wrong proof: one answer for both, so
    /// a client cannot probe which users exist.
    Authentication(String),
    /// A feature Kafka does not offer (channel binding, `tokenauth`).
    Unsupported(String),
}

impl std::fmt::Display for ScramError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ScramError::Malformed(m) | ScramError::Authentication(m) | ScramError::Unsupported(m) => {
                f.write_str(m)
            }
        }
    }
}

/// A SCRAM `saslname`: `,` and `=` escaped as `=2C` and `=3D`.
fn escape(name: &str) -> String {
    name.replace('=', "=3D").replace(',', "=2C")
}

fn unescape(name: &str) -> Result<String, ScramError> {
    let unescaped = name.replace("=2C", ",").replace("=3D", "=");
    if name.replace("=2C", "").replace("=3D", "").contains('=') {
        return Err(ScramError::Malformed(format!("invalid username {name:?}: stray '='")));
    }
    Ok(unescaped)
}

/// The `k=value` attributes of a SCRAM message, in order.
fn attributes(message: &str) -> Result<Vec<(char, &str)>, ScramError> {
    message
        .split(',')
        .map(|part| {
            let mut chars = part.chars();
            match (chars.next(), chars.next()) {
                (Some(k), Some('=')) if k.is_ascii_alphabetic() => Ok((k, &part[2..])),
                _ => Err(ScramError::Malformed(format!("invalid SCRAM attribute {part:?}"))),
            }
        })
        .collect()
}

fn xor(a: &[u8], b: &[u8]) -> Vec<u8> {
    a.iter().zip(b).map(|(x, y)| x ^ y).collect()
}

// ANCHOR: server
/// Where a server-side exchange is.
#[derive(Debug)]
enum ServerState {
    /// Waiting for client-first.
    ReceiveClientFirst,
    /// Sent server-first; waiting for client-final.
    ReceiveClientFinal {
        client_first_bare: String,
        server_first: String,
        nonce: String,
        credential: ScramCredential,
    },
    /// Sent server-final: the user is authenticated.
    Complete,
    /// Refused; nothing more is accepted.
    Failed,
}

/// The broker's side of one SCRAM exchange (Kafka's `ScramSaslServer`).
#[derive(Debug)]
pub struct ScramServer {
    mechanism: ScramMechanism,
    /// The server's half of the nonce, drawn by the caller.
    server_nonce: String,
    state: ServerState,
    username: Option<String>,
}

impl ScramServer {
    pub fn new(mechanism: ScramMechanism, server_nonce: String) -> Self {
        ScramServer { mechanism, server_nonce, state: ServerState::ReceiveClientFirst, username: None }
    }

    pub fn mechanism(&self) -> ScramMechanism {
        self.mechanism
    }

    /// The user the client named in client-first.
    pub fn username(&self) -> Option<&str> {
        self.username.as_deref()
    }

    pub fn is_complete(&self) -> bool {
        matches!(self.state, ServerState::Complete)
    }

    /// Takes the client's next message and returns the server's answer.
    /// `credential` looks a user's credential up (for this mechanism).
    pub fn step(
        &mut self,
        message: &[u8],
        credential: impl FnOnce(&str) -> Option<ScramCredential>,
    ) -> Result<Vec<u8>, ScramError> {
        let message = std::str::from_utf8(message)
            .map_err(|_| ScramError::Malformed("SCRAM message is not UTF-8".into()))?;
        let state = std::mem::replace(&mut self.state, ServerState::Failed);
        let (answer, next) = match state {
            ServerState::ReceiveClientFirst => self.client_first(message, credential)?,
            ServerState::ReceiveClientFinal { client_first_bare, server_first, nonce, credential } => {
                self.client_final(message, &client_first_bare, &server_first, &nonce, &credential)?
            }
            ServerState::Complete | ServerState::Failed => {
                return Err(ScramError::Malformed("SCRAM exchange already finished".into()))
            }
        };
        self.state = next;
        Ok(answer.into_bytes())
    }

    fn client_first(
        &mut self,
        message: &str,
        credential: impl FnOnce(&str) -> Option<ScramCredential>,
    ) -> Result<(String, ServerState), ScramError> {
        // gs2-header: "n,," or "n,a=<authzid>,"; 'y' and 'p' ask for channel binding.
        let mut parts = message.splitn(3, ',');
        let (cbind, authzid, bare) = (parts.next().unwrap_or(""), parts.next(), parts.next());
        let (Some(authzid), Some(bare)) = (authzid, bare) else {
            return Err(ScramError::Malformed("client-first message has no GS2 header".into()));
        };
        if cbind != "n" {
            return Err(ScramError::Unsupported(format!("channel binding {cbind:?} is not supported")));
        }
        let mut fields = bare.splitn(3, ',');
        let head = [fields.next().unwrap_or(""), fields.next().unwrap_or("")].join(",");
        let attrs = attributes(&head)?;
        let [('n', user), ('r', client_nonce)] = attrs[..] else {
            return Err(ScramError::Malformed("client-first message must start n=<user>,r=<nonce>".into()));
        };
        // Extensions (KIP-86's key=value pairs); only tokenauth means anything to Kafka.
        for extension in fields.next().unwrap_or("").split(',') {
            if extension.split('=').next() == Some("tokenauth") {
                return Err(ScramError::Unsupported("the tokenauth extension is not supported".into()));
            }
        }
        let user = unescape(user)?;
        if let Some(authzid) = authzid.strip_prefix("a=") {
            if unescape(authzid)? != user {
                return Err(ScramError::Authentication(format!(
                    "authorization id {authzid:?} does not match the user {user:?}"
                )));
            }
        } else if !authzid.is_empty() {
            return Err(ScramError::Malformed("invalid GS2 authorization id".into()));
        }
        if client_nonce.is_empty() {
            return Err(ScramError::Malformed("empty client nonce".into()));
        }
        self.username = Some(user.clone());
        let credential = credential(&user).ok_or_else(|| {
            ScramError::Authentication("Authentication failed: Invalid user credentials".into())
        })?;
        let nonce = format!("{client_nonce}{}", self.server_nonce);
        let server_first =
            format!("r={nonce},s={},i={}", BASE64.encode(&credential.salt), credential.iterations);
        let next = ServerState::ReceiveClientFinal {
            client_first_bare: bare.to_string(),
            server_first: server_first.clone(),
            nonce,
            credential,
        };
        Ok((server_first, next))
    }

    fn client_final(
        &mut self,
        message: &str,
        client_first_bare: &str,
        server_first: &str,
        nonce: &str,
        credential: &ScramCredential,
    ) -> Result<(String, ServerState), ScramError> {
        let (without_proof, proof) = message
            .rsplit_once(",p=")
            .ok_or_else(|| ScramError::Malformed("client-final message has no proof".into()))?;
        let attrs = attributes(without_proof)?;
        let (Some(('c', binding)), Some(('r', their_nonce))) =
            (attrs.first().copied(), attrs.get(1).copied())
        else {
            return Err(ScramError::Malformed(
                "client-final message must start c=<binding>,r=<nonce>".into(),
            ));
        };
        // "n,," and "n,a=<user>," base64-encoded: no channel binding data.
        let binding =
            BASE64.decode(binding).map_err(|_| ScramError::Malformed("invalid channel binding".into()))?;
        if !binding.starts_with(b"n,") || !binding.ends_with(b",") {
            return Err(ScramError::Unsupported("channel binding is not supported".into()));
        }
        if their_nonce != nonce {
            return Err(ScramError::Authentication(
                "Invalid nonce: the server's nonce was not returned".into(),
            ));
        }
        let proof = BASE64.decode(proof).map_err(|_| ScramError::Malformed("invalid client proof".into()))?;
        let auth_message = format!("{client_first_bare},{server_first},{without_proof}");
        let client_signature = self.mechanism.hmac(&credential.stored_key, auth_message.as_bytes());
        if proof.len() != client_signature.len() {
            return Err(ScramError::Authentication("Invalid client credentials".into()));
        }
        let client_key = xor(&proof, &client_signature);
        let computed = self.mechanism.hash(&client_key);
        if !bool::from(computed.ct_eq(&credential.stored_key)) {
            return Err(ScramError::Authentication("Invalid client credentials".into()));
        }
        let server_signature = self.mechanism.hmac(&credential.server_key, auth_message.as_bytes());
        Ok((format!("v={}", BASE64.encode(server_signature)), ServerState::Complete))
    }
}
// ANCHOR_END: server

/// Where a client-side exchange is.
#[derive(Debug)]
enum ClientState {
    SendClientFirst,
    ReceiveServerFirst { client_first_bare: String },
    ReceiveServerFinal { server_signature: Vec<u8> },
    Complete,
    Failed,
}

/// The client's side of one SCRAM exchange (spool's client and tools).
#[derive(Debug)]
pub struct ScramClient {
    mechanism: ScramMechanism,
    username: String,
    password: String,
    client_nonce: String,
    state: ClientState,
}

impl ScramClient {
    pub fn new(mechanism: ScramMechanism, username: &str, password: &str, client_nonce: String) -> Self {
        ScramClient {
            mechanism,
            username: username.to_string(),
            password: password.to_string(),
            client_nonce,
            state: ClientState::SendClientFirst,
        }
    }

    pub fn is_complete(&self) -> bool {
        matches!(self.state, ClientState::Complete)
    }

    /// The first message (`n,,n=<user>,r=<nonce>`).
    pub fn client_first(&mut self) -> Vec<u8> {
        let bare = format!("n={},r={}", escape(&self.username), self.client_nonce);
        let message = format!("n,,{bare}");
        self.state = ClientState::ReceiveServerFirst { client_first_bare: bare };
        message.into_bytes()
    }

    /// Takes server-first and returns client-final; takes server-final and
    /// returns nothing once the server proved itself.
    pub fn step(&mut self, message: &[u8]) -> Result<Option<Vec<u8>>, ScramError> {
        let message = std::str::from_utf8(message)
            .map_err(|_| ScramError::Malformed("SCRAM message is not UTF-8".into()))?;
        match std::mem::replace(&mut self.state, ClientState::Failed) {
            ClientState::ReceiveServerFirst { client_first_bare } => {
                let (client_final, server_signature) = self.client_final(message, &client_first_bare)?;
                self.state = ClientState::ReceiveServerFinal { server_signature };
                Ok(Some(client_final.into_bytes()))
            }
            ClientState::ReceiveServerFinal { server_signature } => {
                if let Some(error) = message.strip_prefix("e=") {
                    return Err(ScramError::Authentication(format!("the server refused: {error}")));
                }
                let verifier = message
                    .strip_prefix("v=")
                    .and_then(|v| BASE64.decode(v).ok())
                    .ok_or_else(|| ScramError::Malformed("invalid server-final message".into()))?;
                if !bool::from(verifier.ct_eq(&server_signature)) {
                    return Err(ScramError::Authentication("the server's signature is wrong".into()));
                }
                self.state = ClientState::Complete;
                Ok(None)
            }
            _ => Err(ScramError::Malformed("SCRAM exchange not expecting a message".into())),
        }
    }

    fn client_final(
        &self,
        server_first: &str,
        client_first_bare: &str,
    ) -> Result<(String, Vec<u8>), ScramError> {
        let attrs = attributes(server_first)?;
        let [('r', nonce), ('s', salt), ('i', iterations), ..] = attrs[..] else {
            return Err(ScramError::Malformed("server-first message must be r=,s=,i=".into()));
        };
        if !nonce.starts_with(&self.client_nonce) || nonce.len() == self.client_nonce.len() {
            return Err(ScramError::Authentication("the server's nonce does not extend ours".into()));
        }
        let salt = BASE64.decode(salt).map_err(|_| ScramError::Malformed("invalid salt".into()))?;
        let iterations: i32 =
            iterations.parse().map_err(|_| ScramError::Malformed("invalid iterations".into()))?;
        if iterations < ITERATIONS_MIN {
            return Err(ScramError::Authentication(format!(
                "{iterations} iterations is fewer than the minimum {ITERATIONS_MIN}"
            )));
        }
        let salted = self.mechanism.salted_password(self.password.as_bytes(), &salt, iterations as u32);
        let client_key = self.mechanism.hmac(&salted, b"Client Key");
        let stored_key = self.mechanism.hash(&client_key);
        let without_proof = format!("c=biws,r={nonce}");
        let auth_message = format!("{client_first_bare},{server_first},{without_proof}");
        let proof = xor(&client_key, &self.mechanism.hmac(&stored_key, auth_message.as_bytes()));
        let server_key = self.mechanism.hmac(&salted, b"Server Key");
        let server_signature = self.mechanism.hmac(&server_key, auth_message.as_bytes());
        Ok((format!("{without_proof},p={}", BASE64.encode(proof)), server_signature))
    }
}
