//! The `memory_limiter` processor end to end: a process-wide limit on weir's resident memory
//! that the receivers check before reading a body. Past `limit − spike`, OTLP/HTTP and the
//! frontend log intake answer 503 + `Retry-After: 1` and OTLP/gRPC UNAVAILABLE with
//! `RetryInfo`, counted in `weir_receiver_refused_requests_total{reason="memory_limited"}`;
//! the gauges and `/health` show it while `/health/ready` stays 200. Under its limit nothing
//! changes. A flood of large requests while the backend is down stays within a memory bound
//! (`flood` below).

mod common;

#[path = "memory_limiter/flood.rs"]
mod flood;

use std::time::{Duration, Instant};

use common::ledger::{parse, sum};
use common::{DEBUG_AND_ADMIN, Weir};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use serde_json::Value;
use tonic_types::StatusExt;

const MIB: u64 = 1 << 20;
const FRONTEND_LOG: &str = "/api/frontend-log";

/// weir with the frontend log intake on, traces and logs through `memory_limiter` (given as
/// its settings) to the debug exporter.
fn weir_limited(settings: &str) -> Weir {
    Weir::start(&format!(
        "receivers:\n  otlp:\n    protocols:\n      grpc: {{ endpoint: 127.0.0.1:0 }}\n      \
         http: {{ endpoint: 127.0.0.1:0, frontend_log: {{ enabled: true }} }}\n\
         processors:\n  memory_limiter: {settings}\n{DEBUG_AND_ADMIN}  pipelines:\n    \
         traces: {{ receivers: [otlp], processors: [memory_limiter], exporters: [debug] }}\n    \
         logs: {{ receivers: [otlp], processors: [memory_limiter], exporters: [debug] }}\n"
    ))
}

fn trace_json() -> Vec<u8> {
    std::fs::read(common::tests_path("fixtures/otlp-json/trace.json")).expect("trace fixture")
}

