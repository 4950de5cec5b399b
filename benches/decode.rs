//! Cost of decoding an OTLP/HTTP request body into weir's `Signal`, through the function the
//! OTLP/HTTP receiver calls (`weir::receivers::otlp_http::decode_body`: content type, content
//! encoding, size limit, then protobuf or JSON), for one request of 512 records per signal
//! (`weir_pipeline::test_util::realistic`: spans and log records with ten attributes, metric
//! points with four).
//!
//! - `protobuf/<signal>`: `application/x-protobuf`, uncompressed.
//! - `protobuf_gzip/<signal>`: the same, gzipped (`Content-Encoding: gzip`, what most SDKs send).
//! - `json/<signal>`: OTLP/JSON, uncompressed.
//!
//! The body is a reference-counted buffer, so handing it over costs nothing; the limit is the
//! receiver's default (20 MiB). Criterion reports time per request and records per second.
//! Run: `cargo bench -p weir --bench decode`.

use std::hint::black_box;
use std::io::Write;

use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use http::{HeaderMap, HeaderValue, header};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message;
use weir::receivers::otlp_http::decode_body;
use weir_pipeline::SignalKind;
use weir_pipeline::test_util::realistic::{self, RECORDS_PER_REQUEST};

/// The receiver's default `max_request_body_size`.
const LIMIT: usize = 20 << 20;

/// Protobuf and OTLP/JSON encodings of one request of `kind`.
fn encodings(kind: SignalKind) -> (Vec<u8>, Vec<u8>) {
    let n = RECORDS_PER_REQUEST;
    let json = |r: Result<Vec<u8>, serde_json::Error>| r.expect("OTLP/JSON encodes");
    match kind {
        SignalKind::Traces => {
            let r = ExportTraceServiceRequest {
                resource_spans: realistic::spans(n, 0),
            };
            (r.encode_to_vec(), json(serde_json::to_vec(&r)))
        }
        SignalKind::Logs => {
            let r = ExportLogsServiceRequest {
                resource_logs: realistic::logs(n, 0),
            };
            (r.encode_to_vec(), json(serde_json::to_vec(&r)))
        }
        SignalKind::Metrics => {
            let r = ExportMetricsServiceRequest {
                resource_metrics: realistic::metrics(n, 0),
            };
            (r.encode_to_vec(), json(serde_json::to_vec(&r)))
        }
    }
}

fn gzip(raw: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(raw).expect("gzip to memory");
    gz.finish().expect("gzip to memory")
}

fn headers(content_type: &'static str, encoding: Option<&'static str>) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Some(e) = encoding {
        h.insert(header::CONTENT_ENCODING, HeaderValue::from_static(e));
    }
    h
}

fn bench(c: &mut Criterion) {
    let protobuf = headers("application/x-protobuf", None);
    let protobuf_gzip = headers("application/x-protobuf", Some("gzip"));
    let json = headers("application/json", None);
    let mut group = c.benchmark_group("decode");
    group.throughput(Throughput::Elements(RECORDS_PER_REQUEST as u64));
    for kind in SignalKind::ALL {
        let (raw, json_body) = encodings(kind);
        let cases = [
            ("protobuf_gzip", &protobuf_gzip, Bytes::from(gzip(&raw))),
            ("protobuf", &protobuf, Bytes::from(raw)),
            ("json", &json, Bytes::from(json_body)),
        ];
        for (name, headers, body) in cases {
            // The measured path decodes the whole request.
            let signal = decode_body(headers, body.clone(), LIMIT, kind).expect("decodes");
            assert_eq!(signal.record_count(), RECORDS_PER_REQUEST as u64);
            group.bench_function(format!("{name}/{kind}"), |b| {
                b.iter(|| decode_body(headers, black_box(body.clone()), LIMIT, kind))
            });
        }
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
