//! A stored record's ticket: shared by the queue items holding the record (the parts of a
//! split batch share one), it marks the record taken when a send of it begins, and settled
//! when the last holder lets go — unless the queue was frozen for shutdown, in which case the
//! record stays on disk for the next start. Consumers use [`Ticket::taken`] and
//! [`Ticket::settle`] and wait until the marks are written, so that only the bundles being
//! sent when weir dies can be replayed after they arrived. Nothing here fails: a mark that
//! cannot be written only makes the record replayed once more.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::oneshot;

use super::{DiskQueue, dir};

/// A stored record, settled on drop.
pub struct Ticket {
    disk: DiskQueue,
    segment: u64,
    seq: u64,
    taken: AtomicBool,
    /// Set by [`Ticket::settle`], which wrote the mark already.
    settled: bool,
}

impl std::fmt::Debug for Ticket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ticket")
            .field("segment", &self.segment)
            .field("seq", &self.seq)
            .finish()
    }
}

impl Ticket {
    pub(super) fn new(disk: DiskQueue, segment: u64, seq: u64) -> Self {
        Self {
            disk,
            segment,
            seq,
            taken: AtomicBool::new(false),
            settled: false,
        }
    }

    /// The record's sequence number.
    pub fn seq(&self) -> u64 {
        self.seq
    }

    /// A send of the record begins: if weir dies now, its replay may be a duplicate. Answers
    /// once the mark is written (the first time only; `None` after).
    pub fn taken(&self) -> Option<oneshot::Receiver<()>> {
        if self.taken.swap(true, Ordering::Relaxed) {
            return None;
        }
        let (tx, rx) = oneshot::channel();
        self.disk.mark(self.segment, self.seq, dir::TAKEN, Some(tx));
        Some(rx)
    }

    /// Lets go of the record: when this was its last holder, it is settled now and the answer
    /// comes once the mark is written; `None` when others still hold it (the last one settles
    /// it) or the queue is frozen.
    pub fn settle(ticket: Arc<Ticket>) -> Option<oneshot::Receiver<()>> {
        let mut t = Arc::into_inner(ticket)?;
        if t.disk.frozen() {
            return None;
        }
        t.settled = true;
        let (tx, rx) = oneshot::channel();
        t.disk.mark(t.segment, t.seq, dir::DONE, Some(tx));
        Some(rx)
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        if !self.settled && !self.disk.frozen() {
            self.disk.mark(self.segment, self.seq, dir::DONE, None);
        }
    }
}
