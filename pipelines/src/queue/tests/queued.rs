//! Queued exporters behind pipelines: a backend that is down fills its queue and the pipeline
//! refuses with the retryable answer while a sibling pipeline keeps delivering; when the backend
//! returns, everything accepted arrives exactly once. Also the sizers and merging inside the
//! queue (merge, split, flush timeout).

use std::sync::Arc;
use std::time::Duration;

use super::fake::Fake;
use super::{logs, pipeline, queue_cfg, record_names, start, steady_retry, traces, value, within};
use crate::metrics::catalogue::{
    EXPORTER_FAILED_RECORDS, EXPORTER_QUEUE_BYTES, EXPORTER_QUEUE_CAPACITY,
    EXPORTER_QUEUE_MAX_BYTES, EXPORTER_QUEUE_RECORDS, EXPORTER_QUEUE_SIZE, EXPORTER_QUEUE_SIZER,
    EXPORTER_SENT_RECORDS,
};
use crate::queue::{MergeConfig, QueueConfig, Sizer};
use crate::{Metrics, RefusalKind, Router, SignalKind};

const SEC: Duration = Duration::from_secs(1);

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

/// Lets woken tasks run without letting time pass.
async fn settle() {
    for _ in 0..20 {
        tokio::task::yield_now().await;
    }
}

#[tokio::test(start_paused = true)]
async fn a_down_backend_fills_its_queue_while_a_sibling_keeps_delivering() {
    let metrics = Metrics::new();
    let tempo_backend = Fake::new();
    tempo_backend.set_down(true);
    let loki_backend = Fake::new();
    let tempo = start(
        "otlp/tempo",
        tempo_backend.exporter(),
        &queue_cfg(3, 1),
        steady_retry(SEC),
        &metrics,
    );
    let loki = start(
        "loki",
        loki_backend.exporter(),
        &queue_cfg(3, 1),
        steady_retry(SEC),
        &metrics,
    );
    let mut router = Router::default();
    router.add(Arc::new(pipeline("traces", SignalKind::Traces, &[&tempo])));
    router.add(Arc::new(pipeline("logs", SignalKind::Logs, &[&loki])));

    // The first batch goes straight to the (only) consumer, which keeps retrying it.
    let first = traces("a", "t0", 5);
    let mut accepted = record_names(&first);
    router.submit(first).await.expect("empty queue accepts");
    within(tempo_backend.wait_attempts(1)).await;
    let mut refusal = None;
    for i in 1..10 {
        let batch = traces("a", &format!("t{i}"), 5);
        let names = record_names(&batch);
        match router.submit(batch).await {
            Ok(_) => accepted.extend(names),
            Err(e) => {
                refusal = Some((i, e));
                break;
            }
        }
    }
    let (i, err) = refusal.expect("the queue fills up");
    assert_eq!(i, 4, "one batch in flight and queue_size 3 queued");
    assert_eq!(err.reason.kind, RefusalKind::Unavailable);
    assert!(err.reason.message.contains("otlp/tempo"), "{err}");
    assert_eq!(err.retry_after, Some(SEC));
    assert_eq!(value(&metrics, EXPORTER_QUEUE_RECORDS, &["otlp/tempo"]), 15);
    assert_eq!(value(&metrics, EXPORTER_QUEUE_CAPACITY, &["otlp/tempo"]), 3);
    // Size and capacity in the sizer's unit, which a gauge names.
    assert_eq!(value(&metrics, EXPORTER_QUEUE_SIZE, &["otlp/tempo"]), 3);
    let sizer = |unit: &str| metrics.value(EXPORTER_QUEUE_SIZER, &["otlp/tempo", unit]);
    assert_eq!((sizer("requests"), sizer("items")), (Some(1), None));

    // Logs go to another pipeline and exporter: unaffected.
    let mut log_names = Vec::new();
    for j in 0..6 {
        let batch = logs("a", &format!("l{j}"), 2);
        log_names.extend(record_names(&batch));
        within(router.submit(batch))
            .await
            .expect("the logs pipeline accepts");
        within(loki_backend.wait_delivered_records(2 * (j + 1))).await;
    }
    assert_eq!(loki_backend.delivered_names(), sorted(log_names));
    // Retries (every second) do not make room: the batch in flight stays in flight.
    let before = tokio::time::Instant::now();
    within(tempo_backend.wait_attempts(4)).await;
    assert_eq!(tokio::time::Instant::now() - before, 3 * SEC);
    let still = router.submit(traces("a", "late", 5)).await;
    assert_eq!(
        still.expect_err("still full").reason.kind,
        RefusalKind::Unavailable
    );

    // The backend comes back: everything accepted arrives, once; nothing else.
    tempo_backend.set_down(false);
    within(tempo_backend.wait_delivered_records(20)).await;
    within(tempo.drain(SEC)).await;
    within(loki.drain(SEC)).await;
    assert_eq!(tempo_backend.delivered_names(), sorted(accepted));
    assert_eq!(value(&metrics, EXPORTER_QUEUE_RECORDS, &["otlp/tempo"]), 0);
    assert_eq!(
        value(&metrics, EXPORTER_SENT_RECORDS, &["traces", "otlp/tempo"]),
        20
    );
    assert_eq!(
        value(&metrics, EXPORTER_SENT_RECORDS, &["logs", "loki"]),
        12
    );
    let text = metrics.render_prometheus();
    assert!(!text.contains("weir_records_dropped_total{"), "{text}");
    assert!(
        !text.contains("weir_exporter_failed_records_total{"),
        "{text}"
    );
    assert_eq!(
        value(
            &metrics,
            EXPORTER_FAILED_RECORDS,
            &["traces", "otlp/tempo", "shutdown"]
        ),
        0
    );
}

