//! A full exporter queue, seen from the clients: a request waits for room with its body unread
//! (`sending_queue.overflow_wait`) and is taken as soon as the backend catches up; while the
//! backend stays down it gets the retryable answer after the wait (HTTP 503 + `Retry-After`,
//! gRPC UNAVAILABLE + `RetryInfo`), counted with reason `queue_full` before any of its body
//! was decoded. Nothing acknowledged is lost.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use common::capture::Capture;
use common::{OTLP_RECEIVER, Weir, ledger};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use prost::Message;
use tonic_types::StatusExt;

/// weir with one `otlphttp` exporter whose queue holds one request, one consumer, retrying
/// every 100ms, waiting `wait` for room.
fn start(backend: &Capture, wait: &str) -> Weir {
    Weir::start(&format!(
        "{OTLP_RECEIVER}exporters:\n  otlphttp:\n    endpoint: {}\n    compression: none\n    \
         retry_on_failure: {{ initial_interval: 100ms, max_interval: 100ms, max_elapsed_time: 0s }}\n    \
         sending_queue: {{ num_consumers: 1, queue_size: 1, overflow_wait: {wait} }}\nservice:\n  \
         admin: {{ endpoint: 127.0.0.1:0 }}\n  drain_timeout: 2s\n  pipelines:\n    \
         traces: {{ receivers: [otlp], exporters: [otlphttp] }}\n",
        backend.base()
    ))
}

fn spans(name: &str) -> Vec<u8> {
    serde_json::to_vec(
        &serde_json::json!({"resourceSpans": [{"resource": {"attributes": [
        {"key": "service.name", "value": {"stringValue": "shop"}}]},
        "scopeSpans": [{"spans": [{"traceId": "0af7651916cd43dd8448eb211c80319c",
        "spanId": "b7ad6b7169203331", "name": name, "kind": 2,
        "startTimeUnixNano": "1", "endTimeUnixNano": "2"}]}]}]}),
    )
    .expect("json")
}

/// Fills the queue: one request with the consumer (failing and retried), one queued.
async fn fill(weir: &Weir, backend: &Capture) {
    for name in ["first", "second"] {
        let resp = weir.post_json("/v1/traces", spans(name), &[]).await;
        assert_eq!(resp.status(), 200, "{name} is taken");
        if name == "first" {
            while backend.requests().is_empty() {
                tokio::task::yield_now().await;
            }
        }
    }
}

const WAITING: &str = "weir_receiver_waiting_requests{receiver=\"otlp\"}";
const REFUSED: &str = "weir_receiver_refused_requests_total{signal=\"traces\",receiver=\"otlp\",reason=\"queue_full\"}";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_waits_for_room_and_is_taken_when_the_backend_comes_back() {
    let up = Arc::new(AtomicBool::new(false));
    let backend = Capture::answering({
        let up = Arc::clone(&up);
        move |_| if up.load(Ordering::SeqCst) { 200 } else { 503 }
    });
    let weir = start(&backend, "1m");
    fill(&weir, &backend).await;
    let late = tokio::spawn({
        let (base, body) = (weir.http_base(), spans("late"));
        async move {
            common::http_client()
                .post(format!("{base}/v1/traces"))
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .expect("answer")
                .status()
        }
    });
    // The late request waits for room, its body unread.
    while weir.metric(WAITING).await < 1.0 {
        assert!(!late.is_finished(), "answered without waiting for room");
        tokio::task::yield_now().await;
    }
    assert!(!late.is_finished(), "no room: the request waits");
    up.store(true, Ordering::SeqCst);
    assert_eq!(
        late.await.expect("task"),
        200,
        "taken once the backend caught up"
    );
    assert_eq!(weir.metric(WAITING).await, 0.0);
    assert_eq!(weir.metric(REFUSED).await, 0.0);
    ledger::assert_balanced(&weir, &[("traces", "otlphttp")]).await;
    let delivered: Vec<String> = backend
        .requests_to("/v1/traces")
        .iter()
        .filter(|r| r.status == 200)
        .flat_map(|r| {
            ExportTraceServiceRequest::decode(&r.body[..])
                .expect("protobuf")
                .resource_spans
        })
        .flat_map(|rs| rs.scope_spans)
        .flat_map(|ss| ss.spans)
        .map(|s| s.name)
        .collect();
    let mut delivered = delivered;
    delivered.sort();
    assert_eq!(delivered, ["first", "late", "second"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn still_full_after_the_wait_is_refused_retryably_before_decoding() {
    let backend = Capture::answering(|_| 503);
    let weir = start(&backend, "300ms");
    fill(&weir, &backend).await;
    // Not even valid JSON: refused for want of room before its body is looked at.
    let resp = weir.post_json("/v1/traces", "{not json", &[]).await;
    assert_eq!(resp.status(), 503);
    assert_eq!(resp.headers()["retry-after"], "1");
    let text = resp.text().await.expect("body");
    assert!(text.contains("queue is full"), "{text}");

    let mut client = TraceServiceClient::connect(weir.grpc_base())
        .await
        .expect("connect");
    let err = client
        .export(ExportTraceServiceRequest::default())
        .await
        .expect_err("refused");
    assert_eq!(err.code(), tonic::Code::Unavailable);
    assert!(err.message().contains("queue is full"), "{}", err.message());
    assert!(err.get_details_retry_info().is_some(), "RetryInfo attached");
    assert_eq!(weir.metric(REFUSED).await, 2.0);
    assert_eq!(weir.metric(WAITING).await, 0.0);
}
