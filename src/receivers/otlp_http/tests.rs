//! Loopback tests of the OTLP/HTTP receiver with a real HTTP client.

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::any_value;
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use prost::Message;
use weir_pipeline::metrics::catalogue;
use weir_pipeline::test_util::{CollectingExporter, FixedProcessor, kv};
use weir_pipeline::{Metrics, Outcome, Processor, Refusal, RefusalKind, Signal};

use super::*;

mod abuse;

struct Harness {
    addr: std::net::SocketAddr,
    base: String,
    collector: Arc<CollectingExporter>,
    metrics: Metrics,
    client: reqwest::Client,
}

async fn start(processors: Vec<Arc<dyn Processor>>, max_body: u64) -> Harness {
    let cfg = HttpConfig {
        endpoint: "127.0.0.1:0".into(),
        max_request_body_size: max_body,
        ..HttpConfig::default()
    };
    start_on(&cfg, processors, 64 << 20, 1000).await
}

/// The receiver of `cfg` with `inflight` bytes of bodies and `connections` connections.
async fn start_on(
    cfg: &HttpConfig,
    processors: Vec<Arc<dyn Processor>>,
    inflight: u64,
    connections: usize,
) -> Harness {
    let (collector, shared) =
        crate::receivers::test_shared::shared_with(processors, inflight, connections);
    let metrics = shared.metrics.clone();
    let bound = bind(cfg, None, shared, Box::pin(futures::future::pending()))
        .await
        .expect("bind");
    tokio::spawn(bound.serve);
    Harness {
        addr: bound.local_addr,
        base: format!("http://{}", bound.local_addr),
        collector,
        metrics,
        client: {
            crate::install_crypto_provider();
            reqwest::Client::new()
        },
    }
}

