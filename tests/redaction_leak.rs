//! The security reviewer's question, answered by running it: can a password, token, key or
//! email reach any backend or any log line? Secrets are placed in every location an
//! application uses (resource, span name, span/event/link attributes, exception message and
//! stack trace, log bodies as strings and maps, log attributes, metric data point attributes,
//! nested maps and arrays, scope name and version, metric description, span and link
//! `trace_state`, `severity_text`, an integer holding a card number), sent by the
//! OpenTelemetry Python SDK over gRPC and HTTP/protobuf and by a plain HTTP client as
//! OTLP/JSON, through the default pipeline (`redaction: {}`).
//!
//! Every exporter kind weir has is attached (a separate test fails when the leak config lacks
//! one of the kinds `weir validate` names), and no byte any of them emits (bodies, request
//! lines and query strings, headers, gRPC metadata), and no line weir logs at debug level, may
//! hold a secret:
//! - `debug` to stdout and to files, text and JSON;
//! - `otlp` to a second weir that records what it gets, and to a gRPC backend that keeps the
//!   metadata of every export;
//! - `otlphttp`, `loki` (snappy protobuf, the default, and plain JSON) and
//!   `prometheusremotewrite` (snappy protobuf) to an in-test server that keeps the raw request
//!   bytes, searched after decompression; the Loki exporters put secret-bearing attributes in
//!   labels, structured metadata and JSON lines;
//! - `sentry` (errors from recorded exceptions and transactions, uncompressed envelopes, with
//!   secret-bearing attributes as tags) to the same server;
//! - `prometheus`, whose scrape page is searched.
//!
//! The same outputs must still show the masked values and every record, so the test cannot
//! pass by losing data.
//!
//! Also the audit case end to end: an audit record whose `metadata` holds a key outside
//! the allowlist is rejected and named in OTLP `partial_success`; a valid one passes unchanged.

mod common;

use std::collections::BTreeSet;

use serde_json::{Value, json};
use weir::config::components::EXPORTERS;

use common::capture::{Capture, Request};
use common::leak::{assert_clean, json_requests, kvlist, secrets, sv};
use common::leak_search::MetadataSink;
use common::loki::Push;
use common::{DEBUG_AND_ADMIN, OTLP_RECEIVER, Weir, http_client, ledger, python};

/// Where the capture server's requests come from, by path.
const LOKI: &str = "/loki/api/v1/push";
const LOKI_JSON: &str = "/loki/json/push";
const REMOTE_WRITE: &str = "/api/v1/write";
const SENTRY: &str = "/api/7/envelope/";

