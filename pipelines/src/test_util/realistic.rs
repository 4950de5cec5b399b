//! Batches shaped like what an instrumented HTTP service sends, for benchmarks (and tests that
//! want volume): one resource of five attributes (`service.name` `checkout`, version,
//! environment, host, instance id), one scope, and records whose attributes look like real
//! semantic-convention attributes.
//!
//! - Spans: ten attributes each, six a default redaction allowlist keeps (method, route,
//!   status, path, server address and port) and four sensitive ones (user agent, customer id,
//!   end user, a URL whose query holds a token), or four harmless ones ([`clean_spans`]); four
//!   spans per trace, the first the root.
//! - Log records: the same ten attributes (code function instead of port), a severity and a
//!   text body. One record in four has no trace id: its body is a JSON object carrying
//!   `trace_id` and `span_id`, as structured loggers write them (what the `enrich` processor
//!   promotes); the others carry the ids of a span.
//! - Metric data points: [`POINTS_PER_METRIC`] per metric, metrics in turn a monotonic
//!   cumulative sum, a gauge and a histogram of ten buckets with an exemplar; each point has
//!   four attributes (method, route, status, server address) and its own route, so every point
//!   is its own series.
//!
//! `first` numbers the records: paths and ids are built from it, so two batches built from
//! different `first` values differ in every path and id (memos see new values). Nothing here
//! fails.

use std::sync::Arc;

use crate::otlp::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value::Value};
use crate::otlp::logs::v1::{LogRecord, ResourceLogs, ScopeLogs, SeverityNumber};
use crate::otlp::metrics::v1::{
    AggregationTemporality, Exemplar, Gauge, Histogram, HistogramDataPoint, Metric,
    NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum, exemplar, metric, number_data_point,
};
use crate::otlp::resource::v1::Resource;
use crate::otlp::trace::v1::span::SpanKind;
use crate::otlp::trace::v1::{ResourceSpans, ScopeSpans, Span, Status, status};
use crate::{Batch, Bundle, RequestContext, Signal};

/// Records per request in weir's benchmarks: what an SDK's batch processor sends by default.
pub const RECORDS_PER_REQUEST: usize = 512;
/// Spans per trace: the first is the root, the others its children.
pub const SPANS_PER_TRACE: u64 = 4;
/// Data points per metric.
pub const POINTS_PER_METRIC: usize = 8;

/// 2024-06-01T00:00:00Z in nanoseconds: a fixed time, so batches are reproducible.
const EPOCH_NANOS: u64 = 1_717_200_000_000_000_000;

fn kv(key: &str, value: Value) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue { value: Some(value) }),
        ..Default::default()
    }
}

fn str_kv(key: &str, value: &str) -> KeyValue {
    kv(key, Value::StringValue(value.into()))
}

fn resource() -> Option<Resource> {
    Some(Resource {
        attributes: vec![
            str_kv("service.name", "checkout"),
            str_kv("service.version", "1.4.2"),
            str_kv("deployment.environment.name", "prod"),
            str_kv("host.name", "node-7"),
            str_kv("service.instance.id", "checkout-7f9c4d-x2k8p"),
        ],
        ..Default::default()
    })
}

fn scope() -> Option<InstrumentationScope> {
    Some(InstrumentationScope {
        name: "io.opentelemetry.http".into(),
        version: "2.5.0".into(),
        ..Default::default()
    })
}

/// The trace id of record `i` (every [`SPANS_PER_TRACE`] records share one); never all zero.
fn trace_id(i: u64) -> Vec<u8> {
    let mut id = vec![0x5a; 8];
    id.extend_from_slice(&(i / SPANS_PER_TRACE + 1).to_be_bytes());
    id
}

/// The span id of record `i`; never zero.
fn span_id(i: u64) -> Vec<u8> {
    (i + 1).to_be_bytes().to_vec()
}

/// The six attributes of an HTTP server's record a default allowlist keeps, for record `i`;
/// `last` is the sixth (`server.port` on spans, `code.function` on logs).
fn http_attributes(i: u64, last: KeyValue) -> Vec<KeyValue> {
    vec![
        str_kv("http.request.method", "GET"),
        str_kv("http.route", "/api/v1/carts/{cart_id}/items"),
        kv("http.response.status_code", Value::IntValue(200)),
        str_kv("url.path", &format!("/api/v1/carts/{i:08x}/items")),
        str_kv("server.address", "checkout.internal"),
        last,
    ]
}

/// The four sensitive attributes: ones a default redaction masks or scans.
fn sensitive_attributes(i: u64) -> [KeyValue; 4] {
    [
        str_kv(
            "user_agent.original",
            "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0",
        ),
        str_kv("app.customer.id", &format!("cus_{i:06x}")),
        str_kv("enduser.id", "alice"),
        str_kv(
            "url.full",
            "https://checkout.internal/api/v1/carts?token=abc123",
        ),
    ]
}

