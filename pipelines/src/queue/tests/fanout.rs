//! Reserve-then-commit fan-out in one pipeline with two queued exporters, one of them full:
//! refused (and not queued in the healthy one), dropped on overflow (counted), or blocking
//! until room frees.

use std::sync::Arc;
use std::time::Duration;

use super::fake::Fake;
use super::{pipeline, queue_cfg, record_names, start, steady_retry, traces, value, within};
use crate::metrics::catalogue::{EXPORTER_QUEUE_RECORDS, RECORDS_DROPPED};
use crate::queue::{QueueConfig, QueuedExporter};
use crate::{Batch, Metrics, Pipeline, RefusalKind, SignalKind};

const SEC: Duration = Duration::from_secs(1);

/// A pipeline exporting to `healthy` (a backend that answers at once, listed first so its
/// reservation must be given back) and `slow` (a gated backend, one consumer, room for one
/// queued batch, configured by `slow_cfg`).
struct Fanout {
    metrics: Metrics,
    healthy: Fake,
    slow: Fake,
    healthy_q: Arc<QueuedExporter>,
    slow_q: Arc<QueuedExporter>,
    pipeline: Pipeline,
}

fn fanout(slow_cfg: QueueConfig) -> Fanout {
    let metrics = Metrics::new();
    let healthy = Fake::new();
    let slow = Fake::gated();
    let healthy_q = start(
        "healthy",
        healthy.exporter(),
        &queue_cfg(1, 1),
        steady_retry(SEC),
        &metrics,
    );
    let slow_q = start(
        "slow",
        slow.exporter(),
        &slow_cfg,
        steady_retry(SEC),
        &metrics,
    );
    let pipeline = pipeline("traces", SignalKind::Traces, &[&healthy_q, &slow_q]);
    Fanout {
        metrics,
        healthy,
        slow,
        healthy_q,
        slow_q,
        pipeline,
    }
}

impl Fanout {
    /// Submits `b0` (taken by the slow consumer and held) and `b1` (queued behind it): the
    /// slow queue is then full, and the healthy backend has both.
    async fn fill(&self) {
        self.submit_ok("b0").await;
        within(self.slow.wait_attempts(1)).await;
        within(self.healthy.wait_delivered(1)).await;
        self.submit_ok("b1").await;
        within(self.healthy.wait_delivered(2)).await;
        assert_eq!(self.slow_q.queued_records(), 3);
    }

    async fn submit_ok(&self, tag: &str) {
        within(self.pipeline.submit(batch(tag)))
            .await
            .unwrap_or_else(|e| panic!("{tag} refused: {e}"));
    }

    /// Lets the slow backend answer everything and both queues finish.
    async fn finish(&self) {
        self.slow.release(100);
        within(self.slow_q.drain(SEC)).await;
        within(self.healthy_q.drain(SEC)).await;
    }

    fn dropped(&self, exporter: &str, reason: &str) -> u64 {
        value(
            &self.metrics,
            RECORDS_DROPPED,
            &["traces", exporter, "t", reason],
        )
    }
}

fn batch(tag: &str) -> Batch {
    traces("t", tag, 3)
}

fn names(tags: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = tags.iter().flat_map(|t| record_names(&batch(t))).collect();
    v.sort();
    v
}

#[tokio::test(start_paused = true)]
async fn a_full_queue_refuses_and_the_healthy_exporter_does_not_get_the_batch() {
    let f = fanout(queue_cfg(1, 1));
    f.fill().await;
    let err = within(f.pipeline.submit(batch("b2")))
        .await
        .expect_err("the slow queue is full");
    assert_eq!(err.reason.kind, RefusalKind::Unavailable);
    assert!(err.reason.message.contains("slow"), "{err}");
    assert!(err.retry_after.is_some());
    // The healthy queue gave its reservation back: nothing queued, and room for the next one.
    assert_eq!(f.healthy_q.queued_records(), 0);
    assert_eq!(value(&f.metrics, EXPORTER_QUEUE_RECORDS, &["healthy"]), 0);

    // The slow backend catches up; the client's retry is accepted, and arrives once everywhere.
    f.slow.release(1);
    within(f.slow.wait_delivered(1)).await;
    f.submit_ok("b2").await;
    f.finish().await;
    assert_eq!(f.healthy.delivered_names(), names(&["b0", "b1", "b2"]));
    assert_eq!(f.slow.delivered_names(), names(&["b0", "b1", "b2"]));
    assert_eq!(f.dropped("slow", "queue_full"), 0);
}

