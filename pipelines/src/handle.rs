//! How a pipeline hands data to an exporter ([`ExporterHandle`]): inline, through one queue,
//! or split over the queues of a `load_balancing` exporter's endpoints; and what a reload does
//! with a replaced exporter's queues (take what waits, hand retries over, drain).
//!
//! Failure: room that cannot be had is a [`ReserveError`]; nothing else here fails.

use std::sync::Arc;
use std::time::Duration;

use crate::balance::{Balancer, Placed};
use crate::queue::delivery::Handover;
use crate::queue::{QueuedExporter, ReserveError};
use crate::{Batch, Exporter};

/// How a pipeline hands data to an exporter.
#[derive(Clone)]
pub enum ExporterHandle {
    /// Called inline: the client waits for it (the `debug` exporter, or a queue turned off).
    Direct(Arc<dyn Exporter>),
    /// Through its queue: the client waits only for room in the queue.
    Queued(Arc<QueuedExporter>),
    /// Split by routing key over the queues of its endpoints (`load_balancing`): the client
    /// waits for room in each queue a part goes to.
    Balanced(Arc<Balancer>),
}

impl ExporterHandle {
    /// Records waiting in the exporter's queues.
    pub fn queued_records(&self) -> u64 {
        match self {
            ExporterHandle::Queued(q) => q.queued_records(),
            ExporterHandle::Balanced(b) => b.queued_records(),
            ExporterHandle::Direct(_) => 0,
        }
    }

    /// Drains the exporter's queues until `timeout` ([`QueuedExporter::drain`]); nothing for
    /// an exporter called inline.
    pub async fn drain(&self, timeout: Duration) {
        match self {
            ExporterHandle::Queued(q) => q.drain(timeout).await,
            ExporterHandle::Balanced(b) => b.drain(timeout).await,
            ExporterHandle::Direct(_) => {}
        }
    }

    /// Closes the exporter's queues and takes out what waits in them, for the exporter that
    /// replaces it (a reload); what is being sent finishes, and [`ExporterHandle::drain`]
    /// waits for it.
    pub fn take_queued(&self) -> Vec<Arc<Batch>> {
        match self {
            ExporterHandle::Queued(q) => q.retire(),
            ExporterHandle::Balanced(b) => b.retire_all(),
            ExporterHandle::Direct(_) => Vec::new(),
        }
    }

    /// Puts `batch` (already acknowledged) in the exporter's queues, waiting for room as a
    /// client would; all parts or none. An exporter called inline has no queue: `Closed`.
    pub async fn requeue(&self, batch: &Arc<Batch>) -> Result<(), ReserveError> {
        let placed = match self {
            ExporterHandle::Queued(q) => vec![Placed {
                admission: q.reserve(batch).await?,
                queue: Arc::clone(q),
                batch: Arc::clone(batch),
            }],
            ExporterHandle::Balanced(b) => b.reserve(batch).await?,
            ExporterHandle::Direct(_) => return Err(ReserveError::Closed),
        };
        for p in placed {
            p.commit();
        }
        Ok(())
    }

    /// Hands the bundles waiting to be retried to `to`, the exporter replacing this one (a
    /// reload); nothing for an exporter called inline.
    pub fn hand_over_to(&self, to: Arc<dyn Handover>) {
        match self {
            ExporterHandle::Queued(q) => q.hand_over_to(to),
            ExporterHandle::Balanced(b) => b.hand_over_to(&to),
            ExporterHandle::Direct(_) => {}
        }
    }

    /// True when `self` and `other` are the same exporter.
    pub fn same(&self, other: &ExporterHandle) -> bool {
        match (self, other) {
            (ExporterHandle::Queued(a), ExporterHandle::Queued(b)) => Arc::ptr_eq(a, b),
            (ExporterHandle::Balanced(a), ExporterHandle::Balanced(b)) => Arc::ptr_eq(a, b),
            (ExporterHandle::Direct(a), ExporterHandle::Direct(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }

    /// True when the exporter could take one more batch now.
    pub(crate) fn has_room(&self) -> bool {
        match self {
            ExporterHandle::Queued(q) => q.has_room(),
            ExporterHandle::Balanced(b) => b.has_room(),
            ExporterHandle::Direct(_) => true,
        }
    }

    /// Waits from `since` (up to the queues' `overflow_wait`) for room; false when there is
    /// none and the exporter refuses rather than drops.
    pub(crate) async fn wait_for_room(&self, since: tokio::time::Instant) -> bool {
        match self {
            ExporterHandle::Queued(q) => q.wait_for_room(since).await,
            ExporterHandle::Balanced(b) => b.wait_for_room(since).await,
            ExporterHandle::Direct(_) => true,
        }
    }
}
