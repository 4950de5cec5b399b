//! `sending_queue.overflow_wait`: a request that finds the queue full waits for room, before
//! its body is read ([`Router::wait_for_room`]) and at its reservation, and is refused with
//! the retryable answer only when the wait runs out; `block_on_overflow` waits without bound,
//! `drop_on_overflow` goes on to drop.

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use super::fake::Fake;
use super::{pipeline, queue_cfg, start, steady_retry, traces, within};
use crate::queue::QueueConfig;
use crate::{Metrics, RefusalKind, Router, SignalKind};

const SEC: Duration = Duration::from_secs(1);

/// A queue of one request with one consumer in front of a gated backend, waiting up to
/// `wait`; filled: one batch in flight (held by the backend) and one queued.
async fn full_queue(cfg: QueueConfig) -> (Fake, Arc<crate::queue::QueuedExporter>, Router) {
    let metrics = Metrics::new();
    let backend = Fake::gated();
    let q = start(
        "otlp",
        backend.exporter(),
        &cfg,
        steady_retry(SEC),
        &metrics,
    );
    let mut router = Router::default();
    router.add(Arc::new(pipeline("traces", SignalKind::Traces, &[&q])));
    router
        .submit(traces("a", "in-flight", 1))
        .await
        .expect("room");
    within(backend.wait_attempts(1)).await;
    router.submit(traces("a", "queued", 1)).await.expect("room");
    (backend, q, router)
}

fn waiting(wait: Duration) -> QueueConfig {
    QueueConfig {
        overflow_wait: wait,
        ..queue_cfg(1, 1)
    }
}

#[tokio::test(start_paused = true)]
async fn a_request_waits_for_room_and_is_taken_when_the_backend_catches_up() {
    let (backend, _q, router) = full_queue(waiting(2 * SEC)).await;
    let router = Arc::new(router);
    let start = Instant::now();
    let late = tokio::spawn({
        let router = Arc::clone(&router);
        async move {
            router.wait_for_room(SignalKind::Traces).await?;
            router.submit(traces("a", "late", 1)).await
        }
    });
    tokio::time::sleep(SEC).await;
    assert!(!late.is_finished(), "no room yet: the request waits");
    backend.release(1);
    let taken = within(late).await.expect("task");
    assert!(taken.is_ok(), "{taken:?}");
    assert!(start.elapsed() < 2 * SEC, "taken as soon as there was room");
    backend.release(2);
    within(backend.wait_delivered_records(3)).await;
}

#[tokio::test(start_paused = true)]
async fn still_full_when_the_wait_runs_out_is_refused_with_the_retryable_answer() {
    let (backend, _q, router) = full_queue(waiting(2 * SEC)).await;
    let start = Instant::now();
    let err = within(router.wait_for_room(SignalKind::Traces))
        .await
        .expect_err("no room came");
    assert_eq!(start.elapsed(), 2 * SEC);
    assert_eq!(err.reason.kind, RefusalKind::Unavailable);
    assert!(err.reason.message.contains("queue is full"), "{err}");
    assert_eq!(err.retry_after, Some(SEC));
    // The reservation after decoding waits as long, then refuses alike.
    let start = Instant::now();
    let err = within(router.submit(traces("a", "late", 1)))
        .await
        .expect_err("no room came");
    assert_eq!(start.elapsed(), 2 * SEC);
    assert_eq!(err.reason.kind, RefusalKind::Unavailable);
    backend.release(2);
    within(backend.wait_delivered_records(2)).await;
}

#[tokio::test(start_paused = true)]
async fn a_zero_wait_refuses_at_once_as_the_collector_does() {
    let (_backend, _q, router) = full_queue(waiting(Duration::ZERO)).await;
    let start = Instant::now();
    let err = router
        .wait_for_room(SignalKind::Traces)
        .await
        .expect_err("full");
    assert_eq!(err.reason.kind, RefusalKind::Unavailable);
    assert_eq!(start.elapsed(), Duration::ZERO);
}

#[tokio::test(start_paused = true)]
async fn block_on_overflow_waits_past_the_bound_and_drop_on_overflow_goes_on() {
    let blocking = QueueConfig {
        block_on_overflow: true,
        ..waiting(SEC)
    };
    let (backend, _q, router) = full_queue(blocking).await;
    let router = Arc::new(router);
    let gate = tokio::spawn({
        let router = Arc::clone(&router);
        async move { router.wait_for_room(SignalKind::Traces).await }
    });
    tokio::time::sleep(120 * SEC).await;
    assert!(
        !gate.is_finished(),
        "blocks for as long as the queue is full"
    );
    backend.release(1);
    assert!(within(gate).await.expect("task").is_ok());

    let dropping = QueueConfig {
        drop_on_overflow: true,
        ..waiting(SEC)
    };
    let (_backend, _q, router) = full_queue(dropping).await;
    let start = Instant::now();
    within(router.wait_for_room(SignalKind::Traces))
        .await
        .expect("goes on, to be dropped for this exporter");
    assert_eq!(start.elapsed(), SEC, "after waiting for room");
}