#[tokio::test(start_paused = true)]
async fn drop_on_overflow_accepts_and_counts_the_drop_for_the_full_exporter_only() {
    let f = fanout(QueueConfig {
        drop_on_overflow: true,
        ..queue_cfg(1, 1)
    });
    f.fill().await;
    within(f.pipeline.submit(batch("b2")))
        .await
        .expect("accepted: the full exporter drops instead of refusing");
    within(f.healthy.wait_delivered(3)).await;
    assert_eq!(f.dropped("slow", "queue_full"), 3);
    assert_eq!(f.dropped("healthy", "queue_full"), 0);
    f.finish().await;
    assert_eq!(f.healthy.delivered_names(), names(&["b0", "b1", "b2"]));
    assert_eq!(f.slow.delivered_names(), names(&["b0", "b1"]));
}

#[tokio::test(start_paused = true)]
async fn a_refused_request_is_not_counted_as_dropped_by_a_drop_on_overflow_exporter() {
    let metrics = Metrics::new();
    let dropper = Fake::gated();
    let strict = Fake::gated();
    let cfg = QueueConfig {
        drop_on_overflow: true,
        ..queue_cfg(1, 1)
    };
    let dq = start(
        "dropper",
        dropper.exporter(),
        &cfg,
        steady_retry(SEC),
        &metrics,
    );
    let sq = start(
        "strict",
        strict.exporter(),
        &queue_cfg(1, 1),
        steady_retry(SEC),
        &metrics,
    );
    let p = pipeline("traces", SignalKind::Traces, &[&dq, &sq]);
    for tag in ["b0", "b1"] {
        within(p.submit(batch(tag))).await.expect("room");
        within(dropper.wait_attempts(1)).await;
        within(strict.wait_attempts(1)).await;
    }
    let err = within(p.submit(batch("b2")))
        .await
        .expect_err("strict is full");
    assert_eq!(err.reason.kind, RefusalKind::Unavailable);
    assert_eq!(
        value(
            &metrics,
            RECORDS_DROPPED,
            &["traces", "dropper", "t", "queue_full"]
        ),
        0,
        "the request was refused, so nothing accepted was lost"
    );
}

#[tokio::test(start_paused = true)]
async fn block_on_overflow_waits_for_room_then_commits_everywhere() {
    let f = fanout(QueueConfig {
        block_on_overflow: true,
        ..queue_cfg(1, 1)
    });
    f.fill().await;
    let submit = f.pipeline.submit(batch("b2"));
    tokio::pin!(submit);
    assert!(futures::poll!(submit.as_mut()).is_pending());
    // Time passing does not help while the backend holds its answer.
    tokio::time::advance(Duration::from_secs(30)).await;
    assert!(futures::poll!(submit.as_mut()).is_pending());
    assert_eq!(
        f.healthy.delivered().len(),
        2,
        "the healthy exporter holds room but has not been given b2"
    );
    assert_eq!(f.healthy_q.queued_records(), 0);

    // The slow backend answers b0; its consumer takes b1, which frees the room b2 waits for.
    f.slow.release(1);
    within(submit.as_mut())
        .await
        .expect("accepted once room freed");
    within(f.healthy.wait_delivered(3)).await;
    f.finish().await;
    assert_eq!(f.healthy.delivered_names(), names(&["b0", "b1", "b2"]));
    assert_eq!(f.slow.delivered_names(), names(&["b0", "b1", "b2"]));
    let text = f.metrics.render_prometheus();
    assert!(!text.contains("weir_records_dropped_total{"), "{text}");
}

#[tokio::test(start_paused = true)]
async fn a_blocked_submit_is_refused_when_the_queue_closes_for_shutdown() {
    let f = fanout(QueueConfig {
        block_on_overflow: true,
        ..queue_cfg(1, 1)
    });
    f.fill().await;
    let submit = f.pipeline.submit(batch("b2"));
    tokio::pin!(submit);
    assert!(futures::poll!(submit.as_mut()).is_pending());
    let slow_q = Arc::clone(&f.slow_q);
    let drain = tokio::spawn(async move { slow_q.drain(Duration::from_secs(5)).await });
    let err = within(submit.as_mut())
        .await
        .expect_err("closed for shutdown");
    assert_eq!(err.reason.kind, RefusalKind::Unavailable);
    within(drain).await.expect("drain task");
    within(f.healthy_q.drain(SEC)).await;
    assert_eq!(f.healthy.delivered_names(), names(&["b0", "b1"]));
    // The slow backend never answered: b0 (in flight) and b1 (queued) are lost, and counted.
    assert!(f.slow.delivered().is_empty());
    assert_eq!(f.dropped("slow", "shutdown"), 6);
}
