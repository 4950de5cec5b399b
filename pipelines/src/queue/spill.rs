//! With a disk queue, only a window of the queue is held decoded in memory: a batch committed
//! when the window is full (or when older batches already wait on disk) is kept on disk only,
//! in a FIFO backlog, and a loader task reads it back, in order, as sends complete. A backlog
//! as large as `max_bytes` therefore lives on disk, not in the process's memory. What was on
//! disk at start joins the backlog the same way.
//!
//! [`Backlog`] is the pure bookkeeping (it lives in the queue's state, under its lock);
//! [`run_loader`] is the task. A record that cannot be read back (I/O error, damage since it
//! was written) is counted as damage (`replay::count_damage`) and settled; the loader never
//! stops for it.

use std::collections::VecDeque;
use std::sync::Arc;

use super::bounded::Queue;
use super::disk::{DiskQueue, Location, Ticket};
use super::replay;
use crate::{Metrics, SignalKind, TenantId};

/// Most bytes (of requests, as `max_bytes` counts them) held decoded in memory with a disk
/// queue: the default `max_bytes`, whose memory cost BENCHMARKS.md measured.
pub const MEMORY_WINDOW: u64 = super::config::DEFAULT_MAX_BYTES;

/// A committed batch kept on disk only.
#[derive(Debug)]
pub struct Spilled {
    /// Its record's ticket.
    pub ticket: Arc<Ticket>,
    /// Where its frame is.
    pub at: Location,
    /// Its size in the queue's sizer unit.
    pub size: u64,
    /// Its bytes, as `max_bytes` counts them.
    pub bytes: u64,
    /// Its records.
    pub records: u64,
    /// Its signal and tenant, for counting it when it cannot be read back.
    pub signal: SignalKind,
    /// Its tenant.
    pub tenant: TenantId,
}

/// The on-disk-only part of a queue and the bytes loaded in memory.
#[derive(Debug, Default)]
pub struct Backlog {
    waiting: VecDeque<Spilled>,
    records: u64,
    /// Bytes of batches held decoded: queued in memory, being sent or retried.
    loaded: u64,
}

impl Backlog {
    /// True when a batch of `bytes` must wait on disk: older ones do, or the window is full.
    pub fn must_wait(&self, bytes: u64) -> bool {
        !self.waiting.is_empty() || (self.loaded > 0 && self.loaded + bytes > MEMORY_WINDOW)
    }

    /// Keeps `s` on disk until its turn.
    pub fn push(&mut self, s: Spilled) {
        self.records += s.records;
        self.waiting.push_back(s);
    }

    /// The oldest waiting batch, when the window has room for it; counted as loaded.
    pub fn pop_loadable(&mut self) -> Option<Spilled> {
        let front = self.waiting.front()?;
        if self.loaded > 0 && self.loaded + front.bytes > MEMORY_WINDOW {
            return None;
        }
        let s = self.waiting.pop_front()?;
        self.records -= s.records;
        self.loaded += s.bytes;
        Some(s)
    }

    /// `bytes` went into memory without waiting.
    pub fn loaded(&mut self, bytes: u64) {
        self.loaded += bytes;
    }

    /// `bytes` held in memory were let go (sent, given up, or not readable).
    pub fn unloaded(&mut self, bytes: u64) {
        self.loaded = self.loaded.saturating_sub(bytes);
    }

    /// Bytes held in memory.
    pub fn loaded_bytes(&self) -> u64 {
        self.loaded
    }

    /// Records waiting on disk.
    pub fn records(&self) -> u64 {
        self.records
    }

    /// True when nothing waits on disk.
    pub fn is_empty(&self) -> bool {
        self.waiting.is_empty()
    }

    /// Everything waiting, removed (the drain deadline passed).
    pub fn clear(&mut self) -> Vec<Spilled> {
        self.records = 0;
        self.loaded = 0;
        self.waiting.drain(..).collect()
    }
}

/// Reads the backlog back into `queue`, in order, as the memory window allows; ends once the
/// queue is closed and nothing waits on disk.
pub async fn run_loader(queue: Queue, disk: DiskQueue, id: Arc<str>, metrics: Metrics) {
    while let Some(s) = queue.next_to_load().await {
        let reader = disk.clone();
        let at = s.at;
        let why = match tokio::task::spawn_blocking(move || reader.read(at)).await {
            Ok(Ok(batch)) => {
                queue.push_loaded(s, Arc::new(batch));
                continue;
            }
            Ok(Err(e)) => e.to_string(),
            Err(e) => e.to_string(),
        };
        tracing::warn!(exporter = %id, error = %why, "disk queue: a stored batch cannot be read back");
        replay::count_damage(
            &metrics,
            &id,
            Some((s.signal.as_str(), s.tenant.as_str(), s.records)),
        );
        queue.forget_loaded(s);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_bounds_what_is_loaded() {
        let mut b = Backlog::default();
        assert!(
            !b.must_wait(MEMORY_WINDOW * 2),
            "an empty window takes anything"
        );
        b.loaded(MEMORY_WINDOW - 10);
        assert!(!b.must_wait(10));
        assert!(b.must_wait(11));
        b.unloaded(MEMORY_WINDOW - 10);
        assert!(!b.must_wait(11));
        assert_eq!(b.records(), 0);
        assert!(b.pop_loadable().is_none());
    }
}
