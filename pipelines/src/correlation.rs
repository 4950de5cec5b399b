//! The correlation helper: the request id, trace id and span id of a record, found the same way
//! by every exporter so that logs, metrics, traces and errors link to each other.
//!
//! Ids that are missing, all zero or of the wrong length are `None`; nothing here fails.

use crate::otlp::common::v1::{KeyValue, any_value::Value};
use crate::otlp::logs::v1::LogRecord;
use crate::otlp::trace::v1::Span;

/// Attribute keys that carry a request id, in the order they are looked for.
pub const REQUEST_ID_KEYS: [&str; 2] = ["request.id", "weir.request.id"];

/// The ids that link one record to the rest of its request.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Correlation<'a> {
    /// The request id attribute, when the record has one.
    pub request_id: Option<&'a str>,
    /// A valid (16-byte, non-zero) trace id.
    pub trace_id: Option<&'a [u8]>,
    /// A valid (8-byte, non-zero) span id.
    pub span_id: Option<&'a [u8]>,
}

impl Correlation<'_> {
    /// The trace id as 32 lower-case hex digits.
    pub fn trace_id_hex(&self) -> Option<String> {
        self.trace_id.map(const_hex::encode)
    }

    /// The span id as 16 lower-case hex digits.
    pub fn span_id_hex(&self) -> Option<String> {
        self.span_id.map(const_hex::encode)
    }
}

/// Ids of a span.
pub fn of_span(span: &Span) -> Correlation<'_> {
    Correlation {
        request_id: request_id(&span.attributes),
        trace_id: valid_id(&span.trace_id, 16),
        span_id: valid_id(&span.span_id, 8),
    }
}

/// Ids of a log record.
pub fn of_log(log: &LogRecord) -> Correlation<'_> {
    Correlation {
        request_id: request_id(&log.attributes),
        trace_id: valid_id(&log.trace_id, 16),
        span_id: valid_id(&log.span_id, 8),
    }
}

/// The first request-id attribute among `attributes`, when it is a non-empty string.
pub fn request_id(attributes: &[KeyValue]) -> Option<&str> {
    REQUEST_ID_KEYS.iter().find_map(|key| {
        attributes.iter().find_map(|kv| match &kv.value {
            Some(v) if kv.key == *key => match &v.value {
                Some(Value::StringValue(s)) if !s.is_empty() => Some(s.as_str()),
                _ => None,
            },
            _ => None,
        })
    })
}

fn valid_id(id: &[u8], len: usize) -> Option<&[u8]> {
    (id.len() == len && id.iter().any(|b| *b != 0)).then_some(id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::otlp::common::v1::AnyValue;

    fn kv(key: &str, v: &str) -> KeyValue {
        KeyValue {
            key: key.into(),
            value: Some(AnyValue {
                value: Some(Value::StringValue(v.into())),
            }),
            ..Default::default()
        }
    }

    #[test]
    fn finds_ids_on_a_span() {
        let span = Span {
            trace_id: vec![1; 16],
            span_id: vec![2; 8],
            attributes: vec![kv("weir.request.id", "w"), kv("request.id", "app")],
            ..Default::default()
        };
        let c = of_span(&span);
        assert_eq!(c.request_id, Some("app"));
        assert_eq!(
            c.trace_id_hex().as_deref(),
            Some("01010101010101010101010101010101")
        );
        assert_eq!(c.span_id_hex().as_deref(), Some("0202020202020202"));
    }

    #[test]
    fn ignores_invalid_ids() {
        let log = LogRecord {
            trace_id: vec![0; 16],
            span_id: vec![1; 7],
            attributes: vec![kv("request.id", "")],
            ..Default::default()
        };
        assert_eq!(of_log(&log), Correlation::default());
    }
}
