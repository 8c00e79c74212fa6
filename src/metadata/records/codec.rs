//! Kafka's flexible-version encoding, the parts metadata records use:
//! big-endian integers, unsigned varints, compact strings and arrays (length
//! + 1, 0 for null), raw 16-byte UUIDs and tagged field sections.

use uuid::Uuid;

use super::DecodeError;

#[derive(Default)]
pub(super) struct Writer {
    pub(super) out: Vec<u8>,
}

impl Writer {
    pub(super) fn uvarint(&mut self, mut v: u32) {
        while v >= 0x80 {
            self.out.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.out.push(v as u8);
    }
    pub(super) fn i8(&mut self, v: i8) {
        self.out.push(v as u8);
    }
    pub(super) fn bool(&mut self, v: bool) {
        self.out.push(u8::from(v));
    }
    pub(super) fn i16(&mut self, v: i16) {
        self.out.extend_from_slice(&v.to_be_bytes());
    }
    pub(super) fn i32(&mut self, v: i32) {
        self.out.extend_from_slice(&v.to_be_bytes());
    }
    pub(super) fn i64(&mut self, v: i64) {
        self.out.extend_from_slice(&v.to_be_bytes());
    }
    pub(super) fn uuid(&mut self, v: &Uuid) {
        self.out.extend_from_slice(v.as_bytes());
    }
    /// A compact (nullable) string: length + 1, 0 for null.
    pub(super) fn string(&mut self, s: Option<&str>) {
        match s {
            None => self.uvarint(0),
            Some(s) => {
                self.uvarint(s.len() as u32 + 1);
                self.out.extend_from_slice(s.as_bytes());
            }
        }
    }
    /// Compact (non-null) bytes: length + 1, then the bytes.
    pub(super) fn bytes(&mut self, b: &[u8]) {
        self.uvarint(b.len() as u32 + 1);
        self.out.extend_from_slice(b);
    }
    pub(super) fn i32s(&mut self, list: Option<&Vec<i32>>) {
        match list {
            None => self.uvarint(0),
            Some(list) => {
                self.uvarint(list.len() as u32 + 1);
                list.iter().for_each(|v| self.i32(*v));
            }
        }
    }
    pub(super) fn uuids(&mut self, list: Option<&Vec<Uuid>>) {
        match list {
            None => self.uvarint(0),
            Some(list) => {
                self.uvarint(list.len() as u32 + 1);
                list.iter().for_each(|v| self.uuid(v));
            }
        }
    }
}

/// A struct's tagged fields, gathered in tag order and written at its end.
#[derive(Default)]
pub(super) struct Tagged {
    fields: Vec<(u32, Vec<u8>)>,
}

impl Tagged {
    /// Adds one field; callers add them in increasing tag order, as Kafka writes them.
    pub(super) fn field(&mut self, tag: u32, value: impl FnOnce(&mut Writer)) {
        assert!(self.fields.last().is_none_or(|(last, _)| *last < tag), "tags in order");
        let mut w = Writer::default();
        value(&mut w);
        self.fields.push((tag, w.out));
    }
    pub(super) fn write(self, w: &mut Writer) {
        w.uvarint(self.fields.len() as u32);
        for (tag, bytes) in self.fields {
            w.uvarint(tag);
            w.uvarint(bytes.len() as u32);
            w.out.extend_from_slice(&bytes);
        }
    }
}

pub(super) struct Reader<'a> {
    pub(super) buf: &'a [u8],
    pub(super) pos: usize,
}

