//! Reading request frames off a connection without taking the size prefix on
//! trust.
//!
//! A frame's 4-byte size is the client's claim, not bytes in hand. Reserving
//! it up front let 200 connections that each announced 100 MB and sent ten
//! bytes reserve 20 GB. Two limits keep a broker's memory proportional to what
//! clients really send, as Kafka's network layer does:
//!
//! 1. **The buffer grows as bytes arrive.** Each read asks for at most
//!    [`READ_CHUNK_BYTES`] more room, whatever the frame announced; only
//!    `socket.request.max.bytes` caps a single frame.
//! 2. **`queued.max.request.bytes`** bounds the requests being read *and
//!    handled*, across all connections ([`RequestPool`]). Once a frame's size
//!    is known, its connection reserves that many bytes from the pool before
//!    it reads another byte, and gives them back when the request has been
//!    handled. A connection the pool cannot serve waits, unread — Kafka mutes
//!    it — while the others go on. A frame larger than the whole pool could
//!    never be read, so it is refused as one above `socket.request.max.bytes`
//!    is: the connection closes.
//!
//! Simplifications: Kafka's pool hands out the frame's buffer itself; here the
//! pool only counts bytes (a semaphore whose permits are bytes), and the
//! buffer comes from the allocator.

use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::frame::{frame_size, parse_frame, FrameError};

/// The most a read grows a connection's buffer by.
pub const READ_CHUNK_BYTES: usize = 64 * 1024;

// ANCHOR: pool
/// `queued.max.request.bytes`: the bytes of requests being read or handled,
/// across all connections; Kafka's `MemoryPool`.
#[derive(Debug)]
pub struct RequestPool {
    /// One permit per byte. Tokio's semaphore is fair: a connection waiting
    /// for a big frame is not starved by a stream of small ones.
    bytes: Arc<Semaphore>,
    bytes_max: usize,
}

impl RequestPool {
    pub fn new(bytes_max: usize) -> Self {
        let bytes_max = bytes_max.clamp(1, Semaphore::MAX_PERMITS);
        RequestPool { bytes: Arc::new(Semaphore::new(bytes_max)), bytes_max }
    }

    /// Bytes no request holds: Kafka's `MemoryPoolAvailable` metric.
    pub fn available_bytes(&self) -> usize {
        self.bytes.available_permits()
    }

    /// Waits until `size` bytes are free and holds them until the returned
    /// permit is dropped; a frame larger than the whole pool is an error.
    async fn reserve(&self, size: usize) -> Result<OwnedSemaphorePermit, FrameError> {
        let too_large = FrameError::AbovePool { size, pool: self.bytes_max };
        let permits = u32::try_from(size).map_err(|_| too_large.clone())?;
        if size > self.bytes_max {
            return Err(too_large);
        }
        let reserved = self.bytes.clone().acquire_many_owned(permits).await;
        Ok(reserved.expect("the pool's semaphore is never closed"))
    }
}
// ANCHOR_END: pool

/// One request frame, holding its bytes of the [`RequestPool`] until dropped.
#[derive(Debug)]
pub struct Frame {
    pub bytes: Bytes,
    _reserved: Option<OwnedSemaphorePermit>,
}

/// Reads one connection's frames, in order.
#[derive(Debug)]
pub struct FrameReader {
    buf: BytesMut,
    request_bytes_max: usize,
    pool: Option<Arc<RequestPool>>,
    /// `connections.max.idle.ms`: the longest a read waits for a byte.
    idle: Duration,
}

impl FrameReader {
    pub fn new(request_bytes_max: usize, pool: Option<Arc<RequestPool>>, idle: Duration) -> Self {
        FrameReader { buf: BytesMut::new(), request_bytes_max, pool, idle }
    }

