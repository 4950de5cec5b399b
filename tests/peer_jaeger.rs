//! weir's `otlp` exporter (gRPC, gzip) against a real Jaeger v2 (`cmd/jaeger` v1.75.0, built
//! by `scripts/peers`), with the OpenTelemetry Python SDK as the application.
//!
//! The SDK (`tests/python/send_all.py`, configured by `OTEL_*` variables) sends a trace of two
//! spans for each of two tenants, `team-a` over OTLP/HTTP and `team-b` over gRPC, naming its
//! tenant in `X-Scope-OrgID` (`OTEL_EXPORTER_OTLP_HEADERS`). weir forwards each tenant's spans
//! with the tenant in Jaeger's tenant header, `x-tenant` (`tenant_header: x-tenant`).
//!
//! Jaeger 1.75.0's `multi_tenancy` guards only its query side: its OTLP ingestion path stores
//! every span under no tenant, so a per-tenant read through its tenancy finds nothing,
//! whatever the client sent. So Jaeger's own `attributes` processor copies the `x-tenant`
//! header it received into a `tenant` tag (`include_metadata: true`), and the test reads each
//! trace back through Jaeger's query API (`/api/traces/<id>`) and checks:
//! - both spans of each tenant's trace arrived with their names, the parent/child link, the
//!   service name, and the `tenant` tag of that tenant, never the other's;
//! - each service's trace list in Jaeger holds only that tenant's trace;
//! - weir sent every span and lost none (`/metrics`), and its loss ledger balances.
//!
//! A second test sends the leak corpus (`tests/python/send_secrets.py`) the same way, through
//! weir's default redaction: each tenant's spans arrive with its tag, and no secret of the
//! corpus is anywhere in what Jaeger returns for either service.
//!
//! Without the Jaeger binary the test is skipped (it fails under `CI=true`).

mod common;

use serde_json::Value;

use common::leak::{assert_clean, secrets};
use common::peers::{self, Peer, eventually, free_port};
use common::{OTLP_RECEIVER, Weir, http_client, ledger, python, sdk};

/// (tenant, OTLP protocol the SDK uses, service name).
const TENANTS: [(&str, &str, &str); 2] = [
    ("team-a", "http/protobuf", "svc-a"),
    ("team-b", "grpc", "svc-b"),
];

fn jaeger_config(health: u16, otlp: u16, query_http: u16, query_grpc: u16) -> String {
    format!(
        "\
service:
  extensions: [jaeger_storage, jaeger_query, healthcheckv2]
  pipelines:
    traces:
      receivers: [otlp]
      processors: [attributes/tenant]
      exporters: [jaeger_storage_exporter]
  telemetry:
    metrics: {{ level: none }}
extensions:
  healthcheckv2:
    use_v2: true
    http: {{ endpoint: 127.0.0.1:{health} }}
  jaeger_query:
    storage: {{ traces: memstore }}
    http: {{ endpoint: 127.0.0.1:{query_http} }}
    grpc: {{ endpoint: 127.0.0.1:{query_grpc} }}
  jaeger_storage:
    backends:
      memstore: {{ memory: {{ max_traces: 1000 }} }}
receivers:
  otlp:
    protocols:
      grpc: {{ endpoint: 127.0.0.1:{otlp}, include_metadata: true }}
processors:
  attributes/tenant:
    actions:
      - {{ key: tenant, from_context: metadata.x-tenant, action: insert }}
exporters:
  jaeger_storage_exporter: {{ trace_storage: memstore }}
"
    )
}

/// weir with `processors` (a flow sequence's inside) on its traces pipeline.
fn weir_config(jaeger_otlp: u16, processors: &str) -> String {
    format!(
        "{OTLP_RECEIVER}\
processors:
  redaction: {{}}
exporters:
  otlp/jaeger:
    endpoint: http://127.0.0.1:{jaeger_otlp}
    tenant_header: x-tenant
  debug: {{ verbosity: basic, path: {{OUT}} }}
service:
  admin: {{ endpoint: 127.0.0.1:0 }}
  pipelines:
    traces: {{ receivers: [otlp], processors: [{processors}], exporters: [otlp/jaeger] }}
    # The SDK sends metrics and logs too; they only need a taker here.
    metrics: {{ receivers: [otlp], exporters: [debug] }}
    logs: {{ receivers: [otlp], exporters: [debug] }}
"
    )
}

