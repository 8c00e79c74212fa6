//! Kafka's framing: every request and response is a 4-byte big-endian size
//! followed by that many bytes.
//!
//! A size above `socket.request.max.bytes` (100 MiB by default) or below zero is
//! not a request at all — a client speaking another protocol, or garbage — and
//! the broker closes the connection rather than allocate for it.

use bytes::{Buf, Bytes, BytesMut};

/// Why the bytes on a connection are not Kafka frames.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FrameError {
    /// The size prefix exceeds `socket.request.max.bytes`.
    TooLarge { size: i32, max: usize },
    /// The size prefix is negative.
    Negative(i32),
}

impl std::fmt::Display for FrameError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FrameError::TooLarge { size, max } => {
                write!(f, "request of {size} bytes exceeds socket.request.max.bytes {max}")
            }
            FrameError::Negative(size) => write!(f, "negative request size {size}"),
        }
    }
}

// ANCHOR: parse_frame
/// Takes one whole frame off the front of `buf`, if one is there.
pub fn parse_frame(buf: &mut BytesMut, max_bytes: usize) -> Result<Option<Bytes>, FrameError> {
    if buf.len() < 4 {
        return Ok(None);
    }
    let size = i32::from_be_bytes(buf[..4].try_into().expect("4 bytes"));
    if size < 0 {
        return Err(FrameError::Negative(size));
    }
    if size as usize > max_bytes {
        return Err(FrameError::TooLarge { size, max: max_bytes });
    }
    if buf.len() < 4 + size as usize {
        buf.reserve(4 + size as usize - buf.len());
        return Ok(None);
    }
    buf.advance(4);
    Ok(Some(buf.split_to(size as usize).freeze()))
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

    #[test]
    fn garbage_sizes_are_errors() {
        let mut buf = BytesMut::from(&[0xff, 0xff, 0xff, 0xff][..]);
        assert_eq!(parse_frame(&mut buf, 100), Err(FrameError::Negative(-1)));
        let mut buf = BytesMut::from(&b"GET / HTTP/1.1\r\n"[..]);
        assert!(matches!(parse_frame(&mut buf, 100), Err(FrameError::TooLarge { .. })));
    }
}
