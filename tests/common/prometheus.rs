//! A real Prometheus (Debian's `prometheus` 2.42) and its `promtool`, as the tests that check
//! weir's metrics against them use them: tools found on PATH (without them a test is skipped,
//! or fails under `CI=true`), the example files in `examples/prometheus/`, and a Prometheus
//! server on a loopback port with its own config and storage, queried through its HTTP API.
//! Every wait on it is bounded polling of the condition itself.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;

use super::http_client;

/// How long Prometheus may take to become ready, and to scrape, ingest and evaluate what a
/// test waits for.
pub const DEADLINE: Duration = Duration::from_secs(90);
/// Pause between two looks at Prometheus while waiting for a condition.
pub const POLL_EVERY: Duration = Duration::from_millis(200);

/// The tools the Prometheus tests run, with their Debian package (see `debian_tools`).
pub const TOOLS: &[(&str, &str)] = &[("prometheus", "prometheus"), ("promtool", "prometheus")];

/// The absolute path of `name` on PATH; panics when it is missing (tests check [`TOOLS`] first).
pub fn tool(name: &str) -> PathBuf {
    super::debian_tool(name, "prometheus")
}

/// `examples/prometheus/<name>` in the workspace.
pub fn example(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples/prometheus")
        .join(name)
}

/// Runs `promtool args…` (with `stdin` fed in when given) and returns its output.
pub fn promtool(args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut child = Command::new(tool("promtool"))
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn promtool");
    if let Some(input) = stdin {
        let mut pipe = child.stdin.take().expect("stdin is piped");
        pipe.write_all(input).expect("write promtool's stdin");
        drop(pipe); // EOF
    }
    child.wait_with_output().expect("wait for promtool")
}

/// Runs `promtool args…` and panics with its output unless it succeeded and its stdout says
/// `says` (`SUCCESS: 2 rules found`, say).
pub fn promtool_ok(args: &[&str], says: &str) {
    let out = promtool(args, None);
    assert!(
        out.status.success() && String::from_utf8_lossy(&out.stdout).contains(says),
        "promtool {args:?} failed or did not say {says:?}\n{}",
        both(&out)
    );
}

/// Panics unless `promtool check metrics` passes `page` (a scrape page in the text format)
/// without a word; `what` names the page in the message.
pub fn assert_lint_clean(page: &str, what: &str) {
    let out = promtool(&["check", "metrics"], Some(page.as_bytes()));
    assert!(
        out.status.success() && out.stdout.is_empty() && out.stderr.is_empty(),
        "promtool check metrics is not clean on {what}\n{}\n{what} was:\n{page}",
        both(&out)
    );
}

