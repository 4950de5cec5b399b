//! The disk queue behind `sending_queue.storage`: every batch an exporter's queue takes is
//! also appended to a segment log of weir's own in the `file_storage` directory, before the
//! client is answered, and marked settled once the exporter sent it or gave it up (counted).
//! At start, what is not settled is read back and queued again, in order.
//!
//! Layout and format: [`dir`] (lock file, segments, marks, reading back), [`frame`] (length
//! and CRC32 per frame), [`record`] (what is stored of a batch), [`writer`] (the thread that
//! writes, syncs by the `fsync` policy, and deletes settled segments).
//!
//! Opening fails with [`DiskError`] when the directory is missing (and not to be created),
//! held by another weir, or unreadable. An append fails with [`DiskError::Full`] past
//! `max_bytes` and [`DiskError::Write`] when the disk refuses (full, read-only); the receiver
//! then answers with the retryable status.

pub mod dir;
pub mod frame;
pub mod record;
pub mod ticket;
pub mod writer;

use std::collections::BTreeMap;
use std::fs::File;
use std::io;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use tokio::sync::oneshot;

pub use dir::{Damage, Recovered, Stored};
pub use ticket::Ticket;
pub use writer::{DiskGauges, Fsync, Location};

use crate::Batch;
use writer::{Op, Space, Writer};

/// Where and how a queue is stored: an exporter's `sending_queue.storage` resolved to its
/// `file_storage` extension.
#[derive(Debug, Clone, PartialEq)]
pub struct StorageConfig {
    /// The queue's own directory (the extension's directory and a name for the exporter).
    pub directory: PathBuf,
    /// Create the directory when missing.
    pub create_directory: bool,
    /// When writes are synced to the disk.
    pub fsync: Fsync,
    /// How long to wait for another process to let go of the directory's lock.
    pub timeout: Duration,
}

/// Why the disk queue cannot open or take a batch.
#[derive(Debug, thiserror::Error)]
pub enum DiskError {
    /// Reading or creating the directory failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The error.
        source: io::Error,
    },
    /// Another process holds the directory.
    #[error(
        "{0} is in use by another weir (its lock file is held); give each weir its own directory"
    )]
    Locked(PathBuf),
    /// The directory does not exist and is not to be created.
    #[error("{0} does not exist (set create_directory: true to create it)")]
    Missing(PathBuf),
    /// The queue holds `max_bytes` on disk.
    #[error("the disk queue holds its limit of {max_bytes} bytes (sending_queue.max_bytes)")]
    Full {
        /// The cap.
        max_bytes: u64,
    },
    /// The disk refused the write.
    #[error("cannot write the disk queue: {0}")]
    Write(io::Error),
    /// A write took longer than the storage's `timeout`.
    #[error("a write to the disk queue took longer than {0:?} (file_storage timeout)")]
    Slow(std::time::Duration),
    /// The writer thread is gone.
    #[error("the disk queue's writer has stopped")]
    Stopped,
    /// A record read back does not check or decode.
    #[error("{path}: damaged record at offset {offset}: {why}")]
    Damaged {
        /// The segment file.
        path: PathBuf,
        /// Where the record was.
        offset: u64,
        /// What is wrong.
        why: String,
    },
}

/// A record written: where it is, and its ticket.
#[derive(Debug, Clone)]
pub struct OnDisk {
    /// Settles the record when its last holder drops it.
    pub ticket: Arc<Ticket>,
    /// Where its frame is.
    pub at: Location,
}

struct Shared {
    dir: PathBuf,
    ops: mpsc::Sender<Op>,
    space: Arc<Space>,
    max_bytes: u64,
    next_seq: AtomicU64,
    frozen: AtomicBool,
    _lock: File,
}

/// An open disk queue; cheap to clone.
#[derive(Clone)]
pub struct DiskQueue {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for DiskQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DiskQueue")
            .field("max_bytes", &self.shared.max_bytes)
            .finish_non_exhaustive()
    }
}

/// Size of one segment file for a queue of `max_bytes`: an eighth of it, between 16 KiB and
/// 16 MiB, so that settled records free their space soon.
fn segment_bytes(max_bytes: u64) -> u64 {
    (max_bytes / 8).clamp(16 << 10, 16 << 20)
}

impl DiskQueue {
    /// Locks and reads `cfg.directory`, starts the writer thread, and returns the queue with
    /// what it holds from before. Damage found is marked counted; the caller counts it.
    pub fn open(
        cfg: &StorageConfig,
        max_bytes: u64,
        gauges: DiskGauges,
    ) -> Result<(Self, Recovered), DiskError> {
        let lock = dir::lock(&cfg.directory, cfg.create_directory, cfg.timeout)?;
        let recovered = dir::recover(&cfg.directory)?;
        let space = Arc::new(Space::default());
        let live: BTreeMap<_, _> = recovered
            .records
            .iter()
            .map(|r| (r.header.seq, r.header.received()))
            .collect();
        let writer = Writer::new(
            cfg.directory.clone(),
            cfg.fsync,
            segment_bytes(max_bytes),
            (&recovered.segments, recovered.next_segment),
            live,
            Arc::clone(&space),
            gauges,
        );
        let (tx, rx) = mpsc::channel();
        std::thread::Builder::new()
            .name("weir-disk-queue".into())
            .spawn(move || writer.run(rx))
            .map_err(|source| DiskError::Io {
                path: cfg.directory.clone(),
                source,
            })?;
        for d in &recovered.damage {
            if recovered.segments.contains_key(&d.segment) {
                let _ = tx.send(Op::Mark {
                    segment: d.segment,
                    n: d.offset,
                    kind: dir::COUNTED,
                    written: None,
                });
            }
        }
        let queue = Self {
            shared: Arc::new(Shared {
                dir: cfg.directory.clone(),
                ops: tx,
                space,
                max_bytes: max_bytes.max(1),
                next_seq: AtomicU64::new(recovered.next_seq),
                frozen: AtomicBool::new(false),
                _lock: lock,
            }),
        };
        Ok((queue, recovered))
    }

