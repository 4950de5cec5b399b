//! The tenants' limiter state: for each tenant seen recently, its three GCRA states (records,
//! bytes, requests) and when they are surely full again; sharded maps behind short locks.
//!
//! Memory stays bounded: a tenant is kept only until its buckets have refilled (after that its
//! state is the same as a fresh one, so forgetting it gives nothing away, as governor's
//! `retain_recent`). Requests sweep the table as they pass: at most one shard per
//! [`SWEEP_STEP`], round robin, so a full pass takes [`SHARDS`] × [`SWEEP_STEP`] (8 s) and no
//! request pays for more than one shard; a swept shard whose map is mostly empty is shrunk. A
//! tenant is therefore held at most its refill time plus one pass after its last request,
//! whatever the number of distinct tenant ids. A table that gets no requests is not swept (and
//! does not grow). Nothing here fails.

use std::collections::HashMap;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use foldhash::fast::RandomState;
use parking_lot::Mutex;
use weir_pipeline::TenantId;

/// Shards of the table (a power of two).
pub(super) const SHARDS: usize = 64;
/// Time between two shard sweeps.
pub(super) const SWEEP_STEP: Duration = Duration::from_millis(125);

/// A tenant's stored state.
#[derive(Debug, Clone, Copy)]
pub(super) struct Entry {
    /// GCRA states by [`super::config::Kind`] order; `0` before the first request.
    pub tats: [u64; 3],
    /// When (nanoseconds on the processor's clock) every bucket is full again.
    pub forget_at: u64,
}

/// What a check decided, and the state to store when it admitted the request.
pub(super) struct Decision<R> {
    /// The answer for the caller.
    pub answer: R,
    /// The new state, only when the request is admitted.
    pub commit: Option<Entry>,
}

type Shard = Mutex<HashMap<TenantId, Entry, RandomState>>;

/// Every tenant's state, sharded by a hash of the tenant id.
#[derive(Debug)]
pub(super) struct Table {
    shards: Box<[Shard]>,
    /// Picks the shard; seeded apart from the maps' own hashers so a shard's keys still spread
    /// over its map.
    pick: RandomState,
    /// When the next shard may be swept (nanoseconds on the processor's clock).
    next_sweep: AtomicU64,
    /// The next shard to sweep (modulo [`SHARDS`]).
    cursor: AtomicUsize,
}

impl Table {
    /// An empty table.
    pub(super) fn new() -> Self {
        Self {
            shards: (0..SHARDS)
                .map(|_| Mutex::new(HashMap::with_hasher(RandomState::default())))
                .collect(),
            pick: RandomState::default(),
            next_sweep: AtomicU64::new(0),
            cursor: AtomicUsize::new(0),
        }
    }

    fn shard(&self, tenant: &TenantId) -> &Shard {
        // SHARDS is a power of two, so the mask keeps the index in range.
        let i = (self.pick.hash_one(tenant) as usize) & (SHARDS - 1);
        &self.shards[i]
    }

    /// Runs `decide` on `tenant`'s stored states (all `0` for a tenant not held) under the
    /// shard's lock, and stores the state it commits. A tenant is added only when a request of
    /// it is admitted.
    pub(super) fn decide<R>(
        &self,
        tenant: &TenantId,
        decide: impl FnOnce([u64; 3]) -> Decision<R>,
    ) -> R {
        let mut map = self.shard(tenant).lock();
        match map.get_mut(tenant) {
            Some(entry) => {
                let d = decide(entry.tats);
                if let Some(new) = d.commit {
                    *entry = new;
                }
                d.answer
            }
            None => {
                let d = decide([0; 3]);
                if let Some(new) = d.commit {
                    map.insert(tenant.clone(), new);
                }
                d.answer
            }
        }
    }

    /// Runs `give_back` on `tenant`'s stored states under the shard's lock; a tenant not held
    /// (forgotten, so its buckets are full) has nothing to give back.
    pub(super) fn refund(&self, tenant: &TenantId, give_back: impl FnOnce(&mut [u64; 3])) {
        if let Some(entry) = self.shard(tenant).lock().get_mut(tenant) {
            give_back(&mut entry.tats);
        }
    }

    /// Sweeps the next shard when [`SWEEP_STEP`] has passed since the last sweep: forgets the
    /// tenants whose buckets are full again at `now`, and shrinks the map when it is mostly
    /// empty.
    pub(super) fn maybe_sweep(&self, now: u64) {
        let due = self.next_sweep.load(Ordering::Relaxed);
        if now < due {
            return;
        }
        let next = now.saturating_add(SWEEP_STEP.as_nanos() as u64);
        if self
            .next_sweep
            .compare_exchange(due, next, Ordering::Relaxed, Ordering::Relaxed)
            .is_err()
        {
            return; // another request is sweeping this step
        }
        let i = self.cursor.fetch_add(1, Ordering::Relaxed) & (SHARDS - 1);
        let mut map = self.shards[i].lock();
        map.retain(|_, e| e.forget_at > now);
        if map.capacity() > 64 && map.capacity() > map.len() * 4 {
            let keep = map.len() * 2;
            map.shrink_to(keep);
        }
    }

    /// Tenants held now.
    pub(super) fn len(&self) -> usize {
        self.shards.iter().map(|s| s.lock().len()).sum()
    }

    /// Slots allocated in the maps now (held tenants plus room), to show that sweeping gives
    /// memory back.
    #[cfg(test)]
    pub(super) fn capacity(&self) -> usize {
        self.shards.iter().map(|s| s.lock().capacity()).sum()
    }
}
