//! Property test: for random nested records and random allowlists, no value under a key that
//! is not allowed or is blocked survives, no planted secret and no unmasked match of a
//! blocked-value pattern survives anywhere (attributes, names, scope name and version,
//! `trace_state`, `severity_text`, `schema_url`, metric name, description and unit, and
//! integers by their decimal text), every key is still present, and clean values of allowed
//! keys are left exactly as they were.

use std::sync::LazyLock;

use proptest::prelude::*;
use regex::Regex;
use weir_pipeline::otlp::common::v1::{
    AnyValue, ArrayValue, KeyValue, KeyValueList, any_value::Value,
};
use weir_pipeline::otlp::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use weir_pipeline::otlp::trace::v1::{ResourceSpans, ScopeSpans, Span, span};
use weir_pipeline::{Batch, Metrics, Processor, RequestContext, Signal};

use super::defaults::BLOCKED_VALUES;
use super::{DEFAULT_MASK, Redaction, RedactionConfig};

/// Keys records use; the first ones are blocked by the built-in key patterns.
const BLOCKED: &[&str] = &["password", "api_key", "user.email", "x.refresh_token"];
const OTHER: &[&str] = &[
    "http.route",
    "service.name",
    "url.path",
    "app.a",
    "app.b",
    "note",
    "data",
];

/// (text, the part that must never survive).
const SECRETS: &[(&str, &str)] = &[
    ("alice.p@example.com", "alice.p@example.com"),
    (
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJwcm9wIn0.c2lnbmF0dXJlX3Byb3A",
        "eyJzdWIiOiJwcm9wIn0",
    ),
    ("4111 1111 1111 1111", "4111 1111 1111 1111"),
    ("Bearer Zm9vYmFyOmJhejEyMw", "Zm9vYmFyOmJhejEyMw"),
    ("AKIAIOSFODNN7EXAMPLE", "AKIAIOSFODNN7EXAMPLE"),
    ("/cb?token=tok3nvalue9&x=1", "tok3nvalue9"),
    ("password=pw7plain", "pw7plain"),
    ("https://u:pw9urlpass@h.example/", "pw9urlpass"),
    (
        "-----BEGIN PRIVATE KEY-----\nMIIBVwIBADANBgkq\n-----END PRIVATE KEY-----",
        "MIIBVwIBADANBgkq",
    ),
];
const FILLER: &[&str] = &["alpha", "beta", "/cart", "GET", "ok 200", "x-y_z"];
/// Card numbers sent as integers.
pub(super) const CARDS: &[i64] = &[
    4_111_111_111_111_111,
    5_500_000_000_000_004,
    378_282_246_310_005,
];
/// The mask in metric names.
pub(super) const NAME_MASK: &str = "REDACTED";

/// Each built-in blocked-value pattern and the group it masks, compiled once.
pub(super) static PATTERNS: LazyLock<Vec<(Regex, usize)>> = LazyLock::new(|| {
    BLOCKED_VALUES
        .iter()
        .map(|p| {
            let re = Regex::new(p).expect("compiles");
            let group = re
                .capture_names()
                .position(|n| n == Some("secret"))
                .unwrap_or(0);
            (re, group)
        })
        .collect()
});

fn s(v: String) -> AnyValue {
    AnyValue {
        value: Some(Value::StringValue(v)),
    }
}

pub(super) fn text() -> impl Strategy<Value = String> {
    let part = prop_oneof![
        prop::sample::select(FILLER).prop_map(str::to_owned),
        prop::sample::select(SECRETS).prop_map(|(t, _)| t.to_owned()),
    ];
    prop::collection::vec(part, 1..4).prop_map(|p| p.join(" "))
}

fn key() -> impl Strategy<Value = String> {
    prop::sample::select([BLOCKED, OTHER].concat()).prop_map(str::to_owned)
}

fn value() -> impl Strategy<Value = AnyValue> {
    let leaf = prop_oneof![
        3 => text().prop_map(s),
        1 => any::<i64>().prop_map(|v| AnyValue { value: Some(Value::IntValue(v)) }),
        1 => prop::sample::select(CARDS).prop_map(|v| AnyValue { value: Some(Value::IntValue(v)) }),
        1 => any::<bool>().prop_map(|v| AnyValue { value: Some(Value::BoolValue(v)) }),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(|values| AnyValue {
                value: Some(Value::ArrayValue(ArrayValue { values }))
            }),
            prop::collection::vec((key(), inner), 0..4).prop_map(|kvs| AnyValue {
                value: Some(Value::KvlistValue(KeyValueList {
                    values: kvs.into_iter().map(|(k, v)| kv(k, v)).collect(),
                }))
            }),
        ]
    })
}

