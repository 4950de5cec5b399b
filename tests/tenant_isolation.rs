//! Tenant isolation end to end, with the real binary: identity from tokens, headers and
//! resource attributes (spoofing refused), per-tenant splitting, and one tenant's failing
//! backend not stopping the others.

mod common;

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};

use parking_lot::Mutex;
use serde_json::{Value, json};

use common::{Weir, http_client};

fn trace_body(resources: &[(&str, Option<&str>)]) -> Vec<u8> {
    let resource_spans: Vec<Value> = resources
        .iter()
        .map(|(service, tenant)| {
            let mut attrs = vec![json!({"key": "service.name", "value": {"stringValue": service}})];
            if let Some(t) = tenant {
                attrs.push(json!({"key": "tenant.id", "value": {"stringValue": t}}));
            }
            json!({
                "resource": {"attributes": attrs},
                "scopeSpans": [{"spans": [{
                    "traceId": "5b8efff798038103d269b633813fc60c",
                    "spanId": "eee19b7ec3c1b174",
                    "name": format!("span of {service}"),
                    "startTimeUnixNano": "1", "endTimeUnixNano": "2"
                }]}]
            })
        })
        .collect();
    serde_json::to_vec(&json!({ "resourceSpans": resource_spans })).expect("json")
}

async fn post(weir: &Weir, body: Vec<u8>, headers: &[(&str, &str)]) -> (u16, String) {
    let mut req = http_client()
        .post(format!("{}/v1/traces", weir.http_base()))
        .header("content-type", "application/json")
        .body(body);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = req.send().await.expect("send");
    let code = resp.status().as_u16();
    (code, resp.text().await.unwrap_or_default())
}

fn tenants_seen(weir: &Weir) -> Vec<String> {
    weir.records_of("traces")
        .iter()
        .map(|r| r["tenant"].as_str().unwrap_or_default().to_owned())
        .collect()
}

async fn metric(weir: &Weir, needle: &str) -> f64 {
    let text = http_client()
        .get(format!("http://{}/metrics", weir.admin_addr))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("body");
    text.lines()
        .find(|l| l.starts_with(needle))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

#[tokio::test]
async fn tokens_decide_the_tenant_and_spoofing_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let tokens = dir.path().join("tokens.yaml");
    std::fs::write(
        &tokens,
        "tokens:\n  token-of-a: team-a\n  token-of-b: team-b\n",
    )
    .expect("write");
    let weir = Weir::start(&format!(
        "\
receivers:
  otlp:
    protocols:
      grpc: {{ endpoint: 127.0.0.1:0 }}
      http: {{ endpoint: 127.0.0.1:0 }}
    tenant:
      from: [token, {{ header: X-Scope-OrgID }}, {{ resource: tenant.id }}]
      default: null
      tokens_file: {}
exporters:
  debug: {{ verbosity: detailed, format: json, path: {{OUT}} }}
service:
  admin: {{ endpoint: 127.0.0.1:0 }}
  pipelines:
    traces: {{ receivers: [otlp], exporters: [debug] }}
",
        tokens.display()
    ));
    let one = || trace_body(&[("checkout", None)]);
    let (code, _) = post(&weir, one(), &[("authorization", "Bearer token-of-a")]).await;
    assert_eq!(code, 200);
    // The token's own tenant in the header is fine.
    let (code, _) = post(
        &weir,
        one(),
        &[
            ("authorization", "Bearer token-of-a"),
            ("x-scope-orgid", "team-a"),
        ],
    )
    .await;
    assert_eq!(code, 200);
    // A's token claiming B: refused, nothing recorded under B.
    let (code, body) = post(
        &weir,
        one(),
        &[
            ("authorization", "Bearer token-of-a"),
            ("x-scope-orgid", "team-b"),
        ],
    )
    .await;
    assert_eq!(code, 403, "{body}");
    let (code, _) = post(
        &weir,
        trace_body(&[("svc", Some("team-b"))]),
        &[("x-api-key", "token-of-a")],
    )
    .await;
    assert_eq!(
        code, 403,
        "a resource attribute naming another tenant is refused too"
    );
    let (code, _) = post(&weir, one(), &[]).await;
    assert_eq!(code, 401);
    let (code, _) = post(&weir, one(), &[("authorization", "Bearer nope")]).await;
    assert_eq!(code, 401);
    assert_eq!(tenants_seen(&weir), ["team-a", "team-a"]);
    assert_eq!(
        metric(
            &weir,
            "weir_auth_failures_total{reason=\"tenant_mismatch\"}"
        )
        .await,
        2.0
    );
    assert_eq!(
        metric(&weir, "weir_auth_failures_total{reason=\"missing_token\"}").await,
        1.0
    );
    assert_eq!(
        metric(&weir, "weir_auth_failures_total{reason=\"invalid_token\"}").await,
        1.0
    );
    assert_eq!(metric(&weir, "weir_receiver_accepted_records_total{signal=\"traces\",receiver=\"otlp\",tenant=\"team-b\"}").await, 0.0);
}

