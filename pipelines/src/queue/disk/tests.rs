//! The disk queue against a real directory: order, context and marks across a reopen,
//! damage found and counted once, the byte cap, the lock, settled segments deleted.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::dir::tests::tempdir;
use super::*;
use crate::test_util::realistic;
use crate::{RequestId, Signal, TenantId};

fn cfg(dir: &Path, fsync: Fsync) -> StorageConfig {
    StorageConfig {
        directory: dir.to_owned(),
        create_directory: true,
        fsync,
        timeout: Duration::ZERO,
    }
}

fn batch(tenant: &str, id: &str, spans: usize) -> Batch {
    let mut b = realistic::batch(Signal::Traces(realistic::spans(spans, 0)));
    b.ctx.tenant = TenantId::new(tenant).expect("tenant");
    b.ctx.request_id = RequestId::from_client(Some(id.as_bytes()));
    b.ctx.body_bytes = 100;
    b
}

fn open(dir: &Path, fsync: Fsync, max_bytes: u64) -> (DiskQueue, Recovered) {
    DiskQueue::open(&cfg(dir, fsync), max_bytes, DiskGauges::default()).expect("open")
}

fn ids(r: &Recovered) -> Vec<String> {
    r.records
        .iter()
        .map(|s| s.header.request_id.clone())
        .collect()
}

