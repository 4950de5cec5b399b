//! Application metrics through weir into a real Prometheus (Debian's `prometheus` 2.42), both
//! ways at once: Prometheus scrapes weir's `prometheus` exporter and receives weir's
//! `prometheusremotewrite`. The application is the OpenTelemetry Python SDK
//! (`tests/python/send_metrics.py`: a counter, an up-down counter, a histogram and two gauges,
//! with attributes), configured only by `OTEL_*` variables.
//!
//! - the names, labels and values come back through Prometheus' query API identically on both
//!   paths (`via="scrape"` from `const_labels`, `via="remote_write"` from `external_labels`);
//! - `http.requests{status=500}` is `http_requests_total{status="500"}` and the usual error-rate
//!   alert expression evaluates over it (its rule, loaded from `examples/prometheus/`, goes pending),
//!   with weir's `redaction` configured as that rule file says (`extra_allowed_keys: [status]`;
//!   the app's `method`, not allowed by default, is removed);
//! - the scrape page is clean under `promtool check metrics`;
//! - exemplars (trace and span ids) reach Prometheus' exemplar storage on both paths;
//! - delta temporality is added up into the same cumulative series on both paths;
//! - the leak corpus (`tests/python/send_secrets.py`) of two more tenants reaches Prometheus on
//!   both paths, each tenant's series labelled with it, and none of its secrets is in any
//!   series or help text Prometheus holds;
//! - in each test, weir's loss ledger balances for both exporters.
//!
//! `prometheus`, `promtool` and the Python SDK (`./scripts/test` makes `.venv`) must be there;
//! these tests fail, never skip, without them. Every wait is bounded polling of the condition.

mod common;

