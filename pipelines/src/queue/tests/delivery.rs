//! `Delivery`: retries with exponential backoff, `Retry-After`, permanent errors, the
//! `max_elapsed_time` limit, per-attempt timeouts, shutdown, and the metrics of each outcome.
//! Every test runs on the paused clock, so the waits it asserts are exact.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;

use super::fake::{Answer, Fake};
use super::{traces, value, within};
use crate::metrics::catalogue::{
    EXPORTER_FAILED_RECORDS, EXPORTER_RETRIES, EXPORTER_SENT_RECORDS, RECORDS_DROPPED,
};
use crate::queue::RetryConfig;
use crate::queue::delivery::Delivery;
use crate::{Bundle, Exporter, Metrics};

const ID: &str = "otlp/test";
const SEC: Duration = Duration::from_secs(1);

/// 1s, doubling, capped at 5s, no jitter, no time limit.
fn doubling() -> RetryConfig {
    RetryConfig {
        enabled: true,
        initial_interval: SEC,
        randomization_factor: 0.0,
        multiplier: 2.0,
        max_interval: 5 * SEC,
        max_elapsed_time: Duration::ZERO,
    }
}

struct Harness {
    fake: Fake,
    metrics: Metrics,
    delivery: Delivery,
    stop: watch::Sender<bool>,
}

fn harness(retry: RetryConfig, timeout: Duration) -> Harness {
    let fake = Fake::new();
    let metrics = Metrics::new();
    let (stop, stop_rx) = watch::channel(false);
    let delivery = Delivery::new(
        Arc::from(ID),
        fake.exporter(),
        retry,
        timeout,
        metrics.clone(),
        stop_rx,
    );
    Harness {
        fake,
        metrics,
        delivery,
        stop,
    }
}

/// A bundle of tenant `a` with `n` spans.
fn bundle(n: usize) -> Arc<Bundle> {
    Arc::new(Bundle::single(Arc::new(traces("a", "b", n))))
}

/// Time between consecutive attempts.
fn gaps(fake: &Fake) -> Vec<Duration> {
    let at: Vec<Instant> = fake.attempts().iter().map(|a| a.at).collect();
    at.windows(2).map(|w| w[1] - w[0]).collect()
}

fn dropped(h: &Harness, reason: &str) -> u64 {
    value(&h.metrics, RECORDS_DROPPED, &["traces", ID, "a", reason])
}

fn failed(h: &Harness, reason: &str) -> u64 {
    value(&h.metrics, EXPORTER_FAILED_RECORDS, &["traces", ID, reason])
}

fn sent(h: &Harness) -> u64 {
    value(&h.metrics, EXPORTER_SENT_RECORDS, &["traces", ID])
}

fn retries(h: &Harness) -> u64 {
    value(&h.metrics, EXPORTER_RETRIES, &[ID])
}

#[tokio::test(start_paused = true)]
async fn retries_with_exponential_backoff_capped_at_max_interval() {
    let h = harness(doubling(), 60 * SEC);
    h.fake.script([Answer::Retryable(None); 5]);
    within(h.delivery.send(bundle(3)))
        .await
        .expect("delivered on the sixth attempt");
    assert_eq!(h.fake.attempts().len(), 6);
    assert_eq!(gaps(&h.fake), [SEC, 2 * SEC, 4 * SEC, 5 * SEC, 5 * SEC]);
    assert_eq!(retries(&h), 5);
    assert_eq!(sent(&h), 3);
    assert_eq!(failed(&h, "retries_exhausted"), 0);
}

#[tokio::test(start_paused = true)]
async fn jitter_stays_within_the_randomization_factor() {
    let h = harness(
        RetryConfig {
            randomization_factor: 0.5,
            multiplier: 1.0,
            ..doubling()
        },
        60 * SEC,
    );
    h.fake.script([Answer::Retryable(None); 20]);
    within(h.delivery.send(bundle(1))).await.expect("delivered");
    let gaps = gaps(&h.fake);
    assert_eq!(gaps.len(), 20);
    for g in &gaps {
        assert!(
            (SEC / 2..=SEC * 3 / 2).contains(g),
            "wait {g:?} outside 1s ± 50%"
        );
    }
    // Twenty draws that all land on the same value would mean there is no jitter at all.
    assert!(gaps.iter().any(|g| *g != gaps[0]), "{gaps:?}");
}

