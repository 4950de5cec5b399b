//! `Router::submit_all` with a request split per tenant: each part's rejections are answered
//! for that part, so they are charged to the tenant they came from.

use std::sync::Arc;

use super::{traces, within};
use crate::test_util::{CollectingExporter, router_to};
use crate::{Accepted, Batch, Outcome, Processor};

/// Rejects every record of one tenant's batches, passes the others whole.
struct RejectTenant(&'static str);

impl Processor for RejectTenant {
    fn process(&self, batch: &mut Batch) -> Outcome {
        let rejected = if batch.ctx.tenant.as_str() == self.0 {
            batch.record_count()
        } else {
            0
        };
        Outcome::Pass {
            rejected,
            message: (rejected > 0).then(|| format!("tenant {} rejected", self.0)),
        }
    }
}

#[tokio::test]
async fn each_part_answers_its_own_rejections_in_order() {
    let sink = CollectingExporter::new();
    let router = router_to(sink.clone(), vec![Arc::new(RejectTenant("b"))]);
    let parts = within(router.submit_all(vec![traces("a", "x", 3), traces("b", "y", 2)]))
        .await
        .expect("taken");
    let rejected: Vec<u64> = parts.iter().map(|a| a.rejected).collect();
    assert_eq!(rejected, [0, 2], "b's rejections are b's, not a's");
    let total = Accepted::total(&parts);
    assert_eq!(total.rejected, 2);
    assert_eq!(total.message.as_deref(), Some("tenant b rejected"));
    assert_eq!(sink.batches().len(), 2, "both parts reach the exporter");
}
