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
use std::io::Write as _;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

use common::{Weir, http_client};

/// How long Prometheus may take to become ready and to scrape and evaluate what the test needs.
const PROMETHEUS_DEADLINE: Duration = Duration::from_secs(60);
/// Pause between two looks at Prometheus' API while waiting for a condition.
const POLL_EVERY: Duration = Duration::from_millis(200);

/// Every alert `weir-alerts.yaml` must define.
const ALERTS: [&str; 8] = [
    "WeirTenantRefusalSpike",
    "WeirExporterFailures",
    "WeirRecordsDropped",
    "WeirQueueNearlyFull",
    "WeirAuthFailureSpike",
    "WeirNotReady",
    "WeirTargetDown",
    "WeirHTTP5xx",
];

// ------------------------------------------------------------------------------------------------
// Tools and files

/// The absolute path of `name` on PATH; panics (never skips) when it is missing.
fn tool(name: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!(
                "`{name}` is not on PATH: these tests need a real Prometheus and promtool. \
                 Install the Debian package (`apt-get install prometheus`, as .ci/run does)."
            )
        })
}

/// `examples/prometheus/<name>` in the workspace.
fn example(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples/prometheus")
        .join(name)
}

fn read_yaml(path: &Path) -> serde_yaml_ng::Value {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    serde_yaml_ng::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Runs `promtool args…` (with `stdin` fed in when given) and returns its output.
fn promtool(args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut child = Command::new(tool("promtool"))
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn promtool");
    if let Some(input) = stdin {
        let mut pipe = child.stdin.take().expect("stdin is piped");
        pipe.write_all(input).expect("write promtool's stdin");
        drop(pipe); // EOF
    }
    child.wait_with_output().expect("wait for promtool")
}

/// Both output streams, for messages.
fn both(out: &Output) -> String {
    format!(
        "exit: {}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn assert_promtool_ok(args: &[&str]) -> Output {
    let out = promtool(args, None);
    assert!(
        out.status.success(),
        "promtool {args:?} failed\n{}",
        both(&out)
    );
    out
}

// ------------------------------------------------------------------------------------------------
// a. The example files

#[test]
fn example_rules_and_config_pass_promtool() {
    let rules = example("weir-alerts.yaml");
    let rules = rules.to_str().expect("UTF-8 path");
    let out = assert_promtool_ok(&["check", "rules", rules]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(&format!("SUCCESS: {} rules found", ALERTS.len())),
        "{}",
        both(&out)
    );

    // The unit tests: each alert fires on series named as weir names them, and the thresholds
    // have a case just below that must not fire.
    let tests = example("weir-alerts.test.yaml");
    let out = assert_promtool_ok(&["test", "rules", tests.to_str().expect("UTF-8 path")]);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("SUCCESS"),
        "{}",
        both(&out)
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
    let out = assert_promtool_ok(&["check", "config", copy.to_str().expect("UTF-8 path")]);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("SUCCESS: 1 rule files found"),
        "{}",
        both(&out)
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
    let mut req = http_client()
        .post(format!("{}{path}", weir.http_base()))
        .header("content-type", "application/json")
        .body(body);
    if let Some(t) = tenant {
        req = req.header("X-Scope-OrgID", t);
    }
    let resp = req.send().await.expect("POST to weir");
    resp.status().as_u16()
}

/// 3 trace requests of 2 spans (tenant default), 2 log requests of 5 records (tenant team-a),
/// one malformed trace request (400).
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
    sent
}

async fn admin_get(weir: &Weir, path: &str, accept: Option<&str>) -> (String, String) {
    let mut req = http_client().get(format!("http://{}{path}", weir.admin_addr));
    if let Some(a) = accept {
        req = req.header("accept", a);
    }
    let resp = req.send().await.expect("GET admin");
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
    let out = promtool(&["check", "metrics"], Some(text.as_bytes()));
    assert!(
        out.status.success() && out.stdout.is_empty() && out.stderr.is_empty(),
        "promtool check metrics is not clean on weir's /metrics\n{}\n/metrics was:\n{text}",
        both(&out)
    );

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

/// A Prometheus server on a loopback port with its own config and storage; killed on drop.
struct Prometheus {
    child: Child,
    base: String,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Prometheus {
    /// Starts Prometheus scraping `target` (job "weir", every second) with the example rules.
    fn start(target: SocketAddr) -> Prometheus {
        let dir = tempfile::tempdir().expect("temp dir");
        let rules = example("weir-alerts.yaml");
        let config = format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n\
             rule_files:\n  - {}\n\
             scrape_configs:\n  - job_name: weir\n    metrics_path: /metrics\n    \
             static_configs:\n      - targets: [\"{target}\"]\n",
            rules.display()
        );
        let config_path = dir.path().join("prometheus.yml");
        std::fs::write(&config_path, config).expect("write prometheus.yml");
        let port = free_port();
        let log = dir.path().join("prometheus.log");
        let log_file = std::fs::File::create(&log).expect("create log");
        let child = Command::new(tool("prometheus"))
            .arg(format!("--config.file={}", config_path.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().expect("clone log handle"))
            .stderr(log_file)
            .spawn()
            .expect("spawn prometheus");
        Prometheus {
            child,
            base: format!("http://127.0.0.1:{port}"),
            log,
            _dir: dir,
        }
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Panics with Prometheus' log when it has exited.
    fn assert_running(&mut self) {
        if let Some(status) = self.child.try_wait().expect("try_wait prometheus") {
            panic!(
                "prometheus exited ({status}); its log:\n{}",
                self.log_text()
            );
        }
    }

    async fn api(&mut self, path_and_query: &str) -> Option<Value> {
        self.assert_running();
        let resp = http_client()
            .get(format!("{}{path_and_query}", self.base))
            .send()
            .await
            .ok()?;
        if !resp.status().is_success() {
            return None;
        }
        let body: Value = resp.json().await.ok()?;
        assert_eq!(body["status"], "success", "{path_and_query}: {body}");
        Some(body["data"].clone())
    }

    /// Polls until `/-/ready` answers 200.
    async fn wait_ready(&mut self, deadline: Instant) {
        loop {
            self.assert_running();
            let ready = http_client()
                .get(format!("{}/-/ready", self.base))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            if ready {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "prometheus was not ready within {PROMETHEUS_DEADLINE:?}; its log:\n{}",
                self.log_text()
            );
            tokio::time::sleep(POLL_EVERY).await;
        }
    }

    /// The instant vector of `query`, as (labels, value) pairs.
    async fn query(&mut self, query: &str) -> Vec<(Value, f64)> {
        let mut url = reqwest::Url::parse(&format!("{}/api/v1/query", self.base)).expect("url");
        url.query_pairs_mut().append_pair("query", query);
        let path = format!("{}?{}", url.path(), url.query().unwrap_or_default());
        let Some(data) = self.api(&path).await else {
            return Vec::new();
        };
        assert_eq!(data["resultType"], "vector", "{query}: {data}");
        data["result"]
            .as_array()
            .expect("result array")
            .iter()
            .map(|s| {
                let v = s["value"][1].as_str().expect("sample value is a string");
                let v: f64 = v
                    .parse()
                    .unwrap_or_else(|e| panic!("{query}: value {v}: {e}"));
                (s["metric"].clone(), v)
            })
            .collect()
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "---- prometheus log ----\n{}\n---- end of prometheus log ----",
                self.log_text()
            );
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A loopback port nobody was listening on a moment ago.
fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
    listener.local_addr().expect("local addr").port()
}

#[tokio::test]
async fn prometheus_scrapes_weir_and_sees_the_traffic_sent() {
    tool("prometheus");
    let weir = Weir::start(common::DEBUG_CONFIG);
    let sent = send_known_traffic(&weir).await;

    let mut prom = Prometheus::start(weir.admin_addr);
    let deadline = Instant::now() + PROMETHEUS_DEADLINE;
    prom.wait_ready(deadline).await;

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
            results.push(prom.query(query).await);
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
            "within {PROMETHEUS_DEADLINE:?} Prometheus had no result for {missing:#?}; \
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
    let build = &prom.query("weir_build_info").await[0].0;
    assert_eq!(build["version"], env!("CARGO_PKG_VERSION"), "{build}");

    // The malformed request is the only 400, and nothing was answered 5xx.
    let errors = prom
        .query("sum by (route, status) (weir_http_requests_total{status=~\"4..|5..\"})")
        .await;
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].0["route"], "/v1/traces", "{errors:?}");
    assert_eq!(errors[0].0["status"], "400", "{errors:?}");

    // The scrape itself went through Prometheus' parser without complaint (2.42 asks for
    // OpenMetrics first, so this is weir's OpenMetrics output).
    let targets = prom.api("/api/v1/targets").await.expect("targets");
    let active = targets["activeTargets"].as_array().expect("activeTargets");
    assert_eq!(active.len(), 1, "{targets}");
    assert_eq!(active[0]["health"], "up", "{targets}");
    assert_eq!(active[0]["lastError"], "", "{targets}");
    assert_eq!(active[0]["scrapeUrl"], format!("http://{instance}/metrics"));

    // The example rules run against weir's real series without evaluation errors: wait until
    // every rule has been evaluated once, then none may be unhealthy.
    loop {
        let data = prom.api("/api/v1/rules").await.expect("rules");
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
            "rules were not all evaluated within {PROMETHEUS_DEADLINE:?}: {data}"
        );
        tokio::time::sleep(POLL_EVERY).await;
    }
    // A healthy weir that is ready and being scraped: neither of those alerts is even pending.
    let alerts = prom
        .query("ALERTS{alertname=~\"WeirNotReady|WeirTargetDown|WeirHTTP5xx\"}")
        .await;
    assert!(alerts.is_empty(), "{alerts:?}");
}
