//! Sentry error events from OTLP records: an `exception` event of a span, or a log record at
//! ERROR or above (or with `exception.*` attributes).
//!
//! An event carries the exception (type, value, frames parsed from `exception.stacktrace`,
//! or the raw text in `extra.stacktrace` when no format matched), its level and time,
//! `release` (`service.version`), `environment` (`deployment.environment.name`, then
//! `deployment.environment`, then the configured fallback), the allowlisted attributes and the
//! request id as tags, and `contexts.trace` so Sentry links it to its trace.
//!
//! Event ids are derived, never random, so a resent event is the same event to Sentry. An
//! exception with a trace context gets the id of (trace id, span id, exception type, exception
//! value) ([`exception_id`]): a span's `exception` event and an ERROR log written while handling
//! the same exception in that span (Python's `log.exception` inside a span) arrive in different
//! signals, maybe on different replicas, and still name one event. Other records get an id of
//! the record itself. Each event also has a record id, of the record alone, that tells a retry
//! of the same record from another copy of the exception. Nothing here fails.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::time::{Duration, SystemTime};

use sentry_types::Uuid;
use sentry_types::protocol::v7::{
    ClientSdkInfo, Context, Event, Exception, Level, Mechanism, SpanId, Stacktrace, TraceContext,
    TraceId,
};
use sha2::{Digest, Sha256};
use weir_pipeline::RequestContext;
use weir_pipeline::correlation::{self, Correlation};
use weir_pipeline::otlp::common::v1::KeyValue;
use weir_pipeline::otlp::logs::v1::LogRecord;
use weir_pipeline::otlp::resource::v1::Resource;
use weir_pipeline::otlp::trace::v1::{Span, span};

use super::attrs::{self, ENVIRONMENT_KEYS, SDK_LANGUAGE, SERVICE_NAME, SERVICE_VERSION};
use super::stack::{self, Runtime};

/// Longest raw stack trace kept when no format matched.
const MAX_RAW_STACKTRACE: usize = 64 << 10;
/// The OTLP severity number of ERROR.
const SEVERITY_ERROR: i32 = 17;
/// The OTLP severity number of FATAL.
const SEVERITY_FATAL: i32 = 21;

/// What the configuration says about every event.
#[derive(Debug, Clone)]
pub(crate) struct Shape {
    /// The environment when the resource names none.
    pub environment: Option<String>,
    /// Attributes that become tags.
    pub tag_attributes: Vec<String>,
}

/// What a resource says about the events of its records.
pub(crate) struct Origin<'a> {
    pub resource: &'a [KeyValue],
    pub service: Option<Cow<'a, str>>,
    pub release: Option<Cow<'a, str>>,
    pub environment: Option<Cow<'a, str>>,
    pub runtime: Option<Runtime>,
}

impl<'a> Origin<'a> {
    pub(crate) fn new(resource: Option<&'a Resource>, shape: &'a Shape) -> Self {
        let attributes = resource.map_or(&[][..], |r| r.attributes.as_slice());
        Origin {
            resource: attributes,
            service: attrs::text(attributes, SERVICE_NAME),
            release: attrs::text(attributes, SERVICE_VERSION),
            environment: ENVIRONMENT_KEYS
                .iter()
                .find_map(|k| attrs::text(attributes, k))
                .or_else(|| shape.environment.as_deref().map(Cow::Borrowed)),
            runtime: attrs::text(attributes, SDK_LANGUAGE)
                .and_then(|l| Runtime::from_sdk_language(&l)),
        }
    }
}

/// The SDK weir reports itself as.
pub(crate) fn sdk() -> Cow<'static, ClientSdkInfo> {
    Cow::Owned(ClientSdkInfo {
        name: "weir".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        integrations: vec!["opentelemetry".into()],
        packages: Vec::new(),
    })
}

/// The time of an OTLP timestamp, or `fallback` when it is unset.
pub(crate) fn time(unix_nanos: u64, fallback: SystemTime) -> SystemTime {
    if unix_nanos == 0 {
        fallback
    } else {
        SystemTime::UNIX_EPOCH + Duration::from_nanos(unix_nanos)
    }
}

/// A stable event id from what identifies a record: the same record gives the same id, so
/// Sentry takes a resent event once.
pub(crate) fn event_id(parts: &dyn Fn(&mut DefaultHasher)) -> Uuid {
    let mut halves = [0u64; 2];
    for (salt, half) in halves.iter_mut().enumerate() {
        let mut h = DefaultHasher::new();
        salt.hash(&mut h);
        parts(&mut h);
        *half = h.finish();
    }
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&halves[0].to_be_bytes());
    bytes[8..].copy_from_slice(&halves[1].to_be_bytes());
    // A version 4, RFC 4122 variant UUID, as SDKs send.
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    Uuid::from_bytes(bytes)
}

