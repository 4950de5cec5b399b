//! Label sets: a data point's attributes (and, with `resource_to_telemetry_conversion`, its
//! resource's), sanitised and merged with the labels the exporter owns.
//!
//! Rules, in the Collector's and Prometheus' order:
//! - attribute values become strings as the Collector's `AsString` does (integers and doubles
//!   in decimal, booleans `true`/`false`, bytes in base64, arrays and maps as JSON);
//! - attributes are taken in order of their original key, so when two keys sanitise to the same
//!   name (`a.b` and `a_b`) the values are joined with `;` in that order;
//! - a point's attribute wins over a resource attribute of the same key;
//! - labels the exporter owns (`job`, `instance`, the tenant label, `otel_scope_*`) win over
//!   attributes; `const_labels` / `external_labels` lose to them;
//! - empty values are dropped (Prometheus treats `l=""` as no label); the walker
//!   ([`super::points`]) also drops attributes named like a sample's own labels (`__name__`,
//!   `le` on histograms, `quantile` on summaries).
//!
//! The result is sorted by name with each name once. Nothing here fails.

use std::sync::Arc;

use weir_pipeline::otlp::common::v1::{AnyValue, KeyValue, any_value};

use super::names::Names;
use super::number::plain_float;

/// One label: a (translated) name and its value.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Label {
    /// The label name, shared with every series that has it.
    pub name: Arc<str>,
    /// The value, never empty.
    pub value: String,
}

impl Label {
    /// A label from a name and a value.
    pub fn new(name: impl Into<Arc<str>>, value: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            value: value.into(),
        }
    }
}

/// Where a label came from; lower wins, and only attributes join on collision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Rank {
    Owned,
    Attribute,
    Default,
}

/// The inputs of one series' label set.
#[derive(Debug, Clone, Copy)]
pub struct LabelInputs<'a> {
    /// The data point's attributes.
    pub attributes: &'a [KeyValue],
    /// Resource attributes copied onto the series (`resource_to_telemetry_conversion`).
    pub promoted: &'a [KeyValue],
    /// Labels the exporter owns, sorted by name: they replace attributes of the same name.
    pub owned: &'a [Label],
    /// `const_labels` / `external_labels`, sorted by name: added when no other label has it.
    pub defaults: &'a [Label],
}

/// Builds the label set of `inputs` into `out` (cleared first), sorted by name.
pub fn build(names: &Names, inputs: LabelInputs<'_>, out: &mut Vec<Label>) {
    let LabelInputs {
        attributes,
        promoted,
        owned,
        defaults,
    } = inputs;
    let mut raw: Vec<(&str, &AnyValue)> = Vec::with_capacity(attributes.len() + promoted.len());
    raw.extend(
        attributes
            .iter()
            .filter_map(|kv| Some((kv.key.as_str(), kv.value.as_ref()?))),
    );
    for kv in promoted {
        if let Some(v) = &kv.value
            && !attributes.iter().any(|a| a.key == kv.key)
        {
            raw.push((kv.key.as_str(), v));
        }
    }
    raw.sort_by(|a, b| a.0.cmp(b.0));

    let mut entries: Vec<(Arc<str>, Rank, String)> =
        Vec::with_capacity(raw.len() + owned.len() + defaults.len());
    for (key, value) in raw {
        let Some(name) = names.label(key) else {
            continue;
        };
        let value = value_string(value);
        if !value.is_empty() {
            entries.push((name, Rank::Attribute, value));
        }
    }
    let fixed = owned
        .iter()
        .map(|l| (Rank::Owned, l))
        .chain(defaults.iter().map(|l| (Rank::Default, l)));
    for (rank, l) in fixed {
        if !l.value.is_empty() {
            entries.push((l.name.clone(), rank, l.value.clone()));
        }
    }
    // Stable: attributes of one name stay in the order of their original keys.
    entries.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)));

    out.clear();
    let mut last_rank = Rank::Default;
    for (name, rank, value) in entries {
        match out.last_mut() {
            Some(last) if last.name == name => {
                if rank == Rank::Attribute && last_rank == Rank::Attribute {
                    last.value.push(';');
                    last.value.push_str(&value);
                }
            }
            _ => {
                out.push(Label { name, value });
                last_rank = rank;
            }
        }
    }
}

/// `labels` sorted by name with each name once (the first kept), empty values dropped.
pub fn normalized(mut labels: Vec<Label>) -> Vec<Label> {
    labels.retain(|l| !l.value.is_empty());
    labels.sort_by(|a, b| a.name.cmp(&b.name));
    labels.dedup_by(|b, a| a.name == b.name);
    labels
}

/// An attribute value as a label value (the Collector's `AsString`).
pub fn value_string(v: &AnyValue) -> String {
    match &v.value {
        None => String::new(),
        Some(any_value::Value::StringValue(s)) => s.clone(),
        Some(any_value::Value::BoolValue(b)) => b.to_string(),
        Some(any_value::Value::IntValue(i)) => i.to_string(),
        Some(any_value::Value::DoubleValue(d)) => plain_float(*d),
        Some(any_value::Value::BytesValue(b)) => base64(b),
        Some(any_value::Value::StringValueStrindex(_)) => String::new(),
        Some(_) => to_json(v).to_string(),
    }
}

/// The value of attribute `key`, as a string, when present.
pub fn attribute<'a>(attributes: &'a [KeyValue], key: &str) -> Option<&'a AnyValue> {
    attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.as_ref())
}

fn to_json(v: &AnyValue) -> serde_json::Value {
    use serde_json::Value as J;
    match &v.value {
        None | Some(any_value::Value::StringValueStrindex(_)) => J::Null,
        Some(any_value::Value::StringValue(s)) => J::String(s.clone()),
        Some(any_value::Value::BoolValue(b)) => J::Bool(*b),
        Some(any_value::Value::IntValue(i)) => J::from(*i),
        Some(any_value::Value::DoubleValue(d)) => {
            serde_json::Number::from_f64(*d).map_or_else(|| J::String(plain_float(*d)), J::Number)
        }
        Some(any_value::Value::BytesValue(b)) => J::String(base64(b)),
        Some(any_value::Value::ArrayValue(a)) => J::Array(a.values.iter().map(to_json).collect()),
        Some(any_value::Value::KvlistValue(kv)) => J::Object(
            kv.values
                .iter()
                .map(|e| (e.key.clone(), e.value.as_ref().map_or(J::Null, to_json)))
                .collect(),
        ),
    }
}

/// Standard base64 with padding.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_the_standard_alphabet() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(&[0xfb, 0xff]), "+/8=");
    }
}
