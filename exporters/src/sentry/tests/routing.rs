//! Which DSN an event goes to, and what a failed send does: retried (without resending what
//! Sentry took) or dropped and counted.

use std::collections::BTreeMap;

use axum::http::StatusCode;
use weir_pipeline::otlp::trace::v1::span::SpanKind;

use super::*;

fn failing_span(id: u8) -> Span {
    span(
        "job",
        id,
        0,
        SpanKind::Internal,
        vec![exception("E", "boom", "")],
    )
}

/// `(project, key)` of every envelope received.
fn destinations(fake: &FakeSentry) -> Vec<(String, String)> {
    let mut d: Vec<_> = fake
        .received()
        .into_iter()
        .map(|r| (r.project, r.key))
        .collect();
    d.sort();
    d
}

#[tokio::test]
async fn the_tenant_decides_first_then_the_service_then_the_default() {
    let fake = FakeSentry::start().await;
    let cfg = SentryConfig {
        dsn: fake.dsn("default", 1).parse().ok(),
        dsns_by_tenant: BTreeMap::from([(
            "acme".into(),
            fake.dsn("acme", 2).parse().expect("dsn"),
        )]),
        dsns_by_service: BTreeMap::from([(
            "billing".into(),
            fake.dsn("billing", 3).parse().expect("dsn"),
        )]),
        ..Default::default()
    };
    let h = Harness::new(&cfg);
    let billing = [("service.name", "billing")];
    let shop = [("service.name", "shop")];
    h.export(&bundle("acme", traces(&billing, vec![failing_span(1)])))
        .await
        .expect("ok");
    h.export(&bundle("globex", traces(&billing, vec![failing_span(2)])))
        .await
        .expect("ok");
    h.export(&bundle("globex", logs(&shop, vec![log("down", 17, &[])])))
        .await
        .expect("ok");
    assert_eq!(
        destinations(&fake),
        [
            ("1".into(), "default".into()),
            ("2".into(), "acme".into()),
            ("3".into(), "billing".into()),
        ]
    );
}

#[tokio::test]
async fn records_without_a_dsn_are_counted() {
    let fake = FakeSentry::start().await;
    let cfg = SentryConfig {
        dsns_by_service: BTreeMap::from([(
            "billing".into(),
            fake.dsn("billing", 3).parse().expect("dsn"),
        )]),
        ..Default::default()
    };
    let h = Harness::new(&cfg);
    let shop = [("service.name", "shop")];
    h.export(&bundle(
        "acme",
        logs(&shop, vec![log("a", 17, &[]), log("b", 18, &[])]),
    ))
    .await
    .expect("ok");
    assert!(fake.received().is_empty());
    assert_eq!(h.dropped("logs", "acme", "no_dsn"), 2);
}

#[tokio::test]
async fn a_retry_resends_only_what_sentry_did_not_take() {
    let fake = FakeSentry::start().await;
    let cfg = SentryConfig {
        compression: crate::sentry::Compression::None,
        ..config(&fake)
    };
    let h = Harness::new(&cfg);
    fake.script([(
        StatusCode::SERVICE_UNAVAILABLE,
        vec![("retry-after", "3".into())],
    )]);
    let b = bundle("acme", traces(&[], vec![failing_span(1), failing_span(2)]));
    let err = h.export(&b).await.expect_err("one envelope got a 503");
    match err {
        ExportError::Retryable { retry_after, .. } => {
            assert_eq!(retry_after, Some(Duration::from_secs(3)));
        }
        other => panic!("not retryable: {other}"),
    }
    assert_eq!(fake.received().len(), 2);
    h.export(&b).await.expect("the retry succeeds");
    let ids: Vec<_> = fake.events().iter().map(|e| e.event_id).collect();
    assert_eq!(ids.len(), 3, "the retry sent one envelope");
    assert!(
        ids[2] == ids[0] || ids[2] == ids[1],
        "the event that failed, with its id"
    );
    h.export(&b).await.expect("nothing left");
    assert_eq!(fake.received().len(), 3);
}