/// The event id of an exception recorded in span `span_id` of trace `trace_id` (the outermost
/// of `exception`): the same for every record of it, in any signal and on any replica (SHA-256
/// of a fixed layout, not the standard library's hasher, which may change between builds).
/// `None` without valid ids or without an exception.
pub(crate) fn exception_id(
    trace_id: &[u8],
    span_id: &[u8],
    exception: &[Exception],
) -> Option<Uuid> {
    let trace_id = correlation::valid_id(trace_id, 16)?;
    let span_id = correlation::valid_id(span_id, 8)?;
    let outer = exception.last()?;
    let mut h = Sha256::new();
    h.update(b"weir.sentry.exception\0");
    h.update(trace_id);
    h.update(span_id);
    for part in [Some(outer.ty.as_str()), outer.value.as_deref()] {
        match part {
            Some(text) => {
                h.update([1]);
                h.update((text.len() as u64).to_be_bytes());
                h.update(text.as_bytes());
            }
            None => h.update([0]),
        }
    }
    let digest = h.finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    Some(Uuid::from_bytes(bytes))
}

/// The trace context of ids in `c`, when it has a trace id.
pub(crate) fn trace_context(c: &Correlation<'_>, parent: Option<&[u8]>) -> Option<TraceContext> {
    let trace_id: [u8; 16] = c.trace_id?.try_into().ok()?;
    let span_id: [u8; 8] = c
        .span_id
        .and_then(|s| s.try_into().ok())
        .unwrap_or_default();
    Some(TraceContext {
        trace_id: TraceId::from(trace_id),
        span_id: SpanId::from(span_id),
        parent_span_id: parent
            .and_then(|p| correlation::valid_id(p, 8))
            .and_then(|p| <[u8; 8]>::try_from(p).ok())
            .map(SpanId::from),
        ..Default::default()
    })
}

/// The allowlisted tags of a record, looked up in `layers` (most specific first), and the
/// request id.
pub(crate) fn tags(
    shape: &Shape,
    layers: &[&[KeyValue]],
    request_id: Option<&str>,
) -> BTreeMap<String, String> {
    let mut tags = BTreeMap::new();
    for key in &shape.tag_attributes {
        if let Some(v) = attrs::first_text(layers, key) {
            tags.insert(key.clone(), attrs::tag_value(&v));
        }
    }
    if let Some(id) = request_id {
        tags.insert("request_id".into(), attrs::tag_value(id));
    }
    tags
}

/// The exceptions of `exception.*` attributes, and the raw stack trace when it was not
/// understood.
fn exceptions(
    layers: &[&[KeyValue]],
    hint: Option<Runtime>,
) -> (Vec<Exception>, Option<Runtime>, Option<String>) {
    let ty = attrs::first_text(layers, attrs::EXCEPTION_TYPE);
    let message = attrs::first_text(layers, attrs::EXCEPTION_MESSAGE);
    let stacktrace = attrs::first_text(layers, attrs::EXCEPTION_STACKTRACE);
    let mechanism = attrs::first_text(layers, attrs::EXCEPTION_ESCAPED).map(|escaped| Mechanism {
        ty: "opentelemetry".into(),
        handled: Some(escaped != "true"),
        ..Default::default()
    });
    let parsed = stacktrace.as_deref().and_then(|s| stack::parse(s, hint));
    let Some(parsed) = parsed else {
        if ty.is_none() && message.is_none() && stacktrace.is_none() {
            return (Vec::new(), None, None);
        }
        let raw = stacktrace.map(|s| {
            let mut end = s.len().min(MAX_RAW_STACKTRACE);
            while !s.is_char_boundary(end) {
                end -= 1;
            }
            s[..end].to_owned()
        });
        let exception = Exception {
            ty: ty.map_or_else(|| "Error".to_owned(), Cow::into_owned),
            value: message.map(Cow::into_owned),
            mechanism,
            ..Default::default()
        };
        return (vec![exception], None, raw);
    };
    let last = parsed.exceptions.len().saturating_sub(1);
    let values = parsed
        .exceptions
        .into_iter()
        .enumerate()
        .map(|(i, e)| {
            // The attributes describe the outermost exception; its causes come from the text.
            let (ty_attr, message_attr) = if i == last {
                (ty.as_deref(), message.as_deref())
            } else {
                (None, None)
            };
            Exception {
                ty: ty_attr
                    .map(str::to_owned)
                    .or(e.ty)
                    .unwrap_or_else(|| "Error".into()),
                value: message_attr.map(str::to_owned).or(e.value),
                stacktrace: Some(Stacktrace {
                    frames: e.frames,
                    ..Default::default()
                }),
                mechanism: if i == last { mechanism.clone() } else { None },
                ..Default::default()
            }
        })
        .collect();
    (values, Some(parsed.runtime), None)
}

