//! Rate limits against the fake: a limited category is dropped and counted until its limit
//! expires while other categories and DSNs go on, and a 429 is never retried. Time is a manual
//! clock: no sleeps.

use std::collections::BTreeMap;

use axum::http::StatusCode;
use weir_pipeline::otlp::trace::v1::span::SpanKind;

use super::*;
use crate::sentry::MAX_IN_FLIGHT;

/// A root span with one child and an exception on the root: one error, one transaction of
/// two spans. `id` keeps event ids apart between bundles.
fn request(id: u8) -> Signal {
    let root = span(
        "POST /pay",
        id,
        0,
        SpanKind::Server,
        vec![exception("E", "boom", "")],
    );
    let child = span("charge", id + 100, id, SpanKind::Internal, Vec::new());
    traces(&[], vec![root, child])
}

#[tokio::test]
async fn a_limited_category_stops_until_its_limit_expires_while_errors_flow() {
    let fake = FakeSentry::start().await;
    let cfg = SentryConfig {
        transactions: true,
        ..config(&fake)
    };
    let h = Harness::new(&cfg);
    // The first answer limits transactions for 60 s.
    fake.script([(
        StatusCode::OK,
        vec![(
            "x-sentry-rate-limits",
            "60:transaction:organization:quota_exceeded".into(),
        )],
    )]);
    let only_transaction = traces(&[], vec![span("GET /", 1, 0, SpanKind::Server, Vec::new())]);
    h.export(&bundle("acme", only_transaction))
        .await
        .expect("sent");
    assert_eq!(fake.transactions().len(), 1);

    h.export(&bundle("acme", request(10)))
        .await
        .expect("Ok: nothing to retry");
    assert_eq!(fake.events().len(), 1, "errors still flow");
    assert_eq!(fake.transactions().len(), 1, "the transaction was dropped");
    assert_eq!(
        h.dropped("traces", "acme", "rate_limited"),
        2,
        "its two spans"
    );

    h.clock.advance(Duration::from_secs(59));
    h.export(&bundle("acme", request(20))).await.expect("ok");
    assert_eq!(fake.transactions().len(), 1, "still limited");
    assert_eq!(fake.events().len(), 2);
    assert_eq!(h.dropped("traces", "acme", "rate_limited"), 4);

    h.clock.advance(Duration::from_secs(1));
    h.export(&bundle("acme", request(30))).await.expect("ok");
    assert_eq!(fake.transactions().len(), 2, "the limit expired");
    assert_eq!(fake.events().len(), 3);
    assert_eq!(h.dropped("traces", "acme", "rate_limited"), 4);
}

#[tokio::test]
async fn a_429_limits_that_dsn_for_retry_after_and_is_not_retried() {
    let fake = FakeSentry::start().await;
    let cfg = SentryConfig {
        dsn: fake.dsn("shared", 1).parse().ok(),
        dsns_by_tenant: BTreeMap::from([(
            "globex".into(),
            fake.dsn("globex", 2).parse().expect("dsn"),
        )]),
        ..Default::default()
    };
    let h = Harness::new(&cfg);
    fake.script([(
        StatusCode::TOO_MANY_REQUESTS,
        vec![("retry-after", "30".into())],
    )]);
    let error = || logs(&[], vec![log("down", 17, &[])]);
    let mut n = 0;
    let mut next = |tenant: &str| {
        n += 1;
        let mut l = log("down", 17, &[]);
        l.time_unix_nano += n;
        bundle(tenant, logs(&[], vec![l]))
    };
    h.export(&bundle("acme", error()))
        .await
        .expect("a 429 is not retried");
    assert_eq!(h.dropped("logs", "acme", "rate_limited"), 1);
    assert_eq!(fake.received().len(), 1);

    h.export(&next("acme")).await.expect("ok");
    assert_eq!(fake.received().len(), 1, "limited: not even sent");
    assert_eq!(h.dropped("logs", "acme", "rate_limited"), 2);

    h.export(&next("globex")).await.expect("ok");
    assert_eq!(fake.received().len(), 2, "another DSN is not limited");
    assert_eq!(fake.received()[1].project, "2");

    h.clock.advance(Duration::from_secs(30));
    h.export(&next("acme")).await.expect("ok");
    assert_eq!(fake.received().len(), 3, "Retry-After passed");
    assert_eq!(h.dropped("logs", "acme", "rate_limited"), 2);
}

#[tokio::test]
async fn a_limit_met_mid_bundle_stops_the_rest_of_it() {
    let fake = FakeSentry::start().await;
    let h = Harness::new(&config(&fake));
    fake.script([(
        StatusCode::TOO_MANY_REQUESTS,
        vec![("x-sentry-rate-limits", "120::organization".into())],
    )]);
    let records: Vec<LogRecord> = (0..40).map(|i| log(&format!("e{i}"), 17, &[])).collect();
    let records = records
        .into_iter()
        .enumerate()
        .map(|(i, mut l)| {
            l.time_unix_nano += i as u64;
            l
        })
        .collect();
    h.export(&bundle("acme", logs(&[], records)))
        .await
        .expect("ok");
    let received = fake.received().len();
    assert!(
        received <= MAX_IN_FLIGHT,
        "only envelopes already in flight reach Sentry after a 429: {received}"
    );
    // All but those Sentry took (every one after the 429 answered 200).
    let taken = received as u64 - 1;
    assert_eq!(h.dropped("logs", "acme", "rate_limited"), 40 - taken);
}
