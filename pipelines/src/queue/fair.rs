//! The state of one exporter's queue: per-tenant sub-queues served by deficit round-robin on
//! records, so a tenant that floods the queue gets its share of dequeues and no more.
//!
//! Pure data structure, no locking or waiting (the queue around it does that); time is passed
//! in, so tests drive it directly. Nothing here fails.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use super::disk::Ticket;
use super::split;
use crate::{Batch, TenantId};

/// One queued batch.
#[derive(Debug, Clone)]
pub struct Item {
    /// The batch, shared with other exporters.
    pub batch: Arc<Batch>,
    /// Its size in the queue's sizer unit (0 for parts of a split batch already paid for).
    pub size: u64,
    /// Its records.
    pub records: u64,
    /// When it was queued, for the batch flush timeout.
    pub enqueued: Instant,
    /// Its record in the disk queue, when the queue has storage (shared by a split batch's
    /// parts; settled when the last is dropped).
    pub ticket: Option<Arc<Ticket>>,
}

#[derive(Debug, Default)]
struct TenantQueue {
    items: VecDeque<Item>,
    records: u64,
    deficit: u64,
}

/// How a consumer merges queued batches into bundles (`sending_queue.batch`).
#[derive(Debug, Clone, Copy)]
pub struct Merging {
    /// Records at which a bundle goes without waiting (1 when not merging).
    pub min_size: u64,
    /// Most records in one bundle; 0 means no limit.
    pub max_size: u64,
    /// Longest the oldest record waits for `min_size`.
    pub flush_timeout: Duration,
    /// Merge several queued batches into one bundle.
    pub merge: bool,
}

/// What a consumer gets from [`FairQueues::take`].
#[derive(Debug)]
pub enum Take {
    /// Batches of one tenant to send together.
    Items(Vec<Item>),
    /// Nothing ready: batches are waiting to fill until this instant.
    WaitUntil(Instant),
    /// Nothing queued.
    Empty,
    /// Batches are queued, but every tenant holding them has its share of sends in flight;
    /// wait for one to finish ([`FairQueues::done`]).
    Blocked,
}

/// Per-tenant sub-queues with deficit round-robin.
#[derive(Debug)]
pub struct FairQueues {
    tenants: HashMap<TenantId, TenantQueue>,
    active: VecDeque<TenantId>,
    quantum: u64,
    records: u64,
    inflight: HashMap<TenantId, usize>,
    max_inflight: usize,
}

impl FairQueues {
    /// Empty queues; each tenant's turn is worth `quantum` records (at least 1).
    pub fn new(quantum: u64) -> Self {
        Self {
            tenants: HashMap::new(),
            active: VecDeque::new(),
            quantum: quantum.max(1),
            records: 0,
            inflight: HashMap::new(),
            max_inflight: usize::MAX,
        }
    }

    /// Records queued in all sub-queues.
    pub fn records(&self) -> u64 {
        self.records
    }

