//! The configs `scripts/bench` runs (`scripts/bench.d/`), checked so they cannot rot between
//! benchmark runs: weir's with `weir validate`, the Collector's with the real Collector's
//! `validate` (built by `scripts/peers`; skipped without it, except under `CI=true`), each with
//! both export compressions the benchmark sets through `BENCH_COMPRESSION`.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::peers;

const COMPRESSIONS: [&str; 2] = ["none", "gzip"];

/// The files in `scripts/bench.d/` whose names start with `prefix`, sorted.
fn configs(prefix: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/bench.d");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("scripts/bench.d")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(prefix) && n.ends_with(".yaml"))
        })
        .collect();
    files.sort();
    files
}

/// The variables scripts/bench sets, with loopback addresses nobody has to listen on.
fn bench_env(command: &mut Command, compression: &str) {
    command
        .env("BENCH_GRPC_ENDPOINT", "127.0.0.1:4317")
        .env("BENCH_HTTP_ENDPOINT", "127.0.0.1:4318")
        .env("BENCH_SINK_GRPC", "127.0.0.1:14317")
        .env("BENCH_COMPRESSION", compression);
}

#[test]
fn weir_bench_configs_validate() {
    let files = configs("weir-");
    assert!(files.len() >= 2, "weir's bench configs: {files:?}");
    for compression in COMPRESSIONS {
        let mut command = Command::new(env!("CARGO_BIN_EXE_weir"));
        command.arg("validate").args(&files);
        bench_env(&mut command, compression);
        let out = command.output().expect("run weir validate");
        assert!(
            out.status.success(),
            "compression {compression}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).lines().count(),
            files.len(),
            "one line per valid file"
        );
    }
}

#[test]
fn the_headline_pipeline_runs_the_default_order() {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/bench.d/weir-full.yaml"),
    )
    .expect("weir-full.yaml");
    let orders: Vec<&str> = text
        .lines()
        .filter_map(|l| l.trim().strip_prefix("processors: "))
        .collect();
    assert_eq!(orders.len(), 3, "one processor list per signal: {orders:?}");
    assert!(
        orders
            .iter()
            .all(|o| *o == "[tenant_limit, enrich, redaction]"),
        "{orders:?}"
    );
}

#[test]
fn collector_bench_configs_validate() {
    let Some(otelcol) = peers::binary("otelcol") else {
        return;
    };
    let files = configs("otelcol-");
    assert!(files.len() >= 2, "the Collector's bench configs: {files:?}");
    for file in &files {
        for compression in COMPRESSIONS {
            let mut command = Command::new(&otelcol);
            command.arg("validate").arg("--config").arg(file);
            bench_env(&mut command, compression);
            let out = command.output().expect("run the Collector's validate");
            assert!(
                out.status.success(),
                "{} with compression {compression}: {}{}",
                file.display(),
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}
