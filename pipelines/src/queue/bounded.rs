//! One exporter's bounded queue: capacity reserved before a batch is committed (so a request is
//! put in every exporter's queue or in none), fair dequeue across tenants, merging.
//!
//! Room is counted twice: in the sizer's unit against `queue_size` (what waits), and in bytes
//! (the requests' decompressed size) against `max_bytes`, whatever the sizer (what waits and
//! what is being sent or retried).
//!
//! Reserving fails with [`ReserveError::Full`] when there is no room (the receiver answers with
//! the retryable status) or [`ReserveError::Closed`] once the queue is draining. A reservation
//! dropped without commit gives its room back.
//!
//! With a disk queue both bounds count what waits on disk only too: only a window
//! of it is held in memory (`spill.rs`); the queue's side of that backlog (batches found on
//! disk at start, loaded back as the window has room) is in `bounded/backlog.rs`.

use std::collections::HashMap;
use std::sync::Arc;
use tokio::time::Instant;

use parking_lot::Mutex;
use tokio::sync::Notify;

mod backlog;

use super::disk::{DiskError, DiskQueue, Location, Ticket};
use super::fair::{FairQueues, Item, Merging, Take};
use super::spill::{Backlog, Spilled};
use super::{QueueConfig, Sizer};
use crate::metrics::Counter;
use crate::{Batch, TenantId};

fn release_tenant(per_tenant: &mut HashMap<TenantId, u64>, tenant: &TenantId, size: u64) {
    if let Some(held) = per_tenant.get_mut(tenant) {
        *held = held.saturating_sub(size);
        if *held == 0 {
            per_tenant.remove(tenant);
        }
    }
}

/// Why room could not be reserved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ReserveError {
    /// The queue is full.
    #[error("queue is full")]
    Full,
    /// The tenant holds its whole share of the queue (`max_tenant_share`).
    #[error("the tenant holds its share of the queue")]
    TenantFull,
    /// The queue is draining for shutdown.
    #[error("queue is closed for shutdown")]
    Closed,
    /// The disk queue could not take the batch (full, or the disk refused); `/health` says why.
    #[error("the disk queue cannot take more (see /health)")]
    Storage,
    /// A `load_balancing` exporter has no endpoint (its resolver found none yet).
    #[error("no endpoint to send to")]
    NoEndpoint,
}

struct State {
    used: u64,
    /// Bytes of the requests reserved or queued.
    bytes: u64,
    /// Room held per tenant (reserved or queued), for the per-tenant share.
    per_tenant: HashMap<TenantId, u64>,
    closed: bool,
    fair: FairQueues,
    /// With a disk queue: what waits on disk only, and the bytes held in memory.
    backlog: Backlog,
}

impl State {
    /// Records queued: in memory and waiting on disk.
    fn records(&self) -> u64 {
        self.fair.records() + self.backlog.records()
    }
}

struct Inner {
    state: Mutex<State>,
    capacity: u64,
    max_bytes: u64,
    tenant_cap: u64,
    sizer: Sizer,
    merging: Merging,
    space: Notify,
    items: Notify,
    /// Wakes the loader of a disk queue's backlog.
    load: Notify,
    gauges: QueueGauges,
    /// Where batches are also stored, with `sending_queue.storage`.
    disk: Option<DiskQueue>,
}

/// The gauges a queue keeps current.
#[derive(Debug, Clone, Default)]
pub struct QueueGauges {
    /// Records queued (`weir_exporter_queue_records`).
    pub records: Counter,
    /// Room in use, in the sizer's unit (`weir_exporter_queue_size`).
    pub used: Counter,
    /// Bytes held against `max_bytes` (`weir_exporter_queue_bytes`).
    pub bytes: Counter,
}

/// A bounded, fair queue of batches.
#[derive(Clone)]
pub struct Queue {
    inner: Arc<Inner>,
}

/// Room held in a queue for one batch; [`Reservation::commit`] puts the batch in.
pub struct Reservation {
    inner: Arc<Inner>,
    size: u64,
    bytes: u64,
    tenant: Option<TenantId>,
    committed: bool,
    /// The batch's record on disk, once [`Reservation::persist`] wrote it.
    stored: Option<(Arc<Ticket>, Location)>,
}

