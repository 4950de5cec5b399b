//! Tenants named by tokens (`tenant.tokens_file`), with the real binary: over gRPC the bearer
//! token in the metadata names the tenant, an unknown or missing one is UNAUTHENTICATED and a
//! token with another tenant's header is PERMISSION_DENIED; and the file is re-read while weir
//! runs, so a token added starts working and a token removed is refused.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use serde_json::json;

use common::{DEBUG_AND_ADMIN, OTLP_RECEIVER, Weir};

/// weir with tokens from `tokens` only (no default tenant), traces to the debug exporter.
fn start(tokens: &Path) -> Weir {
    Weir::start(&format!(
        "{OTLP_RECEIVER}    tenant:
      from: [token, {{ header: X-Scope-OrgID }}]
      default: null
      tokens_file: {}
{DEBUG_AND_ADMIN}  pipelines:
    traces: {{ receivers: [otlp], exporters: [debug] }}
",
        tokens.display()
    ))
}

/// Writes the tokens file as a whole (a new file renamed over the old, as deploy tools do).
fn write_tokens(path: &Path, tokens: &[(&str, &str)]) {
    let mut text = String::from("tokens:\n");
    for (token, tenant) in tokens {
        text.push_str(&format!("  {token}: {tenant}\n"));
    }
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).expect("write tokens");
    std::fs::rename(&tmp, path).expect("replace tokens file");
}

