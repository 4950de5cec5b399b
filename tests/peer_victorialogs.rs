//! weir's `loki` exporter against a real VictoriaLogs (built by `scripts/peers`), through its
//! Loki push endpoint `/insert/loki/api/v1/push`, in both body formats the exporter has:
//! snappy protobuf (`format: protobuf`, the default) and JSON (`format: json`, gzipped).
//!
//! The OpenTelemetry Python SDK, configured by environment variables as an application is,
//! sends the leak corpus (`tests/python/send_secrets.py`) for two tenants, `1` over
//! OTLP/HTTP and `2` over gRPC, each naming its tenant in `X-Scope-OrgID` through
//! `OTEL_EXPORTER_OTLP_HEADERS`. weir redacts the logs and pushes each tenant's with its id in
//! VictoriaLogs' `AccountID` header (`tenant_header: AccountID`); the JSON exporter also sends
//! `ProjectID: 7`, so each format lands in its own VictoriaLogs tenant. Read back through
//! `/select/logsql/query` with each tenant's headers:
//! - each (tenant, format) sees exactly its own two log lines, with its own service name as a
//!   stream label, weir's structured metadata (`request_id`, `severity_number`) decoded as
//!   fields, the masks in place and the other tenant's lines absent; an account nobody wrote
//!   to sees nothing;
//! - no secret of the corpus is anywhere in what VictoriaLogs stored;
//! - weir sent every record and lost none (`/metrics`), and its loss ledger balances.
//!
//! What only the Loki fakes check (`tests/loki_e2e.rs` with `tests/common/loki.rs`, and the
//! exporter's own `exporters/src/loki/tests/errors.rs`):
//! structured metadata kept apart from labels and line as Loki 3 keeps it (VictoriaLogs makes
//! every pair an ordinary field, so here it only shows the pairs decode), the label guard's
//! effect on streams, and Loki's own 400 answers (too old, out of order, line too long) and
//! how weir reports them. What only the real server checks: that both bodies are read by a
//! real Loki push decoder (snappy framing, protobuf field numbers, the JSON shape, gzip), and
//! that the tenant header really separates the data.
//!
//! Without the VictoriaLogs binary the test is skipped (it fails under `CI=true`).

mod common;

use serde_json::Value;

use common::peers::{self, Peer, eventually, free_port};
use common::{OTLP_RECEIVER, Weir, http_client, ledger, python, sdk};

/// (tenant, OTLP protocol the SDK uses, service name).
const TENANTS: [(&str, &str, &str); 2] =
    [("1", "http/protobuf", "svc-one"), ("2", "grpc", "svc-two")];
/// (exporter, VictoriaLogs `ProjectID` it writes to).
const EXPORTERS: [(&str, &str); 2] = [("loki/protobuf", "0"), ("loki/json", "7")];
/// Log records `send_secrets.py` emits per run.
const LOGS_PER_RUN: usize = 2;

