//! Black-box harness: runs the real `weir` binary on loopback with a config written to a temp
//! dir, learns its ports from the `listening` log lines, and reads the `debug` exporter's JSON
//! lines back.
//!
//! Every wait here is on an event (a log line, the process exiting), bounded by a generous
//! deadline that only turns a hang into a failure with the collected stderr.

#![allow(dead_code)] // each test binary uses its own part of the harness

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::Value;

/// How long weir may take to report all its listeners, or to exit after SIGTERM.
pub const DEADLINE: Duration = Duration::from_secs(30);

/// The listeners every harness config has; `start` waits for one `listening` line each.
const LISTENERS: [&str; 3] = ["otlp/grpc", "otlp/http", "admin"];

/// The config most tests want: OTLP gRPC + HTTP in, every signal to the JSON debug exporter
/// writing to `{OUT}`, admin on an ephemeral port.
pub const DEBUG_CONFIG: &str = "\
receivers:
  otlp:
    protocols:
      grpc: { endpoint: 127.0.0.1:0 }
      http: { endpoint: 127.0.0.1:0 }
exporters:
  debug:
    verbosity: detailed
    format: json
    path: {OUT}
service:
  admin: { endpoint: 127.0.0.1:0 }
  pipelines:
    traces:  { receivers: [otlp], exporters: [debug] }
    metrics: { receivers: [otlp], exporters: [debug] }
    logs:    { receivers: [otlp], exporters: [debug] }
";

/// A running `weir run --config …`; SIGTERMed and reaped on drop.
pub struct Weir {
    child: Option<Child>,
    /// Holds the config and the debug output; removed on drop.
    dir: tempfile::TempDir,
    /// The bound OTLP/gRPC address.
    pub grpc_addr: SocketAddr,
    /// The bound OTLP/HTTP address.
    pub http_addr: SocketAddr,
    /// The bound admin address.
    pub admin_addr: SocketAddr,
    /// Where `{OUT}` in the config points: the debug exporter's output file.
    pub out_path: PathBuf,
    stderr: Arc<Mutex<Vec<String>>>,
    reader: Option<JoinHandle<()>>,
}

impl Weir {
    /// Writes `config_yaml` (with `{OUT}` replaced by a path in a fresh temp dir) and starts weir
    /// on it; returns once the otlp/grpc, otlp/http and admin listeners have logged their
    /// addresses. Panics with weir's stderr if it exits first or takes longer than [`DEADLINE`].
    pub fn start(config_yaml: &str) -> Weir {
        let dir = tempfile::tempdir().expect("create temp dir");
        let out_path = dir.path().join("out.jsonl");
        let config_path = dir.path().join("weir.yaml");
        let out = out_path.to_str().expect("temp path is UTF-8");
        std::fs::write(&config_path, config_yaml.replace("{OUT}", out)).expect("write config");
        let mut command = Command::new(env!("CARGO_BIN_EXE_weir"));
        command
            .arg("run")
            .arg("--config")
            .arg(&config_path)
            .stdout(Stdio::null());
        Self::spawn(command, dir, out_path)
    }

    /// `weir run` with no `--config`: the embedded default pipeline, every listener moved to an
    /// ephemeral loopback port through its `WEIR_*_ENDPOINT` variable. weir's stdout (the debug
    /// exporter's output there) goes to the file [`Weir::out_path`] names.
    pub fn start_default() -> Weir {
        let dir = tempfile::tempdir().expect("create temp dir");
        let out_path = dir.path().join("stdout.txt");
        let stdout = std::fs::File::create(&out_path).expect("create stdout file");
        let mut command = Command::new(env!("CARGO_BIN_EXE_weir"));
        command.arg("run").stdout(stdout);
        for var in [
            "WEIR_OTLP_GRPC_ENDPOINT",
            "WEIR_OTLP_HTTP_ENDPOINT",
            "WEIR_ADMIN_ENDPOINT",
            "WEIR_PROMETHEUS_ENDPOINT",
        ] {
            command.env(var, "127.0.0.1:0");
        }
        Self::spawn(command, dir, out_path)
    }

