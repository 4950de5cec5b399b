//! A queued exporter with a disk queue: what was not sent when weir stopped comes back at the
//! next start, in order, counted as replayed (and as possible duplicates when a send of it had
//! begun); a full disk queue refuses with the retryable answer and says why for `/health`.
//! Real time and a real directory: the writer is a thread.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use super::fake::Fake;
use super::{pipeline, queue_cfg, steady_retry, traces, value};
use crate::metrics::catalogue::{
    EXPORTER_QUEUE_DISK_BYTES, EXPORTER_REPLAYED_RECORDS, RECORDS_DROPPED,
};
use crate::queue::disk::{Fsync, StorageConfig};
use crate::queue::spill::MEMORY_WINDOW;
use crate::queue::{QueueConfig, QueuedExporter};
use crate::{Metrics, RefusalKind, SignalKind};

const TICK: Duration = Duration::from_millis(10);

fn storage(dir: &Path) -> StorageConfig {
    StorageConfig {
        directory: dir.to_owned(),
        create_directory: true,
        fsync: Fsync::Always,
        timeout: Duration::from_secs(5),
    }
}

fn tempdir(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!(
        "weir-durable-{name}-{}-{}",
        std::process::id(),
        uuid::Uuid::now_v7()
    ))
}

fn start(dir: &Path, backend: &Fake, cfg: &QueueConfig, metrics: &Metrics) -> Arc<QueuedExporter> {
    QueuedExporter::start_durable(
        "q",
        backend.exporter(),
        cfg,
        (steady_retry(TICK), Duration::from_secs(5)),
        metrics.clone(),
        &storage(dir),
    )
    .expect("open the disk queue")
}