fn kv(key: String, value: AnyValue) -> KeyValue {
    KeyValue {
        key,
        value: Some(value),
        ..Default::default()
    }
}

pub(super) fn attrs() -> impl Strategy<Value = Vec<KeyValue>> {
    prop::collection::vec((key(), value()), 0..6)
        .prop_map(|kvs| kvs.into_iter().map(|(k, v)| kv(k, v)).collect())
}

/// The allowlist the test believes in, independent of the processor's code.
struct Oracle {
    allow_all: bool,
    allowed: Vec<String>,
}

impl Oracle {
    fn masked(&self, key: &str) -> bool {
        BLOCKED.contains(&key)
            || !(self.allow_all
                || self.allowed.iter().any(|a| match a.strip_suffix('*') {
                    Some(prefix) => key.starts_with(prefix),
                    None => a == key,
                }))
    }
}

/// Every string in a value tree, keys included.
pub(super) fn strings<'a>(v: &'a AnyValue, out: &mut Vec<&'a str>) {
    match &v.value {
        Some(Value::StringValue(s)) => out.push(s),
        Some(Value::ArrayValue(a)) => a.values.iter().for_each(|v| strings(v, out)),
        Some(Value::KvlistValue(l)) => {
            for kv in &l.values {
                out.push(&kv.key);
                if let Some(v) = &kv.value {
                    strings(v, out);
                }
            }
        }
        _ => {}
    }
}

/// Every integer in a value tree.
pub(super) fn ints(v: &AnyValue, out: &mut Vec<i64>) {
    match &v.value {
        Some(Value::IntValue(i)) => out.push(*i),
        Some(Value::ArrayValue(a)) => a.values.iter().for_each(|v| ints(v, out)),
        Some(Value::KvlistValue(l)) => l
            .values
            .iter()
            .flat_map(|kv| &kv.value)
            .for_each(|v| ints(v, out)),
        _ => {}
    }
}

/// True when the decimal text of `i` matches no blocked-value pattern.
fn int_clean(i: i64) -> bool {
    let text = i.to_string();
    PATTERNS.iter().all(|(re, _)| !re.is_match(&text))
}

/// True when nothing in `v` would be changed by the rules: no secret, no blocked key.
fn clean(v: &AnyValue) -> bool {
    let mut all = Vec::new();
    strings(v, &mut all);
    let mut numbers = Vec::new();
    ints(v, &mut numbers);
    all.iter()
        .all(|s| !BLOCKED.contains(s) && SECRETS.iter().all(|(t, _)| !s.contains(t)))
        && numbers.into_iter().all(int_clean)
}

/// No integer in `v` holds a blocked value.
pub(super) fn check_ints(v: &AnyValue) -> Result<(), TestCaseError> {
    let mut numbers = Vec::new();
    ints(v, &mut numbers);
    for i in numbers {
        prop_assert!(int_clean(i), "{i} survived");
    }
    Ok(())
}

pub(super) fn check_strings(
    all: &[&str],
    patterns: &[(Regex, usize)],
) -> Result<(), TestCaseError> {
    check_strings_with(all, patterns, DEFAULT_MASK)
}

pub(super) fn check_strings_with(
    all: &[&str],
    patterns: &[(Regex, usize)],
    mask: &str,
) -> Result<(), TestCaseError> {
    for s in all {
        for (_, needle) in SECRETS {
            prop_assert!(!s.contains(needle), "{needle:?} survived in {s:?}");
        }
        for (re, group) in patterns {
            for caps in re.captures_iter(s) {
                let part = caps.get(*group).map_or("", |m| m.as_str());
                prop_assert_eq!(part, mask, "unmasked match of {} in {:?}", re, s);
            }
        }
    }
    Ok(())
}