impl Queue {
    /// A queue with `cfg`'s capacity and merging, keeping `gauges` current, also storing
    /// every batch in `disk` when given.
    pub fn with_disk(cfg: &QueueConfig, gauges: QueueGauges, disk: Option<DiskQueue>) -> Self {
        let merging = match &cfg.merge {
            Some(b) => Merging {
                min_size: b.min_size,
                max_size: b.max_size,
                flush_timeout: b.flush_timeout,
                merge: true,
            },
            None => Merging {
                min_size: 0,
                max_size: 0,
                flush_timeout: std::time::Duration::ZERO,
                merge: false,
            },
        };
        let quantum = match merging.max_size {
            0 => merging.min_size.max(1024),
            n => n,
        };
        let mut fair = FairQueues::new(quantum);
        if cfg.max_tenant_share < 1.0 {
            let consumers = cfg.num_consumers.max(1) as f64;
            fair.set_max_inflight((consumers * cfg.max_tenant_share).floor() as usize);
        }
        Self {
            inner: Arc::new(Inner {
                state: Mutex::new(State {
                    used: 0,
                    bytes: 0,
                    per_tenant: HashMap::new(),
                    closed: false,
                    fair,
                    backlog: Backlog::default(),
                }),
                capacity: cfg.queue_size.max(1),
                max_bytes: cfg.max_bytes.max(1),
                tenant_cap: ((cfg.queue_size.max(1) as f64 * cfg.max_tenant_share.clamp(0.0, 1.0))
                    .floor() as u64)
                    .max(1),
                sizer: cfg.sizer,
                merging,
                space: Notify::new(),
                items: Notify::new(),
                load: Notify::new(),
                gauges,
                disk,
            }),
        }
    }

    /// The size of `batch` in this queue's unit.
    pub fn size_of(&self, batch: &Batch) -> u64 {
        self.size_for(batch.record_count(), batch.ctx.body_bytes as u64)
    }

    /// The bytes `batch` holds room for: its request's size after decompression.
    pub fn bytes_of(batch: &Batch) -> u64 {
        (batch.ctx.body_bytes as u64).max(1)
    }

    /// Room for `size` for `tenant`, within its share of the capacity (`max_tenant_share`); a
    /// tenant holding nothing may always reserve one batch when the queue has room.
    pub fn try_reserve_for(
        &self,
        tenant: &TenantId,
        size: u64,
        bytes: u64,
    ) -> Result<Reservation, ReserveError> {
        self.reserve_now(Some(tenant), size, bytes)
    }

    fn reserve_now(
        &self,
        tenant: Option<&TenantId>,
        size: u64,
        bytes: u64,
    ) -> Result<Reservation, ReserveError> {
        let mut s = self.inner.state.lock();
        if s.closed {
            return Err(ReserveError::Closed);
        }
        if s.used > 0
            && (s.used + size > self.inner.capacity || s.bytes + bytes > self.inner.max_bytes)
        {
            return Err(ReserveError::Full);
        }
        if let Some(t) = tenant {
            let held = s.per_tenant.get(t).copied().unwrap_or(0);
            if held > 0 && held + size > self.inner.tenant_cap {
                return Err(ReserveError::TenantFull);
            }
            *s.per_tenant.entry(t.clone()).or_default() += size;
        }
        s.used += size;
        s.bytes += bytes;
        self.inner.gauges.used.set(s.used);
        self.inner.gauges.bytes.set(s.bytes);
        Ok(Reservation {
            inner: Arc::clone(&self.inner),
            size,
            bytes,
            tenant: tenant.cloned(),
            committed: false,
            stored: None,
        })
    }

    /// The bytes `items` (from one [`Queue::next`]) hold against `max_bytes` until their send
    /// is over: the item that paid for a batch gives them back (parts of a split batch after
    /// the first have size 0).
    pub fn held_bytes(items: &[Item]) -> u64 {
        items
            .iter()
            .filter(|i| i.size > 0)
            .map(|i| Self::bytes_of(&i.batch))
            .sum()
    }

