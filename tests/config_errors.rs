//! The errors a user sees for bad configs: one test per row, each asserting the path, the
//! position and the words that tell the user what to fix.

mod common;

use std::process::Command;

use common::config::{GOOD, expect_errors, load};

#[test]
fn the_good_config_loads() {
    let cfg = load(GOOD).expect("valid");
    assert_eq!(cfg.service.pipelines.len(), 1);
}

#[test]
fn unknown_key() {
    expect_errors(
        &GOOD.replace(
            "        endpoint: 127.0.0.1:0",
            "        endpoint: 127.0.0.1:0\n        endpiont: x",
        ),
        &[(
            "receivers.otlp.protocols.http.endpiont",
            6,
            "unknown field `endpiont`",
        )],
    );
}

#[test]
fn unsupported_collector_key() {
    expect_errors(
        &GOOD.replace(
            "      http:\n",
            "      http:\n        response_headers: { x-served-by: weir }\n",
        ),
        &[(
            "receivers.otlp.protocols.http.response_headers",
            5,
            "not supported by weir: protocols.http.response_headers",
        )],
    );
}

#[test]
fn a_connector_is_one_refusal_and_pipelines_naming_it_add_none() {
    let text = format!("connectors:\n  spanmetrics: {{}}\n{GOOD}")
        .replace("exporters: [debug]", "exporters: [debug, spanmetrics]");
    expect_errors(
        &text,
        &[(
            "connectors.spanmetrics",
            2,
            "weir takes OTLP only: connectors are not supported",
        )],
    );
}

#[test]
fn a_document_that_is_not_a_mapping_points_at_its_first_line() {
    let errors = load("# weir\n\n- receivers\n- service\n").expect_err("a list");
    assert_eq!(errors.errors[0].position, Some((3, 1)), "{errors}");
    assert!(
        errors
            .to_string()
            .contains("weir.yaml:3:1: the config must be a mapping")
    );
}

#[test]
fn a_second_document_is_refused_where_it_starts() {
    let errors = load(&format!("{GOOD}---\n{GOOD}")).expect_err("two documents");
    assert_eq!(errors.errors.len(), 1, "{errors}");
    assert_eq!(errors.errors[0].position, Some((13, 1)), "{errors}");
    assert!(
        errors.errors[0].message.contains("more than one document"),
        "{errors}"
    );
}

#[test]
fn a_syntax_error_the_yaml_parser_cannot_place_still_has_a_position() {
    // serde_yaml_ng calls this "more than one document", without a position.
    let errors = load(" s: {s: []}\n:").expect_err("malformed");
    assert_eq!(errors.errors.len(), 1, "{errors}");
    assert_eq!(errors.errors[0].position, Some((2, 1)), "{errors}");
    assert!(
        errors.errors[0].message.starts_with("YAML syntax: "),
        "{errors}"
    );
}

#[test]
fn undefined_exporter() {
    expect_errors(
        &GOOD.replace("exporters: [debug]", "exporters: [debug, otlp/tempo]"),
        &[(
            "service.pipelines.traces.exporters[1]",
            12,
            "exporter \"otlp/tempo\" is not defined under exporters",
        )],
    );
}

#[test]
fn unknown_component_type() {
    expect_errors(
        &GOOD.replace("  debug: {}", "  debug: {}\n  kafka: {}"),
        &[(
            "exporters.kafka",
            8,
            "unknown exporter type \"kafka\"; weir has: debug",
        )],
    );
}

#[test]
fn wrong_signal() {
    expect_errors(
        &GOOD.replace("    traces:", "    spans:"),
        &[("service.pipelines.spans", 10, "unknown signal \"spans\"")],
    );
}

#[test]
fn a_profiles_pipeline_is_one_refusal_whatever_it_names() {
    expect_errors(
        &GOOD
            .replace("    traces:", "    profiles:")
            .replace("exporters: [debug]", "exporters: [debug, pyroscope]"),
        &[(
            "service.pipelines.profiles",
            10,
            "weir takes OTLP traces, metrics and logs only: profiles pipelines are not supported",
        )],
    );
}

