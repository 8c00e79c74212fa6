//! Kafka's `sasl.jaas.config`: one JAAS login module entry on a line,
//!
//! ```text
//! org.apache.kafka.common.security.plain.PlainLoginModule required
//!     username="admin" password="admin-secret" user_admin="admin-secret";
//! ```
//!
//! The module's class, its control flag, then `key=value` options (a value
//! quoted, with `\"` inside, or a bare word), ended by `;`. Only this one-entry
//! form — the one Kafka's broker and client properties take — is read.

use std::collections::BTreeMap;

/// One parsed `sasl.jaas.config` entry.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct JaasConfig {
    /// The login module's class (`…PlainLoginModule`, `…ScramLoginModule`).
    pub module: String,
    pub options: BTreeMap<String, String>,
}

impl JaasConfig {
    /// Parses one entry; the error names what is wrong.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let body = text.strip_suffix(';').ok_or("sasl.jaas.config must end with ';'")?;
        let mut rest = body.trim_start();
        let mut word = || {
            let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
            let (w, r) = rest.split_at(end);
            rest = r.trim_start();
            w.to_string()
        };
        let module = word();
        let flag = word();
        if module.is_empty() || !["required", "requisite", "sufficient", "optional"].contains(&flag.as_str())
        {
            return Err(format!("sasl.jaas.config: expected '<LoginModule> required ...', got {text:?}"));
        }
        let mut options = BTreeMap::new();
        while !rest.is_empty() {
            let (key, after) = rest
                .split_once('=')
                .ok_or_else(|| format!("sasl.jaas.config: option without '=' in {rest:?}"))?;
            let key = key.trim().to_string();
            let after = after.trim_start();
            let (value, r) = if let Some(quoted) = after.strip_prefix('"') {
                let mut value = String::new();
                let mut chars = quoted.char_indices();
                let mut end = None;
                while let Some((i, c)) = chars.next() {
                    match c {
                        '\\' => value.extend(chars.next().map(|(_, c)| c)),
                        '"' => {
                            end = Some(i + 1);
                            break;
                        }
                        c => value.push(c),
                    }
                }
                let end = end.ok_or_else(|| format!("sasl.jaas.config: unterminated value for {key}"))?;
                (value, &quoted[end..])
            } else {
                let end = after.find(char::is_whitespace).unwrap_or(after.len());
                (after[..end].to_string(), &after[end..])
            };
            if key.is_empty() || key.contains(char::is_whitespace) {
                return Err(format!("sasl.jaas.config: bad option name {key:?}"));
            }
            options.insert(key, value);
            rest = r.trim_start();
        }
        Ok(JaasConfig { module, options })
    }

    /// PlainLoginModule's `user_<name>="<password>"` options: the users a
    /// broker's PLAIN listener accepts.
    pub fn plain_users(&self) -> BTreeMap<String, String> {
        self.options
            .iter()
            .filter_map(|(k, v)| k.strip_prefix("user_").map(|user| (user.to_string(), v.clone())))
            .collect()
    }

    /// The `username`/`password` options: who this side logs in as.
    pub fn login(&self) -> Option<(String, String)> {
        Some((self.options.get("username")?.clone(), self.options.get("password")?.clone()))
    }
}
