//! Label sets: values, collisions, precedence.

use weir_pipeline::otlp::common::v1::{AnyValue, ArrayValue, KeyValueList, any_value::Value};

use super::{kv, kv_of, label, pairs};
use crate::shared::prom::TranslationStrategy;
use crate::shared::prom::labels::{LabelInputs, build, value_string};
use crate::shared::prom::names::Names;

fn names() -> Names {
    Names::new(TranslationStrategy::UnderscoreEscapingWithSuffixes, "")
}

#[test]
fn attribute_values_become_strings_like_the_collector() {
    let v = |value| value_string(&AnyValue { value: Some(value) });
    assert_eq!(v(Value::StringValue("x".into())), "x");
    assert_eq!(v(Value::IntValue(-7)), "-7");
    assert_eq!(v(Value::DoubleValue(1e6)), "1000000");
    assert_eq!(v(Value::DoubleValue(f64::NAN)), "NaN");
    assert_eq!(v(Value::BoolValue(true)), "true");
    assert_eq!(v(Value::BytesValue(b"hi".to_vec())), "aGk=");
    let array = Value::ArrayValue(ArrayValue {
        values: vec![
            AnyValue {
                value: Some(Value::StringValue("a".into())),
            },
            AnyValue {
                value: Some(Value::IntValue(1)),
            },
        ],
    });
    assert_eq!(v(array), r#"["a",1]"#);
    let map = Value::KvlistValue(KeyValueList {
        values: vec![kv("z", "1"), kv("a", "2")],
    });
    assert_eq!(
        v(map),
        r#"{"a":"2","z":"1"}"#,
        "keys sorted, as Go marshals maps"
    );
    assert_eq!(value_string(&AnyValue { value: None }), "");
}

#[test]
fn collisions_after_sanitising_join_values_in_key_order() {
    let mut out = Vec::new();
    // `a.b` < `a/b` < `a_b` by byte order: values join in that order whatever the input order.
    let attributes = [
        kv("a_b", "3"),
        kv("a.b", "1"),
        kv("other", "x"),
        kv("a/b", "2"),
    ];
    let inputs = LabelInputs {
        attributes: &attributes,
        promoted: &[],
        owned: &[],
        defaults: &[],
    };
    build(&names(), inputs, &mut out);
    assert_eq!(pairs(&out), [("a_b", "1;2;3"), ("other", "x")]);
}

#[test]
fn empty_values_and_unnameable_keys_are_dropped() {
    let mut out = Vec::new();
    let attributes = [
        kv("empty", ""),
        kv("..", "x"),
        kv("ok", "y"),
        kv_of("none", Value::StringValue(String::new())),
    ];
    let inputs = LabelInputs {
        attributes: &attributes,
        promoted: &[],
        owned: &[],
        defaults: &[],
    };
    build(&names(), inputs, &mut out);
    assert_eq!(pairs(&out), [("ok", "y")]);
}

#[test]
fn owned_labels_win_defaults_lose_and_points_beat_resources() {
    let mut out = Vec::new();
    let attributes = [
        kv("job", "spoofed"),
        kv("region", "point"),
        kv("tenant", "other"),
    ];
    let promoted = [kv("region", "resource"), kv("host.name", "h1")];
    let owned = [label("job", "shop/api"), label("tenant", "t1")];
    let defaults = [label("cluster", "eu1"), label("region", "default")];
    let inputs = LabelInputs {
        attributes: &attributes,
        promoted: &promoted,
        owned: &owned,
        defaults: &defaults,
    };
    build(&names(), inputs, &mut out);
    assert_eq!(
        pairs(&out),
        [
            ("cluster", "eu1"),
            ("host_name", "h1"),
            ("job", "shop/api"),
            ("region", "point"),
            ("tenant", "t1"),
        ]
    );
}

#[test]
fn output_is_sorted_by_byte_order() {
    let mut out = Vec::new();
    let attributes = [kv("b", "1"), kv("A", "2"), kv("__x", "3"), kv("a", "4")];
    let inputs = LabelInputs {
        attributes: &attributes,
        promoted: &[],
        owned: &[],
        defaults: &[],
    };
    build(&names(), inputs, &mut out);
    let names: Vec<&str> = out.iter().map(|l| &*l.name).collect();
    assert_eq!(names, ["A", "__x", "a", "b"]);
}