/// The default pipeline's processors (`redaction` with its defaults) fanned out to every
/// exporter: `otlp` to the second weir at `sink` and to the metadata sink at `meta`, the HTTP
/// exporters to the capture server at `capture`.
fn leak_config(sink: &str, meta: &str, capture: &str) -> String {
    let all = "debug/json, debug/text, debug/stdout, debug/stdout_json, otlp, otlp/metadata, otlphttp, load_balancing";
    let sentry_dsn = capture.replacen("://", "://public@", 1) + "/7";
    // Secret-bearing attributes of resources and records as labels and structured metadata.
    let loki = "labels: { resource: [owner.email, db.password], attributes: [user.email] }
    structured_metadata: { attributes: [exception.message, team.contact, customer.ssn, metadata] }
    retry_on_failure: { initial_interval: 50ms }";
    format!(
        "{OTLP_RECEIVER}\
processors:
  redaction: {{}}
exporters:
  debug/json: {{ verbosity: detailed, format: json, path: {{OUT}} }}
  debug/text: {{ verbosity: detailed, path: {{OUT}}.txt }}
  debug/stdout: {{ verbosity: detailed }}
  debug/stdout_json: {{ verbosity: detailed, format: json }}
  otlp: {{ endpoint: {sink}, tls: {{ insecure: true }}, retry_on_failure: {{ initial_interval: 50ms }} }}
  otlp/metadata: {{ endpoint: {meta}, tls: {{ insecure: true }}, retry_on_failure: {{ initial_interval: 50ms }} }}
  otlphttp: {{ endpoint: {capture}, compression: none, retry_on_failure: {{ initial_interval: 50ms }} }}
  load_balancing:
    protocol: {{ otlp: {{ tls: {{ insecure: true }}, retry_on_failure: {{ initial_interval: 50ms }} }} }}
    resolver: {{ static: {{ hostnames: [{sink}] }} }}
  loki:
    endpoint: {capture}{LOKI}
    {loki}
  loki/json:
    endpoint: {capture}{LOKI_JSON}
    format: json
    compression: none
    line_format: json
    {loki}
  prometheusremotewrite:
    endpoint: {capture}{REMOTE_WRITE}
    retry_on_failure: {{ initial_interval: 50ms }}
  prometheus: {{ endpoint: 127.0.0.1:0 }}
  sentry:
    dsn: {sentry_dsn}
    compression: none
    transactions: true
    tag_attributes: [service.name, user.email, db.password]
    retry_on_failure: {{ initial_interval: 50ms }}
service:
  admin: {{ endpoint: 127.0.0.1:0 }}
  drain_timeout: 20s
  telemetry: {{ logs: {{ level: debug }} }}
  pipelines:
    traces:  {{ receivers: [otlp], processors: [redaction], exporters: [{all}, sentry] }}
    metrics: {{ receivers: [otlp], processors: [redaction], exporters: [{all}, prometheusremotewrite, prometheus] }}
    logs:    {{ receivers: [otlp], processors: [redaction], exporters: [{all}, loki, loki/json, sentry] }}
"
    )
}

/// Every (signal, exporter) of [`leak_config`]'s pipelines.
fn ledger_accounts() -> Vec<(&'static str, &'static str)> {
    let all = [
        "debug/json",
        "debug/text",
        "debug/stdout",
        "debug/stdout_json",
        "otlp",
        "otlp/metadata",
        "otlphttp",
    ];
    let own: [(&str, &[&str]); 3] = [
        ("traces", &["sentry"]),
        ("metrics", &["prometheusremotewrite", "prometheus"]),
        ("logs", &["loki", "loki/json", "sentry"]),
    ];
    own.iter()
        .flat_map(|(signal, extra)| {
            all.iter()
                .chain(extra.iter())
                .map(move |exporter| (*signal, *exporter))
        })
        .collect()
}

/// A body as the backend reads it: snappy-compressed ones (remote write, Loki's protobuf)
/// decompressed, the others as sent.
fn plain_body(request: &Request) -> Vec<u8> {
    match request.path.as_str() {
        LOKI | REMOTE_WRITE => snap::raw::Decoder::new()
            .decompress_vec(&request.body)
            .unwrap_or_else(|e| panic!("{}: not snappy ({e})", request.path)),
        _ => request.body.clone(),
    }
}

/// The text of every request to `path`, decompressed.
fn sent_to(requests: &[Request], path: &str) -> String {
    let bodies = requests.iter().filter(|r| r.path == path);
    bodies
        .map(|r| String::from_utf8_lossy(&plain_body(r)).into_owned())
        .collect()
}