/// An event with what every error event has.
fn base(origin: &Origin<'_>, runtime: Option<Runtime>, raw: Option<String>) -> Event<'static> {
    let mut event = Event {
        level: Level::Error,
        platform: Cow::Borrowed(
            runtime
                .or(origin.runtime)
                .map_or("other", Runtime::platform),
        ),
        release: origin.release.as_deref().map(|r| Cow::Owned(r.to_owned())),
        environment: origin
            .environment
            .as_deref()
            .map(|e| Cow::Owned(e.to_owned())),
        sdk: Some(sdk()),
        ..Default::default()
    };
    if let Some(raw) = raw {
        event.extra.insert("stacktrace".into(), raw.into());
    }
    event
}

/// The error event of the `exception` event `ev` (the `index`-th event) of `span`, and the id
/// of that record.
pub(crate) fn from_span_event(
    ctx: &RequestContext,
    resource: Option<&Resource>,
    origin: &Origin<'_>,
    shape: &Shape,
    span: &Span,
    ev: &span::Event,
    index: usize,
) -> (Event<'static>, Uuid) {
    let layers: [&[KeyValue]; 3] = [&ev.attributes, &span.attributes, origin.resource];
    let (exception, runtime, raw) = exceptions(&layers[..1], origin.runtime);
    let c = correlation::of_span_in(ctx, resource, span);
    let mut event = base(origin, runtime, raw);
    let record = event_id(&|h| {
        (
            "span",
            &span.trace_id,
            &span.span_id,
            ev.time_unix_nano,
            index,
        )
            .hash(h);
    });
    event.event_id = exception_id(&span.trace_id, &span.span_id, &exception).unwrap_or(record);
    event.timestamp = time(
        ev.time_unix_nano,
        time(span.end_time_unix_nano, ctx.received_wall),
    );
    event.transaction = (!span.name.is_empty()).then(|| span.name.clone());
    event.exception = exception.into();
    event.tags = tags(shape, &layers, c.request_id);
    if let Some(trace) = trace_context(&c, Some(&span.parent_span_id)) {
        event.contexts.insert("trace".into(), Context::from(trace));
    }
    (event, record)
}

/// True when a log record becomes an error event: severity ERROR or above (by number, or by
/// text when the number is unset), or `exception.*` attributes.
pub(crate) fn is_error_log(log: &LogRecord) -> bool {
    if log.severity_number >= SEVERITY_ERROR {
        return true;
    }
    if log.severity_number == 0 {
        let text = log.severity_text.to_ascii_uppercase();
        if ["ERROR", "FATAL", "CRITICAL", "ALERT", "EMERGENCY", "PANIC"]
            .iter()
            .any(|s| text.starts_with(s))
        {
            return true;
        }
    }
    attrs::has_exception(&log.attributes)
}

/// The level of a log record.
fn level(log: &LogRecord) -> Level {
    match log.severity_number {
        n if n >= SEVERITY_FATAL => Level::Fatal,
        n if n >= SEVERITY_ERROR => Level::Error,
        n if n >= 13 => Level::Warning,
        n if n >= 9 => Level::Info,
        n if n >= 1 => Level::Debug,
        _ => {
            let text = log.severity_text.to_ascii_uppercase();
            if text.starts_with("FATAL") || text.starts_with("CRIT") || text.starts_with("PANIC") {
                Level::Fatal
            } else {
                Level::Error
            }
        }
    }
}

/// The error event of the log record `log` (of the scope named `logger`), and the id of that
/// record.
pub(crate) fn from_log(
    ctx: &RequestContext,
    resource: Option<&Resource>,
    origin: &Origin<'_>,
    shape: &Shape,
    logger: &str,
    log: &LogRecord,
) -> (Event<'static>, Uuid) {
    let layers: [&[KeyValue]; 2] = [&log.attributes, origin.resource];
    let (exception, runtime, raw) = exceptions(&layers[..1], origin.runtime);
    let c = correlation::of_log_in(ctx, resource, log);
    let mut event = base(origin, runtime, raw);
    let body = log.body.as_ref().and_then(attrs::as_text);
    let record = event_id(&|h| {
        ("log", &log.trace_id, &log.span_id, log.time_unix_nano).hash(h);
        (log.observed_time_unix_nano, log.severity_number, &body).hash(h);
    });
    event.event_id = exception_id(&log.trace_id, &log.span_id, &exception).unwrap_or(record);
    event.level = level(log);
    let at = if log.time_unix_nano != 0 {
        log.time_unix_nano
    } else {
        log.observed_time_unix_nano
    };
    event.timestamp = time(at, ctx.received_wall);
    let same_as_value = exception
        .last()
        .and_then(|e| e.value.as_deref())
        .is_some_and(|v| Some(v) == body.as_deref());
    if !same_as_value {
        event.message = body.map(Cow::into_owned);
    }
    if exception.is_empty() && event.message.is_none() && !log.severity_text.is_empty() {
        event.message = Some(log.severity_text.clone());
    }
    event.logger = (!logger.is_empty()).then(|| logger.to_owned());
    event.exception = exception.into();
    event.tags = tags(shape, &layers, c.request_id);
    if let Some(trace) = trace_context(&c, None) {
        event.contexts.insert("trace".into(), Context::from(trace));
    }
    (event, record)
}
