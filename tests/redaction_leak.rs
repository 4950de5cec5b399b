//! The security reviewer's question, answered by running it: can a password, token, key or
//! email reach any backend or any log line? Secrets are placed in every location an
//! application uses (resource, span name, span/event/link attributes, exception message and
//! stack trace, log bodies as strings and maps, log attributes, metric data point attributes,
//! nested maps and arrays), sent by the OpenTelemetry Python SDK over gRPC and HTTP/protobuf
//! and by a plain HTTP client as OTLP/JSON, through the default pipeline (`redaction: {}`).
//!
//! Every exporter weir had when this was written is attached (`debug` to stdout and to files,
//! text and JSON; `otlp` to a second weir that records what it gets; `otlphttp` to an in-test
//! server that keeps the raw request bytes) and no byte any of them emits, and no line weir
//! logs at debug level, may hold a secret. The same outputs must still show the masked keys
//! and every record, so the test cannot pass by losing data.
//!
//! Also seed 002's audit case end to end: an audit record whose `metadata` holds a key outside
//! the allowlist is rejected and named in OTLP `partial_success`; a valid one passes unchanged.

mod common;

use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::thread::JoinHandle;
use std::time::Instant;

use serde_json::{Value, json};

use common::{DEADLINE, Weir, python, tests_path};

/// The default pipeline (receivers otlp, processors [redaction] with its defaults) on
/// ephemeral ports, fanned out to every exporter.
const LEAK_CONFIG: &str = "\
receivers:
  otlp:
    protocols:
      grpc: { endpoint: 127.0.0.1:0 }
      http: { endpoint: 127.0.0.1:0 }
processors:
  redaction: {}
exporters:
  debug/json: { verbosity: detailed, format: json, path: {OUT} }
  debug/text: { verbosity: detailed, path: {OUT}.txt }
  debug/stdout: { verbosity: detailed }
  debug/stdout_json: { verbosity: detailed, format: json }
  otlp: { endpoint: {SINK}, tls: { insecure: true }, retry_on_failure: { initial_interval: 50ms } }
  otlphttp: { endpoint: {CAPTURE}, compression: none, retry_on_failure: { initial_interval: 50ms } }
service:
  admin: { endpoint: 127.0.0.1:0 }
  drain_timeout: 20s
  telemetry: { logs: { level: debug } }
  pipelines:
    traces:  { receivers: [otlp], processors: [redaction], exporters: [debug/json, debug/text, debug/stdout, debug/stdout_json, otlp, otlphttp] }
    metrics: { receivers: [otlp], processors: [redaction], exporters: [debug/json, debug/text, debug/stdout, debug/stdout_json, otlp, otlphttp] }
    logs:    { receivers: [otlp], processors: [redaction], exporters: [debug/json, debug/text, debug/stdout, debug/stdout_json, otlp, otlphttp] }
";

fn sv(s: &str) -> Value {
    json!({ "stringValue": s })
}

fn kvlist(entries: &[(&str, Value)]) -> Value {
    let values: Vec<Value> = entries
        .iter()
        .map(|(k, v)| json!({ "key": k, "value": v }))
        .collect();
    json!({ "kvlistValue": { "values": values } })
}

fn array(values: Vec<Value>) -> Value {
    json!({ "arrayValue": { "values": values } })
}

