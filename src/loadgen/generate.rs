//! Builds the OTLP requests `weir loadgen` sends: one tenant's resource with spans, log records
//! or metric data points whose attributes look like real semantic-convention attributes, a
//! configured number of them carrying a planted secret ([`super::secrets`]).
//!
//! Traces: valid random 16/8-byte ids, one root span per [`SPANS_PER_TRACE`] spans with the
//! others as its children, times just before now. Logs: severity, a body string, trace and span
//! ids. Metrics: sums, gauges and histograms in turn, [`POINTS_PER_METRIC`] data points each;
//! records are data points. Nothing here fails.

use std::time::{SystemTime, UNIX_EPOCH};

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::metrics::v1::{
    AggregationTemporality, Gauge, Histogram, HistogramDataPoint, Metric, NumberDataPoint,
    ResourceMetrics, ScopeMetrics, Sum, metric, number_data_point,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status, status};
use rand::Rng;

use super::args::SignalArg;
use super::secrets;

/// Spans per trace: the first is the root, the others its children.
pub const SPANS_PER_TRACE: usize = 4;
/// Data points per metric.
pub const POINTS_PER_METRIC: usize = 8;

/// The shape of every request of a run.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    /// Which signal.
    pub signal: SignalArg,
    /// Records per request.
    pub records: usize,
    /// Attributes per record.
    pub attributes: usize,
    /// Attributes per record carrying a secret (at most `attributes`).
    pub sensitive: usize,
}

/// One export request of any signal.
#[derive(Debug, Clone, PartialEq)]
pub enum Request {
    /// Spans.
    Traces(ExportTraceServiceRequest),
    /// Log records.
    Logs(ExportLogsServiceRequest),
    /// Metric data points.
    Metrics(ExportMetricsServiceRequest),
}

/// The name of tenant `i`.
pub fn tenant_name(i: usize) -> String {
    format!("tenant-{i}")
}

/// Builds request number `variant` of `tenant`; variants differ in ids, values and paths.
pub fn request(shape: &Shape, tenant: &str, variant: usize, rng: &mut impl Rng) -> Request {
    let resource = Some(resource(tenant, variant));
    let scope = Some(InstrumentationScope {
        name: "weir-loadgen".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        ..Default::default()
    });
    let now = now_nanos();
    match shape.signal {
        SignalArg::Traces => Request::Traces(ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                resource,
                scope_spans: vec![ScopeSpans {
                    scope,
                    spans: spans(shape, variant, now, rng),
                    schema_url: String::new(),
                }],
                schema_url: String::new(),
            }],
        }),
        SignalArg::Logs => Request::Logs(ExportLogsServiceRequest {
            resource_logs: vec![ResourceLogs {
                resource,
                scope_logs: vec![ScopeLogs {
                    scope,
                    log_records: logs(shape, variant, now, rng),
                    schema_url: String::new(),
                }],
                schema_url: String::new(),
            }],
        }),
        SignalArg::Metrics => Request::Metrics(ExportMetricsServiceRequest {
            resource_metrics: vec![ResourceMetrics {
                resource,
                scope_metrics: vec![ScopeMetrics {
                    scope,
                    metrics: metrics(shape, variant, now),
                    schema_url: String::new(),
                }],
                schema_url: String::new(),
            }],
        }),
    }
}

fn now_nanos() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

fn kv(key: impl Into<String>, value: Value) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue { value: Some(value) }),
        ..Default::default()
    }
}

fn s(text: impl Into<String>) -> Value {
    Value::StringValue(text.into())
}

fn resource(tenant: &str, variant: usize) -> Resource {
    Resource {
        attributes: vec![
            kv("service.name", s("loadgen-shop")),
            kv("service.namespace", s(tenant)),
            kv("service.instance.id", s(format!("loadgen-{variant}"))),
            kv("host.name", s("loadgen-host")),
        ],
        ..Default::default()
    }
}

const METHODS: [&str; 4] = ["GET", "POST", "PUT", "DELETE"];
const STATUSES: [i64; 5] = [200, 200, 201, 404, 500];

/// The attributes of record `i` of request `variant`: the secrets first, then common ones.
/// `url.path` differs for every record of a run, so no two metric data points of a request
/// share their allowed attributes (a redaction that drops the others merges nothing).
pub fn attributes(shape: &Shape, variant: usize, i: usize) -> Vec<KeyValue> {
    let mut out = Vec::with_capacity(shape.attributes);
    for k in 0..shape.sensitive {
        let (key, value) = secrets::nth(k);
        out.push(kv(key, s(value)));
    }
    let id = variant * shape.records + i;
    for k in 0..shape.attributes - shape.sensitive {
        out.push(match k {
            0 => kv("url.path", s(format!("/api/v1/items/{id}"))),
            1 => kv("http.request.method", s(METHODS[i % METHODS.len()])),
            2 => kv(
                "http.response.status_code",
                Value::IntValue(STATUSES[i % STATUSES.len()]),
            ),
            3 => kv("server.address", s("shop.internal")),
            4 => kv(
                "user_agent.original",
                s("Mozilla/5.0 (X11; Linux x86_64) weir-loadgen/1.0"),
            ),
            5 => kv("http.route", s("/api/v1/items/{id}")),
            6 => kv("server.port", Value::IntValue(8080)),
            7 => kv("network.protocol.version", s("1.1")),
            8 => kv("app.cart.items", Value::IntValue((i % 17) as i64)),
            9 => kv(
                "app.feature.checkout_v2",
                Value::BoolValue(i.is_multiple_of(2)),
            ),
            10 => kv("app.region", s("eu-west-1")),
            n => kv(format!("app.extra.{n}"), s(format!("value-{n}-{id}"))),
        });
    }
    out
}

