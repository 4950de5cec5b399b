//! The OTLP messages the wire view reads, as tables of field numbers and kinds, and a checker
//! that walks any of them as prost would decode it: a known field of the wrong wire type or a
//! string that is not UTF-8 is an error; unknown fields are skipped. What prost reads but the
//! view does not index — a singular field written twice (prost keeps the last or merges), two
//! values in a oneof, groups, nesting deeper than [`MAX_DEPTH`] — is [`WireError::Unusual`], so
//! that the caller decodes such a request the old way.

use std::ops::Range;

use super::WireError;
use super::reader::{Field, Fields, WireType};

pub use super::tables::*;

/// Nesting the view reads; prost's own limit is 100.
pub const MAX_DEPTH: usize = 64;

/// How a known field is written and read.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    /// A varint scalar (integers, bools, enums).
    Varint,
    /// `fixed64` or `double`.
    Fixed64,
    /// `fixed32` or `float`.
    Fixed32,
    /// A UTF-8 string.
    Str,
    /// Bytes.
    Bytes,
    /// A nested message.
    Msg(&'static Msg),
    /// A repeated `fixed64` or `double`: packed (one length-delimited run of 8-byte values) or
    /// one field per value; prost reads both.
    Packed64,
    /// A repeated varint scalar: packed or one field per value.
    PackedVarint,
}

/// A known field.
#[derive(Debug, Clone, Copy)]
pub struct Spec {
    /// The field number.
    pub number: u32,
    /// Its kind.
    pub kind: Kind,
    /// Whether it may appear more than once.
    pub repeated: bool,
    /// Whether it is one of the message's oneof fields (at most one of which may be present).
    pub oneof: bool,
}

/// A message type.
#[derive(Debug)]
pub struct Msg {
    /// Its name, for errors.
    pub name: &'static str,
    /// Its known fields.
    pub fields: &'static [Spec],
}

impl Msg {
    fn spec(&self, number: u32) -> Option<&Spec> {
        self.fields.iter().find(|s| s.number == number)
    }
}

/// Walks the fields of `msg` in `buf[range]` at nesting `depth`, calling `visit` with each known
/// field (after its checks) and checking nested messages the visitor does not take: `visit`
/// returns true when it has read the field's message itself.
pub fn walk<F>(
    buf: &[u8],
    range: Range<usize>,
    msg: &'static Msg,
    depth: usize,
    mut visit: F,
) -> Result<(), WireError>
where
    F: FnMut(&Spec, &Field) -> Result<bool, WireError>,
{
    if depth > MAX_DEPTH {
        return Err(WireError::Unusual {
            at: range.start,
            why: "nested too deep",
        });
    }
    let mut seen = 0u64;
    let mut oneof_seen = false;
    let mut fields = Fields::new(buf, range);
    let mut field = Field::EMPTY;
    while fields.advance(&mut field)? {
        let Some(spec) = msg.spec(field.number) else {
            if matches!(field.wire, WireType::StartGroup | WireType::EndGroup) {
                return Err(WireError::Unusual {
                    at: field.start,
                    why: "a group",
                });
            }
            continue;
        };
        let bit = 1u64 << (field.number % 64);
        if (!spec.repeated && seen & bit != 0) || (spec.oneof && oneof_seen) {
            return Err(WireError::Unusual {
                at: field.start,
                why: "a singular field written twice",
            });
        }
        seen |= bit;
        oneof_seen |= spec.oneof;
        let wanted = match spec.kind {
            Kind::Varint => WireType::Varint,
            Kind::Fixed64 => WireType::Fixed64,
            Kind::Fixed32 => WireType::Fixed32,
            Kind::Str | Kind::Bytes | Kind::Msg(_) => WireType::Len,
            Kind::Packed64 if field.wire == WireType::Fixed64 => WireType::Fixed64,
            Kind::PackedVarint if field.wire == WireType::Varint => WireType::Varint,
            Kind::Packed64 | Kind::PackedVarint => {
                packed(buf, &field, spec.kind, msg)?;
                WireType::Len
            }
        };
        if field.wire != wanted {
            return Err(WireError::WrongType {
                message: msg.name,
                field: field.number,
                at: field.start,
            });
        }
        if let Kind::Str = spec.kind
            && std::str::from_utf8(&buf[field.value.clone()]).is_err()
        {
            return Err(WireError::BadUtf8 {
                message: msg.name,
                field: field.number,
                at: field.value.start,
            });
        }
        if !visit(spec, &field)?
            && let Kind::Msg(inner) = spec.kind
        {
            check(buf, field.value.clone(), inner, depth + 1)?;
        }
    }
    Ok(())
}

/// Checks the message `msg` in `buf[range]` without indexing it.
pub fn check(
    buf: &[u8],
    range: Range<usize>,
    msg: &'static Msg,
    depth: usize,
) -> Result<(), WireError> {
    walk(buf, range, msg, depth, |_, _| Ok(false))
}

/// Checks a packed run of a repeated scalar as prost reads it: whole 8-byte values, or varints
/// that end exactly at the run's end.
fn packed(buf: &[u8], field: &Field, kind: Kind, msg: &'static Msg) -> Result<(), WireError> {
    if field.wire != WireType::Len {
        return Err(WireError::WrongType {
            message: msg.name,
            field: field.number,
            at: field.start,
        });
    }
    let run = &buf[..field.value.end];
    match kind {
        Kind::Packed64 if !field.value.len().is_multiple_of(8) => Err(WireError::Truncated {
            at: field.value.start,
        }),
        Kind::PackedVarint => {
            let mut pos = field.value.start;
            while pos < field.value.end {
                super::reader::varint(run, &mut pos)?;
            }
            Ok(())
        }
        _ => Ok(()),
    }
}
