//! `weir validate` as a user meets it: no knock-on errors, "did you mean", `--skip-env`, every
//! error in one run, output files that cannot be written, and Loki label names. Each test
//! asserts the path, the position and the words that tell the user what to fix.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::config::{GOOD, expect_errors, load};

/// `weir validate ARGS…` with the test variables surely unset.
fn validate(args: &[&str], files: &[&Path]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_weir"))
        .arg("validate")
        .args(args)
        .args(files)
        .env_remove("WEIR_UNSET_HOST")
        .env_remove("WEIR_UNSET_PORT")
        .output()
        .expect("run weir")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn a_kind_weir_does_not_have_is_one_error_not_one_per_pipeline() {
    let text = GOOD
        .replace("  debug: {}", "  debug: {}\n  kafka/out: {}\n  Bad: {}")
        .replace("exporters: [debug]", "exporters: [debug, kafka/out, Bad]")
        + "    logs:\n      receivers: [otlp]\n      exporters: [kafka/out]\n";
    expect_errors(
        &text,
        &[
            ("exporters.kafka/out", 8, "unknown exporter type \"kafka\""),
            ("exporters.Bad", 9, "bad component id \"Bad\""),
        ],
    );
}

#[test]
fn misspelt_kinds_ids_keys_and_values_get_a_suggestion() {
    let text = GOOD
        .replace(
            "  debug: {}",
            "  debug:\n    verbosity: detialed\n  otlphtp: {}\n  otlp/tempo: { endpoint: \"tempo:4317\" }",
        )
        .replace("        endpoint: 127.0.0.1:0", "        endpiont: 127.0.0.1:0")
        .replace("exporters: [debug]", "exporters: [debug, otlp/tempoo]")
        .replace("    traces:", "    trace:");
    expect_errors(
        &text,
        &[
            (
                "receivers.otlp.protocols.http.endpiont",
                5,
                "unknown field `endpiont`, expected one of `endpoint`",
            ),
            (
                "exporters.debug.verbosity",
                8,
                "expected one of `basic`, `normal`, `detailed`; did you mean \"detailed\"?",
            ),
            (
                "exporters.otlphtp",
                9,
                "unknown exporter type \"otlphtp\" (did you mean \"otlphttp\"?); weir has:",
            ),
            (
                "service.pipelines.trace",
                13,
                "unknown signal \"trace\" in pipeline id \"trace\" (did you mean \"traces\"?)",
            ),
            (
                "service.pipelines.trace.exporters[1]",
                15,
                "exporter \"otlp/tempoo\" is not defined under exporters; did you mean \"otlp/tempo\"?",
            ),
        ],
    );
    let errors = load(&text).expect_err("refused");
    assert!(
        errors.errors[0]
            .message
            .ends_with("did you mean \"endpoint\"?"),
        "{errors}"
    );
    // Nothing close: no suggestion.
    let far = load(&GOOD.replace("exporters: [debug]", "exporters: [debug, zipkin]"))
        .expect_err("undefined");
    assert!(!far.to_string().contains("did you mean"), "{far}");
}

#[test]
fn skip_env_warns_once_per_unset_variable_and_checks_the_rest() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("k8s.yaml");
    let config = GOOD.replace(
        "        endpoint: 127.0.0.1:0",
        "        endpoint: ${env:WEIR_UNSET_HOST}:${env:WEIR_UNSET_PORT}\n        max_request_body_size: ${env:WEIR_UNSET_PORT}\n        read_timeout: ${env:WEIR_UNSET_PORT}",
    );
    std::fs::write(&file, &config).expect("write");
    let shown = file.display().to_string();

    let strict = validate(&[], &[&file]);
    assert_eq!(strict.status.code(), Some(1), "{}", text(&strict.stderr));
    let stderr = text(&strict.stderr);
    assert!(stderr.contains("WEIR_UNSET_PORT is not set"), "{stderr}");
    assert!(
        !stderr.contains("invalid type"),
        "one error per value: {stderr}"
    );

    let out = validate(&["--skip-env"], &[&file]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(text(&out.stdout), format!("{shown}: ok\n"));
    // Two unset variables, and the redaction weir appends to the pipeline.
    assert!(
        stderr.starts_with(&format!("{shown}: 3 warnings\n")),
        "{stderr}"
    );
    assert!(stderr.contains("appended redaction/default"), "{stderr}");
    assert_eq!(stderr.matches("WEIR_UNSET_PORT").count(), 1, "{stderr}");
    assert!(
        stderr.contains(&format!(
            "{shown}:5:9: receivers.otlp.protocols.http.endpoint: environment variable WEIR_UNSET_HOST is not set"
        )) && stderr.contains("WEIR_UNSET_PORT is not set (used in 3 values)"),
        "{stderr}"
    );

    // Other errors are still errors, and only they are.
    std::fs::write(
        &file,
        config.replace("exporters: [debug]", "exporters: [nope]"),
    )
    .expect("write");
    let out = validate(&["--skip-env"], &[&file]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("{shown}: 1 error\n"))
            && stderr.contains("exporters[0]: exporter \"nope\" is not defined"),
        "{stderr}"
    );
}