#[test]
fn bad_env_default() {
    expect_errors(
        &GOOD.replace("127.0.0.1:0", "${env:1PORT:-127.0.0.1:0}"),
        &[(
            "receivers.otlp.protocols.http.endpoint",
            5,
            "bad variable name \"1PORT\"",
        )],
    );
    expect_errors(
        &GOOD.replace("127.0.0.1:0", "\"${env:UNSET_FOR_SURE}\""),
        &[(
            "receivers.otlp.protocols.http.endpoint",
            5,
            "UNSET_FOR_SURE is not set",
        )],
    );
    expect_errors(
        &GOOD.replace("127.0.0.1:0", "\"${env:PORT:-x\""),
        &[("receivers.otlp.protocols.http.endpoint", 5, "unclosed")],
    );
}

#[test]
fn env_values_fill_typed_fields() {
    let text = GOOD.replace(
        "        endpoint: 127.0.0.1:0",
        "        endpoint: 127.0.0.1:${env:WEIR_TEST_PORT}\n        max_request_body_size: ${env:WEIR_TEST_PORT}",
    );
    let cfg = load(&text).expect("valid");
    let weir::config::ReceiverConfig::Otlp(otlp) = cfg.receivers.values().next().expect("otlp");
    let http = otlp.protocols.http.as_ref().expect("http");
    assert_eq!(http.endpoint, "127.0.0.1:4999");
    assert_eq!(http.max_request_body_size, 4999);
}

#[test]
fn wrong_value_type() {
    expect_errors(
        &GOOD.replace("  debug: {}", "  debug:\n    verbosity: loud"),
        &[("exporters.debug.verbosity", 8, "unknown variant `loud`")],
    );
}

/// An exporter in a pipeline of a signal its kind does not name is refused at load (the
/// exporter itself never checks the signal again).
#[test]
fn an_exporter_in_a_pipeline_of_a_signal_it_does_not_take() {
    let text = GOOD
        .replace(
            "  debug: {}",
            "  loki:\n    endpoint: http://127.0.0.1:3100",
        )
        .replace("exporters: [debug]", "exporters: [loki]");
    expect_errors(
        &text,
        &[(
            "service.pipelines.traces.exporters[0]",
            13,
            "exporter \"loki\" does not handle traces; it takes logs",
        )],
    );
    let sentry = GOOD
        .replace(
            "  debug: {}",
            "  sentry:\n    dsn: https://k@sentry.example.com/1",
        )
        .replace("    traces:", "    metrics:")
        .replace("exporters: [debug]", "exporters: [sentry]");
    expect_errors(
        &sentry,
        &[(
            "service.pipelines.metrics.exporters[0]",
            13,
            "exporter \"sentry\" does not handle metrics; it takes traces, logs",
        )],
    );
}

#[test]
fn sentry_dedupe_window_longer_than_an_hour() {
    let text = GOOD
        .replace(
            "  debug: {}",
            "  sentry:\n    dsn: https://k@sentry.example.com/1\n    dedupe_window: 2h",
        )
        .replace("exporters: [debug]", "exporters: [sentry]");
    expect_errors(
        &text,
        &[("exporters.sentry.dedupe_window", 9, "at most 1h")],
    );
    let off = text.replace("dedupe_window: 2h", "dedupe_window: 0s");
    load(&off).expect("0s turns the dedupe window off");
}

#[test]
fn yaml_syntax_with_line_and_column() {
    let errors =
        load(&GOOD.replace("exporters: [debug]", "exporters: [debug")).expect_err("syntax");
    assert_eq!(errors.errors.len(), 1);
    let e = &errors.errors[0];
    assert!(e.message.starts_with("YAML syntax"), "{}", e.message);
    let (line, col) = e.position.expect("position");
    assert!(line >= 12, "line {line}");
    assert!(col > 0);
}

#[test]
fn every_error_is_reported_at_once() {
    let text = GOOD
        .replace("  debug: {}", "  debug:\n    verbosity: loud\n  kafka: {}")
        .replace(
            "exporters: [debug]",
            "exporters: [debug, nope]\n      processors: [batch]",
        );
    let errors = load(&text).expect_err("several");
    let paths: Vec<&str> = errors.errors.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "exporters.debug.verbosity",
            "exporters.kafka",
            "service.pipelines.traces.exporters[1]",
            "service.pipelines.traces.processors[0]",
        ]
    );
}

