//! How the writer syncs its files besides the sync of each group with `fsync: true`: all of
//! them on its own thread ([`Writer::sync_all`], at a flush and when it stops), or, with
//! `fsync_interval`, handed to a second thread so that appends never wait for the sync
//! ([`Writer::sync_in_background`]). A failed sync here is logged: the data stays in the
//! operating system's cache, written back in its time.

use std::fs::File;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::Instant;

use super::Writer;

impl Writer {
    /// Hands the open files (and those waiting in `retired`) to the syncer thread, started on
    /// first use, so that appends do not wait for the sync; skipped while it is still busy.
    pub(super) fn sync_in_background(&mut self) {
        if self.syncer.is_none() {
            let (tx, rx) = mpsc::channel::<Vec<File>>();
            let busy = Arc::new(AtomicBool::new(false));
            let flag = Arc::clone(&busy);
            let dir = self.dir.clone();
            let spawned = std::thread::Builder::new()
                .name("weir-disk-sync".into())
                .spawn(move || {
                    for files in rx {
                        for f in files {
                            if let Err(e) = f.sync_all() {
                                tracing::warn!(dir = %dir.display(), error = %e, "disk queue: sync failed");
                            }
                        }
                        flag.store(false, Ordering::Release);
                    }
                });
            match spawned {
                Ok(_) => self.syncer = Some((tx, busy)),
                Err(_) => return self.sync_all(),
            }
        }
        let Some((tx, busy)) = &self.syncer else {
            return;
        };
        if busy.swap(true, Ordering::Acquire) {
            return;
        }
        let mut files = std::mem::take(&mut self.retired);
        let open = self
            .active
            .iter()
            .map(|a| &a.file)
            .chain(self.marks.values());
        files.extend(open.filter_map(|f| f.try_clone().ok()));
        if tx.send(files).is_err() {
            busy.store(false, Ordering::Release);
            return self.sync_all();
        }
        self.last_sync = Instant::now();
        self.unsynced = false;
    }

    /// Syncs every file the writer holds, on this thread.
    pub(super) fn sync_all(&mut self) {
        for f in std::mem::take(&mut self.retired) {
            if let Err(e) = f.sync_all() {
                tracing::warn!(dir = %self.dir.display(), error = %e, "disk queue: sync failed");
            }
        }
        let files = self
            .active
            .iter()
            .map(|a| &a.file)
            .chain(self.marks.values());
        for f in files {
            if let Err(e) = f.sync_data() {
                tracing::warn!(dir = %self.dir.display(), error = %e, "disk queue: sync failed");
            }
        }
        self.last_sync = Instant::now();
        self.unsynced = false;
    }
}