    /// A send of `tenant`'s items from [`Queue::next`] has finished; `bytes` is what they held
    /// ([`Queue::held_bytes`]). Until then they count against `max_bytes`, so the bound covers
    /// what is being sent or retried as well as what waits.
    pub fn done(&self, tenant: &TenantId, bytes: u64) {
        {
            let mut s = self.inner.state.lock();
            s.fair.done(tenant);
            s.bytes = s.bytes.saturating_sub(bytes);
            s.backlog.unloaded(bytes);
            self.inner.gauges.bytes.set(s.bytes);
        }
        self.inner.items.notify_one();
        self.inner.space.notify_waiters();
        self.inner.load.notify_one();
    }

    /// Room for `size` for `tenant`, waiting for it when the queue (or the tenant's share) is
    /// full; until `deadline` when one is given, then the last answer stands.
    pub async fn reserve_waiting(
        &self,
        tenant: &TenantId,
        size: u64,
        bytes: u64,
        deadline: Option<Instant>,
    ) -> Result<Reservation, ReserveError> {
        self.until_room(deadline, || self.try_reserve_for(tenant, size, bytes))
            .await
    }

    /// Runs `attempt` until it does not fail for want of room, waiting for room to be freed
    /// between tries; past `deadline` (when given) its last failure stands.
    async fn until_room<T>(
        &self,
        deadline: Option<Instant>,
        mut attempt: impl FnMut() -> Result<T, ReserveError>,
    ) -> Result<T, ReserveError> {
        loop {
            let notified = self.inner.space.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            match attempt() {
                Err(e @ (ReserveError::Full | ReserveError::TenantFull)) => match deadline {
                    None => notified.await,
                    Some(at) if Instant::now() >= at => return Err(e),
                    Some(at) => {
                        tokio::select! {
                            _ = notified => {}
                            _ = tokio::time::sleep_until(at) => {}
                        }
                    }
                },
                other => return other,
            }
        }
    }

    /// True when the queue could take one more batch now: it is below its capacity and its
    /// byte bound (or it is closed, which a reservation reports on its own).
    pub fn has_room(&self) -> bool {
        let s = self.inner.state.lock();
        s.closed || s.used == 0 || (s.used < self.inner.capacity && s.bytes < self.inner.max_bytes)
    }

    /// Waits until [`Queue::has_room`], or `deadline` when one is given; says whether there is
    /// room.
    pub async fn wait_for_room(&self, deadline: Option<Instant>) -> bool {
        let room = || match self.has_room() {
            true => Ok(()),
            false => Err(ReserveError::Full),
        };
        self.until_room(deadline, room).await.is_ok()
    }

    /// The next bundle's items (one tenant), waiting for them; `None` once closed and empty.
    pub async fn next(&self) -> Option<Vec<Item>> {
        loop {
            let notified = self.inner.items.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let wait_until = {
                let mut s = self.inner.state.lock();
                let mut merging = self.inner.merging;
                if s.closed {
                    // Draining: send what is there without waiting for batches to fill.
                    merging.min_size = 0;
                }
                match s.fair.take(Instant::now(), &merging) {
                    Take::Items(items) => {
                        // Room in the sizer's unit is free once taken; the bytes stay held
                        // until the send is over ([`Queue::done`]).
                        let freed: u64 = items.iter().map(|i| i.size).sum();
                        s.used = s.used.saturating_sub(freed);
                        release_tenant(&mut s.per_tenant, &items[0].batch.ctx.tenant, freed);
                        self.inner.gauges.used.set(s.used);
                        self.inner.gauges.records.set(s.records());
                        let more = !s.fair.is_empty();
                        drop(s);
                        self.inner.space.notify_waiters();
                        if more {
                            // Let another consumer pick up the rest.
                            self.inner.items.notify_one();
                        }
                        return Some(items);
                    }
                    Take::WaitUntil(at) => Some(at),
                    // Closed and empty, on disk too (the loader wakes consumers).
                    Take::Empty if s.closed && s.backlog.is_empty() => return None,
                    Take::Empty | Take::Blocked => None,
                }
            };
            match wait_until {
                Some(at) => {
                    tokio::select! {
                        _ = notified => {}
                        _ = tokio::time::sleep_until(at) => {}
                    }
                }
                None => notified.await,
            }
        }
    }

