//! weir's own metrics as a real Prometheus (Debian's `prometheus` 2.42 and its `promtool`) sees
//! them:
//!
//! - the example rules and scrape config in `examples/prometheus/` pass `promtool check` and
//!   their `promtool test rules` unit tests, and every alert there has a firing test case;
//! - weir's `/metrics`, after real OTLP/HTTP traffic, is clean under `promtool check metrics`,
//!   and its OpenMetrics form ends with `# EOF`;
//! - a real Prometheus scraping weir's admin endpoint (it negotiates OpenMetrics) ingests it
//!   without error, evaluates the example rules without error, and its queries return exactly
//!   the traffic that was sent.
//!
//! `prometheus` and `promtool` must be on PATH (CI installs the Debian package); without them
//! these tests fail, they never skip. Waiting on Prometheus (ready, first scrapes) is bounded
//! polling of the condition itself, with a deadline.

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

use common::peers::free_port;
use common::prometheus::{
    DEADLINE, POLL_EVERY, Prometheus, assert_lint_clean, example, promtool_ok, tool,
};
use common::{Weir, ledger};

/// Every alert `weir-alerts.yaml` must define.
const ALERTS: [&str; 9] = [
    "WeirTenantRefusalSpike",
    "WeirExporterFailures",
    "WeirRecordsDropped",
    "WeirQueueNearlyFull",
    "WeirAuthFailureSpike",
    "WeirNotReady",
    "WeirTargetDown",
    "WeirHTTP5xx",
    "WeirTenantLimitStoreDown",
];

// ------------------------------------------------------------------------------------------------
// a. The example files

fn read_yaml(path: &Path) -> serde_yaml_ng::Value {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    serde_yaml_ng::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn example_rules_and_config_pass_promtool() {
    let rules = example("weir-alerts.yaml");
    let rules = rules.to_str().expect("UTF-8 path");
    let found = format!("SUCCESS: {} rules found", ALERTS.len());
    promtool_ok(&["check", "rules", rules], &found);

    // The unit tests: each alert fires on series named as weir names them, and the thresholds
    // have a case just below that must not fire.
    let tests = example("weir-alerts.test.yaml");
    promtool_ok(
        &["test", "rules", tests.to_str().expect("UTF-8 path")],
        "SUCCESS",
    );

    // prometheus.yml names the rule file by a relative path: check a copy that names it
    // absolutely, so the check also loads and checks the rules it points at.
    let config_text = std::fs::read_to_string(example("prometheus.yml")).expect("prometheus.yml");
    let rule_line = "  - weir-alerts.yaml\n";
    assert!(
        config_text.contains(rule_line),
        "prometheus.yml should list `{}` under rule_files",
        rule_line.trim()
    );
    let dir = tempfile::tempdir().expect("temp dir");
    let copy = dir.path().join("prometheus.yml");
    std::fs::write(
        &copy,
        config_text.replace(rule_line, &format!("  - {rules}\n")),
    )
    .expect("write config copy");
    promtool_ok(
        &["check", "config", copy.to_str().expect("UTF-8 path")],
        "SUCCESS: 1 rule files found",
    );
}

#[test]
fn example_files_scrape_weir_and_test_every_alert() {
    // The scrape config: job "weir" (the rules select on it) on weir's admin endpoint.
    let config = read_yaml(&example("prometheus.yml"));
    assert_eq!(
        config["rule_files"],
        serde_yaml_ng::from_str::<serde_yaml_ng::Value>("[weir-alerts.yaml]").expect("yaml")
    );
    let jobs = config["scrape_configs"]
        .as_sequence()
        .expect("scrape_configs");
    let weir = jobs
        .iter()
        .find(|j| j["job_name"] == "weir")
        .expect("a scrape job named weir");
    assert_eq!(weir["metrics_path"], "/metrics");
    assert_eq!(weir["static_configs"][0]["targets"][0], "weir:8888");

    // Every alert is there once, with a severity and both annotations.
    let rules = read_yaml(&example("weir-alerts.yaml"));
    let mut seen = Vec::new();
    for group in rules["groups"].as_sequence().expect("groups") {
        for rule in group["rules"].as_sequence().expect("rules") {
            let name = rule["alert"].as_str().expect("only alerting rules");
            let severity = rule["labels"]["severity"].as_str().unwrap_or_default();
            assert!(
                ["page", "warning"].contains(&severity),
                "{name}: severity {severity:?}"
            );
            for key in ["summary", "description"] {
                let text = rule["annotations"][key].as_str().unwrap_or_default();
                assert!(!text.is_empty(), "{name}: no {key} annotation");
            }
            seen.push(name.to_owned());
        }
    }
    seen.sort();
    let mut want: Vec<String> = ALERTS.iter().map(|a| (*a).to_owned()).collect();
    want.sort();
    assert_eq!(seen, want);
    assert_eq!(
        rules["groups"][0]["rules"]
            .as_sequence()
            .expect("rules")
            .iter()
            .find(|r| r["alert"] == "WeirRecordsDropped")
            .expect("WeirRecordsDropped")["labels"]["severity"],
        "page",
        "losing accepted records pages"
    );

    // Every alert has at least one unit test case in which it fires.
    let tests = read_yaml(&example("weir-alerts.test.yaml"));
    let mut fired = BTreeSet::new();
    for test in tests["tests"].as_sequence().expect("tests") {
        for case in test["alert_rule_test"].as_sequence().into_iter().flatten() {
            let fires = case["exp_alerts"]
                .as_sequence()
                .is_some_and(|a| !a.is_empty());
            if fires {
                fired.insert(case["alertname"].as_str().expect("alertname").to_owned());
            }
        }
    }
    let fired: Vec<String> = fired.into_iter().collect();
    assert_eq!(fired, want, "alerts with a firing test case");
}

// ------------------------------------------------------------------------------------------------
// Known traffic

/// What [`send_known_traffic`] sent, for comparing with what weir counted.
struct Sent {
    /// Bytes of the (uncompressed) trace request bodies: weir counts them after decompression.
    trace_bytes: usize,
    /// Bytes of the log request bodies.
    log_bytes: usize,
}

fn now_nanos() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_nanos()
}