fn spans(name: &str) -> ExportTraceServiceRequest {
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            scope_spans: vec![ScopeSpans {
                spans: vec![Span {
                    trace_id: vec![1; 16],
                    span_id: vec![2; 8],
                    name: name.into(),
                    start_time_unix_nano: 1,
                    end_time_unix_nano: 2,
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

/// Exports one span named `name` over gRPC with `metadata`: the status code (Ok on success).
async fn grpc_export(weir: &Weir, name: &str, metadata: &[(&'static str, &str)]) -> tonic::Code {
    let mut client = TraceServiceClient::connect(weir.grpc_base())
        .await
        .expect("connect");
    let mut request = tonic::Request::new(spans(name));
    for (key, value) in metadata {
        request
            .metadata_mut()
            .insert(*key, value.parse().expect("ascii metadata"));
    }
    match client.export(request).await {
        Ok(_) => tonic::Code::Ok,
        Err(status) => status.code(),
    }
}

/// (tenant, span name) of every span the debug exporter wrote.
fn exported(weir: &Weir) -> Vec<(String, String)> {
    weir.records_of("traces")
        .iter()
        .flat_map(|r| {
            let tenant = r["tenant"].as_str().unwrap_or_default().to_owned();
            let names: Vec<String> = r["data"]["resourceSpans"][0]["scopeSpans"][0]["spans"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .iter()
                .map(|s| s["name"].as_str().unwrap_or_default().to_owned())
                .collect();
            names.into_iter().map(move |n| (tenant.clone(), n))
        })
        .collect()
}

// Multi-threaded: the gRPC client's connection task keeps answering weir's shutdown while the
// test blocks on weir's exit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_grpc_the_bearer_token_names_the_tenant_and_spoofing_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let tokens = dir.path().join("tokens.yaml");
    write_tokens(
        &tokens,
        &[("token-of-a", "team-a"), ("token-of-b", "team-b")],
    );
    let weir = start(&tokens);

    let bearer_a = [("authorization", "Bearer token-of-a")];
    assert_eq!(grpc_export(&weir, "a1", &bearer_a).await, tonic::Code::Ok);
    let bearer_b = [("authorization", "Bearer token-of-b")];
    assert_eq!(grpc_export(&weir, "b1", &bearer_b).await, tonic::Code::Ok);
    // The token's own tenant in the header is fine.
    let own = [
        ("authorization", "Bearer token-of-a"),
        ("x-scope-orgid", "team-a"),
    ];
    assert_eq!(grpc_export(&weir, "a2", &own).await, tonic::Code::Ok);
    // A's token claiming B's tenant.
    let spoof = [
        ("authorization", "Bearer token-of-a"),
        ("x-scope-orgid", "team-b"),
    ];
    assert_eq!(
        grpc_export(&weir, "spoof", &spoof).await,
        tonic::Code::PermissionDenied
    );
    let unknown = [("authorization", "Bearer not-a-token")];
    assert_eq!(
        grpc_export(&weir, "unknown", &unknown).await,
        tonic::Code::Unauthenticated
    );
    // A header alone proves nothing when tokens decide.
    let header_only = [("x-scope-orgid", "team-a")];
    assert_eq!(
        grpc_export(&weir, "header", &header_only).await,
        tonic::Code::Unauthenticated
    );

    let mut got = exported(&weir);
    got.sort();
    let want: Vec<(String, String)> = [("team-a", "a1"), ("team-a", "a2"), ("team-b", "b1")]
        .iter()
        .map(|(t, n)| ((*t).to_owned(), (*n).to_owned()))
        .collect();
    assert_eq!(got, want);
    for (reason, n) in [
        ("tenant_mismatch", 1.0),
        ("invalid_token", 1.0),
        ("missing_token", 1.0),
    ] {
        let series = format!("weir_auth_failures_total{{reason=\"{reason}\"}}");
        assert_eq!(weir.metric(&series).await, n, "{series}");
    }
}

/// POSTs one span with `token` as a bearer token: the status code.
async fn http_export(weir: &Weir, token: &str) -> u16 {
    let body = json!({"resourceSpans": [{"scopeSpans": [{"spans": [{
        "traceId": "5b8efff798038103d269b633813fc60c",
        "spanId": "eee19b7ec3c1b174",
        "name": format!("sent with {token}"),
        "startTimeUnixNano": "1", "endTimeUnixNano": "2"
    }]}]}]});
    let bearer = format!("Bearer {token}");
    weir.post_json(
        "/v1/traces",
        serde_json::to_vec(&body).expect("json"),
        &[("authorization", &bearer)],
    )
    .await
    .status()
    .as_u16()
}

/// Retries `token` until weir answers `want`; the store re-reads the file within 2 s, so
/// 15 s is only a bound against a hang. Returns the answers seen.
async fn until_answered(weir: &Weir, token: &str, want: u16) -> Vec<u16> {
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut seen = Vec::new();
    loop {
        let code = http_export(weir, token).await;
        seen.push(code);
        if code == want {
            return seen;
        }
        assert!(
            Instant::now() < deadline,
            "{token} never got {want}: {seen:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rewritten_tokens_file_adds_and_revokes_tokens_while_weir_runs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let tokens = dir.path().join("tokens.yaml");
    write_tokens(&tokens, &[("kept", "team-k"), ("revoked", "team-r")]);
    let weir = start(&tokens);
    assert_eq!(http_export(&weir, "kept").await, 200);
    assert_eq!(http_export(&weir, "revoked").await, 200);
    assert_eq!(http_export(&weir, "added").await, 401, "not issued yet");

    write_tokens(&tokens, &[("kept", "team-k"), ("added", "team-new")]);
    until_answered(&weir, "added", 200).await;
    // One file, read at once: once the added token works the removed one is refused.
    assert_eq!(http_export(&weir, "revoked").await, 401);
    assert_eq!(http_export(&weir, "kept").await, 200);
    weir.stderr_lines_once(|l| l.contains("tokens reloaded"));

    // Revoking the last tokens works the same way.
    write_tokens(&tokens, &[("added", "team-new")]);
    until_answered(&weir, "kept", 401).await;
    assert_eq!(http_export(&weir, "added").await, 200);

    let tenants: Vec<String> = weir
        .records_of("traces")
        .iter()
        .map(|r| r["tenant"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert!(tenants.iter().any(|t| t == "team-new"), "{tenants:?}");
    let revoked_after: Vec<&String> = tenants.iter().skip(2).filter(|t| *t == "team-r").collect();
    assert!(
        revoked_after.is_empty(),
        "revoked token still accepted: {tenants:?}"
    );
}
