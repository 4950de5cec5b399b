//! The receiver state both transports' tests start from (tests only): a collecting exporter
//! behind a router, the default identity, and the budgets a test asks for.

use std::sync::Arc;

use weir_pipeline::test_util::{CollectingExporter, router_to};
use weir_pipeline::{Metrics, Processor, TenantId};

use super::ReceiverShared;

/// A collector and the shared receiver state (`otlp`, tenant from `X-Scope-OrgID`) feeding it
/// through `processors`, with `inflight` bytes of bodies and `connections` connections.
pub fn shared_with(
    processors: Vec<Arc<dyn Processor>>,
    inflight: u64,
    connections: usize,
) -> (Arc<CollectingExporter>, ReceiverShared) {
    let collector = CollectingExporter::new();
    let metrics = Metrics::new();
    let shared = ReceiverShared {
        id: "otlp".into(),
        router: super::routes::Routes::new(router_to(collector.clone(), processors)),
        metrics: metrics.clone(),
        identity: Arc::new(super::identity::Identity::header(
            "x-scope-orgid",
            TenantId::default_tenant(),
            metrics.clone(),
        )),
        inflight: super::limits::InflightBytes::new("otlp", inflight, metrics.clone()),
        connections: super::limits::ConnectionBudget::new(connections),
        memory: crate::memory::MemoryGuard::unlimited(),
    };
    (collector, shared)
}
