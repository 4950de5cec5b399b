//! The command line as a Collector user types it: `weir --config FILE` runs, several
//! `--config` merge in order and `--set` overrides one value, errors name the file and line
//! that supplied the key, `weir components` and `weir print-config` (secrets hidden unless
//! `--unredacted`), `--log-format console` without colour off a terminal, and `WEIR_LOG=debug`
//! meaning weir's own debug lines.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use serde_json::Value;

use common::{DEADLINE, DEBUG_CONFIG, Weir, tests_path};

fn weir(args: &[&str], envs: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_weir"))
        .args(args)
        .envs(envs.iter().copied())
        .output()
        .expect("run weir")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(tests_path(&format!("fixtures/otlp-json/{name}"))).expect("fixture")
}

/// The base config with the debug exporter writing somewhere else than `{OUT}`.
fn base() -> String {
    DEBUG_CONFIG.replace("path: {OUT}", "path: {DIR}/first.jsonl")
}

#[tokio::test]
async fn config_without_run_merges_files_in_order_then_applies_set() {
    let base = base();
    let files = [
        ("base.yaml", base.as_str()),
        (
            "override.yaml",
            "exporters:\n  debug:\n    path: {DIR}/second.jsonl\n",
        ),
    ];
    let weir = Weir::start_args(
        &files,
        &[
            "--config",
            "{DIR}/base.yaml",
            "--config",
            "{DIR}/override.yaml",
            "--set=exporters::debug::path={DIR}/out.jsonl",
        ],
        &[],
    );
    let sent = weir
        .post_json("/v1/traces", fixture("trace.json"), &[])
        .await;
    assert_eq!(sent.status(), 200);
    // The debug exporter writes before the client is answered: the --set path has the record,
    // the files' paths were overridden.
    assert_eq!(weir.records_of("traces").len(), 1);
    assert!(!weir.dir().join("first.jsonl").exists());
    assert!(!weir.dir().join("second.jsonl").exists());
}

#[test]
fn errors_name_the_file_and_line_that_supplied_the_key() {
    let dir = tempfile::tempdir().expect("dir");
    let base_path = dir.path().join("base.yaml");
    let extra = dir.path().join("extra.yaml");
    std::fs::write(&base_path, base().replace("{DIR}", "/tmp")).expect("write");
    std::fs::write(
        &extra,
        "# more\nexporters:\n  debug:\n    verbosity: loud\n",
    )
    .expect("write");
    let out = weir(
        &[
            "--config",
            base_path.to_str().expect("utf-8"),
            "--config",
            extra.to_str().expect("utf-8"),
            "--set=service::pipelines::traces::exporters=[nope]",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains(&format!(
            "{}:4:5: exporters.debug.verbosity",
            extra.display()
        )),
        "{err}"
    );
    assert!(
        err.contains(
            "--set service::pipelines::traces::exporters=[nope]: service.pipelines.traces.exporters"
        ),
        "{err}"
    );
    let bad_set = weir(&["--set=processors.batch.timeout=2s"], &[]);
    assert_eq!(bad_set.status.code(), Some(1));
    assert!(
        text(&bad_set.stderr).contains("--set=processors::batch::timeout=2s"),
        "{}",
        text(&bad_set.stderr)
    );
}

#[test]
fn components_lists_every_kind_with_signals_and_aliases() {
    let out = weir(&["components"], &[]);
    assert!(out.status.success());
    let table = text(&out.stdout);
    let row = |kind: &str| {
        table
            .lines()
            .find(|l| l.split_whitespace().nth(1) == Some(kind) && l.starts_with("exporter"))
            .unwrap_or_else(|| panic!("no {kind} in\n{table}"))
            .to_owned()
    };
    assert!(
        row("otlp_http").ends_with("otlphttp (deprecated)"),
        "{table}"
    );
    assert!(
        row("prometheus_remote_write").ends_with("prometheusremotewrite (deprecated)"),
        "{table}"
    );
    assert!(row("loki").contains(" logs"), "{table}");
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("receiver") && l.contains("otlp"))
    );

    let out = weir(&["components", "--json"], &[]);
    let j: Value = serde_json::from_slice(&out.stdout).expect("json");
    let otlp = j["exporters"]
        .as_array()
        .and_then(|a| a.iter().find(|e| e["type"] == "otlp_grpc"))
        .expect("otlp_grpc exporter");
    assert_eq!(otlp["aliases"][0], "otlp");
    assert_eq!(otlp["deprecated_aliases"][0], "otlp");
    assert!(
        j["processors"]
            .as_array()
            .is_some_and(|p| p.iter().any(|e| e["type"] == "batch"))
    );
}