#[tokio::test]
async fn a_refused_envelope_is_dropped_and_counted_not_retried() {
    let fake = FakeSentry::start().await;
    let h = Harness::new(&config(&fake));
    fake.script([(StatusCode::BAD_REQUEST, Vec::new())]);
    let b = bundle("acme", traces(&[], vec![failing_span(1)]));
    h.export(&b).await.expect("a 400 is not retried");
    assert_eq!(h.dropped("traces", "acme", "permanent"), 1);
    h.export(&b).await.expect("ok");
    assert_eq!(fake.received().len(), 1, "not sent again");
}

#[tokio::test]
async fn no_answer_is_retryable() {
    install_ring();
    // A port nobody listens on.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    drop(listener);
    let cfg = SentryConfig {
        dsn: format!("http://k@{addr}/1").parse().ok(),
        ..Default::default()
    };
    let h = Harness::new(&cfg);
    let err = h
        .export(&bundle("acme", traces(&[], vec![failing_span(1)])))
        .await
        .expect_err("no connection");
    assert!(err.is_retryable(), "{err}");
}

#[test]
fn config_problems_name_the_key_and_never_the_dsn() {
    let bad: Result<SentryConfig, _> = serde_yaml_ng::from_str("dsn: 'https://secretkey@'");
    let err = bad.expect_err("no host").to_string();
    assert!(err.starts_with("not a Sentry DSN"), "{err}");
    assert!(!err.contains("secretkey"), "{err}");
    let cfg = SentryConfig {
        dsns_by_tenant: BTreeMap::from([(
            "bad tenant".into(),
            "https://k@h/1".parse().expect("dsn"),
        )]),
        tag_attributes: vec![String::new(), "x".repeat(40)],
        dedupe_window: Duration::from_secs(2 * 3600),
        ..Default::default()
    };
    let problems = cfg.problems();
    let keys: Vec<&str> = problems.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        keys,
        [
            "dsns_by_tenant.bad tenant",
            "tag_attributes.0",
            "tag_attributes.1",
            "dedupe_window",
        ]
    );
    let none = SentryConfig::default().problems();
    assert_eq!(none.len(), 1);
    assert!(none[0].1.starts_with("required"), "{none:?}");
    let empty_env_dsn: SentryConfig =
        serde_yaml_ng::from_str("dsn: ''\ndsns_by_service: { shop: 'https://k@h/1' }")
            .expect("reads");
    assert_eq!(empty_env_dsn.dsn, None);
    assert!(empty_env_dsn.problems().is_empty());
}

#[test]
fn the_yaml_keys() {
    let cfg: SentryConfig = serde_yaml_ng::from_str(
        "dsn: https://k@sentry.example.com/1\n\
         dsns_by_tenant: { acme: 'https://a@sentry.example.com/2' }\n\
         environment: prod\n\
         insecure_skip_verify: true\n\
         tag_attributes: [http.route]\n\
         transactions: true\n\
         compression: none\n\
         timeout: 2s\n\
         dedupe_window: 0s\n\
         retry_on_failure: { enabled: false }\n",
    )
    .expect("config");
    assert!(cfg.problems().is_empty(), "{:?}", cfg.problems());
    assert!(cfg.transactions && cfg.insecure_skip_verify);
    assert_eq!(cfg.tag_attributes, ["http.route"]);
    assert_eq!(cfg.compression, crate::sentry::Compression::None);
    assert_eq!(cfg.timeout, Duration::from_secs(2));
    assert_eq!(cfg.dedupe_window, Duration::ZERO);
    let defaults = SentryConfig::default();
    assert!(!defaults.transactions);
    assert_eq!(defaults.compression, crate::sentry::Compression::Gzip);
    assert_eq!(defaults.tag_attributes, ["service.name"]);
    assert_eq!(defaults.dedupe_window, Duration::from_secs(60));
    let at_most = SentryConfig {
        dedupe_window: crate::sentry::MAX_DEDUPE_WINDOW,
        ..Default::default()
    };
    assert!(at_most.problems().iter().all(|(k, _)| k != "dedupe_window"));
}
