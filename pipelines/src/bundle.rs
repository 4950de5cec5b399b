//! A bundle: what an exporter sends in one request. It is one or more batches of one tenant and
//! one signal, shared (`Arc`) with every other exporter that received them, never copied.
//!
//! Exporters encode the parts one after another into one request: for protobuf, concatenated
//! encodings of the same message type are one message whose repeated fields are merged, so a
//! bundle of many small batches becomes one request with no copy of the data.

use std::sync::Arc;

use crate::{Batch, SignalKind, TenantId};

/// Batches of one tenant and one signal, sent together.
#[derive(Debug, Clone)]
pub struct Bundle {
    parts: Vec<Arc<Batch>>,
    records: u64,
}

impl Bundle {
    /// A bundle of one batch.
    pub fn single(batch: Arc<Batch>) -> Self {
        let records = batch.record_count();
        Self {
            parts: vec![batch],
            records,
        }
    }

    /// A bundle of `parts`, which must all be of one tenant and one signal, and not be empty.
    /// Returns `None` when they are not.
    pub fn of(parts: Vec<Arc<Batch>>) -> Option<Self> {
        let first = parts.first()?;
        let (tenant, kind) = (&first.ctx.tenant, first.kind());
        if parts
            .iter()
            .any(|p| &p.ctx.tenant != tenant || p.kind() != kind)
        {
            return None;
        }
        let records = parts.iter().map(|p| p.record_count()).sum();
        Some(Self { parts, records })
    }

    /// The batches, in the order they were received.
    pub fn parts(&self) -> &[Arc<Batch>] {
        &self.parts
    }

    /// The tenant all parts belong to.
    pub fn tenant(&self) -> &TenantId {
        // `Bundle` is never empty: both constructors guarantee a first part.
        &self.parts[0].ctx.tenant
    }

    /// The signal of all parts.
    pub fn kind(&self) -> SignalKind {
        self.parts[0].kind()
    }

    /// Records in all parts.
    pub fn record_count(&self) -> u64 {
        self.records
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{RequestContext, Signal};

    fn batch(tenant: &str, signal: Signal) -> Arc<Batch> {
        let mut ctx = RequestContext::for_tests();
        ctx.tenant = TenantId::new(tenant).expect("tenant");
        Arc::new(Batch::new(ctx, signal))
    }

    #[test]
    fn parts_must_share_tenant_and_signal() {
        let a = batch("a", Signal::Traces(vec![]));
        let b = batch("b", Signal::Traces(vec![]));
        let a_logs = batch("a", Signal::Logs(vec![]));
        assert!(Bundle::of(vec![a.clone(), a.clone()]).is_some());
        assert!(Bundle::of(vec![a.clone(), b]).is_none());
        assert!(Bundle::of(vec![a.clone(), a_logs]).is_none());
        assert!(Bundle::of(vec![]).is_none());
        assert_eq!(Bundle::single(a).tenant().as_str(), "a");
    }
}
