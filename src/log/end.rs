//! Publishing the log end offset to readers.
//!
//! One writer appends; many readers (fetches, the replication of chapter 6, the
//! long-poll waiters of chapter 2) want to know how far the log goes. Kafka keeps
//! `nextOffsetMetadata` in a volatile field and writes it only *after* the bytes
//! of a batch are in the segment file, so a reader that sees the new end also
//! sees every byte before it, and never reads a batch that is half written:
//!
//! ```text
//!  writer                           reader
//!  ──────                           ──────
//!  write batch bytes to .log
//!  update the indexes
//!  publish end = (offset, segment, position)  ─▶  load end
//!                                                 read .log up to end.position
//! ```
//!
//! The ordering is the whole correctness argument, and `tests/loom.rs` checks it
//! under every interleaving loom can produce.

use crate::sync::{lock, Arc, Mutex};

/// An offset together with where it lies on disk (Kafka's `LogOffsetMetadata`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct LogOffsetMetadata {
    /// The offset the next appended record will get.
    pub message_offset: i64,
    /// Base offset of the segment the position is in.
    pub segment_base_offset: i64,
    /// Byte position in that segment: everything before it is whole batches.
    pub relative_position: u64,
}

/// The writer's side: publishes a new end after each append.
///
/// Cloning a `Log` (the model checker does, to branch states) must not share the
/// published end between clones, so `Clone` copies the value into a new cell;
/// readers share it through [`EndOffsetPublisher::watch`].
#[derive(Debug)]
pub struct EndOffsetPublisher {
    cell: Arc<Mutex<LogOffsetMetadata>>,
}

/// A reader's view of the published end.
#[derive(Debug, Clone)]
pub struct EndOffsetWatch {
    cell: Arc<Mutex<LogOffsetMetadata>>,
}

impl EndOffsetPublisher {
    pub fn new(end: LogOffsetMetadata) -> Self {
        EndOffsetPublisher { cell: Arc::new(Mutex::new(end)) }
    }

    // ANCHOR: publish
    /// Publishes `end`. Call only after every byte before `end.relative_position`
    /// is written: the lock release is the happens-before edge readers rely on.
    pub fn publish(&self, end: LogOffsetMetadata) {
        *lock(&self.cell) = end;
    }
    // ANCHOR_END: publish

    pub fn get(&self) -> LogOffsetMetadata {
        *lock(&self.cell)
    }

    pub fn watch(&self) -> EndOffsetWatch {
        EndOffsetWatch { cell: self.cell.clone() }
    }
}

impl EndOffsetWatch {
    /// The last published end.
    pub fn load(&self) -> LogOffsetMetadata {
        *lock(&self.cell)
    }
}

impl Clone for EndOffsetPublisher {
    fn clone(&self) -> Self {
        EndOffsetPublisher::new(self.get())
    }
}

impl PartialEq for EndOffsetPublisher {
    fn eq(&self, other: &Self) -> bool {
        self.get() == other.get()
    }
}

impl Eq for EndOffsetPublisher {}

impl std::hash::Hash for EndOffsetPublisher {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.get().hash(state)
    }
}