#[tokio::test]
async fn resources_naming_several_tenants_are_split() {
    let weir = Weir::start(
        "\
receivers:
  otlp:
    protocols:
      grpc: { endpoint: 127.0.0.1:0 }
      http: { endpoint: 127.0.0.1:0 }
    tenant:
      from: [{ header: X-Scope-OrgID }, { resource: tenant.id }]
exporters:
  debug: { verbosity: detailed, format: json, path: {OUT} }
service:
  admin: { endpoint: 127.0.0.1:0 }
  pipelines:
    traces: { receivers: [otlp], exporters: [debug] }
",
    );
    let body = trace_body(&[
        ("a1", Some("team-x")),
        ("b1", Some("team-y")),
        ("a2", Some("team-x")),
        ("plain", None),
    ]);
    let (code, body_text) = post(&weir, body, &[]).await;
    assert_eq!(code, 200, "{body_text}");
    let records = weir.records_of("traces");
    let by_tenant: Vec<(String, Vec<String>)> = records
        .iter()
        .map(|r| {
            let services = r["data"]["resourceSpans"]
                .as_array()
                .expect("resources")
                .iter()
                .map(|rs| {
                    common::attr(&rs["resource"], "service.name")["stringValue"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned()
                })
                .collect();
            (
                r["tenant"].as_str().unwrap_or_default().to_owned(),
                services,
            )
        })
        .collect();
    assert_eq!(
        by_tenant,
        [
            ("team-x".to_owned(), vec!["a1".to_owned(), "a2".to_owned()]),
            ("team-y".to_owned(), vec!["b1".to_owned()]),
            ("default".to_owned(), vec!["plain".to_owned()]),
        ]
    );
    let (code, _) = post(&weir, trace_body(&[("bad", Some("a/b"))]), &[]).await;
    assert_eq!(code, 400);
}

#[derive(Default)]
struct Backend {
    got: Mutex<Vec<String>>,
}

async fn backend(State(b): State<Arc<Backend>>, headers: HeaderMap) -> StatusCode {
    let tenant = headers
        .get("x-scope-orgid")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    if tenant == "team-a" {
        // Retryable, forever: without a per-tenant share of the consumers, team-a would hold them all.
        return StatusCode::SERVICE_UNAVAILABLE;
    }
    b.got.lock().push(tenant);
    StatusCode::OK
}

// Multi-threaded: the fake backend must keep answering while the test blocks on weir's exit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_tenants_failing_backend_does_not_stop_the_others() {
    let state = Arc::new(Backend::default());
    let app = axum::Router::new()
        .route("/v1/traces", axum::routing::post(backend))
        .with_state(state.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await });
    let mut weir = Weir::start(&format!(
        "\
receivers:
  otlp:
    protocols:
      grpc: {{ endpoint: 127.0.0.1:0 }}
      http: {{ endpoint: 127.0.0.1:0 }}
exporters:
  otlphttp:
    endpoint: http://{addr}
    sending_queue: {{ num_consumers: 2, max_tenant_share: 0.5 }}
    retry_on_failure: {{ initial_interval: 50ms, max_interval: 50ms, max_elapsed_time: 0s }}
service:
  admin: {{ endpoint: 127.0.0.1:0 }}
  drain_timeout: 2s
  pipelines:
    traces: {{ receivers: [otlp], exporters: [otlphttp] }}
"
    ));
    for i in 0..10 {
        let (code, _) = post(
            &weir,
            trace_body(&[(&format!("a{i}"), None)]),
            &[("x-scope-orgid", "team-a")],
        )
        .await;
        assert_eq!(code, 200);
    }
    for i in 0..5 {
        let (code, _) = post(
            &weir,
            trace_body(&[(&format!("b{i}"), None)]),
            &[("x-scope-orgid", "team-b")],
        )
        .await;
        assert_eq!(code, 200);
    }
    assert!(weir.stop().success());
    let got = state.got.lock().clone();
    let warnings: Vec<String> = weir
        .stderr_lines()
        .into_iter()
        .filter(|l| l.contains("WARN"))
        .collect();
    assert_eq!(
        got.iter().filter(|t| *t == "team-b").count(),
        5,
        "{got:?} {warnings:#?}"
    );
    assert!(!got.iter().any(|t| t == "team-a"));
}
