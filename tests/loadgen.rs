//! `weir loadgen` and `weir sink` end to end: loadgen sends to weir, weir's `otlp` exporter
//! delivers to the sink, and the sink's `/counts` must match what loadgen says was acknowledged,
//! per tenant. With the `redaction` processor no planted secret reaches the sink; without it
//! they do (so the sink's check is shown to find them).

mod common;

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{DEADLINE, OTLP_RECEIVER, Weir, http_client};
use serde_json::Value;

const TENANTS: u64 = 3;
const REQUESTS: u64 = 12;
const RECORDS: u64 = 40;

/// A running `weir sink`, killed on drop.
struct Sink {
    child: Option<Child>,
    grpc: SocketAddr,
    http: SocketAddr,
    _dir: tempfile::TempDir,
}

impl Sink {
    fn start() -> Sink {
        let dir = tempfile::tempdir().expect("temp dir");
        let ready = dir.path().join("ready");
        let child = Command::new(env!("CARGO_BIN_EXE_weir"))
            .args(["sink", "--grpc", "127.0.0.1:0", "--http", "127.0.0.1:0"])
            .arg("--ready-file")
            .arg(&ready)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn weir sink");
        let line = wait_for_file(&ready);
        let addr = |key: &str| -> SocketAddr {
            line.split_whitespace()
                .find_map(|w| w.strip_prefix(key))
                .and_then(|a| a.parse().ok())
                .unwrap_or_else(|| panic!("no {key} address in the ready file: {line:?}"))
        };
        Sink {
            grpc: addr("grpc="),
            http: addr("http="),
            child: Some(child),
            _dir: dir,
        }
    }

    async fn counts(&self) -> Value {
        http_client()
            .get(format!("http://{}/counts", self.http))
            .send()
            .await
            .expect("GET /counts")
            .json()
            .await
            .expect("counts JSON")
    }

