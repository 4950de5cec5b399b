//! OTLP values and attribute lists serialised as plain JSON, for the `json` line format and for
//! label and metadata values that are not strings; in a module of its own because both the
//! lines ([`super::line`]) and the names and values of labels ([`super::names`]) use it.
//!
//! Serialising never fails: bytes become hex, non-finite doubles strings.

use serde::Serialize;
use serde::ser::{SerializeMap, SerializeSeq, Serializer};
use weir_pipeline::otlp::common::v1::{AnyValue, KeyValue, any_value::Value};

/// An OTLP value serialised as plain JSON: strings, numbers, booleans, arrays, objects; bytes
/// as hex; an unset value as `null`.
pub(crate) struct JsonAny<'a>(pub &'a AnyValue);

impl Serialize for JsonAny<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match &self.0.value {
            None => s.serialize_unit(),
            Some(Value::StringValue(v)) => s.serialize_str(v),
            Some(Value::BoolValue(v)) => s.serialize_bool(*v),
            Some(Value::IntValue(v)) => s.serialize_i64(*v),
            // A profiles dictionary index: meaningless outside its profile, written as the index.
            Some(Value::StringValueStrindex(i)) => s.serialize_i32(*i),
            Some(Value::DoubleValue(v)) if v.is_finite() => s.serialize_f64(*v),
            Some(Value::DoubleValue(v)) => s.serialize_str(&v.to_string()),
            Some(Value::BytesValue(v)) => s.serialize_str(&const_hex::encode(v)),
            Some(Value::ArrayValue(a)) => {
                let mut seq = s.serialize_seq(Some(a.values.len()))?;
                for v in &a.values {
                    seq.serialize_element(&JsonAny(v))?;
                }
                seq.end()
            }
            Some(Value::KvlistValue(kv)) => JsonAttributes(&kv.values).serialize(s),
        }
    }
}

/// Key/values serialised as one JSON object.
pub(crate) struct JsonAttributes<'a>(pub &'a [KeyValue]);

impl Serialize for JsonAttributes<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for kv in self.0 {
            match &kv.value {
                Some(v) => map.serialize_entry(&kv.key, &JsonAny(v))?,
                None => map.serialize_entry(&kv.key, &())?,
            }
        }
        map.end()
    }
}