/// Inside maps the allowlist does not apply, but blocked keys are masked at any depth.
fn check_nested(v: &AnyValue) -> Result<(), TestCaseError> {
    match &v.value {
        Some(Value::ArrayValue(a)) => a.values.iter().try_for_each(check_nested),
        Some(Value::KvlistValue(l)) => l.values.iter().try_for_each(|kv| {
            let v = kv.value.as_ref().expect("value kept");
            if BLOCKED.contains(&kv.key.as_str()) {
                prop_assert_eq!(
                    v,
                    &s(DEFAULT_MASK.into()),
                    "nested {} is not masked",
                    kv.key
                );
                Ok(())
            } else {
                check_nested(v)
            }
        }),
        _ => Ok(()),
    }
}

fn check_attrs(
    before: &[KeyValue],
    after: &[KeyValue],
    oracle: &Oracle,
    patterns: &[(Regex, usize)],
) -> Result<(), TestCaseError> {
    let keys = |a: &[KeyValue]| a.iter().map(|kv| kv.key.clone()).collect::<Vec<_>>();
    prop_assert_eq!(keys(before), keys(after), "every key is still there");
    for (b, a) in before.iter().zip(after) {
        let (bv, av) = (b.value.as_ref(), a.value.as_ref().expect("value kept"));
        if oracle.masked(&b.key) {
            prop_assert_eq!(av, &s(DEFAULT_MASK.into()), "{} is not masked", b.key);
        } else if bv.is_some_and(clean) {
            prop_assert_eq!(Some(av), bv, "clean value of {} changed", b.key);
        }
        check_nested(av)?;
        check_ints(av)?;
        let mut all = vec![a.key.as_str()];
        strings(av, &mut all);
        check_strings(&all, patterns)?;
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(192))]

    #[test]
    fn nothing_secret_survives_and_every_masked_key_stays(
        allowed in prop::sample::subsequence([OTHER, BLOCKED, &["app.*"]].concat(), 0..6),
        allow_all in prop::bool::weighted(0.2),
        span_attrs in attrs(),
        event_attrs in attrs(),
        log_attrs in attrs(),
        body in value(),
        name in text(),
    ) {
        let allowed: Vec<String> = allowed.into_iter().map(str::to_owned).collect();
        let cfg = RedactionConfig {
            allowed_keys: Some(allowed.iter().map(|k| k.parse().expect("entry")).collect()),
            allow_all_keys: allow_all,
            ..Default::default()
        };
        let p = Redaction::new("redaction", &cfg, Metrics::new()).expect("valid");
        let oracle = Oracle { allow_all, allowed };
        let patterns = &*PATTERNS;

        let span_in = Span {
            name: name.clone(),
            attributes: span_attrs.clone(),
            events: vec![span::Event { attributes: event_attrs.clone(), ..Default::default() }],
            ..Default::default()
        };
        let mut traces = Batch::new(RequestContext::for_tests(), Signal::Traces(vec![ResourceSpans {
            scope_spans: vec![ScopeSpans { spans: vec![span_in], ..Default::default() }],
            ..Default::default()
        }]));
        p.process(&mut traces);
        let Signal::Traces(rs) = traces.signal() else { unreachable!() };
        let out = &rs[0].scope_spans[0].spans[0];
        check_attrs(&span_attrs, &out.attributes, &oracle, patterns)?;
        check_attrs(&event_attrs, &out.events[0].attributes, &oracle, patterns)?;
        check_strings(&[out.name.as_str()], patterns)?;

        let log_in = LogRecord { body: Some(body.clone()), attributes: log_attrs.clone(), ..Default::default() };
        let mut logs = Batch::new(RequestContext::for_tests(), Signal::Logs(vec![ResourceLogs {
            scope_logs: vec![ScopeLogs { log_records: vec![log_in], ..Default::default() }],
            ..Default::default()
        }]));
        p.process(&mut logs);
        let Signal::Logs(rl) = logs.signal() else { unreachable!() };
        let out = &rl[0].scope_logs[0].log_records[0];
        check_attrs(&log_attrs, &out.attributes, &oracle, patterns)?;
        let body_out = out.body.as_ref().expect("body kept");
        let mut all = Vec::new();
        strings(body_out, &mut all);
        check_strings(&all, patterns)?;
        check_nested(body_out)?;
        if clean(&body) {
            prop_assert_eq!(body_out, &body);
        }
    }
}