    // ANCHOR: read_frame
    /// The next frame; `None` when the client closed between frames. `Err`
    /// (idle too long, closed mid-frame, a bad size) means close the connection.
    pub async fn read_frame<R: AsyncRead + Unpin>(
        &mut self,
        stream: &mut R,
    ) -> Result<Option<Frame>, String> {
        let mut reserved = None;
        loop {
            if let Some(size) = frame_size(&self.buf, self.request_bytes_max).map_err(|e| e.to_string())? {
                if let (Some(pool), None) = (&self.pool, &reserved) {
                    // Not a byte more is read from this client until the pool has room.
                    reserved = Some(pool.reserve(size).await.map_err(|e| e.to_string())?);
                }
                if let Some(bytes) =
                    parse_frame(&mut self.buf, self.request_bytes_max).map_err(|e| e.to_string())?
                {
                    return Ok(Some(Frame { bytes, _reserved: reserved }));
                }
            }
            self.buf.reserve(READ_CHUNK_BYTES);
            match tokio::time::timeout(self.idle, stream.read_buf(&mut self.buf)).await {
                Err(_) => return Err("idle for connections.max.idle.ms".into()),
                Ok(Ok(0)) if self.buf.is_empty() => return Ok(None),
                Ok(Ok(0)) => {
                    return Err(format!("peer closed mid-request ({} bytes pending)", self.buf.len()))
                }
                Ok(Ok(_)) => {}
                Ok(Err(e)) => return Err(e.to_string()),
            }
        }
    }
    // ANCHOR_END: read_frame
}

#[cfg(test)]
mod tests {
    use super::*;

    const IDLE: Duration = Duration::from_secs(10);

    fn frame(body: &[u8]) -> Vec<u8> {
        [&(body.len() as i32).to_be_bytes()[..], body].concat()
    }

    /// A frame announcing 100 MB, of which ten bytes ever arrive, costs the
    /// connection one read chunk of memory, not 100 MB.
    #[tokio::test]
    async fn the_buffer_grows_with_the_bytes_not_the_announcement() {
        let announced = 100 * 1024 * 1024;
        let mut reader = FrameReader::new(announced, None, IDLE);
        let mut client = &[&(announced as i32).to_be_bytes()[..], b"ten bytes!"].concat()[..];
        let closed = reader.read_frame(&mut client).await.unwrap_err();
        assert!(closed.contains("mid-request"), "{closed}");
        assert!(reader.buf.capacity() <= 2 * READ_CHUNK_BYTES, "capacity {}", reader.buf.capacity());
    }

    /// Frames come out whole and in order, and a frame holds its bytes of the
    /// pool exactly until it is dropped (the request has been handled).
    #[tokio::test]
    async fn a_frame_holds_its_bytes_of_the_pool_until_dropped() {
        let pool = Arc::new(RequestPool::new(100));
        let mut reader = FrameReader::new(1_000, Some(pool.clone()), IDLE);
        let mut client = &[frame(&[1; 60]), frame(&[2; 30])].concat()[..];
        let first = reader.read_frame(&mut client).await.unwrap().unwrap();
        assert_eq!(first.bytes, Bytes::from(vec![1; 60]));
        assert_eq!(pool.available_bytes(), 40);
        drop(first);
        let second = reader.read_frame(&mut client).await.unwrap().unwrap();
        assert_eq!((second.bytes.len(), pool.available_bytes()), (30, 70));
        drop(second);
        assert!(reader.read_frame(&mut client).await.unwrap().is_none(), "clean close between frames");
        assert_eq!(pool.available_bytes(), 100);
    }

    /// A frame under `socket.request.max.bytes` but larger than the whole pool
    /// could never be read: refused at its size prefix, naming the setting.
    #[tokio::test]
    async fn a_frame_larger_than_the_pool_is_refused() {
        let pool = Arc::new(RequestPool::new(100));
        let mut reader = FrameReader::new(1_000, Some(pool.clone()), IDLE);
        let mut client = &frame(&[0; 101])[..4];
        let refused = reader.read_frame(&mut client).await.unwrap_err();
        assert!(refused.contains("queued.max.request.bytes"), "{refused}");
        assert_eq!(pool.available_bytes(), 100);
    }
}
