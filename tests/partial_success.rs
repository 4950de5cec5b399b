//! A backend answering OTLP `partial_success`, through the real binary: weir's `otlp` (gRPC)
//! and `otlphttp` exporters each send to a fake backend that takes the export but rejects two
//! spans. `/metrics` counts those two in the loss ledger as `rejected_by_backend` and the rest
//! as sent, for each exporter, and weir logs a warning naming the exporter and the count.

mod common;

use std::net::SocketAddr;

use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use prost::Message;
use serde_json::{Value, json};
use tokio_stream::wrappers::TcpListenerStream;
use tonic::codec::CompressionEncoding;

use common::capture::Capture;
use common::{OTLP_RECEIVER, Weir};

/// Rejected by both fake backends, out of every export.
const REJECTED: i64 = 2;
/// The backends' message, which weir's warning carries.
const MESSAGE: &str = "2 spans are too old";

fn answer() -> ExportTraceServiceResponse {
    ExportTraceServiceResponse {
        partial_success: Some(ExportTracePartialSuccess {
            rejected_spans: REJECTED,
            error_message: MESSAGE.into(),
        }),
    }
}

/// An OTLP gRPC trace backend that takes every export and rejects [`REJECTED`] spans of it.
struct Rejecting;

#[tonic::async_trait]
impl TraceService for Rejecting {
    async fn export(
        &self,
        _request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        Ok(tonic::Response::new(answer()))
    }
}

/// Starts [`Rejecting`] on a loopback port, on the test's runtime.
async fn grpc_backend() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind gRPC backend");
    let addr = listener.local_addr().expect("address");
    let server = tonic::transport::Server::builder()
        .add_service(
            TraceServiceServer::new(Rejecting).accept_compressed(CompressionEncoding::Gzip),
        )
        .serve_with_incoming(TcpListenerStream::new(listener));
    tokio::spawn(server);
    addr
}

fn spans(n: usize) -> Vec<u8> {
    let spans: Vec<Value> = (0..n)
        .map(|i| {
            json!({
                "traceId": "5b8efff798038103d269b633813fc60c",
                "spanId": format!("{:016x}", i + 1),
                "name": format!("span {i}"),
                "startTimeUnixNano": "1", "endTimeUnixNano": "2"
            })
        })
        .collect();
    serde_json::to_vec(&json!({"resourceSpans": [{"scopeSpans": [{"spans": spans}]}]}))
        .expect("json")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partial_success_is_counted_as_rejected_by_backend_and_logged() {
    let grpc = grpc_backend().await;
    // The HTTP backend answers 200 with the same partial success, protobuf-encoded.
    let body = String::from_utf8(answer().encode_to_vec()).expect("an ASCII-only answer");
    let http = Capture::answering_with_body(move |_| (200, body.clone()));
    let weir = Weir::start(&format!(
        "{OTLP_RECEIVER}\
exporters:
  otlp: {{ endpoint: {grpc}, tls: {{ insecure: true }} }}
  otlphttp: {{ endpoint: {} }}
service:
  admin: {{ endpoint: 127.0.0.1:0 }}
  pipelines:
    traces: {{ receivers: [otlp], exporters: [otlp, otlphttp] }}
",
        http.base()
    ));
    let resp = weir.post_json("/v1/traces", spans(5), &[]).await;
    assert_eq!(resp.status(), 200);

    // The ledger waits for both queues to send, and balances: 5 = 3 sent + 2 dropped.
    let accounts =
        common::ledger::assert_balanced(&weir, &[("traces", "otlp"), ("traces", "otlphttp")]).await;
    for account in &accounts {
        assert_eq!(account.accepted, 5, "{accounts:?}");
        assert_eq!(account.delivered, 3, "{accounts:?}");
        let dropped: Vec<(&str, u64)> = account
            .dropped
            .iter()
            .map(|(reason, n)| (reason.as_str(), *n))
            .collect();
        assert_eq!(dropped, [("rejected_by_backend", 2)], "{accounts:?}");
    }
    for exporter in ["otlp", "otlphttp"] {
        let series = format!(
            "weir_records_dropped_total{{signal=\"traces\",exporter=\"{exporter}\",tenant=\"default\",reason=\"rejected_by_backend\"}}"
        );
        assert_eq!(weir.metric(&series).await, 2.0, "{series}");
        let sent = format!(
            "weir_exporter_sent_records_total{{signal=\"traces\",exporter=\"{exporter}\"}}"
        );
        assert_eq!(weir.metric(&sent).await, 3.0, "{sent}");
    }

    // One warning per exporter, with the count and the backend's message beside its own.
    for exporter in ["otlp", "otlphttp"] {
        let lines = weir.stderr_lines_once(|l| warned(l, exporter));
        let event: Value = lines
            .iter()
            .find(|l| warned(l, exporter))
            .and_then(|l| serde_json::from_str(l).ok())
            .expect("the warning");
        assert_eq!(
            event["message"], "the backend accepted the export but rejected part of it",
            "{event}"
        );
        assert_eq!(event["backend_message"], MESSAGE, "{event}");
    }
}

/// True when `line` is weir's warning that `exporter`'s backend rejected [`REJECTED`] records.
fn warned(line: &str, exporter: &str) -> bool {
    let Ok(event) = serde_json::from_str::<Value>(line) else {
        return false;
    };
    event["level"] == "WARN" && event["exporter"] == exporter && event["rejected"] == REJECTED
}