#[tokio::test(start_paused = true)]
async fn a_refusal_by_one_pipeline_does_not_queue_the_batch_in_its_siblings() {
    let metrics = Metrics::new();
    let healthy = Fake::new();
    let down = Fake::new();
    down.set_down(true);
    let qa = start(
        "a",
        healthy.exporter(),
        &queue_cfg(10, 1),
        steady_retry(SEC),
        &metrics,
    );
    let qb = start(
        "b",
        down.exporter(),
        &queue_cfg(1, 1),
        steady_retry(SEC),
        &metrics,
    );
    let mut router = Router::default();
    router.add(Arc::new(pipeline("traces/a", SignalKind::Traces, &[&qa])));
    router.add(Arc::new(pipeline("traces/b", SignalKind::Traces, &[&qb])));

    router.submit(traces("t", "b0", 2)).await.expect("room");
    within(down.wait_attempts(1)).await;
    router.submit(traces("t", "b1", 2)).await.expect("room");
    let retry = traces("t", "b2", 2);
    router
        .submit(retry.clone())
        .await
        .expect_err("traces/b is full");

    // The backend returns and the client retries the refused request.
    down.set_down(false);
    within(down.wait_delivered(1)).await;
    within(router.submit(retry)).await.expect("room again");
    within(qa.drain(SEC)).await;
    within(qb.drain(SEC)).await;
    let names = healthy.delivered_names();
    assert_eq!(
        names.iter().filter(|n| n.starts_with("b2/")).count(),
        2,
        "each record of the retried batch once: {names:?}"
    );
    assert_eq!(names.len(), 6);
}