fn spans(shape: &Shape, variant: usize, now: u64, rng: &mut impl Rng) -> Vec<Span> {
    const NAMES: [&str; 3] = ["SELECT items", "redis GET", "render item"];
    let mut out = Vec::with_capacity(shape.records);
    let mut trace_id = [0u8; 16];
    let mut root_id = [0u8; 8];
    for i in 0..shape.records {
        let span_id = nonzero_id::<8>(rng);
        let start = now - (shape.records - i) as u64 * 1_000_000;
        let status_code = STATUSES[i % STATUSES.len()];
        let (kind, name, parent) = if i.is_multiple_of(SPANS_PER_TRACE) {
            trace_id = nonzero_id::<16>(rng);
            root_id = span_id;
            (SpanKind::Server, "GET /api/v1/items/{id}", Vec::new())
        } else {
            let name = NAMES[i % NAMES.len()];
            (SpanKind::Client, name, root_id.to_vec())
        };
        out.push(Span {
            trace_id: trace_id.to_vec(),
            span_id: span_id.to_vec(),
            parent_span_id: parent,
            name: name.into(),
            kind: kind as i32,
            start_time_unix_nano: start,
            end_time_unix_nano: start + 200_000 + (i as u64 % 7) * 100_000,
            attributes: attributes(shape, variant, i),
            status: Some(Status {
                message: String::new(),
                code: if status_code >= 500 {
                    status::StatusCode::Error as i32
                } else {
                    status::StatusCode::Unset as i32
                },
            }),
            ..Default::default()
        });
    }
    out
}

fn logs(shape: &Shape, variant: usize, now: u64, rng: &mut impl Rng) -> Vec<LogRecord> {
    const SEVERITY: [(i32, &str); 3] = [(9, "INFO"), (13, "WARN"), (17, "ERROR")];
    (0..shape.records)
        .map(|i| {
            let status = STATUSES[i % STATUSES.len()];
            let (number, text) = SEVERITY[usize::from(status >= 400) + usize::from(status >= 500)];
            let time = now - (shape.records - i) as u64 * 1_000_000;
            LogRecord {
                time_unix_nano: time,
                observed_time_unix_nano: time + 50_000,
                severity_number: number,
                severity_text: text.into(),
                body: Some(AnyValue {
                    value: Some(s(format!(
                        "{} /api/v1/items/{} answered {status} in {} ms",
                        METHODS[i % METHODS.len()],
                        variant * shape.records + i,
                        i % 40 + 1
                    ))),
                }),
                attributes: attributes(shape, variant, i),
                trace_id: nonzero_id::<16>(rng).to_vec(),
                span_id: nonzero_id::<8>(rng).to_vec(),
                ..Default::default()
            }
        })
        .collect()
}

fn metrics(shape: &Shape, variant: usize, now: u64) -> Vec<Metric> {
    const BOUNDS: [f64; 8] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0];
    let start = now - 60_000_000_000;
    let mut out = Vec::new();
    let mut i = 0;
    while i < shape.records {
        let j = out.len();
        let n = POINTS_PER_METRIC.min(shape.records - i);
        let round = j / 3;
        let suffix = if round == 0 {
            String::new()
        } else {
            format!(".{round}")
        };
        let points = i..i + n;
        let number = |p: usize, value| NumberDataPoint {
            attributes: attributes(shape, variant, p),
            start_time_unix_nano: start,
            time_unix_nano: now,
            value: Some(value),
            ..Default::default()
        };
        let (name, unit, data) = match j % 3 {
            0 => (
                "http.server.request.count",
                "{request}",
                metric::Data::Sum(Sum {
                    data_points: points
                        .map(|p| number(p, number_data_point::Value::AsInt((p * 3 + 1) as i64)))
                        .collect(),
                    aggregation_temporality: AggregationTemporality::Cumulative as i32,
                    is_monotonic: true,
                }),
            ),
            1 => (
                "process.memory.usage",
                "By",
                metric::Data::Gauge(Gauge {
                    data_points: points
                        .map(|p| {
                            number(
                                p,
                                number_data_point::Value::AsDouble(1.0e6 + (p * 4096) as f64),
                            )
                        })
                        .collect(),
                }),
            ),
            _ => (
                "http.server.request.duration",
                "s",
                metric::Data::Histogram(Histogram {
                    data_points: points
                        .map(|p| {
                            let mut buckets = vec![0u64; BOUNDS.len() + 1];
                            let n = buckets.len();
                            buckets[p % n] = 2;
                            buckets[(p + 3) % n] += 1;
                            HistogramDataPoint {
                                attributes: attributes(shape, variant, p),
                                start_time_unix_nano: start,
                                time_unix_nano: now,
                                count: 3,
                                sum: Some(0.05 * (p % 10 + 1) as f64),
                                bucket_counts: buckets,
                                explicit_bounds: BOUNDS.to_vec(),
                                ..Default::default()
                            }
                        })
                        .collect(),
                    aggregation_temporality: AggregationTemporality::Cumulative as i32,
                }),
            ),
        };
        out.push(Metric {
            name: format!("{name}{suffix}"),
            unit: unit.into(),
            description: String::new(),
            data: Some(data),
            ..Default::default()
        });
        i += n;
    }
    out
}

/// A random id of `N` bytes that is not all zeros (an all-zero id is invalid in OTLP).
fn nonzero_id<const N: usize>(rng: &mut impl Rng) -> [u8; N] {
    loop {
        let mut id = [0u8; N];
        rng.fill(&mut id[..]);
        if id.iter().any(|b| *b != 0) {
            return id;
        }
    }
}

#[cfg(test)]
#[path = "generate_tests.rs"]
mod tests;
