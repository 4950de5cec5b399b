//! The `sentry` exporter against a real Sentry-compatible server: Bugsink (PyPI `bugsink`, from
//! `tests/python/requirements.txt`) runs on loopback with SQLite in a temp dir and its
//! phone-home off (`tests/python/sentry_bugsink.py`). The OpenTelemetry Python SDK
//! (`tests/python/sentry_errors.py`) records an exception on a span and logs an ERROR with the
//! exception being handled; weir turns both into Sentry events, and the test reads them back
//! from Bugsink's database: type, value, frames, environment, release, trace and span ids.
//!
//! One exception recorded twice (`tests/python/sentry_log_exception.py`: `logging.exception`
//! inside a span that then records it, the SDK set up from environment variables as
//! `opentelemetry-instrument` does) must be one event in Bugsink, the second copy counted in
//! `weir_sentry_deduplicated_total`.
//!
//! Two tenants (`X-Scope-OrgID` through `OTEL_EXPORTER_OTLP_HEADERS`) send the leak corpus
//! (`tests/python/send_secrets.py`) through weir's default redaction; `dsns_by_tenant` routes
//! each tenant's errors to its own Bugsink project, which holds its errors only and none of the
//! corpus' secrets. In every test the loss ledger balances.
//!
//! Bugsink starts once per test binary (its migrations take a few seconds). Every wait is on
//! an event or a poll with a deadline.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use serde_json::Value;

use common::leak::{assert_clean, secrets};
use common::{Weir, ledger, python, tests_path};

/// Bugsink's start (migrations on a fresh SQLite database) and each answer.
const BUGSINK_DEADLINE: Duration = Duration::from_secs(120);
/// How long the events may take to arrive in Bugsink.
const EVENTS_DEADLINE: Duration = Duration::from_secs(30);

const WEIR_CONFIG: &str = "\
receivers:
  otlp:
    protocols:
      grpc: { endpoint: 127.0.0.1:0 }
      http: { endpoint: 127.0.0.1:0 }
processors:
  redaction: {}
exporters:
  sentry:
    dsn: {DSN}
    environment: not-used-when-the-resource-has-one
    tag_attributes: [service.name]
service:
  admin: { endpoint: 127.0.0.1:0 }
  pipelines:
    traces: { receivers: [otlp], processors: [redaction], exporters: [sentry] }
    logs:   { receivers: [otlp], processors: [redaction], exporters: [sentry] }
";

/// A running Bugsink with one project, answering commands on its stdin.
struct Bugsink {
    child: Child,
    stdin: ChildStdin,
    lines: Receiver<String>,
    dsn: String,
    /// Tenant → the DSN of its own project.
    tenants: Value,
    _dir: tempfile::TempDir,
}

impl Bugsink {
    fn start() -> Bugsink {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut child = Command::new(python())
            .arg(tests_path("python/sentry_bugsink.py"))
            .arg(dir.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start Bugsink (is bugsink in .venv? run ./scripts/test)");
        let stdout = child.stdout.take().expect("stdout");
        let stdin = child.stdin.take().expect("stdin");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let first = lines
            .recv_timeout(BUGSINK_DEADLINE)
            .expect("Bugsink did not report its DSN");
        let started: Value = serde_json::from_str(&first).expect("Bugsink's JSON line");
        let dsn = started["dsn"].as_str().expect("dsn").to_owned();
        Bugsink {
            child,
            stdin,
            lines,
            dsn,
            tenants: started["tenants"].clone(),
            _dir: dir,
        }
    }

    /// The project's stored events, oldest first.
    fn events(&mut self) -> Vec<Value> {
        self.events_of_tenant("")
    }

    /// The stored events of `tenant`'s project (`""`: the main project), oldest first.
    fn events_of_tenant(&mut self, tenant: &str) -> Vec<Value> {
        writeln!(self.stdin, "events {tenant}").expect("ask Bugsink");
        self.stdin.flush().expect("flush");
        let line = self
            .lines
            .recv_timeout(BUGSINK_DEADLINE)
            .expect("Bugsink's answer");
        serde_json::from_str::<Value>(&line)
            .expect("JSON events")
            .as_array()
            .cloned()
            .expect("a list of events")
    }
}

impl Drop for Bugsink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The one Bugsink of this test binary.
fn bugsink() -> &'static Mutex<Bugsink> {
    static BUGSINK: OnceLock<Mutex<Bugsink>> = OnceLock::new();
    BUGSINK.get_or_init(|| Mutex::new(Bugsink::start()))
}

