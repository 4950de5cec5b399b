//! Accounting for exporters called inline (the `debug` exporter): counts what they sent and
//! notes their last outcome for `/health`, like queued exporters do. A failure is counted in
//! `weir_exporter_failed_records_total` but not as a loss: the client is told to retry.
//! Records the backend refused inside a success are lost (the client was told they were
//! taken): counted in `weir_records_dropped_total` by the backend's reason.

use std::sync::Arc;

use futures::future::BoxFuture;

use crate::metrics::catalogue;
use crate::{Bundle, ExportError, Exporter, Metrics, Sent};

/// An inline exporter with its sends counted.
pub struct Accounted {
    id: Arc<str>,
    exporter: Arc<dyn Exporter>,
    metrics: Metrics,
}

impl Accounted {
    /// Wraps `exporter` (component id `id`).
    pub fn new(id: &str, exporter: Arc<dyn Exporter>, metrics: Metrics) -> Self {
        Self {
            id: Arc::from(id),
            exporter,
            metrics,
        }
    }
}

impl Exporter for Accounted {
    fn export(&self, bundle: Arc<Bundle>) -> BoxFuture<'static, Result<Sent, ExportError>> {
        let send = self.exporter.export(Arc::clone(&bundle));
        let (id, metrics) = (Arc::clone(&self.id), self.metrics.clone());
        Box::pin(async move {
            let result = send.await;
            let signal = bundle.kind().as_str();
            match &result {
                Ok(sent) => {
                    let records = bundle.record_count();
                    let rejected = sent.rejected_records().min(records);
                    metrics
                        .counter(catalogue::EXPORTER_SENT_RECORDS, &[signal, &id])
                        .add(records - rejected);
                    let tenant = metrics.tenant_label(bundle.tenant());
                    for (reason, n) in &sent.rejected {
                        metrics
                            .counter(catalogue::RECORDS_DROPPED, &[signal, &id, &tenant, reason])
                            .add(*n);
                    }
                    metrics.note_export(&id, None);
                }
                Err(e) => {
                    let reason = if e.is_retryable() {
                        "retryable"
                    } else {
                        "permanent"
                    };
                    metrics
                        .counter(catalogue::EXPORTER_FAILED_RECORDS, &[signal, &id, reason])
                        .add(bundle.record_count());
                    metrics.note_export(&id, Some(&e.to_string()));
                }
            }
            result
        })
    }
}
