//! The one way to put an exporter behind the engine: [`ExporterHandle::direct`] for an
//! exporter called inline (counted like a queued one), [`ExporterHandle::start`] for one behind
//! its delivery settings ([`DeliverySettings`]: the queue, on disk too with a storage
//! directory, or, with the queue turned off, inline retries). The queue's own types stay inside
//! this crate.
//!
//! Failure: [`ExporterHandle::start`] fails with a [`DiskError`] when the queue's directory
//! cannot be opened (missing, held by another weir, unreadable); nothing else here fails.
//!
//! The queue itself cannot be named outside this crate:
//!
//! ```compile_fail
//! use weir_pipeline::queue::queued::QueuedExporter;
//! ```

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use super::accounted::Accounted;
use super::delivery::Delivery;
use super::disk::{DiskError, StorageConfig};
use super::queued::QueuedExporter;
use super::{QueueConfig, RetryConfig};
use crate::handle::ExporterHandle;
use crate::{Exporter, Metrics};

/// How an exporter's batches reach it: the Collector's `sending_queue`, `retry_on_failure`
/// and `timeout`, and the disk queue's directory.
#[derive(Debug, Clone, PartialEq)]
pub struct DeliverySettings {
    /// The queue (after a pipeline's `batch` was mapped onto it); `enabled: false` sends
    /// inline.
    pub queue: QueueConfig,
    /// Retries of a failed send.
    pub retry: RetryConfig,
    /// The limit of one attempt.
    pub timeout: Duration,
    /// The disk queue's directory, with `sending_queue.storage`.
    pub storage: Option<StorageConfig>,
}

/// `exporter` (component id `id`) with its sends counted, for calling inline.
pub fn accounted(id: &str, exporter: Arc<dyn Exporter>, metrics: Metrics) -> Arc<dyn Exporter> {
    Arc::new(Accounted::new(id, exporter, metrics))
}

impl ExporterHandle {
    /// `exporter` (component id `id`) called inline, its sends counted: the client waits for
    /// it.
    pub fn direct(id: &str, exporter: Arc<dyn Exporter>, metrics: &Metrics) -> Self {
        ExporterHandle::Direct(accounted(id, exporter, metrics.clone()))
    }

    /// `exporter` (component id `id`) behind its queue (on disk too with `storage`; what the
    /// directory holds from before is queued first), or, with the queue turned off, behind
    /// inline retries. Must run inside a Tokio runtime. Fails when the queue's directory
    /// cannot be opened.
    pub fn start(
        id: &str,
        exporter: Arc<dyn Exporter>,
        settings: &DeliverySettings,
        metrics: &Metrics,
    ) -> Result<Self, DiskError> {
        let DeliverySettings {
            queue,
            retry,
            timeout,
            storage,
        } = settings;
        if !queue.enabled {
            // Nobody stops an inline delivery: the client waiting for it bounds it.
            let (_never, stop) = watch::channel(false);
            return Ok(ExporterHandle::Direct(Arc::new(Delivery::new(
                Arc::from(id),
                exporter,
                retry.clone(),
                *timeout,
                metrics.clone(),
                stop,
            ))));
        }
        let retry = (retry.clone(), *timeout);
        Ok(ExporterHandle::Queued(match storage {
            Some(s) => {
                QueuedExporter::start_durable(id, exporter, queue, retry, metrics.clone(), s)?
            }
            None => QueuedExporter::start(id, exporter, queue, retry.0, retry.1, metrics.clone()),
        }))
    }
}
