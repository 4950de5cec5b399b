//! The `loki` exporter's YAML: what parses, the defaults, and the problem each bad setting gives.

use std::time::Duration;

use super::super::config::BodyCompression;
use super::*;

fn parse(yaml: &str) -> Result<LokiConfig, serde_yaml_ng::Error> {
    serde_yaml_ng::from_str(yaml)
}

fn problem_keys(yaml: &str) -> Vec<String> {
    parse(yaml)
        .expect("parses")
        .problems()
        .into_iter()
        .map(|(k, _)| k)
        .collect()
}

#[test]
fn a_full_config_parses() {
    let cfg = parse(
        r#"
endpoint: https://loki.example.com/loki/api/v1/push
headers: { Authorization: "Basic abc" }
tls: { insecure: false, ca_file: /etc/ca.pem }
timeout: 10s
format: json
compression: none
tenant_id: platform
labels:
  resource: { deployment.environment.name: env, k8s.namespace.name: null }
  attributes: [http.route]
default_labels_enabled: { service_name: true, level: false, job: true, instance: false, exporter: false }
max_label_sets_per_tenant: 50
label_sets_window: 30m
structured_metadata: { enabled: true, attributes: { user.id: user } }
line_format: logfmt
sending_queue: { queue_size: 100, batch: { flush_timeout: 1s, min_size: 500 } }
retry_on_failure: { initial_interval: 1s }
"#,
    )
    .expect("parses");
    assert!(cfg.problems().is_empty(), "{:?}", cfg.problems());
    assert_eq!(cfg.format, PushFormat::Json);
    assert_eq!(cfg.body_compression(), BodyCompression::None);
    assert_eq!(cfg.line_format, LineFormat::Logfmt);
    assert_eq!(cfg.label_sets_window, Duration::from_secs(1800));
    assert_eq!(
        cfg.labels.resource.resolved(),
        [
            ("deployment.environment.name".to_owned(), "env".to_owned()),
            (
                "k8s.namespace.name".to_owned(),
                "k8s_namespace_name".to_owned()
            )
        ]
    );
    assert!(cfg.default_labels_enabled.job && !cfg.default_labels_enabled.level);
    assert_eq!(cfg.sending_queue.merge.map(|b| b.min_size), Some(500));
}

#[test]
fn defaults_suit_loki_3() {
    let cfg = parse("endpoint: http://loki:3100").expect("parses");
    assert!(cfg.problems().is_empty());
    assert_eq!(cfg.format, PushFormat::Protobuf);
    assert_eq!(cfg.body_compression(), BodyCompression::Snappy);
    assert_eq!(cfg.tenant_header, "X-Scope-OrgID");
    assert_eq!(cfg.max_label_sets_per_tenant, 1000);
    assert!(cfg.structured_metadata.enabled);
    assert_eq!(cfg.line_format, LineFormat::Text);
    assert_eq!(cfg.timeout, Duration::from_secs(5));
    let d = &cfg.default_labels_enabled;
    assert!(d.service_name && d.level && !d.job && !d.instance && !d.exporter);
    assert_eq!(
        cfg.push_url().expect("an endpoint").as_str(),
        "http://loki:3100/loki/api/v1/push"
    );
    let gzip = parse("endpoint: http://l/push\nformat: json").expect("parses");
    assert_eq!(gzip.body_compression(), BodyCompression::Gzip);
    assert_eq!(
        gzip.push_url().expect("an endpoint").path(),
        "/push",
        "a path is kept"
    );
}

