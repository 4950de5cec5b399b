//! Pipelines and the router that feeds them.
//!
//! A [`Pipeline`] runs its processors in order on a batch, then hands the batch (shared, not
//! copied) to every exporter: queued exporters by reserve-then-commit (room in every queue, or
//! the request is refused and nothing is queued), direct ones inline. A [`Router`] holds the pipelines a receiver feeds, by signal; when
//! several pipelines take the same signal each gets its own copy, as processors edit in place.
//!
//! Failure: a processor's refusal or an exporter's error becomes a [`SubmitError`] that the
//! receiver maps to the OTLP status code; records rejected by processors are summed into
//! [`Accepted::rejected`] for OTLP partial success. A batch refused after some processors
//! passed it (by a later processor, a queue without room, an inline exporter, or another part or
//! pipeline of the request) is refunded to those processors ([`Processor::refund`]), so a
//! tenant's budget is spent only by what was taken.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use futures::future::join_all;
use tracing::Instrument;

use crate::balance::Placed;
pub use crate::handle::ExporterHandle;
use crate::queue::ReserveError;
use crate::{
    Batch, Bundle, ExportError, Exporter, Outcome, Processor, Refusal, RefusalKind, RequestContext,
    SignalKind,
};

/// A named processor in a pipeline.
pub struct NamedProcessor {
    /// Component id (`redaction`, `batch/small`).
    pub id: Arc<str>,
    /// The processor.
    pub processor: Arc<dyn Processor>,
}

/// A named exporter in a pipeline.
pub struct NamedExporter {
    /// Component id (`debug`, `otlp/tempo`).
    pub id: Arc<str>,
    /// How the pipeline hands it data.
    pub handle: ExporterHandle,
}

impl NamedExporter {
    /// An exporter called inline.
    pub fn direct(id: impl Into<Arc<str>>, exporter: Arc<dyn Exporter>) -> Self {
        Self {
            id: id.into(),
            handle: ExporterHandle::Direct(exporter),
        }
    }
}

/// What the client is told when its request was taken.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Accepted {
    /// Records the processors rejected (OTLP `partial_success.rejected_*`).
    pub rejected: u64,
    /// Why, joined, for `partial_success.error_message`; `None` when nothing was rejected.
    pub message: Option<String>,
}

impl Accepted {
    /// What the client is told for a request taken in `parts` (one per tenant): the rejected
    /// records added up, the messages joined.
    pub fn total(parts: &[Accepted]) -> Accepted {
        let mut total = Accepted::default();
        for a in parts {
            total.reject(a.rejected, a.message.clone());
        }
        total
    }

    /// Adds `rejected` records, and `message` to the joined messages.
    pub fn reject(&mut self, rejected: u64, message: Option<String>) {
        self.rejected += rejected;
        if let Some(m) = message {
            self.message = Some(match self.message.take() {
                Some(prev) => format!("{prev}; {m}"),
                None => m,
            });
        }
    }
}

/// Why a request was not taken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct SubmitError {
    /// The refusal, whose kind picks the status code.
    pub reason: Refusal,
    /// When the client may retry, for retryable refusals.
    pub retry_after: Option<Duration>,
}

/// Processors then exporters, for one signal.
pub struct Pipeline {
    id: Arc<str>,
    signal: SignalKind,
    processors: Vec<NamedProcessor>,
    exporters: Vec<NamedExporter>,
}

impl Pipeline {
    /// A pipeline `id` (`traces`, `logs/audit`) of `signal`.
    pub fn new(
        id: impl Into<Arc<str>>,
        signal: SignalKind,
        processors: Vec<NamedProcessor>,
        exporters: Vec<NamedExporter>,
    ) -> Self {
        Self {
            id: id.into(),
            signal,
            processors,
            exporters,
        }
    }

    /// The pipeline's id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The signal it carries.
    pub fn signal(&self) -> SignalKind {
        self.signal
    }

    /// Runs the processors on `batch`, then hands it to every exporter.
    pub async fn submit(&self, batch: Batch) -> Result<Accepted, SubmitError> {
        let prepared = self.prepare(batch).await?;
        prepared.export_direct().await?;
        Ok(prepared.commit())
    }

