//! A queued exporter: the bounded fair queue in front of an exporter, with `num_consumers`
//! tasks that take bundles from it and deliver them (timeout, retry, accounting).
//!
//! [`QueuedExporter::reserve`] is the producer side used by the pipeline's reserve-then-commit
//! fan-out. [`QueuedExporter::drain`] closes the queue, lets consumers send what is queued until
//! a deadline, then abandons the rest, counted as dropped with reason `shutdown`.

use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use tokio::sync::watch;
use tokio::task::JoinSet;

use super::bounded::{Queue, QueueGauges, Reservation, ReserveError};
use super::delivery::{Delivery, Fallback, Handover};
use super::{QueueConfig, RetryConfig};
use crate::metrics::catalogue;
use crate::{Batch, Bundle, Exporter, Metrics};

/// What happened when a batch asked for room.
pub enum Admission {
    /// Room is held; commit it once every exporter said yes.
    Reserved(Reservation),
    /// The queue was full and the exporter drops on overflow. Once the request is taken, the
    /// caller counts the loss with [`QueuedExporter::count_dropped`].
    Dropped,
}

/// An exporter behind its queue and consumers.
pub struct QueuedExporter {
    id: Arc<str>,
    queue: Queue,
    block_on_overflow: bool,
    drop_on_overflow: bool,
    overflow_wait: Duration,
    metrics: Metrics,
    stop: watch::Sender<bool>,
    consumers: Mutex<Option<JoinSet<()>>>,
    /// Turns true when a drain has finished.
    drained: watch::Sender<bool>,
    /// Set by a reload to the exporter replacing this one.
    handover: watch::Sender<Option<Arc<dyn Handover>>>,
}

impl QueuedExporter {
    /// Starts `cfg.num_consumers` consumers delivering to `exporter`. Must run inside a Tokio
    /// runtime.
    pub fn start(
        id: &str,
        exporter: Arc<dyn Exporter>,
        cfg: &QueueConfig,
        retry: RetryConfig,
        timeout: Duration,
        metrics: Metrics,
    ) -> Arc<Self> {
        Self::start_with_fallback(id, exporter, cfg, retry, timeout, metrics, None)
    }

    /// [`QueuedExporter::start`], with bundles given up after their retries handed to
    /// `fallback` (see [`Fallback`]).
    pub fn start_with_fallback(
        id: &str,
        exporter: Arc<dyn Exporter>,
        cfg: &QueueConfig,
        retry: RetryConfig,
        timeout: Duration,
        metrics: Metrics,
        fallback: Option<Arc<dyn Fallback>>,
    ) -> Arc<Self> {
        let id: Arc<str> = Arc::from(id);
        metrics
            .counter(catalogue::EXPORTER_QUEUE_CAPACITY, &[&id])
            .set(cfg.queue_size);
        metrics
            .counter(catalogue::EXPORTER_QUEUE_MAX_BYTES, &[&id])
            .set(cfg.max_bytes);
        metrics
            .counter(catalogue::EXPORTER_QUEUE_SIZER, &[&id, cfg.sizer.as_str()])
            .set(1);
        let queue = Queue::new(
            cfg,
            QueueGauges {
                records: metrics.counter(catalogue::EXPORTER_QUEUE_RECORDS, &[&id]),
                used: metrics.counter(catalogue::EXPORTER_QUEUE_SIZE, &[&id]),
                bytes: metrics.counter(catalogue::EXPORTER_QUEUE_BYTES, &[&id]),
            },
        );
        let (stop, stop_rx) = watch::channel(false);
        let (handover, handover_rx) = watch::channel(None);
        let delivery = Delivery::new(
            Arc::clone(&id),
            exporter,
            retry,
            timeout,
            metrics.clone(),
            stop_rx,
        )
        .with_fallback(fallback)
        .with_handover(handover_rx);
        let mut consumers = JoinSet::new();
        for _ in 0..cfg.num_consumers.max(1) {
            let queue = queue.clone();
            let delivery = delivery.clone();
            consumers.spawn(async move {
                while let Some(items) = queue.next().await {
                    let Some(tenant) = items.first().map(|i| i.batch.ctx.tenant.clone()) else {
                        continue;
                    };
                    let bytes = Queue::held_bytes(&items);
                    let parts = items.into_iter().map(|i| i.batch).collect();
                    // Items of one `take` share a tenant and a signal (`fair.rs`), so this
                    // always holds.
                    if let Some(bundle) = Bundle::of(parts) {
                        let _ = delivery.send(Arc::new(bundle)).await;
                    }
                    // Whatever happened, the tenant's send is over.
                    queue.done(&tenant, bytes);
                }
            });
        }
        Arc::new(Self {
            id,
            queue,
            block_on_overflow: cfg.block_on_overflow,
            drop_on_overflow: cfg.drop_on_overflow,
            overflow_wait: cfg.overflow_wait,
            metrics,
            stop,
            consumers: Mutex::new(Some(consumers)),
            drained: watch::channel(false).0,
            handover,
        })
    }

