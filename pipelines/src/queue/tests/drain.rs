//! `QueuedExporter::drain`: a healthy backend gets everything queued; a dead or slow one gets
//! what it can before the deadline and the rest is counted as lost with reason `shutdown`, so
//! accepted = sent + dropped.

use std::time::Duration;

use tokio::time::Instant;

use super::fake::Fake;
use super::{pipeline, queue_cfg, start, steady_retry, traces, value, within};
use crate::metrics::catalogue::{EXPORTER_QUEUE_RECORDS, EXPORTER_SENT_RECORDS, RECORDS_DROPPED};
use crate::{Metrics, RefusalKind, SignalKind};

const SEC: Duration = Duration::from_secs(1);

struct Ledger {
    sent: u64,
    dropped: u64,
}

fn ledger(metrics: &Metrics, tenants: &[&str]) -> Ledger {
    let dropped = tenants
        .iter()
        .map(|t| value(metrics, RECORDS_DROPPED, &["traces", "q", t, "shutdown"]))
        .sum();
    Ledger {
        sent: value(metrics, EXPORTER_SENT_RECORDS, &["traces", "q"]),
        dropped,
    }
}

#[tokio::test(start_paused = true)]
async fn with_a_healthy_backend_drain_sends_everything_queued() {
    let metrics = Metrics::new();
    let backend = Fake::new();
    let q = start(
        "q",
        backend.exporter(),
        &queue_cfg(100, 2),
        steady_retry(SEC),
        &metrics,
    );
    let p = pipeline("traces", SignalKind::Traces, &[&q]);
    for i in 0..10 {
        let tenant = if i % 2 == 0 { "a" } else { "b" };
        p.submit(traces(tenant, &format!("d{i}"), 3))
            .await
            .expect("room");
    }
    assert_eq!(q.queued_records(), 30, "queued, not sent yet");
    let start = Instant::now();
    within(q.drain(Duration::from_secs(30))).await;
    assert_eq!(Instant::now() - start, Duration::ZERO, "no waiting needed");
    assert_eq!(backend.delivered_records(), 30);
    assert_eq!(backend.delivered().len(), 10);
    let l = ledger(&metrics, &["a", "b"]);
    assert_eq!((l.sent, l.dropped), (30, 0));
    assert_eq!(value(&metrics, EXPORTER_QUEUE_RECORDS, &["q"]), 0);

    // Closed: a new request is refused with the retryable answer, not queued.
    let err = p
        .submit(traces("a", "late", 1))
        .await
        .expect_err("closed for shutdown");
    assert_eq!(err.reason.kind, RefusalKind::Unavailable);
    assert_eq!(backend.delivered_records(), 30);
}

#[tokio::test(start_paused = true)]
async fn with_a_dead_backend_drain_gives_up_at_the_deadline_and_counts_the_loss() {
    let metrics = Metrics::new();
    let backend = Fake::new();
    backend.set_down(true);
    let q = start(
        "q",
        backend.exporter(),
        &queue_cfg(100, 1),
        steady_retry(SEC),
        &metrics,
    );
    let p = pipeline("traces", SignalKind::Traces, &[&q]);
    let mut accepted = 0;
    for i in 0..10 {
        let tenant = if i < 7 { "a" } else { "b" };
        p.submit(traces(tenant, &format!("d{i}"), i + 1))
            .await
            .expect("room");
        accepted += (i + 1) as u64;
    }
    within(backend.wait_attempts(1)).await;
    let start = Instant::now();
    within(q.drain(Duration::from_secs(30))).await;
    assert_eq!(Instant::now() - start, Duration::from_secs(30));
    assert!(backend.delivered().is_empty());
    let l = ledger(&metrics, &["a", "b"]);
    assert_eq!(l.sent, 0);
    assert_eq!(l.dropped, accepted, "accepted = sent + dropped");
    // By tenant: a had batches of 1..=7 records, b of 8..=10.
    assert_eq!(
        value(&metrics, RECORDS_DROPPED, &["traces", "q", "b", "shutdown"]),
        27
    );
    assert_eq!(value(&metrics, EXPORTER_QUEUE_RECORDS, &["q"]), 0);
    assert_eq!(q.queued_records(), 0);
    // The consumers are gone: no attempt after the deadline.
    let attempts = backend.attempts().len();
    tokio::time::advance(Duration::from_secs(60)).await;
    assert_eq!(backend.attempts().len(), attempts);
}

#[tokio::test(start_paused = true)]
async fn with_a_slow_backend_the_ledger_balances_between_sent_and_dropped() {
    let metrics = Metrics::new();
    let backend = Fake::new();
    backend.set_latency(Duration::from_secs(10));
    let q = start(
        "q",
        backend.exporter(),
        &queue_cfg(100, 1),
        steady_retry(SEC),
        &metrics,
    );
    let p = pipeline("traces", SignalKind::Traces, &[&q]);
    for i in 0..10 {
        p.submit(traces("a", &format!("d{i}"), 4))
            .await
            .expect("room");
    }
    within(backend.wait_attempts(1)).await;
    // Answers at 10, 20 and 30s; the fourth request is cut off at 35s.
    within(q.drain(Duration::from_secs(35))).await;
    let l = ledger(&metrics, &["a"]);
    assert_eq!(backend.delivered_records(), 12);
    assert_eq!(l.sent, 12);
    assert_eq!(l.dropped, 28);
    assert_eq!(l.sent + l.dropped, 40, "accepted = sent + dropped");
}

#[tokio::test(start_paused = true)]
async fn drain_twice_is_harmless() {
    let metrics = Metrics::new();
    let backend = Fake::new();
    let q = start(
        "q",
        backend.exporter(),
        &queue_cfg(10, 1),
        steady_retry(SEC),
        &metrics,
    );
    let p = pipeline("traces", SignalKind::Traces, &[&q]);
    p.submit(traces("a", "once", 2)).await.expect("room");
    within(q.drain(SEC)).await;
    within(q.drain(SEC)).await;
    assert_eq!(backend.delivered_records(), 2);
    assert_eq!(ledger(&metrics, &["a"]).dropped, 0);
}
