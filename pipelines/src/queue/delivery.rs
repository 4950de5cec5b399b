//! Sending one bundle to one exporter with a timeout per attempt and retries with backoff,
//! counting the outcome in weir's metrics.
//!
//! A send ends in success, or in a failure with a reason that is also the `reason` label of
//! `weir_records_dropped_total`: `permanent` (the backend refused the data), `retries_exhausted`
//! (`max_elapsed_time` passed), `retry_disabled`, or `shutdown` (the drain deadline passed).
//! A success may say that the backend refused some records for good ([`Sent`]): those are
//! counted as dropped by the backend's reason, the rest as sent.
//!
//! A queued delivery may have a [`Fallback`] (the `load_balancing` exporter's other
//! endpoints): a bundle given up after its retries (`retries_exhausted`, `retry_disabled`) is
//! handed to it instead of being lost, counted in `weir_exporter_rerouted_records_total`.
//!
//! Called inline (`sending_queue.enabled: false`), a failure is answered to the client, who
//! will send again: it is counted in `weir_exporter_failed_records_total` but is no loss.

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use futures::future::BoxFuture;
use tokio::sync::watch;

use super::RetryConfig;
use super::retry::Backoff;
use crate::metrics::catalogue;
use crate::scrub::scrub;
use crate::{Bundle, ExportError, Exporter, Metrics, Sent};

/// Why a bundle was given up.
#[derive(Debug, thiserror::Error)]
#[error("{reason}: {error}")]
pub struct Failure {
    /// `permanent`, `retries_exhausted`, `retry_disabled` or `shutdown`.
    pub reason: &'static str,
    /// The last error.
    pub error: ExportError,
}

/// Where a queued exporter's bundles go when its backend cannot take them.
pub trait Fallback: Send + Sync {
    /// True when bundles should go elsewhere without being tried (the backend was given up
    /// on a moment ago).
    fn diverts(&self) -> bool;

    /// Takes `bundle`, which failed here after its retries; false when it cannot (it is then
    /// lost, and counted so).
    fn take(&self, bundle: &Bundle) -> bool;
}

/// Takes the bundles of a queued exporter that a reload replaced, for the exporter replacing
/// it.
pub trait Handover: Send + Sync {
    /// Puts `bundle` in the replacing exporter's queues; false when it cannot.
    fn hand(&self, bundle: Arc<Bundle>) -> BoxFuture<'static, bool>;
}

/// Where a replaced exporter's retries go: set once the replacement runs.
pub type HandoverSlot = watch::Receiver<Option<Arc<dyn Handover>>>;

/// The reason of a bundle handed to the replacing exporter (not a loss).
const HANDED_OVER: &str = "handed_over";

/// An exporter wrapped with timeout, retry and accounting.
#[derive(Clone)]
pub struct Delivery {
    id: Arc<str>,
    exporter: Arc<dyn Exporter>,
    retry: RetryConfig,
    timeout: Duration,
    metrics: Metrics,
    stop: watch::Receiver<bool>,
    /// A send cut by the drain deadline stays in the disk queue: no loss.
    on_disk: bool,
    fallback: Option<Arc<dyn Fallback>>,
    handover: Option<HandoverSlot>,
}

impl Delivery {
    /// Wraps `exporter` (component id `id`). `stop` turning true abandons retries (drain
    /// deadline).
    pub fn new(
        id: Arc<str>,
        exporter: Arc<dyn Exporter>,
        retry: RetryConfig,
        timeout: Duration,
        metrics: Metrics,
        stop: watch::Receiver<bool>,
    ) -> Self {
        Self {
            id,
            exporter,
            retry,
            timeout,
            metrics,
            stop,
            on_disk: false,
            fallback: None,
            handover: None,
        }
    }

    /// Sends come from a disk queue (`sending_queue.storage`): a send cut short by the drain
    /// deadline is replayed at the next start, so it is not counted as dropped.
    pub fn keeping_on_disk(mut self, on_disk: bool) -> Self {
        self.on_disk = on_disk;
        self
    }

    /// Hands bundles waiting to be retried to the exporter in `slot`, once one is set there
    /// (a reload replaced this exporter).
    pub fn with_handover(mut self, slot: HandoverSlot) -> Self {
        self.handover = Some(slot);
        self
    }

    /// Hands bundles given up after their retries to `fallback` instead of losing them.
    pub fn with_fallback(mut self, fallback: Option<Arc<dyn Fallback>>) -> Self {
        self.fallback = fallback;
        self
    }