use std::io::{BufRead, BufReader, Write as _};
use std::net::SocketAddr;
use std::process::{Child, ChildStdin, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

use common::leak::{self, assert_clean};
use common::peers::free_port;
use common::prometheus::{
    DEADLINE, Prometheus, assert_lint_clean, example, promtool_ok, tool, value_of,
};
use common::{OTLP_RECEIVER, Weir, http_client, ledger, sdk};

// ------------------------------------------------------------------------------------------------
// weir

/// weir with the default redaction allowing `status` (as `weir-app-alerts.yaml` says) and both
/// exporters: the scrape endpoint on an ephemeral port, remote write to Prometheus on
/// `prometheus_port`. Returns weir and the scrape endpoint's address.
fn start_weir(prometheus_port: u16) -> (Weir, SocketAddr) {
    let weir = Weir::start(&format!(
        "{OTLP_RECEIVER}\
processors:
  redaction:
    extra_allowed_keys: [status]
exporters:
  prometheus:
    endpoint: 127.0.0.1:0
    enable_open_metrics: true
    const_labels: {{ via: scrape }}
  prometheusremotewrite:
    endpoint: http://127.0.0.1:{prometheus_port}/api/v1/write
    external_labels: {{ via: remote_write }}
    tenant_label: tenant
    sending_queue: {{ num_consumers: 1 }}
    retry_on_failure: {{ initial_interval: 200ms, max_interval: 1s }}
  debug: {{ verbosity: basic, path: {{OUT}} }}
service:
  admin: {{ endpoint: 127.0.0.1:0 }}
  pipelines:
    metrics: {{ receivers: [otlp], processors: [redaction], exporters: [prometheus, prometheusremotewrite] }}
    # The leak corpus has traces and logs too; they only need a taker here.
    traces: {{ receivers: [otlp], exporters: [debug] }}
    logs: {{ receivers: [otlp], exporters: [debug] }}
"
    ));
    let scrape = weir.listener_addr("prometheus");
    (weir, scrape)
}

/// The ledger accounts of weir's two ways to Prometheus.
const BOTH_PATHS: [(&str, &str); 2] = [
    ("metrics", "prometheus"),
    ("metrics", "prometheusremotewrite"),
];

async fn scrape_page(addr: SocketAddr, accept: &str) -> String {
    let resp = http_client()
        .get(format!("http://{addr}/metrics"))
        .header("accept", accept)
        .send()
        .await
        .expect("GET the scrape endpoint");
    assert_eq!(resp.status(), 200);
    resp.text().await.expect("page")
}

// ------------------------------------------------------------------------------------------------
// The application

/// `send_metrics.py` running against weir: one JSON report per round.
struct App {
    child: Child,
    stdin: Option<ChildStdin>,
    reports: Receiver<String>,
    stderr: Arc<Mutex<String>>,
}

impl App {
    fn start(weir: &Weir, extra_env: &[(&str, &str)]) -> App {
        let mut cmd = sdk::command("send_metrics.py");
        cmd.env("OTEL_EXPORTER_OTLP_ENDPOINT", weir.http_base())
            .env("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
            .env("OTEL_EXPORTER_OTLP_HEADERS", "X-Scope-OrgID=team-a")
            .env("OTEL_SERVICE_NAME", "checkout")
            .env(
                "OTEL_RESOURCE_ATTRIBUTES",
                "service.namespace=shop,service.instance.id=checkout-1,deployment.environment=test",
            )
            .envs(extra_env.iter().copied());
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn send_metrics.py");
        let (tx, reports) = mpsc::channel();
        let out = child.stdout.take().expect("stdout piped");
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let stderr = Arc::new(Mutex::new(String::new()));
        let (err_pipe, collected) = (
            child.stderr.take().expect("stderr piped"),
            Arc::clone(&stderr),
        );
        std::thread::spawn(move || {
            for line in BufReader::new(err_pipe).lines().map_while(Result::ok) {
                let mut all = collected.lock().expect("stderr lock");
                all.push_str(&line);
                all.push('\n');
            }
        });
        App {
            stdin: child.stdin.take(),
            child,
            reports,
            stderr,
        }
    }

    /// The next round's report.
    fn report(&mut self) -> Value {
        match self.reports.recv_timeout(DEADLINE) {
            Ok(line) => serde_json::from_str(&line).expect("a JSON report"),
            Err(e) => {
                let status = self.child.try_wait().ok().flatten();
                panic!(
                    "send_metrics.py gave no report ({e}; exit {status:?}); stderr:\n{}",
                    self.stderr.lock().expect("stderr lock")
                );
            }
        }
    }

    /// Runs the next round and returns its report.
    fn next_round(&mut self) -> Value {
        let stdin = self.stdin.as_mut().expect("stdin open");
        stdin
            .write_all(b"next\n")
            .and_then(|()| stdin.flush())
            .expect("write to the app");
        self.report()
    }

    /// Ends the app (EOF on stdin) and checks it exited cleanly.
    fn finish(mut self) {
        drop(self.stdin.take());
        let status = self.child.wait().expect("wait for send_metrics.py");
        assert!(
            status.success(),
            "send_metrics.py failed ({status}); stderr:\n{}",
            self.stderr.lock().expect("stderr lock")
        );
    }
}

impl Drop for App {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ------------------------------------------------------------------------------------------------
// Reading results

/// The one sample of `result`, by path.
fn by_path<'a>(result: &'a [Value], via: &str) -> &'a Value {
    let found: Vec<&Value> = result
        .iter()
        .filter(|s| s["metric"]["via"] == via)
        .collect();
    assert_eq!(found.len(), 1, "one {via} series in {result:?}");
    found[0]
}

/// True when both paths have a series and every series has value `want` (to 1e-9).
fn both_paths_at(want: f64) -> impl Fn(&[Value]) -> bool {
    move |r: &[Value]| {
        let has = |via: &str| r.iter().any(|s| s["metric"]["via"] == via);
        has("scrape") && has("remote_write") && r.iter().all(|s| (value_of(s) - want).abs() < 1e-9)
    }
}

/// The labels of a sample without `via`, for comparing the two paths.
fn labels_without_via(sample: &Value) -> serde_json::Map<String, Value> {
    let mut labels = sample["metric"].as_object().expect("labels").clone();
    labels.remove("via");
    labels
}

// ------------------------------------------------------------------------------------------------
// The tests

/// weir, Prometheus (remote write receiver on, scraping weir) and the app, started in order.
async fn setup(exemplars: bool, env: &[(&str, &str)]) -> (Weir, SocketAddr, Prometheus, App) {
    tool("prometheus");
    let port = free_port();
    let (weir, scrape) = start_weir(port);
    // Scrapes honour the page's `job` and `instance`; the example's alert rules are loaded.
    let job = format!(
        "  - job_name: weir-apps\n    honor_labels: true\n    \
         static_configs:\n      - targets: [\"{scrape}\"]\n"
    );
    let mut flags = vec!["--web.enable-remote-write-receiver"];
    if exemplars {
        flags.push("--enable-feature=exemplar-storage");
    }
    let rules = example("weir-app-alerts.yaml");
    let mut prometheus = Prometheus::start(port, &rules, &job, &flags);
    prometheus.wait_ready().await;
    let app = App::start(&weir, env);
    (weir, scrape, prometheus, app)
}

#[tokio::test]
async fn app_metrics_reach_prometheus_by_scrape_and_remote_write() {
    if !common::debian_tools(common::prometheus::TOOLS) {
        return;
    }
    tool("promtool");
    let (weir, scrape, mut prom, mut app) = setup(false, &[]).await;
    app.report();
    // Round 1 is in on both paths (the scrape path has a sample of it) before round 2 goes.
    prom.wait_for(r#"http_requests_total{status="500"}"#, both_paths_at(1.0))
        .await;
    prom.wait_for(r#"http_requests_total{status="200"}"#, both_paths_at(9.0))
        .await;
    app.next_round();
    let errors = prom
        .wait_for(r#"http_requests_total{status="500"}"#, both_paths_at(6.0))
        .await;
    prom.wait_for(r#"http_requests_total{status="200"}"#, both_paths_at(54.0))
        .await;

    // The names and labels the rules expect, the same on both paths.
    let scraped = labels_without_via(by_path(&errors, "scrape"));
    assert_eq!(
        scraped,
        labels_without_via(by_path(&errors, "remote_write"))
    );
    let want = json!({
        "__name__": "http_requests_total", "status": "500",
        "job": "shop/checkout", "instance": "checkout-1", "tenant": "team-a",
        "otel_scope_name": "weir.send_metrics", "otel_scope_version": "1.0.0",
    });
    assert_eq!(Value::Object(scraped), want);
    let info = r#"target_info{deployment_environment="test",job="shop/checkout",instance="checkout-1",tenant="team-a"}"#;
    for (promql, want) in [
        ("queue_depth", 3.0),
        ("memory_usage_bytes", 2048.0),
        ("cpu_utilization_ratio", 0.5),
        ("http_server_duration_seconds_count", 5.0),
        (
            "http_server_duration_seconds_sum",
            0.03 + 0.2 + 0.7 + 0.3 + 3.0,
        ),
        (r#"http_server_duration_seconds_bucket{le="0.05"}"#, 1.0),
        (r#"http_server_duration_seconds_bucket{le="0.25"}"#, 2.0),
        (r#"http_server_duration_seconds_bucket{le="1"}"#, 4.0),
        (r#"http_server_duration_seconds_bucket{le="2.5"}"#, 4.0),
        (r#"http_server_duration_seconds_bucket{le="+Inf"}"#, 5.0),
        (info, 1.0),
    ] {
        prom.wait_for(promql, both_paths_at(want)).await;
    }

    // Seed 000's alert expression over them: 5 errors in 50 requests on each path.
    let (errors, all) = (
        r#"rate(http_requests_total{status=~"5.."}[5m])"#,
        "rate(http_requests_total[5m])",
    );
    let per_path = prom
        .query(&format!("sum by (via) ({errors}) / sum by (via) ({all})"))
        .await;
    assert_eq!(per_path.len(), 2, "{per_path:?}");
    assert!(
        per_path.iter().all(|s| (value_of(s) - 0.1).abs() < 1e-9),
        "{per_path:?}"
    );
    let alert = format!("sum({errors}) / sum({all}) > 0.02");
    let fired = prom.wait_for(&alert, |r| r.len() == 1).await;
    assert!((value_of(&fired[0]) - 0.1).abs() < 1e-9, "{fired:?}");
    // The example rule evaluates too: pending, as its `for: 5m` has not passed.
    let pending = r#"ALERTS{alertname="ObjectOS5xxSpike",alertstate="pending"}"#;
    prom.wait_for(pending, |r| r.len() == 1).await;

    // The page itself: clean under promtool, and OpenMetrics when asked.
    let text = scrape_page(scrape, "text/plain;version=0.0.4").await;
    let line = "http_requests_total{instance=\"checkout-1\",job=\"shop/checkout\",\
                otel_scope_name=\"weir.send_metrics\",otel_scope_version=\"1.0.0\",status=\"500\",\
                tenant=\"team-a\",via=\"scrape\"} 6\n";
    assert!(text.contains(line), "{text}");
    assert_lint_clean(&text, "the scrape page");
    let om = scrape_page(scrape, "application/openmetrics-text;version=1.0.0").await;
    assert!(
        om.contains("# TYPE http_requests counter\n") && om.ends_with("# EOF\n"),
        "{om}"
    );
    // The page Prometheus scraped (it asks for OpenMetrics) named the units its names carry.
    for unit in [
        "# UNIT http_server_duration_seconds seconds\n",
        "# UNIT memory_usage_bytes bytes\n",
        "# UNIT cpu_utilization_ratio ratio\n",
    ] {
        assert!(om.contains(unit), "{unit:?} missing in\n{om}");
    }
    app.finish();
    ledger::assert_balanced(&weir, &BOTH_PATHS).await;
}

#[tokio::test]
async fn exemplars_reach_prometheus_on_both_paths() {
    if !common::debian_tools(common::prometheus::TOOLS) {
        return;
    }
    let (weir, _scrape, mut prom, mut app) = setup(true, &[]).await;
    let report = app.report();
    let (trace, span) = (
        report["trace_id"].as_str().expect("trace id"),
        &report["span_id"],
    );
    for via in ["scrape", "remote_write"] {
        for metric in ["http_requests_total", "http_server_duration_seconds_bucket"] {
            let series = prom
                .wait_for_exemplar(&format!("{metric}{{via=\"{via}\"}}"), trace)
                .await;
            let exemplar = series["exemplars"]
                .as_array()
                .and_then(|es| es.iter().find(|e| e["labels"]["trace_id"] == trace))
                .expect("the exemplar");
            assert_eq!(&exemplar["labels"]["span_id"], span, "{series}");
            assert_eq!(series["seriesLabels"]["tenant"], "team-a", "{series}");
        }
    }
    app.finish();
    ledger::assert_balanced(&weir, &BOTH_PATHS).await;
}

#[tokio::test]
async fn delta_temporality_adds_up_on_both_paths() {
    if !common::debian_tools(common::prometheus::TOOLS) {
        return;
    }
    let env = [("OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE", "delta")];
    let (weir, _scrape, mut prom, mut app) = setup(false, &env).await;
    app.report();
    prom.wait_for(r#"http_requests_total{status="500"}"#, both_paths_at(1.0))
        .await;
    app.next_round();
    prom.wait_for(r#"http_requests_total{status="500"}"#, both_paths_at(6.0))
        .await;
    prom.wait_for(r#"http_requests_total{status="200"}"#, both_paths_at(54.0))
        .await;
    prom.wait_for("http_server_duration_seconds_count", both_paths_at(5.0))
        .await;
    prom.wait_for(
        r#"http_server_duration_seconds_bucket{le="0.25"}"#,
        both_paths_at(2.0),
    )
    .await;
    prom.wait_for("queue_depth", both_paths_at(3.0)).await;
    app.finish();
    ledger::assert_balanced(&weir, &BOTH_PATHS).await;
}

#[tokio::test]
async fn two_tenants_leak_corpus_reaches_prometheus_masked_on_both_paths() {
    if !common::debian_tools(common::prometheus::TOOLS) {
        return;
    }
    let (weir, _scrape, mut prom, app) = setup(false, &[]).await;
    app.finish();
    let needles =
        leak::secrets_per_tenant(&weir, &[("team-b", "http/protobuf"), ("team-c", "grpc")]);
    ledger::assert_balanced(&weir, &BOTH_PATHS).await;

    // Each tenant's series on each path, with its own `job`: tenant by label, never mixed.
    let per = "count by (via, tenant, job) (app_requests_total)";
    let found = prom.wait_for(per, |r| r.len() >= 4).await;
    assert_eq!(found.len(), 4, "{found:#?}");
    for sample in &found {
        let tenant = sample["metric"]["tenant"].as_str().unwrap_or_default();
        assert!(["team-b", "team-c"].contains(&tenant), "{sample}");
        assert_eq!(
            sample["metric"]["job"],
            format!("leaky-{tenant}"),
            "{sample}"
        );
    }
    // Every series and every metric's help text Prometheus holds, searched for the secrets.
    let all = [("match[]", "{__name__=~\".+\"}")];
    let series = prom.api("/api/v1/series", &all).await.expect("series");
    let metadata = prom.api("/api/v1/metadata", &[]).await.expect("metadata");
    let stored = format!("{series}\n{metadata}");
    assert_clean(
        "Prometheus' series and metadata",
        stored.as_bytes(),
        &needles,
    );
    assert!(
        stored.contains("[REDACTED]"),
        "the resources arrived masked: {stored}"
    );
    assert!(
        stored.contains("app_latency_milliseconds_bucket"),
        "{stored}"
    );
}

#[test]
fn app_alert_rules_pass_promtool() {
    let rules = example("weir-app-alerts.yaml");
    let rules = rules.to_str().expect("UTF-8 path");
    promtool_ok(&["check", "rules", rules], "SUCCESS: 2 rules found");
    let tests = example("weir-app-alerts.test.yaml");
    let tests = tests.to_str().expect("UTF-8 path");
    promtool_ok(&["test", "rules", tests], "SUCCESS");
}
