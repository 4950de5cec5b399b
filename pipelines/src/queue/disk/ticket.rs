//! A stored record's ticket: shared by the queue items holding the record (the parts of a
//! split batch share one), it marks the record taken when a send of it begins, and settled
//! when the last holder lets go — unless the queue was frozen for shutdown, in which case the
//! record stays on disk for the next start. Nothing here fails: a mark that cannot be written
//! only makes the record replayed once more.

use std::sync::atomic::{AtomicBool, Ordering};

use super::{DiskQueue, dir};

/// A stored record, settled on drop.
pub struct Ticket {
    disk: DiskQueue,
    segment: u64,
    seq: u64,
    taken: AtomicBool,
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
        }
    }

    /// The record's sequence number.
    pub fn seq(&self) -> u64 {
        self.seq
    }

    /// A send of the record begins: if weir dies now, its replay may be a duplicate.
    pub fn taken(&self) {
        if !self.taken.swap(true, Ordering::Relaxed) {
            self.disk.mark(self.segment, self.seq, dir::TAKEN);
        }
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        if !self.disk.frozen() {
            self.disk.mark(self.segment, self.seq, dir::DONE);
        }
    }
}