/// `GET http://{query}{path}` from Jaeger's query API, as JSON.
async fn get(query: &str, path: &str) -> (u16, Value) {
    let resp = http_client()
        .get(format!("http://{query}{path}"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {path} from Jaeger: {e}"));
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// The value of tag `key` of a span in Jaeger's JSON.
fn tag<'a>(span: &'a Value, key: &str) -> Option<&'a Value> {
    let tags = span["tags"].as_array()?;
    tags.iter().find(|t| t["key"] == key).map(|t| &t["value"])
}

/// Starts Jaeger: (the peer, its OTLP gRPC port, its query API's address).
fn start_jaeger(bin: &std::path::Path) -> (Peer, u16, String) {
    let [health, otlp, query_http, query_grpc] =
        [free_port(), free_port(), free_port(), free_port()];
    let health_addr = format!("127.0.0.1:{health}");
    let jaeger = Peer::start_with_env(
        "jaeger",
        bin,
        &["--config", "{DIR}/config.yaml"],
        &[(
            "config.yaml",
            &jaeger_config(health, otlp, query_http, query_grpc),
        )],
        // Jaeger would otherwise trace itself to localhost:4317.
        &[
            ("OTEL_SDK_DISABLED", "true"),
            ("OTEL_TRACES_EXPORTER", "none"),
        ],
        (&health_addr, "/status"),
    );
    let query = format!("127.0.0.1:{query_http}");
    (jaeger, otlp, query)
}

#[tokio::test]
async fn each_tenants_trace_reaches_jaeger_with_its_tenant() {
    let Some(bin) = peers::binary("jaeger") else {
        return;
    };
    python(); // fails first, with how to get it, if the venv is missing
    let (jaeger, otlp, query) = start_jaeger(&bin);
    let weir = Weir::start(&weir_config(otlp, ""));

    let mut traces = Vec::new();
    for (tenant, protocol, service) in TENANTS {
        let endpoint = if protocol == "grpc" {
            weir.grpc_base()
        } else {
            weir.http_base()
        };
        let headers = format!("X-Scope-OrgID={tenant}");
        let report = sdk::run(
            "send_all.py",
            &[
                ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str()),
                ("OTEL_EXPORTER_OTLP_PROTOCOL", protocol),
                ("OTEL_EXPORTER_OTLP_HEADERS", headers.as_str()),
                ("OTEL_SERVICE_NAME", service),
            ],
        );
        traces.push((tenant, service, report));
    }

    let series = "weir_exporter_sent_records_total{signal=\"traces\",exporter=\"otlp/jaeger\"}";
    let expected = (2 * TENANTS.len()) as f64;
    eventually("weir sends every span", async |last| {
        let sent = weir.metric(series).await;
        *last = format!("{sent} of {expected}");
        (sent >= expected).then_some(())
    })
    .await;
    assert_eq!(weir.metric(series).await, expected, "{series}");
    let metrics = weir.admin_metrics().await;
    let lost: Vec<&str> = metrics
        .lines()
        .filter(|l| {
            l.starts_with("weir_records_dropped_total{")
                || l.starts_with("weir_exporter_failed_records_total{")
        })
        .collect();
    assert!(lost.is_empty(), "spans lost: {lost:#?}");
    let accounts = [
        ("traces", "otlp/jaeger"),
        ("metrics", "debug"),
        ("logs", "debug"),
    ];
    ledger::assert_balanced(&weir, &accounts).await;

    for (tenant, service, report) in &traces {
        let trace_id = report["trace_id"].as_str().expect("trace_id in the report");
        let what = format!("{tenant}'s trace {trace_id} in Jaeger");
        let trace = eventually(&what, async |last| {
            let (status, answer) = get(&query, &format!("/api/traces/{trace_id}")).await;
            *last = format!("{status} {answer}");
            let spans = answer["data"][0]["spans"].as_array()?;
            (spans.len() >= 2).then(|| answer["data"][0].clone())
        })
        .await;
        let spans = trace["spans"].as_array().expect("spans");
        assert_eq!(spans.len(), 2, "{what}: {trace:#}");
        for span in spans {
            assert_eq!(
                tag(span, "tenant"),
                Some(&Value::from(*tenant)),
                "{what}: {span:#}"
            );
            let process = &trace["processes"][span["processID"].as_str().expect("processID")];
            assert_eq!(process["serviceName"], *service, "{what}: {trace:#}");
        }
        let named = |name: &Value| {
            spans
                .iter()
                .find(|s| s["operationName"] == *name)
                .unwrap_or_else(|| panic!("{what}: no span {name}: {trace:#}"))
        };
        let parent = named(&report["parent"]["name"]);
        let child = named(&report["child"]["name"]);
        assert_eq!(parent["spanID"], report["parent"]["span_id"], "{what}");
        assert_eq!(child["spanID"], report["child"]["span_id"], "{what}");
        assert_eq!(
            child["references"][0]["spanID"], parent["spanID"],
            "{what}: the child names its parent"
        );

        let (status, listed) = get(&query, &format!("/api/traces?service={service}")).await;
        assert_eq!(status, 200, "{listed}");
        let ids: Vec<&Value> = listed["data"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|t| &t["traceID"])
            .collect();
        assert_eq!(ids, [trace_id], "{service}'s traces in Jaeger");
    }
    drop(jaeger);
}

