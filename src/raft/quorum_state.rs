//! The `quorum-state` file: where a replica keeps its epoch, the leader it
//! knows and its vote, so that a restart never votes twice in one epoch.
//!
//! Kafka's `FileQuorumStateStore` writes `QuorumStateData` as one line of
//! JSON with an extra `data_version` field, into `quorum-state.tmp`, fsyncs
//! it and renames it over `quorum-state` (then fsyncs the directory). Two
//! versions exist: 0 for a static voter set (kraft.version 0, what spool
//! runs) with `clusterId`, `appliedOffset` and `currentVoters`; 1 for
//! KIP-853's dynamic quorums, which adds `votedDirectoryId` and drops the
//! voters (they live in the log).
//!
//! ```text
//! {"clusterId":"","leaderId":1,"leaderEpoch":2,"votedId":-1,"appliedOffset":0,"currentVoters":[{"voterId":1},{"voterId":2},{"voterId":3}],"data_version":0}
//! ```
//!
//! Encoding and decoding are pure; [`write()`] and [`read()`] are the small IO
//! around them the driver calls, outside the sans-IO core.

use std::collections::BTreeSet;
use std::fmt;
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::Path;

use serde_json::Value;

use super::{ElectionState, NodeId};

/// The file's name in the metadata log's directory.
pub const QUORUM_STATE_FILE: &str = "quorum-state";
/// Kafka's `NO_DIRECTORY_ID` (the zero UUID) in its base64 form.
pub const NO_DIRECTORY_ID: &str = "AAAAAAAAAAAAAAAAAAAAAA";

/// The file's contents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuorumStateFile {
    pub election: ElectionState,
    /// `data_version`: 0 or 1.
    pub data_version: i16,
    /// Version 0's `currentVoters`.
    pub voters: BTreeSet<NodeId>,
    /// Version 1's `votedDirectoryId` (Kafka's base64 UUID).
    pub voted_directory_id: String,
}

impl QuorumStateFile {
    /// Version 0, as a replica with a static voter set writes it.
    pub fn v0(election: ElectionState, voters: BTreeSet<NodeId>) -> Self {
        QuorumStateFile { election, data_version: 0, voters, voted_directory_id: NO_DIRECTORY_ID.to_owned() }
    }
}

/// A `quorum-state` file that cannot be read back.
#[derive(Debug)]
pub enum QuorumStateError {
    Io(io::Error),
    /// Not one JSON object with the fields its `data_version` needs.
    Malformed {
        field: &'static str,
    },
    /// A `data_version` other than 0 and 1.
    UnsupportedVersion(i64),
}

impl fmt::Display for QuorumStateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            QuorumStateError::Io(e) => write!(f, "quorum-state: {e}"),
            QuorumStateError::Malformed { field } => write!(f, "quorum-state: missing or invalid {field}"),
            QuorumStateError::UnsupportedVersion(v) => {
                write!(f, "quorum-state: data_version ({v}) is not within 0 and 1")
            }
        }
    }
}

impl std::error::Error for QuorumStateError {}

impl From<io::Error> for QuorumStateError {
    fn from(e: io::Error) -> Self {
        QuorumStateError::Io(e)
    }
}

fn id_or_sentinel(id: Option<NodeId>) -> i64 {
    id.map_or(-1, i64::from)
}

/// The file's one line, field for field in Kafka's order (no newline).
pub fn encode(state: &QuorumStateFile) -> String {
    let e = &state.election;
    let (leader, epoch, voted) = (id_or_sentinel(e.leader_id), e.epoch, id_or_sentinel(e.voted_id));
    if state.data_version == 0 {
        let voters: Vec<String> = state.voters.iter().map(|v| format!("{{\"voterId\":{v}}}")).collect();
        format!(
            "{{\"clusterId\":\"\",\"leaderId\":{leader},\"leaderEpoch\":{epoch},\"votedId\":{voted},\
             \"appliedOffset\":0,\"currentVoters\":[{}],\"data_version\":0}}",
            voters.join(",")
        )
    } else {
        let directory = serde_json::to_string(&state.voted_directory_id).expect("a string encodes");
        format!(
            "{{\"leaderId\":{leader},\"leaderEpoch\":{epoch},\"votedId\":{voted},\
             \"votedDirectoryId\":{directory},\"data_version\":1}}"
        )
    }
}

/// Parses the file's first line.
pub fn decode(text: &str) -> Result<QuorumStateFile, QuorumStateError> {
    let line = text.lines().next().ok_or(QuorumStateError::Malformed { field: "the first line" })?;
    let value: Value =
        serde_json::from_str(line).map_err(|_| QuorumStateError::Malformed { field: "JSON" })?;
    let object = value.as_object().ok_or(QuorumStateError::Malformed { field: "the object" })?;
    let int = |field: &'static str| -> Result<i64, QuorumStateError> {
        object.get(field).and_then(Value::as_i64).ok_or(QuorumStateError::Malformed { field })
    };
    let id = |field: &'static str| -> Result<Option<NodeId>, QuorumStateError> {
        let raw = int(field)?;
        let id = NodeId::try_from(raw).map_err(|_| QuorumStateError::Malformed { field })?;
        Ok((id >= 0).then_some(id))
    };
    let data_version = int("data_version")?;
    if !(0..=1).contains(&data_version) {
        return Err(QuorumStateError::UnsupportedVersion(data_version));
    }
    let epoch = i32::try_from(int("leaderEpoch")?)
        .map_err(|_| QuorumStateError::Malformed { field: "leaderEpoch" })?;
    let election = ElectionState { epoch, leader_id: id("leaderId")?, voted_id: id("votedId")? };
    let mut state = QuorumStateFile::v0(election, BTreeSet::new());
    state.data_version = data_version as i16;
    if data_version == 0 {
        let voters = object.get("currentVoters").and_then(Value::as_array);
        for voter in voters.into_iter().flatten() {
            let voter_id = voter.get("voterId").and_then(Value::as_i64);
            let voter_id = voter_id.and_then(|v| NodeId::try_from(v).ok());
            state.voters.insert(voter_id.ok_or(QuorumStateError::Malformed { field: "currentVoters" })?);
        }
    } else {
        let directory = object.get("votedDirectoryId").and_then(Value::as_str);
        state.voted_directory_id =
            directory.ok_or(QuorumStateError::Malformed { field: "votedDirectoryId" })?.to_owned();
    }
    Ok(state)
}

/// Writes `dir/quorum-state` atomically: the tmp file, fsync, rename, fsync
/// of the directory. A crash leaves the old file or the new one, never half.
pub fn write(dir: &Path, state: &QuorumStateFile) -> io::Result<()> {
    let tmp = dir.join(format!("{QUORUM_STATE_FILE}.tmp"));
    let mut file = File::create(&tmp)?;
    file.write_all(encode(state).as_bytes())?;
    file.sync_all()?;
    drop(file);
    fs::rename(&tmp, dir.join(QUORUM_STATE_FILE))?;
    File::open(dir)?.sync_all()
}

/// Reads `dir/quorum-state`; `None` if the replica never wrote one.
pub fn read(dir: &Path) -> Result<Option<QuorumStateFile>, QuorumStateError> {
    match fs::read_to_string(dir.join(QUORUM_STATE_FILE)) {
        Ok(text) => decode(&text).map(Some),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e.into()),
    }
}