/// A process's exit status and both output streams, for messages.
pub fn both(out: &Output) -> String {
    format!(
        "exit: {}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A sample's value (`value: [time, "value"]` in an instant vector) as a number.
pub fn value_of(sample: &Value) -> f64 {
    sample["value"][1]
        .as_str()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no value in {sample}"))
}

/// A Prometheus server on a loopback port with its own config and storage; killed on drop
/// (printing its log when the test failed).
pub struct Prometheus {
    child: Child,
    base: String,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Prometheus {
    /// Starts Prometheus on `port`, scraping and evaluating every second, with the rule file
    /// `rules`, `scrape_job` as its one scrape config (a YAML list entry, `  - job_name: …`)
    /// and the extra command-line `flags`.
    pub fn start(port: u16, rules: &Path, scrape_job: &str, flags: &[&str]) -> Prometheus {
        let dir = tempfile::tempdir().expect("temp dir");
        let config = format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n\
             rule_files:\n  - {}\nscrape_configs:\n{scrape_job}",
            rules.display()
        );
        let config_path = dir.path().join("prometheus.yml");
        std::fs::write(&config_path, config).expect("write prometheus.yml");
        let log = dir.path().join("prometheus.log");
        let log_file = std::fs::File::create(&log).expect("create log");
        let child = Command::new(tool("prometheus"))
            .arg(format!("--config.file={}", config_path.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .args(flags)
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().expect("clone log handle"))
            .stderr(log_file)
            .spawn()
            .expect("spawn prometheus");
        Prometheus {
            child,
            base: format!("http://127.0.0.1:{port}"),
            log,
            _dir: dir,
        }
    }

    /// Prometheus' log so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Panics with Prometheus' log when it has exited.
    fn assert_running(&mut self) {
        if let Some(status) = self.child.try_wait().expect("try_wait prometheus") {
            panic!(
                "prometheus exited ({status}); its log:\n{}",
                self.log_text()
            );
        }
    }

    /// Polls until `/-/ready` answers 200.
    pub async fn wait_ready(&mut self) {
        let deadline = Instant::now() + DEADLINE;
        loop {
            self.assert_running();
            let ready = http_client()
                .get(format!("{}/-/ready", self.base))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            if ready {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "prometheus was not ready within {DEADLINE:?}; its log:\n{}",
                self.log_text()
            );
            tokio::time::sleep(POLL_EVERY).await;
        }
    }

    /// `data` of a successful answer of the API at `path` with query `params`, or `None` while
    /// Prometheus cannot answer (no connection, 5xx, no JSON); any other answer must be a
    /// success.
    pub async fn api(&mut self, path: &str, params: &[(&str, &str)]) -> Option<Value> {
        self.assert_running();
        let url = reqwest::Url::parse_with_params(&format!("{}{path}", self.base), params)
            .expect("API URL");
        let resp = http_client().get(url).send().await.ok()?;
        if resp.status().is_server_error() {
            return None;
        }
        let body: Value = resp.json().await.ok()?;
        assert_eq!(body["status"], "success", "{path} {params:?}: {body}");
        Some(body["data"].clone())
    }

    /// The samples of the instant vector `promql` evaluates to now (none while Prometheus
    /// cannot answer).
    pub async fn query(&mut self, promql: &str) -> Vec<Value> {
        let Some(data) = self.api("/api/v1/query", &[("query", promql)]).await else {
            return Vec::new();
        };
        assert_eq!(data["resultType"], "vector", "{promql}: {data}");
        data["result"].as_array().cloned().unwrap_or_default()
    }

    /// [`Prometheus::query`] as (labels, value) pairs.
    pub async fn values(&mut self, promql: &str) -> Vec<(Value, f64)> {
        let samples = self.query(promql).await;
        samples
            .iter()
            .map(|s| (s["metric"].clone(), value_of(s)))
            .collect()
    }

    /// Polls `promql` until `done` holds for its result; returns that result.
    pub async fn wait_for(&mut self, promql: &str, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
        let deadline = Instant::now() + DEADLINE;
        loop {
            let result = self.query(promql).await;
            if done(&result) {
                return result;
            }
            assert!(
                Instant::now() < deadline,
                "`{promql}` never became as expected; last result: {result:?}\nprometheus log:\n{}",
                self.log_text()
            );
            tokio::time::sleep(POLL_EVERY).await;
        }
    }

    /// Polls the exemplars of `promql` until one carries `trace_id`; returns its series.
    pub async fn wait_for_exemplar(&mut self, promql: &str, trace_id: &str) -> Value {
        let deadline = Instant::now() + DEADLINE;
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("clock")
            .as_secs_f64();
        let (start, end) = ((now - 600.0).to_string(), (now + 600.0).to_string());
        loop {
            let params = [
                ("query", promql),
                ("start", start.as_str()),
                ("end", end.as_str()),
            ];
            let data = self.api("/api/v1/query_exemplars", &params).await;
            let found = data.as_ref().and_then(Value::as_array).and_then(|series| {
                series.iter().find(|s| {
                    s["exemplars"]
                        .as_array()
                        .is_some_and(|es| es.iter().any(|e| e["labels"]["trace_id"] == trace_id))
                })
            });
            if let Some(series) = found {
                return series.clone();
            }
            assert!(
                Instant::now() < deadline,
                "no exemplar with trace_id {trace_id} for `{promql}`; last: {data:?}\nlog:\n{}",
                self.log_text()
            );
            tokio::time::sleep(POLL_EVERY).await;
        }
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "---- prometheus log ----\n{}\n---- end of prometheus log ----",
                self.log_text()
            );
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