fn weir_config(victorialogs: &str) -> String {
    let push = format!("http://{victorialogs}/insert/loki/api/v1/push");
    format!(
        "{OTLP_RECEIVER}\
processors:
  redaction: {{}}
exporters:
  loki/protobuf:
    endpoint: {push}
    tenant_header: AccountID
  loki/json:
    endpoint: {push}
    format: json
    tenant_header: AccountID
    headers: {{ ProjectID: \"7\" }}
  debug: {{ verbosity: basic, path: {{OUT}} }}
service:
  admin: {{ endpoint: 127.0.0.1:0 }}
  pipelines:
    logs: {{ receivers: [otlp], processors: [redaction], exporters: [loki/protobuf, loki/json] }}
    # The corpus has traces and metrics too; they only need a taker here.
    traces: {{ receivers: [otlp], exporters: [debug] }}
    metrics: {{ receivers: [otlp], exporters: [debug] }}
"
    )
}

/// Every entry VictoriaLogs has for (`account`, `project`), as its query API returns them.
async fn query(addr: &str, account: &str, project: &str) -> Vec<Value> {
    let resp = http_client()
        .get(format!("http://{addr}/select/logsql/query?query=*"))
        .header("AccountID", account)
        .header("ProjectID", project)
        .send()
        .await
        .expect("query VictoriaLogs");
    assert_eq!(resp.status(), 200, "query for {account}:{project}");
    let text = resp.text().await.expect("query answer");
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

#[tokio::test]
async fn each_tenant_reads_only_its_own_redacted_logs() {
    let Some(bin) = peers::binary("victorialogs") else {
        return;
    };
    python(); // fails first, with how to get it, if the venv is missing
    let addr = format!("127.0.0.1:{}", free_port());
    let listen = format!("-httpListenAddr={addr}");
    let victorialogs = Peer::start(
        "victorialogs",
        &bin,
        &[&listen, "-storageDataPath={DIR}/data", "-loggerLevel=WARN"],
        &[],
        (&addr, "/health"),
    );
    let weir = Weir::start(&weir_config(&addr));

    let mut needles: Vec<String> = Vec::new();
    for (tenant, protocol, service) in TENANTS {
        let endpoint = if protocol == "grpc" {
            weir.grpc_base()
        } else {
            weir.http_base()
        };
        let headers = format!("X-Scope-OrgID={tenant}");
        let report = sdk::run(
            "send_secrets.py",
            &[
                ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str()),
                ("OTEL_EXPORTER_OTLP_PROTOCOL", protocol),
                ("OTEL_EXPORTER_OTLP_HEADERS", headers.as_str()),
                ("OTEL_SERVICE_NAME", service),
            ],
        );
        assert_eq!(report["logs"], LOGS_PER_RUN, "{report}");
        let found: Vec<String> =
            serde_json::from_value(report["needles"].clone()).expect("needles list");
        assert!(found.len() > 20, "{report}");
        needles.extend(found);
    }

    // weir delivered every record to both exporters and lost none.
    let expected = (LOGS_PER_RUN * TENANTS.len()) as f64;
    for (exporter, _) in EXPORTERS {
        let series =
            format!("weir_exporter_sent_records_total{{signal=\"logs\",exporter=\"{exporter}\"}}");
        eventually(&format!("{exporter} sends every record"), async |last| {
            let sent = weir.metric(&series).await;
            *last = format!("{sent} of {expected}");
            (sent >= expected).then_some(())
        })
        .await;
        assert_eq!(weir.metric(&series).await, expected, "{series}");
    }
    let metrics = weir.admin_metrics().await;
    let lost: Vec<&str> = metrics
        .lines()
        .filter(|l| {
            l.starts_with("weir_records_dropped_total{")
                || l.starts_with("weir_exporter_failed_records_total{")
        })
        .collect();
    assert!(lost.is_empty(), "records lost: {lost:#?}");
    let accounts = [
        ("logs", "loki/protobuf"),
        ("logs", "loki/json"),
        ("traces", "debug"),
        ("metrics", "debug"),
    ];
    ledger::assert_balanced(&weir, &accounts).await;

    let mut stored = String::new();
    for (exporter, project) in EXPORTERS {
        for (tenant, _, service) in TENANTS {
            let what = format!("{exporter}'s lines for tenant {tenant} in VictoriaLogs");
            let entries = eventually(&what, async |last| {
                let entries = query(&addr, tenant, project).await;
                *last = format!("{entries:?}");
                (entries.len() >= LOGS_PER_RUN).then_some(entries)
            })
            .await;
            assert_eq!(entries.len(), LOGS_PER_RUN, "{what}: {entries:#?}");
            for entry in &entries {
                assert_eq!(entry["service_name"], service, "{what}: {entry}");
                let stream = entry["_stream"].as_str().unwrap_or_default();
                assert!(stream.contains(service), "{what}: stream {stream}");
                // Structured metadata, which VictoriaLogs keeps as fields of the entry.
                let request_id = entry["request_id"].as_str().unwrap_or_default();
                assert!(request_id.len() >= 32, "{what}: request_id in {entry}");
                let severity = &entry["severity_number"];
                assert!(severity == "13" || severity == "17", "{what}: {entry}");
            }
            let text = serde_json::to_string(&entries).expect("entries as JSON");
            assert!(
                text.contains("login failed") && text.contains("[REDACTED]"),
                "{what}: {text}"
            );
            let other = TENANTS.iter().find(|t| t.0 != tenant).expect("two tenants");
            assert!(!text.contains(other.2), "{what} holds {}: {text}", other.2);
            stored.push_str(&text);
        }
    }
    assert!(
        query(&addr, "3", "0").await.is_empty(),
        "an account nobody wrote to sees nothing"
    );

    let leaked: Vec<&String> = needles
        .iter()
        .filter(|n| stored.contains(n.as_str()))
        .collect();
    assert!(leaked.is_empty(), "VictoriaLogs stored secrets: {leaked:?}");
    drop(victorialogs);
}