#[tokio::test]
async fn no_secret_reaches_an_exporter_or_a_log_line() {
    python(); // fails first, with how to get it, if the venv is missing
    let capture = Capture::start();
    let meta = MetadataSink::start();
    let mut sink = Weir::start(common::DEBUG_CONFIG);
    let config = leak_config(&sink.grpc_base(), &meta.addr.to_string(), &capture.base());
    let mut weir = Weir::start(&config);

    let mut needles: Vec<String> = Vec::new();
    for (protocol, endpoint) in [
        ("grpc", weir.grpc_base()),
        ("http/protobuf", weir.http_base()),
    ] {
        needles.extend(secrets(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str()),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", protocol),
            ("OTEL_SERVICE_NAME", "leaky-svc"),
        ]));
    }
    let (traces, logs, json_needles) = json_requests();
    needles.extend(json_needles.iter().map(|n| (*n).to_owned()));
    for (path, body) in [("/v1/traces", &traces), ("/v1/logs", &logs)] {
        let (status, answer) = post(&weir, path, body).await;
        assert_eq!(status, 200, "{path}: {answer}");
        assert!(
            answer["partialSuccess"]
                .as_object()
                .is_none_or(|p| p.is_empty()),
            "{answer}"
        );
    }

    // The scrape page is updated before the client is answered (no queue): it is complete now.
    let page_url = format!("http://{}/metrics", weir.listener_addr("prometheus"));
    let page = http_client().get(page_url).send().await.expect("scrape");
    assert_eq!(page.status(), 200);
    let page = page.text().await.expect("scrape page");
    assert!(
        page.contains("app_requests_total{") && page.contains("app_latency_milliseconds_bucket{"),
        "{page}"
    );
    // Resource attributes are masked, not removed, so `target_info` shows the masks.
    assert!(page.contains("=\"[REDACTED]\""), "{page}");

    // Every exporter of every pipeline settles what was accepted, before the drain.
    // The load_balancing exporter's one endpoint is the sink, under its own exporter id.
    let balanced = format!("load_balancing/{}", sink.grpc_base());
    let mut accounts: Vec<(&str, &str)> = ledger_accounts();
    accounts.extend(ledger::every_signal(&balanced));
    ledger::assert_balanced(&weir, &accounts).await;
    // SIGTERM drains every queue into the sink and the capture server before weir exits.
    let status = weir.stop();
    assert!(status.success(), "weir exited with {status}");
    ledger::assert_balanced(&sink, &ledger::every_signal("debug")).await;
    let sink_status = sink.stop();
    assert!(sink_status.success(), "sink exited with {sink_status}");

    let read =
        |p: &std::path::Path| std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    let requests = capture.requests();
    let mut outputs: Vec<(String, Vec<u8>)> = vec![
        ("debug/json".into(), read(&weir.out_path)),
        (
            "debug/text".into(),
            read(&weir.out_path.with_extension("jsonl.txt")),
        ),
        ("debug/stdout (text and json)".into(), weir.stdout()),
        ("prometheus (the scrape page)".into(), page.into_bytes()),
        (
            "otlp (as the sink weir received it)".into(),
            read(&sink.out_path),
        ),
        (
            "weir's own log lines".into(),
            weir.stderr_lines().join("\n").into_bytes(),
        ),
    ];
    outputs.extend(
        requests
            .iter()
            .map(|r| (format!("the request to {}", r.path), plain_body(r))),
    );
    for (name, bytes) in &outputs {
        assert_clean(name, bytes, &needles);
    }
    // What the exporters said beside the bodies: request lines, query strings, headers, and
    // the gRPC metadata of every export (all three signals reached the metadata sink).
    for r in &requests {
        let outside = common::leak_search::request_line_and_headers(r);
        assert_clean(
            &format!("the URL and headers of {}", r.path),
            outside.as_bytes(),
            &needles,
        );
    }
    let signals = meta.signals();
    for signal in ["traces", "metrics", "logs"] {
        assert!(
            signals.contains(&signal),
            "no {signal} at the metadata sink: {signals:?}"
        );
    }
    assert_clean(
        "otlp's gRPC metadata",
        meta.metadata_text().as_bytes(),
        &needles,
    );

    // The same outputs still carry the records, with their masks.
    for (name, bytes) in &outputs[..3] {
        let text = String::from_utf8_lossy(bytes);
        assert!(
            text.contains("[REDACTED]") && text.contains("login.failed"),
            "{name}: {text}"
        );
    }
    let sent = |path: &str| sent_to(&requests, path);
    // Plain (uncompressed) protobuf, so the byte search above could have seen a leak.
    assert!(
        sent("/v1/traces").contains("login.failed") && sent("/v1/traces").contains("[REDACTED]")
    );
    assert!(sent("/v1/logs").contains("[REDACTED]"));
    assert!(sent("/v1/metrics").contains("app.requests"));
    let remote_write = sent(REMOTE_WRITE);
    assert!(
        remote_write.contains("app_requests_total") && remote_write.contains("target_info"),
        "{remote_write:?}"
    );
    assert!(remote_write.contains("[REDACTED]"), "{remote_write:?}");
    // Sentry got errors (from recorded exceptions) and transactions, uncompressed, masked.
    let sentry = sent(SENTRY);
    assert!(
        sentry.contains("\"type\":\"event\"") && sentry.contains("\"type\":\"transaction\""),
        "{sentry}"
    );
    assert!(sentry.contains("[REDACTED]"), "{sentry}");

    // Nothing was lost on the way: 2 spans and 2 logs per SDK run plus 1 each over JSON,
    // and metrics from both runs; the masks are there and the keys kept.
    let main_lines = json_lines(&read(&weir.out_path));
    let [spans, points, log_records] = counts(&main_lines);
    assert_eq!((spans, log_records), (5, 5), "records at debug/json");
    assert!(points >= 4, "data points at debug/json: {points}");
    // The sink gets everything twice: from `otlp` and from `load_balancing`.
    assert_eq!(
        counts(&sink.records()),
        [2 * spans, 2 * points, 2 * log_records],
        "records at the sink"
    );
    assert_eq!(
        counts(&json_lines(&weir.stdout())),
        [spans, points, log_records]
    );
    for path in [LOKI, LOKI_JSON] {
        check_loki(&requests, path, log_records);
    }
    let text = String::from_utf8_lossy(&read(&weir.out_path)).into_owned();
    for kept in [
        "[REDACTED]",
        "\"db.password\"",
        "\"password\"",
        "\"enduser.id\"",
        "\"app.payload\"",
        "/pay?token=[REDACTED]",
    ] {
        assert!(text.contains(kept), "debug/json lacks {kept}");
    }
}

