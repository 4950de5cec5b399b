//! SIGHUP with an exporter whose queue is on disk (`sending_queue.storage`): a reload that
//! leaves the exporter unchanged keeps its queue (directory, lock and records); one that
//! changes it is refused naming the exporter and the restart that applies it, and the running
//! config keeps delivering. Either way every acknowledged request arrives.

mod common;

use common::Weir;
use common::durable::{Backend, config, metric, post, samples, until_delivered};
use common::reload::reload;

/// Weir with its backend down and `n` requests acknowledged into the disk queue.
async fn queued(
    backend: &Backend,
    storage: &std::path::Path,
    n: usize,
) -> (Weir, String, Vec<String>) {
    let cfg = config(backend, storage, "num_consumers: 1", "fsync: true");
    let weir = Weir::start(&cfg);
    let mut acked = Vec::new();
    for i in 0..n {
        let name = format!("q{i}");
        assert_eq!(post(&weir.http_base(), &name).await, Some(200), "{name}");
        acked.push(name);
    }
    (weir, cfg, acked)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_leaving_the_exporter_unchanged_keeps_its_disk_queue() {
    let storage = tempfile::tempdir().expect("temp dir");
    let backend = Backend::new(false);
    let (mut weir, cfg, acked) = queued(&backend, storage.path(), 5).await;
    let line = reload(
        &weir,
        &cfg.replace("drain_timeout: 1s", "drain_timeout: 2s"),
        1,
    );
    assert_eq!(line["message"], "configuration reloaded", "{line}");
    assert_eq!(line["retired_exporters"], 0, "{line}");
    backend.set_up(true);
    until_delivered(&backend, &acked).await;
    let s = samples(&weir).await;
    assert_eq!(
        metric(&s, "weir_config_reloads_total", &[("result", "success")]),
        1
    );
    assert!(weir.stop().success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_changing_a_disk_queued_exporter_is_refused_and_nothing_is_lost() {
    let storage = tempfile::tempdir().expect("temp dir");
    let backend = Backend::new(false);
    let (mut weir, cfg, mut acked) = queued(&backend, storage.path(), 5).await;
    let line = reload(
        &weir,
        &cfg.replace("compression: none", "compression: gzip"),
        1,
    );
    assert_eq!(
        line["message"], "reload refused; the running config stays",
        "{line}"
    );
    let error = line["error"].as_str().unwrap_or_default();
    assert!(
        error.contains("exporter otlphttp") && error.contains("restart weir"),
        "{line}"
    );
    // The running config still takes requests into the same disk queue.
    assert_eq!(post(&weir.http_base(), "after").await, Some(200));
    acked.push("after".into());
    backend.set_up(true);
    until_delivered(&backend, &acked).await;
    let s = samples(&weir).await;
    assert_eq!(
        metric(&s, "weir_config_reloads_total", &[("result", "failed")]),
        1
    );
    assert!(weir.stop().success());
}
