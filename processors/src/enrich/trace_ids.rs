//! Promoting trace and span ids onto log records that have no valid trace id, from (in this
//! order) their attributes, their body (a JSON object in a string, or a map), and, when asked,
//! the export request's `traceparent`.
//!
//! Each source is read in one pass, keeping the first configured key of each role (trace id,
//! span id, traceparent). A trace id key wins over a traceparent key; a span id is taken only
//! with a trace id. A value that is not a valid id (wrong length, not hex, all zero, not a
//! string) is left where it is and counted; the next source is then tried. Nothing here fails
//! or panics. Nothing allocates except the id fields of a record that gets ids (and a JSON
//! string value holding escapes, which is decoded into a copy).

use std::borrow::Cow;

use weir_pipeline::TraceParent;
use weir_pipeline::correlation::{span_id_from_text, trace_id_from_text, valid_id};
use weir_pipeline::otlp::common::v1::{KeyValue, any_value::Value};
use weir_pipeline::otlp::logs::v1::LogRecord;

use super::config::TraceIdsConfig;
use super::json_body;
use super::keys::{Candidate, Found, Keys, Role};

/// Ids promoted from one source, and the attributes they came from.
#[derive(Debug, Clone, PartialEq)]
struct Promoted {
    trace: [u8; 16],
    span: Option<[u8; 8]>,
    flags: Option<u8>,
    from: [Option<usize>; 2],
}

/// Invalid ids seen in one batch, by source (the `source` label of
/// `weir_enrich_invalid_ids_total`).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(super) struct Invalid {
    /// In attributes.
    pub(super) attributes: u64,
    /// In bodies.
    pub(super) body: u64,
}

/// The promotion step, built once from config.
#[derive(Debug, Clone)]
pub(super) struct Promoter {
    keys: Keys,
    from_body: bool,
    from_request: bool,
    remove: bool,
}

impl Promoter {
    /// The promoter `cfg` describes; `None` when promotion is off.
    pub(super) fn new(cfg: &TraceIdsConfig) -> Option<Self> {
        cfg.enabled.then(|| Self {
            keys: Keys::new(cfg),
            from_body: cfg.from_body,
            from_request: cfg.from_request_traceparent,
            remove: cfg.remove_promoted_attributes,
        })
    }

    /// Gives `log` a trace id (and span id, flags) when it has no valid one and a source holds
    /// one; `request` is the export request's traceparent. Invalid ids are added to `invalid`.
    pub(super) fn promote(
        &self,
        log: &mut LogRecord,
        request: Option<&TraceParent>,
        invalid: &mut Invalid,
    ) {
        if valid_id(&log.trace_id, 16).is_some() {
            return;
        }
        let found = self.in_list(&log.attributes);
        if let Some(p) = resolve(&found, &mut invalid.attributes) {
            set(log, &p);
            if self.remove {
                // Highest index first, so the other stays where it was found.
                let mut at = p.from;
                at.sort_unstable_by(|a, b| b.cmp(a));
                for i in at.into_iter().flatten() {
                    log.attributes.remove(i);
                }
            }
            return;
        }
        if self.from_body
            && let Some(p) = self.in_body(log, &mut invalid.body)
        {
            set(log, &p);
            return;
        }
        if self.from_request
            && let Some(tp) = request
        {
            set(
                log,
                &Promoted {
                    trace: tp.trace_id,
                    span: Some(tp.span_id),
                    flags: Some(tp.flags),
                    from: [None; 2],
                },
            );
        }
    }

    fn in_list<'a>(&self, list: &'a [KeyValue]) -> Found<'a> {
        let mut found = Found::default();
        for (at, kv) in list.iter().enumerate() {
            if let Some(role) = self.keys.classify(&kv.key) {
                let value = match kv.value.as_ref().and_then(|v| v.value.as_ref()) {
                    Some(Value::StringValue(s)) => Candidate::Text(Cow::Borrowed(s)),
                    Some(Value::BytesValue(b)) => Candidate::Bytes(b),
                    _ => Candidate::Other,
                };
                found.offer(role, at, value);
            }
        }
        found
    }

    fn in_body(&self, log: &LogRecord, invalid: &mut u64) -> Option<Promoted> {
        match log.body.as_ref()?.value.as_ref()? {
            Value::StringValue(s) if s.trim_start().starts_with('{') => {
                let found = json_body::scan(s, &self.keys)?;
                resolve(&found, invalid)
            }
            Value::KvlistValue(map) => resolve(&self.in_list(&map.values), invalid),
            _ => None,
        }
    }
}

/// The ids `found` gives, counting each invalid one it holds in `invalid`.
fn resolve(found: &Found<'_>, invalid: &mut u64) -> Option<Promoted> {
    if let Some(slot) = found.get(Role::Trace) {
        match trace_id(&slot.value) {
            Some(trace) => {
                let mut p = Promoted {
                    trace,
                    span: None,
                    flags: None,
                    from: [Some(slot.at), None],
                };
                if let Some(s) = found.get(Role::Span) {
                    match span_id(&s.value) {
                        Some(span) => (p.span, p.from[1]) = (Some(span), Some(s.at)),
                        None => *invalid += 1,
                    }
                }
                return Some(p);
            }
            None => *invalid += 1,
        }
    }
    let slot = found.get(Role::TraceParent)?;
    let parsed = match &slot.value {
        Candidate::Text(t) => TraceParent::parse(t),
        _ => None,
    };
    match parsed {
        Some(tp) => Some(Promoted {
            trace: tp.trace_id,
            span: Some(tp.span_id),
            flags: Some(tp.flags),
            from: [Some(slot.at), None],
        }),
        None => {
            *invalid += 1;
            None
        }
    }
}

/// A trace id from hex text or raw bytes; `None` when invalid.
fn trace_id(value: &Candidate<'_>) -> Option<[u8; 16]> {
    match value {
        Candidate::Text(t) => trace_id_from_text(t).ok(),
        Candidate::Bytes(b) => valid_id(b, 16).and_then(|b| b.try_into().ok()),
        Candidate::Other => None,
    }
}

/// A span id from hex text or raw bytes; `None` when invalid.
fn span_id(value: &Candidate<'_>) -> Option<[u8; 8]> {
    match value {
        Candidate::Text(t) => span_id_from_text(t).ok(),
        Candidate::Bytes(b) => valid_id(b, 8).and_then(|b| b.try_into().ok()),
        Candidate::Other => None,
    }
}

fn set(log: &mut LogRecord, p: &Promoted) {
    log.trace_id.clear();
    log.trace_id.extend_from_slice(&p.trace);
    if let Some(span) = p.span {
        log.span_id.clear();
        log.span_id.extend_from_slice(&span);
    }
    if let Some(flags) = p.flags {
        log.flags = (log.flags & !0xff) | u32::from(flags);
    }
}
