//! Batch compression codecs: the whole record section of a batch is compressed
//! as one unit, so repeated keys and field names across records compress away.
//!
//! Chapter 4 is about when to compress and what it buys; this module only knows
//! Kafka's framing for each codec (attributes bits 0–2):
//!
//! | code | codec  | framing on the wire |
//! |------|--------|---------------------|
//! | 0    | none   | — |
//! | 1    | gzip   | a gzip member (RFC 1952) |
//! | 2    | snappy | xerial's block framing, as the Java client writes it (raw snappy is read too, as librdkafka may send it) |
//! | 3    | lz4    | the LZ4 frame format |
//! | 4    | zstd   | a zstd frame |
//!
//! The codecs themselves come from crates: writing them is not the lesson.

use std::io::{Read, Write};

use bytes::Bytes;

use super::batch::BatchError;

/// A batch compression codec.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Compression {
    None,
    Gzip,
    Snappy,
    Lz4,
    Zstd,
}

/// xerial snappy-java's stream header: magic, then version 1 and compatible version 1.
const XERIAL_MAGIC: [u8; 8] = [0x82, b'S', b'N', b'A', b'P', b'P', b'Y', 0];
const XERIAL_HEADER_LEN: usize = 16;
/// Decompressed output is capped: a batch is bounded by `message.max.bytes`, and
/// a "zip bomb" must be an error, not an out-of-memory.
pub const MAX_DECOMPRESSED_BYTES: usize = 256 * 1024 * 1024;

impl Compression {
    /// The codec in a batch's attributes; codes 5–7 are corrupt.
    pub fn from_attributes(attributes: u16) -> Result<Self, BatchError> {
        Ok(match attributes & 0x07 {
            0 => Compression::None,
            1 => Compression::Gzip,
            2 => Compression::Snappy,
            3 => Compression::Lz4,
            4 => Compression::Zstd,
            other => return Err(BatchError::InvalidRecords(format!("unknown compression codec {other}"))),
        })
    }

    /// The attribute bits for this codec.
    pub fn code(self) -> u16 {
        match self {
            Compression::None => 0,
            Compression::Gzip => 1,
            Compression::Snappy => 2,
            Compression::Lz4 => 3,
            Compression::Zstd => 4,
        }
    }

    /// The name Kafka uses (`compression.type`, and `compresscodec` in dump-log).
    pub fn name(self) -> &'static str {
        match self {
            Compression::None => "none",
            Compression::Gzip => "gzip",
            Compression::Snappy => "snappy",
            Compression::Lz4 => "lz4",
            Compression::Zstd => "zstd",
        }
    }

    /// Parses a `compression.type` value (not `producer` or `uncompressed`,
    /// which are topic-level choices handled by the broker).
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "none" => Compression::None,
            "gzip" => Compression::Gzip,
            "snappy" => Compression::Snappy,
            "lz4" => Compression::Lz4,
            "zstd" => Compression::Zstd,
            _ => return None,
        })
    }

    /// Decompresses a batch's record section.
    pub fn decompress(self, data: Bytes) -> Result<Bytes, String> {
        let mut out = Vec::new();
        let limit = MAX_DECOMPRESSED_BYTES as u64 + 1;
        let result = match self {
            Compression::None => return Ok(data),
            Compression::Gzip => flate2::read::GzDecoder::new(&data[..]).take(limit).read_to_end(&mut out),
            Compression::Lz4 => {
                lz4_flex::frame::FrameDecoder::new(&data[..]).take(limit).read_to_end(&mut out)
            }
            Compression::Zstd => {
                zstd::stream::read::Decoder::new(&data[..]).and_then(|d| d.take(limit).read_to_end(&mut out))
            }
            Compression::Snappy => return snappy_decompress(&data).map(Bytes::from),
        };
        result.map_err(|e| format!("{} decompression failed: {e}", self.name()))?;
        if out.len() > MAX_DECOMPRESSED_BYTES {
            return Err(format!("decompressed records exceed {MAX_DECOMPRESSED_BYTES} bytes"));
        }
        Ok(Bytes::from(out))
    }

    /// Compresses a batch's record section.
    pub fn compress(self, data: &[u8]) -> Vec<u8> {
        let io = "writing to a Vec cannot fail";
        match self {
            Compression::None => data.to_vec(),
            Compression::Gzip => {
                let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
                enc.write_all(data).expect(io);
                enc.finish().expect(io)
            }
            Compression::Lz4 => {
                let mut enc = lz4_flex::frame::FrameEncoder::new(Vec::new());
                enc.write_all(data).expect(io);
                enc.finish().expect(io)
            }
            Compression::Zstd => zstd::bulk::compress(data, 3).expect(io),
            Compression::Snappy => snappy_compress_xerial(data),
        }
    }
}

