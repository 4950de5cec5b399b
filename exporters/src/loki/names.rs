//! Names and values as Loki wants them: label names sanitised to `[a-zA-Z_][a-zA-Z0-9_]*`,
//! attribute values as text, the `{k="v",…}` stream selector with its escapes, and the
//! `level` of a record.
//!
//! Nothing here fails: an unusable character becomes `_`, a value that is not a string is
//! written as JSON text, and an empty value is "no value".

use std::borrow::Cow;
use std::fmt::{self, Write as _};

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use weir_pipeline::otlp::common::v1::{AnyValue, KeyValue, any_value::Value};
use weir_pipeline::otlp::logs::v1::LogRecord;

use super::json::JsonAny;

/// Attributes to take, in the order written, each with the name it gets in Loki (`None`: the
/// attribute's sanitised name). In YAML a list of attribute names or a map from attribute to
/// name (`null` for the sanitised one).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AttributeNames(pub Vec<(String, Option<String>)>);

impl AttributeNames {
    /// `(attribute, name in Loki)` pairs, names resolved.
    pub fn resolved(&self) -> Vec<(String, String)> {
        self.0
            .iter()
            .map(|(a, n)| (a.clone(), n.clone().unwrap_or_else(|| sanitize(a))))
            .collect()
    }
}

impl<'de> Deserialize<'de> for AttributeNames {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Names;
        impl<'de> Visitor<'de> for Names {
            type Value = AttributeNames;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a list of attribute names, or a map from attribute to label name")
            }

            fn visit_unit<E: de::Error>(self) -> Result<AttributeNames, E> {
                Ok(AttributeNames::default())
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<AttributeNames, A::Error> {
                let mut out = Vec::new();
                while let Some(attribute) = seq.next_element::<String>()? {
                    out.push((attribute, None));
                }
                Ok(AttributeNames(out))
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<AttributeNames, A::Error> {
                let mut out = Vec::new();
                while let Some((attribute, name)) = map.next_entry::<String, Option<String>>()? {
                    out.push((attribute, name));
                }
                Ok(AttributeNames(out))
            }
        }
        d.deserialize_any(Names)
    }
}

/// True when `name` is a Loki (Prometheus) label name: `[a-zA-Z_][a-zA-Z0-9_]*`.
pub fn is_valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// `name` made a label name: every other character becomes `_`, and a leading digit gets a `_`
/// in front (`http.route` → `http_route`, `2xx` → `_2xx`). An empty name stays empty.
pub fn sanitize(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 1);
    if name.starts_with(|c: char| c.is_ascii_digit()) {
        out.push('_');
    }
    out.extend(name.chars().map(|c| {
        if c.is_ascii_alphanumeric() || c == '_' {
            c
        } else {
            '_'
        }
    }));
    out
}

/// The string value of attribute `key`, as text; `None` when absent or empty.
pub(crate) fn attribute<'a>(attributes: &'a [KeyValue], key: &str) -> Option<Cow<'a, str>> {
    attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.as_ref())
        .and_then(value_text)
}

/// An attribute value as text: strings as they are, other values as JSON (`42`, `true`,
/// `["a","b"]`), bytes as hex; `None` when empty or unset.
pub(crate) fn value_text(v: &AnyValue) -> Option<Cow<'_, str>> {
    let text = match v.value.as_ref()? {
        Value::StringValue(s) => Cow::Borrowed(s.as_str()),
        Value::BoolValue(b) => Cow::Borrowed(if *b { "true" } else { "false" }),
        Value::IntValue(i) => Cow::Owned(i.to_string()),
        Value::BytesValue(b) => Cow::Owned(const_hex::encode(b)),
        _ => Cow::Owned(serde_json::to_string(&JsonAny(v)).unwrap_or_default()),
    };
    (!text.is_empty()).then_some(text)
}

/// Appends the selector `{a="1",b="x\"y"}` for `labels`, which must be sorted by name. Values
/// are escaped as LogQL string literals (`\\`, `\"`, `\n`, `\r`, `\t`).
pub(crate) fn write_selector<N: AsRef<str>, V: AsRef<str>>(labels: &[(N, V)], out: &mut String) {
    out.push('{');
    for (i, (name, value)) in labels.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        out.push_str(name.as_ref());
        out.push_str("=\"");
        escape_into(value.as_ref(), out);
        out.push('"');
    }
    out.push('}');
}

fn escape_into(value: &str, out: &mut String) {
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
}

