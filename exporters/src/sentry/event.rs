//! Sentry error events from OTLP records: an `exception` event of a span, or a log record at
//! ERROR or above (or with `exception.*` attributes).
//!
//! An event carries the exception (type, value, frames parsed from `exception.stacktrace`,
//! or the raw text in `extra.stacktrace` when no format matched), its level and time,
//! `release` (`service.version`), `environment` (`deployment.environment.name`, then
//! `deployment.environment`, then the configured fallback), the allowlisted attributes and the
//! request id as tags, and `contexts.trace` so Sentry links it to its trace.
//!
//! Its event id is derived ([`super::ids`]): the copies of one exception in one span (a span's
//! `exception` event, an ERROR log of it) share it; other records get an id of the record.
//! Each event comes with its record id, which tells a retry of the same record from another
//! copy of the exception. Nothing here fails.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::hash::Hash;
use std::time::{Duration, SystemTime};

use sentry_types::Uuid;
use sentry_types::protocol::v7::{
    ClientSdkInfo, Context, Event, Exception, Level, Mechanism, SpanId, Stacktrace, TraceContext,
    TraceId,
};
use weir_pipeline::RequestContext;
use weir_pipeline::correlation::{self, Correlation};
use weir_pipeline::otlp::common::v1::KeyValue;
use weir_pipeline::otlp::logs::v1::LogRecord;
use weir_pipeline::otlp::resource::v1::Resource;
use weir_pipeline::otlp::trace::v1::{Span, span};

use super::attrs::{self, ENVIRONMENT_KEYS, SDK_LANGUAGE, SERVICE_NAME, SERVICE_VERSION};
use super::ids::{self, Identity};
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

/// What the `exception.*` attributes of a record say.
#[derive(Default)]
struct Exceptions {
    /// The exceptions, the root cause first.
    values: Vec<Exception>,
    /// The runtime whose stack trace format was understood.
    runtime: Option<Runtime>,
    /// The stack trace as text, when it was not understood.
    raw: Option<String>,
    /// The outermost exception as its event id sees it; `None` without an exception.
    identity: Option<Identity>,
}

/// The exceptions of `exception.*` attributes, and the raw stack trace when it was not
/// understood.
fn exceptions(layers: &[&[KeyValue]], hint: Option<Runtime>) -> Exceptions {
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
            return Exceptions::default();
        }
        let raw = stacktrace.map(|s| {
            let mut end = s.len().min(MAX_RAW_STACKTRACE);
            while !s.is_char_boundary(end) {
                end -= 1;
            }
            s[..end].to_owned()
        });
        let identity = Identity {
            ty: ty.as_deref().map(str::to_owned),
            value: message.as_deref().map(str::to_owned),
        };
        let exception = Exception {
            ty: ty.map_or_else(|| "Error".to_owned(), Cow::into_owned),
            value: message.map(Cow::into_owned),
            mechanism,
            ..Default::default()
        };
        return Exceptions {
            values: vec![exception],
            runtime: None,
            raw,
            identity: Some(identity),
        };
    };
    let last = parsed.exceptions.len().saturating_sub(1);
    // The text is the same in every copy of an exception; the attributes may differ.
    let identity = parsed.exceptions.last().map(|e| Identity {
        ty: e.ty.clone().or_else(|| ty.as_deref().map(str::to_owned)),
        value: e
            .value
            .clone()
            .or_else(|| message.as_deref().map(str::to_owned)),
    });
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
    Exceptions {
        values,
        runtime: Some(parsed.runtime),
        raw: None,
        identity,
    }
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
    let found = exceptions(&layers[..1], origin.runtime);
    let c = correlation::of_span_in(ctx, resource, span);
    let mut event = base(origin, found.runtime, found.raw);
    let record = ids::record_id(&|h| {
        (
            "span",
            &span.trace_id,
            &span.span_id,
            ev.time_unix_nano,
            index,
        )
            .hash(h);
    });
    let shared = ids::exception_id(&span.trace_id, &span.span_id, found.identity.as_ref());
    event.event_id = shared.unwrap_or(record);
    event.timestamp = time(
        ev.time_unix_nano,
        time(span.end_time_unix_nano, ctx.received_wall),
    );
    event.transaction = (!span.name.is_empty()).then(|| span.name.clone());
    event.exception = found.values.into();
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
    let found = exceptions(&layers[..1], origin.runtime);
    let exception = found.values;
    let c = correlation::of_log_in(ctx, resource, log);
    let mut event = base(origin, found.runtime, found.raw);
    let body = log.body.as_ref().and_then(attrs::as_text);
    let record = ids::record_id(&|h| {
        ("log", &log.trace_id, &log.span_id, log.time_unix_nano).hash(h);
        (log.observed_time_unix_nano, log.severity_number, &body).hash(h);
    });
    let shared = ids::exception_id(&log.trace_id, &log.span_id, found.identity.as_ref());
    event.event_id = shared.unwrap_or(record);
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