    /// Sends `bundle` from a queue until it is taken or given up, and counts the outcome: a
    /// failure is a loss, unless the fallback takes the bundle.
    pub async fn send(&self, bundle: Arc<Bundle>) -> Result<Sent, Failure> {
        if let Some(f) = &self.fallback
            && f.diverts()
            && f.take(&bundle)
        {
            self.count_rerouted(&bundle);
            return Ok(Sent::all());
        }
        let result = self.deliver(Arc::clone(&bundle), true).await;
        match (&result, &self.handover) {
            (Err(f), Some(slot)) if f.reason == HANDED_OVER => {
                let to = slot.borrow().clone();
                let taken = match to {
                    Some(h) => h.hand(Arc::clone(&bundle)).await,
                    None => false,
                };
                if !taken {
                    let lost = Failure {
                        reason: "shutdown",
                        error: ExportError::retryable("the replacing exporter cannot take it"),
                    };
                    self.count(&bundle, true, &Err(lost));
                }
                result
            }
            _ => result,
        }
    }

    /// Counts `bundle` as handed to the fallback.
    fn count_rerouted(&self, bundle: &Bundle) {
        self.metrics
            .counter(
                catalogue::EXPORTER_REROUTED_RECORDS,
                &[bundle.kind().as_str(), &self.id],
            )
            .add(bundle.record_count());
    }

    /// Sends `bundle`; `owned` when weir already answered the client, so a failure is a loss.
    async fn deliver(&self, bundle: Arc<Bundle>, owned: bool) -> Result<Sent, Failure> {
        let result = self.attempts(&bundle).await;
        if let Err(f) = &result
            && f.reason == HANDED_OVER
        {
            // Counted by whoever takes it.
            return result;
        }
        if let Err(f) = &result
            && f.reason == "permanent"
            && bundle.parts().len() > 1
            && self.exporter.refuses_whole_requests()
        {
            return self.deliver_parts(&bundle, owned, f).await;
        }
        self.count(&bundle, owned, &result);
        result
    }

    /// A backend that refuses a request whole refused a bundle of several requests: one bad
    /// part (a malformed id, a huge record) would sink the good ones, so each part is sent once
    /// more on its own (retries included) and only the parts refused again are lost.
    async fn deliver_parts(
        &self,
        bundle: &Bundle,
        owned: bool,
        first: &Failure,
    ) -> Result<Sent, Failure> {
        tracing::info!(
            exporter = %self.id,
            tenant = %bundle.tenant(),
            parts = bundle.parts().len(),
            error = %scrub(&first.error.to_string()),
            "batch refused whole; sending its parts one by one"
        );
        let mut taken = Sent::all();
        let mut failed = None;
        for part in bundle.parts() {
            let one = Arc::new(Bundle::single(Arc::clone(part)));
            let result = self.attempts(&one).await;
            self.count(&one, owned, &result);
            match result {
                Ok(sent) => taken.merge(sent),
                Err(f) => failed = Some(f),
            }
        }
        match failed {
            Some(f) => Err(f),
            None => Ok(taken),
        }
    }

    /// Counts the outcome of sending `bundle`.
    fn count(&self, bundle: &Bundle, owned: bool, result: &Result<Sent, Failure>) {
        let signal = bundle.kind().as_str();
        let records = bundle.record_count();
        match result {
            Ok(sent) => {
                let rejected = sent.rejected_records().min(records);
                self.metrics
                    .counter(catalogue::EXPORTER_SENT_RECORDS, &[signal, &self.id])
                    .add(records - rejected);
                self.metrics.note_export(&self.id, None);
                if rejected > 0 {
                    let tenant = self.metrics.tenant_label(bundle.tenant());
                    for (reason, n) in &sent.rejected {
                        self.metrics
                            .counter(
                                catalogue::RECORDS_DROPPED,
                                &[signal, &self.id, &tenant, reason],
                            )
                            .add(*n);
                    }
                    tracing::warn!(
                        exporter = %self.id,
                        tenant = %bundle.tenant(),
                        signal,
                        records = rejected,
                        reasons = ?sent.rejected,
                        "records refused by the backend"
                    );
                }
            }
            Err(f) => {
                self.metrics
                    .note_export(&self.id, Some(&format!("{}: {}", f.reason, f.error)));
                self.metrics
                    .counter(
                        catalogue::EXPORTER_FAILED_RECORDS,
                        &[signal, &self.id, f.reason],
                    )
                    .add(records);
                if !owned || (self.on_disk && f.reason == "shutdown") {
                    // The client was told to send again, or the disk keeps it: no loss.
                    return;
                }
                if matches!(f.reason, "retries_exhausted" | "retry_disabled")
                    && let Some(fallback) = &self.fallback
                    && fallback.take(bundle)
                {
                    self.count_rerouted(bundle);
                    tracing::warn!(
                        exporter = %self.id,
                        tenant = %bundle.tenant(),
                        signal,
                        records,
                        error = %scrub(&f.error.to_string()),
                        "backend given up on; records handed to another endpoint"
                    );
                    return;
                }
                self.metrics
                    .counter(
                        catalogue::RECORDS_DROPPED,
                        &[
                            signal,
                            &self.id,
                            &self.metrics.tenant_label(bundle.tenant()),
                            f.reason,
                        ],
                    )
                    .add(records);
                tracing::warn!(
                    exporter = %self.id,
                    tenant = %bundle.tenant(),
                    signal,
                    records,
                    reason = f.reason,
                    error = %scrub(&f.error.to_string()),
                    "records dropped"
                );
            }
        }
    }