    /// The counts once `records.<signal>` adds up to `total`, or panics at the deadline.
    async fn counts_once(&self, signal: &str, total: u64) -> Value {
        let deadline = Instant::now() + DEADLINE;
        loop {
            let counts = self.counts().await;
            let got: u64 = counts["records"][signal]
                .as_object()
                .map_or(0, |m| m.values().filter_map(Value::as_u64).sum());
            if got >= total {
                return counts;
            }
            assert!(
                Instant::now() < deadline,
                "the sink got {got} of {total} {signal} records: {counts}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// SIGTERMs the sink; returns its stdout (the final counts are its last line).
    fn stop(mut self) -> String {
        let child = self.child.take().expect("the sink runs");
        let pid = child.id().to_string();
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill");
        let out = child.wait_with_output().expect("sink exits");
        assert!(out.status.success(), "sink exit: {}", out.status);
        String::from_utf8(out.stdout).expect("UTF-8")
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn wait_for_file(path: &Path) -> String {
    let deadline = Instant::now() + DEADLINE;
    loop {
        if let Ok(text) = std::fs::read_to_string(path)
            && text.ends_with('\n')
        {
            return text;
        }
        assert!(
            Instant::now() < deadline,
            "{} never appeared",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn loadgen(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_weir"))
        .arg("loadgen")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run weir loadgen")
}

/// Runs loadgen for `signal` over `protocol` against `endpoint`; returns its JSON summary after
/// checking that every request was acknowledged.
fn send(endpoint: &str, signal: &str, protocol: &str, compression: &str) -> Value {
    let dir = tempfile::tempdir().expect("temp dir");
    let summary = dir.path().join("summary.json");
    let (requests, records, tenants) = (
        REQUESTS.to_string(),
        RECORDS.to_string(),
        TENANTS.to_string(),
    );
    let out = loadgen(&[
        "--endpoint",
        endpoint,
        "--signal",
        signal,
        "--protocol",
        protocol,
        "--compression",
        compression,
        "--count",
        &requests,
        "--records-per-request",
        &records,
        "--tenants",
        &tenants,
        "--concurrency",
        "4",
        "--connections",
        "2",
        "--summary-json",
        summary.to_str().expect("UTF-8 path"),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "loadgen {signal}: {}\n{stdout}\n{stderr}",
        out.status
    );
    assert!(stdout.contains("requests:"), "{stdout}");
    let s: Value =
        serde_json::from_str(&std::fs::read_to_string(&summary).expect("summary written"))
            .expect("summary JSON");
    assert_eq!(s["signal"], signal, "{s}");
    assert_eq!(s["protocol"], protocol, "{s}");
    assert_eq!(s["requests_sent"], REQUESTS, "{s}");
    assert_eq!(s["requests_ok"], REQUESTS, "{s}");
    assert_eq!(s["records_acked"], REQUESTS * RECORDS, "{s}");
    assert_eq!(s["records_rejected"], 0, "{s}");
    assert!(s["latency_ms"]["max"].as_f64() > Some(0.0), "{s}");
    s
}

fn weir_to(sink: &Sink, redaction: bool) -> Weir {
    let processors = if redaction {
        "processors: [redaction], "
    } else {
        "redaction: off, "
    };
    Weir::start(&format!(
        "{OTLP_RECEIVER}processors:
  redaction: {{}}
exporters:
  otlp: {{ endpoint: {grpc}, compression: none, tls: {{ insecure: true }} }}
service:
  admin: {{ endpoint: 127.0.0.1:0 }}
  pipelines:
    traces:  {{ receivers: [otlp], {processors}exporters: [otlp] }}
    logs:    {{ receivers: [otlp], {processors}exporters: [otlp] }}
    metrics: {{ receivers: [otlp], {processors}exporters: [otlp] }}
",
        grpc = sink.grpc
    ))
}

/// Sends every signal through weir to the sink; returns the sink's counts once all arrived,
/// after checking them per tenant against loadgen's summaries.
async fn through_weir(redaction: bool) -> Value {
    let sink = Sink::start();
    let weir = weir_to(&sink, redaction);
    let runs = [
        ("traces", "grpc", "none", weir.grpc_base()),
        ("logs", "http/protobuf", "gzip", weir.http_base()),
        ("metrics", "http/json", "none", weir.http_base()),
    ];
    let mut counts = Value::Null;
    for (signal, protocol, compression, endpoint) in runs {
        let summary = send(&endpoint, signal, protocol, compression);
        counts = sink.counts_once(signal, REQUESTS * RECORDS).await;
        let by_tenant = summary["records_acked_by_tenant"]
            .as_object()
            .expect("per-tenant acks");
        assert_eq!(by_tenant.len() as u64, TENANTS, "{summary}");
        assert_eq!(
            &counts["records"][signal], &summary["records_acked_by_tenant"],
            "sink counts vs loadgen acks for {signal}"
        );
    }
    assert_eq!(counts["records_without_resource"], 0, "{counts}");
    let last = sink.stop();
    let printed: Value = serde_json::from_str(last.lines().last().expect("counts line"))
        .expect("the sink prints its counts as JSON on SIGTERM");
    assert_eq!(printed["records"], counts["records"]);
    counts
}

#[tokio::test]
async fn what_loadgen_acks_is_what_the_sink_counts_and_redaction_leaves_no_secret() {
    let counts = through_weir(true).await;
    assert_eq!(counts["leaked_values"], 0, "{counts}");
}

#[tokio::test]
async fn without_redaction_the_sink_sees_the_planted_secrets() {
    let counts = through_weir(false).await;
    // One sensitive attribute per record by default, for every record of every signal.
    assert_eq!(counts["leaked_values"], 3 * REQUESTS * RECORDS, "{counts}");
}

#[tokio::test]
async fn loadgen_straight_to_the_sink_and_reset() {
    let sink = Sink::start();
    let summary = send(&format!("http://{}", sink.grpc), "logs", "grpc", "gzip");
    let counts = sink.counts_once("logs", REQUESTS * RECORDS).await;
    assert_eq!(
        counts["records"]["logs"],
        summary["records_acked_by_tenant"]
    );
    assert_eq!(counts["requests"], REQUESTS);
    assert_eq!(counts["leaked_values"], REQUESTS * RECORDS);
    let reset = http_client()
        .post(format!("http://{}/reset", sink.http))
        .send()
        .await
        .expect("POST /reset");
    assert!(reset.status().is_success());
    let zero = sink.counts().await;
    assert_eq!(
        (&zero["requests"], &zero["leaked_values"]),
        (&0.into(), &0.into())
    );
    assert_eq!(zero["records"]["logs"], serde_json::json!({}));
}

#[test]
fn loadgen_against_a_closed_port_exits_1_and_says_why() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    // The listener is closed again here: nothing listens on `port`.
    let endpoint = format!("http://127.0.0.1:{port}");
    let out = loadgen(&["--endpoint", &endpoint, "--count", "1"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("cannot connect") && stderr.contains(&endpoint),
        "{stderr}"
    );
    assert!(out.stdout.is_empty(), "no summary without a connection");
}

#[test]
fn loadgen_refuses_count_with_duration_with_exit_2() {
    let out = loadgen(&["--count", "1", "--duration", "1s"]);
    assert_eq!(out.status.code(), Some(2));
    let out = loadgen(&["--records-per-request", "0"]);
    assert_eq!(out.status.code(), Some(2));
}
