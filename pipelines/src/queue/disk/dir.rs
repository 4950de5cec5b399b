//! A disk queue's directory: the lock file that keeps a second weir out, the segment files
//! (`<n>.seg`, stored records) and their mark files (`<n>.ack`: taken, done, damage counted),
//! and reading them back at start ([`recover`]).
//!
//! Locking fails with [`DiskError::Locked`] when another process holds the directory past the
//! timeout; reading fails only on I/O errors. Damage in the files is not an error: it is
//! returned, to be counted once (a `counted` mark keeps a later start from counting it again).

use std::collections::{BTreeMap, HashSet};
use std::fs::{self, File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::DiskError;
use super::frame::{self, Scanned};
use super::record::Header;
use super::writer::Location;

/// A mark: the record's send began.
pub const TAKEN: u8 = 1;
/// A mark: the record is settled (sent, or given up and counted); never replayed.
pub const DONE: u8 = 2;
/// A mark: damage at this offset of the segment was counted.
pub const COUNTED: u8 = 3;

/// The path of segment `n`.
pub fn segment_path(dir: &Path, n: u64) -> PathBuf {
    dir.join(format!("{n:016}.seg"))
}

/// The path of segment `n`'s marks.
pub fn marks_path(dir: &Path, n: u64) -> PathBuf {
    dir.join(format!("{n:016}.ack"))
}

/// One mark as stored: `kind` and a sequence number (or an offset, for [`COUNTED`]).
pub fn encode_mark(out: &mut Vec<u8>, kind: u8, n: u64) {
    let mut header = [0u8; 9];
    header[0] = kind;
    header[1..].copy_from_slice(&n.to_le_bytes());
    frame::encode(out, &header, &[]);
}

/// Takes the directory's lock file, creating the directory when `create` (else it must
/// exist), retrying until `timeout`. The lock is held as long as the returned file is open.
pub fn lock(dir: &Path, create: bool, timeout: Duration) -> Result<File, DiskError> {
    let io_err = |source| DiskError::Io {
        path: dir.to_owned(),
        source,
    };
    if create {
        fs::create_dir_all(dir).map_err(io_err)?;
    } else if !dir.is_dir() {
        return Err(DiskError::Missing(dir.to_owned()));
    }
    let path = dir.join("lock");
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|source| DiskError::Io {
            path: path.clone(),
            source,
        })?;
    let deadline = Instant::now() + timeout;
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(file),
            Err(fs::TryLockError::WouldBlock) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(fs::TryLockError::WouldBlock) => return Err(DiskError::Locked(dir.to_owned())),
            Err(fs::TryLockError::Error(source)) => return Err(DiskError::Io { path, source }),
        }
    }
}

/// A record found at start, not yet settled (its payload stays on disk until it is loaded).
#[derive(Debug)]
pub struct Stored {
    /// The segment holding it.
    pub segment: u64,
    /// Its header.
    pub header: Header,
    /// Where its frame is (read back when it is to be sent).
    pub at: Location,
    /// A send of it had begun (it may have reached the backend).
    pub taken: bool,
}

/// Damage found and not counted before.
#[derive(Debug)]
pub struct Damage {
    /// The segment it is in.
    pub segment: u64,
    /// Where in the segment.
    pub offset: u64,
    /// The damaged record's header, when it could be read.
    pub header: Option<Header>,
}

/// What a directory holds.
#[derive(Debug, Default)]
pub struct Recovered {
    /// Unsettled records, in the order they were stored.
    pub records: Vec<Stored>,
    /// New damage.
    pub damage: Vec<Damage>,
    /// Each segment still on disk: its bytes (with its marks) and its unsettled records.
    pub segments: BTreeMap<u64, (u64, u64)>,
    /// The next segment number to use.
    pub next_segment: u64,
    /// The next sequence number to use.
    pub next_seq: u64,
}

/// The segment numbers in `dir`, in order.
fn segment_numbers(dir: &Path) -> io::Result<Vec<u64>> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir)? {
        let name = entry?.file_name();
        let name = name.to_string_lossy();
        if let Some(n) = name.strip_suffix(".seg").and_then(|n| n.parse().ok()) {
            out.push(n);
        }
    }
    out.sort_unstable();
    Ok(out)
}