fn files(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = fs::read_dir(dir)
        .expect("dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == ext))
        .collect();
    out.sort();
    out
}

#[tokio::test]
async fn unsettled_records_come_back_in_order_with_their_context() {
    for fsync in [
        Fsync::Always,
        Fsync::Every(Duration::from_millis(5)),
        Fsync::Never,
    ] {
        let dir = tempdir("order");
        let (q, first) = open(&dir, fsync, 1 << 20);
        assert!(first.records.is_empty());
        let mut tickets = Vec::new();
        for (tenant, id) in [("a", "r1"), ("b", "r2"), ("a", "r3"), ("c", "r4")] {
            tickets.push(
                q.append(&batch(tenant, id, 2))
                    .await
                    .expect("append")
                    .ticket,
            );
        }
        tickets[1].taken();
        drop(tickets.remove(2)); // r3 sent
        q.freeze(); // the rest stays
        drop(tickets);
        q.flush().await;
        drop(q);

        let (q, back) = open(&dir, fsync, 1 << 20);
        assert_eq!(ids(&back), ["r1", "r2", "r4"], "{fsync:?}");
        let taken: Vec<bool> = back.records.iter().map(|s| s.taken).collect();
        assert_eq!(taken, [false, true, false]);
        let b = q.read(back.records[1].at).expect("read back");
        assert_eq!(b.ctx.tenant.as_str(), "b");
        assert_eq!(b.record_count(), 2);
        assert!(back.damage.is_empty());
        // New records get new sequence numbers after the old ones.
        let t = q.append(&batch("a", "r5", 1)).await.expect("append");
        assert!(back.records.iter().all(|s| s.header.seq < t.ticket.seq()));
    }
}

#[tokio::test]
async fn settled_segments_are_deleted_and_their_space_given_back() {
    let dir = tempdir("settle");
    let gauges = DiskGauges::default();
    let (q, _) = DiskQueue::open(&cfg(&dir, Fsync::Never), 64 << 10, gauges.clone()).expect("open");
    let mut tickets = Vec::new();
    // Enough to fill several 64 KiB segments.
    for i in 0..60 {
        tickets.push(
            q.append(&batch("a", &format!("r{i}"), 8))
                .await
                .expect("append")
                .ticket,
        );
        // Settle as we go, so the cap is never reached.
        if tickets.len() > 4 {
            drop(tickets.remove(0));
        }
    }
    q.flush().await;
    assert!(files(&dir, "seg").len() <= 2, "{:?}", files(&dir, "seg"));
    drop(tickets);
    q.flush().await;
    let on_disk: u64 = files(&dir, "seg")
        .iter()
        .chain(files(&dir, "ack").iter())
        .map(|p| fs::metadata(p).map(|m| m.len()).unwrap_or(0))
        .sum();
    assert_eq!(gauges.bytes.get(), on_disk);
    drop(q);
    let (_q, back) = open(&dir, Fsync::Never, 64 << 10);
    assert!(back.records.is_empty(), "{:?}", ids(&back));
}

#[tokio::test]
async fn past_the_cap_appends_are_refused_until_records_settle() {
    let dir = tempdir("cap");
    let (q, _) = open(&dir, Fsync::Never, 64 << 10);
    let mut tickets = Vec::new();
    let full = loop {
        match q.append(&batch("a", "r", 8)).await {
            Ok(t) => tickets.push(t.ticket),
            Err(e) => break e,
        }
        assert!(tickets.len() < 1000, "never full");
    };
    assert!(
        matches!(full, DiskError::Full { max_bytes } if max_bytes == 64 << 10),
        "{full}"
    );
    assert!(!tickets.is_empty());
    drop(tickets);
    q.flush().await;
    q.append(&batch("a", "again", 8))
        .await
        .expect("room once settled");
}

#[tokio::test]
async fn a_second_weir_on_the_same_directory_is_refused() {
    let dir = tempdir("owner");
    let (_q, _) = open(&dir, Fsync::Never, 1 << 20);
    let second = DiskQueue::open(&cfg(&dir, Fsync::Never), 1 << 20, DiskGauges::default());
    let Err(e) = second else {
        panic!("second owner accepted");
    };
    assert!(e.to_string().contains("in use by another weir"), "{e}");
}

async fn three_records(dir: &Path) {
    let (q, _) = open(dir, Fsync::Always, 1 << 20);
    let tickets = [
        q.append(&batch("a", "r1", 3)).await.expect("append").ticket,
        q.append(&batch("a", "r2", 4)).await.expect("append").ticket,
        q.append(&batch("a", "r3", 5)).await.expect("append").ticket,
    ];
    q.freeze();
    drop(tickets);
    q.flush().await;
}

#[tokio::test]
async fn a_truncated_tail_is_counted_once_and_the_rest_replayed() {
    let dir = tempdir("torn");
    three_records(&dir).await;
    let seg = files(&dir, "seg").remove(0);
    let len = fs::metadata(&seg).expect("seg").len();
    let f = fs::OpenOptions::new().write(true).open(&seg).expect("open");
    f.set_len(len - 10).expect("truncate");
    drop(f);

    let (q, back) = open(&dir, Fsync::Always, 1 << 20);
    assert_eq!(ids(&back), ["r1", "r2"]);
    assert_eq!(back.damage.len(), 1);
    let h = back.damage[0].header.as_ref().expect("torn frame's header");
    assert_eq!((h.request_id.as_str(), h.records), ("r3", 5));
    // Nothing settled: the next start sees the same records but no new damage.
    q.freeze();
    q.flush().await;
    drop(q);
    let (_q, again) = open(&dir, Fsync::Always, 1 << 20);
    assert_eq!(ids(&again), ["r1", "r2"]);
    assert!(again.damage.is_empty(), "{:?}", again.damage);
}

#[tokio::test]
async fn a_corrupted_record_in_the_middle_is_skipped_and_counted() {
    let dir = tempdir("flip");
    three_records(&dir).await;
    let seg = files(&dir, "seg").remove(0);
    let mut data = fs::read(&seg).expect("seg");
    let first = frame::scan(&data);
    let Some(frame::Scanned::Frame { offset, .. }) = first.get(1) else {
        panic!("{first:?}");
    };
    // A byte well inside the second record's payload.
    let at = *offset as usize + 200;
    data[at] ^= 0xff;
    fs::write(&seg, &data).expect("write");

    let (_q, back) = open(&dir, Fsync::Always, 1 << 20);
    assert_eq!(ids(&back), ["r1", "r3"]);
    assert_eq!(back.damage.len(), 1);
    let h = back.damage[0].header.as_ref().expect("header intact");
    assert_eq!(h.request_id, "r2");
}

#[tokio::test]
async fn a_missing_directory_is_created_or_refused_as_configured() {
    let dir = tempdir("create").join("sub");
    let mut c = cfg(&dir, Fsync::Never);
    c.create_directory = false;
    let refused = DiskQueue::open(&c, 1 << 20, DiskGauges::default());
    assert!(matches!(refused, Err(DiskError::Missing(_))));
    c.create_directory = true;
    assert!(DiskQueue::open(&c, 1 << 20, DiskGauges::default()).is_ok());
    assert!(dir.is_dir());
}
