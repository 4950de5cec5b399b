//! The `enrich` processor in a running weir: OTLP/JSON POSTed with a real HTTP client, with and
//! without `X-Request-Id` and `traceparent`, checked in the debug exporter's output, weir's own
//! log lines and its `/metrics`.
//!
//! - the client's request id goes request → record attribute → exported record, a generated one
//!   too, an application's `request.id` is kept, and a refused request's warn line carries the
//!   client's id;
//! - trace ids are promoted onto logs from each source (attributes, traceparent attribute, JSON
//!   body; the request's `traceparent` only when asked), invalid ones left alone and counted;
//! - no metric data point or metric resource ever gets a request id; exemplars do.

mod common;

use serde_json::{Value, json};

use common::{DEBUG_AND_ADMIN, OTLP_RECEIVER, Weir, attr, attrs, ledger};

const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const SPAN: &str = "00f067aa0ba902b7";
/// A `traceparent` header naming another trace than any record's.
const HEADER_TRACE: &str = "0af7651916cd43dd8448eb211c80319c";
const HEADER_TRACEPARENT: &str = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

/// The harness's debug config with `processors: [enrich]` on every pipeline (and no
/// redaction, so values arrive as sent); `enrich` is indented under `processors:`.
fn config(enrich: &str) -> String {
    format!(
        "{OTLP_RECEIVER}\
processors:
{enrich}
{DEBUG_AND_ADMIN}  pipelines:
    traces:  {{ receivers: [otlp], processors: [enrich], exporters: [debug], redaction: off }}
    metrics: {{ receivers: [otlp], processors: [enrich], exporters: [debug], redaction: off }}
    logs:    {{ receivers: [otlp], processors: [enrich], exporters: [debug], redaction: off }}
"
    )
}

// (No `\` line continuations here: they would eat the indentation.)
const DEFAULT_ENRICH: &str = "  enrich:
    attributes:
      - { key: deployment.environment, value: e2e, action: upsert }
";

struct Answer {
    status: u16,
    request_id: String,
}

/// POSTs `body` as OTLP/JSON to `path` with the given extra headers.
async fn post(weir: &Weir, path: &str, body: &Value, headers: &[(&str, &str)]) -> Answer {
    let resp = weir.post_json(path, body.to_string(), headers).await;
    let request_id = resp
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    Answer {
        status: resp.status().as_u16(),
        request_id,
    }
}

fn string_attr(key: &str, value: &str) -> Value {
    json!({ "key": key, "value": { "stringValue": value } })
}

fn logs_request(records: Vec<Value>) -> Value {
    json!({ "resourceLogs": [{
        "resource": { "attributes": [string_attr("service.name", "shop")] },
        "scopeLogs": [{ "scope": { "name": "e2e" }, "logRecords": records }]
    }]})
}

fn log_record(attributes: Vec<Value>, body: &str) -> Value {
    json!({
        "timeUnixNano": "1700000000000000000",
        "body": { "stringValue": body },
        "attributes": attributes,
    })
}

/// The exported debug line of request `id`: exactly one.
fn exported(weir: &Weir, id: &str) -> Value {
    let mine: Vec<Value> = weir
        .records()
        .into_iter()
        .filter(|r| r["request_id"] == id)
        .collect();
    assert_eq!(mine.len(), 1, "one debug line for request {id}");
    mine.into_iter().next().expect("one line")
}

fn exported_logs(weir: &Weir, id: &str) -> Vec<Value> {
    let line = exported(weir, id);
    line["data"]["resourceLogs"][0]["scopeLogs"][0]["logRecords"]
        .as_array()
        .unwrap_or_else(|| panic!("no log records in {line}"))
        .clone()
}

fn str_attr(of: &Value, key: &str) -> String {
    attr(of, key)["stringValue"]
        .as_str()
        .unwrap_or_else(|| panic!("{key} is not a string in {of}"))
        .to_owned()
}

fn has_attr(of: &Value, key: &str) -> bool {
    of["attributes"]
        .as_array()
        .is_some_and(|a| a.iter().any(|kv| kv["key"] == key))
}

#[tokio::test]
async fn client_request_id_reaches_the_record_and_weirs_log_line() {
    let mut weir = Weir::start(&config(DEFAULT_ENRICH));

    let sent = logs_request(vec![log_record(vec![], "order placed")]);
    let answer = post(
        &weir,
        "/v1/logs",
        &sent,
        &[("x-request-id", "e2e-client-1")],
    )
    .await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.request_id, "e2e-client-1");
    let logs = exported_logs(&weir, "e2e-client-1");
    assert_eq!(str_attr(&logs[0], "request.id"), "e2e-client-1");
    let line = exported(&weir, "e2e-client-1");
    let resource = &line["data"]["resourceLogs"][0]["resource"];
    assert_eq!(str_attr(resource, "deployment.environment"), "e2e");
    assert!(!has_attr(resource, "request.id"), "record level by default");

    // The same client's next request is refused (a tenant id with '/'): weir's warn line names
    // the client's id, the one the records of its accepted requests carry.
    let refused = post(
        &weir,
        "/v1/logs",
        &sent,
        &[("x-request-id", "e2e-refused-1"), ("x-scope-orgid", "a/b")],
    )
    .await;
    assert_eq!(refused.status, 400);
    assert_eq!(refused.request_id, "e2e-refused-1");
    ledger::assert_balanced(&weir, &ledger::every_signal("debug")).await;
    weir.stop();
    let lines: Vec<Value> = weir
        .stderr_lines()
        .iter()
        .filter_map(|l| serde_json::from_str(l).ok())
        .filter(|e: &Value| e["message"] == "request refused")
        .collect();
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert_eq!(lines[0]["request_id"], "e2e-refused-1", "{}", lines[0]);
    assert_eq!(lines[0]["level"], "WARN");
    assert!(
        weir.records()
            .iter()
            .all(|r| r["request_id"] != "e2e-refused-1"),
        "nothing of a refused request is exported"
    );
}

