//! A real web page in a real browser sending to weir: headless Debian `chromium` loads a page the
//! test serves on its own loopback port (another origin than weir's), which runs the
//! OpenTelemetry web SDK (`tests/browser/app.js`, bundled here by esbuild from the npm packages of
//! `tests/browser/package.json`). It sends a span through CORS (a preflighted cross-origin
//! fetch), then throws an error whose handler posts it to weir's frontend log intake. Both must
//! reach the test's debug exporter redacted and carrying their request id.
//!
//! Needs `chromium` on PATH and `npm ci --prefix tests/browser` done (`.ci/run` does both).
//! Without them the test says what is missing and passes as skipped, except under `CI=true`,
//! where a missing prerequisite fails it.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::{get, post};
use serde_json::Value;
use tokio::sync::mpsc;

use common::{DEADLINE, OTLP_RECEIVER, Weir, attr, ledger, tests_path};

const SECRETS: [&str; 2] = ["jane.doe@example.com", "abc123secret"];

/// `chromium` and the bundler, or why the test cannot run.
fn prerequisites() -> Result<(PathBuf, PathBuf), String> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let chromium = std::env::split_paths(&path)
        .map(|dir| dir.join("chromium"))
        .find(|p| p.is_file())
        .ok_or("`chromium` is not on PATH: apt-get install --no-install-recommends chromium")?;
    let esbuild = tests_path("browser/node_modules/.bin/esbuild");
    if !esbuild.is_file() {
        return Err(format!(
            "{} is missing: run `npm ci --prefix tests/browser` (needs node and npm)",
            esbuild.display()
        ));
    }
    Ok((chromium, esbuild))
}

/// Bundles `tests/browser/app.js` into `out`.
fn bundle(esbuild: &Path, out: &Path) -> String {
    let done = Command::new(esbuild)
        .current_dir(tests_path("browser"))
        .args(["app.js", "--bundle", "--format=iife", "--log-level=warning"])
        .arg(format!("--outfile={}", out.display()))
        .output()
        .expect("run esbuild");
    assert!(
        done.status.success(),
        "esbuild failed: {}",
        String::from_utf8_lossy(&done.stderr)
    );
    std::fs::read_to_string(out).expect("bundle written")
}

