//! Series that the default `redaction` makes identical are merged, not dropped: the
//! OpenTelemetry Python SDK (`tests/python/send_status_mix.py`, configured only by `OTEL_*`
//! variables) counts 100 requests, 20 of them with `status=500`, in a counter and a histogram.
//! The SDK gives each attribute set its own start time. weir runs its embedded default pipeline
//! (`examples/default.yaml`: `redaction: {}`, which removes `status` from data points) and its
//! `prometheus` exporter must show all 100 requests in one series, for cumulative and for delta
//! temporality, with the merge counted as `series_merged` and nothing as `series_dropped`.
//!
//! A real Prometheus (Debian's `prometheus`) then scrapes that page, and the counts it computes
//! agree: `sum(http_requests_total)` and the histogram's count are 100.
//!
//! The Python SDK (`./scripts/test` makes `.venv`) and `prometheus` must be there; these tests
//! fail, never skip, without them. The SDK exits only after weir answered its last export, and the `prometheus`
//! exporter updates its page before weir answers, so nothing here waits.

mod common;

use serde_json::Value;

use common::peers::free_port;
use common::prometheus::{Prometheus, example, value_of};
use common::{Weir, http_client, ledger, python, sdk};

#[tokio::test]
async fn cumulative_series_with_other_start_times_are_merged() {
    let (weir, report) = send(&[]);
    let page = scrape(&weir).await;
    check_page(&page, &report);
    check_counted(&weir).await;
    check_in_prometheus(&weir).await;
}

#[tokio::test]
async fn delta_series_with_other_start_times_are_merged() {
    let (weir, report) = send(&[("OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE", "delta")]);
    let page = scrape(&weir).await;
    check_page(&page, &report);
    check_counted(&weir).await;
    check_in_prometheus(&weir).await;
}

/// weir with its default pipeline, and the SDK's report after it sent everything to it over
/// OTLP/HTTP (protobuf), with `extra_env` added to the usual variables.
fn send(extra_env: &[(&str, &str)]) -> (Weir, Value) {
    python(); // fails first, with how to get it, if the venv is missing
    let weir = Weir::start_default();
    let endpoint = weir.http_base();
    let mut env = vec![
        ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str()),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
        // One export at shutdown (and the force_flush before it), none in between.
        ("OTEL_METRIC_EXPORT_INTERVAL", "600000"),
        ("OTEL_SERVICE_NAME", "checkout"),
    ];
    env.extend_from_slice(extra_env);
    let report = sdk::run("send_status_mix.py", &env);

    // The case this test is about: the SDK started the two series at different times.
    for metric in ["http.requests", "http.server.request.duration"] {
        let first = |status: &str| {
            report["start_times"][format!("{metric} {status}")][0]
                .as_u64()
                .unwrap_or_else(|| panic!("no {metric} {status} point in {report}"))
        };
        assert_ne!(first("500"), first("200"), "{metric}: {report}");
    }
    assert_eq!(report["requests"]["500"], 20, "{report}");
    assert_eq!(report["requests"]["200"], 80, "{report}");
    (weir, report)
}

async fn scrape(weir: &Weir) -> String {
    let addr = weir.listener_addr("prometheus");
    let resp = http_client()
        .get(format!("http://{addr}/metrics"))
        .send()
        .await
        .expect("GET the scrape endpoint");
    assert_eq!(resp.status(), 200);
    resp.text().await.expect("page")
}

/// The samples of `name` on a text page: (labels, value).
fn samples<'a>(page: &'a str, name: &str) -> Vec<(&'a str, f64)> {
    page.lines()
        .filter_map(|line| {
            let rest = line.strip_prefix(name)?;
            let (labels, value) = match rest.strip_prefix('{') {
                Some(r) => r.split_once("} ")?,
                None => ("", rest.strip_prefix(' ')?),
            };
            let value = value.split(' ').next()?.parse().ok()?;
            Some((labels, value))
        })
        .collect()
}

/// The one sample of `name` whose labels contain `with` (`""` for any).
fn one(page: &str, name: &str, with: &str) -> f64 {
    let found: Vec<_> = samples(page, name)
        .into_iter()
        .filter(|(labels, _)| labels.contains(with))
        .collect();
    assert_eq!(found.len(), 1, "one {name}{{{with}}} sample in:\n{page}");
    assert!(
        !found[0].0.contains("status="),
        "`status` is not allowed by default, so it is no label: {page}"
    );
    found[0].1
}

fn check_page(page: &str, report: &Value) {
    assert_eq!(one(page, "http_requests_total", ""), 100.0, "{page}");

    let h = "http_server_request_duration_seconds";
    assert_eq!(one(page, &format!("{h}_count"), ""), 100.0, "{page}");
    let want_sum = report["latency_sum"].as_f64().expect("latency_sum");
    let sum = one(page, &format!("{h}_sum"), "");
    assert!((sum - want_sum).abs() < 1e-9, "sum {sum} != {want_sum}");
    // 80 at 0.05 s, 20 at 0.8 s, in buckets 0.1, 0.5, 1.
    for (le, want) in [("0.1", 80.0), ("0.5", 80.0), ("1", 100.0), ("+Inf", 100.0)] {
        let bucket = one(page, &format!("{h}_bucket"), &format!("le=\"{le}\""));
        assert_eq!(bucket, want, "le={le}: {page}");
    }
}

/// Every collision was a merge: counted as `series_merged`, never `series_dropped`.
async fn check_counted(weir: &Weir) {
    let admin = weir.admin_metrics().await;
    let counted = |reason: &str| {
        samples(&admin, "weir_redacted_values_total")
            .into_iter()
            .filter(|(labels, _)| labels.contains(&format!("reason=\"{reason}\"")))
            .map(|(_, v)| v)
            .sum::<f64>()
    };
    assert_eq!(counted("series_dropped"), 0.0, "{admin}");
    // One merge per metric and export at least (force_flush, then shutdown).
    assert!(counted("series_merged") >= 2.0, "{admin}");
    // Every accepted point was delivered or merged into another, for both exporters.
    let accounts =
        ledger::assert_balanced(weir, &[("metrics", "debug"), ("metrics", "prometheus")]).await;
    assert!(
        accounts
            .iter()
            .all(|a| a.merged >= 2 && a.dropped.is_empty()),
        "{accounts:?}"
    );
}

/// A real Prometheus scrapes weir's `prometheus` exporter and adds up all 100 requests, in
/// the counter and in the histogram.
async fn check_in_prometheus(weir: &Weir) {
    if !common::debian_tools(common::prometheus::TOOLS) {
        return;
    }
    let job = format!(
        "  - job_name: weir\n    static_configs:\n      - targets: [\"{}\"]\n",
        weir.listener_addr("prometheus")
    );
    let rules = example("weir-app-alerts.yaml");
    let mut prom = Prometheus::start(free_port(), &rules, &job, &[]);
    prom.wait_ready().await;
    for promql in [
        "sum(http_requests_total)",
        "sum(http_server_request_duration_seconds_count)",
    ] {
        let found = prom.wait_for(promql, |r| !r.is_empty()).await;
        assert_eq!(value_of(&found[0]), 100.0, "{promql}: {found:?}");
    }
}
