//! Where a partition's files live: the disk, or memory for the model checker.
//!
//! The log code never calls `std::fs` directly. It goes through [`Storage`], a
//! handful of file operations on one partition directory, so the very same
//! segment, index and recovery code runs in two worlds:
//!
//! - [`DiskStorage`]: real files, `pwrite`/`pread`, `fsync` — what the broker runs.
//! - [`MemStorage`]: files as byte vectors that remember how much of each is
//!   *durable* (synced). [`MemStorage::crash`] keeps only what an `fsync` made
//!   durable, plus, if asked, part of what was not: a torn write. The stateright
//!   model in `models/src/log.rs` crashes the log this way at every step.
//!
//! Storage is per partition directory (`<topic>-<partition>/`); directory-level
//! files (`recovery-point-offset-checkpoint`, `.kafka_cleanshutdown`) belong to
//! the log manager, which uses a `Storage` of its own for the log directory.

use std::collections::{BTreeMap, HashMap};
use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;

/// A read-only handle to one file that outlives the log's locks: a fetch keeps
/// one while it sends a region (chapter 3 sends it with `sendfile`).
pub trait ReadAt: Clone + Send + Sync + 'static {
    /// Reads up to `buf.len()` bytes at `pos`; fewer at the end of the file.
    fn read_at(&self, pos: u64, buf: &mut [u8]) -> io::Result<usize>;
}

/// File operations on one directory. Names are plain file names, no paths.
pub trait Storage {
    type Handle: ReadAt;

    /// File names in the directory, sorted.
    fn list(&self) -> io::Result<Vec<String>>;
    /// Creates an empty file, truncating one that exists.
    fn create(&mut self, name: &str) -> io::Result<()>;
    fn exists(&self, name: &str) -> bool;
    fn len(&self, name: &str) -> io::Result<u64>;
    /// Appends at the end of the file. The bytes are in the page cache, not durable.
    fn append(&mut self, name: &str, data: &[u8]) -> io::Result<()>;
    /// Reads up to `buf.len()` bytes at `pos`; fewer at the end of the file.
    fn read_at(&self, name: &str, pos: u64, buf: &mut [u8]) -> io::Result<usize>;
    fn truncate(&mut self, name: &str, len: u64) -> io::Result<()>;
    /// Makes the file's contents durable (`fsync`).
    fn sync(&mut self, name: &str) -> io::Result<()>;
    fn remove(&mut self, name: &str) -> io::Result<()>;
    /// Renames `from` to `to`, replacing any `to`, durably: after it returns,
    /// a crash leaves the file under its new name (the directory is synced).
    /// The file's contents are as durable as they were: a rename does not
    /// sync them. The cleaner swaps segments this way (chapter 10).
    fn rename(&mut self, from: &str, to: &str) -> io::Result<()>;
    /// Replaces a small file whole and durably: write a temporary file, sync it,
    /// rename it over the old one. Readers see the old or the new, never a mix.
    fn write_atomic(&mut self, name: &str, data: &[u8]) -> io::Result<()>;
    /// A handle for reading outside the log's locks.
    fn handle(&self, name: &str) -> io::Result<Self::Handle>;

    /// A failure the next flush must report, if the storage was told to fail
    /// one ([`DiskStorage::fail_next_syncs`]): a group flush syncs through
    /// handles, outside the log's lock, and asks for it before it starts.
    fn take_sync_fault(&mut self) -> Option<io::Error> {
        None
    }

    /// Reads a whole file, or `None` if it does not exist.
    fn read_file(&self, name: &str) -> io::Result<Option<Vec<u8>>> {
        if !self.exists(name) {
            return Ok(None);
        }
        let mut buf = vec![0; self.len(name)? as usize];
        let n = self.read_at(name, 0, &mut buf)?;
        buf.truncate(n);
        Ok(Some(buf))
    }
}

/// A partition directory on disk.
#[derive(Debug)]
pub struct DiskStorage {
    dir: PathBuf,
    /// Open files and their lengths, so appends neither reopen nor `fstat` them.
    /// The log is the only writer of its directory.
    open: HashMap<String, (Arc<File>, u64)>,
    /// Syncs still to fail ([`DiskStorage::fail_next_syncs`]).
    sync_faults: u32,
}

impl DiskStorage {
    /// Opens (creating if needed) the directory `dir`.
    pub fn open(dir: impl AsRef<Path>) -> io::Result<Self> {
        std::fs::create_dir_all(dir.as_ref())?;
        Ok(DiskStorage { dir: dir.as_ref().to_path_buf(), open: HashMap::new(), sync_faults: 0 })
    }

    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// Fault injection for tests: the next `n` syncs (a segment flush, or a
    /// group flush) fail with `EIO`, as `fsync` does after a writeback error.
    /// A real disk gives no way to make that happen on cue.
    pub fn fail_next_syncs(&mut self, n: u32) {
        self.sync_faults = n;
    }

