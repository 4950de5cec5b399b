//! The config: defaults, typed values, and every problem a user can make.

use super::super::config::{Action, AttributeValue, Level};
use super::super::{Enrich, EnrichConfig};
use weir_pipeline::Metrics;
use weir_pipeline::otlp::common::v1::KeyValue;
use weir_pipeline::otlp::resource::v1::Resource;

fn parse(yaml: &str) -> Result<EnrichConfig, String> {
    serde_yaml_ng::from_str(yaml).map_err(|e| e.to_string())
}

fn problems(yaml: &str) -> Vec<(String, String)> {
    parse(yaml).expect("parses").problems()
}

#[test]
fn empty_config_has_the_documented_defaults() {
    let cfg = parse("{}").expect("parses");
    assert_eq!(cfg, EnrichConfig::default());
    assert!(cfg.request_id.enabled);
    assert_eq!(cfg.request_id.key, "request.id");
    assert_eq!(cfg.request_id.level, Level::Record);
    assert!(cfg.request_id.exemplars);
    let t = &cfg.trace_ids;
    assert!(t.enabled && t.from_body);
    assert!(!t.from_request_traceparent, "the header source is opt-in");
    assert!(!t.remove_promoted_attributes);
    assert_eq!(t.trace_id_keys, ["trace_id", "traceId"]);
    assert_eq!(t.span_id_keys, ["span_id", "spanId"]);
    assert_eq!(t.traceparent_keys, ["traceparent"]);
    assert!(cfg.attributes.is_empty());
    assert!(!cfg.add_host_name);
    assert_eq!(cfg.host_name_key, "host.name");
    assert_eq!(cfg.problems(), vec![]);
}

#[test]
fn a_full_config_reads_as_written() {
    let cfg = parse(
        "
request_id: { key: req.id, level: resource, exemplars: false }
trace_ids: { from_request_traceparent: true, remove_promoted_attributes: true, trace_id_keys: [otelTraceID] }
attributes:
  - { key: deployment.environment, value: prod, action: upsert }
  - { key: shard, value: 3, action: insert }
  - { key: ratio, value: 0.5, action: update }
  - { key: canary, value: true, action: insert }
add_host_name: true
host_name_key: weir.host
",
    )
    .expect("parses");
    assert_eq!(cfg.problems(), vec![]);
    assert_eq!(cfg.request_id.level, Level::Resource);
    assert_eq!(cfg.trace_ids.trace_id_keys, ["otelTraceID"]);
    let got: Vec<(&str, Action, Option<&AttributeValue>)> = cfg
        .attributes
        .iter()
        .map(|a| (a.key.as_str(), a.action, a.value.as_ref()))
        .collect();
    assert_eq!(
        got,
        [
            (
                "deployment.environment",
                Action::Upsert,
                Some(&AttributeValue::String("prod".into()))
            ),
            ("shard", Action::Insert, Some(&AttributeValue::Int(3))),
            ("ratio", Action::Update, Some(&AttributeValue::Double(0.5))),
            ("canary", Action::Insert, Some(&AttributeValue::Bool(true))),
        ]
    );
}

#[test]
fn unknown_keys_and_bad_values_are_refused_by_serde() {
    for (yaml, needle) in [
        ("request_id: { keys: x }", "unknown field `keys`"),
        ("request_id: { level: span }", "unknown variant `span`"),
        (
            "trace_ids: { from_header: true }",
            "unknown field `from_header`",
        ),
        (
            "attributes: [{ key: a, value: [1], action: insert }]",
            "a string, number or boolean",
        ),
        (
            "attributes: [{ key: a, value: 1 }]",
            "missing field `action`",
        ),
        (
            "attributes: [{ key: a, value: 1, action: frobnicate }]",
            "unknown variant",
        ),
        ("nope: 1", "unknown field `nope`"),
    ] {
        let err = parse(yaml).expect_err(yaml);
        assert!(err.contains(needle), "{yaml}: {err}");
    }
}

#[test]
fn collector_only_keys_and_actions_are_named_as_not_supported() {
    let got = problems(
        "
attributes:
  - { key: a, from_attribute: b, action: insert }
  - { key: c, action: delete }
  - { key: d, pattern: '^x', action: extract }
  - { key: e, action: convert, converted_type: int }
  - { key: f, action: hash }
  - { key: g, from_context: auth.x, action: upsert }
",
    );
    let want = [
        (
            "attributes[0].from_attribute",
            "not supported by weir: from_attribute",
        ),
        (
            "attributes[0].value",
            "is required for insert, upsert and update",
        ),
        (
            "attributes[1].action",
            "not supported by weir: action delete",
        ),
        ("attributes[2].pattern", "not supported by weir: pattern"),
        (
            "attributes[2].action",
            "not supported by weir: action extract",
        ),
        (
            "attributes[3].converted_type",
            "not supported by weir: converted_type",
        ),
        (
            "attributes[3].action",
            "not supported by weir: action convert",
        ),
        ("attributes[4].action", "not supported by weir: action hash"),
        (
            "attributes[5].from_context",
            "not supported by weir: from_context",
        ),
        (
            "attributes[5].value",
            "is required for insert, upsert and update",
        ),
    ];
    assert_eq!(got.len(), want.len(), "{got:#?}");
    for ((key, message), (want_key, want_start)) in got.iter().zip(want) {
        assert_eq!(key, want_key);
        assert!(message.starts_with(want_start), "{key}: {message}");
    }
}

#[test]
fn empty_and_reserved_keys_are_problems() {
    assert_eq!(
        problems("request_id: { key: '' }"),
        [("request_id.key".to_owned(), "must not be empty".to_owned())]
    );
    let got = problems("request_id: { key: weir.request.id }");
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].0, "request_id.key");
    assert!(got[0].1.contains("beside an application's"), "{}", got[0].1);
    assert_eq!(
        problems("trace_ids: { span_id_keys: [span_id, ''] }"),
        [(
            "trace_ids.span_id_keys[1]".to_owned(),
            "must not be empty".to_owned()
        )]
    );
    assert_eq!(
        problems("attributes: [{ key: '', value: x, action: insert }]"),
        [(
            "attributes[0].key".to_owned(),
            "must not be empty".to_owned()
        )]
    );
    assert_eq!(
        problems("{ add_host_name: true, host_name_key: '' }"),
        [("host_name_key".to_owned(), "must not be empty".to_owned())]
    );
    assert_eq!(
        problems("host_name_key: ''"),
        vec![],
        "unused unless add_host_name"
    );
}

#[test]
fn validation_refuses_an_action_weir_does_not_run_and_building_leaves_it_out() {
    let cfg = parse(
        "attributes: [{ key: a, value: x, action: delete }, { key: b, value: y, action: insert }]",
    )
    .expect("parses");
    let got = cfg.problems();
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].0, "attributes[0].action");
    assert_eq!(
        got[0].1,
        "not supported by weir: action delete (weir runs insert, upsert and update)"
    );
    // The constructor does not check again: what validation refuses is never run.
    let e = Enrich::new("enrich/x", &cfg, Metrics::new()).expect("only the host name can fail");
    let mut resource = Some(Resource {
        attributes: vec![KeyValue {
            key: "a".into(),
            value: Some(AttributeValue::String("kept".into()).to_any_value()),
            ..Default::default()
        }],
        ..Default::default()
    });
    e.resource.apply(&mut resource);
    let keys: Vec<&str> = resource
        .iter()
        .flat_map(|r| &r.attributes)
        .map(|kv| kv.key.as_str())
        .collect();
    assert_eq!(keys, ["a", "b"]);
}
