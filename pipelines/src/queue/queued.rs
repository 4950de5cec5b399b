//! A queued exporter: the bounded fair queue in front of an exporter, with `num_consumers`
//! tasks that take bundles from it and deliver them (timeout, retry, accounting).
//!
//! [`QueuedExporter::reserve`] is the producer side used by the pipeline's reserve-then-commit
//! fan-out. [`QueuedExporter::drain`] closes the queue, lets consumers send what is queued until
//! a deadline, then abandons the rest, counted as dropped with reason `shutdown` — or, with a
//! disk queue ([`QueuedExporter::start_durable`]), left on disk for the next start.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use parking_lot::Mutex;
use tokio::sync::watch;
use tokio::task::JoinSet;

use super::bounded::{Queue, QueueGauges, Reservation, ReserveError};
use super::delivery::{Delivery, Fallback, Handover};
use super::disk::{DiskError, DiskGauges, DiskQueue, Recovered, StorageConfig, Ticket};
use super::{QueueConfig, RetryConfig, replay, spill};
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
    /// The disk queue, with `sending_queue.storage`, and how long an append may take.
    disk: Option<(DiskQueue, Duration)>,
    /// True while the disk queue refuses batches (noted for `/health`).
    storage_failing: AtomicBool,
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
        Self::launch(id, exporter, cfg, (retry, timeout), metrics, None, None)
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
        Self::launch(id, exporter, cfg, (retry, timeout), metrics, None, fallback)
    }

    /// [`QueuedExporter::start`] with the queue also on disk in `storage`: what the directory
    /// holds from before is queued first, in order. Fails when the directory cannot be opened
    /// (missing, held by another weir, unreadable).
    pub fn start_durable(
        id: &str,
        exporter: Arc<dyn Exporter>,
        cfg: &QueueConfig,
        (retry, timeout): (RetryConfig, Duration),
        metrics: Metrics,
        storage: &StorageConfig,
    ) -> Result<Arc<Self>, DiskError> {
        let gauges = DiskGauges {
            bytes: metrics.counter(catalogue::EXPORTER_QUEUE_DISK_BYTES, &[id]),
            oldest_age: metrics.counter(catalogue::EXPORTER_QUEUE_OLDEST_AGE, &[id]),
        };
        let (disk, recovered) = DiskQueue::open(storage, cfg.max_bytes, gauges)?;
        let disk = (disk, storage.timeout, recovered);
        Ok(Self::launch(
            id,
            exporter,
            cfg,
            (retry, timeout),
            metrics,
            Some(disk),
            None,
        ))
    }

    fn launch(
        id: &str,
        exporter: Arc<dyn Exporter>,
        cfg: &QueueConfig,
        (retry, timeout): (RetryConfig, Duration),
        metrics: Metrics,
        disk: Option<(DiskQueue, Duration, Recovered)>,
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
        let queue = Queue::with_disk(
            cfg,
            QueueGauges {
                records: metrics.counter(catalogue::EXPORTER_QUEUE_RECORDS, &[&id]),
                used: metrics.counter(catalogue::EXPORTER_QUEUE_SIZE, &[&id]),
                bytes: metrics.counter(catalogue::EXPORTER_QUEUE_BYTES, &[&id]),
            },
            disk.as_ref().map(|(d, ..)| d.clone()),
        );
        let mut consumers = JoinSet::new();
        let disk = disk.map(|(d, wait, recovered)| {
            replay::replay(&queue, &d, recovered, &id, &metrics);
            consumers.spawn(spill::run_loader(
                queue.clone(),
                d.clone(),
                Arc::clone(&id),
                metrics.clone(),
            ));
            (d, wait)
        });
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
        .keeping_on_disk(disk.is_some())
        .with_fallback(fallback)
        .with_handover(handover_rx);
        for _ in 0..cfg.num_consumers.max(1) {
            let queue = queue.clone();
            let delivery = delivery.clone();
            consumers.spawn(async move {
                while let Some(items) = queue.next().await {
                    let Some(tenant) = items.first().map(|i| i.batch.ctx.tenant.clone()) else {
                        continue;
                    };
                    let bytes = Queue::held_bytes(&items);
                    // Stored records stay unsettled until the send is over (the tickets are
                    // dropped after it).
                    let mut tickets = Vec::new();
                    let mut marks = Vec::new();
                    let mut parts = Vec::with_capacity(items.len());
                    for item in items {
                        if let Some(t) = item.ticket {
                            marks.extend(t.taken());
                            tickets.push(t);
                        }
                        parts.push(item.batch);
                    }
                    // The records are marked taken before the send begins, and settled
                    // before the next: a crash replays at most this bundle after it arrived.
                    for m in marks {
                        let _ = m.await;
                    }
                    // Items of one `take` share a tenant and a signal (`fair.rs`), so this
                    // always holds.
                    if let Some(bundle) = Bundle::of(parts) {
                        let _ = delivery.send(Arc::new(bundle)).await;
                    }
                    let settled: Vec<_> = tickets.into_iter().filter_map(Ticket::settle).collect();
                    for m in settled {
                        let _ = m.await;
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
            disk,
            storage_failing: AtomicBool::new(false),
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
            Ok(mut r) => {
                self.persist(&mut r, batch, deadline).await?;
                Ok(Admission::Reserved(r))
            }
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

    /// Records queued now (with a disk queue, those waiting on disk too).
    pub fn queued_records(&self) -> u64 {
        self.queue.records()
    }

    /// With a disk queue, the bytes of the requests held decoded in memory (at most
    /// [`super::spill::MEMORY_WINDOW`] but for one request); 0 without one.
    pub fn memory_bytes(&self) -> u64 {
        self.queue.loaded_bytes()
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
        if let Some((disk, _)) = &self.disk {
            disk.flush().await;
        }
        self.drained.send_replace(true);
    }

    /// Stops retries and drops (counted, `shutdown`) what is still queued — or, with a disk
    /// queue, leaves it on disk for the next start.
    fn abandon_rest(&self) {
        if let Some((disk, _)) = &self.disk {
            // What is not sent now stays on disk for the next start.
            disk.freeze();
        }
        let _ = self.stop.send(true);
        let left = self.queue.drain_all();
        match &self.disk {
            Some(_) => {
                let records: u64 = left.iter().map(|i| i.records).sum();
                tracing::info!(exporter = %self.id, records, "left in the disk queue for the next start");
            }
            None => {
                for item in left {
                    self.count_dropped(&item.batch, "shutdown");
                }
            }
        }
    }

    /// With a disk queue, writes `batch` there: waits for room under the cap as for room in
    /// the queue (until `room_until`), then for the write up to the storage's `timeout`. A
    /// failure is noted for `/health` (and logged once until it clears) and refuses the batch.
    async fn persist(
        &self,
        r: &mut Reservation,
        batch: &Batch,
        room_until: Option<tokio::time::Instant>,
    ) -> Result<(), ReserveError> {
        let Some((_, wait)) = &self.disk else {
            return Ok(());
        };
        let problem = match r.persist(batch, room_until, Some(*wait)).await {
            Ok(()) => {
                if self.storage_failing.swap(false, Ordering::Relaxed)
                    && self.metrics.note_storage(&self.id, None)
                {
                    tracing::info!(exporter = %self.id, "disk queue takes batches again");
                }
                return Ok(());
            }
            Err(e) => e.to_string(),
        };
        self.storage_failing.store(true, Ordering::Relaxed);
        if self.metrics.note_storage(&self.id, Some(&problem)) {
            tracing::warn!(exporter = %self.id, problem, "disk queue refuses batches; receivers answer with the retryable status");
        }
        Err(ReserveError::Storage)
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
        let records = batch.record_count();
        let signal = batch.kind().as_str();
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