    fn file(&mut self, name: &str) -> io::Result<&mut (Arc<File>, u64)> {
        if !self.open.contains_key(name) {
            let f = OpenOptions::new().read(true).write(true).open(self.dir.join(name))?;
            let len = f.metadata()?.len();
            self.open.insert(name.to_string(), (Arc::new(f), len));
        }
        Ok(self.open.get_mut(name).expect("inserted above"))
    }

    fn sync_dir(&self) -> io::Result<()> {
        File::open(&self.dir)?.sync_all()
    }
}

impl ReadAt for Arc<File> {
    fn read_at(&self, pos: u64, buf: &mut [u8]) -> io::Result<usize> {
        let mut done = 0;
        while done < buf.len() {
            match FileExt::read_at(&**self, &mut buf[done..], pos + done as u64) {
                Ok(0) => break,
                Ok(n) => done += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
        Ok(done)
    }
}

impl Storage for DiskStorage {
    type Handle = Arc<File>;

    fn list(&self) -> io::Result<Vec<String>> {
        let mut names = Vec::new();
        for entry in std::fs::read_dir(&self.dir)? {
            let entry = entry?;
            if entry.file_type()?.is_file() {
                names.push(entry.file_name().to_string_lossy().into_owned());
            }
        }
        names.sort();
        Ok(names)
    }

    fn create(&mut self, name: &str) -> io::Result<()> {
        let f = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(self.dir.join(name))?;
        self.open.insert(name.to_string(), (Arc::new(f), 0));
        // The new name must survive a crash too, or a synced segment could vanish.
        self.sync_dir()
    }

    fn exists(&self, name: &str) -> bool {
        self.open.contains_key(name) || self.dir.join(name).is_file()
    }

    fn len(&self, name: &str) -> io::Result<u64> {
        match self.open.get(name) {
            Some((_, len)) => Ok(*len),
            None => Ok(std::fs::metadata(self.dir.join(name))?.len()),
        }
    }

    fn append(&mut self, name: &str, data: &[u8]) -> io::Result<()> {
        let (f, len) = self.file(name)?;
        f.write_all_at(data, *len)?;
        *len += data.len() as u64;
        Ok(())
    }

    fn read_at(&self, name: &str, pos: u64, buf: &mut [u8]) -> io::Result<usize> {
        match self.open.get(name) {
            Some((f, _)) => ReadAt::read_at(f, pos, buf),
            None => ReadAt::read_at(&Arc::new(File::open(self.dir.join(name))?), pos, buf),
        }
    }

    fn truncate(&mut self, name: &str, len: u64) -> io::Result<()> {
        let (f, cached) = self.file(name)?;
        f.set_len(len)?;
        *cached = len;
        Ok(())
    }

    fn sync(&mut self, name: &str) -> io::Result<()> {
        if let Some(fault) = self.take_sync_fault() {
            return Err(fault);
        }
        self.file(name)?.0.sync_data()
    }

    fn remove(&mut self, name: &str) -> io::Result<()> {
        // Handles already given out keep the inode alive until they drop: a fetch
        // that is sending from a segment retention deletes still completes.
        self.open.remove(name);
        std::fs::remove_file(self.dir.join(name))?;
        // Durably: the clean-shutdown marker, above all, must stay deleted.
        self.sync_dir()
    }

    fn rename(&mut self, from: &str, to: &str) -> io::Result<()> {
        std::fs::rename(self.dir.join(from), self.dir.join(to))?;
        // The open file moves with its name; handles given out stay valid.
        self.open.remove(to);
        if let Some(file) = self.open.remove(from) {
            self.open.insert(to.to_string(), file);
        }
        self.sync_dir()
    }

    fn write_atomic(&mut self, name: &str, data: &[u8]) -> io::Result<()> {
        let tmp = self.dir.join(format!("{name}.tmp"));
        {
            let f = File::create(&tmp)?;
            f.write_all_at(data, 0)?;
            f.sync_all()?;
        }
        self.open.remove(name);
        std::fs::rename(&tmp, self.dir.join(name))?;
        self.sync_dir()
    }

    fn handle(&self, name: &str) -> io::Result<Arc<File>> {
        match self.open.get(name) {
            Some((f, _)) => Ok(f.clone()),
            None => Ok(Arc::new(File::open(self.dir.join(name))?)),
        }
    }

    fn take_sync_fault(&mut self) -> Option<io::Error> {
        (self.sync_faults > 0).then(|| {
            self.sync_faults -= 1;
            io::Error::from_raw_os_error(5) // EIO, on Linux and macOS
        })
    }
}

/// One in-memory file: its bytes as the page cache holds them, and how many of
/// them a crash would keep.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct MemFile {
    pub data: Vec<u8>,
    /// The file's bytes as of its last `sync`: what survives a crash.
    pub durable: Vec<u8>,
}

// ANCHOR: crash_mode
/// How much of the unsynced data a crash keeps, per file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CrashMode {
    /// Everything not synced is lost.
    LoseUnsynced,
    /// The first `n` unsynced bytes of each file reach the disk: a torn write.
    TornPrefix(usize),
    /// The unsynced length reaches the disk but not the data: the tail reads as
    /// zeros (metadata written back before data, as some file systems allow).
    ZeroedTail,
    /// The unsynced data reaches the disk except `len` bytes starting `offset`
    /// bytes into it, which read as zeros: pages written back out of order. The
    /// batch headers around the hole can be intact; only a CRC tells.
    LostPage { offset: usize, len: usize },
}
// ANCHOR_END: crash_mode

