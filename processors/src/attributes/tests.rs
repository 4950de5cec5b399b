//! The actions one by one, their config problems, and the two processors over every signal.

use weir_pipeline::otlp::common::v1::{AnyValue, KeyValue, any_value::Value};
use weir_pipeline::test_util::realistic;
use weir_pipeline::{Processor, Signal};

use super::*;

fn kv(k: &str, v: Value) -> KeyValue {
    KeyValue {
        key: k.into(),
        value: Some(AnyValue { value: Some(v) }),
        ..Default::default()
    }
}

fn s(v: &str) -> Value {
    Value::StringValue(v.into())
}

fn actions(yaml: &str) -> Actions {
    let list: Vec<ActionConfig> = serde_yaml_ng::from_str(yaml).expect("parses");
    Actions::new(&list)
}

fn get<'a>(attrs: &'a [KeyValue], k: &str) -> Option<&'a Value> {
    attrs
        .iter()
        .find(|kv| kv.key == k)
        .and_then(|kv| kv.value.as_ref()?.value.as_ref())
}

#[test]
fn insert_update_upsert_follow_the_collector() {
    let a = actions(
        "
- { key: present, value: new, action: insert }
- { key: absent_ins, value: 1, action: insert }
- { key: present2, value: true, action: update }
- { key: absent_upd, value: x, action: update }
- { key: absent_ups, value: 2.5, action: upsert }
",
    );
    let mut attrs = vec![kv("present", s("old")), kv("present2", s("old"))];
    a.apply(&mut attrs);
    assert_eq!(get(&attrs, "present"), Some(&s("old")), "insert keeps");
    assert_eq!(get(&attrs, "absent_ins"), Some(&Value::IntValue(1)));
    assert_eq!(get(&attrs, "present2"), Some(&Value::BoolValue(true)));
    assert_eq!(get(&attrs, "absent_upd"), None, "update adds nothing");
    assert_eq!(get(&attrs, "absent_ups"), Some(&Value::DoubleValue(2.5)));
}

#[test]
fn from_attribute_copies_and_skips_when_the_source_is_absent() {
    let a = actions(
        "
- { key: copy, from_attribute: src, action: upsert }
- { key: nothing, from_attribute: missing, action: upsert }
",
    );
    let mut attrs = vec![kv("src", s("v"))];
    a.apply(&mut attrs);
    assert_eq!(get(&attrs, "copy"), Some(&s("v")));
    assert_eq!(get(&attrs, "nothing"), None);
}

#[test]
fn delete_by_key_and_by_pattern() {
    let a = actions(
        "
- { key: gone, action: delete }
- { pattern: '^internal\\.', action: delete }
",
    );
    let mut attrs = vec![
        kv("gone", s("1")),
        kv("internal.a", s("2")),
        kv("not.internal.b", s("3")),
        kv("kept", s("4")),
    ];
    a.apply(&mut attrs);
    let keys: Vec<&str> = attrs.iter().map(|kv| kv.key.as_str()).collect();
    assert_eq!(keys, ["not.internal.b", "kept"]);
}

#[test]
fn extract_upserts_named_groups_of_a_string_value() {
    let a = actions(
        r"
- { key: url, pattern: '^(?P<scheme>[a-z]+)://(?P<host>[^/]+)', action: extract }
",
    );
    let mut attrs = vec![
        kv("url", s("https://shop.example/cart")),
        kv("host", s("old")),
    ];
    a.apply(&mut attrs);
    assert_eq!(get(&attrs, "scheme"), Some(&s("https")));
    assert_eq!(get(&attrs, "host"), Some(&s("shop.example")));
    let mut no_match = vec![kv("url", s("not a url"))];
    a.apply(&mut no_match);
    assert_eq!(no_match.len(), 1);
}

#[test]
fn convert_changes_types_and_leaves_what_does_not_convert() {
    let a = actions(
        "
- { key: a, converted_type: int, action: convert }
- { key: b, converted_type: double, action: convert }
- { key: c, converted_type: string, action: convert }
- { key: d, converted_type: int, action: convert }
",
    );
    let mut attrs = vec![
        kv("a", s(" 42 ")),
        kv("b", Value::IntValue(3)),
        kv("c", Value::BoolValue(true)),
        kv("d", s("forty")),
    ];
    a.apply(&mut attrs);
    assert_eq!(get(&attrs, "a"), Some(&Value::IntValue(42)));
    assert_eq!(get(&attrs, "b"), Some(&Value::DoubleValue(3.0)));
    assert_eq!(get(&attrs, "c"), Some(&s("true")));
    assert_eq!(get(&attrs, "d"), Some(&s("forty")));
}