/// OTLP/JSON traces and logs with secrets nested in maps and arrays, and their needles.
fn json_requests() -> (Value, Value, Vec<&'static str>) {
    let needles = vec![
        "leak.jsonres@example.com",
        "plainsecretjsonscopeq7z",
        "plainsecretjsonpwq7z",
        "plainsecretjsonkeyq7z",
        "jsonBearerTok3nLeak99",
        "leak.jsondeep@example.com",
        "plainsecretjsonpayloadq7z",
        "plainsecretjsontagq7z",
        "4539148803436467",
        "plainsecretjsoneventq7z",
        "eyJqc29ubGluayI6MX0",
        "leak.jsonstatus@example.com",
        "leak.jsonbody@example.com",
        "ghp_JSONBODYLEAKxxxxxxxxxxxxxxxxxxxx",
        "plainsecretjsonbodypwq7z",
        "plainsecretjsonmetaq7z",
    ];
    let attrs = |entries: &[(&str, Value)]| -> Vec<Value> {
        entries
            .iter()
            .map(|(k, v)| json!({ "key": k, "value": v }))
            .collect()
    };
    let traces = json!({ "resourceSpans": [{
        "resource": { "attributes": attrs(&[
            ("service.name", sv("json-client")),
            ("k8s.pod.name", sv("pod leak.jsonres@example.com")),
        ]) },
        "scopeSpans": [{
            "scope": { "name": "json", "attributes": attrs(&[("scope.owner", sv("plainsecretjsonscopeq7z"))]) },
            "spans": [{
                "traceId": "5b8efff798038103d269b633813fc60c",
                "spanId": "eee19b7ec3c1b174",
                "name": "json span",
                "kind": 2,
                "startTimeUnixNano": "1544712660000000000",
                "endTimeUnixNano": "1544712661000000000",
                "attributes": attrs(&[
                    ("http.route", kvlist(&[
                        ("password", sv("plainsecretjsonpwq7z")),
                        ("deep", array(vec![
                            kvlist(&[("api_key", sv("plainsecretjsonkeyq7z"))]),
                            sv("Bearer jsonBearerTok3nLeak99"),
                            array(vec![sv("mail leak.jsondeep@example.com")]),
                        ])),
                    ])),
                    ("app.payload", kvlist(&[("anything", sv("plainsecretjsonpayloadq7z"))])),
                    ("tags", array(vec![sv("plainsecretjsontagq7z"), json!({ "intValue": "4539148803436467" })])),
                ]),
                "events": [{
                    "name": "evt",
                    "timeUnixNano": "1544712660500000000",
                    "attributes": attrs(&[("exception.stacktrace", kvlist(&[("token", sv("plainsecretjsoneventq7z"))]))]),
                }],
                "links": [{
                    "traceId": "5b8efff798038103d269b633813fc60d",
                    "spanId": "eee19b7ec3c1b175",
                    "attributes": attrs(&[("server.address", array(vec![
                        sv("eyJhbGciOiJIUzI1NiJ9.eyJqc29ubGluayI6MX0.c2ln"),
                    ]))]),
                }],
                "status": { "message": "failed for leak.jsonstatus@example.com", "code": 2 },
            }],
        }],
    }]});
    let logs = json!({ "resourceLogs": [{
        "resource": { "attributes": attrs(&[("service.name", sv("json-client"))]) },
        "scopeLogs": [{ "logRecords": [{
            "timeUnixNano": "1544712660300000000",
            "severityNumber": 13,
            "body": kvlist(&[("user", kvlist(&[
                ("email", sv("leak.jsonbody@example.com")),
                ("tokens", array(vec![sv("ghp_JSONBODYLEAKxxxxxxxxxxxxxxxxxxxx")])),
                ("profile", kvlist(&[("password", sv("plainsecretjsonbodypwq7z"))])),
            ]))]),
            "attributes": attrs(&[
                ("event.name", sv("user.updated")),
                ("metadata", kvlist(&[("reason", sv("plainsecretjsonmetaq7z"))])),
            ]),
        }]}],
    }]});
    (traces, logs, needles)
}

/// Asserts that no needle occurs in `bytes`, naming the output.
fn assert_clean(output: &str, bytes: &[u8], needles: &[String]) {
    let text = String::from_utf8_lossy(bytes);
    let leaked: Vec<&String> = needles
        .iter()
        .filter(|n| text.contains(n.as_str()))
        .collect();
    assert!(leaked.is_empty(), "{output} leaked {leaked:?}");
}

/// Records per signal in the debug exporter's JSON lines.
fn counts(lines: &[Value]) -> [u64; 3] {
    ["traces", "metrics", "logs"].map(|s| {
        lines
            .iter()
            .filter(|r| r["signal"] == s)
            .map(|r| r["records"].as_u64().expect("records count"))
            .sum()
    })
}

