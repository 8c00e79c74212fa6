//! `meta.properties`: the identity of a log directory, written on first start
//! the way `kafka-storage.sh format` writes it.
//!
//! ```text
//! #
//! #Written by spool
//! cluster.id=Vx2HbQwNTnOvU8r0Ad0u7A
//! directory.id=xSxu9WfNRW2RDtZvZt1ZpQ
//! node.id=1
//! version=1
//! ```
//!
//! A directory that belongs to another node or cluster is refused: mixing two
//! brokers' data would be silent corruption.

use std::path::Path;

use uuid::Uuid;

use super::Error;
use crate::config::BrokerConfig;

pub const FILE: &str = "meta.properties";

/// What `meta.properties` says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetaProperties {
    pub cluster_id: String,
    pub node_id: i32,
    pub directory_id: String,
}

/// Kafka's id format: a random UUID, URL-safe base64 without padding (22 chars).
pub fn random_id() -> String {
    base64_url(Uuid::new_v4().as_bytes())
}

fn base64_url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
    }
    out
}

/// Reads `meta.properties`, or writes a new one with a fresh cluster id.
pub fn load_or_create(dir: &Path, node_id: i32) -> Result<MetaProperties, Error> {
    let path = dir.join(FILE);
    let unusable = |cause: String| Error::LogDirUnusable { path: path.clone(), cause };
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            let props = BrokerConfig::parse_properties(&text).map_err(unusable)?;
            let get = |k: &str| props.get(k).cloned().ok_or_else(|| unusable(format!("no {k}")));
            let meta = MetaProperties {
                cluster_id: get("cluster.id")?,
                node_id: get("node.id")?.parse().map_err(|_| unusable("bad node.id".into()))?,
                directory_id: get("directory.id").unwrap_or_default(),
            };
            if meta.node_id != node_id {
                return Err(Error::InconsistentNodeId { path, found: meta.node_id, configured: node_id });
            }
            Ok(meta)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            format(dir, node_id, &random_id()).map_err(|e| unusable(e.to_string()))
        }
        Err(e) => Err(unusable(e.to_string())),
    }
}

/// Writes a new `meta.properties` into `dir` (created if missing), as
/// `kafka-storage.sh format --cluster-id` does: the nodes of one cluster
/// share the cluster id, which a broker's registration must carry.
pub fn format(dir: &Path, node_id: i32, cluster_id: &str) -> std::io::Result<MetaProperties> {
    std::fs::create_dir_all(dir)?;
    let meta = MetaProperties { cluster_id: cluster_id.to_string(), node_id, directory_id: random_id() };
    let text = format!(
        "#\n#Written by spool\ncluster.id={}\ndirectory.id={}\nnode.id={}\nversion=1\n",
        meta.cluster_id, meta.directory_id, meta.node_id
    );
    let tmp = dir.join(format!("{FILE}.tmp"));
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, dir.join(FILE))?;
    Ok(meta)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Ids look like Kafka's: 22 URL-safe base64 characters.
    #[test]
    fn ids_are_kafka_shaped() {
        let id = random_id();
        assert_eq!(id.len(), 22);
        assert!(id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        assert_eq!(base64_url(b"\xfb\xff"), "-_8");
    }

    /// The directory keeps its cluster id across starts and refuses another node.
    #[test]
    fn created_once_then_checked() {
        let dir = tempfile::tempdir().unwrap();
        let first = load_or_create(dir.path(), 1).unwrap();
        assert_eq!(load_or_create(dir.path(), 1).unwrap(), first);
        assert!(matches!(
            load_or_create(dir.path(), 2),
            Err(Error::InconsistentNodeId { found: 1, configured: 2, .. })
        ));
    }
}
