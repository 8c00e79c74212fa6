//! Zig-zag variable-length integers, as Kafka's records use them.
//!
//! A record inside a v2 batch stores its length, deltas, key and value sizes and
//! header counts as *varints*: the signed value is zig-zag mapped (`0, -1, 1, -2 …`
//! become `0, 1, 2, 3 …`) so small negative numbers stay short, then written seven
//! bits at a time, low group first, with the top bit of each byte saying "more
//! follows". This is protobuf's `sint32`/`sint64`, and Kafka's `ByteUtils.writeVarint`.

/// Why a varint could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VarintError {
    /// The buffer ended before the last byte of the varint.
    Truncated,
    /// More continuation bytes than the type can hold (5 for 32-bit, 10 for 64-bit).
    TooLong,
}

/// Reads a zig-zag varint of at most 32 bits; returns the value and the bytes used.
pub fn read_varint(buf: &[u8]) -> Result<(i32, usize), VarintError> {
    let (raw, used) = read_unsigned(buf, 5)?;
    if raw > u64::from(u32::MAX) {
        return Err(VarintError::TooLong);
    }
    let raw = raw as u32;
    Ok((((raw >> 1) as i32) ^ -((raw & 1) as i32), used))
}

/// Reads a zig-zag varlong of at most 64 bits; returns the value and the bytes used.
pub fn read_varlong(buf: &[u8]) -> Result<(i64, usize), VarintError> {
    let (raw, used) = read_unsigned(buf, 10)?;
    Ok((((raw >> 1) as i64) ^ -((raw & 1) as i64), used))
}

fn read_unsigned(buf: &[u8], max_bytes: usize) -> Result<(u64, usize), VarintError> {
    let mut value: u64 = 0;
    for (i, &byte) in buf.iter().enumerate() {
        if i == max_bytes {
            return Err(VarintError::TooLong);
        }
        value |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Ok((value, i + 1));
        }
    }
    if buf.len() >= max_bytes {
        Err(VarintError::TooLong)
    } else {
        Err(VarintError::Truncated)
    }
}

/// Appends `value` as a zig-zag varint.
pub fn write_varint(out: &mut Vec<u8>, value: i32) {
    write_unsigned(out, ((value << 1) ^ (value >> 31)) as u32 as u64);
}

/// Appends `value` as a zig-zag varlong.
pub fn write_varlong(out: &mut Vec<u8>, value: i64) {
    write_unsigned(out, ((value << 1) ^ (value >> 63)) as u64);
}

/// The number of bytes [`write_varint`] uses for `value`.
pub fn varint_len(value: i32) -> usize {
    unsigned_len(((value << 1) ^ (value >> 31)) as u32 as u64)
}

/// The number of bytes [`write_varlong`] uses for `value`.
pub fn varlong_len(value: i64) -> usize {
    unsigned_len(((value << 1) ^ (value >> 63)) as u64)
}

fn write_unsigned(out: &mut Vec<u8>, mut raw: u64) {
    while raw >= 0x80 {
        out.push((raw as u8) | 0x80);
        raw >>= 7;
    }
    out.push(raw as u8);
}

fn unsigned_len(raw: u64) -> usize {
    let bits = 64 - raw.max(1).leading_zeros() as usize;
    bits.div_ceil(7)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Values from Kafka's `ByteUtilsTest`: the zig-zag mapping puts small
    /// magnitudes, positive or negative, in one byte.
    #[test]
    fn known_encodings() {
        let cases: [(i32, &[u8]); 5] =
            [(0, &[0x00]), (-1, &[0x01]), (1, &[0x02]), (63, &[0x7e]), (-65, &[0x81, 0x01])];
        for (value, bytes) in cases {
            let mut out = Vec::new();
            write_varint(&mut out, value);
            assert_eq!(out, bytes, "encoding {value}");
            assert_eq!(read_varint(bytes), Ok((value, bytes.len())));
        }
    }

    #[test]
    fn truncated_and_overlong_are_errors() {
        assert_eq!(read_varint(&[0x80]), Err(VarintError::Truncated));
        assert_eq!(read_varint(&[]), Err(VarintError::Truncated));
        assert_eq!(read_varint(&[0xff; 6]), Err(VarintError::TooLong));
        assert_eq!(read_varlong(&[0xff; 11]), Err(VarintError::TooLong));
    }

    proptest! {
        /// Every i32 and i64 survives a round trip and reports its length.
        #[test]
        fn round_trip(a in any::<i32>(), b in any::<i64>()) {
            let mut out = Vec::new();
            write_varint(&mut out, a);
            prop_assert_eq!(out.len(), varint_len(a));
            prop_assert_eq!(read_varint(&out), Ok((a, out.len())));
            let mut out = Vec::new();
            write_varlong(&mut out, b);
            prop_assert_eq!(out.len(), varlong_len(b));
            prop_assert_eq!(read_varlong(&out), Ok((b, out.len())));
        }
    }
}