#[tokio::test(start_paused = true)]
async fn a_longer_retry_after_is_honoured_and_a_shorter_one_is_not() {
    let h = harness(doubling(), 60 * SEC);
    h.fake.script([
        Answer::Retryable(Some(7 * SEC)),
        Answer::Retryable(Some(Duration::from_millis(10))),
        Answer::Ok,
    ]);
    within(h.delivery.send(bundle(2))).await.expect("delivered");
    // 7s asked for beats the 1s backoff; then the 2s backoff beats the 10ms asked for.
    assert_eq!(gaps(&h.fake), [7 * SEC, 2 * SEC]);
    assert_eq!(retries(&h), 2);
    assert_eq!(sent(&h), 2);
}

#[tokio::test(start_paused = true)]
async fn a_permanent_error_is_not_retried_and_is_counted_as_lost() {
    let h = harness(doubling(), 60 * SEC);
    h.fake.script([Answer::Permanent]);
    let start = Instant::now();
    let failure = within(h.delivery.send(bundle(4)))
        .await
        .expect_err("a permanent error fails the send");
    assert_eq!(failure.reason, "permanent");
    assert!(!failure.error.is_retryable());
    assert_eq!(h.fake.attempts().len(), 1);
    assert_eq!(Instant::now() - start, Duration::ZERO);
    assert_eq!(dropped(&h, "permanent"), 4);
    assert_eq!(failed(&h, "permanent"), 4);
    assert_eq!(retries(&h), 0);
    assert_eq!(sent(&h), 0);
}

#[tokio::test(start_paused = true)]
async fn a_retry_after_beyond_max_elapsed_time_gives_up_at_once() {
    let h = harness(
        RetryConfig {
            max_elapsed_time: 10 * SEC,
            ..doubling()
        },
        60 * SEC,
    );
    h.fake.script([Answer::Retryable(Some(60 * SEC))]);
    let start = Instant::now();
    let failure = within(h.delivery.send(bundle(5)))
        .await
        .expect_err("waiting 60s would pass the 10s limit");
    assert_eq!(failure.reason, "retries_exhausted");
    assert!(failure.error.is_retryable());
    assert_eq!(h.fake.attempts().len(), 1);
    assert_eq!(Instant::now() - start, Duration::ZERO);
    assert_eq!(dropped(&h, "retries_exhausted"), 5);
    assert_eq!(failed(&h, "retries_exhausted"), 5);
    assert_eq!(retries(&h), 0);
}

#[tokio::test(start_paused = true)]
async fn max_elapsed_time_gives_up_after_the_waits_add_up() {
    let h = harness(
        RetryConfig {
            max_interval: 4 * SEC,
            max_elapsed_time: 10 * SEC,
            ..doubling()
        },
        60 * SEC,
    );
    h.fake.set_down(true);
    let failure = tokio::time::timeout(3600 * SEC, h.delivery.send(bundle(2)))
        .await
        .expect("gave up within the hour")
        .expect_err("the backend never came back");
    // Attempts at 0, 1, 3 and 7s; the next would be at 11s, past the 10s limit.
    assert_eq!(failure.reason, "retries_exhausted");
    assert_eq!(gaps(&h.fake), [SEC, 2 * SEC, 4 * SEC]);
    assert_eq!(retries(&h), 3);
    assert_eq!(dropped(&h, "retries_exhausted"), 2);
}

#[tokio::test(start_paused = true)]
async fn an_attempt_that_never_answers_times_out_and_is_retried() {
    let h = harness(doubling(), 2 * SEC);
    h.fake.script([Answer::Hang, Answer::Ok]);
    within(h.delivery.send(bundle(3)))
        .await
        .expect("the second attempt is answered");
    // 2s timeout, then the 1s backoff.
    assert_eq!(gaps(&h.fake), [3 * SEC]);
    assert_eq!(retries(&h), 1);
    assert_eq!(sent(&h), 3);
    assert_eq!(failed(&h, "retries_exhausted"), 0);
}

#[tokio::test(start_paused = true)]
async fn with_retry_disabled_a_retryable_failure_is_dropped_and_counted() {
    let h = harness(
        RetryConfig {
            enabled: false,
            ..doubling()
        },
        60 * SEC,
    );
    h.fake.script([Answer::Retryable(None), Answer::Ok]);
    let failure = within(h.delivery.send(bundle(2)))
        .await
        .expect_err("no retry");
    assert_eq!(failure.reason, "retry_disabled");
    assert_eq!(h.fake.attempts().len(), 1);
    assert_eq!(dropped(&h, "retry_disabled"), 2);
    assert_eq!(retries(&h), 0);
}

