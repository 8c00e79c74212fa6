//! A power cut in the middle of an action: [`CutStorage`] is a
//! [`MemStorage`] that can be told to fail after `n` more write operations,
//! so the model can stop the swap of a cleaning after any of its renames
//! and removes, then crash what is left.
//!
//! Every operation that changes the directory counts — create, append,
//! truncate, sync, remove, rename, write_atomic — as `src/log/cleaner/tests.rs`'s
//! `Faulty` counts them; reads never do. In a model state the budget is
//! always `None`: it is set for one action and gone with the crash.

use std::io;

use spool::log::cleaner::gated::{Gate, Gated, Write};
use spool::log::{CrashMode, MemStorage};

/// A [`MemStorage`] with an optional budget of write operations: the
/// cleaner's own gated storage ([`Gated`]) with a [`Cut`] gate.
pub type CutStorage = Gated<MemStorage, Cut>;

/// Write operations left before the power goes; `None`: no cut planned.
/// No write counter: the model's states would tell paths apart by it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Cut {
    pub ops_left: Option<u32>,
}

impl Gate for Cut {
    /// One write operation: refused once the budget is spent.
    fn admit(&mut self, _: Write) -> io::Result<()> {
        match &mut self.ops_left {
            Some(0) => Err(io::Error::other("power cut")),
            Some(n) => {
                *n -= 1;
                Ok(())
            }
            None => Ok(()),
        }
    }
}

/// The files a power cut leaves, with no budget.
pub fn crash(storage: &CutStorage, mode: CrashMode) -> CutStorage {
    Gated::new(storage.inner.crash(mode), Cut::default())
}

/// Whether a planned cut has struck.
pub fn cut(storage: &CutStorage) -> bool {
    storage.gate.ops_left == Some(0)
}