/// Four attributes a default allowlist keeps and whose values hold nothing to mask.
fn clean_attributes() -> [KeyValue; 4] {
    [
        str_kv("network.protocol.version", "1.1"),
        str_kv("url.scheme", "https"),
        str_kv("code.function", "CartHandler.list_items"),
        str_kv("error.type", "none"),
    ]
}

fn span(i: u64, sensitive: bool) -> Span {
    let start = EPOCH_NANOS + i * 1_000_000;
    let root = i.is_multiple_of(SPANS_PER_TRACE);
    let mut attributes = http_attributes(i, kv("server.port", Value::IntValue(8080)));
    if sensitive {
        attributes.extend(sensitive_attributes(i));
    } else {
        attributes.extend(clean_attributes());
    }
    Span {
        trace_id: trace_id(i),
        span_id: span_id(i),
        parent_span_id: if root {
            Vec::new()
        } else {
            span_id(i - i % SPANS_PER_TRACE)
        },
        name: "GET /api/v1/carts/{cart_id}/items".into(),
        kind: if root {
            SpanKind::Server
        } else {
            SpanKind::Internal
        } as i32,
        start_time_unix_nano: start,
        end_time_unix_nano: start + 200_000 + (i % 7) * 100_000,
        attributes,
        status: Some(Status {
            code: status::StatusCode::Ok as i32,
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// `n` spans numbered from `first`, under one resource and scope.
pub fn spans(n: usize, first: u64) -> Vec<ResourceSpans> {
    spans_of(n, first, true)
}

/// [`spans`] whose four sensitive attributes are replaced by allowed, harmless ones
/// (protocol version, scheme, code function, error type): nothing for a redaction to mask.
pub fn clean_spans(n: usize, first: u64) -> Vec<ResourceSpans> {
    spans_of(n, first, false)
}

fn spans_of(n: usize, first: u64, sensitive: bool) -> Vec<ResourceSpans> {
    vec![ResourceSpans {
        resource: resource(),
        scope_spans: vec![ScopeSpans {
            scope: scope(),
            spans: (first..first + n as u64)
                .map(|i| span(i, sensitive))
                .collect(),
            ..Default::default()
        }],
        ..Default::default()
    }]
}

fn log_record(i: u64) -> LogRecord {
    let code = str_kv("code.function", "CartHandler.list_items");
    let mut attributes = http_attributes(i, code);
    attributes.extend(sensitive_attributes(i));
    let (severity_number, severity_text) = match i % 8 {
        0 => (SeverityNumber::Warn, "WARN"),
        7 => (SeverityNumber::Error, "ERROR"),
        _ => (SeverityNumber::Info, "INFO"),
    };
    let message = format!("GET /api/v1/carts/{i:08x}/items 200 in 12ms");
    let time = EPOCH_NANOS + i * 1_000_000;
    let mut record = LogRecord {
        time_unix_nano: time,
        observed_time_unix_nano: time + 50_000,
        severity_number: severity_number as i32,
        severity_text: severity_text.into(),
        attributes,
        ..Default::default()
    };
    if i % 4 == 3 {
        // A structured logger's line: the ids are in the body, not on the record.
        let body = format!(
            r#"{{"level":"info","msg":"{message}","trace_id":"{}","span_id":"{}"}}"#,
            const_hex::encode(trace_id(i)),
            const_hex::encode(span_id(i)),
        );
        record.body = Some(AnyValue {
            value: Some(Value::StringValue(body)),
        });
    } else {
        record.trace_id = trace_id(i);
        record.span_id = span_id(i);
        record.body = Some(AnyValue {
            value: Some(Value::StringValue(message)),
        });
    }
    record
}

/// `n` log records numbered from `first`, under one resource and scope.
pub fn logs(n: usize, first: u64) -> Vec<ResourceLogs> {
    vec![ResourceLogs {
        resource: resource(),
        scope_logs: vec![ScopeLogs {
            scope: scope(),
            log_records: (first..first + n as u64).map(log_record).collect(),
            ..Default::default()
        }],
        ..Default::default()
    }]
}

/// The four attributes of data point `p` (its route makes it its own series).
fn point_attributes(p: u64) -> Vec<KeyValue> {
    vec![
        str_kv("http.request.method", "GET"),
        str_kv("http.route", &format!("/api/v1/route{p:04}")),
        kv("http.response.status_code", Value::IntValue(200)),
        str_kv("server.address", "checkout.internal"),
    ]
}

/// Explicit bucket bounds of the histograms, in seconds.
const BOUNDS: [f64; 10] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0];

/// Metric `m` with data points numbered from `first`: a sum, a gauge or a histogram in turn.
fn metric(m: usize, first: u64, points: usize) -> Metric {
    let start = EPOCH_NANOS;
    let time = EPOCH_NANOS + 60_000_000_000;
    let ids = first..first + points as u64;
    let number = |p: u64, v: f64| NumberDataPoint {
        attributes: point_attributes(p),
        start_time_unix_nano: start,
        time_unix_nano: time,
        value: Some(number_data_point::Value::AsDouble(v)),
        ..Default::default()
    };
    let cumulative = AggregationTemporality::Cumulative as i32;
    let (name, unit, data) = match m % 3 {
        0 => (
            "http.server.requests",
            "{request}",
            metric::Data::Sum(Sum {
                data_points: ids.map(|p| number(p, (p * 3) as f64)).collect(),
                aggregation_temporality: cumulative,
                is_monotonic: true,
            }),
        ),
        1 => (
            "http.server.active_requests",
            "{request}",
            metric::Data::Gauge(Gauge {
                data_points: ids.map(|p| number(p, (p % 17) as f64)).collect(),
            }),
        ),
        _ => (
            "http.server.request.duration",
            "s",
            metric::Data::Histogram(Histogram {
                data_points: ids
                    .map(|p| HistogramDataPoint {
                        attributes: point_attributes(p),
                        start_time_unix_nano: start,
                        time_unix_nano: time,
                        count: 110,
                        sum: Some(12.5),
                        bucket_counts: vec![1, 4, 10, 20, 30, 20, 10, 8, 4, 2, 1],
                        explicit_bounds: BOUNDS.to_vec(),
                        exemplars: vec![Exemplar {
                            time_unix_nano: time - 1_000_000,
                            trace_id: trace_id(p),
                            span_id: span_id(p),
                            value: Some(exemplar::Value::AsDouble(0.042)),
                            ..Default::default()
                        }],
                        min: Some(0.001),
                        max: Some(6.2),
                        ..Default::default()
                    })
                    .collect(),
                aggregation_temporality: cumulative,
            }),
        ),
    };
    Metric {
        name: format!("{name}.{:02}", m / 3),
        description: format!("{name} of the checkout service"),
        unit: unit.into(),
        data: Some(data),
        ..Default::default()
    }
}

/// `n` metric data points numbered from `first`, [`POINTS_PER_METRIC`] per metric (the last
/// metric takes what is left), under one resource and scope.
pub fn metrics(n: usize, first: u64) -> Vec<ResourceMetrics> {
    let metrics = (0..n.div_ceil(POINTS_PER_METRIC))
        .map(|m| {
            let done = m * POINTS_PER_METRIC;
            let points = POINTS_PER_METRIC.min(n - done);
            metric(m, first + done as u64, points)
        })
        .collect();
    vec![ResourceMetrics {
        resource: resource(),
        scope_metrics: vec![ScopeMetrics {
            scope: scope(),
            metrics,
            ..Default::default()
        }],
        ..Default::default()
    }]
}

/// `signal` in a batch of tenant `default` with a fresh request id.
pub fn batch(signal: Signal) -> Batch {
    Batch::new(RequestContext::for_tests(), signal)
}

/// [`batch`] as the one part of a bundle, as an exporter gets it.
pub fn bundle(signal: Signal) -> Bundle {
    Bundle::single(Arc::new(batch(signal)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_hold_the_records_asked_for() {
        assert_eq!(batch(Signal::Traces(spans(512, 0))).record_count(), 512);
        assert_eq!(batch(Signal::Logs(logs(512, 0))).record_count(), 512);
        assert_eq!(batch(Signal::Metrics(metrics(21, 0))).record_count(), 21);
    }

    #[test]
    fn every_fourth_log_record_carries_its_ids_in_the_body_only() {
        let all = logs(8, 0);
        let records = &all[0].scope_logs[0].log_records;
        for (i, r) in records.iter().enumerate() {
            let body = match r.body.as_ref().and_then(|b| b.value.as_ref()) {
                Some(Value::StringValue(s)) => s.as_str(),
                other => panic!("record {i}: body {other:?}"),
            };
            if i % 4 == 3 {
                assert!(r.trace_id.is_empty(), "record {i}");
                assert!(body.contains(&const_hex::encode(trace_id(i as u64))));
            } else {
                assert_eq!(r.trace_id, trace_id(i as u64));
                assert!(!body.starts_with('{'), "record {i}: {body}");
            }
        }
    }

    #[test]
    fn batches_from_different_first_records_differ_in_paths() {
        assert_ne!(spans(4, 0), spans(4, 4));
        assert_eq!(spans(4, 0), spans(4, 0));
    }
}