#[tokio::test(start_paused = true)]
async fn stop_abandons_a_send_that_is_waiting_to_retry() {
    let h = harness(doubling(), 60 * SEC);
    h.fake.set_down(true);
    let delivery = h.delivery.clone();
    let send = tokio::spawn(async move { delivery.send(bundle(6)).await });
    within(h.fake.wait_attempts(2)).await;
    h.stop.send(true).expect("the delivery holds a receiver");
    let failure = within(send).await.expect("task ran").expect_err("stopped");
    assert_eq!(failure.reason, "shutdown");
    assert_eq!(dropped(&h, "shutdown"), 6);
    assert_eq!(sent(&h), 0);
}

#[tokio::test(start_paused = true)]
async fn success_counts_every_record_of_every_part() {
    let h = harness(doubling(), 60 * SEC);
    let parts = vec![
        Arc::new(traces("a", "first", 3)),
        Arc::new(traces("a", "second", 4)),
    ];
    let bundle = Arc::new(Bundle::of(parts).expect("one tenant, one signal"));
    within(h.delivery.send(bundle)).await.expect("delivered");
    let attempts = h.fake.attempts();
    assert_eq!(attempts.len(), 1);
    assert_eq!(attempts[0].tenant, "a");
    assert_eq!(attempts[0].part_records(), [3, 4]);
    assert_eq!(sent(&h), 7);
    assert_eq!(retries(&h), 0);
    assert_eq!(
        h.metrics
            .value(RECORDS_DROPPED, &["traces", ID, "a", "permanent"]),
        None,
        "nothing lost, no loss series created"
    );
}

#[tokio::test(start_paused = true)]
async fn records_the_backend_refused_in_a_success_are_dropped_by_its_reason_and_the_rest_sent() {
    let h = harness(doubling(), 60 * SEC);
    h.fake.script([Answer::Partial(2)]);
    let taken = within(h.delivery.send(bundle(5))).await.expect("a success");
    assert_eq!(taken.rejected_records(), 2);
    assert_eq!(
        h.fake.attempts().len(),
        1,
        "refused records are never retried"
    );
    assert_eq!(sent(&h), 3);
    assert_eq!(dropped(&h, "rejected_by_backend"), 2);
    assert_eq!(failed(&h, "permanent"), 0);
}

#[tokio::test(start_paused = true)]
async fn an_inline_failure_is_answered_to_the_client_and_is_no_loss() {
    let h = harness(
        RetryConfig {
            enabled: false,
            ..doubling()
        },
        60 * SEC,
    );
    h.fake.script([Answer::Retryable(None)]);
    // The pipeline calls a delivery without a queue through `Exporter`: the client waits.
    let err = within(h.delivery.export(bundle(4)))
        .await
        .expect_err("the client is told to retry");
    assert!(err.is_retryable(), "{err}");
    assert_eq!(failed(&h, "retry_disabled"), 4);
    assert_eq!(
        dropped(&h, "retry_disabled"),
        0,
        "the client sends it again"
    );
    // From a queue the same failure is a loss: weir had answered the client.
    h.fake.script([Answer::Retryable(None)]);
    within(h.delivery.send(bundle(4)))
        .await
        .expect_err("given up");
    assert_eq!(dropped(&h, "retry_disabled"), 4);
}

/// A bundle of tenant `a` with two parts of `n` and `m` spans.
fn two_parts(n: usize, m: usize) -> Arc<Bundle> {
    let parts = vec![Arc::new(traces("a", "p", n)), Arc::new(traces("a", "q", m))];
    Arc::new(Bundle::of(parts).expect("one tenant, one signal"))
}

#[tokio::test(start_paused = true)]
async fn a_bundle_refused_whole_is_sent_again_part_by_part_and_only_the_guilty_part_is_lost() {
    let h = harness(doubling(), 60 * SEC);
    h.fake.set_refuses_whole(true);
    // The bundle, then each part: the first part is taken, the second refused again.
    h.fake
        .script([Answer::Permanent, Answer::Ok, Answer::Permanent]);
    within(h.delivery.send(two_parts(3, 2)))
        .await
        .expect_err("one part is refused for good");
    let sizes: Vec<u64> = h.fake.attempts().iter().map(|a| a.records).collect();
    assert_eq!(sizes, [5, 3, 2]);
    assert_eq!(sent(&h), 3);
    assert_eq!(dropped(&h, "permanent"), 2);
}

#[tokio::test(start_paused = true)]
async fn a_backend_that_judges_records_apart_is_not_sent_parts_again() {
    let h = harness(doubling(), 60 * SEC);
    h.fake.script([Answer::Permanent]);
    within(h.delivery.send(two_parts(3, 2)))
        .await
        .expect_err("refused");
    assert_eq!(h.fake.attempts().len(), 1);
    assert_eq!(dropped(&h, "permanent"), 5);
}