#[test]
fn problems_name_each_bad_action() {
    let cfg: AttributesConfig = serde_yaml_ng::from_str(
        "
actions:
  - { key: k, action: insert }
  - { key: k, action: hash }
  - { key: k, pattern: '[a-z]+', action: delete }
  - { key: k, pattern: '[a-z]+', action: extract }
  - { key: k, action: convert }
  - { action: upsert, value: 1 }
  - { key: k, value: 1, from_attribute: j, action: upsert }
  - { key: k, from_context: auth.x, action: upsert, value: 1 }
",
    )
    .expect("parses");
    let found: Vec<String> = cfg.problems().into_iter().map(|(k, _)| k).collect();
    assert_eq!(
        found,
        [
            "actions[0].value",
            "actions[1].action",
            "actions[3].pattern",
            "actions[4].converted_type",
            "actions[5].key",
            "actions[6].from_attribute",
            "actions[7].from_context",
        ]
    );
    let hash = &cfg.problems()[1].1;
    assert!(hash.contains("hashed_keys"), "{hash}");
    let empty = AttributesConfig::default();
    assert_eq!(empty.problems()[0].0, "actions");
}

#[test]
fn a_bad_pattern_is_refused_when_read_at_its_action() {
    let err = crate::read_error::read_error::<AttributesConfig>(
        "actions:\n  - { key: k, action: delete }\n  - { key: k, pattern: '(', action: delete }",
    );
    assert!(
        err.starts_with("actions[1].pattern: invalid regex: "),
        "{err}"
    );
}

#[test]
fn attributes_edits_spans_logs_and_every_data_point() {
    let cfg: AttributesConfig =
        serde_yaml_ng::from_str("actions: [{ key: env, value: prod, action: upsert }]")
            .expect("parses");
    let p = Attributes::new(&cfg);
    for signal in [
        Signal::Traces(realistic::spans(5, 0)),
        Signal::Logs(realistic::logs(5, 0)),
        Signal::Metrics(realistic::metrics(5, 0)),
    ] {
        let mut batch = realistic::batch(signal);
        let before = batch.record_count();
        p.process(&mut batch);
        let mut seen = 0;
        let mut check = |attrs: &Vec<KeyValue>| {
            seen += 1;
            assert_eq!(get(attrs, "env"), Some(&s("prod")));
        };
        match batch.signal_mut() {
            Signal::Traces(rs) => rs
                .iter()
                .flat_map(|r| &r.scope_spans)
                .flat_map(|s| &s.spans)
                .for_each(|x| check(&x.attributes)),
            Signal::Logs(rl) => rl
                .iter()
                .flat_map(|r| &r.scope_logs)
                .flat_map(|s| &s.log_records)
                .for_each(|x| check(&x.attributes)),
            Signal::Metrics(rm) => rm
                .iter_mut()
                .flat_map(|r| &mut r.scope_metrics)
                .flat_map(|s| &mut s.metrics)
                .for_each(|m| crate::points::for_each_attributes(m.data.as_mut(), |a| check(a))),
        }
        assert_eq!(seen, before, "every record was edited");
    }
}

#[test]
fn resource_edits_resource_attributes_only() {
    let cfg: ResourceConfig = serde_yaml_ng::from_str(
        "attributes: [{ key: service.namespace, value: shop, action: insert }]",
    )
    .expect("parses");
    let p = ResourceAttributes::new(&cfg);
    let mut batch = realistic::batch(Signal::Traces(realistic::spans(3, 0)));
    p.process(&mut batch);
    let Signal::Traces(rs) = batch.signal() else {
        unreachable!()
    };
    for r in rs {
        let attrs = &r.resource.as_ref().expect("resource").attributes;
        assert_eq!(get(attrs, "service.namespace"), Some(&s("shop")));
        for span in r.scope_spans.iter().flat_map(|s| &s.spans) {
            assert_eq!(get(&span.attributes, "service.namespace"), None);
        }
    }
}