#[tokio::test(start_paused = true)]
async fn the_items_sizer_counts_records_and_an_empty_queue_takes_any_batch() {
    let metrics = Metrics::new();
    let backend = Fake::gated();
    let cfg = QueueConfig {
        sizer: Sizer::Items,
        ..queue_cfg(10, 1)
    };
    let q = start("q", backend.exporter(), &cfg, steady_retry(SEC), &metrics);
    let p = pipeline("traces", SignalKind::Traces, &[&q]);
    p.submit(traces("a", "big", 50))
        .await
        .expect("an empty queue takes one batch, however large");
    p.submit(traces("a", "x", 4))
        .await
        .expect_err("50 records are queued against 10");
    within(backend.wait_attempts(1)).await;
    for (tag, n, ok) in [
        ("c", 4, true),
        ("d", 4, true),
        ("e", 4, false),
        ("f", 2, true),
    ] {
        let r = p.submit(traces("a", tag, n)).await;
        assert_eq!(r.is_ok(), ok, "{tag}: {r:?}");
    }
    assert_eq!(q.queued_records(), 10);
    assert_eq!(value(&metrics, EXPORTER_QUEUE_RECORDS, &["q"]), 10);
    backend.release(4);
    within(backend.wait_delivered_records(60)).await;
    assert_eq!(q.queued_records(), 0);
}

#[tokio::test(start_paused = true)]
async fn the_bytes_sizer_counts_request_bodies() {
    let metrics = Metrics::new();
    let backend = Fake::gated();
    let cfg = QueueConfig {
        sizer: Sizer::Bytes,
        ..queue_cfg(1000, 1)
    };
    let q = start("q", backend.exporter(), &cfg, steady_retry(SEC), &metrics);
    let p = pipeline("traces", SignalKind::Traces, &[&q]);
    let sized = |tag: &str, bytes: usize| {
        let mut b = traces("a", tag, 1);
        b.ctx.body_bytes = bytes;
        b
    };
    p.submit(sized("a", 600)).await.expect("room");
    p.submit(sized("b", 400)).await.expect("exactly full");
    let refused = p.submit(sized("c", 1)).await.expect_err("no byte left");
    assert_eq!(refused.reason.kind, RefusalKind::Unavailable);
    // Taking the first batch frees its 600 bytes.
    within(backend.wait_attempts(1)).await;
    p.submit(sized("c", 600)).await.expect("room freed");
}

#[tokio::test(start_paused = true)]
async fn max_bytes_bounds_a_queue_counted_in_requests() {
    let metrics = Metrics::new();
    let backend = Fake::gated();
    // Room for 1000 requests, but only 1000 bytes of them.
    let cfg = QueueConfig {
        max_bytes: 1000,
        ..queue_cfg(1000, 1)
    };
    let q = start("q", backend.exporter(), &cfg, steady_retry(SEC), &metrics);
    let p = pipeline("traces", SignalKind::Traces, &[&q]);
    let sized = |tag: &str, bytes: usize| {
        let mut b = traces("a", tag, 1);
        b.ctx.body_bytes = bytes;
        b
    };
    assert_eq!(value(&metrics, EXPORTER_QUEUE_MAX_BYTES, &["q"]), 1000);
    p.submit(sized("a", 600)).await.expect("room");
    p.submit(sized("b", 400))
        .await
        .expect("exactly the byte bound");
    assert_eq!(value(&metrics, EXPORTER_QUEUE_BYTES, &["q"]), 1000);
    let refused = p.submit(sized("c", 1)).await.expect_err("no byte left");
    assert_eq!(refused.reason.kind, RefusalKind::Unavailable);
    // A batch being sent still holds its bytes: taking "a" frees its request, not its 600
    // bytes.
    within(backend.wait_attempts(1)).await;
    p.submit(sized("c", 1))
        .await
        .expect_err("a's bytes are held while it is sent");
    assert_eq!(value(&metrics, EXPORTER_QUEUE_BYTES, &["q"]), 1000);
    assert_eq!(value(&metrics, EXPORTER_QUEUE_SIZE, &["q"]), 1);
    // Delivered, "a" gives its bytes back.
    backend.release(1);
    within(backend.wait_delivered(1)).await;
    assert_eq!(value(&metrics, EXPORTER_QUEUE_BYTES, &["q"]), 400);
    p.submit(sized("c", 600)).await.expect("room freed");
    p.submit(sized("d", 1)).await.expect_err("full again");
}

