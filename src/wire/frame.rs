//! Kafka's framing: every request and response is a 4-byte big-endian size
//! followed by that many bytes.
//!
//! A size above `socket.request.max.bytes` (100 MiB by default) or below zero is
//! not a request at all — a client speaking another protocol, or garbage — and
//! the broker closes the connection rather than allocate for it. Below the
//! limit the size is still only a claim: parsing reserves nothing for it, and
//! [`super::reader`] grows a connection's buffer only as bytes arrive.

use bytes::{Buf, Bytes, BytesMut};

/// Why the bytes on a connection are not Kafka frames.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FrameError {
    /// The size prefix exceeds `socket.request.max.bytes`.
    TooLarge { size: i32, max: usize },
    /// The size prefix is negative.
    Negative(i32),
    /// The size prefix exceeds `queued.max.request.bytes`, the memory for
    /// requests of all connections together: it could never be read.
    AbovePool { size: usize, pool: usize },
}

impl std::fmt::Display for FrameError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FrameError::TooLarge { size, max } => {
                write!(f, "request of {size} bytes exceeds socket.request.max.bytes {max}")
            }
            FrameError::Negative(size) => write!(f, "negative request size {size}"),
            FrameError::AbovePool { size, pool } => {
                write!(f, "request of {size} bytes exceeds queued.max.request.bytes {pool}")
            }
        }
    }
}

// ANCHOR: parse_frame
/// Takes one whole frame off the front of `buf`, if one is there.
pub fn parse_frame(buf: &mut BytesMut, max_bytes: usize) -> Result<Option<Bytes>, FrameError> {
    match frame_size(buf, max_bytes)? {
        Some(size) if buf.len() >= 4 + size => {
            buf.advance(4);
            Ok(Some(buf.split_to(size).freeze()))
        }
        // Not all here yet; the size is a claim, so nothing is reserved for it.
        _ => Ok(None),
    }
}

/// The size of the frame at the front of `buf`, once its 4-byte prefix is there.
pub fn frame_size(buf: &[u8], max_bytes: usize) -> Result<Option<usize>, FrameError> {
    let Some(prefix) = buf.first_chunk::<4>() else {
        return Ok(None);
    };
    let size = i32::from_be_bytes(*prefix);
    if size < 0 {
        return Err(FrameError::Negative(size));
    }
    if size as usize > max_bytes {
        return Err(FrameError::TooLarge { size, max: max_bytes });
    }
    Ok(Some(size as usize))
}
// ANCHOR_END: parse_frame

#[cfg(test)]
mod tests {
    use super::*;

    /// Frames arrive in pieces and several at once; each comes out whole.
    #[test]
    fn splits_and_joins() {
        let mut buf = BytesMut::new();
        buf.extend_from_slice(&[0, 0, 0, 3, b'a']);
        assert_eq!(parse_frame(&mut buf, 100), Ok(None));
        buf.extend_from_slice(&[b'b', b'c', 0, 0, 0, 1, b'd']);
        assert_eq!(parse_frame(&mut buf, 100), Ok(Some(Bytes::from_static(b"abc"))));
        assert_eq!(parse_frame(&mut buf, 100), Ok(Some(Bytes::from_static(b"d"))));
        assert_eq!(parse_frame(&mut buf, 100), Ok(None));
    }

    /// A size prefix is a claim, not a fact: announcing 100 MB with ten bytes
    /// sent must not make the buffer 100 MB (200 such connections once reserved
    /// 20 GB of address space). The buffer grows with the bytes that arrive.
    #[test]
    fn an_announced_size_reserves_nothing() {
        let announced = 100 * 1024 * 1024;
        let mut buf = BytesMut::new();
        buf.extend_from_slice(&(announced as i32).to_be_bytes());
        buf.extend_from_slice(b"ten bytes!");
        assert_eq!(parse_frame(&mut buf, announced), Ok(None));
        assert!(buf.capacity() < 64 * 1024, "capacity {} for 14 bytes present", buf.capacity());
    }

    #[test]
    fn garbage_sizes_are_errors() {
        let mut buf = BytesMut::from(&[0xff, 0xff, 0xff, 0xff][..]);
        assert_eq!(parse_frame(&mut buf, 100), Err(FrameError::Negative(-1)));
        let mut buf = BytesMut::from(&b"GET / HTTP/1.1\r\n"[..]);
        assert!(matches!(parse_frame(&mut buf, 100), Err(FrameError::TooLarge { .. })));
    }
}
