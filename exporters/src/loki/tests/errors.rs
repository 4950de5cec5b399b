//! How the exporter classifies Loki's refusals, and that a permanent 400 of one tenant's batch
//! holds back neither that tenant's later batches nor other tenants (through the real queue).

use std::time::Duration;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use weir_pipeline::metrics::catalogue;
use weir_pipeline::pipeline::ExporterHandle;
use weir_pipeline::queue::{DeliverySettings, QueueConfig, RetryConfig};
use weir_pipeline::{ExportError, Metrics};

use super::fake::{FakeLoki, Pushed};
use super::*;

fn one(tenant: &str, line: &str) -> Arc<Bundle> {
    bundle(vec![logs_batch(
        tenant,
        vec![resource_logs(
            &[("service.name", "api")],
            vec![log(line, 1, 9, &[])],
        )],
    )])
}

async fn refused_by(
    answer: impl Fn(&Pushed) -> Response + Send + Sync + 'static,
) -> (ExportError, LokiStats) {
    let fake = FakeLoki::answering(answer).await;
    let exp = exporter(&config(&fake));
    let err = exp.export(one("t", "x")).await.expect_err("refused");
    (err, exp.stats())
}

#[tokio::test]
async fn rate_limits_and_server_errors_are_retryable_with_retry_after() {
    let (err, stats) = refused_by(|_| {
        let msg = "Ingestion rate limit exceeded for user t (limit: 4194304 bytes/sec)";
        (StatusCode::TOO_MANY_REQUESTS, [("retry-after", "3")], msg).into_response()
    })
    .await;
    match &err {
        ExportError::Retryable {
            retry_after,
            source,
        } => {
            assert_eq!(*retry_after, Some(Duration::from_secs(3)));
            let text = source.to_string();
            assert!(
                text.contains("(rate_limited)") && text.contains("Ingestion rate limit"),
                "{text}"
            );
        }
        other => panic!("expected retryable, got {other}"),
    }
    assert_eq!(stats.refused["rate_limited"], 1);
    for status in [500, 502, 503, 504] {
        let status = StatusCode::from_u16(status).expect("status");
        let (err, stats) =
            refused_by(move |_| (status, "ingester unavailable").into_response()).await;
        assert!(
            matches!(
                err,
                ExportError::Retryable {
                    retry_after: None,
                    ..
                }
            ),
            "{status}: {err}"
        );
        assert_eq!(stats.refused["other"], 1);
    }
}

/// A 400 whose body does not say how many entries Loki refused (see `partial.rs` for those
/// that do).
#[tokio::test]
async fn bad_requests_that_do_not_count_are_permanent_and_counted_by_reason() {
    for (message, reason) in [
        (
            "entry with timestamp 1970-01-01 00:00:00 +0000 UTC ignored, reason: 'entry too far \
             behind, entry timestamp is: 1970-01-01T00:00:00Z'",
            "out_of_order",
        ),
        (
            "Error parsing labels '{a=}' with error: syntax error",
            "bad_labels",
        ),
        ("something new", "other"),
    ] {
        let long = format!("{message}{}", " and more".repeat(100));
        let (err, stats) =
            refused_by(move |_| (StatusCode::BAD_REQUEST, long.clone()).into_response()).await;
        let ExportError::Permanent(source) = &err else {
            panic!("expected permanent, got {err}");
        };
        let text = source.to_string();
        assert!(
            text.contains(&format!("HTTP 400 Bad Request ({reason})")),
            "{text}"
        );
        assert!(text.contains(message), "{text}");
        let (_, loki_message) = text.split_once("): ").expect("message");
        assert!(
            loki_message.len() <= 256,
            "at most 256 bytes of Loki's message: {loki_message}"
        );
        assert_eq!(stats.refused[reason], 1, "{reason}: {stats:?}");
        assert_eq!(stats.refused.values().sum::<u64>(), 1);
    }
    let (err, stats) = refused_by(|_| StatusCode::UNAUTHORIZED.into_response()).await;
    assert!(!err.is_retryable(), "{err}");
    assert_eq!(stats.refused["other"], 1);
}

