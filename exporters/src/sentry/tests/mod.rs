//! Tests of the `sentry` exporter: stack traces per runtime ([`stack`]), and the exporter
//! against an in-process fake Sentry that parses the real envelopes ([`fake`]): events and
//! transactions ([`export`]), DSN routing and failures ([`routing`]), rate limits ([`limits`]),
//! one event for the copies of one exception ([`dedupe`]).

mod dedupe;
mod export;
mod fake;
mod limits;
mod routing;
mod stack;

use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use weir_pipeline::metrics::catalogue;
use weir_pipeline::otlp::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value::Value};
use weir_pipeline::otlp::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use weir_pipeline::otlp::resource::v1::Resource;
use weir_pipeline::otlp::trace::v1::{ResourceSpans, ScopeSpans, Span, span};
use weir_pipeline::{Bundle, ExportError, Exporter, Metrics, Sent, Signal};

use super::{SentryConfig, SentryExporter};
use crate::shared::fixtures::{batch, install_ring};
use fake::FakeSentry;
use weir_pipeline::test_util::kv;

const TRACE: [u8; 16] = [0xab; 16];
const EXPORTER: &str = "sentry/test";
/// 2024-05-01T00:00:00Z, in nanoseconds.
const T0: u64 = 1_714_521_600_000_000_000;

fn kvs(pairs: &[(&str, &str)]) -> Vec<KeyValue> {
    pairs.iter().map(|(k, v)| kv(k, v)).collect()
}

fn resource(pairs: &[(&str, &str)]) -> Option<Resource> {
    Some(Resource {
        attributes: kvs(pairs),
        ..Default::default()
    })
}

/// An `exception` span event with these `exception.*` attributes.
fn exception(ty: &str, message: &str, stacktrace: &str) -> span::Event {
    let mut attributes = vec![kv("exception.type", ty), kv("exception.message", message)];
    if !stacktrace.is_empty() {
        attributes.push(kv("exception.stacktrace", stacktrace));
    }
    span::Event {
        time_unix_nano: T0 + 5_000_000,
        name: "exception".into(),
        attributes,
        ..Default::default()
    }
}

/// A span `name` with id `[id; 8]`, parent `[parent; 8]` (0: none), kind, events.
fn span(name: &str, id: u8, parent: u8, kind: span::SpanKind, events: Vec<span::Event>) -> Span {
    Span {
        trace_id: TRACE.to_vec(),
        span_id: vec![id; 8],
        parent_span_id: if parent == 0 {
            Vec::new()
        } else {
            vec![parent; 8]
        },
        name: name.into(),
        kind: kind as i32,
        start_time_unix_nano: T0,
        end_time_unix_nano: T0 + 20_000_000,
        events,
        ..Default::default()
    }
}

fn traces(resource_attrs: &[(&str, &str)], spans: Vec<Span>) -> Signal {
    Signal::Traces(vec![ResourceSpans {
        resource: resource(resource_attrs),
        scope_spans: vec![ScopeSpans {
            spans,
            ..Default::default()
        }],
        ..Default::default()
    }])
}

/// A log record: `body`, severity number `sev`, attributes.
fn log(body: &str, sev: i32, attrs: &[(&str, &str)]) -> LogRecord {
    LogRecord {
        time_unix_nano: T0 + u64::try_from(sev).unwrap_or(0) * 1_000_000,
        severity_number: sev,
        body: Some(AnyValue {
            value: Some(Value::StringValue(body.into())),
        }),
        attributes: kvs(attrs),
        trace_id: TRACE.to_vec(),
        span_id: vec![7; 8],
        ..Default::default()
    }
}

fn logs(resource_attrs: &[(&str, &str)], records: Vec<LogRecord>) -> Signal {
    Signal::Logs(vec![ResourceLogs {
        resource: resource(resource_attrs),
        scope_logs: vec![ScopeLogs {
            scope: Some(InstrumentationScope {
                name: "shop.refunds".into(),
                ..Default::default()
            }),
            log_records: records,
            ..Default::default()
        }],
        ..Default::default()
    }])
}

fn bundle(tenant: &str, signal: Signal) -> Arc<Bundle> {
    Arc::new(Bundle::single(batch(tenant, signal)))
}

/// A clock the test moves by hand.
#[derive(Clone)]
struct ManualClock(Arc<Mutex<Instant>>);

impl ManualClock {
    fn new() -> Self {
        Self(Arc::new(Mutex::new(Instant::now())))
    }

    fn advance(&self, by: Duration) {
        *self.0.lock() += by;
    }
}

/// An exporter of `cfg` with a manual clock and its own metrics.
struct Harness {
    exporter: SentryExporter,
    metrics: Metrics,
    clock: ManualClock,
}

impl Harness {
    fn new(cfg: &SentryConfig) -> Self {
        install_ring();
        let metrics = Metrics::new();
        let clock = ManualClock::new();
        let c = clock.0.clone();
        let exporter =
            SentryExporter::with_clock(EXPORTER, cfg, metrics.clone(), Arc::new(move || *c.lock()))
                .expect("exporter");
        Self {
            exporter,
            metrics,
            clock,
        }
    }

    /// Exports `bundle` and counts the outcome as the engine does (what the exporter reports
    /// dropped in its answer lands in `weir_records_dropped_total`).
    async fn export(&self, bundle: &Arc<Bundle>) -> Result<Sent, ExportError> {
        let exporter: Arc<dyn Exporter> = Arc::new(self.exporter.clone());
        weir_pipeline::queue::accounted(EXPORTER, exporter, self.metrics.clone())
            .export(Arc::clone(bundle))
            .await
    }

    /// `weir_records_dropped_total` of `signal`, tenant and reason.
    fn dropped(&self, signal: &str, tenant: &str, reason: &str) -> u64 {
        self.metrics
            .value(
                catalogue::RECORDS_DROPPED,
                &[signal, EXPORTER, tenant, reason],
            )
            .unwrap_or(0)
    }
}

/// A config sending everything to project 1 of `fake`.
fn config(fake: &FakeSentry) -> SentryConfig {
    SentryConfig {
        dsn: fake.dsn("public1", 1).parse().ok(),
        ..Default::default()
    }
}