#[test]
fn an_alias_names_the_same_exporter() {
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("w.yaml");
    std::fs::write(
        &file,
        "receivers:\n  otlp:\n    protocols:\n      http: { endpoint: 127.0.0.1:0 }\n\
         exporters:\n  otlp_http/tempo: { endpoint: http://127.0.0.1:4318 }\n\
         service:\n  pipelines:\n    traces: { receivers: [otlp], exporters: [otlp_http/tempo] }\n",
    )
    .expect("write");
    let out = weir(&["validate", file.to_str().expect("utf-8")], &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
}

const SECRETS: &str = "\
receivers:
  otlp:
    protocols:
      http: { endpoint: 127.0.0.1:4318 }
processors:
  batch: { timeout: 3s, send_batch_size: 500 }
  redaction: { hash_function: hmac-sha256, hash_key: '${env:HASH_KEY}', hashed_keys: [user.email] }
exporters:
  otlphttp/tempo:
    endpoint: ${env:TEMPO_URL}
    headers: { Authorization: Bearer tempo-secret-token }
  sentry: { dsn: 'https://sentrykey123@sentry.example/1' }
service:
  admin:
    endpoint: 127.0.0.1:8888
    ops: { token: ops-token-0123456789 }
  pipelines:
    traces: { receivers: [otlp], processors: [redaction, batch], exporters: [otlphttp/tempo, sentry] }
";

#[test]
fn print_config_shows_the_effective_config_with_secrets_hidden() {
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("w.yaml");
    std::fs::write(&file, SECRETS).expect("write");
    let envs = [
        ("HASH_KEY", "hmac-key-0123456789abcdef"),
        ("TEMPO_URL", "https://alice:tempo-password@tempo:4318"),
    ];
    let path = file.to_str().expect("utf-8");
    let out = weir(&["print-config", "--config", path], &envs);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let printed = text(&out.stdout);
    for secret in [
        "hmac-key-0123456789abcdef",
        "tempo-password",
        "tempo-secret-token",
        "sentrykey123",
        "ops-token-0123456789",
    ] {
        assert!(!printed.contains(secret), "{secret} in\n{printed}");
    }
    let v: Value = serde_yaml_ng::from_str(&printed).expect("yaml");
    let tempo = &v["exporters"]["otlphttp/tempo"];
    assert_eq!(tempo["endpoint"], "https://[REDACTED]@tempo:4318");
    assert_eq!(tempo["headers"]["Authorization"], "[REDACTED]");
    assert_eq!(tempo["sending_queue"]["batch"]["flush_timeout"], "3s");
    assert_eq!(tempo["sending_queue"]["batch"]["min_size"], 500);
    assert_eq!(v["service"]["admin"]["ops"]["token"], "[REDACTED]");
    assert_eq!(v["processors"]["redaction"]["hash_key"], "[REDACTED]");

    let out = weir(
        &[
            "print-config",
            "--config",
            path,
            "--unredacted",
            "--set=processors::batch::timeout=4s",
        ],
        &envs,
    );
    let shown = text(&out.stdout);
    assert!(
        shown.contains("tempo-password") && shown.contains("ops-token-0123456789"),
        "{shown}"
    );
    let v: Value = serde_yaml_ng::from_str(&shown).expect("yaml");
    assert_eq!(
        v["exporters"]["otlphttp/tempo"]["sending_queue"]["batch"]["flush_timeout"],
        "4s"
    );

    let invalid = weir(&["print-config", "--config", path], &[]);
    assert_eq!(invalid.status.code(), Some(1));
    assert!(text(&invalid.stderr).contains("HASH_KEY is not set"));
}

/// Runs weir with `args` and stderr piped (not a terminal) until a stderr line contains
/// `until`; returns the lines so far and stops it.
fn stderr_until(args: &[&str], until: &str) -> Vec<String> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_weir"))
        .args(args)
        .env("WEIR_OTLP_GRPC_ENDPOINT", "127.0.0.1:0")
        .env("WEIR_OTLP_HTTP_ENDPOINT", "127.0.0.1:0")
        .env("WEIR_ADMIN_ENDPOINT", "127.0.0.1:0")
        .env("WEIR_PROMETHEUS_ENDPOINT", "127.0.0.1:0")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn weir");
    let pipe = child.stderr.take().expect("piped");
    let (tx, rx) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(pipe).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + DEADLINE;
    let mut lines = Vec::new();
    while !lines.iter().any(|l: &String| l.contains(until)) {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left.max(Duration::from_millis(1))) {
            Ok(line) => lines.push(line),
            Err(_) => break,
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    drop(rx);
    let _ = reader.join();
    assert!(
        lines.iter().any(|l| l.contains(until)),
        "no {until:?} in:\n{}",
        lines.join("\n")
    );
    lines
}

#[test]
fn console_logs_have_no_colour_off_a_terminal_and_pretty_is_kept() {
    for format in ["console", "pretty"] {
        let lines = stderr_until(&["run", "--log-format", format], "weir is running");
        assert!(
            lines.iter().all(|l| !l.contains('\u{1b}')),
            "ANSI escapes in:\n{}",
            lines.join("\n")
        );
        // Console lines, not JSON.
        assert!(lines.iter().all(|l| !l.starts_with('{')), "{lines:?}");
    }
}

/// weir's stderr after a refused and an accepted gRPC export, with `WEIR_LOG=filter`: the
/// targets of its DEBUG lines.
async fn debug_targets(filter: &str) -> Vec<String> {
    let config = [("weir.yaml", DEBUG_CONFIG)];
    let weir = Weir::start_args(
        &config,
        &["--config", "{DIR}/weir.yaml"],
        &[("WEIR_LOG", filter)],
    );
    let mut client = TraceServiceClient::connect(weir.grpc_base())
        .await
        .expect("connect");
    let mut refused = tonic::Request::new(ExportTraceServiceRequest::default());
    refused
        .metadata_mut()
        .insert("x-scope-orgid", "not/valid".parse().expect("ascii"));
    client.export(refused).await.expect_err("bad tenant id");
    client
        .export(ExportTraceServiceRequest::default())
        .await
        .expect("accepted");
    weir.stderr_lines_once(|l| l.contains("request refused before ingest"))
        .iter()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|e| e["level"] == "DEBUG")
        .filter_map(|e| e["target"].as_str().map(str::to_owned))
        .collect()
}

// Multi-threaded: the gRPC client's connection task must keep running.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn weir_log_debug_is_weirs_own_debug_lines() {
    let own = debug_targets("debug").await;
    assert!(own.iter().any(|t| t.starts_with("weir")), "{own:?}");
    assert!(
        own.iter().all(|t| t.starts_with("weir")),
        "dependencies' debug lines: {own:?}"
    );
    // A full filter expression is taken as written: every crate at debug.
    let all = debug_targets("debug,weir=debug").await;
    assert!(all.iter().any(|t| !t.starts_with("weir")), "{all:?}");
}
