//! What each fuzz target does with one input, and what it asserts. The targets in
//! `fuzz_targets/` call these functions; `tests/fuzz_seeds.rs` in weir's workspace includes this
//! file and replays every seed in `fuzz/corpus/<target>/` through them with plain `cargo test`,
//! so the seeds are checked on the stable toolchain without cargo-fuzz.
//!
//! Each function returns normally for any input; a panic (from weir or from an assertion here)
//! is a finding.

use std::collections::HashMap;
use std::io::Write;
use std::sync::OnceLock;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, StatusCode, header};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{
    AnyValue, KeyValue, KeyValueList, any_value::Value as AnyValueKind,
};
use opentelemetry_proto::tonic::metrics::v1::metric::Data;
use opentelemetry_proto::tonic::metrics::v1::{Metric, ResourceMetrics};
use opentelemetry_proto::tonic::resource::v1::Resource;
use prost::Message;
use weir::receivers::otlp_http::decode_body;
use weir_pipeline::{Batch, Metrics, Outcome, Processor, RequestContext, Signal, SignalKind};
use weir_processors::redaction::{Redaction, RedactionConfig};

/// `Content-Type` values, picked by bits 2–3 of the selector byte.
const CONTENT_TYPES: [&str; 4] = [
    "application/x-protobuf",
    "application/json",
    "application/protobuf",
    "Application/JSON; charset=utf-8",
];

/// `Content-Encoding` values, picked by bits 4–6 of the selector byte (`None`: no header).
const CONTENT_ENCODINGS: [Option<&str>; 8] = [
    None,
    Some("identity"),
    Some("gzip"),
    Some("x-gzip"),
    Some("deflate"),
    Some("Deflate"),
    Some("zstd"),
    Some("br"),
];

/// `otlp_http_body`: the OTLP/HTTP receiver's decode path, as [`decode_body`] runs it.
///
/// Input: a selector byte, a limit byte, then the body. Selector bits 0–1 pick the signal
/// (traces, metrics, logs; 3 is traces), bits 2–3 the content type, bits 4–6 the content
/// encoding; with bit 7 set the target compresses the body itself in that encoding first (so
/// the protobuf and JSON decoders see what a real client's compressed body holds), else the
/// body goes to the decompressor as it is. The limit is `64 << (limit byte % 12)` bytes.
///
/// Checks: no panic; a refusal is 400 or 413 (the content type is always a valid one); when
/// the target compressed the body, the result is exactly that of the uncompressed body: 413 if
/// it is longer than the limit, else the same success or failure as decoding it directly.
pub fn otlp_http_body(data: &[u8]) {
    let [selector, limit_byte, body @ ..] = data else {
        return;
    };
    let kind = match selector & 0b11 {
        1 => SignalKind::Metrics,
        2 => SignalKind::Logs,
        _ => SignalKind::Traces,
    };
    let content_type = CONTENT_TYPES[usize::from((selector >> 2) & 0b11)];
    let encoding_index = usize::from((selector >> 4) & 0b111);
    let content_encoding = CONTENT_ENCODINGS[encoding_index];
    let compress_here = selector & 0x80 != 0;
    let limit = 64usize << (limit_byte % 12);

    let mut headers = HeaderMap::new();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Some(ce) = content_encoding {
        headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static(ce));
    }
    let sent = if compress_here {
        match compress(encoding_index, body) {
            Some(c) => c,
            None => body.to_vec(),
        }
    } else {
        body.to_vec()
    };
    let result = decode_body(&headers, Bytes::from(sent), limit, kind);
    if let Err(e) = &result {
        assert!(
            e.status == StatusCode::BAD_REQUEST || e.status == StatusCode::PAYLOAD_TOO_LARGE,
            "unexpected status {} for a body: {}",
            e.status,
            e.message
        );
        assert!(!e.message.is_empty(), "a refusal without a message");
    }
    if !compress_here || content_encoding == Some("br") {
        return;
    }
    if body.len() > limit {
        let status = result.as_ref().err().map(|e| e.status);
        assert_eq!(
            status,
            Some(StatusCode::PAYLOAD_TOO_LARGE),
            "a {} byte body passed a {limit} byte limit",
            body.len()
        );
        return;
    }
    let mut plain = HeaderMap::new();
    plain.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    let direct = decode_body(&plain, Bytes::copy_from_slice(body), limit, kind);
    assert_eq!(
        result.is_ok(),
        direct.is_ok(),
        "compressed ({content_encoding:?}) and plain bodies decode differently: {:?} vs {:?}",
        result.as_ref().err(),
        direct.as_ref().err()
    );
    if let (Ok(a), Ok(b)) = (&result, &direct) {
        assert!(
            a == b,
            "compressed and plain bodies decode to different data"
        );
    }
}

