//! A request whose resources name several tenants is split per tenant and taken all or none:
//! when one tenant's part is refused (that tenant is over its `tenant_limit`), the client gets
//! the refusal, no part reaches an exporter (inline or queued), the receiver counts every part
//! as refused under its own tenant, and the parts that passed `tenant_limit` get their budget
//! back.

mod common;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message;
use serde_json::{Value, json};

use common::capture::Capture;
use common::{OTLP_RECEIVER, Weir};

/// Spans named `{tag}/{i}` under one resource per `(tenant, spans)` part, tenant in
/// `tenant.id`.
fn body(tag: &str, parts: &[(&str, usize)]) -> Vec<u8> {
    let resource_spans: Vec<Value> = parts
        .iter()
        .map(|(tenant, n)| {
            let spans: Vec<Value> = (0..*n)
                .map(|i| {
                    json!({
                        "traceId": "5b8efff798038103d269b633813fc60c",
                        "spanId": format!("{:016x}", i + 1),
                        "name": format!("{tag}/{tenant}/{i}"),
                        "startTimeUnixNano": "1", "endTimeUnixNano": "2"
                    })
                })
                .collect();
            json!({
                "resource": {"attributes": [
                    {"key": "tenant.id", "value": {"stringValue": tenant}}
                ]},
                "scopeSpans": [{"spans": spans}]
            })
        })
        .collect();
    serde_json::to_vec(&json!({ "resourceSpans": resource_spans })).expect("json")
}

/// The span names in every request the backend received.
fn backend_span_names(backend: &Capture) -> Vec<String> {
    backend
        .requests_to("/v1/traces")
        .iter()
        .flat_map(|r| {
            ExportTraceServiceRequest::decode(r.body.as_slice())
                .expect("the backend got OTLP protobuf")
                .resource_spans
        })
        .flat_map(|rs| rs.scope_spans)
        .flat_map(|ss| ss.spans)
        .map(|s| s.name)
        .collect()
}

/// Waits for the ledger of both exporters to balance at `n` delivered records, and checks that
/// none of them came from the refused request.
async fn assert_delivered(weir: &Weir, backend: &Capture, n: u64) {
    let accounts =
        common::ledger::assert_balanced(weir, &[("traces", "debug"), ("traces", "otlphttp")]).await;
    assert!(accounts.iter().all(|a| a.delivered == n), "{accounts:?}");
    for (exporter, names) in [
        ("otlphttp", backend_span_names(backend)),
        ("debug", weir.span_names()),
    ] {
        assert_eq!(names.len() as u64, n, "{exporter}: {names:?}");
        assert!(
            !names.iter().any(|n| n.starts_with("split/")),
            "{exporter} got part of the refused request"
        );
    }
}

fn refused(tenant: &str) -> String {
    format!(
        "weir_receiver_refused_records_total{{signal=\"traces\",receiver=\"otlp\",tenant=\"{tenant}\",reason=\"rate_limited\"}}"
    )
}

fn accepted(tenant: &str) -> String {
    format!(
        "weir_receiver_accepted_records_total{{signal=\"traces\",receiver=\"otlp\",tenant=\"{tenant}\"}}"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_split_request_with_one_refused_tenant_queues_and_exports_nothing() {
    let backend = Capture::start();
    // A slow refill (1 record/s) so the budgets seen below are the bursts, whatever the pace.
    let weir = Weir::start(&format!(
        "{OTLP_RECEIVER}    tenant:
      from: [{{ resource: tenant.id }}]
processors:
  tenant_limit: {{ records_per_second: 1, burst: 50 }}
exporters:
  debug: {{ verbosity: detailed, format: json, path: {{OUT}} }}
  otlphttp: {{ endpoint: {}, compression: none }}
service:
  admin: {{ endpoint: 127.0.0.1:0 }}
  pipelines:
    traces: {{ receivers: [otlp], processors: [tenant_limit], exporters: [debug, otlphttp] }}
",
        backend.base()
    ));
    // team-y spends its whole burst.
    let resp = weir
        .post_json("/v1/traces", body("first", &[("team-y", 50)]), &[])
        .await;
    assert_eq!(resp.status(), 200);

    // team-x's part is within its budget, team-y's is not: the whole request is refused.
    let resp = weir
        .post_json(
            "/v1/traces",
            body("split", &[("team-x", 30), ("team-y", 1)]),
            &[],
        )
        .await;
    assert_eq!(
        resp.status(),
        429,
        "the refusal of team-y's part is the answer"
    );
    assert!(resp.headers().contains_key("retry-after"));
    let text = resp.text().await.unwrap_or_default();
    assert!(text.contains("team-y"), "{text}");

    // Nothing of it reached either exporter (the ledger waits for the queue to send what it
    // took: team-y's first request only).
    assert_delivered(&weir, &backend, 50).await;

    // team-x's budget is whole again: its part spent nothing, so a full burst passes.
    let resp = weir
        .post_json("/v1/traces", body("after", &[("team-x", 50)]), &[])
        .await;
    assert_eq!(
        resp.status(),
        200,
        "{}",
        resp.text().await.unwrap_or_default()
    );
    assert_delivered(&weir, &backend, 100).await;

    // Every part is counted as refused under its own tenant; nothing of it as accepted.
    assert_eq!(weir.metric(&refused("team-x")).await, 30.0);
    assert_eq!(weir.metric(&refused("team-y")).await, 1.0);
    assert_eq!(weir.metric(&accepted("team-x")).await, 50.0);
    assert_eq!(weir.metric(&accepted("team-y")).await, 50.0);
}