#[tokio::test]
async fn generated_request_id_reaches_the_record_and_an_app_id_is_kept() {
    let weir = Weir::start(&config(DEFAULT_ENRICH));

    let sent = logs_request(vec![log_record(vec![], "no header")]);
    let answer = post(&weir, "/v1/logs", &sent, &[]).await;
    assert_eq!(answer.status, 200);
    let id = uuid::Uuid::parse_str(&answer.request_id).expect("generated uuid");
    assert_eq!(id.get_version_num(), 7);
    let logs = exported_logs(&weir, &answer.request_id);
    assert_eq!(str_attr(&logs[0], "request.id"), answer.request_id);

    let spans = json!({ "resourceSpans": [{
        "resource": { "attributes": [string_attr("service.name", "shop")] },
        "scopeSpans": [{ "spans": [
            { "traceId": TRACE, "spanId": SPAN, "name": "app-set", "kind": 2,
              "startTimeUnixNano": "1", "endTimeUnixNano": "2",
              "attributes": [string_attr("request.id", "app-req-1")] },
            { "traceId": TRACE, "spanId": "00f067aa0ba902b8", "name": "plain", "kind": 1,
              "startTimeUnixNano": "1", "endTimeUnixNano": "2" }
        ]}]
    }]});
    let answer = post(
        &weir,
        "/v1/traces",
        &spans,
        &[("x-request-id", "e2e-spans")],
    )
    .await;
    assert_eq!(answer.status, 200);
    let line = exported(&weir, "e2e-spans");
    let got = line["data"]["resourceSpans"][0]["scopeSpans"][0]["spans"]
        .as_array()
        .expect("spans")
        .clone();
    assert_eq!(str_attr(&got[0], "request.id"), "app-req-1", "kept");
    assert_eq!(str_attr(&got[0], "weir.request.id"), "e2e-spans");
    assert_eq!(str_attr(&got[1], "request.id"), "e2e-spans");
    assert!(!has_attr(&got[1], "weir.request.id"));
    ledger::assert_balanced(&weir, &ledger::every_signal("debug")).await;
}

