//! The errors a user sees for bad `extensions` and disk queue settings: an extension that is
//! not defined or listed twice, a key weir lacks, a queue's `storage` that names no listed
//! `file_storage`. Each test asserts the path, the position and the words that say what to fix.

mod common;

use common::config::{GOOD, expect_errors, load};

#[test]
fn service_extensions_must_be_defined_and_listed_once() {
    let text = format!(
        "extensions:\n  health_check: {{}}\n  file_storage/q:\n    directory: /tmp\n{GOOD}  extensions: [health_check, file_storage/q, health_check, zpages]\n"
    );
    let errors = load(&text).expect_err("two bad entries");
    let paths: Vec<&str> = errors.errors.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(
        paths,
        ["service.extensions[2]", "service.extensions[3]"],
        "{errors}"
    );
    assert!(
        errors.errors[0].message.contains("listed twice"),
        "{errors}"
    );
    assert!(
        errors.errors[1]
            .message
            .contains("is not defined under extensions"),
        "{errors}"
    );
}

#[test]
fn an_extension_key_weir_lacks_names_its_path() {
    let text = format!(
        "extensions:\n  health_check:\n    check_collector_pipeline: {{enabled: false}}\n{GOOD}"
    );
    expect_errors(
        &text,
        &[(
            "extensions.health_check.check_collector_pipeline",
            3,
            "not supported by weir: check_collector_pipeline",
        )],
    );
}

#[test]
fn a_queue_storage_must_name_a_listed_file_storage() {
    let exporters = "exporters:\n  otlphttp/a:\n    endpoint: http://127.0.0.1:1\n    \
        sending_queue: { storage: file_storage/missing }\n  otlphttp/b:\n    \
        endpoint: http://127.0.0.1:1\n    sending_queue: { storage: health_check }\n  \
        otlphttp/c:\n    endpoint: http://127.0.0.1:1\n    \
        sending_queue: { storage: file_storage/unlisted }\n  otlphttp/d:\n    \
        endpoint: http://127.0.0.1:1\n    sending_queue: { storage: file_storage/q }\n";
    let text = format!(
        "{OTLP}extensions:\n  health_check: {{}}\n  file_storage/q: {{ directory: /tmp }}\n  \
         file_storage/unlisted: {{ directory: /tmp }}\n{exporters}service:\n  \
         extensions: [health_check, file_storage/q]\n  pipelines:\n    traces:\n      \
         receivers: [otlp]\n      exporters: [otlphttp/a, otlphttp/b, otlphttp/c, otlphttp/d]\n",
        OTLP = "receivers:\n  otlp:\n    protocols:\n      http:\n        endpoint: 127.0.0.1:0\n"
    );
    expect_errors(
        &text,
        &[
            (
                "exporters.otlphttp/a.sending_queue.storage",
                13,
                "not defined under extensions",
            ),
            (
                "exporters.otlphttp/b.sending_queue.storage",
                16,
                "not a file_storage extension",
            ),
            (
                "exporters.otlphttp/c.sending_queue.storage",
                19,
                "service.extensions does not list",
            ),
        ],
    );
}

#[test]
fn a_load_balancing_queue_cannot_be_on_disk() {
    let text = "receivers:\n  otlp:\n    protocols:\n      http:\n        endpoint: 127.0.0.1:0\n\
        extensions:\n  file_storage: { directory: /tmp }\nexporters:\n  load_balancing:\n    \
        protocol:\n      otlp:\n        sending_queue: { storage: file_storage }\n    \
        resolver:\n      static: { hostnames: [127.0.0.1:4317] }\nservice:\n  \
        extensions: [file_storage]\n  pipelines:\n    traces:\n      receivers: [otlp]\n      \
        exporters: [load_balancing]\n";
    let errors = load(text).expect_err("refused");
    let paths: Vec<&str> = errors.errors.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(
        paths,
        ["exporters.load_balancing.protocol.otlp.sending_queue.storage"],
        "{errors}"
    );
    assert!(
        errors.errors[0].message.contains("not supported by weir"),
        "{errors}"
    );
}
