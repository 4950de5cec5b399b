//! A `tracing` layer that records spans named `weir.*` as OTLP spans.
//!
//! A root span (no `weir.*` ancestor) takes its trace id and parent from the fields `trace_id`
//! and `parent_span_id` (a request's `traceparent`), or starts a new trace. It is sampled when
//! the `traceparent` said so (`sampled = true`) or by `sampling_ratio`; a root with
//! `self_telemetry = true` is never sampled. Children inherit the decision. Other fields become
//! attributes named `weir.<field>`.

use std::time::SystemTime;

use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value::Value};
use opentelemetry_proto::tonic::trace::v1::{Span, span::SpanKind};
use tokio::sync::mpsc;
use tracing::Subscriber;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing_subscriber::Layer;
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;

/// Collects `weir.*` spans and hands finished, sampled ones to the exporter.
pub struct SelfTraceLayer {
    tx: mpsc::Sender<Span>,
    ratio: f64,
}

impl SelfTraceLayer {
    /// A layer sampling `ratio` of root spans, sending finished spans on `tx`.
    pub fn new(tx: mpsc::Sender<Span>, ratio: f64) -> Self {
        Self { tx, ratio }
    }
}

struct Data {
    trace_id: [u8; 16],
    span_id: [u8; 8],
    parent: Option<[u8; 8]>,
    root: bool,
    sampled: bool,
    start: SystemTime,
    attributes: Vec<KeyValue>,
}

fn nanos(t: SystemTime) -> u64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

fn nonzero<const N: usize>() -> [u8; N] {
    loop {
        let id: [u8; N] = rand::random();
        if id.iter().any(|b| *b != 0) {
            return id;
        }
    }
}

/// Applies a span's fields to its data.
struct Fields<'a>(&'a mut Data);

impl Fields<'_> {
    fn attribute(&mut self, name: &str, value: Value) {
        let key = match name {
            "request_id" => "weir.request.id".to_owned(),
            other => format!("weir.{other}"),
        };
        self.0.attributes.retain(|kv| kv.key != key);
        self.0.attributes.push(KeyValue {
            key,
            value: Some(AnyValue { value: Some(value) }),
            ..Default::default()
        });
    }
}

impl Visit for Fields<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        let d = &mut *self.0;
        match field.name() {
            "trace_id" if d.root => {
                let _ = const_hex::decode_to_slice(value, &mut d.trace_id);
            }
            "parent_span_id" if d.root => {
                let mut p = [0u8; 8];
                if const_hex::decode_to_slice(value, &mut p).is_ok() {
                    d.parent = Some(p);
                }
            }
            name => self.attribute(name, Value::StringValue(value.to_owned())),
        }
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        match field.name() {
            "sampled" if self.0.root && value => self.0.sampled = true,
            "self_telemetry" if self.0.root && value => self.0.sampled = false,
            "sampled" | "self_telemetry" => {}
            name => self.attribute(name, Value::BoolValue(value)),
        }
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.attribute(
            field.name(),
            Value::IntValue(i64::try_from(value).unwrap_or(i64::MAX)),
        );
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.attribute(field.name(), Value::IntValue(value));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.record_str(field, &format!("{value:?}"));
    }
}

impl<S> Layer<S> for SelfTraceLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        if !span.name().starts_with("weir.") {
            return;
        }
        let parent = span.scope().skip(1).find_map(|p| {
            p.extensions()
                .get::<Data>()
                .map(|d| (d.trace_id, d.span_id, d.sampled))
        });
        let mut data = match parent {
            Some((trace_id, span_id, sampled)) => Data {
                trace_id,
                span_id: nonzero(),
                parent: Some(span_id),
                root: false,
                sampled,
                start: SystemTime::now(),
                attributes: Vec::new(),
            },
            None => Data {
                trace_id: nonzero(),
                span_id: nonzero(),
                parent: None,
                root: true,
                sampled: rand::random::<f64>() < self.ratio,
                start: SystemTime::now(),
                attributes: Vec::new(),
            },
        };
        attrs.record(&mut Fields(&mut data));
        span.extensions_mut().insert(data);
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(id)
            && let Some(data) = span.extensions_mut().get_mut::<Data>()
        {
            values.record(&mut Fields(data));
        }
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(&id) else { return };
        let Some(data) = span.extensions_mut().remove::<Data>() else {
            return;
        };
        if !data.sampled {
            return;
        }
        let kind = if data.root {
            SpanKind::Server
        } else {
            SpanKind::Internal
        };
        let otlp = Span {
            trace_id: data.trace_id.to_vec(),
            span_id: data.span_id.to_vec(),
            parent_span_id: data.parent.map(|p| p.to_vec()).unwrap_or_default(),
            name: span.name().to_owned(),
            kind: kind as i32,
            start_time_unix_nano: nanos(data.start),
            end_time_unix_nano: nanos(SystemTime::now()),
            attributes: data.attributes,
            ..Default::default()
        };
        // A full buffer drops the span rather than slowing a request down.
        let _ = self.tx.try_send(otlp);
    }
}
