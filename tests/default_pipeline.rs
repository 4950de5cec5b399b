//! README's first command, `weir run` with no config: the embedded default pipeline starts on a
//! machine with no backend, prints what arrives, serves metrics for Prometheus to scrape, and
//! redacts before anything leaves.

mod common;

use serde_json::json;

use common::{Weir, http_client, ledger};

#[tokio::test]
async fn the_default_pipeline_prints_scrapes_and_redacts() {
    let weir = Weir::start_default();
    let secret = "sk_live_4eC39HqLyjWDarjtT1zdp7dc";
    let body = json!({"resourceMetrics": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "shop"}}]},
        "scopeMetrics": [{"metrics": [{
            "name": "queue_depth",
            "gauge": {"dataPoints": [{
                "asInt": "42",
                "timeUnixNano": "1700000000000000000",
                "attributes": [
                    {"key": "http.request.method", "value": {"stringValue": "GET"}},
                    {"key": "api_key", "value": {"stringValue": secret}}
                ]
            }]}
        }]}]
    }]});
    let resp = weir.post_json("/v1/metrics", body.to_string(), &[]).await;
    assert_eq!(resp.status(), 200);

    let scrape = http_client()
        .get(format!(
            "http://{}/metrics",
            weir.listener_addr("prometheus")
        ))
        .send()
        .await
        .expect("scrape")
        .text()
        .await
        .expect("body");
    let line = scrape
        .lines()
        .find(|l| l.starts_with("queue_depth{"))
        .unwrap_or_else(|| panic!("queue_depth in the scrape:\n{scrape}"));
    assert!(line.ends_with(" 42"), "{line}");
    assert!(line.contains("http_request_method=\"GET\""), "{line}");
    // A data-point attribute outside the allowlist names a series, so redaction removes it
    // rather than masking it (a masked value would merge series and corrupt counters).
    assert!(!line.contains("api_key"), "{line}");
    assert!(!scrape.contains(secret), "{scrape}");

    // The debug exporter printed the batch on stdout, without the secret either.
    let stdout = String::from_utf8(weir.stdout()).expect("stdout is UTF-8");
    assert!(
        stdout.contains("metric name=queue_depth type=gauge points=1"),
        "{stdout}"
    );
    assert!(!stdout.contains(secret), "{stdout}");
    let accounts =
        ledger::assert_balanced(&weir, &[("metrics", "debug"), ("metrics", "prometheus")]).await;
    assert!(accounts.iter().all(|a| a.delivered == 1), "{accounts:?}");
}