#[test]
fn a_pipeline_needs_receivers_and_exporters() {
    expect_errors(
        &GOOD.replace("      receivers: [otlp]\n", ""),
        &[(
            "service.pipelines.traces.receivers",
            10,
            "at least one receiver",
        )],
    );
}

#[test]
fn weir_validate_lists_errors_with_file_and_line_and_exits_1() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bad = dir.path().join("bad.yaml");
    let good = dir.path().join("good.yaml");
    std::fs::write(
        &bad,
        GOOD.replace("exporters: [debug]", "exporters: [nope]"),
    )
    .expect("write");
    std::fs::write(&good, GOOD).expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_weir"))
        .arg("validate")
        .arg(&good)
        .arg(&bad)
        .output()
        .expect("run weir");
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stdout.contains("good.yaml: ok"), "{stdout}");
    assert!(
        stderr.contains(&format!("{}:12:", bad.display()))
            && stderr.contains(
                "service.pipelines.traces.exporters[0]: exporter \"nope\" is not defined"
            ),
        "{stderr}"
    );
}

#[test]
fn every_example_validates() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/examples");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .expect("examples")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
        .collect();
    // weir's config in the Grafana stack example (the rest of that folder is other tools').
    files.push(std::path::Path::new(dir).join("grafana-stack/weir.yaml"));
    files.sort();
    assert!(!files.is_empty());
    let out = Command::new(env!("CARGO_BIN_EXE_weir"))
        .arg("validate")
        .args(&files)
        .output()
        .expect("run weir");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).lines().count(),
        files.len()
    );
}

#[test]
fn exporter_semantic_errors_name_their_keys() {
    let text = GOOD.replace(
        "  debug: {}",
        "  debug: {}\n  otlp/tempo:\n    endpoint: ftp://tempo:4317\n    sending_queue: { queue_size: 0 }\n  otlphttp:\n    endpoint: http://x:4318\n    keepalive: {}",
    );
    expect_errors(
        &text,
        &[
            (
                "exporters.otlp/tempo.endpoint",
                9,
                "unsupported scheme \"ftp\"",
            ),
            (
                "exporters.otlp/tempo.sending_queue.queue_size",
                10,
                "at least 1",
            ),
            (
                "exporters.otlphttp.keepalive",
                13,
                "unknown field `keepalive`",
            ),
        ],
    );
}

#[test]
fn self_traces_may_not_loop_into_own_receiver() {
    let text = GOOD
        .replace("        endpoint: 127.0.0.1:0", "        endpoint: 0.0.0.0:4318")
        .replace(
            "service:\n",
            "service:\n  telemetry:\n    traces: { endpoint: http://localhost:4318, sampling_ratio: 2 }\n",
        );
    expect_errors(
        &text,
        &[
            ("service.telemetry.traces.endpoint", 10, "own receiver otlp"),
            (
                "service.telemetry.traces.sampling_ratio",
                10,
                "between 0 and 1",
            ),
        ],
    );
}

#[test]
fn the_readme_full_config_examples_load() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("README.md");
    // Every YAML block that is a whole config (it has pipelines); the others are fragments.
    let whole: Vec<&str> = readme
        .split("```yaml\n")
        .skip(1)
        .filter_map(|rest| rest.split("```").next())
        .filter(|block| block.contains("pipelines:"))
        .collect();
    assert!(!whole.is_empty(), "README.md has no whole config example");
    for block in whole {
        if let Err(e) = load(block) {
            panic!("a README example does not load:\n{block}\n{e}");
        }
    }
}

/// `GOOD` with `processors:` holding `defs` (two-space indented lines) and the traces pipeline
/// naming `traces`, plus a logs pipeline naming `logs`.
fn with_limiters(defs: &str, traces: &str, logs: &str) -> String {
    GOOD.replace("exporters:\n", &format!("processors:\n{defs}exporters:\n"))
        .replace(
            "      receivers: [otlp]\n      exporters: [debug]\n",
            &format!(
                "      receivers: [otlp]\n      processors: [{traces}]\n      exporters: [debug]\n    \
                 logs:\n      receivers: [otlp]\n      processors: [{logs}]\n      exporters: [debug]\n"
            ),
        )
}

