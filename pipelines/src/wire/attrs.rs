//! Attributes on the wire: a `KeyValue` indexed as the ranges of its key and value, for any
//! message that holds a repeated `KeyValue` field. Nested arrays and key-value lists are
//! checked (UTF-8, wire types) but indexed only as their range. Fails as
//! [`super::schema::walk`] does.

use std::ops::Range;

use super::WireError;
use super::reader::{Field, Fields, WireType};
use super::schema::{self, Msg};
use super::view::Nest;

/// An `AnyValue` as the view reads it.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// No value set.
    Empty,
    /// A string: its bytes.
    Str(Range<usize>),
    /// A bool.
    Bool(bool),
    /// An int.
    Int(i64),
    /// A double.
    Double(f64),
    /// Bytes: their range.
    Bytes(Range<usize>),
    /// An array: the `ArrayValue` message.
    Array(Range<usize>),
    /// A key-value list: the `KeyValueList` message.
    KvList(Range<usize>),
    /// An index into a string table (profiles).
    StrIndex(i32),
}

/// One `KeyValue`.
#[derive(Debug, Clone, PartialEq)]
pub struct Attr {
    /// The `KeyValue` field in its parent.
    pub field: Nest,
    /// The key's bytes (empty range when absent).
    pub key: Range<usize>,
    /// The `AnyValue` field, when present.
    pub any: Option<Nest>,
    /// The value.
    pub value: Value,
}

/// Reads the `KeyValue` fields numbered `attr_field` of the message `msg` in field `f`, at
/// nesting `depth` (of `f`'s message), into `out`.
pub fn read_attrs(
    buf: &[u8],
    f: &Field,
    msg: &'static Msg,
    attr_field: u32,
    depth: usize,
    out: &mut Vec<Attr>,
) -> Result<(), WireError> {
    read_attrs_and(buf, f, msg, attr_field, depth, out, |_| {})
}

/// [`read_attrs`], showing `other` every other known field of the message (after its checks;
/// a nested message among them is checked, not shown inside).
pub fn read_attrs_and(
    buf: &[u8],
    f: &Field,
    msg: &'static Msg,
    attr_field: u32,
    depth: usize,
    out: &mut Vec<Attr>,
    mut other: impl FnMut(&Field),
) -> Result<(), WireError> {
    schema::walk(buf, f.value.clone(), msg, depth, |spec, kv| {
        if spec.number != attr_field {
            other(kv);
            return Ok(false);
        }
        read_one(buf, kv, depth + 1, out)?;
        Ok(true)
    })
}

/// Reads the `KeyValue` in field `kv`, at nesting `depth`, into `out`.
pub fn read_one(
    buf: &[u8],
    kv: &Field,
    depth: usize,
    out: &mut Vec<Attr>,
) -> Result<(), WireError> {
    out.push(read_kv(buf, kv, depth)?);
    Ok(())
}

impl Attr {
    /// Indexes `bytes`: exactly one length-delimited field holding a `KeyValue` (as an edit
    /// writes an attribute), checked as the view checks attributes; the ranges are into
    /// `bytes`. Fails as [`super::View::parse`] would on the same `KeyValue`, or with
    /// [`WireError::Unusual`] when `bytes` is not one such field.
    pub fn parse_field(bytes: &[u8]) -> Result<Attr, WireError> {
        let mut fields = Fields::new(bytes, 0..bytes.len());
        let mut kv = Field::EMPTY;
        let one = fields.advance(&mut kv)?;
        if !one || kv.wire != WireType::Len || kv.value.end != bytes.len() {
            return Err(WireError::Unusual {
                at: 0,
                why: "not one length-delimited field",
            });
        }
        read_kv(bytes, &kv, 1)
    }
}

/// Reads the `KeyValue` in field `kv`, at nesting `depth`.
fn read_kv(buf: &[u8], kv: &Field, depth: usize) -> Result<Attr, WireError> {
    let mut attr = Attr {
        field: Nest {
            start: kv.start,
            value: kv.value.clone(),
        },
        key: kv.value.start..kv.value.start,
        any: None,
        value: Value::Empty,
    };
    schema::walk(
        buf,
        kv.value.clone(),
        &schema::KEY_VALUE,
        depth,
        |spec, f| match spec.number {
            1 => {
                attr.key = f.value.clone();
                Ok(true)
            }
            2 => {
                attr.any = Some(Nest {
                    start: f.start,
                    value: f.value.clone(),
                });
                attr.value = any_value(buf, f, depth + 1)?;
                Ok(true)
            }
            _ => Ok(false),
        },
    )?;
    Ok(attr)
}

/// Reads the `AnyValue` in field `f`, at nesting `depth`.
pub fn any_value(buf: &[u8], f: &Field, depth: usize) -> Result<Value, WireError> {
    let mut value = Value::Empty;
    schema::walk(
        buf,
        f.value.clone(),
        &schema::ANY_VALUE,
        depth,
        |spec, v| {
            value = match spec.number {
                1 => Value::Str(v.value.clone()),
                2 => Value::Bool(v.number_value != 0),
                3 => Value::Int(v.number_value as i64),
                4 => Value::Double(f64::from_bits(v.number_value)),
                5 => Value::Array(v.value.clone()),
                6 => Value::KvList(v.value.clone()),
                7 => Value::Bytes(v.value.clone()),
                _ => Value::StrIndex(v.number_value as i32),
            };
            // Arrays and lists are checked by the walk itself.
            Ok(false)
        },
    )?;
    Ok(value)
}
