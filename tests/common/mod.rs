//! Black-box harness: runs the real `weir` binary on loopback with a config written to a temp
//! dir, learns its ports from the `listening` log lines, keeps its stdout and stderr, and reads
//! the `debug` exporter's JSON lines back ([`debug_out`]).
//!
//! What several test files share beyond that lives in the submodules: requests to weir's
//! listeners ([`http`]), weir under a file descriptor limit ([`fd_limit`]), a server that keeps
//! every request raw ([`capture`]), Loki's push format ([`loki`]), the leak corpus ([`leak`])
//! and what the leak test searches beyond exporters' bodies ([`leak_search`]), the loss ledger
//! ([`ledger`]), the disk queue tests' backend and requests ([`durable`]), the ops page's
//! figures and headless chromium ([`ops`]), a real Prometheus and promtool ([`prometheus`]), the
//! Python SDK scripts ([`sdk`]), the servers built from Go modules by `scripts/peers`
//! ([`peers`]), a real `redis-server` ([`redis`]) and test certificates ([`pki`]).
//!
//! Every wait here is on an event (a log line, the process exiting), bounded by a generous
//! deadline that only turns a hang into a failure with the collected stderr.

#![allow(dead_code)] // each test binary uses its own part of the harness

pub mod capture;
pub mod config;
mod debug_out;
pub mod durable;
pub mod fd_limit;
pub mod http;
pub mod leak;
pub mod leak_search;
pub mod ledger;
pub mod loki;
pub mod ops;
pub mod peers;
pub mod pki;
pub mod prometheus;
pub mod redis;
pub mod reload;
pub mod sdk;
mod stderr;
mod tools;

#[allow(unused_imports)] // each test binary uses some of them
pub use debug_out::{attr, attrs};
#[allow(unused_imports)] // each test binary uses some of them
pub use tools::{debian_tool, debian_tools, python};

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, mpsc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::Value;

use stderr::{GaveUp, Stderr};

/// How long weir may take to report all its listeners, or to exit after SIGTERM.
pub const DEADLINE: Duration = Duration::from_secs(30);

/// The listeners every harness config has; `start` waits for one `listening` line each.
const LISTENERS: [&str; 3] = ["otlp/grpc", "otlp/http", "admin"];

/// The `receivers:` section of most test configs: the `otlp` receiver with both protocols on
/// ephemeral loopback ports. Keys of the receiver (`tenant:`, at four spaces) may follow it.
pub const OTLP_RECEIVER: &str = "receivers:\n  otlp:\n    protocols:\n      \
    grpc: { endpoint: 127.0.0.1:0 }\n      http: { endpoint: 127.0.0.1:0 }\n";

/// The usual rest of a test config after its receivers (and processors): `exporters:` with the
/// JSON debug exporter writing to `{OUT}`, then `service:` with the admin listener on an
/// ephemeral port. Keys of `service` (`pipelines:`, at two spaces) follow it.
pub const DEBUG_AND_ADMIN: &str = "exporters:\n  \
    debug: { verbosity: detailed, format: json, path: {OUT} }\nservice:\n  \
    admin: { endpoint: 127.0.0.1:0 }\n";

/// The config most tests want: OTLP gRPC + HTTP in, every signal to the JSON debug exporter
/// writing to `{OUT}`, admin on an ephemeral port. Its pipelines set `redaction: off`, so what
/// arrives is written as it was sent: the tests that use it check exactly that, and a sink
/// that redacted again would hide what the weir under test let through.
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
    traces:  { receivers: [otlp], exporters: [debug], redaction: off }
    metrics: { receivers: [otlp], exporters: [debug], redaction: off }
    logs:    { receivers: [otlp], exporters: [debug], redaction: off }
";

/// The `listening` events in `lines`: (listener, address). A line without a socket address is
/// no such event, so a listener that logs one is reported as never listening.
fn listening(lines: &[String]) -> Vec<(String, SocketAddr)> {
    lines
        .iter()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|event| event["message"] == "listening")
        .filter_map(|event| {
            let addr = event["address"].as_str()?.parse().ok()?;
            Some((event["listener"].as_str()?.to_owned(), addr))
        })
        .collect()
}

