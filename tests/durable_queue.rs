//! The disk queue (`sending_queue.storage: file_storage`) seen from outside: weir killed with
//! SIGKILL under load, stopped and restarted while its backend is down, a segment damaged on
//! purpose, a disk queue that is full. Each time, every request weir answered with success
//! reaches the backend or is counted by reason, and a full disk gets the retryable answer with
//! the reason on `/health`.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::capture::Capture;
use common::{OTLP_RECEIVER, Weir, ledger, proc_status_bytes};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use prost::Message;

/// Spans per request.
const SPANS: usize = 5;

/// A backend that answers 200 when up and 503 when down, and the request names it took.
struct Backend {
    capture: Capture,
    up: Arc<AtomicBool>,
}

impl Backend {
    fn new(up: bool) -> Self {
        let up = Arc::new(AtomicBool::new(up));
        let switch = Arc::clone(&up);
        let capture = Capture::answering(move |_| {
            if switch.load(Ordering::SeqCst) {
                200
            } else {
                503
            }
        });
        Self { capture, up }
    }

    fn set_up(&self, up: bool) {
        self.up.store(up, Ordering::SeqCst);
    }

    /// How many times each request name was answered 200 (one request: `SPANS` spans
    /// named `<name>/<i>`).
    fn delivered(&self) -> BTreeMap<String, usize> {
        let mut out = BTreeMap::new();
        for r in self.capture.requests_to("/v1/traces") {
            if r.status != 200 {
                continue;
            }
            let req = ExportTraceServiceRequest::decode(r.body.as_slice()).expect("protobuf body");
            for span in req
                .resource_spans
                .iter()
                .flat_map(|rs| &rs.scope_spans)
                .flat_map(|ss| &ss.spans)
                .filter(|s| s.name.ends_with("/0"))
            {
                let name = span.name.trim_end_matches("/0").to_owned();
                *out.entry(name).or_default() += 1;
            }
        }
        out
    }
}

/// weir with one `otlphttp` exporter to `backend` whose queue is on disk in `storage`;
/// `queue` and `storage_keys` are more keys of `sending_queue` and of the `file_storage`.
fn config(backend: &Backend, storage: &Path, queue: &str, storage_keys: &str) -> String {
    format!(
        "{OTLP_RECEIVER}exporters:\n  otlphttp:\n    endpoint: {}\n    compression: none\n    \
         retry_on_failure: {{ initial_interval: 50ms, max_interval: 100ms, max_elapsed_time: 0s }}\n    \
         sending_queue: {{ storage: file_storage/q, overflow_wait: 0s, {queue} }}\n\
         extensions:\n  file_storage/q: {{ directory: {}, create_directory: true, {storage_keys} }}\n\
         service:\n  extensions: [file_storage/q]\n  admin: {{ endpoint: 127.0.0.1:0 }}\n  \
         drain_timeout: 1s\n  pipelines:\n    traces: {{ receivers: [otlp], exporters: [otlphttp] }}\n",
        backend.capture.base(),
        storage.display()
    )
}

