//! Traces through the real binary on the byte path: OTLP/gRPC and OTLP/HTTP protobuf in, the
//! `otlphttp` exporter (no compression) out to a backend that keeps the bodies it gets.
//!
//! - With no processor that edits (only `batch`, redaction off), the request leaves weir with
//!   the bytes it arrived with, a field prost does not know included: nothing was decoded and
//!   encoded again.
//! - With the default redaction on (it runs on the wire view of a request held as bytes), what
//!   leaves decodes to exactly the structs the struct path gives: the same request decoded by
//!   prost, run through the same processor on its structs in this test.

mod common;

use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use prost::Message;
use weir_pipeline::{Batch, Metrics, Processor, RequestContext, Signal};
use weir_processors::redaction::{Redaction, RedactionConfig};

use common::capture::{Capture, Request};
use common::{OTLP_RECEIVER, Weir};

fn text(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(value.into())),
        }),
        ..Default::default()
    }
}

/// Spans with attributes the default redaction masks (an email, a password, a token in a URL)
/// beside ones it keeps.
fn request(spans: usize) -> ExportTraceServiceRequest {
    let span = |i: usize| Span {
        trace_id: vec![0x5b; 16],
        span_id: (i as u64 + 1).to_be_bytes().to_vec(),
        name: format!("GET /users/{i}"),
        start_time_unix_nano: 1_700_000_000_000_000_000 + i as u64,
        end_time_unix_nano: 1_700_000_000_000_500_000 + i as u64,
        attributes: vec![
            text("http.request.method", "GET"),
            text("http.route", "/users/{id}"),
            text("user.email", &format!("user{i}@example.com")),
            text("db.password", "hunter2"),
            text("url.full", "https://api.example.com/users?token=abc123"),
        ],
        ..Default::default()
    };
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![text("service.name", "checkout")],
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans {
                spans: (0..spans).map(span).collect(),
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

/// weir with `processors` (YAML list) and `extra` pipeline keys, exporting traces to `sink`.
fn weir(sink: &Capture, processors: &str, extra: &str) -> Weir {
    Weir::start(&format!(
        "{OTLP_RECEIVER}\
processors:
  batch: {{}}
exporters:
  otlphttp: {{ endpoint: {}, compression: none }}
service:
  admin: {{ endpoint: 127.0.0.1:0 }}
  pipelines:
    traces: {{ receivers: [otlp], processors: {processors}, exporters: [otlphttp]{extra} }}
",
        sink.base()
    ))
}

/// The trace bodies `sink` got, once it has `n`.
async fn bodies(sink: &Capture, n: usize) -> Vec<Request> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let got = sink.requests_to("/v1/traces");
        if got.len() >= n {
            return got;
        }
        assert!(
            Instant::now() < deadline,
            "the sink got {} of {n} requests",
            got.len()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn send_grpc(weir: &Weir, request: &ExportTraceServiceRequest) {
    let mut client = TraceServiceClient::connect(weir.grpc_base())
        .await
        .expect("connect");
    client.export(request.clone()).await.expect("export");
}

async fn send_http(weir: &Weir, body: Vec<u8>) {
    let resp = common::http_client()
        .post(format!("{}/v1/traces", weir.http_base()))
        .header("content-type", "application/x-protobuf")
        .body(body)
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unedited_request_leaves_with_the_bytes_it_arrived_with() {
    let sink = Capture::start();
    let weir = weir(&sink, "[batch]", ", redaction: off");
    let sent = request(20);
    send_grpc(&weir, &sent).await;
    let got = bodies(&sink, 1).await;
    assert_eq!(got[0].body, sent.encode_to_vec(), "over gRPC");

    // A field no OTLP version has (number 1000 of the request, a string): prost would drop it
    // when decoding, so only bytes that were never decoded still carry it.
    let mut body = request(3).encode_to_vec();
    body.extend_from_slice(&[0xc2, 0x3e, 5]);
    body.extend_from_slice(b"extra");
    send_http(&weir, body.clone()).await;
    let got = bodies(&sink, 2).await;
    assert_eq!(got[1].body, body, "over HTTP, the unknown field with it");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redacted_request_decodes_to_what_the_struct_path_gives() {
    let sink = Capture::start();
    let weir = weir(&sink, "[batch]", "");
    let sent = request(20);
    // One at a time: the exporter's batching would merge two sent together.
    send_grpc(&weir, &sent).await;
    bodies(&sink, 1).await;
    send_http(&weir, sent.encode_to_vec()).await;
    let got = bodies(&sink, 2).await;

    // The struct path: prost's decoding of the same bytes, through the same default redaction.
    let redaction = Redaction::new(
        "redaction/default",
        &RedactionConfig::default(),
        Metrics::new(),
    )
    .expect("the default redaction");
    let decoded = ExportTraceServiceRequest::decode(&sent.encode_to_vec()[..]).expect("decode");
    let mut want = Batch::new(
        RequestContext::for_tests(),
        Signal::Traces(decoded.resource_spans),
    );
    redaction.process(&mut want);
    let want = want.signal().clone();
    let before = Signal::Traces(sent.resource_spans.clone());
    assert_ne!(want, before, "the default redaction changes these spans");

    for (i, r) in got.iter().enumerate() {
        let out = ExportTraceServiceRequest::decode(&r.body[..]).expect("weir sends protobuf");
        assert_eq!(Signal::Traces(out.resource_spans), want, "request {i}");
    }
}