#[tokio::test(start_paused = true)]
async fn an_empty_queue_takes_one_request_past_max_bytes() {
    let metrics = Metrics::new();
    let backend = Fake::gated();
    let cfg = QueueConfig {
        max_bytes: 10,
        ..queue_cfg(1000, 1)
    };
    let q = start("q", backend.exporter(), &cfg, steady_retry(SEC), &metrics);
    let p = pipeline("traces", SignalKind::Traces, &[&q]);
    let mut big = traces("a", "big", 1);
    big.ctx.body_bytes = 5000;
    p.submit(big).await.expect("an empty queue takes it");
}

fn merging(min_size: u64, max_size: u64, flush_timeout: Duration) -> QueueConfig {
    QueueConfig {
        merge: Some(MergeConfig {
            flush_timeout,
            min_size,
            max_size,
            sizer: Sizer::Items,
        }),
        ..queue_cfg(100, 1)
    }
}

#[tokio::test(start_paused = true)]
async fn merging_takes_one_tenants_batches_once_min_size_is_reached() {
    let metrics = Metrics::new();
    let backend = Fake::new();
    let cfg = merging(30, 0, Duration::from_secs(3600));
    let q = start("q", backend.exporter(), &cfg, steady_retry(SEC), &metrics);
    let p = pipeline("traces", SignalKind::Traces, &[&q]);
    for tag in ["m0", "m1"] {
        p.submit(traces("a", tag, 10)).await.expect("room");
    }
    settle().await;
    assert!(backend.attempts().is_empty(), "20 < min_size: waits");
    p.submit(traces("a", "m2", 10)).await.expect("room");
    within(backend.wait_delivered(1)).await;
    let sent = backend.delivered();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].part_records(), [10, 10, 10]);
    let first: Vec<String> = sent[0].names().into_iter().step_by(10).collect();
    assert_eq!(first, ["m0/0", "m1/0", "m2/0"], "in arrival order");
}

#[tokio::test(start_paused = true)]
async fn merging_splits_a_batch_over_max_size_keeping_record_order() {
    let metrics = Metrics::new();
    let backend = Fake::new();
    let cfg = merging(1, 10, Duration::from_millis(200));
    let q = start("q", backend.exporter(), &cfg, steady_retry(SEC), &metrics);
    let p = pipeline("traces", SignalKind::Traces, &[&q]);
    let batch = traces("a", "big", 25);
    let names = record_names(&batch);
    p.submit(batch).await.expect("room");
    within(backend.wait_delivered_records(25)).await;
    let sent = backend.delivered();
    let sizes: Vec<u64> = sent.iter().map(|a| a.records).collect();
    assert_eq!(sizes, [10, 10, 5]);
    let got: Vec<String> = sent.iter().flat_map(|a| a.names()).collect();
    assert_eq!(got, names);
    assert_eq!(value(&metrics, EXPORTER_SENT_RECORDS, &["traces", "q"]), 25);
}

#[tokio::test(start_paused = true)]
async fn merging_sends_a_small_batch_when_flush_timeout_passes() {
    let metrics = Metrics::new();
    let backend = Fake::new();
    let cfg = merging(100, 0, Duration::from_secs(10));
    let q = start("q", backend.exporter(), &cfg, steady_retry(SEC), &metrics);
    let p = pipeline("traces", SignalKind::Traces, &[&q]);
    p.submit(traces("a", "small", 10)).await.expect("room");
    tokio::time::advance(Duration::from_secs(9)).await;
    settle().await;
    assert!(backend.attempts().is_empty(), "waits for min_size");
    tokio::time::advance(Duration::from_secs(2)).await;
    settle().await;
    assert_eq!(backend.delivered_records(), 10, "flushed after 10s");
}
