//! The bodies of the bad-input corpus, built deterministically: valid export requests of each
//! signal (the control client sends them too), `AnyValue`s nested deeper than any decoder
//! allows, strings with invalid UTF-8, pseudo-random bytes, compression. Checks nothing
//! itself; `case.rs` picks the recipe a case names.

use std::io::Write;

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::metrics::v1::{
    Gauge, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, metric::Data, number_data_point,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use prost::Message;

/// An export request of any signal.
pub enum Request {
    Traces(ExportTraceServiceRequest),
    Metrics(ExportMetricsServiceRequest),
    Logs(ExportLogsServiceRequest),
}

impl Request {
    /// Protobuf.
    pub fn encode(&self) -> Vec<u8> {
        match self {
            Request::Traces(r) => r.encode_to_vec(),
            Request::Metrics(r) => r.encode_to_vec(),
            Request::Logs(r) => r.encode_to_vec(),
        }
    }

    /// OTLP/JSON.
    pub fn json(&self) -> Vec<u8> {
        match self {
            Request::Traces(r) => serde_json::to_vec(r),
            Request::Metrics(r) => serde_json::to_vec(r),
            Request::Logs(r) => serde_json::to_vec(r),
        }
        .expect("OTLP structs serialise")
    }
}

/// A valid request of `signal` (one record; the control client sends these too).
pub fn valid(signal: &str) -> Request {
    match signal {
        "traces" => Request::Traces(trace_request(vec![span("corpus", &[1; 16], &[2; 8])])),
        "logs" => Request::Logs(log_request(LogRecord {
            time_unix_nano: 1,
            body: Some(string("corpus")),
            ..LogRecord::default()
        })),
        "metrics" => Request::Metrics(metric_request("corpus.gauge")),
        other => panic!("unknown signal {other:?}"),
    }
}

fn string(s: &str) -> AnyValue {
    AnyValue {
        value: Some(Value::StringValue(s.into())),
    }
}

fn kv(key: &str, value: AnyValue) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(value),
        ..KeyValue::default()
    }
}

fn resource() -> Option<Resource> {
    Some(Resource {
        attributes: vec![kv("service.name", string("corpus"))],
        ..Resource::default()
    })
}

pub fn span(name: &str, trace_id: &[u8], span_id: &[u8]) -> Span {
    Span {
        name: name.into(),
        trace_id: trace_id.to_vec(),
        span_id: span_id.to_vec(),
        start_time_unix_nano: 1,
        end_time_unix_nano: 2,
        ..Span::default()
    }
}

pub fn trace_request(spans: Vec<Span>) -> ExportTraceServiceRequest {
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: resource(),
            scope_spans: vec![ScopeSpans {
                spans,
                ..ScopeSpans::default()
            }],
            ..ResourceSpans::default()
        }],
    }
}

pub fn log_request(record: LogRecord) -> ExportLogsServiceRequest {
    ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: resource(),
            scope_logs: vec![ScopeLogs {
                log_records: vec![record],
                ..ScopeLogs::default()
            }],
            ..ResourceLogs::default()
        }],
    }
}

fn metric_request(name: &str) -> ExportMetricsServiceRequest {
    let point = NumberDataPoint {
        time_unix_nano: 1,
        value: Some(number_data_point::Value::AsInt(1)),
        ..NumberDataPoint::default()
    };
    ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: resource(),
            scope_metrics: vec![ScopeMetrics {
                metrics: vec![Metric {
                    name: name.into(),
                    data: Some(Data::Gauge(Gauge {
                        data_points: vec![point],
                    })),
                    ..Metric::default()
                }],
                ..ScopeMetrics::default()
            }],
            ..ResourceMetrics::default()
        }],
    }
}