fn json_lines(bytes: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(bytes)
        .lines()
        .filter(|l| l.starts_with('{'))
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

#[test]
fn no_secret_reaches_an_exporter_or_a_log_line() {
    let python = python();
    let capture = Capture::start();
    let mut sink = Weir::start(common::DEBUG_CONFIG);
    let config = LEAK_CONFIG
        .replace("{SINK}", &sink.grpc_base())
        .replace("{CAPTURE}", &capture.base());
    let mut weir = Piped::start(&config);

    let mut needles: Vec<String> = Vec::new();
    for (protocol, endpoint) in [
        ("grpc", weir.grpc_base()),
        ("http/protobuf", weir.http_base()),
    ] {
        let report = run_send_secrets(&python, protocol, &endpoint);
        let found: Vec<String> =
            serde_json::from_value(report["needles"].clone()).expect("needles list");
        assert!(found.len() > 20, "{report}");
        needles.extend(found);
    }
    let (traces, logs, json_needles) = json_requests();
    needles.extend(json_needles.iter().map(|n| (*n).to_owned()));
    for (path, body) in [("/v1/traces", &traces), ("/v1/logs", &logs)] {
        let (status, answer) = post_json(&weir.http_base(), path, body);
        assert_eq!(status, 200, "{path}: {answer}");
        assert!(
            answer["partialSuccess"]
                .as_object()
                .is_none_or(|p| p.is_empty()),
            "{answer}"
        );
    }

    // SIGTERM drains every queue into the sink and the capture server before weir exits.
    let status = weir.stop();
    assert!(status.success(), "weir exited with {status}");
    let sink_status = sink.stop();
    assert!(sink_status.success(), "sink exited with {sink_status}");

    let read =
        |p: &std::path::Path| std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    let outputs: Vec<(String, Vec<u8>)> = vec![
        ("debug/json".into(), read(&weir.out_path())),
        (
            "debug/text".into(),
            read(&weir.out_path().with_extension("jsonl.txt")),
        ),
        ("debug/stdout (text and json)".into(), weir.stdout()),
        (
            "otlp (as the sink weir received it)".into(),
            read(&sink.out_path),
        ),
        (
            "weir's own log lines".into(),
            weir.stderr().join("\n").into_bytes(),
        ),
    ];
    for (name, bytes) in &outputs {
        assert_clean(name, bytes, &needles);
    }
    for (name, bytes) in &outputs[..3] {
        let text = String::from_utf8_lossy(bytes);
        assert!(
            text.contains("[REDACTED]") && text.contains("login.failed"),
            "{name}: {text}"
        );
    }
    let bodies = capture.bodies();
    for path in ["/v1/traces", "/v1/metrics", "/v1/logs"] {
        assert!(
            bodies.iter().any(|(p, _)| p == path),
            "otlphttp sent nothing to {path}"
        );
    }
    for (path, body) in &bodies {
        assert_clean(&format!("otlphttp raw bytes to {path}"), body, &needles);
    }
    let sent_to = |path: &str| -> String {
        let of_path = bodies.iter().filter(|(p, _)| p == path);
        of_path
            .map(|(_, b)| String::from_utf8_lossy(b).into_owned())
            .collect()
    };
    // Plain (uncompressed) protobuf, so the byte search above could have seen a leak.
    assert!(
        sent_to("/v1/traces").contains("login.failed")
            && sent_to("/v1/traces").contains("[REDACTED]")
    );
    assert!(sent_to("/v1/logs").contains("[REDACTED]"));
    assert!(sent_to("/v1/metrics").contains("app.requests"));

    // Nothing was lost on the way: 2 spans and 2 logs per SDK run plus 1 each over JSON,
    // and metrics from both runs; the masks are there and the keys kept.
    let main_lines = json_lines(&read(&weir.out_path()));
    let [spans, points, log_records] = counts(&main_lines);
    assert_eq!((spans, log_records), (5, 5), "records at debug/json");
    assert!(points >= 4, "data points at debug/json: {points}");
    assert_eq!(
        counts(&sink.records()),
        [spans, points, log_records],
        "records at the sink"
    );
    assert_eq!(
        counts(&json_lines(&weir.stdout())),
        [spans, points, log_records]
    );
    let text = String::from_utf8_lossy(&read(&weir.out_path())).into_owned();
    for kept in [
        "[REDACTED]",
        "\"db.password\"",
        "\"password\"",
        "\"enduser.id\"",
        "\"app.payload\"",
        "/pay?token=[REDACTED]",
    ] {
        assert!(text.contains(kept), "debug/json lacks {kept}");
    }
}

/// Seed 002: audit-log metadata has an allowlist and unknown keys are rejected.
#[test]
fn audit_metadata_with_an_unknown_key_is_rejected_and_named() {
    let mut weir = Weir::start(&format!(
        "\
receivers:
  otlp:
    protocols:
      grpc: {{ endpoint: 127.0.0.1:0 }}
      http: {{ endpoint: 127.0.0.1:0 }}
processors:
  redaction:
    strict_maps:
      - name: audit
        when: {{ attribute: event.domain, equals: audit }}
        attribute: metadata
        allowed_keys: [{}]
exporters:
  debug: {{ verbosity: detailed, format: json, path: {{OUT}} }}
service:
  admin: {{ endpoint: 127.0.0.1:0 }}
  pipelines:
    logs: {{ receivers: [otlp], processors: [redaction], exporters: [debug] }}
",
        weir_processors::redaction::defaults::AUDIT_METADATA_KEYS.join(", ")
    ));
    let record = |metadata: Value| {
        json!({ "timeUnixNano": "1544712660300000000", "body": sv("policy changed"),
            "attributes": [
                { "key": "event.domain", "value": sv("audit") },
                { "key": "metadata", "value": metadata },
            ] })
    };
    let good = kvlist(&[
        ("reason", sv("quota")),
        ("old_value", sv("3")),
        ("new_value", sv("5")),
        ("node_id", sv("n-7")),
    ]);
    let bad = kvlist(&[
        ("reason", sv("quota")),
        ("customer_secret_hint", sv("hunter2-do-not-leak")),
    ]);
    let body = json!({ "resourceLogs": [{ "scopeLogs": [{ "logRecords": [record(good.clone()), record(bad)] }] }] });
    let (status, answer) = post_json(&weir.http_base(), "/v1/logs", &body);
    assert_eq!(status, 200, "{answer}");
    let partial = &answer["partialSuccess"];
    let rejected = &partial["rejectedLogRecords"];
    assert!(rejected == 1 || rejected == "1", "{answer}");
    let message = partial["errorMessage"].as_str().expect("errorMessage");
    assert!(
        message.contains("customer_secret_hint") && message.contains("audit"),
        "{message}"
    );
    assert!(!message.contains("hunter2"), "{message}");

    let status = weir.stop();
    assert!(status.success(), "weir exited with {status}");
    let logs = weir.records_of("logs");
    assert_eq!(
        counts(&logs),
        [0, 0, 1],
        "only the valid record is exported"
    );
    let exported = &logs[0]["data"]["resourceLogs"][0]["scopeLogs"][0]["logRecords"][0];
    assert_eq!(
        exported["attributes"][1]["value"], good,
        "known keys pass unchanged"
    );
    assert_eq!(exported["attributes"][0]["value"], sv("audit"));
    let stderr = weir.stderr_lines().join("\n");
    assert!(
        stderr.contains("customer_secret_hint"),
        "the rejection is logged:\n{stderr}"
    );
    assert!(!stderr.contains("hunter2"), "{stderr}");
}

/// Runs send_secrets.py against `endpoint` with `protocol`; its report, or a panic with its
/// output when it failed.
fn run_send_secrets(python: &Path, protocol: &str, endpoint: &str) -> Value {
    let mut cmd = Command::new(python);
    cmd.arg(tests_path("python/send_secrets.py"));
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy().into_owned();
        if key.starts_with("OTEL_") || key.to_ascii_lowercase().ends_with("_proxy") {
            cmd.env_remove(key);
        }
    }
    let out = cmd
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)
        .env("OTEL_EXPORTER_OTLP_PROTOCOL", protocol)
        .env("OTEL_SERVICE_NAME", "leaky-svc")
        .stdin(Stdio::null())
        .output()
        .expect("run send_secrets.py");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "send_secrets.py ({protocol}) exited {}\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(stdout.trim()).expect("send_secrets.py prints one JSON line")
}