    /// First phase of a submit: runs the processors and reserves room in every queued
    /// exporter. Nothing is queued yet; dropping the result gives the room back.
    pub async fn prepare(&self, mut batch: Batch) -> Result<Prepared<'_>, SubmitError> {
        let mut accepted = Accepted::default();
        // The records each processor that passed the batch saw, for its refund.
        let mut seen: Vec<u64> = Vec::with_capacity(self.processors.len());
        let processing = tracing::info_span!("weir.process", pipeline = %self.id);
        for p in &self.processors {
            let records = batch.record_count();
            let outcome = if p.processor.waits() {
                p.processor
                    .process_async(&mut batch)
                    .instrument(processing.clone())
                    .await
            } else {
                let _in = processing.enter();
                p.processor.process(&mut batch)
            };
            match outcome {
                Outcome::Pass { rejected, message } => {
                    seen.push(records);
                    accepted.reject(rejected, message);
                }
                Outcome::Refuse {
                    reason,
                    retry_after,
                } => {
                    tracing::debug!(pipeline = %self.id, processor = %p.id, %reason, "refused");
                    self.refund(&batch.ctx, &seen);
                    return Err(SubmitError {
                        reason,
                        retry_after,
                    });
                }
            }
        }
        drop(processing);
        batch.seal();
        // From here on, dropping `prepared` without committing it refunds the processors.
        let mut prepared = Prepared {
            pipeline: self,
            batch: Arc::new(batch),
            accepted,
            placed: Vec::new(),
            seen,
            committed: false,
            span: tracing::info_span!("weir.export", pipeline = %self.id),
        };
        if prepared.batch.is_empty() {
            return Ok(prepared);
        }
        // Room in every queue first: the batch goes into all of them or none, so a client's
        // retry never duplicates data into the healthy ones.
        for e in &self.exporters {
            let reserved = match &e.handle {
                ExporterHandle::Direct(_) => continue,
                ExporterHandle::Queued(q) => q
                    .reserve(&prepared.batch)
                    .instrument(prepared.span.clone())
                    .await
                    .map(|a| {
                        vec![Placed {
                            admission: a,
                            queue: Arc::clone(q),
                            batch: Arc::clone(&prepared.batch),
                        }]
                    }),
                ExporterHandle::Balanced(b) => {
                    b.reserve(&prepared.batch)
                        .instrument(prepared.span.clone())
                        .await
                }
            };
            match reserved {
                Ok(placed) => prepared.placed.extend(placed),
                Err(err) => {
                    // The receiver logs the refusal with the request's id.
                    tracing::debug!(pipeline = %self.id, exporter = %e.id, error = %err, "refusing: exporter cannot take more");
                    return Err(unavailable(
                        &e.id,
                        &err.to_string(),
                        Some(QUEUE_FULL_RETRY_AFTER),
                    ));
                }
            }
        }
        Ok(prepared)
    }

    /// Waits, from `since`, until every queued exporter could take one more batch (each up
    /// to its `overflow_wait`); refused with the retryable answer of a full queue otherwise.
    /// Called before a request's body is read, so a full queue costs the client time, not
    /// weir memory or decoding.
    pub async fn wait_for_room(&self, since: tokio::time::Instant) -> Result<(), SubmitError> {
        for e in &self.exporters {
            if !e.handle.wait_for_room(since).await {
                tracing::debug!(pipeline = %self.id, exporter = %e.id, "no room in the queue");
                return Err(unavailable(
                    &e.id,
                    &ReserveError::Full.to_string(),
                    Some(QUEUE_FULL_RETRY_AFTER),
                ));
            }
        }
        Ok(())
    }

    /// Gives back to the first `seen.len()` processors, last first, what passing a batch of
    /// `ctx` spent; `seen[i]` is the records processor `i` saw.
    fn refund(&self, ctx: &RequestContext, seen: &[u64]) {
        for (p, records) in self.processors.iter().zip(seen).rev() {
            p.processor.refund(ctx, *records);
        }
    }
}

/// A batch that went through a pipeline's processors and holds room in its queues.
pub struct Prepared<'a> {
    pipeline: &'a Pipeline,
    batch: Arc<Batch>,
    accepted: Accepted,
    /// Room held in each queue (or its drop on overflow), with the batch or part it is for.
    placed: Vec<Placed>,
    /// The records each processor saw (all of them passed), for their refund.
    seen: Vec<u64>,
    /// Set by [`Prepared::commit`]; a batch dropped before is refunded to the processors.
    committed: bool,
    /// `weir.export`: from the first reservation to the commit.
    span: tracing::Span,
}

impl Prepared<'_> {
    /// Second phase: sends the batch to the exporters called inline. On failure the
    /// reservations are given back when `self` is dropped.
    pub async fn export_direct(&self) -> Result<(), SubmitError> {
        if self.batch.is_empty() {
            return Ok(());
        }
        let direct: Vec<_> = self
            .pipeline
            .exporters
            .iter()
            .filter_map(|e| match &e.handle {
                ExporterHandle::Direct(x) => Some((e, x)),
                ExporterHandle::Queued(_) | ExporterHandle::Balanced(_) => None,
            })
            .collect();
        if direct.is_empty() {
            return Ok(());
        }
        let bundle = Arc::new(Bundle::single(Arc::clone(&self.batch)));
        let results = join_all(direct.iter().map(|(_, x)| x.export(Arc::clone(&bundle))))
            .instrument(self.span.clone())
            .await;
        for ((e, _), result) in direct.iter().zip(results) {
            if let Err(err) = result {
                tracing::warn!(pipeline = %self.pipeline.id, exporter = %e.id, error = %err, "export failed");
                let retry_after = match &err {
                    ExportError::Retryable { retry_after, .. } => *retry_after,
                    ExportError::Permanent(_) => None,
                };
                return Err(unavailable(&e.id, "could not take the data", retry_after));
            }
        }
        Ok(())
    }

    /// Last phase: the request is taken. Queues the batch in the reserved room, and counts it
    /// as dropped for exporters that drop on overflow.
    pub fn commit(mut self) -> Accepted {
        self.committed = true;
        let _in_span = self.span.enter();
        for p in std::mem::take(&mut self.placed) {
            p.commit();
        }
        std::mem::take(&mut self.accepted)
    }
}

