//! Every gRPC call the OTLP receiver answers is counted by method and status code, and timed,
//! as HTTP requests are: accepted calls and a refused one.

mod common;

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::logs::v1::logs_service_client::LogsServiceClient;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;

use common::{DEBUG_CONFIG, Weir, http_client, ledger};

const TRACES: &str = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";
const LOGS: &str = "/opentelemetry.proto.collector.logs.v1.LogsService/Export";

async fn scrape(weir: &Weir) -> String {
    http_client()
        .get(format!("http://{}/metrics", weir.admin_addr))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("body")
}

fn value(page: &str, series: &str) -> Option<f64> {
    page.lines()
        .find(|l| l.starts_with(series))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

// Multi-threaded: the gRPC client's connection task must keep running while the test blocks
// on weir's exit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_calls_are_counted_by_method_and_code() {
    let weir = Weir::start(DEBUG_CONFIG);
    let mut traces = TraceServiceClient::connect(weir.grpc_base())
        .await
        .expect("connect");
    for _ in 0..2 {
        traces
            .export(ExportTraceServiceRequest::default())
            .await
            .expect("accepted");
    }
    let mut logs = LogsServiceClient::connect(weir.grpc_base())
        .await
        .expect("connect");
    let mut refused = tonic::Request::new(ExportLogsServiceRequest::default());
    refused
        .metadata_mut()
        .insert("x-scope-orgid", "not/valid".parse().expect("ascii"));
    let status = logs.export(refused).await.expect_err("bad tenant id");
    assert_eq!(status.code(), tonic::Code::InvalidArgument);

    let page = scrape(&weir).await;
    let count = |method: &str, code: &str| {
        value(
            &page,
            &format!("weir_grpc_requests_total{{method=\"{method}\",code=\"{code}\"}}"),
        )
    };
    assert_eq!(count(TRACES, "OK"), Some(2.0), "{page}");
    assert_eq!(count(LOGS, "INVALID_ARGUMENT"), Some(1.0), "{page}");
    assert_eq!(count(LOGS, "OK"), None, "{page}");
    assert_eq!(
        value(
            &page,
            &format!("weir_grpc_request_duration_seconds_count{{method=\"{TRACES}\"}}")
        ),
        Some(2.0),
        "{page}"
    );
    ledger::assert_balanced(&weir, &ledger::every_signal("debug")).await;
}
