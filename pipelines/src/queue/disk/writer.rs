//! The disk queue's writer: one thread that owns the directory's files. It appends records in
//! groups (every append waiting when it wakes is written with one `write` and, with
//! `fsync: true`, one `fdatasync`: group commit), writes marks, starts a new segment when the
//! current one is full, deletes segments whose records are all settled, and keeps the gauges.
//!
//! With `fsync_interval`, the interval's sync runs on a second thread, so appends never wait
//! for it (`writer/sync.rs`). A failed append (disk full, I/O error) cuts the segment back to where it was, so no torn
//! frame stays in the middle of a file, and answers the error to every append of the group. A
//! failed mark is logged: a lost mark makes a record replayed once more, nothing worse.

use std::collections::{BTreeMap, HashMap};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant, SystemTime};

use parking_lot::Mutex;
use tokio::sync::oneshot;

mod sync;

use super::dir::{self, DONE};
use crate::metrics::Counter;

/// When the writer syncs what it wrote to the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fsync {
    /// Before an append is answered (`fsync: true`).
    Always,
    /// At most this long after a write (`fsync: false` with an `fsync_interval`).
    Every(Duration),
    /// When the operating system writes its cache back (`fsync_interval: 0s`).
    Never,
}

/// One record to append; answered with its segment.
pub struct Append {
    /// The encoded frame.
    pub frame: Vec<u8>,
    /// Its sequence number.
    pub seq: u64,
    /// When its request arrived.
    pub received: SystemTime,
    /// Where it was written, or why it could not be.
    pub reply: oneshot::Sender<io::Result<Location>>,
}

/// Where a frame is: its segment, offset and length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Location {
    /// The segment's number.
    pub segment: u64,
    /// Where the frame starts in it.
    pub offset: u64,
    /// The frame's length.
    pub len: u64,
}

/// Work for the writer.
pub enum Op {
    /// Append one frame.
    Append(Append),
    /// Mark record (or offset) `n` of `segment` as `kind` (`dir::TAKEN`, `DONE`, `COUNTED`).
    Mark {
        /// The record's segment.
        segment: u64,
        /// The sequence number (offset for `COUNTED`).
        n: u64,
        /// What happened.
        kind: u8,
        /// Answered once the mark is in the file (or its segment deleted).
        written: Option<oneshot::Sender<()>>,
    },
    /// Sync every file, then answer.
    Flush(oneshot::Sender<()>),
}

/// The room on disk, shared by the writer and the appenders.
#[derive(Debug, Default)]
pub struct Space {
    /// Bytes used and promised.
    pub room: Mutex<Room>,
    /// Woken when bytes are given back (a segment deleted, an append failed).
    pub freed: tokio::sync::Notify,
}

/// Bytes on disk and promised to appends in flight, checked against the cap by appenders.
#[derive(Debug, Default)]
pub struct Room {
    /// Bytes of the directory's segments and marks.
    pub on_disk: u64,
    /// Bytes of appends sent to the writer and not yet written or failed.
    pub pending: u64,
}

/// The gauges the writer keeps current.
#[derive(Debug, Clone, Default)]
pub struct DiskGauges {
    /// `weir_exporter_queue_disk_bytes`.
    pub bytes: Counter,
    /// `weir_exporter_queue_oldest_record_age_seconds`.
    pub oldest_age: Counter,
}

#[derive(Debug, Default)]
struct Segment {
    bytes: u64,
    live: u64,
}

struct Active {
    number: u64,
    file: File,
    len: u64,
}

/// The writer's state; [`Writer::run`] is the thread's body.
pub struct Writer {
    dir: PathBuf,
    fsync: Fsync,
    segment_bytes: u64,
    active: Option<Active>,
    next_segment: u64,
    segments: BTreeMap<u64, Segment>,
    marks: HashMap<u64, File>,
    /// Unsettled records: sequence number → arrival, for the oldest record's age.
    live: BTreeMap<u64, SystemTime>,
    space: Arc<Space>,
    gauges: DiskGauges,
    last_sync: Instant,
    unsynced: bool,
    /// With `fsync_interval`: the thread that syncs in the background, busy while it does.
    syncer: Option<(mpsc::Sender<Vec<File>>, Arc<AtomicBool>)>,
    /// Files to sync at the next interval besides the open ones: closed segments, and the
    /// directory when a segment was created.
    retired: Vec<File>,
}

