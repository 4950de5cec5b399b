//! A signal no pipeline of the receiver takes is answered as the Collector answers it: HTTP 404
//! and gRPC UNIMPLEMENTED, naming the missing pipeline, while the served signal goes on.

mod common;

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_client::MetricsServiceClient;

use common::{Weir, http_client, ledger};

const TRACES_ONLY: &str = "\
receivers:
  otlp:
    protocols:
      grpc: { endpoint: 127.0.0.1:0 }
      http: { endpoint: 127.0.0.1:0 }
exporters:
  debug: { verbosity: detailed, format: json, path: {OUT} }
service:
  admin: { endpoint: 127.0.0.1:0 }
  pipelines:
    traces: { receivers: [otlp], exporters: [debug] }
";

// Multi-threaded: the gRPC client's connection task must keep running while the test blocks
// on weir's exit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signals_without_a_pipeline_are_not_found_or_unimplemented() {
    let weir = Weir::start(TRACES_ONLY);
    let post = |path: &'static str| {
        http_client()
            .post(format!("{}{path}", weir.http_base()))
            .header("content-type", "application/json")
            .body("{}")
            .send()
    };
    let logs = post("/v1/logs").await.expect("send");
    assert_eq!(logs.status(), 404);
    let body = logs.text().await.expect("body");
    assert!(
        body.contains("receiver otlp has no logs pipeline"),
        "{body}"
    );
    assert_eq!(post("/v1/traces").await.expect("send").status(), 200);

    let mut client = MetricsServiceClient::connect(weir.grpc_base())
        .await
        .expect("connect");
    let status = client
        .export(ExportMetricsServiceRequest::default())
        .await
        .expect_err("no metrics pipeline");
    assert_eq!(status.code(), tonic::Code::Unimplemented, "{status:?}");
    assert!(
        status.message().contains("no metrics pipeline"),
        "{status:?}"
    );
    // The refused requests are no part of the ledger (and the served one carried no record).
    let accounts = ledger::assert_balanced(&weir, &ledger::every_signal("debug")).await;
    assert!(accounts.iter().all(|a| a.accepted == 0), "{accounts:?}");
}