    /// Stops taking new batches; consumers drain what is queued, then get `None`.
    pub fn close(&self) {
        self.inner.state.lock().closed = true;
        self.inner.items.notify_waiters();
        self.inner.space.notify_waiters();
        self.inner.load.notify_one();
    }

    /// Removes and returns everything still queued (when the drain deadline passed).
    pub fn drain_all(&self) -> Vec<Item> {
        let mut s = self.inner.state.lock();
        s.used = 0;
        s.bytes = 0;
        s.per_tenant.clear();
        self.inner.gauges.used.set(0);
        self.inner.gauges.bytes.set(0);
        let items = s.fair.drain_all();
        // What waits on disk only is frozen there by the caller: nothing to send or count.
        drop(s.backlog.clear());
        self.inner.gauges.records.set(0);
        drop(s);
        self.inner.load.notify_one();
        items
    }

    /// The size of a batch of `records` and `body_bytes` in this queue's unit.
    pub fn size_for(&self, records: u64, body_bytes: u64) -> u64 {
        match self.inner.sizer {
            Sizer::Requests => 1,
            Sizer::Items => records.max(1),
            Sizer::Bytes => body_bytes.max(1),
        }
    }

    /// Records queued now (in memory and waiting on disk).
    pub fn records(&self) -> u64 {
        self.inner.state.lock().records()
    }
}

impl Reservation {
    /// With a disk queue, writes `batch` to it (synced as its `fsync` says); a reservation
    /// dropped without commit then settles the record again. Without one, does nothing.
    /// Waits for room on disk until `room_until` (`None`: as long as it takes) and for the
    /// write up to `write_timeout`.
    pub async fn persist(
        &mut self,
        batch: &Batch,
        room_until: Option<Instant>,
        write_timeout: Option<std::time::Duration>,
    ) -> Result<(), DiskError> {
        if let Some(disk) = &self.inner.disk {
            let stored = disk.append_within(batch, room_until, write_timeout).await?;
            self.stored = Some((stored.ticket, stored.at));
        }
        Ok(())
    }

    /// Puts `batch` in the queue, in the room reserved for it.
    /// With a disk queue and a full memory window (or older batches waiting on disk), the
    /// batch stays on disk only, loaded in its turn.
    pub fn commit(mut self, batch: Arc<Batch>) {
        self.committed = true;
        let records = batch.record_count();
        let mut s = self.inner.state.lock();
        let ticket = match self.stored.take() {
            Some((ticket, at)) if s.backlog.must_wait(self.bytes) => {
                s.backlog.push(Spilled {
                    ticket,
                    at,
                    size: self.size,
                    bytes: self.bytes,
                    records,
                    signal: batch.kind(),
                    tenant: batch.ctx.tenant.clone(),
                });
                self.inner.gauges.records.set(s.records());
                drop(s);
                self.inner.load.notify_one();
                return;
            }
            Some((ticket, _)) => {
                s.backlog.loaded(self.bytes);
                Some(ticket)
            }
            None => None,
        };
        s.fair.push(Item {
            batch,
            size: self.size,
            records,
            enqueued: Instant::now(),
            ticket,
        });
        self.inner.gauges.records.set(s.records());
        drop(s);
        self.inner.items.notify_one();
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        if !self.committed {
            let mut s = self.inner.state.lock();
            s.used = s.used.saturating_sub(self.size);
            s.bytes = s.bytes.saturating_sub(self.bytes);
            if let Some(t) = &self.tenant {
                release_tenant(&mut s.per_tenant, t, self.size);
            }
            self.inner.gauges.used.set(s.used);
            self.inner.gauges.bytes.set(s.bytes);
            drop(s);
            self.inner.space.notify_waiters();
        }
    }
}
