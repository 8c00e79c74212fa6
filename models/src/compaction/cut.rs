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

use bytes::Bytes;
use spool::log::{CrashMode, MemStorage, Storage};

/// A [`MemStorage`] with an optional budget of write operations.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct CutStorage {
    pub files: MemStorage,
    /// Write operations left before the power goes; `None`: no cut planned.
    pub ops_left: Option<u32>,
}

impl CutStorage {
    /// The files a power cut leaves, with no budget.
    pub fn crash(&self, mode: CrashMode) -> CutStorage {
        CutStorage { files: self.files.crash(mode), ops_left: None }
    }

    /// Whether a planned cut has struck.
    pub fn cut(&self) -> bool {
        self.ops_left == Some(0)
    }

    /// One write operation: refused once the budget is spent.
    fn write(&mut self) -> io::Result<()> {
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

impl Storage for CutStorage {
    type Handle = Bytes;

    fn list(&self) -> io::Result<Vec<String>> {
        self.files.list()
    }
    fn create(&mut self, name: &str) -> io::Result<()> {
        self.write()?;
        self.files.create(name)
    }
    fn exists(&self, name: &str) -> bool {
        self.files.exists(name)
    }
    fn len(&self, name: &str) -> io::Result<u64> {
        self.files.len(name)
    }
    fn append(&mut self, name: &str, data: &[u8]) -> io::Result<()> {
        self.write()?;
        self.files.append(name, data)
    }
    fn read_at(&self, name: &str, pos: u64, buf: &mut [u8]) -> io::Result<usize> {
        self.files.read_at(name, pos, buf)
    }
    fn truncate(&mut self, name: &str, len: u64) -> io::Result<()> {
        self.write()?;
        self.files.truncate(name, len)
    }
    fn sync(&mut self, name: &str) -> io::Result<()> {
        self.write()?;
        self.files.sync(name)
    }
    fn remove(&mut self, name: &str) -> io::Result<()> {
        self.write()?;
        self.files.remove(name)
    }
    fn rename(&mut self, from: &str, to: &str) -> io::Result<()> {
        self.write()?;
        self.files.rename(from, to)
    }
    fn write_atomic(&mut self, name: &str, data: &[u8]) -> io::Result<()> {
        self.write()?;
        self.files.write_atomic(name, data)
    }
    fn handle(&self, name: &str) -> io::Result<Bytes> {
        self.files.handle(name)
    }
}