    /// True when nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.active.is_empty()
    }

    /// Queues `item` behind its tenant's earlier items.
    pub fn push(&mut self, item: Item) {
        let tenant = item.batch.ctx.tenant.clone();
        let q = self.tenants.entry(tenant.clone()).or_default();
        if q.items.is_empty() {
            self.active.push_back(tenant);
        }
        q.records += item.records;
        self.records += item.records;
        q.items.push_back(item);
    }

    /// Takes the next bundle by deficit round-robin: each tenant in turn is credited `quantum`
    /// records and may take queued batches up to its credit (and `max_size`). A batch over
    /// `max_size` is split; its first part goes now and the rest stay at the head of the queue.
    pub fn take(&mut self, now: Instant, b: &Merging) -> Take {
        loop {
            let mut any_ready = false;
            let mut blocked = false;
            let mut earliest: Option<Instant> = None;
            for _ in 0..self.active.len() {
                let Some(tenant) = self.active.pop_front() else {
                    break;
                };
                let Some(q) = self.tenants.get_mut(&tenant) else {
                    continue;
                };
                if self.inflight.get(&tenant).copied().unwrap_or(0) >= self.max_inflight {
                    blocked = true;
                    self.active.push_back(tenant);
                    continue;
                }
                let oldest = q.items.front().map_or(now, |i| i.enqueued);
                let due = oldest + b.flush_timeout;
                if q.records < b.min_size && now < due {
                    earliest = Some(earliest.map_or(due, |e| e.min(due)));
                    self.active.push_back(tenant);
                    continue;
                }
                any_ready = true;
                let taken = take_turn(q, self.quantum, b);
                if q.items.is_empty() {
                    self.tenants.remove(&tenant);
                } else {
                    self.active.push_back(tenant);
                }
                if !taken.is_empty() {
                    self.records -= taken.iter().map(|i| i.records).sum::<u64>();
                    if self.max_inflight != usize::MAX {
                        let owner = taken[0].batch.ctx.tenant.clone();
                        *self.inflight.entry(owner).or_default() += 1;
                    }
                    return Take::Items(taken);
                }
            }
            // A ready tenant whose next batch outweighs its credit gets more credit next pass;
            // with no ready tenant, report when the first one will be.
            if !any_ready {
                return match (earliest, blocked) {
                    (Some(at), _) => Take::WaitUntil(at),
                    (None, true) => Take::Blocked,
                    (None, false) => Take::Empty,
                };
            }
        }
    }

    /// A send of `tenant`'s taken by [`FairQueues::take`] has finished.
    pub fn done(&mut self, tenant: &TenantId) {
        if let Some(n) = self.inflight.get_mut(tenant) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.inflight.remove(tenant);
            }
        }
    }

    /// Limits each tenant to `max` sends in flight at once (at least 1).
    pub fn set_max_inflight(&mut self, max: usize) {
        self.max_inflight = max.max(1);
    }

    /// Removes everything (at shutdown), returning the items.
    pub fn drain_all(&mut self) -> Vec<Item> {
        self.active.clear();
        self.records = 0;
        self.tenants.drain().flat_map(|(_, q)| q.items).collect()
    }
}

/// One tenant's turn: credit `quantum` records, take batches up to the credit and `max_size`.
fn take_turn(q: &mut TenantQueue, quantum: u64, b: &Merging) -> Vec<Item> {
    q.deficit = q.deficit.saturating_add(quantum);
    let mut taken: Vec<Item> = Vec::new();
    let mut taken_records = 0u64;
    while let Some(front_records) = q.items.front().map(|f| f.records) {
        if b.max_size > 0
            && front_records > b.max_size
            && taken.is_empty()
            && split_front(q, b.max_size)
        {
            continue;
        }
        let Some(front) = q.items.front() else { break };
        let weight = front.records.max(1);
        let over_max = b.max_size > 0 && taken_records + front.records > b.max_size;
        // One exporter may serve pipelines of several signals: a take is one signal, since a
        // bundle is sent as one request.
        let other_signal = taken
            .first()
            .is_some_and(|t: &Item| t.batch.kind() != front.batch.kind());
        if weight > q.deficit || (!taken.is_empty() && (over_max || !b.merge || other_signal)) {
            break;
        }
        q.deficit -= weight;
        taken_records += front.records;
        q.records -= front.records;
        if let Some(item) = q.items.pop_front() {
            taken.push(item);
        }
    }
    if q.items.is_empty() {
        // An idle tenant does not bank credit.
        q.deficit = 0;
    }
    taken
}

/// Replaces the head item of `q` by its parts of at most `max` records; false (and nothing
/// changed) when it does not split into several parts.
fn split_front(q: &mut TenantQueue, max: u64) -> bool {
    let Some(head) = q.items.front() else {
        return false;
    };
    let parts = split::split(&head.batch, max);
    if parts.len() < 2 {
        return false;
    }
    let Some(head) = q.items.pop_front() else {
        return false;
    };
    for (i, part) in parts.into_iter().enumerate().rev() {
        let records = part.record_count();
        q.items.push_front(Item {
            batch: Arc::new(part),
            // The whole size is released when the first part leaves.
            size: if i == 0 { head.size } else { 0 },
            records,
            enqueued: head.enqueued,
            ticket: head.ticket.clone(),
        });
    }
    true
}