fn body(name: &str) -> Vec<u8> {
    let spans = (0..SPANS)
        .map(|i| Span {
            trace_id: vec![1; 16],
            span_id: vec![2; 8],
            name: format!("{name}/{i}"),
            start_time_unix_nano: 1,
            end_time_unix_nano: 2,
            ..Default::default()
        })
        .collect();
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![KeyValue {
                    key: "service.name".into(),
                    value: Some(AnyValue {
                        value: Some(any_value::Value::StringValue("shop".into())),
                    }),
                    ..Default::default()
                }],
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans {
                spans,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
    .encode_to_vec()
}

/// POSTs request `name` as protobuf; its status, or `None` when no answer came (weir died).
async fn post(base: &str, name: &str) -> Option<u16> {
    let resp = common::http_client()
        .post(format!("{base}/v1/traces"))
        .header("content-type", "application/x-protobuf")
        .body(body(name))
        .send()
        .await
        .ok()?;
    Some(resp.status().as_u16())
}

/// Polls `ok` until it holds, for up to 30 seconds; `what` names it in the failure.
async fn until(what: &str, mut ok: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !ok().await {
        assert!(Instant::now() < deadline, "timed out waiting: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Every acknowledged name was delivered at least once.
async fn until_delivered(backend: &Backend, acked: &[String]) {
    until("every acknowledged request delivered", async || {
        let got = backend.delivered();
        acked.iter().all(|n| got.contains_key(n))
    })
    .await;
}

fn metric(samples: &[ledger::Sample], name: &str, with: &[(&str, &str)]) -> u64 {
    ledger::sum(samples, name, with)
}

async fn samples(weir: &Weir) -> Vec<ledger::Sample> {
    ledger::parse(&weir.admin_metrics().await)
}

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
    until("the replayed records settled", async || {
        let s = samples(&weir).await;
        let replayed = metric(&s, "weir_exporter_replayed_records_total", &[]);
        replayed > 0 && metric(&s, "weir_exporter_sent_records_total", &[]) == replayed
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

/// `/health`'s entry for the exporter.
async fn health(weir: &Weir) -> serde_json::Value {
    let body: serde_json::Value = weir
        .admin_get("/health", None)
        .await
        .json()
        .await
        .expect("health JSON");
    body["checks"]["exporters"]["exporters"]["otlphttp"].clone()
}

/// Fills the disk queue with the backend down until weir refuses; checks the answer and
/// `/health`, then brings the backend back and checks that weir takes requests again.
async fn full_then_recovered(weir: &Weir, backend: &Backend, says: &str) {
    let mut acked = Vec::new();
    for i in 0.. {
        let name = format!("f{i}");
        match post(&weir.http_base(), &name).await {
            Some(200) => acked.push(name),
            Some(503) => break,
            other => panic!("{name}: {other:?}"),
        }
        assert!(i < 100_000, "never refused");
    }
    let h = health(weir).await;
    assert_eq!(h["status"], "degraded", "{h}");
    assert_eq!(h["storage"]["status"], "refusing", "{h}");
    let message = h["storage"]["message"].as_str().unwrap_or_default();
    assert!(message.contains(says), "{message}");
    assert!(message.contains("retryable"), "{message}");

    backend.set_up(true);
    until_delivered(backend, &acked).await;
    until("requests taken again", async || {
        post(&weir.http_base(), "after").await == Some(200)
    })
    .await;
    until("/health clear", async || {
        health(weir).await["storage"]["status"] == "healthy"
    })
    .await;
    let s = samples(weir).await;
    assert_eq!(metric(&s, "weir_records_dropped_total", &[]), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_the_disk_cap_the_retryable_answer_and_health_say_why() {
    let storage = tempfile::tempdir().expect("temp dir");
    let backend = Backend::new(false);
    let cfg = config(
        &backend,
        storage.path(),
        "queue_size: 100000, max_bytes: 16384",
        "fsync: false",
    );
    let weir = Weir::start(&cfg);
    full_then_recovered(&weir, &backend, "sending_queue.max_bytes").await;
}

/// A real full disk: a 64 KiB tmpfs (mounting needs root, hence ignored by default; run with
/// `cargo test --test durable_queue -- --ignored` as root).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "mounts a tmpfs: needs root"]
async fn a_full_disk_answers_retryable_and_recovers_when_space_returns() {
    let storage = tempfile::tempdir().expect("temp dir");
    let mounted = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=64k", "tmpfs"])
        .arg(storage.path())
        .status()
        .expect("run mount");
    assert!(
        mounted.success(),
        "mount a tmpfs at {}",
        storage.path().display()
    );
    struct Unmount(PathBuf);
    impl Drop for Unmount {
        fn drop(&mut self) {
            let _ = std::process::Command::new("umount").arg(&self.0).status();
        }
    }
    let _unmount = Unmount(storage.path().to_owned());
    let backend = Backend::new(false);
    let cfg = config(
        &backend,
        storage.path(),
        "queue_size: 100000, max_bytes: 104857600",
        "fsync: false",
    );
    let weir = Weir::start(&cfg);
    full_then_recovered(&weir, &backend, "No space left on device").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_backlog_lives_on_disk_not_in_memory() {
    const MIB: u64 = 1 << 20;
    let storage = tempfile::tempdir().expect("temp dir");
    let backend = Backend::new(false);
    let cfg = config(
        &backend,
        storage.path(),
        "num_consumers: 1, queue_size: 100000, max_bytes: 268435456",
        "fsync: false",
    );
    let weir = Weir::start(&cfg);
    let line = "x".repeat(4 * MIB as usize - 200);
    let big = |i: usize| {
        let mut req =
            ExportTraceServiceRequest::decode(body(&format!("big{i}")).as_slice()).expect("decode");
        req.resource_spans[0].scope_spans[0].spans[0]
            .attributes
            .push(KeyValue {
                key: "padding".into(),
                value: Some(AnyValue {
                    value: Some(any_value::Value::StringValue(line.clone())),
                }),
                ..Default::default()
            });
        req.encode_to_vec()
    };
    let client = common::http_client();
    let post_big = |i: usize| {
        client
            .post(format!("{}/v1/traces", weir.http_base()))
            .header("content-type", "application/x-protobuf")
            .body(big(i))
            .send()
    };
    // One request first, so the allocator's and the runtime's own growth is in the baseline.
    assert_eq!(post_big(0).await.expect("answer").status(), 200);
    let before = proc_status_bytes(weir.pid(), "VmRSS");
    for i in 1..40 {
        assert_eq!(
            post_big(i).await.expect("answer").status(),
            200,
            "request {i}"
        );
    }
    let grown = proc_status_bytes(weir.pid(), "VmRSS").saturating_sub(before);
    let s = samples(&weir).await;
    let on_disk = metric(&s, "weir_exporter_queue_disk_bytes", &[]);
    assert!(on_disk >= 150 * MIB, "{} MiB on disk", on_disk / MIB);
    // 160 MiB of requests taken; memory holds an 8 MiB window of them, not the backlog.
    assert!(grown <= 64 * MIB, "RSS grew by {} MiB", grown / MIB);

    backend.set_up(true);
    let all: Vec<String> = (0..40).map(|i| format!("big{i}")).collect();
    until_delivered(&backend, &all).await;
}
