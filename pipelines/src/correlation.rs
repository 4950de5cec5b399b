//! The correlation helper: the request id, trace id and span id of a record, found the same way
//! by every exporter so that logs, metrics, traces and errors link to each other.
//!
//! - [`of_span`], [`of_log`]: ids on the record alone.
//! - [`of_span_in`], [`of_log_in`], [`of_exemplar_in`]: the same, with the request id looked
//!   for on the record, then on its resource (the `enrich` processor's `level: resource`), then
//!   taken from the export request itself, so a record always links to weir's own log lines.
//! - [`trace_id_from_text`], [`span_id_from_text`]: the one way a textual id (hex, as in
//!   `trace_id` attributes or JSON log bodies) is validated.
//!
//! Ids that are missing, all zero or of the wrong length are `None` (or an [`InvalidId`] when
//! parsed from text); nothing here fails otherwise and nothing allocates.

use crate::context::RequestContext;
use crate::otlp::common::v1::{KeyValue, any_value::Value};
use crate::otlp::logs::v1::LogRecord;
use crate::otlp::metrics::v1::Exemplar;
use crate::otlp::resource::v1::Resource;
use crate::otlp::trace::v1::Span;

/// The attribute key the `enrich` processor puts the request id under by default.
pub const REQUEST_ID_KEY: &str = "request.id";
/// Where the `enrich` processor puts weir's request id when the record already has its own.
pub const WEIR_REQUEST_ID_KEY: &str = "weir.request.id";
/// Attribute keys that carry a request id, in the order they are looked for: the application's
/// (or weir's, when the application set none) first, then weir's beside an application's.
pub const REQUEST_ID_KEYS: [&str; 2] = [REQUEST_ID_KEY, WEIR_REQUEST_ID_KEY];

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

/// Ids of a span of `resource`, exported in the request `ctx`: the request id is never `None`.
pub fn of_span_in<'a>(
    ctx: &'a RequestContext,
    resource: Option<&'a Resource>,
    span: &'a Span,
) -> Correlation<'a> {
    Correlation {
        request_id: Some(request_id_in(ctx, resource, &span.attributes)),
        ..of_span(span)
    }
}

/// Ids of a log record of `resource`, exported in the request `ctx`: the request id is never
/// `None`.
pub fn of_log_in<'a>(
    ctx: &'a RequestContext,
    resource: Option<&'a Resource>,
    log: &'a LogRecord,
) -> Correlation<'a> {
    Correlation {
        request_id: Some(request_id_in(ctx, resource, &log.attributes)),
        ..of_log(log)
    }
}

/// Ids of a metric exemplar exported in the request `ctx` (what a Prometheus exporter writes as
/// exemplar labels): the request id from its filtered attributes, else the request's own.
pub fn of_exemplar_in<'a>(ctx: &'a RequestContext, exemplar: &'a Exemplar) -> Correlation<'a> {
    Correlation {
        request_id: Some(request_id_in(ctx, None, &exemplar.filtered_attributes)),
        trace_id: valid_id(&exemplar.trace_id, 16),
        span_id: valid_id(&exemplar.span_id, 8),
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

/// The request id of a record with `attributes` in `resource`, sent in the request `ctx`.
fn request_id_in<'a>(
    ctx: &'a RequestContext,
    resource: Option<&'a Resource>,
    attributes: &'a [KeyValue],
) -> &'a str {
    request_id(attributes)
        .or_else(|| resource.and_then(|r| request_id(&r.attributes)))
        .unwrap_or_else(|| ctx.request_id.as_str())
}

/// Why a textual trace or span id was not taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum InvalidId {
    /// Not 32 (trace) or 16 (span) characters.
    #[error("id has {0} characters; {1} hex digits are required")]
    Length(usize, usize),
    /// A character that is not a hex digit.
    #[error("id holds a character that is not a hex digit")]
    NotHex,
    /// All zero, which OTLP reserves for "no id".
    #[error("id is all zero")]
    Zero,
}

/// A trace id from 32 hex digits (either case; surrounding spaces ignored).
pub fn trace_id_from_text(text: &str) -> Result<[u8; 16], InvalidId> {
    id_from_text(text)
}

/// A span id from 16 hex digits (either case; surrounding spaces ignored).
pub fn span_id_from_text(text: &str) -> Result<[u8; 8], InvalidId> {
    id_from_text(text)
}

fn id_from_text<const N: usize>(text: &str) -> Result<[u8; N], InvalidId> {
    let text = text.trim();
    if text.len() != N * 2 {
        return Err(InvalidId::Length(text.len(), N * 2));
    }
    let mut id = [0u8; N];
    const_hex::decode_to_slice(text, &mut id).map_err(|_| InvalidId::NotHex)?;
    if id.iter().all(|b| *b == 0) {
        return Err(InvalidId::Zero);
    }
    Ok(id)
}

/// `id` when it is `len` bytes long and not all zero.
pub fn valid_id(id: &[u8], len: usize) -> Option<&[u8]> {
    (id.len() == len && id.iter().any(|b| *b != 0)).then_some(id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::kv;

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

    #[test]
    fn request_id_falls_back_to_resource_then_request() {
        let ctx = RequestContext::for_tests();
        let log = LogRecord::default();
        assert_eq!(
            of_log_in(&ctx, None, &log).request_id,
            Some(ctx.request_id.as_str())
        );
        let resource = Resource {
            attributes: vec![kv("request.id", "on-resource")],
            ..Default::default()
        };
        assert_eq!(
            of_log_in(&ctx, Some(&resource), &log).request_id,
            Some("on-resource")
        );
        let span = Span {
            attributes: vec![kv("request.id", "on-record")],
            ..Default::default()
        };
        assert_eq!(
            of_span_in(&ctx, Some(&resource), &span).request_id,
            Some("on-record")
        );
    }

    #[test]
    fn exemplar_ids_come_from_the_exemplar() {
        let ctx = RequestContext::for_tests();
        let exemplar = Exemplar {
            filtered_attributes: vec![kv("weir.request.id", "r-1")],
            trace_id: vec![3; 16],
            span_id: vec![0; 8],
            ..Default::default()
        };
        let c = of_exemplar_in(&ctx, &exemplar);
        assert_eq!(c.request_id, Some("r-1"));
        assert_eq!(c.trace_id, Some(&[3u8; 16][..]));
        assert_eq!(c.span_id, None, "all-zero span id");
    }

    #[test]
    fn textual_ids_are_validated() {
        assert_eq!(
            trace_id_from_text(" 4BF92F3577B34DA6A3CE929D0E0E4736 ").map(const_hex::encode),
            Ok("4bf92f3577b34da6a3ce929d0e0e4736".to_owned())
        );
        assert_eq!(
            span_id_from_text("00f067aa0ba902b7"),
            Ok([0, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7])
        );
        assert_eq!(trace_id_from_text("abc"), Err(InvalidId::Length(3, 32)));
        assert_eq!(trace_id_from_text(&"0".repeat(32)), Err(InvalidId::Zero));
        assert_eq!(
            span_id_from_text("zz f067aa0ba902b"),
            Err(InvalidId::NotHex)
        );
        assert_eq!(
            span_id_from_text("0x00f067aa0ba902b7"),
            Err(InvalidId::Length(18, 16))
        );
    }
}