#[test]
fn memory_limiter_configs_load_and_one_limit_may_be_named_everywhere() {
    let fixed = "  memory_limiter: { check_interval: 1s, limit_mib: 512, spike_limit_mib: 128 }\n";
    let cfg = load(&with_limiters(fixed, "memory_limiter", "memory_limiter")).expect("valid");
    assert_eq!(cfg.service.pipelines.len(), 2);
    let active = weir::memory::config::active(&cfg).expect("a limit");
    assert_eq!((active.limit_mib, active.spike_limit_mib), (512, 128));
    // Another id with the same settings is the same limit; its place in the list is free.
    let twins = format!(
        "{fixed}{}",
        fixed.replace("memory_limiter:", "memory_limiter/b:")
    );
    load(&with_limiters(&twins, "memory_limiter", "memory_limiter/b")).expect("same settings");
    let pct = "  memory_limiter: { check_interval: 100ms, limit_percentage: 80, spike_limit_percentage: 20 }\n  batch: {}\n";
    load(&with_limiters(
        pct,
        "batch, memory_limiter",
        "memory_limiter",
    ))
    .expect("not first");
    // Without one in a pipeline there is no limit.
    let cfg = load(&with_limiters(fixed, "", "")).expect("defined, unused");
    assert!(weir::memory::config::active(&cfg).is_none());
}

#[test]
fn two_different_memory_limits_are_refused_where_the_second_is_named() {
    let defs = "  memory_limiter/a: { check_interval: 1s, limit_mib: 512 }\n  \
                memory_limiter/b: { check_interval: 1s, limit_mib: 256 }\n";
    expect_errors(
        &with_limiters(defs, "memory_limiter/a", "memory_limiter/b"),
        &[(
            "service.pipelines.logs.processors[0]",
            19,
            "memory_limiter/b sets another memory limit than memory_limiter/a",
        )],
    );
}

#[test]
fn memory_limiter_semantic_errors_name_their_keys() {
    let bad = |settings: &str| {
        with_limiters(
            &format!("  memory_limiter:\n{settings}"),
            "memory_limiter",
            "",
        )
    };
    let p = "processors.memory_limiter";
    // Line 7 is `memory_limiter:`; its settings start on line 8. A missing key points at it.
    expect_errors(
        &bad("    limit_mib: 100\n"),
        &[(&format!("{p}.check_interval"), 7, "must be more than 0s")],
    );
    expect_errors(
        &bad("    check_interval: 0s\n    limit_mib: 100\n"),
        &[(&format!("{p}.check_interval"), 8, "must be more than 0s")],
    );
    expect_errors(
        &bad("    check_interval: 1s\n"),
        &[(
            &format!("{p}.limit_mib"),
            7,
            "set limit_mib or limit_percentage",
        )],
    );
    expect_errors(
        &bad("    check_interval: 1s\n    limit_mib: 100\n    spike_limit_mib: 100\n"),
        &[(
            &format!("{p}.spike_limit_mib"),
            10,
            "smaller than limit_mib",
        )],
    );
    expect_errors(
        &bad(
            "    check_interval: 1s\n    limit_percentage: 120\n    spike_limit_percentage: 101\n",
        ),
        &[
            (&format!("{p}.limit_percentage"), 9, "at most 100"),
            (&format!("{p}.spike_limit_percentage"), 10, "at most 100"),
        ],
    );
    expect_errors(
        &bad("    check_interval: 1s\n    limit_percentage: 50\n    spike_limit_percentage: 60\n"),
        &[(
            &format!("{p}.spike_limit_percentage"),
            10,
            "smaller than limit_percentage",
        )],
    );
    expect_errors(
        &bad("    check_interval: 1s\n    limit_mib: -5\n"),
        &[(&format!("{p}.limit_mib"), 9, "invalid value")],
    );
    expect_errors(
        &bad(
            "    check_interval: 1s\n    limit_mib: 100\n    min_gc_interval_when_soft_limited: 10s\n",
        ),
        &[(
            &format!("{p}.min_gc_interval_when_soft_limited"),
            10,
            "not supported by weir: min_gc_interval_when_soft_limited",
        )],
    );
    expect_errors(
        &bad("    check_interval: 1s\n    limit_mib: 100\n    limt_mib: 1\n"),
        &[(&format!("{p}.limt_mib"), 10, "unknown field `limt_mib`")],
    );
}