impl Writer {
    /// A writer for `dir`, whose segments (number → bytes, unsettled records) and unsettled
    /// records (sequence → arrival) were read back at start.
    pub fn new(
        dir: PathBuf,
        fsync: Fsync,
        segment_bytes: u64,
        recovered: (&BTreeMap<u64, (u64, u64)>, u64),
        live: BTreeMap<u64, SystemTime>,
        space: Arc<Space>,
        gauges: DiskGauges,
    ) -> Self {
        let (segments, next_segment) = recovered;
        let segments: BTreeMap<u64, Segment> = segments
            .iter()
            .map(|(n, (bytes, live))| {
                (
                    *n,
                    Segment {
                        bytes: *bytes,
                        live: *live,
                    },
                )
            })
            .collect();
        space.room.lock().on_disk = segments.values().map(|s| s.bytes).sum();
        Self {
            dir,
            fsync,
            segment_bytes: segment_bytes.max(1),
            active: None,
            next_segment,
            segments,
            marks: HashMap::new(),
            live,
            space,
            gauges,
            last_sync: Instant::now(),
            unsynced: false,
            syncer: None,
            retired: Vec::new(),
        }
    }

    /// Serves `ops` until every sender is gone, then syncs.
    pub fn run(mut self, ops: Receiver<Op>) {
        let tick = match self.fsync {
            Fsync::Every(d) => d.clamp(Duration::from_millis(1), Duration::from_secs(1)),
            _ => Duration::from_secs(1),
        };
        self.update_gauges();
        loop {
            let mut batch = match ops.recv_timeout(tick) {
                Ok(op) => vec![op],
                Err(RecvTimeoutError::Timeout) => Vec::new(),
                Err(RecvTimeoutError::Disconnected) => break,
            };
            while batch.len() < 4096 {
                match ops.try_recv() {
                    Ok(op) => batch.push(op),
                    Err(_) => break,
                }
            }
            self.handle(batch);
            if let Fsync::Every(d) = self.fsync
                && self.unsynced
                && self.last_sync.elapsed() >= d
            {
                self.sync_in_background();
            }
            self.update_gauges();
        }
        self.sync_all();
    }

    fn handle(&mut self, batch: Vec<Op>) {
        let mut appends = Vec::new();
        let mut flushes = Vec::new();
        for op in batch {
            match op {
                Op::Append(a) => appends.push(a),
                Op::Mark {
                    segment,
                    n,
                    kind,
                    written,
                } => {
                    self.mark(segment, n, kind);
                    if let Some(w) = written {
                        let _ = w.send(());
                    }
                }
                Op::Flush(reply) => flushes.push(reply),
            }
        }
        if !appends.is_empty() {
            self.append(appends);
        }
        if !flushes.is_empty() {
            self.sync_all();
            // Whoever waits for the flush reads figures that include it.
            self.update_gauges();
            for f in flushes {
                let _ = f.send(());
            }
        }
    }

    fn append(&mut self, group: Vec<Append>) {
        let total: u64 = group.iter().map(|a| a.frame.len() as u64).sum();
        let result = self.write_group(&group);
        let mut room = self.space.room.lock();
        room.pending = room.pending.saturating_sub(total);
        match result {
            Ok((number, start)) => {
                room.on_disk += total;
                drop(room);
                if let Some(seg) = self.segments.get_mut(&number) {
                    seg.bytes += total;
                    seg.live += group.len() as u64;
                }
                let mut offset = start;
                for a in group {
                    self.live.insert(a.seq, a.received);
                    let len = a.frame.len() as u64;
                    let at = Location {
                        segment: number,
                        offset,
                        len,
                    };
                    offset += len;
                    if a.reply.send(Ok(at)).is_err() {
                        // Nobody waits for it any more (the storage timeout passed, the
                        // client was refused): settled at once, never replayed.
                        self.mark(number, a.seq, DONE);
                    }
                }
                if self
                    .active
                    .as_ref()
                    .is_some_and(|a| a.len >= self.segment_bytes)
                {
                    self.rotate();
                }
            }
            Err(e) => {
                drop(room);
                self.space.freed.notify_waiters();
                for a in group {
                    let _ = a.reply.send(Err(io::Error::new(e.kind(), e.to_string())));
                }
            }
        }
    }

