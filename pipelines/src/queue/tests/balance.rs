//! The `load_balancing` engine over steered backends: a dead endpoint's share reaches the
//! others after its retries (counted as rerouted, not lost), and a removed endpoint's queued
//! batches are routed again while what it was sending finishes there.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use super::fake::Fake;
use super::{LONG_TIMEOUT, queue_cfg, steady_retry, traces, value, within};
use crate::balance::{Balancer, RoutingKey};
use crate::metrics::catalogue::{
    EXPORTER_REROUTED_RECORDS, LOADBALANCER_ENDPOINTS, RECORDS_DROPPED,
};
use crate::pipeline::{ExporterHandle, NamedExporter};
use crate::queue::{DeliverySettings, RetryConfig};
use crate::{Metrics, Pipeline, SignalKind};

const SEC: Duration = Duration::from_secs(1);

/// Gives up after about five seconds of retries, a second apart.
fn short_retry() -> RetryConfig {
    RetryConfig {
        enabled: true,
        initial_interval: SEC,
        randomization_factor: 0.0,
        multiplier: 1.0,
        max_interval: SEC,
        max_elapsed_time: Duration::from_secs(5),
    }
}

/// A balancer `lb` by tenant over `backends` (endpoint name → backend), and a traces
/// pipeline in front of it.
fn balanced(
    backends: &BTreeMap<&'static str, Fake>,
    metrics: &Metrics,
) -> (Arc<Balancer>, Pipeline) {
    balanced_with(backends, metrics, short_retry())
}

/// [`balanced`] with the endpoints retrying as `retry` says.
fn balanced_with(
    backends: &BTreeMap<&'static str, Fake>,
    metrics: &Metrics,
    retry: RetryConfig,
) -> (Arc<Balancer>, Pipeline) {
    let by_name: BTreeMap<String, Fake> = backends
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    let b = Balancer::new(
        "lb",
        Some(RoutingKey::Tenant),
        Duration::from_secs(60),
        DeliverySettings {
            queue: queue_cfg(1000, 1),
            retry,
            timeout: LONG_TIMEOUT,
            storage: None,
        },
        Box::new(move |endpoint, _id| {
            let fake = by_name.get(endpoint).ok_or("no such backend")?;
            Ok(fake.exporter())
        }),
        metrics.clone(),
    );
    let names: Vec<String> = backends.keys().map(|k| k.to_string()).collect();
    b.set_endpoints(&names).expect("endpoints");
    let p = Pipeline::new(
        "traces",
        SignalKind::Traces,
        Vec::new(),
        vec![NamedExporter {
            id: Arc::from("lb"),
            handle: ExporterHandle::Balanced(Arc::clone(&b)),
        }],
    );
    (b, p)
}

/// Tenants `t0..t{n}`, one batch of 10 spans each.
async fn send(p: &Pipeline, n: usize) {
    for i in 0..n {
        p.submit(traces(&format!("t{i}"), &format!("t{i}"), 10))
            .await
            .expect("taken");
    }
}

#[tokio::test(start_paused = true)]
async fn a_dead_endpoints_share_goes_to_the_others_after_its_retries() {
    let metrics = Metrics::new();
    let backends = BTreeMap::from([("a", Fake::new()), ("b", Fake::new()), ("c", Fake::new())]);
    backends["b"].set_down(true);
    let (b, p) = balanced(&backends, &metrics);
    assert_eq!(value(&metrics, LOADBALANCER_ENDPOINTS, &["lb"]), 3);
    send(&p, 30).await;
    let (a, c) = (&backends["a"], &backends["c"]);
    within(async {
        loop {
            if a.delivered_records() + c.delivered_records() == 300 {
                break;
            }
            tokio::time::sleep(SEC).await;
        }
    })
    .await;
    let rerouted = value(&metrics, EXPORTER_REROUTED_RECORDS, &["traces", "lb/b"]);
    assert!(rerouted >= 10, "b's share was rerouted: {rerouted}");
    assert_eq!(rerouted % 10, 0);
    assert!(!backends["b"].attempts().is_empty(), "b was tried first");
    for t in 0..30 {
        let tenant = format!("t{t}");
        assert_eq!(
            value(
                &metrics,
                RECORDS_DROPPED,
                &["traces", "lb/b", &tenant, "retries_exhausted"]
            ),
            0
        );
    }
    // Down: new batches of b's keys go straight to the others, b is not tried again.
    let tried = backends["b"].attempts().len();
    send(&p, 30).await;
    within(async {
        while a.delivered_records() + c.delivered_records() < 600 {
            tokio::time::sleep(SEC).await;
        }
    })
    .await;
    assert_eq!(backends["b"].attempts().len(), tried);
    b.drain(SEC).await;
}

#[tokio::test(start_paused = true)]
async fn a_removed_endpoint_hands_back_its_queue_and_finishes_its_sends() {
    let metrics = Metrics::new();
    let backends = BTreeMap::from([("a", Fake::new()), ("b", Fake::gated())]);
    let (b, p) = balanced(&backends, &metrics);
    send(&p, 40).await;
    let slow = &backends["b"];
    // b's one consumer holds one bundle; the rest of its share waits in its queue.
    within(slow.wait_attempts(1)).await;
    let b_share: u64 = b.queues().iter().map(|q| q.queued_records()).sum::<u64>() + 10;
    assert!(b_share > 10, "b has a queue: {b_share}");
    b.set_endpoints(&["a".to_string()]).expect("endpoints");
    assert_eq!(b.endpoints(), vec!["a".to_string()]);
    assert_eq!(value(&metrics, LOADBALANCER_ENDPOINTS, &["lb"]), 1);
    let a = &backends["a"];
    within(a.wait_delivered_records(400 - 10)).await;
    slow.release(1);
    within(slow.wait_delivered_records(10)).await;
    assert_eq!(a.delivered_records() + slow.delivered_records(), 400);
    assert_eq!(slow.attempts().len(), 1, "b got nothing after its removal");
    b.drain(SEC).await;
}

#[tokio::test(start_paused = true)]
async fn a_removed_dead_endpoint_gives_back_what_it_was_retrying_at_once() {
    let metrics = Metrics::new();
    let backends = BTreeMap::from([("a", Fake::new()), ("b", Fake::new())]);
    backends["b"].set_down(true);
    // b would retry forever: only the hand-over can get its share delivered.
    let (b, p) = balanced_with(&backends, &metrics, steady_retry(SEC));
    send(&p, 40).await;
    within(backends["b"].wait_attempts(2)).await;
    let started = tokio::time::Instant::now();
    b.set_endpoints(&["a".to_string()]).expect("endpoints");
    within(backends["a"].wait_delivered_records(400)).await;
    assert!(
        started.elapsed() <= 2 * SEC,
        "handed over at the next retry: {:?}",
        started.elapsed()
    );
    assert_eq!(backends["b"].delivered_records(), 0);
    b.drain(SEC).await;
    for t in 0..40 {
        let tenant = format!("t{t}");
        assert_eq!(
            value(
                &metrics,
                RECORDS_DROPPED,
                &["traces", "lb/b", &tenant, "shutdown"]
            ),
            0
        );
    }
}
