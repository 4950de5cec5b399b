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
//! A second test has the OpenTelemetry Python SDK send the leak corpus
//! (`tests/python/send_secrets.py`, configured by `OTEL_*` variables only) for the same two
//! tenants, one over each OTLP protocol, through weir's default redaction: each tenant's series
//! carry its label and its own `job`, and no secret of the corpus is in any series
//! VictoriaMetrics stored (`/api/v1/export`). In both, the loss ledger balances.
//!
//! Without the VictoriaMetrics binary the test is skipped (it fails under `CI=true`).

mod common;

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

use common::leak::{self, assert_clean};
use common::peers::{self, Peer, eventually, free_port};
use common::{OTLP_RECEIVER, Weir, http_client, ledger, python};

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

/// Starts VictoriaMetrics: (the peer, its address).
fn start_victoriametrics(bin: &std::path::Path) -> (Peer, String) {
    let addr = format!("127.0.0.1:{}", free_port());
    let listen = format!("-httpListenAddr={addr}");
    let victoriametrics = Peer::start(
        "victoriametrics",
        bin,
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
    (victoriametrics, addr)
}

/// weir with `processors` (a flow sequence's inside) and remote write to VictoriaMetrics at
/// `addr`, each batch's tenant in the `tenant` label; traces and logs to `debug`.
fn weir_config(addr: &str, processors: &str) -> String {
    format!(
        "{OTLP_RECEIVER}\
processors:
  redaction: {{}}
exporters:
  prometheusremotewrite:
    endpoint: http://{addr}/api/v1/write
    tenant_label: tenant
  debug: {{ verbosity: basic, path: {{OUT}} }}
service:
  admin: {{ endpoint: 127.0.0.1:0 }}
  pipelines:
    metrics: {{ receivers: [otlp], processors: [{processors}], exporters: [prometheusremotewrite] }}
    traces: {{ receivers: [otlp], exporters: [debug] }}
    logs: {{ receivers: [otlp], exporters: [debug] }}
"
    )
}

#[tokio::test]
async fn each_tenant_has_its_own_labelled_series() {
    let Some(bin) = peers::binary("victoriametrics") else {
        return;
    };
    let (victoriametrics, addr) = start_victoriametrics(&bin);
    let weir = Weir::start(&weir_config(&addr, ""));

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
    ledger::assert_balanced(&weir, &[("metrics", "prometheusremotewrite")]).await;

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

/// Every series VictoriaMetrics holds, with its samples, as `/api/v1/export` writes them.
async fn export_all(addr: &str) -> String {
    let url = reqwest::Url::parse_with_params(
        &format!("http://{addr}/api/v1/export"),
        [("match[]", "{__name__!=\"\"}")],
    )
    .expect("export URL");
    let resp = http_client()
        .get(url)
        .send()
        .await
        .expect("export from VictoriaMetrics");
    assert_eq!(resp.status(), 200, "/api/v1/export");
    resp.text().await.expect("export answer")
}

#[tokio::test]
async fn the_sdks_leak_corpus_is_stored_masked_per_tenant() {
    let Some(bin) = peers::binary("victoriametrics") else {
        return;
    };
    python(); // fails first, with how to get it, if the venv is missing
    let (victoriametrics, addr) = start_victoriametrics(&bin);
    let weir = Weir::start(&weir_config(&addr, "redaction"));
    let needles =
        leak::secrets_per_tenant(&weir, &[("team-a", "http/protobuf"), ("team-b", "grpc")]);
    let accounts = ledger::assert_balanced(&weir, &[("metrics", "prometheusremotewrite")]).await;
    assert!(accounts[0].delivered > 0, "{accounts:?}");

    for metric in ["app_requests_total", "app_latency_milliseconds_count"] {
        let found = eventually(&format!("{metric} of both tenants"), async |last| {
            let found = query(&addr, metric).await;
            *last = format!("{found:?}");
            (found.len() >= 2).then_some(found)
        })
        .await;
        for tenant in ["team-a", "team-b"] {
            let mine: Vec<&Value> = found
                .iter()
                .filter(|s| s["metric"]["tenant"] == tenant)
                .collect();
            assert_eq!(mine.len(), 1, "{metric} of {tenant}: {found:#?}");
            assert_eq!(
                mine[0]["metric"]["job"],
                format!("leaky-{tenant}"),
                "{tenant}'s series: {:#?}",
                mine[0]
            );
        }
    }
    let stored = export_all(&addr).await;
    assert_clean("VictoriaMetrics' series", stored.as_bytes(), &needles);
    assert!(
        stored.contains("[REDACTED]") && stored.contains("target_info"),
        "the resource arrived masked: {stored}"
    );
    drop(victoriametrics);
}
