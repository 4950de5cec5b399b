//! The `loki` exporter end to end: the OpenTelemetry Python SDK (`tests/python/send_all.py`,
//! configured only by `OTEL_*` variables) sends a log record inside a span to a real weir, whose
//! `loki` exporter pushes it to a fake Loki running in this test. Loki cannot run here, so the
//! fake keeps each push raw and the test decodes the real wire format itself, byte for byte
//! ([`common::loki`]: its own snappy block decoder and its own `logproto.PushRequest`
//! definitions, or Loki's JSON push body). The tests assert on streams, labels, lines, timestamps, structured
//! metadata and the tenant header. SIGTERM drains weir's queues, so after `stop()` the fake has
//! everything.

mod common;

use std::collections::BTreeMap;

use serde_json::Value;

use common::capture::Capture;
use common::loki::{Entry, Push, wire};
use common::{OTLP_RECEIVER, Weir, ledger, python, sdk};

const SERVICE_NAME: &str = "checkout-svc";
const RESOURCE_ATTRIBUTES: &str = "deployment.environment.name=sdk-test,team=payments";

#[test]
fn python_sdk_logs_reach_loki_as_snappy_protobuf() {
    let run = run(Case {
        protocol: "http/protobuf",
        exporter: "format: protobuf\n    structured_metadata: { attributes: [log.int] }",
        headers: None,
    });
    let push = &run.pushes[0];
    assert_eq!(push.content_type, "application/x-protobuf");
    assert_eq!(
        push.content_encoding, None,
        "snappy is implied, never announced"
    );
    assert_eq!(
        push.tenant.as_deref(),
        Some("default"),
        "the receiver's default tenant"
    );
    let (labels, entry) = run.only_entry();
    check_labels(labels);
    assert_eq!(entry.line, "payment declined", "text: the body");
    check_entry(entry, &run.report);
    let request_id = &entry.metadata["request_id"];
    let uuid = uuid::Uuid::parse_str(request_id).expect("weir's request id is a uuid");
    assert_eq!(uuid.get_version_num(), 7, "{request_id}");
}

#[test]
fn python_sdk_logs_reach_loki_as_gzipped_json_for_the_sending_tenant() {
    let run = run(Case {
        protocol: "grpc",
        exporter: "format: json\n    line_format: json\n    \
                   structured_metadata: { attributes: [log.int] }",
        headers: Some("X-Scope-OrgID=team-a,X-Request-Id=req-e2e-1"),
    });
    let push = &run.pushes[0];
    assert_eq!(push.content_type, "application/json");
    assert_eq!(push.content_encoding.as_deref(), Some("gzip"));
    assert_eq!(
        push.tenant.as_deref(),
        Some("team-a"),
        "the tenant the SDK named"
    );
    let (labels, entry) = run.only_entry();
    check_labels(labels);
    check_entry(entry, &run.report);
    assert_eq!(
        entry.metadata["request_id"], "req-e2e-1",
        "the client's request id"
    );
    let line: Value = serde_json::from_str(&entry.line).expect("a JSON line");
    assert_eq!(
        line,
        serde_json::json!({"body": "payment declined", "severity": "WARN",
                           "attributes": {"log.str": "value", "log.int": 7}})
    );
}

#[test]
fn without_structured_metadata_logfmt_lines_carry_the_trace() {
    let run = run(Case {
        protocol: "http/protobuf",
        exporter: "line_format: logfmt\n    structured_metadata: { enabled: false }\n    \
                   tenant_id: fixed-tenant",
        headers: None,
    });
    assert_eq!(run.pushes[0].tenant.as_deref(), Some("fixed-tenant"));
    let (labels, entry) = run.only_entry();
    check_labels(labels);
    assert!(entry.metadata.is_empty(), "Loki 2.x: {:?}", entry.metadata);
    let log = &run.report["log"];
    assert_eq!(
        entry.line,
        format!(
            "body=\"payment declined\" severity=WARN trace_id={} span_id={} log.str=value log.int=7",
            run.report["trace_id"].as_str().expect("trace_id"),
            log["span_id"].as_str().expect("span_id"),
        )
    );
}

/// The fake's snappy decoder against vectors the `snap` crate (what weir encodes with) reads and
/// writes: literals, 1- and 2-byte-offset copies, overlapping copies.
#[test]
fn the_fake_reads_snappy_as_the_snap_crate_writes_it() {
    let hand_made = [
        0x10, 0x0c, b'a', b'b', b'c', b'd', 0x11, 0x04, 0x0e, 0x04, 0x00,
    ];
    assert_eq!(wire::snappy_decode(&hand_made), b"abcd".repeat(4));
    // snap::raw::Encoder's output for 200 bytes cycling through "abcdefg", then 100 x "z".
    let encoded = [
        172, 2, 24, 97, 98, 99, 100, 101, 102, 103, 254, 7, 0, 254, 7, 0, 238, 7, 0, 5, 7, 0, 122,
        254, 1, 0, 138, 1, 0,
    ];
    let want: Vec<u8> = (0..200u8)
        .map(|i| b'a' + i % 7)
        .chain(std::iter::repeat_n(b'z', 100))
        .collect();
    assert_eq!(wire::snappy_decode(&encoded), want);
}