impl Drop for Prepared<'_> {
    /// A batch not committed was refused after its processors passed it: they get back what
    /// it spent (the reservations give their room back on their own).
    fn drop(&mut self) {
        if !self.committed {
            self.pipeline.refund(&self.batch.ctx, &self.seen);
        }
    }
}

/// What a client is told to wait before retrying when a queue is full.
const QUEUE_FULL_RETRY_AFTER: Duration = Duration::from_secs(1);

fn unavailable(exporter: &str, why: &str, retry_after: Option<Duration>) -> SubmitError {
    SubmitError {
        reason: Refusal::new(
            RefusalKind::Unavailable,
            format!("exporter {exporter}: {why}"),
        ),
        retry_after,
    }
}

/// The pipelines a receiver feeds, by signal.
#[derive(Default, Clone)]
pub struct Router {
    by_signal: BTreeMap<SignalKind, Vec<Arc<Pipeline>>>,
}

impl Router {
    /// Adds `pipeline` under its signal.
    pub fn add(&mut self, pipeline: Arc<Pipeline>) {
        self.by_signal
            .entry(pipeline.signal())
            .or_default()
            .push(pipeline);
    }

    /// True when some pipeline takes `signal`.
    pub fn accepts(&self, signal: SignalKind) -> bool {
        self.by_signal.get(&signal).is_some_and(|v| !v.is_empty())
    }

    /// True when every queued exporter of every pipeline of `signal` could take a batch now.
    pub fn has_room(&self, signal: SignalKind) -> bool {
        self.by_signal
            .get(&signal)
            .into_iter()
            .flatten()
            .flat_map(|p| &p.exporters)
            .all(|e| e.handle.has_room())
    }

    /// Waits until every pipeline of `signal` has room in its queues ([`Pipeline::wait_for_room`]).
    pub async fn wait_for_room(&self, signal: SignalKind) -> Result<(), SubmitError> {
        let since = tokio::time::Instant::now();
        for p in self.by_signal.get(&signal).into_iter().flatten() {
            p.wait_for_room(since).await?;
        }
        Ok(())
    }

    /// Hands `batch` to every pipeline of its signal. With several pipelines each gets its own
    /// copy; the request is taken only if every pipeline took it, and the rejected count is the
    /// largest any pipeline reported.
    pub async fn submit(&self, batch: Batch) -> Result<Accepted, SubmitError> {
        let kind = batch.kind();
        let pipelines = match self.by_signal.get(&kind) {
            Some(p) if !p.is_empty() => p,
            _ => {
                return Err(SubmitError {
                    reason: Refusal::new(
                        RefusalKind::Invalid,
                        format!("no pipeline takes {kind} on this receiver"),
                    ),
                    retry_after: None,
                });
            }
        };
        if let [only] = pipelines.as_slice() {
            return only.submit(batch).await;
        }
        let parts = self.submit_all(vec![batch]).await?;
        Ok(Accepted::total(&parts))
    }

    /// Hands several batches (one request split per tenant) to their pipelines, all or none:
    /// every pipeline of every batch prepares (processors, reservations) before any commits,
    /// so a refusal of one part queues nothing of the others. Answers one [`Accepted`] per
    /// batch, in order, whose rejected count is the largest any of its pipelines reported, so
    /// that each tenant's rejections are counted against that tenant
    /// ([`Accepted::total`] is what the client is told).
    pub async fn submit_all(&self, batches: Vec<Batch>) -> Result<Vec<Accepted>, SubmitError> {
        let parts = batches.len();
        let mut prepared = Vec::new();
        for (part, batch) in batches.into_iter().enumerate() {
            let kind = batch.kind();
            let Some(pipelines) = self.by_signal.get(&kind).filter(|p| !p.is_empty()) else {
                return Err(SubmitError {
                    reason: Refusal::new(
                        RefusalKind::Invalid,
                        format!("no pipeline takes {kind} on this receiver"),
                    ),
                    retry_after: None,
                });
            };
            let mut copies: Vec<Batch> = Vec::with_capacity(pipelines.len());
            for _ in 1..pipelines.len() {
                copies.push(batch.clone());
            }
            copies.push(batch);
            for (p, b) in pipelines.iter().zip(copies) {
                prepared.push((part, p.prepare(b).await?));
            }
        }
        for (_, p) in &prepared {
            p.export_direct().await?;
        }
        let mut per_part = vec![Accepted::default(); parts];
        for (part, p) in prepared {
            let a = p.commit();
            let merged = &mut per_part[part];
            merged.rejected = merged.rejected.max(a.rejected);
            if merged.message.is_none() {
                merged.message = a.message;
            }
        }
        Ok(per_part)
    }
}