    /// Writes the group's frames to the active segment (opened when needed) and syncs them
    /// when `fsync: true`; cuts the segment back when that fails. Answers the segment and where
    /// the group starts in it.
    fn write_group(&mut self, group: &[Append]) -> io::Result<(u64, u64)> {
        if self.active.is_none() {
            self.open_segment()?;
        }
        let Some(active) = self.active.as_mut() else {
            return Err(io::Error::other("no segment open"));
        };
        let mut buf = Vec::with_capacity(group.iter().map(|a| a.frame.len()).sum());
        for a in group {
            buf.extend_from_slice(&a.frame);
        }
        let written = active.file.write_all(&buf).and_then(|()| match self.fsync {
            Fsync::Always => active.file.sync_data(),
            _ => Ok(()),
        });
        match written {
            Ok(()) => {
                let start = active.len;
                active.len += buf.len() as u64;
                self.unsynced = self.fsync != Fsync::Always;
                Ok((active.number, start))
            }
            Err(e) => {
                // Appends go to the end (O_APPEND): cutting back is enough to resume there.
                let _ = active.file.set_len(active.len);
                Err(e)
            }
        }
    }

    fn open_segment(&mut self) -> io::Result<()> {
        let number = self.next_segment;
        let file = OpenOptions::new()
            .create_new(true)
            .append(true)
            .open(dir::segment_path(&self.dir, number))?;
        // The new file's name must survive a power loss too: synced now with `fsync: true`,
        // with the next interval's sync otherwise.
        match self.fsync {
            Fsync::Always => File::open(&self.dir)?.sync_all()?,
            Fsync::Every(_) => self.retired.push(File::open(&self.dir)?),
            Fsync::Never => {}
        }
        self.next_segment += 1;
        self.segments.insert(number, Segment::default());
        self.active = Some(Active {
            number,
            file,
            len: 0,
        });
        Ok(())
    }

    /// Closes the full active segment; the next append opens a new one.
    fn rotate(&mut self) {
        let Some(old) = self.active.take() else {
            return;
        };
        match self.fsync {
            Fsync::Always => {
                if let Err(e) = old.file.sync_data() {
                    tracing::warn!(dir = %self.dir.display(), error = %e, "disk queue: sync failed");
                }
            }
            Fsync::Every(_) => self.retired.push(old.file),
            Fsync::Never => {}
        }
        if self.segments.get(&old.number).is_some_and(|s| s.live == 0) {
            self.delete(old.number);
        }
    }

    fn mark(&mut self, segment: u64, n: u64, kind: u8) {
        if kind == DONE {
            self.live.remove(&n);
            let Some(seg) = self.segments.get_mut(&segment) else {
                return;
            };
            seg.live = seg.live.saturating_sub(1);
            if seg.live == 0 {
                // Nothing left to send in it: its space is given back now (a fresh segment
                // takes the next append when this was the one being written).
                if self.active.as_ref().is_some_and(|a| a.number == segment) {
                    self.active = None;
                }
                self.delete(segment);
                return;
            }
        }
        let mut buf = Vec::with_capacity(32);
        dir::encode_mark(&mut buf, kind, n);
        let path = dir::marks_path(&self.dir, segment);
        let file = match self.marks.entry(segment) {
            std::collections::hash_map::Entry::Occupied(f) => f.into_mut(),
            std::collections::hash_map::Entry::Vacant(v) => {
                match OpenOptions::new().create(true).append(true).open(&path) {
                    Ok(f) => v.insert(f),
                    Err(e) => {
                        tracing::warn!(path = %path.display(), error = %e, "disk queue: cannot open marks");
                        return;
                    }
                }
            }
        };
        match file.write_all(&buf) {
            Ok(()) => {
                if let Some(seg) = self.segments.get_mut(&segment) {
                    seg.bytes += buf.len() as u64;
                }
                self.space.room.lock().on_disk += buf.len() as u64;
                self.unsynced = true;
            }
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "disk queue: cannot write a mark")
            }
        }
    }

    fn delete(&mut self, segment: u64) {
        self.marks.remove(&segment);
        for path in [
            dir::segment_path(&self.dir, segment),
            dir::marks_path(&self.dir, segment),
        ] {
            if let Err(e) = fs::remove_file(&path)
                && e.kind() != io::ErrorKind::NotFound
            {
                tracing::warn!(path = %path.display(), error = %e, "disk queue: cannot delete");
            }
        }
        if let Some(seg) = self.segments.remove(&segment) {
            let mut room = self.space.room.lock();
            room.on_disk = room.on_disk.saturating_sub(seg.bytes);
            drop(room);
            self.space.freed.notify_waiters();
        }
    }

    fn update_gauges(&self) {
        self.gauges.bytes.set(self.space.room.lock().on_disk);
        let age = self
            .live
            .first_key_value()
            .and_then(|(_, at)| at.elapsed().ok())
            .map_or(0, |d| d.as_secs());
        self.gauges.oldest_age.set(age);
    }
}
