//! Malformed trace and span ids, through the binary: a span with a bad id is rejected with a
//! partial success naming it, and the good spans of the same request go on (a backend that
//! checks ids would otherwise refuse the whole batch they travel in); a request of only bad
//! spans is refused (HTTP 400 / gRPC INVALID_ARGUMENT); a log record keeps its place and loses
//! its bad id. The loss ledger balances: the rejected spans were never accepted.

mod common;

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use prost::Message;

use common::{DEBUG_CONFIG, Weir, http_client, ledger};

fn span(name: &str, trace_id: &[u8]) -> Span {
    Span {
        name: name.into(),
        trace_id: trace_id.to_vec(),
        span_id: vec![7; 8],
        start_time_unix_nano: 1,
        end_time_unix_nano: 2,
        ..Default::default()
    }
}

fn traces(spans: Vec<Span>) -> ExportTraceServiceRequest {
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            scope_spans: vec![ScopeSpans {
                spans,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

async fn post(weir: &Weir, path: &str, body: Vec<u8>) -> (u16, Vec<u8>) {
    let resp = http_client()
        .post(format!("{}{path}", weir.http_base()))
        .header("content-type", "application/x-protobuf")
        .body(body)
        .send()
        .await
        .expect("answer");
    let status = resp.status().as_u16();
    (status, resp.bytes().await.expect("body").to_vec())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_span_with_a_bad_id_is_rejected_and_named_while_its_neighbours_go_on() {
    let weir = Weir::start(DEBUG_CONFIG);
    let body = traces(vec![
        span("good-1", &[1; 16]),
        span("short", &[1; 5]),
        span("good-2", &[2; 16]),
    ]);
    let (status, answer) = post(&weir, "/v1/traces", body.encode_to_vec()).await;
    assert_eq!(status, 200);
    let partial = ExportTraceServiceResponse::decode(answer.as_slice())
        .expect("protobuf answer")
        .partial_success
        .expect("a partial success");
    assert_eq!(partial.rejected_spans, 1);
    assert_eq!(
        partial.error_message,
        "resource_spans[0].scope_spans[0].spans[1]: trace_id has 5 bytes, want 16"
    );
    let accounts = ledger::assert_balanced(&weir, &[("traces", "debug")]).await;
    assert_eq!(accounts[0].delivered, 2, "{accounts:?}");
    assert_eq!(weir.span_names(), ["good-1", "good-2"]);
    let refused = weir
        .metric("weir_receiver_refused_records_total{signal=\"traces\",receiver=\"otlp\",tenant=\"default\",reason=\"invalid\"}")
        .await;
    assert_eq!(refused, 1.0);

    // Only bad spans: nothing to take.
    let (status, _) = post(
        &weir,
        "/v1/traces",
        traces(vec![span("zero", &[0; 16])]).encode_to_vec(),
    )
    .await;
    assert_eq!(status, 400);
    let mut client = TraceServiceClient::connect(weir.grpc_base())
        .await
        .expect("connect");
    let err = client
        .export(traces(vec![span("empty", &[])]))
        .await
        .expect_err("refused");
    assert_eq!(err.code(), tonic::Code::InvalidArgument);
    assert!(
        err.message().contains("trace_id has 0 bytes"),
        "{}",
        err.message()
    );
    assert_eq!(
        weir.span_names(),
        ["good-1", "good-2"],
        "nothing more exported"
    );
}

#[tokio::test]
async fn a_log_record_keeps_its_place_and_loses_its_bad_trace_id() {
    let weir = Weir::start(DEBUG_CONFIG);
    let body = ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            scope_logs: vec![ScopeLogs {
                log_records: vec![LogRecord {
                    trace_id: vec![3; 9],
                    span_id: vec![4; 8],
                    time_unix_nano: 1,
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        }],
    };
    let (status, answer) = post(&weir, "/v1/logs", body.encode_to_vec()).await;
    assert_eq!(status, 200);
    assert!(answer.is_empty(), "no partial success: {answer:?}");
    ledger::assert_balanced(&weir, &[("logs", "debug")]).await;
    let logs = weir.records_of("logs");
    let record = &logs[0]["data"]["resourceLogs"][0]["scopeLogs"][0]["logRecords"][0];
    assert_eq!(record["traceId"], "", "{record}");
    assert_eq!(record["spanId"], "0404040404040404");
    let cleared = weir
        .metric("weir_receiver_invalid_ids_total{receiver=\"otlp\",field=\"log.trace_id\"}")
        .await;
    assert_eq!(cleared, 1.0);
}