/// An OTLP/JSON trace request with `spans` spans in one trace.
fn traces_body(request: u8, spans: u8) -> Vec<u8> {
    let end = now_nanos();
    let start = end - 1_000_000;
    let spans: Vec<Value> = (0..spans)
        .map(|i| {
            json!({
                "traceId": format!("5b8efff798038103d269b633813fc6{request:02x}"),
                "spanId": format!("eee19b7ec3c1b1{i:02x}"),
                "name": format!("GET /items/{i}"),
                "kind": 2,
                "startTimeUnixNano": start.to_string(),
                "endTimeUnixNano": end.to_string(),
                "attributes": [{"key": "http.request.method", "value": {"stringValue": "GET"}}],
            })
        })
        .collect();
    serde_json::to_vec(&json!({
        "resourceSpans": [{
            "resource": {"attributes": [
                {"key": "service.name", "value": {"stringValue": "selfscrape"}}
            ]},
            "scopeSpans": [{"scope": {"name": "selfscrape"}, "spans": spans}],
        }]
    }))
    .expect("serialise traces")
}

/// An OTLP/JSON log request with `records` log records.
fn logs_body(records: u8) -> Vec<u8> {
    let t = now_nanos().to_string();
    let records: Vec<Value> = (0..records)
        .map(|i| {
            json!({
                "timeUnixNano": t,
                "severityNumber": 9,
                "severityText": "INFO",
                "body": {"stringValue": format!("line {i}")},
            })
        })
        .collect();
    serde_json::to_vec(&json!({
        "resourceLogs": [{
            "resource": {"attributes": [
                {"key": "service.name", "value": {"stringValue": "selfscrape"}}
            ]},
            "scopeLogs": [{"scope": {"name": "selfscrape"}, "logRecords": records}],
        }]
    }))
    .expect("serialise logs")
}

async fn post(weir: &Weir, path: &str, body: Vec<u8>, tenant: Option<&str>) -> u16 {
    let tenant = tenant.map(|t| ("X-Scope-OrgID", t));
    let resp = weir.post_json(path, body, tenant.as_slice()).await;
    resp.status().as_u16()
}

/// 3 trace requests of 2 spans (tenant default), 2 log requests of 5 records (tenant team-a),
/// one malformed trace request (400); then checks the loss ledger balances.
async fn send_known_traffic(weir: &Weir) -> Sent {
    let mut sent = Sent {
        trace_bytes: 0,
        log_bytes: 0,
    };
    for request in 0..3 {
        let body = traces_body(request, 2);
        sent.trace_bytes += body.len();
        assert_eq!(post(weir, "/v1/traces", body, None).await, 200);
    }
    for _ in 0..2 {
        let body = logs_body(5);
        sent.log_bytes += body.len();
        assert_eq!(post(weir, "/v1/logs", body, Some("team-a")).await, 200);
    }
    let malformed = b"{\"resourceSpans\": [".to_vec();
    assert_eq!(post(weir, "/v1/traces", malformed, None).await, 400);
    // Every accepted record was delivered; the malformed request is no part of the ledger.
    let accounts = ledger::assert_balanced(weir, &[("traces", "debug"), ("logs", "debug")]).await;
    assert_eq!(
        [accounts[0].accepted, accounts[1].accepted],
        [6, 10],
        "{accounts:?}"
    );
    sent
}