#[tokio::test]
async fn no_connection_and_no_answer_are_retryable() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    drop(listener);
    let cfg = LokiConfig {
        endpoint: format!("http://{addr}/loki/api/v1/push").parse().ok(),
        ..Default::default()
    };
    let err = exporter(&cfg)
        .export(one("t", "x"))
        .await
        .expect_err("nothing listens");
    assert!(err.is_retryable(), "{err}");

    let silent = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = silent.local_addr().expect("addr");
    async fn never_answer() {
        futures::future::pending::<()>().await
    }
    let router = axum::Router::new().fallback(never_answer);
    tokio::spawn(async move { axum::serve(silent, router).await });
    let cfg = LokiConfig {
        endpoint: format!("http://{addr}/loki/api/v1/push").parse().ok(),
        timeout: Duration::from_millis(200),
        ..Default::default()
    };
    let err = exporter(&cfg)
        .export(one("t", "x"))
        .await
        .expect_err("times out");
    assert!(
        err.is_retryable() && err.to_string().contains("no answer within 200ms"),
        "{err}"
    );
}

/// Through the engine's queue (one consumer, so nothing overtakes): tenant A's first batch is
/// refused with 400 (Loki 3.x's message for an entry too old) after ONE attempt and counted as
/// dropped by that reason; A's next batch and tenant B's are delivered.
#[tokio::test]
async fn a_400_for_one_batch_holds_back_neither_later_batches_nor_other_tenants() {
    let fake = FakeLoki::answering(|push| {
        if push.lines().iter().any(|l| l.contains("ancient")) {
            let msg = "entry for stream '{level=\"info\", service_name=\"api\"}' has timestamp \
                       too old: 1970-01-01T00:00:00Z, oldest acceptable timestamp is: \
                       2025-06-01T00:00:00Z\n";
            (StatusCode::BAD_REQUEST, msg).into_response()
        } else {
            StatusCode::NO_CONTENT.into_response()
        }
    })
    .await;
    let exp = exporter(&config(&fake));
    let metrics = Metrics::new();
    let queue = QueueConfig {
        num_consumers: 1,
        ..Default::default()
    };
    let retry = RetryConfig {
        initial_interval: Duration::from_millis(10),
        max_interval: Duration::from_millis(10),
        ..Default::default()
    };
    let settings = DeliverySettings {
        queue,
        retry,
        timeout: Duration::from_secs(5),
        storage: None,
    };
    let queued = ExporterHandle::start("loki/test", Arc::new(exp.clone()), &settings, &metrics)
        .expect("in-memory queue");
    for (tenant, line) in [("a", "ancient"), ("a", "fresh a"), ("b", "fresh b")] {
        let b = logs_batch(
            tenant,
            vec![resource_logs(
                &[("service.name", "api")],
                vec![log(line, 1, 9, &[])],
            )],
        );
        queued.requeue(&b).await.expect("room");
    }
    queued.drain(Duration::from_secs(10)).await;

    let pushes = fake.pushes();
    let mut seen: Vec<(String, Vec<&str>)> = pushes
        .iter()
        .map(|p| (p.tenant.clone().unwrap_or_default(), p.lines()))
        .collect();
    seen.sort();
    assert_eq!(
        seen,
        [
            ("a".to_owned(), vec!["ancient"]),
            ("a".to_owned(), vec!["fresh a"]),
            ("b".to_owned(), vec!["fresh b"]),
        ],
        "the refused push was sent once, never again; the others went through"
    );
    let dropped = |tenant, reason| {
        metrics.value(
            catalogue::RECORDS_DROPPED,
            &["logs", "loki/test", tenant, reason],
        )
    };
    assert_eq!(dropped("a", "loki_too_old"), Some(1));
    assert_eq!(
        dropped("a", "permanent"),
        None,
        "Loki said which entry it refused"
    );
    assert_eq!(dropped("b", "loki_too_old"), None);
    assert_eq!(
        metrics.value(catalogue::EXPORTER_SENT_RECORDS, &["logs", "loki/test"]),
        Some(2)
    );
    let retries = metrics.value(catalogue::EXPORTER_RETRIES, &["loki/test"]);
    assert_eq!(retries.unwrap_or(0), 0, "no retries");
    assert_eq!(exp.stats().refused["too_old"], 1);
}

#[tokio::test]
async fn new_reports_bad_settings_with_the_id_and_key() {
    install_ring();
    let bad = LokiConfig {
        endpoint: None,
        ..Default::default()
    };
    let err = LokiExporter::new("loki/eu", &bad).expect_err("no endpoint");
    assert!(err.to_string().starts_with("loki/eu: endpoint:"), "{err}");
    let mut tls = LokiConfig {
        endpoint: "https://loki:3100".parse().ok(),
        ..Default::default()
    };
    tls.tls.ca_file = Some("/nonexistent/ca.pem".into());
    let err = LokiExporter::new("loki/eu", &tls).expect_err("missing file");
    assert!(
        matches!(
            err.source
                .downcast_ref::<crate::shared::http::ClientError>(),
            Some(crate::shared::http::ClientError::ReadFile { .. })
        ),
        "{err}"
    );
}