impl<'a> Reader<'a> {
    pub(super) fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if self.buf.len() - self.pos < n {
            return Err(DecodeError::Truncated);
        }
        self.pos += n;
        Ok(&self.buf[self.pos - n..self.pos])
    }
    pub(super) fn uvarint(&mut self) -> Result<u32, DecodeError> {
        let mut v: u32 = 0;
        for i in 0..5 {
            let b = self.take(1)?[0];
            v |= u32::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(DecodeError::VarintTooLong)
    }
    pub(super) fn i8(&mut self) -> Result<i8, DecodeError> {
        Ok(self.take(1)?[0] as i8)
    }
    pub(super) fn bool(&mut self, field: &'static str) -> Result<bool, DecodeError> {
        match self.i8()? {
            0 => Ok(false),
            1 => Ok(true),
            value => Err(DecodeError::InvalidValue { field, value }),
        }
    }
    pub(super) fn i16(&mut self) -> Result<i16, DecodeError> {
        Ok(i16::from_be_bytes(self.take(2)?.try_into().expect("2 bytes")))
    }
    pub(super) fn i32(&mut self) -> Result<i32, DecodeError> {
        Ok(i32::from_be_bytes(self.take(4)?.try_into().expect("4 bytes")))
    }
    pub(super) fn i64(&mut self) -> Result<i64, DecodeError> {
        Ok(i64::from_be_bytes(self.take(8)?.try_into().expect("8 bytes")))
    }
    pub(super) fn uuid(&mut self) -> Result<Uuid, DecodeError> {
        Ok(Uuid::from_bytes(self.take(16)?.try_into().expect("16 bytes")))
    }
    pub(super) fn nullable_string(&mut self) -> Result<Option<String>, DecodeError> {
        let len = self.uvarint()?;
        if len == 0 {
            return Ok(None);
        }
        let bytes = self.take(len as usize - 1)?;
        String::from_utf8(bytes.to_vec()).map(Some).map_err(|_| DecodeError::NotUtf8)
    }
    pub(super) fn string(&mut self, field: &'static str) -> Result<String, DecodeError> {
        self.nullable_string()?.ok_or(DecodeError::UnexpectedNull(field))
    }
    /// Compact bytes that the schema does not let be null.
    pub(super) fn bytes(&mut self, field: &'static str) -> Result<Vec<u8>, DecodeError> {
        let len = self.uvarint()?;
        if len == 0 {
            return Err(DecodeError::UnexpectedNull(field));
        }
        Ok(self.take(len as usize - 1)?.to_vec())
    }
    /// A compact array's length, `None` for null. Each element is at least a
    /// byte, so a length past the bytes left is refused before it is trusted.
    pub(super) fn array_len(&mut self) -> Result<Option<usize>, DecodeError> {
        let len = self.uvarint()? as usize;
        if len == 0 {
            return Ok(None);
        }
        if len - 1 > self.buf.len() - self.pos {
            return Err(DecodeError::Truncated);
        }
        Ok(Some(len - 1))
    }
    pub(super) fn i32s(&mut self) -> Result<Option<Vec<i32>>, DecodeError> {
        self.array_len()?.map(|n| (0..n).map(|_| self.i32()).collect()).transpose()
    }
    pub(super) fn uuids(&mut self) -> Result<Option<Vec<Uuid>>, DecodeError> {
        self.array_len()?.map(|n| (0..n).map(|_| self.uuid()).collect()).transpose()
    }
    pub(super) fn structs<T>(
        &mut self,
        field: &'static str,
        mut one: impl FnMut(&mut Self) -> Result<T, DecodeError>,
    ) -> Result<Vec<T>, DecodeError> {
        let n = self.array_len()?.ok_or(DecodeError::UnexpectedNull(field))?;
        (0..n).map(|_| one(self)).collect()
    }
    pub(super) fn skip_tagged(&mut self) -> Result<(), DecodeError> {
        self.tagged(|_, _| Ok(false))
    }
    /// Reads a tagged field section: `known` reads a field it knows from a
    /// reader over exactly its bytes and says so; other fields are skipped.
    pub(super) fn tagged(
        &mut self,
        mut known: impl FnMut(u32, &mut Reader<'a>) -> Result<bool, DecodeError>,
    ) -> Result<(), DecodeError> {
        for _ in 0..self.uvarint()? {
            let tag = self.uvarint()?;
            let size = self.uvarint()? as usize;
            let mut field = Reader { buf: self.take(size)?, pos: 0 };
            known(tag, &mut field)?;
        }
        Ok(())
    }
}