/// POSTs `body` as OTLP/JSON; the status and the decoded answer.
fn post_json(base: &str, path: &str, body: &Value) -> (u16, Value) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let resp = common::http_client()
            .post(format!("{base}{path}"))
            .header("content-type", "application/json")
            .body(serde_json::to_vec(body).expect("encode"))
            .send()
            .await
            .expect("POST to weir");
        let status = resp.status().as_u16();
        let bytes = resp.bytes().await.expect("answer body");
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    })
}

/// Request path and raw body.
type Request = (String, Vec<u8>);

/// An OTLP/HTTP server that answers 200 to everything and keeps each request's raw body.
struct Capture {
    addr: SocketAddr,
    bodies: Arc<Mutex<Vec<Request>>>,
}

impl Capture {
    fn start() -> Capture {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind capture");
        listener.set_nonblocking(true).expect("non-blocking");
        let addr = listener.local_addr().expect("capture address");
        let bodies = Arc::new(Mutex::new(Vec::new()));
        let kept = Arc::clone(&bodies);
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
                let app = axum::Router::new().fallback(
                    move |uri: axum::http::Uri, body: bytes::Bytes| {
                        kept.lock()
                            .expect("lock")
                            .push((uri.path().to_owned(), body.to_vec()));
                        async {
                            (
                                [(axum::http::header::CONTENT_TYPE, "application/x-protobuf")],
                                Vec::<u8>::new(),
                            )
                        }
                    },
                );
                axum::serve(listener, app).await.expect("capture server");
            });
        });
        Capture { addr, bodies }
    }

    fn base(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn bodies(&self) -> Vec<Request> {
        self.bodies.lock().expect("lock").clone()
    }
}