/// GET `path` on the admin listener: its content type and text.
async fn admin_get(weir: &Weir, path: &str, accept: Option<&str>) -> (String, String) {
    let resp = weir.admin_get(path, accept).await;
    assert_eq!(resp.status(), 200, "GET {path}");
    let content_type = resp
        .headers()
        .get("content-type")
        .map(|v| v.to_str().expect("ASCII").to_owned())
        .unwrap_or_default();
    (content_type, resp.text().await.expect("body"))
}

// ------------------------------------------------------------------------------------------------
// b. /metrics under promtool's linter

#[tokio::test]
async fn metrics_page_is_clean_under_promtool_check_metrics() {
    if !common::debian_tools(common::prometheus::TOOLS) {
        return;
    }
    tool("promtool");
    let weir = Weir::start(common::DEBUG_CONFIG);
    send_known_traffic(&weir).await;

    let (content_type, text) = admin_get(&weir, "/metrics", None).await;
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    // The traffic is on the page, so the linter sees counters, a histogram and gauges.
    for needle in [
        "weir_receiver_accepted_records_total{signal=\"traces\",receiver=\"otlp\",tenant=\"default\"} 6\n",
        "weir_http_request_duration_seconds_bucket{route=\"/v1/traces\",le=\"+Inf\"} 4\n",
        "# TYPE weir_ready gauge\n",
        "# TYPE process_cpu_seconds_total counter\n",
    ] {
        assert!(text.contains(needle), "/metrics lacks {needle:?}:\n{text}");
    }
    assert_lint_clean(&text, "weir's /metrics");

    let (content_type, om) = admin_get(
        &weir,
        "/metrics",
        Some("application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5"),
    )
    .await;
    assert!(
        content_type.starts_with("application/openmetrics-text"),
        "{content_type}"
    );
    assert!(
        om.ends_with("# EOF\n"),
        "OpenMetrics must end with # EOF:\n{om}"
    );
    assert_eq!(om.matches("# EOF").count(), 1, "{om}");
    assert!(
        om.contains("# TYPE weir_receiver_accepted_records counter\n"),
        "OpenMetrics names counter families without _total:\n{om}"
    );
}

// ------------------------------------------------------------------------------------------------
// c. A real Prometheus scraping weir