#[tokio::test]
async fn the_leak_corpus_reaches_jaeger_masked_per_tenant() {
    let Some(bin) = peers::binary("jaeger") else {
        return;
    };
    python(); // fails first, with how to get it, if the venv is missing
    let (jaeger, otlp, query) = start_jaeger(&bin);
    let weir = Weir::start(&weir_config(otlp, "redaction"));
    let mut needles = Vec::new();
    for (tenant, protocol, service) in TENANTS {
        let endpoint = match protocol {
            "grpc" => weir.grpc_base(),
            _ => weir.http_base(),
        };
        let headers = format!("X-Scope-OrgID={tenant}");
        needles.extend(secrets(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str()),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", protocol),
            ("OTEL_EXPORTER_OTLP_HEADERS", headers.as_str()),
            ("OTEL_SERVICE_NAME", service),
        ]));
    }
    let accounts = [
        ("traces", "otlp/jaeger"),
        ("metrics", "debug"),
        ("logs", "debug"),
    ];
    let settled = ledger::assert_balanced(&weir, &accounts).await;
    assert_eq!(settled[0].delivered, 4, "two spans per tenant: {settled:?}");

    let mut stored = String::new();
    for (tenant, _, service) in TENANTS {
        let what = format!("{tenant}'s spans in Jaeger");
        let traces = eventually(&what, async |last| {
            let (status, answer) = get(&query, &format!("/api/traces?service={service}")).await;
            *last = format!("{status} {answer}");
            let traces = answer["data"].as_array()?;
            let spans: usize = traces
                .iter()
                .filter_map(|t| t["spans"].as_array())
                .map(Vec::len)
                .sum();
            (spans >= 2).then(|| answer["data"].clone())
        })
        .await;
        let spans: Vec<&Value> = traces
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|t| t["spans"].as_array().into_iter().flatten())
            .collect();
        assert_eq!(spans.len(), 2, "{what}: {traces:#}");
        for span in &spans {
            assert_eq!(
                tag(span, "tenant"),
                Some(&Value::from(tenant)),
                "{what}: {span:#}"
            );
        }
        stored.push_str(&traces.to_string());
    }
    assert_clean("Jaeger's traces", stored.as_bytes(), &needles);
    assert!(
        stored.contains("[REDACTED]") && stored.contains("login.failed"),
        "the spans arrived masked: {stored}"
    );
    drop(jaeger);
}