fn read_or_empty(path: &Path) -> io::Result<Vec<u8>> {
    match fs::read(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Vec::new()),
        other => other,
    }
}

/// Reads every segment of `dir` and its marks. Segments with nothing left to send are
/// deleted; damage not counted before is returned (and, in a segment kept, should then be
/// marked [`COUNTED`]).
pub fn recover(dir: &Path) -> Result<Recovered, DiskError> {
    let io_err = |path: &Path| {
        let path = path.to_owned();
        move |source| DiskError::Io { path, source }
    };
    let mut out = Recovered::default();
    for n in segment_numbers(dir).map_err(io_err(dir))? {
        out.next_segment = n + 1;
        let seg_path = segment_path(dir, n);
        let marks_path = marks_path(dir, n);
        let data = fs::read(&seg_path).map_err(io_err(&seg_path))?;
        let marks = read_or_empty(&marks_path).map_err(io_err(&marks_path))?;
        let (mut taken, mut done, mut counted) = (HashSet::new(), HashSet::new(), HashSet::new());
        for s in frame::scan(&marks) {
            // A torn mark at the end is a mark not written: the record is replayed.
            if let Scanned::Frame { header, .. } = s
                && header.len() == 9
            {
                let mut v = [0u8; 8];
                v.copy_from_slice(&header[1..]);
                let v = u64::from_le_bytes(v);
                match header[0] {
                    TAKEN => taken.insert(v),
                    DONE => done.insert(v),
                    COUNTED => counted.insert(v),
                    _ => false,
                };
            }
        }
        let mut live = 0;
        for s in frame::scan(&data) {
            match s {
                Scanned::Frame {
                    offset,
                    header,
                    payload,
                } => match Header::decode(header) {
                    Ok(h) => {
                        out.next_seq = out.next_seq.max(h.seq + 1);
                        if !done.contains(&h.seq) {
                            live += 1;
                            out.records.push(Stored {
                                segment: n,
                                taken: taken.contains(&h.seq),
                                header: h,
                                at: Location {
                                    segment: n,
                                    offset,
                                    len: frame::frame_len(header.len(), payload.len()) as u64,
                                },
                            });
                        }
                    }
                    Err(_) if !counted.contains(&offset) => out.damage.push(Damage {
                        segment: n,
                        offset,
                        header: None,
                    }),
                    Err(_) => {}
                },
                Scanned::Damaged { offset, header } if !counted.contains(&offset) => {
                    let header = header.and_then(|h| Header::decode(h).ok());
                    if let Some(h) = &header {
                        out.next_seq = out.next_seq.max(h.seq + 1);
                    }
                    out.damage.push(Damage {
                        segment: n,
                        offset,
                        header,
                    });
                }
                Scanned::Damaged { .. } => {}
            }
        }
        if live == 0 {
            // Nothing to send: its damage, if any, is returned now and never read again.
            let _ = fs::remove_file(&seg_path);
            let _ = fs::remove_file(&marks_path);
            continue;
        }
        let bytes = data.len() as u64 + marks.len() as u64;
        out.segments.insert(n, (bytes, live));
    }
    Ok(out)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    #[test]
    fn a_second_owner_is_refused_while_the_first_holds_the_lock() {
        let dir = tempdir("lock");
        let held = lock(&dir, true, Duration::ZERO).expect("first");
        let second = lock(&dir, false, Duration::from_millis(50));
        assert!(matches!(second, Err(DiskError::Locked(_))), "{second:?}");
        drop(held);
        assert!(lock(&dir, false, Duration::ZERO).is_ok());
    }

    #[test]
    fn a_missing_directory_is_refused_without_create_directory() {
        let dir = tempdir("missing").join("not-there");
        let r = lock(&dir, false, Duration::ZERO);
        assert!(matches!(r, Err(DiskError::Missing(_))), "{r:?}");
    }

    /// A fresh directory under the system's temp dir for one test.
    pub(crate) fn tempdir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "weir-disk-{name}-{}-{}",
            std::process::id(),
            uuid::Uuid::now_v7()
        ));
        fs::create_dir_all(&dir).expect("temp dir");
        dir
    }
}