fn one_span() -> ExportTraceServiceRequest {
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            scope_spans: vec![ScopeSpans {
                spans: vec![Span {
                    trace_id: vec![1; 16],
                    span_id: vec![2; 8],
                    name: "limited".into(),
                    start_time_unix_nano: 1,
                    end_time_unix_nano: 2,
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

async fn export_grpc(weir: &Weir) -> Result<(), tonic::Status> {
    let mut client = TraceServiceClient::connect(weir.grpc_base())
        .await
        .expect("connect");
    client.export(one_span()).await.map(|_| ())
}

async fn post_frontend_log(weir: &Weir) -> reqwest::Response {
    weir.post_json(FRONTEND_LOG, r#"{"message":"boom","level":"error"}"#, &[])
        .await
}

/// `/health` as JSON, with its status code.
async fn health(weir: &Weir) -> (u16, Value) {
    let resp = weir.admin_get("/health", None).await;
    let code = resp.status().as_u16();
    (code, resp.json().await.expect("/health is JSON"))
}

/// Polls `/health` until its memory check says `refusing` is `want` (the first measurement is
/// taken at start, so this is quick).
async fn wait_refusing(weir: &Weir, want: bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (_, body) = health(weir).await;
        if body["checks"]["memory"]["refusing"] == want {
            return body;
        }
        assert!(
            Instant::now() < deadline,
            "/health never showed refusing = {want}: {body}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn refused(samples: &[common::ledger::Sample], signal: &str) -> u64 {
    sum(
        samples,
        "weir_receiver_refused_requests_total",
        &[
            ("signal", signal),
            ("receiver", "otlp"),
            ("reason", "memory_limited"),
        ],
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_the_soft_limit_every_transport_refuses_before_reading_the_body() {
    // 1 MiB with the default spike (20%): refusal from 0.8 MiB, far below any process.
    let weir = weir_limited("{ check_interval: 100ms, limit_mib: 1, spike_limit_mib: 0 }");
    let health_body = wait_refusing(&weir, true).await;

    let resp = weir.post_json("/v1/traces", trace_json(), &[]).await;
    assert_eq!(resp.status(), 503);
    assert_eq!(resp.headers()["retry-after"], "1");
    let status: Value = resp.json().await.expect("a google.rpc.Status in JSON");
    assert_eq!(status["code"], 14, "UNAVAILABLE");
    assert!(
        status["message"]
            .as_str()
            .is_some_and(|m| m.contains("memory limit")),
        "{status}"
    );

    let err = export_grpc(&weir).await.expect_err("refused");
    assert_eq!(err.code(), tonic::Code::Unavailable, "{err:?}");
    let retry = err.get_details_retry_info().expect("RetryInfo");
    assert_eq!(retry.retry_delay, Some(Duration::from_secs(1)));

    let resp = post_frontend_log(&weir).await;
    assert_eq!(resp.status(), 503);
    assert_eq!(resp.headers()["retry-after"], "1");

    let samples = parse(&weir.admin_metrics().await);
    assert_eq!(
        refused(&samples, "traces"),
        2,
        "one over HTTP, one over gRPC"
    );
    assert_eq!(refused(&samples, "logs"), 1, "the frontend log");
    let usage = sum(&samples, "weir_memory_usage_bytes", &[]);
    assert_eq!(sum(&samples, "weir_memory_limit_bytes", &[]), MIB);
    assert!(usage > MIB, "usage {usage} should be past the 1 MiB limit");
    assert_eq!(
        sum(&samples, "weir_receiver_accepted_records_total", &[]),
        0
    );

    let ready = weir.admin_get("/health/ready", None).await;
    assert_eq!(ready.status(), 200, "a limited weir stays ready");
    let memory = &health_body["checks"]["memory"];
    assert_eq!(memory["status"], "limited", "{health_body}");
    assert_eq!(memory["limit_bytes"], MIB);
    assert_eq!(memory["soft_limit_bytes"], MIB - MIB / 5);
    assert!(memory["usage_bytes"].as_u64().is_some_and(|u| u > MIB));
    assert_eq!(health_body["status"], "degraded");
    assert_eq!(health(&weir).await.0, 200);

    // Logged when refusal started, not once per refused request.
    let warned = weir
        .stderr_lines()
        .iter()
        .filter(|l| l.contains("memory usage past the soft limit"))
        .count();
    assert_eq!(warned, 1, "{:#?}", weir.stderr_lines());
    assert!(weir.records().is_empty(), "nothing reached the exporter");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_a_generous_limit_everything_is_accepted() {
    let weir = weir_limited("{ check_interval: 100ms, limit_mib: 8192 }");
    let health_body = wait_refusing(&weir, false).await;
    let memory = &health_body["checks"]["memory"];
    assert_eq!(memory["status"], "healthy", "{health_body}");
    assert_eq!(memory["limit_bytes"], 8192 * MIB);
    assert!(memory["usage_bytes"].as_u64().is_some_and(|u| u > 0));

    let resp = weir.post_json("/v1/traces", trace_json(), &[]).await;
    assert_eq!(resp.status(), 200);
    export_grpc(&weir).await.expect("accepted over gRPC");
    assert_eq!(post_frontend_log(&weir).await.status(), 202);

    let samples = parse(&weir.admin_metrics().await);
    assert_eq!(refused(&samples, "traces") + refused(&samples, "logs"), 0);
    let usage = sum(&samples, "weir_memory_usage_bytes", &[]);
    assert!(usage > 0 && usage < 8192 * MIB, "usage {usage}");
    assert!(
        sum(
            &samples,
            "weir_receiver_accepted_records_total",
            &[("signal", "traces")]
        ) >= 2
    );
    assert_eq!(
        sum(
            &samples,
            "weir_receiver_accepted_records_total",
            &[("signal", "logs")]
        ),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_memory_limiter_there_is_no_limit() {
    let weir = Weir::start(common::DEBUG_CONFIG);
    let (code, body) = health(&weir).await;
    assert_eq!(code, 200);
    assert_eq!(body["checks"]["memory"]["limit"], Value::Null, "{body}");
    let page = weir.admin_metrics().await;
    assert!(!page.contains("weir_memory_limit_bytes "), "no limit gauge");
}