/// `weir run` with stdout kept too (the harness discards it), for the stdout debug exporter.
struct Piped {
    child: Option<Child>,
    dir: tempfile::TempDir,
    addrs: [SocketAddr; 2],
    stdout: Arc<Mutex<Vec<u8>>>,
    stderr: Arc<Mutex<Vec<String>>>,
    readers: Vec<JoinHandle<()>>,
}

impl Piped {
    fn start(yaml: &str) -> Piped {
        let dir = tempfile::tempdir().expect("temp dir");
        let out = dir.path().join("out.jsonl");
        let config = dir.path().join("weir.yaml");
        std::fs::write(
            &config,
            yaml.replace("{OUT}", out.to_str().expect("UTF-8 path")),
        )
        .expect("write config");
        let mut child = Command::new(env!("CARGO_BIN_EXE_weir"))
            .arg("run")
            .arg("--config")
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn weir");
        let (stdout, stderr) = (
            Arc::new(Mutex::new(Vec::new())),
            Arc::new(Mutex::new(Vec::new())),
        );
        let mut pipe = child.stdout.take().expect("stdout piped");
        let kept = Arc::clone(&stdout);
        let out_reader = std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            while let Ok(n @ 1..) = pipe.read(&mut buf) {
                kept.lock().expect("lock").extend_from_slice(&buf[..n]);
            }
        });
        let (tx, rx) = mpsc::channel::<String>();
        let pipe = child.stderr.take().expect("stderr piped");
        let kept = Arc::clone(&stderr);
        let err_reader = std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                kept.lock().expect("lock").push(line.clone());
                let _ = tx.send(line);
            }
        });
        let mut addrs: [Option<SocketAddr>; 2] = [None, None];
        let deadline = Instant::now() + DEADLINE;
        while addrs.iter().any(Option::is_none) {
            let left = deadline.saturating_duration_since(Instant::now());
            let Ok(line) = rx.recv_timeout(left) else {
                let _ = child.kill();
                panic!(
                    "weir did not listen; stderr:\n{}",
                    stderr.lock().expect("lock").join("\n")
                );
            };
            let Ok(event) = serde_json::from_str::<Value>(&line) else {
                continue;
            };
            let slot = match event["listener"].as_str() {
                Some("otlp/grpc") if event["message"] == "listening" => 0,
                Some("otlp/http") if event["message"] == "listening" => 1,
                _ => continue,
            };
            addrs[slot] = event["address"].as_str().and_then(|a| a.parse().ok());
        }
        Piped {
            child: Some(child),
            dir,
            addrs: addrs.map(|a| a.expect("address")),
            stdout,
            stderr,
            readers: vec![out_reader, err_reader],
        }
    }

    fn grpc_base(&self) -> String {
        format!("http://{}", self.addrs[0])
    }

    fn http_base(&self) -> String {
        format!("http://{}", self.addrs[1])
    }

    fn out_path(&self) -> PathBuf {
        self.dir.path().join("out.jsonl")
    }

    fn stdout(&self) -> Vec<u8> {
        self.stdout.lock().expect("lock").clone()
    }

    fn stderr(&self) -> Vec<String> {
        self.stderr.lock().expect("lock").clone()
    }

    /// SIGTERM, then waits for exit (killing after [`DEADLINE`]) and for both pipes to close.
    fn stop(&mut self) -> ExitStatus {
        let mut child = self.child.take().expect("running");
        let pid = child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let (tx, rx) = mpsc::channel();
        let waiter = std::thread::spawn(move || {
            let _ = tx.send(child.wait());
        });
        let status = rx.recv_timeout(DEADLINE).ok().and_then(Result::ok);
        if status.is_none() {
            let _ = Command::new("kill").args(["-KILL", &pid]).status();
        }
        let _ = waiter.join();
        for r in self.readers.drain(..) {
            let _ = r.join();
        }
        status.unwrap_or_else(|| {
            panic!(
                "weir did not exit after SIGTERM; stderr:\n{}",
                self.stderr().join("\n")
            )
        })
    }
}

impl Drop for Piped {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