#[tokio::test]
async fn trace_ids_are_promoted_onto_logs_from_each_source() {
    let weir = Weir::start(&config(DEFAULT_ENRICH));
    let traceparent = format!("00-{TRACE}-{SPAN}-01");
    let records = vec![
        log_record(
            vec![string_attr("trace_id", TRACE), string_attr("span_id", SPAN)],
            "snake",
        ),
        log_record(
            vec![string_attr("traceId", TRACE), string_attr("spanId", SPAN)],
            "camel",
        ),
        log_record(
            vec![string_attr("traceparent", &traceparent)],
            "traceparent",
        ),
        log_record(
            vec![],
            &format!(r#"{{"level":"info","msg":"json","trace_id":"{TRACE}","span_id":"{SPAN}"}}"#),
        ),
        log_record(vec![string_attr("trace_id", "not-a-trace-id")], "invalid"),
        log_record(vec![string_attr("trace_id", &"0".repeat(32))], "zero"),
        log_record(vec![], r#"{"msg":"bad json id","traceId":"1234"}"#),
        log_record(vec![], "no ids at all"),
    ];
    let answer = post(
        &weir,
        "/v1/logs",
        &logs_request(records),
        // Sent, but not a source unless `from_request_traceparent: true`.
        &[
            ("x-request-id", "e2e-promote"),
            ("traceparent", HEADER_TRACEPARENT),
        ],
    )
    .await;
    assert_eq!(answer.status, 200);
    let logs = exported_logs(&weir, "e2e-promote");
    assert_eq!(logs.len(), 8);
    for log in &logs[..4] {
        assert_eq!(log["traceId"], TRACE, "{log}");
        assert_eq!(log["spanId"], SPAN, "{log}");
    }
    assert_eq!(logs[2]["flags"], 1, "traceparent flags");
    assert!(has_attr(&logs[0], "trace_id"), "attributes kept by default");
    for log in &logs[4..] {
        assert_eq!(log["traceId"].as_str().unwrap_or_default(), "", "{log}");
    }
    assert_eq!(
        str_attr(&logs[4], "trace_id"),
        "not-a-trace-id",
        "left alone"
    );
    assert_eq!(
        logs[6]["body"]["stringValue"],
        r#"{"msg":"bad json id","traceId":"1234"}"#
    );

    let metrics = weir.admin_metrics().await;
    for (source, n) in [("attributes", 2), ("body", 1)] {
        let line = format!(
            "weir_enrich_invalid_ids_total{{processor=\"enrich\",source=\"{source}\"}} {n}"
        );
        assert!(metrics.lines().any(|l| l == line), "{line} in\n{metrics}");
    }
    ledger::assert_balanced(&weir, &ledger::every_signal("debug")).await;
}

#[tokio::test]
async fn the_request_traceparent_is_a_source_only_when_asked() {
    let weir = Weir::start(&config(
        "  enrich:
    trace_ids: { from_request_traceparent: true, remove_promoted_attributes: true }
",
    ));
    let records = vec![
        log_record(vec![], "inside the request's trace"),
        log_record(
            vec![string_attr("trace_id", TRACE), string_attr("k", "v")],
            "own id first",
        ),
    ];
    let answer = post(
        &weir,
        "/v1/logs",
        &logs_request(records),
        &[
            ("x-request-id", "e2e-header"),
            ("traceparent", HEADER_TRACEPARENT),
        ],
    )
    .await;
    assert_eq!(answer.status, 200);
    let logs = exported_logs(&weir, "e2e-header");
    assert_eq!(logs[0]["traceId"], HEADER_TRACE);
    assert_eq!(logs[0]["spanId"], "b7ad6b7169203331");
    assert_eq!(logs[1]["traceId"], TRACE);
    let keys: Vec<String> = attrs(&logs[1]).into_iter().map(|(k, _)| k).collect();
    assert_eq!(
        keys,
        ["k", "request.id"],
        "the promoted attribute was removed"
    );
    ledger::assert_balanced(&weir, &ledger::every_signal("debug")).await;
}

#[tokio::test]
async fn metric_data_points_never_get_a_request_id() {
    let weir = Weir::start(&config(DEFAULT_ENRICH));
    let point = |route: &str, exemplars: Value| {
        json!({
            "asDouble": 5.0,
            "timeUnixNano": "1700000000000000000",
            "attributes": [string_attr("http.route", route)],
            "exemplars": exemplars,
        })
    };
    let sent = json!({ "resourceMetrics": [{
        "resource": { "attributes": [string_attr("service.name", "shop")] },
        "scopeMetrics": [{ "metrics": [
            { "name": "requests", "sum": {
                "aggregationTemporality": 2, "isMonotonic": true,
                "dataPoints": [
                    point("/a", json!([{ "asDouble": 1.0, "timeUnixNano": "1700000000000000000",
                        "traceId": TRACE, "spanId": SPAN,
                        "filteredAttributes": [string_attr("user.tier", "gold")] }])),
                    point("/b", json!([])),
                ]}},
            { "name": "temperature", "gauge": { "dataPoints": [point("/c", json!([]))] } },
        ]}]
    }]});
    let answer = post(
        &weir,
        "/v1/metrics",
        &sent,
        &[("x-request-id", "e2e-metrics")],
    )
    .await;
    assert_eq!(answer.status, 200);
    let line = exported(&weir, "e2e-metrics");
    let rm = &line["data"]["resourceMetrics"][0];

    // Wherever a data point or resource is, no request id: the only keys are the ones sent
    // (and the static deployment.environment on the resource).
    let resource_keys: Vec<String> = attrs(&rm["resource"]).into_iter().map(|(k, _)| k).collect();
    assert_eq!(resource_keys, ["service.name", "deployment.environment"]);
    let metrics = rm["scopeMetrics"][0]["metrics"]
        .as_array()
        .expect("metrics");
    let points: Vec<&Value> = metrics
        .iter()
        .flat_map(|m| {
            let data = if m["sum"].is_object() {
                &m["sum"]
            } else {
                &m["gauge"]
            };
            data["dataPoints"].as_array().expect("points").iter()
        })
        .collect();
    assert_eq!(points.len(), 3);
    for p in &points {
        let keys: Vec<String> = attrs(p).into_iter().map(|(k, _)| k).collect();
        assert_eq!(keys, ["http.route"], "{p}");
    }
    let text = line["data"].to_string();
    assert_eq!(
        text.matches("e2e-metrics").count(),
        1,
        "the request id appears once in the whole export: on the exemplar"
    );
    let exemplar = &points[0]["exemplars"][0];
    assert_eq!(exemplar["traceId"], TRACE);
    let keys: Vec<(String, Value)> = exemplar["filteredAttributes"]
        .as_array()
        .expect("filtered attributes")
        .iter()
        .map(|kv| {
            (
                kv["key"].as_str().unwrap_or_default().to_owned(),
                kv["value"].clone(),
            )
        })
        .collect();
    assert_eq!(
        keys,
        [
            ("user.tier".to_owned(), json!({"stringValue": "gold"})),
            (
                "request.id".to_owned(),
                json!({"stringValue": "e2e-metrics"})
            ),
        ]
    );
    ledger::assert_balanced(&weir, &ledger::every_signal("debug")).await;
}