fn traces(n: usize, attr_len: usize) -> ExportTraceServiceRequest {
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![kv("service.name", "checkout")],
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans {
                scope: Some(
                    opentelemetry_proto::tonic::common::v1::InstrumentationScope {
                        name: "lib".into(),
                        version: "1.2".into(),
                        ..Default::default()
                    },
                ),
                spans: (0..n)
                    .map(|i| Span {
                        trace_id: vec![7; 16],
                        span_id: vec![i as u8 + 1; 8],
                        name: format!("span-{i}"),
                        attributes: vec![kv("http.route", &"r".repeat(attr_len))],
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

impl Harness {
    async fn post(
        &self,
        path: &str,
        ct: &str,
        ce: Option<&str>,
        body: Vec<u8>,
    ) -> reqwest::Response {
        let mut req = self
            .client
            .post(format!("{}{path}", self.base))
            .header("content-type", ct)
            .body(body);
        if let Some(ce) = ce {
            req = req.header("content-encoding", ce);
        }
        req.send().await.expect("send")
    }
}

async fn status_of(resp: reqwest::Response) -> (u16, tonic_types::Status) {
    let code = resp.status().as_u16();
    let json = resp
        .headers()
        .get("content-type")
        .is_some_and(|v| v.as_bytes() == b"application/json");
    let body = resp.bytes().await.expect("body");
    let status = if json {
        let v: serde_json::Value = serde_json::from_slice(&body).expect("json status");
        tonic_types::Status {
            code: v["code"].as_i64().expect("code") as i32,
            message: v["message"].as_str().expect("message").to_owned(),
            details: vec![],
        }
    } else {
        tonic_types::Status::decode(&body[..]).expect("protobuf status")
    };
    (code, status)
}

#[tokio::test]
async fn protobuf_traces_arrive_field_for_field_and_the_request_id_is_echoed() {
    let h = start(vec![], 1 << 20).await;
    let sent = traces(3, 4);
    let resp = h
        .client
        .post(format!("{}/v1/traces", h.base))
        .header("content-type", "application/x-protobuf")
        .header("x-request-id", "req-42")
        .body(sent.encode_to_vec())
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(resp.headers()["x-request-id"], "req-42");
    assert_eq!(resp.headers()["content-type"], "application/x-protobuf");
    let body =
        ExportTraceServiceResponse::decode(resp.bytes().await.expect("body")).expect("decode");
    assert_eq!(body.partial_success, None);
    let batches = h.collector.batches();
    assert_eq!(batches.len(), 1);
    assert_eq!(batches[0].ctx.request_id.as_str(), "req-42");
    assert_eq!(batches[0].ctx.tenant.as_str(), "default");
    assert!(batches[0].is_wire(), "protobuf traces stay bytes");
    assert_eq!(batches[0].encode_request(), sent.encode_to_vec());
    assert_eq!(*batches[0].signal(), Signal::Traces(sent.resource_spans));
    assert_eq!(
        h.metrics.value(
            catalogue::RECEIVER_ACCEPTED_RECORDS,
            &["traces", "otlp", "default"]
        ),
        Some(3)
    );
}

#[tokio::test]
async fn official_otlp_json_examples_decode() {
    let h = start(vec![], 1 << 20).await;
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/otlp-json");
    for (path, file) in [
        ("/v1/traces", "trace.json"),
        ("/v1/metrics", "metrics.json"),
        ("/v1/logs", "logs.json"),
    ] {
        let body = std::fs::read(format!("{dir}/{file}")).expect("fixture");
        let resp = h.post(path, "application/json", None, body).await;
        assert_eq!(resp.status().as_u16(), 200, "{file}");
        assert_eq!(resp.headers()["content-type"], "application/json");
        let v: serde_json::Value = resp.json().await.expect("json answer");
        assert!(
            v.get("partialSuccess").is_none_or(|p| p.is_null()),
            "{file}: {v}"
        );
    }
    let batches = h.collector.batches();
    assert_eq!(batches.len(), 3);
    assert!(
        !batches[0].is_wire(),
        "OTLP/JSON is decoded at the receiver"
    );
    let Signal::Traces(rs) = batches[0].signal() else {
        panic!("traces first")
    };
    let span = &rs[0].scope_spans[0].spans[0];
    assert_eq!(
        const_hex::encode(&span.trace_id),
        "5b8efff798038103d269b633813fc60c"
    );
    assert_eq!(const_hex::encode(&span.span_id), "eee19b7ec3c1b174");
    assert_eq!(span.start_time_unix_nano, 1_544_712_660_000_000_000);
    assert_eq!(span.kind, 2);
    assert_eq!(
        rs[0].scope_spans[0].scope.as_ref().map(|s| s.name.as_str()),
        Some("my.library")
    );
    let Signal::Metrics(rm) = batches[1].signal() else {
        panic!("metrics second")
    };
    assert!(batches[1].record_count() >= 4, "{rm:?}");
    let Signal::Logs(rl) = batches[2].signal() else {
        panic!("logs third")
    };
    let log = &rl[0].scope_logs[0].log_records[0];
    assert_eq!(log.severity_text, "Information");
    assert!(log.attributes.iter().any(|a| a.key == "int.attribute"
        && a.value.as_ref().and_then(|v| v.value.clone()) == Some(any_value::Value::IntValue(10))));
}

#[tokio::test]
async fn every_content_encoding_is_accepted() {
    let h = start(vec![], 1 << 20).await;
    let raw = traces(2, 10).encode_to_vec();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&raw).expect("gz");
    let mut zl = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
    zl.write_all(&raw).expect("zlib");
    let bodies = [
        ("gzip", gz.finish().expect("gz")),
        ("deflate", zl.finish().expect("zlib")),
        ("zstd", zstd::encode_all(&raw[..], 3).expect("zstd")),
    ];
    for (enc, body) in bodies {
        let resp = h
            .post("/v1/traces", "application/x-protobuf", Some(enc), body)
            .await;
        assert_eq!(resp.status().as_u16(), 200, "{enc}");
    }
    assert_eq!(h.collector.batches().len(), 3);
}

#[tokio::test]
async fn bad_requests_get_the_right_status_while_good_ones_succeed() {
    let h = Arc::new(start(vec![], 64 * 1024).await);
    let mut bomb = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    bomb.write_all(&vec![0u8; 64 * 1024 * 1024]).expect("bomb");
    let bomb = bomb.finish().expect("bomb");
    // (path, content type, content encoding, body, status, words in the message)
    type Case = (
        &'static str,
        &'static str,
        Option<&'static str>,
        Vec<u8>,
        u16,
        &'static str,
    );
    let cases: Vec<Case> = vec![
        (
            "/v1/traces",
            "application/x-protobuf",
            None,
            vec![0xff, 0xff, 0xff],
            400,
            "malformed protobuf",
        ),
        (
            "/v1/logs",
            "application/json",
            None,
            b"{\"resourceLogs\": [".to_vec(),
            400,
            "malformed OTLP/JSON",
        ),
        (
            "/v1/traces",
            "text/plain",
            None,
            b"hi".to_vec(),
            415,
            "unsupported content type",
        ),
        (
            "/v1/traces",
            "application/x-protobuf",
            None,
            traces(1, 70 * 1024).encode_to_vec(),
            413,
            "max_request_body_size",
        ),
        (
            "/v1/traces",
            "application/x-protobuf",
            Some("gzip"),
            bomb,
            413,
            "after decompression",
        ),
        (
            "/v1/traces",
            "application/x-protobuf",
            Some("br"),
            b"x".to_vec(),
            400,
            "content encoding",
        ),
    ];
    let good = traces(1, 8).encode_to_vec();
    let mut tasks = Vec::new();
    for (path, ct, ce, body, want, text) in cases {
        let h2 = h.clone();
        tasks.push(tokio::spawn(async move {
            let (code, status) = status_of(h2.post(path, ct, ce, body).await).await;
            assert_eq!(code, want, "{ct} {ce:?}: {status:?}");
            assert!(
                status.message.contains(text),
                "{:?} should mention {text}",
                status.message
            );
            assert_ne!(status.code, 0);
        }));
        for _ in 0..3 {
            let h2 = h.clone();
            let body = good.clone();
            tasks.push(tokio::spawn(async move {
                let resp = h2
                    .post("/v1/traces", "application/x-protobuf", None, body)
                    .await;
                assert_eq!(resp.status().as_u16(), 200);
            }));
        }
    }
    for t in tasks {
        t.await.expect("task");
    }
    assert_eq!(h.collector.batches().len(), 18);
}

#[tokio::test]
async fn a_missing_request_id_is_generated_as_uuid_v7() {
    let h = start(vec![], 1 << 20).await;
    let resp = h
        .post(
            "/v1/traces",
            "application/x-protobuf",
            None,
            traces(1, 1).encode_to_vec(),
        )
        .await;
    let id = resp.headers()["x-request-id"]
        .to_str()
        .expect("ascii")
        .to_owned();
    assert_eq!(
        uuid::Uuid::parse_str(&id).expect("uuid").get_version_num(),
        7
    );
    assert_eq!(h.collector.batches()[0].ctx.request_id.as_str(), id);
    // Errors carry it too.
    let resp = h.post("/v1/traces", "text/plain", None, vec![]).await;
    assert!(resp.headers().contains_key("x-request-id"));
}

#[tokio::test]
async fn tenant_header_is_validated() {
    let h = start(vec![], 1 << 20).await;
    let body = traces(1, 1).encode_to_vec();
    let ok = h
        .client
        .post(format!("{}/v1/traces", h.base))
        .header("content-type", "application/x-protobuf")
        .header("x-scope-orgid", "team-a")
        .body(body.clone())
        .send()
        .await
        .expect("send");
    assert_eq!(ok.status().as_u16(), 200);
    assert_eq!(h.collector.batches()[0].ctx.tenant.as_str(), "team-a");
    let bad = h
        .client
        .post(format!("{}/v1/traces", h.base))
        .header("content-type", "application/json")
        .header("x-scope-orgid", "a/b")
        .body("{}")
        .send()
        .await
        .expect("send");
    let (code, status) = status_of(bad).await;
    assert_eq!(code, 400);
    assert!(
        status.message.contains("X-Scope-OrgID") || status.message.contains("x-scope-orgid"),
        "{}",
        status.message
    );
}

#[tokio::test]
async fn processor_outcomes_reach_the_client() {
    let partial = start(
        vec![Arc::new(FixedProcessor(Outcome::Pass {
            rejected: 2,
            message: Some("two dropped".into()),
        }))],
        1 << 20,
    )
    .await;
    let resp = partial
        .post(
            "/v1/traces",
            "application/json",
            None,
            serde_json::to_vec(&traces(3, 1)).expect("json"),
        )
        .await;
    assert_eq!(resp.status().as_u16(), 200);
    let v: serde_json::Value = resp.json().await.expect("json");
    // OTLP/JSON allows an int64 as a number or a string.
    let rejected = &v["partialSuccess"]["rejectedSpans"];
    assert!(
        rejected == &serde_json::json!(2) || rejected == &serde_json::json!("2"),
        "{v}"
    );
    assert_eq!(v["partialSuccess"]["errorMessage"], "two dropped");

    let limited = start(
        vec![Arc::new(FixedProcessor(Outcome::Refuse {
            reason: Refusal::new(RefusalKind::RateLimited, "tenant over its limit"),
            retry_after: Some(Duration::from_millis(2500)),
        }))],
        1 << 20,
    )
    .await;
    let resp = limited
        .post(
            "/v1/logs",
            "application/x-protobuf",
            None,
            ExportLogsServiceRequest::default().encode_to_vec(),
        )
        .await;
    assert_eq!(resp.status().as_u16(), 429);
    assert_eq!(resp.headers()["retry-after"], "3");
    let (_, status) = status_of(resp).await;
    assert_eq!(status.message, "tenant over its limit");

    let full = start(
        vec![Arc::new(FixedProcessor(Outcome::Refuse {
            reason: Refusal::new(RefusalKind::Unavailable, "queue full"),
            retry_after: None,
        }))],
        1 << 20,
    )
    .await;
    let resp = full
        .post(
            "/v1/metrics",
            "application/json",
            None,
            serde_json::to_vec(&ExportMetricsServiceRequest::default()).expect("json"),
        )
        .await;
    assert_eq!(resp.status().as_u16(), 503);
    assert_eq!(resp.headers()["retry-after"], "1");
    assert_eq!(full.collector.batches().len(), 0);
}

#[tokio::test]
async fn unknown_paths_are_404_with_a_status() {
    let h = start(vec![], 1 << 20).await;
    let (code, status) = status_of(
        h.post("/v1/profiles", "application/x-protobuf", None, vec![])
            .await,
    )
    .await;
    assert_eq!(code, 404);
    assert!(status.message.contains("/v1/traces"));
}
