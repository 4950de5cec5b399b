//! The disk queue's limits: past its byte cap and on a full disk, requests get the retryable
//! answer and `/health` says why, and weir takes requests again once there is room; a backlog
//! far larger than the memory window lives on disk, not in weir's memory; a second weir on the
//! same directory is refused.

mod common;

use std::path::PathBuf;

use common::durable::{Backend, body, config, metric, post, samples, until, until_delivered};
use common::{Weir, proc_status_bytes};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use prost::Message;

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
/// `cargo test --test durable_queue_limits -- --ignored` as root).
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

#[test]
fn a_second_weir_on_the_same_directory_stops_with_a_clear_error() {
    let storage = tempfile::tempdir().expect("temp dir");
    let backend = Backend::new(true);
    let cfg = config(
        &backend,
        storage.path(),
        "num_consumers: 1",
        "timeout: 100ms",
    );
    let _first = Weir::start(&cfg);
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("weir.yaml");
    std::fs::write(&path, &cfg).expect("write config");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_weir"))
        .args(["run", "--config"])
        .arg(&path)
        .output()
        .expect("run a second weir");
    assert!(!out.status.success(), "{:?}", out.status);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("exporter otlphttp") && stderr.contains("in use by another weir"),
        "{stderr}"
    );
}