/// A request of `signal` holding `depth` levels of `kind` around a string, written out
/// directly: a client library's encoder would recurse as deep as the value, and overflow
/// the stack of this test long before weir's decoder says no.
pub fn nested(signal: &str, kind: &str, depth: usize, json: bool) -> Vec<u8> {
    if json {
        let (open, close) = match kind {
            "kvlist" => (r#"{"kvlistValue":{"values":[{"key":"k","value":"#, "}]}}"),
            "array" => (r#"{"arrayValue":{"values":["#, "]}}"),
            other => panic!("unknown nesting {other:?}"),
        };
        let value = format!(
            r#"{}{{"stringValue":"core"}}{}"#,
            open.repeat(depth),
            close.repeat(depth)
        );
        let ids = format!(
            r#""traceId":"{}","spanId":"{}""#,
            "01".repeat(16),
            "02".repeat(8)
        );
        return match signal {
            "logs" => format!(
                r#"{{"resourceLogs":[{{"scopeLogs":[{{"logRecords":[{{"body":{value}}}]}}]}}]}}"#
            ),
            _ => format!(
                r#"{{"resourceSpans":[{{"scopeSpans":[{{"spans":[{{{ids},"name":"nested","attributes":[{{"key":"k","value":{value}}}]}}]}}]}}]}}"#
            ),
        }
        .into_bytes();
    }
    // Field numbers: AnyValue string 1, array 5, kvlist 6; ArrayValue and KeyValueList values
    // 1; KeyValue key 1, value 2.
    let mut value = field(1, b"core");
    for _ in 0..depth {
        value = match kind {
            "kvlist" => field(6, &field(1, &[field(1, b"k"), field(2, &value)].concat())),
            "array" => field(5, &field(1, &value)),
            other => panic!("unknown nesting {other:?}"),
        };
    }
    // LogRecord body 5; Span trace_id 1, span_id 2, name 5, attributes 9; then scope (2),
    // resource (2) and request (1) wrap the record.
    let record = match signal {
        "logs" => field(5, &value),
        _ => [
            field(1, &[1; 16]),
            field(2, &[2; 8]),
            field(5, b"nested"),
            field(9, &[field(1, b"k"), field(2, &value)].concat()),
        ]
        .concat(),
    };
    field(1, &field(2, &field(2, &record)))
}

/// A length-delimited protobuf field.
fn field(number: u32, bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len() + 6);
    prost::encoding::encode_key(number, prost::encoding::WireType::LengthDelimited, &mut out);
    prost::encoding::encode_varint(bytes.len() as u64, &mut out);
    out.extend_from_slice(bytes);
    out
}

/// A marker that cannot appear in a valid request's encoding, replaced by ff fe afterwards:
/// prost refuses to encode invalid UTF-8, so the string is written valid and patched.
const MARK: &str = "\u{2603}\u{2603}"; // e2 98 83 e2 98 83

pub fn invalid_utf8(signal: &str, field: &str) -> Vec<u8> {
    let request = match (signal, field) {
        ("traces", "span_name") => {
            Request::Traces(trace_request(vec![span(MARK, &[1; 16], &[2; 8])]))
        }
        ("traces", "attribute_key") => Request::Traces(trace_request(vec![Span {
            attributes: vec![kv(MARK, string("v"))],
            ..span("s", &[1; 16], &[2; 8])
        }])),
        ("traces", "resource_attribute") => {
            let mut r = trace_request(vec![span("s", &[1; 16], &[2; 8])]);
            r.resource_spans[0].resource = Some(Resource {
                attributes: vec![kv("service.name", string(MARK))],
                ..Resource::default()
            });
            Request::Traces(r)
        }
        ("logs", "log_body") => Request::Logs(log_request(LogRecord {
            body: Some(string(MARK)),
            ..LogRecord::default()
        })),
        ("metrics", "metric_name") => Request::Metrics(metric_request(MARK)),
        other => panic!("no invalid UTF-8 recipe for {other:?}"),
    };
    let mut bytes = request.encode();
    let mark = MARK.as_bytes();
    let at = bytes
        .windows(mark.len())
        .position(|w| w == mark)
        .expect("marker encoded");
    // Same length, so every length prefix stays right.
    bytes[at..at + mark.len()].copy_from_slice(&[0xff, 0xfe, 0xff, 0xfe, 0xff, 0xfe]);
    bytes
}

pub fn random(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x.to_le_bytes()[0]
        })
        .collect()
}

pub fn compress(how: &str, raw: &[u8]) -> Vec<u8> {
    match how {
        "gzip" => {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
            e.write_all(raw).expect("gzip");
            e.finish().expect("gzip")
        }
        "deflate" => {
            let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
            e.write_all(raw).expect("deflate");
            e.finish().expect("deflate")
        }
        "zstd" => zstd::encode_all(raw, 19).expect("zstd"),
        other => panic!("unknown compression {other:?}"),
    }
}

/// Bytes from hex; panics on a typo in the manifest.
pub fn unhex(hex: &str) -> Vec<u8> {
    const_hex::decode(hex).unwrap_or_else(|e| panic!("bad hex {hex:?} in the manifest: {e}"))
}
