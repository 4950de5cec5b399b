//! One queued exporter serving pipelines of two signals, with batching on: each signal's
//! records reach the backend in requests of that signal only, and none is lost, even when the
//! same tenant's traces and logs wait in the queue together.

mod common;

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message;
use serde_json::json;

use common::capture::Capture;
use common::{OTLP_RECEIVER, Weir};

fn span(name: &str) -> String {
    json!({"resourceSpans": [{"scopeSpans": [{"spans": [{
        "traceId": "5b8efff798038103d269b633813fc60c", "spanId": "eee19b7ec3c1b174",
        "name": name, "startTimeUnixNano": "1", "endTimeUnixNano": "2"
    }]}]}]})
    .to_string()
}

fn log(body: &str) -> String {
    json!({"resourceLogs": [{"scopeLogs": [{"logRecords": [{
        "timeUnixNano": "1", "body": {"stringValue": body}
    }]}]}]})
    .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batching_keeps_each_signal_apart_and_loses_nothing() {
    let backend = Capture::start();
    let mut weir = Weir::start(&format!(
        "{OTLP_RECEIVER}\
processors:
  batch: {{ send_batch_size: 1000, timeout: 200ms }}
exporters:
  otlphttp: {{ endpoint: {}, compression: none }}
service:
  admin: {{ endpoint: 127.0.0.1:0 }}
  pipelines:
    traces: {{ receivers: [otlp], processors: [batch], exporters: [otlphttp] }}
    logs: {{ receivers: [otlp], processors: [batch], exporters: [otlphttp] }}
",
        backend.base()
    ));
    for i in 0..3 {
        let traces = weir
            .post_json("/v1/traces", span(&format!("s{i}")), &[])
            .await;
        assert_eq!(traces.status(), 200);
        let logs = weir.post_json("/v1/logs", log(&format!("l{i}")), &[]).await;
        assert_eq!(logs.status(), 200);
    }
    let accounts =
        common::ledger::assert_balanced(&weir, &[("traces", "otlphttp"), ("logs", "otlphttp")])
            .await;
    assert!(accounts.iter().all(|a| a.delivered == 3), "{accounts:?}");
    // The drain sends what the queue still holds before weir exits.
    assert!(weir.stop().success());

    let mut spans = Vec::new();
    for r in backend.requests_to("/v1/traces") {
        let req = ExportTraceServiceRequest::decode(r.body.as_slice()).expect("traces protobuf");
        for rs in req.resource_spans {
            for ss in rs.scope_spans {
                spans.extend(ss.spans.into_iter().map(|s| s.name));
            }
        }
    }
    let mut logs = 0;
    for r in backend.requests_to("/v1/logs") {
        let req = ExportLogsServiceRequest::decode(r.body.as_slice()).expect("logs protobuf");
        logs += req
            .resource_logs
            .iter()
            .flat_map(|rl| &rl.scope_logs)
            .map(|sl| sl.log_records.len())
            .sum::<usize>();
    }
    spans.sort();
    assert_eq!(spans, ["s0", "s1", "s2"], "{:?}", weir.stderr_lines());
    assert_eq!(logs, 3, "{:?}", weir.stderr_lines());
}
