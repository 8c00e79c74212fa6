//! A cleaning that can be stopped between two writes: the `.cleaned`
//! segments are written through [`Abortable`], which asks before every
//! change to the directory whether the cleaning must stop (a deletion's
//! abort, or the cleaner shutting down) and, if so, fails it. Kafka's cleaner
//! checks the same way between batches (`checkDone`, which throws
//! `LogCleaningAbortedException`). Building the offset map writes nothing,
//! so a stop is noticed once writing starts.

use std::io;

use crate::log::Storage;

/// The error a stopped cleaning fails with.
pub fn aborted() -> io::Error {
    io::Error::new(io::ErrorKind::Interrupted, "log cleaning aborted")
}

/// A [`Storage`] whose writes fail (`Interrupted`) once `must_stop` says so.
#[derive(Debug)]
pub struct Abortable<S, F> {
    inner: S,
    must_stop: F,
}

impl<S: Storage, F: Fn() -> bool> Abortable<S, F> {
    pub fn new(inner: S, must_stop: F) -> Self {
        Abortable { inner, must_stop }
    }

    pub fn into_inner(self) -> S {
        self.inner
    }

    fn check(&self) -> io::Result<()> {
        if (self.must_stop)() {
            return Err(aborted());
        }
        Ok(())
    }
}

impl<S: Storage, F: Fn() -> bool> Storage for Abortable<S, F> {
    type Handle = S::Handle;

    fn list(&self) -> io::Result<Vec<String>> {
        self.inner.list()
    }
    fn create(&mut self, name: &str) -> io::Result<()> {
        self.check()?;
        self.inner.create(name)
    }
    fn exists(&self, name: &str) -> bool {
        self.inner.exists(name)
    }
    fn len(&self, name: &str) -> io::Result<u64> {
        self.inner.len(name)
    }
    fn append(&mut self, name: &str, data: &[u8]) -> io::Result<()> {
        self.check()?;
        self.inner.append(name, data)
    }
    fn read_at(&self, name: &str, pos: u64, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read_at(name, pos, buf)
    }
    fn truncate(&mut self, name: &str, len: u64) -> io::Result<()> {
        self.check()?;
        self.inner.truncate(name, len)
    }
    fn sync(&mut self, name: &str) -> io::Result<()> {
        self.check()?;
        self.inner.sync(name)
    }
    /// Never refused: removing is how an abandoned cleaning cleans up.
    fn remove(&mut self, name: &str) -> io::Result<()> {
        self.inner.remove(name)
    }
    fn rename(&mut self, from: &str, to: &str) -> io::Result<()> {
        self.check()?;
        self.inner.rename(from, to)
    }
    fn write_atomic(&mut self, name: &str, data: &[u8]) -> io::Result<()> {
        self.check()?;
        self.inner.write_atomic(name, data)
    }
    fn handle(&self, name: &str) -> io::Result<Self::Handle> {
        self.inner.handle(name)
    }
}