#[test]
fn unknown_and_unsupported_keys_are_errors() {
    let refused = |yaml: &str, says: &str| {
        let err = parse(yaml).expect_err(yaml).to_string();
        assert!(err.contains(says), "{yaml}: {err}");
    };
    refused("endpoint: http://l\nnope: 1", "unknown field `nope`");
    refused(
        "endpoint: http://l\nline_format: xml",
        "line_format: unknown variant `xml`",
    );
    let old_format = parse("endpoint: http://l\nformat: logfmt").expect_err("line format");
    assert!(
        old_format.to_string().contains("use line_format"),
        "{old_format}"
    );
    refused(
        "endpoint: http://l\nformat: avro",
        "unknown format \"avro\"; use protobuf or json",
    );
    refused(
        "endpoint: http://l\nlabels: { record: { traceID: t } }",
        "labels: unknown field `record`",
    );
    for key in weir_pipeline::queue::config::UNSUPPORTED_QUEUE_KEYS {
        assert!(UNSUPPORTED_COLLECTOR_KEYS.contains(key), "{key}");
    }
    for key in ["auth", "labels.record", "tenant", "proxy_url"] {
        assert!(UNSUPPORTED_COLLECTOR_KEYS.contains(&key), "{key}");
    }
}

#[test]
fn bad_endpoints_compressions_and_tenants() {
    assert_eq!(problem_keys("format: protobuf"), ["endpoint"]);
    assert_eq!(
        problem_keys("compression: gzip\ntenant_id: a\ntimeout: 0s"),
        ["endpoint", "timeout", "compression"]
    );
    for (yaml, says) in [
        (
            "endpoint: ftp://l/x",
            "\"ftp://l/x\": use an http:// or https:// URL",
        ),
        (
            "endpoint: http://l\ntenant_id: 'a/b'",
            "tenant id holds '/'",
        ),
    ] {
        let err = parse(yaml).expect_err(yaml).to_string();
        assert!(err.contains(says), "{yaml}: {err}");
    }
    assert_eq!(
        problem_keys("endpoint: http://l\nformat: json\ncompression: snappy"),
        ["compression"]
    );
    assert_eq!(
        problem_keys("endpoint: http://l\ntenant_id: a\ntenant_header: ''"),
        ["tenant_id"]
    );
    assert_eq!(
        problem_keys("endpoint: http://l\ntenant_id: a\nheaders: { x-scope-orgid: b }"),
        ["tenant_id"]
    );
    assert_eq!(
        problem_keys("endpoint: http://l\ntls: { cert_file: /c.pem }"),
        ["tls.key_file"]
    );
}

#[test]
fn bad_label_names_and_duplicates() {
    let problems = parse(
        r#"
endpoint: http://l
labels:
  resource: { a.b: "x-y", c: __reserved, d.e: d_e, d-e: null, "": z }
  attributes: [ok, "9lives"]
structured_metadata: { attributes: [trace_id, { ignored: 1 }] }
"#,
    );
    let err = problems
        .expect_err("a map inside the list is not a name")
        .to_string();
    assert!(
        err.contains("structured_metadata.attributes[1]"),
        "names the entry: {err}"
    );
    let cfg = parse(
        r#"
endpoint: http://l
labels:
  resource: { a.b: "x-y", c: __reserved, d.e: d_e, d-e: null, "": z }
  attributes: [ok, "9lives"]
structured_metadata: { attributes: { trace.id: null, user: trace_id } }
"#,
    )
    .expect("parses");
    let problems = cfg.problems();
    let keys: Vec<&str> = problems.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        keys,
        [
            "labels.resource.a.b",
            "labels.resource.c",
            "labels.resource.d-e",
            "labels.resource",
            "structured_metadata.attributes.trace.id",
            "structured_metadata.attributes.user",
        ],
        "{problems:?}"
    );
    assert!(
        problems[0].1.contains("\"x_y\""),
        "suggests the sanitised name"
    );
    assert!(problems[2].1.contains("already filled"));
    // `9lives` is sanitised (`_9lives`), not refused: only explicit names must be valid.
    assert!(
        problems
            .iter()
            .all(|(k, _)| !k.starts_with("labels.attributes"))
    );
}

#[test]
fn an_unknown_compression_fails_the_reading_at_its_key() {
    let err = serde_yaml_ng::from_str::<LokiConfig>("endpoint: http://l\ncompression: brotli")
        .expect_err("brotli")
        .to_string();
    assert!(err.contains("unknown variant `brotli`"), "{err}");
    let plain: LokiConfig =
        serde_yaml_ng::from_str("endpoint: http://l\nformat: json\ncompression: ''")
            .expect("reads");
    assert_eq!(plain.body_compression(), BodyCompression::None);
}
