//! What a processor spends on a request is given back when the request is refused after it:
//! by a later processor, by a full queue, by an inline exporter, or by another tenant's part of
//! a split request. A processor keeping a per-tenant budget sees it charged only for what was
//! taken.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::fake::Fake;
use super::{queue_cfg, start, steady_retry, traces, within};
use crate::pipeline::{ExporterHandle, NamedExporter, NamedProcessor};
use crate::test_util::{CollectingExporter, FailingExporter, FixedProcessor};
use crate::{
    Batch, Metrics, Outcome, Pipeline, Processor, Refusal, RefusalKind, RequestContext, Router,
    SignalKind,
};

/// Charges each tenant the records it passes; refunds take them back. Refuses a tenant's
/// request when `refuse` names it.
#[derive(Default)]
struct Budget {
    spent: Mutex<HashMap<String, i64>>,
    refuse: Option<&'static str>,
}

impl Budget {
    fn refusing(tenant: &'static str) -> Arc<Self> {
        Arc::new(Self {
            refuse: Some(tenant),
            ..Self::default()
        })
    }

    fn spent(&self, tenant: &str) -> i64 {
        let spent = self.spent.lock().expect("budget lock");
        spent.get(tenant).copied().unwrap_or(0)
    }

    fn charge(&self, tenant: &str, records: i64) {
        *self
            .spent
            .lock()
            .expect("budget lock")
            .entry(tenant.to_owned())
            .or_default() += records;
    }
}

impl Processor for Budget {
    fn process(&self, batch: &mut Batch) -> Outcome {
        let tenant = batch.ctx.tenant.as_str();
        if self.refuse == Some(tenant) {
            return Outcome::Refuse {
                reason: Refusal::new(RefusalKind::RateLimited, "over budget"),
                retry_after: Some(Duration::from_secs(1)),
            };
        }
        self.charge(tenant, batch.record_count() as i64);
        Outcome::pass()
    }

    fn refund(&self, ctx: &RequestContext, records: u64) {
        self.charge(ctx.tenant.as_str(), -(records as i64));
    }
}

fn as_processor(budget: &Arc<Budget>) -> Arc<dyn Processor> {
    Arc::clone(budget) as Arc<dyn Processor>
}

fn named(processors: &[Arc<dyn Processor>]) -> Vec<NamedProcessor> {
    processors
        .iter()
        .enumerate()
        .map(|(i, p)| NamedProcessor {
            id: Arc::from(format!("p{i}")),
            processor: Arc::clone(p),
        })
        .collect()
}

/// A traces pipeline running `processors`, then exporting inline to `exporter`.
fn direct(processors: &[Arc<dyn Processor>], exporter: Arc<dyn crate::Exporter>) -> Pipeline {
    Pipeline::new(
        "traces",
        SignalKind::Traces,
        named(processors),
        vec![NamedExporter::direct("x", exporter)],
    )
}

#[tokio::test]
async fn a_later_processors_refusal_refunds_the_earlier_ones() {
    let budget = Arc::new(Budget::default());
    let refuse = Arc::new(FixedProcessor(Outcome::Refuse {
        reason: Refusal::new(RefusalKind::Invalid, "no"),
        retry_after: None,
    }));
    let sink = CollectingExporter::new();
    let p = direct(&[budget.clone(), refuse], sink.clone());
    within(p.submit(traces("a", "x", 4)))
        .await
        .expect_err("refused by the second processor");
    assert_eq!(budget.spent("a"), 0, "the refused request spent nothing");
    assert!(sink.batches().is_empty());

    // A request that is taken stays spent.
    let p = direct(&[as_processor(&budget)], sink.clone());
    within(p.submit(traces("a", "x", 4))).await.expect("taken");
    assert_eq!(budget.spent("a"), 4);
}

#[tokio::test]
async fn an_inline_exporters_failure_refunds_the_processors() {
    let budget = Arc::new(Budget::default());
    let p = direct(&[as_processor(&budget)], Arc::new(FailingExporter));
    let err = within(p.submit(traces("a", "x", 3)))
        .await
        .expect_err("the exporter failed");
    assert_eq!(err.reason.kind, RefusalKind::Unavailable);
    assert_eq!(budget.spent("a"), 0);
}

#[tokio::test(start_paused = true)]
async fn a_full_queue_refunds_the_processors() {
    let metrics = Metrics::new();
    let backend = Fake::gated();
    let q = start(
        "q",
        backend.exporter(),
        &queue_cfg(1, 1),
        steady_retry(Duration::from_secs(1)),
        &metrics,
    );
    let budget = Arc::new(Budget::default());
    let p = Pipeline::new(
        "traces",
        SignalKind::Traces,
        named(&[as_processor(&budget)]),
        vec![NamedExporter {
            id: Arc::from("q"),
            handle: ExporterHandle::Queued(Arc::clone(&q)),
        }],
    );
    // One batch held by the consumer, one queued: the queue is full.
    within(p.submit(traces("a", "b0", 2))).await.expect("room");
    within(backend.wait_attempts(1)).await;
    within(p.submit(traces("a", "b1", 2))).await.expect("room");
    let err = within(p.submit(traces("a", "b2", 5)))
        .await
        .expect_err("the queue is full");
    assert_eq!(err.reason.kind, RefusalKind::Unavailable, "{err}");
    assert_eq!(budget.spent("a"), 4, "only the two taken batches are spent");
    backend.release(10);
    within(q.drain(Duration::from_secs(1))).await;
}

#[tokio::test]
async fn another_tenants_refused_part_refunds_the_taken_parts() {
    let budget = Budget::refusing("b");
    let sink = CollectingExporter::new();
    let mut router = Router::default();
    router.add(Arc::new(direct(&[as_processor(&budget)], sink.clone())));
    let err = within(router.submit_all(vec![
        traces("a", "x", 3),
        traces("c", "y", 2),
        traces("b", "z", 1),
    ]))
    .await
    .expect_err("b's part is refused, so the whole request is");
    assert_eq!(err.reason.kind, RefusalKind::RateLimited);
    assert_eq!((budget.spent("a"), budget.spent("c")), (0, 0));
    assert!(sink.batches().is_empty(), "all or none");
}