#[test]
fn every_error_of_a_component_is_reported_in_one_run() {
    let text = GOOD.replace(
        "        endpoint: 127.0.0.1:0",
        "        endpoint: 127.0.0.1:0\n        response_headers: { x: y }\n        max_request_body_size: lots\n        endpiont: x\n        cors:\n          allowed_origins: [app.example.com]",
    );
    expect_errors(
        &text,
        &[
            (
                "receivers.otlp.protocols.http.response_headers",
                6,
                "not supported by weir: protocols.http.response_headers",
            ),
            (
                "receivers.otlp.protocols.http.max_request_body_size",
                7,
                "invalid type: string \"lots\"",
            ),
            ("receivers.otlp.protocols.http.endpiont", 8, "unknown field"),
            (
                "receivers.otlp.protocols.http.cors.allowed_origins[0]",
                10,
                "is not an origin",
            ),
        ],
    );
}

#[test]
fn a_pipeline_with_a_bad_key_or_signal_still_has_its_lists_checked() {
    expect_errors(
        &GOOD
            .replace("    traces:", "    spans:")
            .replace(
                "exporters: [debug]",
                "exporters: [debug]\n      processor: [batch]\n      receivers: [otlp, nope]",
            )
            .replace("      receivers: [otlp]\n", ""),
        &[
            ("service.pipelines.spans", 10, "unknown signal \"spans\""),
            (
                "service.pipelines.spans.processor",
                12,
                "unknown field `processor`, expected one of `receivers`, `processors`, `exporters`, `redaction`; did you mean \"processors\"?",
            ),
            (
                "service.pipelines.spans.receivers[1]",
                13,
                "receiver \"nope\" is not defined under receivers",
            ),
        ],
    );
}

#[test]
fn output_files_that_cannot_be_written_are_reported_with_their_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = dir.path().join("no/such/dir/out.jsonl");
    let good = dir.path().join("out.jsonl");
    let config = GOOD.replace(
        "  debug: {}",
        &format!(
            "  debug: {{}}\n  debug/file:\n    path: {}\n    verbosity: loud\n  debug/ok: {{ path: {} }}",
            missing.display(),
            good.display()
        ),
    );
    let file = dir.path().join("weir.yaml");
    std::fs::write(&file, &config).expect("write");
    let out = validate(&[], &[&file]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let shown = file.display();
    assert!(
        stderr.contains(&format!(
            "{shown}:9:5: exporters.debug/file.path: directory {} does not exist",
            missing.parent().expect("parent").display()
        )),
        "{stderr}"
    );
    // The exporter's other error is there too; the writable path is not an error.
    assert!(stderr.contains(&format!("{shown}: 2 errors")), "{stderr}");
    assert!(stderr.contains("debug/file.verbosity"), "{stderr}");
    assert!(!good.exists(), "validate creates nothing");
    assert!(!dir.path().join("no").exists(), "validate creates nothing");
}

#[test]
fn an_empty_loki_label_name_gets_a_usable_suggestion() {
    expect_errors(
        &GOOD
            .replace(
                "  debug: {}",
                "  loki:\n    endpoint: http://loki:3100\n    labels:\n      attributes: { http.route: \"\" }",
            )
            .replace("    traces:", "    logs:")
            .replace("exporters: [debug]", "exporters: [loki]"),
        &[(
            "exporters.loki.labels.attributes.http.route",
            10,
            "a label name cannot be empty; write one, for example \"http_route\", or null",
        )],
    );
}

#[test]
fn an_extension_weir_does_not_run_is_a_warning_naming_what_replaces_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("collector.yaml");
    let config = format!(
        "extensions:\n  zpages:\n    endpoint: localhost:55679\n  health_check: {{}}\n{GOOD}  extensions: [health_check, zpages]\n"
    );
    std::fs::write(&file, config).expect("write");
    let shown = file.display().to_string();
    let out = validate(&[], &[&file]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "{shown}:2:3: extensions.zpages: extension zpages is accepted but not run"
        )) && stderr.contains("/admin/ops"),
        "{stderr}"
    );
}

#[test]
fn a_typed_value_is_checked_where_it_is_read_unless_it_is_left_unexpanded() {
    let with = |compression: &str| {
        GOOD.replace(
            "  debug: {}",
            &format!(
                "  debug: {{}}\n  otlphttp:\n    endpoint: http://127.0.0.1:4318\n    compression: {compression}"
            ),
        )
    };
    expect_errors(
        &with("brotli"),
        &[(
            "exporters.otlphttp.compression",
            10,
            "unknown compression \"brotli\"; use one of gzip, zstd, deflate, none",
        )],
    );

    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("weir.yaml");
    std::fs::write(&file, with("${env:WEIR_UNSET_HOST}")).expect("write");
    let out = validate(&["--skip-env"], &[&file]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("exporters.otlphttp.compression: environment variable WEIR_UNSET_HOST"),
        "{stderr}"
    );
    assert!(!stderr.contains("unknown compression"), "{stderr}");
}