/// The `level` of a record: from its severity number (OTLP's ranges), else its severity text;
/// `None` when it has neither or the text is not a level weir knows.
pub(crate) fn level(record: &LogRecord) -> Option<&'static str> {
    let by_number = match record.severity_number {
        1..=4 => Some("trace"),
        5..=8 => Some("debug"),
        9..=12 => Some("info"),
        13..=16 => Some("warn"),
        17..=20 => Some("error"),
        21..=24 => Some("fatal"),
        _ => None,
    };
    by_number.or_else(|| {
        let text = record.severity_text.trim().to_ascii_lowercase();
        Some(match text.as_str() {
            "trace" => "trace",
            "debug" => "debug",
            "info" | "information" | "notice" => "info",
            "warn" | "warning" => "warn",
            "error" | "err" => "error",
            "fatal" | "critical" | "crit" | "panic" | "emergency" | "alert" => "fatal",
            _ => return None,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_sanitised_to_loki_rules() {
        for (raw, want) in [
            ("service.name", "service_name"),
            ("http.route", "http_route"),
            ("k8s-pod/name", "k8s_pod_name"),
            ("2xx", "_2xx"),
            ("é", "_"),
            ("already_ok_1", "already_ok_1"),
            ("", ""),
        ] {
            assert_eq!(sanitize(raw), want, "{raw}");
            if !want.is_empty() {
                assert!(is_valid_name(want), "{want}");
            }
        }
        for bad in ["", "1a", "a.b", "a-b", "ä", "a b"] {
            assert!(!is_valid_name(bad), "{bad}");
        }
        assert!(is_valid_name("_x9"));
    }

    #[test]
    fn selectors_escape_values() {
        let mut s = String::new();
        write_selector(&[("a", "x\"y\\z\n\t\u{1}"), ("b", "ünï")], &mut s);
        assert_eq!(s, r#"{a="x\"y\\z\n\t\u0001", b="ünï"}"#);
        let mut empty = String::new();
        write_selector::<&str, &str>(&[], &mut empty);
        assert_eq!(empty, "{}");
    }

    #[test]
    fn values_as_text() {
        let v = |value| AnyValue { value: Some(value) };
        let text = |value| value_text(&v(value)).map(Cow::into_owned);
        assert_eq!(text(Value::StringValue("x".into())).as_deref(), Some("x"));
        assert_eq!(text(Value::StringValue(String::new())), None);
        assert_eq!(text(Value::IntValue(-3)).as_deref(), Some("-3"));
        assert_eq!(text(Value::DoubleValue(2.5)).as_deref(), Some("2.5"));
        assert_eq!(text(Value::BoolValue(true)).as_deref(), Some("true"));
        assert_eq!(
            text(Value::BytesValue(vec![1, 255])).as_deref(),
            Some("01ff")
        );
        assert_eq!(value_text(&AnyValue { value: None }), None);
    }

    #[test]
    fn levels_from_number_then_text() {
        let rec = |n: i32, t: &str| LogRecord {
            severity_number: n,
            severity_text: t.into(),
            ..Default::default()
        };
        assert_eq!(level(&rec(13, "whatever")), Some("warn"));
        assert_eq!(level(&rec(21, "")), Some("fatal"));
        assert_eq!(level(&rec(0, "Warning")), Some("warn"));
        assert_eq!(level(&rec(0, "CRITICAL")), Some("fatal"));
        assert_eq!(level(&rec(0, "loud")), None);
        assert_eq!(level(&rec(0, "")), None);
    }

    #[test]
    fn attribute_names_from_a_list_or_a_map() {
        let list: AttributeNames =
            serde_yaml_ng::from_str("[service.namespace, team]").expect("list");
        assert_eq!(
            list.resolved(),
            [
                (
                    "service.namespace".to_owned(),
                    "service_namespace".to_owned()
                ),
                ("team".to_owned(), "team".to_owned())
            ]
        );
        let map: AttributeNames =
            serde_yaml_ng::from_str("{k8s.namespace.name: namespace, http.route: null, x: }")
                .expect("map");
        assert_eq!(
            map.resolved(),
            [
                ("k8s.namespace.name".to_owned(), "namespace".to_owned()),
                ("http.route".to_owned(), "http_route".to_owned()),
                ("x".to_owned(), "x".to_owned())
            ]
        );
        #[derive(Debug, serde::Deserialize)]
        struct Labels {
            #[allow(dead_code)] // only its error is read
            resource: AttributeNames,
        }
        let err = serde_yaml_ng::from_str::<Labels>("resource: 42")
            .expect_err("a number is no list of names")
            .to_string();
        assert!(err.starts_with("resource: "), "names the key: {err}");
        assert!(err.contains("42"), "says what is wrong: {err}");
    }
}