    fn spawn(mut command: Command, dir: tempfile::TempDir, out_path: PathBuf) -> Weir {
        let mut child = command
            .stdin(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn weir");

        // One thread owns stderr for the process's whole life: it keeps every line and, while
        // somebody listens, forwards each one. The channel closes when stderr does (exit).
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = mpsc::channel::<String>();
        let pipe = child.stderr.take().expect("stderr is piped");
        let collected = Arc::clone(&stderr);
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines() {
                let Ok(line) = line else { break };
                collected.lock().expect("stderr lock").push(line.clone());
                let _ = tx.send(line); // nobody listens after start: fine
            }
        });

        let deadline = Instant::now() + DEADLINE;
        let mut addrs: [Option<SocketAddr>; 3] = [None; 3];
        while addrs.iter().any(Option::is_none) {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = match rx.recv_timeout(left) {
                Ok(line) => line,
                Err(RecvTimeoutError::Timeout) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    let lines = stderr.lock().expect("stderr lock").join("\n");
                    panic!(
                        "weir did not log all of {LISTENERS:?} as listening within {DEADLINE:?}; \
                         stderr:\n{lines}"
                    );
                }
                Err(RecvTimeoutError::Disconnected) => {
                    let status = child.wait().expect("wait for weir");
                    let _ = reader.join();
                    let lines = stderr.lock().expect("stderr lock").join("\n");
                    panic!("weir exited ({status}) before it was listening; stderr:\n{lines}");
                }
            };
            let Ok(event) = serde_json::from_str::<Value>(&line) else {
                continue; // not every stderr line has to be ours to parse
            };
            if event["message"] != "listening" {
                continue;
            }
            let Some(slot) = LISTENERS.iter().position(|l| event["listener"] == *l) else {
                continue;
            };
            let addr = event["address"]
                .as_str()
                .and_then(|a| a.parse().ok())
                .unwrap_or_else(|| panic!("listening line without a socket address: {line}"));
            assert!(
                addrs[slot].replace(addr).is_none(),
                "listener {} logged `listening` twice: {line}",
                LISTENERS[slot]
            );
        }
        let [grpc, http, admin] = addrs.map(|a| a.expect("every listener seen"));

        Weir {
            child: Some(child),
            dir,
            grpc_addr: grpc,
            http_addr: http,
            admin_addr: admin,
            out_path,
            stderr,
            reader: Some(reader),
        }
    }

    /// The temp dir holding the config and output.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// `http://<otlp/http address>`: the base URL an SDK's OTLP endpoint would name.
    pub fn http_base(&self) -> String {
        format!("http://{}", self.http_addr)
    }

    /// `http://<otlp/grpc address>`.
    pub fn grpc_base(&self) -> String {
        format!("http://{}", self.grpc_addr)
    }

    /// Every line the debug exporter has written so far, parsed. The exporter flushes a line
    /// before the client is answered, so after a successful export its line is here.
    pub fn records(&self) -> Vec<Value> {
        let text = match std::fs::read_to_string(&self.out_path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Vec::new(),
            Err(e) => panic!("read {}: {e}", self.out_path.display()),
        };
        text.lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                serde_json::from_str(l)
                    .unwrap_or_else(|e| panic!("debug output line is not JSON ({e}): {l}"))
            })
            .collect()
    }

    /// The debug records of one signal (`traces`, `metrics`, `logs`).
    pub fn records_of(&self, signal: &str) -> Vec<Value> {
        self.records()
            .into_iter()
            .filter(|r| r["signal"] == signal)
            .collect()
    }

    /// weir's process id (0 once it has been stopped).
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    /// weir's stderr lines so far.
    pub fn stderr_lines(&self) -> Vec<String> {
        self.stderr.lock().expect("stderr lock").clone()
    }

    /// Sends SIGTERM and waits (up to [`DEADLINE`], then SIGKILL) for weir to exit; all of its
    /// stderr has been collected when this returns.
    pub fn stop(&mut self) -> ExitStatus {
        self.terminate()
            .unwrap_or_else(|e| panic!("{e}; stderr:\n{}", self.stderr_lines().join("\n")))
    }

    fn terminate(&mut self) -> Result<ExitStatus, String> {
        let mut child = self.child.take().ok_or("weir was already stopped")?;
        let pid = child.id().to_string();
        let sent = Command::new("kill").args(["-TERM", &pid]).status();
        if !sent.as_ref().is_ok_and(ExitStatus::success) {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("kill -TERM {pid} failed: {sent:?}"));
        }

        let (tx, rx) = mpsc::channel();
        let waiter = std::thread::spawn(move || {
            let _ = tx.send(child.wait());
        });
        let status = rx.recv_timeout(DEADLINE);
        if status.is_err() {
            let _ = Command::new("kill").args(["-KILL", &pid]).status();
        }
        let _ = waiter.join();
        if let Some(reader) = self.reader.take() {
            let _ = reader.join(); // EOF follows exit
        }
        match status {
            Ok(Ok(status)) => Ok(status),
            Ok(Err(e)) => Err(format!("waiting for weir failed: {e}")),
            Err(_) => Err(format!("weir did not exit within {DEADLINE:?} of SIGTERM")),
        }
    }
}