    /// The exporter's component id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Asks for room for `batch`: waits as long as it takes when `block_on_overflow`, up to
    /// `overflow_wait` otherwise; then drops (counted) when `drop_on_overflow`, or fails with
    /// [`ReserveError`].
    pub async fn reserve(&self, batch: &Batch) -> Result<Admission, ReserveError> {
        let size = self.queue.size_of(batch);
        let bytes = Queue::bytes_of(batch);
        let tenant = &batch.ctx.tenant;
        let deadline =
            (!self.block_on_overflow).then(|| tokio::time::Instant::now() + self.overflow_wait);
        let r = self
            .queue
            .reserve_waiting(tenant, size, bytes, deadline)
            .await;
        match r {
            Ok(r) => Ok(Admission::Reserved(r)),
            Err(ReserveError::Full | ReserveError::TenantFull) if self.drop_on_overflow => {
                Ok(Admission::Dropped)
            }
            Err(e) => Err(e),
        }
    }

    /// True when the queue could take one more batch now.
    pub fn has_room(&self) -> bool {
        self.queue.has_room()
    }

    /// Waits, from `since` and up to `overflow_wait`, until the queue could take one more
    /// batch; says whether the request should go on (there is room, or the exporter blocks or
    /// drops on overflow instead of refusing). Receivers call it before reading a body, so a
    /// full queue slows clients down without holding their data.
    pub async fn wait_for_room(&self, since: tokio::time::Instant) -> bool {
        // With `block_on_overflow` the wait has no bound here either, so the body stays unread.
        let deadline = (!self.block_on_overflow).then(|| since + self.overflow_wait);
        self.queue.wait_for_room(deadline).await || self.drop_on_overflow
    }

    /// Records queued now.
    pub fn queued_records(&self) -> u64 {
        self.queue.records()
    }

    /// Closes the queue and sends what it holds until `timeout` has passed; what is left then
    /// (queued or being retried) is dropped and counted with reason `shutdown`. When a drain
    /// already runs (a reload retiring this exporter), this one cuts it short at its own
    /// deadline and waits for it to end.
    pub async fn drain(&self, timeout: Duration) {
        self.queue.close();
        let taken = self.consumers.lock().take();
        let Some(mut consumers) = taken else {
            let mut drained = self.drained.subscribe();
            if tokio::time::timeout(timeout, drained.wait_for(|d| *d))
                .await
                .is_err()
            {
                self.abandon_rest();
                let _ = drained.wait_for(|d| *d).await;
            }
            return;
        };
        let all_done = async { while consumers.join_next().await.is_some() {} };
        if tokio::time::timeout(timeout, all_done).await.is_err() {
            self.abandon_rest();
            while consumers.join_next().await.is_some() {}
        }
        self.drained.send_replace(true);
    }

    /// Stops retries and drops (counted, `shutdown`) what is still queued.
    fn abandon_rest(&self) {
        let _ = self.stop.send(true);
        for item in self.queue.drain_all() {
            self.count_dropped(&item.batch, "shutdown");
        }
    }

    /// Closes the queue and takes out what it holds, for another queue to carry (an endpoint
    /// a `load_balancing` exporter no longer has). Bundles being sent finish on their own;
    /// [`QueuedExporter::drain`] then waits for them.
    pub fn retire(&self) -> Vec<Arc<Batch>> {
        self.queue.close();
        self.queue
            .drain_all()
            .into_iter()
            .map(|item| item.batch)
            .collect()
    }

    /// Hands the bundles waiting to be retried (now and from now on) to `to`, the exporter
    /// replacing this one; an attempt under way finishes first.
    pub fn hand_over_to(&self, to: Arc<dyn Handover>) {
        self.handover.send_replace(Some(to));
    }

    /// Room for `batch` now, without waiting (a consumer handing a bundle over must not wait
    /// on another queue's consumers).
    pub fn try_reserve(&self, batch: &Batch) -> Result<Reservation, ReserveError> {
        let size = self.queue.size_of(batch);
        self.queue
            .try_reserve_for(&batch.ctx.tenant, size, Queue::bytes_of(batch))
    }

    /// Counts `batch` as lost for this exporter in `weir_records_dropped_total`.
    pub fn count_dropped(&self, batch: &Batch, reason: &'static str) {
        let records = batch.signal.record_count();
        let signal = batch.signal.kind().as_str();
        self.metrics
            .counter(
                catalogue::RECORDS_DROPPED,
                &[
                    signal,
                    &self.id,
                    &self.metrics.tenant_label(&batch.ctx.tenant),
                    reason,
                ],
            )
            .add(records);
        tracing::warn!(exporter = %self.id, tenant = %batch.ctx.tenant, signal, records, reason, "records dropped");
    }
}