fn snappy_decompress(data: &[u8]) -> Result<Vec<u8>, String> {
    let bad = |e: snap::Error| format!("snappy decompression failed: {e}");
    if data.len() < XERIAL_HEADER_LEN || data[..8] != XERIAL_MAGIC {
        let len = snap::raw::decompress_len(data).map_err(bad)?;
        if len > MAX_DECOMPRESSED_BYTES {
            return Err(format!("snappy block claims {len} bytes"));
        }
        return snap::raw::Decoder::new().decompress_vec(data).map_err(bad);
    }
    let mut out = Vec::new();
    let mut pos = XERIAL_HEADER_LEN;
    while pos < data.len() {
        if data.len() - pos < 4 {
            return Err("truncated xerial snappy block length".into());
        }
        let len = u32::from_be_bytes(data[pos..pos + 4].try_into().expect("4 bytes")) as usize;
        pos += 4;
        if data.len() - pos < len {
            return Err("truncated xerial snappy block".into());
        }
        let block = &data[pos..pos + len];
        if out.len() + snap::raw::decompress_len(block).map_err(bad)? > MAX_DECOMPRESSED_BYTES {
            return Err(format!("decompressed records exceed {MAX_DECOMPRESSED_BYTES} bytes"));
        }
        out.extend(snap::raw::Decoder::new().decompress_vec(block).map_err(bad)?);
        pos += len;
    }
    Ok(out)
}

fn snappy_compress_xerial(data: &[u8]) -> Vec<u8> {
    // snappy-java's default block size is 32 KiB.
    let mut out = XERIAL_MAGIC.to_vec();
    out.extend_from_slice(&1i32.to_be_bytes());
    out.extend_from_slice(&1i32.to_be_bytes());
    let mut encoder = snap::raw::Encoder::new();
    for chunk in data.chunks(32 * 1024) {
        let block = encoder.compress_vec(chunk).expect("snappy block within limits");
        out.extend_from_slice(&(block.len() as u32).to_be_bytes());
        out.extend_from_slice(&block);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Every codec returns the bytes it was given.
        #[test]
        fn round_trip(data in proptest::collection::vec(any::<u8>(), 0..5000)) {
            for codec in [Compression::None, Compression::Gzip, Compression::Snappy, Compression::Lz4, Compression::Zstd] {
                let packed = codec.compress(&data);
                prop_assert_eq!(&codec.decompress(Bytes::from(packed)).unwrap()[..], &data[..]);
            }
        }
    }

    /// Raw (unframed) snappy, as librdkafka may send it, is read too.
    #[test]
    fn raw_snappy_is_accepted() {
        let data = b"hello hello hello hello".repeat(10);
        let raw = snap::raw::Encoder::new().compress_vec(&data).unwrap();
        assert_eq!(&Compression::Snappy.decompress(Bytes::from(raw)).unwrap()[..], &data[..]);
    }

    /// Garbage is an error for every codec, never a panic.
    #[test]
    fn garbage_is_an_error() {
        for codec in [Compression::Gzip, Compression::Snappy, Compression::Lz4, Compression::Zstd] {
            assert!(codec.decompress(Bytes::from_static(b"\x00\x01garbage")).is_err(), "{codec:?}");
        }
    }
}
