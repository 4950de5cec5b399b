//! Reading the protobuf wire format: varints, keys and the fields of one message, with the
//! checks prost makes (a varint of more than ten bytes or past 64 bits, a key past 32 bits, field
//! number 0, wire types 6 and 7, a length past the end of the buffer). Fails with a
//! [`WireError`] naming the problem and its offset; never panics on any input.

use std::ops::Range;

use super::WireError;

/// How a field's value is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WireType {
    /// A varint (`int32`, `uint64`, `bool`, enums).
    Varint,
    /// Eight little-endian bytes (`fixed64`, `double`).
    Fixed64,
    /// A length, then that many bytes (strings, bytes, messages, packed scalars).
    Len,
    /// The start of a group (deprecated).
    StartGroup,
    /// The end of a group (deprecated).
    EndGroup,
    /// Four little-endian bytes (`fixed32`, `float`).
    Fixed32,
}

/// One field of a message as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    /// The field number.
    pub number: u32,
    /// How the value is written.
    pub wire: WireType,
    /// Where the field starts (its key), in the buffer.
    pub start: usize,
    /// The value's bytes: the payload of a length-delimited field (without its length), the
    /// varint's bytes, or the fixed bytes. Empty for a group marker.
    pub value: Range<usize>,
    /// The varint's value, or the fixed value's bits; 0 for length-delimited fields.
    pub number_value: u64,
}

/// Reads a varint at `*pos`, as prost does: at most ten bytes, the tenth at most 1.
pub fn varint(buf: &[u8], pos: &mut usize) -> Result<u64, WireError> {
    let mut value = 0u64;
    for i in 0..10 {
        let Some(&b) = buf.get(*pos) else {
            return Err(WireError::Truncated { at: *pos });
        };
        *pos += 1;
        if i == 9 && b > 1 {
            return Err(WireError::BadVarint { at: *pos - 1 });
        }
        value |= u64::from(b & 0x7f) << (7 * i);
        if b < 0x80 {
            return Ok(value);
        }
    }
    Err(WireError::BadVarint { at: *pos - 1 })
}

/// Appends `value` as a varint.
pub fn put_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// The fields of the message in `buf[range]`, in order.
pub struct Fields<'a> {
    buf: &'a [u8],
    pos: usize,
    end: usize,
}

impl<'a> Fields<'a> {
    /// The fields of `buf[range]`; `range` must lie inside `buf`.
    pub fn new(buf: &'a [u8], range: Range<usize>) -> Self {
        Self {
            buf,
            pos: range.start,
            end: range.end.min(buf.len()),
        }
    }

    /// Reads the next field into `out`, in place: a walk reuses one `Field` rather than
    /// moving a `Result<Field, _>` per field (whose wide copy, just after the narrow stores
    /// that filled it, stalls on store forwarding). `Ok(false)` at the message's end; an
    /// error ends the message.
    pub fn advance(&mut self, out: &mut Field) -> Result<bool, WireError> {
        if self.pos >= self.end {
            return Ok(false);
        }
        match self.read(out) {
            Ok(()) => Ok(true),
            Err(e) => {
                self.pos = self.end;
                Err(e)
            }
        }
    }

    fn read(&mut self, out: &mut Field) -> Result<(), WireError> {
        let start = self.pos;
        // Reading stops at the message's end, not the buffer's.
        let buf = &self.buf[..self.end];
        let key = varint(buf, &mut self.pos)?;
        if key > u64::from(u32::MAX) {
            return Err(WireError::BadKey { at: start });
        }
        let number = (key >> 3) as u32;
        if number == 0 {
            return Err(WireError::BadKey { at: start });
        }
        let wire = match key & 7 {
            0 => WireType::Varint,
            1 => WireType::Fixed64,
            2 => WireType::Len,
            3 => WireType::StartGroup,
            4 => WireType::EndGroup,
            5 => WireType::Fixed32,
            _ => return Err(WireError::BadKey { at: start }),
        };
        let (value, number_value) = match wire {
            WireType::Varint => {
                let from = self.pos;
                let v = varint(buf, &mut self.pos)?;
                (from..self.pos, v)
            }
            WireType::Fixed64 | WireType::Fixed32 => {
                let n = if wire == WireType::Fixed64 { 8 } else { 4 };
                let from = self.pos;
                let bytes = buf
                    .get(from..from + n)
                    .ok_or(WireError::Truncated { at: from })?;
                let mut le = [0u8; 8];
                le[..n].copy_from_slice(bytes);
                self.pos += n;
                (from..self.pos, u64::from_le_bytes(le))
            }
            WireType::Len => {
                let len = varint(buf, &mut self.pos)?;
                let from = self.pos;
                let to = usize::try_from(len)
                    .ok()
                    .and_then(|l| from.checked_add(l))
                    .filter(|&to| to <= buf.len())
                    .ok_or(WireError::Truncated { at: from })?;
                self.pos = to;
                (from..to, 0)
            }
            WireType::StartGroup | WireType::EndGroup => (self.pos..self.pos, 0),
        };
        out.number = number;
        out.wire = wire;
        out.start = start;
        out.value = value;
        out.number_value = number_value;
        Ok(())
    }
}

impl Field {
    /// A placeholder for [`Fields::advance`] to fill.
    pub const EMPTY: Field = Field {
        number: 0,
        wire: WireType::Varint,
        start: 0,
        value: 0..0,
        number_value: 0,
    };
}

impl Iterator for Fields<'_> {
    type Item = Result<Field, WireError>;

    fn next(&mut self) -> Option<Self::Item> {
        let mut field = Field::EMPTY;
        match self.advance(&mut field) {
            Ok(true) => Some(Ok(field)),
            Ok(false) => None,
            Err(e) => Some(Err(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_round_trip_and_their_length_is_exact() {
        for v in [0, 1, 127, 128, 300, u64::from(u32::MAX), u64::MAX] {
            let mut out = Vec::new();
            put_varint(&mut out, v);
            assert_eq!(out.len(), prost::encoding::encoded_len_varint(v), "{v}");
            let mut pos = 0;
            assert_eq!(varint(&out, &mut pos), Ok(v));
            assert_eq!(pos, out.len());
        }
    }

    #[test]
    fn an_eleven_byte_varint_and_a_cut_one_are_errors() {
        let long = [0xffu8; 11];
        assert!(matches!(
            varint(&long, &mut 0),
            Err(WireError::BadVarint { .. })
        ));
        assert!(matches!(
            varint(&[0x80], &mut 0),
            Err(WireError::Truncated { at: 1 })
        ));
    }

    #[test]
    fn fields_stop_at_the_message_end_and_name_a_length_past_it() {
        // field 1, len 3, "abc"; field 2 varint 5
        let buf = [0x0a, 3, b'a', b'b', b'c', 0x10, 5];
        let fields: Vec<Field> = Fields::new(&buf, 0..buf.len())
            .collect::<Result<_, _>>()
            .expect("valid");
        assert_eq!(fields.len(), 2);
        assert_eq!(fields[0].value, 2..5);
        assert_eq!(fields[1].number_value, 5);
        let cut = Fields::new(&buf, 0..4).next().expect("a field");
        assert_eq!(cut, Err(WireError::Truncated { at: 2 }));
        let zero = Fields::new(&[0x00, 1], 0..2).next().expect("a field");
        assert_eq!(zero, Err(WireError::BadKey { at: 0 }));
    }
}
