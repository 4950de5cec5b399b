//! The OpenTelemetry Python SDK as a real client: `tests/python/send_all.py`, run under
//! `opentelemetry-instrument` and configured only by the standard `OTEL_*` variables as an
//! application is, sends a trace, metrics and a log record to a running weir over OTLP/gRPC and
//! OTLP/HTTP (protobuf). The debug exporter's JSON must hold exactly what the script reports it
//! created, field for field.
//!
//! With only `OTEL_EXPORTER_OTLP_ENDPOINT` pointed at the OTLP/HTTP port, the SDK sends gRPC
//! (the distro's default protocol): every export fails, and weir's log says why, once.
//!
//! The relay tests put a second weir in front: the SDK sends to it, its `otlp` or `otlphttp`
//! exporter forwards through its queue to the first weir, and SIGTERM must drain that queue
//! before it exits 0, so that the first weir's output is complete and still field for field.

#[path = "sdk_python/checks.rs"]
mod checks;
mod common;

use std::collections::HashSet;

use serde_json::Value;

use checks::{check_envelope, check_logs, check_metrics, check_traces};
use common::{OTLP_RECEIVER, Weir, ledger, python, sdk};

const SERVICE_NAME: &str = "checkout-svc";
const RESOURCE_ATTRIBUTES: &str = "deployment.environment.name=sdk-test,team=payments";

#[test]
fn python_sdk_over_grpc() {
    sdk_round_trip("grpc");
}

#[test]
fn python_sdk_over_http_protobuf() {
    sdk_round_trip("http/protobuf");
}

#[test]
fn relayed_through_the_otlp_exporter() {
    relay_round_trip("grpc", "otlp");
}

#[test]
fn relayed_through_the_otlphttp_exporter() {
    relay_round_trip("http/protobuf", "otlphttp");
}

#[test]
fn the_default_protocol_on_the_http_port_fails_with_a_hint() {
    python();
    let mut weir = Weir::start(common::DEBUG_CONFIG);
    let out = sdk::command("send_all.py")
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", weir.http_base())
        .env("OTEL_SERVICE_NAME", SERVICE_NAME)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run send_all.py");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "gRPC to the OTLP/HTTP port cannot succeed"
    );
    assert!(
        stderr.contains("traces export: FAILURE"),
        "send_all.py's stderr:\n{stderr}"
    );
    let hints = |lines: &[String]| {
        lines
            .iter()
            .filter(|l| l.contains("this is the OTLP/HTTP port"))
            .count()
    };
    let lines = weir.stderr_lines_once(|l| l.contains("this is the OTLP/HTTP port"));
    // Every signal's exports failed (the script waited for them): still one hint.
    assert_eq!(hints(&lines), 1, "{lines:#?}");
    assert!(weir.records().is_empty(), "nothing was accepted");
    let status = weir.stop();
    assert!(status.success(), "weir exited with {status}");
}

fn sdk_round_trip(protocol: &str) {
    python(); // fails first, with how to get it, if the venv is missing
    let mut weir = Weir::start(common::DEBUG_CONFIG);
    let endpoint = sdk_endpoint(&weir, protocol);
    let report = run_send_all(protocol, &endpoint);
    check_everything(&mut weir, &report, protocol);
}

/// SDK → relay weir (`exporter` to the sink) → sink weir (debug JSON).
fn relay_round_trip(protocol: &str, exporter: &str) {
    python();
    let mut sink = Weir::start(common::DEBUG_CONFIG);
    let endpoint = match exporter {
        "otlp" => sink.grpc_base(),
        _ => sink.http_base(),
    };
    let mut relay = Weir::start(&format!(
        "{OTLP_RECEIVER}\
exporters:
  {exporter}:
    endpoint: {endpoint}
    tls: {{ insecure: true }}
    retry_on_failure: {{ initial_interval: 50ms }}
service:
  admin: {{ endpoint: 127.0.0.1:0 }}
  drain_timeout: 20s
  pipelines:
    traces:  {{ receivers: [otlp], exporters: [{exporter}], redaction: off }}
    metrics: {{ receivers: [otlp], exporters: [{exporter}], redaction: off }}
    logs:    {{ receivers: [otlp], exporters: [{exporter}], redaction: off }}
"
    ));
    let report = run_send_all(protocol, &sdk_endpoint(&relay, protocol));
    // Everything the relay accepted was delivered to the sink: nothing dropped or pending.
    let accounts = ledger::assert_balanced_blocking(&relay, &ledger::every_signal(exporter));
    assert!(
        accounts
            .iter()
            .all(|a| a.dropped.is_empty() && a.delivered > 0),
        "{accounts:?}"
    );
    // SIGTERM: the relay stops its receivers, drains its queues into the sink, and exits 0.
    let status = relay.stop();
    assert!(status.success(), "relay exited with {status}");
    check_everything(&mut sink, &report, protocol);
}

fn sdk_endpoint(weir: &Weir, protocol: &str) -> String {
    match protocol {
        "grpc" => weir.grpc_base(),
        _ => weir.http_base(), // the SDK appends /v1/traces, /v1/metrics, /v1/logs
    }
}

/// Everything the SDK reported it sent is in `weir`'s debug output, once, field for field.
fn check_everything(weir: &mut Weir, report: &Value, protocol: &str) {
    assert_eq!(report["protocol"], protocol);

    // One debug line per export call the SDK made, each a distinct request; nothing else.
    let exports: Vec<(String, String)> =
        serde_json::from_value(report["exports"].clone()).expect("exports is [[signal, result]]");
    let records = weir.records();
    for signal in ["traces", "metrics", "logs"] {
        let calls = exports.iter().filter(|(s, _)| s == signal).count();
        let lines = records.iter().filter(|r| r["signal"] == signal).count();
        assert_eq!(
            lines, calls,
            "{signal}: debug lines vs SDK export calls {exports:?}"
        );
    }
    assert_eq!(records.len(), exports.len(), "no unexpected debug lines");
    let mut request_ids = HashSet::new();
    for record in &records {
        check_envelope(record);
        let id = record["request_id"]
            .as_str()
            .expect("request_id is a string");
        assert!(request_ids.insert(id.to_owned()), "request_id {id} reused");
    }

    check_traces(&weir.records_of("traces"), report);
    check_metrics(&weir.records_of("metrics"), report);
    check_logs(&weir.records_of("logs"), report);
    ledger::assert_balanced_blocking(weir, &ledger::every_signal("debug"));

    let status = weir.stop();
    assert!(status.success(), "weir exited with {status} after SIGTERM");
}

/// Runs send_all.py against `endpoint` and returns its report; panics with its output unless it
/// exits 0 (it exits 1 when any export failed).
fn run_send_all(protocol: &str, endpoint: &str) -> Value {
    sdk::run(
        "send_all.py",
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", protocol),
            ("OTEL_SERVICE_NAME", SERVICE_NAME),
            ("OTEL_RESOURCE_ATTRIBUTES", RESOURCE_ATTRIBUTES),
        ],
    )
}