/// A directory of [`MemFile`]s: a plain value, so a model checker can clone,
/// hash and compare whole states.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct MemStorage {
    pub files: BTreeMap<String, MemFile>,
}

impl MemStorage {
    pub fn new() -> Self {
        Self::default()
    }

    // ANCHOR: crash
    /// What a power cut leaves: each file's durable bytes, plus what `mode` keeps
    /// of the rest. File names are durable as soon as they are created.
    pub fn crash(&self, mode: CrashMode) -> MemStorage {
        let files = self
            .files
            .iter()
            .map(|(name, f)| {
                let mut kept = f.durable.clone();
                let synced_prefix_ok = f.data.starts_with(&f.durable);
                if synced_prefix_ok && f.data.len() > kept.len() {
                    let unsynced = &f.data[kept.len()..];
                    match mode {
                        CrashMode::LoseUnsynced => {}
                        CrashMode::TornPrefix(n) => kept.extend(&unsynced[..n.min(unsynced.len())]),
                        CrashMode::ZeroedTail => kept.resize(f.data.len(), 0),
                        CrashMode::LostPage { offset, len } => {
                            kept.extend_from_slice(unsynced);
                            let start = (f.durable.len() + offset).min(kept.len());
                            let end = (start + len).min(kept.len());
                            kept[start..end].fill(0);
                        }
                    }
                }
                let file = MemFile { data: kept.clone(), durable: kept };
                (name.clone(), file)
            })
            .collect();
        MemStorage { files }
    }
    // ANCHOR_END: crash

    fn get(&self, name: &str) -> io::Result<&MemFile> {
        self.files.get(name).ok_or_else(|| not_found(name))
    }

    fn get_mut(&mut self, name: &str) -> io::Result<&mut MemFile> {
        self.files.get_mut(name).ok_or_else(|| not_found(name))
    }
}

fn not_found(name: &str) -> io::Error {
    io::Error::new(io::ErrorKind::NotFound, format!("no file {name}"))
}

/// A snapshot of a [`MemFile`]'s bytes, for reading a region.
impl ReadAt for Bytes {
    fn read_at(&self, pos: u64, buf: &mut [u8]) -> io::Result<usize> {
        let start = (pos as usize).min(self.len());
        let n = buf.len().min(self.len() - start);
        buf[..n].copy_from_slice(&self[start..start + n]);
        Ok(n)
    }
}

impl Storage for MemStorage {
    type Handle = Bytes;

    fn list(&self) -> io::Result<Vec<String>> {
        Ok(self.files.keys().cloned().collect())
    }
    fn create(&mut self, name: &str) -> io::Result<()> {
        self.files.insert(name.to_string(), MemFile::default());
        Ok(())
    }
    fn exists(&self, name: &str) -> bool {
        self.files.contains_key(name)
    }
    fn len(&self, name: &str) -> io::Result<u64> {
        Ok(self.get(name)?.data.len() as u64)
    }
    fn append(&mut self, name: &str, data: &[u8]) -> io::Result<()> {
        self.get_mut(name)?.data.extend_from_slice(data);
        Ok(())
    }
    fn read_at(&self, name: &str, pos: u64, buf: &mut [u8]) -> io::Result<usize> {
        let data = &self.get(name)?.data;
        let start = (pos as usize).min(data.len());
        let n = buf.len().min(data.len() - start);
        buf[..n].copy_from_slice(&data[start..start + n]);
        Ok(n)
    }
    fn truncate(&mut self, name: &str, len: u64) -> io::Result<()> {
        let f = self.get_mut(name)?;
        f.data.resize(len as usize, 0);
        Ok(())
    }
    fn sync(&mut self, name: &str) -> io::Result<()> {
        let f = self.get_mut(name)?;
        f.durable = f.data.clone();
        Ok(())
    }
    fn remove(&mut self, name: &str) -> io::Result<()> {
        self.files.remove(name).map(|_| ()).ok_or_else(|| not_found(name))
    }
    fn rename(&mut self, from: &str, to: &str) -> io::Result<()> {
        // The file moves whole, durable bytes and all: what was not synced
        // before the rename is still lost in a crash after it.
        let file = self.files.remove(from).ok_or_else(|| not_found(from))?;
        self.files.insert(to.to_string(), file);
        Ok(())
    }
    fn write_atomic(&mut self, name: &str, data: &[u8]) -> io::Result<()> {
        let file = MemFile { data: data.to_vec(), durable: data.to_vec() };
        self.files.insert(name.to_string(), file);
        Ok(())
    }
    fn handle(&self, name: &str) -> io::Result<Bytes> {
        Ok(Bytes::from(self.get(name)?.data.clone()))
    }
}
