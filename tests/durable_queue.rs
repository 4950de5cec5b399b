//! The disk queue (`sending_queue.storage: file_storage`) through crashes and restarts: weir
//! killed with SIGKILL under load, stopped and killed while its backend is down, a segment
//! damaged on purpose. Each time, every request weir answered with success reaches the backend
//! or is counted by reason (`durable_queue_limits.rs`: a full disk queue).

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use common::Weir;
use common::durable::{Backend, SPANS, config, metric, post, samples, until, until_delivered};
use common::peers::eventually;

/// Sends requests `prefix0`, `prefix1`, ... until `stop`; keeps the names answered 200.
fn load(
    base: String,
    prefix: &'static str,
    stop: Arc<AtomicBool>,
) -> tokio::task::JoinHandle<Vec<String>> {
    tokio::spawn(async move {
        let mut acked = Vec::new();
        let mut i = 0;
        while !stop.load(Ordering::SeqCst) {
            let name = format!("{prefix}{i}");
            i += 1;
            match post(&base, &name).await {
                Some(200) => acked.push(name),
                Some(_) => {}
                None => break,
            }
        }
        acked
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_sigkill_under_load_every_acknowledged_request_arrives() {
    let storage = tempfile::tempdir().expect("temp dir");
    let backend = Backend::new(false);
    let cfg = config(
        &backend,
        storage.path(),
        "num_consumers: 2",
        "fsync: false, fsync_interval: 50ms",
    );
    let mut weir = Weir::start(&cfg);
    let stop = Arc::new(AtomicBool::new(false));
    let loader = load(weir.http_base(), "r", Arc::clone(&stop));
    // Queued on disk while the backend is down, then delivering under load when it is up.
    until("some requests queued", async || {
        metric(
            &samples(&weir).await,
            "weir_receiver_accepted_records_total",
            &[],
        ) >= 40 * SPANS as u64
    })
    .await;
    backend.set_up(true);
    until("deliveries under way", async || {
        backend.delivered().len() >= 10
    })
    .await;
    let status = weir.kill();
    assert!(!status.success(), "killed: {status}");
    stop.store(true, Ordering::SeqCst);
    let acked = loader.await.expect("load task");
    assert!(acked.len() >= 40, "{} acknowledged", acked.len());

    let weir = Weir::start(&cfg);
    until_delivered(&backend, &acked).await;
    let delivered = backend.delivered();
    let twice: Vec<_> = delivered.iter().filter(|(_, n)| **n > 1).collect();
    // Only the bundles being sent when weir died (num_consumers: 2) can arrive twice.
    assert!(twice.len() <= 2, "duplicates: {twice:?}");
    // Replay is counted whole at start (before weir listens); every send since is a replayed
    // record. Nothing may be left to replay when the kill came between two deliveries.
    eventually("the replayed records settled", async |last: &mut String| {
        let s = samples(&weir).await;
        let replayed = metric(&s, "weir_exporter_replayed_records_total", &[]);
        let sent = metric(&s, "weir_exporter_sent_records_total", &[]);
        *last = format!("replayed {replayed}, sent {sent}");
        (sent == replayed).then_some(())
    })
    .await;
    let s = samples(&weir).await;
    let maybe_twice = metric(
        &s,
        "weir_exporter_replayed_records_total",
        &[("possibly_duplicate", "true")],
    );
    assert!(maybe_twice <= 2 * SPANS as u64, "{maybe_twice}");
    assert!(
        maybe_twice >= (twice.len() * SPANS) as u64,
        "{maybe_twice} < {twice:?}"
    );
    assert_eq!(metric(&s, "weir_records_dropped_total", &[]), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_backend_and_two_restarts_lose_nothing_and_past_the_cap_answer_retryable() {
    let storage = tempfile::tempdir().expect("temp dir");
    let backend = Backend::new(false);
    let cfg = config(
        &backend,
        storage.path(),
        "num_consumers: 2, queue_size: 100000, max_bytes: 32768",
        "fsync: true",
    );
    let mut acked = Vec::new();
    let mut refused = 0;
    let mut weir = Weir::start(&cfg);
    for round in 0..3 {
        let base = weir.http_base();
        let mut i = 0;
        // Fill to the cap: the first refusals end the round.
        while refused < 3 * (round + 1) {
            let name = format!("s{round}-{i}");
            i += 1;
            match post(&base, &name).await {
                Some(200) => acked.push(name),
                Some(503) => refused += 1,
                other => panic!("{name}: {other:?}"),
            }
            assert!(i < 10_000, "never refused");
        }
        match round {
            0 => {
                assert!(weir.stop().success());
            }
            1 => {
                weir.kill();
            }
            _ => break,
        }
        weir = Weir::start(&cfg);
    }
    assert!(acked.len() > 10, "{} acknowledged", acked.len());
    backend.set_up(true);
    until_delivered(&backend, &acked).await;
    let s = samples(&weir).await;
    assert_eq!(metric(&s, "weir_records_dropped_total", &[]), 0);
}

/// The segment files of the exporter's queue, in order.
fn segments(storage: &Path) -> Vec<PathBuf> {
    let dir = storage.join("exporter_otlphttp");
    let mut out: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("queue dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "seg"))
        .collect();
    out.sort();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_segment_is_counted_and_the_rest_replayed() {
    let storage = tempfile::tempdir().expect("temp dir");
    let backend = Backend::new(false);
    let cfg = config(&backend, storage.path(), "num_consumers: 1", "fsync: true");
    let mut weir = Weir::start(&cfg);
    let names: Vec<String> = (0..6).map(|i| format!("c{i}")).collect();
    for name in &names {
        assert_eq!(post(&weir.http_base(), name).await, Some(200), "{name}");
    }
    assert!(weir.stop().success());

    let segs = segments(storage.path());
    assert_eq!(segs.len(), 1, "{segs:?}");
    let mut data = std::fs::read(&segs[0]).expect("segment");
    let frames = weir_pipeline::queue::disk::frame::scan(&data);
    let offsets: Vec<u64> = frames
        .iter()
        .filter_map(|f| match f {
            weir_pipeline::queue::disk::frame::Scanned::Frame { offset, .. } => Some(*offset),
            _ => None,
        })
        .collect();
    assert_eq!(offsets.len(), 6);
    // A flipped byte inside c2's payload, and c5 cut short (a crash mid-write).
    let inside = (offsets[2] + offsets[3]) / 2;
    data[inside as usize] ^= 0xff;
    data.truncate(data.len() - 7);
    std::fs::write(&segs[0], &data).expect("write segment");

    backend.set_up(true);
    let weir = Weir::start(&cfg);
    let kept: Vec<String> = ["c0", "c1", "c3", "c4"].map(String::from).to_vec();
    until_delivered(&backend, &kept).await;
    until("the replayed records settled", async || {
        let s = samples(&weir).await;
        metric(&s, "weir_exporter_sent_records_total", &[]) == 4 * SPANS as u64
    })
    .await;
    let s = samples(&weir).await;
    assert_eq!(metric(&s, "weir_exporter_disk_corrupt_total", &[]), 2);
    // The damaged records' headers held: their records are in the ledger.
    let corrupt = metric(
        &s,
        "weir_records_dropped_total",
        &[("reason", "corrupt_on_disk")],
    );
    assert_eq!(corrupt, 2 * SPANS as u64);
    let delivered = backend.delivered();
    assert!(
        !delivered.contains_key("c2") && !delivered.contains_key("c5"),
        "{delivered:?}"
    );
    // Acknowledged = delivered + dropped by reason.
    let arrived = (delivered.len() * SPANS) as u64;
    assert_eq!(
        (names.len() * SPANS) as u64,
        arrived + corrupt,
        "{delivered:?}"
    );
}
