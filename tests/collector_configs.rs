//! Users' Collector files, as they have them (`tests/collector_configs/*.yaml`): the Helm
//! chart's gateway default, Grafana's LGTM stack, the Collector's local example, the
//! OpenTelemetry demo and the secure-tracing example.
//!
//! Kept as written, each file is refused only for what weir leaves out on purpose, with exactly
//! one clear error per such component and none knocked on in the pipelines naming it. Without
//! those parts (`*.weir.yaml`, or the file itself when it has none), each validates, starts,
//! and passes the Python SDK's leak corpus through, redacted by the `redaction` weir appends,
//! with the loss ledger balanced.

mod common;

use std::collections::HashMap;

use serde_json::Value;
use weir::config::{self, Options};

use rcgen::ExtendedKeyUsagePurpose;

use common::{Weir, capture::Capture, ledger, pki, sdk, tests_path};

/// The variables the files read, as their deployments set them.
fn env() -> HashMap<String, String> {
    [
        ("MY_POD_IP", "127.0.0.1"),
        ("OTEL_COLLECTOR_HOST", "127.0.0.1"),
        ("OTEL_COLLECTOR_PORT_GRPC", "0"),
        ("OTEL_COLLECTOR_PORT_HTTP", "0"),
        ("FRONTEND_PROXY_ADDR", "frontend-proxy:8080"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

fn corpus(name: &str) -> String {
    let path = tests_path(&format!("collector_configs/{name}"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

const OTLP_ONLY: &str = "weir takes OTLP only";

#[test]
fn as_users_have_them_each_left_out_component_is_one_clear_refusal() {
    let cases: [(&str, &[(&str, &str)]); 5] = [
        (
            "helm_gateway.yaml",
            &[
                ("receivers.jaeger", OTLP_ONLY),
                ("receivers.prometheus", OTLP_ONLY),
                ("receivers.zipkin", OTLP_ONLY),
            ],
        ),
        (
            "lgtm.yaml",
            &[("receivers.prometheus/collector", OTLP_ONLY)],
        ),
        (
            "demo.yaml",
            &[
                ("receivers.httpcheck/frontend-proxy", OTLP_ONLY),
                ("receivers.docker_stats", OTLP_ONLY),
                ("receivers.redis", OTLP_ONLY),
                ("receivers.hostmetrics", OTLP_ONLY),
                (
                    "exporters.opensearch",
                    "unknown exporter type \"opensearch\"",
                ),
                (
                    "processors.transform",
                    "unknown processor type \"transform\"",
                ),
                ("connectors.spanmetrics", OTLP_ONLY),
            ],
        ),
        ("core_local.yaml", &[]),
        ("secure_tracing.yaml", &[]),
    ];
    for (name, want) in cases {
        let checked = config::check_str(&corpus(name), name, &env(), Options::default());
        let got: Vec<(String, String)> = match checked.result {
            Ok(_) => Vec::new(),
            Err(e) => e.errors.into_iter().map(|e| (e.path, e.message)).collect(),
        };
        let mut paths: Vec<&str> = got.iter().map(|(p, _)| p.as_str()).collect();
        paths.sort_unstable();
        let mut wanted: Vec<&str> = want.iter().map(|(p, _)| *p).collect();
        wanted.sort_unstable();
        assert_eq!(paths, wanted, "{name}: {got:#?}");
        for (path, words) in want {
            let (_, message) = got.iter().find(|(p, _)| p == path).expect("listed");
            assert!(message.contains(words), "{name}: {path}: {message}");
        }
        // Every pipeline names no redaction: weir says it appends its own.
        assert!(
            checked
                .warnings
                .iter()
                .any(|w| w.message.contains("appended redaction/default")),
            "{name}: {:?}",
            checked.warnings
        );
    }
}

/// How a weir-ready file is started on loopback: text replaced, `--set` values added.
struct Ready {
    file: &'static str,
    replace: Vec<(&'static str, String)>,
    sets: Vec<String>,
    /// Where the data is looked for: the debug exporter's text on stdout, or a capture
    /// server standing in for the backends.
    exporters: Vec<&'static str>,
    /// The file has a `health_check` extension and a `service.telemetry.metrics` reader.
    probes: bool,
    /// Files written beside the config (`{DIR}/name`), and whether the SDK then talks mutual
    /// TLS with `ca.pem`, `client.pem` and `client-key.pem` among them.
    files: Vec<(&'static str, String)>,
    mtls: bool,
}

/// The `health_check` route answers as `/health/ready`, and the telemetry listener serves
/// weir's `/metrics`.
fn probes_answer(weir: &Weir) {
    let get = |addr: std::net::SocketAddr, path: &str| {
        let url = format!("http://{addr}{path}");
        let rt = tokio::runtime::Runtime::new().expect("runtime");
        rt.block_on(async {
            let resp = common::http_client().get(&url).send().await.expect(&url);
            let status = resp.status().as_u16();
            (status, resp.text().await.expect("body"))
        })
    };
    let (status, body) = get(weir.listener_addr("health_check"), "/");
    assert_eq!((status, body.as_str()), (200, "ready\n"));
    let (status, body) = get(weir.listener_addr("telemetry/metrics"), "/metrics");
    assert_eq!(status, 200);
    assert!(
        body.contains("weir_receiver_accepted_records_total"),
        "{body}"
    );
}

/// Runs the leak corpus through `ready` and checks it passed, redacted.
fn run_ready(ready: Ready, capture: Option<&Capture>) {
    let mut text = corpus(ready.file);
    for (from, to) in &ready.replace {
        assert!(
            text.contains(from),
            "{}: {from} is not in the file",
            ready.file
        );
        text = text.replace(from, to);
    }
    let checked = config::check_str(&text, ready.file, &env(), Options::default());
    if let Err(e) = checked.result {
        panic!("{} does not validate: {e}", ready.file);
    }
    let mut args = vec![
        "run".to_owned(),
        "--config".to_owned(),
        "{DIR}/weir.yaml".to_owned(),
        "--set=service::admin::endpoint=127.0.0.1:0".to_owned(),
    ];
    args.extend(ready.sets.iter().map(|s| format!("--set={s}")));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let env = env();
    let envs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let mut files: Vec<(&str, &str)> = vec![("weir.yaml", &text)];
    files.extend(ready.files.iter().map(|(n, t)| (*n, t.as_str())));
    let mut weir = Weir::start_args(&files, &args, &envs);
    assert!(
        weir.stderr_lines()
            .iter()
            .any(|l| l.contains("appended as its last processor")),
        "{}: the startup log says nothing of the appended redaction",
        ready.file
    );

    let scheme = if ready.mtls { "https" } else { "http" };
    let mut sdk_env = vec![
        (
            "OTEL_EXPORTER_OTLP_ENDPOINT".to_owned(),
            format!("{scheme}://{}", weir.grpc_addr),
        ),
        ("OTEL_EXPORTER_OTLP_PROTOCOL".to_owned(), "grpc".to_owned()),
        ("OTEL_SERVICE_NAME".to_owned(), "corpus-sdk".to_owned()),
    ];
    if ready.mtls {
        let dir = weir.dir().to_owned();
        for (var, file) in [
            ("OTEL_EXPORTER_OTLP_CERTIFICATE", "ca.pem"),
            ("OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE", "client.pem"),
            ("OTEL_EXPORTER_OTLP_CLIENT_KEY", "client-key.pem"),
        ] {
            sdk_env.push((var.to_owned(), dir.join(file).display().to_string()));
        }
    }
    let sdk_env: Vec<(&str, &str)> = sdk_env
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let report: Value = sdk::run("send_secrets.py", &sdk_env);
    let accounts: Vec<(&str, &str)> = ready
        .exporters
        .iter()
        .map(|e| {
            let signal = if e.contains("metrics") {
                "metrics"
            } else if e.contains("logs") {
                "logs"
            } else {
                "traces"
            };
            (signal, *e)
        })
        .collect();
    let accounts: Vec<(&str, &str)> = if accounts.iter().all(|(_, e)| *e == "debug") {
        ledger::every_signal("debug").to_vec()
    } else {
        accounts
    };
    let balanced = ledger::assert_balanced_blocking(&weir, &accounts);
    let traces = balanced
        .iter()
        .zip(&accounts)
        .find(|(_, (s, _))| *s == "traces")
        .map(|(a, _)| a.accepted);
    assert_eq!(
        traces,
        report["spans"].as_u64(),
        "{}: every span the SDK sent was taken",
        ready.file
    );
    if ready.probes {
        probes_answer(&weir);
    }
    weir.stop();

    let seen: Vec<u8> = match capture {
        Some(c) => c.requests().into_iter().flat_map(|r| r.body).collect(),
        None => weir.stdout(),
    };
    let seen = String::from_utf8_lossy(&seen);
    assert!(
        seen.contains("corpus-sdk"),
        "{}: the data did not come out",
        ready.file
    );
    assert!(
        seen.contains("[REDACTED]"),
        "{}: nothing was redacted",
        ready.file
    );
    for needle in report["needles"].as_array().expect("needles") {
        let needle = needle.as_str().expect("needle");
        assert!(!seen.contains(needle), "{}: {needle} leaked", ready.file);
    }
}

#[test]
fn secure_tracing_runs_over_mutual_tls_redacted() {
    let ca = pki::ca("secure tracing CA");
    let server = pki::leaf(&ca, "otel-collector", ExtendedKeyUsagePurpose::ServerAuth);
    let client = pki::leaf(&ca, "app", ExtendedKeyUsagePurpose::ClientAuth);
    let mut replace = loopback(&["0.0.0.0:4317"]);
    for (from, to) in [
        (
            "/etc/otel-collector/certs/otel-collector.crt",
            "{DIR}/server.pem",
        ),
        (
            "/etc/otel-collector/certs/otel-collector.key",
            "{DIR}/server-key.pem",
        ),
        ("/etc/otel-collector/certs/ca.crt", "{DIR}/ca.pem"),
    ] {
        // Quoted: a YAML value cannot start with `{` unquoted.
        replace.push((from, format!("\"{to}\"")));
    }
    run_ready(
        Ready {
            file: "secure_tracing.yaml",
            replace,
            sets: vec![
                // The harness waits for an OTLP/HTTP listener too, and the SDK sends every
                // signal; the example takes traces over gRPC only.
                "receivers::otlp::protocols::http={endpoint: 127.0.0.1:0}".into(),
                "service::pipelines::metrics={receivers: [otlp], exporters: [debug]}".into(),
                "service::pipelines::logs={receivers: [otlp], exporters: [debug]}".into(),
            ],
            exporters: vec!["debug"],
            probes: false,
            files: vec![
                ("server.pem", server.cert),
                ("server-key.pem", server.key),
                ("ca.pem", ca.pem()),
                ("client.pem", client.cert),
                ("client-key.pem", client.key),
            ],
            mtls: true,
        },
        None,
    );
}

fn loopback(endpoints: &[&'static str]) -> Vec<(&'static str, String)> {
    endpoints
        .iter()
        .map(|e| (*e, "127.0.0.1:0".to_owned()))
        .collect()
}

#[test]
fn helm_gateway_without_other_protocols_runs_redacted() {
    let mut replace = loopback(&[
        "${env:MY_POD_IP}:4317",
        "${env:MY_POD_IP}:4318",
        "${env:MY_POD_IP}:13133",
    ]);
    replace.push(("port: 8888", "port: 0".to_owned()));
    run_ready(
        Ready {
            file: "helm_gateway.weir.yaml",
            replace,
            sets: vec!["exporters::debug::verbosity=detailed".into()],
            exporters: vec!["debug"],
            probes: true,
            files: Vec::new(),
            mtls: false,
        },
        None,
    );
}

#[test]
fn core_local_example_runs_redacted() {
    run_ready(
        Ready {
            file: "core_local.yaml",
            replace: loopback(&["localhost:4317", "localhost:4318"]),
            // The SDK sends logs too; the example has no logs pipeline.
            sets: vec![
                "service::pipelines::logs={receivers: [otlp], processors: [memory_limiter], exporters: [debug]}"
                    .into(),
            ],
            exporters: vec!["debug"],
            probes: false,
            files: Vec::new(),
            mtls: false,
        },
        None,
    );
}

#[test]
fn demo_without_other_protocols_runs_redacted() {
    run_ready(
        Ready {
            file: "demo.weir.yaml",
            replace: Vec::new(),
            sets: vec![
                "exporters::debug::verbosity=detailed".into(),
                // No jaeger or prometheus here: their queues would hold the data.
                "service::pipelines::traces::exporters=[debug]".into(),
                "service::pipelines::metrics::exporters=[debug]".into(),
            ],
            exporters: vec!["debug"],
            probes: false,
            files: Vec::new(),
            mtls: false,
        },
        None,
    );
}

#[test]
fn lgtm_without_the_self_scrape_runs_redacted() {
    let capture = Capture::start();
    let base = capture.base();
    let mut replace = loopback(&["0.0.0.0:4317", "0.0.0.0:4318"]);
    for backend in [
        "http://127.0.0.1:9090/api/v1/otlp",
        "http://127.0.0.1:4418",
        "http://127.0.0.1:3100/otlp",
    ] {
        replace.push((backend, base.clone()));
    }
    run_ready(
        Ready {
            file: "lgtm.weir.yaml",
            replace,
            sets: ["traces", "metrics", "logs"]
                .iter()
                .map(|s| format!("exporters::otlphttp/{s}::compression=none"))
                .collect(),
            exporters: vec!["otlphttp/traces", "otlphttp/metrics", "otlphttp/logs"],
            probes: false,
            files: Vec::new(),
            mtls: false,
        },
        Some(&capture),
    );
}

#[test]
fn telemetry_resource_is_target_info_and_level_none_serves_no_extra_listener() {
    let config = format!(
        "{}  telemetry:\n    resource: {{ service.instance.id: weir-7 }}\n    metrics: {{ address: 127.0.0.1:0 }}\n",
        common::DEBUG_CONFIG
    );
    let weir = Weir::start(&config);
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let page = |addr: std::net::SocketAddr| {
        rt.block_on(async {
            let url = format!("http://{addr}/metrics");
            let resp = common::http_client().get(&url).send().await.expect(&url);
            resp.text().await.expect("body")
        })
    };
    for addr in [weir.admin_addr, weir.listener_addr("telemetry/metrics")] {
        let body = page(addr);
        assert!(
            body.contains("target_info{service_instance_id=\"weir-7\"} 1"),
            "{addr}: {body}"
        );
    }
    drop(weir);

    let off = format!(
        "{}  telemetry:\n    metrics: {{ level: none, address: 127.0.0.1:0 }}\n",
        common::DEBUG_CONFIG
    );
    let weir = Weir::start(&off);
    let page = page(weir.admin_addr);
    assert!(!page.contains("target_info"), "{page}");
    assert!(
        !weir
            .stderr_lines()
            .iter()
            .any(|l| l.contains("telemetry/metrics")),
        "level: none binds no metrics listener"
    );
}