/// Polls `ok` every few milliseconds for up to ten seconds.
async fn until(what: &str, mut ok: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !ok() {
        assert!(tokio::time::Instant::now() < deadline, "timed out: {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// The first record's name of each batch delivered, in the order they arrived.
fn first_names(backend: &Fake) -> Vec<String> {
    backend
        .delivered()
        .iter()
        .flat_map(|a| a.names())
        .filter(|n| n.ends_with("/0"))
        .collect()
}

#[tokio::test]
async fn what_was_not_sent_comes_back_in_order_after_a_restart() {
    let dir = tempdir("restart");
    let metrics = Metrics::new();
    let down = Fake::new();
    down.set_down(true);
    let q = start(&dir, &down, &queue_cfg(100, 1), &metrics);
    let p = pipeline("traces", SignalKind::Traces, &[&q]);
    for i in 0..5 {
        p.submit(traces("a", &format!("t{i}"), 3))
            .await
            .expect("taken");
    }
    until("a send began", || !down.attempts().is_empty()).await;
    q.drain(TICK).await;
    // Left on disk: no loss counted.
    assert_eq!(
        value(&metrics, RECORDS_DROPPED, &["traces", "q", "a", "shutdown"]),
        0
    );
    drop((p, q));

    let metrics = Metrics::new();
    let up = Fake::new();
    let q = start(&dir, &up, &queue_cfg(100, 1), &metrics);
    until("all delivered", || up.delivered_records() == 15).await;
    let firsts = first_names(&up);
    assert_eq!(firsts, ["t0/0", "t1/0", "t2/0", "t3/0", "t4/0"]);
    let replayed = |dup: &str| value(&metrics, EXPORTER_REPLAYED_RECORDS, &["traces", "q", dup]);
    // One consumer: only the bundle it was sending can have arrived already.
    assert_eq!(replayed("true"), 3);
    assert_eq!(replayed("false"), 12);
    q.drain(Duration::from_secs(5)).await;
    drop(q);

    // Everything was settled: a third start has nothing to send.
    let metrics = Metrics::new();
    let third = Fake::new();
    let q = start(&dir, &third, &queue_cfg(100, 1), &metrics);
    assert_eq!(q.queued_records(), 0);
    assert_eq!(
        value(
            &metrics,
            EXPORTER_REPLAYED_RECORDS,
            &["traces", "q", "false"]
        ),
        0
    );
}

#[tokio::test]
async fn a_full_disk_queue_refuses_with_the_retryable_answer_and_says_why() {
    let dir = tempdir("full");
    let metrics = Metrics::new();
    let backend = Fake::new();
    backend.set_down(true);
    let cfg = QueueConfig {
        max_bytes: 4096,
        ..queue_cfg(1000, 1)
    };
    let q = start(&dir, &backend, &cfg, &metrics);
    let p = pipeline("traces", SignalKind::Traces, &[&q]);
    let mut taken = 0;
    let refusal = loop {
        match p.submit(traces("a", &format!("t{taken}"), 5)).await {
            Ok(_) => taken += 1,
            Err(e) => break e,
        }
        assert!(taken < 1000, "never refused");
    };
    assert!(taken > 0);
    assert_eq!(refusal.reason.kind, RefusalKind::Unavailable);
    assert!(
        refusal.reason.message.contains("disk queue"),
        "{}",
        refusal.reason.message
    );
    let note = metrics.export_notes().remove("q").expect("note");
    let (_, problem) = note.storage_problem.expect("a storage problem noted");
    assert!(problem.contains("4096 bytes"), "{problem}");
    assert!(value(&metrics, EXPORTER_QUEUE_DISK_BYTES, &["q"]) > 0);

    // The backend comes back: what was stored is sent and settled, and room returns.
    backend.set_down(false);
    until("stored records sent", || {
        backend.delivered_records() == 5 * taken
    })
    .await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        match p.submit(traces("a", "later", 5)).await {
            Ok(_) => break,
            Err(e) => assert!(
                tokio::time::Instant::now() < deadline,
                "still refused: {e:?}"
            ),
        }
        tokio::time::sleep(TICK).await;
    }
    let note = metrics.export_notes().remove("q").expect("note");
    assert!(note.storage_problem.is_none(), "{:?}", note.storage_problem);
}

#[tokio::test]
async fn a_directory_another_queue_holds_is_refused() {
    let dir = tempdir("held");
    let metrics = Metrics::new();
    let backend = Fake::new();
    let _first = start(&dir, &backend, &queue_cfg(10, 1), &metrics);
    let mut s = storage(&dir);
    s.timeout = Duration::from_millis(50);
    let second = QueuedExporter::start_durable(
        "q2",
        backend.exporter(),
        &queue_cfg(10, 1),
        (steady_retry(TICK), Duration::from_secs(5)),
        metrics.clone(),
        &s,
    );
    let Err(e) = second else {
        panic!("a second owner was accepted");
    };
    assert!(e.to_string().contains("in use by another weir"), "{e}");
}

#[tokio::test]
async fn a_backlog_beyond_the_memory_window_waits_on_disk_and_is_sent_in_order() {
    let dir = tempdir("window");
    let metrics = Metrics::new();
    let backend = Fake::new();
    backend.set_down(true);
    let cfg = QueueConfig {
        max_bytes: 64 << 20,
        ..queue_cfg(1000, 1)
    };
    let q = start(&dir, &backend, &cfg, &metrics);
    let p = pipeline("traces", SignalKind::Traces, &[&q]);
    for i in 0..20 {
        let mut b = traces("a", &format!("t{i}"), 2);
        // Counted as a 1 MiB request: twenty of them are 2.5 memory windows.
        b.ctx.body_bytes = 1 << 20;
        p.submit(b).await.expect("taken");
    }
    until("a send began", || !backend.attempts().is_empty()).await;
    // One bundle of two records with the consumer, the rest queued (most of it on disk only).
    assert_eq!(q.queued_records(), 38);
    let held = q.memory_bytes();
    assert!(held > 0 && held <= MEMORY_WINDOW, "{held} bytes in memory");

    backend.set_down(false);
    until("all delivered", || backend.delivered_records() == 40).await;
    let firsts = first_names(&backend);
    let want: Vec<String> = (0..20).map(|i| format!("t{i}/0")).collect();
    assert_eq!(firsts, want);
    until("nothing held", || {
        q.memory_bytes() == 0 && q.queued_records() == 0
    })
    .await;
}

#[tokio::test]
async fn a_request_waits_for_room_on_disk_within_overflow_wait() {
    let dir = tempdir("wait");
    let metrics = Metrics::new();
    let backend = Fake::new();
    backend.set_down(true);
    let cfg = QueueConfig {
        max_bytes: 4096,
        overflow_wait: Duration::from_secs(30),
        ..queue_cfg(1000, 1)
    };
    let q = start(&dir, &backend, &cfg, &metrics);
    let p = Arc::new(pipeline("traces", SignalKind::Traces, &[&q]));
    let mut taken = 0;
    let waiting = loop {
        let p = Arc::clone(&p);
        let tag = format!("t{taken}");
        let submit = tokio::spawn(async move { p.submit(traces("a", &tag, 5)).await.is_ok() });
        tokio::time::sleep(Duration::from_millis(200)).await;
        if !submit.is_finished() {
            break submit;
        }
        assert!(
            submit.await.expect("submit task"),
            "refused before the wait ended"
        );
        taken += 1;
        assert!(taken < 1000, "never full");
    };
    // The disk is full: the request waits instead of being refused, and is taken once the
    // backend is back and settled records free their space.
    backend.set_down(false);
    let ok = tokio::time::timeout(Duration::from_secs(10), waiting)
        .await
        .expect("taken within the wait")
        .expect("submit task");
    assert!(ok);
    until("all delivered", || {
        backend.delivered_records() == 5 * (taken + 1)
    })
    .await;
}
