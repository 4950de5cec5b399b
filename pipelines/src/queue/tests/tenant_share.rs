//! `max_tenant_share`: one tenant can hold at most its share of a queue's room and of its
//! consumers, so a flooding tenant, or one whose backend keeps failing, cannot stop the others.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use parking_lot::Mutex;
use tokio::sync::Notify;

use super::fake::Fake;
use super::{pipeline, queue_cfg, start, steady_retry, traces, within};
use crate::queue::QueueConfig;
use crate::{Bundle, ExportError, Exporter, Metrics, RefusalKind, Sent, SignalKind};

/// Fails every send of the tenants marked down (retryable), takes the others.
#[derive(Default)]
struct PerTenant {
    down: Vec<String>,
    attempts: Mutex<HashMap<String, usize>>,
    delivered: Mutex<HashMap<String, usize>>,
    changed: Notify,
}

impl PerTenant {
    fn count(map: &Mutex<HashMap<String, usize>>, tenant: &str) -> usize {
        map.lock().get(tenant).copied().unwrap_or(0)
    }

    async fn wait(&self, map: &Mutex<HashMap<String, usize>>, tenant: &str, n: usize) {
        loop {
            let notified = self.changed.notified();
            if Self::count(map, tenant) >= n {
                return;
            }
            notified.await;
        }
    }
}

impl Exporter for PerTenant {
    fn export(&self, bundle: Arc<Bundle>) -> BoxFuture<'static, Result<Sent, ExportError>> {
        let tenant = bundle.tenant().as_str().to_owned();
        *self.attempts.lock().entry(tenant.clone()).or_default() += 1;
        let result = if self.down.contains(&tenant) {
            Err(ExportError::retryable("tenant's backend answers 503"))
        } else {
            *self.delivered.lock().entry(tenant).or_default() += 1;
            Ok(Sent::all())
        };
        self.changed.notify_waiters();
        Box::pin(async move { result })
    }
}

#[tokio::test(start_paused = true)]
async fn a_flooding_tenant_gets_its_share_of_the_queue_and_no_more() {
    let metrics = Metrics::new();
    let fake = Fake::gated();
    let cfg = QueueConfig {
        max_tenant_share: 0.5,
        ..queue_cfg(10, 1)
    };
    let q = start(
        "otlp/tempo",
        fake.exporter(),
        &cfg,
        steady_retry(Duration::from_secs(1)),
        &metrics,
    );
    let p = pipeline("traces", SignalKind::Traces, &[&q]);
    // The one consumer takes a's first batch and holds it (the gate is closed).
    within(p.submit(traces("a", "a0", 1))).await.expect("first");
    within(fake.wait_attempts(1)).await;
    for i in 1..=5 {
        within(p.submit(traces("a", &format!("a{i}"), 1)))
            .await
            .expect("within a's share");
    }
    let refused = within(p.submit(traces("a", "a6", 1)))
        .await
        .expect_err("over a's share");
    assert_eq!(refused.reason.kind, RefusalKind::Unavailable);
    assert!(
        refused.reason.message.contains("share"),
        "{}",
        refused.reason.message
    );
    assert!(refused.retry_after.is_some());
    // Another tenant still gets room.
    for i in 0..5 {
        within(p.submit(traces("b", &format!("b{i}"), 1)))
            .await
            .expect("b has room");
    }
    fake.release(100);
    within(fake.wait_delivered(11)).await;
}

#[tokio::test(start_paused = true)]
async fn a_failing_tenant_cannot_tie_up_every_consumer() {
    let metrics = Metrics::new();
    let backend = Arc::new(PerTenant {
        down: vec!["a".into()],
        ..PerTenant::default()
    });
    let cfg = QueueConfig {
        max_tenant_share: 0.5,
        ..queue_cfg(100, 4)
    };
    let q = start(
        "otlp/tempo",
        backend.clone(),
        &cfg,
        steady_retry(Duration::from_secs(1)),
        &metrics,
    );
    let p = pipeline("traces", SignalKind::Traces, &[&q]);
    for i in 0..4 {
        within(p.submit(traces("a", &format!("a{i}"), 1)))
            .await
            .expect("a queued");
    }
    // a's sends are failing and being retried before b arrives.
    within(backend.wait(&backend.attempts, "a", 2)).await;
    for i in 0..4 {
        within(p.submit(traces("b", &format!("b{i}"), 1)))
            .await
            .expect("b queued");
    }
    within(backend.wait(&backend.delivered, "b", 4)).await;
    assert_eq!(PerTenant::count(&backend.delivered, "a"), 0);
}

#[test]
fn the_share_must_be_a_fraction() {
    for bad in [0.0, 1.5, f64::NAN] {
        let cfg = QueueConfig {
            max_tenant_share: bad,
            ..QueueConfig::default()
        };
        assert!(
            cfg.problems()
                .iter()
                .any(|(k, _)| k == "sending_queue.max_tenant_share"),
            "{bad}"
        );
    }
}