impl Drop for Weir {
    fn drop(&mut self) {
        let panicking = std::thread::panicking();
        if panicking {
            eprintln!(
                "---- weir stderr ----\n{}\n---- end of weir stderr ----",
                self.stderr_lines().join("\n")
            );
        }
        if self.child.is_none() {
            return;
        }
        let outcome = self.terminate();
        if panicking {
            return; // the test's own failure is the one to report
        }
        match outcome {
            Ok(status) if status.success() => {}
            Ok(status) => panic!(
                "weir exited with {status} after SIGTERM; stderr:\n{}",
                self.stderr_lines().join("\n")
            ),
            Err(e) => panic!("{e}; stderr:\n{}", self.stderr_lines().join("\n")),
        }
    }
}

/// The Python that has the OpenTelemetry SDK: `$WEIR_TEST_PYTHON`, else the workspace's
/// `.venv/bin/python`. Panics (never skips) when neither exists.
pub fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("WEIR_TEST_PYTHON") {
        let p = PathBuf::from(p);
        assert!(
            p.exists(),
            "WEIR_TEST_PYTHON={} does not exist; run ./scripts/test, which creates .venv",
            p.display()
        );
        return p;
    }
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python");
    assert!(
        p.exists(),
        "{} is missing: run ./scripts/test (it creates .venv and installs \
         tests/python/requirements.txt), or set WEIR_TEST_PYTHON",
        p.display()
    );
    p
}

/// A reqwest client for loopback HTTP. The workspace builds reqwest with `rustls-no-provider`
/// (ring only, no aws-lc), so a client cannot be built before ring's provider is installed, even
/// for plain `http://`.
pub fn http_client() -> reqwest::Client {
    weir::install_crypto_provider();
    reqwest::Client::builder()
        .build()
        .expect("build reqwest client")
}

/// `tests/<rel>` in the workspace.
pub fn tests_path(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join(rel)
}

/// The attributes of an OTLP/JSON object (`[{key, value}]`) as (key, typed value) pairs, in
/// order; panics if `attributes` is not such a list.
pub fn attrs(of: &Value) -> Vec<(String, Value)> {
    of["attributes"]
        .as_array()
        .unwrap_or_else(|| panic!("no attributes array in {of}"))
        .iter()
        .map(|kv| {
            let key = kv["key"]
                .as_str()
                .unwrap_or_else(|| panic!("attribute without key: {kv}"));
            (key.to_owned(), kv["value"].clone())
        })
        .collect()
}

/// The typed value of attribute `key` in `of["attributes"]`; panics if absent or repeated.
pub fn attr(of: &Value, key: &str) -> Value {
    let found: Vec<Value> = attrs(of)
        .into_iter()
        .filter(|(k, _)| k == key)
        .map(|(_, v)| v)
        .collect();
    match found.as_slice() {
        [one] => one.clone(),
        [] => panic!("attribute {key:?} missing in {of}"),
        _ => panic!("attribute {key:?} repeated in {of}"),
    }
}