    async fn attempts(&self, bundle: &Arc<Bundle>) -> Result<Sent, Failure> {
        let started = Instant::now();
        let mut backoff = Backoff::new(&self.retry);
        let mut stop = self.stop.clone();
        loop {
            let attempt =
                tokio::time::timeout(self.timeout, self.exporter.export(Arc::clone(bundle)));
            let error = tokio::select! {
                r = attempt => match r {
                    Ok(Ok(sent)) => return Ok(sent),
                    Ok(Err(e)) => e,
                    Err(_) => ExportError::retryable(format!("timed out after {:?}", self.timeout)),
                },
                _ = stopped(&mut stop) => {
                    return Err(Failure { reason: "shutdown", error: ExportError::retryable("drain deadline passed") });
                }
            };
            self.metrics
                .note_export(&self.id, Some(&scrub(&error.to_string())));
            let retry_after = match &error {
                ExportError::Permanent(_) => {
                    return Err(Failure {
                        reason: "permanent",
                        error,
                    });
                }
                ExportError::Retryable { retry_after, .. } => *retry_after,
            };
            if !self.retry.enabled {
                return Err(Failure {
                    reason: "retry_disabled",
                    error,
                });
            }
            let wait = backoff.next_wait(rand::random::<f64>(), retry_after);
            let limit = self.retry.max_elapsed_time;
            if !limit.is_zero() && started.elapsed() + wait > limit {
                return Err(Failure {
                    reason: "retries_exhausted",
                    error,
                });
            }
            tracing::debug!(exporter = %self.id, error = %scrub(&error.to_string()), wait_ms = wait.as_millis() as u64, "retrying");
            self.metrics
                .counter(catalogue::EXPORTER_RETRIES, &[&self.id])
                .add(1);
            if self.handing_over() {
                return Err(Failure {
                    reason: HANDED_OVER,
                    error,
                });
            }
            let mut slot = self.handover.clone();
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = handover_set(&mut slot) => {
                    return Err(Failure { reason: HANDED_OVER, error });
                }
                _ = stopped(&mut stop) => {
                    return Err(Failure { reason: "shutdown", error });
                }
            }
        }
    }
}

impl Delivery {
    /// True when a replacing exporter waits for this one's retries.
    fn handing_over(&self) -> bool {
        self.handover.as_ref().is_some_and(|s| s.borrow().is_some())
    }
}

/// Resolves when a replacing exporter is set in `slot`; never without a slot.
async fn handover_set(slot: &mut Option<HandoverSlot>) {
    let set = match slot {
        Some(s) => s.wait_for(Option::is_some).await.is_ok(),
        None => false,
    };
    if !set {
        futures::future::pending::<()>().await;
    }
}

/// Resolves when `stop` turns true; never when its sender is gone (nobody can stop us then).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    if stop.wait_for(|s| *s).await.is_err() {
        futures::future::pending::<()>().await;
    }
}

/// With `sending_queue.enabled: false`, the pipeline calls the delivery inline: the client
/// waits for the backend (retries included) and is told to send again when it fails.
impl Exporter for Delivery {
    fn export(&self, bundle: Arc<Bundle>) -> BoxFuture<'static, Result<Sent, ExportError>> {
        let this = self.clone();
        Box::pin(async move { this.deliver(bundle, false).await.map_err(|f| f.error) })
    }
}
