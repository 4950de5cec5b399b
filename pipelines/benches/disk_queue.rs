//! The disk queue's append and replay rates, measured on this machine's disk (`cargo bench -p
//! weir-pipeline --bench disk_queue`): appends of realistic 100-span batches by 1 and by 64
//! concurrent writers under each fsync policy, then reading a full directory back (checksums,
//! headers, payloads decoded into batches). Not a timed test: it prints figures.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use weir_pipeline::Signal;
use weir_pipeline::queue::disk::{DiskGauges, DiskQueue, Fsync, StorageConfig, record};
use weir_pipeline::test_util::realistic;

const SPANS_PER_BATCH: usize = 100;

fn tempdir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("weir-bench-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn storage(dir: &Path, fsync: Fsync) -> StorageConfig {
    StorageConfig {
        directory: dir.to_owned(),
        create_directory: true,
        fsync,
        timeout: Duration::from_secs(5),
    }
}

/// Appends `total` batches from `writers` tasks; returns batches per second and the frame
/// bytes written.
async fn append(fsync: Fsync, writers: usize, total: usize) -> (f64, u64) {
    let dir = tempdir("append");
    let (q, _) =
        DiskQueue::open(&storage(&dir, fsync), u64::MAX, DiskGauges::default()).expect("open");
    let batch = Arc::new(realistic::batch(Signal::Traces(realistic::spans(
        SPANS_PER_BATCH,
        0,
    ))));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..writers {
        let (q, batch) = (q.clone(), Arc::clone(&batch));
        tasks.push(tokio::spawn(async move {
            let mut kept = Vec::new();
            for _ in 0..total / writers {
                kept.push(q.append(&batch).await.expect("append").ticket);
            }
            q.freeze();
            kept
        }));
    }
    for t in tasks {
        drop(t.await.expect("writer"));
    }
    let rate = total as f64 / started.elapsed().as_secs_f64();
    q.flush().await;
    let bytes = dir_bytes(&dir);
    drop(q);
    (rate, bytes)
}

fn dir_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(|e| e.ok()?.metadata().ok())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let one = realistic::batch(Signal::Traces(realistic::spans(SPANS_PER_BATCH, 0)));
    let frame = record::encode_payload(&one).len();
    println!("batch: {SPANS_PER_BATCH} spans, {frame} bytes encoded");
    let policies = [
        ("fsync: true", Fsync::Always, 400),
        (
            "fsync_interval: 200ms",
            Fsync::Every(Duration::from_millis(200)),
            4000,
        ),
    ];
    for (name, fsync, total) in policies {
        for writers in [1, 64] {
            let (rate, bytes) = rt.block_on(append(fsync, writers, total));
            println!(
                "append {name:<22} writers {writers:>2}: {rate:>8.0} batches/s {:>9.0} spans/s {:>6.1} MB/s",
                rate * SPANS_PER_BATCH as f64,
                rate * bytes as f64 / total as f64 / 1e6,
            );
        }
    }
    // Replay: what the last run left (unsettled, frozen) read back and decoded.
    let dir = std::env::temp_dir().join(format!("weir-bench-append-{}", std::process::id()));
    let bytes = dir_bytes(&dir);
    let started = Instant::now();
    let (q, recovered) = DiskQueue::open(
        &storage(&dir, Fsync::Every(Duration::from_secs(1))),
        u64::MAX,
        DiskGauges::default(),
    )
    .expect("reopen");
    let mut spans = 0;
    for r in &recovered.records {
        spans += q.read(r.at).expect("read back").record_count();
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "replay {} batches ({:.1} MB): {:>8.0} batches/s {:>9.0} spans/s {:>6.1} MB/s",
        recovered.records.len(),
        bytes as f64 / 1e6,
        recovered.records.len() as f64 / secs,
        spans as f64 / secs,
        bytes as f64 / secs / 1e6
    );
    let _ = std::fs::remove_dir_all(&dir);
}