/// Serves the page (`/`), its script (`/bundle.js`), and takes the page's `/report`, which it
/// hands to the returned receiver.
fn serve_page(
    listener: tokio::net::TcpListener,
    weir_base: &str,
    script: String,
) -> mpsc::Receiver<Value> {
    let html = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>shop</title>\
         <script>window.WEIR = {{ endpoint: \"{weir_base}\" }};</script>\
         <script src=\"/bundle.js\"></script></head><body>shop</body></html>"
    );
    let (tx, rx) = mpsc::channel(4);
    let app = Router::new()
        .route("/", get(move || async move { axum::response::Html(html) }))
        .route(
            "/bundle.js",
            get(move || async move { ([("content-type", "text/javascript")], script) }),
        )
        .route(
            "/report",
            post(move |body: String| async move {
                let report = serde_json::from_str(&body)
                    .unwrap_or_else(|e| panic!("the page's report is not JSON ({e}): {body}"));
                let _ = tx.send(report).await;
            }),
        );
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    rx
}

/// A headless chromium on `url`, in its own process group, stopped on drop.
struct Browser {
    child: Child,
    log: PathBuf,
}

impl Browser {
    fn open(chromium: &Path, dir: &Path, url: &str) -> Browser {
        use std::os::unix::process::CommandExt;
        let log = dir.join("chromium.log");
        let child = Command::new(chromium)
            .args(common::ops::CHROMIUM_FLAGS)
            // The page's console on stderr, kept for a failure's message.
            .args(["--enable-logging=stderr", "--v=0"])
            .arg(format!("--user-data-dir={}", dir.join("profile").display()))
            .arg(url)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("chromium log file"))
            .process_group(0)
            .spawn()
            .expect("start chromium");
        Browser { child, log }
    }

    /// The page's console lines (and chromium's own complaints).
    fn console(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // The group holds the renderer and helper processes this browser started.
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill").args(["-TERM", "--", &group]).status();
        let until = Instant::now() + Duration::from_secs(5);
        while Instant::now() < until {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        let _ = self.child.wait();
    }
}

fn config(page_origin: &str) -> String {
    format!(
        "{}    tenant: {{ from: [{{ header: X-Scope-OrgID }}], default: default }}\n\
         processors:\n  enrich: {{}}\n  redaction: {{}}\n{}  pipelines:\n    \
         traces: {{ receivers: [otlp], processors: [enrich, redaction], exporters: [debug] }}\n    \
         logs: {{ receivers: [otlp], processors: [enrich, redaction], exporters: [debug] }}\n",
        OTLP_RECEIVER.replace(
            "http: { endpoint: 127.0.0.1:0 }",
            &format!(
                "http:\n        endpoint: 127.0.0.1:0\n        \
                 cors: {{ allowed_origins: [\"{page_origin}\"], allowed_headers: [X-Scope-OrgID] }}\n        \
                 frontend_log: {{ enabled: true, tenant: web }}"
            ),
        ),
        common::DEBUG_AND_ADMIN,
    )
}

fn text(v: &Value) -> String {
    v["stringValue"]
        .as_str()
        .unwrap_or_else(|| panic!("not a string: {v}"))
        .to_owned()
}

/// The one debug line of `signal`, waiting (bounded) for it.
async fn line_of(weir: &Weir, signal: &str) -> Value {
    let until = Instant::now() + DEADLINE;
    loop {
        let lines = weir.records_of(signal);
        if let [one] = lines.as_slice() {
            return one.clone();
        }
        assert!(lines.len() <= 1, "more than one {signal} line: {lines:?}");
        assert!(Instant::now() < until, "no {signal} reached the exporter");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_sends_spans_through_cors_and_its_errors_to_the_intake() {
    let (chromium, esbuild) = match prerequisites() {
        Ok(found) => found,
        Err(missing) if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("CI=true and the browser test cannot run: {missing}")
        }
        Err(missing) => {
            eprintln!(
                "SKIPPED a_page_sends_spans_through_cors_and_its_errors_to_the_intake: {missing}"
            );
            return;
        }
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let script = bundle(&esbuild, &dir.path().join("bundle.js"));

    // The page's server is bound first: weir's config names its origin.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind the page server");
    let origin = format!("http://{}", listener.local_addr().expect("page address"));
    let weir = Weir::start(&config(&origin));
    let mut reports = serve_page(listener, &weir.http_base(), script);

    let browser = Browser::open(&chromium, dir.path(), &format!("{origin}/"));
    let report = tokio::time::timeout(DEADLINE, reports.recv())
        .await
        .ok()
        .flatten()
        .unwrap_or_else(|| {
            panic!(
                "the page never reported; its console:\n{}",
                browser.console()
            )
        });
    let console = browser.console();
    drop(browser);

    assert_eq!(
        report["spans"]["code"], 0,
        "span export failed: {report}\n{console}"
    );
    let log = &report["log"];
    assert_eq!(log["status"], 202, "{report}\n{console}");
    let request_id = log["requestId"]
        .as_str()
        .unwrap_or_else(|| panic!("X-Request-Id not exposed to the page: {report}"));
    assert_eq!(log["body"]["request_id"], request_id);

    // The span: tenant from the SDK's header, the request id stamped by enrich, PII masked.
    let traces = line_of(&weir, "traces").await;
    assert_eq!(traces["tenant"], "web");
    let span = &traces["data"]["resourceSpans"][0]["scopeSpans"][0]["spans"][0];
    assert_eq!(span["name"], "checkout");
    assert_eq!(text(&attr(span, "user.email")), "[REDACTED]");
    assert_eq!(text(&attr(span, "http.route")), "/checkout");
    let span_request = traces["request_id"].as_str().expect("request id");
    assert_eq!(text(&attr(span, "request.id")), span_request);

    // The error: one record, the request id the page was answered with, secrets masked.
    let logs = line_of(&weir, "logs").await;
    assert_eq!(logs["tenant"], "web");
    assert_eq!(logs["request_id"], request_id);
    let record = &logs["data"]["resourceLogs"][0]["scopeLogs"][0]["logRecords"][0];
    assert_eq!(record["severityText"], "ERROR");
    assert_eq!(text(&attr(record, "request.id")), request_id);
    assert_eq!(text(&attr(record, "exception.type")), "Error");
    let message = text(&record["body"]);
    assert!(
        message.contains("checkout failed for [REDACTED]"),
        "{message}"
    );
    let stack = text(&attr(record, "exception.stacktrace"));
    assert!(stack.contains("/bundle.js"), "{stack}");
    let resource = &logs["data"]["resourceLogs"][0]["resource"];
    assert_eq!(text(&attr(resource, "service.version")), "1.4.2");

    let all = format!("{traces}{logs}");
    for secret in SECRETS {
        assert!(
            !all.contains(secret),
            "{secret} reached the exporter: {all}"
        );
    }
    let refused = weir.metric("weir_http_cors_refused_total").await;
    assert_eq!(refused, 0.0, "the page's origin was refused");
    let preflights = weir
        .metric("weir_http_requests_total{route=\"/v1/traces\",status=\"200\"}")
        .await;
    assert_eq!(preflights, 2.0, "one preflight and one export of spans");
    let accounts = ledger::assert_balanced(&weir, &[("traces", "debug"), ("logs", "debug")]).await;
    assert!(accounts.iter().all(|a| a.delivered > 0), "{accounts:?}");
}
