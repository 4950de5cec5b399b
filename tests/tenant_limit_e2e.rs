//! The `tenant_limit` processor end to end, with the real binary: a noisy tenant is told to back
//! off (HTTP 429 + Retry-After, gRPC RESOURCE_EXHAUSTED + RetryInfo) while its neighbour's
//! requests all pass; a request larger than the burst is refused as invalid, never "retry
//! later"; the refusals are counted by reason; one instance serves every pipeline naming it.

mod common;

use std::time::Instant;

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::logs::v1::logs_service_client::LogsServiceClient;
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use serde_json::{Value, json};
use tonic_types::StatusExt;

use common::{DEBUG_AND_ADMIN, OTLP_RECEIVER, Weir, ledger};

/// One `tenant_limit` (burst 5, 1 record/s; tenant `quiet` more) on traces and logs, the tenant
/// from `X-Scope-OrgID`.
fn config() -> String {
    format!(
        "{OTLP_RECEIVER}    tenant:
      from: [{{ header: X-Scope-OrgID }}]
processors:
  tenant_limit:
    records_per_second: 1
    burst: 5
    overrides:
      quiet: {{ records_per_second: 10, burst: 20 }}
{DEBUG_AND_ADMIN}  pipelines:
    traces: {{ receivers: [otlp], processors: [tenant_limit], exporters: [debug] }}
    logs: {{ receivers: [otlp], processors: [tenant_limit], exporters: [debug] }}
"
    )
}

fn spans(n: usize) -> Vec<u8> {
    let spans: Vec<Value> = (0..n)
        .map(|i| {
            json!({
                "traceId": "5b8efff798038103d269b633813fc60c",
                "spanId": format!("{:016x}", i + 1),
                "name": format!("span {i}"),
                "startTimeUnixNano": "1", "endTimeUnixNano": "2"
            })
        })
        .collect();
    serde_json::to_vec(&json!({"resourceSpans": [{"scopeSpans": [{"spans": spans}]}]}))
        .expect("json")
}

/// POSTs `n` spans as `tenant`: (status, Retry-After, body).
async fn post(weir: &Weir, tenant: &str, n: usize) -> (u16, Option<String>, String) {
    let resp = weir
        .post_json("/v1/traces", spans(n), &[("x-scope-orgid", tenant)])
        .await;
    let code = resp.status().as_u16();
    let retry_after = resp
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    (code, retry_after, resp.text().await.unwrap_or_default())
}

fn spans_of(weir: &Weir, tenant: &str) -> usize {
    weir.records_of("traces")
        .iter()
        .filter(|r| r["tenant"] == tenant)
        .map(|r| {
            r["data"]["resourceSpans"][0]["scopeSpans"][0]["spans"]
                .as_array()
                .map_or(0, Vec::len)
        })
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_noisy_tenant_is_told_to_back_off_and_its_neighbours_are_not() {
    let weir = Weir::start(&config());
    let started = Instant::now();
    // A sends 100 records, 20 times its burst, all at once; B and C send within theirs
    // (B its burst of 5, C on its override) at the same time.
    let mut sends = Vec::new();
    for i in 0..100 {
        sends.push(("noisy", i));
    }
    for i in 0..5 {
        sends.push(("b", i));
        sends.push(("quiet", i));
    }
    let answers = futures::future::join_all(
        sends
            .iter()
            .map(|(tenant, _)| async { (*tenant, post(&weir, tenant, 1).await) }),
    )
    .await;
    let mut admitted = 0;
    let mut limited = 0;
    for (tenant, (code, retry_after, body)) in answers {
        match (tenant, code) {
            ("noisy", 200) => admitted += 1,
            ("noisy", 429) => {
                limited += 1;
                let secs: u64 = retry_after
                    .expect("a 429 carries Retry-After")
                    .parse()
                    .expect("Retry-After in whole seconds");
                assert!((1..=2).contains(&secs), "Retry-After {secs}");
                assert!(body.contains("per second"), "{body}");
            }
            (_, 200) => {}
            (tenant, other) => panic!("{tenant} got {other}: {body}"),
        }
    }
    // The burst, plus at most one record per second that passed while the test ran.
    let slack = started.elapsed().as_secs() as usize + 1;
    assert!((5..=5 + slack).contains(&admitted), "admitted {admitted}");
    assert_eq!(admitted + limited, 100);
    // Every record of the neighbours was accepted and exported; A's admitted ones too.
    assert_eq!(spans_of(&weir, "b"), 5);
    assert_eq!(spans_of(&weir, "quiet"), 5);
    assert_eq!(spans_of(&weir, "noisy"), admitted);
    assert_eq!(
        weir.metric(
            "weir_receiver_refused_records_total{signal=\"traces\",receiver=\"otlp\",tenant=\"noisy\",reason=\"rate_limited\"}"
        )
        .await as usize,
        limited
    );
    // Refused records are no part of the ledger; every admitted one was delivered.
    let accounts = ledger::assert_balanced(&weir, &[("traces", "debug")]).await;
    assert_eq!(
        accounts[0].delivered as usize,
        admitted + 10,
        "{accounts:?}"
    );
}

#[tokio::test]
async fn a_request_larger_than_the_burst_is_invalid_not_retryable() {
    let weir = Weir::start(&config());
    let (code, retry_after, body) = post(&weir, "big", 6).await;
    assert_eq!(code, 400, "{body}");
    assert_eq!(retry_after, None);
    assert!(body.contains("burst"), "the message names the key: {body}");
    // Nothing was spent by the refused request: the whole burst is still there.
    let (code, _, body) = post(&weir, "big", 5).await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(spans_of(&weir, "big"), 5);
    let accounts = ledger::assert_balanced(&weir, &[("traces", "debug")]).await;
    assert_eq!(accounts[0].accepted, 5, "{accounts:?}");
}

fn logs(n: usize) -> ExportLogsServiceRequest {
    ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            scope_logs: vec![ScopeLogs {
                log_records: (0..n)
                    .map(|i| LogRecord {
                        time_unix_nano: 1 + i as u64,
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

// Multi-threaded: the gRPC client's connection task must keep answering weir's shutdown while
// the test blocks on weir's exit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_gets_resource_exhausted_with_retry_info_and_signals_share_one_budget() {
    let weir = Weir::start(&config());
    // Spend the whole burst on traces over HTTP...
    let (code, _, body) = post(&weir, "mixed", 5).await;
    assert_eq!(code, 200, "{body}");
    // ...then logs over gRPC find the same tenant's budget spent.
    let mut client = LogsServiceClient::connect(weir.grpc_base())
        .await
        .expect("connect");
    let mut request = tonic::Request::new(logs(2));
    request
        .metadata_mut()
        .insert("x-scope-orgid", "mixed".parse().expect("ascii"));
    let status = client.export(request).await.expect_err("over the limit");
    assert_eq!(status.code(), tonic::Code::ResourceExhausted, "{status:?}");
    let retry = status
        .get_error_details()
        .retry_info()
        .and_then(|r| r.retry_delay)
        .expect("RetryInfo with a delay");
    assert!(
        retry.as_secs_f64() > 0.0 && retry.as_secs_f64() <= 2.0,
        "{retry:?}"
    );
    assert!(weir.records_of("logs").is_empty());
    let accounts = ledger::assert_balanced(&weir, &[("traces", "debug"), ("logs", "debug")]).await;
    assert_eq!(
        [accounts[0].delivered, accounts[1].accepted],
        [5, 0],
        "{accounts:?}"
    );
}
