//! Tenant isolation end to end, with the real binary: identity from tokens, headers and
//! resource attributes (spoofing refused), per-tenant splitting, and one tenant's failing
//! backend not stopping the others.

mod common;

use serde_json::{Value, json};

use common::capture::Capture;
use common::{DEBUG_AND_ADMIN, OTLP_RECEIVER, Weir};

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
    let resp = weir.post_json("/v1/traces", body, headers).await;
    let code = resp.status().as_u16();
    (code, resp.text().await.unwrap_or_default())
}

fn tenants_seen(weir: &Weir) -> Vec<String> {
    weir.records_of("traces")
        .iter()
        .map(|r| r["tenant"].as_str().unwrap_or_default().to_owned())
        .collect()
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
        "{OTLP_RECEIVER}    tenant:
      from: [token, {{ header: X-Scope-OrgID }}, {{ resource: tenant.id }}]
      default: null
      tokens_file: {}
{DEBUG_AND_ADMIN}  pipelines:
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
        weir.metric("weir_auth_failures_total{reason=\"tenant_mismatch\"}")
            .await,
        2.0
    );
    assert_eq!(
        weir.metric("weir_auth_failures_total{reason=\"missing_token\"}")
            .await,
        1.0
    );
    assert_eq!(
        weir.metric("weir_auth_failures_total{reason=\"invalid_token\"}")
            .await,
        1.0
    );
    assert_eq!(weir.metric("weir_receiver_accepted_records_total{signal=\"traces\",receiver=\"otlp\",tenant=\"team-b\"}").await, 0.0);
}

#[tokio::test]
async fn resources_naming_several_tenants_are_split() {
    let weir = Weir::start(&format!(
        "{OTLP_RECEIVER}    tenant:
      from: [{{ header: X-Scope-OrgID }}, {{ resource: tenant.id }}]
{DEBUG_AND_ADMIN}  pipelines:
    traces: {{ receivers: [otlp], exporters: [debug] }}
"
    ));
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
    // The refused request is no part of the ledger; the split one is, whole.
    let accounts = common::ledger::assert_balanced(&weir, &[("traces", "debug")]).await;
    assert_eq!(accounts[0].delivered, 4, "{accounts:?}");
}

#[tokio::test]
async fn one_tenants_failing_backend_does_not_stop_the_others() {
    // team-a's backend fails retryably, forever: without a per-tenant share of the consumers,
    // team-a would hold them all.
    let backend = Capture::answering(|req| match req.header("x-scope-orgid").as_deref() {
        Some("team-a") => 503,
        _ => 200,
    });
    let mut weir = Weir::start(&format!(
        "{OTLP_RECEIVER}\
exporters:
  otlphttp:
    endpoint: {}
    sending_queue: {{ num_consumers: 2, max_tenant_share: 0.5 }}
    retry_on_failure: {{ initial_interval: 50ms, max_interval: 50ms, max_elapsed_time: 0s }}
service:
  admin: {{ endpoint: 127.0.0.1:0 }}
  drain_timeout: 2s
  pipelines:
    traces: {{ receivers: [otlp], exporters: [otlphttp] }}
",
        backend.base()
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
    // The tenants whose pushes the backend took.
    let got: Vec<String> = backend
        .requests_to("/v1/traces")
        .iter()
        .filter(|r| r.status == 200)
        .map(|r| r.header("x-scope-orgid").unwrap_or_default())
        .collect();
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