    /// Appends `batch` at once or fails with [`DiskError::Full`]; see [`DiskQueue::append_within`].
    pub async fn append(&self, batch: &Batch) -> Result<OnDisk, DiskError> {
        let now = tokio::time::Instant::now();
        self.append_within(batch, Some(now), None).await
    }

    /// Appends `batch`, waiting for room under the cap until `room_until` (`None`: as long as
    /// it takes), then for the write (and its sync, with `fsync: true`) up to `write_timeout`;
    /// the ticket settles the record when its last holder is dropped. A write that times out
    /// is settled by the writer when it completes, so it is never replayed.
    pub async fn append_within(
        &self,
        batch: &Batch,
        room_until: Option<tokio::time::Instant>,
        write_timeout: Option<std::time::Duration>,
    ) -> Result<OnDisk, DiskError> {
        let seq = self.shared.next_seq.fetch_add(1, Ordering::Relaxed);
        let header = record::Header::of(batch, seq).encode();
        let payload = record::encode_payload(batch);
        let mut bytes = Vec::with_capacity(frame::frame_len(header.len(), payload.len()));
        frame::encode(&mut bytes, &header, &payload);
        let len = bytes.len() as u64;
        self.room_for(len, room_until).await?;
        let (reply, answer) = oneshot::channel();
        let op = Op::Append(writer::Append {
            frame: bytes,
            seq,
            received: batch.ctx.received_wall,
            reply,
        });
        if self.shared.ops.send(op).is_err() {
            let mut room = self.shared.space.room.lock();
            room.pending = room.pending.saturating_sub(len);
            return Err(DiskError::Stopped);
        }
        let answer = match write_timeout {
            Some(limit) => tokio::time::timeout(limit, answer)
                .await
                .map_err(|_| DiskError::Slow(limit))?,
            None => answer.await,
        };
        match answer {
            Ok(Ok(at)) => Ok(OnDisk {
                ticket: Arc::new(Ticket::new(self.clone(), at.segment, seq)),
                at,
            }),
            Ok(Err(e)) => Err(DiskError::Write(e)),
            Err(_) => Err(DiskError::Stopped),
        }
    }

    /// Promises `len` bytes under the cap, waiting for the writer to free some until `until`.
    /// An empty queue always takes one record, however large.
    async fn room_for(
        &self,
        len: u64,
        until: Option<tokio::time::Instant>,
    ) -> Result<(), DiskError> {
        let space = &self.shared.space;
        loop {
            let freed = space.freed.notified();
            tokio::pin!(freed);
            freed.as_mut().enable();
            {
                let mut room = space.room.lock();
                let held = room.on_disk + room.pending;
                if held == 0 || held + len <= self.shared.max_bytes {
                    room.pending += len;
                    return Ok(());
                }
            }
            let full = DiskError::Full {
                max_bytes: self.shared.max_bytes,
            };
            match until {
                None => freed.await,
                Some(at) if tokio::time::Instant::now() >= at => return Err(full),
                Some(at) => {
                    tokio::select! {
                        _ = freed => {}
                        _ = tokio::time::sleep_until(at) => {}
                    }
                }
            }
        }
    }

    /// The ticket of a record read back at start.
    pub fn ticket_of(&self, stored: &Stored) -> Arc<Ticket> {
        Arc::new(Ticket::new(self.clone(), stored.segment, stored.header.seq))
    }

    /// Reads back the batch stored at `at` (blocking file I/O: call it off the runtime's
    /// workers); fails when the file cannot be read or the record no longer checks.
    pub fn read(&self, at: Location) -> Result<Batch, DiskError> {
        use std::os::unix::fs::FileExt;
        let path = dir::segment_path(&self.shared.dir, at.segment);
        let damaged = |why: String| DiskError::Damaged {
            path: path.clone(),
            offset: at.offset,
            why,
        };
        let mut buf = vec![0u8; usize::try_from(at.len).unwrap_or(usize::MAX)];
        File::open(&path)
            .and_then(|f| f.read_exact_at(&mut buf, at.offset))
            .map_err(|source| DiskError::Io {
                path: path.clone(),
                source,
            })?;
        match frame::scan(&buf).first() {
            Some(frame::Scanned::Frame {
                header, payload, ..
            }) => {
                let header = record::Header::decode(header).map_err(|e| damaged(e.to_string()))?;
                record::decode(&header, payload).map_err(|e| damaged(e.to_string()))
            }
            _ => Err(damaged("checksum mismatch".into())),
        }
    }

    /// From now on, records whose tickets are dropped stay on disk (unsettled) for the next
    /// start: called when the drain deadline passes.
    pub fn freeze(&self) {
        self.shared.frozen.store(true, Ordering::SeqCst);
    }

    /// Waits until everything written so far is synced to the disk.
    pub async fn flush(&self) {
        let (tx, rx) = oneshot::channel();
        if self.shared.ops.send(Op::Flush(tx)).is_ok() {
            let _ = rx.await;
        }
    }

    /// Sends a mark to the writer; with `written`, answered once it is in the file.
    fn mark(&self, segment: u64, n: u64, kind: u8, written: Option<oneshot::Sender<()>>) {
        let _ = self.shared.ops.send(Op::Mark {
            segment,
            n,
            kind,
            written,
        });
    }

    fn frozen(&self) -> bool {
        self.shared.frozen.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests;