/// The event whose `contexts.trace.trace_id` is `trace_id`, polling until `deadline`.
fn wait_for_event(trace_id: &str) -> Value {
    let deadline = Instant::now() + EVENTS_DEADLINE;
    loop {
        let events = bugsink().lock().expect("bugsink").events();
        if let Some(e) = events
            .iter()
            .find(|e| e["contexts"]["trace"]["trace_id"] == trace_id)
        {
            return e.clone();
        }
        assert!(
            Instant::now() < deadline,
            "no event of trace {trace_id} in Bugsink after {EVENTS_DEADLINE:?}; it has: {events:#?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The events whose `contexts.trace.trace_id` is `trace_id`, as Bugsink has them now.
fn events_of(trace_id: &str) -> Vec<Value> {
    let events = bugsink().lock().expect("bugsink").events();
    events
        .into_iter()
        .filter(|e| e["contexts"]["trace"]["trace_id"] == trace_id)
        .collect()
}

/// Runs `f` to its end on a runtime of its own (this test binary's tests are not async).
fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime")
        .block_on(f)
}

/// The value of `series` on weir's `/metrics` (0 when it is not there yet).
fn metric(weir: &Weir, series: &str) -> f64 {
    block_on(weir.metric(series))
}

/// The `exception.values` of an event.
fn exceptions(event: &Value) -> Vec<Value> {
    event["exception"]["values"]
        .as_array()
        .cloned()
        .unwrap_or_else(|| panic!("no exception values in {event:#}"))
}

/// The functions of an exception's frames, oldest call first.
fn functions(exception: &Value) -> Vec<String> {
    exception["stacktrace"]["frames"]
        .as_array()
        .unwrap_or_else(|| panic!("no frames in {exception:#}"))
        .iter()
        .map(|f| f["function"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[test]
fn exceptions_and_error_logs_arrive_in_bugsink_as_linked_errors() {
    let started = Instant::now();
    let dsn = bugsink().lock().expect("bugsink").dsn.clone();
    let weir = Weir::start(&WEIR_CONFIG.replace("{DSN}", &dsn));
    let out = Command::new(python())
        .arg(tests_path("python/sentry_errors.py"))
        .env(
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            format!("http://{}", weir.http_addr),
        )
        .env("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
        .env("OTEL_SERVICE_NAME", "shop-api")
        .env(
            "OTEL_RESOURCE_ATTRIBUTES",
            "service.version=1.4.2,deployment.environment.name=e2e",
        )
        .output()
        .expect("run sentry_errors.py");
    assert!(
        out.status.success(),
        "sentry_errors.py failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let ids: Value = serde_json::from_slice(&out.stdout).expect("the script's JSON line");

    // span.record_exception: ValueError raised from a KeyError.
    let event = wait_for_event(ids["span_trace_id"].as_str().expect("id"));
    assert_eq!(event["contexts"]["trace"]["span_id"], ids["span_id"]);
    assert_eq!(event["environment"], "e2e");
    assert_eq!(event["release"], "1.4.2");
    assert_eq!(event["platform"], "python");
    assert_eq!(event["transaction"], "checkout");
    assert_eq!(event["tags"]["service.name"], "shop-api");
    assert!(event["tags"]["request_id"].is_string(), "{event:#}");
    let values = exceptions(&event);
    assert_eq!(values.len(), 2, "the cause and the exception: {values:#?}");
    assert_eq!(values[0]["type"], "KeyError");
    assert_eq!(values[0]["value"], "'quantity'");
    assert_eq!(
        functions(&values[0]),
        ["checkout", "parse_quantity"],
        "{values:#?}"
    );
    assert_eq!(values[1]["type"], "ValueError");
    assert_eq!(values[1]["value"], "order has no quantity");
    let outer = functions(&values[1]);
    assert_eq!(
        outer.last().map(String::as_str),
        Some("checkout"),
        "{outer:?}"
    );
    let raised = &values[1]["stacktrace"]["frames"]
        .as_array()
        .and_then(|f| f.last().cloned())
        .expect("a frame");
    assert!(
        raised["abs_path"]
            .as_str()
            .is_some_and(|p| p.ends_with("sentry_errors.py")),
        "{raised:#}"
    );
    assert_eq!(
        raised["context_line"],
        "raise ValueError(\"order has no quantity\") from e"
    );

    // logger.exception inside the span `refund`: an ERROR log with the exception.
    let event = wait_for_event(ids["log_trace_id"].as_str().expect("id"));
    assert_eq!(event["contexts"]["trace"]["span_id"], ids["log_span_id"]);
    // `level` is left out when it is `error`, Sentry's default.
    assert_eq!(event["level"].as_str().unwrap_or("error"), "error");
    assert_eq!(event["environment"], "e2e");
    assert_eq!(event["release"], "1.4.2");
    assert_eq!(event["logger"], "shop.refunds");
    let values = exceptions(&event);
    let last = values.last().expect("an exception");
    assert_eq!(last["type"], "ZeroDivisionError");
    assert_eq!(last["value"], "division by zero");
    let frames = functions(last);
    assert_eq!(
        frames.last().map(String::as_str),
        Some("refund_share"),
        "{frames:?}"
    );
    assert!(frames.contains(&"main".to_owned()), "{frames:?}");
    let message = event["logentry"]["message"]
        .as_str()
        .or(event["message"].as_str())
        .unwrap_or_default();
    assert!(message.contains("refund failed for order A-1"), "{event:#}");
    ledger::assert_balanced_blocking(&weir, &[("traces", "sentry"), ("logs", "sentry")]);

    drop(weir);
    eprintln!("sentry e2e took {:?}", started.elapsed());
}

#[test]
fn an_exception_on_a_span_and_in_an_error_log_is_one_bugsink_event() {
    let dsn = bugsink().lock().expect("bugsink").dsn.clone();
    let weir = Weir::start(&WEIR_CONFIG.replace("{DSN}", &dsn));
    let out = Command::new(python())
        .arg(tests_path("python/sentry_log_exception.py"))
        .envs([
            (
                "OTEL_EXPORTER_OTLP_ENDPOINT",
                format!("http://{}", weir.http_addr),
            ),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf".into()),
            ("OTEL_SERVICE_NAME", "shop-payments".into()),
            ("OTEL_TRACES_EXPORTER", "otlp".into()),
            ("OTEL_LOGS_EXPORTER", "otlp".into()),
            ("OTEL_METRICS_EXPORTER", "none".into()),
            (
                "OTEL_PYTHON_LOGGING_AUTO_INSTRUMENTATION_ENABLED",
                "true".into(),
            ),
        ])
        .output()
        .expect("run sentry_log_exception.py");
    assert!(
        out.status.success(),
        "sentry_log_exception.py failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let ids: Value = serde_json::from_slice(&out.stdout).expect("the script's JSON line");
    let trace_id = ids["trace_id"].as_str().expect("trace id");

    // Both copies reached weir and left its sentry exporter (sent, or skipped as a copy).
    let deadline = Instant::now() + EVENTS_DEADLINE;
    for signal in ["traces", "logs"] {
        let series =
            format!("weir_exporter_sent_records_total{{signal=\"{signal}\",exporter=\"sentry\"}}");
        while metric(&weir, &series) < 1.0 {
            assert!(
                Instant::now() < deadline,
                "weir's sentry exporter did not finish the {signal} within {EVENTS_DEADLINE:?}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    // Bugsink digests an envelope before it answers, so what it has now is all it gets.
    let events = events_of(trace_id);
    assert_eq!(
        events.len(),
        1,
        "one exception, one event; Bugsink has: {events:#?}"
    );
    let event = &events[0];
    assert_eq!(event["contexts"]["trace"]["span_id"], ids["span_id"]);
    let values = exceptions(event);
    let last = values.last().expect("an exception");
    assert!(
        last["type"]
            .as_str()
            .is_some_and(|t| t.ends_with("PaymentDeclined")),
        "{last:#}"
    );
    assert_eq!(
        metric(&weir, "weir_sentry_deduplicated_total{exporter=\"sentry\"}"),
        1.0
    );
    let lost = "weir_records_dropped_total{";
    let metrics = block_on(weir.admin_metrics());
    assert!(
        !metrics
            .lines()
            .any(|l| l.starts_with(lost) && l.contains("exporter=\"sentry\"")),
        "nothing was lost: {metrics}"
    );
    ledger::assert_balanced_blocking(&weir, &[("traces", "sentry"), ("logs", "sentry")]);
}

#[test]
fn each_tenants_errors_reach_its_own_project_without_a_secret() {
    let (dsn, tenants) = {
        let bugsink = bugsink().lock().expect("bugsink");
        (bugsink.dsn.clone(), bugsink.tenants.clone())
    };
    let tenant_dsn = |t: &str| tenants[t].as_str().expect("a DSN per tenant").to_owned();
    let config = WEIR_CONFIG.replace("{DSN}", &dsn).replace(
        "    environment:",
        &format!(
            "    dsns_by_tenant: {{ team-a: \"{}\", team-b: \"{}\" }}\n    environment:",
            tenant_dsn("team-a"),
            tenant_dsn("team-b")
        ),
    );
    // The corpus' metrics only need a taker here.
    let config = config.replace(
        "service:\n",
        "  debug: { verbosity: basic, path: {OUT} }\nservice:\n",
    ) + "    metrics: { receivers: [otlp], exporters: [debug] }\n";
    let weir = Weir::start(&config);
    let mut needles = Vec::new();
    for tenant in ["team-a", "team-b"] {
        let headers = format!("X-Scope-OrgID={tenant}");
        let service = format!("leaky-{tenant}");
        needles.extend(secrets(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", &weir.http_base()),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
            ("OTEL_EXPORTER_OTLP_HEADERS", &headers),
            ("OTEL_SERVICE_NAME", &service),
        ]));
    }
    ledger::assert_balanced_blocking(&weir, &[("traces", "sentry"), ("logs", "sentry")]);

    let mut stored = String::new();
    for tenant in ["team-a", "team-b"] {
        let deadline = Instant::now() + EVENTS_DEADLINE;
        let events = loop {
            let events = bugsink().lock().expect("bugsink").events_of_tenant(tenant);
            if !events.is_empty() {
                break events;
            }
            assert!(
                Instant::now() < deadline,
                "no event in {tenant}'s project after {EVENTS_DEADLINE:?}"
            );
            std::thread::sleep(Duration::from_millis(200));
        };
        for event in &events {
            assert_eq!(
                event["tags"]["service.name"],
                format!("leaky-{tenant}"),
                "{tenant}'s project holds another's event: {event:#}"
            );
        }
        stored.push_str(&serde_json::to_string(&events).expect("events as JSON"));
    }
    assert_clean("Bugsink's events", stored.as_bytes(), &needles);
    assert!(
        stored.contains("[REDACTED]"),
        "the errors arrived masked: {stored}"
    );
    let main = bugsink().lock().expect("bugsink").events();
    assert!(
        !main.iter().any(|e| e.to_string().contains("leaky-")),
        "a tenant's error went to the main project: {main:#?}"
    );
}