/// What a Loki exporter pushed to `path`, read as Loki reads it: every log record is an entry,
/// and the masks are in its lines, labels and structured metadata.
fn check_loki(requests: &[Request], path: &str, log_records: u64) {
    let pushes: Vec<Push> = requests
        .iter()
        .filter(|r| r.path == path)
        .map(Push::decode)
        .collect();
    let entries: Vec<_> = pushes.iter().flat_map(Push::entries).collect();
    assert_eq!(entries.len() as u64, log_records, "{path}: {pushes:?}");
    let masked = |text: &String| text.contains("[REDACTED]");
    assert!(
        entries.iter().any(|(_, e)| e.line.contains("login failed")),
        "{path}: {pushes:?}"
    );
    assert!(
        entries.iter().any(|(_, e)| masked(&e.line)),
        "{path}: {pushes:?}"
    );
    assert!(
        entries
            .iter()
            .any(|(labels, _)| labels.values().any(masked)),
        "{path}: {pushes:?}"
    );
    assert!(
        entries.iter().any(|(_, e)| e.metadata.values().any(masked)),
        "{path}: {pushes:?}"
    );
}

#[test]
fn the_leak_config_attaches_every_exporter_kind_weir_has() {
    let weir_has = common::leak_search::weir_exporter_kinds();
    let catalogue: BTreeSet<String> = EXPORTERS.iter().map(|k| k.spec.name.to_owned()).collect();
    assert_eq!(
        weir_has, catalogue,
        "the binary and the config model disagree"
    );
    let config = leak_config("127.0.0.1:1", "127.0.0.1:2", "http://127.0.0.1:3")
        .replace("{OUT}", "out.jsonl");
    let attached = common::leak_search::exporter_kinds_of(&config);
    let missing: Vec<&String> = weir_has.difference(&attached).collect();
    assert!(
        missing.is_empty(),
        "the leak test does not attach {missing:?}"
    );
}