/// Labels: the configured resource and record attributes (renamed or sanitised), plus
/// `service_name` and `level`, and nothing else.
fn check_labels(labels: &BTreeMap<String, String>) {
    let want: BTreeMap<String, String> = [
        ("service_name", SERVICE_NAME),
        ("level", "warn"),
        ("env", "sdk-test"),
        ("team", "payments"),
        ("kind", "value"),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect();
    assert_eq!(labels, &want);
}

/// The entry's timestamp and the structured metadata that links it to its trace.
fn check_entry(entry: &Entry, report: &Value) {
    let log = &report["log"];
    assert_eq!(
        entry.nanos,
        i128::from(log["time_unix_nano"].as_u64().expect("time")),
        "the record's own time, to the nanosecond"
    );
    let m = &entry.metadata;
    assert_eq!(
        m["trace_id"],
        report["trace_id"].as_str().expect("trace_id")
    );
    assert_eq!(m["span_id"], log["span_id"].as_str().expect("span_id"));
    assert_eq!(m["severity_text"], "WARN");
    assert_eq!(m["severity_number"], "13");
    assert_eq!(m["log_int"], "7", "configured, name sanitised");
    let names: Vec<&str> = m.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "log_int",
            "request_id",
            "severity_number",
            "severity_text",
            "span_id",
            "trace_id"
        ]
    );
}

struct Case {
    protocol: &'static str,
    /// Extra lines of the `loki` exporter's config.
    exporter: &'static str,
    /// `OTEL_EXPORTER_OTLP_HEADERS`.
    headers: Option<&'static str>,
}

struct Run {
    report: Value,
    pushes: Vec<Push>,
}

impl Run {
    /// The one log record the SDK sent, as Loki stored it, with its stream's labels.
    fn only_entry(&self) -> (&BTreeMap<String, String>, &Entry) {
        let all: Vec<_> = self.pushes.iter().flat_map(Push::entries).collect();
        assert_eq!(all.len(), 1, "one entry: {:?}", self.pushes);
        all[0]
    }
}

/// Starts the fake Loki and weir, runs the SDK against weir, stops weir (draining its queue)
/// and returns what the SDK reported and what the fake received.
fn run(case: Case) -> Run {
    python(); // fails first, with how to get it, if the venv is missing
    // Answers 204, as Loki does.
    let fake = Capture::answering(|_| 204);
    let mut weir = Weir::start(&format!(
        "{OTLP_RECEIVER}\
exporters:
  debug: {{ verbosity: basic, path: {{OUT}} }}
  loki:
    endpoint: http://{addr}/loki/api/v1/push
    labels:
      resource: {{ deployment.environment.name: env, team: null }}
      attributes: {{ log.str: kind }}
    retry_on_failure: {{ initial_interval: 50ms }}
    {extra}
service:
  admin: {{ endpoint: 127.0.0.1:0 }}
  pipelines:
    traces:  {{ receivers: [otlp], exporters: [debug], redaction: off }}
    metrics: {{ receivers: [otlp], exporters: [debug], redaction: off }}
    logs:    {{ receivers: [otlp], exporters: [loki], redaction: off }}
",
        addr = fake.addr,
        extra = case.exporter,
    ));
    let endpoint = match case.protocol {
        "grpc" => weir.grpc_base(),
        _ => weir.http_base(),
    };
    let mut env = vec![
        ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str()),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", case.protocol),
        ("OTEL_SERVICE_NAME", SERVICE_NAME),
        ("OTEL_RESOURCE_ATTRIBUTES", RESOURCE_ATTRIBUTES),
    ];
    if let Some(headers) = case.headers {
        env.push(("OTEL_EXPORTER_OTLP_HEADERS", headers));
    }
    let report = sdk::run("send_all.py", &env);
    let accounts = [("traces", "debug"), ("metrics", "debug"), ("logs", "loki")];
    ledger::assert_balanced_blocking(&weir, &accounts);
    let status = weir.stop();
    assert!(status.success(), "weir exited with {status}");
    let pushes: Vec<Push> = fake.requests().iter().map(Push::decode).collect();
    assert!(!pushes.is_empty(), "nothing reached the fake Loki");
    for push in &pushes {
        assert_eq!(push.path, "/loki/api/v1/push");
    }
    Run { report, pushes }
}
