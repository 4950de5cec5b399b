//! The bounded queue's side of a disk queue's backlog: batches found on disk at start are
//! counted against the bounds and wait on disk ([`Queue::push_spilled`]); a loader takes them
//! as the memory window has room ([`Queue::next_to_load`]) and puts them back in the fair
//! queues once read ([`Queue::push_loaded`]), or gives their room back when they cannot be
//! read ([`Queue::forget_loaded`]). Nothing here fails.

use std::sync::Arc;

use tokio::time::Instant;

use super::super::fair::Item;
use super::super::spill::Spilled;
use super::{Queue, release_tenant};
use crate::Batch;

impl Queue {
    /// Queues `s`, found on disk at start, to be loaded in its turn, whatever room is left:
    /// what was on disk fitted the same bounds when it was taken.
    pub fn push_spilled(&self, s: Spilled) {
        {
            let mut st = self.inner.state.lock();
            st.used += s.size;
            st.bytes += s.bytes;
            *st.per_tenant.entry(s.tenant.clone()).or_default() += s.size;
            st.backlog.push(s);
            self.inner.gauges.used.set(st.used);
            self.inner.gauges.bytes.set(st.bytes);
            self.inner.gauges.records.set(st.records());
        }
        self.inner.load.notify_one();
    }

    /// The next batch waiting on disk, once the memory window has room for it; `None` once
    /// the queue is closed and nothing waits on disk.
    pub async fn next_to_load(&self) -> Option<Spilled> {
        loop {
            let notified = self.inner.load.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            {
                let mut s = self.inner.state.lock();
                if let Some(next) = s.backlog.pop_loadable() {
                    return Some(next);
                }
                if s.closed && s.backlog.is_empty() {
                    return None;
                }
            }
            notified.await;
        }
    }

    /// Queues `batch`, read back for `s`, in memory.
    pub fn push_loaded(&self, s: Spilled, batch: Arc<Batch>) {
        {
            let mut st = self.inner.state.lock();
            st.fair.push(Item {
                batch,
                size: s.size,
                records: s.records,
                enqueued: Instant::now(),
                ticket: Some(s.ticket),
            });
            self.inner.gauges.records.set(st.records());
        }
        self.inner.items.notify_one();
    }

    /// `s` could not be read back: its room is given back (its ticket, dropped, settles it).
    pub fn forget_loaded(&self, s: Spilled) {
        {
            let mut st = self.inner.state.lock();
            st.used = st.used.saturating_sub(s.size);
            st.bytes = st.bytes.saturating_sub(s.bytes);
            st.backlog.unloaded(s.bytes);
            release_tenant(&mut st.per_tenant, &s.tenant, s.size);
            self.inner.gauges.used.set(st.used);
            self.inner.gauges.bytes.set(st.bytes);
        }
        self.inner.space.notify_waiters();
        self.inner.items.notify_waiters();
        self.inner.load.notify_one();
    }

    /// Bytes (as `max_bytes` counts them) of the batches a disk queue holds decoded in memory:
    /// queued there, being sent or retried. 0 without a disk queue.
    pub fn loaded_bytes(&self) -> u64 {
        self.inner.state.lock().backlog.loaded_bytes()
    }
}