/// Records per signal in the debug exporter's JSON lines.
fn counts(lines: &[Value]) -> [u64; 3] {
    ["traces", "metrics", "logs"].map(|s| {
        lines
            .iter()
            .filter(|r| r["signal"] == s)
            .map(|r| r["records"].as_u64().expect("records count"))
            .sum()
    })
}

fn json_lines(bytes: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(bytes)
        .lines()
        .filter(|l| l.starts_with('{'))
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// Seed 002: audit-log metadata has an allowlist and unknown keys are rejected.
#[tokio::test]
async fn audit_metadata_with_an_unknown_key_is_rejected_and_named() {
    let mut weir = Weir::start(&format!(
        "{OTLP_RECEIVER}\
processors:
  redaction:
    strict_maps:
      - name: audit
        when: {{ attribute: event.domain, equals: audit }}
        attribute: metadata
        allowed_keys: [{}]
{DEBUG_AND_ADMIN}  pipelines:
    logs: {{ receivers: [otlp], processors: [redaction], exporters: [debug] }}
",
        weir_processors::redaction::defaults::AUDIT_METADATA_KEYS.join(", ")
    ));
    let record = |metadata: Value| {
        json!({ "timeUnixNano": "1544712660300000000", "body": sv("policy changed"),
            "attributes": [
                { "key": "event.domain", "value": sv("audit") },
                { "key": "metadata", "value": metadata },
            ] })
    };
    let good = kvlist(&[
        ("reason", sv("quota")),
        ("old_value", sv("3")),
        ("new_value", sv("5")),
        ("node_id", sv("n-7")),
    ]);
    let bad = kvlist(&[
        ("reason", sv("quota")),
        ("customer_secret_hint", sv("hunter2-do-not-leak")),
    ]);
    let body = json!({ "resourceLogs": [{ "scopeLogs": [{ "logRecords": [record(good.clone()), record(bad)] }] }] });
    let (status, answer) = post(&weir, "/v1/logs", &body).await;
    assert_eq!(status, 200, "{answer}");
    let partial = &answer["partialSuccess"];
    let rejected = &partial["rejectedLogRecords"];
    assert!(rejected == 1 || rejected == "1", "{answer}");
    let message = partial["errorMessage"].as_str().expect("errorMessage");
    assert!(
        message.contains("customer_secret_hint") && message.contains("audit"),
        "{message}"
    );
    assert!(!message.contains("hunter2"), "{message}");

    let status = weir.stop();
    assert!(status.success(), "weir exited with {status}");
    let logs = weir.records_of("logs");
    assert_eq!(
        counts(&logs),
        [0, 0, 1],
        "only the valid record is exported"
    );
    let exported = &logs[0]["data"]["resourceLogs"][0]["scopeLogs"][0]["logRecords"][0];
    assert_eq!(
        exported["attributes"][1]["value"], good,
        "known keys pass unchanged"
    );
    assert_eq!(exported["attributes"][0]["value"], sv("audit"));
    let stderr = weir.stderr_lines().join("\n");
    assert!(
        stderr.contains("customer_secret_hint"),
        "the rejection is logged:\n{stderr}"
    );
    assert!(!stderr.contains("hunter2"), "{stderr}");
}

/// POSTs `body` as OTLP/JSON; the status and the decoded answer.
async fn post(weir: &Weir, path: &str, body: &Value) -> (u16, Value) {
    let resp = weir.post_json(path, body.to_string(), &[]).await;
    let status = resp.status().as_u16();
    let bytes = resp.bytes().await.expect("answer body");
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}