#[tokio::test]
async fn prometheus_scrapes_weir_and_sees_the_traffic_sent() {
    if !common::debian_tools(common::prometheus::TOOLS) {
        return;
    }
    tool("prometheus");
    let weir = Weir::start(common::DEBUG_CONFIG);
    let sent = send_known_traffic(&weir).await;

    // Prometheus scrapes weir's admin endpoint as job "weir", with the example rules.
    let scrape_job = format!(
        "  - job_name: weir\n    metrics_path: /metrics\n    \
         static_configs:\n      - targets: [\"{}\"]\n",
        weir.admin_addr
    );
    let rules = example("weir-alerts.yaml");
    let mut prom = Prometheus::start(free_port(), &rules, &scrape_job, &[]);
    prom.wait_ready().await;
    let deadline = Instant::now() + DEADLINE;

    // What weir was sent, as PromQL over the scraped series, and the value each must have. The
    // traffic was all answered before Prometheus started, so the first scrape already holds the
    // final counts: wait until every query has a result, then compare.
    let job = "job=\"weir\"";
    let instance = weir.admin_addr.to_string();
    let expected: Vec<(String, f64)> = vec![
        (format!("up{{{job}}}"), 1.0),
        (format!("weir_build_info{{{job}}}"), 1.0),
        (format!("weir_ready{{{job}}}"), 1.0),
        (
            format!(
                "weir_receiver_accepted_records_total{{{job},signal=\"traces\",receiver=\"otlp\",tenant=\"default\"}}"
            ),
            6.0,
        ),
        (
            format!(
                "weir_receiver_accepted_records_total{{{job},signal=\"logs\",receiver=\"otlp\",tenant=\"team-a\"}}"
            ),
            10.0,
        ),
        (
            format!(
                "weir_receiver_accepted_bytes_total{{{job},signal=\"traces\",receiver=\"otlp\",tenant=\"default\"}}"
            ),
            sent.trace_bytes as f64,
        ),
        (
            format!(
                "weir_receiver_accepted_bytes_total{{{job},signal=\"logs\",receiver=\"otlp\",tenant=\"team-a\"}}"
            ),
            sent.log_bytes as f64,
        ),
        (
            format!("weir_http_requests_total{{{job},route=\"/v1/traces\",status=\"200\"}}"),
            3.0,
        ),
        (
            format!("weir_http_requests_total{{{job},route=\"/v1/traces\",status=\"400\"}}"),
            1.0,
        ),
        (
            format!("weir_http_requests_total{{{job},route=\"/v1/logs\",status=\"200\"}}"),
            2.0,
        ),
        (
            format!("weir_http_request_duration_seconds_count{{{job},route=\"/v1/traces\"}}"),
            4.0,
        ),
        (
            format!(
                "weir_exporter_sent_records_total{{{job},signal=\"traces\",exporter=\"debug\"}}"
            ),
            6.0,
        ),
        (
            format!("weir_exporter_sent_records_total{{{job},signal=\"logs\",exporter=\"debug\"}}"),
            10.0,
        ),
    ];

    let mut results: Vec<Vec<(Value, f64)>> = Vec::new();
    loop {
        results.clear();
        for (query, _) in &expected {
            results.push(prom.values(query).await);
        }
        if results.iter().all(|r| !r.is_empty()) {
            break;
        }
        let missing: Vec<&str> = expected
            .iter()
            .zip(&results)
            .filter(|(_, r)| r.is_empty())
            .map(|((q, _), _)| q.as_str())
            .collect();
        assert!(
            Instant::now() < deadline,
            "within {DEADLINE:?} Prometheus had no result for {missing:#?}; \
             weir's /metrics now:\n{}",
            admin_get(&weir, "/metrics", None).await.1
        );
        tokio::time::sleep(POLL_EVERY).await;
    }
    for ((query, want), got) in expected.iter().zip(&results) {
        assert_eq!(got.len(), 1, "{query}: one series expected, got {got:?}");
        let (labels, value) = &got[0];
        assert_eq!(
            *value, *want,
            "{query} = {value}, expected {want} ({labels})"
        );
        assert_eq!(labels["instance"], instance.as_str(), "{query}: {labels}");
    }
    let build = &prom.values("weir_build_info").await[0].0;
    assert_eq!(build["version"], env!("CARGO_PKG_VERSION"), "{build}");

    // The malformed request is the only 400, and nothing was answered 5xx.
    let errors = prom
        .values("sum by (route, status) (weir_http_requests_total{status=~\"4..|5..\"})")
        .await;
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].0["route"], "/v1/traces", "{errors:?}");
    assert_eq!(errors[0].0["status"], "400", "{errors:?}");

    // The scrape itself went through Prometheus' parser without complaint (2.42 asks for
    // OpenMetrics first, so this is weir's OpenMetrics output).
    let targets = prom.api("/api/v1/targets", &[]).await.expect("targets");
    let active = targets["activeTargets"].as_array().expect("activeTargets");
    assert_eq!(active.len(), 1, "{targets}");
    assert_eq!(active[0]["health"], "up", "{targets}");
    assert_eq!(active[0]["lastError"], "", "{targets}");
    assert_eq!(active[0]["scrapeUrl"], format!("http://{instance}/metrics"));

    // The example rules run against weir's real series without evaluation errors: wait until
    // every rule has been evaluated once, then none may be unhealthy.
    loop {
        let data = prom.api("/api/v1/rules", &[]).await.expect("rules");
        let rules: Vec<Value> = data["groups"]
            .as_array()
            .expect("groups")
            .iter()
            .flat_map(|g| g["rules"].as_array().cloned().unwrap_or_default())
            .collect();
        let names: BTreeSet<&str> = rules.iter().filter_map(|r| r["name"].as_str()).collect();
        assert_eq!(names, BTreeSet::from(ALERTS), "rules Prometheus loaded");
        if rules.iter().all(|r| r["health"] != "unknown") {
            for rule in &rules {
                assert_eq!(rule["health"], "ok", "rule evaluation failed: {rule}");
            }
            break;
        }
        assert!(
            Instant::now() < deadline,
            "rules were not all evaluated within {DEADLINE:?}: {data}"
        );
        tokio::time::sleep(POLL_EVERY).await;
    }
    // A healthy weir that is ready and being scraped: neither of those alerts is even pending.
    let alerts = prom
        .values("ALERTS{alertname=~\"WeirNotReady|WeirTargetDown|WeirHTTP5xx\"}")
        .await;
    assert!(alerts.is_empty(), "{alerts:?}");
}