/// A running `weir run`; SIGTERMed and reaped on drop.
pub struct Weir {
    child: Option<Child>,
    /// Holds the config, stdout and the debug output; removed on drop.
    dir: tempfile::TempDir,
    /// The bound OTLP/gRPC address.
    pub grpc_addr: SocketAddr,
    /// The bound OTLP/HTTP address.
    pub http_addr: SocketAddr,
    /// The bound admin address.
    pub admin_addr: SocketAddr,
    /// Where `{OUT}` in the config points: the debug exporter's output file (for
    /// [`Weir::start_default`], whose debug exporter prints, the stdout file).
    pub out_path: PathBuf,
    stderr: Arc<Stderr>,
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
        command.arg("run").arg("--config").arg(&config_path);
        Self::spawn(command, dir, out_path)
    }

    /// Writes each of `files` (name, text with `{OUT}` and `{DIR}` replaced) in a fresh temp
    /// dir and starts `weir` with `args` (`{DIR}` replaced by that dir) and the environment
    /// variables `envs`, for command lines other than `weir run --config FILE`;
    /// [`Weir::out_path`] is `{OUT}`. Waits as [`Weir::start`] does.
    pub fn start_args(files: &[(&str, &str)], args: &[&str], envs: &[(&str, &str)]) -> Weir {
        let dir = tempfile::tempdir().expect("create temp dir");
        let out_path = dir.path().join("out.jsonl");
        let out = out_path.to_str().expect("temp path is UTF-8");
        let dir_text = dir.path().to_str().expect("temp path is UTF-8").to_owned();
        for (name, text) in files {
            let text = text.replace("{OUT}", out).replace("{DIR}", &dir_text);
            std::fs::write(dir.path().join(name), text).expect("write config");
        }
        let mut command = Command::new(env!("CARGO_BIN_EXE_weir"));
        command.args(args.iter().map(|a| a.replace("{DIR}", &dir_text)));
        command.envs(envs.iter().copied());
        Self::spawn(command, dir, out_path)
    }

    /// `weir run` with no `--config`: the embedded default pipeline, every listener moved to an
    /// ephemeral loopback port through its `WEIR_*_ENDPOINT` variable. Its debug exporter
    /// prints on stdout, so [`Weir::out_path`] names the stdout file.
    pub fn start_default() -> Weir {
        let dir = tempfile::tempdir().expect("create temp dir");
        let out_path = Self::stdout_in(dir.path());
        let mut command = Command::new(env!("CARGO_BIN_EXE_weir"));
        command.arg("run");
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

    fn stdout_in(dir: &Path) -> PathBuf {
        dir.join("stdout.txt")
    }

    fn spawn(mut command: Command, dir: tempfile::TempDir, out_path: PathBuf) -> Weir {
        let stdout =
            std::fs::File::create(Self::stdout_in(dir.path())).expect("create stdout file");
        let mut child = command
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn weir");

        // One thread owns stderr for the process's whole life: it keeps every line and wakes
        // whoever waits for one, and marks the end when stderr closes (exit).
        let stderr = Arc::new(Stderr::default());
        let pipe = child.stderr.take().expect("stderr is piped");
        let collected = Arc::clone(&stderr);
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines() {
                let Ok(line) = line else { break };
                collected.push(line);
            }
            collected.close();
        });

        let seen = stderr.wait(Instant::now() + DEADLINE, |lines| {
            let events = listening(lines);
            let all = LISTENERS
                .iter()
                .all(|name| events.iter().any(|(l, _)| l == name));
            all.then_some(events)
        });
        let events = match seen {
            Ok(events) => events,
            Err(why) => {
                let _ = child.kill();
                let status = child.wait().map(|s| s.to_string());
                let _ = reader.join();
                let lines = stderr.lines().join("\n");
                match why {
                    GaveUp::Exited => {
                        panic!("weir exited ({status:?}) before it was listening; stderr:\n{lines}")
                    }
                    GaveUp::Deadline => panic!(
                        "weir did not log all of {LISTENERS:?} as listening within {DEADLINE:?}; \
                         stderr:\n{lines}"
                    ),
                }
            }
        };
        let [grpc, http, admin] = LISTENERS.map(|name| {
            let addrs: Vec<SocketAddr> = events
                .iter()
                .filter(|(l, _)| l == name)
                .map(|(_, a)| *a)
                .collect();
            assert_eq!(addrs.len(), 1, "listener {name} logged `listening` twice");
            addrs[0]
        });

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

    /// The address listener `name` (an exporter id such as `prometheus`, or a receiver's)
    /// logged as `listening`, waiting up to [`DEADLINE`] for the line.
    pub fn listener_addr(&self, name: &str) -> SocketAddr {
        let found = self.stderr.wait(Instant::now() + DEADLINE, |lines| {
            listening(lines)
                .into_iter()
                .find_map(|(l, addr)| (l == name).then_some(addr))
        });
        found.unwrap_or_else(|_| {
            panic!(
                "{name} never logged `listening`; stderr:\n{}",
                self.stderr_lines().join("\n")
            )
        })
    }

    /// weir's process id (0 once it has been stopped).
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    /// weir's stderr lines so far.
    pub fn stderr_lines(&self) -> Vec<String> {
        self.stderr.lines()
    }

    /// weir's stderr lines once `done` holds for them; panics with the lines if it does not
    /// within [`DEADLINE`] or weir exits first.
    pub fn stderr_lines_when(&self, done: impl Fn(&[String]) -> bool) -> Vec<String> {
        match self.stderr.wait(Instant::now() + DEADLINE, |lines| {
            done(lines).then(|| lines.to_vec())
        }) {
            Ok(lines) => lines,
            Err(_) => panic!("weir's stderr never got there: {:#?}", self.stderr.lines()),
        }
    }

    /// Sends SIGHUP (reload the config) to weir.
    pub fn hangup(&self) {
        let sent = Command::new("kill")
            .args(["-HUP", &self.pid().to_string()])
            .status()
            .expect("run kill");
        assert!(sent.success(), "kill -HUP failed");
    }

    /// weir's stderr lines once one of them satisfies `found` (a line weir wrote before it
    /// answered may still be on its way through the pipe); panics with the lines if none does
    /// within [`DEADLINE`] or weir exits first.
    pub fn stderr_lines_once(&self, found: impl Fn(&str) -> bool) -> Vec<String> {
        match self.stderr.wait(Instant::now() + DEADLINE, |lines| {
            lines.iter().any(|l| found(l)).then(|| lines.to_vec())
        }) {
            Ok(lines) => lines,
            Err(_) => panic!("no such line on weir's stderr: {:#?}", self.stderr.lines()),
        }
    }

    /// The file weir's stdout goes to.
    pub fn stdout_path(&self) -> PathBuf {
        Self::stdout_in(self.dir.path())
    }

    /// Everything weir has written to stdout so far (all of it once [`Weir::stop`] returned).
    pub fn stdout(&self) -> Vec<u8> {
        let path = self.stdout_path();
        std::fs::read(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
    }

    /// Sends SIGTERM and waits (up to [`DEADLINE`], then SIGKILL) for weir to exit; all of its
    /// stderr has been collected when this returns.
    pub fn stop(&mut self) -> ExitStatus {
        self.terminate()
            .unwrap_or_else(|e| panic!("{e}; stderr:\n{}", self.stderr_lines().join("\n")))
    }

    /// Sends SIGKILL (no drain, no flush: a crash) and waits for weir to exit; all of its
    /// stderr has been collected when this returns.
    pub fn kill(&mut self) -> ExitStatus {
        let mut child = self.child.take().expect("weir was already stopped");
        let _ = child.kill();
        let status = child.wait().expect("wait for weir");
        if let Some(reader) = self.reader.take() {
            let _ = reader.join(); // EOF follows exit
        }
        status
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

/// A memory figure of process `pid` in bytes: `field` (`VmRSS`, `VmHWM`, ...) of
/// `/proc/<pid>/status`.
pub fn proc_status_bytes(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("{field} in /proc/{pid}/status"));
    kib * 1024
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
