//! weir's `prometheusremotewrite` exporter against a real VictoriaMetrics (built by
//! `scripts/peers`), through its remote write endpoint `/api/v1/write` (snappy protobuf, remote
//! write 1.0).
//!
//! Two tenants (`X-Scope-OrgID: team-a` and `team-b`, weir's default tenant source) send the
//! same gauge and counter with different values as OTLP/JSON. The exporter puts each batch's
//! tenant in a `tenant` label (`tenant_label: tenant`): single-node VictoriaMetrics has one
//! store, so the label is what keeps the tenants apart. Read back through `/api/v1/query`:
//! - each tenant's series carries its own `tenant` label and its own value, for the gauge
//!   (`peer_temperature`) and the cumulative sum (`peer_requests_total`), with `job` from
//!   `service.name`;
//! - exactly one series per tenant and metric: nothing was duplicated or merged across tenants;
//! - weir sent every data point and lost none (`/metrics`).
//!
//! Without the VictoriaMetrics binary the test is skipped (it fails under `CI=true`).

mod common;

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

use common::peers::{self, Peer, eventually, free_port};
use common::{OTLP_RECEIVER, Weir, http_client};

/// (tenant, gauge value, counter value).
const TENANTS: [(&str, f64, f64); 2] = [("team-a", 21.5, 10.0), ("team-b", 7.25, 3.0)];

/// One tenant's metrics: a gauge and a monotonic cumulative sum, one point each, stamped now.
fn metrics(gauge: f64, counter: f64) -> Value {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_nanos();
    let start = now - 60_000_000_000;
    json!({ "resourceMetrics": [{
        "resource": { "attributes": [
            { "key": "service.name", "value": { "stringValue": "peer-svc" } } ] },
        "scopeMetrics": [{ "metrics": [
            { "name": "peer.temperature", "gauge": { "dataPoints": [
                { "timeUnixNano": now.to_string(), "asDouble": gauge } ] } },
            { "name": "peer.requests", "sum": {
                "aggregationTemporality": 2, "isMonotonic": true,
                "dataPoints": [{ "startTimeUnixNano": start.to_string(),
                    "timeUnixNano": now.to_string(), "asDouble": counter }] } },
        ] }],
    }]})
}

/// The instant vector `query` (a metric name: nothing to escape) evaluates to.
async fn query(addr: &str, query: &str) -> Vec<Value> {
    // Makes what was written so far searchable (it is otherwise after a second or so).
    let flushed = http_client()
        .get(format!("http://{addr}/internal/force_flush"))
        .send()
        .await
        .expect("flush VictoriaMetrics");
    assert_eq!(flushed.status(), 200, "/internal/force_flush");
    let resp = http_client()
        .get(format!("http://{addr}/api/v1/query?query={query}"))
        .send()
        .await
        .expect("query VictoriaMetrics");
    assert_eq!(resp.status(), 200, "query {query}");
    let answer: Value = resp.json().await.expect("query answer is JSON");
    assert_eq!(answer["status"], "success", "{answer}");
    answer["data"]["result"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

#[tokio::test]
async fn each_tenant_has_its_own_labelled_series() {
    let Some(bin) = peers::binary("victoriametrics") else {
        return;
    };
    let addr = format!("127.0.0.1:{}", free_port());
    let listen = format!("-httpListenAddr={addr}");
    let victoriametrics = Peer::start(
        "victoriametrics",
        &bin,
        &[
            &listen,
            "-storageDataPath={DIR}/data",
            "-loggerLevel=WARN",
            // Answer with samples as soon as they are stored, not 30s later.
            "-search.latencyOffset=0s",
            "-search.disableCache",
        ],
        &[],
        (&addr, "/health"),
    );
    let weir = Weir::start(&format!(
        "{OTLP_RECEIVER}\
exporters:
  prometheusremotewrite:
    endpoint: http://{addr}/api/v1/write
    tenant_label: tenant
service:
  admin: {{ endpoint: 127.0.0.1:0 }}
  pipelines:
    metrics: {{ receivers: [otlp], exporters: [prometheusremotewrite] }}
"
    ));

    for (tenant, gauge, counter) in TENANTS {
        let body = metrics(gauge, counter).to_string();
        let resp = weir
            .post_json("/v1/metrics", body, &[("X-Scope-OrgID", tenant)])
            .await;
        assert_eq!(resp.status(), 200, "metrics for {tenant}");
    }

    let series =
        "weir_exporter_sent_records_total{signal=\"metrics\",exporter=\"prometheusremotewrite\"}";
    let expected = (2 * TENANTS.len()) as f64;
    eventually("weir sends every data point", async |last| {
        let sent = weir.metric(series).await;
        *last = format!("{sent} of {expected}");
        (sent >= expected).then_some(())
    })
    .await;
    assert_eq!(weir.metric(series).await, expected, "{series}");
    let text = weir.admin_metrics().await;
    let lost: Vec<&str> = text
        .lines()
        .filter(|l| {
            l.starts_with("weir_records_dropped_total{")
                || l.starts_with("weir_exporter_failed_records_total{")
        })
        .collect();
    assert!(lost.is_empty(), "records lost: {lost:#?}");

    for (metric, value_of) in [
        ("peer_temperature", 1usize),
        ("peer_requests_total", 2usize),
    ] {
        let found = eventually(
            &format!("{metric} of both tenants in VictoriaMetrics"),
            async |last| {
                let found = query(&addr, metric).await;
                *last = format!("{found:?}");
                (found.len() >= TENANTS.len()).then_some(found)
            },
        )
        .await;
        assert_eq!(found.len(), TENANTS.len(), "{metric}: {found:#?}");
        for tenant in TENANTS {
            let expected = if value_of == 1 { tenant.1 } else { tenant.2 };
            let mine: Vec<&Value> = found
                .iter()
                .filter(|s| s["metric"]["tenant"] == tenant.0)
                .collect();
            assert_eq!(mine.len(), 1, "{metric} of {}: {found:#?}", tenant.0);
            assert_eq!(mine[0]["metric"]["job"], "peer-svc", "{:#?}", mine[0]);
            let value: f64 = mine[0]["value"][1]
                .as_str()
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| panic!("no value in {:#?}", mine[0]));
            assert_eq!(value, expected, "{metric} of {}", tenant.0);
        }
    }
    drop(victoriametrics);
}