/// `body` in the encoding at `index` of [`CONTENT_ENCODINGS`]; `None` for no compression.
fn compress(index: usize, body: &[u8]) -> Option<Vec<u8>> {
    let level = flate2::Compression::fast();
    let out = match index {
        2 | 3 => {
            let mut w = flate2::write::GzEncoder::new(Vec::new(), level);
            w.write_all(body).ok()?;
            w.finish().ok()?
        }
        // "deflate" is zlib; the capitalised one sends raw deflate, as some clients do.
        4 => {
            let mut w = flate2::write::ZlibEncoder::new(Vec::new(), level);
            w.write_all(body).ok()?;
            w.finish().ok()?
        }
        5 => {
            let mut w = flate2::write::DeflateEncoder::new(Vec::new(), level);
            w.write_all(body).ok()?;
            w.finish().ok()?
        }
        6 => zstd::encode_all(body, 1).ok()?,
        _ => return None,
    };
    Some(out)
}

/// `config`: the input as a config file (UTF-8, invalid sequences replaced) through
/// `weir::config::load_str`, with a fixed environment for `${env:…}`.
///
/// Checks: no panic; a failure holds at least one error, each with a message, and each either
/// names a dotted path or a position; positions are 1-based and within the file; the report
/// renders.
pub fn config(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let env: HashMap<String, String> = [
        ("WEIR_FUZZ", "0.0.0.0:4318"),
        ("WEIR_FUZZ_EMPTY", ""),
        ("WEIR_FUZZ_NESTED", "${env:WEIR_FUZZ}"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let Err(errors) = weir::config::load_str(&text, "fuzz.yaml", &env) else {
        return;
    };
    assert!(!errors.errors.is_empty(), "a failure without errors");
    // YAML's line breaks: CR LF, LF, a lone CR, and (YAML 1.1, as libyaml reads it) NEL, LS, PS.
    let lines = 1 + text
        .replace("\r\n", "\n")
        .chars()
        .filter(|c| matches!(c, '\n' | '\r' | '\u{85}' | '\u{2028}' | '\u{2029}'))
        .count();
    for e in &errors.errors {
        assert!(!e.message.is_empty(), "an error without a message: {e:?}");
        assert!(
            !e.path.is_empty() || e.position.is_some(),
            "an error with neither path nor position: {e:?}"
        );
        if let Some((line, column)) = e.position {
            assert!(line >= 1 && column >= 1, "a position not 1-based: {e:?}");
            assert!(
                line <= lines + 1,
                "a position past the end ({lines} lines): {e:?}"
            );
        }
    }
    assert!(!errors.to_string().is_empty());
}

/// A value the default rules mask by its key (`password`).
pub const PLANTED_PASSWORD: &str = "hunter2-weir-fuzz-planted";
/// A value the default rules mask wherever it appears (an email), planted under an allowed key.
pub const PLANTED_EMAIL: &str = "planted.secret@weir-fuzz.example";

/// The attributes planted on every resource, span, log record and data point.
fn planted() -> [KeyValue; 3] {
    let kv = |key: &str, value: AnyValueKind| KeyValue {
        key: key.to_owned(),
        value: Some(AnyValue { value: Some(value) }),
        ..Default::default()
    };
    [
        kv(
            "password",
            AnyValueKind::StringValue(PLANTED_PASSWORD.into()),
        ),
        kv(
            "http.route",
            AnyValueKind::StringValue(format!("/users/{PLANTED_EMAIL}")),
        ),
        // Under an allowed prefix, a map whose own keys are still checked.
        kv(
            "service.fuzz",
            AnyValueKind::KvlistValue(KeyValueList {
                values: vec![kv(
                    "db_password",
                    AnyValueKind::StringValue(PLANTED_PASSWORD.into()),
                )],
            }),
        ),
    ]
}

fn plant_resource(resource: &mut Option<Resource>) {
    resource
        .get_or_insert_with(Resource::default)
        .attributes
        .extend(planted());
}

fn plant_metric(metric: &mut Metric) {
    match &mut metric.data {
        Some(Data::Gauge(g)) => g
            .data_points
            .iter_mut()
            .for_each(|p| p.attributes.extend(planted())),
        Some(Data::Sum(s)) => s
            .data_points
            .iter_mut()
            .for_each(|p| p.attributes.extend(planted())),
        Some(Data::Histogram(h)) => h
            .data_points
            .iter_mut()
            .for_each(|p| p.attributes.extend(planted())),
        Some(Data::ExponentialHistogram(h)) => h
            .data_points
            .iter_mut()
            .for_each(|p| p.attributes.extend(planted())),
        Some(Data::Summary(s)) => s
            .data_points
            .iter_mut()
            .for_each(|p| p.attributes.extend(planted())),
        None => {}
    }
}

/// The default `redaction` processor (`redaction: {}`), built once.
fn processor() -> &'static Redaction {
    static PROCESSOR: OnceLock<Redaction> = OnceLock::new();
    PROCESSOR.get_or_init(|| {
        match Redaction::new("redaction", &RedactionConfig::default(), Metrics::new()) {
            Ok(r) => r,
            Err(e) => panic!("the default redaction config is refused: {e}"),
        }
    })
}

/// `redaction`: the default `redaction` processor over an export request.
///
/// Input: a selector byte (`% 3`: traces, metrics, logs), then the request as protobuf (inputs
/// that do not decode are skipped). Before the processor runs, [`PLANTED_PASSWORD`] (under a
/// blocked key, at the top and inside a map) and [`PLANTED_EMAIL`] (in an allowed key's value)
/// are added to every resource (one is added when there is none), span, log record and data
/// point.
///
/// Checks: no panic; the processor passes (it never refuses); neither planted value is left
/// anywhere in the processed request's protobuf encoding. The last check is skipped when the
/// input itself holds either value, since weir keeps what it has no reason to mask.
pub fn redaction(data: &[u8]) {
    let [selector, body @ ..] = data else {
        return;
    };
    let signal = match selector % 3 {
        0 => match ExportTraceServiceRequest::decode(body) {
            Ok(mut r) => {
                if r.resource_spans.is_empty() {
                    r.resource_spans.push(Default::default());
                }
                for rs in &mut r.resource_spans {
                    plant_resource(&mut rs.resource);
                    for span in rs.scope_spans.iter_mut().flat_map(|s| &mut s.spans) {
                        span.attributes.extend(planted());
                    }
                }
                Signal::Traces(r.resource_spans)
            }
            Err(_) => return,
        },
        1 => match ExportMetricsServiceRequest::decode(body) {
            Ok(mut r) => {
                if r.resource_metrics.is_empty() {
                    r.resource_metrics.push(ResourceMetrics::default());
                }
                for rm in &mut r.resource_metrics {
                    plant_resource(&mut rm.resource);
                    for m in rm.scope_metrics.iter_mut().flat_map(|s| &mut s.metrics) {
                        plant_metric(m);
                    }
                }
                Signal::Metrics(r.resource_metrics)
            }
            Err(_) => return,
        },
        _ => match ExportLogsServiceRequest::decode(body) {
            Ok(mut r) => {
                if r.resource_logs.is_empty() {
                    r.resource_logs.push(Default::default());
                }
                for rl in &mut r.resource_logs {
                    plant_resource(&mut rl.resource);
                    for log in rl.scope_logs.iter_mut().flat_map(|s| &mut s.log_records) {
                        log.attributes.extend(planted());
                    }
                }
                Signal::Logs(r.resource_logs)
            }
            Err(_) => return,
        },
    };
    let mut batch = Batch::new(RequestContext::for_tests(), signal);
    let outcome = processor().process(&mut batch);
    assert!(
        matches!(outcome, Outcome::Pass { .. }),
        "the redaction processor refused a request"
    );
    if contains(body, PLANTED_PASSWORD.as_bytes()) || contains(body, PLANTED_EMAIL.as_bytes()) {
        return;
    }
    let out = match batch.into_parts().1 {
        Signal::Traces(resource_spans) => {
            ExportTraceServiceRequest { resource_spans }.encode_to_vec()
        }
        Signal::Metrics(resource_metrics) => {
            ExportMetricsServiceRequest { resource_metrics }.encode_to_vec()
        }
        Signal::Logs(resource_logs) => ExportLogsServiceRequest { resource_logs }.encode_to_vec(),
    };
    for secret in [PLANTED_PASSWORD, PLANTED_EMAIL] {
        assert!(
            !contains(&out, secret.as_bytes()),
            "a planted secret ({secret}) survived redaction"
        );
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}
